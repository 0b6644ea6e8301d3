//! Manage My VID: the resident's VIDs, the VID policy, creating and revoking a VID.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::auth_usecases as uc;
use resident_domain::ids::Vid;
use resident_domain::otp::valid_transaction_id;
use serde_json::{Map, Value, json};

use super::secure::transaction_id;
use super::{Errors, Scope, refusal, reply, resident, with_event};
use crate::AppState;
use crate::envelope::{self, text};

const LIST_ID: &str = "mosip.resident.vid.get";
const GENERATE_ID: &str = "mosip.resident.vid.generate";
const REVOKE_ID: &str = "mosip.resident.vid.revoke";
const VID_CARD_ID: &str = "mosip.resident.request.vid.card";
const CARD_DOWNLOAD_ID: &str = "mosip.resident.download.card.eventid";
const VERSION: &str = "1.0";

/// `GET /vids`: the resident's usable VIDs, newest first.
pub(crate) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let r = match resident(&state, &headers, Some(Scope::Vid)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let vids = match state.idrepo.vids(&r.who, r.now).await {
        Ok(v) => v,
        Err(e) => return refusal(LIST_ID, VERSION, r.now, &e),
    };
    let items: Vec<Value> = vids
        .iter()
        .filter(|v| v.usable(r.now))
        .map(|v| {
            json!({
                "vid": v.vid.expose(),
                "maskedVid": v.vid.masked(),
                "vidType": v.vid_type.to_ascii_uppercase(),
                // MOSIP's spelling
                "genratedOnTimestamp": super::ui_time(&state, &headers, v.created_at),
                "expiryTimestamp": v.expires_at.map(|at| super::ui_time(&state, &headers, at)),
                "transactionsLeftCount": v.transactions_left,
            })
        })
        .collect();
    reply(Some(LIST_ID), VERSION, r.now, Value::Array(items), Errors::Empty)
}

/// `GET /vid/policy`: the policy itself, without an envelope (as MOSIP answers it).
pub(crate) async fn policy(State(state): State<AppState>) -> Response {
    axum::Json(state.vid_policy.as_ref().clone()).into_response()
}

/// The request's transaction id when it is one (10 letters or digits), else a new one.
fn trn(request: &Map<String, Value>) -> String {
    text(request, "transactionID").filter(|t| valid_transaction_id(t)).map(str::to_owned).unwrap_or_else(transaction_id)
}

/// `POST /generate-vid`: a VID of `vidType` for the logged-in resident.
pub(crate) async fn generate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::Vid)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let body = envelope::json_body(body)?;
        let request = envelope::validate_resident(&body, GENERATE_ID, VERSION)?;
        let vid_type = text(request, "vidType").ok_or_else(|| ResidentError::invalid("vidType"))?;
        let ctx = crate::api::auth::context(&state, &r.audit, r.now);
        uc::generate_vid(&ctx, &r.who, &r.id, &trn(request), vid_type).await
    }
    .await;
    match result {
        Ok(done) => with_event(
            reply(
                Some(GENERATE_ID),
                VERSION,
                r.now,
                json!({"vid": done.value.expose(), "message": done.message}),
                Errors::Empty,
            ),
            done.event_id.as_str(),
        ),
        Err(e) => refusal(GENERATE_ID, VERSION, r.now, &e),
    }
}

/// `PATCH /revoke-vid/{vid}`: `vidStatus` must be `REVOKED`; the VID must be one of the resident's.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(vid): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::Vid)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let body = envelope::json_body(body)?;
        let request = envelope::validate_resident(&body, REVOKE_ID, VERSION)?;
        if !text(request, "vidStatus").is_some_and(|s| s.eq_ignore_ascii_case("REVOKED")) {
            return Err(ResidentError::invalid("vidStatus"));
        }
        let vid = Vid::parse(&vid).map_err(|_| ResidentError::invalid("vid"))?;
        let ctx = crate::api::auth::context(&state, &r.audit, r.now);
        uc::revoke_vid(&ctx, &r.who, &r.id, &trn(request), &vid).await
    }
    .await;
    match result {
        Ok(done) => with_event(
            reply(
                Some(REVOKE_ID),
                VERSION,
                r.now,
                json!({"message": done.message, "status": "Success"}),
                Errors::Empty,
            ),
            done.event_id.as_str(),
        ),
        Err(e) => refusal(REVOKE_ID, VERSION, r.now, &e),
    }
}

/// `GET /request-card/vid/{vid}`: asks for a card that shows one of the resident's VIDs; the
/// `eventid` header names the request, whose card `GET /download-card/event/{eid}` then gives.
pub(crate) async fn request_card(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(vid): Path<String>,
) -> Response {
    let r = match resident(&state, &headers, None).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    // a GET that records a request and messages the resident: not from another site's page
    if !super::from_allowed_page(&state, &headers) {
        return super::forbidden(r.now);
    }
    let result = async {
        let vid = Vid::parse(vid.trim()).map_err(|_| ResidentError::invalid("VID"))?;
        let ctx = crate::api::auth::context(&state, &r.audit, r.now);
        resident_domain::card::request_vid_card(&ctx, &r.who, &r.id, &transaction_id(), &vid).await
    }
    .await;
    match result {
        Ok(done) => with_event(
            reply(Some(VID_CARD_ID), VERSION, r.now, json!({"status": "Success"}), Errors::Empty),
            done.event_id.as_str(),
        ),
        Err(e) => refusal(VID_CARD_ID, VERSION, r.now, &e),
    }
}

/// `GET /download-card/event/{eid}`: the card of one of the resident's card requests, as a PDF.
pub(crate) async fn download_card(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(eid): Path<String>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::Credentials)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let request = super::history::own_event(&state, &r, &eid).await?;
        let ctx = crate::api::auth::context(&state, &r.audit, r.now);
        let first = state.schema.languages().first();
        let (history, cards) = (state.history.as_ref(), state.cards.as_ref());
        resident_domain::card::download_vid_card(&ctx, history, cards, first, &r.who, &r.id, &request).await
    }
    .await;
    match result {
        Ok(done) => {
            let name = format!("VID_{}_{}.pdf", done.event_id, super::file_stamp(&headers, r.now));
            with_event(super::pdf(done.value.pdf, &name), done.event_id.as_str())
        }
        Err(e) => refusal(CARD_DOWNLOAD_ID, VERSION, r.now, &e),
    }
}
