//! Verifying a phone number or an email address (MOSIP 1.2.1's "verify phone/email"): the resident
//! proves they hold it by answering an OTP sent there. What is kept is which value was verified, as
//! a keyed hash the store makes, so a number changed since is no longer verified.

use std::collections::BTreeMap;

use crate::auth_usecases::{AuthContext, Done, Subject, authorise_with_otp, event, success};
use crate::error::ResidentError;
use crate::history::{RequestType, ServiceEvent};
use crate::identity::IdentityJson;
use crate::ids::IndividualId;
use crate::otp::OtpChannel;
use crate::ports::{ChannelVerifications, Resolved, ServiceHistory};

/// The identity's current value for a channel: its `phone` or `email`.
pub fn channel_value(identity: &IdentityJson, channel: OtpChannel) -> Option<&str> {
    let field = match channel {
        OtpChannel::Phone => "phone",
        OtpChannel::Email => "email",
    };
    identity.text(field).filter(|v| !v.trim().is_empty())
}

/// Checks the OTP the resident asked for with `/req/otp` (that check commits on its own: the OTP
/// is used up, the attempt recorded), reads which channels it went to from this tier's own event of
/// the OTP request, and then records every channel it went to as verified, with a
/// `VALIDATE_OTP` event, its audit record and a message to the resident, in one transaction. The
/// value verified is the identity's current one for the channel, where the OTP was sent minutes
/// before. A wrong OTP is refused as any OTP-protected request is (RES-SER-422).
pub async fn verify_with_otp(
    ctx: &AuthContext<'_>,
    verifications: &dyn ChannelVerifications,
    history: &dyn ServiceHistory,
    id: &IndividualId,
    trn: &str,
    otp: &str,
) -> Result<Done<Vec<OtpChannel>>, ResidentError> {
    let who = authorise_with_otp(ctx, id, trn, otp).await?;
    // where the OTP went, as this tier recorded its request (IDA, MOSIP's included, does not say)
    let asked = history.event_of_transaction(&who.token, RequestType::SendOtp, trn).await?;
    let channels = asked.and_then(|e| e.status_comment).map(|c| crate::otp::channels_sent(&c)).unwrap_or_default();
    let verified: Vec<(OtpChannel, String)> =
        channels.iter().filter_map(|c| channel_value(&who.identity, *c).map(|v| (*c, v.to_owned()))).collect();
    if verified.is_empty() {
        return Err(ResidentError::Internal("the OTP went to no channel the identity still has".into()));
    }
    let names: Vec<&str> = verified.iter().map(|(c, _)| c.code()).collect();
    let what = format!("{} verified", names.join(","));
    let ev = ServiceEvent {
        status_comment: Some(what.clone()),
        ..event(&who, RequestType::ValidateOtp, "OTP_VERIFIED", id, trn, ctx.now)
    };
    let subject = Subject { who: &who, id, trn };
    let audit = ("RES-SER-140", "Phone or email verified", what);
    let (effects, message, event_id) = success(ctx, &subject, ev, "RS_CHANNEL_VERIFIED", BTreeMap::new(), audit);
    verifications.mark_verified(&who.token, &verified, &effects, ctx.now).await?;
    Ok(Done { value: verified.into_iter().map(|(c, _)| c).collect(), message, event_id })
}

/// Whether the resident's current value for `channel` is one they verified.
pub async fn is_verified(
    verifications: &dyn ChannelVerifications,
    who: &Resolved,
    channel: OtpChannel,
) -> Result<bool, ResidentError> {
    match channel_value(&who.identity, channel) {
        Some(value) => Ok(verifications.is_verified(&who.token, channel, value).await?),
        None => Ok(false),
    }
}
