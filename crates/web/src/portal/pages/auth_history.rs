//! The authentication history: the filtered list, and its CSV and PDF downloads.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use resident_domain::ResidentError;
use resident_domain::audit::AuditEvent;
use resident_domain::ports::Resolved;
use serde::Deserialize;

use super::{
    FieldError, csv_response, failure, forbidden, page_number, pdf_response, query_value, render, resident, to_login,
};
use crate::AppState;
use crate::portal::{Page, Visit};

#[derive(Deserialize, Default)]
pub(crate) struct AuthQuery {
    lang: Option<String>,
    from: Option<String>,
    to: Option<String>,
    kind: Option<String>,
    result: Option<String>,
    page: Option<String>,
}

struct AuthFilter {
    from: String,
    to: String,
    kind: String,
    result: String,
}

struct AuthRow {
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

pub(super) fn day(value: &str) -> Result<Option<time::Date>, ()> {
    let v = &crate::portal::typed_digits(value);
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
    visit: &Visit,
    who: &Resolved,
    q: &AuthQuery,
) -> Result<Result<Vec<resident_domain::ports::AuthTransaction>, ()>, ResidentError> {
    let (Ok(from), Ok(to)) = (day(q.from.as_deref().unwrap_or("")), day(q.to.as_deref().unwrap_or(""))) else {
        return Ok(Err(()));
    };
    // from ID Authentication (the embedded IDA, or MOSIP's), as the API's authentication history
    let call = resident_domain::ida::IdaCall { audit: &visit.audit, now: visit.now };
    let id = resident_domain::ids::IndividualId::Uin(who.uin.clone());
    let all = state.ida.auth_transactions(&call, who, &id, 1, AUTH_READ).await?;
    let kind = q.kind.as_deref().unwrap_or("");
    let result = q.result.as_deref().unwrap_or("");
    Ok(Ok(all
        .into_iter()
        .filter(|t| {
            let day = crate::portal::local_day(&state.templates.time_zone, t.at);
            from.is_none_or(|f| day.is_some_and(|d| d >= f)) && to.is_none_or(|l| day.is_some_and(|d| d <= l))
        })
        .filter(|t| kind.is_empty() || method_key(&t.auth_type_code) == kind)
        .filter(|t| result.is_empty() || t.status_code == result)
        .collect()))
}

fn filter_query(q: &AuthQuery) -> String {
    format!(
        "from={}&to={}&kind={}&result={}",
        query_value(q.from.as_deref()),
        query_value(q.to.as_deref()),
        query_value(q.kind.as_deref()),
        query_value(q.result.as_deref())
    )
}

pub(crate) async fn auth_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AuthQuery>,
) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let p = visit.page(&state);
    let (list, error) = match filtered(&state, &visit, &who, &q).await {
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
    match filtered(state, &visit, &who, q).await {
        Ok(Ok(list)) => Ok((visit, list)),
        Ok(Err(())) => Err(forbidden(state, &visit)),
        Err(e) => Err(failure(state, &visit, &e)),
    }
}

pub(crate) async fn auth_history_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AuthQuery>,
) -> Response {
    let (visit, list) = match export(&state, &headers, &q).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let rows = list
        .iter()
        .map(|t| {
            vec![
                resident_domain::clock::mosip_datetime(t.at),
                t.auth_type_code.clone(),
                t.entity_name.clone(),
                t.transaction_id.clone(),
                t.status_code.clone(),
                t.response_code.clone(),
            ]
        })
        .collect();
    let record =
        AuditEvent::AuthHistoryExported.record(&visit.audit, visit.now, None, format!("{} rows as CSV", list.len()));
    if let Err(e) = state.audit.append(record).await {
        return failure(&state, &visit, &e.into());
    }
    csv_response(&visit, "time,method,used_by,transaction,result,response_code", rows, "authentication-history.csv")
}

pub(crate) async fn auth_history_pdf(
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
