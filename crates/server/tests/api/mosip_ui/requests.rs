//! After a request: a grievance about it, its acknowledgement and the history as PDFs; a VID card.

use axum::body::Body;
use axum::http::StatusCode;
use resident_testkit::{Db, on_both};
use serde_json::{Value, json};

use super::{AMINA, JANE, Raw, TestApp, ui_envelope};

on_both!(
    a_grievance_takes_an_alternate_contact_and_refuses_like_mosip,
    acknowledgements_and_the_history_as_pdfs,
    a_vid_card_is_asked_for_then_downloaded_once,
    partners_are_listed_by_type_to_a_logged_in_resident,
);

/// Locks demographic authentication for the resident; returns the event id.
async fn lock_event(t: &TestApp, cookie: &str) -> String {
    let body = ui_envelope(
        "mosip.resident.auth.lock.unlock",
        json!({"authTypes": [{"authType": "demo", "authSubType": null, "locked": true, "unlockForSeconds": null}]}),
    );
    let done = t.ui_send("POST", "/resident/v1/auth-lock-unlock", cookie, body).await;
    assert_eq!(done.json()["errors"], Value::Null, "{}", done.json());
    done.headers["eventid"].to_str().unwrap().to_owned()
}

/// The text of a PDF, as pdftotext reads it.
pub(super) fn pdf_text(raw: &Raw) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.pdf");
    std::fs::write(&file, &raw.body).unwrap();
    let out = std::process::Command::new("pdftotext").arg(&file).arg("-").output().expect("pdftotext (poppler-utils)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn grievance(event: &str, message: &str, email: Option<&str>, phone: Option<&str>) -> Value {
    ui_envelope(
        "mosip.resident.grievance.ticket.request",
        json!({
            "name": "Jane Doe", "emailId": "jane@example.org", "phoneNo": "9876543210",
            "eventId": event, "message": message, "alternateEmailId": email, "alternatePhoneNo": phone,
        }),
    )
}

async fn grievances(t: &TestApp) -> i64 {
    let pool = t.raw_pool().await;
    sqlx::query_scalar("SELECT COUNT(*) FROM grievance").fetch_one(&pool).await.unwrap()
}

/// The stored alternate contact of a ticket, as the database holds it.
async fn stored_contact(t: &TestApp, ticket: &str) -> Option<Vec<u8>> {
    let pool = t.raw_pool().await;
    sqlx::query_scalar("SELECT contact FROM grievance WHERE ticket_id = $1")
        .bind(ticket)
        .fetch_one(&pool)
        .await
        .unwrap()
}

