//! `POST /idrepository/v1/identity/`: ID Repository's create contract, for a registration processor.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use resident_domain::ResidentError;
use resident_domain::ports::{CreateOutcome, NewDocument};
use resident_domain::usecases::{CreateIdentity, create_identity};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::api::RequestMeta;
use crate::envelope::{self, ServiceError, text};
use crate::error::ApiError;
use crate::{AppState, tags};

pub const API_ID: &str = "mosip.id.create";
pub const VERSION: &str = "v1";

/// The largest identity a registration processor may send: the identity JSON with its documents and
/// photo, in base64.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityCreated {
    /// `ACTIVATED`
    pub status: String,
    /// The UIN the identity has (allocated here when the request carried none).
    #[schema(example = json!({"UIN": "2013023805"}))]
    pub identity: Value,
    /// `true` when the same registration (or the same identity) had already been stored.
    #[serde(rename = "alreadyPresent")]
    pub already_present: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateIdentityResponse {
    pub id: Option<String>,
    pub version: Option<String>,
    pub responsetime: String,
    pub response: Option<IdentityCreated>,
    /// IDR-IDC-001 missing, IDR-IDC-002 invalid (`identity/<field>`), IDR-IDC-012 UIN exists, KER-ATH-401.
    pub errors: Option<Vec<ServiceError>>,
}

/// Add an identity to the registry (ID Repository create).
///
/// Body: `{id: "mosip.id.create", version: "v1", requesttime, request: {registrationId, identity: {...},
/// documents: [{category, value (base64url)}]}}`. Requires the token of a platform client holding
/// `REGISTRATION_PROCESSOR` (from `/v1/authmanager/authenticate/clientidsecretkey`), or the service
/// key (`Authorization: Bearer`).
#[utoipa::path(
    post,
    path = "/identity/",
    tag = tags::PLATFORM,
    request_body(content = Object, description = "MOSIP ID Repository create request"),
    responses(
        (status = 200, description = "Created, or a MOSIP error envelope", body = CreateIdentityResponse),
        (status = 401, description = "No or wrong credential (a client's token or the service key)", body = CreateIdentityResponse)
    ),
    security(("service_key" = []))
)]
pub async fn create(State(state): State<AppState>, meta: RequestMeta, headers: HeaderMap, body: Body) -> Response {
    let now = state.clock.now();
    let result = async {
        // the key first: a caller without it gets nothing read, let alone 16 MB buffered
        super::require_platform(&state, &headers, "REGISTRATION_PROCESSOR").await?;
        if !crate::middleware::declares_json(&headers) {
            return Err(ResidentError::IdRepoInvalidInput("Content-Type".into()));
        }
        let body = axum::body::to_bytes(body, BODY_LIMIT)
            .await
            .map_err(|_| ResidentError::IdRepoInvalidInput("request".into()))?;
        let ctx = meta.audit_context(&state, "registration-processor");
        let body = envelope::json_body(Ok(body)).map_err(|_| ResidentError::IdRepoInvalidInput("request".into()))?;
        let request = envelope::validate(
            &body,
            API_ID,
            VERSION,
            |f| ResidentError::IdRepoInvalidInput(f.into()),
            |f| ResidentError::IdRepoMissingInput(f.into()),
        )?;
        let registration_id = text(request, "registrationId")
            .ok_or_else(|| ResidentError::IdRepoMissingInput("registrationId".into()))?
            .to_owned();
        let identity = request.get("identity").ok_or_else(|| ResidentError::IdRepoMissingInput("identity".into()))?;
        let mut documents = Vec::new();
        for (i, doc) in request.get("documents").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let bad = || ResidentError::IdRepoInvalidInput(format!("documents/{i}"));
            let category = doc.get("category").and_then(Value::as_str).filter(|c| !c.is_empty()).ok_or_else(bad)?;
            let value = doc.get("value").and_then(Value::as_str).ok_or_else(bad)?;
            let content = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(value.trim_end_matches('='))
                .map_err(|_| bad())?;
            let format =
                identity.pointer(&format!("/{category}/format")).and_then(Value::as_str).unwrap_or("bin").to_owned();
            documents.push(NewDocument { category: category.to_owned(), format, content });
        }
        let doc = json!({ "identity": identity });
        create_identity(
            state.identities.as_ref(),
            state.audit.as_ref(),
            &state.schema,
            &ctx,
            CreateIdentity { document: doc, registration_id: Some(registration_id), documents },
            now,
        )
        .await
    }
    .await;
    match result {
        Ok(created) => envelope::ok(
            API_ID,
            VERSION,
            now,
            IdentityCreated {
                status: "ACTIVATED".into(),
                identity: json!({ "UIN": created.uin.expose() }),
                already_present: created.outcome == CreateOutcome::AlreadyPresent,
            },
        ),
        Err(e) => ApiError::new(e, Some(API_ID), VERSION, now).into_response(),
    }
}
