//! Serving a built copy of MOSIP's portal app at `/resident-ui/` (`mosip_ui.dir`), with the
//! `assets/config.json` it reads at start pointing at this server, and CORS for a copy served
//! from another origin (`cors.allowed_origins`).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

use crate::AppState;

/// Where the app is served.
pub const UI_PATH: &str = "/resident-ui";

/// What the app's pages may do. The app forces two looser rules than our own portal's: Angular
/// Material writes `style` attributes and `<style>` elements at run time (`style-src 'unsafe-inline'`),
/// and it shows documents and the PDF preview from `blob:` and `data:` addresses (the list of
/// supporting documents is a PDF in an `<embed>` of a `blob:` address: `object-src blob:`).
const APP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; \
    frame-src 'self' blob:; object-src blob:; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

async fn config_json(State(_state): State<AppState>, headers: HeaderMap) -> Response {
    let base = super::login::own_origin(&headers).unwrap_or_default();
    let body = json!({
        "baseUrl": format!("{base}{}", crate::CONTEXT_PATH),
        "version": "v1",
        "validateToken": "admin/authorize/admin/validateToken",
        "login": "/login/",
        "logout": "/logout/user",
    });
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

async fn app_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(APP_CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-cache"));
    res
}

/// The app's routes, when a built copy is configured.
pub fn routes(dir: Option<&std::path::Path>) -> Router<AppState> {
    let Some(dir) = dir else { return Router::new() };
    Router::new()
        .route(&format!("{UI_PATH}/assets/config.json"), get(config_json))
        .route(UI_PATH, get(|| async { Redirect::permanent("/resident-ui/") }))
        .nest_service(&format!("{UI_PATH}/"), ServeDir::new(dir).append_index_html_on_directories(true))
        // the app names a few of its images from the root (`/assets/…`); our portal's own assets
        // are routes of their own and win
        .nest_service("/assets/", ServeDir::new(dir.join("assets")))
        .layer(axum::middleware::from_fn(app_headers))
}

/// CORS for the configured origins (none: no layer, so no cross-origin reads at all).
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    let list: Vec<HeaderValue> =
        origins.iter().filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()).collect();
    if list.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("time-zone-offset"),
                HeaderName::from_static("locale"),
                HeaderName::from_static("x-requested-with"),
            ])
            .expose_headers([HeaderName::from_static("eventid"), header::CONTENT_DISPOSITION])
            .max_age(std::time::Duration::from_secs(600)),
    )
}
