//! Service history (`resident_transaction`): one row per resident request, owned by a keyed token.
//! Every query is parameterised; filters never become SQL text.

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::audit::AuditRecord;
use resident_domain::clock::{epoch_ms, from_epoch_ms};
use resident_domain::history::{EventId, IdentityToken, RequestType, ServiceEvent};
use resident_domain::ports::ServiceHistory;
use sqlx::Row;
use time::OffsetDateTime;

use crate::{Store, audit, db_err, flag};

const COLUMNS: &str = "event_id, token_id, request_type_code, request_summary, status_code, status_comment, \
    request_trn_id, ref_id_type, ref_id, lang_code, aid, request_dtimes, upd_dtimes, read_status, pinned_status";

fn event_from_row(row: &sqlx::any::AnyRow) -> Result<ServiceEvent, StoreError> {
    let id: String = row.try_get("event_id").map_err(db_err)?;
    let rt: String = row.try_get("request_type_code").map_err(db_err)?;
    Ok(ServiceEvent {
        event_id: EventId::parse(&id).ok_or_else(|| StoreError::Integrity(format!("bad event id {id:?}")))?,
        token: IdentityToken(row.try_get("token_id").map_err(db_err)?),
        request_type: RequestType::from_code(&rt)
            .ok_or_else(|| StoreError::Integrity(format!("unknown request type {rt:?}")))?,
        request_summary: row.try_get("request_summary").map_err(db_err)?,
        status_code: row.try_get("status_code").map_err(db_err)?,
        status_comment: row.try_get("status_comment").map_err(db_err)?,
        request_trn_id: row.try_get("request_trn_id").map_err(db_err)?,
        ref_id_type: row.try_get("ref_id_type").map_err(db_err)?,
        ref_id: row.try_get("ref_id").map_err(db_err)?,
        lang_code: row.try_get("lang_code").map_err(db_err)?,
        aid: row.try_get("aid").map_err(db_err)?,
        requested_at: from_epoch_ms(row.try_get("request_dtimes").map_err(db_err)?),
        updated_at: from_epoch_ms(row.try_get("upd_dtimes").map_err(db_err)?),
        read: row.try_get::<i64, _>("read_status").map_err(db_err)? != 0,
        pinned: row.try_get::<i64, _>("pinned_status").map_err(db_err)? != 0,
    })
}

/// Inserts a service-history event inside the caller's transaction.
pub(crate) async fn insert_event_in(conn: &mut sqlx::AnyConnection, e: &ServiceEvent) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO resident_transaction (event_id, token_id, request_type_code, request_summary, status_code, \
             status_comment, request_trn_id, ref_id_type, ref_id, lang_code, aid, request_dtimes, upd_dtimes, \
             read_status, pinned_status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(e.event_id.as_str())
    .bind(&e.token.0)
    .bind(e.request_type.code())
    .bind(&e.request_summary)
    .bind(&e.status_code)
    .bind(&e.status_comment)
    .bind(&e.request_trn_id)
    .bind(&e.ref_id_type)
    .bind(&e.ref_id)
    .bind(&e.lang_code)
    .bind(&e.aid)
    .bind(epoch_ms(e.requested_at))
    .bind(epoch_ms(e.updated_at))
    .bind(flag(e.read))
    .bind(flag(e.pinned))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl ServiceHistory for Store {
    async fn record_event(&self, e: &ServiceEvent, record: &AuditRecord) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        insert_event_in(&mut tx, e).await?;
        audit::append_in(&mut tx, self.vault(), std::slice::from_ref(record)).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn event(&self, id: &EventId) -> Result<Option<ServiceEvent>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM resident_transaction WHERE event_id = $1");
        let row = sqlx::query(&sql).bind(id.as_str()).fetch_optional(self.reader()).await.map_err(db_err)?;
        row.as_ref().map(event_from_row).transpose()
    }

    async fn event_of_transaction(
        &self,
        token: &IdentityToken,
        request_type: resident_domain::history::RequestType,
        trn: &str,
    ) -> Result<Option<ServiceEvent>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM resident_transaction WHERE token_id = $1 AND request_type_code = $2 \
             AND request_trn_id = $3 ORDER BY request_dtimes DESC, event_id DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(&token.0)
            .bind(request_type.code())
            .bind(trn)
            .fetch_optional(self.reader())
            .await
            .map_err(db_err)?;
        row.as_ref().map(event_from_row).transpose()
    }

    async fn events_for(&self, token: &IdentityToken, page: u32, size: u32) -> Result<Vec<ServiceEvent>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM resident_transaction WHERE token_id = $1 \
             ORDER BY pinned_status DESC, request_dtimes DESC, event_id DESC LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(&token.0)
            .bind(i64::from(size))
            .bind(i64::from(page) * i64::from(size))
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn unread_count(&self, token: &IdentityToken, types: &[&str]) -> Result<i64, StoreError> {
        let mut n = 0i64;
        // one parameterised statement per type: filters never become SQL text
        for t in types {
            let c: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM resident_transaction WHERE token_id = $1 AND request_type_code = $2 AND read_status = 0",
            )
            .bind(&token.0)
            .bind(*t)
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
            n += c;
        }
        Ok(n)
    }

    async fn notifications(
        &self,
        token: &IdentityToken,
        types: &[&str],
        limit: u32,
    ) -> Result<Vec<ServiceEvent>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM resident_transaction WHERE token_id = $1 AND request_type_code = $2 \
             ORDER BY upd_dtimes DESC, event_id DESC LIMIT $3"
        );
        let mut out = Vec::new();
        for t in types {
            let rows = sqlx::query(&sql)
                .bind(&token.0)
                .bind(*t)
                .bind(i64::from(limit))
                .fetch_all(self.reader())
                .await
                .map_err(db_err)?;
            for r in &rows {
                out.push(event_from_row(r)?);
            }
        }
        out.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.event_id.as_str().cmp(a.event_id.as_str())));
        out.truncate(limit as usize);
        Ok(out)
    }

    async fn mark_notifications_read(&self, token: &IdentityToken, types: &[&str]) -> Result<u64, StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let mut marked = 0;
        for t in types {
            let done = sqlx::query(
                "UPDATE resident_transaction SET read_status = 1 \
                 WHERE token_id = $1 AND request_type_code = $2 AND read_status = 0",
            )
            .bind(&token.0)
            .bind(*t)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            marked += done.rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        Ok(marked)
    }

    async fn set_pinned(&self, id: &EventId, token: &IdentityToken, pinned: bool) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE resident_transaction SET pinned_status = $1 WHERE event_id = $2 AND token_id = $3")
                .bind(flag(pinned))
                .bind(id.as_str())
                .bind(&token.0)
                .execute(self.writer())
                .await
                .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn mark_event_read(&self, id: &EventId, token: &IdentityToken) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE resident_transaction SET read_status = 1 WHERE event_id = $1 AND token_id = $2 AND read_status = 0",
        )
        .bind(id.as_str())
        .bind(&token.0)
        .execute(self.writer())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn update_event_status(
        &self,
        id: &EventId,
        status_code: &str,
        comment: Option<&str>,
        record: &AuditRecord,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE resident_transaction SET status_code = $1, status_comment = $2, upd_dtimes = $3, read_status = 0 \
             WHERE event_id = $4",
        )
        .bind(status_code)
        .bind(comment)
        .bind(epoch_ms(now))
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        audit::append_in(&mut tx, self.vault(), std::slice::from_ref(record)).await?;
        tx.commit().await.map_err(db_err)
    }
}
