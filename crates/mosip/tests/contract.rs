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
