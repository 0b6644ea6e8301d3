//! The audit log: every record is chained to the one before it, so an edited, deleted or reordered row
//! is found by `verify`. The link is an HMAC-SHA-256 under a key derived from the data key (never in
//! the database), written `k1:<hex>`: whoever can write the database but has not the key cannot forge
//! a record nor re-chain the records after one they changed. Records written before the keyed chain
//! (plain SHA-256 links, `<hex>`) keep verifying; once a keyed record appears every later one must be
//! keyed. A signed checkpoint of the head, kept outside the database ([`Checkpoint`]), catches what a
//! chain alone cannot: a tail cut off with the head moved back, or a chain rewritten wholesale.
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

use crate::{Backend, Store, Vault, db_err};

const BATCH: usize = 512;
const INSERT_CHUNK: usize = 64;
const AUDIT_COLUMNS: usize = 20;

/// `INSERT … VALUES ($1, …, $20), ($21, …)` for `rows` records (see [`crate::values_sql`]).
fn insert_sql(rows: usize, anonymous: bool) -> String {
    crate::values_sql(
        "INSERT INTO audit_log (seq, event_id, event_name, event_type, action_at, host_name, host_ip, app_id, \
         app_name, session_user_id, session_user_name, module_id, module_name, ref_id, ref_id_type, description, \
         created_by, request_id, prev_hash, hash)",
        rows,
        AUDIT_COLUMNS,
        anonymous,
        "",
    )
}

/// The bytes a record's link covers: the previous link and every field, each length-prefixed (so no
/// two different records give the same bytes).
fn chain_bytes(prev: &str, seq: i64, r: &AuditRecord) -> Vec<u8> {
    fn field(h: &mut Vec<u8>, bytes: &[u8]) {
        h.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        h.extend_from_slice(bytes);
    }
    fn opt(h: &mut Vec<u8>, v: &Option<String>) {
        match v {
            Some(s) => {
                h.push(1u8);
                field(h, s.as_bytes());
            }
            None => h.push(0u8),
        }
    }
    let mut h = Vec::with_capacity(512);
    field(&mut h, prev.as_bytes());
    h.extend_from_slice(&seq.to_be_bytes());
    h.extend_from_slice(&epoch_ms(r.action_at).to_be_bytes());
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
    h
}

/// The first chain's link (records written before the keyed chain): SHA-256 of [`chain_bytes`].
pub fn chain_hash(prev: &str, seq: i64, r: &AuditRecord) -> String {
    hex::encode(Sha256::digest(chain_bytes(prev, seq, r)))
}

/// What marks a keyed link.
pub const KEYED: &str = "k1:";

/// The keyed link of a record at `seq` following `prev`.
pub fn keyed_hash(vault: &Vault, prev: &str, seq: i64, r: &AuditRecord) -> String {
    format!("{KEYED}{}", hex::encode(vault.audit_mac(&chain_bytes(prev, seq, r))))
}

