//! The narrow interfaces resident use cases need from the platform. The store crate implements the
//! storage ones; later, MOSIP HTTP adapters can implement the same traits.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::{AuditContext, AuditRecord};
use crate::error::StoreError;
use crate::history::{EventId, IdentityToken, ServiceEvent};
use crate::identity::IdentityJson;
use crate::ids::{CentreId, MachineId, Rid, Uin};
use crate::registration::{Registration, StageRecord};

#[async_trait]
pub trait RegistrationRepository: Send + Sync {
    async fn find_registration(&self, rid: &Rid) -> Result<Option<Registration>, StoreError>;
    async fn stage_history(&self, rid: &Rid) -> Result<Vec<StageRecord>, StoreError>;
    /// Records a registration and its stage history, with an audit record, in one transaction.
    async fn record_registration(
        &self,
        registration: &Registration,
        stages: &[StageRecord],
        ctx: &AuditContext,
    ) -> Result<(), StoreError>;
    /// The next RID of a centre and machine; the sequence is shared by every replica.
    async fn next_rid(&self, centre: &CentreId, machine: &MachineId, now: OffsetDateTime) -> Result<Rid, StoreError>;
}

#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends a record that belongs to no state change (a read, a refusal). Returns once it is durable.
    async fn append(&self, record: AuditRecord) -> Result<(), StoreError>;
}

/// A document that comes with a new identity.
#[derive(Clone, PartialEq, Eq)]
pub struct NewDocument {
    pub category: String,
    pub format: String,
    pub content: Vec<u8>,
}

impl std::fmt::Debug for NewDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewDocument({}, {}, {} bytes)", self.category, self.format, self.content.len())
    }
}

#[derive(Debug, Clone)]
pub struct NewIdentity {
    pub identity: IdentityJson,
    /// The registration that produced it; makes the creation idempotent.
    pub registration_id: Option<String>,
    pub documents: Vec<NewDocument>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    AlreadyPresent,
}

#[derive(Debug, Clone)]
pub struct CreatedIdentity {
    pub uin: Uin,
    pub outcome: CreateOutcome,
}

#[derive(Debug, Clone)]
pub struct StoredIdentity {
    pub uin: Uin,
    pub token: IdentityToken,
    pub status: String,
    pub identity: IdentityJson,
    pub version: i64,
    pub documents: Vec<NewDocument>,
}

#[async_trait]
pub trait IdentityRegistry: Send + Sync {
    /// Stores a validated identity (allocating a UIN when it carries none) and its audit record in one
    /// transaction. The same registration id, or the same content, gives `AlreadyPresent`; a UIN that
    /// belongs to another identity is a `Conflict`.
    async fn create_identity(
        &self,
        new: NewIdentity,
        ctx: &AuditContext,
        now: OffsetDateTime,
    ) -> Result<CreatedIdentity, StoreError>;
    /// Many identities at once (an import): for each, what [`create_identity`](Self::create_identity)
    /// would answer; a store may do them in far fewer transactions.
    async fn create_identities(
        &self,
        batch: Vec<NewIdentity>,
        ctx: &AuditContext,
        now: OffsetDateTime,
    ) -> Result<Vec<Result<CreatedIdentity, StoreError>>, StoreError> {
        let mut out = Vec::with_capacity(batch.len());
        for new in batch {
            out.push(self.create_identity(new, ctx, now).await);
        }
        Ok(out)
    }
    async fn find_identity(&self, uin: &Uin) -> Result<Option<StoredIdentity>, StoreError>;
    /// The identity with this internal id (as update requests and print jobs refer to it).
    async fn identity_by_id(&self, identity_id: &str) -> Result<Option<StoredIdentity>, StoreError>;
    /// The keyed token that owns this identity's records.
    fn token_for(&self, uin: &Uin) -> IdentityToken;
    /// The UIN of the identity a registration (RID) created, once it exists.
    async fn uin_for_registration(&self, rid: &crate::ids::Rid) -> Result<Option<Uin>, StoreError>;
}

