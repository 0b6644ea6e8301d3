//! The embedded platform's masterdata as a resident-services tier in `mosip` mode reads it, for a
//! platform client with `RESIDENT`: notification templates
//! (`GET /v1/masterdata/templates/{lang}/{code}`) and the ID schema
//! (`GET /v1/syncdata/latestidschema`, `GET /v1/masterdata/idschema/latest`, `schemaJson` as text).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::clock::mosip_datetime;
use serde_json::{Value, json};

use crate::AppState;

const ROLE: &str = "RESIDENT";

fn answer(now: time::OffsetDateTime, result: Result<Value, ResidentError>) -> Response {
    let stamp = mosip_datetime(now);
    let (status, doc) = match result {
        Ok(response) => (
            axum::http::StatusCode::OK,
            json!({"id": null, "version": "1.0", "responsetime": stamp, "metadata": null, "response": response, "errors": null}),
        ),
        Err(e) => (
            crate::error::http_status(&e),
            json!({"id": null, "version": "1.0", "responsetime": stamp, "metadata": null, "response": null,
                   "errors": [{"errorCode": e.code(), "message": e.message()}]}),
        ),
    };
    (status, axum::Json(doc)).into_response()
}

/// `GET /v1/masterdata/templates/{lang}/{code}`: one template in masterdata's shape.
pub async fn template(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((lang, code)): Path<(String, String)>,
) -> Response {
    let now = state.clock.now();
    let result = async {
        super::require_platform(&state, &headers, ROLE).await?;
        let text = state
            .templates
            .text(&lang, &code)
            .ok_or_else(|| ResidentError::Kernel("KER-MSD-046", "Template not found".into()))?;
        Ok(json!({"templates": [{
            "id": code, "name": code, "description": code, "fileFormatCode": "txt", "model": "velocity",
            "fileText": text, "moduleId": "10004", "moduleName": "Resident Services",
            "templateTypeCode": code, "langCode": lang, "isActive": true,
        }]}))
    }
    .await;
    answer(now, result)
}

/// `GET /v1/syncdata/latestidschema` and `GET /v1/masterdata/idschema/latest`: the ID schema.
pub async fn id_schema(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = state.clock.now();
    let result = async {
        super::require_platform(&state, &headers, ROLE).await?;
        Ok(json!({
            "id": "resident-id-schema", "idVersion": state.schema.version, "title": "Resident identity",
            "schemaJson": state.schema.document().to_string(), "effectiveFrom": "2025-01-01T00:00:00.000Z",
        }))
    }
    .await;
    answer(now, result)
}
