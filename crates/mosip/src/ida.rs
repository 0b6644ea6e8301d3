//! MOSIP ID Authentication's internal contracts, as MOSIP's resident service calls them
//! (`IdAuthServiceImpl`, `ResidentOtpServiceImpl`):
//!
//! - `POST {ida}/otp`: the internal OTP request (`mosip.identity.otp.internal`); never repeated;
//! - `POST {ida}/auth`: the internal authentication (`mosip.identity.auth.internal`) with the OTP
//!   sealed for IDA's `INTERNAL` certificate ([`crate::crypto`]); never repeated;
//! - `GET {ida}/authTransactions/individualId/{id}?pageStart=&pageFetch=`: a read, repeated when no
//!   answer comes;
//! - `GET {ida}/getCertificate?applicationId=IDA&referenceId=INTERNAL`: the certificate, kept for an
//!   hour and fetched again when IDA cannot decrypt.
//!
//! `{ida}` is IDA's internal base (`…/idauthentication/v1/internal`). IDA answers its refusals with
//! HTTP 200 and `errors[{errorCode, errorMessage}]`; its codes are passed on as IDA's.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use resident_domain::ResidentError;
use resident_domain::clock::{Clock, mosip_datetime};
use resident_domain::ida::{AuthFailure, IdAuthentication, IdaCall, OtpSent, known_code};
use resident_domain::ids::IndividualId;
use resident_domain::otp::OtpChannel;
use resident_domain::ports::{AuthTransaction, Resolved};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::auth::KernelAuth;
use crate::crypto::IdaCertificate;
use crate::{AdapterError, Breaker, Retry, call};

const SERVICE: &str = "ID authentication";
const CERTIFICATE_LIFE: Duration = Duration::from_secs(3600);

pub struct MosipIda {
    http: reqwest::Client,
    base: String,
    auth: Arc<KernelAuth>,
    clock: Arc<dyn Clock>,
    breaker: Breaker,
    certificate: Mutex<Option<(IdaCertificate, Instant)>>,
}

/// IDA's refusal as resident services report it: IDA's own code when it is one they know, else a
/// failed neighbour.
fn ida_error(e: AdapterError) -> ResidentError {
    match &e {
        AdapterError::Refused { code, message, .. } => match known_code(code) {
            Some(code) => ResidentError::Ida(code, message.clone()),
            None => e.into(),
        },
        _ => e.into(),
    }
}

fn malformed(detail: &str) -> AdapterError {
    AdapterError::Malformed { service: SERVICE, detail: detail.into() }
}

/// IDA's `requestdatetime`: a local date-time in UTC, with or without a zone.
fn parse_time(text: &str) -> Option<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let fmt =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
    time::PrimitiveDateTime::parse(text, fmt).ok().map(time::PrimitiveDateTime::assume_utc)
}

impl MosipIda {
    /// `ida_url` is IDA's internal base (`https://api-internal.example/idauthentication/v1/internal`).
    pub fn new(
        ida_url: &str,
        auth: Arc<KernelAuth>,
        timeout: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AdapterError> {
        let http = crate::http_client(SERVICE, timeout)?;
        Ok(MosipIda {
            http,
            base: ida_url.trim_end_matches('/').to_owned(),
            auth,
            clock,
            breaker: Breaker::default(),
            certificate: Mutex::new(None),
        })
    }

    /// IDA's `INTERNAL` certificate: the kept one while it is fresh, else fetched.
    pub async fn certificate(&self, fresh: bool) -> Result<IdaCertificate, AdapterError> {
        let mut kept = self.certificate.lock().await;
        if let Some((cert, at)) = kept.as_ref().filter(|(_, at)| !fresh && at.elapsed() < CERTIFICATE_LIFE) {
            let _ = at;
            return Ok(cert.clone());
        }
        let url = format!("{}/getCertificate", self.base);
        let now = mosip_datetime(self.clock.now());
        let (status, answer) = call(SERVICE, &self.auth, &self.breaker, Retry::Idempotent, |_| {
            self.http
                .get(&url)
                .query(&[("applicationId", "IDA"), ("referenceId", "INTERNAL"), ("timeStamp", now.as_str())])
                .header(reqwest::header::AUTHORIZATION, "futureProof")
        })
        .await?;
        if let Some(refused) = crate::refusal(SERVICE, status, &answer) {
            return Err(refused);
        }
        let pem = answer
            .pointer("/response/certificate")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("no certificate"))?;
        let cert = IdaCertificate::from_pem(pem).map_err(|e| malformed(&e))?;
        *kept = Some((cert.clone(), Instant::now()));
        Ok(cert)
    }

    async fn post(&self, path: &str, body: &Value) -> Result<(reqwest::StatusCode, Value), AdapterError> {
        let url = format!("{}/{path}", self.base);
        call(SERVICE, &self.auth, &self.breaker, Retry::Once, |_| {
            // IDA's filter wants an `Authorization` header; the token itself goes in the cookie
            self.http.post(&url).header(reqwest::header::AUTHORIZATION, "futureProof").json(body)
        })
        .await
    }

