//! Printed cards. A resident orders a reprint (`POST /req/print-uin`): the request gets its own RID (a
//! `RES_REPRINT` registration) and a print job in the queue. Print partners (`Print_Partner`) take jobs
//! and report their progress, NEW → ISSUED → PRINTING → IN_TRANSIT → DELIVERED, or FAILED with a reason;
//! each step is recorded on the RID, in the resident's history, and told to the resident.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::access::{Accessor, Channel, DataAccess, Purpose};
use crate::audit::{AuditContext, AuditRecord};
use crate::auth_usecases::{AuthContext, Done, Subject, event, success};
pub use crate::card::CardType;
use crate::card::{CardIssuer, CardRequest, IssuedCard};
use crate::error::{ResidentError, StoreError};
use crate::history::{EventId, IdentityToken, RequestType, ServiceEvent};
use crate::ids::{CentreId, IndividualId, MachineId, Rid};
use crate::notification::Templates;
use crate::ports::{Effects, IdentityRegistry, Partner, RegistrationRepository, Resolved};
use crate::registration::{InternalStatus, Registration, RegistrationType, StageRecord, TransactionType};

/// Where a printed card is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PrintStatus {
    New,
    Issued,
    Printing,
    InTransit,
    Delivered,
    Failed,
}

impl PrintStatus {
    pub const ALL: [PrintStatus; 6] = [
        PrintStatus::New,
        PrintStatus::Issued,
        PrintStatus::Printing,
        PrintStatus::InTransit,
        PrintStatus::Delivered,
        PrintStatus::Failed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PrintStatus::New => "NEW",
            PrintStatus::Issued => "ISSUED",
            PrintStatus::Printing => "PRINTING",
            PrintStatus::InTransit => "IN_TRANSIT",
            PrintStatus::Delivered => "DELIVERED",
            PrintStatus::Failed => "FAILED",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code().eq_ignore_ascii_case(code.trim()))
    }

    pub fn is_final(self) -> bool {
        matches!(self, PrintStatus::Delivered | PrintStatus::Failed)
    }

    /// The one step forward a partner may report from here (FAILED is allowed from any open status
    /// but NEW: a job nobody took has not failed).
    pub fn may_become(self, next: PrintStatus) -> bool {
        use PrintStatus::*;
        matches!(
            (self, next),
            (New, Issued)
                | (Issued, Printing)
                | (Printing, InTransit)
                | (InTransit, Delivered)
                | (Issued | Printing | InTransit, Failed)
        )
    }

    /// The resident's history status (MOSIP's ORDER_PHYSICAL_CARD statuses).
    pub fn event_status(self) -> &'static str {
        match self {
            PrintStatus::Delivered => "CARD_DELIVERED",
            other => other.code(),
        }
    }
}

/// One card in the print queue. No personal data: the card is made from the identity when a partner
/// takes the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJob {
    pub id: String,
    pub rid: Rid,
    pub identity_id: String,
    pub token: IdentityToken,
    pub event_id: EventId,
    pub card_type: CardType,
    pub status: PrintStatus,
    /// The print partner that took the job.
    pub partner_id: Option<String>,
    /// The reference the resident is given.
    pub tracking_id: String,
    /// The carrier's reference, as the partner reports it.
    pub carrier_ref: Option<String>,
    pub reason: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A print job's move from one status to the next, with everything committed with it.
#[derive(Debug, Clone)]
pub struct PrintChange {
    pub id: String,
    pub from: PrintStatus,
    pub to: PrintStatus,
    pub partner_id: String,
    pub carrier_ref: Option<String>,
    pub reason: Option<String>,
    pub registration: Registration,
    pub stages: Vec<StageRecord>,
    pub effects: Effects,
}

#[async_trait]
pub trait PrintQueue: Send + Sync {
    /// Records a reprint: the registration, its first stage, the request's effects and the job.
    async fn enqueue_print(
        &self,
        job: &PrintJob,
        registration: &Registration,
        stages: &[StageRecord],
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn print_job(&self, id: &str) -> Result<Option<PrintJob>, StoreError>;
    /// A resident's print jobs, newest first.
    async fn print_jobs_of(&self, token: &IdentityToken) -> Result<Vec<PrintJob>, StoreError>;
    /// Jobs nobody has taken, and the partner's own that are still open; oldest first.
    async fn print_jobs_for(&self, partner_id: &str, limit: u32) -> Result<Vec<PrintJob>, StoreError>;
    /// Moves a job if it is still at `change.from` (and, past NEW, held by the same partner), with its
    /// registration stage, the resident's history status and the notifications. `false` when it was
    /// not (another partner took it, or the report came twice).
    async fn move_print_job(&self, change: &PrintChange, now: OffsetDateTime) -> Result<bool, StoreError>;
}

/// A tracking id: `PRN-` and 12 characters of Crockford base32 (no I, L, O, U), easy to read out.
pub fn tracking_id(rng: &mut impl rand::Rng) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let body: String = (0..12).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
    format!("PRN-{}-{}-{}", &body[..4], &body[4..8], &body[8..])
}

