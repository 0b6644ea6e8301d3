//! MOSIP's own Resident Portal app (`mosip/resident-ui` 0.9.x, Angular) on this server: the
//! resident-services 1.2.1 portal API it calls, its cookie login, CORS for it, and serving a built
//! copy of it. Every service here calls the same domain use case as the 1.2.0 API and our portal do;
//! what lives here is MOSIP 1.2.1's wire shape (see docs/mosip-portal.md).

mod grievance;
mod history;
pub mod login;
mod masterdata;
mod proxy;
mod public;
mod secure;
pub mod serve;
mod share;
pub(crate) mod token;
mod update;
mod verify;
mod vids;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use resident_domain::ResidentError;
use resident_domain::audit::AuditContext;
use resident_domain::ids::IndividualId;
use resident_domain::ports::{PortalSession, Resolved};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::AppState;

/// What the deployment sets for MOSIP's portal app.
#[derive(Clone)]
pub struct UiSettings {
    /// Where the app lives; logins and logouts send the browser back only under it.
    pub url: Option<String>,
    /// A built copy of the app, served at `/resident-ui/`.
    pub dir: Option<std::path::PathBuf>,
    /// Signs the `Authorization` cookie's token and the one-time login codes.
    pub token_key: [u8; 32],
    /// Origins allowed to call the API with the resident's cookie (CORS).
    pub cors_origins: Vec<String>,
}

impl std::fmt::Debug for UiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiSettings")
            .field("url", &self.url)
            .field("dir", &self.dir)
            .field("cors_origins", &self.cors_origins)
            .finish_non_exhaustive()
    }
}

/// The scopes MOSIP's portal token carries; each endpoint requires one (MOSIP's `@PreAuthorize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    IdentityData,
    Vid,
    Authentication,
    ServiceRequests,
    Credentials,
}

impl Scope {
    pub(crate) const ALL: [Scope; 5] =
        [Scope::IdentityData, Scope::Vid, Scope::Authentication, Scope::ServiceRequests, Scope::Credentials];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scope::IdentityData => "Manage-Identity-Data",
            Scope::Vid => "Manage-VID",
            Scope::Authentication => "Manage-Authentication",
            Scope::ServiceRequests => "Manage-Service-Requests",
            Scope::Credentials => "Manage-Credentials",
        }
    }
}

/// MOSIP's envelope with `errors` as the app needs it: `null` where MOSIP's response filter clears
/// it (the app tests `!errors`), `[]` where MOSIP leaves the list (the app reads `errors.length`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Errors {
    Null,
    Empty,
}

pub(crate) fn reply(id: Option<&str>, version: &str, at: OffsetDateTime, response: Value, errors: Errors) -> Response {
    reply_with(id, Some(version), at, response, errors)
}

/// `reply` for answers that name no request (`id` and `version` null, as MOSIP's proxies pass them).
pub(crate) fn reply_with(
    id: Option<&str>,
    version: Option<&str>,
    at: OffsetDateTime,
    response: Value,
    errors: Errors,
) -> Response {
    let errors = match errors {
        Errors::Null => Value::Null,
        Errors::Empty => json!([]),
    };
    axum::Json(json!({
        "id": id,
        "version": version,
        "responsetime": resident_domain::clock::mosip_datetime(at),
        "metadata": null,
        "response": response,
        "errors": errors,
    }))
    .into_response()
}

