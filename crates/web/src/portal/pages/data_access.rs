//! Who used my data: the accesses to the resident's personal data by officers and partners, filtered
//! by who and when, with CSV and PDF downloads, a grievance link per entry, and the choice to be told
//! of every officer's read.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use resident_domain::ResidentError;
use resident_domain::access::{AccessFilter, AccessorKind, DataAccess};
use resident_domain::audit::AuditEvent;
use resident_domain::ports::Resolved;
use serde::Deserialize;

use super::auth_history::day;
use super::share::attribute_label;
use super::{
    FieldError, acting, csv_response, failure, forbidden, page_number, pdf_response, query_value, render, resident,
    to_login,
};
use crate::AppState;
use crate::portal::{Page, Visit};

#[derive(Deserialize, Default)]
pub(crate) struct AccessQueryForm {
    lang: Option<String>,
    who: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
}

struct AccessRow {
    id: String,
    when: String,
    who: String,
    who_kind: String,
    what: String,
    why: String,
    via: String,
    new: bool,
}

#[derive(Template)]
#[template(path = "portal/data_access.html")]
struct DataAccessPage<'a> {
    p: &'a Page,
    who: String,
    from: String,
    to: String,
    kinds: Vec<(&'static str, String)>,
    rows: Vec<AccessRow>,
    previous: Option<u32>,
    next: Option<u32>,
    query: String,
    tell: bool,
    notice: Option<String>,
    error: Option<FieldError>,
}

const PAGE_SIZE: u32 = 20;
/// The most a download holds (the newest).
const EXPORT_MAX: u32 = 5_000;

/// The filter as the domain takes it; `Err` for a malformed date or an unknown kind.
fn filter(state: &AppState, q: &AccessQueryForm) -> Result<AccessFilter, ()> {
    let tz = &state.templates.time_zone;
    let kind = match q.who.as_deref().unwrap_or("") {
        "" => None,
        k => Some(AccessorKind::parse(k).ok_or(())?),
    };
    let since = match day(q.from.as_deref().unwrap_or(""))? {
        Some(d) => Some(crate::portal::day_start(tz, d).ok_or(())?),
        None => None,
    };
    let until = match day(q.to.as_deref().unwrap_or(""))? {
        Some(d) => Some(crate::portal::day_start(tz, d.next_day().ok_or(())?).ok_or(())?),
        None => None,
    };
    Ok(AccessFilter { kind, since, until })
}

fn filter_query(q: &AccessQueryForm) -> String {
    format!(
        "who={}&from={}&to={}",
        query_value(q.who.as_deref()),
        query_value(q.from.as_deref()),
        query_value(q.to.as_deref())
    )
}

/// The purpose in the resident's words.
pub(super) fn purpose(p: &Page, a: &DataAccess) -> String {
    p.ta(&format!("da-purpose-{}", a.purpose.code()), &[("ref", a.purpose.reference())])
}

/// Who, in the resident's words: "Officer Amina", "Partner City Print".
pub(super) fn accessor(p: &Page, a: &DataAccess) -> String {
    p.ta(&format!("da-who-{}-named", a.accessor.kind.code()), &[("name", a.accessor.name.clone())])
}

fn what(p: &Page, a: &DataAccess) -> String {
    let separator = if p.lang == crate::portal::Lang::Ar { "، " } else { ", " };
    a.what.iter().map(|w| attribute_label(p, w)).collect::<Vec<_>>().join(separator)
}

fn row(p: &Page, a: &DataAccess) -> AccessRow {
    AccessRow {
        id: a.id.to_string(),
        when: p.date(a.at, true),
        who: accessor(p, a),
        who_kind: a.accessor.kind.code().to_owned(),
        what: what(p, a),
        why: purpose(p, a),
        via: p.t(&format!("da-via-{}", a.channel.code())),
        new: !a.read,
    }
}

async fn page(
    state: &AppState,
    visit: &Visit,
    who: &Resolved,
    q: &AccessQueryForm,
    notice: Option<String>,
) -> Response {
    let p = visit.page(state);
    let number = page_number(q.page.as_deref(), 500);
    let (list, error) = match filter(state, q) {
        Ok(f) => {
            let offset = number.saturating_mul(PAGE_SIZE);
            match resident_domain::access::own_accesses(state.accesses.as_ref(), &who.token, &f, offset, PAGE_SIZE + 1)
                .await
            {
                Ok(list) => (list, None),
                Err(e) => return failure(state, visit, &e),
            }
        }
        Err(()) => (Vec::new(), Some(FieldError { field: "from", message: p.t("da-bad-filter") })),
    };
    let tell = match state.accesses.tell_on_operator_read(&who.token).await {
        Ok(t) => t,
        Err(e) => return failure(state, visit, &e.into()),
    };
    let more = list.len() > PAGE_SIZE as usize;
    let rows = list.iter().take(PAGE_SIZE as usize).map(|a| row(&p, a)).collect();
    let kinds = vec![
        ("", p.t("da-who-all")),
        ("OPERATOR", p.t("da-who-OPERATOR")),
        ("PARTNER", p.t("da-who-PARTNER")),
        ("PLATFORM", p.t("da-who-PLATFORM")),
    ];
    let code = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let t = DataAccessPage {
        p: &p,
        who: q.who.clone().unwrap_or_default(),
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        kinds,
        rows,
        previous: (number > 0).then(|| number - 1),
        next: more.then_some(number + 1),
        query: filter_query(q),
        tell,
        notice,
        error,
    };
    render(visit, code, &t)
}

