//! The app's login as MOSIP's `kernel-authcodeflowproxy` gives it, with our own OTP login page as
//! the identity provider: `/login/{page}` → our portal's login → `/login-redirect/{page}` with a
//! one-time code → the `Authorization` cookie → back to the app. `validateToken` and `logout/user`
//! as MOSIP answers them. The cookie's token is signed and tied to a server-side session, so logout
//! and expiry revoke it and any replica accepts it.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use resident_domain::session::Started;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use super::{Scope, audit_context, token};
use crate::AppState;

pub(crate) const AUTH_COOKIE: &str = "Authorization";
const STATE_COOKIE: &str = "state";
/// How long the one-time login code lives between our login page and `/login-redirect`.
const CODE_SECONDS: i64 = 120;

#[derive(Serialize, Deserialize)]
pub(crate) struct Claims {
    iss: String,
    aud: String,
    /// The session's secret (the store keeps only its hash).
    pub(crate) sid: String,
    pub(crate) scope: String,
    iat: i64,
    exp: i64,
}

#[derive(Serialize, Deserialize)]
struct CodeClaims {
    aud: String,
    sid: String,
    state: String,
    exp: i64,
}

const TOKEN_AUDIENCE: &str = "mosip-resident-ui";
const CODE_AUDIENCE: &str = "mosip-resident-ui-login-code";

/// The claims of the request's `Authorization` cookie, if it is ours, for the app and unexpired.
pub(crate) fn cookie_claims(state: &AppState, headers: &HeaderMap, now: OffsetDateTime) -> Option<Claims> {
    let raw = crate::portal::cookie(headers, AUTH_COOKIE)?;
    let claims: Claims = token::verify(&state.mosip_ui.token_key, raw)?;
    (claims.aud == TOKEN_AUDIENCE && claims.exp > now.unix_timestamp()).then_some(claims)
}

/// The origin this request reached us at (`http://host:port`), from its `Host` and, behind a proxy,
/// `X-Forwarded-Proto`.
pub(crate) fn own_origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) {
        return None;
    }
    let scheme = match headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) {
        Some("https") => "https",
        _ => "http",
    };
    Some(format!("{scheme}://{host}"))
}

/// Whether the browser may be sent to `target` after login or logout: under `mosip_ui.url`, or,
/// when this server serves the app itself, under its own `/resident-ui/`.
fn allowed_target(state: &AppState, headers: &HeaderMap, target: &str) -> bool {
    let under = |base: &str| {
        target
            .strip_prefix(base)
            .is_some_and(|rest| base.ends_with('/') || rest.is_empty() || rest.starts_with(['/', '#', '?']))
    };
    if target.contains(['\r', '\n', '\\']) || target.chars().any(char::is_whitespace) {
        return false;
    }
    match (&state.mosip_ui.url, &state.mosip_ui.dir) {
        (Some(url), _) => under(url),
        (None, Some(_)) => own_origin(headers).is_some_and(|o| under(&format!("{o}{}/", super::serve::UI_PATH))),
        (None, None) => false,
    }
}

/// `scheme://host[:port]` of an absolute http(s) address.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && !host.contains('@')).then(|| format!("{scheme}://{host}"))
}

/// A page address as the app sends it: `btoa(url)` (standard base64; URL-safe accepted too).
fn decode_target(encoded: &str) -> Option<String> {
    let encoded = encoded.trim_end_matches('/');
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(encoded))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded))
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// A login the app asked for, carried through our login pages: `{state}~{base64 of the page}`.
#[derive(Debug, Clone)]
pub(crate) struct Resume {
    state: uuid::Uuid,
    encoded: String,
    /// The origin of the page to return to (`http://host:port`).
    origin: String,
}

impl Resume {
    pub(crate) fn parse(state: &AppState, headers: &HeaderMap, text: &str) -> Option<Resume> {
        let (st, encoded) = text.split_once('~')?;
        let st = uuid::Uuid::try_parse(st).ok()?;
        let target = decode_target(encoded)?;
        let origin = origin_of(&target)?;
        allowed_target(state, headers, &target).then(|| Resume { state: st, encoded: encoded.to_owned(), origin })
    }

