//! The embedded IDA for relying parties: partner OTP and authentication, shaped like MOSIP IDA's
//! `/idauthentication/v1/otp` and `/idauthentication/v1/auth`. A partner of type `Auth_Partner`
//! presents its API key as `Authorization: Bearer <key>`. Unlike MOSIP, the request body is plain JSON
//! over TLS (no per-request session-key encryption or signatures yet).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use resident_domain::ResidentError;
use resident_domain::auth_usecases::parse_individual;
use resident_domain::clock::parse_mosip_datetime;
use resident_domain::ida::IdaCall;
use resident_domain::ida::partner::{self as rp, Demographics, PartnerAuth};
use resident_domain::ids::IndividualId;
use resident_domain::otp::{Requester, valid_transaction_id};
use resident_domain::ports::Partner;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::api::RequestMeta;
use crate::api::auth::{OtpFor, ida_answer, otp_endpoint};
use crate::envelope::{self, text};
use crate::{AppState, tags};

/// The partner named in the path, if its key is right and it may authenticate residents.
async fn authorised_partner(state: &AppState, headers: &HeaderMap, partner_id: &str) -> Result<Partner, ResidentError> {
    super::require_partner(state, headers, partner_id, "Auth_Partner").await
}

pub fn hex_digest(key: &str) -> String {
    resident_domain::partner::api_key_digest(key)
}

/// A relying party asks for an OTP to be sent to a resident (IDA `mosip.identity.otp`).
#[utoipa::path(post, path = "/otp/{partnerId}", tag = tags::IDA, params(("partnerId" = String, Path, description = "The partner's id")),
    request_body(content = Object, description = "IDA OTP request: id `mosip.identity.otp`, version, transactionID, requestTime, individualId, otpChannel"),
    responses((status = 200, description = "Masked contacts, or IDA errors (IDA-MLC-019 when the channel is locked)"), (status = 401, description = "Unknown partner or wrong key")),
    security(("partner_key" = [])))]
pub async fn partner_otp(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Path(partner_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.identity.otp";
    match authorised_partner(&state, &headers, &partner_id).await {
        Ok(_) if !crate::middleware::declares_json(&headers) => ida_answer(
            API,
            None,
            state.clock.now(),
            None,
            Some(ResidentError::Ida("IDA-MLC-009", "Invalid Input Parameter - Content-Type".into())),
        ),
        Ok(partner) => {
            let audit = meta.audit_context(&state, &format!("partner:{}", partner.id));
            let requester = Requester::Partner { id: partner.id.clone(), name: partner.name.clone() };
            otp_endpoint(&state, &audit, body, API, &OtpFor::Ida(&requester)).await
        }
        Err(e) => ida_answer(API, None, state.clock.now(), None, Some(e)),
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthStatus {
    pub auth_status: bool,
}

fn demographics(request: &Map<String, Value>) -> Option<Demographics> {
    let d = request.get("demographics")?.as_object()?;
    let lang_value = |k: &str| match d.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(items)) => {
            items.first().and_then(|i| i.get("value")).and_then(Value::as_str).map(str::to_owned)
        }
        _ => None,
    };
    Some(Demographics {
        name: lang_value("name"),
        dob: d.get("dob").and_then(Value::as_str).map(str::to_owned),
        gender: lang_value("gender"),
        phone: d.get("phoneNumber").and_then(Value::as_str).map(str::to_owned),
        email: d.get("emailId").and_then(Value::as_str).map(str::to_owned),
    })
}

fn missing(field: &str) -> ResidentError {
    ResidentError::Ida("IDA-MLC-006", format!("Missing Input Parameter - {field}"))
}

fn invalid(field: &str) -> ResidentError {
    ResidentError::Ida("IDA-MLC-009", format!("Invalid Input Parameter - {field}"))
}

/// The head of an IDA authentication request (`api`: `mosip.identity.auth`, or `…auth.internal`),
/// checked in IDA's order: its id, time, transaction id, the resident's consent and the individual.
pub(crate) fn auth_head(body: &Map<String, Value>, api: &str) -> Result<(String, IndividualId), ResidentError> {
    if text(body, "id") != Some(api) {
        return Err(invalid("id"));
    }
    let time = text(body, "requestTime").ok_or_else(|| missing("requestTime"))?;
    parse_mosip_datetime(time).ok_or_else(|| invalid("requestTime"))?;
    let trn = text(body, "transactionID").ok_or_else(|| missing("transactionID"))?;
    if !valid_transaction_id(trn) {
        return Err(invalid("transactionID"));
    }
    if body.get("consentObtained").and_then(Value::as_bool) != Some(true) {
        return Err(ResidentError::Ida("IDA-MLC-012", "Individual's Consent is not available".into()));
    }
    let individual = parse_individual(text(body, "individualId").ok_or_else(|| missing("individualId"))?)?;
    Ok((trn.to_owned(), individual))
}

/// Authenticate a resident for a relying party: demographic match and/or OTP (IDA `mosip.identity.auth`).
///
/// Body: `{id, version, requestTime, transactionID, individualId, consentObtained: true,
/// request: {demographics: {name, dob (yyyy/MM/dd), gender, phoneNumber, emailId}, otp}}`. A locked type
/// answers `authStatus: false` with IDA-MLC-019; every attempt shows in the resident's history.
#[utoipa::path(post, path = "/auth/{partnerId}", tag = tags::IDA, params(("partnerId" = String, Path, description = "The partner's id")),
    request_body(content = Object, description = "IDA authentication request"),
    responses((status = 200, description = "`authStatus`, with IDA errors when false", body = AuthStatus), (status = 401, description = "Unknown partner or wrong key")),
    security(("partner_key" = [])))]
