//! OTP-protected resident services of MOSIP 1.2.0: `/req/otp`, `/vid`, `/vid/{vid}`, `/req/auth-lock`,
//! `/req/auth-unlock`, `/req/auth-history`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::audit::{AuditContext, AuditEvent};
use resident_domain::auth_usecases::{self as uc, AuthContext, Done, authorise_with_otp, parse_individual};
use resident_domain::authtype::AuthType;
use resident_domain::clock::{mosip_datetime, parse_mosip_datetime};
use resident_domain::ids::{IndividualId, Vid};
use resident_domain::otp::{OtpChannel, Requester, valid_transaction_id};
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::RequestMeta;
use crate::envelope::{self, text};
use crate::error::ApiError;
use crate::{AppState, tags};

const VERSION: &str = "v1";

pub(crate) fn context<'a>(state: &'a AppState, audit: &'a AuditContext, now: OffsetDateTime) -> AuthContext<'a> {
    AuthContext {
        repo: state.auth.as_ref(),
        partners: state.auth.as_ref(),
        ida: state.ida.as_ref(),
        idrepo: state.idrepo.as_ref(),
        keys: state.keys.as_ref(),
        templates: &state.templates,
        otp_policy: &state.otp_policy,
        vid_policy: &state.vid_policy,
        audit,
        now,
    }
}

/// The fields every OTP-protected request carries, checked in MOSIP's order.
pub(crate) fn otp_fields(request: &Map<String, Value>) -> Result<(IndividualId, String, String), ResidentError> {
    let id = text(request, "individualId")
        .and_then(IndividualId::parse)
        .ok_or_else(|| ResidentError::invalid("individualId"))?;
    let otp = text(request, "otp").ok_or_else(|| ResidentError::invalid("otp"))?;
    let trn = text(request, "transactionID").ok_or_else(|| ResidentError::invalid("transactionId"))?;
    Ok((id, trn.to_owned(), otp.to_owned()))
}

/// `individualIdType` (`UIN` or `VID`) and the OTP fields, the id of the type named.
pub(crate) fn typed_otp_fields(request: &Map<String, Value>) -> Result<(IndividualId, String, String), ResidentError> {
    let id_type = text(request, "individualIdType")
        .filter(|t| t.eq_ignore_ascii_case("UIN") || t.eq_ignore_ascii_case("VID"))
        .ok_or_else(|| ResidentError::invalid("individualIdType"))?;
    let (id, trn, otp) = otp_fields(request)?;
    if !id.id_type().eq_ignore_ascii_case(id_type) {
        return Err(ResidentError::invalid("individualId"));
    }
    Ok((id, trn, otp))
}

/// One OTP-protected resident request: which API, when, and the audit context.
pub(crate) struct Call<'a> {
    state: &'a AppState,
    audit: AuditContext,
    now: OffsetDateTime,
    api: &'static str,
    /// Set once the OTP authorised the request: later refusals audit themselves.
    authorised: std::sync::atomic::AtomicBool,
}

