//! Changing one's email address or phone number (MOSIP 1.2.1's contact details, from its portal
//! app): an OTP goes to the new address or number, never to the old one, and answering it both
//! proves the resident holds it and asks for the change, which then goes through an update packet
//! like any other (the old contact is told once it is applied).
//!
//! The OTP is bound to the identity, the transaction and the new value itself (`Otp::bound_to`: the
//! value enters only the OTP's keyed hash, and is kept nowhere), so it changes nothing but that
//! value, and only for whoever received it. Its wrong answers count toward the identity's OTP freeze
//! as the resident's own OTPs do (the requester `contact:email`/`contact:phone` shares their guard).

use super::{DraftUpdate, UpdateServices, request_update};
use crate::auth_usecases::{AuthContext, Done, record};
use crate::error::ResidentError;
use crate::ida::embedded::new_otp;
use crate::identity::IdentitySchema;
use crate::ids::{IndividualId, Rid};
use crate::notification::Channel;
use crate::otp::{Otp, OtpChannel};
use crate::ports::{Effects, NewOtp, Resolved};

/// A new email address or phone number, as the resident typed it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewContact {
    pub channel: OtpChannel,
    value: String,
}

impl std::fmt::Debug for NewContact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewContact({:?})", self.channel)
    }
}

impl NewContact {
    /// A phone number or email address by the ID schema's own rules for `phone` and `email`
    /// (`RES-SER-410 userId` otherwise), of a field the schema lets residents update (`RES-SER-427`).
    pub fn parse(schema: &IdentitySchema, raw: &str, now: time::OffsetDateTime) -> Result<Self, ResidentError> {
        let value = raw.trim();
        for (field, channel) in [("phone", OtpChannel::Phone), ("email", OtpChannel::Email)] {
            if let Some(spec) = schema.field(field)
                && !value.is_empty()
                && schema.check_field(spec, &serde_json::Value::String(value.to_owned()), now).is_ok()
            {
                if !spec.updatable {
                    return Err(ResidentError::UnsupportedInput(format!("identity/{field} cannot be updated")));
                }
                return Ok(NewContact { channel, value: value.to_owned() });
            }
        }
        Err(ResidentError::invalid("userId"))
    }

    fn field(&self) -> &'static str {
        match self.channel {
            OtpChannel::Email => "email",
            OtpChannel::Phone => "phone",
        }
    }

    /// Who the OTP is for: a change of this channel (the value is bound by `Otp::bound_to`).
    fn requester(&self) -> String {
        format!("contact:{}", self.field())
    }
}

/// Checks that the change may be asked for at all: a new value (`RES-SER-519`/`520`), no update in
/// progress (`RES-SER-525`), and the field not past its update limit (`RES-SER-526`).
async fn may_change(svc: &UpdateServices<'_>, who: &Resolved, contact: &NewContact) -> Result<(), ResidentError> {
    if who.identity.text(contact.field()).is_some_and(|v| v.eq_ignore_ascii_case(&contact.value)) {
        return Err(ResidentError::SameContact(contact.channel == OtpChannel::Email));
    }
    if svc.updates.open_update_of(&who.identity_id).await?.is_some() {
        return Err(ResidentError::UpdatePending);
    }
    let counts = svc.updates.update_counts(&who.identity_id).await?;
    if svc.policy.limits.get(contact.field()).is_some_and(|l| counts.get(contact.field()).copied().unwrap_or(0) >= *l) {
        return Err(ResidentError::UpdateCountExceeded(contact.field().into()));
    }
    Ok(())
}

