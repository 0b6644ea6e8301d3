//! Credentials for partners, MOSIP 1.2.0's `/req/credential` family. Requesting needs the OTP in the
//! body, as in MOSIP. Status, card and cancel take MOSIP's request id alone for a while after the
//! request (`card.request_id_minutes`; the card once, and only when it is protected with the
//! resident's own key), or proof of ownership at any time: the headers `X-Individual-Id`,
//! `X-Transaction-Id` and `X-OTP` (an OTP requested for that identity), which answer only about the
//! caller's own requests. The rules are the domain's (`credential::access`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::auth_usecases::Done;
use resident_domain::credential::{
    CREDENTIAL_TYPES, CredentialAsk, Proof, cancel_credential, credential_status, credential_types,
    download_credential, request_credential,
};
use resident_domain::ids::IndividualId;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::RequestMeta;
use super::auth::{Call, otp_fields};
use crate::envelope::{self, text};
use crate::{AppState, tags};

#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialRequestResponse {
    /// The individual id the credential is for.
    pub id: String,
    #[serde(rename = "requestId")]
    pub request_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialStatusResponse {
    pub id: String,
    #[serde(rename = "requestId")]
    pub request_id: String,
    /// NEW, ISSUED, FAILED or CANCELLED.
    #[serde(rename = "statusCode")]
    pub status_code: String,
}

fn flag(request: &Map<String, Value>, key: &str) -> Result<bool, ResidentError> {
    match request.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ResidentError::invalid(key)),
    }
}

/// Ask for a credential for a partner (OTP). `credentialType`: `euin`, `reprint` (a card PDF, protected
/// with `encryptionKey` when `encrypt` is true, else with the card password rule), `qrcode` or `vercred`
/// (a signed JWS of the attributes). `issuer`: the partner; its policy for the type limits
/// `sharableAttributes` (all the policy's when empty). An empty `encryptionKey` gets a random 6-digit PIN,
/// sent to the resident. RES-SER-426 when the partner has no policy for the type.
#[utoipa::path(post, path = "/req/credential", tag = tags::RESIDENT, request_body(content = Object, description = "{request: {transactionID, individualId, otp, credentialType, issuer, encrypt, encryptionKey, sharableAttributes, additionalData}}"),
    responses((status = 200, description = "The request id, or a MOSIP error envelope; header `eventId`", body = CredentialRequestResponse)))]
pub async fn request(
    State(state): State<AppState>,
    meta: RequestMeta,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.resident.credential.request";
    let call = Call::new(&state, &meta, API);
    let result = async {
        // MOSIP 1.2.0 does not check this envelope's id or version: neither do we
        let body = envelope::json_body(body)?;
        let request = match body.get("request") {
            Some(Value::Object(m)) => m,
            _ => return Err(ResidentError::invalid("request")),
        };
        let (id, trn, otp) = otp_fields(request)?;
        let credential_type = text(request, "credentialType")
            .filter(|t| CREDENTIAL_TYPES.iter().any(|(id, ..)| id == t))
            .ok_or_else(|| ResidentError::invalid("credentialType"))?;
        // a partner id: looked up, never stored unless it names a partner
        let issuer = text(request, "issuer")
            .filter(|i| i.len() <= MAX_PARTNER_ID)
            .ok_or_else(|| ResidentError::invalid("issuer"))?;
        let encryption_key = text(request, "encryptionKey");
        if encryption_key.is_some_and(|k| k.len() > MAX_ENCRYPTION_KEY) {
            return Err(ResidentError::invalid("encryptionKey"));
        }
        let encrypt = flag(request, "encrypt")?;
        let sharable = match request.get("sharableAttributes") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| ResidentError::invalid("sharableAttributes")))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(ResidentError::invalid("sharableAttributes")),
        };
        if sharable.len() > MAX_ATTRIBUTES || sharable.iter().any(|a| a.len() > MAX_ATTRIBUTE_NAME) {
            return Err(ResidentError::invalid("sharableAttributes"));
        }
        // MOSIP 1.2.1 passes IDA's IDA-MLC-018 through for an OTP that does not authorise the request
        let who = call.authorise(&id, &trn, &otp).await.map_err(|e| match e {
            ResidentError::OtpValidationFailed(_) => {
                ResidentError::Ida("IDA-MLC-018", format!("{} not available in database", id.id_type()))
            }
            other => other,
        })?;
        let ask = CredentialAsk {
            credential_type: credential_type.to_owned(),
            issuer: issuer.to_owned(),
            encrypt,
            encryption_key: encryption_key.map(str::to_owned),
            sharable_attributes: sharable,
        };
        let Done { value, event_id, .. } =
            request_credential(&call.ctx(), state.credentials.as_ref(), &who, &id, &trn, ask).await?;
        Ok((CredentialRequestResponse { id: id.expose().to_owned(), request_id: value }, Some(event_id.to_string())))
    }
    .await;
    call.finish(result).await
}

