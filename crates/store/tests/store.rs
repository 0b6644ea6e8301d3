#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The store contract suite: every test runs on SQLite and, when `TEST_POSTGRES_URL` is set, on
//! PostgreSQL, each on a fresh database.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use resident_domain::StoreError;
use resident_domain::audit::{AuditContext, AuditEvent};
use resident_domain::clock::{Clock, FixedClock};
use resident_domain::history::{EventId, RequestType, ServiceEvent};
use resident_domain::identity::{IdentitySchema, Languages};
use resident_domain::ids::{CentreId, MachineId, Rid, Uin};
use resident_domain::ports::{
    AuditLog, CreateOutcome, HealthCheck, IdentityRegistry, NewDocument, NewIdentity, RegistrationRepository,
    ServiceHistory,
};
use resident_domain::registration::{InternalStatus, Registration, RegistrationType, StageRecord, TransactionType};
use resident_store::audit::ChainReport;
use resident_store::jobs::{JobHandler, Worker};
use resident_store::{Store, StoreOptions, Vault};
use resident_testkit::{Db, TestDb, t0};
use serde_json::json;
use sqlx::Executor;

use resident_testkit::on_both;

on_both!(
    migrations_apply_and_refuse_a_newer_schema,
    a_key_managers_signing_certificates_are_kept_once_each_in_the_order_seen,
    one_forwarder_at_a_time_hands_the_audit_chain_on,
    health_ping,
    identities_are_encrypted_and_idempotent,
    a_uin_is_never_handed_out_twice,
    registrations_round_trip,
    rid_sequence_is_shared,
    audit_chain_detects_an_edited_row,
    audit_chain_detects_a_deleted_row,
    group_committed_audit_records_chain,
    service_history_is_owned_by_its_token,
    a_dead_workers_job_runs_again_once,
    a_running_job_keeps_its_lease_and_a_dead_workers_is_free_within_it,
    a_batch_of_identities_answers_as_one_by_one_would,
    failed_jobs_back_off_then_die,
    ten_thousand_otp_guesses_never_succeed_and_the_freeze_survives_a_restart,
    otps_expire_are_single_use_and_bound_to_their_transaction,
    a_limited_vid_is_used_up_by_authentication,
    job_payloads_are_sealed_at_rest,
    one_update_in_progress_and_each_stage_moves_once,
    expired_sessions_go_with_their_drafts,
    an_otp_works_only_for_its_requester,
    guesses_against_transactions_never_issued_freeze_nobody,
    each_otp_has_its_own_count_and_a_day_has_a_cap,
    an_otp_works_only_with_the_id_it_was_asked_for,
    demographic_failures_freeze_per_identity_and_partner,
    throttling_counters_add_up_across_concurrent_requests,
    replicas_counting_in_memory_share_their_counts,
    an_old_chain_keeps_verifying_and_goes_on_keyed,
    a_keyed_record_cannot_be_forged_by_rechaining,
    a_checkpoint_catches_a_cut_tail_and_reordering,
    reordered_records_are_found,
    a_credential_moves_once_and_its_request_id_downloads_once,
    data_accesses_are_sealed_found_by_who_and_when_and_seen_by_their_owner,
    a_verified_value_is_kept_as_a_hash_and_a_changed_one_is_not_verified,
    uploads_are_sealed_bounded_owned_and_swept,
);

#[path = "store/security.rs"]
mod security;
use security::*;

#[path = "store/credentials.rs"]
mod credentials;
use credentials::*;

#[path = "store/access.rs"]
mod access;
use access::*;

#[path = "store/verification.rs"]
mod verification;
use verification::*;

#[path = "store/uploads.rs"]
mod uploads;
use uploads::*;

async fn open(db: &TestDb) -> Store {
    let store = Store::open(&StoreOptions::new(&db.url), Vault::from_master(&[9u8; 32])).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn fresh(kind: Db) -> Option<(TestDb, Store)> {
    let db = TestDb::new(kind).await?;
    let store = open(&db).await;
    Some((db, store))
}

/// A raw pool on the same database, to change rows behind the store's back.
async fn raw(db: &TestDb) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&db.url).await.unwrap()
}

fn ctx() -> AuditContext {
    AuditContext::system("store-test")
}

fn schema() -> IdentitySchema {
    IdentitySchema::default_schema(Languages::default()).unwrap()
}

fn person(name: &str) -> NewIdentity {
    let doc = json!({"identity": {
        "fullName": [{"language": "eng", "value": name}],
        "dateOfBirth": "1990/05/12",
        "gender": [{"language": "eng", "value": "Female"}],
        "email": "jane@example.org"
    }});
    NewIdentity { identity: schema().validate_new(&doc, t0()).unwrap(), registration_id: None, documents: vec![] }
}

async fn migrations_apply_and_refuse_a_newer_schema(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    store.migrate().await.expect("migrating twice is a no-op");
    store.check_schema().await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), resident_store::migrate::latest_version());
    let pool = raw(&db).await;
    sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (999, 'future', TRUE, $1, 0)")
        .bind(vec![0u8; 4])
        .execute(&pool)
        .await
        .unwrap();
    let err = store.check_schema().await.unwrap_err().to_string();
    assert!(err.contains("newer than this binary"), "{err}");
    assert!(store.migrate().await.is_err(), "the migrator refuses an unknown applied migration");
}

