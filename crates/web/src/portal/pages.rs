//! The portal's pages. Each handler reads the visit (language, session, CSRF), calls one use case and
//! renders one template; state changes are POSTs with the form's CSRF token checked first.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use resident_domain::ResidentError;
use resident_domain::audit::AuditEvent;
use resident_domain::auth_usecases::{self as uc, AuthContext};
use resident_domain::authtype::AuthType;
use resident_domain::card::{CardType, download_card};
use resident_domain::clock::epoch_ms;
use resident_domain::ids::{IndividualId, Vid};
use resident_domain::otp::OtpChannel;
use resident_domain::ports::{PortalSession, Resolved};
use resident_domain::usecases::{CheckStatus, check_rid_status};
use serde::Deserialize;

use super::{Lang, Page, SESSION_COOKIE, Visit, random_token, sha256_hex};
use crate::AppState;

pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

fn ctx<'a>(state: &'a AppState, visit: &'a Visit) -> AuthContext<'a> {
    crate::api::auth::context(state, &visit.audit, visit.now)
}

fn render<T: Template>(visit: &Visit, status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => visit.finish((status, Html(html)).into_response()),
        Err(e) => {
            tracing::error!(error = %e, "a portal template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "portal/message.html")]
struct Message<'a> {
    p: &'a Page,
    heading: String,
    lines: Vec<String>,
}

/// The error page: what happened in the resident's words, and the request id to quote.
fn failure(state: &AppState, visit: &Visit, e: &ResidentError) -> Response {
    if let Some(detail) = e.internal_detail() {
        tracing::error!(code = e.code(), detail, "portal request failed");
    }
    let p = visit.page(state);
    let t = Message {
        heading: p.t("error-title"),
        lines: vec![p.t("error-body"), p.ta("error-reference", &[("requestId", visit.request_id.clone())])],
        p: &p,
    };
    render(visit, StatusCode::INTERNAL_SERVER_ERROR, &t)
}

fn forbidden(state: &AppState, visit: &Visit) -> Response {
    let p = visit.page(state);
    let t = Message {
        heading: p.t("error-title"),
        lines: vec![p.t("error-body"), p.ta("error-reference", &[("requestId", visit.request_id.clone())])],
        p: &p,
    };
    render(visit, StatusCode::FORBIDDEN, &t)
}

/// The answer to a form sent too often from one connection (see `crate::throttle`).
pub(crate) async fn throttled_page(state: &AppState, headers: &HeaderMap, seconds: i64) -> Response {
    let visit = Visit::new(state, headers, None).await;
    let p = visit.page(state);
    let t = Message {
        heading: p.t("throttled-title"),
        lines: vec![p.tc("throttled-body", &[], &[("seconds", seconds)])],
        p: &p,
    };
    render(&visit, StatusCode::TOO_MANY_REQUESTS, &t)
}

/// A `?page=` number: anything that is not a number from 0 to `last` (a typo, `-1`, 2^40) is the
/// nearest page there is, never an overflow.
fn page_number(value: Option<&str>, last: u32) -> u32 {
    match value.map(str::trim) {
        None | Some("") => 0,
        Some(v) if v.bytes().all(|b| b.is_ascii_digit()) => v.parse::<u32>().unwrap_or(last).min(last),
        Some(_) => 0,
    }
}

fn to_login(visit: &Visit) -> Response {
    visit.finish(Redirect::to("/login").into_response())
}

fn transaction_id() -> String {
    let n: u64 = rand::Rng::gen_range(&mut resident_domain::clock::rng(), 1_000_000_000..10_000_000_000);
    n.to_string()
}

// --- public pages ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal/home.html")]
struct Home<'a> {
    p: &'a Page,
}

pub async fn home(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let p = visit.page(&state);
    render(&visit, StatusCode::OK, &Home { p: &p })
}

pub struct StatusResult {
    heading: String,
    status: String,
    colour: &'static str,
    stages: Vec<StageView>,
}

pub struct StageView {
    when: String,
    what: String,
}

#[derive(Template)]
#[template(path = "portal/status.html")]
struct StatusPage<'a> {
    p: &'a Page,
    rid: String,
    error: Option<FieldError>,
    result: Option<StatusResult>,
}

/// A page about one RID: the public status page, the acknowledgement of an update.
#[derive(Deserialize, Default)]
pub struct RidQuery {
    lang: Option<String>,
    rid: Option<String>,
}

pub async fn status(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<RidQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let p = visit.page(&state);
    let rid: String = super::typed_digits(&q.rid.unwrap_or_default()).chars().take(40).collect();
    let mut page = StatusPage { p: &p, rid: rid.clone(), error: None, result: None };
    if !rid.is_empty() {
        if rid.len() != 29 || !rid.bytes().all(|b| b.is_ascii_digit()) {
            page.error = Some(FieldError { field: "rid", message: p.t("status-invalid") });
        } else {
            let found = check_rid_status(
                state.registrations.as_ref(),
                state.audit.as_ref(),
                &state.status_policy,
                &visit.audit,
                CheckStatus { individual_id: rid.clone() },
                visit.now,
            )
            .await;
            match found {
                Ok(shown) => {
                    let key = match shown {
                        "UNDER PROCESSING" => "status-UNDER_PROCESSING".to_owned(),
                        "WAITING FOR ADDITIONAL INFORMATION FROM APPLICANT" => "status-WAITING".to_owned(),
                        other => format!("status-{other}"),
                    };
                    let colour = match shown {
                        "PROCESSED" => "green",
                        "REJECTED" | "REREGISTER" => "red",
                        "RESEND" | "WAITING FOR ADDITIONAL INFORMATION FROM APPLICANT" => "yellow",
                        _ => "blue",
                    };
                    let stages = match resident_domain::ids::Rid::parse(&rid) {
                        Ok(r) => state.registrations.stage_history(&r).await.unwrap_or_default(),
                        Err(_) => Vec::new(),
                    };
                    let mut views: Vec<StageView> = Vec::new();
                    for s in &stages {
                        let Some(stage) = s.transaction_type.resident_stage() else { continue };
                        let what = p.t(&format!("stage-{}", stage.to_ascii_lowercase().replace(' ', "-")));
                        // one line per stage reached, at the time it was first reached
                        if views.last().is_some_and(|v| v.what == what) {
                            continue;
                        }
                        views.push(StageView { when: p.date(s.at, true), what });
                    }
                    page.result = Some(StatusResult {
                        heading: p.ta("status-result", &[("rid", rid.clone())]),
                        status: p.t(&key),
                        colour,
                        stages: views,
                    });
                }
                Err(ResidentError::RidNotFound) => {
                    page.error = Some(FieldError { field: "rid", message: p.t("status-not-found") })
                }
                Err(e) => return failure(&state, &visit, &e),
            }
        }
    }
    let code = if page.error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    render(&visit, code, &page)
}

// --- login ----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal/login.html")]
struct LoginPage<'a> {
    p: &'a Page,
    individual_id: String,
    error: Option<FieldError>,
}

