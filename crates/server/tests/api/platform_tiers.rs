//! Two tiers: this binary's embedded platform serving MOSIP's contracts (IDA, ID Repository, notifier,
//! masterdata) and a resident tier calling it. ID Authentication between the tiers: its internal contracts
//! (OTP, sealed authentication, authentication transactions, the key manager's certificate) over a
//! real socket, MOSIP's client of them (`resident_mosip::ida::MosipIda`), and a resident tier in
//! `mosip` mode whose OTP journey runs on another process's platform.

use std::sync::Arc;
use std::time::Duration;

use resident_domain::ResidentError;
use resident_domain::ida::{IdAuthentication, IdaCall};
use resident_domain::ids::IndividualId;
use resident_domain::otp::OtpChannel;
use resident_domain::ports::IdentityRecords;
use resident_mosip::auth::{ClientCredentials, KernelAuth};
use resident_mosip::ida::MosipIda;
use resident_server::config::{PlatformMode, Secret};
use resident_testkit::{Db, on_both};
use serde_json::{Value, json};

use super::{JANE, TestApp, envelope, otp_request};

on_both!(
    mosips_ida_client_runs_the_otp_journey_on_the_embedded_ida,
    a_resident_tier_in_mosip_mode_authenticates_on_the_platform_tier,
    a_resident_tier_with_no_identities_runs_the_whole_journey_on_the_platform_tier,
    two_resident_processes_run_as_a_resident_tier_and_a_platform_tier,
    the_resident_tiers_audit_chain_is_handed_on_to_the_platforms_audit_manager,
);

/// A resident tier's configuration against the platform at `base`: every service MOSIP's (`all`), or
/// ID Authentication only, with the registered client's secret and a short timeout.
pub(crate) fn tier(base: &str, secret: &str, all: bool) -> impl FnOnce(&mut resident_server::config::Config) {
    let (base, secret) = (base.to_owned(), secret.to_owned());
    move |c| {
        if all {
            c.platform.mode = PlatformMode::Mosip;
        } else {
            c.platform.services.ida = Some(PlatformMode::Mosip);
        }
        c.platform.mosip.base_url = Some(base);
        c.platform.mosip.client_id = Some("mosip-resident-client".into());
        c.platform.mosip.secret_key = Some(Secret(secret));
        c.platform.mosip.timeout_seconds = 2;
    }
}

/// The resident tier's client's token from the platform's auth manager.
async fn tier_token(t: &TestApp, secret: &str) -> String {
    let body = json!({"request": {"clientId": "mosip-resident-client", "secretKey": secret, "appId": "resident"}});
    let (_, _, headers) =
        t.post_with_headers("/v1/authmanager/authenticate/clientidsecretkey", &[], body.to_string()).await;
    headers["authorization"].to_str().unwrap().to_owned()
}

fn client(t: &TestApp, base: &str, secret: &str) -> MosipIda {
    let creds = ClientCredentials {
        client_id: "mosip-resident-client".into(),
        secret_key: secret.into(),
        app_id: "resident".into(),
    };
    let clock = t.clock.clone();
    let auth = Arc::new(
        KernelAuth::new(&format!("{base}/v1/authmanager"), creds, Duration::from_secs(10), clock.clone()).unwrap(),
    );
    MosipIda::new(&format!("{base}/idauthentication/v1/internal"), auth, Duration::from_secs(10), clock).unwrap()
}

