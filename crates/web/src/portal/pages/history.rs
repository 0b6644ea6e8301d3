//! The service history: the resident's requests, a page at a time.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::{failure, page_number, render, resident, to_login};
use crate::AppState;
use crate::portal::{Page, Visit};

struct HistoryRow {
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
pub(crate) struct PageQuery {
    lang: Option<String>,
    page: Option<String>,
}

const HISTORY_PAGE: u32 = 20;

pub(crate) async fn history(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<PageQuery>) -> Response {
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
