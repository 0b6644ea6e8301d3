//! View History and Track My Service Request: the filtered, paged history, one event's details,
//! and the notifications bell.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::audit::AuditEvent;
use resident_domain::card::PlainDocument;
use resident_domain::history::{
    EventId, HistoryQuery, ServiceEvent, ServiceType, StatusGroup, event_status, history_page,
};
use serde_json::{Value, json};

use super::{Errors, Scope, UiResident, language, pdf, refusal, reply, resident, ui_time};
use crate::AppState;
use crate::portal::{NOTIFIED_TYPES, translate};

const HISTORY_ID: &str = "mosip.service.history.get";
const EVENT_ID: &str = "mosip.resident.event.status";
const NOTIFICATIONS_ID: &str = "mosip.resident.service.history.unread";
const ACK_ID: &str = "mosip.resident.event.ack.download";
const HISTORY_PDF_ID: &str = "mosip.resident.download.service.history";
const VERSION: &str = "1.0";
/// The most rows the history PDF holds (MOSIP's `resident.service-history.download.max.count`).
const HISTORY_PDF_ROWS: u32 = 100;

/// The day of a moment as the viewer sees it (the browser's offset, else the residents' zone).
fn viewer_day(state: &AppState, headers: &HeaderMap) -> impl Fn(time::OffsetDateTime) -> Option<time::Date> + Sync {
    let offset = super::browser_offset(headers);
    let zone = state.templates.time_zone.clone();
    move |at: time::OffsetDateTime| match offset {
        Some(o) => Some(at.to_offset(o).date()),
        None => crate::portal::local_day(&zone, at),
    }
}

fn status_text(lang: &str, e: &ServiceEvent) -> String {
    translate(lang, &format!("ui-status-{}", event_status(&e.status_code).replace(' ', "-")))
}

/// One row as the app lists it.
fn row(state: &AppState, headers: &HeaderMap, lang: &str, e: &ServiceEvent) -> Value {
    let what = translate(lang, &format!("rt-{}", e.request_type.code()));
    json!({
        "eventId": e.event_id.as_str(),
        "description": match &e.status_comment {
            Some(c) if !c.is_empty() && c.len() <= 120 => format!("{what}: {c}"),
            _ => what.clone(),
        },
        "eventStatus": status_text(lang, e),
        "timeStamp": ui_time(state, headers, e.updated_at.max(e.requested_at)),
        "serviceType": ServiceType::of(e.request_type).code(),
        "requestType": what,
        "pinnedStatus": e.pinned,
        "readStatus": e.read,
        "serialNumber": 0,
    })
}

fn page_value(page_index: u32, page_size: u32, total_items: u64, total_pages: u64, data: Vec<Value>) -> Value {
    json!({
        "pageIndex": page_index,
        "pageSize": page_size,
        "totalItems": total_items,
        "totalPages": total_pages,
        "data": data,
    })
}

/// `GET /service-history/{lang}` with MOSIP's filters and paging.
pub(crate) async fn service_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(lang): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::ServiceRequests)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let lang = language(&state, &lang)?;
        let query = HistoryQuery::parse(&params, 10)?;
        let day = viewer_day(&state, &headers);
        let page = history_page(state.history.as_ref(), &r.who.token, &query, &day).await?;
        Ok::<_, ResidentError>((lang, page))
    }
    .await;
    match result {
        Ok((lang, page)) => {
            let data = page.items.iter().map(|e| row(&state, &headers, &lang, e)).collect();
            let body = page_value(page.page_index, page.page_size, page.total_items, page.total_pages, data);
            reply(Some(HISTORY_ID), VERSION, r.now, body, Errors::Empty)
        }
        Err(e) => refusal(HISTORY_ID, VERSION, r.now, &e),
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct LangQuery {
    #[serde(rename = "langCode")]
    lang_code: Option<String>,
}

/// The event, if it is the resident's: RES-SER-414 for no id, 410 for a malformed one, 459 for
/// none, 511 for another resident's (as MOSIP tells them apart).
pub(super) async fn own_event(state: &AppState, r: &UiResident, eid: &str) -> Result<ServiceEvent, ResidentError> {
    if eid.trim().is_empty() {
        return Err(ResidentError::MissingInput("eventId".into()));
    }
    let id = EventId::parse(eid.trim()).ok_or_else(|| ResidentError::invalid("eventId"))?;
    let e = state.history.event(&id).await?.ok_or(ResidentError::EventNotFound)?;
    if e.token != r.who.token {
        return Err(ResidentError::EventNotOwned);
    }
    Ok(e)
}

/// `GET /events/{eid}?langCode=`: one request of the resident's, as Track My Service Request shows it.
pub(crate) async fn event(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(eid): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let r = match resident(&state, &headers, None).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let default = state.schema.languages().mandatory.first().cloned().unwrap_or_else(|| "eng".into());
        let lang = language(&state, q.lang_code.as_deref().unwrap_or(&default))?;
        let e = own_event(&state, &r, &eid).await?;
        // opened: seen (the bell stops counting it)
        state.history.mark_event_read(&e.event_id, &r.who.token).await?;
        Ok::<_, ResidentError>((lang, e))
    }
    .await;
    match result {
        Ok((lang, e)) => {
            let what = translate(&lang, &format!("rt-{}", e.request_type.code()));
            let group = StatusGroup::of(&e.status_code);
            let mut info = serde_json::Map::new();
            info.insert("eventTypeEnum".into(), json!(e.request_type.code()));
            info.insert("eventStatusEnum".into(), json!(group.code()));
            info.insert("description".into(), json!(e.status_comment.clone().unwrap_or_else(|| what.clone())));
            info.insert("authenticationMode".into(), json!("OTP"));
            info.insert("applicantName".into(), json!(r.who.identity.localized("fullName", &lang).unwrap_or_default()));
            if let Some(aid) = &e.aid {
                info.insert("trackingId".into(), json!(aid));
            }
            let body = json!({
                "eventId": e.event_id.as_str(),
                "eventType": what,
                "eventStatus": status_text(&lang, &e),
                // MOSIP puts the type of id the resident logged in with here
                "individualId": r.session.id_type,
                "summary": e.request_summary,
                "timestamp": ui_time(&state, &headers, e.updated_at.max(e.requested_at)),
                "info": info,
            });
            reply(Some(EVENT_ID), VERSION, r.now, body, Errors::Empty)
        }
        Err(e) => refusal(EVENT_ID, VERSION, r.now, &e),
    }
}