pub(crate) async fn data_access(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AccessQueryForm>,
) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    page(&state, &visit, &who, &q, None).await
}

#[derive(Deserialize)]
pub(crate) struct NoticeForm {
    csrf: Option<String>,
    tell: Option<String>,
}

/// The resident's choice: a message whenever an officer reads their data, or none.
pub(crate) async fn data_access_notice(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<NoticeForm>,
) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let on = form.tell.as_deref() == Some("yes");
    let record = AuditEvent::AccessNoticeChanged.record(
        &visit.audit,
        visit.now,
        Some((id.masked(), id.id_type())),
        if on { "told of every officer's read" } else { "not told of officers' reads" },
    );
    if let Err(e) = state.accesses.set_tell_on_operator_read(&who.token, on, &record, visit.now).await {
        return failure(&state, &visit, &e.into());
    }
    let p = visit.page(&state);
    let notice = p.t(if on { "da-notice-on" } else { "da-notice-off" });
    page(&state, &visit, &who, &AccessQueryForm::default(), Some(notice)).await
}

/// The logged-in resident's accesses for a download, filtered as the page was.
async fn export(
    state: &AppState,
    headers: &HeaderMap,
    q: &AccessQueryForm,
) -> Result<(Visit, Vec<DataAccess>), Response> {
    let visit = Visit::new(state, headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(state, &visit).await else { return Err(to_login(&visit)) };
    let Ok(f) = filter(state, q) else { return Err(forbidden(state, &visit)) };
    match resident_domain::access::own_accesses(state.accesses.as_ref(), &who.token, &f, 0, EXPORT_MAX).await {
        Ok(list) => Ok((visit, list)),
        Err(e) => Err(failure(state, &visit, &e)),
    }
}

async fn audit_export(state: &AppState, visit: &Visit, rows: usize, format: &str) -> Result<(), Response> {
    let record = AuditEvent::AccessLogViewed.record(
        &visit.audit,
        visit.now,
        None,
        format!("own record: {rows} rows as {format}"),
    );
    state.audit.append(record).await.map_err(|e| failure(state, visit, &e.into()))
}

pub(crate) async fn data_access_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AccessQueryForm>,
) -> Response {
    let (visit, list) = match export(&state, &headers, &q).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let p = visit.page(&state);
    let rows = list
        .iter()
        .map(|a| {
            vec![
                resident_domain::clock::mosip_datetime(a.at),
                a.id.to_string(),
                a.accessor.kind.code().to_owned(),
                a.accessor.id.clone(),
                accessor(&p, a),
                what(&p, a),
                purpose(&p, a),
                a.purpose.reference(),
                a.channel.code().to_owned(),
            ]
        })
        .collect();
    if let Err(answer) = audit_export(&state, &visit, list.len(), "CSV").await {
        return answer;
    }
    let header_line = "time,access_id,accessor_type,accessor_id,accessor,what,purpose,reference,channel";
    csv_response(&visit, header_line, rows, "who-used-my-data.csv")
}

pub(crate) async fn data_access_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AccessQueryForm>,
) -> Response {
    let (visit, list) = match export(&state, &headers, &q).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let p = visit.page(&state);
    let doc = resident_domain::card::PlainDocument {
        title: p.t("da-pdf-title"),
        language: p.lang.mosip().into(),
        lines: vec![],
        headers: vec![p.t("da-when"), p.t("da-who"), p.t("da-what"), p.t("da-why")],
        rows: list.iter().map(|a| vec![p.date(a.at, true), accessor(&p, a), what(&p, a), purpose(&p, a)]).collect(),
        footer: format!("{} · {}", p.t("da-pdf-footer"), p.date(visit.now, true)),
    };
    if let Err(answer) = audit_export(&state, &visit, list.len(), "PDF").await {
        return answer;
    }
    match state.cards.document(&doc) {
        Ok(pdf) => pdf_response(&visit, pdf, "who-used-my-data.pdf"),
        Err(e) => failure(&state, &visit, &ResidentError::Internal(e)),
    }
}
