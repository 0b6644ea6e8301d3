//! The store's part of the security hardening: OTPs bound to their requester, guesses that cannot
//! freeze a stranger, demographic failure guards per partner, shared throttling counters.

use resident_domain::otp::{Otp, OtpPolicy, OtpRefusal};
use resident_domain::ports::{DemoOutcome, Effects, IdaRecords, IdentityRecords, PartnerRecords};
use resident_domain::throttle::RateCounter;
use resident_testkit::{Db, t0};

use super::{RESIDENT, fresh, issue, issue_for, jane_resolved};

pub async fn an_otp_works_only_for_its_requester(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let who = jane_resolved(&store).await;
    let policy = OtpPolicy::default();
    let code = Otp::parse("864200", 6).unwrap();
    let none = |_: Result<(), OtpRefusal>| Effects::default();
    // a bank's OTP, read out by the resident, is no OTP of the resident's own…
    issue_for(&store, &who, "partner:bank-01", "1234567890", "864200", t0()).await;
    assert_eq!(
        store.verify_otp(&who, RESIDENT, "1234567890", &code, &policy, t0(), &none).await.unwrap(),
        Err(OtpRefusal::NoSuchTransaction)
    );
    // …nor another partner's
    assert_eq!(
        store.verify_otp(&who, "partner:bank-02", "1234567890", &code, &policy, t0(), &none).await.unwrap(),
        Err(OtpRefusal::NoSuchTransaction)
    );
    // and the resident's own OTP opens nothing at the bank
    issue(&store, &who, "2234567890", "864200", t0()).await;
    assert_eq!(
        store.verify_otp(&who, "partner:bank-01", "2234567890", &code, &policy, t0(), &none).await.unwrap(),
        Err(OtpRefusal::NoSuchTransaction)
    );
    // each works where it was asked for
    assert_eq!(
        store.verify_otp(&who, "partner:bank-01", "1234567890", &code, &policy, t0(), &none).await.unwrap(),
        Ok(())
    );
    assert_eq!(store.verify_otp(&who, RESIDENT, "2234567890", &code, &policy, t0(), &none).await.unwrap(), Ok(()));
    // the same transaction id at two requesters: two OTPs, neither replaces the other
    issue_for(&store, &who, "partner:bank-01", "3234567890", "111111", t0()).await;
    issue(&store, &who, "3234567890", "222222", t0()).await;
    let bank = Otp::parse("111111", 6).unwrap();
    let own = Otp::parse("222222", 6).unwrap();
    assert_eq!(
        store.verify_otp(&who, RESIDENT, "3234567890", &bank, &policy, t0(), &none).await.unwrap(),
        Err(OtpRefusal::Invalid)
    );
    assert_eq!(store.verify_otp(&who, RESIDENT, "3234567890", &own, &policy, t0(), &none).await.unwrap(), Ok(()));
    assert_eq!(
        store.verify_otp(&who, "partner:bank-01", "3234567890", &bank, &policy, t0(), &none).await.unwrap(),
        Ok(())
    );
}

pub async fn guesses_against_transactions_never_issued_freeze_nobody(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let who = jane_resolved(&store).await;
    let policy = OtpPolicy::default();
    let none = |_: Result<(), OtpRefusal>| Effects::default();
    // a stranger who knows the UIN sends fifty codes for transactions that were never issued
    for g in 0..50u32 {
        let guess = Otp::parse(&format!("{g:06}"), 6).unwrap();
        let trn = format!("{:010}", 5_000_000_000u64 + u64::from(g));
        assert_eq!(
            store.verify_otp(&who, RESIDENT, &trn, &guess, &policy, t0(), &none).await.unwrap(),
            Err(OtpRefusal::NoSuchTransaction)
        );
    }
    // the resident is not frozen: their own OTP is issued and works
    issue(&store, &who, "1234567890", "975310", t0()).await;
    let right = Otp::parse("975310", 6).unwrap();
    assert_eq!(store.verify_otp(&who, RESIDENT, "1234567890", &right, &policy, t0(), &none).await.unwrap(), Ok(()));
    // a used OTP has nothing left to guess: wrong answers to it count nothing either
    for g in 0..10u32 {
        let guess = Otp::parse(&format!("{:06}", 100 + g), 6).unwrap();
        assert_eq!(
            store.verify_otp(&who, RESIDENT, "1234567890", &guess, &policy, t0(), &none).await.unwrap(),
            Err(OtpRefusal::Invalid)
        );
    }
    // wrong answers to a live OTP do count, and the fifth freezes
    issue(&store, &who, "2234567890", "975311", t0()).await;
    let mut results = Vec::new();
    for g in 0..5u32 {
        let guess = Otp::parse(&format!("{:06}", 200 + g), 6).unwrap();
        results.push(store.verify_otp(&who, RESIDENT, "2234567890", &guess, &policy, t0(), &none).await.unwrap());
    }
    assert!(results[..4].iter().all(|r| *r == Err(OtpRefusal::Invalid)), "{results:?}");
    assert!(matches!(results[4], Err(OtpRefusal::Frozen { .. })), "{results:?}");
}

