//! Verify phone/email, without logging in: whether a channel is verified, and verifying it with the
//! OTP the app asked for through `/req/otp` (the 1.2.0 endpoint, answered as it is).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::ids::IndividualId;
use resident_domain::otp::{OtpChannel, mask_email, mask_mobile};
use resident_domain::verification::{channel_value, is_verified, verify_with_otp};
use serde_json::{Value, json};

use super::{Errors, audit_context, refusal, reply, resident, with_event};
use crate::AppState;
use crate::envelope::{self, text};

const STATUS_ID: &str = "mosip.resident.channel.verification.status";
/// MOSIP answers a refused OTP with IDA's internal authentication id.
const VALIDATE_ID: &str = "mosip.identity.auth.internal";
const VERSION: &str = "1.0";

#[derive(serde::Deserialize)]
pub(crate) struct StatusQuery {
    channel: Option<String>,
    #[serde(rename = "individualId")]
    individual_id: Option<String>,
}

/// `GET /channel/verification-status/?channel=PHONE|EMAIL&individualId=`. The answer is the truth
/// only to the resident it is about, logged in; to anyone else it is "not verified", so the endpoint
/// tells a stranger nothing about a UIN (the OTP step that follows does that, to its holder).
pub(crate) async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<StatusQuery>,
) -> Response {
    let now = state.clock.now();
    let result = async {
        let (Some(channel), Some(given)) = (q.channel.as_deref(), q.individual_id.as_deref()) else {
            return Err(ResidentError::BadRequest("channel and individualId are required".into()));
        };
        let channel = OtpChannel::parse(channel.trim()).ok_or_else(|| ResidentError::invalid("channel"))?;
        let id = IndividualId::parse(given.trim()).ok_or(ResidentError::InvalidUinOrVid)?;
        let Ok(r) = resident(&state, &headers, None).await else { return Ok((false, String::new())) };
        let named = state.idrepo.identity(&id, now).await?;
        if named.is_none_or(|n| n.token != r.who.token) {
            return Ok((false, String::new()));
        }
        if !is_verified(state.verifications.as_ref(), &r.who, channel).await? {
            return Ok((false, String::new()));
        }
        let masked = match (channel, channel_value(&r.who.identity, channel)) {
            (OtpChannel::Phone, Some(v)) => mask_mobile(v),
            (OtpChannel::Email, Some(v)) => mask_email(v),
            (_, None) => String::new(),
        };
        Ok::<_, ResidentError>((true, masked))
    }
    .await;
    match result {
        // MOSIP's own envelope here: `responseTime`, `errors: null`
        Ok((verified, masked)) => axum::Json(json!({
            "id": STATUS_ID,
            "version": VERSION,
            "responseTime": resident_domain::clock::mosip_datetime(now),
            "metadata": null,
            "response": {"verificationStatus": verified, "maskedUserId": masked},
            "errors": null,
        }))
        .into_response(),
        Err(e) => refusal(STATUS_ID, VERSION, now, &e),
    }
}

/// `POST /validate-otp` `{request: {transactionId, individualId, otp}}`: the OTP proves the resident
/// holds the phone or email it went to; both are then verified. The `eventid` header names the
/// `VALIDATE_OTP` request in their history.
pub(crate) async fn validate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = state.clock.now();
    let audit = audit_context(&state, &headers, "anonymous");
    let mut echoed = (None, None);
    let result = async {
        let body = envelope::json_body(body)?;
        let short = |k: &str| text(&body, k).filter(|v| v.len() <= 64).map(str::to_owned);
        echoed = (short("id"), short("version"));
        let request =
            body.get("request").and_then(Value::as_object).ok_or_else(|| ResidentError::invalid("request"))?;
        let trn = text(request, "transactionId").ok_or_else(|| ResidentError::MissingInput("transactionId".into()))?;
        let given = text(request, "individualId").ok_or_else(|| ResidentError::MissingInput("individualId".into()))?;
        let id = IndividualId::parse(given.trim()).ok_or(ResidentError::InvalidUinOrVid)?;
        let otp = text(request, "otp").ok_or_else(|| ResidentError::MissingInput("otp".into()))?;
        let ctx = crate::api::auth::context(&state, &audit, now);
        let done = verify_with_otp(&ctx, state.verifications.as_ref(), state.history.as_ref(), &id, trn, otp).await?;
        Ok::<_, ResidentError>((done, trn.to_owned()))
    }
    .await;
    match result {
        Ok((done, trn)) => {
            // MOSIP echoes the request's id and version here
            let (id, version) = echoed;
            let id = id.unwrap_or_else(|| VALIDATE_ID.to_owned());
            let body = json!({"authStatus": true, "transactionId": trn, "status": "Success"});
            let res = reply(Some(&id), version.as_deref().unwrap_or(VERSION), now, body, Errors::Null);
            with_event(res, done.event_id.as_str())
        }
        Err(e) => refusal(VALIDATE_ID, VERSION, now, &e),
    }
}