impl<'a> Call<'a> {
    pub(crate) fn new(state: &'a AppState, meta: &RequestMeta, api: &'static str) -> Self {
        Call {
            state,
            audit: meta.audit_context(state, "resident"),
            now: state.clock.now(),
            api,
            authorised: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.now
    }

    pub(crate) fn audit(&self) -> &AuditContext {
        &self.audit
    }

    /// Checks the request's OTP (see [`authorise_with_otp`]).
    pub(crate) async fn authorise(
        &self,
        id: &IndividualId,
        trn: &str,
        otp: &str,
    ) -> Result<resident_domain::ports::Resolved, ResidentError> {
        let who = authorise_with_otp(&self.ctx(), id, trn, otp).await?;
        self.authorised.store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(who)
    }

    /// The `request` object of a valid MOSIP envelope for this API.
    pub(crate) fn request(&self, body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, ResidentError> {
        let body = envelope::json_body(body)?;
        envelope::validate_resident(&body, self.api, VERSION).cloned()
    }

    pub(crate) fn ctx(&self) -> AuthContext<'_> {
        context(self.state, &self.audit, self.now)
    }

    pub(crate) async fn finish<T: Serialize>(&self, result: Result<(T, Option<String>), ResidentError>) -> Response {
        let audit_input = !self.authorised.load(std::sync::atomic::Ordering::Relaxed);
        answer(self.state, &self.audit, self.api, self.now, result, audit_input).await
    }
}

fn with_event(mut res: Response, event_id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(event_id) {
        res.headers_mut().insert("eventId", v);
    }
    res
}

async fn answer<T: Serialize>(
    state: &AppState,
    audit: &AuditContext,
    api: &'static str,
    now: OffsetDateTime,
    result: Result<(T, Option<String>), ResidentError>,
    audit_input: bool,
) -> Response {
    // a request refused for its input is audited too (OTP and later failures audit themselves)
    if let Err(
        e @ (ResidentError::InvalidInput(_)
        | ResidentError::BadRequest(_)
        | ResidentError::InvalidPageStart
        | ResidentError::InvalidPageFetch
        | ResidentError::UnsupportedInput(_)
        | ResidentError::DocumentNotFound
        | ResidentError::DocumentTooLarge
        | ResidentError::UnsupportedFileType),
    ) = &result
        && audit_input
    {
        let record = AuditEvent::InputInvalid.record(audit, now, None, format!("{api}: {} {}", e.code(), e.message()));
        if let Err(err) = state.audit.append(record).await {
            tracing::error!(error = %err, "could not audit a refused request");
        }
    }
    match result {
        Ok((body, event)) => {
            let res = envelope::ok(api, VERSION, now, body);
            match event {
                Some(e) => with_event(res, &e),
                None => res,
            }
        }
        Err(e) => ApiError::new(e, Some(api), VERSION, now).into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// POST /req/otp (IDA's own envelope, not MOSIP's resident wrapper)

#[derive(Debug, Serialize, ToSchema)]
pub struct OtpRequestDoc {
    #[schema(example = "mosip.identity.otp.internal")]
    pub id: String,
    #[schema(example = "1.0")]
    pub version: String,
    /// Exactly ten letters or digits; the same id goes with the OTP when it is used.
    #[serde(rename = "transactionID")]
    #[schema(example = "1234567890")]
    pub transaction_id: String,
    #[serde(rename = "requestTime")]
    #[schema(example = "2026-11-26T09:00:00.000Z")]
    pub request_time: String,
    /// UIN or VID.
    #[serde(rename = "individualId")]
    #[schema(example = "5075291708")]
    pub individual_id: String,
    /// `EMAIL` and/or `PHONE`.
    #[serde(rename = "otpChannel")]
    pub otp_channel: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdaError {
    #[serde(rename = "errorCode")]
    pub error_code: String,
    #[serde(rename = "errorMessage")]
    pub error_message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaskedContacts {
    #[serde(rename = "maskedEmail", skip_serializing_if = "Option::is_none")]
    pub masked_email: Option<String>,
    #[serde(rename = "maskedMobile", skip_serializing_if = "Option::is_none")]
    pub masked_mobile: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OtpResponseDoc {
    pub id: String,
    pub version: String,
    #[serde(rename = "transactionID")]
    pub transaction_id: Option<String>,
    #[serde(rename = "responseTime")]
    pub response_time: String,
    pub errors: Option<Vec<IdaError>>,
    pub response: Option<MaskedContacts>,
    pub metadata: Option<Value>,
}

/// Request an OTP by email and/or SMS (IDA's internal OTP contract).
///
/// Errors use IDA's codes and `errorMessage` (IDA-MLC-002/004/006/009/018, IDA-OTA-001/008/013).
#[utoipa::path(post, path = "/req/otp", tag = tags::RESIDENT, request_body = OtpRequestDoc,
    responses((status = 200, description = "Masked contacts the OTP went to, or IDA errors", body = OtpResponseDoc)))]
pub async fn request_otp(
    State(state): State<AppState>,
    meta: RequestMeta,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let audit = meta.audit_context(&state, "anonymous");
    otp_endpoint(&state, &audit, body, "mosip.identity.otp.internal", &OtpFor::Resident).await
}

/// Who an OTP request in IDA's shape is served for.
pub(crate) enum OtpFor<'a> {
    /// The resident's own request to resident services (which asks ID Authentication).
    Resident,
    /// A request the embedded IDA serves itself: a relying party's, or a resident tier's.
    Ida(&'a Requester),
}

/// IDA's OTP contract, for the resident and for the embedded IDA's callers.
pub(crate) async fn otp_endpoint(
    state: &AppState,
    audit: &AuditContext,
    body: Result<Bytes, BytesRejection>,
    api: &'static str,
    target: &OtpFor<'_>,
) -> Response {
    let now = state.clock.now();
    let mut transaction_id = None;
    let result: Result<MaskedContacts, ResidentError> = async {
        let body = envelope::json_body(body).map_err(|e| ResidentError::Ida("IDA-MLC-009", e.message()))?;
        transaction_id = text(&body, "transactionID").map(str::to_owned);
        send_otp(state, audit, &body, api, "transactionID", target, now).await
    }
    .await;
    match result {
        Ok(r) => ida_answer(api, transaction_id, now, Some(serde_json::to_value(r).unwrap_or(Value::Null)), None),
        Err(e) => ida_answer(api, transaction_id, now, None, Some(e)),
    }
}

/// An OTP request in IDA's shape (`trn_key` names its transaction id: `transactionID`, or
/// `transactionId` as MOSIP 1.2.1's `/individualId/otp` spells it), checked in IDA's order and sent.
pub(crate) async fn send_otp(
    state: &AppState,
    audit: &AuditContext,
    body: &Map<String, Value>,
    api: &str,
    trn_key: &str,
    target: &OtpFor<'_>,
    now: OffsetDateTime,
) -> Result<MaskedContacts, ResidentError> {
    let missing = |f: &str| ResidentError::Ida("IDA-MLC-006", format!("Missing Input Parameter - {f}"));
    let invalid = |f: &str| ResidentError::Ida("IDA-MLC-009", format!("Invalid Input Parameter - {f}"));
    let time = text(body, "requestTime").ok_or_else(|| missing("requestTime"))?;
    parse_mosip_datetime(time).ok_or_else(|| invalid("requestTime"))?;
    let trn = text(body, trn_key).ok_or_else(|| missing(trn_key))?;
    if !valid_transaction_id(trn) {
        return Err(invalid(trn_key));
    }
    if text(body, "id") != Some(api) {
        return Err(invalid("id"));
    }
    let channels = body
        .get("otpChannel")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ResidentError::Ida("IDA-OTA-008", "OTP Notification Channel not provided".into()))?;
    let mut parsed = Vec::new();
    for c in channels {
        let name = c.as_str().unwrap_or_default();
        let ch = OtpChannel::parse(name).ok_or_else(|| invalid(&format!("otpChannel - {name}")))?;
        if !parsed.contains(&ch) {
            parsed.push(ch);
        }
    }
    // IDA: no id, or one that is not digits, is "invalid" (IDA-MLC-009); digits that fail the UIN
    // or VID rules are IDA-MLC-002 / 004
    let individual = text(body, "individualId")
        .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| invalid("individualId"))?;
    let individual = parse_individual(individual)?;
    let sent = match target {
        OtpFor::Resident => uc::request_otp(&context(state, audit, now), &individual, trn, &parsed).await?,
        OtpFor::Ida(requester) => {
            let call = resident_domain::ida::IdaCall { audit, now };
            state.embedded_ida.send_otp(&call, requester, &individual, trn, &parsed).await?
        }
    };
    Ok(MaskedContacts { masked_email: sent.masked_email, masked_mobile: sent.masked_mobile })
}

/// IDA's response envelope (`errorMessage`, `transactionID`, `responseTime`).
pub(crate) fn ida_answer(
    api: &str,
    transaction_id: Option<String>,
    now: OffsetDateTime,
    response: Option<Value>,
    error: Option<ResidentError>,
) -> Response {
    let status = match &error {
        Some(e) => {
            if let Some(detail) = e.internal_detail() {
                tracing::error!(code = e.code(), detail, "IDA request failed");
            }
            crate::error::http_status(e)
        }
        None => axum::http::StatusCode::OK,
    };
    let errors = error.map(|e| vec![IdaError { error_code: e.code().to_owned(), error_message: e.message() }]);
    let doc = IdaResponse {
        id: api.into(),
        version: "1.0".into(),
        transaction_id,
        response_time: mosip_datetime(now),
        errors,
        response,
        metadata: None,
    };
    (status, axum::Json(doc)).into_response()
}

#[derive(Debug, Serialize)]
pub(crate) struct IdaResponse {
    pub id: String,
    pub version: String,
    #[serde(rename = "transactionID")]
    pub transaction_id: Option<String>,
    #[serde(rename = "responseTime")]
    pub response_time: String,
    pub errors: Option<Vec<IdaError>>,
    pub response: Option<Value>,
    pub metadata: Option<Value>,
}

// ---------------------------------------------------------------------------------------------
// POST /vid and PATCH /vid/{vid}

#[derive(Debug, Serialize, ToSchema)]
pub struct VidResponse {
    /// The new VID (in clear, to its owner).
    pub vid: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub message: String,
}

/// Generate a VID (`mosip.resident.vid`, OTP). `vidType`: `Perpetual`, `Temporary` or `OneTimeUse`.
///
/// Request: `{transactionID, individualId (UIN or VID), otp, vidType}`. RES-SER-405 when the policy's
/// limit is reached, RES-SER-422 for a wrong OTP, RES-SER-410 for a bad field.
#[utoipa::path(post, path = "/vid", tag = tags::RESIDENT, request_body(content = Object, description = "MOSIP envelope"),
    responses((status = 200, description = "The VID, or a MOSIP error envelope; header `eventId`", body = VidResponse)))]
