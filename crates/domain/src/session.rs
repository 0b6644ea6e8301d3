//! Resident sessions: starting one after a proved login, finding it again on each request (idle and
//! absolute limits), handing a fresh one over once (the login code of MOSIP's portal), ending it.
//! Each front door keeps only a random secret in its cookie; the store keeps its SHA-256.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::ResidentError;
use crate::audit::{AuditContext, AuditEvent};
use crate::clock::rng;
use crate::ids::IndividualId;
use crate::ports::{PortalSession, Resolved, SessionStore};

/// The identity a live session opens, as the ID Repository (the embedded one or MOSIP's) has it
/// now: none when it no longer knows the UIN, or knows it as another identity than the one the
/// session was started for.
pub async fn identity_of(
    idrepo: &dyn crate::idrepo::IdRepository,
    session: &PortalSession,
    now: OffsetDateTime,
) -> Result<Option<Resolved>, ResidentError> {
    let found = idrepo.identity(&IndividualId::Uin(session.uin.clone()), now).await?;
    Ok(found.filter(|who| who.token == session.token))
}

/// The store's key of a session secret.
pub fn session_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 random bytes, URL-safe base64 (43 characters).
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rng(), &mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A session just started: the secret for the cookie (shown once) and what is stored.
pub struct Started {
    pub secret: String,
    pub session: PortalSession,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started").field("id_type", &self.session.id_type).finish_non_exhaustive()
    }
}

/// What the session use cases share for one request.
pub struct Sessions<'a> {
    pub store: &'a dyn SessionStore,
    pub audit: &'a AuditContext,
    pub now: OffsetDateTime,
    /// A session ends after this long without a request…
    pub idle: Duration,
    /// …and this long after it started, whatever the activity.
    pub absolute: Duration,
}

impl Sessions<'_> {
    /// Starts a session for a resident who has just proved `id` (an OTP), with its audit record.
    pub async fn start(&self, who: &Resolved, id: &IndividualId, how: &str) -> Result<Started, ResidentError> {
        let secret = new_secret();
        let session = PortalSession {
            id_hash: session_hash(&secret),
            identity_id: who.identity_id.clone(),
            uin: who.uin.clone(),
            token: who.token.clone(),
            id_type: id.id_type().into(),
            csrf: new_secret(),
            created_at: self.now,
            last_seen_at: self.now,
            expires_at: self.now + self.absolute,
        };
        let record = AuditEvent::PortalLogin.record(self.audit, self.now, Some((id.masked(), id.id_type())), how);
        self.store.create_session(&session, &record).await?;
        Ok(Started { secret, session })
    }

    /// The live session of a secret. One idle or past its end is deleted and is `None`; an active one
    /// is marked seen (at most once a minute, so reading pages does not write on every request).
    pub async fn current(&self, secret: &str) -> Result<Option<PortalSession>, ResidentError> {
        let hash = session_hash(secret);
        let Some(s) = self.store.session(&hash).await? else { return Ok(None) };
        if self.now - s.last_seen_at > self.idle || self.now >= s.expires_at {
            self.store.end_session(&hash, None).await?;
            return Ok(None);
        }
        if self.now - s.last_seen_at > Duration::minutes(1) {
            self.store.touch_session(&hash, self.now).await?;
        }
        Ok(Some(s))
    }

    /// Exchanges a session for a new one with a new secret and the same end: the old secret stops
    /// working, so a secret that travelled in a URL works once.
    pub async fn hand_over(&self, secret: &str) -> Result<Option<Started>, ResidentError> {
        let Some(old) = self.current(secret).await? else { return Ok(None) };
        self.store.end_session(&old.id_hash, None).await?;
        let secret = new_secret();
        let session =
            PortalSession { id_hash: session_hash(&secret), csrf: new_secret(), last_seen_at: self.now, ..old };
        let record = AuditEvent::PortalLogin.record(
            self.audit,
            self.now,
            None,
            format!("session handed over to MOSIP's portal app ({})", session.id_type),
        );
        self.store.create_session(&session, &record).await?;
        Ok(Some(Started { secret, session }))
    }

    /// Ends a session (logout), with its audit record.
    pub async fn end(&self, secret: &str) -> Result<(), ResidentError> {
        let record = AuditEvent::PortalLogout.record(self.audit, self.now, None, "logged out");
        self.store.end_session(&session_hash(secret), Some(&record)).await?;
        Ok(())
    }
}
