//! The HTTP surface of Resident Services: the MOSIP resident API, embedded platform endpoints,
//! actuator, and the OpenAPI document. Handlers reach storage only through domain ports.

pub mod actuator;
pub mod api;
pub mod envelope;
pub mod error;
pub mod middleware;
mod openapi;
pub mod platform;
pub mod portal;
pub mod state;
pub mod throttle;
pub mod ui;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

pub use state::{AppState, HostInfo, Services};

pub mod tags {
    pub const RESIDENT: &str = "resident";
    pub const PLATFORM: &str = "platform: ID repository";
    pub const OPERATIONS: &str = "operations";
    pub const IDA: &str = "platform: ID authentication";
    pub const PRINT: &str = "platform: print service";
}

/// The largest `update-uin` body: a few proof documents of 2 MB each, base64-encoded.
pub const UPDATE_BODY_LIMIT: usize = 12 * 1024 * 1024;

/// Where the resident API lives, as in MOSIP (`server.servlet.context-path`).
pub const CONTEXT_PATH: &str = "/resident/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Resident Services",
        description = "MOSIP 1.2.0-compatible resident API and the embedded identity platform's endpoints. \
            Business errors are answered with HTTP 200 and the `errors` array filled, as MOSIP does.",
        license(name = "MPL-2.0")
    ),
    tags(
        (name = tags::RESIDENT, description = "MOSIP 1.2.0 resident services"),
        (name = tags::PLATFORM, description = "Embedded ID Repository, for a registration processor"),
        (name = tags::IDA, description = "Embedded ID Authentication, for relying parties (Auth_Partner)"),
        (name = tags::PRINT, description = "Embedded print service, for print partners (Print_Partner)"),
        (name = tags::OPERATIONS, description = "Health and metrics")
    ),
    modifiers(&ServiceKey)
)]
struct ApiDoc;

struct ServiceKey;

impl utoipa::Modify for ServiceKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "service_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The platform service key (`platform.service_key`)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "partner_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A partner's API key (`resident admin partner add`)"))
                    .build(),
            ),
        );
    }
}

fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let resident = OpenApiRouter::new()
        .routes(routes!(api::check_status::check_status))
        .routes(routes!(api::auth::request_otp))
        .routes(routes!(api::auth::generate_vid))
        .routes(routes!(api::auth::revoke_vid))
        .routes(routes!(api::auth::auth_lock))
        .routes(routes!(api::auth::auth_unlock))
        .routes(routes!(api::auth::auth_history))
        .routes(routes!(api::data_access::by_otp))
        .routes(routes!(api::data_access::by_session))
        .routes(routes!(api::auth::print_uin))
        .routes(routes!(api::card::euin))
        .routes(routes!(api::credential::request))
        .routes(routes!(api::credential::status))
        .routes(routes!(api::credential::card))
        .routes(routes!(api::credential::cancel))
        // an empty request id is MOSIP's RES-SER-29, not an unknown route
        .route("/req/card/", axum::routing::get(api::credential::empty_request_id))
        .route("/req/credential/status/", axum::routing::get(api::credential::empty_request_id))
        .route("/req/credential/cancel/", axum::routing::get(api::credential::empty_request_id))
        .routes(routes!(api::credential::types))
        .routes(routes!(api::credential::policy))
        .merge(
            // documents of up to 2 MB each, in base64, in one JSON body
            OpenApiRouter::new()
                .routes(routes!(api::update::update_uin))
                .layer(DefaultBodyLimit::max(UPDATE_BODY_LIMIT)),
        )
        .routes(routes!(actuator::health))
        .routes(routes!(actuator::prometheus));
    // the handler reads its body itself, after the service key (up to `idrepo::BODY_LIMIT`)
    let idrepo = OpenApiRouter::new()
        .routes(routes!(platform::idrepo::create))
        .layer(DefaultBodyLimit::max(platform::idrepo::BODY_LIMIT));
    let ida =
        OpenApiRouter::new().routes(routes!(platform::ida::partner_otp)).routes(routes!(platform::ida::partner_auth));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(api::card::jwks))
        .nest(CONTEXT_PATH, resident)
        .nest("/idrepository/v1", idrepo)
        .nest("/idauthentication/v1", ida)
        .nest(
            "/print/v1",
            OpenApiRouter::new()
                .routes(routes!(platform::print::list))
                .routes(routes!(platform::print::take))
                .routes(routes!(platform::print::report)),
        )
        .split_for_parts()
}

