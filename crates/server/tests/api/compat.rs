//! Where MOSIP 1.2.1 answers differently from 1.2.0 and its test suite expects 1.2.1: we are the
//! superset (docs/conformance.md).

use resident_testkit::{Db, on_both};
use serde_json::{Value, json};

use super::{JANE, TestApp, envelope};

on_both!(
    a_vid_is_revoked_with_any_of_the_identitys_ids_and_only_the_identitys,
    an_empty_vid_type_is_406_after_the_otp,
    a_credential_request_with_a_bad_otp_answers_idas_code,
    mosips_attribute_names_share_what_the_policy_allows,
    a_relying_partys_auth_policy_is_its_demographic_policy,
);

impl TestApp {
    async fn new_vid(&self, trn: &str, vid_type: &str) -> String {
        let otp = self.otp_for(JANE, trn).await;
        let body = envelope(
            "mosip.resident.vid",
            json!({"transactionID": trn, "individualId": JANE, "otp": otp, "vidType": vid_type}),
        );
        let (_, r) = self.post("/resident/v1/vid", body).await;
        r["response"]["vid"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned()
    }

    async fn revoke(&self, path_vid: &str, by: &str, by_type: &str, trn: &str) -> Value {
        let otp = self.otp_for(by, trn).await;
        let body = envelope(
            "mosip.resident.vidstatus",
            json!({"transactionID": trn, "individualId": by, "individualIdType": by_type, "otp": otp, "vidStatus": "REVOKED"}),
        );
        let (_, r) = self
            .call(
                "PATCH",
                &format!("/resident/v1/vid/{path_vid}"),
                &[("content-type", "application/json")],
                body.to_string(),
            )
            .await;
        r
    }
}

async fn a_vid_is_revoked_with_any_of_the_identitys_ids_and_only_the_identitys(kind: Db) {
    let Some(t) = TestApp::build(kind, |c| c.otp.flooding_max = 100).await else { return };
    let perpetual = t.new_vid("1000000001", "Perpetual").await;
    let temporary = t.new_vid("1000000002", "Temporary").await;
    // with another VID of the same identity
    let r = t.revoke(&temporary, &perpetual, "VID", "1000000003").await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    // with the UIN
    let temporary = t.new_vid("1000000004", "Temporary").await;
    let r = t.revoke(&temporary, JANE, "UIN", "1000000005").await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    // already revoked, malformed, or someone else's: RES-SER-412, and nothing changes
    let r = t.revoke(&temporary, JANE, "UIN", "1000000006").await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-412", "{r}");
    let r = t.revoke("@234rff", JANE, "UIN", "1000000007").await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-412", "{r}");
    let sara = "2013023805";
    let otp = t.otp_for(sara, "1000000008").await;
    let body = envelope(
        "mosip.resident.vid",
        json!({"transactionID": "1000000008", "individualId": sara, "otp": otp, "vidType": "Temporary"}),
    );
    let (_, r) = t.post("/resident/v1/vid", body).await;
    let saras = r["response"]["vid"].as_str().unwrap().to_owned();
    let r = t.revoke(&saras, JANE, "UIN", "1000000009").await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-412", "Jane cannot revoke Sara's VID: {r}");
    let r = t.revoke(&saras, sara, "UIN", "1000000010").await;
    assert_eq!(r["errors"], Value::Null, "Sara can: {r}");
    // a one-time VID whose one use is spent can still be revoked
    let once = t.new_vid("1000000012", "OneTimeUse").await;
    let otp = t.otp_for(&once, "1000000013").await;
    let history = envelope(
        "mosip.resident.authhistory",
        json!({"transactionID": "1000000013", "individualId": once, "otp": otp}),
    );
    let (_, r) = t.post("/resident/v1/req/auth-history", history).await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    let r = t.revoke(&once, JANE, "UIN", "1000000014").await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    // the id must be of the type it says
    let r = t.revoke(&perpetual, JANE, "VID", "1000000011").await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-410", "{r}");
}

async fn an_empty_vid_type_is_406_after_the_otp(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let vid = |otp: &str, trn: &str, vid_type: Value| {
        envelope(
            "mosip.resident.vid",
            json!({"transactionID": trn, "individualId": JANE, "otp": otp, "vidType": vid_type}),
        )
    };
    let otp = t.otp_for(JANE, "1000000001").await;
    let (_, r) = t.post("/resident/v1/vid", vid(&otp, "1000000001", json!("Gold"))).await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-410", "an unknown type is refused before the OTP: {r}");
    let (_, r) = t.post("/resident/v1/vid", vid("000000", "1000000001", json!(""))).await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-422", "the OTP comes first: {r}");
    let (_, r) = t.post("/resident/v1/vid", vid(&otp, "1000000001", json!(""))).await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-406", "{r}");
}

async fn a_credential_request_with_a_bad_otp_answers_idas_code(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    t.otp_for(JANE, "1000000001").await;
    let body = json!({"id": "mosip.resident.credential.request", "version": "v1", "request": {
        "transactionID": "1000000001", "individualId": JANE, "otp": "000000", "credentialType": "euin", "issuer": "nobody"}});
    let (_, r) = t.post("/resident/v1/req/credential", body).await;
    assert_eq!(r["errors"][0]["errorCode"], "IDA-MLC-018", "{r}");
}

async fn mosips_attribute_names_share_what_the_policy_allows(kind: Db) {
    use resident_domain::credential::{CredentialStore, Policy};
    let Some(t) = TestApp::new(kind).await else { return };
    t.add_partner("cred-01", "Credential_Partner", "cred-partner-key-0123456789").await;
    let policy = Policy {
        policy_id: "p-qr".into(),
        policy_name: "qr".into(),
        partner_id: "cred-01".into(),
        credential_type: "qrcode".into(),
        attributes: ["fullName", "addressLine1", "city"].iter().map(|a| a.to_string()).collect(),
        created_at: resident_testkit::t0(),
    };
    t.app.store.set_policy(&policy, &Default::default(), resident_testkit::t0()).await.unwrap();
    // MOSIP's names for the name and the address: the policy's part of the address is shared
    let r = t
        .ask_credential(
            JANE,
            "1000000001",
            json!({"credentialType": "qrcode", "issuer": "cred-01", "sharableAttributes": ["name", "address"]}),
        )
        .await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    let id = r["response"]["requestId"].as_str().unwrap();
    let stored = t.app.store.credential_request(id).await.unwrap().unwrap();
    assert_eq!(stored.attributes, vec!["fullName", "addressLine1", "city"]);
    // a name of which the policy allows nothing is refused
    let r = t
        .ask_credential(
            JANE,
            "1000000002",
            json!({"credentialType": "qrcode", "issuer": "cred-01", "sharableAttributes": ["dob"]}),
        )
        .await;
    assert_eq!(r["errors"][0]["message"], "Invalid Input Parameter- sharableAttributes/dob", "{r}");
}

async fn a_relying_partys_auth_policy_is_its_demographic_policy(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    t.add_partner("bank-01", "Auth_Partner", "bank-partner-key-0123456789").await;
    let get = |path: &'static str| {
        let t = &t;
        async move { t.call("GET", path, &[], axum::body::Body::empty()).await.1 }
    };
    let r = get("/resident/v1/req/policy/partnerId/bank-01/credentialType/auth").await;
    assert_eq!(r["response"]["partnerId"], "bank-01", "{r}");
    assert_eq!(r["response"]["credentialType"], "auth");
    assert_eq!(r["response"]["policies"]["demographicAttributes"], json!(["name", "dob"]), "the default: {r}");
    for path in [
        "/resident/v1/req/policy/partnerId/nobody/credentialType/auth",
        "/resident/v1/req/policy/partnerId/bank-01/credentialType/shoes",
        "/resident/v1/req/policy/partnerId/nobody/credentialType/qrcode",
    ] {
        assert_eq!(get(path).await["errors"][0]["errorCode"], "PMS_PRT_064", "{path}");
    }
}
