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
use time::OffsetDateTime;

use super::{Page, SESSION_COOKIE, Visit, random_token, sha256_hex};
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

fn to_login(visit: &Visit) -> Response {
    visit.finish(Redirect::to("/login").into_response())
}

/// A date as the resident's language writes it.
fn date(p: &Page, at: OffsetDateTime, with_time: bool) -> String {
    let month = p.t(&format!("month-{}", at.month() as u8));
    let day = format!("{} {month} {}", at.day(), at.year());
    if with_time { format!("{day}, {:02}:{:02}", at.hour(), at.minute()) } else { day }
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

#[derive(Deserialize, Default)]
pub struct StatusQuery {
    lang: Option<String>,
    rid: Option<String>,
}

pub async fn status(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<StatusQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let p = visit.page(&state);
    let rid: String = q.rid.unwrap_or_default().chars().filter(|c| !c.is_whitespace()).take(40).collect();
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
                        views.push(StageView { when: date(&p, s.at, true), what });
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
    let typed: String =
        form.individual_id.unwrap_or_default().chars().filter(|c| !c.is_whitespace()).take(32).collect();
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
                sent: p.ta("otp-sent", &[("contact", contact)]),
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
    let otp: String = form.otp.unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
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
                    &[("until", date(&p, resident_domain::clock::from_epoch_ms(until), true))],
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
    let visit = Visit::new(&state, &headers, None).await;
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    let Some((who, id)) = resident(&state, &visit).await else { return to_login(&visit) };
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
            expires: v.expires_at.map(|e| date(&p, e, true)).unwrap_or_else(|| p.t("vids-never")),
            uses: v.transactions_left.map(|n| n.to_string()).unwrap_or_else(|| p.t("vids-unlimited")),
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
    let visit = Visit::new(&state, &headers, None).await;
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    let Some((who, id)) = resident(&state, &visit).await else { return to_login(&visit) };
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
    let visit = Visit::new(&state, &headers, None).await;
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    let Some((who, id)) = resident(&state, &visit).await else { return to_login(&visit) };
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
    let visit = Visit::new(&state, &headers, None).await;
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    let Some((who, id)) = resident(&state, &visit).await else { return to_login(&visit) };
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