pub async fn generate_vid(
    State(state): State<AppState>,
    meta: RequestMeta,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.resident.vid";
    let call = Call::new(&state, &meta, API);
    let result = async {
        let request = call.request(body)?;
        let request = &request;
        let (id, trn, otp) = otp_fields(request)?;
        // an empty vidType is MOSIP 1.2.1's RES-SER-406 after the OTP; a missing or unknown one RES-SER-410
        let empty_type = request.get("vidType").and_then(Value::as_str) == Some("");
        let vid_type = text(request, "vidType").unwrap_or_default();
        let ctx = call.ctx();
        if !empty_type && ctx.vid_policy.lookup(vid_type).is_none() {
            return Err(ResidentError::invalid("vidType"));
        }
        let who = authorise_with_otp(&ctx, &id, &trn, &otp).await?;
        if empty_type {
            return Err(ResidentError::VidCreationFailed);
        }
        let Done { value, message, event_id } = uc::generate_vid(&ctx, &who, &id, &trn, vid_type).await?;
        Ok((VidResponse { vid: value.expose().to_owned(), message }, Some(event_id.to_string())))
    }
    .await;
    call.finish(result).await
}

/// Revoke a VID (`mosip.resident.vidstatus`, OTP sent to that VID). `vidStatus` must be `REVOKED`.
#[utoipa::path(patch, path = "/vid/{vid}", tag = tags::RESIDENT, params(("vid" = String, Path, description = "The VID to revoke")),
    request_body(content = Object, description = "MOSIP envelope"),
    responses((status = 200, description = "Done, or a MOSIP error envelope; header `eventId`", body = MessageResponse)))]
