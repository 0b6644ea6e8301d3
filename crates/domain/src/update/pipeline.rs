//! The embedded registration processor's stages for a resident update: validate the packet, wait
//! for an operator when sensitive fields change, apply the change to the registry, notify, and mark
//! the new card ready. Each stage is a job; each commits through `UpdateRepository::advance`.

use time::OffsetDateTime;

use super::{IdentityChange, PacketFault, StageChange, UpdatePacket, UpdateRecord, UpdateStage, merge};
use crate::audit::{AuditContext, AuditEvent, AuditRecord};
use crate::error::ResidentError;
use crate::identity::{FieldType, IdentityJson, IdentitySchema};
use crate::ids::Rid;
use crate::notification::{OutgoingMessage, Templates};
use crate::ports::{Effects, PacketCodec, PacketStore, UpdateRepository};
use crate::registration::{InternalStatus, Registration, RegistrationType, StageRecord, TransactionType};

/// What the pipeline needs.
pub struct Pipeline<'a> {
    pub updates: &'a dyn UpdateRepository,
    pub accesses: &'a dyn crate::access::DataAccessLog,
    pub packets: &'a dyn PacketStore,
    pub codec: &'a dyn PacketCodec,
    pub schema: &'a IdentitySchema,
    pub templates: &'a Templates,
    pub audit: &'a AuditContext,
    pub now: OffsetDateTime,
}

/// What happened to a stage job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageOutcome {
    /// The stage ran; the update is now at this stage.
    Moved(UpdateStage),
    /// Nothing to do: the update is not at that stage (it already ran) or does not exist.
    AlreadyDone,
}

