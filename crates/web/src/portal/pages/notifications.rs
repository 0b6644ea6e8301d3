//! The in-portal notifications: how the resident's requests moved, and marking them as seen.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::{CsrfForm, LangQuery, acting, failure, render, to_login};
use crate::AppState;
use crate::portal::{Page, Visit};

struct NotificationRow {
    /// Where the entry leads: the data-access page for a use of the resident's data.
    link: Option<&'static str>,
    what: String,
    status: String,
    colour: &'static str,
    when: String,
    event_id: String,
    new: bool,
}

#[derive(Template)]
#[template(path = "portal/notifications.html")]
struct NotificationsPage<'a> {
    p: &'a Page,
    rows: Vec<NotificationRow>,
    /// Whether any is unseen (the "mark as seen" button).
    unread: bool,
}

pub(crate) async fn notifications(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some(session) = visit.session.clone() else { return to_login(&visit) };
    // a GET only reads: the resident marks them as seen with the form (a POST)
    let events = match state.history.notifications(&session.token, &crate::portal::NOTIFIED_TYPES, 50).await {
        Ok(e) => e,
        Err(e) => return failure(&state, &visit, &e.into()),
    };
    let accesses = match resident_domain::access::own_accesses(
        state.accesses.as_ref(),
        &session.token,
        &Default::default(),
        0,
        50,
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return failure(&state, &visit, &e),
    };
    let p = visit.page(&state);
    let mut dated: Vec<(time::OffsetDateTime, NotificationRow)> = events
        .iter()
        .map(|e| {
            let ui = resident_domain::history::event_status(&e.status_code);
            let row = NotificationRow {
                link: None,
                what: p.t(&format!("rt-{}", e.request_type.code())),
                status: p.t(&format!("ui-status-{}", ui.replace(' ', "-"))),
                colour: match ui {
                    "Success" => "green",
                    "Failed" => "red",
                    _ => "blue",
                },
                when: p.date(e.updated_at, true),
                event_id: e.event_id.to_string(),
                new: !e.read,
            };
            (e.updated_at, row)
        })
        .collect();
    dated.extend(accesses.iter().map(|a| {
        let row = NotificationRow {
            link: Some("/account/data-access"),
            what: p.ta("notifications-access", &[("who", super::data_access::accessor(&p, a))]),
            status: super::data_access::purpose(&p, a),
            colour: "grey",
            when: p.date(a.at, true),
            event_id: a.id.to_string(),
            new: !a.read,
        };
        (a.at, row)
    }));
    dated.sort_by_key(|d| std::cmp::Reverse(d.0));
    let rows = dated.into_iter().map(|(_, r)| r).take(50).collect();
    let unread = visit.unread > 0;
    render(&visit, StatusCode::OK, &NotificationsPage { p: &p, rows, unread })
}

/// "Mark as seen": the bell goes back to no count until something moves again.
pub(crate) async fn notifications_seen(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let (visit, who, _) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    if let Err(e) = state.history.mark_notifications_read(&who.token, &crate::portal::NOTIFIED_TYPES).await {
        return failure(&state, &visit, &e.into());
    }
    if let Err(e) = state.accesses.mark_accesses_read(&who.token).await {
        return failure(&state, &visit, &e.into());
    }
    visit.finish(Redirect::to("/account/notifications").into_response())
}