pub async fn login_form(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    if visit.session.is_some() {
        return visit.finish(Redirect::to("/account").into_response());
    }
    let p = visit.page(&state);
    render(&visit, StatusCode::OK, &LoginPage { p: &p, individual_id: String::new(), error: None })
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    individual_id: Option<String>,
    channel: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/otp.html")]
struct OtpPage<'a> {
    p: &'a Page,
    sent: String,
    individual_id: String,
    transaction_id: String,
    error: Option<FieldError>,
}

pub async fn login_send(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    let visit = Visit::new(&state, &headers, None).await;
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    let p = visit.page(&state);
    let typed: String = super::typed_digits(&form.individual_id.unwrap_or_default()).chars().take(32).collect();
    let again = |message: String, field: &'static str| LoginPage {
        p: &p,
        individual_id: typed.clone(),
        error: Some(FieldError { field, message }),
    };
    let Some(id) = IndividualId::parse(&typed) else {
        return render(&visit, StatusCode::BAD_REQUEST, &again(p.t("login-invalid-id"), "individual-id"));
    };
    let Some(channel) = form.channel.as_deref().and_then(OtpChannel::parse) else {
        return render(&visit, StatusCode::BAD_REQUEST, &again(p.t("login-no-channel"), "channel"));
    };
    let trn = transaction_id();
    match uc::request_otp(&ctx(&state, &visit), &id, &trn, &[channel]).await {
        Ok(sent) => {
            let contact = sent.masked_email.or(sent.masked_mobile).unwrap_or_default();
            let t = OtpPage {
                p: &p,
                sent: p.tc(
                    "otp-sent",
                    &[("contact", contact)],
                    &[
                        ("digits", i64::from(state.otp_policy.length)),
                        ("minutes", (state.otp_policy.validity_seconds / 60).max(1)),
                    ],
                ),
                individual_id: typed.clone(),
                transaction_id: trn,
                error: None,
            };
            render(&visit, StatusCode::OK, &t)
        }
        // the same answer whether the number is unknown, blocked or flooded: nothing to learn here
        Err(ResidentError::Ida(..) | ResidentError::InvalidInput(_)) => {
            render(&visit, StatusCode::BAD_REQUEST, &again(p.t("login-unknown"), "individual-id"))
        }
        Err(e) => failure(&state, &visit, &e),
    }
}

#[derive(Deserialize)]
pub struct OtpForm {
    csrf: Option<String>,
    individual_id: Option<String>,
    transaction_id: Option<String>,
    otp: Option<String>,
}

pub async fn login_verify(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<OtpForm>) -> Response {
    let mut visit = Visit::new(&state, &headers, None).await;
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    let typed = form.individual_id.unwrap_or_default();
    let trn = form.transaction_id.unwrap_or_default();
    let Some(id) = IndividualId::parse(&typed) else { return to_login(&visit) };
    let otp = super::typed_digits(&form.otp.unwrap_or_default());
    match uc::authorise_with_otp(&ctx(&state, &visit), &id, &trn, &otp).await {
        Ok(who) => {
            // a new session id at every login: an id planted before login is worth nothing after it
            if let Some(old) = super::cookie(&headers, SESSION_COOKIE) {
                let _ = state.sessions.end_session(&sha256_hex(old), None).await;
            }
            let raw = random_token();
            let session = PortalSession {
                id_hash: sha256_hex(&raw),
                identity_id: who.identity_id.clone(),
                token: who.token.clone(),
                id_type: id.id_type().into(),
                csrf: random_token(),
                created_at: visit.now,
                last_seen_at: visit.now,
                expires_at: visit.now + time::Duration::try_from(state.portal.absolute).unwrap_or_default(),
            };
            let record = AuditEvent::PortalLogin.record(
                &visit.audit,
                visit.now,
                Some((id.masked(), id.id_type())),
                "logged in with an OTP",
            );
            if let Err(e) = state.sessions.create_session(&session, &record).await {
                return failure(&state, &visit, &e.into());
            }
            let secure = if state.portal.secure_cookie { "; Secure" } else { "" };
            visit.set_cookies.push(format!("{SESSION_COOKIE}={raw}; Path=/; HttpOnly; SameSite=Lax{secure}"));
            visit.finish(Redirect::to("/account").into_response())
        }
        Err(ResidentError::OtpValidationFailed(_)) => {
            let p = visit.page(&state);
            let t = OtpPage {
                p: &p,
                sent: String::new(),
                individual_id: typed,
                transaction_id: trn,
                error: Some(FieldError { field: "otp", message: p.t("otp-wrong") }),
            };
            render(&visit, StatusCode::BAD_REQUEST, &t)
        }
        Err(e) => failure(&state, &visit, &e),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let mut visit = Visit::new(&state, &headers, None).await;
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    if let Some(s) = &visit.session {
        let record = AuditEvent::PortalLogout.record(&visit.audit, visit.now, None, "logged out");
        let _ = state.sessions.end_session(&s.id_hash, Some(&record)).await;
    }
    let secure = if state.portal.secure_cookie { "; Secure" } else { "" };
    visit.set_cookies.push(super::clear_cookie(SESSION_COOKIE, secure));
    visit.finish(Redirect::to("/").into_response())
}

// --- the account ------------------------------------------------------------------------------

/// A logged-in resident's form submission: the visit, checked for its CSRF token, and who acts. The
/// `Err` is the answer to send (a refusal, or the login page).
async fn acting(
    state: &AppState,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<(Visit, Resolved, IndividualId), Response> {
    let visit = Visit::new(state, headers, None).await;
    if !visit.csrf_ok(csrf) {
        return Err(forbidden(state, &visit));
    }
    match resident(state, &visit).await {
        Some((who, id)) => Ok((visit, who, id)),
        None => Err(to_login(&visit)),
    }
}

/// The logged-in resident and the id their actions are recorded under.
async fn resident(state: &AppState, visit: &Visit) -> Option<(Resolved, IndividualId)> {
    let who = visit.who(state).await?;
    let id = IndividualId::Uin(who.uin.clone());
    Some((who, id))
}

#[derive(Template)]
#[template(path = "portal/account.html")]
struct AccountPage<'a> {
    p: &'a Page,
    welcome: String,
    signed_in: String,
}

pub async fn account(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let p = visit.page(&state);
    let name = who.identity.localized("fullName", p.lang.mosip()).unwrap_or_default().to_owned();
    let id_type = visit.session.as_ref().map(|s| s.id_type.clone()).unwrap_or_default();
    let last: String = who.uin.expose().chars().rev().take(2).collect::<Vec<_>>().into_iter().rev().collect();
    let t = AccountPage {
        welcome: p.ta("account-welcome", &[("name", name)]),
        signed_in: p.ta("account-signed-in", &[("idType", id_type), ("last", last)]),
        p: &p,
    };
    render(&visit, StatusCode::OK, &t)
}

pub struct LockRow {
    code: &'static str,
    name: String,
    locked: bool,
    state: String,
}

#[derive(Template)]
#[template(path = "portal/locks.html")]
struct LocksPage<'a> {
    p: &'a Page,
    rows: Vec<LockRow>,
    notice: Option<String>,
    error: Option<FieldError>,
}