/// `POST /pinned/{eid}` and `/unpinned/{eid}`: keeps an event at the top of the history. Only the
/// resident's own events (MOSIP does not check whose event it pins): another's is RES-SER-459.
async fn pin(state: AppState, headers: HeaderMap, eid: String, pinned: bool) -> Response {
    let api = if pinned { "mosip.resident.pin.status" } else { "mosip.resident.unpin.status" };
    let r = match resident(&state, &headers, Some(Scope::ServiceRequests)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let id = EventId::parse(eid.trim()).ok_or_else(|| ResidentError::invalid("eventId"))?;
        if !state.history.set_pinned(&id, &r.who.token, pinned).await? {
            return Err(ResidentError::EventNotFound);
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => reply(Some(api), "v1", r.now, json!({"status": "200 OK", "message": "SUCCESS"}), Errors::Empty),
        Err(e) => refusal(api, "v1", r.now, &e),
    }
}

pub(crate) async fn pinned(State(state): State<AppState>, headers: HeaderMap, Path(eid): Path<String>) -> Response {
    pin(state, headers, eid, true).await
}

pub(crate) async fn unpinned(State(state): State<AppState>, headers: HeaderMap, Path(eid): Path<String>) -> Response {
    pin(state, headers, eid, false).await
}

/// `GET /unread/notification-count`: what the bell shows.
pub(crate) async fn unread_count(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let r = match resident(&state, &headers, None).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let counted = async {
        let events = state.history.unread_count(&r.who.token, &NOTIFIED_TYPES).await?;
        let reads = state.accesses.unread_accesses(&r.who.token).await?;
        Ok::<_, resident_domain::StoreError>(events + reads)
    }
    .await;
    match counted {
        Ok(n) => reply(Some(EVENT_ID), VERSION, r.now, json!({"unreadCount": n}), Errors::Null),
        Err(e) => refusal(EVENT_ID, VERSION, r.now, &e.into()),
    }
}

/// `PUT /bell/updatedttime`: the resident opened the bell; what it counted is seen.
pub(crate) async fn bell_seen(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let r = match resident(&state, &headers, Some(Scope::ServiceRequests)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let marked = async {
        state.history.mark_notifications_read(&r.who.token, &NOTIFIED_TYPES).await?;
        state.accesses.mark_accesses_read(&r.who.token).await?;
        Ok::<_, resident_domain::StoreError>(())
    }
    .await;
    match marked {
        // MOSIP answers a bare 1
        Ok(()) => axum::Json(json!(1)).into_response(),
        Err(e) => refusal(NOTIFICATIONS_ID, VERSION, r.now, &e.into()),
    }
}

/// `GET /notifications/{lang}`: the requests whose progress the resident is told about.
pub(crate) async fn notifications(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(lang): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::ServiceRequests)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let lang = language(&state, &lang)?;
        let query = HistoryQuery::parse(&params, 100)?;
        let events = state.history.notifications(&r.who.token, &NOTIFIED_TYPES, 500).await?;
        Ok::<_, ResidentError>((lang, query, events))
    }
    .await;
    match result {
        Ok((lang, query, events)) => {
            let size = query.page_size.max(1);
            let total = events.len() as u64;
            let data = events
                .iter()
                .skip(query.page_index as usize * size as usize)
                .take(size as usize)
                .map(|e| row(&state, &headers, &lang, e))
                .collect();
            let body = page_value(query.page_index, size, total, total.div_ceil(u64::from(size)), data);
            reply(Some(NOTIFICATIONS_ID), VERSION, r.now, body, Errors::Null)
        }
        Err(e) => refusal(NOTIFICATIONS_ID, VERSION, r.now, &e),
    }
}

