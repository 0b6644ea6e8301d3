#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The kernel auth client against answers shaped as MOSIP's auth manager gives them (from its
//! `AuthController.clientIdSecretKey`: the token in an `Authorization` cookie, `errors` null; a
//! refusal as `errors` with HTTP 200), and against what the embedded platform cannot show: a
//! neighbour that is down, or too slow.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::post;
use resident_domain::clock::SystemClock;
use resident_mosip::AdapterError;
use resident_mosip::auth::{ClientCredentials, KernelAuth};
use serde_json::{Value, json};

fn creds() -> ClientCredentials {
    ClientCredentials {
        client_id: "mosip-resident-client".into(),
        secret_key: "s3cr3t".into(),
        app_id: "resident".into(),
    }
}

/// A recorded answer server on a free port: `answer` for every request, counting them.
async fn serve(answer: fn(Value) -> axum::response::Response) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().route(
        "/v1/authmanager/authenticate/clientidsecretkey",
        post(move |Json(body): Json<Value>| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                answer(body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1/authmanager"), hits)
}

fn mosip_success(body: Value) -> axum::response::Response {
    // MOSIP checks the secret; the recording answers only the right one
    if body["request"]["secretKey"] != "s3cr3t" || body["request"]["appId"] != "resident" {
        return Json(json!({"id": null, "version": null, "responsetime": "2026-11-26T09:00:00.000Z", "metadata": null,
            "response": null, "errors": [{"errorCode": "KER-ATH-401", "message": "Authentication failed"}]}))
        .into_response();
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_static("Authorization=eyJ.recorded.token; Max-Age=3600; Path=/; HttpOnly"),
    );
    let body = json!({"id": "mosip.io.clientId.pwd", "version": "1.0", "responsetime": "2026-11-26T09:00:00.000Z",
        "metadata": null, "response": {"status": "success", "message": "Clientid and Secret key verified successfully"},
        "errors": null});
    (headers, Json(body)).into_response()
}

#[tokio::test]
async fn a_token_is_fetched_once_and_kept_until_a_minute_before_it_ends() {
    let (url, hits) = serve(mosip_success).await;
    let auth = KernelAuth::new(&url, creds(), Duration::from_secs(5), Arc::new(SystemClock)).unwrap();
    assert_eq!(auth.token().await.unwrap(), "eyJ.recorded.token");
    assert_eq!(auth.token().await.unwrap(), "eyJ.recorded.token");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "kept, not asked again");
    auth.invalidate("another token").await;
    auth.token().await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a token that is not the kept one forgets nothing");
    auth.invalidate("eyJ.recorded.token").await;
    auth.token().await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 2, "asked again once forgotten");
    let fetched = auth.fetch().await.unwrap();
    assert_eq!(fetched.life, Duration::from_secs(3600));
}

#[tokio::test]
async fn mosips_refusal_with_http_200_is_a_refusal() {
    let (url, hits) = serve(mosip_success).await;
    let wrong = ClientCredentials { secret_key: "wrong".into(), ..creds() };
    let auth = KernelAuth::new(&url, wrong, Duration::from_secs(5), Arc::new(SystemClock)).unwrap();
    let e = auth.token().await.unwrap_err();
    assert!(matches!(&e, AdapterError::Refused { code, .. } if code == "KER-ATH-401"), "{e}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a refusal is not asked again");
    assert_eq!(resident_domain::ResidentError::from(e).code(), "RES-SER-412");
}

#[tokio::test]
async fn an_answer_without_its_cookie_is_malformed() {
    let (url, _) = serve(|_| Json(json!({"response": {"status": "success"}, "errors": null})).into_response()).await;
    let auth = KernelAuth::new(&url, creds(), Duration::from_secs(5), Arc::new(SystemClock)).unwrap();
    assert!(matches!(auth.token().await.unwrap_err(), AdapterError::Malformed { .. }));
}

