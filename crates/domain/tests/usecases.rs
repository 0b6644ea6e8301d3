#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Resident use cases against in-memory platform services (the test kit's fakes): what each one asks
//! of ID Authentication and the ID Repository, and what it records itself, with no database. The
//! resident side's store here keeps only effects: a use case that reached past the service ports into
//! IDA's or the registry's storage would fail.

use resident_domain::ResidentError;
use resident_domain::audit::AuditContext;
use resident_domain::auth_usecases::{self as uc, AuthContext, LockChange};
use resident_domain::authtype::AuthType;
use resident_domain::ids::IndividualId;
use resident_domain::notification::Templates;
use resident_domain::otp::{OtpChannel, OtpPolicy};
use resident_domain::vid::VidPolicy;
use resident_testkit::fakes::{EffectsLog, FakeIdRepository, FakeIda, FakeKeys, FakePartners, resident};
use resident_testkit::t0;

const JANE: &str = "5075291708";

struct World {
    ida: FakeIda,
    idrepo: FakeIdRepository,
    log: EffectsLog,
    partners: FakePartners,
    keys: FakeKeys,
    templates: Templates,
    otp: OtpPolicy,
    vids: VidPolicy,
    audit: AuditContext,
}

impl World {
    fn new(max_vids: usize) -> Self {
        let jane = resident(JANE, "Jane Doe", "jane.doe@example.org", "9876543210");
        World {
            ida: FakeIda::knowing(vec![jane.clone()]),
            idrepo: FakeIdRepository::knowing(vec![jane], max_vids),
            log: EffectsLog::default(),
            partners: FakePartners::default(),
            keys: FakeKeys::default(),
            templates: Templates::default_templates(vec!["eng".into()]).unwrap(),
            otp: OtpPolicy::default(),
            vids: VidPolicy::default_policy().unwrap(),
            audit: AuditContext {
                host_name: "test".into(),
                host_ip: "127.0.0.1".into(),
                session_user: "resident".into(),
                request_id: None,
            },
        }
    }

    fn ctx(&self) -> AuthContext<'_> {
        AuthContext {
            repo: &self.log,
            partners: &self.partners,
            ida: &self.ida,
            idrepo: &self.idrepo,
            keys: &self.keys,
            templates: &self.templates,
            otp_policy: &self.otp,
            vid_policy: &self.vids,
            audit: &self.audit,
            now: t0(),
        }
    }

    /// An OTP asked for and authorised: the identity it opens.
    async fn authorised(&self, trn: &str) -> resident_domain::ports::Resolved {
        let id = jane();
        uc::request_otp(&self.ctx(), &id, trn, &[OtpChannel::Phone]).await.unwrap();
        let otp = self.ida.sent_otp(JANE, trn).unwrap();
        uc::authorise_with_otp(&self.ctx(), &id, trn, &otp).await.unwrap()
    }
}

fn jane() -> IndividualId {
    IndividualId::parse(JANE).unwrap()
}

#[tokio::test]
async fn an_otp_request_is_recorded_by_the_resident_side_only_once_ida_has_sent_it() {
    let w = World::new(1);
    let sent = uc::request_otp(&w.ctx(), &jane(), "AB12345678", &[OtpChannel::Phone]).await.unwrap();
    assert_eq!(sent.masked_mobile.as_deref(), Some("XXXXXX3210"));
    assert_eq!(w.log.audit_ids(), ["RES-SER-122"]);
    assert_eq!(w.log.event_statuses(), ["OTP_REQUESTED"]);
    // IDA sends the OTP message; resident services send none of their own
    assert!(w.log.notified().is_empty());

    // IDA down: the request fails as a neighbour's failure, audited, and no history event
    w.ida.go_down();
    let e = uc::request_otp(&w.ctx(), &jane(), "AB12345679", &[OtpChannel::Phone]).await.unwrap_err();
    assert_eq!(e.code(), "RES-SER-411");
    assert_eq!(w.log.audit_ids(), ["RES-SER-122", "RES-SER-123"]);
    assert_eq!(w.log.event_statuses().len(), 1);
}

