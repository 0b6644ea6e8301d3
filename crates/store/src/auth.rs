//! The embedded IDA and ID Repository parts that authentication needs: OTPs (keyed hashes only),
//! the per-identity failure guard, VIDs (encrypted, found by keyed hash), auth-type locks and
//! authentication transactions. Every change commits with its effects (audit, notification jobs,
//! service-history event) in one transaction.

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::authtype::{AuthType, LockState};
use resident_domain::clock::{epoch_ms, from_epoch_ms};
use resident_domain::history::IdentityToken;
use resident_domain::ids::{IndividualId, Vid};
use resident_domain::otp::{Otp, OtpPolicy, OtpRefusal, Requester};
use resident_domain::ports::{
    AuthTransaction, DemoOutcome, Effects, EffectsStore, IdaRecords, IdentityRecords, NewOtp, OtpIssueRefusal, Partner,
    PartnerRecords, Resolved,
};
use resident_domain::vid::VidRecord;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::{Store, audit, db_err, history, jobs};

/// The job kind that delivers an `OutgoingMessage`.
pub const NOTIFICATION_JOB: &str = "notification";

impl Store {
    /// The OTP's keyed hash binds it to the identity, the exact id it was asked for with (a UIN's OTP
    /// does not work with its VID), the requester and the transaction id.
    fn otp_hash(&self, who: &Resolved, requester: &str, transaction_id: &str, otp: &Otp) -> String {
        let (identity, named) = (who.guard_key(), who.named_by());
        self.vault().lookup_hash("otp", &format!("{identity}:{named}:{requester}:{transaction_id}:{}", otp.expose()))
    }

    fn vid_hash(&self, vid: &Vid) -> String {
        self.vault().lookup_hash("vid", vid.expose())
    }

    async fn identity_by(&self, column_is_id: bool, key: &str) -> Result<Option<Resolved>, StoreError> {
        Ok(self.identity_row(column_is_id, key).await?.map(|row| Resolved {
            identity_id: row.id,
            uin: row.uin,
            token: row.token,
            status: row.status,
            identity: row.identity,
            vid: None,
        }))
    }

    fn vid_from_row(&self, row: &sqlx::any::AnyRow) -> Result<(String, VidRecord), StoreError> {
        let hash: String = row.try_get("vid_hash").map_err(db_err)?;
        let sealed: Vec<u8> = row.try_get("data").map_err(db_err)?;
        let clear = self.vault().open(hash.as_bytes(), &sealed)?;
        let vid = Vid::parse(&String::from_utf8_lossy(&clear))
            .map_err(|_| StoreError::Integrity("stored VID does not validate".into()))?;
        Ok((
            row.try_get("identity_id").map_err(db_err)?,
            VidRecord {
                vid,
                vid_type: row.try_get("vid_type").map_err(db_err)?,
                status: row.try_get("status").map_err(db_err)?,
                created_at: from_epoch_ms(row.try_get("created_at").map_err(db_err)?),
                expires_at: row.try_get::<Option<i64>, _>("expires_at").map_err(db_err)?.map(from_epoch_ms),
                transactions_left: row.try_get("transactions_left").map_err(db_err)?,
            },
        ))
    }

