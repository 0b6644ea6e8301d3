//! Cards and printing end to end: `POST /req/euin`, `/.well-known/jwks.json`, `resident card verify`,
//! and a printed card driven from NEW to DELIVERED by a print partner over its API.

use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use resident_domain::ports::{
    Effects, IdentityRegistry, Partner, PartnerRecords, RegistrationRepository, ServiceHistory,
};
use resident_testkit::{Db, on_both};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{AMINA, JANE, TestApp, check_request, envelope};

on_both!(a_resident_downloads_their_card_and_it_verifies, a_printed_card_goes_from_new_to_delivered,);

const PRINT_KEY: &str = "print-partner-key-0123456789";
const OTHER_PRINT_KEY: &str = "other-print-partner-key-0123";

impl TestApp {
    /// POST returning the raw response (a PDF or JSON).
    async fn post_raw(&self, uri: &str, body: Value) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let req = Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        (status, headers, res.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    pub(crate) async fn euin(
        &self,
        uin: &str,
        trn: &str,
        otp: &str,
        card_type: &str,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let body = envelope(
            "mosip.resident.euin",
            json!({"transactionID": trn, "individualId": uin, "individualIdType": "UIN", "otp": otp, "cardType": card_type}),
        );
        self.post_raw("/resident/v1/req/euin", body).await
    }

    pub(crate) async fn jwks_keys(&self) -> Vec<(String, resident_card::keys::PublicKey)> {
        let (status, jwks) = self.call("GET", "/.well-known/jwks.json", &[], Body::empty()).await;
        assert_eq!(status, StatusCode::OK);
        resident_card::keys::keys_from_jwks(&jwks).unwrap()
    }

    pub(crate) async fn add_partner(&self, id: &str, kind: &str, key: &str) {
        let p = Partner {
            id: id.into(),
            name: format!("{id} Ltd"),
            partner_type: kind.into(),
            api_key_sha256: resident_web::platform::ida::hex_digest(key),
            status: "ACTIVE".into(),
        };
        self.app.store.add_partner(&p, &Effects::default(), resident_testkit::t0()).await.unwrap();
    }

    pub(crate) async fn partner_call(
        &self,
        method: &str,
        uri: &str,
        key: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let auth = format!("Bearer {key}");
        let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
        let body = body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty);
        self.call(method, uri, &headers, body).await
    }
}