async fn a_grievance_takes_an_alternate_contact_and_refuses_like_mosip(kind: Db) {
    let Some(t) = TestApp::with_app(kind).await else { return };
    let jane = t.app_login(JANE).await;
    let amina = t.app_login(AMINA).await;
    let hers = lock_event(&t, &jane).await;
    let theirs = lock_event(&t, &amina).await;

    let audited = super::super::audit_total(&t).await;
    let long_email = format!("{}@example.org", "a".repeat(120));
    for (body, code, message) in [
        (grievance("", "The lock did not work", None, None), "RES-SER-414", "Missing input Parameter- eventId"),
        (grievance("12ab", "The lock did not work", None, None), "RES-SER-410", "Invalid Input Parameter- eventId"),
        (
            grievance(&theirs, "The lock did not work", None, None),
            "RES-SER-511",
            "The event id does not belong to the logged-in resident",
        ),
        (grievance(&hers, "  ", None, None), "RES-SER-414", "Missing input Parameter- message"),
        (
            grievance(&hers, &"x".repeat(1025), None, None),
            "RES-SER-514",
            "Input text size exceeds the limit; Character limit=1024; inputType=message",
        ),
        (
            grievance(&hers, "The lock did not work", Some("not-an-address"), None),
            "RES-SER-410",
            "Invalid Input Parameter- EMAIL",
        ),
        (
            grievance(&hers, "The lock did not work", Some(&long_email), None),
            "RES-SER-514",
            "Input text size exceeds the limit; Character limit=128; inputType=EMAIL",
        ),
        (grievance(&hers, "The lock did not work", None, Some("12")), "RES-SER-410", "Invalid Input Parameter- PHONE"),
    ] {
        let r = t.ui_send("POST", "/resident/v1/grievance/ticket", &jane, body).await.json();
        assert_eq!((r["errors"][0]["errorCode"].as_str(), r["response"].clone()), (Some(code), Value::Null), "{r}");
        assert_eq!(r["errors"][0]["message"], message, "{r}");
        assert_eq!(r["id"], "mosip.resident.grievance.ticket.request");
    }
    let mut wrong_id = grievance(&hers, "The lock did not work", None, None);
    wrong_id["id"] = json!("mosip.resident.grievance");
    let r = t.ui_send("POST", "/resident/v1/grievance/ticket", &jane, wrong_id).await.json();
    assert_eq!(r["errors"][0]["message"], "Invalid Input Parameter- id");
    // refusals leave nothing behind
    assert_eq!(grievances(&t).await, 0);
    assert_eq!(super::super::audit_total(&t).await, audited);
    // without a login: 401; from another site's page, with her cookie: 403
    let anon = t.ui_send("POST", "/resident/v1/grievance/ticket", "", grievance(&hers, "Hello", None, None)).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let body = grievance(&hers, "Hello", None, None).to_string();
    let forged = t
        .ui_raw(
            "POST",
            "/resident/v1/grievance/ticket",
            &[("cookie", &jane), ("content-type", "text/plain"), ("origin", "https://evil.example")],
            body,
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(grievances(&t).await, 0);

    // taken: a ticket, an audit record, the acknowledgement to the resident; the contact sealed
    let body = grievance(&hers, "The lock did not work.\nI still get OTPs.", Some("jane.alt@example.org"), Some(""));
    let r = t.ui_send("POST", "/resident/v1/grievance/ticket", &jane, body).await.json();
    assert_eq!(r["errors"], json!([]), "{r}");
    let ticket = r["response"]["ticketId"].as_str().unwrap().to_owned();
    assert!(ticket.starts_with("GRV"), "{ticket}");
    assert_eq!(super::super::audit_total(&t).await, audited + 1);
    assert_eq!(grievances(&t).await, 1);
    let sealed = stored_contact(&t, &ticket).await.expect("the alternate contact is kept");
    assert!(!String::from_utf8_lossy(&sealed).contains("jane.alt"), "the contact is sealed at rest");
    // without an alternate contact there is nothing to keep
    let r = t.ui_send("POST", "/resident/v1/grievance/ticket", &jane, grievance(&hers, "Again", None, None)).await;
    let r = r.json();
    assert_eq!(r["errors"], json!([]));
    assert_eq!(stored_contact(&t, r["response"]["ticketId"].as_str().unwrap()).await, None);
}

async fn acknowledgements_and_the_history_as_pdfs(kind: Db) {
    let Some(t) = TestApp::with_app(kind).await else { return };
    let jane = t.app_login(JANE).await;
    let amina = t.app_login(AMINA).await;
    let event = lock_event(&t, &jane).await;

    let audited = super::super::audit_total(&t).await;
    let ack = t.ui_get(&format!("/resident/v1/ack/download/pdf/event/{event}/language/eng"), &jane).await;
    assert_eq!(ack.status, StatusCode::OK);
    assert_eq!(ack.headers["content-type"], "application/pdf");
    let disposition = ack.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with(&format!("attachment; filename=\"Ack_Secure My ID_{event}_")), "{disposition}");
    assert!(disposition.ends_with(".pdf\""), "{disposition}");
    let text = pdf_text(&ack);
    for shown in ["Acknowledgement of your request", event.as_str(), "Authentication locked or unlocked", "Jane Doe"] {
        assert!(text.contains(shown), "{shown} in {text}");
    }
    assert_eq!(super::super::audit_total(&t).await, audited + 1);
    let arabic = t.ui_get(&format!("/resident/v1/ack/download/pdf/event/{event}/language/ara"), &jane).await;
    assert_eq!((arabic.status, arabic.headers["content-type"].to_str().unwrap()), (StatusCode::OK, "application/pdf"));
    assert!(pdf_text(&arabic).contains(&event));

    // refused: another resident's, none, malformed, a language the schema has not; nothing recorded
    let audited = super::super::audit_total(&t).await;
    for (uri, cookie, code) in [
        (format!("/resident/v1/ack/download/pdf/event/{event}/language/eng"), &amina, "RES-SER-511"),
        ("/resident/v1/ack/download/pdf/event/1234567890123456/language/eng".to_owned(), &jane, "RES-SER-459"),
        ("/resident/v1/ack/download/pdf/event/12ab/language/eng".to_owned(), &jane, "RES-SER-410"),
        (format!("/resident/v1/ack/download/pdf/event/{event}/language/deu"), &jane, "RES-SER-410"),
    ] {
        let r = t.ui_get(&uri, cookie).await;
        assert_eq!(r.headers["content-type"], "application/json", "{uri}");
        assert_eq!(r.json()["errors"][0]["errorCode"], code, "{uri}: {}", r.json());
    }
    assert_eq!(super::super::audit_total(&t).await, audited);
    let uri = format!("/resident/v1/ack/download/pdf/event/{event}/language/eng");
    assert_eq!(t.ui_raw("GET", &uri, &[], Body::empty()).await.status, StatusCode::UNAUTHORIZED);

    // the history, filtered as the list is
    let all = t.ui_get("/resident/v1/download/service-history?languageCode=eng", &jane).await;
    assert_eq!(all.headers["content-type"], "application/pdf");
    let disposition = all.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"View_history_"), "{disposition}");
    let text = pdf_text(&all);
    assert!(text.contains("Your service history") && text.contains(&event), "{text}");
    let none =
        t.ui_get("/resident/v1/download/service-history?languageCode=eng&serviceType=DATA_SHARE_REQUEST", &jane).await;
    assert!(!pdf_text(&none).contains(&event));
    assert!(
        !pdf_text(&t.ui_get("/resident/v1/download/service-history?languageCode=eng", &amina).await).contains(&event)
    );
    for (query, code) in [
        ("", "RES-SER-418"),
        ("languageCode=deu", "RES-SER-410"),
        ("languageCode=eng&statusFilter=DONE", "RES-SER-410"),
    ] {
        let r = t.ui_get(&format!("/resident/v1/download/service-history?{query}"), &jane).await.json();
        assert_eq!(r["errors"][0]["errorCode"], code, "{query}: {r}");
    }
}

