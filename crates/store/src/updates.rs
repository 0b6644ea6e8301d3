//! Resident update requests and their pipeline (`resident_update`), identity versions, per-field update
//! counts, and the machine keys that sign packets.
//!
//! A stage moves an update only from the stage it expects (`UPDATE … WHERE stage = from`): a stage job
//! that runs again after a crash finds the update elsewhere and changes nothing. A partial unique index
//! keeps one update in progress per identity, whichever replica accepts it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::clock::{epoch_ms, from_epoch_ms};
use resident_domain::history::{EventId, IdentityToken};
use resident_domain::identity::IdentityJson;
use resident_domain::ids::Rid;
use resident_domain::ports::{Effects, MachineKeys, UpdateRepository};
use resident_domain::registration::{Registration, StageRecord};
use resident_domain::update::{IdentityChange, StageChange, StageJob, UPDATE_STAGE_JOB, UpdateRecord, UpdateStage};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::registrations::write_registration;
use crate::{Store, db_err, flag, jobs};

const COLUMNS: &str = "rid, identity_id, token_id, event_id, stage, fields, needs_verification, reason, packet_key, \
    created_at, updated_at";

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<UpdateRecord, StoreError> {
    let bad = |what: &str, v: &str| StoreError::Integrity(format!("bad {what} {v:?} in resident_update"));
    let rid: String = row.try_get("rid").map_err(db_err)?;
    let stage: String = row.try_get("stage").map_err(db_err)?;
    let event: String = row.try_get("event_id").map_err(db_err)?;
    let fields: String = row.try_get("fields").map_err(db_err)?;
    Ok(UpdateRecord {
        rid: Rid::parse(&rid).map_err(|_| bad("rid", &rid))?,
        identity_id: row.try_get("identity_id").map_err(db_err)?,
        token: IdentityToken(row.try_get("token_id").map_err(db_err)?),
        event_id: EventId::parse(&event).ok_or_else(|| bad("event id", &event))?,
        stage: UpdateStage::from_code(&stage).ok_or_else(|| bad("stage", &stage))?,
        fields: fields.split(',').filter(|f| !f.is_empty()).map(str::to_owned).collect(),
        needs_verification: row.try_get::<i64, _>("needs_verification").map_err(db_err)? != 0,
        reason: row.try_get("reason").map_err(db_err)?,
        packet_key: row.try_get("packet_key").map_err(db_err)?,
        created_at: from_epoch_ms(row.try_get("created_at").map_err(db_err)?),
        updated_at: from_epoch_ms(row.try_get("updated_at").map_err(db_err)?),
    })
}

impl Store {
    async fn enqueue_stage(
        &self,
        conn: &mut AnyConnection,
        rid: &Rid,
        stage: UpdateStage,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let payload = serde_json::to_string(&StageJob { rid: rid.as_str().to_owned(), stage })
            .map_err(|e| StoreError::Integrity(e.to_string()))?;
        jobs::enqueue_in(conn, self.vault(), UPDATE_STAGE_JOB, &payload, now, now).await?;
        Ok(())
    }

