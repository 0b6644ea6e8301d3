//! The embedded platform's auth manager: an operator registers a client (its secret printed once),
//! the client trades its secret for a short-lived token, and the platform's endpoints take the token
//! of a client that holds the role they need, while it is registered and the token fresh.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use resident_testkit::{Db, on_both};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{TestApp, create_request};

on_both!(
    a_registered_client_trades_its_secret_for_a_token_the_platform_takes,
    the_audit_manager_takes_a_resident_tiers_records,
);

const TOKEN_URI: &str = "/v1/authmanager/authenticate/clientidsecretkey";

fn token_request(id: &str, secret: &str, app: &str) -> String {
    json!({"id": "string", "version": "string", "requesttime": "2026-11-26T09:00:00.000Z", "metadata": {},
           "request": {"clientId": id, "secretKey": secret, "appId": app}})
    .to_string()
}

impl TestApp {
    /// POST with the headers of the answer.
    pub(crate) async fn post_with_headers(
        &self,
        uri: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        let mut req = Request::builder().method("POST").uri(uri).header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self.router.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers)
    }
}

impl TestApp {
    /// This app's router on a real socket, as a platform tier, with a registered resident-tier client
    /// (`mosip-resident-client`, role `RESIDENT`): the base address and the client's secret.
    pub(crate) async fn serve_platform_for_a_resident_tier(&self) -> (String, String) {
        let now = resident_domain::clock::Clock::now(self.clock.as_ref());
        let roles = vec!["RESIDENT".to_owned()];
        let (_, secret) = resident_domain::platform::register_client(
            &self.app.store,
            &self.app.operator_context(),
            now,
            "mosip-resident-client",
            "resident",
            &roles,
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = self.router.clone();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (base, secret)
    }
}

async fn a_registered_client_trades_its_secret_for_a_token_the_platform_takes(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let audit = t.app.operator_context();
    let now = resident_domain::clock::Clock::now(t.clock.as_ref());
    let register = |id: &str, roles: &[&str]| {
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        let (store, audit, id) = (&t.app.store, &audit, id.to_owned());
        async move { resident_domain::platform::register_client(store, audit, now, &id, "regproc", &roles).await.unwrap().1 }
    };
    let secret = register("mosip-regproc-client", &["REGISTRATION_PROCESSOR"]).await;
    let other = register("mosip-resident-client", &["RESIDENT"]).await;

    // wrong secret, wrong application, unknown client: 401, nothing issued
    for body in [
        token_request("mosip-regproc-client", "wrong", "regproc"),
        token_request("mosip-regproc-client", &secret, "resident"),
        token_request("nobody", &secret, "regproc"),
    ] {
        let (status, got, headers) = t.post_with_headers(TOKEN_URI, &[], body).await;
        assert_eq!((status, got["errors"][0]["errorCode"].clone()), (StatusCode::UNAUTHORIZED, json!("KER-ATH-401")));
        assert!(headers.get("set-cookie").is_none());
    }
    let (status, got, _) = t.post_with_headers(TOKEN_URI, &[], "{\"request\": {}}".into()).await;
    assert_eq!((status.as_u16(), got["errors"][0]["errorCode"].clone()), (200, json!("RES-SER-410")));

    // the token, as MOSIP's clients read it: the Authorization cookie (and header)
    let (status, got, headers) =
        t.post_with_headers(TOKEN_URI, &[], token_request("mosip-regproc-client", &secret, "regproc")).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["response"]["status"], "success");
    assert_eq!(got["errors"], Value::Null);
    let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("Authorization=") && cookie.contains("HttpOnly") && cookie.contains("Max-Age=1800"));
    let token = headers["authorization"].to_str().unwrap().to_owned();
    assert!(cookie.contains(&token));

    // the platform takes it (header or cookie) where the client's role is the one needed
    let uri = "/idrepository/v1/identity/";
    let body = create_request("10002100020000120261126090000", "9812345670").to_string();
    let (status, got, _) = t.post_with_headers(uri, &[("authorization", &token)], body.clone()).await;
    assert_eq!((status, got["response"]["status"].clone()), (StatusCode::OK, json!("ACTIVATED")), "{got}");
    let as_cookie = format!("Authorization={token}");
    let (_, got, _) = t.post_with_headers(uri, &[("cookie", &as_cookie)], body.clone()).await;
    assert_eq!(got["response"]["alreadyPresent"], true);
    // another client's token without that role is refused; so is a forged or stale one
    let (_, _, h) =
        t.post_with_headers(TOKEN_URI, &[], token_request("mosip-resident-client", &other, "regproc")).await;
    let resident_token = h["authorization"].to_str().unwrap().to_owned();
    let mut forged = token.clone();
    forged.pop();
    for presented in [resident_token.as_str(), forged.as_str(), "Bearer something-else"] {
        let (status, _, _) = t.post_with_headers(uri, &[("authorization", presented)], body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{presented}");
    }

    // disabled by the operator: its token stops at once, and it gets no new one; enabled again, the
    // token from before stays void and a new one works
    use resident_domain::platform::{ClientChange, change_client};
    let client = "mosip-regproc-client";
    change_client(&t.app.store, &audit, now, client, ClientChange::Disable).await.unwrap();
    let (status, _, _) = t.post_with_headers(uri, &[("authorization", &token)], body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a disabled client's token");
    let (status, _, _) = t.post_with_headers(TOKEN_URI, &[], token_request(client, &secret, "regproc")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token for a disabled client");
    change_client(&t.app.store, &audit, now, client, ClientChange::Enable).await.unwrap();
    let (status, _, _) = t.post_with_headers(uri, &[("authorization", &token)], body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a token from before the change");
    let (_, _, h) = t.post_with_headers(TOKEN_URI, &[], token_request(client, &secret, "regproc")).await;
    let token = h["authorization"].to_str().unwrap().to_owned();
    let (status, _, _) = t.post_with_headers(uri, &[("authorization", &token)], body.clone()).await;
    assert_eq!(status, StatusCode::OK);

    t.clock.advance(time::Duration::minutes(31));
    let (status, _, _) = t.post_with_headers(uri, &[("authorization", &token)], body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a token holds 30 minutes");
}

#[test]
fn an_operator_registers_a_client_and_sees_its_secret_once() {
    let dir = tempfile::tempdir().unwrap();
    let add = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_resident"))
            .args(["admin", "client", "add", "--id", "mosip-regproc-client", "--app-id", "regproc"])
            .env("RESIDENT_DATA_DIR", dir.path())
            .env_remove("RESIDENT_CONFIG")
            .output()
            .unwrap()
    };
    let first = add();
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(out.contains("registered for regproc with roles REGISTRATION_PROCESSOR"), "{out}");
    let secret = out.lines().find_map(|l| l.strip_prefix("secret key (shown once, keep it secret): ")).unwrap();
    assert!(secret.len() >= 43);
    // the id is taken: refused, and no secret is printed again
    let second = add();
    assert!(!second.status.success());
    assert!(!String::from_utf8_lossy(&second.stdout).contains("secret key"));
    // only a digest of the secret is kept
    let db = std::fs::read(dir.path().join("resident.db")).unwrap();
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));

    // the operator replaces the secret (the new one shown once), disables, enables; an unknown id fails
    let admin = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_resident"))
            .args(["admin", "client"])
            .args(args)
            .env("RESIDENT_DATA_DIR", dir.path())
            .env_remove("RESIDENT_CONFIG")
            .output()
            .unwrap()
    };
    let rotated = admin(&["rotate", "--id", "mosip-regproc-client"]);
    let out = String::from_utf8_lossy(&rotated.stdout);
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    let new = out.lines().find_map(|l| l.strip_prefix("secret key (shown once, keep it secret): ")).unwrap();
    assert!(new.len() >= 43 && new != secret, "{out}");
    let disabled = admin(&["disable", "--id", "mosip-regproc-client"]);
    assert!(String::from_utf8_lossy(&disabled.stdout).contains("mosip-regproc-client: disabled"));
    assert!(!String::from_utf8_lossy(&disabled.stdout).contains("secret key"));
    assert!(admin(&["enable", "--id", "mosip-regproc-client"]).status.success());
    assert!(!admin(&["disable", "--id", "nobody"]).status.success());
}