pub async fn partner_auth(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Path(partner_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.identity.auth";
    let now = state.clock.now();
    let mut transaction_id = None;
    let result: Result<Value, ResidentError> = async {
        let partner = authorised_partner(&state, &headers, &partner_id).await?;
        let audit = meta.audit_context(&state, &format!("partner:{}", partner.id));
        if !crate::middleware::declares_json(&headers) {
            return Err(ResidentError::Ida("IDA-MLC-009", "Invalid Input Parameter - Content-Type".into()));
        }
        let body = envelope::json_body(body).map_err(|e| ResidentError::Ida("IDA-MLC-009", e.message()))?;
        transaction_id = text(&body, "transactionID").map(str::to_owned);
        let (trn, individual) = auth_head(&body, API)?;
        let trn = trn.as_str();
        let request = body.get("request").and_then(Value::as_object).ok_or_else(|| missing("request"))?;
        let cmd = PartnerAuth {
            individual_id: individual,
            transaction_id: trn.to_owned(),
            demographics: demographics(request),
            otp: text(request, "otp").map(str::to_owned),
        };
        let call = IdaCall { audit: &audit, now };
        let outcome = rp::relying_party_authenticate(&state.embedded_ida, &call, &partner, &cmd).await?;
        match outcome.errors.first() {
            None => Ok(json!({"authStatus": true, "authToken": null})),
            Some((code, message)) => Err(ResidentError::Ida(code, message.clone())),
        }
    }
    .await;
    match result {
        Ok(v) => ida_answer(API, transaction_id, now, Some(v), None),
        Err(ResidentError::Unauthenticated) => {
            ida_answer(API, transaction_id, now, None, Some(ResidentError::Unauthenticated))
        }
        // IDA answers a failed authentication with authStatus false and the reason
        Err(e) => {
            let mut res =
                ida_answer(API, transaction_id, now, Some(json!({"authStatus": false, "authToken": null})), Some(e));
            *res.status_mut() = axum::http::StatusCode::OK;
            res
        }
    }
}
