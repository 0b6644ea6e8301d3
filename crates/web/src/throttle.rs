//! Per-client throttling and load shedding, in front of the handlers.
//!
//! Which requests count toward which limit is this one table ([`scopes`]), keyed by method and route
//! template; the counting rule is the domain's (`resident_domain::throttle`), the counters are the
//! database's (every replica sees them). A refused request is answered 429 with `Retry-After`, in the
//! error envelope of the API it was sent to.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::connect_info::MockConnectInfo;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::throttle::{Scope, Throttled, admit, client_key};
use tokio::sync::Semaphore;

use crate::AppState;
use crate::error::{ApiError, bare_error};

/// The limits a request of this method and route counts toward.
pub fn scopes(method: &Method, route: &str) -> &'static [Scope] {
    use Scope::*;
    let post = method == Method::POST;
    // axum answers HEAD with the GET handler: it must count the same
    let get = method == Method::GET || method == Method::HEAD;
    match route {
        // MOSIP's app: Get My UIN's and a new contact's OTPs, and what they authorise
        "/resident/v1/req/otp" | "/resident/v1/individualId/otp" | "/resident/v1/contact-details/send-otp" if post => {
            &[OtpIssue]
        }
        "/resident/v1/download-card" | "/resident/v1/validate-otp" | "/resident/v1/contact-details/update-data"
            if post =>
        {
            &[OtpProtected]
        }
        // systems, from few addresses: a partner's OTPs, a platform client's tokens
        "/idauthentication/v1/otp/{partnerId}" | "/v1/authmanager/authenticate/clientidsecretkey" if post => {
            &[PartnerOtp]
        }
        "/login" if post => &[OtpIssue, PortalLogin],
        "/login/otp" if post => &[OtpProtected, PortalLogin],
        "/resident/v1/vid"
        | "/resident/v1/req/auth-lock"
        | "/resident/v1/req/auth-unlock"
        | "/resident/v1/req/auth-history"
        | "/resident/v1/req/print-uin"
        | "/resident/v1/req/euin"
        | "/resident/v1/req/credential"
        | "/resident/v1/req/update-uin"
            if post =>
        {
            &[OtpProtected]
        }
        "/resident/v1/vid/{vid}" if method == Method::PATCH => &[OtpProtected],
        "/resident/v1/req/credential/status/{requestId}"
        | "/resident/v1/req/card/{requestId}"
        | "/resident/v1/req/credential/cancel/{requestId}"
            if get =>
        {
            &[OtpProtected]
        }
        _ => &[],
    }
}

/// The address a request came from: the socket's, or what a trusted proxy says.
pub fn client_address(state: &AppState, req: &Request) -> Option<IpAddr> {
    let ext = req.extensions();
    let peer = ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .or_else(|| ext.get::<MockConnectInfo<SocketAddr>>().map(|m| m.0.ip()));
    // every X-Forwarded-For line, in order: a proxy may add a line of its own rather than append to
    // the client's
    let lines: Vec<&str> = req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    let forwarded = (!lines.is_empty()).then(|| lines.join(","));
    state.rate_limits.client_address(peer, forwarded.as_deref())
}

/// Counts the request toward its limits (route layer: the route template is known here).
pub async fn throttle(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(route) = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()) else {
        return next.run(req).await;
    };
    let wanted = scopes(req.method(), &route);
    if wanted.is_empty() || !state.rate_limits.enabled {
        return next.run(req).await;
    }
    let client = client_key(client_address(&state, &req));
    let now = state.clock.now();
    for scope in wanted {
        match admit(state.rate_counter.as_ref(), &state.rate_limits, *scope, &client, now).await {
            Ok(Ok(())) => {}
            Ok(Err(t)) => {
                metrics::counter!("throttled_requests_total", "scope" => scope.code()).increment(1);
                tracing::info!(scope = scope.code(), route = %route, "throttled");
                return refused(&state, &route, req.headers(), t).await;
            }
            // counting is a safeguard, not a dependency: a database hiccup here fails the request the
            // way the handler would have failed on the same database
            Err(e) => return ApiError::new(e.into(), None, "v1", now).into_response(),
        }
    }
    next.run(req).await
}

