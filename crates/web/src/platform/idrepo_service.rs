//! The embedded ID Repository's contracts that a resident-services tier in `mosip` mode calls (as
//! MOSIP's resident service calls MOSIP's ID Repository), for a platform client with `RESIDENT`:
//!
//! - `GET /idrepository/v1/identity/idvid/{id}`: the identity a UIN or VID names (`mosip.id.read`);
//! - `GET /idrepository/v1/vid/{vid}`, `GET /idrepository/v1/vid/uin/{uin}`;
//! - `POST /idrepository/v1/vid` (`mosip.vid.create`) and `PATCH /idrepository/v1/vid/{vid}`
//!   (`mosip.vid.update`, to `REVOKED`), under this platform's VID policy;
//! - `GET /idrepository/v1/identity/authtypes/status/{id}` and `POST …/authtypes/status`.
//!
//! Refusals are the ID Repository's: HTTP 200 with `errors[{errorCode, message}]` (`IDR-IDC-007` no
//! record, `IDR-IDC-002` invalid input, `IDR-VID-003` the policy allows no more, `IDR-VID-001` a VID
//! that cannot change).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use resident_domain::ResidentError;
use resident_domain::audit::AuditEvent;
use resident_domain::authtype::{AuthType, LockState};
use resident_domain::clock::{epoch_ms, mosip_datetime};
use resident_domain::idrepo::IdRepository;
use resident_domain::ids::{IndividualId, Uin, Vid};
use resident_domain::ports::Resolved;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::api::RequestMeta;
use crate::envelope::{self, text};

const ROLE: &str = "RESIDENT";

