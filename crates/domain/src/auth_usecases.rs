//! Resident authentication use cases: OTP request and validation through ID Authentication (the
//! [`IdAuthentication`] port), VIDs, auth-type locks and authentication history. Each commits its
//! change with its audit record, notifications and service-history event (`Effects`).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::audit::{AuditContext, AuditRecord};
use crate::authtype::{AuthType, LockState};
use crate::clock::{epoch_ms, rng};
use crate::error::ResidentError;
use crate::history::{EventId, RequestType, ServiceEvent};
use crate::ida::{AuthFailure, IdAuthentication, IdaCall, OtpSent};
use crate::idrepo::IdRepository;
use crate::ids::{IndividualId, Vid};
use crate::notification::{OutgoingMessage, Templates, notified_message};
use crate::otp::{OtpChannel, OtpPolicy, OtpRefusal};
use crate::ports::{AuthTransaction, Effects, EffectsStore, Resolved};
use crate::vid::VidPolicy;

pub use crate::ida::embedded::SELF_ENTITY;

/// What the use cases share for one request.
pub struct AuthContext<'a> {
    /// The resident side's own records (history, notices, audit) that go with each answer.
    pub repo: &'a dyn EffectsStore,
    /// Partners (relying parties, credential partners) as partner management registered them.
    pub partners: &'a dyn crate::ports::PartnerRecords,
    /// ID Authentication: OTPs, their checks, authentication transactions.
    pub ida: &'a dyn IdAuthentication,
    /// The ID Repository: identities, VIDs, auth-type locks.
    pub idrepo: &'a dyn IdRepository,
    /// The key manager: signs the credential on a resident's card.
    pub keys: &'a dyn crate::keymanager::KeyManager,
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

fn ida_call<'a>(ctx: &'a AuthContext<'_>) -> IdaCall<'a> {
    IdaCall { audit: ctx.audit, now: ctx.now }
}

/// The identity an id names, from the ID Repository; when the repository could not answer, the
/// failure is recorded (`failed` makes its effects) before the error goes back.
async fn looked_up(
    ctx: &AuthContext<'_>,
    id: &IndividualId,
    failed: &(dyn Fn(String) -> Effects + Sync),
) -> Result<Option<Resolved>, ResidentError> {
    match ctx.idrepo.identity(id, ctx.now).await {
        Ok(found) => Ok(found),
        Err(e) => {
            ctx.repo.record_effects(&failed(format!("{} {}", e.code(), e.message())), ctx.now).await?;
            Err(e)
        }
    }
}

/// `POST /req/otp`: asks IDA to send an OTP to the identity's email and/or phone, and records the
/// request in the resident's history (and its refusal in the audit trail).
pub async fn request_otp(
    ctx: &AuthContext<'_>,
    individual_id: &IndividualId,
    transaction_id: &str,
    channels: &[OtpChannel],
) -> Result<OtpSent, ResidentError> {
    let masked = individual_id.masked();
    let kind = id_kind(individual_id);
    let failed = |description: String| Effects {
        audit: vec![record(ctx, "RES-SER-123", "OTP generation failed", Some(masked.clone()), kind, description)],
        ..Effects::default()
    };
    let Some(who) = looked_up(ctx, individual_id, &failed).await? else {
        ctx.repo.record_effects(&failed("IDA-MLC-018 identity not found".into()), ctx.now).await?;
        return Err(ResidentError::Ida("IDA-MLC-018", format!("{kind} not available in database")));
    };
    match ctx.ida.request_otp(&ida_call(ctx), individual_id, transaction_id, channels).await {
        Ok(sent) => {
            let sent_by = crate::otp::sent_by(channels);
            let effects = Effects {
                audit: vec![record(ctx, "RES-SER-122", "OTP generated", Some(masked.clone()), kind, sent_by.clone())],
                event: Some(ServiceEvent {
                    status_comment: Some(sent_by),
                    ..event(&who, RequestType::SendOtp, "OTP_REQUESTED", individual_id, transaction_id, ctx.now)
                }),
                ..Effects::default()
            };
            ctx.repo.record_effects(&effects, ctx.now).await?;
            Ok(sent)
        }
        Err(e) => {
            ctx.repo.record_effects(&failed(format!("{} {}", e.code(), e.message())), ctx.now).await?;
            Err(e)
        }
    }
}

