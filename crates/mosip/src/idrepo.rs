//! MOSIP's ID Repository, as MOSIP's resident service calls it (`Utilities.retrieveIdrepoJson`,
//! `ResidentVidServiceImpl`, `IdAuthServiceImpl.authTypeStatusUpdate`):
//!
//! - `GET {idrepo}/identity/idvid/{id}`: the identity a UIN or VID names (a read);
//! - `GET {idrepo}/vid/uin/{uin}`, `GET {idrepo}/vid/{vid}` (reads);
//! - `POST {idrepo}/vid` (`mosip.vid.create`) and `PATCH {idrepo}/vid/{vid}` (`mosip.vid.update`),
//!   never repeated;
//! - `GET {idrepo}/identity/authtypes/status/{uin}`, `POST {idrepo}/identity/authtypes/status`
//!   (`mosip.identity.authtype.status.update`).
//!
//! `{idrepo}` is `…/idrepository/v1`. The ID Repository answers its refusals with HTTP 200 and
//! `errors[{errorCode, message}]`: `IDR-IDC-007` (no record) is "none", `IDR-VID-003` (the policy
//! allows no more) is the resident's `VidAlreadyPresent`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use resident_domain::ResidentError;
use resident_domain::authtype::{AuthType, LockState};
use resident_domain::clock::{Clock, epoch_ms, mosip_datetime, parse_mosip_datetime};
use resident_domain::history::IdentityToken;
use resident_domain::identity::IdentityJson;
use resident_domain::idrepo::IdRepository;
use resident_domain::ids::{IndividualId, Uin, Vid};
use resident_domain::ports::{NewDocument, Resolved};
use resident_domain::vid::VidRecord;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::KernelAuth;
use crate::{AdapterError, Breaker, Retry, call};

const SERVICE: &str = "ID repository";

/// This tier's keyed token of a UIN: what its own records (history, audit) of the identity are kept
/// under, since it holds no identity of its own.
pub type TokenOf = Arc<dyn Fn(&Uin) -> IdentityToken + Send + Sync>;

pub struct MosipIdRepository {
    http: reqwest::Client,
    base: String,
    auth: Arc<KernelAuth>,
    clock: Arc<dyn Clock>,
    breaker: Breaker,
    token_of: TokenOf,
}

fn malformed(detail: &str) -> AdapterError {
    AdapterError::Malformed { service: SERVICE, detail: detail.into() }
}

fn code_of(e: &AdapterError) -> Option<&str> {
    match e {
        AdapterError::Refused { code, .. } => Some(code.as_str()),
        _ => None,
    }
}

impl MosipIdRepository {
    /// `idrepo_url` is the ID Repository's base (`https://api-internal.example/idrepository/v1`).
    pub fn new(
        idrepo_url: &str,
        auth: Arc<KernelAuth>,
        timeout: Duration,
        clock: Arc<dyn Clock>,
        token_of: TokenOf,
    ) -> Result<Self, AdapterError> {
        let http = crate::http_client(SERVICE, timeout)?;
        Ok(MosipIdRepository {
            http,
            base: idrepo_url.trim_end_matches('/').to_owned(),
            auth,
            clock,
            breaker: Breaker::default(),
            token_of,
        })
    }

    /// A read: its `response`, or the refusal.
    async fn get(&self, path: &str) -> Result<Value, AdapterError> {
        let url = format!("{}/{path}", self.base);
        let (status, answer) =
            call(SERVICE, &self.auth, &self.breaker, Retry::Idempotent, |_| self.http.get(&url)).await?;
        if let Some(refused) = crate::refusal(SERVICE, status, &answer) {
            return Err(refused);
        }
        Ok(answer.get("response").cloned().unwrap_or(Value::Null))
    }

    /// A change, sent once: its `response`, or the refusal.
    async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> Result<Value, AdapterError> {
        let url = format!("{}/{path}", self.base);
        let (status, answer) = call(SERVICE, &self.auth, &self.breaker, Retry::Once, |_| {
            self.http.request(method.clone(), &url).json(body)
        })
        .await?;
        if let Some(refused) = crate::refusal(SERVICE, status, &answer) {
            return Err(refused);
        }
        Ok(answer.get("response").cloned().unwrap_or(Value::Null))
    }
}

