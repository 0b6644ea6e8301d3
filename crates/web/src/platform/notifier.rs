//! The embedded platform's notifier (MOSIP's kernel notifier), which a resident-services tier in
//! `mosip` mode sends its residents' messages through, for a platform client with `RESIDENT`:
//!
//! - `POST /v1/notifier/email/send`: `mailTo`, `mailSubject`, `mailContent` as multipart form
//!   fields, or in the query string as MOSIP's own resident service sends them (one message per
//!   `mailTo`); attachments are not delivered;
//! - `POST /v1/notifier/sms/send`: `{request: {number, message}}`.
//!
//! Each accepted message is queued with its audit record (the recipient masked) and delivered by this
//! platform's worker, as its own messages are.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::notification::{Channel, OutgoingMessage, from_platform};
use resident_domain::ports::Effects;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::RequestMeta;

const ROLE: &str = "RESIDENT";

fn answer(now: time::OffsetDateTime, result: Result<&str, ResidentError>) -> Response {
    let stamp = resident_domain::clock::mosip_datetime(now);
    let (status, doc) = match result {
        Ok(message) => (
            axum::http::StatusCode::OK,
            json!({"id": "mosip.kernel.notification", "version": "1.0", "responsetime": stamp, "metadata": null,
                   "response": {"status": "success", "message": message}, "errors": null}),
        ),
        Err(e) => {
            if let Some(detail) = e.internal_detail() {
                tracing::error!(code = e.code(), detail, "a notification was not queued");
            }
            (
                crate::error::http_status(&e),
                json!({"id": "mosip.kernel.notification", "version": "1.0", "responsetime": stamp, "metadata": null,
                       "response": null, "errors": [{"errorCode": e.code(), "message": e.message()}]}),
            )
        }
    };
    (status, axum::Json(doc)).into_response()
}

/// Queues the messages with one audit record each, never naming the recipient in clear.
async fn queue(
    state: &AppState,
    meta: &RequestMeta,
    caller: &str,
    messages: Vec<OutgoingMessage>,
) -> Result<(), ResidentError> {
    let ctx = meta.audit_context(state, caller);
    let now = state.clock.now();
    let audit = messages
        .iter()
        .map(|m| {
            let (kind, masked) = match m.channel {
                Channel::Email => ("EMAIL", resident_domain::otp::mask_email(&m.to)),
                Channel::Sms => ("PHONE", resident_domain::otp::mask_mobile(&m.to)),
            };
            resident_domain::audit::AuditEvent::NotificationQueued.record(
                &ctx,
                now,
                Some((masked, kind)),
                "a resident tier's message queued for delivery",
            )
        })
        .collect();
    state.auth.record_effects(&Effects { audit, notifications: messages, ..Effects::default() }, now).await?;
    Ok(())
}

/// `POST /v1/notifier/email/send`.
pub async fn email(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let now = state.clock.now();
    let result = async {
        let caller = super::require_platform(&state, &headers, ROLE).await?;
        let mut fields: Vec<(String, String)> = query;
        if let Ok(mut form) = form {
            while let Some(field) =
                form.next_field().await.map_err(|_| ResidentError::Kernel("KER-NOE-999", "Data not valid".into()))?
            {
                let name = field.name().unwrap_or_default().to_owned();
                if name == "attachments" {
                    continue;
                }
                let text =
                    field.text().await.map_err(|_| ResidentError::Kernel("KER-NOE-999", "Data not valid".into()))?;
                fields.push((name, text));
            }
        }
        let one = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let to: Vec<&str> = fields.iter().filter(|(k, _)| k == "mailTo").flat_map(|(_, v)| v.split(',')).collect();
        if to.is_empty() {
            return Err(ResidentError::Kernel("KER-NOE-001", "To must be valid. It can't be empty or null.".into()));
        }
        let messages = to
            .iter()
            .map(|t| from_platform(Channel::Email, t, one("mailSubject"), one("mailContent").unwrap_or_default()))
            .collect::<Result<Vec<_>, _>>()?;
        queue(&state, &meta, &caller, messages).await?;
        Ok("Email request submitted")
    }
    .await;
    answer(now, result)
}

/// `POST /v1/notifier/sms/send`.
pub async fn sms(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = state.clock.now();
    let result = async {
        let caller = super::require_platform(&state, &headers, ROLE).await?;
        let body = crate::envelope::json_body(body)
            .map_err(|_| ResidentError::Kernel("KER-NOS-001", "Number and message can't be empty, null".into()))?;
        let request: HashMap<String, Value> = body
            .get("request")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let text = |k: &str| request.get(k).and_then(Value::as_str).unwrap_or_default();
        let message = from_platform(Channel::Sms, text("number"), None, text("message"))?;
        queue(&state, &meta, &caller, vec![message]).await?;
        Ok("SMS request sent")
    }
    .await;
    answer(now, result)
}