/// Checks the OTP of an OTP-protected request with IDA and returns the identity it authorises. Only
/// an OTP the resident asked for (`/req/otp`, the portal) is accepted: one a partner asked for is
/// invalid here. IDA records every attempt as an authentication transaction the resident sees in
/// their history; resident services audit it.
pub async fn authorise_with_otp(
    ctx: &AuthContext<'_>,
    individual_id: &IndividualId,
    transaction_id: &str,
    otp: &str,
) -> Result<Resolved, ResidentError> {
    let masked = individual_id.masked();
    let kind = id_kind(individual_id);
    let refused = |description: String| Effects {
        audit: vec![record(ctx, "RES-SER-422", "OTP validation failed", Some(masked.clone()), kind, description)],
        ..Effects::default()
    };
    if !crate::otp::valid_transaction_id(transaction_id) {
        // No OTP was ever issued for such an id (`/req/otp` takes ten letters or digits only), so it is
        // refused before any lookup, as MOSIP's test cases expect (RES-SER-422), and the value itself
        // is written nowhere: it can be of any length and hold anything.
        ctx.repo.record_effects(&refused("transactionID is not ten letters or digits".into()), ctx.now).await?;
        return Err(ResidentError::OtpValidationFailed(OtpRefusal::NoSuchTransaction.message(ctx.otp_policy)));
    }
    let Some(who) = looked_up(ctx, individual_id, &refused).await? else {
        ctx.repo.record_effects(&refused("identity not found".into()), ctx.now).await?;
        return Err(ResidentError::OtpValidationFailed(format!("{kind} not available in database")));
    };
    let outcome = match ctx.ida.authenticate_otp(&ida_call(ctx), individual_id, transaction_id, otp).await {
        Ok(result) => result,
        // IDA's refusal of the request itself (a deactivated identity, …) is a failed validation
        Err(ResidentError::Ida(code, message)) => Err(AuthFailure { code: code.into(), message }),
        Err(e) => return Err(e),
    };
    match outcome {
        Ok(()) => {
            let audit = record(
                ctx,
                "RES-SER-209",
                "OTP validated",
                Some(masked.clone()),
                kind,
                format!("OTP check for transaction {transaction_id}: Y"),
            );
            ctx.repo.record_effects(&Effects { audit: vec![audit], ..Effects::default() }, ctx.now).await?;
            Ok(who)
        }
        Err(failure) => {
            let effects = refused(format!("OTP check for transaction {transaction_id}: {}", failure.code));
            ctx.repo.record_effects(&effects, ctx.now).await?;
            Err(ResidentError::OtpValidationFailed(failure.message))
        }
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

/// Audits a request the ID Repository did not carry out (no answer, or a failure of its own) and
/// returns the error. No history event and no notice: after a lost answer the change may still have
/// happened there, so the resident is told the error, not that nothing changed.
async fn unanswered(
    ctx: &AuthContext<'_>,
    subject: &Subject<'_>,
    kind: RequestType,
    error: ResidentError,
) -> Result<ResidentError, ResidentError> {
    let audit = record(
        ctx,
        error.code(),
        "Request failed",
        Some(subject.id.masked()),
        id_kind(subject.id),
        format!("{} {}: {}", kind.code(), error.code(), error.message()),
    );
    ctx.repo.record_effects(&Effects { audit: vec![audit], ..Effects::default() }, ctx.now).await?;
    Ok(error)
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

/// Asks the ID Repository for a VID of `vid_type` under the VID policy (a full Perpetual slot is
/// restored by revoking the newest), and tells the resident.
pub async fn generate_vid(
    ctx: &AuthContext<'_>,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    vid_type: &str,
) -> Result<Done<Vid>, ResidentError> {
    let Some((type_name, _)) = ctx.vid_policy.lookup(vid_type) else {
        return Err(ResidentError::invalid("vidType"));
    };
    let subject = Subject { who, id, trn };
    let vid = match ctx.idrepo.create_vid(who, type_name, ctx.now).await {
        Ok(vid) => vid,
        Err(e @ ResidentError::VidAlreadyPresent) => {
            let vars = BTreeMap::from([("vidType", type_name.to_owned())]);
            return Err(refuse(ctx, &subject, RequestType::GenerateVid, "RS_VIN_GEN_FAILURE", vars, e).await?);
        }
        Err(e) => return Err(unanswered(ctx, &subject, RequestType::GenerateVid, e).await?),
    };
    let ev = event(who, RequestType::GenerateVid, "VID_GENERATED", id, trn, ctx.now);
    let vars = BTreeMap::from([("vid", vid.masked()), ("vidType", type_name.to_owned())]);
    let audit = ("RES-SER-206", "VID generated", format!("{type_name} VID {} generated", vid.masked()));
    let (effects, message, event_id) = success(ctx, &subject, ev, "RS_VIN_GEN_SUCCESS", vars, audit);
    ctx.repo.record_effects(&effects, ctx.now).await?;
    Ok(Done { value: vid, message, event_id })
}

/// Revokes one of the identity's VIDs, whichever of its ids the resident proved (MOSIP 1.2.1: the UIN,
/// the VID itself or another VID). A VID that is not an active VID of this identity is RES-SER-412. A
/// revoked Perpetual VID is replaced automatically (policy, in the ID Repository).
pub async fn revoke_vid(
    ctx: &AuthContext<'_>,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    vid: &Vid,
) -> Result<Done<()>, ResidentError> {
    let subject = Subject { who, id, trn };
    match ctx.idrepo.revoke_vid(who, vid, ctx.now).await {
        Ok(()) => {}
        Err(e @ ResidentError::ApiResourceAccess) => {
            let vars = BTreeMap::from([("vid", vid.masked())]);
            return Err(refuse(ctx, &subject, RequestType::RevokeVid, "RS_VIN_REV_FAILURE", vars, e).await?);
        }
        Err(e) => return Err(unanswered(ctx, &subject, RequestType::RevokeVid, e).await?),
    }
    let ev = event(who, RequestType::RevokeVid, "VID_REVOKED", id, trn, ctx.now);
    let vars = BTreeMap::from([("vid", vid.masked())]);
    let audit = ("RES-SER-207", "VID revoked", format!("VID {} revoked", vid.masked()));
    let (effects, message, event_id) = success(ctx, &subject, ev, "RS_VIN_REV_SUCCESS", vars, audit);
    ctx.repo.record_effects(&effects, ctx.now).await?;
    Ok(Done { value: (), message, event_id })
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
    let now_ms = epoch_ms(ctx.now);
    let states: Vec<LockState> = changes
        .iter()
        .map(|c| {
            // a zero or negative duration is an unlock until locked again
            let seconds = c.unlock_for_seconds.filter(|s| *s > 0);
            LockState::from_wire(c.auth_type, c.lock, seconds, now_ms)
                .ok_or_else(|| ResidentError::invalid("unlockForSeconds"))
        })
        .collect::<Result<_, _>>()?;
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
    let subject = Subject { who, id, trn };
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
    if let Err(e) = ctx.idrepo.update_auth_type_status(who, &states, ctx.now).await {
        return Err(unanswered(ctx, &subject, RequestType::AuthTypeLockUnlock, e).await?);
    }
    ctx.repo.record_effects(&effects, ctx.now).await?;
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
    let items = ctx.ida.auth_transactions(&ida_call(ctx), who, id, page_start, page_fetch).await?;
    let ev = ServiceEvent {
        status_comment: Some("authentication history viewed".into()),
        ..event(who, RequestType::AuthenticationRequest, "COMPLETED", id, trn, ctx.now)
    };
    let audit = ("RES-SER-204", "Auth history viewed", format!("{} records", items.len()));
    let subject = Subject { who, id, trn };
    let (effects, message, event_id) = success(ctx, &subject, ev, "RS_AUTH_HIST_SUCCESS", BTreeMap::new(), audit);
    ctx.repo.record_effects(&effects, ctx.now).await?;
    Ok(Done { value: items, message, event_id })
}
