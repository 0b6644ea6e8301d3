//! The embedded IDA: OTPs (issued under the OTP policy, flood and freeze guards), OTP checks, and the
//! authentication transactions a resident sees, over this platform's store. It serves resident
//! services in one process, the platform's IDA endpoints to a resident tier in `mosip` mode, and
//! relying parties ([`super::partner`]).

use std::sync::Arc;

use async_trait::async_trait;

use super::{AuthFailure, IdAuthentication, IdaCall, OtpSent};
use crate::audit::AuditRecord;
use crate::authtype::AuthType;
use crate::clock::{epoch_ms, rng};
use crate::error::ResidentError;
use crate::ids::IndividualId;
use crate::notification::{Channel, OutgoingMessage, Templates};
use crate::otp::{Otp, OtpChannel, OtpPolicy, OtpRefusal, Requester, mask_email, mask_mobile};
use crate::ports::{AuthRepository, AuthTransaction, Effects, NewOtp, OtpIssueRefusal, Resolved};

/// This service's name in authentication transactions (IDA's `entityName` for internal requests).
pub const SELF_ENTITY: &str = "resident-services";

pub struct EmbeddedIda {
    repo: Arc<dyn AuthRepository>,
    templates: Arc<Templates>,
    policy: OtpPolicy,
}

/// Whose authentication an attempt is: the identity (named by `id`) in `transaction_id`, asked by
/// `entity` (this service, or a partner's name).
pub(crate) struct Attempt<'a> {
    pub(crate) who: &'a Resolved,
    pub(crate) id: &'a IndividualId,
    pub(crate) transaction_id: &'a str,
    pub(crate) entity: &'a str,
}

impl Attempt<'_> {
    /// Its authentication transaction: `code` (`OTP-AUTH`, …), whether it succeeded, IDA's comment
    /// and response code.
    pub(crate) fn transaction(
        &self,
        code: &str,
        ok: bool,
        comment: &str,
        response: &str,
        now: time::OffsetDateTime,
    ) -> AuthTransaction {
        AuthTransaction {
            token: self.who.token.clone(),
            at: now,
            auth_type_code: code.into(),
            status_code: if ok { "Y".into() } else { "N".into() },
            status_comment: comment.into(),
            ref_id_type: self.id.id_type().into(),
            entity_name: self.entity.into(),
            transaction_id: self.transaction_id.into(),
            response_code: response.into(),
        }
    }
}

/// An audit record of IDA's (module `IDA`), never with the id in clear.
pub(crate) fn ida_record(
    call: &IdaCall<'_>,
    event_id: &str,
    name: &str,
    id: &IndividualId,
    description: String,
) -> AuditRecord {
    let user = call.audit.session_user.clone();
    AuditRecord {
        event_id: event_id.into(),
        event_name: name.into(),
        event_type: "SYSTEM".into(),
        action_at: call.now,
        host_name: call.audit.host_name.clone(),
        host_ip: call.audit.host_ip.clone(),
        app_id: "IDA".into(),
        app_name: "ID Authentication".into(),
        session_user_id: user.clone(),
        session_user_name: user.clone(),
        module_id: "IDA".into(),
        module_name: "ID Authentication".into(),
        ref_id: Some(id.masked()),
        ref_id_type: Some(id.id_type().into()),
        description,
        created_by: user,
        request_id: call.audit.request_id.clone(),
    }
}

/// A new OTP: random, or the configured fixed code (conformance runs, `development` profile only).
pub(crate) fn new_otp(policy: &OtpPolicy) -> Result<Otp, ResidentError> {
    match &policy.fixed_code {
        Some(code) => Otp::parse(code, policy.length)
            .ok_or_else(|| ResidentError::Internal("otp.fixed_code has the wrong length".into())),
        None => Ok(Otp::generate(&mut rng(), policy.length)),
    }
}

fn entity(requester: &Requester) -> &str {
    match requester {
        Requester::Resident => SELF_ENTITY,
        Requester::Partner { name, .. } => name.as_str(),
    }
}

fn not_found(id: &IndividualId) -> ResidentError {
    ResidentError::Ida("IDA-MLC-018", format!("{} not available in database", id.id_type()))
}

impl EmbeddedIda {
    pub fn new(repo: Arc<dyn AuthRepository>, templates: Arc<Templates>, policy: OtpPolicy) -> Self {
        EmbeddedIda { repo, templates, policy }
    }