    /// Writes the new identity version, keeping the old one and the documents it replaces.
    async fn write_identity_version(
        &self,
        conn: &mut AnyConnection,
        change: &IdentityChange,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let id = &change.identity_id;
        let row = sqlx::query("SELECT version, data FROM identity WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?;
        let version: i64 = row.try_get("version").map_err(db_err)?;
        if version != change.base_version {
            return Err(StoreError::Conflict(format!(
                "identity moved from version {} to {version} during the update",
                change.base_version
            )));
        }
        let old: Vec<u8> = row.try_get("data").map_err(db_err)?;
        sqlx::query(
            "INSERT INTO identity_version (identity_id, version, data, replaced_by, replaced_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(version)
        .bind(old)
        .bind(change.rid.as_str())
        .bind(epoch_ms(now))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        for doc in &change.documents {
            // the replaced document stays with the version it belonged to
            sqlx::query(
                "INSERT INTO identity_document_version (identity_id, version, category, format, content) \
                 SELECT identity_id, $3, category, format, content FROM identity_document \
                 WHERE identity_id = $1 AND category = $2",
            )
            .bind(id)
            .bind(&doc.category)
            .bind(version)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            let aad = format!("{id}/{}", doc.category);
            sqlx::query(
                "INSERT INTO identity_document (identity_id, category, format, content, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (identity_id, category) DO UPDATE SET format = excluded.format, content = excluded.content, \
                 created_at = excluded.created_at",
            )
            .bind(id)
            .bind(&doc.category)
            .bind(&doc.format)
            .bind(self.vault().seal(aad.as_bytes(), &doc.content)?)
            .bind(epoch_ms(now))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        }
        let plain =
            serde_json::to_vec(&change.identity.to_document()).map_err(|e| StoreError::Integrity(e.to_string()))?;
        let updated =
            sqlx::query("UPDATE identity SET data = $1, version = $2, updated_at = $3 WHERE id = $4 AND version = $5")
                .bind(self.vault().seal(id.as_bytes(), &plain)?)
                .bind(version + 1)
                .bind(epoch_ms(now))
                .bind(id)
                .bind(version)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict("identity changed during the update".into()));
        }
        for field in &change.fields {
            sqlx::query(
                "INSERT INTO identity_update_count (identity_id, field, updates) VALUES ($1, $2, 1) \
                 ON CONFLICT (identity_id, field) DO UPDATE SET updates = identity_update_count.updates + 1",
            )
            .bind(id)
            .bind(field)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        }
        Ok(())
    }

    /// Earlier versions of an identity, oldest first (for operators and tests).
    pub async fn identity_versions(&self, identity_id: &str) -> Result<Vec<(i64, IdentityJson)>, StoreError> {
        let rows = sqlx::query("SELECT version, data FROM identity_version WHERE identity_id = $1 ORDER BY version")
            .bind(identity_id)
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let data: Vec<u8> = r.try_get("data").map_err(db_err)?;
                Ok((r.try_get("version").map_err(db_err)?, self.open_identity(identity_id, &data)?))
            })
            .collect()
    }
}

#[async_trait]
impl UpdateRepository for Store {
    async fn create_update(
        &self,
        record: &UpdateRecord,
        registration: &Registration,
        stages: &[StageRecord],
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO resident_update (rid, identity_id, token_id, event_id, stage, in_progress, fields, \
             needs_verification, reason, packet_key, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(record.rid.as_str())
        .bind(&record.identity_id)
        .bind(&record.token.0)
        .bind(record.event_id.as_str())
        .bind(record.stage.code())
        .bind(flag(!record.stage.is_final()))
        .bind(record.fields.join(","))
        .bind(flag(record.needs_verification))
        .bind(&record.reason)
        .bind(&record.packet_key)
        .bind(epoch_ms(record.created_at))
        .bind(epoch_ms(record.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        write_registration(&mut tx, registration, stages).await?;
        self.apply_effects(&mut tx, effects, now).await?;
        if record.stage.runs_as_job() {
            self.enqueue_stage(&mut tx, &record.rid, record.stage, now).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn find_update(&self, rid: &Rid) -> Result<Option<UpdateRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM resident_update WHERE rid = $1");
        // the writer: a stage must see the latest stage, not a replica's
        let row = sqlx::query(&sql).bind(rid.as_str()).fetch_optional(self.writer()).await.map_err(db_err)?;
        row.as_ref().map(record_from_row).transpose()
    }

    async fn open_update_of(&self, identity_id: &str) -> Result<Option<UpdateRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM resident_update WHERE identity_id = $1 AND in_progress = 1");
        let row = sqlx::query(&sql).bind(identity_id).fetch_optional(self.reader()).await.map_err(db_err)?;
        row.as_ref().map(record_from_row).transpose()
    }

    async fn updates_in_stage(&self, stage: UpdateStage) -> Result<Vec<UpdateRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM resident_update WHERE stage = $1 ORDER BY created_at, rid");
        let rows = sqlx::query(&sql).bind(stage.code()).fetch_all(self.reader()).await.map_err(db_err)?;
        rows.iter().map(record_from_row).collect()
    }

    async fn update_counts(&self, identity_id: &str) -> Result<BTreeMap<String, u32>, StoreError> {
        let rows = sqlx::query("SELECT field, updates FROM identity_update_count WHERE identity_id = $1")
            .bind(identity_id)
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get("updates").map_err(db_err)?;
                Ok((r.try_get("field").map_err(db_err)?, n.clamp(0, i64::from(u32::MAX)) as u32))
            })
            .collect()
    }

