//! Logging in with an OTP sent to the resident's email or phone, and logging out.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use resident_domain::ResidentError;
use resident_domain::auth_usecases as uc;
use resident_domain::ids::IndividualId;
use resident_domain::otp::OtpChannel;
use resident_domain::session::session_hash;
use serde::Deserialize;

use super::{CsrfForm, FieldError, ctx, failure, forbidden, render, to_login, transaction_id};
use crate::AppState;
use crate::portal::{Page, SESSION_COOKIE, Visit};
use crate::ui::login::Resume;

#[derive(Template)]
#[template(path = "portal/login.html")]
struct LoginPage<'a> {
    p: &'a Page,
    individual_id: String,
    error: Option<FieldError>,
    /// A login MOSIP's portal app asked for, carried to the end.
    resume: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct LoginQuery {
    lang: Option<String>,
    resume: Option<String>,
}

pub(crate) async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let mut visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let resume = q.resume.as_deref().and_then(|r| Resume::parse(&state, &headers, r));
    visit.form_target = resume.as_ref().map(|r| r.origin().to_owned());
    if visit.session.is_some() && resume.is_none() {
        return visit.finish(Redirect::to("/account").into_response());
    }
    let p = visit.page(&state);
    let resume = resume.map(|r| r.to_string());
    render(&visit, StatusCode::OK, &LoginPage { p: &p, individual_id: String::new(), error: None, resume })
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    csrf: Option<String>,
    individual_id: Option<String>,
    channel: Option<String>,
    resume: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/otp.html")]
struct OtpPage<'a> {
    p: &'a Page,
    sent: String,
    individual_id: String,
    transaction_id: String,
    error: Option<FieldError>,
    resume: Option<String>,
}

pub(crate) async fn login_send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let mut visit = Visit::new(&state, &headers, None).await;
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    let resumed = form.resume.as_deref().and_then(|r| Resume::parse(&state, &headers, r));
    visit.form_target = resumed.as_ref().map(|r| r.origin().to_owned());
    let p = visit.page(&state);
    let resume = resumed.map(|r| r.to_string());
    let typed: String = crate::portal::typed_digits(&form.individual_id.unwrap_or_default()).chars().take(32).collect();
    let again = |message: String, field: &'static str| LoginPage {
        p: &p,
        individual_id: typed.clone(),
        error: Some(FieldError { field, message }),
        resume: resume.clone(),
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
                resume: resume.clone(),
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
pub(crate) struct OtpForm {
    csrf: Option<String>,
    individual_id: Option<String>,
    transaction_id: Option<String>,
    otp: Option<String>,
    resume: Option<String>,
}

pub(crate) async fn login_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<OtpForm>,
) -> Response {
    let mut visit = Visit::new(&state, &headers, None).await;
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    let continuation = form.resume.as_deref().and_then(|r| Resume::parse(&state, &headers, r));
    visit.form_target = continuation.as_ref().map(|r| r.origin().to_owned());
    let typed = form.individual_id.unwrap_or_default();
    let trn = form.transaction_id.unwrap_or_default();
    let Some(id) = IndividualId::parse(&typed) else { return to_login(&visit) };
    let otp = crate::portal::typed_digits(&form.otp.unwrap_or_default());
    match uc::authorise_with_otp(&ctx(&state, &visit), &id, &trn, &otp).await {
        Ok(who) => {
            let sessions = state.session_cases(&visit.audit, visit.now);
            // a new session id at every login: an id planted before login is worth nothing after it
            if let Some(old) = crate::portal::cookie(&headers, SESSION_COOKIE) {
                let _ = state.sessions.end_session(&session_hash(old), None).await;
            }
            let started = match sessions.start(&who, &id, "logged in with an OTP").await {
                Ok(s) => s,
                Err(e) => return failure(&state, &visit, &e),
            };
            // MOSIP's portal app asked for this login: its login code, not a portal session
            if let Some(target) = continuation {
                return visit.finish(crate::ui::login::after_portal_login(&state, &target, &started).into_response());
            }
            let secure = if state.portal.secure_cookie { "; Secure" } else { "" };
            // the new session's cookie replaces any clearing of an old one this visit queued
            visit.set_cookies.retain(|c| !c.starts_with(&format!("{SESSION_COOKIE}=")));
            visit
                .set_cookies
                .push(format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax{secure}", started.secret));
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
                resume: continuation.map(|r| r.to_string()),
            };
            render(&visit, StatusCode::BAD_REQUEST, &t)
        }
        Err(e) => failure(&state, &visit, &e),
    }
}

pub(crate) async fn logout(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let mut visit = Visit::new(&state, &headers, None).await;
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    if visit.session.is_some()
        && let Some(raw) = crate::portal::cookie(&headers, SESSION_COOKIE)
    {
        let _ = state.session_cases(&visit.audit, visit.now).end(raw).await;
    }
    let secure = if state.portal.secure_cookie { "; Secure" } else { "" };
    visit.set_cookies.push(crate::portal::clear_cookie(SESSION_COOKIE, secure));
    visit.finish(Redirect::to("/").into_response())
}