    async fn auth_once(
        &self,
        id: &IndividualId,
        transaction_id: &str,
        otp: &str,
        fresh_certificate: bool,
    ) -> Result<(reqwest::StatusCode, Value), AdapterError> {
        let cert = self.certificate(fresh_certificate).await?;
        let time = mosip_datetime(self.clock.now());
        let plain =
            serde_json::to_vec(&json!({"otp": otp, "timestamp": time})).map_err(|e| malformed(&e.to_string()))?;
        let sealed =
            crate::crypto::seal(&cert, &plain, &mut resident_domain::clock::rng()).map_err(|e| malformed(&e))?;
        let body = json!({
            "id": "mosip.identity.auth.internal", "version": "1.0",
            "requestTime": time, "transactionID": transaction_id,
            "individualId": id.expose(), "consentObtained": true,
            "requestedAuth": {"otp": true},
            "request": sealed.request, "requestSessionKey": sealed.request_session_key,
            "requestHMAC": sealed.request_hmac, "thumbprint": sealed.thumbprint,
        });
        self.post("auth", &body).await
    }
}

#[async_trait]
impl IdAuthentication for MosipIda {
    async fn request_otp(
        &self,
        call: &IdaCall<'_>,
        id: &IndividualId,
        transaction_id: &str,
        channels: &[OtpChannel],
    ) -> Result<OtpSent, ResidentError> {
        let channels: Vec<&str> = channels.iter().map(|c| c.code()).collect();
        let body = json!({
            "id": "mosip.identity.otp.internal", "version": "1.0",
            "requestTime": mosip_datetime(call.now), "transactionID": transaction_id,
            "individualId": id.expose(), "otpChannel": channels,
        });
        let (status, answer) = self.post("otp", &body).await?;
        if let Some(refused) = crate::refusal(SERVICE, status, &answer) {
            return Err(ida_error(refused));
        }
        let response = answer.get("response").filter(|r| r.is_object()).ok_or_else(|| malformed("no response"))?;
        let text = |k: &str| response.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()).map(str::to_owned);
        Ok(OtpSent { masked_email: text("maskedEmail"), masked_mobile: text("maskedMobile") })
    }

    async fn authenticate_otp(
        &self,
        _call: &IdaCall<'_>,
        id: &IndividualId,
        transaction_id: &str,
        otp: &str,
    ) -> Result<Result<(), AuthFailure>, ResidentError> {
        let (mut status, mut answer) = self.auth_once(id, transaction_id, otp, false).await?;
        if crate::refusal(SERVICE, status, &answer).is_some() && mentions(&answer, "IDA-MPA-003") {
            // IDA could not decrypt: its key may have changed since the certificate was kept. The
            // OTP was not looked at, so asking once more with the current certificate uses nothing up.
            (status, answer) = self.auth_once(id, transaction_id, otp, true).await?;
        }
        if let Some(refused) = crate::refusal(SERVICE, status, &answer) {
            return match refused {
                AdapterError::Refused { ref code, ref message, .. } if known_code(code).is_some() => {
                    Ok(Err(AuthFailure { code: code.clone(), message: message.clone() }))
                }
                other => Err(other.into()),
            };
        }
        match answer.pointer("/response/authStatus") {
            Some(Value::Bool(true)) => Ok(Ok(())),
            _ => Err(malformed("no authStatus true and no error").into()),
        }
    }

    async fn auth_transactions(
        &self,
        _call: &IdaCall<'_>,
        who: &Resolved,
        id: &IndividualId,
        page_start: u32,
        page_fetch: u32,
    ) -> Result<Vec<AuthTransaction>, ResidentError> {
        let url = format!("{}/authTransactions/individualId/{}", self.base, id.expose());
        let (status, answer) = call(SERVICE, &self.auth, &self.breaker, Retry::Idempotent, |_| {
            self.http
                .get(&url)
                .query(&[("pageStart", page_start), ("pageFetch", page_fetch)])
                .header(reqwest::header::AUTHORIZATION, "futureProof")
        })
        .await?;
        if let Some(refused) = crate::refusal(SERVICE, status, &answer) {
            return Err(ida_error(refused));
        }
        let items = answer
            .pointer("/response/authTransactions")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("no authTransactions"))?;
        let text = |t: &Value, k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        items
            .iter()
            .map(|t| {
                let at = parse_time(&text(t, "requestdatetime")).ok_or_else(|| malformed("requestdatetime"))?;
                let status_code = text(t, "statusCode");
                Ok(AuthTransaction {
                    token: who.token.clone(),
                    at,
                    auth_type_code: text(t, "authtypeCode"),
                    // IDA's list carries no error code: the status stands for it
                    response_code: status_code.clone(),
                    status_code,
                    status_comment: text(t, "statusComment"),
                    ref_id_type: text(t, "referenceIdType"),
                    entity_name: text(t, "entityName"),
                    transaction_id: text(t, "transactionID"),
                })
            })
            .collect::<Result<Vec<_>, AdapterError>>()
            .map_err(ResidentError::from)
    }
}

/// Whether any of the answer's errors has this code (IDA wraps a filter's fault in IDA-MLC-007).
fn mentions(answer: &Value, code: &str) -> bool {
    answer
        .get("errors")
        .and_then(Value::as_array)
        .is_some_and(|errors| errors.iter().any(|e| e.get("errorCode").and_then(Value::as_str) == Some(code)))
}
