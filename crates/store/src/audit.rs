//! The audit log: every record is chained to the one before it (SHA-256 over the previous hash and the
//! record's fields), so an edited, deleted or reordered row is found by `verify`.
//!
//! Records that belong to a state change are appended inside that change's transaction
//! ([`append_in`]). Records that stand alone (reads, refusals) go through [`AuditWriter`], which
//! commits waiting records together in one transaction (group commit) and answers each caller once
//! its record is durable.

use resident_domain::StoreError;
use resident_domain::audit::AuditRecord;
use resident_domain::clock::{epoch_ms, from_epoch_ms};
use resident_domain::ports::AuditLog;
use sha2::{Digest, Sha256};
use sqlx::{Any, AnyConnection, AnyPool, Row};
use tokio::sync::{mpsc, oneshot};

use crate::{Backend, Store, db_err};

const BATCH: usize = 512;
const INSERT_CHUNK: usize = 64;
const AUDIT_COLUMNS: usize = 20;

/// `INSERT … VALUES ($1, …, $20), ($21, …)` for `rows` records. Only placeholders are generated; no
/// value ever becomes SQL text. SQLite gets anonymous `?` placeholders: sqlx looks every named one up
/// with `sqlite3_bind_parameter_name`, which scans a list, so `$n` costs O(n²) per statement.
fn insert_sql(rows: usize, anonymous: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO audit_log (seq, event_id, event_name, event_type, action_at, host_name, host_ip, app_id, \
         app_name, session_user_id, session_user_name, module_id, module_name, ref_id, ref_id_type, description, \
         created_by, request_id, prev_hash, hash) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..AUDIT_COLUMNS {
            if col > 0 {
                sql.push_str(", ");
            }
            if anonymous {
                sql.push('?');
            } else {
                sql.push_str(&format!("${}", row * AUDIT_COLUMNS + col + 1));
            }
        }
        sql.push(')');
    }
    sql
}

/// The chain hash of a record at `seq` following `prev`: SHA-256 over the previous hash and every
/// field, each length-prefixed (so no two different records hash the same bytes).
pub fn chain_hash(prev: &str, seq: i64, r: &AuditRecord) -> String {
    fn field(h: &mut Sha256, bytes: &[u8]) {
        h.update((bytes.len() as u32).to_be_bytes());
        h.update(bytes);
    }
    fn opt(h: &mut Sha256, v: &Option<String>) {
        match v {
            Some(s) => {
                h.update([1u8]);
                field(h, s.as_bytes());
            }
            None => h.update([0u8]),
        }
    }
    let mut h = Sha256::new();
    field(&mut h, prev.as_bytes());
    h.update(seq.to_be_bytes());
    h.update(epoch_ms(r.action_at).to_be_bytes());
    for s in [
        &r.event_id,
        &r.event_name,
        &r.event_type,
        &r.host_name,
        &r.host_ip,
        &r.app_id,
        &r.app_name,
        &r.session_user_id,
        &r.session_user_name,
        &r.module_id,
        &r.module_name,
        &r.description,
        &r.created_by,
    ] {
        field(&mut h, s.as_bytes());
    }
    opt(&mut h, &r.ref_id);
    opt(&mut h, &r.ref_id_type);
    opt(&mut h, &r.request_id);
    hex::encode(h.finalize())
}

/// Appends records inside the caller's transaction. On PostgreSQL the head row stays locked until the
/// transaction ends, which orders the chain across replicas.
pub(crate) async fn append_in(conn: &mut AnyConnection, records: &[AuditRecord]) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let n = records.len() as i64;
    let head = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, last_hash")
        .bind(n)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    let last_seq: i64 = head.try_get("seq").map_err(db_err)?;
    let mut prev: String = head.try_get("last_hash").map_err(db_err)?;
    let mut seq = last_seq - n;
    // multi-row INSERTs: one statement per chunk instead of one per record
    let anonymous = conn.backend_name() == "SQLite";
    for chunk in records.chunks(INSERT_CHUNK) {
        let sql = insert_sql(chunk.len(), anonymous);
        let mut q = sqlx::query(&sql);
        for r in chunk {
            seq += 1;
            let hash = chain_hash(&prev, seq, r);
            q = q
                .bind(seq)
                .bind(&r.event_id)
                .bind(&r.event_name)
                .bind(&r.event_type)
                .bind(epoch_ms(r.action_at))
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
                .bind(std::mem::replace(&mut prev, hash.clone()))
                .bind(hash);
        }
        q.execute(&mut *conn).await.map_err(db_err)?;
    }
    sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

type Pending = (AuditRecord, oneshot::Sender<Result<(), StoreError>>);

