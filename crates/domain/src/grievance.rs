//! A resident's grievance: about one of their own requests (a service-history event) or one of the
//! uses of their data, with a message an officer will read. The portal is one front door to it.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::access::DataAccessLog;
use crate::audit::{AuditContext, AuditEvent};
use crate::error::ResidentError;
use crate::history::EventId;
use crate::ids::IndividualId;
use crate::notification::Templates;
use crate::ports::{Effects, Grievance, GrievanceStore, Resolved, ServiceHistory};

/// The longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1024;

/// Why a grievance was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrievanceRefusal {
    /// The id names nothing of this resident's.
    NotYours,
    /// Empty, longer than [`MAX_MESSAGE_CHARS`], or with control characters other than line breaks.
    BadMessage,
}

/// What raising a grievance needs.
pub struct Grievances<'a> {
    pub history: &'a dyn ServiceHistory,
    pub accesses: &'a dyn DataAccessLog,
    pub store: &'a dyn GrievanceStore,
    pub templates: &'a Templates,
    pub audit: &'a AuditContext,
    pub now: OffsetDateTime,
}

impl Grievances<'_> {
    /// The subject, if `value` names one of this resident's requests or uses of their data.
    pub async fn subject(&self, who: &Resolved, value: &str) -> Result<Option<EventId>, ResidentError> {
        let Some(id) = EventId::parse(value.trim()) else { return Ok(None) };
        let owned = crate::access::grievance_subject(self.history, self.accesses, &who.token, &id).await?;
        Ok(owned.then_some(id))
    }

    /// Records the grievance (message sealed), its audit record and the acknowledgement to the
    /// resident, in one transaction; returns the ticket number.
    pub async fn raise(
        &self,
        who: &Resolved,
        id: &IndividualId,
        subject: &str,
        message: &str,
    ) -> Result<Result<String, GrievanceRefusal>, ResidentError> {
        let Some(event) = self.subject(who, subject).await? else { return Ok(Err(GrievanceRefusal::NotYours)) };
        let message = message.trim();
        let length = message.chars().count();
        if length == 0
            || length > MAX_MESSAGE_CHARS
            || message.chars().any(|c| c.is_control() && c != '\n' && c != '\r')
        {
            return Ok(Err(GrievanceRefusal::BadMessage));
        }
        let ticket = crate::print::tracking_id(&mut crate::clock::rng()).replacen("PRN", "GRV", 1);
        let mut vars: BTreeMap<&str, String> = self.templates.stamp(self.now);
        vars.insert("ticketId", ticket.clone());
        vars.insert("eventId", event.to_string());
        let effects = Effects {
            audit: vec![AuditEvent::GrievanceRaised.record(
                self.audit,
                self.now,
                Some((id.masked(), id.id_type())),
                format!("ticket {ticket} about event {event}"),
            )],
            notifications: self.templates.messages("RS_GRIEVANCE", &who.identity, &vars),
            ..Effects::default()
        };
        let g = Grievance {
            ticket_id: ticket.clone(),
            token: who.token.clone(),
            event_id: event,
            message: message.to_owned(),
            created_at: self.now,
        };
        self.store.raise_grievance(&g, &effects, self.now).await?;
        Ok(Ok(ticket))
    }
}
