//! The public pages, open without logging in: the home page and the status of a registration (RID).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use resident_domain::ResidentError;
use resident_domain::usecases::{CheckStatus, check_rid_status};

use super::{FieldError, LangQuery, RidQuery, failure, render};
use crate::AppState;
use crate::portal::{Page, Visit};

#[derive(Template)]
#[template(path = "portal/home.html")]
struct Home<'a> {
    p: &'a Page,
}

pub(crate) async fn home(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let p = visit.page(&state);
    render(&visit, StatusCode::OK, &Home { p: &p })
}

struct StatusResult {
    heading: String,
    status: String,
    colour: &'static str,
    stages: Vec<StageView>,
}

struct StageView {
    when: String,
    what: String,
}

#[derive(Template)]
#[template(path = "portal/status.html")]
struct StatusPage<'a> {
    p: &'a Page,
    rid: String,
    error: Option<FieldError>,
    result: Option<StatusResult>,
}

pub(crate) async fn status(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<RidQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let p = visit.page(&state);
    let rid: String = crate::portal::typed_digits(&q.rid.unwrap_or_default()).chars().take(40).collect();
    let mut page = StatusPage { p: &p, rid: rid.clone(), error: None, result: None };
    if !rid.is_empty() {
        if rid.len() != 29 || !rid.bytes().all(|b| b.is_ascii_digit()) {
            page.error = Some(FieldError { field: "rid", message: p.t("status-invalid") });
        } else {
            let found = check_rid_status(
                state.registrations.as_ref(),
                state.audit.as_ref(),
                &state.status_policy,
                &visit.audit,
                CheckStatus { individual_id: rid.clone() },
                visit.now,
            )
            .await;
            match found {
                Ok(shown) => {
                    let key = match shown {
                        "UNDER PROCESSING" => "status-UNDER_PROCESSING".to_owned(),
                        "WAITING FOR ADDITIONAL INFORMATION FROM APPLICANT" => "status-WAITING".to_owned(),
                        other => format!("status-{other}"),
                    };
                    let colour = match shown {
                        "PROCESSED" => "green",
                        "REJECTED" | "REREGISTER" => "red",
                        "RESEND" | "WAITING FOR ADDITIONAL INFORMATION FROM APPLICANT" => "yellow",
                        _ => "blue",
                    };
                    let stages = match resident_domain::ids::Rid::parse(&rid) {
                        Ok(r) => state.registrations.stage_history(&r).await.unwrap_or_default(),
                        Err(_) => Vec::new(),
                    };
                    let mut views: Vec<StageView> = Vec::new();
                    for s in &stages {
                        let Some(stage) = s.transaction_type.resident_stage() else { continue };
                        let what = p.t(&format!("stage-{}", stage.to_ascii_lowercase().replace(' ', "-")));
                        // one line per stage reached, at the time it was first reached
                        if views.last().is_some_and(|v| v.what == what) {
                            continue;
                        }
                        views.push(StageView { when: p.date(s.at, true), what });
                    }
                    page.result = Some(StatusResult {
                        heading: p.ta("status-result", &[("rid", rid.clone())]),
                        status: p.t(&key),
                        colour,
                        stages: views,
                    });
                }
                Err(ResidentError::RidNotFound) => {
                    page.error = Some(FieldError { field: "rid", message: p.t("status-not-found") })
                }
                Err(e) => return failure(&state, &visit, &e),
            }
        }
    }
    let code = if page.error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    render(&visit, code, &page)
}