/// The browser's offset from UTC, from the app's `time-zone-offset` header (minutes behind UTC, as
/// JavaScript counts them); `None` when absent or out of range.
pub(crate) fn browser_offset(headers: &HeaderMap) -> Option<time::UtcOffset> {
    headers
        .get("time-zone-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i32>().ok())
        .filter(|m| m.abs() <= 18 * 60)
        .and_then(|m| time::UtcOffset::from_whole_seconds(-m * 60).ok())
}

/// The wall clock of a moment for the viewer, (year, month, day, hour, minute, second): in the
/// browser's offset, else in `zone`, else in UTC.
fn viewer_clock(headers: &HeaderMap, zone: Option<&resident_domain::clock::TimeZone>, at: OffsetDateTime) -> [i32; 6] {
    let fields = |l: OffsetDateTime| {
        [l.year(), u8::from(l.month()).into(), l.day().into(), l.hour().into(), l.minute().into(), l.second().into()]
    };
    if let Some(o) = browser_offset(headers) {
        return fields(at.to_offset(o));
    }
    match zone.and_then(|z| resident_domain::clock::local(z, at)) {
        Some(dt) => [
            dt.year().into(),
            dt.month().into(),
            dt.day().into(),
            dt.hour().into(),
            dt.minute().into(),
            dt.second().into(),
        ],
        None => fields(at),
    }
}

/// A moment as the app shows it: `yyyy-MM-dd HH:mm:ss` in the browser's time zone, else the
/// residents'.
pub(crate) fn ui_time(state: &AppState, headers: &HeaderMap, at: OffsetDateTime) -> String {
    let [y, mo, d, h, mi, s] = viewer_clock(headers, Some(&state.templates.time_zone), at);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// A moment as MOSIP puts it in a file name: `yyyy-MM-ddTHH_mm_ss` in the browser's time (its
/// `time-zone-offset` header; UTC without one, as MOSIP does).
pub(crate) fn file_stamp(headers: &HeaderMap, at: OffsetDateTime) -> String {
    let [y, mo, d, h, mi, s] = viewer_clock(headers, None, at);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}_{mi:02}_{s:02}")
}

/// A PDF as the app saves it: exactly `application/pdf`, with MOSIP's `Content-Disposition`.
pub(crate) fn pdf(bytes: Vec<u8>, filename: &str) -> Response {
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    let safe: String = filename.chars().filter(|c| !c.is_control() && *c != '"' && *c != '\\').collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    res
}

/// One of the deployment's languages, as the app names it (`eng`, `ARA`).
pub(crate) fn language(state: &AppState, lang: &str) -> Result<String, ResidentError> {
    state
        .schema
        .languages()
        .all()
        .find(|l| l.eq_ignore_ascii_case(lang.trim()))
        .cloned()
        .ok_or_else(|| ResidentError::invalid("languageCode"))
}

/// A refusal in the same envelope, at the status MOSIP gives it (business errors are HTTP 200).
pub(crate) fn refusal(id: &str, version: &str, at: OffsetDateTime, e: &ResidentError) -> Response {
    refusal_with(Some(id), Some(version), at, e)
}

/// A refusal whose envelope names no request (masterdata's answers have `id` and `version` null).
pub(crate) fn refusal_with(id: Option<&str>, version: Option<&str>, at: OffsetDateTime, e: &ResidentError) -> Response {
    if let Some(detail) = e.internal_detail() {
        tracing::error!(code = e.code(), detail, "request failed");
    }
    let body = json!({
        "id": id,
        "version": version,
        "responsetime": resident_domain::clock::mosip_datetime(at),
        "metadata": null,
        "response": null,
        "errors": [{"errorCode": e.code(), "message": e.message()}],
    });
    (crate::error::http_status(e), axum::Json(body)).into_response()
}

/// Adds the `eventid` header the app reads after an action.
pub(crate) fn with_event(mut res: Response, event_id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(event_id) {
        res.headers_mut().insert("eventid", v);
    }
    res
}

/// The resident behind a request's `Authorization` cookie, for an endpoint that needs `scope`
/// (`None`: any logged-in resident, as MOSIP's endpoints without a scope).
pub(crate) struct UiResident {
    pub who: Resolved,
    /// What their actions are recorded under (their UIN, as in our portal).
    pub id: IndividualId,
    pub session: PortalSession,
    pub audit: AuditContext,
    pub now: OffsetDateTime,
}

pub(crate) fn unauthenticated(at: OffsetDateTime) -> Response {
    let body = json!({
        "id": null, "version": null, "responsetime": resident_domain::clock::mosip_datetime(at), "metadata": null,
        "response": null, "errors": [{"errorCode": "KER-ATH-401", "message": "Authentication Failed"}],
    });
    (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
}

fn forbidden(at: OffsetDateTime) -> Response {
    let body = json!({
        "id": null, "version": null, "responsetime": resident_domain::clock::mosip_datetime(at), "metadata": null,
        "response": null, "errors": [{"errorCode": "RES-SER-403", "message": "Access is denied"}],
    });
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}

pub(crate) fn audit_context(state: &AppState, headers: &HeaderMap, user: &str) -> AuditContext {
    AuditContext {
        host_name: state.host.name.clone(),
        host_ip: state.host.ip.clone(),
        session_user: user.into(),
        request_id: headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(|v| v.chars().take(64).collect()),
    }
}

/// The logged-in resident, or the answer to send: 401 without a live session, 403 without the scope.
pub(crate) async fn resident(
    state: &AppState,
    headers: &HeaderMap,
    scope: Option<Scope>,
) -> Result<UiResident, Response> {
    let now = state.clock.now();
    let audit = audit_context(state, headers, "mosip-ui-resident");
    let Some(claims) = login::cookie_claims(state, headers, now) else { return Err(unauthenticated(now)) };
    if let Some(scope) = scope
        && !claims.scope.split(' ').any(|s| s == scope.name())
    {
        return Err(forbidden(now));
    }
    let session = match state.session_cases(&audit, now).current(&claims.sid).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(unauthenticated(now)),
        Err(e) => return Err(refusal("", "v1", now, &e)),
    };
    let who = match resident_domain::session::identity_of(state.idrepo.as_ref(), &session, now).await {
        Ok(Some(who)) => who,
        Ok(None) => return Err(unauthenticated(now)),
        Err(e) => return Err(refusal("", "v1", now, &e)),
    };
    let id = IndividualId::Uin(who.uin.clone());
    Ok(UiResident { who, id, session, audit, now })
}

/// Whether a request that changes something comes from a page allowed to send it with the
/// resident's cookie: no `Origin` (not a browser's cross-site request), our own origin, or one of
/// the CORS origins. Another site's form post or image carries the cookie when it is `SameSite=None`
/// (the app on another origin), so it must be told apart here.
pub(crate) fn from_allowed_page(state: &AppState, headers: &HeaderMap) -> bool {
    let origin = headers.get(axum::http::header::ORIGIN).and_then(|v| v.to_str().ok());
    match origin {
        Some(o) => {
            login::own_origin(headers).as_deref() == Some(o) || state.mosip_ui.cors_origins.iter().any(|a| a == o)
        }
        // a cross-site request without an Origin: an image, a link, a top-level navigation
        None => headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_none_or(|s| s != "cross-site"),
    }
}

/// Refuses a request that changes something (any method but GET and HEAD) from another site's page.
async fn same_site_only(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let safe = matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD);
    if !safe && !from_allowed_page(&state, req.headers()) {
        return forbidden(state.clock.now());
    }
    next.run(req).await
}