/// Records the reprint request as a RES_REPRINT registration received by the packet receiver and a
/// print job (NEW), with its history event, audit record and notification, in one transaction.
#[allow(clippy::too_many_arguments)]
pub async fn request_reprint(
    ctx: &AuthContext<'_>,
    registrations: &dyn RegistrationRepository,
    queue: &dyn PrintQueue,
    centre: &CentreId,
    machine: &MachineId,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    card_type: CardType,
) -> Result<Done<Rid>, ResidentError> {
    let rid = registrations.next_rid(centre, machine, ctx.now).await?;
    let registration = Registration::received(rid.clone(), RegistrationType::ResReprint, ctx.now);
    let tracking = tracking_id(&mut crate::clock::rng());
    let stages = [StageRecord {
        transaction_type: TransactionType::PacketReceiver,
        status: "SUCCESS".into(),
        comment: format!("reprint of a {} card requested by the resident; in the print queue", card_type.code()),
        at: ctx.now,
    }];
    let ev = ServiceEvent {
        aid: Some(rid.as_str().to_owned()),
        status_comment: Some(format!("{} card, tracking {tracking}", card_type.code())),
        ..event(who, RequestType::OrderPhysicalCard, "NEW", id, trn, ctx.now)
    };
    let event_id = ev.event_id.clone();
    let vars = BTreeMap::from([
        ("RID", rid.as_str().to_owned()),
        ("cardType", card_type.code().to_owned()),
        ("trackingId", tracking.clone()),
    ]);
    let audit = ("RES-SER-114", "Obtained RID for print UIN", format!("reprint RID {} obtained", rid.masked()));
    let subject = Subject { who, id, trn };
    let (effects, message, _) = success(ctx, &subject, ev, "RS_UIN_RPR_SUCCESS", vars, audit);
    let job = PrintJob {
        id: crate::clock::random_uuid(),
        rid: rid.clone(),
        identity_id: who.identity_id.clone(),
        token: who.token.clone(),
        event_id: event_id.clone(),
        card_type,
        status: PrintStatus::New,
        partner_id: None,
        tracking_id: tracking,
        carrier_ref: None,
        reason: None,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    queue.enqueue_print(&job, &registration, &stages, &effects, ctx.now).await?;
    Ok(Done { value: rid, message, event_id })
}

/// What a print partner's calls need.
pub struct PrintService<'a> {
    pub queue: &'a dyn PrintQueue,
    pub identities: &'a dyn IdentityRegistry,
    pub cards: &'a dyn CardIssuer,
    pub templates: &'a Templates,
    pub audit: &'a AuditContext,
    pub now: OffsetDateTime,
}

/// The identity fields a print partner gets to send the card: the address lines, then the postal code.
const POSTAL_FIELDS: [&str; 7] =
    ["addressLine1", "addressLine2", "addressLine3", "city", "province", "region", "postalCode"];

/// A job a partner took: the card to print (its password given alongside) and where to send it.
pub struct TakenJob {
    pub job: PrintJob,
    pub card: IssuedCard,
    pub card_password: String,
    /// The recipient's name and postal address lines, in the first language.
    pub recipient: Vec<String>,
}

/// Why a partner's report was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintRefusal {
    NotFound,
    /// Another partner holds the job.
    NotYours,
    /// Not the next step from where the job is (e.g. DELIVERED twice, or PRINTING before ISSUED).
    WrongStep {
        from: PrintStatus,
        to: PrintStatus,
    },
    /// FAILED needs a reason.
    ReasonMissing,
}

impl PrintRefusal {
    pub fn message(&self) -> String {
        match self {
            PrintRefusal::NotFound => "no such print job".into(),
            PrintRefusal::NotYours => "the job is held by another print partner".into(),
            PrintRefusal::WrongStep { from, to } => format!("a job at {} cannot become {}", from.code(), to.code()),
            PrintRefusal::ReasonMissing => "FAILED needs a reason".into(),
        }
    }
}

