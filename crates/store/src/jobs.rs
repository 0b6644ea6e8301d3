//! Background jobs in the application's own database. A job is enqueued in the same transaction as the
//! change that needs it, claimed with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so any number of
//! replicas can work the queue), and deleted when done. A worker that dies leaves its lease to expire;
//! the job is then claimed again. Handlers must therefore be idempotent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use resident_domain::StoreError;
use resident_domain::clock::{Clock, epoch_ms};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::{Backend, Store, db_err};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

/// Enqueues inside the caller's transaction. Payloads are sealed: a notification's address and text
/// (or an OTP) never sit in the job table in clear.
pub(crate) async fn enqueue_in(
    conn: &mut AnyConnection,
    vault: &crate::Vault,
    kind: &str,
    payload: &str,
    run_after: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    let sealed = base64::engine::general_purpose::STANDARD.encode(vault.seal(id.as_bytes(), payload.as_bytes())?);
    let payload = sealed.as_str();
    sqlx::query(
        "INSERT INTO job (id, kind, payload, status, run_after, attempts, max_attempts, created_at) \
         VALUES ($1, $2, $3, 'queued', $4, 0, $5, $6)",
    )
    .bind(&id)
    .bind(kind)
    .bind(payload)
    .bind(epoch_ms(run_after))
    .bind(MAX_ATTEMPTS)
    .bind(epoch_ms(now))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(id)
}

const MAX_ATTEMPTS: i64 = 8;

// The one statement that differs: PostgreSQL skips rows another replica is claiming.
const CLAIM_SQLITE: &str = "UPDATE job SET locked_by = $1, locked_until = $2, attempts = attempts + 1 \
     WHERE id = (SELECT id FROM job WHERE status = 'queued' AND run_after <= $3 \
     AND (locked_until IS NULL OR locked_until < $3) ORDER BY run_after, id LIMIT 1) \
     RETURNING id, kind, payload, attempts, max_attempts";
const CLAIM_POSTGRES: &str = "UPDATE job SET locked_by = $1, locked_until = $2, attempts = attempts + 1 \
     WHERE id = (SELECT id FROM job WHERE status = 'queued' AND run_after <= $3 \
     AND (locked_until IS NULL OR locked_until < $3) ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
     RETURNING id, kind, payload, attempts, max_attempts";

impl Store {
    pub async fn enqueue_job(
        &self,
        kind: &str,
        payload: &str,
        run_after: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let mut conn = self.writer().acquire().await.map_err(db_err)?;
        enqueue_in(&mut conn, self.vault(), kind, payload, run_after, now).await
    }

