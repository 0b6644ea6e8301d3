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

/// Where a request for a card stands (MOSIP 1.2.1's `aid-stage`): the stage and `SUCCESS`,
/// `IN-PROGRESS` or `FAILURE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AidStage {
    pub transaction_stage: &'static str,
    pub aid_status: &'static str,
}

/// The stage of an application (AID, the RID of a registration) for "Get my UIN". A well-formed UIN
/// or VID is ready at once: its card is drawn from the identity when it is downloaded (and nothing
/// here tells whether such a UIN exists: the OTP step does that, to the resident who has it).
pub async fn aid_stage(
    registrations: &dyn RegistrationRepository,
    audit: &dyn AuditLog,
    policy: &StatusPolicy,
    ctx: &AuditContext,
    aid: &str,
    now: OffsetDateTime,
) -> Result<AidStage, ResidentError> {
    const READY: AidStage = AidStage { transaction_stage: "CARD_READY_TO_DOWNLOAD", aid_status: "SUCCESS" };
    if aid.is_empty() || !aid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ResidentError::invalid("individualId"));
    }
    if crate::ids::IndividualId::parse(aid).is_some() {
        return Ok(READY);
    }
    let masked = crate::ids::mask_id(aid);
    let rid = Rid::parse(aid).ok();
    let found = match &rid {
        Some(rid) => registrations.find_registration(rid).await?,
        None => None,
    };
    let (Some(rid), Some(reg)) = (rid, found) else {
        audit.append(AuditEvent::RidNotFound.record(ctx, now, Some((masked, "RID")), "AID not found")).await?;
        return Err(ResidentError::AidNotFound);
    };
    let status = resident_status(external_status(&reg, now, policy));
    let stages = registrations.stage_history(&rid).await?;
    let reached = stages.iter().rev().find_map(|s| s.transaction_type.resident_stage()).unwrap_or("Request received");
    let stage = match reached {
        "Validation stage" => "VALIDATION_STAGE",
        "Verification stage" => "VERIFICATION_STAGE",
        "UIN generation stage" => "UIN_GENERATION_STAGE",
        "Card ready to download" => "CARD_READY_TO_DOWNLOAD",
        _ => "REQUEST_RECEIVED",
    };
    let answer = match status {
        "PROCESSED" => READY,
        "REJECTED" | "REREGISTER" => AidStage { transaction_stage: stage, aid_status: "FAILURE" },
        _ => AidStage { transaction_stage: stage, aid_status: "IN-PROGRESS" },
    };
    audit
        .append(AuditEvent::RidStatusSuccess.record(
            ctx,
            now,
            Some((masked, "RID")),
            format!("AID stage {} {}", answer.transaction_stage, answer.aid_status),
        ))
        .await?;
    Ok(answer)
}

/// The id a "Get my UIN" request names, as the OTP and the card need it: a UIN or VID as given, or
/// the UIN an application (AID) has been given. An AID with no identity yet is `AidNotFound`.
pub async fn card_subject(
    identities: &dyn IdentityRegistry,
    given: &str,
) -> Result<crate::ids::IndividualId, ResidentError> {
    if let Some(id) = crate::ids::IndividualId::parse(given) {
        return Ok(id);
    }
    let rid = Rid::parse(given).map_err(|_| ResidentError::invalid("individualId"))?;
    match identities.uin_for_registration(&rid).await? {
        Some(uin) => Ok(crate::ids::IndividualId::Uin(uin)),
        None => Err(ResidentError::AidNotFound),
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