pub async fn each_otp_has_its_own_count_and_a_day_has_a_cap(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let who = jane_resolved(&store).await;
    let policy = OtpPolicy { max_failed_per_day: 12, ..OtpPolicy::default() };
    let none = |_: Result<(), OtpRefusal>| Effects::default();
    let wrong = |n: u32| Otp::parse(&format!("{:06}", 300_000 + n), 6).unwrap();
    // four wrong answers to one OTP, then a new OTP: MOSIP's count starts again (the resident who
    // mistyped four times is not frozen by asking for a new code)
    let mut n = 0;
    for round in 0..2 {
        let trn = format!("{}234567890", round + 1);
        issue(&store, &who, &trn, "999999", t0()).await;
        for _ in 0..4 {
            n += 1;
            let r = store.verify_otp(&who, RESIDENT, &trn, &wrong(n), &policy, t0(), &none).await.unwrap();
            assert_eq!(r, Err(OtpRefusal::Invalid), "wrong answer {n}");
        }
    }
    // but the day's wrong answers add up across OTPs: the twelfth freezes until the day is over
    issue(&store, &who, "3234567890", "999999", t0()).await;
    for _ in 0..3 {
        n += 1;
        let r = store.verify_otp(&who, RESIDENT, "3234567890", &wrong(n), &policy, t0(), &none).await.unwrap();
        assert_eq!(r, Err(OtpRefusal::Invalid), "wrong answer {n}");
    }
    issue(&store, &who, "4234567890", "999999", t0()).await;
    n += 1;
    match store.verify_otp(&who, RESIDENT, "4234567890", &wrong(n), &policy, t0(), &none).await.unwrap() {
        Err(OtpRefusal::Frozen { until_ms }) => {
            assert_eq!(until_ms, resident_domain::clock::epoch_ms(t0()) + 86_400_000, "frozen for the rest of the day")
        }
        other => panic!("the {n}th wrong answer of the day: {other:?}"),
    }
    let right = Otp::parse("999999", 6).unwrap();
    let later = t0() + time::Duration::hours(2);
    assert!(matches!(
        store.verify_otp(&who, RESIDENT, "4234567890", &right, &policy, later, &none).await.unwrap(),
        Err(OtpRefusal::Frozen { .. })
    ));
    // the next day counts afresh
    let tomorrow = t0() + time::Duration::hours(25);
    issue(&store, &who, "5234567890", "999999", tomorrow).await;
    assert_eq!(store.verify_otp(&who, RESIDENT, "5234567890", &right, &policy, tomorrow, &none).await.unwrap(), Ok(()));
}

pub async fn an_otp_works_only_with_the_id_it_was_asked_for(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let who = jane_resolved(&store).await;
    let vid = resident_domain::ids::Vid::generate(&mut resident_domain::clock::rng());
    let record = resident_domain::vid::VidRecord {
        vid: vid.clone(),
        vid_type: "Perpetual".into(),
        status: "ACTIVE".into(),
        created_at: t0(),
        expires_at: None,
        transactions_left: None,
    };
    store.create_vid(&who, &record, &[], &Effects::default(), t0()).await.unwrap();
    let by_vid = store.resolve(&resident_domain::ids::IndividualId::Vid(vid), t0()).await.unwrap().unwrap();
    let policy = OtpPolicy::default();
    let none = |_: Result<(), OtpRefusal>| Effects::default();
    let code = Otp::parse("424242", 6).unwrap();
    // asked for with the UIN: not good with the VID, good with the UIN
    issue(&store, &who, "1234567890", "424242", t0()).await;
    assert_eq!(
        store.verify_otp(&by_vid, RESIDENT, "1234567890", &code, &policy, t0(), &none).await.unwrap(),
        Err(OtpRefusal::Invalid)
    );
    assert_eq!(store.verify_otp(&who, RESIDENT, "1234567890", &code, &policy, t0(), &none).await.unwrap(), Ok(()));
    // and the other way round
    issue(&store, &by_vid, "2234567890", "424242", t0()).await;
    assert_eq!(
        store.verify_otp(&who, RESIDENT, "2234567890", &code, &policy, t0(), &none).await.unwrap(),
        Err(OtpRefusal::Invalid)
    );
    assert_eq!(store.verify_otp(&by_vid, RESIDENT, "2234567890", &code, &policy, t0(), &none).await.unwrap(), Ok(()));
}

