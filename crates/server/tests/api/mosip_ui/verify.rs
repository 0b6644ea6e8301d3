//! Verify phone/email without logging in: the status tells only the resident it is about, the OTP
//! from `/req/otp` verifies the channel it went to, once.

use resident_domain::clock::mosip_datetime;
use resident_testkit::{Db, on_both, t0};
use serde_json::{Value, json};

use super::{AMINA, JANE, TestApp, ui_envelope};

on_both!(a_resident_verifies_a_phone_with_an_otp_and_only_they_see_it_verified,);

fn status_uri(channel: &str, id: &str) -> String {
    format!("/resident/v1/channel/verification-status/?channel={channel}&individualId={id}")
}

fn validate(trn: &str, id: &str, otp: &str) -> Value {
    ui_envelope("mosip.identity.otp.internal", json!({"transactionId": trn, "individualId": id, "otp": otp}))
}

async fn a_resident_verifies_a_phone_with_an_otp_and_only_they_see_it_verified(kind: Db) {
    let Some(t) = TestApp::with_app(kind).await else { return };
    // nobody is verified to a stranger; MOSIP's own envelope
    let r = t.ui_get(&status_uri("PHONE", JANE), "").await.json();
    assert_eq!(r["response"], json!({"verificationStatus": false, "maskedUserId": ""}), "{r}");
    assert_eq!(
        (r["errors"].clone(), r["id"].clone()),
        (Value::Null, json!("mosip.resident.channel.verification.status"))
    );
    assert!(r.get("responseTime").is_some());
    for (uri, code) in [
        (status_uri("FAX", JANE), "RES-SER-410"),
        (status_uri("PHONE", "123"), "RES-SER-522"),
        ("/resident/v1/channel/verification-status/?channel=PHONE".to_owned(), "RES-SER-418"),
    ] {
        assert_eq!(t.ui_get(&uri, "").await.json()["errors"][0]["errorCode"], code, "{uri}");
    }

    // the app's OTP request, as it sends it
    let otp_request = json!({
        "id": "mosip.identity.otp.internal", "version": "1.0", "transactionID": "4000000001",
        "requestTime": mosip_datetime(t0()), "individualId": JANE, "otpChannel": ["PHONE"],
    });
    let sent = t.ui_send("POST", "/resident/v1/req/otp", "", otp_request).await.json();
    assert_eq!(sent["errors"], Value::Null, "{sent}");
    assert!(sent["response"]["maskedMobile"].as_str().unwrap().ends_with("3210"), "{sent}");
    t.run_jobs().await;
    let otp = t.latest_otp();
    let wrong = if otp == "111111" { "222222" } else { "111111" };

    // refused: a wrong OTP, another transaction, no request; nothing verified
    for body in [
        validate("4000000001", JANE, wrong),
        validate("4000000002", JANE, &otp),
        json!({"id": "mosip.identity.otp.internal", "version": "1.0"}),
    ] {
        let r = t.ui_send("POST", "/resident/v1/validate-otp", "", body).await.json();
        assert!(r["errors"][0]["errorCode"].is_string(), "{r}");
        assert_eq!(r["response"], Value::Null);
    }
    let r = t.ui_send("POST", "/resident/v1/validate-otp", "", validate("4000000001", "123", &otp)).await.json();
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-522");

    // verified: the event id in the header, MOSIP's answer with the request's id
    let done = t.ui_send("POST", "/resident/v1/validate-otp", "", validate("4000000001", JANE, &otp)).await;
    let r = done.json();
    assert_eq!(r["errors"], Value::Null, "{r}");
    assert_eq!(r["response"], json!({"authStatus": true, "transactionId": "4000000001", "status": "Success"}));
    assert_eq!(r["id"], "mosip.identity.otp.internal");
    let event = done.headers["eventid"].to_str().unwrap().to_owned();
    // once
    let again = t.ui_send("POST", "/resident/v1/validate-otp", "", validate("4000000001", JANE, &otp)).await.json();
    assert_eq!(again["errors"][0]["errorCode"], "RES-SER-422", "{again}");

    // still nothing to a stranger or to another resident; the truth to Jane, for the phone only
    assert_eq!(t.ui_get(&status_uri("PHONE", JANE), "").await.json()["response"]["verificationStatus"], false);
    let amina = t.app_login(AMINA).await;
    assert_eq!(t.ui_get(&status_uri("PHONE", JANE), &amina).await.json()["response"]["verificationStatus"], false);
    let jane = t.app_login(JANE).await;
    let r = t.ui_get(&status_uri("PHONE", JANE), &jane).await.json();
    assert_eq!(r["response"]["verificationStatus"], true, "{r}");
    let masked = r["response"]["maskedUserId"].as_str().unwrap();
    assert!(masked.ends_with("3210") && !masked.contains("9876"), "{masked}");
    assert_eq!(t.ui_get(&status_uri("EMAIL", JANE), &jane).await.json()["response"]["verificationStatus"], false);
    // without the trailing slash too
    let plain = "/resident/v1/channel/verification-status?channel=PHONE&individualId=".to_owned() + JANE;
    assert_eq!(t.ui_get(&plain, &jane).await.json()["response"]["verificationStatus"], true);

    // in her history
    let tracked = t.ui_get(&format!("/resident/v1/events/{event}?langCode=eng"), &jane).await.json();
    assert_eq!(tracked["response"]["info"]["eventTypeEnum"], "VALIDATE_OTP", "{tracked}");
    assert_eq!(tracked["response"]["eventStatus"], "Success");
}