async fn mosips_ida_client_runs_the_otp_journey_on_the_embedded_ida(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let (base, secret) = t.serve_platform_for_a_resident_tier().await;
    let ida = client(&t, &base, &secret);
    let audit = t.app.operator_context();
    let call = IdaCall { audit: &audit, now: resident_domain::clock::Clock::now(t.clock.as_ref()) };
    let jane = IndividualId::parse(JANE).unwrap();

    // the OTP goes out from the platform; the masked number comes back
    let sent = ida.request_otp(&call, &jane, "AB12345678", &[OtpChannel::Phone]).await.unwrap();
    assert_eq!(sent.masked_mobile.as_deref(), Some("XXXXXX3210"));
    assert_eq!(sent.masked_email, None);
    assert!(t.run_jobs().await >= 1);
    let otp = t.latest_otp();

    // sealed for the platform's certificate, opened there, checked once
    assert_eq!(ida.authenticate_otp(&call, &jane, "AB12345678", &otp).await.unwrap(), Ok(()));
    let again = ida.authenticate_otp(&call, &jane, "AB12345678", &otp).await.unwrap().unwrap_err();
    assert_eq!(again.code, "IDA-OTA-004", "single use: {again:?}");
    let elsewhere = ida.authenticate_otp(&call, &jane, "ZZ12345678", &otp).await.unwrap().unwrap_err();
    assert!(elsewhere.code.starts_with("IDA-OTA-"), "another transaction: {elsewhere:?}");

    // IDA's refusals come back as IDA's codes
    let unknown = IndividualId::Vid(resident_domain::ids::Vid::generate(&mut resident_domain::clock::rng()));
    match ida.request_otp(&call, &unknown, "AB12345679", &[OtpChannel::Email]).await {
        Err(ResidentError::Ida(code, _)) => assert_eq!(code, "IDA-MLC-018"),
        other => panic!("{other:?}"),
    }

    // the transactions, newest first, as the resident's history shows them
    let who = t.app.store.resolve(&jane, call.now).await.unwrap().unwrap();
    let txns = ida.auth_transactions(&call, &who, &jane, 1, 10).await.unwrap();
    let kinds: Vec<(&str, &str)> = txns.iter().map(|t| (t.auth_type_code.as_str(), t.status_code.as_str())).collect();
    assert!(
        kinds.contains(&("OTP-REQUEST", "Y"))
            && kinds.contains(&("OTP-AUTH", "Y"))
            && kinds.contains(&("OTP-AUTH", "N")),
        "{kinds:?}"
    );
    assert!(txns.iter().all(|x| x.entity_name == "resident-services" && x.token == who.token));
    assert_eq!(ida.auth_transactions(&call, &who, &jane, 1, 1).await.unwrap().len(), 1);

    // without the RESIDENT role's token, nothing: the certificate and the OTP alike
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{base}/idauthentication/v1/internal/getCertificate?applicationId=IDA&referenceId=INTERNAL"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let res = http
        .post(format!("{base}/idauthentication/v1/internal/otp"))
        .header("authorization", "futureProof")
        .json(&otp_request(JANE, "AB12345670", &["PHONE"]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
}

/// What a sealed request looks like to the platform when it was not sealed for its key, or its HMAC
/// does not match: IDA's decryption and HMAC codes, `authStatus` false, nothing used up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_not_sealed_for_the_platforms_key_is_refused_with_idas_codes() {
    let Some(t) = TestApp::new(Db::Sqlite).await else { return };
    let (base, secret) = t.serve_platform_for_a_resident_tier().await;
    let token = tier_token(&t, &secret).await;
    let other =
        resident_mosip::crypto::InternalKeys::derive(&[9u8; 32], resident_mosip::crypto::IDA_INTERNAL_SUBJECT).unwrap();
    let cert = resident_mosip::crypto::IdaCertificate::from_pem(other.certificate_pem()).unwrap();
    let plain = br#"{"otp":"123456","timestamp":"2026-11-26T09:00:00.000Z"}"#;
    let sealed = resident_mosip::crypto::seal(&cert, plain, &mut resident_domain::clock::rng()).unwrap();
    let body = |sealed: &resident_mosip::crypto::Sealed| {
        json!({"id": "mosip.identity.auth.internal", "version": "1.0", "requestTime": "2026-11-26T09:00:00.000Z",
               "transactionID": "AB12345678", "individualId": JANE, "consentObtained": true,
               "request": sealed.request, "requestSessionKey": sealed.request_session_key,
               "requestHMAC": sealed.request_hmac, "thumbprint": sealed.thumbprint})
    };
    let http = reqwest::Client::new();
    let post = |b: Value| {
        http.post(format!("{base}/idauthentication/v1/internal/auth"))
            .header("authorization", "futureProof")
            .header("cookie", format!("Authorization={token}"))
            .json(&b)
            .send()
    };
    let answer: Value = post(body(&sealed)).await.unwrap().json().await.unwrap();
    assert_eq!(answer["errors"][0]["errorCode"], "IDA-MPA-003", "{answer}");
    assert_eq!(answer["response"]["authStatus"], false);

    // sealed for the platform's own certificate, but with another request's HMAC
    let certificate = |application: &str| {
        http.get(format!("{base}/v1/keymanager/getCertificate?applicationId={application}&referenceId=INTERNAL"))
            .header("cookie", format!("Authorization={token}"))
            .send()
    };
    let res: Value = certificate("IDA").await.unwrap().json().await.unwrap();
    let pem = res["response"]["certificate"].as_str().unwrap();
    let cert = resident_mosip::crypto::IdaCertificate::from_pem(pem).unwrap();
    let one = resident_mosip::crypto::seal(&cert, plain, &mut resident_domain::clock::rng()).unwrap();
    let two = resident_mosip::crypto::seal(&cert, br#"{"otp":"654321"}"#, &mut resident_domain::clock::rng()).unwrap();
    let mixed = resident_mosip::crypto::Sealed { request_hmac: two.request_hmac, ..one };
    let answer: Value = post(body(&mixed)).await.unwrap().json().await.unwrap();
    assert_eq!(answer["errors"][0]["errorCode"], "IDA-MPA-016", "{answer}");

    // another application's certificate is not served
    let res: Value = certificate("REGISTRATION").await.unwrap().json().await.unwrap();
    assert_eq!(res["errors"][0]["errorCode"], "KER-KMS-002", "{res}");

    // the signing key signs JSON only, and never in IDA's name
    let b64 = |t: &str| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, t);
    let sign = |data: String| {
        http.post(format!("{base}/v1/keymanager/jwtSign"))
            .header("cookie", format!("Authorization={token}"))
            .json(&json!({"id": "string", "version": "string", "requesttime": "2026-11-26T09:00:00.000Z",
                "request": {"dataToSign": data, "applicationId": "IDA", "referenceId": "INTERNAL",
                            "includePayload": true, "includeCertificate": true}}))
            .send()
    };
    let refused: Value = sign(b64("not JSON")).await.unwrap().json().await.unwrap();
    assert_eq!(refused["errors"][0]["errorCode"], "KER-JWS-103", "{refused}");
    let refused: Value = sign(String::new()).await.unwrap().json().await.unwrap();
    assert_eq!(refused["errors"][0]["errorCode"], "KER-JWS-102", "{refused}");
    let signed: Value = sign(b64(r#"{"a":1}"#)).await.unwrap().json().await.unwrap();
    let jws = signed["response"]["jwtSignedData"].as_str().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, jws.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_ne!(
        header["x5t#S256"],
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, cert.thumbprint())
    );
    assert_eq!(header["x5c"].as_array().map(Vec::len), Some(1), "the certificate, as asked");
}

/// Two tiers: the resident tier's ID Authentication is MOSIP's, answered by the platform tier. The
/// OTP the resident asks for at the resident tier is sent, kept and checked by the platform; the
/// authentication history the resident tier shows is the platform's.
async fn a_resident_tier_in_mosip_mode_authenticates_on_the_platform_tier(kind: Db) {
    let Some(platform) = TestApp::new(kind).await else { return };
    let (base, secret) = platform.serve_platform_for_a_resident_tier().await;
    let Some(resident) = TestApp::build(kind, tier(&base, &secret, false)).await else {
        return;
    };
    let (_, r) = resident.post("/resident/v1/req/otp", otp_request(JANE, "AB12345678", &["PHONE"])).await;
    assert_eq!(r["response"]["maskedMobile"], "XXXXXX3210", "{r}");
    // the platform sent it; the resident tier keeps no OTP and sends nothing
    assert_eq!(resident.run_jobs().await, 0);
    assert!(platform.run_jobs().await >= 1);
    let otp = platform.latest_otp();

    let history = |otp: &str| {
        envelope(
            "mosip.resident.authhistory",
            json!({"transactionID": "AB12345678", "individualId": JANE, "otp": otp, "pageStart": "1", "pageFetch": "10"}),
        )
    };
    let (_, wrong) = resident.post("/resident/v1/req/auth-history", history("000000")).await;
    assert_eq!(wrong["errors"][0]["errorCode"], "RES-SER-422", "{wrong}");
    let (_, r) = resident.post("/resident/v1/req/auth-history", history(&otp)).await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    let items = r["response"]["authHistory"].as_array().unwrap();
    let methods: Vec<&str> = items.iter().filter_map(|i| i["authModality"].as_str()).collect();
    assert!(methods.contains(&"OTP-REQUEST") && methods.contains(&"OTP-AUTH"), "{r}");
    // the OTP was used up at the platform
    let (_, r) = resident.post("/resident/v1/req/auth-history", history(&otp)).await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-422", "{r}");

    // a platform that does not answer: RES-SER-411, and nothing half-done at the resident tier
    let Some(alone) = TestApp::build(kind, tier("http://127.0.0.1:9", &secret, false)).await else {
        return;
    };
    let (status, r) = alone.post("/resident/v1/req/otp", otp_request(JANE, "AB12345670", &["PHONE"])).await;
    assert_eq!((status.as_u16(), r["errors"][0]["errorCode"].clone()), (503, json!("RES-SER-411")), "{r}");
    assert_eq!(alone.run_jobs().await, 0);
}

/// Two tiers, the resident tier holding no identity at all: ID Authentication and the ID Repository
/// are the platform tier's. The 1.2.0 journey (OTP, VID created and revoked, auth types locked and
/// unlocked, authentication history, the card) answers as one process does, and every change lands
/// in the platform tier.
async fn a_resident_tier_with_no_identities_runs_the_whole_journey_on_the_platform_tier(kind: Db) {
    let Some(platform) = TestApp::new(kind).await else { return };
    let (base, secret) = platform.serve_platform_for_a_resident_tier().await;
    let Some(t) = TestApp::build_seeded(kind, false, tier(&base, &secret, true)).await else {
        return;
    };
    let jane = resident_domain::ids::Uin::parse(JANE).unwrap();
    assert!(resident_domain::ports::IdentityRegistry::find_identity(&t.app.store, &jane).await.unwrap().is_none());
    let now = resident_domain::clock::Clock::now(t.clock.as_ref());
    let otp = |trn: &'static str| {
        let (t, platform) = (&t, &platform);
        async move {
            let (_, r) = t.post("/resident/v1/req/otp", otp_request(JANE, trn, &["PHONE"])).await;
            assert_eq!(r["response"]["maskedMobile"], "XXXXXX3210", "{r}");
            assert!(platform.run_jobs().await >= 1);
            platform.latest_otp()
        }
    };

    // a VID, made by the platform's ID Repository under its policy
    let code = otp("1234567890").await;
    let (_, r) = t
        .post(
            "/resident/v1/vid",
            envelope(
                "mosip.resident.vid",
                json!({"transactionID": "1234567890", "individualId": JANE, "otp": code, "vidType": "Perpetual"}),
            ),
        )
        .await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    assert_eq!(r["response"]["message"], "Notification has been sent to the provided contact detail(s)");
    let vid = r["response"]["vid"].as_str().unwrap().to_owned();
    let parsed = resident_domain::ids::Vid::parse(&vid).unwrap();
    let (_, record) = platform.app.store.vid_record(&parsed).await.unwrap().expect("the VID is the platform's");
    assert_eq!(record.status, "ACTIVE");
    // the resident tier tells the resident through the platform's notifier, which delivers it
    assert!(t.run_jobs().await >= 1);
    assert!(platform.run_jobs().await >= 1);
    let relayed = super::procs::outbox(platform.db.dir.path(), "-NOTIFIER-");
    assert!(!relayed.is_empty(), "the VID notice went through the platform's notifier");
    assert!(relayed.iter().all(|(_, m)| m["to"] == "9876543210"), "{relayed:?}");
    assert!(!t.db.dir.path().join("outbox").exists() || super::procs::outbox(t.db.dir.path(), "").is_empty());

    // revoked with an OTP asked for by the VID itself; Perpetual is restored by the platform
    let (_, r) = t.post("/resident/v1/req/otp", otp_request(&vid, "2234567890", &["PHONE"])).await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    assert!(platform.run_jobs().await >= 1);
    let code = platform.latest_otp();
    let revoke = json!({"id": "mosip.resident.vidstatus", "version": "v1", "requesttime": "2026-11-26T09:00:00.000Z",
        "request": {"transactionID": "2234567890", "individualId": vid, "individualIdType": "VID", "otp": code, "vidStatus": "REVOKED"}});
    let (_, r) = t
        .call("PATCH", &format!("/resident/v1/vid/{vid}"), &[("content-type", "application/json")], revoke.to_string())
        .await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    let (_, record) = platform.app.store.vid_record(&parsed).await.unwrap().unwrap();
    assert_eq!(record.status, "REVOKED");
    let who = platform.app.store.resolve(&IndividualId::parse(JANE).unwrap(), now).await.unwrap().unwrap();
    assert_eq!(platform.app.store.vids(&who.identity_id, now).await.unwrap().len(), 1, "restored");

    // locks and unlocks land in the platform, where its IDA enforces them
    let code = otp("4234567890").await;
    let (_, r) = t
        .post(
            "/resident/v1/req/auth-lock",
            envelope("mosip.resident.authlock", json!({"transactionID": "4234567890", "individualId": JANE, "otp": code, "authType": ["bio-FIR", "demo"]})),
        )
        .await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    let locked = |states: &[resident_domain::authtype::LockState], t: resident_domain::authtype::AuthType| {
        states.iter().any(|s| s.auth_type == t && s.locked_at(resident_domain::clock::epoch_ms(now)))
    };
    let states = platform.app.store.lock_states(&who.identity_id).await.unwrap();
    assert!(
        locked(&states, resident_domain::authtype::AuthType::Demo)
            && locked(&states, resident_domain::authtype::AuthType::BioFinger)
    );
    let code = otp("5234567890").await;
    let (_, r) = t
        .post(
            "/resident/v1/req/auth-unlock",
            envelope("mosip.resident.authunlock", json!({"transactionID": "5234567890", "individualId": JANE, "otp": code, "authType": ["demo"], "unlockForSeconds": "60"})),
        )
        .await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    let states = platform.app.store.lock_states(&who.identity_id).await.unwrap();
    assert!(!locked(&states, resident_domain::authtype::AuthType::Demo), "unlocked for a minute");
    let demo = states.iter().find(|s| s.auth_type == resident_domain::authtype::AuthType::Demo).unwrap();
    assert_eq!(demo.unlock_until_ms, Some(resident_domain::clock::epoch_ms(now) + 60_000), "for 60 s exactly");

    // the history is the platform IDA's
    let code = otp("6234567890").await;
    let (_, r) = t
        .post(
            "/resident/v1/req/auth-history",
            envelope("mosip.resident.authhistory", json!({"transactionID": "6234567890", "individualId": JANE, "otp": code, "pageStart": "1", "pageFetch": "50"})),
        )
        .await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    let n = r["response"]["authHistory"].as_array().unwrap().len();
    assert!(n >= 10, "five OTPs asked and used: {r}");

    // the card, drawn from the identity the platform holds
    let code = otp("7234567890").await;
    let (status, headers, pdf) = t.euin(JANE, "7234567890", &code, "UIN").await;
    assert_eq!(status.as_u16(), 200, "{}", String::from_utf8_lossy(&pdf[..pdf.len().min(400)]));
    assert_eq!(headers["content-type"], "application/pdf");
    // its credential signed by the platform's key manager (RS256, named by the RESIDENT certificate),
    // not with the resident tier's own card key, and verified by the keys the resident tier publishes
    let credential = resident_card::credential_in_pdf(&pdf, "JANE1990").unwrap();
    let verified = resident_card::jws::verify(&credential, &t.jwks_keys().await).unwrap();
    assert_eq!(verified.claims["uin"], JANE);
    let own = t.app.cards.ring().jwks();
    assert!(own["keys"].as_array().unwrap().iter().all(|k| k["kid"] != verified.kid.as_str()), "{own}");
    let (_, jwks) = t.call("GET", "/.well-known/jwks.json", &[], axum::body::Body::empty()).await;
    let rsa = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == verified.kid.as_str()).unwrap();
    assert_eq!((rsa["kty"].as_str(), rsa["alg"].as_str()), (Some("RSA"), Some("RS256")), "{jwks}");

    // still nothing of Jane's identity at the resident tier
    assert!(resident_domain::ports::IdentityRegistry::find_identity(&t.app.store, &jane).await.unwrap().is_none());
}

