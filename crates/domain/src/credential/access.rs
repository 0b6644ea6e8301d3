//! Reading, downloading and cancelling a credential request. MOSIP's contract is the request id
//! alone, which anyone who learns it can use for ever; here it is a short-lived capability: for
//! `card.request_id_minutes` after the request, the request id alone reads the status, downloads the
//! artefact once if it is a card protected with the resident's own key, and cancels. Everything else
//! needs proof of ownership (an OTP for the identity the request belongs to).

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use super::{
    CredentialData, CredentialRecord, CredentialStatus, CredentialStore, DataChange, request_audit, valid_request_id,
};
use crate::audit::{AuditContext, AuditEvent};
use crate::auth_usecases::AuthContext;
use crate::error::ResidentError;
use crate::ports::{AuditLog, Effects, IdentityRegistry, Resolved};

/// How a caller shows they may act on a credential request.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// An OTP for the identity (the `X-Individual-Id`, `X-Transaction-Id`, `X-OTP` headers).
    Owner(&'a Resolved),
    /// The request id alone, which works for `window` after the request (never when it is zero).
    RequestId { window: Duration },
}

impl Proof<'_> {
    fn by_request_id(&self) -> bool {
        matches!(self, Proof::RequestId { .. })
    }

    fn how(&self) -> &'static str {
        if self.by_request_id() { "by request id" } else { "by the owner" }
    }
}

/// The request, when the proof reaches it. With the owner's proof another identity's request is
/// not found (nobody learns it exists); with the request id alone every refusal is the same
/// RES-SER-29, whether the request is unknown or its time is over.
async fn find(
    store: &dyn CredentialStore,
    proof: Proof<'_>,
    request_id: &str,
    now: OffsetDateTime,
) -> Result<CredentialRecord, ResidentError> {
    if !valid_request_id(request_id) {
        return Err(ResidentError::InvalidId);
    }
    let record = store.credential_request(request_id).await?;
    match proof {
        Proof::Owner(who) => record.filter(|r| r.token == who.token).ok_or(ResidentError::CredentialRequestNotFound),
        Proof::RequestId { window } => {
            record.filter(|r| window.is_positive() && now < r.created_at + window).ok_or(ResidentError::RequestIdAlone)
        }
    }
}

/// `GET /req/credential/status/{requestId}`: the request, its read audited.
pub async fn credential_status(
    store: &dyn CredentialStore,
    audit_log: &dyn AuditLog,
    audit: &AuditContext,
    proof: Proof<'_>,
    request_id: &str,
    now: OffsetDateTime,
) -> Result<CredentialRecord, ResidentError> {
    let record = find(store, proof, request_id, now).await?;
    let detail = format!("status {} read {}", record.status.code(), proof.how());
    audit_log.append(request_audit(AuditEvent::CredentialStatusRead, audit, now, request_id, detail)).await?;
    Ok(record)
}

/// `GET /req/card/{requestId}`: the issued (or printed) artefact. The request id alone gets it once,
/// and only a card PDF protected with the resident's own key (the one they chose, or the PIN sent to
/// them); the download and who made it are audited in the same transaction.
pub async fn download_credential(
    store: &dyn CredentialStore,
    audit: &AuditContext,
    proof: Proof<'_>,
    request_id: &str,
    now: OffsetDateTime,
) -> Result<CredentialData, ResidentError> {
    let record = find(store, proof, request_id, now).await?;
    if !record.status.downloadable() {
        return Err(ResidentError::CardNotReady);
    }
    let by_id = proof.by_request_id();
    if by_id && (record.fetched_by_request_id_at.is_some() || !record.encrypt) {
        return Err(ResidentError::RequestIdAlone);
    }
    let data = store.credential_data(request_id).await?.ok_or(ResidentError::CardNotReady)?;
    if by_id && data.content_type != "application/pdf" {
        return Err(ResidentError::RequestIdAlone);
    }
    let detail = format!("{} ({}) downloaded {}", record.credential_type, record.status.code(), proof.how());
    let effects = Effects {
        audit: vec![request_audit(AuditEvent::CredentialDownloaded, audit, now, request_id, detail)],
        ..Effects::default()
    };
    if !store.record_download(request_id, by_id, &effects, now).await? {
        return Err(ResidentError::RequestIdAlone);
    }
    Ok(data)
}

/// `GET /req/credential/cancel/{requestId}`: withdraws a request that is still open. Not yet issued,
/// it never is; issued or printed, its artefact is deleted and can no longer be downloaded (a copy
/// already downloaded stays where it went). The resident is told. RES-SER-24 once it is cancelled or
/// has failed.
pub async fn cancel_credential(
    ctx: &AuthContext<'_>,
    store: &dyn CredentialStore,
    identities: &dyn IdentityRegistry,
    proof: Proof<'_>,
    request_id: &str,
) -> Result<CredentialRecord, ResidentError> {
    let mut record = find(store, proof, request_id, ctx.now).await?;
    // the issuing job may move the request meanwhile: try again from where it is now
    for _ in 0..3 {
        if !record.status.open() {
            return Err(ResidentError::CredentialIssued);
        }
        let stored = identities.identity_by_id(&record.identity_id).await?;
        let vars = BTreeMap::from([
            ("RID", record.request_id.clone()),
            ("status", CredentialStatus::Cancelled.code().to_owned()),
            ("eventId", record.event_id.to_string()),
        ]);
        let detail = format!(
            "{} for partner {} cancelled at {} {}",
            record.credential_type,
            record.partner_id,
            record.status.code(),
            proof.how()
        );
        let effects = Effects {
            audit: vec![request_audit(AuditEvent::CredentialCancelled, ctx.audit, ctx.now, request_id, detail)],
            notifications: stored
                .map(|s| ctx.templates.messages("RS_CRE_STATUS", &s.identity, &vars))
                .unwrap_or_default(),
            ..Effects::default()
        };
        let to = CredentialStatus::Cancelled;
        if store.move_credential(request_id, record.status, to, DataChange::Clear, &effects, ctx.now).await? {
            return Ok(CredentialRecord { status: to, updated_at: ctx.now, ..record });
        }
        record = store.credential_request(request_id).await?.ok_or(ResidentError::CredentialRequestNotFound)?;
    }
    Err(ResidentError::Unavailable("the credential request kept changing while it was being cancelled".into()))
}
