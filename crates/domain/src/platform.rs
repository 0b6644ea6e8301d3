//! The embedded platform's clients: other systems (a registration processor, a resident-services tier
//! in front of this platform) that call its MOSIP contracts. As MOSIP's auth manager does, an
//! operator registers a client with an id, the application it acts for and its roles; the client
//! trades its id and secret key for a short-lived token (`/v1/authmanager/authenticate/clientidsecretkey`)
//! and presents that token to the platform's endpoints, which check its roles.

use async_trait::async_trait;
use base64::Engine as _;
use rand::RngCore;
use time::OffsetDateTime;

use crate::audit::{AuditContext, AuditEvent};
use crate::error::{ResidentError, StoreError};
use crate::partner::{api_key_digest, same_digest};
use crate::ports::{AuditLog, Effects};

/// How long a client's token holds (MOSIP's `mosip.kernel.auth.token.expiry`, here 30 minutes).
pub const TOKEN_SECONDS: i64 = 1800;
const MAX_ID_CHARS: usize = 64;

/// The roles a client may hold: what the embedded platform's endpoints ask for, as MOSIP names them.
pub const ROLES: [&str; 3] = ["REGISTRATION_PROCESSOR", "RESIDENT", "ID_AUTHENTICATION"];

/// A registered client. Its secret is kept only as a SHA-256 digest (it is 256 random bits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformClient {
    pub id: String,
    /// MOSIP's `appId`: the application the client acts for (`regproc`, `resident`, …).
    pub app_id: String,
    pub roles: Vec<String>,
    pub secret_sha256: String,
    pub active: bool,
    /// When its current secret was issued (registered, or replaced): a token issued before is void.
    pub created_at: OffsetDateTime,
}

