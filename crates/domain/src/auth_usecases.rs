//! Authentication use cases: OTP request and validation (embedded IDA), VIDs, auth-type locks and
//! authentication history. Each commits its change with its audit record, notifications and
//! service-history event (`Effects`).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::audit::{AuditContext, AuditRecord};
use crate::authtype::{AuthType, LockState};
use crate::clock::{epoch_ms, rng};
use crate::error::{ResidentError, StoreError};
use crate::history::{EventId, RequestType, ServiceEvent};
use crate::ids::{IndividualId, Vid};
use crate::notification::{Channel, OutgoingMessage, Templates, notified_message};
use crate::otp::{Otp, OtpChannel, OtpPolicy, OtpRefusal, Requester, mask_email, mask_mobile};
use crate::ports::{AuthRepository, AuthTransaction, DemoOutcome, Effects, NewOtp, OtpIssueRefusal, Resolved};
use crate::vid::{VidPolicy, VidRecord};

/// This service's name in authentication transactions (IDA's `entityName` for internal requests).
pub const SELF_ENTITY: &str = "resident-services";

/// What the use cases share for one request.
pub struct AuthContext<'a> {
    pub repo: &'a dyn AuthRepository,
    pub templates: &'a Templates,
    pub otp_policy: &'a OtpPolicy,
    pub vid_policy: &'a VidPolicy,
    pub audit: &'a AuditContext,
    pub now: OffsetDateTime,
}

pub(crate) fn record(
    ctx: &AuthContext<'_>,
    event_id: &str,
    name: &str,
    masked: Option<String>,
    kind: &str,
    description: String,
) -> AuditRecord {
    AuditRecord {
        event_id: event_id.into(),
        event_name: name.into(),
        event_type: "USER".into(),
        action_at: ctx.now,
        host_name: ctx.audit.host_name.clone(),
        host_ip: ctx.audit.host_ip.clone(),
        app_id: "10011".into(),
        app_name: "Resident portal".into(),
        session_user_id: ctx.audit.session_user.clone(),
        session_user_name: ctx.audit.session_user.clone(),
        module_id: "RES-SER".into(),
        module_name: "Residence service".into(),
        ref_id: masked,
        ref_id_type: Some(kind.into()),
        description,
        created_by: ctx.audit.session_user.clone(),
        request_id: ctx.audit.request_id.clone(),
    }
}

fn id_kind(id: &IndividualId) -> &'static str {
    id.id_type()
}

pub(crate) fn event(
    who: &Resolved,
    kind: RequestType,
    status: &str,
    id: &IndividualId,
    trn: &str,
    now: OffsetDateTime,
) -> ServiceEvent {
    ServiceEvent {
        event_id: EventId::generate(&mut rng()),
        token: who.token.clone(),
        request_type: kind,
        request_summary: format!("{} - {status}", kind.code()),
        status_code: status.into(),
        status_comment: None,
        request_trn_id: Some(trn.into()),
        ref_id_type: Some(id_kind(id).into()),
        ref_id: Some(id.masked()),
        lang_code: None,
        aid: None,
        requested_at: now,
        updated_at: now,
        read: false,
        pinned: false,
    }
}

/// Who a request is about: the identity, the id it was named by, and the transaction id.
pub(crate) struct Subject<'a> {
    pub(crate) who: &'a Resolved,
    pub(crate) id: &'a IndividualId,
    pub(crate) trn: &'a str,
    /// Who asked: this service, or a partner's name.
    pub(crate) entity: &'a str,
}

fn auth_txn(
    s: &Subject<'_>,
    code: &str,
    ok: bool,
    comment: &str,
    response: &str,
    now: OffsetDateTime,
) -> AuthTransaction {
    let (who, id, trn) = (s.who, s.id, s.trn);
    AuthTransaction {
        token: who.token.clone(),
        at: now,
        auth_type_code: code.into(),
        status_code: if ok { "Y".into() } else { "N".into() },
        status_comment: comment.into(),
        ref_id_type: id_kind(id).into(),
        entity_name: s.entity.into(),
        transaction_id: trn.into(),
        response_code: response.into(),
    }
}