/// Group-commit writer for stand-alone audit records.
pub(crate) struct AuditWriter {
    tx: std::sync::Mutex<Option<mpsc::Sender<Pending>>>,
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl AuditWriter {
    pub(crate) fn spawn(pool: AnyPool, _backend: Backend) -> Self {
        let (tx, mut rx) = mpsc::channel::<Pending>(8192);
        let task = tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                let (records, replies): (Vec<AuditRecord>, Vec<_>) = batch.drain(..).unzip();
                let result = write_batch(&pool, &records).await;
                if let Err(e) = &result {
                    tracing::error!(error = %e, records = records.len(), "audit batch failed");
                }
                for reply in replies {
                    let _ = reply.send(result.clone());
                }
            }
        });
        AuditWriter { tx: std::sync::Mutex::new(Some(tx)), task: tokio::sync::Mutex::new(Some(task)) }
    }

    async fn append(&self, record: AuditRecord) -> Result<(), StoreError> {
        let stopped = || StoreError::Unavailable("audit writer stopped".into());
        let tx = self.tx.lock().ok().and_then(|g| g.clone()).ok_or_else(stopped)?;
        let (reply, wait) = oneshot::channel();
        tx.send((record, reply)).await.map_err(|_| stopped())?;
        wait.await.map_err(|_| stopped())?
    }

    /// Stops taking records, lets the queued ones commit, then ends the writer.
    pub(crate) async fn shutdown(&self) {
        if let Ok(mut g) = self.tx.lock() {
            g.take();
        }
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }
}

async fn write_batch(pool: &AnyPool, records: &[AuditRecord]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    append_in(&mut tx, records).await?;
    tx.commit().await.map_err(db_err)
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    Intact { records: i64 },
    Broken { seq: i64, reason: String },
}

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<AuditRecord, sqlx::Error> {
    Ok(AuditRecord {
        event_id: row.try_get("event_id")?,
        event_name: row.try_get("event_name")?,
        event_type: row.try_get("event_type")?,
        action_at: from_epoch_ms(row.try_get("action_at")?),
        host_name: row.try_get("host_name")?,
        host_ip: row.try_get("host_ip")?,
        app_id: row.try_get("app_id")?,
        app_name: row.try_get("app_name")?,
        session_user_id: row.try_get("session_user_id")?,
        session_user_name: row.try_get("session_user_name")?,
        module_id: row.try_get("module_id")?,
        module_name: row.try_get("module_name")?,
        ref_id: row.try_get("ref_id")?,
        ref_id_type: row.try_get("ref_id_type")?,
        description: row.try_get("description")?,
        created_by: row.try_get("created_by")?,
        request_id: row.try_get("request_id")?,
    })
}

impl Store {
    /// Walks the whole chain in order and names the first record that does not verify.
    pub async fn verify_audit_chain(&self) -> Result<ChainReport, StoreError> {
        const PAGE: i64 = 5000;
        let mut prev = "0".repeat(64);
        let mut expected_seq = 1i64;
        loop {
            let rows = sqlx::query::<Any>("SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2")
                .bind(expected_seq)
                .bind(PAGE)
                .fetch_all(self.reader())
                .await
                .map_err(db_err)?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let seq: i64 = row.try_get("seq").map_err(db_err)?;
                if seq != expected_seq {
                    return Ok(ChainReport::Broken { seq: expected_seq, reason: "record is missing".into() });
                }
                let stored_prev: String = row.try_get("prev_hash").map_err(db_err)?;
                let stored_hash: String = row.try_get("hash").map_err(db_err)?;
                let record = record_from_row(row).map_err(db_err)?;
                if stored_prev != prev {
                    return Ok(ChainReport::Broken { seq, reason: "link to the previous record is broken".into() });
                }
                if chain_hash(&prev, seq, &record) != stored_hash {
                    return Ok(ChainReport::Broken { seq, reason: "record content does not match its hash".into() });
                }
                prev = stored_hash;
                expected_seq += 1;
            }
        }
        let head = sqlx::query("SELECT seq, last_hash FROM audit_head WHERE id = 1")
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        let head_seq: i64 = head.try_get("seq").map_err(db_err)?;
        let head_hash: String = head.try_get("last_hash").map_err(db_err)?;
        if head_seq != expected_seq - 1 || head_hash != prev {
            return Ok(ChainReport::Broken {
                seq: expected_seq,
                reason: format!("the chain ends at {} but the head says {head_seq}", expected_seq - 1),
            });
        }
        Ok(ChainReport::Intact { records: expected_seq - 1 })
    }

    /// The newest records, newest first (for operators and tests).
    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query::<Any>("SELECT * FROM audit_log ORDER BY seq DESC LIMIT $1")
            .bind(limit)
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| record_from_row(r).map_err(db_err)).collect()
    }
}

#[async_trait::async_trait]
impl AuditLog for Store {
    async fn append(&self, record: AuditRecord) -> Result<(), StoreError> {
        self.inner.audit.append(record).await
    }
}