pub async fn demographic_failures_freeze_per_identity_and_partner(kind: Db) {
    let Some((_db, store)) = fresh(kind).await else { return };
    let who = jane_resolved(&store).await;
    let policy = OtpPolicy::default();
    for _ in 0..4 {
        assert_eq!(store.demo_attempt(&who, "bank-01", false, &policy, t0()).await.unwrap(), DemoOutcome::Mismatch);
    }
    // the fifth mismatch freezes: from then on even a right answer is refused, so nothing is learnt
    assert_eq!(store.demo_attempt(&who, "bank-01", false, &policy, t0()).await.unwrap(), DemoOutcome::Mismatch);
    assert!(matches!(
        store.demo_attempt(&who, "bank-01", true, &policy, t0()).await.unwrap(),
        DemoOutcome::Frozen { .. }
    ));
    // another partner is not held up by the first one's guesses
    assert_eq!(store.demo_attempt(&who, "bank-02", true, &policy, t0()).await.unwrap(), DemoOutcome::Matched);
    // frozen for the rest of the day, not only for half an hour
    let later = t0() + time::Duration::hours(2);
    assert!(matches!(
        store.demo_attempt(&who, "bank-01", true, &policy, later).await.unwrap(),
        DemoOutcome::Frozen { .. }
    ));
    // the next day counts afresh, and a match in between does not wipe the count: probing a third
    // attribute four times, matching once and going on still ends at the fifth mismatch
    let tomorrow = t0() + time::Duration::hours(25);
    for _ in 0..4 {
        assert_eq!(store.demo_attempt(&who, "bank-01", false, &policy, tomorrow).await.unwrap(), DemoOutcome::Mismatch);
    }
    assert_eq!(store.demo_attempt(&who, "bank-01", true, &policy, tomorrow).await.unwrap(), DemoOutcome::Matched);
    assert_eq!(store.demo_attempt(&who, "bank-01", false, &policy, tomorrow).await.unwrap(), DemoOutcome::Mismatch);
    assert!(matches!(
        store.demo_attempt(&who, "bank-01", true, &policy, tomorrow).await.unwrap(),
        DemoOutcome::Frozen { .. }
    ));
    // policies round-trip
    assert_eq!(store.demo_policy("bank-01").await.unwrap(), None);
    let attrs = vec!["name".to_owned(), "dob".to_owned(), "gender".to_owned()];
    store.set_demo_policy("bank-01", &attrs, &Effects::default(), t0()).await.unwrap();
    store.set_demo_policy("bank-01", &attrs[..2], &Effects::default(), t0()).await.unwrap();
    assert_eq!(store.demo_policy("bank-01").await.unwrap(), Some(attrs[..2].to_vec()));
}

pub async fn throttling_counters_add_up_across_concurrent_requests(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move { s.hit("otp:198.51.100.7", 60_000, 120_000).await.unwrap() }));
    }
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=40).collect::<Vec<i64>>(), "every hit counted once");
    assert_eq!(store.hit("otp:198.51.100.7", 120_000, 180_000).await.unwrap(), 1, "a new window");
    assert_eq!(store.hit("otp:198.51.100.8", 60_000, 120_000).await.unwrap(), 1, "another client");
    // the table holds no address
    let pool = super::raw(&db).await;
    let buckets: Vec<String> = sqlx::query_scalar("SELECT bucket FROM rate_counter").fetch_all(&pool).await.unwrap();
    assert!(buckets.iter().all(|b| !b.contains("198.51")), "{buckets:?}");
    assert_eq!(store.sweep(120_001).await.unwrap(), 2, "ended windows are swept");
    assert_eq!(store.sweep(120_001).await.unwrap(), 0);
}