async fn health_ping(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    store.ping().await.unwrap();
}

async fn identities_are_encrypted_and_idempotent(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    let mut jane = person("Jane Doe");
    jane.documents.push(NewDocument {
        category: "photo".into(),
        format: "png".into(),
        content: b"PNGDATA-jane".to_vec(),
    });
    let created = store.create_identity(jane.clone(), &ctx(), t0()).await.unwrap();
    assert_eq!(created.outcome, CreateOutcome::Created);
    Uin::parse(created.uin.expose()).unwrap();

    let again = store.create_identity(jane, &ctx(), t0()).await.unwrap();
    assert_eq!(again.outcome, CreateOutcome::AlreadyPresent);
    assert_eq!(again.uin, created.uin);
    assert_eq!(store.count_identities().await.unwrap(), 1);

    let found = store.find_identity(&created.uin).await.unwrap().unwrap();
    assert_eq!(found.identity.localized("fullName", "eng"), Some("Jane Doe"));
    assert_eq!(found.identity.uin(), Some(created.uin.expose()));
    assert_eq!(found.documents[0].content, b"PNGDATA-jane");
    assert_eq!(found.token, store.token_for(&created.uin));

    // nothing personal is readable in the database
    let pool = raw(&db).await;
    for (table, col) in [("identity", "data"), ("identity_document", "content")] {
        let sql = format!("SELECT {col} FROM {table}");
        let blobs: Vec<Vec<u8>> = sqlx::query_scalar(&sql).fetch_all(&pool).await.unwrap();
        for b in blobs {
            for needle in [&b"Jane"[..], created.uin.expose().as_bytes(), b"PNGDATA"] {
                assert!(!b.windows(needle.len()).any(|w| w == needle), "{table}.{col} leaks");
            }
        }
    }
    let hashes: Vec<String> = sqlx::query_scalar("SELECT uin_hash FROM identity").fetch_all(&pool).await.unwrap();
    assert!(!hashes[0].contains(created.uin.expose()));

    // a UIN that belongs to someone else is refused
    let mut other = person("John Roe");
    other.identity = other.identity.with_uin(&created.uin);
    assert!(matches!(store.create_identity(other, &ctx(), t0()).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.count_identities().await.unwrap(), 1);

    // the same registration id is the same identity even if the content changed
    let mut by_rid = person("Amina Diallo");
    by_rid.registration_id = Some("10001100010000120261126090000".into());
    let first = store.create_identity(by_rid.clone(), &ctx(), t0()).await.unwrap();
    by_rid.identity = person("Amina B. Diallo").identity;
    let second = store.create_identity(by_rid, &ctx(), t0()).await.unwrap();
    assert_eq!((second.outcome, second.uin), (CreateOutcome::AlreadyPresent, first.uin));

    // a wrong key cannot read the data
    let other_key = Store::open(&StoreOptions::new(&db.url), Vault::from_master(&[1u8; 32])).await.unwrap();
    assert!(other_key.find_identity(&created.uin).await.unwrap().is_none(), "lookup hash is keyed too");
}

async fn a_uin_is_never_handed_out_twice(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    // a second, independent store on the same database stands in for another process
    let other = open(&db).await;
    let mut tasks = Vec::new();
    for s in [store.clone(), other.clone(), store.clone(), other] {
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for _ in 0..150 {
                out.push(s.allocate_uin(t0()).await.unwrap());
            }
            out
        }));
    }
    let mut all = HashSet::new();
    for t in tasks {
        for uin in t.await.unwrap() {
            assert!(all.insert(uin.expose().to_owned()), "{uin:?} handed out twice");
        }
    }
    assert_eq!(all.len(), 600);
    let pool = raw(&db).await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM uin_registry").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 600);
}

fn registration(rid: &str, status: Option<InternalStatus>) -> Registration {
    Registration {
        rid: Rid::parse(rid).unwrap(),
        registration_type: RegistrationType::New,
        status,
        latest_transaction: Some(TransactionType::PacketReceiver),
        latest_transaction_at: Some(t0()),
        last_success_stage: Some("PacketReceiverStage".into()),
        retry_count: 0,
        created_at: t0(),
        updated_at: t0(),
    }
}

