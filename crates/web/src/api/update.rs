//! `POST /req/update-uin`: a resident asks to change their details, with proof documents.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use resident_domain::ResidentError;
use resident_domain::auth_usecases::Done;
use resident_domain::update::{check_document_lengths, decode_update, refuse_update, request_update};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::RequestMeta;
use super::auth::{Call, typed_otp_fields};
use crate::envelope::text;
use crate::{AppState, tags};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateResponse {
    /// The RID of the update request, to follow with `/rid/check-status`.
    pub registration_id: String,
    pub message: String,
}

/// `documents`: `[{name, value}]`, `value` in base64; absent or null means none.
fn documents(request: &Map<String, Value>) -> Result<Vec<(String, String)>, ResidentError> {
    let invalid = || ResidentError::invalid("documents");
    match request.get("documents") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|d| {
                let name = d.get("name").and_then(Value::as_str).filter(|n| !n.trim().is_empty());
                let value = d.get("value").and_then(Value::as_str).filter(|v| !v.is_empty());
                match (name, value) {
                    (Some(n), Some(v)) => Ok((n.to_owned(), v.to_owned())),
                    _ => Err(invalid()),
                }
            })
            .collect(),
        Some(_) => Err(invalid()),
    }
}

/// Update my details (`mosip.resident.updateuin`, OTP).
///
/// `identityJson` is base64url of `{"identity": {...}}` with only updatable fields; a change that needs
/// proof (address: `proofOfAddress`, name or gender: `proofOfIdentity`, date of birth:
/// `proofOfDateOfBirth`) carries the document entry (`{"value": "<name>", "type": "<DOC code>",
/// "format": "pdf"}`) and a `documents` item `{name, value}` whose name is that entry's `value`.
/// Documents: PDF, JPEG or PNG by content, at most 2 MB. Errors: RES-SER-410 (field), RES-SER-427 (field
/// not updatable), RES-SER-23 (proof missing), RES-SER-433 (UIN mismatch), RES-SER-514 (too large),
/// RES-SER-516 (file type), RES-SER-422 (OTP), RES-SER-525 (an update is in progress), RES-SER-526
/// (update limit).
#[utoipa::path(post, path = "/req/update-uin", tag = tags::RESIDENT, request_body(content = Object, description = "MOSIP envelope"),
    responses((status = 200, description = "The new RID, or a MOSIP error envelope; header `eventId`", body = UpdateResponse)))]
pub async fn update_uin(
    State(state): State<AppState>,
    meta: RequestMeta,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.resident.updateuin";
    let call = Call::new(&state, &meta, API);
    let result = async {
        let request = call.request(body)?;
        let request = &request;
        let (id, trn, otp) = typed_otp_fields(request)?;
        let identity_json = text(request, "identityJson").ok_or_else(|| ResidentError::invalid("identityJson"))?;
        let docs = documents(request)?;
        // cheap checks first: nothing is decoded or sniffed for a request whose OTP is wrong
        check_document_lengths(&state.update_policy, &docs)?;
        let who = call.authorise(&id, &trn, &otp).await?;
        let draft = match decode_update(&state.schema, &state.update_policy, identity_json, &docs, call.now()) {
            Ok(d) => d,
            Err(e) => return Err(refuse_update(&call.ctx(), &who, &id, &trn, e).await?),
        };
        let svc = state.update_services();
        let Done { value, message, event_id } = request_update(&call.ctx(), &svc, &who, &id, &trn, draft).await?;
        Ok((UpdateResponse { registration_id: value.as_str().to_owned(), message }, Some(event_id.to_string())))
    }
    .await;
    call.finish(result).await
}