/// An ID Repository refusal: its code and message.
struct Refusal(&'static str, String);

impl From<ResidentError> for Refusal {
    fn from(e: ResidentError) -> Self {
        match e {
            ResidentError::Unauthenticated => Refusal("KER-ATH-401", "Authentication failed".into()),
            ResidentError::VidAlreadyPresent => {
                Refusal("IDR-VID-003", "Could not generate/regenerate VID as per policy".into())
            }
            ResidentError::ApiResourceAccess => Refusal("IDR-IDC-007", "No Record(s) found".into()),
            ResidentError::InvalidInput(f) => Refusal("IDR-IDC-002", format!("Invalid Input Parameter - {f}")),
            other => {
                if let Some(detail) = other.internal_detail() {
                    tracing::error!(code = other.code(), detail, "an ID Repository request failed");
                }
                Refusal("IDR-IDC-004", "Unknown error occurred".into())
            }
        }
    }
}

fn no_record() -> Refusal {
    Refusal("IDR-IDC-007", "No Record(s) found".into())
}

fn invalid(field: &str) -> Refusal {
    Refusal("IDR-IDC-002", format!("Invalid Input Parameter - {field}"))
}

fn answer(api: &str, now: time::OffsetDateTime, result: Result<Value, Refusal>) -> Response {
    let (status, doc) = match result {
        Ok(response) => (
            axum::http::StatusCode::OK,
            json!({"id": api, "version": "v1", "responsetime": mosip_datetime(now), "metadata": null,
                   "response": response, "errors": []}),
        ),
        Err(Refusal(code, message)) => (
            if code == "KER-ATH-401" { axum::http::StatusCode::UNAUTHORIZED } else { axum::http::StatusCode::OK },
            json!({"id": api, "version": "v1", "responsetime": mosip_datetime(now), "metadata": null,
                   "response": null, "errors": [{"errorCode": code, "message": message}]}),
        ),
    };
    (status, axum::Json(doc)).into_response()
}

/// Appends what a caller did to this platform's audit chain (the id masked).
async fn audited(
    state: &AppState,
    meta: &RequestMeta,
    caller: &str,
    event: AuditEvent,
    id: &IndividualId,
    description: &str,
) -> Result<(), Refusal> {
    let ctx = meta.audit_context(state, caller);
    let record = event.record(&ctx, state.clock.now(), Some((id.masked(), id.id_type())), description);
    state.audit.append(record).await.map_err(|e| Refusal::from(ResidentError::from(e)))
}

async fn identity_of(state: &AppState, id: &IndividualId) -> Result<Resolved, Refusal> {
    state.embedded_idrepo.identity(id, state.clock.now()).await?.ok_or_else(no_record)
}

#[derive(Debug, serde::Deserialize)]
pub struct ReadType {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `GET /idrepository/v1/identity/idvid/{id}[?type=demo|bio|all]`: the identity (with its `UIN`)
/// and its status; with a type, its documents too (`{category, value}` in URL-safe base64, and
/// this platform's `format`).
pub async fn identity(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(read): Query<ReadType>,
) -> Response {
    let now = state.clock.now();
    let result = async {
        let caller = super::require_platform(&state, &headers, ROLE).await?;
        let id = IndividualId::parse(&id).ok_or_else(|| invalid("id"))?;
        let who = identity_of(&state, &id).await?;
        let what = if read.kind.is_some() { "identity and documents read" } else { "identity read" };
        audited(&state, &meta, &caller, AuditEvent::IdentityRead, &id, what).await?;
        let mut identity = who.identity.0.clone();
        identity.insert("UIN".into(), Value::String(who.uin.expose().to_owned()));
        let documents: Vec<Value> = match read.kind.as_deref() {
            None => Vec::new(),
            Some("demo" | "bio" | "all") => state
                .embedded_idrepo
                .documents(&who)
                .await?
                .iter()
                .map(|d| {
                    json!({"category": d.category, "format": d.format,
                           "value": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&d.content)})
                })
                .collect(),
            Some(_) => return Err(invalid("type")),
        };
        Ok(json!({"status": who.status, "identity": identity, "documents": documents, "verifiedAttributes": null}))
    }
    .await;
    answer("mosip.id.read", now, result)
}

/// `GET /idrepository/v1/vid/{vid}`: the UIN a VID belongs to and its status.
pub async fn vid(State(state): State<AppState>, headers: HeaderMap, Path(vid): Path<String>) -> Response {
    let now = state.clock.now();
    let result = async {
        super::require_platform(&state, &headers, ROLE).await?;
        let vid = Vid::parse(&vid).map_err(|_| invalid("vid"))?;
        let (identity_id, record) = state.embedded_idrepo.vid_owner(&vid).await?.ok_or_else(no_record)?;
        let owner =
            state.identities.identity_by_id(&identity_id).await.map_err(ResidentError::from)?.ok_or_else(no_record)?;
        Ok(json!({"UIN": owner.uin.expose(), "VID": vid.expose(), "vidStatus": record.status, "restoredVid": null}))
    }
    .await;
    answer("mosip.vid.read", now, result)
}

/// `GET /idrepository/v1/vid/uin/{uin}`: the UIN's active VIDs.
pub async fn vids_of(State(state): State<AppState>, headers: HeaderMap, Path(uin): Path<String>) -> Response {
    let now = state.clock.now();
    let result = async {
        super::require_platform(&state, &headers, ROLE).await?;
        let uin = Uin::parse(&uin).map_err(|_| invalid("uin"))?;
        let who = identity_of(&state, &IndividualId::Uin(uin)).await?;
        let vids = state.embedded_idrepo.vids(&who, now).await?;
        let list: Vec<Value> = vids
            .iter()
            .map(|v| {
                json!({"vid": v.vid.expose(), "vidType": v.vid_type,
                       "expiryTimestamp": v.expires_at.map(mosip_datetime),
                       "transactionLimit": v.transactions_left, "hashAttributes": null,
                       "generatedOn": mosip_datetime(v.created_at)})
            })
            .collect();
        Ok(Value::Array(list))
    }
    .await;
    answer("mosip.vid.read", now, result)
}

fn request_of(body: Result<Bytes, BytesRejection>, api: &str) -> Result<Map<String, Value>, Refusal> {
    let body = envelope::json_body(body).map_err(|_| invalid("request"))?;
    if text(&body, "id") != Some(api) {
        return Err(invalid("id"));
    }
    body.get("request")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| Refusal("IDR-IDC-001", "Missing Input Parameter - request".into()))
}

/// `POST /idrepository/v1/vid`: a VID of `vidType` for `UIN`, as the VID policy allows.
pub async fn create_vid(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.vid.create";
    let now = state.clock.now();
    let result = async {
        let caller = super::require_platform(&state, &headers, ROLE).await?;
        let request = request_of(body, API)?;
        let uin = text(&request, "UIN").and_then(|u| Uin::parse(u).ok()).ok_or_else(|| invalid("UIN"))?;
        let vid_type = text(&request, "vidType").ok_or_else(|| invalid("vidType"))?;
        let who = identity_of(&state, &IndividualId::Uin(uin)).await?;
        if who.status != "ACTIVATED" {
            return Err(Refusal("IDR-VID-004", format!("{} UIN", who.status)));
        }
        let vid = state.embedded_idrepo.create_vid(&who, vid_type, now).await?;
        let about = IndividualId::Uin(who.uin.clone());
        audited(&state, &meta, &caller, AuditEvent::VidCreated, &about, &format!("{vid_type} VID {}", vid.masked()))
            .await?;
        Ok(json!({"VID": vid.expose(), "vidStatus": "ACTIVE", "UIN": null, "restoredVid": null}))
    }
    .await;
    answer(API, now, result)
}

