//! The embedded key manager's contracts, which a resident-services tier in `mosip` mode calls as
//! MOSIP's resident service calls MOSIP's key manager:
//!
//! - `GET /v1/keymanager/getCertificate?applicationId=…&referenceId=…` (also IDA's
//!   `/idauthentication/v1/internal/getCertificate`): IDA's `INTERNAL` certificate, which internal
//!   authentication requests are sealed for, and the `RESIDENT` signing certificate;
//! - `POST /v1/keymanager/jwtSign` (`JWTSignatureRequestDto`): a JSON document signed RS256 with the
//!   `RESIDENT` key, the certificate's SHA-256 thumbprint in the header (`x5t#S256`, and the
//!   certificate itself in `x5c` when asked), as MOSIP's key manager signs.
//!
//! Each key is RSA-2048, derived on first use (a second or so, off the async threads) from a seed
//! every replica shares, so all replicas hold the same keys. Callers need a platform client's token
//! with the `RESIDENT` role. Refusals are the key manager's: `errors[{errorCode, message}]`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use resident_domain::ResidentError;
use resident_domain::clock::mosip_datetime;
use resident_mosip::crypto::InternalKeys;
use serde_json::{Value, json};

use crate::AppState;

/// The role MOSIP's key manager and IDA ask of these callers.
const ROLE: &str = "RESIDENT";

/// A key pair of the embedded key manager, derived on first use from a seed every replica shares.
pub struct DerivedKeys {
    seed: [u8; 32],
    subject: &'static str,
    keys: tokio::sync::OnceCell<Arc<InternalKeys>>,
}

impl DerivedKeys {
    pub fn new(seed: [u8; 32], subject: &'static str) -> Self {
        DerivedKeys { seed, subject, keys: tokio::sync::OnceCell::new() }
    }

    pub async fn get(&self) -> Result<Arc<InternalKeys>, ResidentError> {
        let (seed, subject) = (self.seed, self.subject);
        self.keys
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || InternalKeys::derive(&seed, subject))
                    .await
                    .map_err(|e| ResidentError::Internal(e.to_string()))?
                    .map(Arc::new)
                    .map_err(ResidentError::Internal)
            })
            .await
            .cloned()
    }
}

/// The key an application id names: IDA's `INTERNAL` key, or the signing key (`RESIDENT`, and
/// MOSIP's default signing application `KERNEL`/`SIGN`).
async fn key_of(state: &AppState, application: &str, reference: &str) -> Result<Arc<InternalKeys>, ResidentError> {
    match (application, reference) {
        ("IDA", "INTERNAL") => state.ida_keys.get().await,
        ("RESIDENT", "") | ("KERNEL", "SIGN") => state.sign_keys.get().await,
        _ => Err(ResidentError::Kernel(
            "KER-KMS-002",
            "ApplicationId not found in Key Policy (IDA/INTERNAL and RESIDENT are served)".into(),
        )),
    }
}

fn answer(now: time::OffsetDateTime, result: Result<Value, ResidentError>) -> Response {
    let (status, doc) = match result {
        Ok(v) => (
            axum::http::StatusCode::OK,
            json!({"id": null, "version": null, "responsetime": mosip_datetime(now), "metadata": null, "response": v, "errors": null}),
        ),
        Err(e) => (
            crate::error::http_status(&e),
            json!({"id": null, "version": null, "responsetime": mosip_datetime(now), "metadata": null, "response": null,
                   "errors": [{"errorCode": e.code(), "message": e.message()}]}),
        ),
    };
    (status, axum::Json(doc)).into_response()
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateQuery {
    application_id: Option<String>,
    reference_id: Option<String>,
}

/// `GET …/getCertificate`: a key's certificate (the key manager's `KeyPairGenerateResponseDto`).
/// IDA's own path serves IDA's `INTERNAL` certificate only.
pub async fn certificate(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    query: Result<Query<CertificateQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let now = state.clock.now();
    let result = async {
        super::require_platform(&state, &headers, ROLE).await?;
        let Query(q) = query.map_err(|_| ResidentError::Kernel("KER-KMS-005", "Required data not found".into()))?;
        let application = q.application_id.unwrap_or_default();
        let reference = q.reference_id.unwrap_or_default();
        let ida_path = uri.path().starts_with("/idauthentication/");
        if ida_path && (application != "IDA" || reference != "INTERNAL") {
            return Err(ResidentError::Kernel(
                "KER-KMS-002",
                "ApplicationId not found in Key Policy (only IDA / INTERNAL is served)".into(),
            ));
        }
        let keys = key_of(&state, &application, &reference).await?;
        Ok(json!({
            "certificate": keys.certificate_pem(), "certSignRequest": null,
            "issuedAt": "2025-01-01T00:00:00.000Z", "expiryAt": "2035-01-01T00:00:00.000Z",
            "timestamp": mosip_datetime(now),
        }))
    }
    .await;
    answer(now, result)
}

/// `POST /v1/keymanager/jwtSign`: `dataToSign` (base64url of a JSON document) signed with the
/// signing key. The payload is always included (MOSIP's detached form is not served) and the
/// certificate's thumbprint always named; the certificate goes in `x5c` when `includeCertificate`.
pub async fn jwt_sign(
    State(state): State<AppState>,
    meta: crate::api::RequestMeta,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = state.clock.now();
    let result = async {
        let client = super::require_platform(&state, &headers, ROLE).await?;
        let invalid = || ResidentError::Kernel("KER-CSS-999", "Invalid request input".into());
        let body = body.map_err(|_| invalid())?;
        let doc: Value = serde_json::from_slice(&body).map_err(|_| invalid())?;
        let request = doc.get("request").and_then(Value::as_object).ok_or_else(invalid)?;
        let text = |k: &str| request.get(k).and_then(Value::as_str).unwrap_or_default();
        let data = text("dataToSign").trim();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(data.trim_end_matches('='))
            .ok()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| ResidentError::Kernel("KER-JWS-102", "Data to sign is not valid.".into()))?;
        let payload = String::from_utf8(bytes)
            .ok()
            .filter(|t| serde_json::from_str::<Value>(t).is_ok())
            .ok_or_else(|| ResidentError::Kernel("KER-JWS-103", "Data to sign is not valid JSON.".into()))?;
        if request.get("includePayload").and_then(Value::as_bool) == Some(false) {
            return Err(ResidentError::Kernel(
                "KER-JWS-104",
                "Error - Unable to sign the data (only signatures with the payload included are made here).".into(),
            ));
        }
        // one signing key: `RESIDENT`'s, which is also what MOSIP's key manager falls back to for an
        // application without a signing key of its own (never IDA's decryption key)
        let keys = state.sign_keys.get().await?;
        let with_certificate = request.get("includeCertificate").and_then(Value::as_bool) == Some(true);
        let jws = keys.jwt_sign(&payload, with_certificate).map_err(ResidentError::Internal)?;
        // who had what signed, by the document's digest: never the document (a resident's claims)
        let digest = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(payload.as_bytes()));
        let record = resident_domain::audit::AuditEvent::DocumentSigned.record(
            &meta.audit_context(&state, &client),
            now,
            None,
            format!("a JSON document of SHA-256 {} signed with the RESIDENT key", &digest[..16]),
        );
        state.audit.append(record).await?;
        Ok(json!({"jwtSignedData": jws, "timestamp": mosip_datetime(now)}))
    }
    .await;
    answer(now, result)
}