async fn locks_page(state: &AppState, visit: &Visit, who: &Resolved, notice: Option<String>) -> Response {
    let p = visit.page(state);
    let states = match state.auth.lock_states(&who.identity_id).await {
        Ok(s) => s,
        Err(e) => return failure(state, visit, &e.into()),
    };
    let now_ms = epoch_ms(visit.now);
    let rows = AuthType::ALL
        .iter()
        .map(|t| {
            let st = states.iter().find(|s| s.auth_type == *t);
            let locked = st.is_some_and(|s| s.locked_at(now_ms));
            let state = match st.and_then(|s| s.unlock_until_ms.filter(|u| *u > now_ms)) {
                Some(until) => p.ta(
                    "locks-unlocked-until",
                    &[("until", p.date(resident_domain::clock::from_epoch_ms(until), true))],
                ),
                None if locked => p.t("locks-locked"),
                None => p.t("locks-unlocked"),
            };
            LockRow { code: t.code(), name: p.t(&format!("auth-{}", t.code())), locked, state }
        })
        .collect();
    render(visit, StatusCode::OK, &LocksPage { p: &p, rows, notice, error: None })
}

pub async fn locks(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    locks_page(&state, &visit, &who, None).await
}

#[derive(Deserialize)]
pub struct LockForm {
    csrf: Option<String>,
    auth_type: Option<String>,
    action: Option<String>,
    duration: Option<i64>,
}

pub async fn locks_change(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<LockForm>) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let types = match form.auth_type.as_deref() {
        Some("ALL") => AuthType::ALL.to_vec(),
        Some(t) => match AuthType::parse(t) {
            Some(t) => vec![t],
            None => return forbidden(&state, &visit),
        },
        None => return forbidden(&state, &visit),
    };
    let lock = form.action.as_deref() == Some("lock");
    let seconds = (!lock).then(|| form.duration.unwrap_or(0).clamp(0, 366 * 86400));
    match uc::set_auth_locks(&ctx(&state, &visit), &who, &id, &transaction_id(), &types, lock, seconds).await {
        Ok(_) => {
            let p = visit.page(&state);
            locks_page(&state, &visit, &who, Some(p.t("locks-done"))).await
        }
        Err(e) => failure(&state, &visit, &e),
    }
}

pub struct VidRow {
    vid: String,
    kind: String,
    expires: String,
    uses: String,
}

#[derive(Template)]
#[template(path = "portal/vids.html")]
struct VidsPage<'a> {
    p: &'a Page,
    vids: Vec<VidRow>,
    types: Vec<(String, String)>,
    notice: Option<String>,
    error: Option<FieldError>,
}

async fn vids_page(
    state: &AppState,
    visit: &Visit,
    who: &Resolved,
    notice: Option<String>,
    error: Option<FieldError>,
) -> Response {
    let p = visit.page(state);
    let records = match state.auth.vids(&who.identity_id, visit.now).await {
        Ok(v) => v,
        Err(e) => return failure(state, visit, &e.into()),
    };
    let vids = records
        .iter()
        .map(|v| VidRow {
            vid: v.vid.expose().to_owned(),
            kind: p.t(&format!("vids-type-{}", v.vid_type)),
            expires: v.expires_at.map(|e| p.date(e, true)).unwrap_or_else(|| p.t("vids-never")),
            uses: v.transactions_left.map(|n| p.number(n)).unwrap_or_else(|| p.t("vids-unlimited")),
        })
        .collect();
    let types = ["Perpetual", "Temporary", "OneTimeUse"]
        .iter()
        .filter(|t| state.vid_policy.lookup(t).is_some())
        .map(|t| (t.to_string(), p.t(&format!("vids-type-{t}"))))
        .collect();
    let code = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    render(visit, code, &VidsPage { p: &p, vids, types, notice, error })
}

pub async fn vids(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    vids_page(&state, &visit, &who, None, None).await
}

#[derive(Deserialize)]
pub struct VidForm {
    csrf: Option<String>,
    vid_type: Option<String>,
}

pub async fn vids_generate(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<VidForm>) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let vid_type = form.vid_type.unwrap_or_default();
    let p = visit.page(&state);
    match uc::generate_vid(&ctx(&state, &visit), &who, &id, &transaction_id(), &vid_type).await {
        Ok(done) => {
            let notice = p.ta("vids-created", &[("vid", done.value.expose().to_owned())]);
            vids_page(&state, &visit, &who, Some(notice), None).await
        }
        Err(ResidentError::VidAlreadyPresent | ResidentError::InvalidInput(_)) => {
            let error = FieldError { field: "vid_type", message: p.t("vids-limit") };
            vids_page(&state, &visit, &who, None, Some(error)).await
        }
        Err(e) => failure(&state, &visit, &e),
    }
}

#[derive(Deserialize)]
pub struct RevokeQuery {
    lang: Option<String>,
    vid: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/revoke.html")]
struct RevokePage<'a> {
    p: &'a Page,
    heading: String,
    vid: String,
}

/// The VID, if it is one of this resident's.
async fn own_vid(state: &AppState, who: &Resolved, value: Option<&str>) -> Option<Vid> {
    let vid = Vid::parse(value?.trim()).ok()?;
    let (owner, _) = state.auth.vid_record(&vid).await.ok()??;
    (owner == who.identity_id).then_some(vid)
}

pub async fn revoke_confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RevokeQuery>,
) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let Some(vid) = own_vid(&state, &who, q.vid.as_deref()).await else { return forbidden(&state, &visit) };
    let p = visit.page(&state);
    let t = RevokePage {
        heading: p.ta("vids-revoke-title", &[("vid", vid.expose().to_owned())]),
        vid: vid.expose().to_owned(),
        p: &p,
    };
    render(&visit, StatusCode::OK, &t)
}

#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: Option<String>,
    vid: Option<String>,
}

pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<RevokeForm>) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let Some(vid) = own_vid(&state, &who, form.vid.as_deref()).await else { return forbidden(&state, &visit) };
    match uc::revoke_vid(&ctx(&state, &visit), &who, &id, &transaction_id(), &vid).await {
        Ok(_) => {
            let p = visit.page(&state);
            let notice = p.ta("vids-revoked", &[("vid", vid.expose().to_owned())]);
            vids_page(&state, &visit, &who, Some(notice), None).await
        }
        Err(e) => failure(&state, &visit, &e),
    }
}

#[derive(Template)]
#[template(path = "portal/card.html")]
struct CardPage<'a> {
    p: &'a Page,
}

pub async fn card(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    if resident(&state, &visit).await.is_none() {
        return to_login(&visit);
    }
    let p = visit.page(&state);
    render(&visit, StatusCode::OK, &CardPage { p: &p })
}

#[derive(Deserialize)]
pub struct CardForm {
    csrf: Option<String>,
    card_type: Option<String>,
}

pub async fn card_download(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<CardForm>) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let card_type = form.card_type.as_deref().and_then(CardType::parse).unwrap_or(CardType::Uin);
    let first = state.schema.languages().mandatory.first().map(String::as_str).unwrap_or("eng");
    let done = download_card(
        &ctx(&state, &visit),
        state.identities.as_ref(),
        state.cards.as_ref(),
        first,
        &who,
        &id,
        &transaction_id(),
        card_type,
    )
    .await;
    match done {
        Ok(done) => {
            let mut res = done.value.pdf.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            let name = if card_type == CardType::MaskedUin { "card-masked.pdf" } else { "card.pdf" };
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            visit.finish(res)
        }
        Err(e) => failure(&state, &visit, &e),
    }
}