/// Bounds on what a credential request may carry (each is far above any real value).
const MAX_PARTNER_ID: usize = 64;
const MAX_ENCRYPTION_KEY: usize = 8192;
const MAX_ATTRIBUTES: usize = 64;
const MAX_ATTRIBUTE_NAME: usize = 64;

/// The identity the ownership headers prove, or `None` when none of them is sent (the request id
/// alone). Sending some of them and not the others is an input error.
async fn owner(
    call: &Call<'_>,
    headers: &HeaderMap,
) -> Result<Option<resident_domain::ports::Resolved>, ResidentError> {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let (id, trn, otp) = (h("x-individual-id"), h("x-transaction-id"), h("x-otp"));
    if id.is_none() && trn.is_none() && otp.is_none() {
        return Ok(None);
    }
    let id = id.and_then(IndividualId::parse).ok_or_else(|| ResidentError::invalid("X-Individual-Id"))?;
    let trn = trn.ok_or_else(|| ResidentError::invalid("X-Transaction-Id"))?;
    let otp = otp.ok_or_else(|| ResidentError::invalid("X-OTP"))?;
    call.authorise(&id, trn, otp).await.map(Some)
}

fn proof<'a>(state: &AppState, who: Option<&'a resident_domain::ports::Resolved>) -> Proof<'a> {
    match who {
        Some(who) => Proof::Owner(who),
        None => Proof::RequestId { window: state.request_id_window },
    }
}

/// The status of a credential request: NEW, ISSUED, PRINTED (a print partner's card is ready),
/// FAILED or CANCELLED. The request id alone works for `card.request_id_minutes` after the request;
/// the ownership headers (`X-Individual-Id`, `X-Transaction-Id`, `X-OTP`) at any time.
#[utoipa::path(get, path = "/req/credential/status/{requestId}", tag = tags::RESIDENT, params(("requestId" = String, Path, description = "A UUID")),
    responses((status = 200, description = "Status, or a MOSIP error envelope (RES-SER-29, RES-SER-458, RES-SER-422)", body = CredentialStatusResponse)))]
pub async fn status(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Path(request_id): Path<String>,
) -> Response {
    let call = Call::new(&state, &meta, "mosip.resident.credential.status");
    let result = async {
        let who = owner(&call, &headers).await?;
        let r = credential_status(
            state.credentials.as_ref(),
            state.audit.as_ref(),
            call.audit(),
            proof(&state, who.as_ref()),
            &request_id,
            call.now(),
        )
        .await?;
        Ok((
            CredentialStatusResponse {
                id: individual(&state, &r.identity_id, who.as_ref()).await?,
                request_id: r.request_id,
                status_code: r.status.code().into(),
            },
            None,
        ))
    }
    .await;
    call.finish(result).await
}

/// The masked UIN a status or cancel answer names.
async fn individual(
    state: &AppState,
    identity_id: &str,
    who: Option<&resident_domain::ports::Resolved>,
) -> Result<String, ResidentError> {
    if let Some(who) = who {
        return Ok(who.uin.masked());
    }
    let stored = state.identities.identity_by_id(identity_id).await?;
    Ok(stored.map(|s| s.uin.masked()).unwrap_or_default())
}

/// Download an issued credential: a card (`application/pdf`) or a signed credential
/// (`application/jwt`). RES-SER-509 until it is issued (for a print partner: printed). The request
/// id alone downloads it once, within `card.request_id_minutes`, and only a card protected with the
/// resident's own key (`encrypt` with their `encryptionKey` or the PIN sent to them); otherwise the
/// ownership headers are needed.
#[utoipa::path(get, path = "/req/card/{requestId}", tag = tags::RESIDENT, params(("requestId" = String, Path, description = "A UUID")),
    responses((status = 200, description = "The credential, or a MOSIP error envelope (RES-SER-29, RES-SER-458, RES-SER-509)")))]
