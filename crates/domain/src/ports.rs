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
#[derive(Clone)]
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
    async fn find_identity(&self, uin: &Uin) -> Result<Option<StoredIdentity>, StoreError>;
    /// The keyed token that owns this identity's records.
    fn token_for(&self, uin: &Uin) -> IdentityToken;
}

#[async_trait]
pub trait ServiceHistory: Send + Sync {
    async fn record_event(&self, event: &ServiceEvent, audit: &AuditRecord) -> Result<(), StoreError>;
    async fn event(&self, id: &EventId) -> Result<Option<ServiceEvent>, StoreError>;
    /// Newest first; `page` counts from 0.
    async fn events_for(&self, token: &IdentityToken, page: u32, size: u32) -> Result<Vec<ServiceEvent>, StoreError>;
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