impl PrintService<'_> {
    fn record(&self, job: &PrintJob, partner: &Partner, description: String) -> AuditRecord {
        crate::audit::AuditEvent::PrintStatusChanged.record(
            self.audit,
            self.now,
            Some((job.rid.masked(), "RID")),
            format!("{description} by print partner {}", partner.id),
        )
    }

    fn registration(&self, job: &PrintJob, to: PrintStatus) -> Registration {
        // the RID reads UNDER PROCESSING until the card is delivered (PROCESSED), or REREGISTER after a
        // failure (order again), through MOSIP's status mapping
        let (status, latest, last_success) = match to {
            PrintStatus::New => {
                (InternalStatus::Processing, TransactionType::PacketReceiver, TransactionType::PacketReceiver)
            }
            PrintStatus::Issued | PrintStatus::Printing => {
                (InternalStatus::Processing, TransactionType::PrintService, TransactionType::PacketReceiver)
            }
            PrintStatus::InTransit => {
                (InternalStatus::Processing, TransactionType::PrintPostalService, TransactionType::PacketReceiver)
            }
            PrintStatus::Delivered => {
                (InternalStatus::Processed, TransactionType::PrintPostalService, TransactionType::PrintPostalService)
            }
            PrintStatus::Failed => {
                (InternalStatus::Failed, TransactionType::PrintService, TransactionType::PacketReceiver)
            }
        };
        Registration {
            rid: job.rid.clone(),
            registration_type: RegistrationType::ResReprint,
            status: Some(status),
            latest_transaction: Some(latest),
            latest_transaction_at: Some(self.now),
            last_success_stage: Some(last_success.stage_name().to_owned()),
            retry_count: 0,
            created_at: job.created_at,
            updated_at: self.now,
        }
    }

    async fn change(
        &self,
        job: &PrintJob,
        partner: &Partner,
        to: PrintStatus,
        carrier_ref: Option<String>,
        reason: Option<String>,
    ) -> Result<PrintChange, ResidentError> {
        let stored = self.identities.identity_by_id(&job.identity_id).await?;
        let mut vars: BTreeMap<&str, String> = BTreeMap::from([
            ("RID", job.rid.as_str().to_owned()),
            ("trackingId", job.tracking_id.clone()),
            ("status", to.code().to_owned()),
            ("eventId", job.event_id.to_string()),
            ("reason", reason.clone().unwrap_or_default()),
            ("carrierRef", carrier_ref.clone().or(job.carrier_ref.clone()).unwrap_or_default()),
        ]);
        vars.extend(self.templates.stamp(self.now));
        let template = format!("RS_PRINT_{}", to.code());
        let notifications = match &stored {
            Some(s) => self.templates.messages(&template, &s.identity, &vars),
            None => Vec::new(),
        };
        let transaction = self.registration(job, to).latest_transaction.unwrap_or(TransactionType::PrintService);
        let comment = match (&reason, &carrier_ref) {
            (Some(r), _) => format!("{}: {r}", to.code()),
            (None, Some(c)) => format!("{} (carrier reference {c})", to.code()),
            (None, None) => to.code().to_owned(),
        };
        let stage_status = match to {
            PrintStatus::Failed => "FAILED",
            PrintStatus::Delivered => "SUCCESS",
            _ => "IN_PROGRESS",
        };
        Ok(PrintChange {
            id: job.id.clone(),
            from: job.status,
            to,
            partner_id: partner.id.clone(),
            carrier_ref,
            reason,
            registration: self.registration(job, to),
            stages: vec![StageRecord {
                transaction_type: transaction,
                status: stage_status.into(),
                comment: comment.clone(),
                at: self.now,
            }],
            effects: Effects {
                audit: vec![self.record(job, partner, comment)],
                notifications,
                event: None,
                auth_transactions: vec![],
                accesses: vec![],
            },
        })
    }

    /// A partner takes a NEW job: it becomes ISSUED to them, and they get the card to print.
    pub async fn take(&self, partner: &Partner, job_id: &str) -> Result<Result<TakenJob, PrintRefusal>, ResidentError> {
        let Some(job) = self.queue.print_job(job_id).await? else { return Ok(Err(PrintRefusal::NotFound)) };
        if job.status != PrintStatus::New {
            return Ok(Err(if job.partner_id.as_deref() == Some(partner.id.as_str()) {
                PrintRefusal::WrongStep { from: job.status, to: PrintStatus::Issued }
            } else {
                PrintRefusal::NotYours
            }));
        }
        let stored = self
            .identities
            .identity_by_id(&job.identity_id)
            .await?
            .ok_or_else(|| ResidentError::Internal("the identity of a print job is gone".into()))?;
        let mut pw = [0u8; 9];
        rand::RngCore::fill_bytes(&mut crate::clock::rng(), &mut pw);
        let card_password: String = pw.iter().map(|b| format!("{b:02x}")).collect();
        let photo = stored.documents.iter().find(|d| d.category == "photo" || d.category == "face");
        let request = CardRequest {
            identity: &stored.identity,
            uin: &stored.uin,
            card_type: job.card_type,
            vid: None,
            shown: None,
            photo,
            issued_at: self.now,
            password: card_password.clone(),
        };
        let card = self.cards.issue(&request).map_err(ResidentError::Internal)?;
        let mut change = self.change(&job, partner, PrintStatus::Issued, None, None).await?;
        // the partner now holds the card and the address: the resident sees who, when and why
        let mut what: Vec<String> = ["UIN", "fullName", "dateOfBirth", "gender"]
            .into_iter()
            .chain(POSTAL_FIELDS)
            .filter(|f| *f == "UIN" || stored.identity.0.get(*f).is_some())
            .map(str::to_owned)
            .collect();
        if photo.is_some() {
            what.push("photo".into());
        }
        change.effects.accesses.push(DataAccess::new(
            stored.token.clone(),
            Accessor::partner(partner),
            what,
            Purpose::Printing { rid: job.rid.as_str().to_owned(), tracking_id: job.tracking_id.clone() },
            Channel::Api,
            self.now,
        ));
        if !self.queue.move_print_job(&change, self.now).await? {
            return Ok(Err(PrintRefusal::NotYours));
        }
        let lang = self.templates.languages_for(&stored.identity).into_iter().next().unwrap_or_else(|| "eng".into());
        let mut recipient: Vec<String> = Vec::new();
        if let Some(n) = stored.identity.localized("fullName", &lang) {
            recipient.push(n.to_owned());
        }
        for f in &POSTAL_FIELDS[..6] {
            if let Some(v) = stored.identity.localized(f, &lang).filter(|v| !v.trim().is_empty()) {
                recipient.push(v.to_owned());
            }
        }
        if let Some(pc) = stored.identity.text("postalCode") {
            recipient.push(pc.to_owned());
        }
        let job =
            PrintJob { status: PrintStatus::Issued, partner_id: Some(partner.id.clone()), updated_at: self.now, ..job };
        Ok(Ok(TakenJob { job, card, card_password, recipient }))
    }

    /// A partner reports the next step of a job it holds.
    pub async fn report(
        &self,
        partner: &Partner,
        job_id: &str,
        to: PrintStatus,
        carrier_ref: Option<String>,
        reason: Option<String>,
    ) -> Result<Result<PrintJob, PrintRefusal>, ResidentError> {
        let Some(job) = self.queue.print_job(job_id).await? else { return Ok(Err(PrintRefusal::NotFound)) };
        if job.partner_id.as_deref() != Some(partner.id.as_str()) {
            return Ok(Err(if job.partner_id.is_none() {
                PrintRefusal::WrongStep { from: job.status, to }
            } else {
                PrintRefusal::NotYours
            }));
        }
        if !job.status.may_become(to) || to == PrintStatus::Issued {
            return Ok(Err(PrintRefusal::WrongStep { from: job.status, to }));
        }
        let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        if to == PrintStatus::Failed && reason.is_none() {
            return Ok(Err(PrintRefusal::ReasonMissing));
        }
        let carrier_ref = carrier_ref.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        let change = self.change(&job, partner, to, carrier_ref.clone(), reason.clone()).await?;
        if !self.queue.move_print_job(&change, self.now).await? {
            return Ok(Err(PrintRefusal::WrongStep { from: job.status, to }));
        }
        Ok(Ok(PrintJob {
            status: to,
            carrier_ref: carrier_ref.or(job.carrier_ref.clone()),
            reason: reason.or(job.reason.clone()),
            updated_at: self.now,
            ..job
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_moves_one_step_at_a_time() {
        use PrintStatus::*;
        let allowed: Vec<(PrintStatus, PrintStatus)> = PrintStatus::ALL
            .iter()
            .flat_map(|a| PrintStatus::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.may_become(*b))
            .collect();
        assert_eq!(
            allowed,
            [
                (New, Issued),
                (Issued, Printing),
                (Issued, Failed),
                (Printing, InTransit),
                (Printing, Failed),
                (InTransit, Delivered),
                (InTransit, Failed)
            ]
        );
        assert!(Delivered.is_final() && Failed.is_final() && !InTransit.is_final());
        assert_eq!(PrintStatus::parse("in_transit"), Some(InTransit));
        assert_eq!(Delivered.event_status(), "CARD_DELIVERED");
    }

    #[test]
    fn tracking_ids_are_readable() {
        let t = tracking_id(&mut crate::clock::rng());
        assert_eq!(t.len(), "PRN-XXXX-XXXX-XXXX".len());
        assert!(t.chars().skip(4).all(|c| c == '-' || (c.is_ascii_alphanumeric() && !"ILOU".contains(c))));
    }
}