    pub fn policy(&self) -> &OtpPolicy {
        &self.policy
    }

    pub(crate) fn repo(&self) -> &dyn AuthRepository {
        self.repo.as_ref()
    }

    /// The identity an id names while it can authenticate: IDA-MLC-018 when unknown, IDA-MLC-022
    /// when deactivated.
    pub(crate) async fn active(&self, id: &IndividualId, call: &IdaCall<'_>) -> Result<Resolved, ResidentError> {
        let who = self.repo.resolve(id, call.now).await?.ok_or_else(|| not_found(id))?;
        if who.status != "ACTIVATED" {
            return Err(ResidentError::Ida("IDA-MLC-022", format!("{} is deactivated/blocked", id.id_type())));
        }
        Ok(who)
    }

    /// Sends an OTP on behalf of `requester` (resident services, or a relying party); it works for
    /// that requester only. A partner cannot send an OTP through a channel the resident has locked,
    /// and its message names the partner, so the resident can tell a bank's code from one for their
    /// own account. The OTP, its message and the transaction commit together; a refusal is recorded
    /// as a failed transaction.
    pub async fn send_otp(
        &self,
        call: &IdaCall<'_>,
        requester: &Requester,
        id: &IndividualId,
        transaction_id: &str,
        channels: &[OtpChannel],
    ) -> Result<OtpSent, ResidentError> {
        let who = match self.active(id, call).await {
            Ok(who) => who,
            Err(e) => {
                let audit = ida_record(call, "IDA-OTP-002", "OTP request failed", id, e.code().to_owned());
                self.repo.record_effects(&Effects { audit: vec![audit], ..Effects::default() }, call.now).await?;
                return Err(e);
            }
        };
        if matches!(requester, Requester::Partner { .. }) {
            let states = self.repo.lock_states(&who.identity_id).await?;
            let now_ms = epoch_ms(call.now);
            for c in channels {
                let t = match c {
                    OtpChannel::Email => AuthType::OtpEmail,
                    OtpChannel::Phone => AuthType::OtpPhone,
                };
                if states.iter().any(|s| s.auth_type == t && s.locked_at(now_ms)) {
                    return Err(ResidentError::Ida(
                        "IDA-MLC-019",
                        format!("{} Auth Type is Locked for the UIN", t.code()),
                    ));
                }
            }
        }
        let email = who.identity.text("email");
        let phone = who.identity.text("phone");
        if channels.contains(&OtpChannel::Email) && email.is_none() {
            return Err(ResidentError::Ida("IDA-MLC-009", "Invalid Input Parameter - email".into()));
        }
        if channels.contains(&OtpChannel::Phone) && phone.is_none() {
            return Err(ResidentError::Ida("IDA-MLC-009", "Invalid Input Parameter - mobileNumber".into()));
        }
        let otp = new_otp(&self.policy)?;
        let mut vars = self.templates.stamp(call.now);
        vars.insert("otp", otp.expose().to_owned());
        vars.insert("validMinutes", (self.policy.validity_seconds / 60).max(1).to_string());
        let template = match requester {
            Requester::Resident => "OTP",
            Requester::Partner { name, .. } => {
                vars.insert("partnerName", name.clone());
                "PARTNER_OTP"
            }
        };
        // a mail that arrives after its OTP expired is never sent (a worker may be down meanwhile)
        let expires = epoch_ms(call.now) + self.policy.validity_seconds * 1000;
        let messages: Vec<OutgoingMessage> = self
            .templates
            .messages(template, &who.identity, &vars)
            .into_iter()
            .filter(|m| match m.channel {
                Channel::Email => channels.contains(&OtpChannel::Email),
                Channel::Sms => channels.contains(&OtpChannel::Phone),
            })
            .map(|m| OutgoingMessage { not_after: Some(expires), ..m })
            .collect();
        let names: Vec<&str> = channels.iter().map(|c| c.code()).collect();
        let by = entity(requester);
        let attempt = Attempt { who: &who, id, transaction_id, entity: by };
        let effects = Effects {
            audit: vec![ida_record(
                call,
                "IDA-OTP-001",
                "OTP generated",
                id,
                format!("by {} for {by}", names.join(",")),
            )],
            notifications: messages,
            auth_transactions: vec![attempt.transaction("OTP-REQUEST", true, "OTP Request Success", "Y", call.now)],
            ..Effects::default()
        };
        let new = NewOtp {
            requester: requester.key(),
            transaction_id: transaction_id.to_owned(),
            otp,
            channels: channels.to_vec(),
        };
        match self.repo.issue_otp(&who, &new, &self.policy, &effects, call.now).await? {
            Ok(()) => Ok(OtpSent {
                masked_email: channels.contains(&OtpChannel::Email).then(|| email.map(mask_email)).flatten(),
                masked_mobile: channels.contains(&OtpChannel::Phone).then(|| phone.map(mask_mobile)).flatten(),
            }),
            Err(refusal) => {
                let (code, message) = match refusal {
                    OtpIssueRefusal::Flooded => ("IDA-OTA-001", "Innumerous OTP requests received".to_owned()),
                    OtpIssueRefusal::Frozen => {
                        ("IDA-OTA-013", OtpRefusal::Frozen { until_ms: 0 }.message(&self.policy))
                    }
                };
                let failed = Effects {
                    audit: vec![ida_record(call, "IDA-OTP-002", "OTP request failed", id, code.to_owned())],
                    auth_transactions: vec![attempt.transaction(
                        "OTP-REQUEST",
                        false,
                        "OTP Request Failed",
                        code,
                        call.now,
                    )],
                    ..Effects::default()
                };
                self.repo.record_effects(&failed, call.now).await?;
                Err(ResidentError::Ida(code, message))
            }
        }
    }