/// The routes under `/resident/v1` that MOSIP's portal app calls.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/login/{*redirect}", get(login::login))
        .route("/login-redirect/{*redirect}", get(login::login_redirect))
        .route("/authorize/admin/validateToken", get(login::validate_token))
        .route("/logout/user", get(login::logout))
        .route("/proxy/config/ui-properties", get(public::ui_properties))
        .route("/profile", get(public::profile))
        .route("/proxy/audit/log", post(public::audit_log))
        .route("/auth-proxy/audit/log", post(public::audit_log))
        .route("/aid-stage/{aid}", get(public::aid_stage))
        .route("/individualId/otp", post(public::individual_otp))
        .route("/download-card", post(public::download_card))
        .route("/auth-lock-status", get(secure::lock_status))
        .route("/auth-lock-unlock", post(secure::lock_unlock))
        .route("/vids", get(vids::list))
        .route("/vid/policy", get(vids::policy))
        .route("/generate-vid", post(vids::generate))
        .route("/revoke-vid/{vid}", patch(vids::revoke))
        .route("/request-card/vid/{vid}", get(vids::request_card))
        .route("/download-card/event/{eid}", get(vids::download_card))
        .route("/service-history/{lang}", get(history::service_history))
        .route("/events/{eid}", get(history::event))
        .route("/pinned/{eid}", post(history::pinned))
        .route("/unpinned/{eid}", post(history::unpinned))
        .route("/unread/notification-count", get(history::unread_count))
        .route("/bell/updatedttime", put(history::bell_seen))
        .route("/notifications/{lang}", get(history::notifications))
        .route("/grievance/ticket", post(grievance::ticket))
        .route("/channel/verification-status/", get(verify::status))
        .route("/channel/verification-status", get(verify::status))
        .route("/validate-otp", post(verify::validate))
        .route("/auth-proxy/partners", get(proxy::partners))
        .route("/auth-proxy/config/ui-schema/{kind}", get(share::ui_schema))
        .route("/auth-proxy/config/identity-mapping", get(share::identity_mapping))
        .route("/identity/info/type/{kind}", get(share::identity_info))
        .route("/share-credential", post(share::share))
        .route("/download/personalized-card", post(share::personalized_card))
        .route("/identity/update-count", get(update::update_count))
        .route("/identity/get-pending-drafts/{lang}", get(update::pending_drafts))
        .route("/identity/discardPendingDraft/{eid}", post(update::discard_draft))
        .route("/transliteration/transliterate", post(update::transliteration))
        .route("/contact-details/send-otp", post(update::send_otp))
        .route("/contact-details/update-data", post(update::update_data))
        .route(
            "/documents/{id}",
            post(update::upload_document)
                .get(update::list_documents)
                .delete(update::delete_document)
                // a proof of up to `update.max_document_bytes`, in a multipart body
                .layer(axum::extract::DefaultBodyLimit::max(crate::UPDATE_BODY_LIMIT)),
        )
        .route("/update-uin", patch(update::update_uin))
        .route_layer(axum::middleware::from_fn_with_state(state, same_site_only))
        .route("/ack/download/pdf/event/{eid}/language/{lang}", get(history::acknowledgement))
        .route("/proxy/masterdata/locationHierarchyLevels", get(masterdata::all_hierarchy_levels))
        .route("/proxy/masterdata/locationHierarchyLevels/{lang}", get(masterdata::hierarchy_levels))
        .route("/auth-proxy/masterdata/locations/immediatechildren/{code}", get(masterdata::children_by_language))
        .route("/proxy/masterdata/locations/immediatechildren/{code}/{lang}", get(masterdata::children_in))
        .route("/proxy/masterdata/locations/info/{code}/{lang}", get(masterdata::location_info))
        .route("/proxy/masterdata/dynamicfields/{field}", get(masterdata::dynamic_field))
        .route("/auth-proxy/masterdata/dynamicfields/{field}/{lang}", get(masterdata::dynamic_field_in))
        .route("/proxy/masterdata/documenttypes/{category}/{lang}", get(masterdata::document_types))
        .route("/proxy/masterdata/validdocuments/{lang}", get(masterdata::valid_documents))
        .route("/proxy/masterdata/registrationcenters/{lang}/{level}/names", get(masterdata::centres_by_names))
        .route("/proxy/masterdata/registrationcenters/page/{lang}/{level}/{text}", get(masterdata::centres_page))
        .route(
            "/proxy/masterdata/getcoordinatespecificregistrationcenters/{lang}/{lon}/{lat}/{distance}",
            get(masterdata::centres_nearby),
        )
        .route("/proxy/masterdata/workingdays/{centre}/{lang}", get(masterdata::working_days))
        .route("/download/registration-centers-list", get(masterdata::centres_list_pdf))
        .route("/download/nearestRegistrationcenters", get(masterdata::nearest_centres_pdf))
        .route("/download/supporting-documents", get(masterdata::supporting_documents_pdf))
        .route("/download/service-history", get(history::download))
}