    async fn insert_vid(
        &self,
        conn: &mut AnyConnection,
        identity_id: &str,
        v: &VidRecord,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let hash = self.vid_hash(&v.vid);
        sqlx::query(
            "INSERT INTO vid (vid_hash, identity_id, vid_type, status, data, created_at, expires_at, transactions_left, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&hash)
        .bind(identity_id)
        .bind(&v.vid_type)
        .bind(&v.status)
        .bind(self.vault().seal(hash.as_bytes(), v.vid.expose().as_bytes())?)
        .bind(epoch_ms(v.created_at))
        .bind(v.expires_at.map(epoch_ms))
        .bind(v.transactions_left)
        .bind(epoch_ms(now))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Commits `effects` inside the caller's transaction.
    pub(crate) async fn apply_effects(
        &self,
        conn: &mut AnyConnection,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        for message in &effects.notifications {
            let payload = serde_json::to_string(message).map_err(|e| StoreError::Integrity(e.to_string()))?;
            jobs::enqueue_in(conn, self.vault(), NOTIFICATION_JOB, &payload, now, now).await?;
        }
        if let Some(event) = &effects.event {
            history::insert_event_in(conn, event).await?;
        }
        for t in &effects.auth_transactions {
            sqlx::query(
                "INSERT INTO auth_transaction (id, token_id, request_at, auth_type_code, status_code, status_comment, \
                 ref_id_type, entity_name, transaction_id, response_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(&t.token.0)
            .bind(epoch_ms(t.at))
            .bind(&t.auth_type_code)
            .bind(&t.status_code)
            .bind(&t.status_comment)
            .bind(&t.ref_id_type)
            .bind(&t.entity_name)
            .bind(&t.transaction_id)
            .bind(&t.response_code)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        }
        crate::access::insert_in(conn, self, &effects.accesses).await?;
        audit::append_in(conn, self.vault(), &effects.audit).await
    }

    /// Locks the identity's guard row for this transaction (an UPDATE takes the row lock on PostgreSQL;
    /// SQLite has one writer) and returns it.
    async fn lock_guard(&self, conn: &mut AnyConnection, key: &str) -> Result<Guard, StoreError> {
        // one statement: creates the row on first use, and locks it (PostgreSQL) either way
        let row = sqlx::query(
            "INSERT INTO otp_guard (identity_hash, failed_attempts, frozen_until) VALUES ($1, 0, NULL) \
             ON CONFLICT (identity_hash) DO UPDATE SET failed_attempts = otp_guard.failed_attempts \
             RETURNING failed_attempts, frozen_until, window_start",
        )
        .bind(key)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
        let failed: i64 = row.try_get("failed_attempts").map_err(db_err)?;
        if failed < 0 {
            return Err(StoreError::Integrity("negative failure count".into()));
        }
        Ok(Guard {
            failed,
            frozen_until: row.try_get("frozen_until").map_err(db_err)?,
            window_start: row.try_get("window_start").map_err(db_err)?,
        })
    }

    async fn set_guard(&self, conn: &mut AnyConnection, key: &str, g: &Guard) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE otp_guard SET failed_attempts = $1, frozen_until = $2, window_start = $3 WHERE identity_hash = $4",
        )
        .bind(g.failed)
        .bind(g.frozen_until)
        .bind(g.window_start)
        .bind(key)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// How many OTP rows exist (for tests and operators): the OTPs themselves are never stored.
    pub async fn count_otps(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM otp_transaction").fetch_one(self.reader()).await.map_err(db_err)
    }
}

/// A failure guard: OTPs count the identity's wrong answers since `window_start` (a day); partners'
/// demographic guards count mismatches in a row (no window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Guard {
    failed: i64,
    frozen_until: Option<i64>,
    window_start: Option<i64>,
}

const DAY_MS: i64 = 86_400_000;

/// Whose failures freeze whom: a requester's OTPs are frozen by wrong answers to that requester's
/// OTPs only, so a partner's bad retries never lock the resident out of their own account (and a
/// guesser at one partner gains nothing elsewhere). The resident's guard keeps the identity's key,
/// and the OTPs that prove a new contact of theirs (`contact:…`) share it.
fn otp_guard_key(who: &Resolved, requester: &str) -> String {
    if requester == Requester::Resident.key() || requester.starts_with("contact:") {
        who.guard_key().to_owned()
    } else {
        format!("{requester}:{}", who.guard_key())
    }
}

fn partner_from_row(r: &sqlx::any::AnyRow) -> Result<Partner, StoreError> {
    Ok(Partner {
        id: r.try_get("id").map_err(db_err)?,
        name: r.try_get("name").map_err(db_err)?,
        partner_type: r.try_get("partner_type").map_err(db_err)?,
        api_key_sha256: r.try_get("api_key_hash").map_err(db_err)?,
        status: r.try_get("status").map_err(db_err)?,
    })
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[async_trait]
impl EffectsStore for Store {
    async fn record_effects(&self, effects: &Effects, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl IdentityRecords for Store {
    async fn resolve(&self, id: &IndividualId, now: OffsetDateTime) -> Result<Option<Resolved>, StoreError> {
        match id {
            IndividualId::Uin(uin) => self.identity_by(false, &self.vault().lookup_hash("uin", uin.expose())).await,
            IndividualId::Vid(vid) => {
                let Some((identity_id, record)) = self.vid_record(vid).await? else { return Ok(None) };
                if !record.usable(now) {
                    return Ok(None);
                }
                Ok(self.identity_by(true, &identity_id).await?.map(|r| Resolved { vid: Some(record), ..r }))
            }
        }
    }

    async fn vids(&self, identity_id: &str, now: OffsetDateTime) -> Result<Vec<VidRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT vid_hash, identity_id, vid_type, status, data, created_at, expires_at, transactions_left FROM vid \
             WHERE identity_id = $1 AND status = 'ACTIVE' ORDER BY created_at DESC, vid_hash",
        )
        .bind(identity_id)
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        let mut out = Vec::new();
        for r in &rows {
            let (_, v) = self.vid_from_row(r)?;
            if v.usable(now) {
                out.push(v);
            }
        }
        Ok(out)
    }

    async fn create_vid(
        &self,
        who: &Resolved,
        vid: &VidRecord,
        retire: &[Vid],
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        for old in retire {
            sqlx::query("UPDATE vid SET status = 'REVOKED', updated_at = $1 WHERE vid_hash = $2 AND identity_id = $3")
                .bind(epoch_ms(now))
                .bind(self.vid_hash(old))
                .bind(&who.identity_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        self.insert_vid(&mut tx, &who.identity_id, vid, now).await?;
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn set_vid_status(
        &self,
        who: &Resolved,
        vid: &Vid,
        status: &str,
        replacement: Option<&VidRecord>,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        // a VID whose transactions are used up (USED) can still be revoked, as in MOSIP 1.2.1
        let changed = sqlx::query(
            "UPDATE vid SET status = $1, updated_at = $2 \
             WHERE vid_hash = $3 AND identity_id = $4 AND status IN ('ACTIVE', 'USED')",
        )
        .bind(status)
        .bind(epoch_ms(now))
        .bind(self.vid_hash(vid))
        .bind(&who.identity_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if changed.rows_affected() != 1 {
            return Err(StoreError::Conflict("the VID is neither active nor used up".into()));
        }
        if let Some(r) = replacement {
            self.insert_vid(&mut tx, &who.identity_id, r, now).await?;
        }
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn vid_record(&self, vid: &Vid) -> Result<Option<(String, VidRecord)>, StoreError> {
        let row = sqlx::query(
            "SELECT vid_hash, identity_id, vid_type, status, data, created_at, expires_at, transactions_left FROM vid WHERE vid_hash = $1",
        )
        .bind(self.vid_hash(vid))
        .fetch_optional(self.reader())
        .await
        .map_err(db_err)?;
        row.as_ref().map(|r| self.vid_from_row(r)).transpose()
    }

    async fn lock_states(&self, identity_id: &str) -> Result<Vec<LockState>, StoreError> {
        let rows = sqlx::query(
            "SELECT auth_type, locked, unlock_until FROM auth_lock WHERE identity_id = $1 ORDER BY auth_type",
        )
        .bind(identity_id)
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let t: String = r.try_get("auth_type").map_err(db_err)?;
                Ok(LockState {
                    auth_type: AuthType::parse(&t)
                        .ok_or_else(|| StoreError::Integrity(format!("unknown auth type {t:?}")))?,
                    locked: r.try_get::<i64, _>("locked").map_err(db_err)? != 0,
                    unlock_until_ms: r.try_get("unlock_until").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn set_locks(
        &self,
        identity_id: &str,
        states: &[LockState],
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        for s in states {
            sqlx::query(
                "INSERT INTO auth_lock (identity_id, auth_type, locked, unlock_until, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (identity_id, auth_type) DO UPDATE SET locked = excluded.locked, \
                 unlock_until = excluded.unlock_until, updated_at = excluded.updated_at",
            )
            .bind(identity_id)
            .bind(s.auth_type.code())
            .bind(crate::flag(s.locked))
            .bind(s.unlock_until_ms)
            .bind(epoch_ms(now))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl IdaRecords for Store {
    async fn issue_otp(
        &self,
        who: &Resolved,
        otp: &NewOtp,
        policy: &OtpPolicy,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<Result<(), OtpIssueRefusal>, StoreError> {
        let key = who.guard_key();
        let now_ms = epoch_ms(now);
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let guard = self.lock_guard(&mut tx, &otp_guard_key(who, &otp.requester)).await?;
        if guard.frozen_until.is_some_and(|u| u > now_ms) {
            return Ok(Err(OtpIssueRefusal::Frozen));
        }
        let recent: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM otp_transaction WHERE identity_hash = $1 AND generated_at > $2")
                .bind(key)
                .bind(now_ms - policy.flooding_window_seconds * 1000)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        if recent >= policy.flooding_max {
            return Ok(Err(OtpIssueRefusal::Flooded));
        }
        // a new OTP for the same transaction replaces the old one
        sqlx::query(
            "UPDATE otp_transaction SET status = 'replaced' \
             WHERE identity_hash = $1 AND transaction_id = $2 AND requester = $3 AND status = 'active'",
        )
        .bind(key)
        .bind(&otp.transaction_id)
        .bind(&otp.requester)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let channels: Vec<&str> = otp.channels.iter().map(|c| c.code()).collect();
        sqlx::query(
            "INSERT INTO otp_transaction (id, identity_hash, transaction_id, otp_hash, channels, status, generated_at, \
             expires_at, requester) VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(key)
        .bind(&otp.transaction_id)
        .bind(self.otp_hash(who, &otp.requester, &otp.transaction_id, &otp.otp))
        .bind(channels.join(","))
        .bind(now_ms)
        .bind(now_ms + policy.validity_seconds * 1000)
        .bind(&otp.requester)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Ok(()))
    }

    async fn verify_otp(
        &self,
        who: &Resolved,
        requester: &str,
        transaction_id: &str,
        otp: &Otp,
        policy: &OtpPolicy,
        now: OffsetDateTime,
        effects_for: &(dyn Fn(Result<(), OtpRefusal>) -> Effects + Send + Sync),
    ) -> Result<Result<(), OtpRefusal>, StoreError> {
        let key = who.guard_key();
        let guard_key = otp_guard_key(who, requester);
        let now_ms = epoch_ms(now);
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let guard = self.lock_guard(&mut tx, &guard_key).await?;
        if let Some(until) = guard.frozen_until.filter(|u| *u > now_ms) {
            let result = Err(OtpRefusal::Frozen { until_ms: until });
            self.apply_effects(&mut tx, &effects_for(result), now).await?;
            tx.commit().await.map_err(db_err)?;
            return Ok(result);
        }
        let row = sqlx::query(
            "SELECT id, otp_hash, status, expires_at, failed_attempts FROM otp_transaction \
             WHERE identity_hash = $1 AND transaction_id = $2 AND requester = $3 \
             ORDER BY generated_at DESC, id DESC LIMIT 1",
        )
        .bind(key)
        .bind(transaction_id)
        .bind(requester)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        // Only a wrong answer to a live OTP counts toward a freeze: a transaction without one (never
        // issued, issued to someone else or by another requester, used, replaced or expired) has nothing
        // to guess, so a stranger cannot freeze an identity by sending codes for made-up transactions.
        let outcome = match &row {
            None => Err((OtpRefusal::NoSuchTransaction, None)),
            Some(r) => {
                let stored: String = r.try_get("otp_hash").map_err(db_err)?;
                let status: String = r.try_get("status").map_err(db_err)?;
                let expires: i64 = r.try_get("expires_at").map_err(db_err)?;
                if status != "active" {
                    Err((OtpRefusal::Invalid, None))
                } else if expires <= now_ms {
                    Err((OtpRefusal::Expired, None))
                } else if !constant_time_eq(&stored, &self.otp_hash(who, requester, transaction_id, otp)) {
                    let id: String = r.try_get("id").map_err(db_err)?;
                    Err((OtpRefusal::Invalid, Some((id, r.try_get::<i64, _>("failed_attempts").map_err(db_err)?))))
                } else {
                    Ok(r.try_get::<String, _>("id").map_err(db_err)?)
                }
            }
        };
        let result = match outcome {
            Ok(otp_id) => {
                let used =
                    sqlx::query("UPDATE otp_transaction SET status = 'used' WHERE id = $1 AND status = 'active'")
                        .bind(&otp_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                if used.rows_affected() != 1 {
                    return Err(StoreError::Conflict("OTP used concurrently".into()));
                }
                self.set_guard(&mut tx, &guard_key, &Guard { failed: 0, frozen_until: None, window_start: None })
                    .await?;
                if let Some(v) = who.vid.as_ref().filter(|v| v.transactions_left.is_some()) {
                    sqlx::query(
                        "UPDATE vid SET transactions_left = transactions_left - 1, \
                         status = CASE WHEN transactions_left <= 1 THEN 'USED' ELSE status END, updated_at = $1 \
                         WHERE vid_hash = $2 AND transactions_left > 0",
                    )
                    .bind(now_ms)
                    .bind(self.vid_hash(&v.vid))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                Ok(())
            }
            Err((refusal, None)) => Err(refusal),
            Err((refusal, Some((otp_id, before)))) => {
                // MOSIP's rule: the fifth wrong answer to one OTP freezes the identity (a new OTP starts
                // a new count); ours on top: so many wrong answers in a day, all OTPs together
                let this_otp = before + 1;
                sqlx::query(
                    "UPDATE otp_transaction SET failed_attempts = $1, \
                     status = CASE WHEN $2 THEN 'frozen' ELSE status END WHERE id = $3",
                )
                .bind(this_otp)
                .bind(this_otp >= policy.max_failed_attempts)
                .bind(&otp_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let window = guard.window_start.filter(|w| now_ms - *w < DAY_MS).unwrap_or(now_ms);
                let in_window = if Some(window) == guard.window_start { guard.failed + 1 } else { 1 };
                let mut until = None;
                if this_otp >= policy.max_failed_attempts {
                    until = Some(now_ms + policy.freeze_seconds * 1000);
                }
                if in_window >= policy.max_failed_per_day {
                    until = until.max(Some(window + DAY_MS));
                }
                let next = Guard { failed: in_window, frozen_until: until, window_start: Some(window) };
                self.set_guard(&mut tx, &guard_key, &next).await?;
                match until {
                    Some(until_ms) => Err(OtpRefusal::Frozen { until_ms }),
                    None => Err(refusal),
                }
            }
        };
        self.apply_effects(&mut tx, &effects_for(result), now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(result)
    }

    async fn demo_attempt(
        &self,
        who: &Resolved,
        partner_id: &str,
        matched: bool,
        policy: &OtpPolicy,
        now: OffsetDateTime,
    ) -> Result<DemoOutcome, StoreError> {
        // one guard per (identity, partner): a partner's guesses cannot freeze another partner's checks
        let key = format!("demo:{partner_id}:{}", who.guard_key());
        let now_ms = epoch_ms(now);
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let guard = self.lock_guard(&mut tx, &key).await?;
        if let Some(until) = guard.frozen_until.filter(|u| *u > now_ms) {
            tx.rollback().await.map_err(db_err)?;
            return Ok(DemoOutcome::Frozen { until_ms: until });
        }
        // mismatches within a day, which a match does not reset: a partner that knows the name and the
        // date of birth could otherwise probe a third attribute four times, match once, and go on
        let window = guard.window_start.filter(|w| now_ms - *w < DAY_MS).unwrap_or(now_ms);
        let failed = if Some(window) == guard.window_start { guard.failed } else { 0 };
        let outcome = if matched {
            DemoOutcome::Matched
        } else {
            let failed = failed + 1;
            let until = (failed >= policy.max_failed_attempts).then_some(window + DAY_MS);
            self.set_guard(&mut tx, &key, &Guard { failed, frozen_until: until, window_start: Some(window) }).await?;
            DemoOutcome::Mismatch
        };
        tx.commit().await.map_err(db_err)?;
        Ok(outcome)
    }

    async fn auth_transactions(
        &self,
        token: &IdentityToken,
        page_start: u32,
        page_fetch: u32,
    ) -> Result<Vec<AuthTransaction>, StoreError> {
        let rows = sqlx::query(
            "SELECT token_id, request_at, auth_type_code, status_code, status_comment, ref_id_type, entity_name, \
             transaction_id, response_code FROM auth_transaction WHERE token_id = $1 \
             ORDER BY request_at DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .bind(&token.0)
        .bind(i64::from(page_fetch))
        .bind(i64::from(page_start.saturating_sub(1)) * i64::from(page_fetch))
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(AuthTransaction {
                    token: IdentityToken(r.try_get("token_id").map_err(db_err)?),
                    at: from_epoch_ms(r.try_get("request_at").map_err(db_err)?),
                    auth_type_code: r.try_get("auth_type_code").map_err(db_err)?,
                    status_code: r.try_get("status_code").map_err(db_err)?,
                    status_comment: r.try_get("status_comment").map_err(db_err)?,
                    ref_id_type: r.try_get("ref_id_type").map_err(db_err)?,
                    entity_name: r.try_get("entity_name").map_err(db_err)?,
                    transaction_id: r.try_get("transaction_id").map_err(db_err)?,
                    response_code: r.try_get("response_code").map_err(db_err)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl PartnerRecords for Store {
    async fn partner(&self, partner_id: &str) -> Result<Option<Partner>, StoreError> {
        let row = sqlx::query("SELECT id, name, partner_type, api_key_hash, status FROM partner WHERE id = $1")
            .bind(partner_id)
            .fetch_optional(self.reader())
            .await
            .map_err(db_err)?;
        row.as_ref().map(partner_from_row).transpose()
    }

    async fn add_partner(&self, p: &Partner, effects: &Effects, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query("INSERT INTO partner (id, name, partner_type, api_key_hash, status, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&p.id)
            .bind(&p.name)
            .bind(&p.partner_type)
            .bind(&p.api_key_sha256)
            .bind(&p.status)
            .bind(epoch_ms(now))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        let rows = sqlx::query("SELECT id, name, partner_type, api_key_hash, status FROM partner ORDER BY id")
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?;
        rows.iter().map(partner_from_row).collect()
    }

    async fn demo_policy(&self, partner_id: &str) -> Result<Option<Vec<String>>, StoreError> {
        let row: Option<String> =
            sqlx::query_scalar("SELECT attributes FROM partner_auth_policy WHERE partner_id = $1")
                .bind(partner_id)
                .fetch_optional(self.reader())
                .await
                .map_err(db_err)?;
        row.map(|text| serde_json::from_str(&text).map_err(|e| StoreError::Integrity(format!("auth policy: {e}"))))
            .transpose()
    }

    async fn set_demo_policy(
        &self,
        partner_id: &str,
        attributes: &[String],
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(attributes).map_err(|e| StoreError::Integrity(e.to_string()))?;
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO partner_auth_policy (partner_id, attributes, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (partner_id) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at",
        )
        .bind(partner_id)
        .bind(text)
        .bind(epoch_ms(now))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)
    }
}
