//! The portal's pages. Each handler reads the visit (language, session, CSRF), calls one use case and
//! renders one template; state changes are POSTs with the form's CSRF token checked first.
//!
//! One module per journey; this one holds what they share: the error pages, the helpers every handler
//! calls, and the queries and forms more than one journey reads.

mod account;
mod auth_history;
mod data_access;
mod grievance;
mod history;
mod login;
mod notifications;
mod print;
mod public;
mod share;
mod update;

pub(super) use account::{
    account, card, card_download, locks, locks_change, revoke, revoke_confirm, vids, vids_generate,
};
#[cfg(test)]
pub(super) use auth_history::csv_cell;
pub(super) use auth_history::{auth_history, auth_history_csv, auth_history_pdf};
pub(super) use data_access::{data_access, data_access_csv, data_access_notice, data_access_pdf};
pub(super) use grievance::{grievance, grievance_send};
pub(super) use history::history;
pub(super) use login::{login_form, login_send, login_verify, logout};
pub(super) use notifications::{notifications, notifications_seen};
pub(super) use print::{print, print_order};
pub(super) use public::{home, status};
pub(super) use share::{share, share_send};
pub(super) use update::{update, update_acknowledgement, update_check, update_confirm, update_submit};

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use resident_domain::ResidentError;
use resident_domain::auth_usecases::AuthContext;
use resident_domain::ids::IndividualId;
use resident_domain::ports::Resolved;
use serde::Deserialize;

use super::{Page, Visit};
use crate::AppState;

struct FieldError {
    field: &'static str,
    message: String,
}

#[derive(Deserialize, Default)]
pub(super) struct LangQuery {
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

/// A page about one RID: the public status page, the acknowledgement of an update.
#[derive(Deserialize, Default)]
pub(super) struct RidQuery {
    lang: Option<String>,
    rid: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    csrf: Option<String>,
}

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

#[derive(Deserialize)]
pub(super) struct CardForm {
    csrf: Option<String>,
    card_type: Option<String>,
}

/// A spreadsheet download: the header line, then one line per row, each cell through `csv_cell`.
fn csv_response(visit: &Visit, header_line: &str, rows: Vec<Vec<String>>, name: &str) -> Response {
    let mut out = format!("{header_line}\r\n");
    for row in rows {
        out.push_str(&row.iter().map(|c| auth_history::csv_cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    let mut res = out.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    visit.finish(res)
}

/// A filter's value as it goes back into a link's query.
fn query_value(value: Option<&str>) -> String {
    crate::portal::url_encode(value.unwrap_or(""))
}

fn pdf_response(visit: &Visit, pdf: Vec<u8>, name: &str) -> Response {
    let mut res = pdf.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    visit.finish(res)
}