async fn new_vid(t: &TestApp, cookie: &str) -> String {
    let body = ui_envelope(
        "mosip.resident.vid.generate",
        json!({"transactionID": "1234567890", "vidType": "Temporary", "channels": ["EMAIL"]}),
    );
    let r = t.ui_send("POST", "/resident/v1/generate-vid", cookie, body).await.json();
    assert_eq!(r["errors"], json!([]), "{r}");
    r["response"]["vid"].as_str().unwrap().to_owned()
}

async fn a_vid_card_is_asked_for_then_downloaded_once(kind: Db) {
    let Some(t) = TestApp::with_app(kind).await else { return };
    let jane = t.app_login(JANE).await;
    let amina = t.app_login(AMINA).await;
    let vid = new_vid(&t, &jane).await;

    // refused: malformed, another resident's, unknown; none of them recorded
    let before = t.ui_get("/resident/v1/service-history/eng", &jane).await.json()["response"]["totalItems"].clone();
    for (who, asked, code) in [
        (&jane, "123", "RES-SER-410"),
        (&amina, vid.as_str(), "RES-SER-454"),
        (&jane, "5371843613598206", "RES-SER-454"),
    ] {
        let r = t.ui_get(&format!("/resident/v1/request-card/vid/{asked}"), who).await;
        assert!(!r.headers.contains_key("eventid"));
        let r = r.json();
        assert_eq!(
            (r["errors"][0]["errorCode"].as_str(), r["id"].as_str()),
            (Some(code), Some("mosip.resident.request.vid.card")),
            "{r}"
        );
    }
    let after = t.ui_get("/resident/v1/service-history/eng", &jane).await.json()["response"]["totalItems"].clone();
    assert_eq!(before, after);

    // not from another site's image or link
    let uri = format!("/resident/v1/request-card/vid/{vid}");
    let forged = t.ui_raw("GET", &uri, &[("cookie", &jane), ("sec-fetch-site", "cross-site")], Body::empty()).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // asked for: an event, in the history, ready
    let asked = t.ui_get(&format!("/resident/v1/request-card/vid/{vid}"), &jane).await;
    let r = asked.json();
    assert_eq!((r["errors"].clone(), r["response"]["status"].clone()), (json!([]), json!("Success")), "{r}");
    let event = asked.headers["eventid"].to_str().unwrap().to_owned();
    let tracked = t.ui_get(&format!("/resident/v1/events/{event}?langCode=eng"), &jane).await.json();
    assert_eq!(tracked["response"]["info"]["eventTypeEnum"], "VID_CARD_DOWNLOAD", "{tracked}");
    assert_eq!(tracked["response"]["eventStatus"], "Success");

    // the card: only hers, only with the scope, only for a card request
    let uri = format!("/resident/v1/download-card/event/{event}");
    assert_eq!(t.ui_get(&uri, &amina).await.json()["errors"][0]["errorCode"], "RES-SER-511");
    let narrow = super::with_scope(&t, &jane, "Manage-VID");
    assert_eq!(t.ui_get(&uri, &narrow).await.status, StatusCode::FORBIDDEN);
    let lock = lock_event(&t, &jane).await;
    let r = t.ui_get(&format!("/resident/v1/download-card/event/{lock}"), &jane).await.json();
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-473", "{r}");
    let card = t.ui_get(&uri, &jane).await;
    assert_eq!((card.status, card.headers["content-type"].to_str().unwrap()), (StatusCode::OK, "application/pdf"));
    assert_eq!(card.headers["eventid"].to_str().unwrap(), event);
    let disposition = card.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with(&format!("attachment; filename=\"VID_{event}_")), "{disposition}");
    let credential = resident_card::credential_in_pdf(&card.body, "JANE1990").unwrap();
    let claims = resident_card::jws::verify(&credential, &t.jwks_keys().await).unwrap().claims;
    assert_eq!((claims["typ"].as_str(), claims["vid"].as_str()), (Some("VID"), Some(vid.as_str())));
    assert!(claims.get("uin").is_none(), "a VID card does not carry the UIN: {claims}");
    // once, as in MOSIP: a second download needs a new request
    assert_eq!(t.ui_get(&uri, &jane).await.json()["errors"][0]["errorCode"], "RES-SER-509");

    // a card asked for, then the VID revoked: no card with a dead VID
    let asked = t.ui_get(&format!("/resident/v1/request-card/vid/{vid}"), &jane).await;
    let event = asked.headers["eventid"].to_str().unwrap().to_owned();
    let revoke =
        ui_envelope("mosip.resident.vid.revoke", json!({"transactionID": "1234567890", "vidStatus": "REVOKED"}));
    let revoked = t.ui_send("PATCH", &format!("/resident/v1/revoke-vid/{vid}"), &jane, revoke).await.json();
    assert_eq!(revoked["errors"], json!([]), "{revoked}");
    let r = t.ui_get(&format!("/resident/v1/download-card/event/{event}"), &jane).await.json();
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-474", "{r}");
    // a revoked VID is no longer one of hers
    let r = t.ui_get(&format!("/resident/v1/request-card/vid/{vid}"), &jane).await.json();
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-454", "{r}");
}