/// The router and its OpenAPI document, with each operation's MOSIP contract applied.
fn documented_routes() -> (Router<AppState>, serde_json::Value) {
    let (router, doc) = routes();
    (router, openapi::finish(&doc))
}

/// The OpenAPI document the router serves (also written to `docs/openapi.json`).
pub fn openapi() -> serde_json::Value {
    documented_routes().1
}

pub fn router(state: AppState) -> Router {
    let (api, doc) = documented_routes();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(state.rate_limits.max_concurrent));
    let state_for_drain = state.clone();
    // the JSON APIs take only bodies declared JSON (the portal's forms are not theirs)
    let api = api.route_layer(axum::middleware::from_fn_with_state(state.clone(), middleware::require_json));
    let cors = ui::serve::cors(&state.mosip_ui.cors_origins);
    let app = api
        .nest(CONTEXT_PATH, ui::routes(state.clone()))
        // the embedded platform's auth manager (MOSIP's kernel auth): tokens for registered clients
        .route(
            "/v1/authmanager/authenticate/clientidsecretkey",
            axum::routing::post(platform::authmanager::client_id_secret_key),
        )
        // and its audit manager: another tier's audit records, into this platform's chain
        .route("/v1/auditmanager/audits", axum::routing::post(platform::auditmanager::audits))
        // and its IDA's internal contracts, with the key manager's certificate they are sealed for
        .route("/idauthentication/v1/internal/otp", axum::routing::post(platform::ida_internal::otp))
        .route("/idauthentication/v1/internal/auth", axum::routing::post(platform::ida_internal::auth))
        .route(
            "/idauthentication/v1/internal/authTransactions/individualId/{id}",
            axum::routing::get(platform::ida_internal::auth_transactions),
        )
        .route("/idauthentication/v1/internal/getCertificate", axum::routing::get(platform::keymanager::certificate))
        .route("/v1/keymanager/getCertificate", axum::routing::get(platform::keymanager::certificate))
        .route("/v1/keymanager/jwtSign", axum::routing::post(platform::keymanager::jwt_sign))
        // and its ID Repository's reads, VIDs and auth-type locks
        .route("/idrepository/v1/identity/idvid/{id}", axum::routing::get(platform::idrepo_service::identity))
        .route(
            "/idrepository/v1/identity/authtypes/status",
            axum::routing::post(platform::idrepo_service::update_auth_type_status),
        )
        .route(
            "/idrepository/v1/identity/authtypes/status/{id}",
            axum::routing::get(platform::idrepo_service::auth_type_status),
        )
        .route("/idrepository/v1/vid", axum::routing::post(platform::idrepo_service::create_vid))
        .route(
            "/idrepository/v1/vid/{vid}",
            axum::routing::get(platform::idrepo_service::vid).patch(platform::idrepo_service::update_vid),
        )
        .route("/idrepository/v1/vid/uin/{uin}", axum::routing::get(platform::idrepo_service::vids_of))
        // and its notifier: another tier's messages, delivered by this platform's worker
        .route("/v1/notifier/email/send", axum::routing::post(platform::notifier::email))
        .route("/v1/notifier/sms/send", axum::routing::post(platform::notifier::sms))
        // and its masterdata: templates and the ID schema
        .route("/v1/masterdata/templates/{lang}/{code}", axum::routing::get(platform::masterdata::template))
        .route("/v1/syncdata/latestidschema", axum::routing::get(platform::masterdata::id_schema))
        .route("/v1/masterdata/idschema/latest", axum::routing::get(platform::masterdata::id_schema))
        .merge(ui::serve::routes(state.mosip_ui.dir.as_deref()))
        .merge(portal::routes())
        .merge(
            SwaggerUi::new(format!("{CONTEXT_PATH}/swagger-ui"))
                .external_url_unchecked(format!("{CONTEXT_PATH}/openapi.json"), doc),
        )
        // after routing: the route template decides which limits a request counts toward
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), throttle::throttle))
        .fallback(|| async {
            error::bare_error(StatusCode::NOT_FOUND, "RES-SER-411", "API resource is not available").into_response()
        })
        .with_state(state);
    let closing = axum::middleware::from_fn_with_state(state_for_drain, middleware::close_when_draining);
    let app =
        middleware::apply(app).layer(axum::middleware::from_fn_with_state(permits, throttle::shed)).layer(closing);
    // outermost: a preflight is answered before anything else looks at it
    match cors {
        Some(layer) => app.layer(layer),
        None => app,
    }
}