#[async_trait]
pub trait ServiceHistory: Send + Sync {
    async fn record_event(&self, event: &ServiceEvent, audit: &AuditRecord) -> Result<(), StoreError>;
    async fn event(&self, id: &EventId) -> Result<Option<ServiceEvent>, StoreError>;
    /// The identity's newest event of `request_type` for the transaction `trn`.
    async fn event_of_transaction(
        &self,
        token: &IdentityToken,
        request_type: crate::history::RequestType,
        trn: &str,
    ) -> Result<Option<ServiceEvent>, StoreError>;
    /// Newest first; `page` counts from 0.
    async fn events_for(&self, token: &IdentityToken, page: u32, size: u32) -> Result<Vec<ServiceEvent>, StoreError>;
    /// How many of the identity's events of these request types the resident has not seen since they
    /// last changed.
    async fn unread_count(&self, token: &IdentityToken, types: &[&str]) -> Result<i64, StoreError>;
    /// The identity's events of these types, newest change first (reading changes nothing).
    async fn notifications(
        &self,
        token: &IdentityToken,
        types: &[&str],
        limit: u32,
    ) -> Result<Vec<ServiceEvent>, StoreError>;
    /// Marks the identity's events of these types as seen; returns how many were unread.
    async fn mark_notifications_read(&self, token: &IdentityToken, types: &[&str]) -> Result<u64, StoreError>;
    /// Pins an event of this identity to the top of its history, or unpins it; false when the
    /// identity has no such event.
    async fn set_pinned(&self, id: &EventId, token: &IdentityToken, pinned: bool) -> Result<bool, StoreError>;
    /// Marks one event of this identity as seen (the resident opened it).
    async fn mark_event_read(&self, id: &EventId, token: &IdentityToken) -> Result<(), StoreError>;
    async fn update_event_status(
        &self,
        id: &EventId,
        status_code: &str,
        comment: Option<&str>,
        audit: &AuditRecord,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait HealthCheck: Send + Sync {
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Everything a change must commit together with it: audit records, notifications to send (as jobs),
/// the service-history event and authentication transactions.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    pub audit: Vec<AuditRecord>,
    pub notifications: Vec<crate::notification::OutgoingMessage>,
    pub event: Option<ServiceEvent>,
    pub auth_transactions: Vec<AuthTransaction>,
    /// Reads of the resident's personal data by someone else ("who used my data").
    pub accesses: Vec<crate::access::DataAccess>,
}

/// One authentication attempt against an identity (IDA's `auth_transaction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthTransaction {
    pub token: IdentityToken,
    pub at: OffsetDateTime,
    /// `OTP-REQUEST`, `OTP-AUTH`, `DEMO-AUTH`, … (several joined with `,`)
    pub auth_type_code: String,
    /// `Y` or `N`
    pub status_code: String,
    pub status_comment: String,
    /// `UIN` or `VID`
    pub ref_id_type: String,
    /// The partner's name, or this service for the resident's own requests.
    pub entity_name: String,
    pub transaction_id: String,
    /// The IDA error code of a failure, or `Y`.
    pub response_code: String,
}

/// An identity found by UIN or VID.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub identity_id: String,
    pub uin: Uin,
    pub token: IdentityToken,
    pub status: String,
    pub identity: IdentityJson,
    /// Set when the identity was found through this VID.
    pub vid: Option<crate::vid::VidRecord>,
}

impl Resolved {
    /// The key that OTP rows and the freeze guard are kept under: the identity, so UIN and VIDs share them.
    pub fn guard_key(&self) -> &str {
        &self.token.0
    }

    /// The exact id the identity was named by (`UIN:…` or `VID:…`): an OTP asked for with one works
    /// only with that one, as in MOSIP's IDA.
    pub fn named_by(&self) -> String {
        match &self.vid {
            Some(v) => format!("VID:{}", v.vid.expose()),
            None => format!("UIN:{}", self.uin.expose()),
        }
    }
}