#[async_trait]
impl IdRepository for MosipIdRepository {
    async fn identity(&self, id: &IndividualId, now: OffsetDateTime) -> Result<Option<Resolved>, ResidentError> {
        let response = match self.get(&format!("identity/idvid/{}", id.expose())).await {
            Ok(r) => r,
            // no such identity, or a VID that is revoked, expired or used up: either way it names none
            Err(e) if matches!(code_of(&e), Some("IDR-IDC-007" | "IDR-VID-001")) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut identity =
            response.get("identity").and_then(Value::as_object).cloned().ok_or_else(|| malformed("no identity"))?;
        let uin = identity
            .remove("UIN")
            .and_then(|u| u.as_str().map(str::to_owned))
            .and_then(|u| Uin::parse(&u).ok())
            .ok_or_else(|| malformed("no UIN"))?;
        let status = response.get("status").and_then(Value::as_str).ok_or_else(|| malformed("no status"))?.to_owned();
        let token = (self.token_of)(&uin);
        let vid = match id {
            // the repository answered for the VID, so it is usable now; its type is not told here
            IndividualId::Vid(v) => Some(VidRecord {
                vid: v.clone(),
                vid_type: String::new(),
                status: "ACTIVE".into(),
                created_at: now,
                expires_at: None,
                transactions_left: None,
            }),
            IndividualId::Uin(_) => None,
        };
        Ok(Some(Resolved { identity_id: token.0.clone(), uin, token, status, identity: IdentityJson(identity), vid }))
    }

    async fn documents(&self, who: &Resolved) -> Result<Vec<NewDocument>, ResidentError> {
        use base64::Engine as _;
        use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
        let response = self.get(&format!("identity/idvid/{}?type=all", who.uin.expose())).await?;
        let items = response.get("documents").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            let value = text("value");
            let content = URL_SAFE_NO_PAD
                .decode(value.trim())
                .or_else(|_| URL_SAFE.decode(value.trim()))
                .map_err(|_| malformed("a document is not base64"))?;
            let format = match text("format") {
                f if !f.is_empty() => f,
                // MOSIP says no format: the bytes do
                _ if content.starts_with(&[0x89, b'P', b'N', b'G']) => "png".into(),
                _ if content.starts_with(&[0xFF, 0xD8]) => "jpeg".into(),
                _ => "bin".into(),
            };
            out.push(NewDocument { category: text("category"), format, content });
        }
        Ok(out)
    }