    /// The origin the login ends at, which the login pages' forms must be allowed to reach.
    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }
}

impl std::fmt::Display for Resume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}~{}", self.state, self.encoded)
    }
}

/// A refusal of a login step as MOSIP's login library gives it: HTTP 200 and the envelope.
fn bad_request(now: OffsetDateTime, code: &str, message: &str) -> Response {
    axum::Json(json!({
        "id": null, "version": null, "responsetime": resident_domain::clock::mosip_datetime(now),
        "metadata": null, "response": null, "errors": [{"errorCode": code, "message": message}],
    }))
    .into_response()
}

fn redirect(to: &str, cookies: &[String]) -> Response {
    let mut res = StatusCode::FOUND.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(to) {
        h.insert(header::LOCATION, v);
    }
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn cookie_attributes(state: &AppState) -> String {
    let secure = state.portal.secure_cookie;
    // the app on another site sends the cookie only with SameSite=None, which browsers take only
    // with Secure
    let same_site = if secure && !state.mosip_ui.cors_origins.is_empty() { "None" } else { "Lax" };
    format!("Path=/; HttpOnly; SameSite={same_site}{}", if secure { "; Secure" } else { "" })
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    state: Option<String>,
}

/// `GET /login/{base64 of the page to return to}?state={uuid}`: remembers the state and sends the
/// browser to our OTP login page.
pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(redirect_to): Path<String>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let now = state.clock.now();
    let Some(given) = q.state.as_deref().filter(|s| !s.is_empty()) else {
        return bad_request(now, "KER-ACP-010", "state is null or empty");
    };
    // canonical: lower-case 8-4-4-4-12, as MOSIP compares it back
    let Some(st) = uuid::Uuid::try_parse(given).ok().filter(|u| u.to_string() == given) else {
        return bad_request(now, "KER-ACP-011", "state is not uuid");
    };
    let Some(origin) =
        decode_target(&redirect_to).filter(|t| allowed_target(&state, &headers, t)).and_then(|t| origin_of(&t))
    else {
        return bad_request(now, "KER-ACP-009", "url not found in allowed url's");
    };
    let resume = Resume { state: st, encoded: redirect_to.trim_end_matches('/').to_owned(), origin };
    let attrs = cookie_attributes(&state);
    let state_cookie = format!("{STATE_COOKIE}={st}; Max-Age=900; {attrs}");
    let to = format!("/login?resume={}", crate::portal::url_encode(&resume.to_string()));
    redirect(&to, &[state_cookie])
}

/// After our login page took the OTP: the one-time code, to `/login-redirect/…` (where an OpenID
/// Connect provider would send it too).
pub(crate) fn after_portal_login(state: &AppState, resume: &Resume, started: &Started) -> Response {
    let now = state.clock.now();
    let code = token::sign(
        &state.mosip_ui.token_key,
        &CodeClaims {
            aud: CODE_AUDIENCE.into(),
            sid: started.secret.clone(),
            state: resume.state.to_string(),
            exp: now.unix_timestamp() + CODE_SECONDS,
        },
    );
    let to = format!(
        "{}/login-redirect/{}?state={}&session_state={}&code={code}",
        crate::CONTEXT_PATH,
        resume.encoded,
        resume.state,
        uuid::Uuid::new_v4()
    );
    redirect(&to, &[])
}

#[derive(Deserialize)]
pub(crate) struct RedirectQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

fn with_error(target: &str, error: &str) -> String {
    let sep = if target.contains('?') { '&' } else { '?' };
    format!("{target}{sep}error={error}")
}

