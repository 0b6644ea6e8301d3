//! `POST /resident/v1/rid/check-status`: a registration's status by RID, no OTP.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::audit::AuditEvent;
use resident_domain::usecases::{CheckStatus, check_rid_status};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::RequestMeta;
use crate::envelope::{self, ServiceError, text};
use crate::error::ApiError;
use crate::{AppState, tags};

pub const API_ID: &str = "mosip.resident.checkstatus";
pub const VERSION: &str = "v1";

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RidStatusRequest {
    /// The 29-digit registration id.
    #[schema(example = "10001100010000120261126090000")]
    pub individual_id: String,
    /// Must be `RID`.
    #[schema(example = "RID")]
    pub individual_id_type: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckStatusRequest {
    #[schema(example = "mosip.resident.checkstatus")]
    pub id: String,
    #[schema(example = "v1")]
    pub version: String,
    /// `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`
    #[schema(example = "2026-11-26T09:00:00.000Z")]
    pub requesttime: String,
    pub request: RidStatusRequest,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RidStatus {
    /// PROCESSED, REJECTED, REREGISTER, RESEND, UNDER PROCESSING or
    /// WAITING FOR ADDITIONAL INFORMATION FROM APPLICANT
    #[schema(example = "PROCESSED")]
    pub rid_status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckStatusResponse {
    pub id: Option<String>,
    pub version: Option<String>,
    pub responsetime: String,
    pub response: Option<RidStatus>,
    /// Filled (and `response` null) when the request failed: RES-SER-410 for a bad envelope or
    /// field, RES-SER-408 for an unknown RID, RES-SER-418 for a body that is not JSON.
    pub errors: Option<Vec<ServiceError>>,
}

/// Check a registration's status by RID.
///
/// MOSIP 1.2.0 contract: business errors come back as HTTP 200 with `errors` filled.
#[utoipa::path(
    post,
    path = "/rid/check-status",
    tag = tags::RESIDENT,
    request_body = CheckStatusRequest,
    responses((status = 200, description = "Status, or a MOSIP error envelope", body = CheckStatusResponse))
)]
pub async fn check_status(
    State(state): State<AppState>,
    meta: RequestMeta,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = state.clock.now();
    let ctx = meta.audit_context(&state, "anonymous");
    let result = async {
        let body = envelope::json_body(body)?;
        let request = envelope::validate_resident(&body, API_ID, VERSION)?;
        if !text(request, "individualIdType").is_some_and(|t| t.eq_ignore_ascii_case("RID")) {
            return Err(ResidentError::invalid("individualIdType"));
        }
        let individual_id = text(request, "individualId").ok_or_else(|| ResidentError::invalid("individualId"))?;
        let status = check_rid_status(
            state.registrations.as_ref(),
            state.audit.as_ref(),
            &state.status_policy,
            &ctx,
            CheckStatus { individual_id: individual_id.to_owned() },
            now,
        )
        .await?;
        Ok(status)
    }
    .await;
    match result {
        Ok(status) => envelope::ok(API_ID, VERSION, now, RidStatus { rid_status: status }),
        Err(e) => {
            if matches!(e, ResidentError::InvalidInput(_) | ResidentError::BadRequest(_)) {
                let record =
                    AuditEvent::InputInvalid.record(&ctx, now, None, format!("get RID status: {}", e.message()));
                if let Err(audit_err) = state.audit.append(record).await {
                    tracing::error!(error = %audit_err, "could not audit a refused request");
                }
            }
            ApiError::new(e, Some(API_ID), VERSION, now).into_response()
        }
    }
}