pub async fn revoke_vid(
    State(state): State<AppState>,
    meta: RequestMeta,
    Path(vid): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.resident.vidstatus";
    let call = Call::new(&state, &meta, API);
    let result = async {
        let request = call.request(body)?;
        let request = &request;
        if !text(request, "vidStatus").is_some_and(|s| s.eq_ignore_ascii_case("REVOKED")) {
            return Err(ResidentError::invalid("vidStatus"));
        }
        // MOSIP 1.2.1: the resident proves any of the identity's ids (the UIN, this VID or another)
        let id_type = text(request, "individualIdType");
        if id_type.is_some_and(|t| !t.eq_ignore_ascii_case("VID") && !t.eq_ignore_ascii_case("UIN")) {
            return Err(ResidentError::invalid("individualIdType"));
        }
        let (id, trn, otp) = otp_fields(request)?;
        if id_type.is_some_and(|t| !id.id_type().eq_ignore_ascii_case(t)) {
            return Err(ResidentError::invalid("individualId"));
        }
        let path_vid = Vid::parse(&vid).map_err(|_| ResidentError::ApiResourceAccess)?;
        let ctx = call.ctx();
        let who = authorise_with_otp(&ctx, &id, &trn, &otp).await?;
        let Done { message, event_id, .. } = uc::revoke_vid(&ctx, &who, &id, &trn, &path_vid).await?;
        Ok((MessageResponse { message }, Some(event_id.to_string())))
    }
    .await;
    call.finish(result).await
}