/// Where clients are kept.
#[async_trait]
pub trait PlatformClients: Send + Sync {
    /// Records a new client with its effects; `Conflict` when the id is taken.
    async fn add_client(
        &self,
        client: &PlatformClient,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn client(&self, id: &str) -> Result<Option<PlatformClient>, StoreError>;
    /// Stores a client's new state (active, secret, when it was issued) with its effects, if it is
    /// still as `was` (the same secret, issued at the same time): `Conflict` when it changed
    /// meanwhile, or is gone.
    async fn update_client(
        &self,
        client: &PlatformClient,
        was: &PlatformClient,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

fn digest(secret: &str) -> String {
    api_key_digest(secret.trim())
}

fn plain_id(value: &str) -> bool {
    !value.is_empty()
        && value.chars().count() <= MAX_ID_CHARS
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Registers a client and returns it with its secret key, which exists nowhere else: the operator
/// hands it over once. Ids and application ids are letters, digits, `-`, `_` and `.`; roles come
/// from [`ROLES`].
pub async fn register_client(
    store: &dyn PlatformClients,
    audit: &AuditContext,
    now: OffsetDateTime,
    id: &str,
    app_id: &str,
    roles: &[String],
) -> Result<(PlatformClient, String), ResidentError> {
    let (id, app_id) = (id.trim(), app_id.trim());
    if !plain_id(id) {
        return Err(ResidentError::invalid("clientId"));
    }
    if !plain_id(app_id) {
        return Err(ResidentError::invalid("appId"));
    }
    let mut kept: Vec<String> = Vec::new();
    for r in roles.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        if !ROLES.contains(&r) {
            return Err(ResidentError::invalid("roles"));
        }
        if !kept.iter().any(|k| k == r) {
            kept.push(r.to_owned());
        }
    }
    if kept.is_empty() {
        return Err(ResidentError::invalid("roles"));
    }
    let secret = new_secret();
    let client = PlatformClient {
        id: id.to_owned(),
        app_id: app_id.to_owned(),
        roles: kept,
        secret_sha256: digest(&secret),
        active: true,
        created_at: now,
    };
    let record = AuditEvent::PlatformClientRegistered.record(
        audit,
        now,
        Some((client.id.clone(), "CLIENT")),
        format!("client for {} with roles {}", client.app_id, client.roles.join(",")),
    );
    match store.add_client(&client, &Effects { audit: vec![record], ..Effects::default() }, now).await {
        Ok(()) => Ok((client, secret)),
        Err(StoreError::Conflict(_)) => Err(ResidentError::invalid("clientId: already registered")),
        Err(e) => Err(e.into()),
    }
}

fn new_secret() -> String {
    let mut key = [0u8; 32];
    crate::clock::rng().fill_bytes(&mut key);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

/// What an operator does to a registered client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientChange {
    /// It may no longer get tokens, and the tokens it holds stop working at once.
    Disable,
    /// Active again, with its current secret (tokens issued before it was disabled stay void).
    Enable,
    /// A new secret key (returned once); the old one, and every token issued with it, stop working.
    RotateSecret,
}

/// Applies an operator's change to a client, with its audit record. Any change (enabling an active
/// client or disabling a disabled one is none) voids the client's
/// tokens issued before it (their `registered_at` no longer matches), so a leaked token dies with
/// the secret or the access that produced it. Returns the client and, for a rotation, the new secret.
pub async fn change_client(
    store: &dyn PlatformClients,
    audit: &AuditContext,
    now: OffsetDateTime,
    id: &str,
    change: ClientChange,
) -> Result<(PlatformClient, Option<String>), ResidentError> {
    let id = id.trim();
    let found = if plain_id(id) { store.client(id).await? } else { None };
    let Some(was) = found else { return Err(ResidentError::invalid("clientId: not registered")) };
    // enabling an active client, or disabling a disabled one, changes nothing (its tokens live on)
    match change {
        ClientChange::Enable if was.active => return Ok((was, None)),
        ClientChange::Disable if !was.active => return Ok((was, None)),
        _ => {}
    }
    // a second apart at least, so the change is seen in every token's whole-second `registered_at`
    let issued = now.max(was.created_at + time::Duration::seconds(1));
    let (client, secret, what) = match change {
        ClientChange::Disable => {
            (PlatformClient { active: false, created_at: issued, ..was.clone() }, None, "disabled".to_owned())
        }
        ClientChange::Enable => {
            (PlatformClient { active: true, created_at: issued, ..was.clone() }, None, "enabled".to_owned())
        }
        ClientChange::RotateSecret => {
            let secret = new_secret();
            let client = PlatformClient { secret_sha256: digest(&secret), created_at: issued, ..was.clone() };
            (client, Some(secret), "secret key replaced".to_owned())
        }
    };
    let record = AuditEvent::PlatformClientChanged.record(audit, now, Some((client.id.clone(), "CLIENT")), what);
    let effects = Effects { audit: vec![record], ..Effects::default() };
    store.update_client(&client, &was, &effects, now).await?;
    Ok((client, secret))
}

/// The client that presents this id, secret key and application id, if it is active; the attempt is
/// audited either way (with the registered application, never the text sent). Every mismatch is the
/// same refusal (`KER-ATH-401`), in the same time: an unknown id is checked against a digest too.
pub async fn authenticate_client(
    store: &dyn PlatformClients,
    audit_log: &dyn AuditLog,
    audit: &AuditContext,
    now: OffsetDateTime,
    id: &str,
    secret: &str,
    app_id: &str,
) -> Result<PlatformClient, ResidentError> {
    let id = id.trim();
    let found = if plain_id(id) { store.client(id).await? } else { None };
    let presented = digest(secret);
    let matches = match &found {
        Some(c) => same_digest(&presented, &c.secret_sha256) && c.active && c.app_id == app_id.trim(),
        None => {
            // the same work as for a known client
            std::hint::black_box(same_digest(&presented, &digest("")));
            false
        }
    };
    let named: String = if found.is_some() { id.to_owned() } else { "unknown client".to_owned() };
    let what = match (&found, matches) {
        (Some(c), true) => format!("token issued for {}", c.app_id),
        _ => "refused".to_owned(),
    };
    audit_log.append(AuditEvent::PlatformClientAuthenticated.record(audit, now, Some((named, "CLIENT")), what)).await?;
    match found {
        Some(c) if matches => Ok(c),
        _ => Err(ResidentError::Unauthenticated),
    }
}

/// Whether a token's holder may call an endpoint that needs `role`: the client is still registered
/// as it was when the token was issued (`registered_at`), active, and holds the role, and so does
/// the token.
pub fn authorize(client: Option<&PlatformClient>, registered_at: i64, token_roles: &str, role: &str) -> bool {
    client.is_some_and(|c| {
        c.active
            && c.created_at.unix_timestamp() == registered_at
            && c.roles.iter().any(|r| r == role)
            && token_roles.split(' ').any(|r| r == role)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Memory(Mutex<Vec<PlatformClient>>);

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    #[async_trait]
    impl AuditLog for Log {
        async fn append(&self, r: crate::audit::AuditRecord) -> Result<(), StoreError> {
            self.0.lock().unwrap().push(r.description);
            Ok(())
        }
    }

    #[async_trait]
    impl PlatformClients for Memory {
        async fn add_client(&self, c: &PlatformClient, _: &Effects, _: OffsetDateTime) -> Result<(), StoreError> {
            let mut all = self.0.lock().unwrap();
            if all.iter().any(|x| x.id == c.id) {
                return Err(StoreError::Conflict("taken".into()));
            }
            all.push(c.clone());
            Ok(())
        }
        async fn client(&self, id: &str) -> Result<Option<PlatformClient>, StoreError> {
            Ok(self.0.lock().unwrap().iter().find(|c| c.id == id).cloned())
        }
        async fn update_client(
            &self,
            c: &PlatformClient,
            was: &PlatformClient,
            _: &Effects,
            _: OffsetDateTime,
        ) -> Result<(), StoreError> {
            let mut all = self.0.lock().unwrap();
            let kept = all.iter_mut().find(|x| x.id == c.id).ok_or(StoreError::NotFound)?;
            if kept != was {
                return Err(StoreError::Conflict("changed".into()));
            }
            *kept = c.clone();
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_disabled_or_rotated_client_loses_its_tokens_and_its_old_secret() {
        let store = Memory::default();
        let (audit, now) = (AuditContext::system("test"), OffsetDateTime::UNIX_EPOCH);
        let roles = vec!["RESIDENT".to_owned()];
        let (client, secret) = register_client(&store, &audit, now, "tier", "resident", &roles).await.unwrap();
        let token_of = |c: &PlatformClient| c.created_at.unix_timestamp();
        let old_token = token_of(&client);
        let log = Log::default();
        let auth = |key: String| {
            let (store, log, audit) = (&store, &log, &audit);
            async move { authenticate_client(store, log, audit, now, "tier", &key, "resident").await }
        };

        let (off, none) = change_client(&store, &audit, now, "tier", ClientChange::Disable).await.unwrap();
        assert!(none.is_none() && !off.active);
        assert!(!authorize(Some(&off), old_token, "RESIDENT", "RESIDENT"), "its tokens stop at once");
        assert!(auth(secret.clone()).await.is_err(), "no new token while disabled");

        let (on, _) = change_client(&store, &audit, now, "tier", ClientChange::Enable).await.unwrap();
        assert!(on.active && auth(secret.clone()).await.is_ok());
        assert!(!authorize(Some(&on), old_token, "RESIDENT", "RESIDENT"), "a token from before stays void");
        let before_rotation = token_of(&on);

        let (rotated, new) = change_client(&store, &audit, now, "tier", ClientChange::RotateSecret).await.unwrap();
        let new = new.unwrap();
        assert_ne!(new, secret);
        assert!(auth(secret).await.is_err(), "the old secret is refused");
        let fresh = auth(new.clone()).await.unwrap();
        assert!(authorize(Some(&fresh), token_of(&rotated), "RESIDENT", "RESIDENT"));
        assert!(!authorize(Some(&fresh), before_rotation, "RESIDENT", "RESIDENT"));
        assert!(log.0.lock().unwrap().iter().all(|d| !d.contains(&new)));
        let nobody = change_client(&store, &audit, now, "nobody", ClientChange::Disable).await;
        assert_eq!(nobody.unwrap_err().code(), "RES-SER-410");
    }

    #[tokio::test]
    async fn a_client_proves_itself_with_its_secret_for_its_application_only() {
        let store = Memory::default();
        let (audit, now) = (AuditContext::system("test"), OffsetDateTime::UNIX_EPOCH);
        let roles = vec!["REGISTRATION_PROCESSOR".to_owned()];
        let (client, secret) =
            register_client(&store, &audit, now, "mosip-regproc-client", "regproc", &roles).await.unwrap();
        assert!(!client.secret_sha256.contains(&secret) && secret.len() >= 43);
        let log = Log::default();
        let auth = |id: &str, key: &str, app: &str| {
            let (store, log, audit) = (&store, &log, &audit);
            let (id, key, app) = (id.to_owned(), key.to_owned(), app.to_owned());
            async move { authenticate_client(store, log, audit, now, &id, &key, &app).await }
        };
        let ok = auth("mosip-regproc-client", &secret, "regproc").await.unwrap();
        assert_eq!(ok.roles, roles);
        assert!(authorize(
            Some(&ok),
            ok.created_at.unix_timestamp(),
            "REGISTRATION_PROCESSOR",
            "REGISTRATION_PROCESSOR"
        ));
        assert!(
            !authorize(
                Some(&ok),
                ok.created_at.unix_timestamp() + 1,
                "REGISTRATION_PROCESSOR",
                "REGISTRATION_PROCESSOR"
            ),
            "registered again since"
        );
        assert!(!authorize(Some(&ok), ok.created_at.unix_timestamp(), "RESIDENT", "REGISTRATION_PROCESSOR"));
        assert!(!authorize(None, 0, "REGISTRATION_PROCESSOR", "REGISTRATION_PROCESSOR"));
        for (id, key, app) in [
            ("mosip-regproc-client", "wrong", "regproc"),
            ("mosip-regproc-client", secret.as_str(), "resident"),
            ("nobody", secret.as_str(), "regproc"),
        ] {
            assert_eq!(auth(id, key, app).await.unwrap_err().code(), "KER-ATH-401");
        }
        assert_eq!(log.0.lock().unwrap().len(), 4, "every attempt audited");
        assert!(log.0.lock().unwrap().iter().all(|d| !d.contains(&secret)));
        // refusals: the id taken, bad ids, unknown or no roles
        let again = register_client(&store, &audit, now, "mosip-regproc-client", "regproc", &roles).await;
        assert_eq!(again.unwrap_err().code(), "RES-SER-410");
        for (id, app, r) in
            [("a b", "x", &roles), ("ok", "", &roles), ("ok", "x", &vec!["ROOT".to_owned()]), ("ok", "x", &vec![])]
        {
            assert_eq!(register_client(&store, &audit, now, id, app, r).await.unwrap_err().code(), "RES-SER-410");
        }
    }
}