/// `POST /contact-details/send-otp`: an OTP to the new contact, for this transaction. A refusal of
/// the OTP service (frozen, flooded) is `RES-SER-463`, as in MOSIP.
pub async fn send_contact_otp(
    ctx: &AuthContext<'_>,
    svc: &UpdateServices<'_>,
    who: &Resolved,
    id: &IndividualId,
    contact: &NewContact,
    transaction_id: &str,
) -> Result<(), ResidentError> {
    may_change(svc, who, contact).await?;
    let otp = new_otp(ctx.otp_policy)?;
    let mut vars = ctx.templates.stamp(ctx.now);
    vars.insert("otp", otp.expose().to_owned());
    vars.insert("validMinutes", (ctx.otp_policy.validity_seconds / 60).max(1).to_string());
    // the message goes to the new contact only, in the resident's languages
    let mut to = who.identity.clone();
    to.0.remove("email");
    to.0.remove("phone");
    to.0.insert(contact.field().into(), serde_json::Value::String(contact.value.clone()));
    let expires = crate::clock::epoch_ms(ctx.now) + ctx.otp_policy.validity_seconds * 1000;
    let wanted = match contact.channel {
        OtpChannel::Email => Channel::Email,
        OtpChannel::Phone => Channel::Sms,
    };
    let messages = ctx
        .templates
        .messages("OTP", &to, &vars)
        .into_iter()
        .filter(|m| m.channel == wanted)
        .map(|m| crate::notification::OutgoingMessage { not_after: Some(expires), ..m })
        .collect();
    let effects = Effects {
        audit: vec![record(
            ctx,
            "RES-SER-122",
            "OTP generated",
            Some(id.masked()),
            id.id_type(),
            format!("OTP sent to a new {} for transaction {transaction_id}", contact.field()),
        )],
        notifications: messages,
        ..Effects::default()
    };
    let new = NewOtp {
        requester: contact.requester(),
        transaction_id: transaction_id.to_owned(),
        otp: otp.bound_to(&contact.value),
        channels: vec![contact.channel],
    };
    match svc.contact_otps.issue_otp(who, &new, ctx.otp_policy, &effects, ctx.now).await? {
        Ok(()) => Ok(()),
        Err(_) => Err(ResidentError::SendOtpFailed),
    }
}

/// `POST /contact-details/update-data`: the OTP sent to the new contact, which, when right, asks for
/// the change (an update packet with its RID and event).
pub async fn change_contact(
    ctx: &AuthContext<'_>,
    svc: &UpdateServices<'_>,
    who: &Resolved,
    id: &IndividualId,
    contact: &NewContact,
    transaction_id: &str,
    otp: &str,
) -> Result<Done<Rid>, ResidentError> {
    let effects_for = |result: Result<(), crate::otp::OtpRefusal>| {
        let (audit_id, name, outcome) = match result {
            Ok(()) => ("RES-SER-209", "OTP validated", "Y".to_owned()),
            Err(r) => ("RES-SER-422", "OTP validation failed", r.ida_code().to_owned()),
        };
        let what = format!("OTP of a new {} for transaction {transaction_id}: {outcome}", contact.field());
        Effects {
            audit: vec![record(ctx, audit_id, name, Some(id.masked()), id.id_type(), what)],
            ..Effects::default()
        }
    };
    // refused before the OTP is spent when the change could not be asked for anyway
    may_change(svc, who, contact).await?;
    let refusal = match Otp::parse(otp, ctx.otp_policy.length) {
        None => {
            let refused = crate::otp::OtpRefusal::Invalid;
            ctx.repo.record_effects(&effects_for(Err(refused)), ctx.now).await?;
            Some(refused)
        }
        Some(otp) => svc
            .contact_otps
            .verify_otp(
                who,
                &contact.requester(),
                transaction_id,
                &otp.bound_to(&contact.value),
                ctx.otp_policy,
                ctx.now,
                &effects_for,
            )
            .await?
            .err(),
    };
    if let Some(r) = refusal {
        return Err(ResidentError::OtpValidationFailed(r.message(ctx.otp_policy)));
    }
    let mut identity = serde_json::Map::new();
    identity.insert(contact.field().into(), serde_json::Value::String(contact.value.clone()));
    let draft = DraftUpdate { identity, uin: None, documents: vec![], change_required: true };
    request_update(ctx, svc, who, id, transaction_id, draft).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> IdentitySchema {
        IdentitySchema::default_schema(crate::identity::Languages::default()).unwrap()
    }

    #[test]
    fn a_contact_is_a_phone_or_an_email_by_the_schema() {
        let now = time::OffsetDateTime::UNIX_EPOCH;
        assert_eq!(NewContact::parse(&schema(), "9876543210", now).unwrap().channel, OtpChannel::Phone);
        assert_eq!(NewContact::parse(&schema(), " jane@example.org ", now).unwrap().channel, OtpChannel::Email);
        for bad in ["", "jane@", "12345", "<script>@x.org"] {
            assert_eq!(NewContact::parse(&schema(), bad, now).unwrap_err().code(), "RES-SER-410", "{bad}");
        }
    }

    #[test]
    fn the_otp_belongs_to_the_new_value_not_to_its_case() {
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let a = NewContact::parse(&schema(), "Jane@Example.org", now).unwrap();
        let b = NewContact::parse(&schema(), "jane@example.org", now).unwrap();
        let c = NewContact::parse(&schema(), "john@example.org", now).unwrap();
        let otp = Otp::parse("123456", 6).unwrap();
        assert_eq!(otp.bound_to(&a.value), otp.bound_to(&b.value));
        assert_ne!(otp.bound_to(&a.value), otp.bound_to(&c.value));
        assert_eq!(a.requester(), "contact:email", "the value is not in the requester, which is kept in clear");
    }
}