/// Renders a document and records that the resident downloaded it (nothing is recorded for a
/// document that could not be drawn).
async fn document(
    state: &AppState,
    r: &UiResident,
    event: AuditEvent,
    what: String,
    doc: &PlainDocument,
) -> Result<Vec<u8>, ResidentError> {
    let pdf = state.cards.document(doc).map_err(ResidentError::Internal)?;
    let record = event.record(&r.audit, r.now, Some((r.id.masked(), r.id.id_type())), what);
    state.audit.append(record).await?;
    Ok(pdf)
}

/// `GET /ack/download/pdf/event/{eid}/language/{lang}`: the acknowledgement of one of the
/// resident's requests, as a PDF in that language. Only the resident's own (MOSIP serves anyone's).
pub(crate) async fn acknowledgement(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((eid, lang)): Path<(String, String)>,
) -> Response {
    let r = match resident(&state, &headers, None).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let e = own_event(&state, &r, &eid).await?;
        let lang = language(&state, &lang)?;
        let t = |key: &str| translate(&lang, key);
        let mut lines = vec![
            (t("history-event"), e.event_id.to_string()),
            (t("history-what"), t(&format!("rt-{}", e.request_type.code()))),
            (t("history-status"), status_text(&lang, &e)),
            (t("history-when"), ui_time(&state, &headers, e.requested_at)),
            (t("request-ack-name"), r.who.identity.localized("fullName", &lang).unwrap_or_default().to_owned()),
        ];
        if let (Some(kind), Some(masked)) = (&e.ref_id_type, &e.ref_id) {
            lines.push((t("request-ack-for"), format!("{kind} {masked}")));
        }
        if let Some(aid) = &e.aid {
            lines.push((t("request-ack-tracking"), aid.clone()));
        }
        let doc = PlainDocument {
            title: t("request-ack-title"),
            language: lang.clone(),
            lines,
            headers: vec![],
            rows: vec![],
            footer: t("request-ack-footer"),
        };
        let what = format!("acknowledgement of event {}", e.event_id);
        let pdf = document(&state, &r, AuditEvent::AcknowledgementDownloaded, what, &doc).await?;
        Ok::<_, ResidentError>((pdf, e))
    }
    .await;
    match result {
        Ok((bytes, e)) => {
            let stamp = super::file_stamp(&headers, r.now);
            pdf(bytes, &format!("Ack_{}_{}_{stamp}.pdf", e.request_type.feature_name(), e.event_id))
        }
        Err(e) => refusal(ACK_ID, VERSION, r.now, &e),
    }
}

/// `GET /download/service-history?<filters>&languageCode=`: the filtered history as a PDF, pinned
/// first, then the newest [`HISTORY_PDF_ROWS`] (MOSIP's download has no paging).
pub(crate) async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::ServiceRequests)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let lang = params.iter().find(|(k, _)| k == "languageCode").map(|(_, v)| v.as_str());
        let lang = lang.ok_or_else(|| ResidentError::BadRequest("languageCode is required".into()))?;
        let lang = language(&state, lang)?;
        let query = HistoryQuery { page_index: 0, page_size: HISTORY_PDF_ROWS, ..HistoryQuery::parse(&params, 1)? };
        let page = history_page(state.history.as_ref(), &r.who.token, &query, &viewer_day(&state, &headers)).await?;
        let t = |key: &str| translate(&lang, key);
        let doc = PlainDocument {
            title: t("history-pdf-title"),
            language: lang.clone(),
            lines: vec![
                (t("history-pdf-name"), r.who.identity.localized("fullName", &lang).unwrap_or_default().to_owned()),
                (t("history-pdf-generated"), ui_time(&state, &headers, r.now)),
            ],
            headers: vec![t("history-event"), t("history-what"), t("history-status"), t("history-when")],
            rows: page
                .items
                .iter()
                .map(|e| {
                    vec![
                        e.event_id.to_string(),
                        t(&format!("rt-{}", e.request_type.code())),
                        status_text(&lang, e),
                        ui_time(&state, &headers, e.updated_at.max(e.requested_at)),
                    ]
                })
                .collect(),
            footer: t("history-pdf-footer"),
        };
        let what = format!("{} of {} requests", page.items.len(), page.total_items);
        document(&state, &r, AuditEvent::ServiceHistoryDownloaded, what, &doc).await
    }
    .await;
    match result {
        Ok(bytes) => pdf(bytes, &format!("View_history_{}.pdf", super::file_stamp(&headers, r.now))),
        Err(e) => refusal(HISTORY_PDF_ID, VERSION, r.now, &e),
    }
}
