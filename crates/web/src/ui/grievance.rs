//! Grievance: a resident reports a problem with one of their requests (`POST /grievance/ticket`).

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::Response;
use resident_domain::ResidentError;
use resident_domain::grievance::{
    AlternateContact, GrievanceRefusal, MAX_EMAIL_CHARS, MAX_MESSAGE_CHARS, MAX_PHONE_CHARS,
};
use resident_domain::history::EventId;
use serde_json::json;

use super::{Errors, refusal, reply, resident};
use crate::AppState;
use crate::envelope::{self, text};

const API: &str = "mosip.resident.grievance.ticket.request";
const VERSION: &str = "1.0";

/// MOSIP's answer to each refusal.
fn refused(r: GrievanceRefusal) -> ResidentError {
    match r {
        GrievanceRefusal::NotYours => ResidentError::EventNotOwned,
        GrievanceRefusal::NoMessage => ResidentError::MissingInput("message".into()),
        GrievanceRefusal::MessageTooLong => ResidentError::TextTooLong { field: "message", limit: MAX_MESSAGE_CHARS },
        GrievanceRefusal::BadMessage => ResidentError::invalid("message"),
        GrievanceRefusal::EmailTooLong => ResidentError::TextTooLong { field: "EMAIL", limit: MAX_EMAIL_CHARS },
        GrievanceRefusal::BadEmail => ResidentError::invalid("EMAIL"),
        GrievanceRefusal::PhoneTooLong => ResidentError::TextTooLong { field: "PHONE", limit: MAX_PHONE_CHARS },
        GrievanceRefusal::BadPhone => ResidentError::invalid("PHONE"),
    }
}

/// `POST /grievance/ticket`: `eventId` and `message`, with an alternate email and phone to be
/// reached at. The `name`, `emailId` and `phoneNo` the app sends are the resident's own, read from
/// their identity; they are not taken from the request.
pub(crate) async fn ticket(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let r = match resident(&state, &headers, None).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let body = envelope::json_body(body)?;
        let request = envelope::validate_resident(&body, API, VERSION)?;
        let event = text(request, "eventId").map(str::trim).filter(|e| !e.is_empty());
        let event = event.ok_or_else(|| ResidentError::MissingInput("eventId".into()))?;
        if EventId::parse(event).is_none() {
            return Err(ResidentError::invalid("eventId"));
        }
        let contact = AlternateContact::new(text(request, "alternateEmailId"), text(request, "alternatePhoneNo"));
        let message = text(request, "message").unwrap_or_default();
        state.grievance_cases(&r.audit, r.now).raise(&r.who, &r.id, event, message, &contact).await?.map_err(refused)
    }
    .await;
    match result {
        Ok(ticket) => reply(Some(API), VERSION, r.now, json!({"ticketId": ticket}), Errors::Empty),
        Err(e) => refusal(API, VERSION, r.now, &e),
    }
}