async fn registrations_round_trip(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let rid = "10001100010000120261126090000";
    let stage = |t: TransactionType, s: &str| StageRecord {
        transaction_type: t,
        status: s.into(),
        comment: format!("{} {s}", t.code()),
        at: t0(),
    };
    let mut reg = registration(rid, Some(InternalStatus::Processing));
    store.record_registration(&reg, &[stage(TransactionType::PacketReceiver, "SUCCESS")], &ctx()).await.unwrap();
    assert_eq!(store.find_registration(&reg.rid).await.unwrap().as_ref(), Some(&reg));

    reg.status = Some(InternalStatus::Processed);
    reg.latest_transaction = Some(TransactionType::UinGenerator);
    reg.last_success_stage = Some("UinGeneratorStage".into());
    reg.updated_at = t0() + time::Duration::minutes(5);
    store
        .record_registration(
            &reg,
            &[stage(TransactionType::UinGenerator, "SUCCESS"), stage(TransactionType::Print, "SUCCESS")],
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(store.find_registration(&reg.rid).await.unwrap().as_ref(), Some(&reg));
    let history = store.stage_history(&reg.rid).await.unwrap();
    assert_eq!(
        history.iter().map(|s| s.transaction_type).collect::<Vec<_>>(),
        [TransactionType::PacketReceiver, TransactionType::UinGenerator, TransactionType::Print]
    );
    assert!(store.find_registration(&Rid::parse("10001100010000220261126090000").unwrap()).await.unwrap().is_none());
    assert_eq!(store.count_registrations().await.unwrap(), 1);
    // each change was audited with the RID masked
    let audit = store.recent_audit(10).await.unwrap();
    assert_eq!(audit.iter().filter(|a| a.event_id == AuditEvent::RegistrationRecorded.id()).count(), 2);
    assert!(audit.iter().all(|a| a.ref_id.as_deref() != Some(rid)));
}

async fn rid_sequence_is_shared(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    let other = open(&db).await;
    let (c, m) = (CentreId::parse("10001").unwrap(), MachineId::parse("10080").unwrap());
    let a = store.next_rid(&c, &m, t0()).await.unwrap();
    let b = other.next_rid(&c, &m, t0()).await.unwrap();
    let c2 = store.next_rid(&CentreId::parse("10002").unwrap(), &m, t0()).await.unwrap();
    assert_eq!(a.as_str(), "10001100800000120261126090000");
    assert_eq!(b.as_str(), "10001100800000220261126090000");
    assert_eq!(c2.as_str(), "10002100800000120261126090000");
}

async fn seed_audit(store: &Store, n: usize) {
    for i in 0..n {
        store
            .append(AuditEvent::RidStatus.record(
                &ctx(),
                t0(),
                Some((format!("1****{i}"), "RID")),
                format!("check {i}"),
            ))
            .await
            .unwrap();
    }
}

/// The audit forwarder's lease: one holder at a time, the mark moved only by the holder, taken over
/// once it ran out, and the records after the mark in order.
async fn one_forwarder_at_a_time_hands_the_audit_chain_on(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    seed_audit(&store, 5).await;
    assert_eq!(store.lease_audit_forward("a", 1_000, 61_000).await.unwrap(), Some(0));
    assert_eq!(store.lease_audit_forward("b", 2_000, 62_000).await.unwrap(), None, "a holds it");
    let batch = store.audit_after(0, 3).await.unwrap();
    assert_eq!(batch.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(store.audit_forwarded("a", 2, 63_000).await.unwrap());
    assert!(!store.audit_forwarded("b", 3, 63_000).await.unwrap(), "only the holder moves the mark");
    // a's lease runs out (it died): b takes over from the last record the audit manager took
    assert_eq!(store.lease_audit_forward("b", 64_000, 124_000).await.unwrap(), Some(2));
    assert!(!store.audit_forwarded("a", 3, 125_000).await.unwrap(), "a lost it");
    store.end_audit_forward("b").await.unwrap();
    assert_eq!(store.lease_audit_forward("a", 65_000, 125_000).await.unwrap(), Some(2));
    assert_eq!(store.audit_after(2, 10).await.unwrap().len(), 3);
}

async fn audit_chain_detects_an_edited_row(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    seed_audit(&store, 5).await;
    assert_eq!(store.verify_audit_chain().await.unwrap(), ChainReport::Intact { records: 5 });
    let pool = raw(&db).await;
    pool.execute("UPDATE audit_log SET description = 'nothing happened' WHERE seq = 3").await.unwrap();
    match store.verify_audit_chain().await.unwrap() {
        ChainReport::Broken { seq, .. } => assert_eq!(seq, 3),
        other => panic!("tampering not found: {other:?}"),
    }
}

async fn audit_chain_detects_a_deleted_row(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    seed_audit(&store, 4).await;
    let pool = raw(&db).await;
    pool.execute("DELETE FROM audit_log WHERE seq = 4").await.unwrap();
    assert!(
        matches!(store.verify_audit_chain().await.unwrap(), ChainReport::Broken { seq: 4, .. }),
        "the tail was cut"
    );
    pool.execute("DELETE FROM audit_log WHERE seq = 2").await.unwrap();
    assert!(matches!(store.verify_audit_chain().await.unwrap(), ChainReport::Broken { seq: 2, .. }));
}

async fn group_committed_audit_records_chain(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let mut tasks = Vec::new();
    for i in 0..200 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.append(AuditEvent::RidStatus.record(&ctx(), t0(), None, format!("concurrent {i}"))).await
        }));
    }
    // interleave transactional appends from another path
    seed_audit(&store, 10).await;
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(store.verify_audit_chain().await.unwrap(), ChainReport::Intact { records: 210 });
}