    /// Claims the oldest due job for `worker` until `now + lease`.
    pub async fn claim_job(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<Job>, StoreError> {
        let sql = match self.backend() {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        let row = sqlx::query(sql)
            .bind(worker)
            .bind(epoch_ms(now) + lease.as_millis() as i64)
            .bind(epoch_ms(now))
            .fetch_optional(self.writer())
            .await
            .map_err(db_err)?;
        row.map(|r| {
            let id: String = r.try_get("id").map_err(db_err)?;
            let sealed: String = r.try_get("payload").map_err(db_err)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(sealed)
                .map_err(|_| StoreError::Integrity("job payload is not base64".into()))?;
            let payload = String::from_utf8(self.vault().open(id.as_bytes(), &bytes)?.to_vec())
                .map_err(|_| StoreError::Integrity("job payload is not UTF-8".into()))?;
            Ok(Job {
                id,
                kind: r.try_get("kind").map_err(db_err)?,
                payload,
                attempts: r.try_get("attempts").map_err(db_err)?,
                max_attempts: r.try_get("max_attempts").map_err(db_err)?,
            })
        })
        .transpose()
    }

    /// Extends the lease of a job this worker holds; false when it was lost to another worker.
    pub async fn renew_job(
        &self,
        job: &Job,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let renewed = sqlx::query("UPDATE job SET locked_until = $1 WHERE id = $2 AND locked_by = $3")
            .bind(epoch_ms(now) + lease.as_millis() as i64)
            .bind(&job.id)
            .bind(worker)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Deletes a finished job; false when the lease was lost to another worker meanwhile.
    pub async fn complete_job(&self, job: &Job, worker: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM job WHERE id = $1 AND locked_by = $2")
            .bind(&job.id)
            .bind(worker)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    /// Releases a failed job for a retry at `retry_at`, or parks it as `dead` after its last attempt.
    pub async fn fail_job(
        &self,
        job: &Job,
        worker: &str,
        error: &str,
        retry_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let status = if job.attempts >= job.max_attempts { "dead" } else { "queued" };
        sqlx::query(
            "UPDATE job SET status = $1, run_after = $2, locked_by = NULL, locked_until = NULL, last_error = $3 \
             WHERE id = $4 AND locked_by = $5",
        )
        .bind(status)
        .bind(epoch_ms(retry_at))
        .bind(error)
        .bind(&job.id)
        .bind(worker)
        .execute(self.writer())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn job_counts(&self) -> Result<HashMap<String, i64>, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM job GROUP BY status")
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok((r.try_get::<String, _>("status").map_err(db_err)?, r.try_get::<i64, _>("n").map_err(db_err)?)))
            .collect()
    }
}

/// Runs one kind of job. Must be idempotent: a job can run again after a crash.
#[async_trait]
pub trait JobHandler: Send + Sync {
    fn kind(&self) -> &'static str;
    /// Runs `job` (its `payload`; its `id` is the same on every attempt, a key for idempotent effects).
    async fn run(&self, job: &Job, now: OffsetDateTime) -> Result<(), String>;
}

/// A worker loop: claim, run, complete or retry with exponential backoff.
pub struct Worker {
    store: Store,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    clock: Arc<dyn Clock>,
    id: String,
    /// Short, and renewed every third of it while a job runs: a dead worker's job is free again soon.
    pub lease: Duration,
    pub job_timeout: Duration,
    pub poll: Duration,
}

impl Worker {
    pub fn new(store: Store, clock: Arc<dyn Clock>, handlers: Vec<Arc<dyn JobHandler>>) -> Self {
        Worker {
            store,
            handlers: handlers.into_iter().map(|h| (h.kind(), h)).collect(),
            clock,
            id: format!("worker-{}", uuid::Uuid::new_v4()),
            lease: Duration::from_secs(15),
            job_timeout: Duration::from_secs(120),
            poll: Duration::from_millis(500),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Claims and runs at most one job; returns whether there was one.
    pub async fn run_once(&self) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let Some(job) = self.store.claim_job(&self.id, now, self.lease).await? else {
            return Ok(false);
        };
        let result = match self.handlers.get(job.kind.as_str()) {
            None => Err(format!("no handler for job kind {:?}", job.kind)),
            Some(h) => {
                let run = tokio::time::timeout(self.job_timeout, h.run(&job, now));
                tokio::select! {
                    r = run => r.unwrap_or_else(|_| Err("timed out".into())),
                    never = self.keep_leased(&job) => match never {},
                }
            }
        };
        match result {
            Ok(()) => {
                if !self.store.complete_job(&job, &self.id).await? {
                    tracing::warn!(job = %job.id, kind = %job.kind, "job finished after its lease was taken over");
                }
            }
            Err(e) => {
                let backoff = time::Duration::seconds(2i64.saturating_pow(job.attempts.clamp(0, 12) as u32).min(3600));
                tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, error = %e, "job failed");
                self.store.fail_job(&job, &self.id, &e, self.clock.now() + backoff).await?;
            }
        }
        Ok(true)
    }

    /// Renews the job's lease every third of it, for as long as it is polled (never returns).
    async fn keep_leased(&self, job: &Job) -> std::convert::Infallible {
        let mut tick = tokio::time::interval(self.lease / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            match self.store.renew_job(job, &self.id, self.clock.now(), self.lease).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(job = %job.id, kind = %job.kind, "lease lost to another worker"),
                Err(e) => tracing::warn!(job = %job.id, error = %e, "could not renew a job's lease"),
            }
        }
    }

    /// Works the queue until `shutdown` turns true; the job in hand is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, kinds = ?self.handlers.keys().collect::<Vec<_>>(), "job worker started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.run_once().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "job queue unavailable"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!(worker = %self.id, "job worker stopped");
    }
}