/// Parses an `individualId` the IDA way: a UIN, else a VID.
pub fn parse_individual(value: &str) -> Result<IndividualId, ResidentError> {
    IndividualId::parse(value).ok_or_else(|| {
        if value.len() == Vid::LENGTH {
            ResidentError::Ida("IDA-MLC-004", "Invalid VID".into())
        } else {
            ResidentError::Ida("IDA-MLC-002", "Invalid UIN".into())
        }
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpSent {
    pub masked_email: Option<String>,
    pub masked_mobile: Option<String>,
}

/// A new OTP: random, or the configured fixed code (conformance runs, `development` profile only).
pub(crate) fn new_otp(policy: &crate::otp::OtpPolicy) -> Result<Otp, ResidentError> {
    match &policy.fixed_code {
        Some(code) => Otp::parse(code, policy.length)
            .ok_or_else(|| ResidentError::Internal("otp.fixed_code has the wrong length".into())),
        None => Ok(Otp::generate(&mut rng(), policy.length)),
    }
}

/// `POST /req/otp`: sends an OTP to the identity's email and/or phone.
pub async fn request_otp(
    ctx: &AuthContext<'_>,
    individual_id: &IndividualId,
    transaction_id: &str,
    channels: &[OtpChannel],
) -> Result<OtpSent, ResidentError> {
    request_otp_as(ctx, &Requester::Resident, individual_id, transaction_id, channels).await
}

/// Sends an OTP on behalf of `requester` (this service, or a relying party); it works for that
/// requester only. A partner cannot send an OTP through a channel the resident has locked, and its
/// message names the partner, so the resident can tell a bank's code from one for their own account.
pub async fn request_otp_as(
    ctx: &AuthContext<'_>,
    requester_of: &Requester,
    individual_id: &IndividualId,
    transaction_id: &str,
    channels: &[OtpChannel],
) -> Result<OtpSent, ResidentError> {
    let requester = match requester_of {
        Requester::Resident => SELF_ENTITY,
        Requester::Partner { name, .. } => name.as_str(),
    };
    let masked = individual_id.masked();
    let kind = id_kind(individual_id);
    let Some(who) = ctx.repo.resolve(individual_id, ctx.now).await? else {
        ctx.repo
            .record_effects(
                &Effects {
                    audit: vec![record(
                        ctx,
                        "RES-SER-123",
                        "OTP generation failed",
                        Some(masked),
                        kind,
                        "IDA-MLC-018 identity not found".into(),
                    )],
                    ..Effects::default()
                },
                ctx.now,
            )
            .await?;
        return Err(ResidentError::Ida("IDA-MLC-018", format!("{kind} not available in database")));
    };
    if who.status != "ACTIVATED" {
        return Err(ResidentError::Ida("IDA-MLC-022", format!("{kind} is deactivated/blocked")));
    }
    if matches!(requester_of, Requester::Partner { .. }) {
        let states = ctx.repo.lock_states(&who.identity_id).await?;
        let now_ms = epoch_ms(ctx.now);
        for c in channels {
            let t = match c {
                OtpChannel::Email => AuthType::OtpEmail,
                OtpChannel::Phone => AuthType::OtpPhone,
            };
            if states.iter().any(|s| s.auth_type == t && s.locked_at(now_ms)) {
                return Err(ResidentError::Ida("IDA-MLC-019", format!("{} Auth Type is Locked for the UIN", t.code())));
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
    let otp = new_otp(ctx.otp_policy)?;
    let mut vars = ctx.templates.stamp(ctx.now);
    vars.insert("otp", otp.expose().to_owned());
    vars.insert("validMinutes", (ctx.otp_policy.validity_seconds / 60).max(1).to_string());
    let template = match requester_of {
        Requester::Resident => "OTP",
        Requester::Partner { name, .. } => {
            vars.insert("partnerName", name.clone());
            "PARTNER_OTP"
        }
    };
    // a mail that arrives after its OTP expired is never sent (a worker may be down meanwhile)
    let expires = crate::clock::epoch_ms(ctx.now) + ctx.otp_policy.validity_seconds * 1000;
    let messages: Vec<OutgoingMessage> = ctx
        .templates
        .messages(template, &who.identity, &vars)
        .into_iter()
        .filter(|m| match m.channel {
            Channel::Email => channels.contains(&OtpChannel::Email),
            Channel::Sms => channels.contains(&OtpChannel::Phone),
        })
        .map(|m| OutgoingMessage { not_after: Some(expires), ..m })
        .collect();
    let channel_names: Vec<&str> = channels.iter().map(|c| c.code()).collect();
    let effects = Effects {
        audit: vec![record(
            ctx,
            "RES-SER-122",
            "OTP generated",
            Some(masked.clone()),
            kind,
            format!("OTP sent by {}", channel_names.join(",")),
        )],
        notifications: messages,
        event: Some(ServiceEvent {
            status_comment: Some(format!("OTP sent by {}", channel_names.join(","))),
            ..event(&who, RequestType::SendOtp, "OTP_REQUESTED", individual_id, transaction_id, ctx.now)
        }),
        auth_transactions: vec![auth_txn(
            &Subject { who: &who, id: individual_id, trn: transaction_id, entity: requester },
            "OTP-REQUEST",
            true,
            "OTP Request Success",
            "Y",
            ctx.now,
        )],
        accesses: vec![],
    };
    let new = NewOtp {
        requester: requester_of.key(),
        transaction_id: transaction_id.to_owned(),
        otp,
        channels: channels.to_vec(),
    };
    match ctx.repo.issue_otp(&who, &new, ctx.otp_policy, &effects, ctx.now).await? {
        Ok(()) => Ok(OtpSent {
            masked_email: channels.contains(&OtpChannel::Email).then(|| email.map(mask_email)).flatten(),
            masked_mobile: channels.contains(&OtpChannel::Phone).then(|| phone.map(mask_mobile)).flatten(),
        }),
        Err(refusal) => {
            let (code, message) = match refusal {
                OtpIssueRefusal::Flooded => ("IDA-OTA-001", "Innumerous OTP requests received".to_owned()),
                OtpIssueRefusal::Frozen => ("IDA-OTA-013", OtpRefusal::Frozen { until_ms: 0 }.message(ctx.otp_policy)),
            };
            ctx.repo
                .record_effects(
                    &Effects {
                        audit: vec![record(
                            ctx,
                            "RES-SER-123",
                            "OTP generation failed",
                            Some(masked),
                            kind,
                            format!("{code} {message}"),
                        )],
                        auth_transactions: vec![auth_txn(
                            &Subject { who: &who, id: individual_id, trn: transaction_id, entity: requester },
                            "OTP-REQUEST",
                            false,
                            "OTP Request Failed",
                            code,
                            ctx.now,
                        )],
                        ..Effects::default()
                    },
                    ctx.now,
                )
                .await?;
            Err(ResidentError::Ida(code, message))
        }
    }
}

/// Checks the OTP of an OTP-protected request and returns the identity it authorises. Only an OTP the
/// resident asked for (`/req/otp`, the portal) is accepted: one a partner asked for is invalid here.
/// Every attempt is an authentication transaction the resident sees in their history.
pub async fn authorise_with_otp(
    ctx: &AuthContext<'_>,
    individual_id: &IndividualId,
    transaction_id: &str,
    otp: &str,
) -> Result<Resolved, ResidentError> {
    let requester = SELF_ENTITY;
    let masked = individual_id.masked();
    let kind = id_kind(individual_id);
    if !crate::otp::valid_transaction_id(transaction_id) {
        // No OTP was ever issued for such an id (`/req/otp` takes ten letters or digits only), so it is
        // refused before any lookup, as MOSIP's test cases expect (RES-SER-422), and the value itself
        // is written nowhere: it can be of any length and hold anything.
        let audit = record(
            ctx,
            "RES-SER-422",
            "OTP validation failed",
            Some(masked),
            kind,
            "transactionID is not ten letters or digits".into(),
        );
        ctx.repo.record_effects(&Effects { audit: vec![audit], ..Effects::default() }, ctx.now).await?;
        return Err(ResidentError::OtpValidationFailed(OtpRefusal::NoSuchTransaction.message(ctx.otp_policy)));
    }
    let Some(who) = ctx.repo.resolve(individual_id, ctx.now).await? else {
        let audit =
            record(ctx, "RES-SER-422", "OTP validation failed", Some(masked), kind, "identity not found".into());
        ctx.repo.record_effects(&Effects { audit: vec![audit], ..Effects::default() }, ctx.now).await?;
        return Err(ResidentError::OtpValidationFailed(format!("{kind} not available in database")));
    };
    let effects_for = |result: Result<(), OtpRefusal>| {
        let (ok, comment, response, audit_id, audit_name) = match result {
            Ok(()) => (true, "OTP Authentication Success", "Y", "RES-SER-209", "OTP validated"),
            Err(r) => (false, "OTP Authentication Failed", r.ida_code(), "RES-SER-422", "OTP validation failed"),
        };
        Effects {
            audit: vec![record(
                ctx,
                audit_id,
                audit_name,
                Some(masked.clone()),
                kind,
                format!("OTP check for transaction {transaction_id}: {response}"),
            )],
            auth_transactions: vec![auth_txn(
                &Subject { who: &who, id: individual_id, trn: transaction_id, entity: requester },
                "OTP-AUTH",
                ok,
                comment,
                response,
                ctx.now,
            )],
            ..Effects::default()
        }
    };
    let refusal = match Otp::parse(otp, ctx.otp_policy.length) {
        None => {
            let result = Err(OtpRefusal::Invalid);
            ctx.repo.record_effects(&effects_for(result), ctx.now).await?;
            Some(OtpRefusal::Invalid)
        }
        Some(otp) => ctx
            .repo
            .verify_otp(&who, &Requester::Resident.key(), transaction_id, &otp, ctx.otp_policy, ctx.now, &effects_for)
            .await?
            .err(),
    };
    match refusal {
        None => Ok(who),
        Some(r) => Err(ResidentError::OtpValidationFailed(r.message(ctx.otp_policy))),
    }
}

/// The outcome of a resident action: the response message (which channels were notified) and the
/// service-history event id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done<T> {
    pub value: T,
    pub message: String,
    pub event_id: EventId,
}

fn notify(ctx: &AuthContext<'_>, who: &Resolved, code: &str, vars: BTreeMap<&str, String>) -> Vec<OutgoingMessage> {
    let mut all = ctx.templates.stamp(ctx.now);
    all.extend(vars);
    ctx.templates.messages(code, &who.identity, &all)
}

/// The effects of a successful action: its history event, the notification `template` (given
/// `$eventId`), and one audit record. Returns them with the response message and the event id.
pub(crate) fn success(
    ctx: &AuthContext<'_>,
    subject: &Subject<'_>,
    ev: ServiceEvent,
    template: &str,
    mut vars: BTreeMap<&str, String>,
    audit: (&str, &str, String),
) -> (Effects, String, EventId) {
    vars.insert("eventId", ev.event_id.to_string());
    let messages = notify(ctx, subject.who, template, vars);
    let message = notified_message(&messages).to_owned();
    let event_id = ev.event_id.clone();
    let (audit_id, audit_name, description) = audit;
    let effects = Effects {
        audit: vec![record(ctx, audit_id, audit_name, Some(subject.id.masked()), id_kind(subject.id), description)],
        notifications: messages,
        event: Some(ev),
        auth_transactions: vec![],
        accesses: vec![],
    };
    (effects, message, event_id)
}

/// Tells the resident a request failed (notification, audit, history) and returns the error.
pub(crate) async fn refuse(
    ctx: &AuthContext<'_>,
    subject: &Subject<'_>,
    kind: RequestType,
    template: &str,
    mut vars: BTreeMap<&str, String>,
    error: ResidentError,
) -> Result<ResidentError, ResidentError> {
    let (who, id, trn) = (subject.who, subject.id, subject.trn);
    let ev = event(who, kind, "FAILED", id, trn, ctx.now);
    vars.insert("eventId", ev.event_id.to_string());
    vars.insert("reason", error.message());
    let effects = Effects {
        audit: vec![record(
            ctx,
            error.code(),
            "Request failed",
            Some(id.masked()),
            id_kind(id),
            format!("{} {}: {}", kind.code(), error.code(), error.message()),
        )],
        notifications: notify(ctx, who, template, vars),
        event: Some(ServiceEvent { status_comment: Some(error.message()), ..ev }),
        auth_transactions: vec![],
        accesses: vec![],
    };
    ctx.repo.record_effects(&effects, ctx.now).await?;
    Ok(error)
}

/// Creates a VID of `vid_type` under the policy (a full Perpetual slot is restored by revoking the newest).
pub async fn generate_vid(
    ctx: &AuthContext<'_>,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    vid_type: &str,
) -> Result<Done<Vid>, ResidentError> {
    let Some((type_name, policy)) = ctx.vid_policy.lookup(vid_type) else {
        return Err(ResidentError::invalid("vidType"));
    };
    let active: Vec<VidRecord> =
        ctx.repo.vids(&who.identity_id, ctx.now).await?.into_iter().filter(|v| v.vid_type == type_name).collect();
    let mut retire = Vec::new();
    if active.len() as i64 >= policy.instances_allowed {
        if policy.auto_restore_allowed
            && policy.restore_on_action == "REVOKED"
            && let Some(newest) = active.first()
        {
            retire.push(newest.vid.clone());
        } else {
            let vars = BTreeMap::from([("vidType", type_name.to_owned())]);
            return Err(refuse(
                ctx,
                &Subject { who, id, trn, entity: SELF_ENTITY },
                RequestType::GenerateVid,
                "RS_VIN_GEN_FAILURE",
                vars,
                ResidentError::VidAlreadyPresent,
            )
            .await?);
        }
    }
    // a fresh VID that no identity has (collisions are astronomically rare; the store's key guards anyway)
    let mut vid = Vid::generate(&mut rng());
    for _ in 0..8 {
        if ctx.repo.vid_record(&vid).await?.is_none() {
            break;
        }
        vid = Vid::generate(&mut rng());
    }
    let record_v = VidRecord::issue(vid.clone(), type_name, policy, ctx.now);
    let ev = event(who, RequestType::GenerateVid, "VID_GENERATED", id, trn, ctx.now);
    let vars = BTreeMap::from([("vid", vid.masked()), ("vidType", type_name.to_owned())]);
    let audit = ("RES-SER-206", "VID generated", format!("{type_name} VID {} generated", vid.masked()));
    let subject = Subject { who, id, trn, entity: SELF_ENTITY };
    let (effects, message, event_id) = success(ctx, &subject, ev, "RS_VIN_GEN_SUCCESS", vars, audit);
    match ctx.repo.create_vid(who, &record_v, &retire, &effects, ctx.now).await {
        Ok(()) => Ok(Done { value: vid, message, event_id }),
        Err(StoreError::Conflict(_)) => Err(ResidentError::VidCreationFailed),
        Err(e) => Err(e.into()),
    }
}

/// Revokes one of the identity's VIDs, whichever of its ids the resident proved (MOSIP 1.2.1: the UIN,
/// the VID itself or another VID). A VID that is not an active VID of this identity is RES-SER-412. A
/// revoked Perpetual VID is replaced automatically (policy).
pub async fn revoke_vid(
    ctx: &AuthContext<'_>,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    vid: &Vid,
) -> Result<Done<()>, ResidentError> {
    let owned = ctx.repo.vid_record(vid).await?.filter(|(identity, _)| *identity == who.identity_id);
    let Some((_, existing)) = owned.filter(|(_, r)| r.status == "ACTIVE" || r.status == "USED") else {
        let vars = BTreeMap::from([("vid", vid.masked())]);
        return Err(refuse(
            ctx,
            &Subject { who, id, trn, entity: SELF_ENTITY },
            RequestType::RevokeVid,
            "RS_VIN_REV_FAILURE",
            vars,
            ResidentError::ApiResourceAccess,
        )
        .await?);
    };
    let replacement = ctx
        .vid_policy
        .lookup(&existing.vid_type)
        .filter(|(_, p)| p.auto_restore_allowed && p.restore_on_action == "REVOKED")
        .map(|(name, p)| VidRecord::issue(Vid::generate(&mut rng()), name, p, ctx.now));
    let ev = event(who, RequestType::RevokeVid, "VID_REVOKED", id, trn, ctx.now);
    let vars = BTreeMap::from([("vid", vid.masked())]);
    let audit = ("RES-SER-207", "VID revoked", format!("VID {} revoked", vid.masked()));
    let subject = Subject { who, id, trn, entity: SELF_ENTITY };
    let (effects, message, event_id) = success(ctx, &subject, ev, "RS_VIN_REV_SUCCESS", vars, audit);
    match ctx.repo.set_vid_status(who, vid, "REVOKED", replacement.as_ref(), &effects, ctx.now).await {
        Ok(()) => Ok(Done { value: (), message, event_id }),
        Err(StoreError::Conflict(_)) => Err(ResidentError::VidRevocationFailed),
        Err(e) => Err(e.into()),
    }
}

/// One change of an auth type: lock it, or unlock it for `unlock_for_seconds` (when positive; else
/// until it is locked again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockChange {
    pub auth_type: AuthType,
    pub lock: bool,
    pub unlock_for_seconds: Option<i64>,
}

/// Locks, or unlocks (for `unlock_for_seconds` when positive, else until locked again), auth types.
pub async fn set_auth_locks(
    ctx: &AuthContext<'_>,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    types: &[AuthType],
    lock: bool,
    unlock_for_seconds: Option<i64>,
) -> Result<Done<()>, ResidentError> {
    let changes: Vec<LockChange> =
        types.iter().map(|t| LockChange { auth_type: *t, lock, unlock_for_seconds }).collect();
    change_auth_locks(ctx, who, id, trn, &changes).await
}

/// Locks some auth types and unlocks others in one request (MOSIP 1.2.1's `auth-lock-unlock`): one
/// history event, one audit record, and the resident told of what was locked and what unlocked.
pub async fn change_auth_locks(
    ctx: &AuthContext<'_>,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    changes: &[LockChange],
) -> Result<Done<()>, ResidentError> {
    if changes.is_empty() {
        return Err(ResidentError::invalid("authTypes"));
    }
    let until =
        |c: &LockChange| c.unlock_for_seconds.filter(|s| *s > 0 && !c.lock).map(|s| epoch_ms(ctx.now) + s * 1000);
    let states: Vec<LockState> = changes
        .iter()
        .map(|c| LockState { auth_type: c.auth_type, locked: c.lock || until(c).is_some(), unlock_until_ms: until(c) })
        .collect();
    let names =
        |lock: bool| -> Vec<&str> { changes.iter().filter(|c| c.lock == lock).map(|c| c.auth_type.code()).collect() };
    let (locked, unlocked) = (names(true), names(false));
    let all: Vec<&str> = changes.iter().map(|c| c.auth_type.code()).collect();
    let status = match (locked.is_empty(), unlocked.is_empty()) {
        (false, true) => "LOCKED",
        (true, false) => "UNLOCKED",
        _ => "AUTHENTICATION_TYPE_UPDATED",
    };
    let ev = ServiceEvent {
        status_comment: Some(all.join(",")),
        ..event(who, RequestType::AuthTypeLockUnlock, status, id, trn, ctx.now)
    };
    // one duration is told: the unlocks of one request share it in both front ends
    let seconds = changes.iter().find(|c| !c.lock).and_then(|c| c.unlock_for_seconds).filter(|s| *s > 0);
    let until_text = seconds.map(|s| format!(" for {s} seconds")).unwrap_or_default();
    let (audit_id, audit_name) = match status {
        "LOCKED" => ("RES-SER-202", "Auth types locked"),
        "UNLOCKED" => ("RES-SER-203", "Auth types unlocked"),
        _ => ("RES-SER-202", "Auth types locked and unlocked"),
    };
    let shown = seconds.map(|s| format!(" ({s} s)")).unwrap_or_default();
    let audit = (audit_id, audit_name, format!("{status}: {}{shown}", all.join(",")));
    let subject = Subject { who, id, trn, entity: SELF_ENTITY };
    let (template, listed) =
        if locked.is_empty() { ("RS_UNLOCK_AUTH_SUCCESS", &unlocked) } else { ("RS_LOCK_AUTH_SUCCESS", &locked) };
    let vars = BTreeMap::from([("authTypes", listed.join(", ")), ("unlockUntil", until_text.clone())]);
    let (mut effects, message, event_id) = success(ctx, &subject, ev, template, vars, audit);
    if !locked.is_empty() && !unlocked.is_empty() {
        let vars = BTreeMap::from([
            ("authTypes", unlocked.join(", ")),
            ("unlockUntil", until_text),
            ("eventId", event_id.to_string()),
        ]);
        effects.notifications.extend(notify(ctx, who, "RS_UNLOCK_AUTH_SUCCESS", vars));
    }
    ctx.repo.set_locks(&who.identity_id, &states, &effects, ctx.now).await?;
    Ok(Done { value: (), message, event_id })
}

/// The identity's authentication history, newest first (`page_start` from 1).
pub async fn auth_history(
    ctx: &AuthContext<'_>,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    page_start: u32,
    page_fetch: u32,
) -> Result<Done<Vec<AuthTransaction>>, ResidentError> {
    let items = ctx.repo.auth_transactions(&who.token, page_start, page_fetch).await?;
    let ev = ServiceEvent {
        status_comment: Some("authentication history viewed".into()),
        ..event(who, RequestType::AuthenticationRequest, "COMPLETED", id, trn, ctx.now)
    };
    let audit = ("RES-SER-204", "Auth history viewed", format!("{} records", items.len()));
    let subject = Subject { who, id, trn, entity: SELF_ENTITY };
    let (effects, message, event_id) = success(ctx, &subject, ev, "RS_AUTH_HIST_SUCCESS", BTreeMap::new(), audit);
    ctx.repo.record_effects(&effects, ctx.now).await?;
    Ok(Done { value: items, message, event_id })
}

/// Demographic attributes a relying party presents (IDA's `demographics`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demographics {
    pub name: Option<String>,
    pub dob: Option<String>,
    pub gender: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The attributes a partner's demographic policy can require, in IDA's request spelling.
pub const DEMO_ATTRIBUTES: [&str; 5] = ["name", "dob", "gender", "phoneNumber", "emailId"];

/// The identity field an IDA demographic attribute is compared with.
fn identity_field(attribute: &str) -> &str {
    match attribute {
        "name" => "fullName",
        "dob" => "dateOfBirth",
        "phoneNumber" => "phone",
        "emailId" => "email",
        other => other,
    }
}

/// What a partner must present and match when the operator set no policy for it: gender or a phone
/// number alone says little about who someone is.
pub const DEFAULT_DEMO_POLICY: [&str; 2] = ["name", "dob"];

/// The longest demographic value looked at (a full name in any script fits): longer ones are refused
/// before any comparison.
pub const MAX_DEMO_VALUE_CHARS: usize = 256;

impl Demographics {
    pub fn is_empty(&self) -> bool {
        self.presented().is_empty()
    }

    /// The attributes present, in IDA's spelling.
    pub fn presented(&self) -> Vec<&'static str> {
        let all = [&self.name, &self.dob, &self.gender, &self.phone, &self.email];
        DEMO_ATTRIBUTES.iter().zip(all).filter(|(_, v)| v.is_some()).map(|(k, _)| *k).collect()
    }

    fn too_long(&self) -> bool {
        [&self.name, &self.dob, &self.gender, &self.phone, &self.email]
            .iter()
            .any(|v| v.as_ref().is_some_and(|v| v.chars().count() > MAX_DEMO_VALUE_CHARS))
    }
}

/// A partner's demographic policy: the attributes, each one of [`DEMO_ATTRIBUTES`], deduplicated.
pub fn parse_demo_policy(list: &[String]) -> Result<Vec<String>, ResidentError> {
    let mut out: Vec<String> = Vec::new();
    for a in list {
        let a = a.trim();
        let known = DEMO_ATTRIBUTES.iter().find(|k| k.eq_ignore_ascii_case(a));
        let Some(k) = known else { return Err(ResidentError::invalid("attributes")) };
        if !out.iter().any(|o| o == k) {
            out.push((*k).to_owned());
        }
    }
    if out.is_empty() {
        return Err(ResidentError::invalid("attributes"));
    }
    Ok(out)
}

/// A relying party's authentication request.
#[derive(Debug, Clone)]
pub struct PartnerAuth {
    pub individual_id: IndividualId,
    pub transaction_id: String,
    pub demographics: Option<Demographics>,
    pub otp: Option<String>,
}

/// IDA's answer: `authStatus`, with the reasons when it is false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthOutcome {
    pub auth_status: bool,
    pub errors: Vec<(&'static str, String)>,
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Whether every presented attribute matches the identity. Which one did not is never told: a
/// partner told "dob did not match" could search a date of birth.
fn demo_matches(who: &Resolved, d: &Demographics) -> bool {
    let id = &who.identity;
    let any_lang = |field: &str, want: &str| {
        id.0.get(field).and_then(|v| v.as_array()).is_some_and(|items| {
            items.iter().any(|i| i.get("value").and_then(|v| v.as_str()).is_some_and(|v| norm(v) == norm(want)))
        })
    };
    d.name.as_ref().is_none_or(|n| any_lang("fullName", n))
        && d.gender.as_ref().is_none_or(|g| any_lang("gender", g))
        && d.dob.as_ref().is_none_or(|dob| id.text("dateOfBirth") == Some(dob.as_str()))
        && d.phone.as_ref().is_none_or(|p| id.text("phone") == Some(p.as_str()))
        && d.email.as_ref().is_none_or(|e| id.text("email").map(str::to_lowercase) == Some(e.to_lowercase()))
}

/// IDA's answer to a demographic mismatch: the same whichever attribute it was.
pub const DEMO_MISMATCH: &str = "Demographic data did not match";

/// Authenticates a resident for a relying party: demographic match (the attributes of the partner's
/// policy, at least) and/or an OTP that this partner asked for, refused when the type is locked.
/// Demographic failures per identity and partner freeze like OTP failures. Every attempt is an
/// authentication transaction the resident sees in their history.
pub async fn relying_party_authenticate(
    ctx: &AuthContext<'_>,
    partner: &crate::ports::Partner,
    cmd: &PartnerAuth,
) -> Result<AuthOutcome, ResidentError> {
    let id = &cmd.individual_id;
    let demo = cmd.demographics.as_ref().filter(|d| !d.is_empty());
    if demo.is_none() && cmd.otp.is_none() {
        return Err(ResidentError::Ida("IDA-MLC-008", "No authentication type selected".into()));
    }
    if let Some(d) = demo {
        if d.too_long() {
            return Err(ResidentError::Ida("IDA-MLC-009", "Invalid Input Parameter - demographics".into()));
        }
        let required = match ctx.repo.demo_policy(&partner.id).await? {
            Some(list) => list,
            None => DEFAULT_DEMO_POLICY.iter().map(|s| (*s).to_owned()).collect(),
        };
        let presented = d.presented();
        if let Some(missing) = required.iter().find(|r| !presented.contains(&r.as_str())) {
            return Err(ResidentError::Ida("IDA-MLC-006", format!("Missing Input Parameter - demographics/{missing}")));
        }
    }
    let Some(who) = ctx.repo.resolve(id, ctx.now).await? else {
        return Err(ResidentError::Ida("IDA-MLC-018", format!("{} not available in database", id.id_type())));
    };
    if who.status != "ACTIVATED" {
        return Err(ResidentError::Ida("IDA-MLC-022", format!("{} is deactivated/blocked", id.id_type())));
    }
    let mut codes = Vec::new();
    if demo.is_some() {
        codes.push("DEMO-AUTH");
    }
    if cmd.otp.is_some() {
        codes.push("OTP-AUTH");
    }
    let states = ctx.repo.lock_states(&who.identity_id).await?;
    let now_ms = epoch_ms(ctx.now);
    let locked = |t: AuthType| states.iter().any(|s| s.auth_type == t && s.locked_at(now_ms));
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    if demo.is_some() && locked(AuthType::Demo) {
        errors.push(("IDA-MLC-019", "demo Auth Type is Locked for the UIN".into()));
    }
    if cmd.otp.is_some() && locked(AuthType::OtpEmail) && locked(AuthType::OtpPhone) {
        errors.push(("IDA-MLC-019", "otp Auth Type is Locked for the UIN".into()));
    }
    // the identity attributes a demographic match compared: a read the resident sees
    let mut compared: Vec<String> = Vec::new();
    if errors.is_empty() {
        if let Some(d) = demo {
            let outcome =
                ctx.repo.demo_attempt(&who, &partner.id, demo_matches(&who, d), ctx.otp_policy, ctx.now).await?;
            if !matches!(outcome, DemoOutcome::Frozen { .. }) {
                compared = d.presented().iter().map(|a| identity_field(a).to_owned()).collect();
            }
            match outcome {
                DemoOutcome::Matched => {}
                DemoOutcome::Mismatch => errors.push(("IDA-DEA-001", DEMO_MISMATCH.into())),
                DemoOutcome::Frozen { .. } => errors.push((
                    "IDA-DEA-013",
                    format!(
                        "Demographic authentication of this individual by this partner is suspended for the day after {} failed attempts",
                        ctx.otp_policy.max_failed_attempts
                    ),
                )),
            }
        }
        if let Some(otp) = &cmd.otp {
            let requester = Requester::Partner { id: partner.id.clone(), name: partner.name.clone() };
            let refusal = match Otp::parse(otp, ctx.otp_policy.length) {
                None => Some(OtpRefusal::Invalid),
                Some(o) => ctx
                    .repo
                    .verify_otp(&who, &requester.key(), &cmd.transaction_id, &o, ctx.otp_policy, ctx.now, &|_| {
                        Effects::default()
                    })
                    .await?
                    .err(),
            };
            if let Some(r) = refusal {
                errors.push((r.ida_code(), r.message(ctx.otp_policy)));
            }
        }
    }
    let ok = errors.is_empty();
    let messages: Vec<&str> = codes
        .iter()
        .map(|c| match *c {
            "DEMO-AUTH" => "Demo Authentication",
            _ => "OTP Authentication",
        })
        .collect();
    let comment = format!("{} {}", messages.join(";"), if ok { "Success" } else { "Failed" });
    let subject = Subject { who: &who, id, trn: &cmd.transaction_id, entity: &partner.name };
    let response = errors.first().map(|(c, _)| *c).unwrap_or("Y");
    let effects = Effects {
        audit: vec![AuditRecord {
            event_id: if ok { "IDA-AUT-001".into() } else { "IDA-AUT-002".into() },
            event_name: if ok { "Authentication success".into() } else { "Authentication failed".into() },
            module_id: "IDA".into(),
            module_name: "ID Authentication".into(),
            ..record(
                ctx,
                "",
                "",
                Some(id.masked()),
                id.id_type(),
                format!("{} for partner {}: {response}", codes.join(","), partner.id),
            )
        }],
        auth_transactions: vec![auth_txn(&subject, &codes.join(","), ok, &comment, response, ctx.now)],
        accesses: if compared.is_empty() {
            Vec::new()
        } else {
            vec![crate::access::DataAccess::new(
                who.token.clone(),
                crate::access::Accessor::partner(partner),
                compared,
                crate::access::Purpose::Authentication { transaction_id: cmd.transaction_id.clone() },
                crate::access::Channel::Api,
                ctx.now,
            )]
        },
        ..Effects::default()
    };
    ctx.repo.record_effects(&effects, ctx.now).await?;
    Ok(AuthOutcome { auth_status: ok, errors })
}