// ---------------------------------------------------------------------------------------------
// POST /req/auth-lock and /req/auth-unlock

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    pub status: String,
    pub message: String,
}

fn auth_types(request: &Map<String, Value>) -> Result<Vec<AuthType>, ResidentError> {
    let list = request.get("authType").and_then(Value::as_array).filter(|a| !a.is_empty());
    let list = list.ok_or_else(|| ResidentError::invalid("authType"))?;
    let mut out = Vec::new();
    for v in list {
        // `ALL` locks (or unlocks) the whole identity: every type at once
        if v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("ALL")) {
            return Ok(AuthType::ALL.to_vec());
        }
        let t = v.as_str().and_then(AuthType::parse).ok_or_else(|| ResidentError::invalid("authType"))?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

async fn lock_or_unlock(
    state: AppState,
    meta: RequestMeta,
    body: Result<Bytes, BytesRejection>,
    lock: bool,
) -> Response {
    let api: &'static str = if lock { "mosip.resident.authlock" } else { "mosip.resident.authunlock" };
    let call = Call::new(&state, &meta, api);
    let result = async {
        let request = call.request(body)?;
        let request = &request;
        let (id, trn, otp) = otp_fields(request)?;
        let types = auth_types(request)?;
        let seconds = if lock {
            None
        } else {
            let raw = match request.get("unlockForSeconds") {
                Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
                Some(Value::Number(n)) => n.as_i64(),
                _ => None,
            };
            let bounded = raw.filter(|s| (0..=resident_domain::authtype::MAX_UNLOCK_SECONDS).contains(s));
            Some(bounded.ok_or_else(|| ResidentError::invalid("unlockForSeconds"))?)
        };
        let ctx = call.ctx();
        let who = authorise_with_otp(&ctx, &id, &trn, &otp).await?;
        let Done { message, event_id, .. } = uc::set_auth_locks(&ctx, &who, &id, &trn, &types, lock, seconds).await?;
        Ok((StatusResponse { status: "SUCCESS".into(), message }, Some(event_id.to_string())))
    }
    .await;
    call.finish(result).await
}

/// Lock authentication types (`mosip.resident.authlock`, OTP).
///
/// `authType`: `demo`, `bio-FINGER`, `bio-IRIS`, `bio-FACE`, `otp-email`, `otp-phone` (1.2.0 spellings
/// such as `bio-FIR` accepted), or `ALL` for the whole identity.
#[utoipa::path(post, path = "/req/auth-lock", tag = tags::RESIDENT, request_body(content = Object, description = "MOSIP envelope"),
    responses((status = 200, description = "Done, or a MOSIP error envelope; header `eventId`", body = StatusResponse)))]
pub async fn auth_lock(
    State(state): State<AppState>,
    meta: RequestMeta,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    lock_or_unlock(state, meta, body, true).await
}

/// Unlock authentication types (`mosip.resident.authunlock`, OTP); `unlockForSeconds` > 0 unlocks for
/// that long, after which the types are locked again by themselves; 0 unlocks until locked again.
#[utoipa::path(post, path = "/req/auth-unlock", tag = tags::RESIDENT, request_body(content = Object, description = "MOSIP envelope"),
    responses((status = 200, description = "Done, or a MOSIP error envelope; header `eventId`", body = StatusResponse)))]
pub async fn auth_unlock(
    State(state): State<AppState>,
    meta: RequestMeta,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    lock_or_unlock(state, meta, body, false).await
}

// ---------------------------------------------------------------------------------------------
// POST /req/auth-history

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthHistoryItem {
    pub serial_number: u32,
    pub id_used: String,
    pub auth_modality: String,
    pub date: String,
    pub time: String,
    pub partner_name: String,
    pub partner_transaction_id: String,
    pub auth_response: String,
    pub response_code: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthHistoryResponse {
    pub auth_history: Vec<AuthHistoryItem>,
    pub message: String,
}

/// `pageStart` or `pageFetch` as MOSIP reads it: absent, null or empty is none; else 1 to 2^31 - 1.
pub(crate) fn page_value(value: Option<&Value>, err: ResidentError) -> Result<Option<u32>, ResidentError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        // MOSIP reads both as a Java int: anything past 2^31 - 1 is refused, never wrapped
        Some(Value::String(s)) => s.trim().parse::<i32>().ok().filter(|n| *n >= 1).map(|n| Some(n as u32)).ok_or(err),
        Some(Value::Number(n)) => {
            n.as_u64().filter(|n| *n >= 1 && *n <= i32::MAX as u64).map(|n| Some(n as u32)).ok_or(err)
        }
        Some(_) => Err(err),
    }
}

