//! Printed cards, first part: a resident orders a reprint of their card (`POST /req/print-uin`). The
//! request gets its own RID (a `RES_REPRINT` registration) that the resident follows by RID status; it
//! waits for the print service that the cards work brings.

use std::collections::BTreeMap;

use crate::auth_usecases::{AuthContext, Done, SELF_ENTITY, Subject, event, success};
pub use crate::card::CardType;
use crate::error::ResidentError;
use crate::history::{RequestType, ServiceEvent};
use crate::ids::{CentreId, IndividualId, MachineId, Rid};
use crate::ports::{RegistrationRepository, Resolved};
use crate::registration::{InternalStatus, Registration, RegistrationType, StageRecord, TransactionType};

/// Records the reprint request as a RES_REPRINT registration received by the packet receiver, with its
/// history event (NEW), audit record and notification, in one transaction.
#[allow(clippy::too_many_arguments)]
pub async fn request_reprint(
    ctx: &AuthContext<'_>,
    registrations: &dyn RegistrationRepository,
    centre: &CentreId,
    machine: &MachineId,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    card_type: CardType,
) -> Result<Done<Rid>, ResidentError> {
    let rid = registrations.next_rid(centre, machine, ctx.now).await?;
    let registration = Registration {
        rid: rid.clone(),
        registration_type: RegistrationType::ResReprint,
        status: Some(InternalStatus::Processing),
        latest_transaction: Some(TransactionType::PacketReceiver),
        latest_transaction_at: Some(ctx.now),
        last_success_stage: Some(TransactionType::PacketReceiver.stage_name().to_owned()),
        retry_count: 0,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    let stages = [StageRecord {
        transaction_type: TransactionType::PacketReceiver,
        status: "SUCCESS".into(),
        comment: format!("reprint of a {} card requested by the resident; waiting for printing", card_type.code()),
        at: ctx.now,
    }];
    let ev = ServiceEvent {
        aid: Some(rid.as_str().to_owned()),
        status_comment: Some(format!("{} card", card_type.code())),
        ..event(who, RequestType::OrderPhysicalCard, "NEW", id, trn, ctx.now)
    };
    let vars = BTreeMap::from([("RID", rid.as_str().to_owned()), ("cardType", card_type.code().to_owned())]);
    let audit = ("RES-SER-114", "Obtained RID for print UIN", format!("reprint RID {} obtained", rid.masked()));
    let subject = Subject { who, id, trn, entity: SELF_ENTITY };
    let (effects, message, event_id) = success(ctx, &subject, ev, "RS_UIN_RPR_SUCCESS", vars, audit);
    registrations.record_request(&registration, &stages, &effects, ctx.now).await?;
    Ok(Done { value: rid, message, event_id })
}
