//! Cross-cutting layers: request ids, access logs without PII, metrics by route, security headers,
//! time-outs and panic containment.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::bare_error;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The process's Prometheus recorder. The `metrics` facade is process-global by design, so it is
/// installed once and shared.
pub fn prometheus() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
                )
                .ok()?
                .install_recorder()
                .ok()
        })
        .clone()
}

/// Counts requests and records latency, labelled by route template (never by the raw path, which can
/// carry an id).
async fn record_metrics(req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}

/// A client may send its own `x-request-id` (to correlate across systems), but only a plain token: anything
/// else could forge log lines or audit fields, so it is replaced with a fresh id.
async fn sanitize_request_id(mut req: Request, next: Next) -> Response {
    let acceptable = |v: &HeaderValue| {
        let b = v.as_bytes();
        (1..=64).contains(&b.len()) && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
    };
    if req.headers().get(&REQUEST_ID).is_some_and(|v| !acceptable(v)) {
        req.headers_mut().remove(&REQUEST_ID);
    }
    next.run(req).await
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    bare_error(StatusCode::INTERNAL_SERVER_ERROR, "RES-SER-423", "Unknown exception occured.")
}

pub fn apply(router: Router) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str()).unwrap_or("unmatched");
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id)
        })
        .on_request(())
        .on_response(|res: &axum::http::Response<_>, latency: Duration, _: &tracing::Span| {
            tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "served");
        });
    router.layer(axum::middleware::from_fn(record_metrics)).layer(
        ServiceBuilder::new()
            .layer(axum::middleware::from_fn(sanitize_request_id))
            .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
            .layer(trace)
            .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
            .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
            .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
            .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
            .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
                ),
            )),
    )
}

/// Whether the request declares a JSON body: `application/json` or `application/<something>+json`,
/// parameters (a charset) allowed.
pub fn declares_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The resident API reads only a body declared JSON: anything else (`text/plain`, a form, no type)
/// is refused before any handler runs (RES-SER-418 in MOSIP's envelope, audited like any refused
/// input), so nothing is done for it. A request without a body has nothing to declare. The platform
/// APIs check their caller first and the type after ([`crate::envelope::declared_json_body`]).
pub async fn require_json(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    req: Request,
    next: Next,
) -> Response {
    use axum::body::HttpBody as _;
    use axum::http::Method;
    use axum::response::IntoResponse;
    let resident_api =
        req.extensions().get::<MatchedPath>().is_some_and(|p| p.as_str().starts_with(crate::CONTEXT_PATH));
    let has_body = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH)
        && req.body().size_hint().exact() != Some(0);
    if resident_api && has_body && !declares_json(req.headers()) {
        let e = not_json();
        let now = state.clock.now();
        let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let meta = crate::api::RequestMeta { request_id };
        let record = resident_domain::audit::AuditEvent::InputInvalid.record(
            &meta.audit_context(&state, "resident"),
            now,
            None,
            format!("{}: {} {}", req.uri().path(), e.code(), e.message()),
        );
        if let Err(err) = state.audit.append(record).await {
            tracing::error!(error = %err, "could not audit a refused request");
        }
        return crate::error::ApiError::new(e, None, "v1", now).into_response();
    }
    next.run(req).await
}

/// RES-SER-418 for a body that is not declared JSON.
pub fn not_json() -> resident_domain::ResidentError {
    resident_domain::ResidentError::BadRequest(
        "the body must be JSON, declared with Content-Type: application/json".into(),
    )
}

/// While the server drains, every response closes its connection, so clients stop reusing
/// keep-alive connections before the listener goes away.
pub async fn close_when_draining(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let mut res = next.run(req).await;
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

#[cfg(test)]
mod json_tests {
    use super::declares_json;

    #[test]
    fn only_json_media_types_are_json() {
        let with = |v: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(axum::http::header::CONTENT_TYPE, v.parse().unwrap());
            declares_json(&h)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        for not in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/json"] {
            assert!(!with(not), "{not}");
        }
        assert!(!declares_json(&axum::http::HeaderMap::new()));
    }
}