/// Who authenticated this identity, newest first (`mosip.resident.authhistory`, OTP).
///
/// `pageStart` and `pageFetch` (numbers from 1) go together; without them the whole history is returned.
#[utoipa::path(post, path = "/req/auth-history", tag = tags::RESIDENT, request_body(content = Object, description = "MOSIP envelope"),
    responses((status = 200, description = "History, or a MOSIP error envelope; header `eventId`", body = AuthHistoryResponse)))]
pub async fn auth_history(
    State(state): State<AppState>,
    meta: RequestMeta,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.resident.authhistory";
    let call = Call::new(&state, &meta, API);
    let result = async {
        let request = call.request(body)?;
        let request = &request;
        let (id, trn, otp) = otp_fields(request)?;
        let start = page_value(request.get("pageStart"), ResidentError::InvalidPageStart)?;
        let fetch = page_value(request.get("pageFetch"), ResidentError::InvalidPageFetch)?;
        let (start, fetch) = match (start, fetch) {
            (Some(s), Some(f)) => (s, f),
            (None, None) => (1, u32::MAX / 2),
            (None, Some(_)) => return Err(ResidentError::InvalidPageStart),
            (Some(_), None) => return Err(ResidentError::InvalidPageFetch),
        };
        let ctx = call.ctx();
        let who = authorise_with_otp(&ctx, &id, &trn, &otp).await?;
        let Done { value, message, event_id } = uc::auth_history(&ctx, &who, &id, &trn, start, fetch).await?;
        let offset = (start - 1).saturating_mul(fetch.min(u32::MAX / 2));
        let items = value
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let d = t.at.date();
                AuthHistoryItem {
                    serial_number: offset + i as u32 + 1,
                    id_used: t.ref_id_type.clone(),
                    auth_modality: t.auth_type_code.clone(),
                    date: format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day()),
                    time: format!("{:02}:{:02}:{:02}", t.at.hour(), t.at.minute(), t.at.second()),
                    partner_name: t.entity_name.clone(),
                    partner_transaction_id: t.transaction_id.clone(),
                    auth_response: t.status_comment.clone(),
                    response_code: t.status_code.clone(),
                }
            })
            .collect();
        Ok((AuthHistoryResponse { auth_history: items, message }, Some(event_id.to_string())))
    }
    .await;
    call.finish(result).await
}

// ---------------------------------------------------------------------------------------------
// POST /req/print-uin

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReprintResponse {
    /// The RID of the reprint request, to follow with `/rid/check-status`.
    pub registration_id: String,
    pub message: String,
}

/// Order a printed card (`mosip.resident.printuin`, OTP): `individualIdType` `UIN` or `VID`, `cardType`
/// `UIN` or `MASKED_UIN`. The request gets its own RID.
#[utoipa::path(post, path = "/req/print-uin", tag = tags::RESIDENT, request_body(content = Object, description = "MOSIP envelope"),
    responses((status = 200, description = "The new RID, or a MOSIP error envelope; header `eventId`", body = ReprintResponse)))]
pub async fn print_uin(
    State(state): State<AppState>,
    meta: RequestMeta,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.resident.printuin";
    let call = Call::new(&state, &meta, API);
    let result = async {
        let request = call.request(body)?;
        let request = &request;
        let (id, trn, otp) = typed_otp_fields(request)?;
        let card_type = text(request, "cardType")
            .and_then(resident_domain::print::CardType::parse)
            .ok_or_else(|| ResidentError::invalid("cardType"))?;
        let ctx = call.ctx();
        let who = authorise_with_otp(&ctx, &id, &trn, &otp).await?;
        let Done { value, message, event_id } = resident_domain::print::request_reprint(
            &ctx,
            state.registrations.as_ref(),
            state.print_queue.as_ref(),
            &state.centre,
            &state.machine,
            &who,
            &id,
            &trn,
            card_type,
        )
        .await?;
        Ok((ReprintResponse { registration_id: value.as_str().to_owned(), message }, Some(event_id.to_string())))
    }
    .await;
    call.finish(result).await
}