    /// Checks an OTP that `requester` asked for: single use, expiry, failure count and freeze are
    /// enforced atomically with the attempt's transaction and IDA's audit record.
    /// A success also uses up one transaction of a limited VID.
    pub async fn check_otp(
        &self,
        call: &IdaCall<'_>,
        requester: &Requester,
        who: &Resolved,
        id: &IndividualId,
        transaction_id: &str,
        otp: &str,
    ) -> Result<Result<(), OtpRefusal>, ResidentError> {
        let by = entity(requester);
        let attempt = Attempt { who, id, transaction_id, entity: by };
        let effects_for = |result: Result<(), OtpRefusal>| {
            let (ok, comment, response) = match result {
                Ok(()) => (true, "OTP Authentication Success", "Y"),
                Err(r) => (false, "OTP Authentication Failed", r.ida_code()),
            };
            let audit =
                if ok { ("IDA-AUT-001", "Authentication success") } else { ("IDA-AUT-002", "Authentication failed") };
            Effects {
                audit: vec![ida_record(call, audit.0, audit.1, id, format!("OTP-AUTH for {by}: {response}"))],
                auth_transactions: vec![attempt.transaction("OTP-AUTH", ok, comment, response, call.now)],
                ..Effects::default()
            }
        };
        match Otp::parse(otp, self.policy.length) {
            None => {
                self.repo.record_effects(&effects_for(Err(OtpRefusal::Invalid)), call.now).await?;
                Ok(Err(OtpRefusal::Invalid))
            }
            Some(otp) => Ok(self
                .repo
                .verify_otp(who, &requester.key(), transaction_id, &otp, &self.policy, call.now, &effects_for)
                .await?),
        }
    }
}

#[async_trait]
impl IdAuthentication for EmbeddedIda {
    async fn request_otp(
        &self,
        call: &IdaCall<'_>,
        id: &IndividualId,
        transaction_id: &str,
        channels: &[OtpChannel],
    ) -> Result<OtpSent, ResidentError> {
        self.send_otp(call, &Requester::Resident, id, transaction_id, channels).await
    }

    async fn authenticate_otp(
        &self,
        call: &IdaCall<'_>,
        id: &IndividualId,
        transaction_id: &str,
        otp: &str,
    ) -> Result<Result<(), AuthFailure>, ResidentError> {
        if !crate::otp::valid_transaction_id(transaction_id) {
            return Err(ResidentError::Ida("IDA-MLC-009", "Invalid Input Parameter - transactionID".into()));
        }
        let who = self.active(id, call).await?;
        let result = self.check_otp(call, &Requester::Resident, &who, id, transaction_id, otp).await?;
        Ok(result.map_err(|r| AuthFailure { code: r.ida_code().into(), message: r.message(&self.policy) }))
    }

    async fn auth_transactions(
        &self,
        _call: &IdaCall<'_>,
        who: &Resolved,
        _id: &IndividualId,
        page_start: u32,
        page_fetch: u32,
    ) -> Result<Vec<AuthTransaction>, ResidentError> {
        Ok(self.repo.auth_transactions(&who.token, page_start, page_fetch).await?)
    }
}
