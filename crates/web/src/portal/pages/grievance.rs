//! Grievances: raising one about an event of the resident's service history.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use resident_domain::audit::AuditEvent;
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

/// The event, if it is one of this resident's.
async fn own_event(state: &AppState, who: &Resolved, value: Option<&str>) -> Option<resident_domain::history::EventId> {
    let id = resident_domain::history::EventId::parse(value?.trim())?;
    let event = state.history.event(&id).await.ok()??;
    (event.token == who.token).then_some(id)
}

pub(crate) async fn grievance(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<GrievanceQuery>,
) -> Response {
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