#[tokio::test]
async fn a_neighbour_that_is_down_or_too_slow_is_tried_three_times_then_reported() {
    // nothing listens there
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let down = KernelAuth::new(
        &format!("http://127.0.0.1:{port}/v1/authmanager"),
        creds(),
        Duration::from_secs(2),
        Arc::new(SystemClock),
    )
    .unwrap();
    let e = down.token().await.unwrap_err();
    assert!(matches!(e, AdapterError::Unreachable { .. }), "{e}");
    assert_eq!(resident_domain::ResidentError::from(e).code(), "RES-SER-411");

    // an answer that comes too late
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().route(
        "/v1/authmanager/authenticate/clientidsecretkey",
        post(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(5)).await;
                Json(json!({}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let slow = KernelAuth::new(
        &format!("http://{addr}/v1/authmanager"),
        creds(),
        Duration::from_millis(300),
        Arc::new(SystemClock),
    )
    .unwrap();
    let e = slow.token().await.unwrap_err();
    assert!(matches!(e, AdapterError::Timeout { .. }), "{e}");
    assert_eq!(hits.load(Ordering::SeqCst), 3, "asked three times");
}

fn record() -> resident_domain::audit::AuditRecord {
    let ctx = resident_domain::audit::AuditContext::system("resident-tier");
    resident_domain::audit::AuditEvent::RidStatus.record(&ctx, time::OffsetDateTime::UNIX_EPOCH, None, "RID status")
}

/// An auth manager and an audit manager on one recorded server: the audit manager refuses the first
/// token it sees (401, as after a restart), then keeps records; `KER-AUD-001` for an empty event id.
async fn audit_platform() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (tokens, audits) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (t, a) = (tokens.clone(), audits.clone());
    let app = axum::Router::new()
        .route(
            "/v1/authmanager/authenticate/clientidsecretkey",
            post(move |Json(body): Json<Value>| {
                let n = t.fetch_add(1, Ordering::SeqCst);
                async move {
                    let mut res = mosip_success(body);
                    let cookie = format!("Authorization=token-{n}; Max-Age=3600; Path=/; HttpOnly");
                    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).unwrap());
                    res
                }
            }),
        )
        .route(
            "/v1/auditmanager/audits",
            post(move |headers: HeaderMap, Json(body): Json<Value>| {
                let a = a.clone();
                async move {
                    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                    if cookie == "Authorization=token-0" {
                        return (axum::http::StatusCode::UNAUTHORIZED, Json(json!({"errors": [{"errorCode": "KER-ATH-401"}]})))
                            .into_response();
                    }
                    if body["request"]["eventId"].as_str().unwrap_or_default().is_empty() {
                        return Json(json!({"response": null, "errors": [{"errorCode": "KER-AUD-001",
                            "message": "Invalid Audit Request. Required parameters must be present"}]}))
                        .into_response();
                    }
                    a.fetch_add(1, Ordering::SeqCst);
                    Json(json!({"id": null, "version": null, "responsetime": "2026-11-26T09:00:00.000Z", "metadata": null,
                        "response": {"status": true}, "errors": null}))
                    .into_response()
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), tokens, audits)
}

#[tokio::test]
async fn an_audit_record_goes_with_a_token_renewed_once_when_refused() {
    use resident_domain::ports::AuditLog;
    let (base, tokens, audits) = audit_platform().await;
    let clock: Arc<dyn resident_domain::clock::Clock> = Arc::new(SystemClock);
    let auth = Arc::new(
        KernelAuth::new(&format!("{base}/v1/authmanager"), creds(), Duration::from_secs(5), clock.clone()).unwrap(),
    );
    let sink = resident_mosip::audit::MosipAuditLog::new(
        &format!("{base}/v1/auditmanager"),
        auth,
        Duration::from_secs(5),
        clock,
    )
    .unwrap();
    sink.append(record()).await.unwrap();
    assert_eq!(
        (tokens.load(Ordering::SeqCst), audits.load(Ordering::SeqCst)),
        (2, 1),
        "refused token-0, kept with token-1"
    );
    sink.append(record()).await.unwrap();
    assert_eq!((tokens.load(Ordering::SeqCst), audits.load(Ordering::SeqCst)), (2, 2), "the new token is kept");
    let mut empty = record();
    empty.event_id = String::new();
    let e = sink.send(&empty).await.unwrap_err();
    assert!(matches!(&e, AdapterError::Refused { code, .. } if code == "KER-AUD-001"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// ID Authentication's internal contracts, as MOSIP's IDA answers them (`IdAuthExceptionHandler`:
// HTTP 200 with `errors[{errorCode, errorMessage}]`; a filter's fault wrapped in IDA-MLC-007)

mod ida {
    use super::*;
    use axum::extract::Query;
    use axum::routing::get;
    use resident_domain::ResidentError;
    use resident_domain::audit::AuditContext;
    use resident_domain::ida::{IdAuthentication, IdaCall};
    use resident_domain::ids::IndividualId;
    use resident_domain::otp::OtpChannel;
    use resident_mosip::crypto::InternalKeys;
    use resident_mosip::ida::MosipIda;
    use std::sync::OnceLock;

    /// What the recorded IDA answers to each call.
    #[derive(Clone, Copy)]
    struct Scenario {
        otp: fn(&Value) -> axum::response::Response,
        auth: fn(&Value, &InternalKeys) -> axum::response::Response,
        txns: fn() -> axum::response::Response,
        /// How long IDA takes to answer.
        delay_ms: u64,
    }

    struct Hits {
        certificate: AtomicUsize,
        otp: AtomicUsize,
        auth: AtomicUsize,
        txns: AtomicUsize,
    }

    pub(super) fn keys() -> &'static InternalKeys {
        static KEYS: OnceLock<InternalKeys> = OnceLock::new();
        KEYS.get_or_init(|| InternalKeys::derive(&[3u8; 32], resident_mosip::crypto::IDA_INTERNAL_SUBJECT).unwrap())
    }

    fn ida_json(response: Value, errors: Value) -> axum::response::Response {
        Json(json!({"id": "mosip.identity.otp.internal", "version": "1.0", "transactionID": "AB12345678",
            "responseTime": "2026-11-26T09:00:00.000Z", "response": response, "errors": errors}))
        .into_response()
    }

    async fn platform(scenario: Scenario) -> (MosipIda, Arc<Hits>) {
        let (auth_url, _) = serve(mosip_success).await;
        let hits = Arc::new(Hits {
            certificate: AtomicUsize::new(0),
            otp: AtomicUsize::new(0),
            auth: AtomicUsize::new(0),
            txns: AtomicUsize::new(0),
        });
        let (h1, h2, h3, h4) = (hits.clone(), hits.clone(), hits.clone(), hits.clone());
        let app = axum::Router::new()
            .route(
                "/idauthentication/v1/internal/getCertificate",
                get(move |Query(q): Query<std::collections::HashMap<String, String>>| {
                    let h = h1.clone();
                    async move {
                        h.certificate.fetch_add(1, Ordering::SeqCst);
                        assert_eq!((q["applicationId"].as_str(), q["referenceId"].as_str()), ("IDA", "INTERNAL"));
                        Json(json!({"id": null, "version": null, "responsetime": "2026-11-26T09:00:00.000Z",
                            "response": {"certificate": keys().certificate_pem(), "certSignRequest": null,
                                         "issuedAt": "2026-01-01T00:00:00.000", "expiryAt": "2027-01-01T00:00:00.000"},
                            "errors": null}))
                    }
                }),
            )
            .route(
                "/idauthentication/v1/internal/otp",
                post(move |headers: HeaderMap, Json(body): Json<Value>| {
                    let h = h2.clone();
                    async move {
                        h.otp.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(scenario.delay_ms)).await;
                        // IDA's filter wants an Authorization header; the token comes as the cookie
                        assert!(headers.contains_key(header::AUTHORIZATION));
                        assert!(headers[header::COOKIE].to_str().unwrap().contains("Authorization=eyJ.recorded.token"));
                        assert_eq!(body["id"], "mosip.identity.otp.internal");
                        (scenario.otp)(&body)
                    }
                }),
            )
            .route(
                "/idauthentication/v1/internal/auth",
                post(move |Json(body): Json<Value>| {
                    let h = h3.clone();
                    async move {
                        h.auth.fetch_add(1, Ordering::SeqCst);
                        (scenario.auth)(&body, keys())
                    }
                }),
            )
            .route(
                "/idauthentication/v1/internal/authTransactions/individualId/{id}",
                get(move || {
                    let h = h4.clone();
                    async move {
                        h.txns.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(scenario.delay_ms)).await;
                        (scenario.txns)()
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let auth =
            Arc::new(KernelAuth::new(&auth_url, creds(), Duration::from_millis(800), Arc::new(SystemClock)).unwrap());
        let ida = MosipIda::new(
            &format!("http://{addr}/idauthentication/v1/internal"),
            auth,
            Duration::from_millis(800),
            Arc::new(SystemClock),
        )
        .unwrap();
        (ida, hits)
    }

    fn sealed_otp(body: &Value, keys: &InternalKeys) -> String {
        let sealed = resident_mosip::crypto::Sealed {
            request: body["request"].as_str().unwrap().into(),
            request_session_key: body["requestSessionKey"].as_str().unwrap().into(),
            request_hmac: body["requestHMAC"].as_str().unwrap().into(),
            thumbprint: body["thumbprint"].as_str().unwrap().into(),
        };
        let plain: Value = serde_json::from_slice(&keys.open(&sealed).unwrap()).unwrap();
        plain["otp"].as_str().unwrap().to_owned()
    }

    fn never(_: &Value) -> axum::response::Response {
        unreachable!()
    }
    fn never_auth(_: &Value, _: &InternalKeys) -> axum::response::Response {
        unreachable!()
    }
    fn no_txns() -> axum::response::Response {
        unreachable!()
    }

    fn audit() -> AuditContext {
        AuditContext {
            host_name: "h".into(),
            host_ip: "127.0.0.1".into(),
            session_user: "test".into(),
            request_id: None,
        }
    }

    fn jane() -> IndividualId {
        IndividualId::parse("5075291708").unwrap()
    }

    #[tokio::test]
    async fn an_otp_goes_once_and_idas_refusals_keep_their_codes() {
        fn masked(body: &Value) -> axum::response::Response {
            assert_eq!(body["otpChannel"], json!(["EMAIL", "PHONE"]));
            ida_json(json!({"maskedEmail": "XXnXXdXX@example.org", "maskedMobile": "XXXXXX3210"}), Value::Null)
        }
        let (ida, hits) = platform(Scenario { otp: masked, auth: never_auth, txns: no_txns, delay_ms: 0 }).await;
        let a = audit();
        let call = IdaCall { audit: &a, now: time::macros::datetime!(2026-11-26 09:00 UTC) };
        let sent =
            ida.request_otp(&call, &jane(), "AB12345678", &[OtpChannel::Email, OtpChannel::Phone]).await.unwrap();
        assert_eq!(sent.masked_mobile.as_deref(), Some("XXXXXX3210"));

        fn unknown(_: &Value) -> axum::response::Response {
            ida_json(
                Value::Null,
                json!([{"errorCode": "IDA-MLC-018", "errorMessage": "UIN not available in database"}]),
            )
        }
        let (ida, _) = platform(Scenario { otp: unknown, auth: never_auth, txns: no_txns, delay_ms: 0 }).await;
        match ida.request_otp(&call, &jane(), "AB12345678", &[OtpChannel::Email]).await {
            Err(ResidentError::Ida("IDA-MLC-018", m)) => assert_eq!(m, "UIN not available in database"),
            other => panic!("{other:?}"),
        }
        // a code resident services do not know is a failed neighbour, not the resident's fault
        fn odd(_: &Value) -> axum::response::Response {
            ida_json(Value::Null, json!([{"errorCode": "IDA-XYZ-999", "errorMessage": "something\u{7} else"}]))
        }
        let (ida, _) = platform(Scenario { otp: odd, auth: never_auth, txns: no_txns, delay_ms: 0 }).await;
        let e = ida.request_otp(&call, &jane(), "AB12345678", &[OtpChannel::Email]).await.unwrap_err();
        assert_eq!(e.code(), "RES-SER-412");

        // too slow: an OTP request is never sent twice (it would send a second code)
        let (ida, slow_hits) =
            platform(Scenario { otp: masked, auth: never_auth, txns: no_txns, delay_ms: 1500 }).await;
        let e = ida.request_otp(&call, &jane(), "AB12345678", &[OtpChannel::Email]).await.unwrap_err();
        assert_eq!(e.code(), "RES-SER-411");
        assert_eq!(slow_hits.otp.load(Ordering::SeqCst), 1);
        assert_eq!(hits.otp.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_otp_is_sealed_for_idas_certificate_and_a_refusal_is_an_auth_failure() {
        fn check(body: &Value, keys: &InternalKeys) -> axum::response::Response {
            assert_eq!(body["id"], "mosip.identity.auth.internal");
            assert_eq!(body["consentObtained"], true);
            assert!(body.get("otp").is_none(), "the OTP travels sealed only");
            let otp = sealed_otp(body, keys);
            if otp == "111111" {
                ida_json(json!({"authStatus": true, "authToken": null}), Value::Null)
            } else {
                ida_json(
                    json!({"authStatus": false, "authToken": null}),
                    json!([{"errorCode": "IDA-OTA-004", "errorMessage": "OTP is invalid"}]),
                )
            }
        }
        let (ida, hits) = platform(Scenario { otp: never, auth: check, txns: no_txns, delay_ms: 0 }).await;
        let a = audit();
        let call = IdaCall { audit: &a, now: time::macros::datetime!(2026-11-26 09:00 UTC) };
        assert_eq!(ida.authenticate_otp(&call, &jane(), "AB12345678", "111111").await.unwrap(), Ok(()));
        let refused = ida.authenticate_otp(&call, &jane(), "AB12345678", "222222").await.unwrap().unwrap_err();
        assert_eq!((refused.code.as_str(), refused.message.as_str()), ("IDA-OTA-004", "OTP is invalid"));
        assert_eq!(hits.certificate.load(Ordering::SeqCst), 1, "the certificate is kept");

        // IDA cannot decrypt (its key changed): the certificate is fetched again, once
        fn rotated(_: &Value, _: &InternalKeys) -> axum::response::Response {
            ida_json(
                Value::Null,
                json!([{"errorCode": "IDA-MLC-007", "errorMessage": "Request could not be processed. Please try again"},
                       {"errorCode": "IDA-MPA-003", "errorMessage": "Unable to decrypt the request"}]),
            )
        }
        let (ida, hits) = platform(Scenario { otp: never, auth: rotated, txns: no_txns, delay_ms: 0 }).await;
        let e = ida.authenticate_otp(&call, &jane(), "AB12345678", "111111").await.unwrap_err();
        assert_eq!(e.code(), "RES-SER-412");
        assert_eq!((hits.certificate.load(Ordering::SeqCst), hits.auth.load(Ordering::SeqCst)), (2, 2));
    }

    #[tokio::test]
    async fn transactions_are_read_with_idas_local_times_and_asked_again_when_no_answer_comes() {
        fn list() -> axum::response::Response {
            ida_json(
                json!({"authTransactions": [
                    {"transactionID": "AB12345678", "requestdatetime": "2026-11-26T09:00:00.123", "authtypeCode": "OTP-AUTH",
                     "statusCode": "N", "statusComment": "OTP Authentication Failed", "referenceIdType": "UIN",
                     "entityName": "resident-services", "requestSignature": "", "responseSignature": ""}]}),
                Value::Null,
            )
        }
        let (ida, _) = platform(Scenario { otp: never, auth: never_auth, txns: list, delay_ms: 0 }).await;
        let a = audit();
        let call = IdaCall { audit: &a, now: time::macros::datetime!(2026-11-26 09:00 UTC) };
        let who = resident_domain::ports::Resolved {
            identity_id: "x".into(),
            uin: resident_domain::ids::Uin::parse("5075291708").unwrap(),
            token: resident_domain::history::IdentityToken("t".into()),
            status: "ACTIVATED".into(),
            identity: resident_domain::identity::IdentityJson(serde_json::Map::new()),
            vid: None,
        };
        let txns = ida.auth_transactions(&call, &who, &jane(), 1, 10).await.unwrap();
        assert_eq!(txns.len(), 1);
        assert_eq!(txns[0].at, time::macros::datetime!(2026-11-26 09:00:00.123 UTC));
        assert_eq!((txns[0].status_code.as_str(), txns[0].token.0.as_str()), ("N", "t"));

        // a read that gets no answer is asked three times; after five such calls the circuit opens
        let (ida, hits) = platform(Scenario { otp: never, auth: never_auth, txns: list, delay_ms: 1500 }).await;
        let e = ida.auth_transactions(&call, &who, &jane(), 1, 10).await.unwrap_err();
        assert_eq!(e.code(), "RES-SER-411");
        assert_eq!(hits.txns.load(Ordering::SeqCst), 3);
    }
}

// ---------------------------------------------------------------------------------------------
// The ID Repository, as MOSIP's answers it (`IdRepoExceptionHandler`: HTTP 200 with
// `errors[{errorCode, message}]`; `IDR-IDC-007` no record; `IDR-VID-003` the policy allows no more)

mod idrepo {
    use super::*;
    use axum::extract::Path;
    use axum::routing::get;
    use resident_domain::ResidentError;
    use resident_domain::authtype::{AuthType, LockState};
    use resident_domain::history::IdentityToken;
    use resident_domain::idrepo::IdRepository;
    use resident_domain::ids::{IndividualId, Uin, Vid};
    use resident_mosip::idrepo::MosipIdRepository;
    use std::sync::Mutex;

    const JANE: &str = "5075291708";
    const VID: &str = "3472541892807460";

    fn envelope(response: Value, errors: Value) -> axum::response::Response {
        Json(json!({"id": "mosip.id.read", "version": "v1", "responsetime": "2026-11-26T09:00:00.000Z",
            "metadata": null, "response": response, "errors": errors}))
        .into_response()
    }

    fn refused(code: &str, message: &str) -> axum::response::Response {
        envelope(Value::Null, json!([{"errorCode": code, "message": message}]))
    }

    /// A recorded ID Repository: Jane, her one VID, and what was asked of it.
    async fn repository(vid_full: bool) -> (MosipIdRepository, Arc<Mutex<Vec<Value>>>) {
        let (auth_url, _) = serve(mosip_success).await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s1, s2, s3) = (seen.clone(), seen.clone(), seen.clone());
        let app = axum::Router::new()
            .route(
                "/idrepository/v1/identity/idvid/{id}",
                get(|Path(id): Path<String>| async move {
                    if id == JANE || id == VID {
                        envelope(
                            json!({"status": "ACTIVATED", "documents": [],
                                   "identity": {"UIN": JANE, "fullName": [{"language": "eng", "value": "Jane Doe"}], "IDSchemaVersion": 0.1}}),
                            json!([]),
                        )
                    } else {
                        refused("IDR-IDC-007", "No Record(s) found")
                    }
                }),
            )
            .route(
                "/idrepository/v1/vid",
                post(move |Json(body): Json<Value>| {
                    let seen = s1.clone();
                    async move {
                        seen.lock().unwrap().push(body);
                        if vid_full {
                            refused("IDR-VID-003", "Could not generate/regenerate VID as per policy")
                        } else {
                            envelope(json!({"VID": VID, "vidStatus": "ACTIVE", "UIN": null, "restoredVid": null}), json!([]))
                        }
                    }
                }),
            )
            .route(
                "/idrepository/v1/vid/{vid}",
                get(|Path(vid): Path<String>| async move {
                    if vid == VID {
                        envelope(json!({"UIN": JANE, "VID": VID, "vidStatus": "ACTIVE", "restoredVid": null}), json!([]))
                    } else {
                        refused("IDR-IDC-007", "No Record(s) found")
                    }
                })
                .patch(move |Json(body): Json<Value>| {
                    let seen = s2.clone();
                    async move {
                        seen.lock().unwrap().push(body);
                        envelope(json!({"VID": VID, "vidStatus": "REVOKED"}), json!([]))
                    }
                }),
            )
            .route(
                "/idrepository/v1/vid/uin/{uin}",
                get(|| async {
                    envelope(
                        json!([{"vid": VID, "vidType": "PERPETUAL", "expiryTimestamp": null, "transactionLimit": null, "hashAttributes": null}]),
                        json!([]),
                    )
                }),
            )
            .route(
                "/idrepository/v1/identity/authtypes/status/{id}",
                get(|| async {
                    envelope(
                        json!({"authTypes": [
                            {"authType": "demo", "authSubType": null, "locked": true, "unlockForSeconds": null},
                            {"authType": "bio", "authSubType": "FIR", "locked": false, "unlockForSeconds": 120},
                            {"authType": "bio", "authSubType": "PALM", "locked": true, "unlockForSeconds": null}]}),
                        json!([]),
                    )
                }),
            )
            .route(
                "/idrepository/v1/identity/authtypes/status",
                post(move |Json(body): Json<Value>| {
                    let seen = s3.clone();
                    async move {
                        seen.lock().unwrap().push(body);
                        envelope(Value::Null, json!([]))
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let auth =
            Arc::new(KernelAuth::new(&auth_url, creds(), Duration::from_secs(5), Arc::new(SystemClock)).unwrap());
        let token_of: resident_mosip::idrepo::TokenOf =
            Arc::new(|uin: &Uin| IdentityToken(format!("token-of-{}", uin.expose())));
        let repo = MosipIdRepository::new(
            &format!("http://{addr}/idrepository/v1"),
            auth,
            Duration::from_secs(5),
            Arc::new(SystemClock),
            token_of,
        )
        .unwrap();
        (repo, seen)
    }

    fn now() -> time::OffsetDateTime {
        time::macros::datetime!(2026-11-26 09:00 UTC)
    }

    #[tokio::test]
    async fn an_identity_by_uin_or_vid_and_none_for_no_record() {
        let (repo, _) = repository(false).await;
        let who = repo.identity(&IndividualId::parse(JANE).unwrap(), now()).await.unwrap().unwrap();
        assert_eq!(
            (who.uin.expose(), who.status.as_str(), who.token.0.as_str()),
            (JANE, "ACTIVATED", "token-of-5075291708")
        );
        assert_eq!(who.identity.0.get("UIN"), None, "the UIN is the resolved one, not an attribute");
        assert!(who.vid.is_none());
        let by_vid = repo.identity(&IndividualId::parse(VID).unwrap(), now()).await.unwrap().unwrap();
        assert_eq!(by_vid.vid.map(|v| v.vid.expose().to_owned()).as_deref(), Some(VID));
        let nobody = IndividualId::Vid(Vid::generate(&mut resident_domain::clock::rng()));
        assert!(repo.identity(&nobody, now()).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn vids_are_made_and_revoked_by_the_repository_under_its_policy() {
        let (repo, seen) = repository(false).await;
        let who = repo.identity(&IndividualId::parse(JANE).unwrap(), now()).await.unwrap().unwrap();
        assert_eq!(repo.create_vid(&who, "Perpetual", now()).await.unwrap().expose(), VID);
        assert_eq!(seen.lock().unwrap()[0]["request"], json!({"UIN": JANE, "vidType": "Perpetual"}));
        assert_eq!(repo.vids(&who, now()).await.unwrap()[0].vid_type, "PERPETUAL");
        repo.revoke_vid(&who, &Vid::parse(VID).unwrap(), now()).await.unwrap();
        assert_eq!(seen.lock().unwrap()[1]["request"]["vidStatus"], "REVOKED");
        // a VID the repository does not know, or another identity's, is not this resident's to revoke
        let other = Vid::generate(&mut resident_domain::clock::rng());
        assert!(matches!(repo.revoke_vid(&who, &other, now()).await, Err(ResidentError::ApiResourceAccess)));
        let mut someone_else = who.clone();
        someone_else.uin = Uin::parse("8296572490").unwrap();
        let vid = Vid::parse(VID).unwrap();
        assert!(matches!(repo.revoke_vid(&someone_else, &vid, now()).await, Err(ResidentError::ApiResourceAccess)));
        assert_eq!(seen.lock().unwrap().len(), 2, "no PATCH for a VID that is not theirs");

        let (full, _) = repository(true).await;
        assert!(matches!(full.create_vid(&who, "Perpetual", now()).await, Err(ResidentError::VidAlreadyPresent)));
    }

    #[tokio::test]
    async fn auth_type_locks_go_as_mosip_splits_them() {
        let (repo, seen) = repository(false).await;
        let who = repo.identity(&IndividualId::parse(JANE).unwrap(), now()).await.unwrap().unwrap();
        let states = repo.auth_type_status(&who).await.unwrap();
        // a modality this service does not know (palm) is left out
        assert_eq!(states.len(), 2);
        assert!(states.iter().any(|s| s.auth_type == AuthType::Demo && s.locked));
        assert!(states.iter().any(|s| s.auth_type == AuthType::BioFinger && s.unlock_until_ms.is_some()));
        let now_ms = resident_domain::clock::epoch_ms(now());
        repo.update_auth_type_status(
            &who,
            &[
                LockState { auth_type: AuthType::OtpEmail, locked: true, unlock_until_ms: None },
                LockState { auth_type: AuthType::Demo, locked: true, unlock_until_ms: Some(now_ms + 60_000) },
            ],
            now(),
        )
        .await
        .unwrap();
        let sent = seen.lock().unwrap()[0].clone();
        assert_eq!(sent["id"], "mosip.identity.authtype.status.update");
        assert_eq!(sent["individualId"], JANE);
        assert_eq!(sent["request"][0]["authType"], "otp");
        assert_eq!(sent["request"][0]["authSubType"], "email");
        assert_eq!(sent["request"][0]["locked"], true);
        assert_eq!(
            (sent["request"][1]["locked"].clone(), sent["request"][1]["unlockForSeconds"].clone()),
            (json!(false), json!(60))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The kernel notifier, as MOSIP's answers it (`{response: {status: "success"}}`; refusals as
// `errors` with HTTP 200)

mod notifier {
    use super::*;
    use axum::extract::{Multipart, RawQuery};
    use resident_domain::notification::{Channel, MessageSender, OutgoingMessage};
    use resident_mosip::notifier::MosipNotifier;
    use std::sync::Mutex;

    async fn notifier() -> (MosipNotifier, Arc<Mutex<Vec<Value>>>) {
        let (auth_url, _) = serve(mosip_success).await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s1, s2) = (seen.clone(), seen.clone());
        let app = axum::Router::new()
            .route(
                "/v1/notifier/email/send",
                post(move |RawQuery(query): RawQuery, mut form: Multipart| {
                    let seen = s1.clone();
                    async move {
                        let mut fields = serde_json::Map::new();
                        while let Some(f) = form.next_field().await.unwrap() {
                            let name = f.name().unwrap().to_owned();
                            fields.insert(name, Value::String(f.text().await.unwrap()));
                        }
                        fields.insert("query".into(), json!(query));
                        let to = fields["mailTo"].as_str().unwrap().to_owned();
                        seen.lock().unwrap().push(Value::Object(fields));
                        if to.contains('@') {
                            Json(json!({"response": {"status": "success", "message": "Email Request submitted"}, "errors": null}))
                        } else {
                            Json(json!({"response": null, "errors": [{"errorCode": "KER-NOE-001", "message": "To must be valid. It can't be empty or null."}]}))
                        }
                    }
                }),
            )
            .route(
                "/v1/notifier/sms/send",
                post(move |Json(body): Json<Value>| {
                    let seen = s2.clone();
                    async move {
                        seen.lock().unwrap().push(body);
                        Json(json!({"response": {"status": "success", "message": "Sms Request Sent"}, "errors": null}))
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let auth =
            Arc::new(KernelAuth::new(&auth_url, creds(), Duration::from_secs(5), Arc::new(SystemClock)).unwrap());
        let n = MosipNotifier::new(
            &format!("http://{addr}/v1/notifier"),
            auth,
            Duration::from_secs(5),
            Arc::new(SystemClock),
        )
        .unwrap();
        (n, seen)
    }

    fn message(channel: Channel, to: &str) -> OutgoingMessage {
        OutgoingMessage {
            channel,
            to: to.into(),
            subject: Some("Your VID".into()),
            body: "VID 34XXXXXXXXXX7460 was generated".into(),
            template: "RS_VIN_GEN_SUCCESS".into(),
            not_after: None,
        }
    }

    #[tokio::test]
    async fn an_email_goes_as_form_fields_never_in_the_url_and_an_sms_as_mosips_request() {
        let (n, seen) = notifier().await;
        n.deliver(&message(Channel::Email, "jane.doe@example.org"), "k1").await.unwrap();
        n.deliver(&message(Channel::Sms, "9876543210"), "k2").await.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen[0]["mailTo"], "jane.doe@example.org");
        assert_eq!(seen[0]["mailSubject"], "Your VID");
        assert_eq!(seen[0]["mailContent"], "VID 34XXXXXXXXXX7460 was generated");
        assert_eq!(seen[0]["query"], Value::Null, "nothing of the message in the URL");
        assert_eq!(
            seen[1]["request"],
            json!({"number": "9876543210", "message": "VID 34XXXXXXXXXX7460 was generated"})
        );
    }

    #[tokio::test]
    async fn a_refusal_fails_the_delivery_without_naming_the_recipient() {
        let (n, _) = notifier().await;
        let e = n.deliver(&message(Channel::Email, "not-an-address"), "k1").await.unwrap_err();
        assert!(e.contains("KER-NOE-001"), "{e}");
        assert!(!e.contains("not-an-address"), "{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Masterdata's templates and the sync data's ID schema, as MOSIP answers them

mod masterdata {
    use super::*;
    use axum::extract::Path;
    use axum::routing::get;
    use resident_mosip::masterdata::MosipMasterdata;

    #[tokio::test]
    async fn a_template_its_absence_and_the_schema_as_text() {
        let (auth_url, _) = serve(mosip_success).await;
        let app = axum::Router::new()
            .route(
                "/v1/masterdata/templates/{lang}/{code}",
                get(|Path((lang, code)): Path<(String, String)>| async move {
                    if code == "OTP_SMS" {
                        Json(json!({"response": {"templates": [
                            {"id": "1", "langCode": lang, "templateTypeCode": code, "isActive": false, "fileText": "old"},
                            {"id": "2", "langCode": lang, "templateTypeCode": code, "isActive": true, "fileText": "OTP is $otp"}]},
                            "errors": null}))
                    } else {
                        Json(json!({"response": null, "errors": [{"errorCode": "KER-MSD-046", "message": "Template not found"}]}))
                    }
                }),
            )
            .route(
                "/v1/syncdata/latestidschema",
                get(|| async {
                    Json(json!({"response": {"idVersion": 0.1, "schemaJson": "{\"type\":\"object\"}"}, "errors": null}))
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let auth =
            Arc::new(KernelAuth::new(&auth_url, creds(), Duration::from_secs(5), Arc::new(SystemClock)).unwrap());
        let m = MosipMasterdata::new(
            &format!("http://{addr}/v1/masterdata"),
            &format!("http://{addr}/v1/syncdata"),
            auth,
            Duration::from_secs(5),
            Arc::new(SystemClock),
        )
        .unwrap();
        assert_eq!(m.template("eng", "OTP_SMS").await.unwrap().as_deref(), Some("OTP is $otp"));
        assert_eq!(m.template("eng", "PARTNER_OTP_SMS").await.unwrap(), None);
        assert_eq!(m.id_schema().await.unwrap(), "{\"type\":\"object\"}");
    }
}

mod keymanager {
    use super::*;
    use axum::routing::get;
    use base64::Engine as _;
    use resident_domain::keymanager::{KeyManager, SigningCertificates};
    use resident_mosip::crypto::InternalKeys;
    use resident_mosip::keymanager::MosipKeyManager;
    use std::sync::{Mutex, OnceLock};

    /// A second RESIDENT key: the key manager's after it renewed its key.
    fn renewed() -> &'static InternalKeys {
        static KEYS: OnceLock<InternalKeys> = OnceLock::new();
        KEYS.get_or_init(|| InternalKeys::derive(&[5u8; 32], resident_mosip::crypto::RESIDENT_SIGN_SUBJECT).unwrap())
    }

    /// What the recorded key manager does: which key signs (0 the first, 1 the renewed one) and
    /// whose certificate it gives; what it was asked to sign; how often it gave its certificate.
    #[derive(Default)]
    struct Recorded {
        signs_with: AtomicUsize,
        certifies: AtomicUsize,
        seen: Mutex<Vec<Value>>,
        certificates: AtomicUsize,
    }

    fn key(n: usize) -> &'static InternalKeys {
        if n == 0 { super::ida::keys() } else { renewed() }
    }

    /// This tier's certificates, in memory.
    #[derive(Default)]
    struct Kept(Mutex<Vec<(String, String)>>);

    #[async_trait::async_trait]
    impl SigningCertificates for Kept {
        async fn signing_certificates(&self) -> Result<Vec<(String, String)>, resident_domain::StoreError> {
            Ok(self.0.lock().unwrap().clone())
        }
        async fn keep_signing_certificate(
            &self,
            thumbprint: &str,
            pem: &str,
            _now: time::OffsetDateTime,
        ) -> Result<(), resident_domain::StoreError> {
            let mut kept = self.0.lock().unwrap();
            if !kept.iter().any(|(t, _)| t == thumbprint) {
                kept.push((thumbprint.to_owned(), pem.to_owned()));
            }
            Ok(())
        }
    }

    /// MOSIP's key manager as recorded: `jwtSign` signs the JSON it is given (or refuses an empty
    /// document with KER-JWS-102, HTTP 200), `getCertificate` gives the RESIDENT certificate (or
    /// refuses another application with KER-KMS-002).
    async fn key_manager() -> (MosipKeyManager, Arc<Recorded>) {
        let (auth_url, _) = serve(mosip_success).await;
        let recorded = Arc::new(Recorded::default());
        let (on_sign, on_cert) = (recorded.clone(), recorded.clone());
        let app = axum::Router::new()
            .route(
                "/v1/keymanager/jwtSign",
                post(move |Json(body): Json<Value>| {
                    let r = on_sign.clone();
                    async move {
                        r.seen.lock().unwrap().push(body.clone());
                        let data = body["request"]["dataToSign"].as_str().unwrap_or_default();
                        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .decode(data)
                            .ok()
                            .and_then(|b| String::from_utf8(b).ok())
                            .filter(|t| serde_json::from_str::<Value>(t).is_ok_and(|v| v != json!({})));
                        match text {
                            Some(t) => Json(json!({"id": "string", "version": "string", "responsetime": "2026-11-26T09:00:00.000Z",
                                "metadata": null, "errors": [],
                                "response": {"jwtSignedData": key(r.signs_with.load(Ordering::SeqCst)).jwt_sign(&t, false).unwrap(),
                                             "timestamp": "2026-11-26T09:00:00.000Z"}})),
                            None => Json(json!({"response": null,
                                "errors": [{"errorCode": "KER-JWS-102", "message": "Data to sign is not valid."}]})),
                        }
                    }
                }),
            )
            .route(
                "/v1/keymanager/getCertificate",
                get(move |axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>| {
                    let r = on_cert.clone();
                    async move {
                        r.certificates.fetch_add(1, Ordering::SeqCst);
                        if q.get("applicationId").map(String::as_str) != Some("RESIDENT") {
                            return Json(json!({"response": null, "errors": [{"errorCode": "KER-KMS-002",
                                "message": "ApplicationId not found in Key Policy. Key/CSR generation not allowed."}]}));
                        }
                        Json(json!({"response": {"certificate": key(r.certifies.load(Ordering::SeqCst)).certificate_pem(),
                            "certSignRequest": null, "issuedAt": "2026-01-01T00:00:00.000", "expiryAt": "2029-01-01T00:00:00.000",
                            "timestamp": "2026-11-26T09:00:00.000"}, "errors": null}))
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let auth =
            Arc::new(KernelAuth::new(&auth_url, creds(), Duration::from_secs(5), Arc::new(SystemClock)).unwrap());
        let keys = MosipKeyManager::new(
            &format!("http://{addr}/v1/keymanager"),
            auth,
            Duration::from_secs(5),
            Arc::new(SystemClock),
            Arc::new(Kept::default()),
        )
        .unwrap();
        (keys, recorded)
    }

    fn header(jws: &str) -> Value {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        serde_json::from_slice(&b64.decode(jws.split('.').next().unwrap()).unwrap()).unwrap()
    }

    fn kids(published: &Value) -> Vec<String> {
        published["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
    }

    #[tokio::test]
    async fn a_credential_is_signed_by_the_resident_key_and_its_certificate_kept_and_published() {
        let (keys, recorded) = key_manager().await;
        let claims = json!({"uin": "5075291708", "name": {"eng": "Jane Doe"}});
        let jws = keys.jwt_sign(&claims).await.unwrap();
        let request = recorded.seen.lock().unwrap()[0]["request"].clone();
        assert_eq!(request["applicationId"], "RESIDENT");
        assert_eq!((request["includePayload"].clone(), request["includeCertHash"].clone()), (json!(true), json!(true)));
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let sent: Value =
            serde_json::from_slice(&b64.decode(request["dataToSign"].as_str().unwrap()).unwrap()).unwrap();
        assert_eq!(sent, claims, "dataToSign is the claims, base64url");
        assert_eq!(header(&jws)["alg"], "RS256");
        assert_eq!(recorded.certificates.load(Ordering::SeqCst), 1, "the first signature's certificate is kept");

        let published = keys.published_keys().await.unwrap();
        let jwk = &published["keys"][0];
        assert_eq!((jwk["kty"].as_str(), jwk["alg"].as_str()), (Some("RSA"), Some("RS256")));
        assert_eq!(jwk["kid"], header(&jws)["x5t#S256"], "the JWS names the published key");
        assert_eq!(jwk["x5c"].as_array().map(Vec::len), Some(1));
        keys.jwt_sign(&claims).await.unwrap();
        assert_eq!(recorded.certificates.load(Ordering::SeqCst), 1, "a known key needs no certificate again");
    }

    #[tokio::test]
    async fn after_the_key_is_renewed_both_keys_stay_published_and_a_key_without_its_certificate_is_refused() {
        let (keys, recorded) = key_manager().await;
        let first = keys.jwt_sign(&json!({"n": 1})).await.unwrap();
        recorded.signs_with.store(1, Ordering::SeqCst);
        recorded.certifies.store(1, Ordering::SeqCst);
        let second = keys.jwt_sign(&json!({"n": 2})).await.unwrap();
        let published = kids(&keys.published_keys().await.unwrap());
        for jws in [&first, &second] {
            let named = header(jws)["x5t#S256"].as_str().unwrap().to_owned();
            assert!(published.contains(&named), "{named} in {published:?}");
        }
        assert_eq!(published.len(), 2);

        // a key manager signing with a key whose certificate it does not give: no card
        let (other, r) = key_manager().await;
        r.certifies.store(1, Ordering::SeqCst);
        let refused = other.jwt_sign(&json!({"n": 3})).await.unwrap_err();
        assert_eq!(refused.code(), "RES-SER-412", "{refused:?}");
    }

    #[tokio::test]
    async fn the_key_managers_refusal_or_silence_is_a_failed_call_not_a_signature() {
        let (keys, _) = key_manager().await;
        // the recording refuses an empty document as MOSIP refuses data it cannot sign: HTTP 200, errors
        let refused = keys.jwt_sign(&json!({})).await.unwrap_err();
        assert_eq!(refused.code(), "RES-SER-412", "{refused:?}");
        let auth = KernelAuth::new(
            "http://127.0.0.1:9/v1/authmanager",
            creds(),
            Duration::from_millis(300),
            Arc::new(SystemClock),
        )
        .unwrap();
        let down = MosipKeyManager::new(
            "http://127.0.0.1:9/v1/keymanager",
            Arc::new(auth),
            Duration::from_millis(300),
            Arc::new(SystemClock),
            Arc::new(Kept::default()),
        )
        .unwrap();
        assert_eq!(down.jwt_sign(&json!({"a": 1})).await.unwrap_err().code(), "RES-SER-411");
        // nothing kept and nothing answering: an empty set, not an error (no card was signed by it)
        assert_eq!(down.published_keys().await.unwrap(), json!({"keys": []}));
    }
}