async fn refused(state: &AppState, route: &str, headers: &axum::http::HeaderMap, t: Throttled) -> Response {
    let now = state.clock.now();
    let error = ResidentError::Throttled { retry_after_seconds: t.retry_after_seconds };
    let mut res = if route.starts_with("/idauthentication/") {
        crate::api::auth::ida_answer("mosip.identity.otp", None, now, None, Some(error))
    } else if route.starts_with(crate::CONTEXT_PATH) {
        ApiError::new(error, None, "v1", now).into_response()
    } else {
        crate::portal::throttled_page(state, headers, t.retry_after_seconds).await
    };
    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = HeaderValue::from_str(&t.retry_after_seconds.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// At most this many requests at once; beyond, 503 at once (a queue without bound only turns an
/// overload into time-outs for everyone). Health and metrics are exempt, so an orchestrator sees a
/// busy replica as busy, not dead.
pub async fn shed(State(permits): State<Arc<Semaphore>>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/resident/v1/actuator/") {
        return next.run(req).await;
    }
    match permits.try_acquire_owned() {
        Ok(permit) => {
            let res = next.run(req).await;
            drop(permit);
            res
        }
        Err(_) => {
            metrics::counter!("shed_requests_total").increment(1);
            let mut res = bare_error(StatusCode::SERVICE_UNAVAILABLE, "RES-SER-411", "API resource is not available");
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_otp_route_is_counted() {
        assert_eq!(scopes(&Method::POST, "/resident/v1/req/otp"), &[Scope::OtpIssue]);
        assert_eq!(scopes(&Method::POST, "/login"), &[Scope::OtpIssue, Scope::PortalLogin]);
        assert_eq!(scopes(&Method::GET, "/login"), &[] as &[Scope]);
        assert_eq!(scopes(&Method::PATCH, "/resident/v1/vid/{vid}"), &[Scope::OtpProtected]);
        for m in [Method::GET, Method::HEAD] {
            assert_eq!(scopes(&m, "/resident/v1/req/credential/cancel/{requestId}"), &[Scope::OtpProtected], "{m}");
        }
        assert_eq!(scopes(&Method::POST, "/resident/v1/rid/check-status"), &[] as &[Scope]);
    }

    #[tokio::test]
    async fn beyond_the_limit_requests_are_shed_at_once_not_queued() {
        use axum::Router;
        use axum::body::Body;
        use axum::routing::get;
        use tower::ServiceExt;
        let release = Arc::new(tokio::sync::Notify::new());
        let wait = release.clone();
        let app = Router::new()
            .route(
                "/slow",
                get(move || async move {
                    wait.notified().await;
                    "done"
                }),
            )
            .route("/resident/v1/actuator/health", get(|| async { "UP" }))
            .layer(axum::middleware::from_fn_with_state(Arc::new(Semaphore::new(1)), shed));
        let get_ = |uri: &str| Request::builder().uri(uri).body(Body::empty()).unwrap();
        let first = tokio::spawn(app.clone().oneshot(get_("/slow")));
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let second = app.clone().oneshot(get_("/slow")).await.unwrap();
        assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(second.headers()[header::RETRY_AFTER], "1");
        let health = app.clone().oneshot(get_("/resident/v1/actuator/health")).await.unwrap();
        assert_eq!(health.status(), StatusCode::OK, "health is never shed");
        release.notify_one();
        assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
        // the permit came back
        let release2 = release.clone();
        let third = tokio::spawn(app.clone().oneshot(get_("/slow")));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        release2.notify_one();
        assert_eq!(third.await.unwrap().unwrap().status(), StatusCode::OK);
    }
}