// --- service history, printed card, update of details -----------------------------------------

pub struct HistoryRow {
    event_id: String,
    what: String,
    status: String,
    colour: &'static str,
    when: String,
    rid: Option<String>,
    follow: String,
}

#[derive(Template)]
#[template(path = "portal/history.html")]
struct HistoryPage<'a> {
    p: &'a Page,
    rows: Vec<HistoryRow>,
    previous: Option<u32>,
    next: Option<u32>,
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    lang: Option<String>,
    page: Option<String>,
}

const HISTORY_PAGE: u32 = 20;

pub async fn history(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<PageQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let p = visit.page(&state);
    let page = page_number(q.page.as_deref(), 10_000);
    // one more than a page: is there a next one?
    let events = match state.history.events_for(&who.token, page, HISTORY_PAGE + 1).await {
        Ok(e) => e,
        Err(e) => return failure(&state, &visit, &e.into()),
    };
    let has_next = events.len() as u32 > HISTORY_PAGE;
    let rows = events
        .iter()
        .take(HISTORY_PAGE as usize)
        .map(|e| {
            let ui = resident_domain::history::event_status(&e.status_code);
            let colour = match ui {
                "Success" => "green",
                "Failed" => "red",
                _ => "blue",
            };
            let rid = e.aid.clone().filter(|a| a.len() == 29 && a.bytes().all(|b| b.is_ascii_digit()));
            HistoryRow {
                event_id: e.event_id.to_string(),
                what: p.t(&format!("rt-{}", e.request_type.code())),
                status: p.t(&format!("ui-status-{}", ui.replace(' ', "-"))),
                colour,
                when: p.date(e.requested_at, true),
                follow: rid.as_ref().map(|r| p.ta("history-follow", &[("rid", r.clone())])).unwrap_or_default(),
                rid,
            }
        })
        .collect();
    let t = HistoryPage { p: &p, rows, previous: page.checked_sub(1), next: has_next.then_some(page + 1) };
    render(&visit, StatusCode::OK, &t)
}

pub struct OrderRow {
    tracking: String,
    carrier: Option<String>,
    state: String,
    colour: &'static str,
    when: String,
}

#[derive(Template)]
#[template(path = "portal/print.html")]
struct PrintPage<'a> {
    p: &'a Page,
    notice: Option<String>,
    ordered: Option<(String, String)>,
    orders: Vec<OrderRow>,
}

/// The resident's printed cards and where each is.
async fn orders(state: &AppState, p: &Page, who: &Resolved) -> Vec<OrderRow> {
    use resident_domain::print::PrintStatus;
    state
        .print_queue
        .print_jobs_of(&who.token)
        .await
        .unwrap_or_default()
        .iter()
        .map(|j| OrderRow {
            tracking: j.tracking_id.clone(),
            carrier: j.carrier_ref.clone(),
            state: p.t(&format!("print-status-{}", j.status.code())),
            colour: match j.status {
                PrintStatus::Delivered => "green",
                PrintStatus::Failed => "red",
                _ => "blue",
            },
            when: p.date(j.updated_at, true),
        })
        .collect()
}

pub async fn print(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let p = visit.page(&state);
    let orders = orders(&state, &p, &who).await;
    render(&visit, StatusCode::OK, &PrintPage { p: &p, notice: None, ordered: None, orders })
}

pub async fn print_order(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<CardForm>) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let card_type = form.card_type.as_deref().and_then(CardType::parse).unwrap_or(CardType::Uin);
    let done = resident_domain::print::request_reprint(
        &ctx(&state, &visit),
        state.registrations.as_ref(),
        state.print_queue.as_ref(),
        &state.centre,
        &state.machine,
        &who,
        &id,
        &transaction_id(),
        card_type,
    )
    .await;
    match done {
        Ok(done) => {
            let p = visit.page(&state);
            let rid = done.value.as_str().to_owned();
            let t = PrintPage {
                notice: Some(p.ta("print-done", &[("rid", rid.clone())])),
                ordered: Some((rid.clone(), p.ta("history-follow", &[("rid", rid)]))),
                orders: orders(&state, &p, &who).await,
                p: &p,
            };
            render(&visit, StatusCode::OK, &t)
        }
        Err(e) => failure(&state, &visit, &e),
    }
}

pub struct FieldView {
    id: String,
    name: String,
    label: String,
    value: String,
    lang: Option<String>,
}

pub struct DocumentView {
    field: String,
    label: String,
    types: Vec<String>,
}

#[derive(Template)]
#[template(path = "portal/update.html")]
struct UpdatePage<'a> {
    p: &'a Page,
    /// What a proof may be, with the configured size limit.
    proof_hint: String,
    fields: Vec<FieldView>,
    documents: Vec<DocumentView>,
    error: Option<FieldError>,
}

/// The languages the resident's details are kept in (those of their name), in deployment order.
fn identity_languages(state: &AppState, who: &Resolved) -> Vec<String> {
    state.schema.languages().all().filter(|l| who.identity.localized_exact("fullName", l).is_some()).cloned().collect()
}

/// The form, generated from the ID schema: every updatable field (language-tagged ones once per
/// language the resident has), and a document input for each proof a change can need.
fn update_form<'a>(state: &AppState, p: &'a Page, who: &Resolved, error: Option<FieldError>) -> UpdatePage<'a> {
    use resident_domain::identity::FieldType;
    let langs = identity_languages(state, who);
    let mut fields = Vec::new();
    let mut proofs: Vec<String> = Vec::new();
    for spec in state.schema.fields().filter(|f| f.updatable) {
        match spec.field_type {
            FieldType::Simple => {
                for l in &langs {
                    let lang_name = Lang::ALL.iter().find(|x| x.mosip() == l).map(|x| x.html()).unwrap_or("en");
                    fields.push(FieldView {
                        id: format!("f-{}-{l}", spec.name),
                        name: format!("f.{}.{l}", spec.name),
                        label: format!(
                            "{} {}",
                            p.t(&format!("field-{}", spec.name)),
                            p.ta("in-language", &[("lang", l.clone())])
                        ),
                        value: who.identity.localized_exact(&spec.name, l).unwrap_or_default().to_owned(),
                        lang: Some(lang_name.to_owned()),
                    });
                }
            }
            FieldType::Text => fields.push(FieldView {
                id: format!("f-{}", spec.name),
                name: format!("f.{}", spec.name),
                label: p.t(&format!("field-{}", spec.name)),
                value: who.identity.text(&spec.name).unwrap_or_default().to_owned(),
                lang: None,
            }),
            _ => {}
        }
        if let Some(proof) = &spec.proof
            && !proofs.contains(proof)
        {
            proofs.push(proof.clone());
        }
    }
    let documents = proofs
        .into_iter()
        .filter_map(|f| {
            let spec = state.schema.field(&f)?;
            Some(DocumentView { label: p.t(&format!("field-{f}")), types: spec.document_types.clone(), field: f })
        })
        .collect();
    UpdatePage { p, proof_hint: p.ta("update-proof-hint", &[("size", size_limit(state, p))]), fields, documents, error }
}