async fn partners_are_listed_by_type_to_a_logged_in_resident(kind: Db) {
    let Some(t) = TestApp::with_app(kind).await else { return };
    super::super::register_partner(&t.db, "bank-01", "Harbour Savings Bank");
    let out = super::super::resident(
        &t.db,
        &[
            "admin",
            "partner",
            "add",
            "--id",
            "print-01",
            "--name",
            "Capital Print Works",
            "--partner-type",
            "Print_Partner",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // the operator's mistakes are refused with what is allowed, and change nothing
    for (args, says) in [
        (&["--id", "print-01", "--name", "Again"][..], "already exists"),
        (&["--id", "bad id", "--name", "Spaces"][..], "letters, digits"),
        (&["--id", "shop-01", "--name", "Shop", "--partner-type", "Shop"][..], "Print_Partner"),
        (&["--id", "shop-01", "--name", " "][..], "the name must be"),
    ] {
        let out = super::super::resident(&t.db, &[&["admin", "partner", "add"][..], args].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{args:?}: {err}");
    }
    let jane = t.app_login(JANE).await;
    let printers = t.ui_get("/resident/v1/auth-proxy/partners?partnerType=Print_Partner", &jane).await.json();
    assert_eq!(printers["errors"], Value::Null, "{printers}");
    assert_eq!(
        printers["response"]["partners"],
        json!([{"partnerID": "print-01", "organizationName": "Capital Print Works", "partnerType": "Print_Partner", "status": "Active"}])
    );
    let everyone = t.ui_get("/resident/v1/auth-proxy/partners", &jane).await.json();
    assert_eq!(everyone["response"]["partners"].as_array().unwrap().len(), 2, "{everyone}");
    assert!(!everyone.to_string().contains("api_key"), "nothing of how a partner authenticates");
    let anon = t.ui_get("/resident/v1/auth-proxy/partners?partnerType=Auth_Partner", "").await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
}
