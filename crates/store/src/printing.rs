//! The print queue (`print_job`). A job moves only from the status the caller saw, and past NEW only
//! for the partner that took it (`UPDATE … WHERE status = $from AND …`), in the same transaction as its
//! registration stage, the resident's history status, audit and notifications.

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::card::CardType;
use resident_domain::clock::{epoch_ms, from_epoch_ms};
use resident_domain::history::{EventId, IdentityToken};
use resident_domain::ids::Rid;
use resident_domain::ports::Effects;
use resident_domain::print::{PrintChange, PrintJob, PrintQueue, PrintStatus};
use resident_domain::registration::{Registration, StageRecord};
use sqlx::Row;
use time::OffsetDateTime;

use crate::registrations::write_registration;
use crate::{Store, db_err};

const COLUMNS: &str = "id, rid, identity_id, token_id, event_id, card_type, status, partner_id, tracking_id, \
    carrier_ref, reason, created_at, updated_at";

fn job_from_row(row: &sqlx::any::AnyRow) -> Result<PrintJob, StoreError> {
    let bad = |what: &str, v: &str| StoreError::Integrity(format!("bad {what} {v:?} in print_job"));
    let rid: String = row.try_get("rid").map_err(db_err)?;
    let event: String = row.try_get("event_id").map_err(db_err)?;
    let card: String = row.try_get("card_type").map_err(db_err)?;
    let status: String = row.try_get("status").map_err(db_err)?;
    Ok(PrintJob {
        id: row.try_get("id").map_err(db_err)?,
        rid: Rid::parse(&rid).map_err(|_| bad("rid", &rid))?,
        identity_id: row.try_get("identity_id").map_err(db_err)?,
        token: IdentityToken(row.try_get("token_id").map_err(db_err)?),
        event_id: EventId::parse(&event).ok_or_else(|| bad("event id", &event))?,
        card_type: CardType::parse(&card).ok_or_else(|| bad("card type", &card))?,
        status: PrintStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
        partner_id: row.try_get("partner_id").map_err(db_err)?,
        tracking_id: row.try_get("tracking_id").map_err(db_err)?,
        carrier_ref: row.try_get("carrier_ref").map_err(db_err)?,
        reason: row.try_get("reason").map_err(db_err)?,
        created_at: from_epoch_ms(row.try_get("created_at").map_err(db_err)?),
        updated_at: from_epoch_ms(row.try_get("updated_at").map_err(db_err)?),
    })
}

#[async_trait]
impl PrintQueue for Store {
    async fn enqueue_print(
        &self,
        job: &PrintJob,
        registration: &Registration,
        stages: &[StageRecord],
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        write_registration(&mut tx, registration, stages).await?;
        self.apply_effects(&mut tx, effects, now).await?;
        sqlx::query(
            "INSERT INTO print_job (id, rid, identity_id, token_id, event_id, card_type, status, partner_id, tracking_id, \
             carrier_ref, reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&job.id)
        .bind(job.rid.as_str())
        .bind(&job.identity_id)
        .bind(&job.token.0)
        .bind(job.event_id.as_str())
        .bind(job.card_type.code())
        .bind(job.status.code())
        .bind(&job.partner_id)
        .bind(&job.tracking_id)
        .bind(&job.carrier_ref)
        .bind(&job.reason)
        .bind(epoch_ms(job.created_at))
        .bind(epoch_ms(job.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn print_job(&self, id: &str) -> Result<Option<PrintJob>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM print_job WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(self.writer()).await.map_err(db_err)?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn print_jobs_of(&self, token: &IdentityToken) -> Result<Vec<PrintJob>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM print_job WHERE token_id = $1 ORDER BY created_at DESC, id LIMIT 50");
        let rows = sqlx::query(&sql).bind(&token.0).fetch_all(self.reader()).await.map_err(db_err)?;
        rows.iter().map(job_from_row).collect()
    }

    async fn print_jobs_for(&self, partner_id: &str, limit: u32) -> Result<Vec<PrintJob>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM print_job WHERE status = 'NEW' \
             OR (partner_id = $1 AND status IN ('ISSUED', 'PRINTING', 'IN_TRANSIT')) \
             ORDER BY created_at, id LIMIT $2"
        );
        let rows =
            sqlx::query(&sql).bind(partner_id).bind(i64::from(limit)).fetch_all(self.reader()).await.map_err(db_err)?;
        rows.iter().map(job_from_row).collect()
    }

    async fn move_print_job(&self, change: &PrintChange, now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        // NEW: whoever takes it first; afterwards only its holder
        let moved = sqlx::query(
            "UPDATE print_job SET status = $1, partner_id = $2, carrier_ref = COALESCE($3, carrier_ref), \
             reason = COALESCE($4, reason), updated_at = $5 \
             WHERE id = $6 AND status = $7 AND (partner_id IS NULL OR partner_id = $2) RETURNING event_id",
        )
        .bind(change.to.code())
        .bind(&change.partner_id)
        .bind(&change.carrier_ref)
        .bind(&change.reason)
        .bind(epoch_ms(now))
        .bind(&change.id)
        .bind(change.from.code())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = moved else { return Ok(false) };
        let event_id: String = row.try_get("event_id").map_err(db_err)?;
        write_registration(&mut tx, &change.registration, &change.stages).await?;
        sqlx::query(
            "UPDATE resident_transaction SET status_code = $1, status_comment = $2, request_summary = $3, upd_dtimes = $4, read_status = 0 \
             WHERE event_id = $5",
        )
        .bind(change.to.event_status())
        .bind(change.reason.as_deref().or(change.carrier_ref.as_deref()).unwrap_or(change.to.code()))
        .bind(format!("ORDER_PHYSICAL_CARD - {}", change.to.event_status()))
        .bind(epoch_ms(now))
        .bind(&event_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.apply_effects(&mut tx, &change.effects, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }
}