pub async fn update(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let p = visit.page(&state);
    render(&visit, StatusCode::OK, &update_form(&state, &p, &who, None))
}

/// What the "check your answers" step keeps: the request exactly as the API would receive it.
#[derive(serde::Serialize, Deserialize)]
struct Draft {
    identity_json: String,
    documents: Vec<(String, String)>,
}

/// The configured largest document, as the language writes sizes (2 MB, 2 Mo, ٢ ميغابايت).
fn size_limit(state: &AppState, p: &Page) -> String {
    let bytes = i64::try_from(state.update_policy.max_document_bytes).unwrap_or(i64::MAX);
    if bytes % 1_000_000 == 0 {
        p.tc("size-mb", &[], &[("n", bytes / 1_000_000)])
    } else {
        p.tc("size-kb", &[], &[("n", bytes / 1000)])
    }
}

fn too_large(state: &AppState, p: &Page) -> String {
    p.ta("update-too-large", &[("size", size_limit(state, p))])
}

fn update_message(state: &AppState, p: &Page, e: &ResidentError) -> String {
    match e {
        ResidentError::DocumentNotFound => p.t("update-proof-missing"),
        ResidentError::DocumentTooLarge => too_large(state, p),
        ResidentError::UnsupportedFileType => p.t("update-file-type"),
        ResidentError::UpdatePending => p.t("update-pending"),
        ResidentError::UpdateCountExceeded(_) => p.t("update-limit"),
        ResidentError::InvalidInput(f) if f.contains("nothing to change") => p.t("update-nothing"),
        other => p.ta("update-error", &[("detail", other.message())]),
    }
}

pub async fn update_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut multipart: axum::extract::Multipart,
) -> Response {
    use base64::Engine as _;
    use serde_json::{Map, Value, json};
    let visit = Visit::new(&state, &headers, None).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let p = visit.page(&state);
    let mut csrf = None;
    let mut values: Vec<(String, String)> = Vec::new();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut doc_types: Vec<(String, String)> = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return forbidden(&state, &visit),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(doc) = name.strip_prefix("file.") {
            let doc = doc.to_owned();
            match field.bytes().await {
                Ok(b) if !b.is_empty() => files.push((doc, b.to_vec())),
                Ok(_) => {}
                Err(_) => {
                    let e = FieldError { field: "update-continue", message: too_large(&state, &p) };
                    return render(&visit, StatusCode::BAD_REQUEST, &update_form(&state, &p, &who, Some(e)));
                }
            }
        } else {
            let text = field.text().await.unwrap_or_default();
            if name == "csrf" {
                csrf = Some(text);
            } else if let Some(doc) = name.strip_prefix("doctype.") {
                doc_types.push((doc.to_owned(), text));
            } else if let Some(f) = name.strip_prefix("f.") {
                values.push((f.to_owned(), text));
            }
        }
    }
    if !visit.csrf_ok(csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    // the changed fields only, in the identity's shape
    let mut identity = Map::new();
    for (key, value) in &values {
        let value = value.trim();
        match key.split_once('.') {
            Some((field, lang)) => {
                if who.identity.localized_exact(field, lang).unwrap_or_default() == value {
                    continue;
                }
                // a language-tagged field is replaced as a whole: every language the form showed
                let items: Vec<Value> = values
                    .iter()
                    .filter_map(|(k, v)| k.split_once('.').filter(|(f, _)| *f == field).map(|(_, l)| (l, v.trim())))
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(l, v)| json!({"language": l, "value": v}))
                    .collect();
                identity.insert(field.to_owned(), Value::Array(items));
            }
            None => {
                if who.identity.text(key).unwrap_or_default() != value && !value.is_empty() {
                    identity.insert(key.clone(), Value::String(value.to_owned()));
                }
            }
        }
    }
    let mut documents = Vec::new();
    for (field, bytes) in &files {
        let doc_type = doc_types.iter().find(|(f, _)| f == field).map(|(_, t)| t.clone()).unwrap_or_default();
        let format = resident_domain::update::DocumentFormat::sniff(bytes).map(|f| f.extension()).unwrap_or("pdf");
        identity.insert(field.clone(), json!({"value": field, "type": doc_type, "format": format}));
        documents.push((field.clone(), base64::engine::general_purpose::STANDARD.encode(bytes)));
    }
    let draft = Draft {
        identity_json: base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({ "identity": identity }).to_string()),
        documents,
    };
    // the same checks the API makes, before anything is kept
    let checked = resident_domain::update::decode_update(
        &state.schema,
        &state.update_policy,
        &draft.identity_json,
        &draft.documents,
        visit.now,
    )
    .and_then(|d| {
        let counts = std::collections::BTreeMap::new();
        resident_domain::update::plan_update(
            &state.schema,
            &state.update_policy,
            d,
            &who.identity,
            &who.uin,
            &counts,
            visit.now,
        )
    });
    if let Err(e) = checked {
        let err = FieldError { field: "update-continue", message: update_message(&state, &p, &e) };
        return render(&visit, StatusCode::BAD_REQUEST, &update_form(&state, &p, &who, Some(err)));
    }
    let Some(session) = &visit.session else { return to_login(&visit) };
    let bytes = match serde_json::to_vec(&draft) {
        Ok(b) => b,
        Err(e) => return failure(&state, &visit, &ResidentError::Internal(e.to_string())),
    };
    if let Err(e) = state.drafts.save_draft(&session.id_hash, &bytes, visit.now).await {
        return failure(&state, &visit, &e.into());
    }
    visit.finish(Redirect::to("/account/update/check").into_response())
}

pub struct ChangeView {
    label: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "portal/update_check.html")]
struct CheckPage<'a> {
    p: &'a Page,
    changes: Vec<ChangeView>,
}

async fn current_draft(state: &AppState, visit: &Visit) -> Option<Draft> {
    let session = visit.session.as_ref()?;
    let bytes = state.drafts.draft(&session.id_hash).await.ok()??;
    serde_json::from_slice(&bytes).ok()
}

fn shown(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "–".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(items)) => {
            items.iter().filter_map(|i| i.get("value").and_then(|v| v.as_str())).collect::<Vec<_>>().join(" / ")
        }
        Some(other) => other.get("type").and_then(|t| t.as_str()).unwrap_or_default().to_owned(),
    }
}

pub async fn update_check(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    use base64::Engine as _;
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let p = visit.page(&state);
    let Some(draft) = current_draft(&state, &visit).await else {
        let e = FieldError { field: "update-continue", message: p.t("update-no-draft") };
        return render(&visit, StatusCode::OK, &update_form(&state, &p, &who, Some(e)));
    };
    let doc: serde_json::Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&draft.identity_json)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let changes = doc
        .get("identity")
        .and_then(|i| i.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| ChangeView {
                    label: p.t(&format!("field-{k}")),
                    before: if v.is_object() { "–".into() } else { shown(who.identity.0.get(k)) },
                    after: shown(Some(v)),
                })
                .collect()
        })
        .unwrap_or_default();
    render(&visit, StatusCode::OK, &CheckPage { p: &p, changes })
}