/// The same split with two `resident serve` processes, each on its own database: the platform tier
/// with the demo residents and a registered client, the resident tier in `mosip` mode with nothing.
async fn two_resident_processes_run_as_a_resident_tier_and_a_platform_tier(kind: Db) {
    use super::procs::{free_addr, json_post, otp_in, outbox, run, serve};
    let Some(platform_db) = resident_testkit::TestDb::new(kind).await else { return };
    let Some(resident_db) = resident_testkit::TestDb::new(kind).await else { return };
    run(&platform_db, &["demo"]);
    let added = run(
        &platform_db,
        &["admin", "client", "add", "--id", "mosip-resident-client", "--app-id", "resident", "--roles", "RESIDENT"],
    );
    let secret =
        added.lines().find_map(|l| l.strip_prefix("secret key (shown once, keep it secret): ")).unwrap().to_owned();
    let platform = serve(&platform_db, free_addr(), &[], &[]);
    let base = format!("http://{}", platform.addr());
    let resident = serve(
        &resident_db,
        free_addr(),
        &[],
        &[
            ("RESIDENT_PLATFORM__MODE", "mosip"),
            ("RESIDENT_PLATFORM__MOSIP__BASE_URL", &base),
            ("RESIDENT_PLATFORM__MOSIP__CLIENT_ID", "mosip-resident-client"),
            ("RESIDENT_PLATFORM__MOSIP__SECRET_KEY", &secret),
        ],
    );
    let otp = |trn: &str, count: usize| {
        let r = json_post(resident.addr(), "/resident/v1/req/otp", &otp_request(JANE, trn, &["PHONE"]));
        assert_eq!(r["response"]["maskedMobile"], "XXXXXX3210", "{r}");
        // the platform's worker sends it
        let until = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let sent = outbox(platform_db.dir.path(), "-OTP-");
            if sent.len() >= count {
                return otp_in(&sent.last().unwrap().1);
            }
            assert!(std::time::Instant::now() < until, "no OTP from the platform tier");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let code = otp("1234567890", 1);
    let r = json_post(
        resident.addr(),
        "/resident/v1/vid",
        &envelope(
            "mosip.resident.vid",
            json!({"transactionID": "1234567890", "individualId": JANE, "otp": code, "vidType": "Perpetual"}),
        ),
    );
    assert_eq!(r["errors"], Value::Null, "{r}");
    assert!(r["response"]["vid"].as_str().is_some_and(|v| v.len() == 16), "{r}");
    let code = otp("2234567890", 2);
    let r = json_post(
        resident.addr(),
        "/resident/v1/req/auth-history",
        &envelope(
            "mosip.resident.authhistory",
            json!({"transactionID": "2234567890", "individualId": JANE, "otp": code, "pageStart": "1", "pageFetch": "10"}),
        ),
    );
    assert_eq!(r["errors"], Value::Null, "{r}");
    assert!(r["response"]["authHistory"].as_array().is_some_and(|h| h.len() >= 4), "{r}");
    // no message was ever sent from the resident tier: the OTPs by the platform's IDA, the VID notice
    // by the platform's notifier, for the resident tier's worker
    assert!(outbox(resident_db.dir.path(), "").is_empty());
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while outbox(platform_db.dir.path(), "-NOTIFIER-").is_empty() {
        assert!(std::time::Instant::now() < until, "the VID notice did not reach the platform's notifier");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The embedded notifier takes a resident tier's messages, checked as MOSIP's notifier checks them,
/// the fields as form data or (as MOSIP's own resident sends them) in the query string.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platforms_notifier_takes_a_resident_tiers_messages_and_refuses_bad_ones() {
    let Some(t) = TestApp::new(Db::Sqlite).await else { return };
    let (base, secret) = t.serve_platform_for_a_resident_tier().await;
    let cookie = format!("Authorization={}", tier_token(&t, &secret).await);
    let http = reqwest::Client::new();
    let email = |form: reqwest::multipart::Form, query: &[(&str, &str)]| {
        http.post(format!("{base}/v1/notifier/email/send"))
            .header("cookie", &cookie)
            .query(query)
            .multipart(form)
            .send()
    };
    let form = || reqwest::multipart::Form::new().text("mailSubject", "Hello").text("mailContent", "Body");
    let ok: Value = email(form().text("mailTo", "jane.doe@example.org"), &[]).await.unwrap().json().await.unwrap();
    assert_eq!(ok["response"]["status"], "success", "{ok}");
    let mosips_way: Value = email(
        reqwest::multipart::Form::new().text("attachments", ""),
        &[("mailTo", "jane.doe@example.org"), ("mailSubject", "Hi"), ("mailContent", "Text")],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(mosips_way["response"]["status"], "success", "{mosips_way}");
    let bad: Value = email(form().text("mailTo", "jane"), &[]).await.unwrap().json().await.unwrap();
    assert_eq!(bad["errors"][0]["errorCode"], "KER-NOE-001", "{bad}");
    let sms = |number: &str| {
        http.post(format!("{base}/v1/notifier/sms/send"))
            .header("cookie", &cookie)
            .json(&json!({"request": {"number": number, "message": "Hello"}}))
            .send()
    };
    let bad: Value = sms("06-12").await.unwrap().json().await.unwrap();
    assert_eq!(bad["errors"][0]["errorCode"], "KER-NOS-002", "{bad}");
    let ok: Value = sms("9876543210").await.unwrap().json().await.unwrap();
    assert_eq!(ok["response"]["status"], "success", "{ok}");
    let anonymous = http
        .post(format!("{base}/v1/notifier/sms/send"))
        .json(&json!({"request": {"number": "9876543210", "message": "Hello"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    // three accepted, delivered by the platform's worker
    assert_eq!(t.run_jobs().await, 3);
    let sent = super::procs::outbox(t.db.dir.path(), "-NOTIFIER-");
    assert_eq!(sent.len(), 1, "one SMS (the two emails are .eml files)");
    let eml = std::fs::read_dir(t.db.dir.path().join("outbox"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().to_string_lossy().ends_with(".eml"))
        .count();
    assert_eq!(eml, 2);
}

/// A resident tier whose masterdata is MOSIP's reads the platform's notification templates and ID
/// schema before it serves; a platform that does not answer stops the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_tier_reads_the_platforms_templates_and_id_schema() {
    let Some(mut platform) = TestApp::new(Db::Sqlite).await else { return };
    let mut templates = (*platform.app.templates).clone();
    templates.set_text("eng", "RS_VIN_GEN_SUCCESS_SMS", "The country's own words: VID $vid".into());
    platform.app.templates = Arc::new(templates);
    platform.router = resident_web::router(platform.app.web_state().unwrap());
    let (base, secret) = platform.serve_platform_for_a_resident_tier().await;
    let Some(mut resident) = TestApp::build_seeded(Db::Sqlite, false, tier(&base, &secret, true)).await else { return };
    resident.app.use_platform_masterdata().await.unwrap();
    assert_eq!(resident.app.templates.text("eng", "RS_VIN_GEN_SUCCESS_SMS"), Some("The country's own words: VID $vid"));
    assert_eq!(resident.app.templates.text("eng", "OTP_SMS"), platform.app.templates.text("eng", "OTP_SMS"));
    assert_eq!(resident.app.schema.document(), platform.app.schema.document());

    let Some(mut alone) = TestApp::build_seeded(Db::Sqlite, false, tier("http://127.0.0.1:9", &secret, true)).await
    else {
        return;
    };
    let e = alone.app.use_platform_masterdata().await.unwrap_err();
    assert!(format!("{e:#}").contains("masterdata templates"), "{e:#}");
}

/// A resident tier whose audit manager is MOSIP's keeps every record in its own chain first and
/// hands the chain on in order; what got no answer is handed on again, not lost.
async fn the_resident_tiers_audit_chain_is_handed_on_to_the_platforms_audit_manager(kind: Db) {
    let Some(platform) = TestApp::new(kind).await else { return };
    let (base, secret) = platform.serve_platform_for_a_resident_tier().await;
    let Some(resident) = TestApp::build_seeded(kind, false, tier(&base, &secret, true)).await else { return };
    let (_, r) = resident.post("/resident/v1/req/otp", otp_request(JANE, "AB12345678", &["PHONE"])).await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    let forwarder = resident.app.audit_forwarder().unwrap().expect("audit is MOSIP's");
    let sent = forwarder.once().await.unwrap();
    assert!(sent >= 1);
    assert_eq!(forwarder.once().await.unwrap(), 0, "nothing twice");
    let platform_chain = platform.app.store.recent_audit(100).await.unwrap();
    let from_tier: Vec<_> = platform_chain.iter().filter(|a| a.event_id == "RES-SER-122").collect();
    assert_eq!(from_tier.len(), 1, "the resident tier's OTP record, in the platform's chain");
    assert_eq!(from_tier[0].ref_id.as_deref(), Some(IndividualId::parse(JANE).unwrap().masked().as_str()));
    assert!(matches!(
        platform.app.store.verify_audit_chain().await.unwrap(),
        resident_store::audit::ChainReport::Intact { .. }
    ));

    // the audit manager gone: the round fails and the records wait for the next one
    let Some(alone) = TestApp::build_seeded(kind, false, tier("http://127.0.0.1:9", &secret, true)).await else {
        return;
    };
    let _ = alone.post("/resident/v1/req/otp", otp_request(JANE, "AB12345679", &["PHONE"])).await;
    let forwarder = alone.app.audit_forwarder().unwrap().unwrap();
    assert!(forwarder.once().await.is_err());
    assert!(forwarder.once().await.is_err(), "the same records, claimed again");
}