    async fn vids(&self, who: &Resolved, now: OffsetDateTime) -> Result<Vec<VidRecord>, ResidentError> {
        let response = self.get(&format!("vid/uin/{}", who.uin.expose())).await?;
        let items = response.as_array().ok_or_else(|| malformed("no VID list"))?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let text = |k: &str| item.get(k).and_then(Value::as_str);
            let vid = text("vid").and_then(|v| Vid::parse(v).ok()).ok_or_else(|| malformed("vid"))?;
            out.push(VidRecord {
                vid,
                vid_type: text("vidType").unwrap_or_default().to_owned(),
                status: "ACTIVE".into(),
                created_at: text("generatedOn").and_then(parse_mosip_datetime).unwrap_or(now),
                expires_at: text("expiryTimestamp").and_then(parse_mosip_datetime),
                transactions_left: item.get("transactionLimit").and_then(Value::as_i64),
            });
        }
        out.sort_by_key(|v| std::cmp::Reverse(v.created_at));
        Ok(out)
    }

    async fn create_vid(&self, who: &Resolved, vid_type: &str, _now: OffsetDateTime) -> Result<Vid, ResidentError> {
        let body = json!({
            "id": "mosip.vid.create", "version": "v1", "requesttime": mosip_datetime(self.clock.now()),
            "request": {"UIN": who.uin.expose(), "vidType": vid_type},
        });
        match self.send(reqwest::Method::POST, "vid", &body).await {
            Ok(response) => response
                .get("VID")
                .and_then(Value::as_str)
                .and_then(|v| Vid::parse(v).ok())
                .ok_or_else(|| malformed("no VID").into()),
            Err(e) if code_of(&e) == Some("IDR-VID-003") => Err(ResidentError::VidAlreadyPresent),
            Err(e @ AdapterError::Refused { .. }) => {
                tracing::warn!(error = %e, "the ID repository refused a VID");
                Err(ResidentError::VidCreationFailed)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn revoke_vid(&self, who: &Resolved, vid: &Vid, _now: OffsetDateTime) -> Result<(), ResidentError> {
        // only an active VID of this identity: asked first, as MOSIP's resident service does
        let owner = match self.get(&format!("vid/{}", vid.expose())).await {
            Ok(r) => r,
            Err(e) if matches!(code_of(&e), Some("IDR-IDC-007" | "IDR-VID-001")) => {
                return Err(ResidentError::ApiResourceAccess);
            }
            Err(e) => return Err(e.into()),
        };
        let same = owner.get("UIN").and_then(Value::as_str) == Some(who.uin.expose());
        let usable = owner.get("vidStatus").and_then(Value::as_str).is_some_and(resident_domain::vid::revocable);
        if !same || !usable {
            return Err(ResidentError::ApiResourceAccess);
        }
        let body = json!({
            "id": "mosip.vid.update", "version": "v1", "requesttime": mosip_datetime(self.clock.now()),
            "request": {"vidStatus": "REVOKED"},
        });
        match self.send(reqwest::Method::PATCH, &format!("vid/{}", vid.expose()), &body).await {
            Ok(_) => Ok(()),
            Err(e @ AdapterError::Refused { .. }) => {
                tracing::warn!(error = %e, "the ID repository refused a revocation");
                Err(ResidentError::VidRevocationFailed)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn auth_type_status(&self, who: &Resolved) -> Result<Vec<LockState>, ResidentError> {
        let response = self.get(&format!("identity/authtypes/status/{}", who.uin.expose())).await?;
        let items = response.get("authTypes").and_then(Value::as_array).ok_or_else(|| malformed("no authTypes"))?;
        let now_ms = epoch_ms(self.clock.now());
        let mut out = Vec::new();
        for item in items {
            let kind = item.get("authType").and_then(Value::as_str).unwrap_or_default();
            let sub = item.get("authSubType").and_then(Value::as_str);
            // a type this service does not know (another biometric modality) is not one it shows
            let Some(auth_type) = AuthType::from_parts(kind, sub) else { continue };
            let locked = item.get("locked").and_then(Value::as_bool).unwrap_or(false);
            let seconds = item.get("unlockForSeconds").and_then(Value::as_i64);
            let state = LockState::from_wire(auth_type, locked, seconds, now_ms)
                .ok_or_else(|| malformed("unlockForSeconds out of range"))?;
            out.push(state);
        }
        Ok(out)
    }

    async fn update_auth_type_status(
        &self,
        who: &Resolved,
        states: &[LockState],
        now: OffsetDateTime,
    ) -> Result<(), ResidentError> {
        let now_ms = epoch_ms(now);
        let request: Vec<Value> = states
            .iter()
            .map(|s| {
                let (kind, sub) = s.auth_type.split();
                let (locked, seconds) = s.to_wire(now_ms);
                json!({"authType": kind, "authSubType": sub, "locked": locked,
                       "unlockForSeconds": seconds, "requestId": uuid_like()})
            })
            .collect();
        let body = json!({
            "id": "mosip.identity.authtype.status.update", "version": "1.0",
            "requestTime": mosip_datetime(now), "consentObtained": true,
            "individualId": who.uin.expose(), "individualIdType": "UIN", "request": request,
        });
        self.send(reqwest::Method::POST, "identity/authtypes/status", &body).await?;
        Ok(())
    }
}

/// A random request id for each change (MOSIP's resident sends a UUID).
fn uuid_like() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = resident_domain::clock::rng().r#gen();
    hex::encode(bytes)
}
