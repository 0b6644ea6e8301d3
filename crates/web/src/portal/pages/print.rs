//! The printed card: ordering one and following the orders.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use resident_domain::card::CardType;
use resident_domain::ports::Resolved;

use super::{CardForm, LangQuery, acting, ctx, failure, render, resident, to_login, transaction_id};
use crate::AppState;
use crate::portal::{Page, Visit};

struct OrderRow {
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

pub(crate) async fn print(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let p = visit.page(&state);
    let orders = orders(&state, &p, &who).await;
    render(&visit, StatusCode::OK, &PrintPage { p: &p, notice: None, ordered: None, orders })
}

pub(crate) async fn print_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CardForm>,
) -> Response {
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
