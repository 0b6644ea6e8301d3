//! The Resident Portal and MOSIP's portal app at a resident tier that holds no identity, in front of
//! a platform tier: a session keeps the UIN it opens (sealed), and its pages read the identity, its
//! VIDs, locks and photo from the platform's ID Repository, as the 1.2.0 API does.

use resident_testkit::{Db, on_both};
use serde_json::{Value, json};

use super::mosip_ui::APP;
use super::platform_tiers::tier;
use super::portal::value;
use super::{JANE, TestApp, envelope};

on_both!(the_portal_and_the_app_at_a_resident_tier_show_the_platforms_identity_vids_and_locks);

async fn the_portal_and_the_app_at_a_resident_tier_show_the_platforms_identity_vids_and_locks(kind: Db) {
    let Some(platform) = TestApp::new(kind).await else { return };
    let (base, secret) = platform.serve_platform_for_a_resident_tier().await;
    let to_platform = tier(&base, &secret, true);
    let Some(t) = TestApp::build_seeded(kind, false, move |c| {
        to_platform(c);
        c.mosip_ui.url = Some(APP.into());
    })
    .await
    else {
        return;
    };
    let jane = resident_domain::ids::Uin::parse(JANE).unwrap();
    assert!(resident_domain::ports::IdentityRegistry::find_identity(&t.app.store, &jane).await.unwrap().is_none());

    // a VID and a lock, made at the platform itself
    let code = platform.otp_for(JANE, "1234567890").await;
    let body = json!({"transactionID": "1234567890", "individualId": JANE, "otp": code, "vidType": "Perpetual"});
    let (_, r) = platform.post("/resident/v1/vid", envelope("mosip.resident.vid", body)).await;
    let vid = r["response"]["vid"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned();
    let code = platform.otp_for(JANE, "2234567890").await;
    let body = json!({"transactionID": "2234567890", "individualId": JANE, "otp": code, "authType": ["demo"]});
    let (_, r) = platform.post("/resident/v1/req/auth-lock", envelope("mosip.resident.authlock", body)).await;
    assert_eq!(r["response"]["status"], "SUCCESS", "{r}");

    // the portal: logged in with the OTP the platform sent
    let fresh = t.page("GET", "/login", "", &[]).await;
    let (cookies, token) = (value(&fresh.cookie("rs_csrf").unwrap()).to_owned(), fresh.hidden("csrf"));
    let sent =
        t.page("POST", "/login", &cookies, &[("csrf", &token), ("individual_id", JANE), ("channel", "PHONE")]).await;
    let trn = sent.hidden("transaction_id");
    assert_eq!(t.run_jobs().await, 0, "the resident tier sends no OTP of its own");
    platform.run_jobs().await;
    let otp = platform.latest_otp();
    let form = [("csrf", token.as_str()), ("individual_id", JANE), ("transaction_id", &trn), ("otp", &otp)];
    let ok = t.page("POST", "/login/otp", &cookies, &form).await;
    let jar = format!("{cookies}; {}", value(&ok.cookie("rs_session").unwrap_or_else(|| panic!("{}", ok.body))));
    let account = t.page("GET", "/account", &jar, &[]).await;
    assert!(account.body.contains("Jane Doe"), "{}", account.body);
    let vids = t.page("GET", "/account/vids", &jar, &[]).await;
    assert!(vids.body.contains(&vid), "the platform's VID: {}", vids.body);
    let locks = t.page("GET", "/account/locks", &jar, &[]).await;
    assert!(locks.body.contains("Locked"), "the platform's lock: {}", locks.body);

    // MOSIP's portal app: the same, in the shapes it reads
    let cookie = t.app_login_via(JANE, &platform).await;
    let profile = t.ui_get("/resident/v1/profile", &cookie).await.json();
    assert_eq!(profile["response"]["fullName"], "Jane Doe", "{profile}");
    assert!(profile["response"]["photo"].is_object(), "the photo from the platform's documents: {profile}");
    let listed = t.ui_get("/resident/v1/vids", &cookie).await.json();
    let listed: Vec<&str> = listed["response"].as_array().unwrap().iter().filter_map(|v| v["vid"].as_str()).collect();
    assert!(listed.contains(&vid.as_str()), "{listed:?}");
    let status = t.ui_get("/resident/v1/auth-lock-status", &cookie).await.json();
    let demo = status["response"]["authTypes"].as_array().unwrap().iter().find(|a| a["authType"] == "demo").cloned();
    assert_eq!(demo.map(|d| d["locked"].clone()), Some(Value::Bool(true)), "{status}");

    // verifying her phone: the OTP's channels are the resident tier's own record of its request
    let ask = json!({"id": "mosip.identity.otp.internal", "version": "1.0", "transactionID": "4000000001",
        "requestTime": resident_domain::clock::mosip_datetime(resident_testkit::t0()), "individualId": JANE,
        "otpChannel": ["PHONE"]});
    let sent = t.ui_send("POST", "/resident/v1/req/otp", "", ask).await.json();
    assert_eq!(sent["errors"], Value::Null, "{sent}");
    platform.run_jobs().await;
    let otp = platform.latest_otp();
    let body = super::mosip_ui::ui_envelope(
        "mosip.identity.otp.internal",
        json!({"transactionId": "4000000001", "individualId": JANE, "otp": otp}),
    );
    let verified = t.ui_send("POST", "/resident/v1/validate-otp", "", body).await.json();
    assert_eq!(verified["response"]["status"], "Success", "{verified}");
    let uri = format!("/resident/v1/channel/verification-status/?channel=PHONE&individualId={JANE}");
    assert_eq!(t.ui_get(&uri, &cookie).await.json()["response"]["verificationStatus"], true);

    // still nothing of Jane's identity at the resident tier
    assert!(resident_domain::ports::IdentityRegistry::find_identity(&t.app.store, &jane).await.unwrap().is_none());
}