    async fn current_identity(&self, identity_id: &str) -> Result<Option<(IdentityJson, i64)>, StoreError> {
        let row = sqlx::query("SELECT version, data FROM identity WHERE id = $1")
            .bind(identity_id)
            .fetch_optional(self.writer())
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let data: Vec<u8> = row.try_get("data").map_err(db_err)?;
        Ok(Some((self.open_identity(identity_id, &data)?, row.try_get("version").map_err(db_err)?)))
    }

    async fn advance(
        &self,
        change: &StageChange,
        identity: Option<&IdentityChange>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let moved = sqlx::query(
            "UPDATE resident_update SET stage = $1, in_progress = $2, reason = $3, updated_at = $4 \
             WHERE rid = $5 AND stage = $6 RETURNING event_id",
        )
        .bind(change.to.code())
        .bind(flag(!change.to.is_final()))
        .bind(&change.reason)
        .bind(epoch_ms(now))
        .bind(change.rid.as_str())
        .bind(change.from.code())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = moved else {
            // another run of this stage got there first: nothing of this one is written
            return Ok(false);
        };
        let event_id: String = row.try_get("event_id").map_err(db_err)?;
        if let Some(identity) = identity {
            self.write_identity_version(&mut tx, identity, now).await?;
        }
        write_registration(&mut tx, &change.registration, &change.stages).await?;
        sqlx::query(
            "UPDATE resident_transaction SET status_code = $1, status_comment = $2, request_summary = $3, upd_dtimes = $4, read_status = 0 \
             WHERE event_id = $5",
        )
        .bind(change.event_status)
        .bind(&change.event_comment)
        .bind(format!("UPDATE_MY_UIN - {}", change.event_status))
        .bind(epoch_ms(now))
        .bind(&event_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.apply_effects(&mut tx, &change.effects, now).await?;
        if change.to.runs_as_job() {
            self.enqueue_stage(&mut tx, &change.rid, change.to, now).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }
}

#[async_trait]
impl MachineKeys for Store {
    async fn machine_key(&self, key_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar("SELECT public_key FROM machine_key WHERE key_id = $1")
            .bind(key_id)
            .fetch_optional(self.reader())
            .await
            .map_err(db_err)
    }

    async fn register_machine_key(
        &self,
        key_id: &str,
        public_key: &[u8],
        machine: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let existing: Option<Vec<u8>> = sqlx::query_scalar(
            "INSERT INTO machine_key (key_id, public_key, machine, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key_id) DO NOTHING RETURNING public_key",
        )
        .bind(key_id)
        .bind(public_key)
        .bind(machine)
        .bind(epoch_ms(now))
        .fetch_optional(self.writer())
        .await
        .map_err(db_err)?;
        if existing.is_none() {
            // already registered: it must be the same key
            let stored = self.machine_key(key_id).await?;
            if stored.as_deref() != Some(public_key) {
                return Err(StoreError::Conflict(format!("machine key id {key_id} belongs to another key")));
            }
        }
        Ok(())
    }
}