impl Pipeline<'_> {
    fn registration(
        &self,
        rec: &UpdateRecord,
        status: InternalStatus,
        latest: TransactionType,
        success: Option<TransactionType>,
    ) -> Registration {
        Registration {
            rid: rec.rid.clone(),
            registration_type: RegistrationType::ResUpdate,
            status: Some(status),
            latest_transaction: Some(latest),
            latest_transaction_at: Some(self.now),
            last_success_stage: success.map(|s| s.stage_name().to_owned()),
            retry_count: 0,
            created_at: rec.created_at,
            updated_at: self.now,
        }
    }

    fn stage(&self, t: TransactionType, status: &str, comment: impl Into<String>) -> StageRecord {
        StageRecord { transaction_type: t, status: status.into(), comment: comment.into(), at: self.now }
    }

    fn audit(&self, event: AuditEvent, rec: &UpdateRecord, description: impl Into<String>) -> AuditRecord {
        event.record(self.audit, self.now, Some((rec.rid.masked(), "RID")), description)
    }

    async fn identity_of(&self, rec: &UpdateRecord) -> Result<(IdentityJson, i64), ResidentError> {
        self.updates
            .current_identity(&rec.identity_id)
            .await?
            .ok_or_else(|| ResidentError::Internal(format!("the identity of update {} is gone", rec.rid.masked())))
    }

    fn messages(
        &self,
        code: &str,
        identity: &IdentityJson,
        rec: &UpdateRecord,
        extra: &[(&'static str, String)],
    ) -> Vec<OutgoingMessage> {
        let mut vars = self.templates.stamp(self.now);
        vars.insert("RID", rec.rid.as_str().to_owned());
        vars.insert("fields", rec.fields.join(", "));
        vars.insert("eventId", rec.event_id.to_string());
        vars.extend(extra.iter().cloned());
        self.templates.messages(code, identity, &vars)
    }

    /// Opens the stored packet and checks it belongs to this update and still fits the schema. The
    /// outer error is a platform failure (the job retries); the inner one is the packet's own fault
    /// (the update is rejected).
    async fn open_packet(
        &self,
        rec: &UpdateRecord,
        identity: &IdentityJson,
    ) -> Result<Result<UpdatePacket, String>, ResidentError> {
        let Some(bytes) = self.packets.get(&rec.packet_key).await? else {
            return Ok(Err("the packet is missing from the packet store".to_owned()));
        };
        match self.codec.open(&rec.rid, &bytes).await {
            Ok(packet) => Ok(self.check_packet(rec, identity, packet)),
            Err(PacketFault::Invalid(reason)) => Ok(Err(reason)),
            Err(PacketFault::Unavailable(detail)) => Err(ResidentError::Unavailable(detail)),
        }
    }

    fn check_packet(
        &self,
        rec: &UpdateRecord,
        identity: &IdentityJson,
        packet: UpdatePacket,
    ) -> Result<UpdatePacket, String> {
        if packet.rid != rec.rid || packet.process != RegistrationType::ResUpdate.code() {
            return Err("the packet belongs to another registration".into());
        }
        let uin = packet.uin().ok_or("the packet has no valid UIN")?;
        if identity.uin() != Some(uin.expose()) {
            return Err("the packet's UIN is not the requester's".into());
        }
        let changes = packet.changes();
        for (name, value) in &changes {
            let spec =
                self.schema.field(name).filter(|s| s.updatable).ok_or(format!("field {name} cannot be updated"))?;
            self.schema.check_field(spec, value, self.now).map_err(|e| e.message())?;
            if spec.field_type == FieldType::Document && !packet.documents.iter().any(|d| &d.category == name) {
                return Err(format!("document {name} is missing from the packet"));
            }
        }
        self.schema.validate_new(&merge(identity, &changes).to_document(), self.now).map_err(|e| e.message())?;
        Ok(packet)
    }

    /// The change that rejects an update at `from`, telling the resident why.
    fn rejection(
        &self,
        rec: &UpdateRecord,
        identity: &IdentityJson,
        from: UpdateStage,
        at: TransactionType,
        reason: &str,
        mut audit: Vec<AuditRecord>,
    ) -> StageChange {
        audit.push(self.audit(AuditEvent::UpdateRejected, rec, format!("{} rejected: {reason}", at.code())));
        StageChange {
            rid: rec.rid.clone(),
            from,
            to: UpdateStage::Rejected,
            registration: self.registration(rec, InternalStatus::Rejected, at, None),
            stages: vec![self.stage(at, "REJECTED", reason)],
            event_status: "REJECTED",
            event_comment: reason.to_owned(),
            reason: Some(reason.to_owned()),
            effects: Effects {
                audit,
                notifications: self.messages("RS_UIN_UPDATE_REJECTED", identity, rec, &[("reason", reason.to_owned())]),
                ..Effects::default()
            },
        }
    }

    async fn commit(
        &self,
        change: StageChange,
        identity: Option<&IdentityChange>,
    ) -> Result<StageOutcome, ResidentError> {
        let to = change.to;
        Ok(if self.updates.advance(&change, identity, self.now).await? {
            StageOutcome::Moved(to)
        } else {
            StageOutcome::AlreadyDone
        })
    }

    /// Runs `stage` of the update `rid` if the update is at that stage; otherwise does nothing (the
    /// stage already ran: a job that runs again after a crash changes nothing).
    pub async fn run_stage(&self, rid: &Rid, stage: UpdateStage) -> Result<StageOutcome, ResidentError> {
        let Some(rec) = self.updates.find_update(rid).await? else { return Ok(StageOutcome::AlreadyDone) };
        if rec.stage != stage || !stage.runs_as_job() {
            return Ok(StageOutcome::AlreadyDone);
        }
        let (identity, version) = self.identity_of(&rec).await?;
        match stage {
            UpdateStage::Validate => {
                let change = match self.open_packet(&rec, &identity).await? {
                    Err(reason) => self.rejection(
                        &rec,
                        &identity,
                        stage,
                        TransactionType::ValidatePacket,
                        &format!("packet validation failed: {reason}"),
                        vec![],
                    ),
                    Ok(_) => {
                        let mut stages = vec![self.stage(
                            TransactionType::ValidatePacket,
                            "SUCCESS",
                            "signature, decryption and schema checks passed",
                        )];
                        let (to, latest, comment) = if rec.needs_verification {
                            stages.push(self.stage(
                                TransactionType::ManualAdjudication,
                                "IN_PROGRESS",
                                format!("waiting for an operator: {}", rec.fields.join(", ")),
                            ));
                            (
                                UpdateStage::Verify,
                                TransactionType::ManualAdjudication,
                                "waiting for manual verification",
                            )
                        } else {
                            (UpdateStage::Apply, TransactionType::ValidatePacket, "packet validated")
                        };
                        StageChange {
                            rid: rec.rid.clone(),
                            from: stage,
                            to,
                            registration: self.registration(
                                &rec,
                                InternalStatus::Processing,
                                latest,
                                Some(TransactionType::ValidatePacket),
                            ),
                            stages,
                            event_status: "PROCESSING",
                            event_comment: comment.into(),
                            reason: None,
                            effects: Effects {
                                audit: vec![self.audit(
                                    AuditEvent::UpdateStage,
                                    &rec,
                                    format!("VALIDATE_PACKET: {comment}"),
                                )],
                                ..Effects::default()
                            },
                        }
                    }
                };
                self.commit(change, None).await
            }
            UpdateStage::Apply => {
                let packet = match self.open_packet(&rec, &identity).await? {
                    Ok(p) => p,
                    Err(reason) => {
                        let change = self.rejection(
                            &rec,
                            &identity,
                            stage,
                            TransactionType::UinGenerator,
                            &format!("packet check before the identity update failed: {reason}"),
                            vec![],
                        );
                        return self.commit(change, None).await;
                    }
                };
                let changes = packet.changes();
                let updated = merge(&identity, &changes);
                let mut notifications = Vec::new();
                // the old contacts hear about a change of contacts: a hijacker cannot silently take them over
                let contact_changes: Vec<String> = ["email", "phone"]
                    .into_iter()
                    .filter(|f| changes.contains_key(*f) && identity.text(f) != updated.text(f))
                    .map(str::to_owned)
                    .collect();
                if !contact_changes.is_empty() {
                    notifications = self.messages(
                        "RS_UIN_UPDATE_CONTACT",
                        &identity,
                        &rec,
                        &[("fields", contact_changes.join(", "))],
                    );
                }
                let new_version = version + 1;
                let change = StageChange {
                    rid: rec.rid.clone(),
                    from: stage,
                    to: UpdateStage::Notify,
                    registration: self.registration(
                        &rec,
                        InternalStatus::Processing,
                        TransactionType::UinGenerator,
                        Some(TransactionType::UinGenerator),
                    ),
                    stages: vec![self.stage(
                        TransactionType::UinGenerator,
                        "SUCCESS",
                        format!("identity updated to version {new_version}: {}", rec.fields.join(", ")),
                    )],
                    event_status: "PROCESSING",
                    event_comment: "identity updated".into(),
                    reason: None,
                    effects: Effects {
                        audit: vec![self.audit(
                            AuditEvent::IdentityUpdated,
                            &rec,
                            format!("identity version {version} -> {new_version}: {}", rec.fields.join(",")),
                        )],
                        notifications,
                        ..Effects::default()
                    },
                };
                let identity_change = IdentityChange {
                    identity_id: rec.identity_id.clone(),
                    base_version: version,
                    identity: updated,
                    documents: packet.documents,
                    fields: rec.fields.clone(),
                    rid: rec.rid.clone(),
                };
                self.commit(change, Some(&identity_change)).await
            }
            UpdateStage::Notify => {
                let notifications = self.messages("RS_UIN_UPDATE_DONE", &identity, &rec, &[]);
                let sent = notifications.len();
                let change = StageChange {
                    rid: rec.rid.clone(),
                    from: stage,
                    to: UpdateStage::Card,
                    registration: self.registration(
                        &rec,
                        InternalStatus::Processing,
                        TransactionType::Notification,
                        Some(TransactionType::Notification),
                    ),
                    stages: vec![self.stage(
                        TransactionType::Notification,
                        "SUCCESS",
                        format!("{sent} notification(s) queued"),
                    )],
                    event_status: "PROCESSING",
                    event_comment: "resident notified".into(),
                    reason: None,
                    effects: Effects {
                        audit: vec![self.audit(
                            AuditEvent::UpdateStage,
                            &rec,
                            format!("NOTIFICATION: {sent} message(s)"),
                        )],
                        notifications,
                        ..Effects::default()
                    },
                };
                self.commit(change, None).await
            }
            UpdateStage::Card => {
                let change = StageChange {
                    rid: rec.rid.clone(),
                    from: stage,
                    to: UpdateStage::Done,
                    registration: self.registration(
                        &rec,
                        InternalStatus::Processed,
                        TransactionType::PrintService,
                        Some(TransactionType::PrintService),
                    ),
                    stages: vec![self.stage(
                        TransactionType::PrintService,
                        "SUCCESS",
                        format!("card of identity version {version} ready to download"),
                    )],
                    event_status: "PROCESSED",
                    event_comment: "details updated; new card ready to download".into(),
                    reason: None,
                    effects: Effects {
                        audit: vec![self.audit(
                            AuditEvent::UpdateStage,
                            &rec,
                            format!("PRINT_SERVICE: card of version {version} available"),
                        )],
                        ..Effects::default()
                    },
                };
                self.commit(change, None).await
            }
            UpdateStage::Verify | UpdateStage::Done | UpdateStage::Rejected => Ok(StageOutcome::AlreadyDone),
        }
    }

    /// Opens a packet waiting for manual verification for a named operator. The read is recorded
    /// (audit, and an access the resident sees, with a message when they asked for one) before
    /// anything is returned.
    pub async fn inspect(
        &self,
        rid: &Rid,
        operator: &crate::access::Operator,
    ) -> Result<(UpdateRecord, UpdatePacket, IdentityJson), ResidentError> {
        let rec = self.updates.find_update(rid).await?.ok_or(ResidentError::RidNotFound)?;
        let (identity, _) = self.identity_of(&rec).await?;
        let bytes = self
            .packets
            .get(&rec.packet_key)
            .await?
            .ok_or_else(|| ResidentError::Internal("the packet is missing from the packet store".into()))?;
        let packet = self.codec.open(&rec.rid, &bytes).await.map_err(|f| match f {
            PacketFault::Invalid(r) => ResidentError::Internal(format!("the packet does not open: {r}")),
            PacketFault::Unavailable(d) => ResidentError::Unavailable(d),
        })?;
        let record =
            self.audit(AuditEvent::VerificationViewed, &rec, format!("packet opened by {}", self.audit.session_user));
        // the operator sees the changed fields now and as proposed, and the documents
        let what = rec.fields.iter().cloned().chain(packet.documents.iter().map(|d| d.category.clone())).collect();
        let access = crate::access::DataAccess::new(
            rec.token.clone(),
            crate::access::Accessor::operator(operator),
            what,
            crate::access::Purpose::ManualVerification { rid: rec.rid.as_str().to_owned() },
            crate::access::Channel::Cli,
            self.now,
        );
        crate::access::record_operator_read(self.accesses, self.templates, &identity, access, record).await?;
        Ok((rec, packet, identity))
    }

    /// An operator's decision on an update waiting for manual verification.
    pub async fn decide(&self, rid: &Rid, approve: bool, reason: &str) -> Result<StageOutcome, ResidentError> {
        let rec = self.updates.find_update(rid).await?.ok_or(ResidentError::RidNotFound)?;
        if rec.stage != UpdateStage::Verify {
            return Ok(StageOutcome::AlreadyDone);
        }
        let (identity, _) = self.identity_of(&rec).await?;
        let operator = self.audit.session_user.clone();
        let change = if approve {
            StageChange {
                rid: rec.rid.clone(),
                from: UpdateStage::Verify,
                to: UpdateStage::Apply,
                registration: self.registration(
                    &rec,
                    InternalStatus::Processing,
                    TransactionType::ManualAdjudication,
                    Some(TransactionType::ManualAdjudication),
                ),
                stages: vec![self.stage(
                    TransactionType::ManualAdjudication,
                    "SUCCESS",
                    format!("approved by {operator}"),
                )],
                event_status: "PROCESSING",
                event_comment: "approved by an operator".into(),
                reason: None,
                effects: Effects {
                    audit: vec![self.audit(
                        AuditEvent::VerificationApproved,
                        &rec,
                        format!("approved by {operator}: {}", rec.fields.join(",")),
                    )],
                    ..Effects::default()
                },
            }
        } else {
            let audit =
                vec![self.audit(AuditEvent::VerificationRejected, &rec, format!("rejected by {operator}: {reason}"))];
            self.rejection(&rec, &identity, UpdateStage::Verify, TransactionType::ManualAdjudication, reason, audit)
        };
        self.commit(change, None).await
    }
}
