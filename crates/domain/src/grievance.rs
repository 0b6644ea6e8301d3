//! A resident's grievance: about one of their own requests (a service-history event) or one of the
//! uses of their data, with a message an officer will read. The portal is one front door to it.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::access::DataAccessLog;
use crate::audit::{AuditContext, AuditEvent};
use crate::error::ResidentError;
use crate::history::EventId;
use crate::identity::IdentitySchema;
use crate::ids::IndividualId;
use crate::notification::Templates;
use crate::ports::{Effects, Grievance, GrievanceStore, Resolved, ServiceHistory};

/// The longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1024;
/// The longest alternate email address, in characters (MOSIP's `mosip.resident.email.charlimit`).
pub const MAX_EMAIL_CHARS: usize = 128;
/// The longest alternate phone number, in characters (MOSIP's `mosip.resident.phone.charlimit`).
pub const MAX_PHONE_CHARS: usize = 64;

/// Another way to reach the resident about this grievance than the contact details on their
/// identity (MOSIP 1.2.1's `alternateEmailId` and `alternatePhoneNo`). Sealed at rest.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AlternateContact {
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl AlternateContact {
    /// Blank values count as not given.
    pub fn new(email: Option<&str>, phone: Option<&str>) -> Self {
        let given = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        AlternateContact { email: given(email), phone: given(phone) }
    }

    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.phone.is_none()
    }

    /// Checks each given value against its length limit and the identity schema's own rule for
    /// that field (`email`, `phone`), so a grievance takes exactly the addresses an identity could.
    fn check(&self, schema: &IdentitySchema, now: OffsetDateTime) -> Result<(), GrievanceRefusal> {
        let well_formed = |field: &str, value: &str| {
            !value.chars().any(char::is_control)
                && schema
                    .field(field)
                    .is_none_or(|spec| schema.check_field(spec, &serde_json::Value::from(value), now).is_ok())
        };
        if let Some(email) = &self.email {
            if email.chars().count() > MAX_EMAIL_CHARS {
                return Err(GrievanceRefusal::EmailTooLong);
            }
            if !well_formed("email", email) || !email.contains('@') {
                return Err(GrievanceRefusal::BadEmail);
            }
        }
        if let Some(phone) = &self.phone {
            if phone.chars().count() > MAX_PHONE_CHARS {
                return Err(GrievanceRefusal::PhoneTooLong);
            }
            if !well_formed("phone", phone) {
                return Err(GrievanceRefusal::BadPhone);
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for AlternateContact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |v: &Option<String>| if v.is_some() { "given" } else { "none" };
        write!(f, "AlternateContact(email {}, phone {})", shown(&self.email), shown(&self.phone))
    }
}

/// Why a grievance was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrievanceRefusal {
    /// The id names nothing of this resident's.
    NotYours,
    /// Empty, or only spaces.
    NoMessage,
    /// Longer than [`MAX_MESSAGE_CHARS`].
    MessageTooLong,
    /// With control characters other than line breaks.
    BadMessage,
    /// The alternate email is longer than [`MAX_EMAIL_CHARS`].
    EmailTooLong,
    /// The alternate email is not an address the identity schema would take.
    BadEmail,
    /// The alternate phone number is longer than [`MAX_PHONE_CHARS`].
    PhoneTooLong,
    /// The alternate phone number is not one the identity schema would take.
    BadPhone,
}

/// What raising a grievance needs.
pub struct Grievances<'a> {
    pub history: &'a dyn ServiceHistory,
    pub accesses: &'a dyn DataAccessLog,
    pub store: &'a dyn GrievanceStore,
    pub templates: &'a Templates,
    pub schema: &'a IdentitySchema,
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

    /// Records the grievance (message and alternate contact sealed), its audit record and the
    /// acknowledgement to the resident, in one transaction; returns the ticket number.
    pub async fn raise(
        &self,
        who: &Resolved,
        id: &IndividualId,
        subject: &str,
        message: &str,
        contact: &AlternateContact,
    ) -> Result<Result<String, GrievanceRefusal>, ResidentError> {
        let Some(event) = self.subject(who, subject).await? else { return Ok(Err(GrievanceRefusal::NotYours)) };
        let message = message.trim();
        let length = message.chars().count();
        if length == 0 {
            return Ok(Err(GrievanceRefusal::NoMessage));
        }
        if length > MAX_MESSAGE_CHARS {
            return Ok(Err(GrievanceRefusal::MessageTooLong));
        }
        if message.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
            return Ok(Err(GrievanceRefusal::BadMessage));
        }
        if let Err(refusal) = contact.check(self.schema, self.now) {
            return Ok(Err(refusal));
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
            contact: contact.clone(),
            created_at: self.now,
        };
        self.store.raise_grievance(&g, &effects, self.now).await?;
        Ok(Ok(ticket))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Languages;

    fn check(email: Option<&str>, phone: Option<&str>) -> Result<(), GrievanceRefusal> {
        let schema = IdentitySchema::default_schema(Languages::default()).unwrap();
        AlternateContact::new(email, phone).check(&schema, time::macros::datetime!(2026-11-26 9:00 UTC))
    }

    #[test]
    fn an_alternate_contact_is_held_to_the_identity_schemas_rules() {
        assert_eq!(check(None, None), Ok(()));
        assert_eq!(check(Some("  "), Some("")), Ok(()), "blank is not given");
        assert!(AlternateContact::new(Some(" "), None).is_empty());
        assert_eq!(check(Some("jane.alt@example.org"), Some("9876543210")), Ok(()));
        assert_eq!(check(Some("jane.alt"), None), Err(GrievanceRefusal::BadEmail));
        assert_eq!(check(Some("jane@exa\u{7}mple.org"), None), Err(GrievanceRefusal::BadEmail));
        let long = format!("{}@example.org", "a".repeat(MAX_EMAIL_CHARS));
        assert_eq!(check(Some(&long), None), Err(GrievanceRefusal::EmailTooLong));
        assert_eq!(check(None, Some("12")), Err(GrievanceRefusal::BadPhone));
        assert_eq!(check(None, Some(&"9".repeat(MAX_PHONE_CHARS + 1))), Err(GrievanceRefusal::PhoneTooLong));
    }

    #[test]
    fn a_contact_never_shows_in_debug_output() {
        let c = AlternateContact::new(Some("jane.alt@example.org"), Some("9876543210"));
        let shown = format!("{c:?}");
        assert!(!shown.contains("jane") && !shown.contains("9876"), "{shown}");
    }
}