pub async fn card(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Path(request_id): Path<String>,
) -> Response {
    let call = Call::new(&state, &meta, "mosip.resident.credential.card");
    let result = async {
        let who = owner(&call, &headers).await?;
        download_credential(
            state.credentials.as_ref(),
            call.audit(),
            proof(&state, who.as_ref()),
            &request_id,
            call.now(),
        )
        .await
    }
    .await;
    match result {
        Ok(data) => {
            let ext = if data.content_type == "application/pdf" { "pdf" } else { "jwt" };
            let mut res = data.bytes.into_response();
            let h = res.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&data.content_type) {
                h.insert(header::CONTENT_TYPE, v);
            }
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{request_id}.{ext}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => call.finish::<()>(Err(e)).await,
    }
}

/// Cancel (withdraw) a credential request: not yet issued, it never is; issued or printed, its
/// artefact is deleted. The resident is told. RES-SER-24 once it is cancelled or failed. The request
/// id alone works within `card.request_id_minutes`; the ownership headers at any time.
#[utoipa::path(get, path = "/req/credential/cancel/{requestId}", tag = tags::RESIDENT, params(("requestId" = String, Path, description = "A UUID")),
    responses((status = 200, description = "{requestId, id}, or a MOSIP error envelope", body = CredentialRequestResponse)))]
pub async fn cancel(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Path(request_id): Path<String>,
) -> Response {
    let call = Call::new(&state, &meta, "mosip.resident.credential.cancel");
    let result = async {
        let who = owner(&call, &headers).await?;
        let r = cancel_credential(
            &call.ctx(),
            state.credentials.as_ref(),
            state.identities.as_ref(),
            proof(&state, who.as_ref()),
            &request_id,
        )
        .await?;
        let id = individual(&state, &r.identity_id, who.as_ref()).await?;
        Ok((CredentialRequestResponse { id, request_id: r.request_id }, None))
    }
    .await;
    call.finish(result).await
}

/// `/req/card/`, `/req/credential/status/` and `/req/credential/cancel/` with an empty request id:
/// RES-SER-29, as MOSIP answers.
pub async fn empty_request_id(State(state): State<AppState>) -> Response {
    crate::error::ApiError::new(ResidentError::InvalidId, None, "v1", state.clock.now()).into_response()
}

/// The credential types and the partners that may receive each (MOSIP's credential-service shape).
#[utoipa::path(get, path = "/credential/types", tag = tags::RESIDENT,
    responses((status = 200, description = "{credentialTypes: [{id, name, description, issuers: [{code, name}]}]}", body = Object)))]
pub async fn types(State(state): State<AppState>) -> Response {
    match credential_types(state.credentials.as_ref(), state.auth.as_ref()).await {
        Ok(types) => Json(json!({"credentialTypes": types.iter().map(|(id, name, description, issuers)| json!({
            "id": id, "name": name, "description": description,
            "issuers": issuers.iter().map(|p| json!({"code": p.id, "name": p.name})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()}))
        .into_response(),
        Err(e) => crate::error::ApiError::new(e, Some("mosip.resident.credential.types"), "v1", state.clock.now())
            .into_response(),
    }
}

/// A partner's policy (PMS's shape): for a credential type what it may receive; for `auth` its authentication
/// policy (the demographic attributes it must present). PMS_PRT_064 when there is none.
#[utoipa::path(get, path = "/req/policy/partnerId/{partnerId}/credentialType/{credentialType}", tag = tags::RESIDENT,
    params(("partnerId" = String, Path, description = "The partner"), ("credentialType" = String, Path, description = "e.g. euin")),
    responses((status = 200, description = "The policy, or a MOSIP error envelope", body = Object)))]
pub async fn policy(
    State(state): State<AppState>,
    Path((partner_id, credential_type)): Path<(String, String)>,
) -> Response {
    const API: &str = "mosip.resident.policy";
    let now = state.clock.now();
    let found = resident_domain::credential::partner_policy(
        state.auth.as_ref(),
        state.credentials.as_ref(),
        &partner_id,
        &credential_type,
    )
    .await;
    match found {
        Ok(policy) => envelope::ok(API, "v1", now, policy),
        Err(e) => crate::error::ApiError::new(e, Some(API), "v1", now).into_response(),
    }
}
