//! The embedded IDA's internal contracts, which a resident-services tier in `mosip` mode calls (as
//! MOSIP's resident service calls MOSIP IDA), and the key manager's certificate for them:
//!
//! - `POST /idauthentication/v1/internal/otp` (`mosip.identity.otp.internal`);
//! - `POST /idauthentication/v1/internal/auth` (`mosip.identity.auth.internal`), the OTP sealed for
//!   IDA's `INTERNAL` certificate and opened here with this platform's key;
//! - `GET /idauthentication/v1/internal/authTransactions/individualId/{id}`;
//! - `GET /idauthentication/v1/internal/getCertificate?applicationId=IDA&referenceId=INTERNAL`
//!   ([`super::keymanager::certificate`], also at the key manager's own path).
//!
//! Each wants a platform client's token with the `RESIDENT` role, as MOSIP's IDA does. Refusals are
//! IDA's: HTTP 200 with `errors[{errorCode, errorMessage}]`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::auth_usecases::parse_individual;
use resident_domain::clock::mosip_datetime;
use resident_domain::ida::{IdAuthentication, IdaCall};
use resident_domain::otp::Requester;
use resident_mosip::crypto::Sealed;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::api::RequestMeta;
use crate::api::auth::{OtpFor, ida_answer, otp_endpoint};
use crate::envelope::{self, text};

/// The role MOSIP's IDA asks of the callers of its internal endpoints.
const ROLE: &str = "RESIDENT";

/// `POST /idauthentication/v1/internal/otp`: an OTP for the resident's own request.
pub async fn otp(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.identity.otp.internal";
    let caller = match super::require_platform(&state, &headers, ROLE).await {
        Ok(caller) => caller,
        Err(e) => return ida_answer(API, None, state.clock.now(), None, Some(e)),
    };
    let audit = meta.audit_context(&state, &caller);
    otp_endpoint(&state, &audit, body, API, &OtpFor::Ida(&Requester::Resident)).await
}

fn sealed(body: &Map<String, Value>) -> Option<Sealed> {
    Some(Sealed {
        request: text(body, "request")?.to_owned(),
        request_session_key: text(body, "requestSessionKey")?.to_owned(),
        request_hmac: text(body, "requestHMAC")?.to_owned(),
        thumbprint: text(body, "thumbprint")?.to_owned(),
    })
}

/// `POST /idauthentication/v1/internal/auth`: checks the sealed OTP of a resident's request.
pub async fn auth(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.identity.auth.internal";
    let now = state.clock.now();
    let mut transaction_id = None;
    let result: Result<Result<(), resident_domain::ida::AuthFailure>, ResidentError> = async {
        let caller = super::require_platform(&state, &headers, ROLE).await?;
        let missing = |f: &str| ResidentError::Ida("IDA-MLC-006", format!("Missing Input Parameter - {f}"));
        let invalid = |f: &str| ResidentError::Ida("IDA-MLC-009", format!("Invalid Input Parameter - {f}"));
        let body = envelope::json_body(body).map_err(|e| ResidentError::Ida("IDA-MLC-009", e.message()))?;
        transaction_id = text(&body, "transactionID").map(str::to_owned);
        let (trn, individual) = super::ida::auth_head(&body, API)?;
        let trn = trn.as_str();
        let sealed = sealed(&body).ok_or_else(|| missing("request"))?;
        let keys = state.ida_keys.get().await?;
        let plain = keys.open(&sealed).map_err(|fault| {
            let message = match fault {
                resident_mosip::crypto::OpenFault::Decryption => "Unable to decrypt the request",
                resident_mosip::crypto::OpenFault::Hmac => "Request HMAC validation failed",
            };
            ResidentError::Ida(fault.code(), message.into())
        })?;
        let request: Value = serde_json::from_slice(&plain).map_err(|_| invalid("request"))?;
        let otp = request.get("otp").and_then(Value::as_str).ok_or_else(|| missing("request/otp"))?;
        let audit = meta.audit_context(&state, &caller);
        let call = IdaCall { audit: &audit, now };
        state.embedded_ida.authenticate_otp(&call, &individual, trn, otp).await
    }
    .await;
    let outcome = match result {
        Ok(Ok(())) => {
            return ida_answer(API, transaction_id, now, Some(json!({"authStatus": true, "authToken": null})), None);
        }
        Ok(Err(failure)) => (failure.code, failure.message),
        Err(e @ ResidentError::Unauthenticated) => return ida_answer(API, transaction_id, now, None, Some(e)),
        Err(e) if e.internal_detail().is_some() => return ida_answer(API, transaction_id, now, None, Some(e)),
        Err(e) => (e.code().to_owned(), e.message()),
    };
    // IDA answers a failed authentication with HTTP 200, authStatus false and the reason
    let doc = json!({
        "id": API, "version": "1.0", "transactionID": transaction_id, "responseTime": mosip_datetime(now),
        "errors": [{"errorCode": outcome.0, "errorMessage": outcome.1}],
        "response": {"authStatus": false, "authToken": null}, "metadata": null,
    });
    (axum::http::StatusCode::OK, axum::Json(doc)).into_response()
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    page_start: Option<u32>,
    page_fetch: Option<u32>,
}

/// `GET /idauthentication/v1/internal/authTransactions/individualId/{id}`: the identity's
/// authentication transactions, newest first; without paging, the first 100.
pub async fn auth_transactions(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Path(id): Path<String>,
    paging: Result<Query<Paging>, axum::extract::rejection::QueryRejection>,
) -> Response {
    const API: &str = "mosip.identity.authtxn";
    let now = state.clock.now();
    let result = async {
        let caller = super::require_platform(&state, &headers, ROLE).await?;
        let invalid = |f: &str| ResidentError::Ida("IDA-MLC-009", format!("Invalid Input Parameter - {f}"));
        let Query(paging) = paging.map_err(|_| invalid("pageStart"))?;
        let start = paging.page_start.unwrap_or(1);
        let fetch = paging.page_fetch.unwrap_or(100);
        if start == 0 {
            return Err(invalid("pageStart"));
        }
        if fetch == 0 || fetch > 100 {
            return Err(invalid("pageFetch"));
        }
        let individual = parse_individual(&id)?;
        let who = state.auth.resolve(&individual, now).await?.ok_or_else(|| {
            ResidentError::Ida("IDA-MLC-018", format!("{} not available in database", individual.id_type()))
        })?;
        let audit = meta.audit_context(&state, &caller);
        let call = IdaCall { audit: &audit, now };
        let items = state.embedded_ida.auth_transactions(&call, &who, &individual, start, fetch).await?;
        let list: Vec<Value> = items
            .iter()
            .map(|t| {
                json!({
                    "transactionID": t.transaction_id,
                    "requestdatetime": mosip_datetime(t.at),
                    "authtypeCode": t.auth_type_code,
                    "statusCode": t.status_code,
                    "statusComment": t.status_comment,
                    "referenceIdType": t.ref_id_type,
                    "entityName": t.entity_name,
                })
            })
            .collect();
        Ok(json!({"authTransactions": list}))
    }
    .await;
    match result {
        Ok(v) => ida_answer(API, None, now, Some(v), None),
        Err(e) => ida_answer(API, None, now, None, Some(e)),
    }
}