async fn service_history_is_owned_by_its_token(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let jane = store.create_identity(person("Jane Doe"), &ctx(), t0()).await.unwrap().uin;
    let john = store.create_identity(person("John Roe"), &ctx(), t0()).await.unwrap().uin;
    let mut rng = resident_domain::clock::rng();
    let event = |uin: &Uin, minutes: i64, rng: &mut rand::rngs::ThreadRng| ServiceEvent {
        event_id: EventId::generate(rng),
        token: store.token_for(uin),
        request_type: RequestType::GenerateVid,
        request_summary: "GENERATE_VID - NEW".into(),
        status_code: "NEW".into(),
        status_comment: None,
        request_trn_id: Some("1234567890".into()),
        ref_id_type: Some("UIN".into()),
        ref_id: Some(uin.masked()),
        lang_code: Some("eng".into()),
        aid: None,
        requested_at: t0() + time::Duration::minutes(minutes),
        updated_at: t0() + time::Duration::minutes(minutes),
        read: false,
        pinned: false,
    };
    let a1 = event(&jane, 1, &mut rng);
    let a2 = event(&jane, 2, &mut rng);
    let b1 = event(&john, 3, &mut rng);
    drop(rng);
    let rec = AuditEvent::RidStatus.record(&ctx(), t0(), None, "history");
    for e in [&a1, &a2, &b1] {
        store.record_event(e, &rec).await.unwrap();
    }
    let mine = store.events_for(&store.token_for(&jane), 0, 10).await.unwrap();
    assert_eq!(mine.iter().map(|e| e.event_id.clone()).collect::<Vec<_>>(), [a2.event_id.clone(), a1.event_id.clone()]);
    assert_eq!(mine[1], a1);
    assert_eq!(store.events_for(&store.token_for(&jane), 1, 1).await.unwrap()[0].event_id, a1.event_id);
    assert_eq!(store.events_for(&store.token_for(&john), 0, 10).await.unwrap().len(), 1);

    store
        .update_event_status(&a1.event_id, "VID_GENERATED", Some("done"), &rec, t0() + time::Duration::minutes(9))
        .await
        .unwrap();
    let got = store.event(&a1.event_id).await.unwrap().unwrap();
    assert_eq!((got.status_code.as_str(), got.status_comment.as_deref()), ("VID_GENERATED", Some("done")));
    let missing = EventId::parse("1000000000000000").unwrap();
    assert_eq!(store.update_event_status(&missing, "FAILED", None, &rec, t0()).await, Err(StoreError::NotFound));
    assert!(store.event(&missing).await.unwrap().is_none());
}

