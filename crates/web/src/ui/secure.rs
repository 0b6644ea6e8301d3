//! Secure My ID: the lock state of each authentication type, and locking or unlocking some of them.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::Response;
use resident_domain::ResidentError;
use resident_domain::auth_usecases::{LockChange, change_auth_locks};
use resident_domain::authtype::{AuthType, MAX_UNLOCK_SECONDS};
use resident_domain::clock::epoch_ms;
use serde_json::{Value, json};

use super::{Errors, Scope, refusal, reply, resident, with_event};
use crate::AppState;
use crate::envelope;

const STATUS_ID: &str = "mosip.resident.auth.lock.status";
const CHANGE_ID: &str = "mosip.resident.auth.lock.unlock";
const VERSION: &str = "1.0";

/// A transaction id for a request the app sends without one (MOSIP generates it too).
pub(crate) fn transaction_id() -> String {
    let n: u64 = rand::Rng::gen_range(&mut resident_domain::clock::rng(), 1_000_000_000..10_000_000_000);
    n.to_string()
}

/// `GET /auth-lock-status`: every type, always (the app's page breaks on an empty list).
pub(crate) async fn lock_status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let r = match resident(&state, &headers, Some(Scope::Authentication)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let states = match state.idrepo.auth_type_status(&r.who).await {
        Ok(s) => s,
        Err(e) => return refusal(STATUS_ID, VERSION, r.now, &e),
    };
    let now_ms = epoch_ms(r.now);
    let types: Vec<Value> = AuthType::ALL
        .iter()
        .map(|t| {
            let st = states.iter().find(|s| s.auth_type == *t);
            let (kind, sub) = t.split();
            let remaining = st.and_then(|s| s.unlock_until_ms).filter(|u| *u > now_ms).map(|u| (u - now_ms) / 1000);
            json!({
                "authType": kind,
                "authSubType": sub,
                "locked": st.is_some_and(|s| s.locked_at(now_ms)),
                "unlockForSeconds": remaining,
            })
        })
        .collect();
    // MOSIP answers this one without an id
    reply(None, VERSION, r.now, json!({ "authTypes": types }), Errors::Empty)
}

/// One item of `authTypes`: `{authType, authSubType, locked, unlockForSeconds}`.
fn change(item: &Value) -> Result<LockChange, ResidentError> {
    let bad = || ResidentError::invalid("authTypes");
    let kind = item.get("authType").and_then(Value::as_str).ok_or_else(bad)?;
    let code = match item.get("authSubType").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        Some(sub) => format!("{kind}-{sub}"),
        None => kind.to_owned(),
    };
    let auth_type = AuthType::parse(&code).ok_or_else(bad)?;
    let lock = item.get("locked").and_then(Value::as_bool).ok_or_else(bad)?;
    let unlock_for_seconds = match item.get("unlockForSeconds") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|s| (0..=MAX_UNLOCK_SECONDS).contains(s))
                .ok_or_else(|| ResidentError::invalid("unlockForSeconds"))?,
        ),
    };
    Ok(LockChange { auth_type, lock, unlock_for_seconds })
}

/// `POST /auth-lock-unlock`: the changed types only; one event for the request.
pub(crate) async fn lock_unlock(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::Authentication)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let body = envelope::json_body(body)?;
        let request = envelope::validate_resident(&body, CHANGE_ID, VERSION)?;
        let items = request.get("authTypes").and_then(Value::as_array).filter(|a| !a.is_empty());
        let changes = items
            .ok_or_else(|| ResidentError::invalid("authTypes"))?
            .iter()
            .map(change)
            .collect::<Result<Vec<_>, _>>()?;
        let ctx = crate::api::auth::context(&state, &r.audit, r.now);
        change_auth_locks(&ctx, &r.who, &r.id, &transaction_id(), &changes).await
    }
    .await;
    match result {
        Ok(done) => with_event(
            reply(Some(CHANGE_ID), VERSION, r.now, json!({"status": "Success", "message": done.message}), Errors::Null),
            done.event_id.as_str(),
        ),
        Err(e) => refusal(CHANGE_ID, VERSION, r.now, &e),
    }
}