/// An OTP to record.
#[derive(Debug, Clone)]
pub struct NewOtp {
    /// Who asked for it ([`crate::otp::Requester::key`]): the OTP works for them only.
    pub requester: String,
    pub transaction_id: String,
    pub otp: crate::otp::Otp,
    pub channels: Vec<crate::otp::OtpChannel>,
}

/// The outcome of a partner's demographic attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoOutcome {
    Matched,
    Mismatch,
    /// Too many mismatches of this partner on this identity: refused until `until_ms`.
    Frozen {
        until_ms: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpIssueRefusal {
    /// IDA-OTA-001
    Flooded,
    /// IDA-OTA-013
    Frozen,
}

/// The resident side's own records: history events, notices and audit that go with an answer.
#[async_trait]
pub trait EffectsStore: Send + Sync {
    /// Commits effects that belong to no other change (a refused request, a read).
    async fn record_effects(&self, effects: &Effects, now: OffsetDateTime) -> Result<(), StoreError>;
}

/// The embedded ID Repository's records: identities by UIN or VID, VIDs, auth-type locks.
#[async_trait]
pub trait IdentityRecords: Send + Sync {
    /// UIN, or VID while it is usable, to its identity.
    async fn resolve(&self, id: &crate::ids::IndividualId, now: OffsetDateTime)
    -> Result<Option<Resolved>, StoreError>;

    /// Active, unexpired VIDs of an identity, newest first.
    async fn vids(&self, identity_id: &str, now: OffsetDateTime) -> Result<Vec<crate::vid::VidRecord>, StoreError>;

    /// Stores a new VID; `retire` VIDs are set to REVOKED in the same transaction (policy auto-restore).
    async fn create_vid(
        &self,
        who: &Resolved,
        vid: &crate::vid::VidRecord,
        retire: &[crate::ids::Vid],
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Sets a VID's status; `replacement` is created in the same transaction when the policy restores.
    async fn set_vid_status(
        &self,
        who: &Resolved,
        vid: &crate::ids::Vid,
        status: &str,
        replacement: Option<&crate::vid::VidRecord>,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// The identity's VID record for `vid`, whatever its status.
    async fn vid_record(&self, vid: &crate::ids::Vid) -> Result<Option<(String, crate::vid::VidRecord)>, StoreError>;

    async fn lock_states(&self, identity_id: &str) -> Result<Vec<crate::authtype::LockState>, StoreError>;

    async fn set_locks(
        &self,
        identity_id: &str,
        states: &[crate::authtype::LockState],
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// The embedded IDA's records: OTPs and their guards, demographic attempts, authentication transactions.
#[async_trait]
pub trait IdaRecords: Send + Sync {
    /// Records an OTP (as a keyed hash) with its effects, unless the identity is frozen or flooded.
    async fn issue_otp(
        &self,
        who: &Resolved,
        otp: &NewOtp,
        policy: &crate::otp::OtpPolicy,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<Result<(), OtpIssueRefusal>, StoreError>;

    /// Checks an OTP for this identity, requester and transaction: single use, expiry, failure count
    /// and freeze are enforced atomically. Only a wrong answer to a live OTP issued to this identity,
    /// transaction and requester counts toward the freeze; a transaction that has no such OTP is
    /// `NoSuchTransaction` and counts nothing. A success also uses up one transaction of a limited VID.
    /// The effects `effects_for` gives for the outcome commit in the same transaction.
    #[allow(clippy::too_many_arguments)]
    async fn verify_otp(
        &self,
        who: &Resolved,
        requester: &str,
        transaction_id: &str,
        otp: &crate::otp::Otp,
        policy: &crate::otp::OtpPolicy,
        now: OffsetDateTime,
        effects_for: &(dyn Fn(Result<(), crate::otp::OtpRefusal>) -> Effects + Send + Sync),
    ) -> Result<Result<(), crate::otp::OtpRefusal>, StoreError>;

    /// Records one demographic attempt of `partner_id` on this identity, atomically with the failure
    /// guard kept per (identity, partner): while frozen the attempt is refused whatever it presented
    /// (so a frozen guard reveals nothing); mismatches are counted within a day (a match does not reset
    /// the count) and the `policy.max_failed_attempts`th freezes until the day is over.
    async fn demo_attempt(
        &self,
        who: &Resolved,
        partner_id: &str,
        matched: bool,
        policy: &crate::otp::OtpPolicy,
        now: OffsetDateTime,
    ) -> Result<DemoOutcome, StoreError>;

    /// Newest first; `page_start` counts from 1.
    async fn auth_transactions(
        &self,
        token: &IdentityToken,
        page_start: u32,
        page_fetch: u32,
    ) -> Result<Vec<AuthTransaction>, StoreError>;
}

/// The embedded partner management's records: partners and their authentication policies.
#[async_trait]
pub trait PartnerRecords: Send + Sync {
    /// A registered partner (relying party, print partner, …) by id.
    async fn partner(&self, partner_id: &str) -> Result<Option<Partner>, StoreError>;

    async fn add_partner(&self, partner: &Partner, effects: &Effects, now: OffsetDateTime) -> Result<(), StoreError>;

    async fn partners(&self) -> Result<Vec<Partner>, StoreError>;

    /// The demographic attributes a partner must present and match (its auth policy); `None` when the
    /// operator set none (the default policy applies).
    async fn demo_policy(&self, partner_id: &str) -> Result<Option<Vec<String>>, StoreError>;

    async fn set_demo_policy(
        &self,
        partner_id: &str,
        attributes: &[String],
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// The whole embedded platform's storage in one database: what the wiring, the embedded services and
/// the platform's own endpoints hold. Domain code takes the narrowest of the traits above it needs.
pub trait AuthRepository: EffectsStore + IdentityRecords + IdaRecords + PartnerRecords {}

impl<T: EffectsStore + IdentityRecords + IdaRecords + PartnerRecords + ?Sized> AuthRepository for T {}

/// A partner of the platform. Its API key is kept only as a SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub id: String,
    pub name: String,
    /// `Auth_Partner`, `Print_Partner`, `Credential_Partner`, …
    pub partner_type: String,
    pub api_key_sha256: String,
    /// `ACTIVE` or `DEACTIVATED`
    pub status: String,
}

/// Where update packets are kept: a local folder by default; S3-compatible storage can implement it.
#[async_trait]
pub trait PacketStore: Send + Sync {
    /// Stores `bytes` under `key` (whole or not at all).
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Every key under the folder `prefix` (ending in `/`) with when it was last written, including
    /// the temporary names of writes that never finished.
    async fn list(&self, prefix: &str) -> Result<Vec<(String, OffsetDateTime)>, StoreError>;
}

/// Turns an update packet into signed, encrypted bytes and back. `open` fails for bytes that do not
/// decrypt, whose signature does not hold, or whose content is not a packet.
#[async_trait]
pub trait PacketCodec: Send + Sync {
    fn seal(&self, packet: &crate::update::UpdatePacket) -> Result<Vec<u8>, String>;
    async fn open(&self, rid: &Rid, bytes: &[u8]) -> Result<crate::update::UpdatePacket, crate::update::PacketFault>;
}

/// The public keys that resident "machines" sign packets with (MOSIP's machine master), by key id.
#[async_trait]
pub trait MachineKeys: Send + Sync {
    async fn machine_key(&self, key_id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn register_machine_key(
        &self,
        key_id: &str,
        public_key: &[u8],
        machine: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// The embedded registration processor's resident-update requests.
#[async_trait]
pub trait UpdateRepository: Send + Sync {
    /// Records an accepted update: its row, registration, first stage, effects and the first stage's
    /// job, in one transaction. `Conflict` when the identity already has an update in progress.
    async fn create_update(
        &self,
        record: &crate::update::UpdateRecord,
        registration: &Registration,
        stages: &[StageRecord],
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn find_update(&self, rid: &Rid) -> Result<Option<crate::update::UpdateRecord>, StoreError>;
    /// The identity's update in progress, if any.
    async fn open_update_of(&self, identity_id: &str) -> Result<Option<crate::update::UpdateRecord>, StoreError>;
    async fn updates_in_stage(
        &self,
        stage: crate::update::UpdateStage,
    ) -> Result<Vec<crate::update::UpdateRecord>, StoreError>;
    /// How many updates of each field the identity has had.
    async fn update_counts(&self, identity_id: &str) -> Result<std::collections::BTreeMap<String, u32>, StoreError>;
    /// The identity as it is now, with its version.
    async fn current_identity(&self, identity_id: &str) -> Result<Option<(IdentityJson, i64)>, StoreError>;
    /// Moves an update from `change.from` to `change.to` with everything that goes with it (and, for
    /// the registry stage, the new identity version) in one transaction. `false`, with nothing
    /// written, when the update is no longer at `change.from` (the stage already ran).
    async fn advance(
        &self,
        change: &crate::update::StageChange,
        identity: Option<&crate::update::IdentityChange>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// A resident's portal session. The cookie holds a random id; only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    pub id_hash: String,
    pub identity_id: String,
    /// The UIN the session opens (sealed at rest): what its pages ask the ID Repository for.
    pub uin: Uin,
    pub token: IdentityToken,
    /// `UIN` or `VID`: what the resident logged in with.
    pub id_type: String,
    /// The token every form of this session carries.
    pub csrf: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    /// The absolute end, whatever the activity.
    pub expires_at: OffsetDateTime,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Records a new session (and its audit record).
    async fn create_session(&self, session: &PortalSession, audit: &AuditRecord) -> Result<(), StoreError>;
    async fn session(&self, id_hash: &str) -> Result<Option<PortalSession>, StoreError>;
    async fn touch_session(&self, id_hash: &str, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Ends a session (logout or expiry), with its audit record when there is one.
    async fn end_session(&self, id_hash: &str, audit: Option<&AuditRecord>) -> Result<(), StoreError>;
    /// Deletes the sessions past their absolute end or idle since before `idle_since`, and every
    /// draft whose session is gone. Returns how many sessions and drafts went.
    async fn sweep_sessions(&self, idle_since: OffsetDateTime, now: OffsetDateTime) -> Result<(u64, u64), StoreError>;
}

/// A form a resident is half-way through (the update of their details, waiting for "check your
/// answers"), kept with their session. Sealed at rest.
#[async_trait]
pub trait DraftStore: Send + Sync {
    async fn save_draft(&self, session_hash: &str, data: &[u8], now: OffsetDateTime) -> Result<(), StoreError>;
    /// The draft, if there is one (it stays until replaced or taken).
    async fn draft(&self, session_hash: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn drop_draft(&self, session_hash: &str) -> Result<(), StoreError>;
}

/// A resident's grievance about one of their requests.
#[derive(Clone, PartialEq, Eq)]
pub struct Grievance {
    pub ticket_id: String,
    pub token: IdentityToken,
    pub event_id: EventId,
    pub message: String,
    pub contact: crate::grievance::AlternateContact,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for Grievance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Grievance({}, event {})", self.ticket_id, self.event_id)
    }
}

/// Which phone numbers and email addresses residents proved they hold (an OTP sent there, answered).
#[async_trait]
pub trait ChannelVerifications: Send + Sync {
    /// Records each (channel, value) as verified for this identity, replacing what was verified on
    /// that channel before, with the effects (event, audit, message), in one transaction.
    async fn mark_verified(
        &self,
        token: &IdentityToken,
        verified: &[(crate::otp::OtpChannel, String)],
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Whether `value` is what this identity verified on `channel`.
    async fn is_verified(
        &self,
        token: &IdentityToken,
        channel: crate::otp::OtpChannel,
        value: &str,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait GrievanceStore: Send + Sync {
    /// Records the grievance (message sealed) with its effects (audit, acknowledgement).
    async fn raise_grievance(&self, g: &Grievance, effects: &Effects, now: OffsetDateTime) -> Result<(), StoreError>;
}
