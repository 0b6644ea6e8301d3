//! Malformed bodies on every endpoint that takes one, taken from the OpenAPI document itself (so a new
//! endpoint is covered the day it is added), and on the portal's forms: truncated JSON, nesting deeper
//! than any parser should follow, bytes that are not UTF-8, a body far over every limit, and good JSON
//! under the wrong content type. Each gets a clear error (never a 5xx, never an empty or HTML body on
//! the APIs), and nothing is stored: no identity, registration, OTP or job.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use resident_testkit::{Db, on_both};
use serde_json::Value;
use tower::ServiceExt;

use super::TestApp;

on_both!(malformed_bodies_get_a_clear_error_and_change_nothing);

/// A plausible value for a path parameter.
fn fill(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map(|c| open + c).unwrap_or(rest.len() - 1);
        let name = &rest[open + 1..close];
        out.push_str(match name {
            "vid" => "4539260317596104",
            "requestId" => "6f1c2a7e-3b0d-4c55-9a57-2f1e8d3c9b10",
            "partnerId" => "bank-01",
            "jobId" => "6f1c2a7e-3b0d-4c55-9a57-2f1e8d3c9b10",
            _ => "x",
        });
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

impl TestApp {
    async fn raw(&self, method: &str, uri: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        (status, res.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    async fn stored(&self) -> (i64, i64, i64, i64) {
        let jobs: i64 = self.app.store.job_counts().await.unwrap().values().sum();
        (
            self.app.store.count_identities().await.unwrap(),
            self.app.store.count_registrations().await.unwrap(),
            self.app.store.count_otps().await.unwrap(),
            jobs,
        )
    }
}

async fn malformed_bodies_get_a_clear_error_and_change_nothing(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let doc = serde_json::to_value(resident_web::openapi()).unwrap();
    let mut endpoints: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch"] {
            if item.get(method).is_some() {
                endpoints.push((method.to_uppercase(), fill(path)));
            }
        }
    }
    assert!(endpoints.len() >= 15, "the document lists the body-taking endpoints: {endpoints:?}");
    let json = "application/json";
    let bodies: Vec<(&str, &str, Vec<u8>)> = vec![
        ("truncated", json, br#"{"id": "mosip.resident.vid", "request": {"individualId": "50752"#.to_vec()),
        ("deeply nested", json, format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes()),
        ("not UTF-8", json, b"{\"id\": \"\xff\xfe\xfd\", \"request\": {}}".to_vec()),
        ("oversized", json, vec![b' '; 17 * 1024 * 1024]),
        ("wrong type", "text/plain", br#"{"id": "x", "version": "v1", "request": {}}"#.to_vec()),
    ];
    let before = t.stored().await;
    for (method, uri) in &endpoints {
        for (what, content_type, body) in &bodies {
            let (status, answer) = t.raw(method, uri, content_type, body.clone()).await;
            let context = format!(
                "{what} {method} {uri} -> {status}: {}",
                String::from_utf8_lossy(&answer[..answer.len().min(300)])
            );
            assert!(!status.is_server_error(), "{context}");
            let parsed: Value = serde_json::from_slice(&answer).unwrap_or_else(|_| panic!("not JSON: {context}"));
            let errors = &parsed["errors"];
            assert!(errors.as_array().is_some_and(|e| !e.is_empty()), "no errors named: {context}");
            let text = errors.to_string();
            for leak in ["panicked", "sqlx", "backtrace", "src/", "stack"] {
                assert!(!text.contains(leak), "internal detail in: {context}");
            }
        }
    }
    // the portal's forms: a clear page, never a server error
    for uri in ["/login", "/login/otp", "/logout", "/account/locks", "/account/vids", "/account/update"] {
        for (what, content_type, body) in [
            ("not UTF-8", "application/x-www-form-urlencoded", b"individual_id=\xff\xfe&csrf=\xfd".to_vec()),
            ("oversized", "application/x-www-form-urlencoded", vec![b'a'; 17 * 1024 * 1024]),
            ("wrong type", json, br#"{"individual_id": "5075291708"}"#.to_vec()),
        ] {
            let (status, _) = t.raw("POST", uri, content_type, body).await;
            assert!(!status.is_server_error(), "{what} POST {uri} -> {status}");
        }
    }
    assert_eq!(t.stored().await, before, "nothing was stored");
}