/// Appends records inside the caller's transaction. On PostgreSQL the head row stays locked until the
/// transaction ends, which orders the chain across replicas.
pub(crate) async fn append_in(
    conn: &mut AnyConnection,
    vault: &Vault,
    records: &[AuditRecord],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let n = records.len() as i64;
    // the first keyed record's sequence is set once, by the first append of a keyed binary
    let head = sqlx::query(
        "UPDATE audit_head SET seq = seq + $1, keyed_from = COALESCE(keyed_from, seq + 1) WHERE id = 1 \
         RETURNING seq, last_hash",
    )
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
            let hash = keyed_hash(vault, &prev, seq, r);
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
    pub(crate) fn spawn(pool: AnyPool, _backend: Backend, vault: Vault) -> Self {
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
                let result = write_batch(&pool, &vault, &records).await;
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

async fn write_batch(pool: &AnyPool, vault: &Vault, records: &[AuditRecord]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    append_in(&mut tx, vault, records).await?;
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

/// The chain's head as it was at `at_ms`, signed with a key derived from the data key. Kept outside
/// the database (a file, and a log line), it lets `verify` tell a chain that was cut off, or rewritten
/// from the start, from an intact one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    /// The first keyed record, once there is one.
    pub keyed_from: Option<i64>,
    pub at_ms: i64,
    pub tag: String,
}

impl Checkpoint {
    fn signed_bytes(&self) -> Vec<u8> {
        format!("resident-audit-checkpoint/v1|{}|{}|{:?}|{}", self.seq, self.hash, self.keyed_from, self.at_ms)
            .into_bytes()
    }
}

/// Where a walk of the chain starts: the genesis, or a checkpoint already verified.
struct Start {
    seq: i64,
    prev: String,
    keyed_from: Option<i64>,
}

/// The head row as one read saw it.
struct Head {
    seq: i64,
    hash: String,
    keyed_from: Option<i64>,
}

impl Store {
    async fn head(&self) -> Result<Head, StoreError> {
        let head = sqlx::query("SELECT seq, last_hash, keyed_from FROM audit_head WHERE id = 1")
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        Ok(Head {
            seq: head.try_get("seq").map_err(db_err)?,
            hash: head.try_get("last_hash").map_err(db_err)?,
            keyed_from: head.try_get("keyed_from").map_err(db_err)?,
        })
    }

    /// The stored link of record `seq`, if there is such a record.
    async fn hash_at(&self, seq: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(seq)
            .fetch_optional(self.reader())
            .await
            .map_err(db_err)?;
        row.map(|r| r.try_get("hash")).transpose().map_err(db_err)
    }

    fn sign(&self, head: &Head, at_ms: i64) -> Checkpoint {
        let mut cp = Checkpoint {
            seq: head.seq,
            hash: head.hash.clone(),
            keyed_from: head.keyed_from,
            at_ms,
            tag: String::new(),
        };
        cp.tag = self.vault().checkpoint_tag(&cp.signed_bytes());
        cp
    }

    /// Whether this data key signed the checkpoint.
    pub fn checkpoint_valid(&self, cp: &Checkpoint) -> bool {
        let want = self.vault().checkpoint_tag(&cp.signed_bytes());
        want.len() == cp.tag.len() && want.bytes().zip(cp.tag.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
    }

    /// Walks the whole chain in order and names the first record that does not verify.
    pub async fn verify_audit_chain(&self) -> Result<ChainReport, StoreError> {
        self.verify_audit_chain_against(None).await
    }

    /// [`Store::verify_audit_chain`], and what the checkpoint proves was there: the chain reaches
    /// its record with its link, and is keyed from where it says.
    pub async fn verify_audit_chain_against(&self, checkpoint: Option<&Checkpoint>) -> Result<ChainReport, StoreError> {
        if let Some(cp) = checkpoint
            && !self.checkpoint_valid(cp)
        {
            return Ok(ChainReport::Broken {
                seq: cp.seq,
                reason: "the checkpoint's signature does not verify (edited, or written under another data key)".into(),
            });
        }
        let head = self.head().await?;
        let genesis = Start { seq: 0, prev: "0".repeat(64), keyed_from: None };
        self.walk(genesis, &head, checkpoint).await
    }

    /// Verifies what was appended since `previous` (a checkpoint written before; from the start
    /// when there is none) up to the head as it is now, and returns the signed checkpoint of that
    /// head, or what is broken. The worker calls it every `audit.checkpoint_seconds`.
    pub async fn advance_checkpoint(
        &self,
        previous: Option<&Checkpoint>,
        at_ms: i64,
    ) -> Result<Result<Checkpoint, ChainReport>, StoreError> {
        let head = self.head().await?;
        let report = match previous {
            None => self.walk(Start { seq: 0, prev: "0".repeat(64), keyed_from: None }, &head, None).await?,
            Some(cp) if !self.checkpoint_valid(cp) => {
                return Ok(Err(self.verify_audit_chain_against(Some(cp)).await?));
            }
            Some(cp) => {
                let hash = self.hash_at(cp.seq).await?;
                if cp.seq > 0 && hash.as_deref() != Some(cp.hash.as_str()) {
                    return Ok(Err(ChainReport::Broken {
                        seq: cp.seq,
                        reason: "the record differs from the last checkpoint, or is gone".into(),
                    }));
                }
                let start = Start { seq: cp.seq, prev: cp.hash.clone(), keyed_from: cp.keyed_from };
                self.walk(start, &head, Some(cp)).await?
            }
        };
        Ok(match report {
            ChainReport::Intact { .. } => Ok(self.sign(&head, at_ms)),
            broken => Err(broken),
        })
    }

    /// Checks the records after `start` up to `head` (a snapshot: records appended meanwhile are the
    /// next walk's).
    async fn walk(
        &self,
        start: Start,
        head: &Head,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<ChainReport, StoreError> {
        const PAGE: i64 = 5000;
        let vault = self.vault();
        let mut prev = start.prev;
        let mut expected_seq = start.seq + 1;
        let mut first_keyed = start.keyed_from.filter(|k| *k <= start.seq);
        if head.seq < start.seq {
            return Ok(ChainReport::Broken {
                seq: head.seq + 1,
                reason: format!(
                    "the head says {} but the checkpoint saw {}: records were cut off",
                    head.seq, start.seq
                ),
            });
        }
        while expected_seq <= head.seq {
            let rows =
                sqlx::query::<Any>("SELECT * FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3")
                    .bind(expected_seq)
                    .bind(head.seq)
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
                let computed = if stored_hash.starts_with(KEYED) {
                    first_keyed.get_or_insert(seq);
                    keyed_hash(vault, &prev, seq, &record)
                } else if first_keyed.is_some() {
                    return Ok(ChainReport::Broken {
                        seq,
                        reason: "an unkeyed record after keyed ones: the chain was rewritten without the key".into(),
                    });
                } else {
                    chain_hash(&prev, seq, &record)
                };
                if computed != stored_hash {
                    return Ok(ChainReport::Broken { seq, reason: "record content does not match its hash".into() });
                }
                prev = stored_hash;
                expected_seq += 1;
            }
        }
        let last = expected_seq - 1;
        if last != head.seq {
            return Ok(ChainReport::Broken { seq: expected_seq, reason: "record is missing".into() });
        }
        if head.hash != prev {
            return Ok(ChainReport::Broken {
                seq: last,
                reason: "the head does not name the last record's link".into(),
            });
        }
        let Some(keyed_from) = head.keyed_from else {
            // set by the migration and never cleared by this code
            return Ok(ChainReport::Broken {
                seq: 1,
                reason: "the head no longer says where the keyed chain starts: it was edited".into(),
            });
        };
        if keyed_from <= last && first_keyed != Some(keyed_from) {
            return Ok(ChainReport::Broken {
                seq: keyed_from,
                reason: "not keyed where the head says the keyed chain starts: the chain was rewritten".into(),
            });
        }
        if let Some(cp) = checkpoint {
            if last < cp.seq {
                return Ok(ChainReport::Broken {
                    seq: last + 1,
                    reason: format!(
                        "the chain ends at {last}, but the checkpoint saw {}: records were cut off",
                        cp.seq
                    ),
                });
            }
            if let Some(k) = cp.keyed_from
                && first_keyed != Some(k)
            {
                return Ok(ChainReport::Broken {
                    seq: k,
                    reason: "not keyed where the checkpoint says the keyed chain starts: the chain was rewritten"
                        .into(),
                });
            }
            if cp.seq > start.seq {
                // the walk passed the checkpoint's record: it must be the one the checkpoint saw
                let hash = self.hash_at(cp.seq).await?;
                if hash.as_deref() != Some(cp.hash.as_str()) {
                    return Ok(ChainReport::Broken {
                        seq: cp.seq,
                        reason: "the record differs from the checkpoint".into(),
                    });
                }
            }
        }
        Ok(ChainReport::Intact { records: last })
    }

    /// Takes the lease on forwarding the chain to MOSIP's audit manager for `owner` (one forwarder
    /// at a time, so the records go in order and none twice) until `until_ms`: the mark of the last
    /// record handed on, or `None` while another forwarder's lease runs.
    pub async fn lease_audit_forward(
        &self,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        sqlx::query::<Any>("INSERT INTO audit_forward (id, seq) VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        let taken = sqlx::query::<Any>(
            "UPDATE audit_forward SET owner = $1, lease_until = $2 \
             WHERE id = 1 AND (owner IS NULL OR owner = $1 OR lease_until < $3)",
        )
        .bind(owner)
        .bind(until_ms)
        .bind(now_ms)
        .execute(self.writer())
        .await
        .map_err(db_err)?
        .rows_affected();
        if taken == 0 {
            return Ok(None);
        }
        let mark = sqlx::query::<Any>("SELECT seq FROM audit_forward WHERE id = 1")
            .fetch_one(self.writer())
            .await
            .and_then(|r| r.try_get::<i64, _>("seq"))
            .map_err(db_err)?;
        Ok(Some(mark))
    }

    /// The chain's records after `seq`, oldest first, at most `limit`, with their sequence numbers.
    pub async fn audit_after(&self, seq: i64, limit: i64) -> Result<Vec<(i64, AuditRecord)>, StoreError> {
        let rows = sqlx::query::<Any>("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(seq)
            .bind(limit)
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|row| Ok((row.try_get::<i64, _>("seq").map_err(db_err)?, record_from_row(row).map_err(db_err)?)))
            .collect()
    }

    /// Moves the mark to `seq` (the audit manager took it) and renews the lease to `until_ms`, if
    /// `owner` still holds it: `false` when it lost the lease (it must stop).
    pub async fn audit_forwarded(&self, owner: &str, seq: i64, until_ms: i64) -> Result<bool, StoreError> {
        let moved =
            sqlx::query::<Any>("UPDATE audit_forward SET seq = $1, lease_until = $2 WHERE id = 1 AND owner = $3")
                .bind(seq)
                .bind(until_ms)
                .bind(owner)
                .execute(self.writer())
                .await
                .map_err(db_err)?
                .rows_affected();
        Ok(moved == 1)
    }

    /// Gives the lease up.
    pub async fn end_audit_forward(&self, owner: &str) -> Result<(), StoreError> {
        sqlx::query::<Any>("UPDATE audit_forward SET owner = NULL, lease_until = NULL WHERE id = 1 AND owner = $1")
            .bind(owner)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        Ok(())
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