/// `resident platform check` against this binary's own embedded platform, over a real socket: the
/// auth manager answers with a token for a registered client, and not for a wrong secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_check_reaches_the_auth_manager_of_another_resident_process() {
    let Some(t) = TestApp::new(Db::Sqlite).await else { return };
    let (base, secret) = t.serve_platform_for_a_resident_tier().await;
    let check = |secret: String| {
        let base = base.clone();
        tokio::task::spawn_blocking(move || {
            let dir = tempfile::tempdir().unwrap();
            std::process::Command::new(env!("CARGO_BIN_EXE_resident"))
                .args(["platform", "check"])
                .env("RESIDENT_DATA_DIR", dir.path())
                .env_remove("RESIDENT_CONFIG")
                .env("RESIDENT_PLATFORM__MODE", "mosip")
                .env("RESIDENT_PLATFORM__MOSIP__BASE_URL", &base)
                .env("RESIDENT_PLATFORM__MOSIP__CLIENT_ID", "mosip-resident-client")
                .env("RESIDENT_PLATFORM__MOSIP__SECRET_KEY", secret)
                .output()
                .unwrap()
        })
    };
    let ok = check(secret.clone()).await.unwrap();
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{out}{}", String::from_utf8_lossy(&ok.stderr));
    assert!(out.contains("/v1/authmanager: a token for mosip-resident-client (1800 s)"), "{out}");
    assert!(out.contains("/idauthentication/v1/internal: its INTERNAL certificate"), "{out}");
    assert!(out.contains("/idrepository/v1: answers"), "{out}");
    assert!(out.contains("template OTP_SMS found, an ID schema of"), "{out}");
    assert!(out.contains("notifier http://") && out.contains("not called (it would send a message)"), "{out}");
    assert!(out.contains("/v1/keymanager: the RESIDENT signing certificate "), "{out}");
    assert!(!out.contains(&secret));
    let refused = check("wrong".into()).await.unwrap();
    let out = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(1), "{out}");
    assert!(out.contains("refused: KER-ATH-401"), "{out}");
}