#[derive(Template)]
#[template(path = "portal/update_done.html")]
struct DonePage<'a> {
    p: &'a Page,
    rid: String,
    body: String,
    follow: String,
}

pub async fn update_confirm(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let p = visit.page(&state);
    let Some(draft) = current_draft(&state, &visit).await else {
        let e = FieldError { field: "update-continue", message: p.t("update-no-draft") };
        return render(&visit, StatusCode::BAD_REQUEST, &update_form(&state, &p, &who, Some(e)));
    };
    let decoded = resident_domain::update::decode_update(
        &state.schema,
        &state.update_policy,
        &draft.identity_json,
        &draft.documents,
        visit.now,
    );
    let svc = state.update_services();
    let done = match decoded {
        Ok(d) => {
            resident_domain::update::request_update(&ctx(&state, &visit), &svc, &who, &id, &transaction_id(), d).await
        }
        Err(e) => Err(e),
    };
    if let Some(s) = &visit.session {
        let _ = state.drafts.drop_draft(&s.id_hash).await;
    }
    match done {
        Ok(done) => {
            let rid = done.value.as_str().to_owned();
            let t = DonePage {
                body: p.ta("update-done-body", &[("rid", rid.clone())]),
                follow: p.ta("history-follow", &[("rid", rid.clone())]),
                rid,
                p: &p,
            };
            render(&visit, StatusCode::OK, &t)
        }
        Err(e @ (ResidentError::Internal(_) | ResidentError::Unavailable(_) | ResidentError::PacketCreation(_))) => {
            failure(&state, &visit, &e)
        }
        Err(e) => {
            let err = FieldError { field: "update-continue", message: update_message(&state, &p, &e) };
            render(&visit, StatusCode::BAD_REQUEST, &update_form(&state, &p, &who, Some(err)))
        }
    }
}

// --- authentication history --------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct AuthQuery {
    lang: Option<String>,
    from: Option<String>,
    to: Option<String>,
    kind: Option<String>,
    result: Option<String>,
    page: Option<String>,
}

pub struct AuthFilter {
    from: String,
    to: String,
    kind: String,
    result: String,
}

pub struct AuthRow {
    when: String,
    method: String,
    partner: String,
    result: String,
    ok: bool,
}

#[derive(Template)]
#[template(path = "portal/auth_history.html")]
struct AuthHistoryPage<'a> {
    p: &'a Page,
    filter: AuthFilter,
    kinds: Vec<(&'static str, String)>,
    results: Vec<(&'static str, String)>,
    rows: Vec<AuthRow>,
    previous: Option<u32>,
    next: Option<u32>,
    query: String,
    error: Option<FieldError>,
}

const AUTH_PAGE: usize = 20;
/// The most a resident's history page reads (the newest).
const AUTH_READ: u32 = 2_000;

fn day(value: &str) -> Result<Option<time::Date>, ()> {
    let v = &super::typed_digits(value);
    if v.is_empty() {
        return Ok(None);
    }
    let parts: Vec<&str> = v.split('-').collect();
    let [y, m, d] = parts.as_slice() else { return Err(()) };
    let (y, m, d) =
        (y.parse::<i32>().map_err(|_| ())?, m.parse::<u8>().map_err(|_| ())?, d.parse::<u8>().map_err(|_| ())?);
    time::Date::from_calendar_date(y, time::Month::try_from(m).map_err(|_| ())?, d).map(Some).map_err(|_| ())
}

fn method_key(code: &str) -> &'static str {
    if code.contains("OTP") {
        "OTP"
    } else if code.contains("DEMO") {
        "DEMO"
    } else {
        "BIO"
    }
}

/// The resident's authentications that pass the filter, newest first; `Err` for a malformed date.
async fn filtered(
    state: &AppState,
    who: &Resolved,
    q: &AuthQuery,
) -> Result<Result<Vec<resident_domain::ports::AuthTransaction>, ()>, ResidentError> {
    let (Ok(from), Ok(to)) = (day(q.from.as_deref().unwrap_or("")), day(q.to.as_deref().unwrap_or(""))) else {
        return Ok(Err(()));
    };
    let all = state.auth.auth_transactions(&who.token, 1, AUTH_READ).await?;
    let kind = q.kind.as_deref().unwrap_or("");
    let result = q.result.as_deref().unwrap_or("");
    Ok(Ok(all
        .into_iter()
        .filter(|t| {
            let day = super::local_day(&state.templates.time_zone, t.at);
            from.is_none_or(|f| day.is_some_and(|d| d >= f)) && to.is_none_or(|l| day.is_some_and(|d| d <= l))
        })
        .filter(|t| kind.is_empty() || method_key(&t.auth_type_code) == kind)
        .filter(|t| result.is_empty() || t.status_code == result)
        .collect()))
}

fn filter_query(q: &AuthQuery) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    };
    format!(
        "from={}&to={}&kind={}&result={}",
        enc(q.from.as_deref().unwrap_or("")),
        enc(q.to.as_deref().unwrap_or("")),
        enc(q.kind.as_deref().unwrap_or("")),
        enc(q.result.as_deref().unwrap_or(""))
    )
}

pub async fn auth_history(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<AuthQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let p = visit.page(&state);
    let (list, error) = match filtered(&state, &who, &q).await {
        Ok(Ok(list)) => (list, None),
        Ok(Err(())) => (Vec::new(), Some(FieldError { field: "from", message: p.t("ah-bad-date") })),
        Err(e) => return failure(&state, &visit, &e),
    };
    let page = page_number(q.page.as_deref(), AUTH_READ / AUTH_PAGE as u32) as usize;
    let rows = list
        .iter()
        .skip(page * AUTH_PAGE)
        .take(AUTH_PAGE)
        .map(|t| AuthRow {
            when: p.date(t.at, true),
            method: p.t(&format!("ah-type-{}", method_key(&t.auth_type_code))),
            partner: t.entity_name.clone(),
            result: p.t(if t.status_code == "Y" { "ah-result-Y" } else { "ah-result-N" }),
            ok: t.status_code == "Y",
        })
        .collect();
    let filter = AuthFilter {
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        kind: q.kind.clone().unwrap_or_default(),
        result: q.result.clone().unwrap_or_default(),
    };
    let kinds = vec![
        ("", p.t("ah-type-all")),
        ("OTP", p.t("ah-type-OTP")),
        ("DEMO", p.t("ah-type-DEMO")),
        ("BIO", p.t("ah-type-BIO")),
    ];
    let results = vec![("", p.t("ah-result-all")), ("Y", p.t("ah-result-Y")), ("N", p.t("ah-result-N"))];
    let code = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let t = AuthHistoryPage {
        p: &p,
        filter,
        kinds,
        results,
        rows,
        previous: (page > 0).then(|| page as u32 - 1),
        next: (list.len() > (page + 1) * AUTH_PAGE).then_some(page as u32 + 1),
        query: filter_query(&q),
        error,
    };
    render(&visit, code, &t)
}

