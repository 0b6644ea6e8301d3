//! `POST /req/euin` (the resident's card as a password-protected PDF) and the card-signing public keys.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::card::{CardType, download_card};

use super::RequestMeta;
use super::auth::{Call, typed_otp_fields};
use crate::envelope::text;
use crate::{AppState, tags};

/// Download my card (`mosip.resident.euin`, OTP): `individualIdType` `UIN` or `VID`, `cardType` `UIN` or
/// `MASKED_UIN`.
///
/// The answer is `application/pdf` (`Content-Disposition: attachment; filename="<individualId>.pdf"`),
/// encrypted with AES-256. Its password is MOSIP's: the first four characters of the full name (in the
/// first language) in capitals, then the year of birth — "Jane Doe", 1990/05/12 → `JANE1990`; a name
/// of one to three characters is repeated to four ("Bo" → `BOBO`). The QR code on the card carries a
/// signed credential (EdDSA JWS) that `/.well-known/jwks.json` verifies. Errors are the JSON envelope.
#[utoipa::path(post, path = "/req/euin", tag = tags::RESIDENT, request_body(content = Object, description = "MOSIP envelope"),
    responses((status = 200, description = "The card (application/pdf), or a MOSIP error envelope; header `eventId`", content_type = "application/pdf")))]
pub async fn euin(State(state): State<AppState>, meta: RequestMeta, body: Result<Bytes, BytesRejection>) -> Response {
    const API: &str = "mosip.resident.euin";
    let call = Call::new(&state, &meta, API);
    let result = async {
        let request = call.request(body)?;
        let request = &request;
        let (id, trn, otp) = typed_otp_fields(request)?;
        let card_type =
            text(request, "cardType").and_then(CardType::parse).ok_or_else(|| ResidentError::invalid("cardType"))?;
        let who = call.authorise(&id, &trn, &otp).await?;
        let done = download_card(
            &call.ctx(),
            state.cards.as_ref(),
            state.schema.languages().first(),
            &who,
            &id,
            &trn,
            card_type,
        )
        .await?;
        Ok((done, id.expose().to_owned()))
    }
    .await;
    match result {
        Ok((done, individual)) => {
            let mut res = done.value.pdf.into_response();
            let headers = res.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{individual}.pdf\"")) {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            if let Ok(v) = HeaderValue::from_str(done.event_id.as_str()) {
                headers.insert("eventId", v);
            }
            res
        }
        Err(e) => call.finish::<()>(Err(e)).await,
    }
}

/// The public keys that verify card credentials (JSON Web Key Set): the key manager's (a resident's
/// own card) and this service's card keys (credentials and printed cards its credential service
/// issued): Ed25519, and RSA when the key manager is MOSIP's (every certificate it signed a card
/// under, kept by this tier). Keys stay published until an operator retires them, so cards signed
/// before a rotation still verify.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = tags::RESIDENT,
    responses((status = 200, description = "JSON Web Key Set", body = Object),
              (status = 503, description = "The keys could not be read")))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    match state.keys.published_keys().await {
        Ok(managed) => {
            Json(resident_domain::keymanager::merged_key_sets(&[managed, state.cards.jwks()])).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "the key manager's keys are not available");
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"error": "keys unavailable"})))
                .into_response()
        }
    }
}