/// The embedded audit manager takes a resident tier's audit records, for a client with the
/// `RESIDENT` role, checked as MOSIP checks them, and keeps no identifier in clear.
async fn the_audit_manager_takes_a_resident_tiers_records(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let (audit, now) = (t.app.operator_context(), resident_domain::clock::Clock::now(t.clock.as_ref()));
    let mut tokens = Vec::new();
    for (id, app, role) in [
        ("mosip-resident-client", "resident", "RESIDENT"),
        ("mosip-regproc-client", "regproc", "REGISTRATION_PROCESSOR"),
    ] {
        let roles = vec![role.to_owned()];
        let (_, secret) =
            resident_domain::platform::register_client(&t.app.store, &audit, now, id, app, &roles).await.unwrap();
        let (_, _, h) = t.post_with_headers(TOKEN_URI, &[], token_request(id, &secret, app)).await;
        tokens.push(h["authorization"].to_str().unwrap().to_owned());
    }
    let record = |request: Value| {
        json!({"id": "string", "version": "string", "requesttime": "2026-11-26T09:00:00.000Z", "request": request})
            .to_string()
    };
    let good = json!({
        "eventId": "RES-SER-101", "eventName": "Checking RID status", "eventType": "SYSTEM",
        "actionTimeStamp": "2026-11-26T09:00:00.000Z", "hostName": "resident-tier-1", "hostIp": "10.0.0.7",
        "applicationId": "10011", "applicationName": "Resident portal", "sessionUserId": "mosip-resident-client",
        "sessionUserName": "mosip-resident-client", "id": "5075291708", "idType": "UIN", "createdBy": "resident",
        "moduleName": "Residence service", "moduleId": "RES-SER", "description": "RID status\u{0007} from the resident tier",
    });
    let uri = "/v1/auditmanager/audits";
    let (status, _, _) = t.post_with_headers(uri, &[], record(good.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token");
    let (status, _, _) = t.post_with_headers(uri, &[("authorization", &tokens[1])], record(good.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a client without the RESIDENT role");
    let before = t.app.store.recent_audit(1).await.unwrap();
    for (change, code) in [("eventId", Value::Null), ("actionTimeStamp", json!("26/11/2026 09:00"))] {
        let mut bad = good.clone();
        bad[change] = code;
        let (status, got, _) = t.post_with_headers(uri, &[("authorization", &tokens[0])], record(bad)).await;
        let expected = if change == "eventId" { "KER-AUD-001" } else { "KER-AUD-002" };
        assert_eq!((status, got["errors"][0]["errorCode"].clone()), (StatusCode::OK, json!(expected)), "{got}");
    }
    assert_eq!(t.app.store.recent_audit(1).await.unwrap(), before, "a refused record is not written");
    let (status, got, _) = t.post_with_headers(uri, &[("authorization", &tokens[0])], record(good)).await;
    assert_eq!(
        (status, got["response"].clone(), got["errors"].clone()),
        (StatusCode::OK, json!({"status": true}), Value::Null)
    );
    let last = t.app.store.recent_audit(1).await.unwrap().remove(0);
    assert_eq!((last.event_id.as_str(), last.host_name.as_str()), ("RES-SER-101", "resident-tier-1"));
    assert_eq!(last.ref_id.as_deref(), Some("5*******08"), "the UIN is kept masked");
    assert_eq!(last.description, "RID status from the resident tier");
}

/// A resident tier's audit sink (`resident_mosip::audit::MosipAuditLog`) against this binary's
/// embedded auth manager and audit manager, over a real socket: the record lands in the platform's
/// chain, masked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_tiers_audit_sink_writes_into_the_platforms_chain() {
    use resident_domain::ports::AuditLog;
    let Some(t) = TestApp::new(Db::Sqlite).await else { return };
    let (base, secret) = t.serve_platform_for_a_resident_tier().await;
    let clock: std::sync::Arc<dyn resident_domain::clock::Clock> = t.clock.clone();
    let credentials = resident_mosip::auth::ClientCredentials {
        client_id: "mosip-resident-client".into(),
        secret_key: secret,
        app_id: "resident".into(),
    };
    let timeout = std::time::Duration::from_secs(5);
    let auth = std::sync::Arc::new(
        resident_mosip::auth::KernelAuth::new(&format!("{base}/v1/authmanager"), credentials, timeout, clock.clone())
            .unwrap(),
    );
    let sink =
        resident_mosip::audit::MosipAuditLog::new(&format!("{base}/v1/auditmanager"), auth, timeout, clock).unwrap();
    let ctx = resident_domain::audit::AuditContext::system("resident-tier");
    let record = resident_domain::audit::AuditEvent::RidStatus.record(
        &ctx,
        resident_domain::clock::Clock::now(t.clock.as_ref()),
        Some(("7509619239".into(), "UIN")),
        "RID status asked at the resident tier",
    );
    sink.append(record).await.unwrap();
    let last = t.app.store.recent_audit(1).await.unwrap().remove(0);
    assert_eq!(last.description, "RID status asked at the resident tier");
    assert_eq!(last.ref_id.as_deref(), Some("7*******39"));
}
