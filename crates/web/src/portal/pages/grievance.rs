//! Grievances: raising one about an event of the resident's service history.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use resident_domain::grievance::{AlternateContact, GrievanceRefusal, Grievances};
use resident_domain::ports::Resolved;
use serde::Deserialize;

use super::{FieldError, acting, failure, forbidden, render, resident, to_login};
use crate::AppState;
use crate::portal::{Page, Visit};

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
pub(crate) struct GrievanceQuery {
    lang: Option<String>,
    event: Option<String>,
}

fn grievances<'a>(state: &'a AppState, visit: &'a Visit) -> Grievances<'a> {
    state.grievance_cases(&visit.audit, visit.now)
}

struct Choice {
    id: String,
    label: String,
    when: String,
}

#[derive(Template)]
#[template(path = "portal/grievance_choose.html")]
struct ChoosePage<'a> {
    p: &'a Page,
    requests: Vec<Choice>,
    accesses: Vec<Choice>,
}

/// No event named: the resident picks one of their recent requests or uses of their data.
async fn choose(state: &AppState, visit: &Visit, who: &Resolved) -> Response {
    let events = match state.history.events_for(&who.token, 0, 20).await {
        Ok(e) => e,
        Err(e) => return failure(state, visit, &e.into()),
    };
    let uses =
        match resident_domain::access::own_accesses(state.accesses.as_ref(), &who.token, &Default::default(), 0, 20)
            .await
        {
            Ok(a) => a,
            Err(e) => return failure(state, visit, &e),
        };
    let p = visit.page(state);
    let requests = events
        .iter()
        .map(|e| Choice {
            id: e.event_id.to_string(),
            label: p.t(&format!("rt-{}", e.request_type.code())),
            when: p.date(e.requested_at, true),
        })
        .collect();
    let accesses = uses
        .iter()
        .map(|a| Choice {
            id: a.id.to_string(),
            label: format!("{} — {}", super::data_access::accessor(&p, a), super::data_access::purpose(&p, a)),
            when: p.date(a.at, true),
        })
        .collect();
    render(visit, StatusCode::OK, &ChoosePage { p: &p, requests, accesses })
}

pub(crate) async fn grievance(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<GrievanceQuery>,
) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    if q.event.as_deref().is_none_or(|e| e.trim().is_empty()) {
        return choose(&state, &visit, &who).await;
    }
    let event = match grievances(&state, &visit).subject(&who, q.event.as_deref().unwrap_or("")).await {
        Ok(Some(e)) => e,
        Ok(None) => return forbidden(&state, &visit),
        Err(e) => return failure(&state, &visit, &e),
    };
    let p = visit.page(&state);
    render(
        &visit,
        StatusCode::OK,
        &GrievancePage { p: &p, event_id: event.to_string(), message: String::new(), notice: None, error: None },
    )
}

#[derive(Deserialize)]
pub(crate) struct GrievanceForm {
    csrf: Option<String>,
    event: Option<String>,
    message: Option<String>,
}

pub(crate) async fn grievance_send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<GrievanceForm>,
) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let p = visit.page(&state);
    let event = form.event.unwrap_or_default().trim().to_owned();
    let message = form.message.unwrap_or_default();
    match grievances(&state, &visit).raise(&who, &id, &event, &message, &AlternateContact::default()).await {
        Ok(Ok(ticket)) => {
            let t = GrievancePage {
                notice: Some(p.ta("grievance-done", &[("ticket", ticket)])),
                p: &p,
                event_id: event,
                message: String::new(),
                error: None,
            };
            render(&visit, StatusCode::OK, &t)
        }
        Ok(Err(GrievanceRefusal::NotYours)) => forbidden(&state, &visit),
        // the form offers no alternate contact, so of the rest only the message can be refused
        Ok(Err(_)) => {
            let e = FieldError { field: "message", message: p.t("grievance-empty") };
            let message = message.trim().to_owned();
            let t = GrievancePage { p: &p, event_id: event, message, notice: None, error: Some(e) };
            render(&visit, StatusCode::BAD_REQUEST, &t)
        }
        Err(e) => failure(&state, &visit, &e),
    }
}