/// `PATCH /idrepository/v1/vid/{vid}` `{vidStatus: "REVOKED"}`: revokes an active VID (a type that
/// restores on revocation gets a new one).
pub async fn update_vid(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Path(vid): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.vid.update";
    let now = state.clock.now();
    let result = async {
        let caller = super::require_platform(&state, &headers, ROLE).await?;
        let request = request_of(body, API)?;
        if text(&request, "vidStatus") != Some("REVOKED") {
            return Err(invalid("vidStatus"));
        }
        let vid = Vid::parse(&vid).map_err(|_| invalid("vid"))?;
        let (identity_id, record) = state.embedded_idrepo.vid_owner(&vid).await?.ok_or_else(no_record)?;
        if !resident_domain::vid::revocable(&record.status) {
            return Err(Refusal("IDR-VID-001", format!("VID is {}", record.status)));
        }
        let owner =
            state.identities.identity_by_id(&identity_id).await.map_err(ResidentError::from)?.ok_or_else(no_record)?;
        let who = identity_of(&state, &IndividualId::Uin(owner.uin)).await?;
        state.embedded_idrepo.revoke_vid(&who, &vid, now).await?;
        audited(&state, &meta, &caller, AuditEvent::VidRevoked, &IndividualId::Vid(vid.clone()), "VID revoked").await?;
        Ok(json!({"VID": vid.expose(), "vidStatus": "REVOKED", "UIN": null, "restoredVid": null}))
    }
    .await;
    answer(API, now, result)
}

/// `GET /idrepository/v1/identity/authtypes/status/{id}`: every auth type's lock; a temporary unlock
/// shows as `locked: false` with the seconds it has left.
pub async fn auth_type_status(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let now = state.clock.now();
    let result = async {
        super::require_platform(&state, &headers, ROLE).await?;
        let id = IndividualId::parse(&id).ok_or_else(|| invalid("individualId"))?;
        let who = identity_of(&state, &id).await?;
        let states = state.embedded_idrepo.auth_type_status(&who).await?;
        let now_ms = epoch_ms(now);
        let list: Vec<Value> = states
            .iter()
            .map(|s| {
                let (kind, sub) = s.auth_type.split();
                let (locked, seconds) = s.to_wire(now_ms);
                json!({"authType": kind, "authSubType": sub, "locked": locked, "unlockForSeconds": seconds})
            })
            .collect();
        Ok(json!({"authTypes": list}))
    }
    .await;
    answer("mosip.identity.authtype.status.read", now, result)
}

/// `POST /idrepository/v1/identity/authtypes/status`: locks, unlocks, or unlocks for a while.
pub async fn update_auth_type_status(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.identity.authtype.status.update";
    let now = state.clock.now();
    let result = async {
        let caller = super::require_platform(&state, &headers, ROLE).await?;
        let body = envelope::json_body(body).map_err(|_| invalid("request"))?;
        if text(&body, "id") != Some(API) {
            return Err(invalid("id"));
        }
        let id = text(&body, "individualId").and_then(IndividualId::parse).ok_or_else(|| invalid("individualId"))?;
        let items = body
            .get("request")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| invalid("request"))?;
        let now_ms = epoch_ms(now);
        let mut states = Vec::new();
        for item in items {
            let kind = item.get("authType").and_then(Value::as_str).unwrap_or_default();
            let sub = item.get("authSubType").and_then(Value::as_str);
            let auth_type = AuthType::from_parts(kind, sub).ok_or_else(|| invalid("authType"))?;
            let locked = item.get("locked").and_then(Value::as_bool).ok_or_else(|| invalid("locked"))?;
            let seconds = item.get("unlockForSeconds").and_then(Value::as_i64);
            let state =
                LockState::from_wire(auth_type, locked, seconds, now_ms).ok_or_else(|| invalid("unlockForSeconds"))?;
            states.push(state);
        }
        let who = identity_of(&state, &id).await?;
        state.embedded_idrepo.update_auth_type_status(&who, &states, now).await?;
        let names: Vec<&str> = states.iter().map(|s| s.auth_type.code()).collect();
        audited(&state, &meta, &caller, AuditEvent::AuthTypesChanged, &id, &names.join(",")).await?;
        Ok(Value::Null)
    }
    .await;
    answer(API, now, result)
}
