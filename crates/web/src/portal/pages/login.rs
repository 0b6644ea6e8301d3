//! Logging in with an OTP sent to the resident's email or phone, and logging out.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use resident_domain::ResidentError;
use resident_domain::audit::AuditEvent;
use resident_domain::auth_usecases as uc;
use resident_domain::ids::IndividualId;
use resident_domain::otp::OtpChannel;
use resident_domain::ports::PortalSession;
use serde::Deserialize;

use super::{CsrfForm, FieldError, LangQuery, ctx, failure, forbidden, render, to_login, transaction_id};
use crate::AppState;
use crate::portal::{Page, SESSION_COOKIE, Visit, random_token, sha256_hex};

#[derive(Template)]
#[template(path = "portal/login.html")]
struct LoginPage<'a> {
    p: &'a Page,
    individual_id: String,
    error: Option<FieldError>,
}

pub(crate) async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    if visit.session.is_some() {
        return visit.finish(Redirect::to("/account").into_response());
    }
    let p = visit.page(&state);
    render(&visit, StatusCode::OK, &LoginPage { p: &p, individual_id: String::new(), error: None })
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
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

pub(crate) async fn login_send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let visit = Visit::new(&state, &headers, None).await;
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    let p = visit.page(&state);
    let typed: String = crate::portal::typed_digits(&form.individual_id.unwrap_or_default()).chars().take(32).collect();
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
pub(crate) struct OtpForm {
    csrf: Option<String>,
    individual_id: Option<String>,
    transaction_id: Option<String>,
    otp: Option<String>,
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
    let typed = form.individual_id.unwrap_or_default();
    let trn = form.transaction_id.unwrap_or_default();
    let Some(id) = IndividualId::parse(&typed) else { return to_login(&visit) };
    let otp = crate::portal::typed_digits(&form.otp.unwrap_or_default());
    match uc::authorise_with_otp(&ctx(&state, &visit), &id, &trn, &otp).await {
        Ok(who) => {
            // a new session id at every login: an id planted before login is worth nothing after it
            if let Some(old) = crate::portal::cookie(&headers, SESSION_COOKIE) {
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

pub(crate) async fn logout(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let mut visit = Visit::new(&state, &headers, None).await;
    if !visit.csrf_ok(form.csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    if let Some(s) = &visit.session {
        let record = AuditEvent::PortalLogout.record(&visit.audit, visit.now, None, "logged out");
        let _ = state.sessions.end_session(&s.id_hash, Some(&record)).await;
    }
    let secure = if state.portal.secure_cookie { "; Secure" } else { "" };
    visit.set_cookies.push(crate::portal::clear_cookie(SESSION_COOKIE, secure));
    visit.finish(Redirect::to("/").into_response())
}
