//! The embedded platform's audit manager (MOSIP's `POST /v1/auditmanager/audits`): another system (a
//! resident-services tier in front of this platform) writes its audit records into this platform's
//! chain. The caller needs a platform client's token with the `RESIDENT` role; the record is checked
//! by `resident_domain::audit::record_from_platform`.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::audit::record_from_platform;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::RequestMeta;

/// `POST /v1/auditmanager/audits` `{request: AuditRequestDto}` → `{response: {status: true}}`.
pub async fn audits(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = state.clock.now();
    let result = async {
        super::require_platform(&state, &headers, "RESIDENT").await?;
        let body = crate::envelope::json_body(body)?;
        let request = body.get("request").and_then(Value::as_object).ok_or_else(|| {
            ResidentError::Kernel("KER-AUD-001", "Invalid Audit Request. Required parameters must be present".into())
        })?;
        let record = record_from_platform(request, meta.request_id.clone())?;
        state.audit.append(record).await?;
        Ok::<_, ResidentError>(body)
    }
    .await;
    let (status, answer) = match result {
        Ok(body) => (
            axum::http::StatusCode::OK,
            json!({
                "id": body.get("id"), "version": body.get("version"),
                "responsetime": resident_domain::clock::mosip_datetime(now), "metadata": null,
                "response": {"status": true}, "errors": null,
            }),
        ),
        Err(e) => {
            if let Some(detail) = e.internal_detail() {
                tracing::error!(code = e.code(), detail, "an audit record was not written");
            }
            (
                crate::error::http_status(&e),
                json!({
                    "id": null, "version": null, "responsetime": resident_domain::clock::mosip_datetime(now),
                    "metadata": null, "response": null, "errors": [{"errorCode": e.code(), "message": e.message()}],
                }),
            )
        }
    };
    (status, axum::Json(answer)).into_response()
}