/// A spreadsheet cell: quoted, and never read as a formula.
pub(crate) fn csv_cell(value: &str) -> String {
    let v = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// The logged-in resident's authentications for a download, filtered as the page was.
async fn export(
    state: &AppState,
    headers: &HeaderMap,
    q: &AuthQuery,
) -> Result<(Visit, Vec<resident_domain::ports::AuthTransaction>), Response> {
    let visit = Visit::new(state, headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(state, &visit).await else { return Err(to_login(&visit)) };
    match filtered(state, &who, q).await {
        Ok(Ok(list)) => Ok((visit, list)),
        Ok(Err(())) => Err(forbidden(state, &visit)),
        Err(e) => Err(failure(state, &visit, &e)),
    }
}

pub async fn auth_history_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AuthQuery>,
) -> Response {
    let (visit, list) = match export(&state, &headers, &q).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let mut out = String::from("time,method,used_by,transaction,result,response_code\r\n");
    for t in &list {
        let line = [
            resident_domain::clock::mosip_datetime(t.at),
            t.auth_type_code.clone(),
            t.entity_name.clone(),
            t.transaction_id.clone(),
            t.status_code.clone(),
            t.response_code.clone(),
        ]
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    let record =
        AuditEvent::AuthHistoryExported.record(&visit.audit, visit.now, None, format!("{} rows as CSV", list.len()));
    if let Err(e) = state.audit.append(record).await {
        return failure(&state, &visit, &e.into());
    }
    let mut res = out.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"authentication-history.csv\""),
    );
    visit.finish(res)
}

// --- sharing a credential with a partner ------------------------------------------------------

pub struct ShareOption {
    value: String,
    label: String,
    attributes: String,
}

#[derive(Template)]
#[template(path = "portal/share.html")]
struct SharePage<'a> {
    p: &'a Page,
    options: Vec<ShareOption>,
    attributes: Vec<(String, String)>,
    notice: Option<String>,
    error: Option<FieldError>,
}

fn attribute_label(p: &Page, a: &str) -> String {
    match a {
        "UIN" | "photo" => p.t(&format!("attr-{a}")),
        other => p.t(&format!("field-{other}")),
    }
}

async fn share_page(state: &AppState, visit: &Visit, notice: Option<String>, error: Option<FieldError>) -> Response {
    let p = visit.page(state);
    let (policies, partners) = match (state.credentials.policies().await, state.auth.partners().await) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return failure(state, visit, &e.into()),
    };
    let mut attributes: Vec<(String, String)> = Vec::new();
    let options = policies
        .iter()
        .filter_map(|po| {
            let partner = partners.iter().find(|pa| pa.id == po.partner_id && pa.status == "ACTIVE")?;
            let type_name = resident_domain::credential::CREDENTIAL_TYPES
                .iter()
                .find(|(id, ..)| *id == po.credential_type)
                .map(|(_, name, _)| *name)
                .unwrap_or(&po.credential_type);
            for a in &po.attributes {
                if !attributes.iter().any(|(c, _)| c == a) {
                    attributes.push((a.clone(), attribute_label(&p, a)));
                }
            }
            Some(ShareOption {
                value: format!("{}|{}", po.partner_id, po.credential_type),
                label: format!("{} — {type_name}", partner.name),
                attributes: po.attributes.iter().map(|a| attribute_label(&p, a)).collect::<Vec<_>>().join(", "),
            })
        })
        .collect();
    let code = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    render(visit, code, &SharePage { p: &p, options, attributes, notice, error })
}

pub async fn share(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    if resident(&state, &visit).await.is_none() {
        return to_login(&visit);
    }
    share_page(&state, &visit, None, None).await
}

pub async fn share_send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let field = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let (visit, who, id) = match acting(&state, &headers, field("csrf")).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let p = visit.page(&state);
    let Some((partner, credential_type)) = field("choice").and_then(|c| c.split_once('|')) else {
        return share_page(
            &state,
            &visit,
            None,
            Some(FieldError { field: "choice", message: p.t("share-choose-missing") }),
        )
        .await;
    };
    if field("consent") != Some("yes") {
        return share_page(
            &state,
            &visit,
            None,
            Some(FieldError { field: "consent", message: p.t("share-consent-missing") }),
        )
        .await;
    }
    let policy = match state.credentials.policy(partner, credential_type).await {
        Ok(Some(po)) => po,
        Ok(None) => {
            return share_page(
                &state,
                &visit,
                None,
                Some(FieldError { field: "choice", message: p.t("share-choose-missing") }),
            )
            .await;
        }
        Err(e) => return failure(&state, &visit, &e.into()),
    };
    // what the resident ticked, within what the partner may receive
    let chosen: Vec<String> =
        pairs.iter().filter(|(k, v)| k == "attr" && policy.attributes.contains(v)).map(|(_, v)| v.clone()).collect();
    if chosen.is_empty() {
        return share_page(
            &state,
            &visit,
            None,
            Some(FieldError { field: "attributes", message: p.t("share-choose-missing") }),
        )
        .await;
    }
    let ask = resident_domain::credential::CredentialAsk {
        credential_type: credential_type.to_owned(),
        issuer: partner.to_owned(),
        encrypt: resident_domain::credential::is_card_type(credential_type),
        encryption_key: None,
        sharable_attributes: chosen,
    };
    match resident_domain::credential::request_credential(
        &ctx(&state, &visit),
        state.credentials.as_ref(),
        &who,
        &id,
        &transaction_id(),
        ask,
    )
    .await
    {
        Ok(done) => {
            let notice = p.ta("share-done", &[("id", done.value)]);
            share_page(&state, &visit, Some(notice), None).await
        }
        Err(e) => failure(&state, &visit, &e),
    }
}

// --- in-portal notifications -----------------------------------------------------------------

pub struct NotificationRow {
    what: String,
    status: String,
    colour: &'static str,
    when: String,
    event_id: String,
    new: bool,
}

#[derive(Template)]
#[template(path = "portal/notifications.html")]
struct NotificationsPage<'a> {
    p: &'a Page,
    rows: Vec<NotificationRow>,
    /// Whether any is unseen (the "mark as seen" button).
    unread: bool,
}

pub async fn notifications(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some(session) = visit.session.clone() else { return to_login(&visit) };
    // a GET only reads: the resident marks them as seen with the form (a POST)
    let events = match state.history.notifications(&session.token, &super::NOTIFIED_TYPES, 50).await {
        Ok(e) => e,
        Err(e) => return failure(&state, &visit, &e.into()),
    };
    let p = visit.page(&state);
    let rows = events
        .iter()
        .map(|e| {
            let ui = resident_domain::history::event_status(&e.status_code);
            NotificationRow {
                what: p.t(&format!("rt-{}", e.request_type.code())),
                status: p.t(&format!("ui-status-{}", ui.replace(' ', "-"))),
                colour: match ui {
                    "Success" => "green",
                    "Failed" => "red",
                    _ => "blue",
                },
                when: p.date(e.updated_at, true),
                event_id: e.event_id.to_string(),
                new: !e.read,
            }
        })
        .collect();
    let unread = visit.unread > 0;
    render(&visit, StatusCode::OK, &NotificationsPage { p: &p, rows, unread })
}

