//! MOSIP's request and response envelopes: `{id, version, requesttime, request}` in,
//! `{id, version, responsetime, response, errors}` out.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::clock::parse_mosip_datetime;
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceError {
    #[serde(rename = "errorCode")]
    pub error_code: String,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct ResponseEnvelope<T: Serialize> {
    pub id: Option<String>,
    pub version: Option<String>,
    pub responsetime: String,
    pub response: Option<T>,
    pub errors: Option<Vec<ServiceError>>,
}

/// A success answer; `id` and `version` are copied from the request, as MOSIP's response filter does.
pub fn ok<T: Serialize>(id: &str, version: &str, at: OffsetDateTime, response: T) -> Response {
    axum::Json(ResponseEnvelope {
        id: Some(id.to_owned()),
        version: Some(version.to_owned()),
        responsetime: resident_domain::clock::mosip_datetime(at),
        response: Some(response),
        errors: None,
    })
    .into_response()
}

/// Reads a JSON object body. Anything that is not one is RES-SER-418, never a 500.
pub fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, ResidentError> {
    let bytes = body.map_err(|e| ResidentError::BadRequest(e.body_text()))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ResidentError::BadRequest("the body must be a JSON object".into())),
        Err(e) => {
            Err(ResidentError::BadRequest(format!("JSON parse error at line {} column {}", e.line(), e.column())))
        }
    }
}

/// A non-empty string field, or `None` (missing, null, empty or not a string).
pub fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// MOSIP's envelope checks, in MOSIP's order: id, requesttime, version, request.
pub fn validate<'a>(
    body: &'a Map<String, Value>,
    api_id: &str,
    version: &str,
    invalid: fn(&str) -> ResidentError,
    missing: fn(&str) -> ResidentError,
) -> Result<&'a Map<String, Value>, ResidentError> {
    if text(body, "id") != Some(api_id) {
        return Err(invalid("id"));
    }
    if text(body, "requesttime").and_then(parse_mosip_datetime).is_none() {
        return Err(invalid("requesttime"));
    }
    if text(body, "version") != Some(version) {
        return Err(invalid("version"));
    }
    match body.get("request") {
        None | Some(Value::Null) => Err(missing("request")),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(ResidentError::BadRequest("request must be a JSON object".into())),
    }
}

/// Resident API flavour: every envelope fault is RES-SER-410.
pub fn validate_resident<'a>(
    body: &'a Map<String, Value>,
    api_id: &str,
    version: &str,
) -> Result<&'a Map<String, Value>, ResidentError> {
    validate(body, api_id, version, ResidentError::invalid, ResidentError::invalid)
}