struct Counting(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl JobHandler for Counting {
    fn kind(&self) -> &'static str {
        "count"
    }
    async fn run(&self, job: &resident_store::jobs::Job, _now: time::OffsetDateTime) -> Result<(), String> {
        let payload = job.payload.as_str();
        if payload == "fail" {
            return Err("asked to fail".into());
        }
        if payload == "slow" {
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn a_dead_workers_job_runs_again_once(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let clock = Arc::new(FixedClock::new(t0()));
    store.enqueue_job("count", "ok", t0(), t0()).await.unwrap();

    // worker A claims the job and dies before finishing it
    let claimed = store.claim_job("worker-a", t0(), Duration::from_secs(60)).await.unwrap().unwrap();
    assert_eq!(claimed.attempts, 1);

    let runs = Arc::new(AtomicUsize::new(0));
    let b = Worker::new(store.clone(), clock.clone(), vec![Arc::new(Counting(runs.clone()))]);
    assert!(!b.run_once().await.unwrap(), "the lease still holds");
    clock.advance(time::Duration::seconds(61));
    assert!(b.run_once().await.unwrap(), "the expired lease makes the job claimable");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(!b.run_once().await.unwrap(), "and it is gone once done");
    assert!(!store.complete_job(&claimed, "worker-a").await.unwrap(), "the dead worker cannot complete it late");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(store.job_counts().await.unwrap().is_empty());
}

async fn a_running_job_keeps_its_lease_and_a_dead_workers_is_free_within_it(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let clock: Arc<dyn resident_domain::clock::Clock> = Arc::new(resident_domain::clock::SystemClock);
    let runs = Arc::new(AtomicUsize::new(0));
    let worker = |runs: &Arc<AtomicUsize>| {
        let mut w = Worker::new(store.clone(), clock.clone(), vec![Arc::new(Counting(runs.clone()))]);
        w.lease = Duration::from_millis(600);
        w
    };
    // a job that runs 2.5 leases long is renewed while it runs: nobody else takes it
    store.enqueue_job("count", "slow", clock.now(), clock.now()).await.unwrap();
    let a = worker(&runs);
    let running = tokio::spawn(async move { a.run_once().await.unwrap() });
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let b = worker(&runs);
    assert!(!b.run_once().await.unwrap(), "the running job's lease was renewed");
    assert!(running.await.unwrap());
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(store.job_counts().await.unwrap().is_empty(), "done once");

    // a worker that dies holding a job: free again once its short lease runs out
    store.enqueue_job("count", "ok", clock.now(), clock.now()).await.unwrap();
    store.claim_job("worker-dead", clock.now(), Duration::from_millis(600)).await.unwrap().unwrap();
    assert!(!b.run_once().await.unwrap());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(b.run_once().await.unwrap(), "taken over within the lease, not minutes later");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

async fn a_batch_of_identities_answers_as_one_by_one_would(kind: Db) {
    use resident_domain::ports::CreateOutcome::{AlreadyPresent, Created};
    let Some((_db, store)) = fresh(kind).await else { return };
    let earlier = store.create_identity(person("Stored Before"), &ctx(), t0()).await.unwrap();
    let with_uin =
        |name: &str, uin: &Uin| NewIdentity { identity: person(name).identity.with_uin(uin), ..person(name) };
    let free = Uin::parse("7509619239").unwrap();
    let registered = |name: &str, rid: &str| NewIdentity { registration_id: Some(rid.into()), ..person(name) };
    let before = store.recent_audit(1000).await.unwrap().len();
    let batch = vec![
        person("New One"),
        person("Stored Before"),
        person("New One"),
        with_uin("Takes A Stored UIN", &earlier.uin),
        with_uin("Brings Its Own UIN", &free),
        registered("By Registration", "10001100010000120261101090100"),
        registered("Same Registration, Other Content", "10001100010000120261101090100"),
        with_uin("Brings The Same UIN Again", &free),
    ];
    let answers = store.create_identities(batch, &ctx(), t0()).await.unwrap();
    let outcome = |i: usize| answers[i].as_ref().map(|c| c.outcome);
    assert_eq!(outcome(0), Ok(Created));
    assert_eq!(outcome(1), Ok(AlreadyPresent));
    assert_eq!(answers[1].as_ref().unwrap().uin, earlier.uin);
    assert_eq!(outcome(2), Ok(AlreadyPresent), "the same content twice in one batch");
    assert_eq!(answers[2].as_ref().unwrap().uin, answers[0].as_ref().unwrap().uin);
    assert!(matches!(answers[3], Err(resident_domain::StoreError::Conflict(_))), "{:?}", answers[3]);
    assert_eq!(answers[4].as_ref().unwrap().uin, free);
    assert_eq!(outcome(5), Ok(Created));
    assert_eq!(outcome(6), Ok(AlreadyPresent), "one registration, one identity");
    assert!(
        matches!(answers[7], Err(resident_domain::StoreError::Conflict(_))),
        "one UIN, one identity: {:?}",
        answers[7]
    );
    // every UIN is distinct and findable; each stored or recognised line is audited
    let created: Vec<&Uin> = [0, 4, 5].iter().map(|i| &answers[*i].as_ref().unwrap().uin).collect();
    for uin in &created {
        assert!(store.find_identity(uin).await.unwrap().is_some());
    }
    assert_eq!(created.iter().collect::<std::collections::HashSet<_>>().len(), 3);
    assert_eq!(store.recent_audit(1000).await.unwrap().len() - before, 4, "three created, one recognised");
    store.verify_audit_chain().await.unwrap();
    // the same file again: nothing twice
    let again = store
        .create_identities(vec![person("New One"), with_uin("Brings Its Own UIN", &free)], &ctx(), t0())
        .await
        .unwrap();
    assert!(again.iter().all(|a| a.as_ref().unwrap().outcome == AlreadyPresent), "{again:?}");
}

async fn failed_jobs_back_off_then_die(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let clock = Arc::new(FixedClock::new(t0()));
    store.enqueue_job("count", "fail", t0(), t0()).await.unwrap();
    let w = Worker::new(store.clone(), clock.clone(), vec![Arc::new(Counting(Arc::new(AtomicUsize::new(0))))]);
    assert!(w.run_once().await.unwrap());
    assert!(!w.run_once().await.unwrap(), "backing off");
    for _ in 0..20 {
        clock.advance(time::Duration::hours(2));
        w.run_once().await.unwrap();
    }
    let counts = store.job_counts().await.unwrap();
    assert_eq!(counts.get("dead"), Some(&1), "{counts:?}");
    let _ = clock.now();
}

#[test]
fn migrations_are_in_lock_step() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let list = |sub: &str| {
        let mut v: Vec<String> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let sqlite = list("sqlite");
    assert_eq!(sqlite, list("postgres"), "every migration exists for both databases");
    let embedded: Vec<String> =
        resident_store::migrate::MIGRATIONS.iter().map(|(v, d, _, _)| format!("{v:04}_{d}.sql")).collect();
    assert_eq!(sqlite, embedded, "every migration file is embedded, in order");
}

use resident_domain::otp::{Otp, OtpChannel, OtpPolicy, OtpRefusal};
use resident_domain::ports::{Effects, IdaRecords, IdentityRecords, NewOtp};

async fn jane_resolved(store: &Store) -> resident_domain::ports::Resolved {
    let uin = store.create_identity(person("Jane Doe"), &ctx(), t0()).await.unwrap().uin;
    store.resolve(&resident_domain::ids::IndividualId::Uin(uin), t0()).await.unwrap().unwrap()
}

async fn issue_for(
    store: &Store,
    who: &resident_domain::ports::Resolved,
    requester: &str,
    trn: &str,
    code: &str,
    at: time::OffsetDateTime,
) {
    let otp = NewOtp {
        requester: requester.into(),
        transaction_id: trn.into(),
        otp: Otp::parse(code, 6).unwrap(),
        channels: vec![OtpChannel::Email],
    };
    store.issue_otp(who, &otp, &OtpPolicy::default(), &Effects::default(), at).await.unwrap().unwrap();
}

/// The requester key of the resident's own OTPs (`Requester::Resident.key()`).
const RESIDENT: &str = "resident";

async fn issue(store: &Store, who: &resident_domain::ports::Resolved, trn: &str, code: &str, at: time::OffsetDateTime) {
    issue_for(store, who, RESIDENT, trn, code, at).await
}

async fn ten_thousand_otp_guesses_never_succeed_and_the_freeze_survives_a_restart(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    let who = jane_resolved(&store).await;
    let policy = OtpPolicy::default();
    let real = "004242";
    issue(&store, &who, "1234567890", real, t0()).await;
    let mut successes = 0;
    let mut frozen = 0;
    // every code from 000000 to 009999, the real one among them
    for g in 0..10_000u32 {
        let guess = Otp::parse(&format!("{g:06}"), 6).unwrap();
        match store
            .verify_otp(
                &who,
                RESIDENT,
                "1234567890",
                &guess,
                &policy,
                t0() + time::Duration::milliseconds(i64::from(g)),
                &|_| Effects::default(),
            )
            .await
            .unwrap()
        {
            Ok(()) => successes += 1,
            Err(OtpRefusal::Frozen { .. }) => frozen += 1,
            Err(_) => {}
        }
    }
    assert_eq!(successes, 0);
    assert_eq!(frozen, 10_000 - 4, "the fifth failure freezes, and every guess after it is refused unchecked");
    // a restart changes nothing: the freeze is in the database
    store.close().await;
    let reopened = open(&db).await;
    let right = Otp::parse(real, 6).unwrap();
    assert!(matches!(
        reopened
            .verify_otp(&who, RESIDENT, "1234567890", &right, &policy, t0() + time::Duration::minutes(10), &|_| {
                Effects::default()
            })
            .await
            .unwrap(),
        Err(OtpRefusal::Frozen { .. })
    ));
    let otp = NewOtp {
        requester: RESIDENT.into(),
        transaction_id: "2234567890".into(),
        otp: right.clone(),
        channels: vec![OtpChannel::Email],
    };
    assert!(
        reopened
            .issue_otp(&who, &otp, &policy, &Effects::default(), t0() + time::Duration::minutes(10))
            .await
            .unwrap()
            .is_err(),
        "no new OTP while frozen"
    );
    // after 30 minutes a new OTP works again
    let later = t0() + time::Duration::minutes(31);
    issue(&reopened, &who, "3234567890", "777777", later).await;
    assert_eq!(
        reopened
            .verify_otp(&who, RESIDENT, "3234567890", &Otp::parse("777777", 6).unwrap(), &policy, later, &|_| {
                Effects::default()
            })
            .await
            .unwrap(),
        Ok(())
    );
}

async fn otps_expire_are_single_use_and_bound_to_their_transaction(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let who = jane_resolved(&store).await;
    let policy = OtpPolicy::default();
    let code = Otp::parse("135790", 6).unwrap();
    issue(&store, &who, "1234567890", "135790", t0()).await;
    assert_eq!(
        store.verify_otp(&who, RESIDENT, "9999999999", &code, &policy, t0(), &|_| Effects::default()).await.unwrap(),
        Err(OtpRefusal::NoSuchTransaction)
    );
    assert_eq!(
        store
            .verify_otp(&who, RESIDENT, "1234567890", &code, &policy, t0() + time::Duration::seconds(181), &|_| {
                Effects::default()
            })
            .await
            .unwrap(),
        Err(OtpRefusal::Expired)
    );
    issue(&store, &who, "2234567890", "135790", t0()).await;
    assert_eq!(
        store
            .verify_otp(&who, RESIDENT, "2234567890", &code, &policy, t0() + time::Duration::seconds(179), &|_| {
                Effects::default()
            })
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        store
            .verify_otp(&who, RESIDENT, "2234567890", &code, &policy, t0() + time::Duration::seconds(179), &|_| {
                Effects::default()
            })
            .await
            .unwrap(),
        Err(OtpRefusal::Invalid),
        "single use"
    );
    // only a keyed hash is stored
    let pool = raw(&_db).await;
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT otp_hash FROM otp_transaction").fetch_all(&pool).await.unwrap();
    assert!(hashes.iter().all(|h| h.len() == 64 && !h.contains("135790")));
}

async fn a_limited_vid_is_used_up_by_authentication(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let who = jane_resolved(&store).await;
    let vid = resident_domain::ids::Vid::generate(&mut resident_domain::clock::rng());
    let record = resident_domain::vid::VidRecord {
        vid: vid.clone(),
        vid_type: "Temporary".into(),
        status: "ACTIVE".into(),
        created_at: t0(),
        expires_at: Some(t0() + time::Duration::minutes(30)),
        transactions_left: Some(1),
    };
    store.create_vid(&who, &record, &[], &Effects::default(), t0()).await.unwrap();
    let by_vid = store.resolve(&resident_domain::ids::IndividualId::Vid(vid.clone()), t0()).await.unwrap().unwrap();
    assert_eq!(by_vid.identity_id, who.identity_id);
    assert!(
        store
            .resolve(&resident_domain::ids::IndividualId::Vid(vid.clone()), t0() + time::Duration::minutes(31))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    issue(&store, &by_vid, "1234567890", "246800", t0()).await;
    store
        .verify_otp(
            &by_vid,
            RESIDENT,
            "1234567890",
            &Otp::parse("246800", 6).unwrap(),
            &OtpPolicy::default(),
            t0(),
            &|_| Effects::default(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        store.resolve(&resident_domain::ids::IndividualId::Vid(vid), t0()).await.unwrap().is_none(),
        "its one transaction is used"
    );
}

async fn job_payloads_are_sealed_at_rest(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    store.enqueue_job("count", "secret 123456 jane@example.org", t0(), t0()).await.unwrap();
    let pool = raw(&db).await;
    let payload: String = sqlx::query_scalar("SELECT payload FROM job").fetch_one(&pool).await.unwrap();
    assert!(!payload.contains("123456") && !payload.contains("jane"));
    let job = store.claim_job("w", t0(), Duration::from_secs(5)).await.unwrap().unwrap();
    assert_eq!(job.payload, "secret 123456 jane@example.org");
}

use resident_domain::ports::{MachineKeys, PacketStore, UpdateRepository};
use resident_domain::update::{IdentityChange, StageChange, UpdateRecord, UpdateStage};

fn update_record(who: &resident_domain::ports::Resolved, rid: &Rid) -> UpdateRecord {
    UpdateRecord {
        rid: rid.clone(),
        identity_id: who.identity_id.clone(),
        token: who.token.clone(),
        event_id: EventId::generate(&mut resident_domain::clock::rng()),
        stage: UpdateStage::Validate,
        fields: vec!["city".into()],
        needs_verification: false,
        reason: None,
        packet_key: format!("RESIDENT/RES_UPDATE/{}.zip", rid.as_str()),
        created_at: t0(),
        updated_at: t0(),
    }
}

fn res_update(rid: &Rid, status: InternalStatus) -> Registration {
    Registration {
        rid: rid.clone(),
        registration_type: RegistrationType::ResUpdate,
        status: Some(status),
        latest_transaction: Some(TransactionType::PacketReceiver),
        latest_transaction_at: Some(t0()),
        last_success_stage: None,
        retry_count: 0,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn stage_change(rid: &Rid, from: UpdateStage, to: UpdateStage) -> StageChange {
    StageChange {
        rid: rid.clone(),
        from,
        to,
        registration: res_update(rid, InternalStatus::Processing),
        stages: vec![StageRecord {
            transaction_type: TransactionType::ValidatePacket,
            status: "SUCCESS".into(),
            comment: format!("{} -> {}", from.code(), to.code()),
            at: t0(),
        }],
        event_status: "PROCESSING",
        event_comment: "moving".into(),
        reason: None,
        effects: Effects::default(),
    }
}

async fn one_update_in_progress_and_each_stage_moves_once(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    let who = jane_resolved(&store).await;
    let (c, m) = (CentreId::parse("10001").unwrap(), MachineId::parse("10080").unwrap());
    let rid1 = store.next_rid(&c, &m, t0()).await.unwrap();
    let rid2 = store.next_rid(&c, &m, t0()).await.unwrap();
    let first = update_record(&who, &rid1);
    store
        .create_update(&first, &res_update(&rid1, InternalStatus::Processing), &[], &Effects::default(), t0())
        .await
        .unwrap();
    // a second update of the same identity cannot be recorded while the first is in progress
    let err = store
        .create_update(
            &update_record(&who, &rid2),
            &res_update(&rid2, InternalStatus::Processing),
            &[],
            &Effects::default(),
            t0(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(store.find_registration(&rid2).await.unwrap().is_none(), "nothing of the refused update was written");
    assert_eq!(store.open_update_of(&who.identity_id).await.unwrap().unwrap().rid, rid1);
    assert_eq!(store.job_counts().await.unwrap().get("queued"), Some(&1), "the validation job");

    // a stage moves once: the second attempt finds the update elsewhere and writes nothing
    assert!(store.advance(&stage_change(&rid1, UpdateStage::Validate, UpdateStage::Apply), None, t0()).await.unwrap());
    assert!(!store.advance(&stage_change(&rid1, UpdateStage::Validate, UpdateStage::Apply), None, t0()).await.unwrap());
    assert_eq!(store.stage_history(&rid1).await.unwrap().len(), 1);

    // the registry stage: a new version, the old one kept; a stale base version writes nothing
    let (current, version) = store.current_identity(&who.identity_id).await.unwrap().unwrap();
    let mut changed = current.clone();
    changed.0.insert("city".into(), json!([{"language": "eng", "value": "Tangier"}]));
    let change = |base: i64| IdentityChange {
        identity_id: who.identity_id.clone(),
        base_version: base,
        identity: changed.clone(),
        documents: vec![NewDocument {
            category: "proofOfAddress".into(),
            format: "pdf".into(),
            content: b"%PDF-1.4 %%EOF".to_vec(),
        }],
        fields: vec!["city".into()],
        rid: rid1.clone(),
    };
    let err = store
        .advance(&stage_change(&rid1, UpdateStage::Apply, UpdateStage::Notify), Some(&change(version + 7)), t0())
        .await;
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    assert_eq!(store.find_update(&rid1).await.unwrap().unwrap().stage, UpdateStage::Apply, "rolled back");
    assert!(
        store
            .advance(&stage_change(&rid1, UpdateStage::Apply, UpdateStage::Notify), Some(&change(version)), t0())
            .await
            .unwrap()
    );
    let (now, new_version) = store.current_identity(&who.identity_id).await.unwrap().unwrap();
    assert_eq!((new_version, now.localized("city", "eng")), (version + 1, Some("Tangier")));
    assert_eq!(store.identity_versions(&who.identity_id).await.unwrap(), vec![(version, current)]);
    assert_eq!(store.update_counts(&who.identity_id).await.unwrap().get("city"), Some(&1));

    // finished: a new update may start
    assert!(store.advance(&stage_change(&rid1, UpdateStage::Notify, UpdateStage::Done), None, t0()).await.unwrap());
    assert!(store.open_update_of(&who.identity_id).await.unwrap().is_none());
    store
        .create_update(
            &update_record(&who, &rid2),
            &res_update(&rid2, InternalStatus::Processing),
            &[],
            &Effects::default(),
            t0(),
        )
        .await
        .unwrap();

    // machine keys: registered once, a different key under the same id is refused
    store.register_machine_key("k1", &[1u8; 32], "10080", t0()).await.unwrap();
    store.register_machine_key("k1", &[1u8; 32], "10080", t0()).await.unwrap();
    assert!(matches!(store.register_machine_key("k1", &[2u8; 32], "10080", t0()).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.machine_key("k1").await.unwrap(), Some(vec![1u8; 32]));

    // the local packet store: whole files, safe keys only
    let packets = resident_store::packets::LocalPacketStore::new(db.dir.path().join("packets"));
    packets.put("RESIDENT/RES_UPDATE/x.zip", b"one").await.unwrap();
    packets.put("RESIDENT/RES_UPDATE/x.zip", b"two").await.unwrap();
    assert_eq!(packets.get("RESIDENT/RES_UPDATE/x.zip").await.unwrap(), Some(b"two".to_vec()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(db.dir.path().join("packets/RESIDENT/RES_UPDATE/x.zip")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    for bad in ["../escape", "/etc/passwd", "a//b", "a/./b", "a b"] {
        assert!(packets.put(bad, b"x").await.is_err(), "{bad}");
    }
    packets.delete("RESIDENT/RES_UPDATE/x.zip").await.unwrap();
    packets.delete("RESIDENT/RES_UPDATE/x.zip").await.unwrap();
    assert_eq!(packets.get("RESIDENT/RES_UPDATE/x.zip").await.unwrap(), None);
}

/// Housekeeping deletes sessions past their absolute end or idle too long, and every draft left
/// without a session; a live session and its draft stay. A session keeps its UIN sealed, and one
/// without it (started before schema 16) opens nothing.
async fn expired_sessions_go_with_their_drafts(kind: Db) {
    use resident_domain::ports::{DraftStore, PortalSession, SessionStore};
    let Some((db, store)) = fresh(kind).await else { return };
    let now = t0();
    let session = |id: &str, last_seen: time::Duration, ends: time::Duration| PortalSession {
        id_hash: id.into(),
        identity_id: "identity-1".into(),
        uin: Uin::parse("7509619239").unwrap(),
        token: resident_domain::history::IdentityToken("token-1".into()),
        id_type: "UIN".into(),
        csrf: "csrf".into(),
        created_at: now - time::Duration::hours(1),
        last_seen_at: now - last_seen,
        expires_at: now + ends,
    };
    let login = AuditEvent::PortalLogin.record(&ctx(), now, None, "logged in");
    let minutes = time::Duration::minutes;
    for s in [
        session("live", minutes(2), minutes(60)),
        session("idle", minutes(16), minutes(60)),
        session("over", minutes(1), minutes(-1)),
    ] {
        store.create_session(&s, &login).await.unwrap();
        store.save_draft(&s.id_hash, b"half-way", now).await.unwrap();
    }
    store.save_draft("logged-out-long-ago", b"left behind", now).await.unwrap();

    assert_eq!(store.sweep_sessions(now - minutes(15), now).await.unwrap(), (2, 3));
    assert!(store.session("live").await.unwrap().is_some());
    assert_eq!(store.draft("live").await.unwrap().as_deref(), Some(&b"half-way"[..]));
    for gone in ["idle", "over"] {
        assert!(store.session(gone).await.unwrap().is_none(), "{gone}");
        assert!(store.draft(gone).await.unwrap().is_none(), "{gone}");
    }
    assert!(store.draft("logged-out-long-ago").await.unwrap().is_none());
    // a second pass finds nothing
    assert_eq!(store.sweep_sessions(now - minutes(15), now).await.unwrap(), (0, 0));

    assert_eq!(store.session("live").await.unwrap().unwrap().uin.expose(), "7509619239");
    let pool = raw(&db).await;
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT uin_sealed FROM portal_session WHERE id_hash = 'live'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!sealed.windows(10).any(|w| w == b"7509619239"), "the UIN is sealed");
    sqlx::query("UPDATE portal_session SET uin_sealed = NULL WHERE id_hash = 'live'").execute(&pool).await.unwrap();
    assert!(store.session("live").await.unwrap().is_none(), "a session without its UIN opens nothing");
}

/// Every signing certificate a key manager signed cards under is kept once, in the order first seen.
async fn a_key_managers_signing_certificates_are_kept_once_each_in_the_order_seen(kind: Db) {
    use resident_domain::keymanager::SigningCertificates;
    let Some((_db, store)) = fresh(kind).await else { return };
    assert!(store.signing_certificates().await.unwrap().is_empty());
    store.keep_signing_certificate("thumb-b", "PEM B", t0()).await.unwrap();
    store.keep_signing_certificate("thumb-a", "PEM A", t0() + time::Duration::days(400)).await.unwrap();
    // seen again (another replica, a later card): kept as first seen
    store.keep_signing_certificate("thumb-b", "PEM B again", t0() + time::Duration::days(500)).await.unwrap();
    assert_eq!(
        store.signing_certificates().await.unwrap(),
        vec![("thumb-b".to_owned(), "PEM B".to_owned()), ("thumb-a".to_owned(), "PEM A".to_owned())]
    );
}
