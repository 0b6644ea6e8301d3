//! Resident and platform use cases. Each takes its ports, the audit context and `now`.

use serde_json::Value;
use time::OffsetDateTime;

use crate::audit::{AuditContext, AuditEvent};
use crate::error::{ResidentError, StoreError};
use crate::identity::IdentitySchema;
use crate::ids::Rid;
use crate::ports::{AuditLog, CreatedIdentity, IdentityRegistry, NewDocument, NewIdentity, RegistrationRepository};
use crate::registration::{StatusPolicy, external_status, resident_status};

/// A validated `rid/check-status` request.
#[derive(Debug, Clone)]
pub struct CheckStatus {
    /// As typed: an unknown or malformed RID is "not found", as in MOSIP (no format leak).
    pub individual_id: String,
}

/// Tells anyone who holds a RID what state the registration is in. Audited either way.
pub async fn check_rid_status(
    registrations: &dyn RegistrationRepository,
    audit: &dyn AuditLog,
    policy: &StatusPolicy,
    ctx: &AuditContext,
    cmd: CheckStatus,
    now: OffsetDateTime,
) -> Result<&'static str, ResidentError> {
    let found = match Rid::parse(&cmd.individual_id) {
        Ok(rid) => registrations.find_registration(&rid).await?,
        Err(_) => None,
    };
    let masked = crate::ids::mask_id(&cmd.individual_id);
    match found {
        None => {
            audit.append(AuditEvent::RidNotFound.record(ctx, now, Some((masked, "RID")), "RID not found")).await?;
            Err(ResidentError::RidNotFound)
        }
        Some(reg) => {
            let status = resident_status(external_status(&reg, now, policy));
            audit
                .append(AuditEvent::RidStatusSuccess.record(
                    ctx,
                    now,
                    Some((masked, "RID")),
                    format!("RID status is {status}"),
                ))
                .await?;
            Ok(status)
        }
    }
}

/// An identity to add, as a registration processor or an import sends it.
#[derive(Debug, Clone)]
pub struct CreateIdentity {
    /// `{"identity": {...}}`
    pub document: Value,
    pub registration_id: Option<String>,
    pub documents: Vec<NewDocument>,
}

/// Adds an identity to the registry (ID Repository's create): schema validation, UIN allocation,
/// encryption at rest and the audit record all happen before anything is visible.
pub async fn create_identity(
    registry: &dyn IdentityRegistry,
    audit: &dyn AuditLog,
    schema: &IdentitySchema,
    ctx: &AuditContext,
    cmd: CreateIdentity,
    now: OffsetDateTime,
) -> Result<CreatedIdentity, ResidentError> {
    let identity = match schema.validate_new(&cmd.document, now) {
        Ok(i) => i,
        Err(e) => {
            audit
                .append(AuditEvent::IdentityRejected.record(ctx, now, None, format!("{} {}", e.code(), e.message())))
                .await?;
            return Err(e);
        }
    };
    let new = NewIdentity { identity, registration_id: cmd.registration_id, documents: cmd.documents };
    registry.create_identity(new, ctx, now).await.map_err(|e| match e {
        StoreError::Conflict(_) => ResidentError::IdRepoRecordExists,
        other => other.into(),
    })
}

/// An identity of an import, checked against the schema (pure: an import does this on another thread
/// while the previous batch is stored).
pub fn prepare_identity(
    schema: &IdentitySchema,
    cmd: CreateIdentity,
    now: OffsetDateTime,
) -> Result<NewIdentity, ResidentError> {
    let identity = schema.validate_new(&cmd.document, now)?;
    Ok(NewIdentity { identity, registration_id: cmd.registration_id, documents: cmd.documents })
}

/// Adds many identities at once (an import), each already checked by [`prepare_identity`]: a refusal
/// is audited as [`create_identity`] audits it, and the valid ones go to the registry in one batch.
/// One answer per line, in order.
pub async fn create_identities(
    registry: &dyn IdentityRegistry,
    audit: &dyn AuditLog,
    ctx: &AuditContext,
    prepared: Vec<Result<NewIdentity, ResidentError>>,
    now: OffsetDateTime,
) -> Result<Vec<Result<CreatedIdentity, ResidentError>>, ResidentError> {
    let mut answers: Vec<Option<Result<CreatedIdentity, ResidentError>>> = Vec::with_capacity(prepared.len());
    let mut valid = Vec::new();
    for p in prepared {
        match p {
            Ok(new) => {
                valid.push(new);
                answers.push(None);
            }
            Err(e) => {
                audit
                    .append(AuditEvent::IdentityRejected.record(
                        ctx,
                        now,
                        None,
                        format!("{} {}", e.code(), e.message()),
                    ))
                    .await?;
                answers.push(Some(Err(e)));
            }
        }
    }
    let mut created = registry.create_identities(valid, ctx, now).await?.into_iter();
    Ok(answers
        .into_iter()
        .map(|a| match a {
            Some(refused) => refused,
            None => match created.next() {
                Some(r) => r.map_err(|e| match e {
                    StoreError::Conflict(_) => ResidentError::IdRepoRecordExists,
                    other => other.into(),
                }),
                None => Err(ResidentError::Internal("the registry answered fewer identities than it was given".into())),
            },
        })
        .collect())
}