pub async fn replicas_counting_in_memory_share_their_counts(kind: Db) {
    use resident_store::throttle::BufferedCounter;
    let Some((_db, store)) = fresh(kind).await else { return };
    let (a, b) = (BufferedCounter::spawn(store.clone()), BufferedCounter::spawn(store.clone()));
    let bucket = "otp:203.0.113.1";
    // within one replica the count is exact, and costs no write until the flush
    for n in 1..=3 {
        assert_eq!(a.hit(bucket, 60_000, 120_000).await.unwrap(), n);
    }
    a.flush().await.unwrap();
    // a replica that first sees the client reads what the others counted
    assert_eq!(b.hit(bucket, 60_000, 120_000).await.unwrap(), 4);
    b.hit(bucket, 60_000, 120_000).await.unwrap();
    b.flush().await.unwrap();
    assert_eq!(store.hit(bucket, 60_000, 120_000).await.unwrap(), 6, "every hit reached the shared row once");
    // after its next flush a replica knows the others' hits too
    a.hit(bucket, 60_000, 120_000).await.unwrap();
    a.flush().await.unwrap();
    assert_eq!(a.hit(bucket, 60_000, 120_000).await.unwrap(), 8);
    // a new window starts afresh, and the ended one is forgotten after a flush
    assert_eq!(a.hit(bucket, 120_000, 180_000).await.unwrap(), 1);
    a.flush().await.unwrap();
    a.flush().await.unwrap();
    assert_eq!(store.hit(bucket, 60_000, 120_000).await.unwrap(), 9, "the pending hit of the old window was written");
}

// --- the keyed, anchored audit chain -------------------------------------------------------------

use resident_domain::audit::AuditEvent;
use resident_store::audit::{ChainReport, chain_hash};
use sqlx::Executor;

