//! Who used my data (`data_access`): one row per read of a resident's personal data by someone else,
//! written in the transaction of the access. The accessor's kind and id stay in clear for the
//! oversight query; the rest is sealed under the row id.

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::access::{AccessQuery, Accessor, AccessorKind, Channel, DataAccess, DataAccessLog, Purpose};
use resident_domain::audit::AuditRecord;
use resident_domain::clock::{epoch_ms, from_epoch_ms};
use resident_domain::history::{EventId, IdentityToken};
use resident_domain::ports::Effects;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::{Store, audit, db_err, flag};

#[derive(Serialize, Deserialize)]
struct Detail {
    name: String,
    what: Vec<String>,
    purpose: Purpose,
    channel: Channel,
}

fn aad(id: &str) -> Vec<u8> {
    format!("data_access/{id}").into_bytes()
}

/// Inserts access records inside the caller's transaction.
pub(crate) async fn insert_in(
    conn: &mut AnyConnection,
    store: &Store,
    accesses: &[DataAccess],
) -> Result<(), StoreError> {
    for a in accesses {
        let detail = Detail {
            name: a.accessor.name.clone(),
            what: a.what.clone(),
            purpose: a.purpose.clone(),
            channel: a.channel,
        };
        let json = serde_json::to_vec(&detail).map_err(|e| StoreError::Integrity(e.to_string()))?;
        let sealed = store.vault().seal(&aad(a.id.as_str()), &json)?;
        sqlx::query(
            "INSERT INTO data_access (id, token_id, accessed_at, accessor_kind, accessor_id, detail, read_status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(a.id.as_str())
        .bind(&a.token.0)
        .bind(epoch_ms(a.at))
        .bind(a.accessor.kind.code())
        .bind(&a.accessor.id)
        .bind(sealed)
        .bind(flag(a.read))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

const COLUMNS: &str = "id, token_id, accessed_at, accessor_kind, accessor_id, detail, read_status";

impl Store {
    fn access_from_row(&self, row: &sqlx::any::AnyRow) -> Result<DataAccess, StoreError> {
        let id: String = row.try_get("id").map_err(db_err)?;
        let kind: String = row.try_get("accessor_kind").map_err(db_err)?;
        let sealed: Vec<u8> = row.try_get("detail").map_err(db_err)?;
        let json = self.vault().open(&aad(&id), &sealed)?;
        let d: Detail = serde_json::from_slice(&json).map_err(|e| StoreError::Integrity(e.to_string()))?;
        Ok(DataAccess {
            id: EventId::parse(&id).ok_or_else(|| StoreError::Integrity(format!("bad access id {id:?}")))?,
            token: IdentityToken(row.try_get("token_id").map_err(db_err)?),
            at: from_epoch_ms(row.try_get("accessed_at").map_err(db_err)?),
            accessor: Accessor {
                kind: AccessorKind::parse(&kind)
                    .ok_or_else(|| StoreError::Integrity(format!("unknown accessor kind {kind:?}")))?,
                id: row.try_get("accessor_id").map_err(db_err)?,
                name: d.name,
            },
            what: d.what,
            purpose: d.purpose,
            channel: d.channel,
            read: row.try_get::<i64, _>("read_status").map_err(db_err)? != 0,
        })
    }
}

#[async_trait]
impl DataAccessLog for Store {
    async fn record_access(&self, effects: &Effects, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn accesses(&self, q: &AccessQuery) -> Result<Vec<DataAccess>, StoreError> {
        // empty text and the widest times stand for "any": the statement stays one static text
        let sql = format!(
            "SELECT {COLUMNS} FROM data_access WHERE ($1 = '' OR token_id = $1) AND ($2 = '' OR accessor_kind = $2) \
             AND ($3 = '' OR accessor_id = $3) AND accessed_at >= $4 AND accessed_at < $5 \
             ORDER BY accessed_at DESC, id DESC LIMIT $6 OFFSET $7"
        );
        let rows = sqlx::query(&sql)
            .bind(q.token.as_ref().map(|t| t.0.as_str()).unwrap_or(""))
            .bind(q.kind.map(AccessorKind::code).unwrap_or(""))
            .bind(q.accessor_id.as_deref().unwrap_or(""))
            .bind(q.since.map(epoch_ms).unwrap_or(i64::MIN))
            .bind(q.until.map(epoch_ms).unwrap_or(i64::MAX))
            .bind(i64::from(q.limit))
            .bind(i64::from(q.offset))
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| self.access_from_row(r)).collect()
    }

    async fn access(&self, id: &EventId) -> Result<Option<DataAccess>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM data_access WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.as_str()).fetch_optional(self.reader()).await.map_err(db_err)?;
        row.as_ref().map(|r| self.access_from_row(r)).transpose()
    }

    async fn unread_accesses(&self, token: &IdentityToken) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM data_access WHERE token_id = $1 AND read_status = 0")
            .bind(&token.0)
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        row.try_get("n").map_err(db_err)
    }

    async fn mark_accesses_read(&self, token: &IdentityToken) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE data_access SET read_status = 1 WHERE token_id = $1 AND read_status = 0")
            .bind(&token.0)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn tell_on_operator_read(&self, token: &IdentityToken) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT on_operator_read FROM data_access_notice WHERE token_id = $1")
            .bind(&token.0)
            .fetch_optional(self.reader())
            .await
            .map_err(db_err)?;
        match row {
            Some(r) => Ok(r.try_get::<i64, _>("on_operator_read").map_err(db_err)? != 0),
            None => Ok(false),
        }
    }

    async fn set_tell_on_operator_read(
        &self,
        token: &IdentityToken,
        on: bool,
        record: &AuditRecord,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO data_access_notice (token_id, on_operator_read, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (token_id) DO UPDATE SET on_operator_read = $2, updated_at = $3",
        )
        .bind(&token.0)
        .bind(flag(on))
        .bind(epoch_ms(now))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        audit::append_in(&mut tx, self.vault(), std::slice::from_ref(record)).await?;
        tx.commit().await.map_err(db_err)
    }
}
