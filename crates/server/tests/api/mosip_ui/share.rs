//! Share my data: the UI schema drawn from our identity schema, the resident's own values, MOSIP's
//! identity mapping, a share that gives the partner only what its policy allows, and a personalised
//! card that shows only what the resident chose.

use axum::http::StatusCode;
use resident_domain::credential::CredentialStore;
use resident_testkit::{Db, on_both};
use serde_json::{Value, json};

use super::{JANE, TestApp, ui_envelope, with_scope};

on_both!(the_app_shares_what_the_resident_ticks_with_a_partner, a_personalised_card_shows_only_what_was_chosen,);

fn share(partner: &str, purpose: &str, consent: &str, attributes: &[&str]) -> Value {
    let items: Vec<Value> = attributes
        .iter()
        .map(|a| json!({"attributeName": a, "isMasked": false, "value": "anything", "label": a}))
        .collect();
    ui_envelope(
        "mosip.resident.share.credential",
        json!({"partnerId": partner, "purpose": purpose, "consent": consent, "sharableAttributes": items}),
    )
}

async fn the_app_shares_what_the_resident_ticks_with_a_partner(kind: Db) {
    let Some(t) = TestApp::with_app(kind).await else { return };
    super::super::register_partner(&t.db, "bank-01", "Harbour Savings Bank");
    let policy = ["admin", "partner", "policy", "--partner", "bank-01", "--credential-type", "vercred"];
    let out = super::super::resident(&t.db, &[&policy[..], &["--attributes", "fullName,dateOfBirth,city"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let jane = t.app_login(JANE).await;

    // the schema: our identity schema's fields, labelled in its languages; no envelope
    let schema = t.ui_get("/resident/v1/auth-proxy/config/ui-schema/share-credential", &jane).await.json();
    let names: Vec<&str> =
        schema["identity"].as_array().unwrap().iter().map(|a| a["attributeName"].as_str().unwrap()).collect();
    assert_eq!(names, ["fullName", "dateOfBirth", "gender", "UIN", "phone", "email", "fullAddress"]);
    let address = &schema["identity"][6];
    assert_eq!(
        (address["label"]["eng"].as_str(), address["label"]["ara"].as_str()),
        (Some("Address"), Some("العنوان"))
    );
    assert!(address["formatOption"]["fra"].as_array().unwrap().iter().any(|o| o["value"] == "city"));
    // nothing is offered masked: neither a share nor a card request could say what to mask
    assert!(schema["identity"].as_array().unwrap().iter().all(|a| a["maskRequired"] == false));
    let r = t.ui_get("/resident/v1/auth-proxy/config/ui-schema/update-everything", &jane).await.json();
    assert_eq!(r["errors"][0]["message"], "Invalid Input Parameter- schemaType");

    // her values, and the masked ones
    let info = t.ui_get("/resident/v1/identity/info/type/share-credential", &jane).await.json();
    assert_eq!(info["errors"], Value::Null);
    let values = &info["response"];
    assert_eq!((values["UIN"].as_str(), values["dateOfBirth"].as_str()), (Some(JANE), Some("1990/05/12")), "{values}");
    assert!(values["fullName"].as_array().unwrap().iter().any(|n| n["value"] == "Jane Doe"));
    assert!(values.get("city").is_some() && values.get("masked_phone").is_none(), "{values}");
    assert_eq!(
        with_scope_status(&t, &jane, "Manage-VID", "/resident/v1/identity/info/type/share-credential").await,
        403
    );
    let mapping = t.ui_get("/resident/v1/auth-proxy/config/identity-mapping", &jane).await.json();
    assert_eq!(mapping["identity"]["name"]["value"], "fullName");
    assert!(mapping["identity"]["fullAddress"]["value"].as_str().unwrap().contains("city"));

    // refused: no attributes, no purpose, no consent, an unknown partner; nothing requested
    for (body, code) in [
        (share("bank-01", "Opening an account", "Accepted", &[]), "RES-SER-414"),
        (share("bank-01", "  ", "Accepted", &["fullName"]), "RES-SER-414"),
        (share("bank-01", &"x".repeat(1025), "Accepted", &["fullName"]), "RES-SER-514"),
        (share("bank-01", "Opening an account", "Rejected", &["fullName"]), "RES-SER-461"),
        (share("nobody", "Opening an account", "Accepted", &["fullName"]), "RES-SER-410"),
        (share("bank-01", "Opening an account", "Accepted", &["phone"]), "RES-SER-410"),
        // the address lines the resident kept, none of which the policy allows
        (
            ui_envelope(
                "mosip.resident.share.credential",
                json!({"partnerId": "bank-01", "purpose": "Opening an account", "consent": "Accepted",
                       "sharableAttributes": [{"attributeName": "fullAddress", "format": "addressLine1,postalCode"}]}),
            ),
            "RES-SER-410",
        ),
    ] {
        let r = t.ui_send("POST", "/resident/v1/share-credential", &jane, body).await;
        assert!(!r.headers.contains_key("eventid"));
        assert_eq!(r.json()["errors"][0]["errorCode"], code, "{}", r.json());
    }

    // shared: name and the address (the policy allows only the city of it); the values the app sent
    // along are ignored
    let done = t
        .ui_send(
            "POST",
            "/resident/v1/share-credential",
            &jane,
            share("bank-01", "Opening an account", "Accepted", &["fullName", "fullAddress"]),
        )
        .await;
    let r = done.json();
    assert_eq!((r["errors"].clone(), r["response"]["status"].clone()), (Value::Null, json!("Success")), "{r}");
    let event = done.headers["eventid"].to_str().unwrap().to_owned();
    let tracked = t.ui_get(&format!("/resident/v1/events/{event}?langCode=eng"), &jane).await.json();
    assert_eq!(tracked["response"]["info"]["eventTypeEnum"], "SHARE_CRED_WITH_PARTNER", "{tracked}");
    let request_id = tracked["response"]["info"]["trackingId"].as_str().unwrap().to_owned();
    let record = t.app.store.credential_request(&request_id).await.unwrap().unwrap();
    assert_eq!((record.partner_id.as_str(), record.credential_type.as_str()), ("bank-01", "vercred"));
    assert_eq!(record.attributes, ["fullName", "city"]);
    let anon = t.ui_send("POST", "/resident/v1/share-credential", "", share("bank-01", "x", "Accepted", &["fullName"]));
    assert_eq!(anon.await.status, StatusCode::UNAUTHORIZED);
}

async fn with_scope_status(t: &TestApp, cookie: &str, scope: &str, uri: &str) -> u16 {
    t.ui_get(uri, &with_scope(t, cookie, scope)).await.status.as_u16()
}

fn card_request(attributes: &[&str]) -> Value {
    ui_envelope(
        "mosip.resident.download.personalized.card",
        json!({"html": "PGgxPkphbmU8L2gxPg==", "attributes": attributes}),
    )
}

async fn a_personalised_card_shows_only_what_was_chosen(kind: Db) {
    let Some(t) = TestApp::with_app(kind).await else { return };
    let jane = t.app_login(JANE).await;
    // a card never carries contact details: the schema does not offer them
    let schema = t.ui_get("/resident/v1/auth-proxy/config/ui-schema/personalized-card", &jane).await.json();
    let names: Vec<&str> =
        schema["identity"].as_array().unwrap().iter().map(|a| a["attributeName"].as_str().unwrap()).collect();
    assert_eq!(names, ["fullName", "dateOfBirth", "gender", "UIN", "fullAddress"]);
    // one layout: no formats to choose, the address as the card writes it
    assert!(schema["identity"].as_array().unwrap().iter().all(|a| a["formatRequired"] == false));
    let info = t.ui_get("/resident/v1/identity/info/type/personalized-card", &jane).await.json();
    assert!(info["response"]["fullAddress"][0]["value"].as_str().unwrap().contains("Kenitra"), "{info}");
    for (attributes, code) in [(&[][..], "RES-SER-414"), (&["fullName", "phone"][..], "RES-SER-410")] {
        let r = t.ui_send("POST", "/resident/v1/download/personalized-card", &jane, card_request(attributes)).await;
        assert_eq!(r.json()["errors"][0]["errorCode"], code, "{}", r.json());
    }
    let narrow = with_scope(&t, &jane, "Manage-VID");
    let r = t.ui_send("POST", "/resident/v1/download/personalized-card", &narrow, card_request(&["fullName"])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let card = t
        .ui_send("POST", "/resident/v1/download/personalized-card", &jane, card_request(&["fullName", "dateOfBirth"]))
        .await;
    assert_eq!((card.status, card.headers["content-type"].to_str().unwrap()), (StatusCode::OK, "application/pdf"));
    let event = card.headers["eventid"].to_str().unwrap().to_owned();
    let disposition = card.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with(&format!("attachment; filename=\"Personalized_card_{event}_")), "{disposition}");
    let credential = resident_card::credential_in_pdf(&card.body, "JANE1990").unwrap();
    let claims = resident_card::jws::verify(&credential, &t.jwks_keys().await).unwrap().claims;
    assert_eq!((claims["name"]["eng"].as_str(), claims["dob"].as_str()), (Some("Jane Doe"), Some("1990/05/12")));
    for absent in ["uin", "gender", "address"] {
        assert!(claims.get(absent).is_none(), "{absent} was not chosen: {claims}");
    }
    let tracked = t.ui_get(&format!("/resident/v1/events/{event}?langCode=eng"), &jane).await.json();
    assert_eq!(tracked["response"]["info"]["eventTypeEnum"], "DOWNLOAD_PERSONALIZED_CARD", "{tracked}");
}