async fn a_resident_downloads_their_card_and_it_verifies(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let otp = t.otp_for(JANE, "3000000001").await;
    let (status, headers, pdf) = t.euin(JANE, "3000000001", &otp, "UIN").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(headers["content-disposition"], format!("attachment; filename=\"{JANE}.pdf\""));
    assert!(headers.contains_key("eventid"));
    assert!(pdf.starts_with(b"%PDF-") && pdf.len() < 150_000, "{} bytes", pdf.len());
    assert!(resident_card::credential_in_pdf(&pdf, "JANE1991").is_err(), "only the right password opens it");
    let credential = resident_card::credential_in_pdf(&pdf, "JANE1990").unwrap();
    let keys = t.jwks_keys().await;
    let verified = resident_card::jws::verify(&credential, &keys).unwrap();
    assert_eq!(verified.claims["uin"], JANE);
    assert_eq!(verified.claims["name"]["eng"], "Jane Doe");
    assert_eq!(verified.claims["dob"], "1990/05/12");

    // the same OTP cannot be used twice; a masked card with a new one
    let (_, _, again) = t.euin(JANE, "3000000001", &otp, "UIN").await;
    let again: Value = serde_json::from_slice(&again).unwrap();
    assert_eq!(again["errors"][0]["errorCode"], "RES-SER-422");
    let otp = t.otp_for(JANE, "3000000002").await;
    let (_, _, masked) = t.euin(JANE, "3000000002", &otp, "MASKED_UIN").await;
    let claims = resident_card::jws::verify(&resident_card::credential_in_pdf(&masked, "JANE1990").unwrap(), &keys)
        .unwrap()
        .claims;
    assert_eq!(claims["uin"], "XXXXXX1708");

    // bad input: the JSON envelope, as MOSIP
    let otp = t.otp_for(JANE, "3000000003").await;
    for (card_type, field) in [("PHOTO", "cardType"), ("", "cardType")] {
        let (status, headers, body) = t.euin(JANE, "3000000003", &otp, card_type).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "application/json");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["errors"][0]["message"], format!("Invalid Input Parameter- {field}"), "{body}");
        assert_eq!(body["id"], "mosip.resident.euin");
    }

    // history, notification, audit
    t.run_jobs().await;
    let token = t.app.store.token_for(&resident_domain::ids::Uin::parse(JANE).unwrap());
    let events = t.app.store.events_for(&token, 0, 50).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.request_type.code() == "DOWNLOAD_PERSONALIZED_CARD" && e.status_code == "CARD_DOWNLOADED")
            .count(),
        2
    );
    let mails: Vec<String> = std::fs::read_dir(t.db.dir.path().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("RS_DOW_UIN_SUCCESS") && p.extension().is_some_and(|e| e == "eml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(mails.len(), 2);
    assert!(mails[0].contains("JANE1990"), "the example in the mail explains the password rule");
    assert!(t.app.store.recent_audit(30).await.unwrap().iter().any(|a| a.event_id == "RES-SER-210"));
}

async fn a_printed_card_goes_from_new_to_delivered(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let t = &t;
    t.add_partner("print-01", "Print_Partner", PRINT_KEY).await;
    t.add_partner("print-02", "Print_Partner", OTHER_PRINT_KEY).await;
    t.add_partner("bank-01", "Auth_Partner", "bank-key-0123456789abcdef").await;
    let order = |uin: &'static str, trn: &'static str| async move {
        let otp = t.otp_for(uin, trn).await;
        let (_, r) = t
            .post(
                "/resident/v1/req/print-uin",
                envelope(
                    "mosip.resident.printuin",
                    json!({"transactionID": trn, "individualId": uin, "individualIdType": "UIN", "otp": otp, "cardType": "UIN"}),
                ),
            )
            .await;
        assert_eq!(r["errors"], Value::Null, "{r}");
        r["response"]["registrationId"].as_str().unwrap().to_owned()
    };
    let rid = order(JANE, "3100000001").await;
    let rid2 = order(AMINA, "3100000002").await;

    // an auth partner's key, or a wrong key, gets nothing
    let (status, _) = t.partner_call("GET", "/print/v1/bank-01/jobs", "bank-key-0123456789abcdef", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t.partner_call("GET", "/print/v1/print-01/jobs", OTHER_PRINT_KEY, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, list) = t.partner_call("GET", "/print/v1/print-01/jobs", PRINT_KEY, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let jobs = list["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(jobs.iter().all(|j| j["status"] == "NEW"));
    assert!(!list.to_string().contains("Jane"), "the list carries no personal data");
    let job = jobs.iter().find(|j| j["rid"] == rid.as_str()).unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    let tracking = job["trackingId"].as_str().unwrap().to_owned();
    assert!(tracking.starts_with("PRN-"));

    // take it: ISSUED, with the card to print
    let (status, taken) = t.partner_call("POST", &format!("/print/v1/print-01/jobs/{id}/take"), PRINT_KEY, None).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken["job"]["status"], "ISSUED");
    use base64::Engine as _;
    let pdf = base64::engine::general_purpose::STANDARD.decode(taken["card"].as_str().unwrap()).unwrap();
    let credential = resident_card::credential_in_pdf(&pdf, taken["cardPassword"].as_str().unwrap()).unwrap();
    assert_eq!(resident_card::jws::verify(&credential, &t.jwks_keys().await).unwrap().claims["uin"], JANE);
    assert_eq!(taken["recipient"][0], "Jane Doe");
    // nobody else can take or move it
    let (status, r) =
        t.partner_call("POST", &format!("/print/v1/print-02/jobs/{id}/take"), OTHER_PRINT_KEY, None).await;
    assert_eq!((status, r["errors"][0]["errorCode"].as_str()), (StatusCode::CONFLICT, Some("PRT-JOB-002")));
    let (status, _) = t
        .partner_call(
            "POST",
            &format!("/print/v1/print-02/jobs/{id}/status"),
            OTHER_PRINT_KEY,
            Some(json!({"status": "PRINTING"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(t.check_status(check_request(&rid)).await.1["response"]["ridStatus"], "UNDER PROCESSING");

    let step = |status: &'static str, extra: Value| {
        let id = id.clone();
        async move {
            let mut body = json!({"status": status});
            if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
                b.extend(e.clone());
            }
            t.partner_call("POST", &format!("/print/v1/print-01/jobs/{id}/status"), PRINT_KEY, Some(body)).await
        }
    };
    // out of order is refused
    let (status, r) = step("DELIVERED", json!({})).await;
    assert_eq!((status, r["errors"][0]["errorCode"].as_str()), (StatusCode::CONFLICT, Some("PRT-JOB-003")), "{r}");
    let (status, _) = step("LOST_IN_SPACE", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for (s, extra) in
        [("PRINTING", json!({})), ("IN_TRANSIT", json!({"carrierReference": "POST-7788"})), ("DELIVERED", json!({}))]
    {
        let (status, r) = step(s, extra).await;
        assert_eq!(status, StatusCode::OK, "{s}: {r}");
        assert_eq!(r["status"], s);
        let shown = t.check_status(check_request(&rid)).await.1["response"]["ridStatus"].clone();
        assert_eq!(shown, if s == "DELIVERED" { "PROCESSED" } else { "UNDER PROCESSING" }, "{s}");
    }
    let (status, _) = step("DELIVERED", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "reported twice");

    // every step on the RID, in the history and told to the resident
    let stages = t.app.store.stage_history(&resident_domain::ids::Rid::parse(&rid).unwrap()).await.unwrap();
    let codes: Vec<String> = stages.iter().map(|s| format!("{}:{}", s.transaction_type.code(), s.comment)).collect();
    assert_eq!(codes.len(), 5, "{codes:?}");
    assert!(codes[3].contains("POST-7788"), "{codes:?}");
    let token = t.app.store.token_for(&resident_domain::ids::Uin::parse(JANE).unwrap());
    let events = t.app.store.events_for(&token, 0, 50).await.unwrap();
    let ev = events.iter().find(|e| e.aid.as_deref() == Some(rid.as_str())).unwrap();
    assert_eq!(ev.status_code, "CARD_DELIVERED");
    t.run_jobs().await;
    for status in ["ISSUED", "PRINTING", "IN_TRANSIT", "DELIVERED"] {
        let sms: Vec<String> = std::fs::read_dir(t.db.dir.path().join("outbox"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.to_string_lossy().contains(&format!("-RS_PRINT_{status}-"))
                    && p.extension().is_some_and(|e| e == "json")
            })
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert_eq!(sms.len(), 1, "{status}");
        assert!(sms[0].contains(&tracking), "{status}: {}", sms[0]);
    }

    // the other job fails with a reason; without one it is refused
    let id2 = jobs.iter().find(|j| j["rid"] == rid2.as_str()).unwrap()["id"].as_str().unwrap().to_owned();
    t.partner_call("POST", &format!("/print/v1/print-02/jobs/{id2}/take"), OTHER_PRINT_KEY, None).await;
    let uri = format!("/print/v1/print-02/jobs/{id2}/status");
    let (status, r) = t.partner_call("POST", &uri, OTHER_PRINT_KEY, Some(json!({"status": "FAILED"}))).await;
    assert_eq!((status, r["errors"][0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("PRT-JOB-004")));
    let (status, r) = t
        .partner_call(
            "POST",
            &uri,
            OTHER_PRINT_KEY,
            Some(json!({"status": "FAILED", "reason": "the card stock is damaged"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(t.check_status(check_request(&rid2)).await.1["response"]["ridStatus"], "REREGISTER");
    let (_, list) = t.partner_call("GET", "/print/v1/print-02/jobs", OTHER_PRINT_KEY, None).await;
    assert!(list["jobs"].as_array().unwrap().is_empty(), "finished jobs leave the list");
    let audit = t.app.store.recent_audit(60).await.unwrap();
    assert!(audit.iter().filter(|a| a.event_id == "RES-PRT-001").count() >= 6);
}

/// `resident card verify`, as someone checking a card offline would run it.
#[tokio::test]
async fn card_verify_checks_a_card_and_a_qr_payload_offline() {
    let Some(t) = TestApp::new(Db::Sqlite).await else { return };
    let otp = t.otp_for(JANE, "3200000001").await;
    let (_, _, pdf) = t.euin(JANE, "3200000001", &otp, "UIN").await;
    let dir = t.db.dir.path().to_owned();
    let card = dir.join("card.pdf");
    std::fs::write(&card, &pdf).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_resident"))
            .args(["--data-dir", dir.to_str().unwrap(), "card"])
            .args(args)
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["verify", card.to_str().unwrap(), "--password", "JANE1990"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("VALID") && out.contains("Jane Doe") && out.contains(JANE), "{out}");
    let (code, _, err) = run(&["verify", card.to_str().unwrap()]);
    assert_ne!(code, Some(0));
    assert!(err.contains("--password"), "{err}");

    // the QR payload: valid as issued, not valid with one character changed
    let credential = resident_card::credential_in_pdf(&pdf, "JANE1990").unwrap();
    let qr = dir.join("qr.txt");
    std::fs::write(&qr, &credential).unwrap();
    let (code, out, _) = run(&["verify", qr.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    let mut forged = credential.clone().into_bytes();
    let at = credential.find('.').unwrap() + 5;
    forged[at] = if forged[at] == b'x' { b'y' } else { b'x' };
    std::fs::write(&qr, &forged).unwrap();
    let (code, out, _) = run(&["verify", qr.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(out.contains("NOT VALID"), "{out}");

    // a key rotation keeps old cards valid; the new key signs new cards
    let (code, out, err) = run(&["rotate-key"]);
    assert_eq!(code, Some(0), "{out}{err}");
    std::fs::write(&qr, &credential).unwrap();
    assert_eq!(run(&["verify", qr.to_str().unwrap()]).0, Some(0));
    let (_, out, _) = run(&["keys"]);
    assert_eq!(out.lines().filter(|l| l.contains("created")).count(), 2, "{out}");
    assert!(t.app.store.recent_audit(5).await.unwrap().iter().any(|a| a.event_id == "RES-CRD-001"));
}