/// "Mark as seen": the bell goes back to no count until something moves again.
pub async fn notifications_seen(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let (visit, who, _) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    if let Err(e) = state.history.mark_notifications_read(&who.token, &super::NOTIFIED_TYPES).await {
        return failure(&state, &visit, &e.into());
    }
    visit.finish(Redirect::to("/account/notifications").into_response())
}

// --- grievances --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal/grievance.html")]
struct GrievancePage<'a> {
    p: &'a Page,
    event_id: String,
    message: String,
    notice: Option<String>,
    error: Option<FieldError>,
}

#[derive(Deserialize, Default)]
pub struct GrievanceQuery {
    lang: Option<String>,
    event: Option<String>,
}

/// The event, if it is one of this resident's.
async fn own_event(state: &AppState, who: &Resolved, value: Option<&str>) -> Option<resident_domain::history::EventId> {
    let id = resident_domain::history::EventId::parse(value?.trim())?;
    let event = state.history.event(&id).await.ok()??;
    (event.token == who.token).then_some(id)
}

pub async fn grievance(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<GrievanceQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let Some(event) = own_event(&state, &who, q.event.as_deref()).await else { return forbidden(&state, &visit) };
    let p = visit.page(&state);
    render(
        &visit,
        StatusCode::OK,
        &GrievancePage { p: &p, event_id: event.to_string(), message: String::new(), notice: None, error: None },
    )
}

#[derive(Deserialize)]
pub struct GrievanceForm {
    csrf: Option<String>,
    event: Option<String>,
    message: Option<String>,
}

pub async fn grievance_send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<GrievanceForm>,
) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let Some(event) = own_event(&state, &who, form.event.as_deref()).await else { return forbidden(&state, &visit) };
    let p = visit.page(&state);
    let message = form.message.unwrap_or_default().trim().to_owned();
    let length = message.chars().count();
    if length == 0 || length > 1024 || message.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        let e = FieldError { field: "message", message: p.t("grievance-empty") };
        let t = GrievancePage { p: &p, event_id: event.to_string(), message, notice: None, error: Some(e) };
        return render(&visit, StatusCode::BAD_REQUEST, &t);
    }
    let ticket = resident_domain::print::tracking_id(&mut resident_domain::clock::rng()).replacen("PRN", "GRV", 1);
    let vars = std::collections::BTreeMap::from([
        ("ticketId", ticket.clone()),
        ("eventId", event.to_string()),
        ("date", p.date(visit.now, false)),
        ("time", format!("{:02}:{:02}", visit.now.hour(), visit.now.minute())),
    ]);
    let effects = resident_domain::ports::Effects {
        audit: vec![AuditEvent::GrievanceRaised.record(
            &visit.audit,
            visit.now,
            Some((id.masked(), id.id_type())),
            format!("ticket {ticket} about event {event}"),
        )],
        notifications: state.templates.messages("RS_GRIEVANCE", &who.identity, &vars),
        ..resident_domain::ports::Effects::default()
    };
    let g = resident_domain::ports::Grievance {
        ticket_id: ticket.clone(),
        token: who.token.clone(),
        event_id: event.clone(),
        message,
        created_at: visit.now,
    };
    if let Err(e) = state.grievances.raise_grievance(&g, &effects, visit.now).await {
        return failure(&state, &visit, &e.into());
    }
    let t = GrievancePage {
        notice: Some(p.ta("grievance-done", &[("ticket", ticket)])),
        p: &p,
        event_id: event.to_string(),
        message: String::new(),
        error: None,
    };
    render(&visit, StatusCode::OK, &t)
}

// --- printable documents -----------------------------------------------------------------------

fn pdf_response(visit: &Visit, pdf: Vec<u8>, name: &str) -> Response {
    let mut res = pdf.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    visit.finish(res)
}

pub async fn auth_history_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AuthQuery>,
) -> Response {
    let (visit, list) = match export(&state, &headers, &q).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let p = visit.page(&state);
    let doc = resident_domain::card::PlainDocument {
        title: p.t("ah-pdf-title"),
        language: p.lang.mosip().into(),
        lines: vec![],
        headers: vec![p.t("ah-when"), p.t("ah-method"), p.t("ah-partner"), p.t("ah-result")],
        rows: list
            .iter()
            .map(|t| {
                vec![
                    p.date(t.at, true),
                    p.t(&format!("ah-type-{}", method_key(&t.auth_type_code))),
                    t.entity_name.clone(),
                    p.t(if t.status_code == "Y" { "ah-result-Y" } else { "ah-result-N" }),
                ]
            })
            .collect(),
        footer: format!("{} · {}", p.t("ah-pdf-footer"), p.date(visit.now, true)),
    };
    let record =
        AuditEvent::AuthHistoryExported.record(&visit.audit, visit.now, None, format!("{} rows as PDF", list.len()));
    if let Err(e) = state.audit.append(record).await {
        return failure(&state, &visit, &e.into());
    }
    match state.cards.document(&doc) {
        Ok(pdf) => pdf_response(&visit, pdf, "authentication-history.pdf"),
        Err(e) => failure(&state, &visit, &ResidentError::Internal(e)),
    }
}

pub async fn update_acknowledgement(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RidQuery>,
) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let Some(rid) = q.rid.as_deref().and_then(|r| resident_domain::ids::Rid::parse(r.trim()).ok()) else {
        return forbidden(&state, &visit);
    };
    let record = match state.updates.find_update(&rid).await {
        Ok(Some(r)) if r.token == who.token => r,
        Ok(_) => return forbidden(&state, &visit),
        Err(e) => return failure(&state, &visit, &e.into()),
    };
    let p = visit.page(&state);
    let status =
        match state.registrations.find_registration(&rid).await {
            Ok(Some(reg)) => {
                let shown = resident_domain::registration::resident_status(
                    resident_domain::registration::external_status(&reg, visit.now, &state.status_policy),
                );
                let key = match shown {
                    "UNDER PROCESSING" => "status-UNDER_PROCESSING".to_owned(),
                    "WAITING FOR ADDITIONAL INFORMATION FROM APPLICANT" => "status-WAITING".to_owned(),
                    other => format!("status-{other}"),
                };
                p.t(&key)
            }
            _ => String::new(),
        };
    let doc = resident_domain::card::PlainDocument {
        title: p.t("ack-title"),
        language: p.lang.mosip().into(),
        lines: vec![
            (p.t("ack-rid"), rid.as_str().to_owned()),
            (p.t("history-event"), record.event_id.to_string()),
            (p.t("ack-date"), p.date(record.created_at, true)),
            (
                p.t("ack-fields"),
                record.fields.iter().map(|f| p.t(&format!("field-{f}"))).collect::<Vec<_>>().join(", "),
            ),
            (p.t("ack-status"), status),
        ],
        headers: vec![],
        rows: vec![],
        footer: p.t("ack-footer"),
    };
    match state.cards.document(&doc) {
        Ok(pdf) => pdf_response(&visit, pdf, &format!("acknowledgement-{}.pdf", rid.as_str())),
        Err(e) => failure(&state, &visit, &ResidentError::Internal(e)),
    }
}