/// Records as a version before the keyed chain wrote them: plain SHA-256 links, head moved along.
async fn legacy_records(pool: &sqlx::AnyPool, n: i64) {
    let mut prev = "0".repeat(64);
    for seq in 1..=n {
        let r = AuditEvent::RidStatus.record(&super::ctx(), t0(), None, format!("legacy {seq}"));
        let hash = chain_hash(&prev, seq, &r);
        sqlx::query(
            "INSERT INTO audit_log (seq, event_id, event_name, event_type, action_at, host_name, host_ip, app_id, \
             app_name, session_user_id, session_user_name, module_id, module_name, ref_id, ref_id_type, description, \
             created_by, request_id, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        )
        .bind(seq)
        .bind(&r.event_id)
        .bind(&r.event_name)
        .bind(&r.event_type)
        .bind(resident_domain::clock::epoch_ms(r.action_at))
        .bind(&r.host_name)
        .bind(&r.host_ip)
        .bind(&r.app_id)
        .bind(&r.app_name)
        .bind(&r.session_user_id)
        .bind(&r.session_user_name)
        .bind(&r.module_id)
        .bind(&r.module_name)
        .bind(&r.ref_id)
        .bind(&r.ref_id_type)
        .bind(&r.description)
        .bind(&r.created_by)
        .bind(&r.request_id)
        .bind(&prev)
        .bind(&hash)
        .execute(pool)
        .await
        .unwrap();
        prev = hash;
    }
    // and then the migration to the keyed chain: it starts at the next record
    sqlx::query("UPDATE audit_head SET seq = $1, last_hash = $2, keyed_from = $3 WHERE id = 1")
        .bind(n)
        .bind(&prev)
        .bind(n + 1)
        .execute(pool)
        .await
        .unwrap();
}

/// What someone who can write the database but has not the data key does after editing record
/// `from`: recompute every link from there with the only hash they can compute, SHA-256.
async fn rechain_without_key(pool: &sqlx::AnyPool, store: &resident_store::Store, from: i64) {
    let records = store.recent_audit(10_000).await.unwrap();
    let mut records: Vec<_> = records.into_iter().rev().collect();
    let n = records.len() as i64;
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, prev_hash FROM audit_log WHERE seq = $1").bind(from).fetch_all(pool).await.unwrap();
    let mut prev = rows[0].1.clone();
    for seq in from..=n {
        let r = &mut records[(seq - 1) as usize];
        let hash = chain_hash(&prev, seq, r);
        sqlx::query("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3")
            .bind(&prev)
            .bind(&hash)
            .bind(seq)
            .execute(pool)
            .await
            .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE id = 1").bind(&prev).execute(pool).await.unwrap();
}

pub async fn an_old_chain_keeps_verifying_and_goes_on_keyed(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    let pool = super::raw(&db).await;
    legacy_records(&pool, 3).await;
    assert_eq!(store.verify_audit_chain().await.unwrap(), ChainReport::Intact { records: 3 });
    super::seed_audit(&store, 3).await;
    assert_eq!(store.verify_audit_chain().await.unwrap(), ChainReport::Intact { records: 6 });
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY seq").fetch_all(&pool).await.unwrap();
    assert!(hashes[..3].iter().all(|h| !h.starts_with("k1:")) && hashes[3..].iter().all(|h| h.starts_with("k1:")));
    let cp = store.advance_checkpoint(None, 1).await.unwrap().unwrap();
    assert_eq!((cp.seq, cp.keyed_from), (6, Some(4)));
    assert_eq!(store.verify_audit_chain_against(Some(&cp)).await.unwrap(), ChainReport::Intact { records: 6 });
    // rewriting the keyed part as a plain chain, head and all, is seen even without the checkpoint
    pool.execute("UPDATE audit_log SET description = 'nothing to see' WHERE seq = 5").await.unwrap();
    rechain_without_key(&pool, &store, 4).await;
    assert!(matches!(store.verify_audit_chain().await.unwrap(), ChainReport::Broken { seq: 4, .. }));
    // clearing where the keyed chain starts is seen too
    pool.execute("UPDATE audit_head SET keyed_from = NULL").await.unwrap();
    assert!(matches!(store.verify_audit_chain().await.unwrap(), ChainReport::Broken { .. }));
    // and moving it past the end fools the chain alone, not the checkpoint
    pool.execute("UPDATE audit_head SET keyed_from = 7").await.unwrap();
    assert_eq!(
        store.verify_audit_chain().await.unwrap(),
        ChainReport::Intact { records: 6 },
        "the chain alone is fooled"
    );
    assert!(matches!(store.verify_audit_chain_against(Some(&cp)).await.unwrap(), ChainReport::Broken { seq: 4, .. }));
}

pub async fn a_keyed_record_cannot_be_forged_by_rechaining(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    super::seed_audit(&store, 6).await;
    let pool = super::raw(&db).await;
    pool.execute("UPDATE audit_log SET description = 'nothing happened' WHERE seq = 3").await.unwrap();
    rechain_without_key(&pool, &store, 3).await;
    match store.verify_audit_chain().await.unwrap() {
        ChainReport::Broken { seq, reason } => assert_eq!(seq, 3, "{reason}"),
        other => panic!("rechained tampering not found: {other:?}"),
    }
}

pub async fn a_checkpoint_catches_a_cut_tail_and_reordering(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    super::seed_audit(&store, 5).await;
    let cp = store.advance_checkpoint(None, 1).await.unwrap().unwrap();
    assert_eq!(cp.seq, 5);
    super::seed_audit(&store, 2).await;
    // the next round verifies only the two new records and moves on
    let next = store.advance_checkpoint(Some(&cp), 2).await.unwrap().unwrap();
    assert_eq!(next.seq, 7);
    let pool = super::raw(&db).await;
    // cut off the last three, and move the head back to the fourth: a consistent, shorter chain
    let h4: String = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = 4").fetch_one(&pool).await.unwrap();
    pool.execute("DELETE FROM audit_log WHERE seq > 4").await.unwrap();
    sqlx::query("UPDATE audit_head SET seq = 4, last_hash = $1").bind(&h4).execute(&pool).await.unwrap();
    assert_eq!(
        store.verify_audit_chain().await.unwrap(),
        ChainReport::Intact { records: 4 },
        "the chain alone is fooled"
    );
    match store.verify_audit_chain_against(Some(&next)).await.unwrap() {
        ChainReport::Broken { seq, reason } => assert_eq!(seq, 5, "{reason}"),
        other => panic!("cut tail not found: {other:?}"),
    }
    assert!(store.advance_checkpoint(Some(&next), 3).await.unwrap().is_err(), "a cut chain is not checkpointed");
    // a checkpoint edited to match is refused: its tag is keyed
    let forged = resident_store::audit::Checkpoint { seq: 4, hash: h4.clone(), ..next.clone() };
    assert!(!store.checkpoint_valid(&forged));
    assert!(matches!(store.verify_audit_chain_against(Some(&forged)).await.unwrap(), ChainReport::Broken { .. }));
}

pub async fn reordered_records_are_found(kind: Db) {
    let Some((db, store)) = fresh(kind).await else { return };
    super::seed_audit(&store, 4).await;
    let pool = super::raw(&db).await;
    // swap records 2 and 3 (their sequence numbers)
    pool.execute("UPDATE audit_log SET seq = 100 WHERE seq = 2").await.unwrap();
    pool.execute("UPDATE audit_log SET seq = 2 WHERE seq = 3").await.unwrap();
    pool.execute("UPDATE audit_log SET seq = 3 WHERE seq = 100").await.unwrap();
    assert!(matches!(store.verify_audit_chain().await.unwrap(), ChainReport::Broken { seq: 2, .. }));
}