/// `GET /login-redirect/{page}?state&session_state&code`: the state cookie must match, the code must
/// be ours, unexpired and unused; then the `Authorization` cookie and back to the page.
pub(crate) async fn login_redirect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(redirect_to): Path<String>,
    Query(q): Query<RedirectQuery>,
) -> Response {
    let now = state.clock.now();
    let Some(target) = decode_target(&redirect_to).filter(|t| allowed_target(&state, &headers, t)) else {
        return bad_request(now, "KER-ACP-009", "url not found in allowed url's");
    };
    let attrs = cookie_attributes(&state);
    let clear_state = format!("{STATE_COOKIE}=; Max-Age=0; {attrs}");
    if q.error.is_some() {
        return redirect(&with_error(&target, "access_denied"), &[clear_state]);
    }
    let expected = crate::portal::cookie(&headers, STATE_COOKIE);
    let code: Option<CodeClaims> = q.code.as_deref().and_then(|c| token::verify(&state.mosip_ui.token_key, c));
    let code = code.filter(|c| {
        c.aud == CODE_AUDIENCE
            && c.exp > now.unix_timestamp()
            && Some(c.state.as_str()) == q.state.as_deref()
            && Some(c.state.as_str()) == expected
    });
    let Some(code) = code else {
        return redirect(&with_error(&target, "invalid_transaction"), &[clear_state]);
    };
    let audit = audit_context(&state, &headers, "mosip-ui-resident");
    let started = match state.session_cases(&audit, now).hand_over(&code.sid).await {
        Ok(Some(s)) => s,
        // used already, or the session ended meanwhile
        Ok(None) => return redirect(&with_error(&target, "invalid_transaction"), &[clear_state]),
        Err(e) => return super::refusal("", "v1", now, &e),
    };
    let exp = started.session.expires_at.unix_timestamp();
    let jwt = token::sign(
        &state.mosip_ui.token_key,
        &Claims {
            iss: "resident-services".into(),
            aud: TOKEN_AUDIENCE.into(),
            sid: started.secret,
            scope: Scope::ALL.iter().map(|s| s.name()).collect::<Vec<_>>().join(" "),
            iat: now.unix_timestamp(),
            exp,
        },
    );
    let max_age = (exp - now.unix_timestamp()).max(0);
    redirect(&target, &[format!("{AUTH_COOKIE}={jwt}; Max-Age={max_age}; {attrs}"), clear_state])
}

/// `GET /authorize/admin/validateToken`: the user behind the cookie, or MOSIP's error (HTTP 200).
pub(crate) async fn validate_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = state.clock.now();
    // as resident-services answers it: 401 for no cookie, a bad or an expired one (the app then
    // stays on its public pages); never KER-ATH-006/007, which make the app start a login
    let error = |_code: &str, _message: &str| super::unauthenticated(now);
    let Some(claims) = cookie_claims(&state, &headers, now) else {
        return error("KER-ATH-401", "Authentication Failed");
    };
    let audit = audit_context(&state, &headers, "mosip-ui-resident");
    let session = match state.session_cases(&audit, now).current(&claims.sid).await {
        Ok(Some(s)) => s,
        Ok(None) => return error("KER-ATH-401", "Authentication Failed"),
        Err(e) => return super::refusal("", "v1", now, &e),
    };
    if !matches!(resident_domain::session::identity_of(state.idrepo.as_ref(), &session, now).await, Ok(Some(_))) {
        return error("KER-ATH-401", "Authentication Failed");
    }
    axum::Json(json!({
        "id": null, "version": null, "responsetime": resident_domain::clock::mosip_datetime(now), "metadata": null,
        "response": "TOKEN_VALID", "errors": null,
    }))
    .into_response()
}

#[derive(Deserialize)]
pub(crate) struct LogoutQuery {
    redirecturi: Option<String>,
}

/// `GET /logout/user?redirecturi={base64 of a page}`: ends the session, expires the cookie, and
/// sends the browser back to the page.
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LogoutQuery>,
) -> Response {
    let now = state.clock.now();
    let Some(target) = q.redirecturi.as_deref().and_then(decode_target).filter(|t| allowed_target(&state, &headers, t))
    else {
        return bad_request(now, "KER-ACP-009", "url not found in allowed url's");
    };
    if let Some(claims) = cookie_claims(&state, &headers, now) {
        let audit = audit_context(&state, &headers, "mosip-ui-resident");
        if let Err(e) = state.session_cases(&audit, now).end(&claims.sid).await {
            tracing::warn!(code = e.code(), "ending a session at logout failed");
        }
    }
    let attrs = cookie_attributes(&state);
    redirect(&target, &[format!("{AUTH_COOKIE}=; Max-Age=0; {attrs}")])
}