#[tokio::test]
async fn a_wrong_otp_is_refused_and_audited_and_a_right_one_opens_the_identity_once() {
    let w = World::new(1);
    uc::request_otp(&w.ctx(), &jane(), "AB12345678", &[OtpChannel::Email]).await.unwrap();
    let wrong = uc::authorise_with_otp(&w.ctx(), &jane(), "AB12345678", "000000").await.unwrap_err();
    assert_eq!(wrong.code(), "RES-SER-422");
    let otp = w.ida.sent_otp(JANE, "AB12345678").unwrap();
    let who = uc::authorise_with_otp(&w.ctx(), &jane(), "AB12345678", &otp).await.unwrap();
    assert_eq!(who.uin.expose(), JANE);
    assert!(uc::authorise_with_otp(&w.ctx(), &jane(), "AB12345678", &otp).await.is_err(), "single use");
    assert_eq!(w.log.audit_ids(), ["RES-SER-122", "RES-SER-422", "RES-SER-209", "RES-SER-422"]);
    // a malformed transaction id never reaches IDA
    let before = w.ida.transactions().len();
    assert!(uc::authorise_with_otp(&w.ctx(), &jane(), "short", &otp).await.is_err());
    assert_eq!(w.ida.transactions().len(), before);
}

#[tokio::test]
async fn a_vid_is_the_repositorys_and_a_full_policy_is_told_to_the_resident() {
    let w = World::new(1);
    let who = w.authorised("AB12345678").await;
    let done = uc::generate_vid(&w.ctx(), &who, &jane(), "AB12345678", "Perpetual").await.unwrap();
    assert_eq!(w.idrepo.all_vids().len(), 1);
    assert_eq!(w.idrepo.all_vids()[0].1.vid, done.value);
    assert!(w.log.event_statuses().contains(&"VID_GENERATED".to_owned()));
    assert!(w.log.notified().contains(&"RS_VIN_GEN_SUCCESS".to_owned()));

    // the repository allows no more: the resident is told, with a FAILED event
    let e = uc::generate_vid(&w.ctx(), &who, &jane(), "AB12345678", "Perpetual").await.unwrap_err();
    assert!(matches!(e, ResidentError::VidAlreadyPresent));
    assert_eq!(w.log.event_statuses().last().map(String::as_str), Some("FAILED"));
    assert!(w.log.notified().contains(&"RS_VIN_GEN_FAILURE".to_owned()));

    // revoking a VID that is not the resident's: refused and told, nothing revoked
    let stranger = resident_domain::ids::Vid::generate(&mut resident_domain::clock::rng());
    let e = uc::revoke_vid(&w.ctx(), &who, &jane(), "AB12345678", &stranger).await.unwrap_err();
    assert_eq!(e.code(), "RES-SER-412");
    assert!(w.log.notified().contains(&"RS_VIN_REV_FAILURE".to_owned()));
    uc::revoke_vid(&w.ctx(), &who, &jane(), "AB12345678", &done.value).await.unwrap();
    assert_eq!(w.idrepo.all_vids()[0].1.status, "REVOKED");
}

#[tokio::test]
async fn a_lock_the_repository_did_not_take_leaves_nothing_behind() {
    let w = World::new(1);
    let who = w.authorised("AB12345678").await;
    let lock = [LockChange { auth_type: AuthType::Demo, lock: true, unlock_for_seconds: None }];
    uc::change_auth_locks(&w.ctx(), &who, &jane(), "AB12345678", &lock).await.unwrap();
    assert!(w.idrepo.locks_of(&who).iter().any(|s| s.auth_type == AuthType::Demo && s.locked));
    assert_eq!(w.log.event_statuses().last().map(String::as_str), Some("LOCKED"));

    let (events, notices) = (w.log.event_statuses().len(), w.log.notified().len());
    w.idrepo.go_down();
    let unlock = [LockChange { auth_type: AuthType::Demo, lock: false, unlock_for_seconds: Some(60) }];
    let e = uc::change_auth_locks(&w.ctx(), &who, &jane(), "AB12345678", &unlock).await.unwrap_err();
    assert_eq!(e.code(), "RES-SER-411");
    // audited as failed; no event and no notice of a change that may not have happened
    assert_eq!(w.log.audit_ids().last().map(String::as_str), Some("RES-SER-411"));
    assert_eq!((w.log.event_statuses().len(), w.log.notified().len()), (events, notices));
    assert!(w.idrepo.locks_of(&who).iter().all(|s| s.locked), "still locked");
}

#[tokio::test]
async fn the_authentication_history_is_idas() {
    let w = World::new(1);
    let who = w.authorised("AB12345678").await;
    let done = uc::auth_history(&w.ctx(), &who, &jane(), "AB12345678", 1, 10).await.unwrap();
    let kinds: Vec<&str> = done.value.iter().map(|t| t.auth_type_code.as_str()).collect();
    assert_eq!(kinds, ["OTP-AUTH", "OTP-REQUEST"], "newest first");
    assert_eq!(w.log.audit_ids().last().map(String::as_str), Some("RES-SER-204"));
}
