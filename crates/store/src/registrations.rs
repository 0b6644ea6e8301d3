//! The embedded registration processor's status tables: registrations, their stage history, and the
//! per-centre/machine RID sequence.

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::audit::{AuditContext, AuditEvent};
use resident_domain::clock::{epoch_ms, from_epoch_ms};
use resident_domain::ids::{CentreId, MachineId, Rid};
use resident_domain::ports::RegistrationRepository;
use resident_domain::registration::{InternalStatus, Registration, RegistrationType, StageRecord, TransactionType};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::{Store, audit, db_err};

fn bad(what: &str, value: &str) -> StoreError {
    StoreError::Integrity(format!("unknown {what} {value:?} in registration table"))
}

fn registration_from_row(row: &sqlx::any::AnyRow) -> Result<Registration, StoreError> {
    let rid: String = row.try_get("rid").map_err(db_err)?;
    let rtype: String = row.try_get("registration_type").map_err(db_err)?;
    let status: Option<String> = row.try_get("status_code").map_err(db_err)?;
    let latest: Option<String> = row.try_get("latest_transaction_type").map_err(db_err)?;
    let latest_at: Option<i64> = row.try_get("latest_transaction_at").map_err(db_err)?;
    Ok(Registration {
        rid: Rid::parse(&rid).map_err(|_| bad("rid", &rid))?,
        registration_type: RegistrationType::from_code(&rtype).ok_or_else(|| bad("registration type", &rtype))?,
        status: match status {
            Some(s) => Some(InternalStatus::from_code(&s).ok_or_else(|| bad("status", &s))?),
            None => None,
        },
        latest_transaction: match latest {
            Some(t) => Some(TransactionType::from_code(&t).ok_or_else(|| bad("transaction type", &t))?),
            None => None,
        },
        latest_transaction_at: latest_at.map(from_epoch_ms),
        last_success_stage: row.try_get("last_success_stage").map_err(db_err)?,
        retry_count: row.try_get::<i64, _>("retry_count").map_err(db_err)? as i32,
        created_at: from_epoch_ms(row.try_get("created_at").map_err(db_err)?),
        updated_at: from_epoch_ms(row.try_get("updated_at").map_err(db_err)?),
    })
}

pub(crate) async fn write_registration(
    conn: &mut AnyConnection,
    reg: &Registration,
    stages: &[StageRecord],
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO registration (rid, registration_type, status_code, latest_transaction_type, latest_transaction_at, \
         last_success_stage, retry_count, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (rid) DO UPDATE SET status_code = excluded.status_code, \
         latest_transaction_type = excluded.latest_transaction_type, latest_transaction_at = excluded.latest_transaction_at, \
         last_success_stage = excluded.last_success_stage, retry_count = excluded.retry_count, updated_at = excluded.updated_at",
    )
    .bind(reg.rid.as_str())
    .bind(reg.registration_type.code())
    .bind(reg.status.map(InternalStatus::code))
    .bind(reg.latest_transaction.map(TransactionType::code))
    .bind(reg.latest_transaction_at.map(epoch_ms))
    .bind(&reg.last_success_stage)
    .bind(i64::from(reg.retry_count))
    .bind(epoch_ms(reg.created_at))
    .bind(epoch_ms(reg.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if stages.is_empty() {
        return Ok(());
    }
    let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM registration_stage WHERE rid = $1")
        .bind(reg.rid.as_str())
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    for (i, s) in stages.iter().enumerate() {
        sqlx::query(
            "INSERT INTO registration_stage (rid, seq, transaction_type, status_code, comment, at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(reg.rid.as_str())
        .bind(next + 1 + i as i64)
        .bind(s.transaction_type.code())
        .bind(&s.status)
        .bind(&s.comment)
        .bind(epoch_ms(s.at))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

impl Store {
    /// Records many registrations in one transaction, each with its audit record (used for seeding).
    pub async fn record_registrations(
        &self,
        items: &[(Registration, Vec<StageRecord>)],
        ctx: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let mut records = Vec::with_capacity(items.len());
        for (reg, stages) in items {
            write_registration(&mut tx, reg, stages).await?;
            records.push(registration_audit(reg, ctx));
        }
        audit::append_in(&mut tx, self.vault(), &records).await?;
        tx.commit().await.map_err(db_err)
    }

    pub async fn count_registrations(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM registration").fetch_one(self.reader()).await.map_err(db_err)
    }
}

fn registration_audit(reg: &Registration, ctx: &AuditContext) -> resident_domain::audit::AuditRecord {
    AuditEvent::RegistrationRecorded.record(
        ctx,
        reg.updated_at,
        Some((reg.rid.masked(), "RID")),
        format!(
            "{} registration now {}",
            reg.registration_type.code(),
            reg.status.map(InternalStatus::code).unwrap_or("UPLOAD_PENDING")
        ),
    )
}

#[async_trait]
impl RegistrationRepository for Store {
    async fn find_registration(&self, rid: &Rid) -> Result<Option<Registration>, StoreError> {
        let row = sqlx::query(
            "SELECT rid, registration_type, status_code, latest_transaction_type, latest_transaction_at, \
             last_success_stage, retry_count, created_at, updated_at FROM registration WHERE rid = $1",
        )
        .bind(rid.as_str())
        .fetch_optional(self.reader())
        .await
        .map_err(db_err)?;
        row.as_ref().map(registration_from_row).transpose()
    }

    async fn stage_history(&self, rid: &Rid) -> Result<Vec<StageRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT transaction_type, status_code, comment, at FROM registration_stage WHERE rid = $1 ORDER BY seq",
        )
        .bind(rid.as_str())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let t: String = r.try_get("transaction_type").map_err(db_err)?;
                Ok(StageRecord {
                    transaction_type: TransactionType::from_code(&t).ok_or_else(|| bad("transaction type", &t))?,
                    status: r.try_get("status_code").map_err(db_err)?,
                    comment: r.try_get("comment").map_err(db_err)?,
                    at: from_epoch_ms(r.try_get("at").map_err(db_err)?),
                })
            })
            .collect()
    }

    async fn record_registration(
        &self,
        registration: &Registration,
        stages: &[StageRecord],
        ctx: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        write_registration(&mut tx, registration, stages).await?;
        audit::append_in(&mut tx, self.vault(), &[registration_audit(registration, ctx)]).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn next_rid(&self, centre: &CentreId, machine: &MachineId, now: OffsetDateTime) -> Result<Rid, StoreError> {
        let value: i64 = sqlx::query_scalar(
            "INSERT INTO rid_sequence (centre, machine, value) VALUES ($1, $2, 1) \
             ON CONFLICT (centre, machine) DO UPDATE SET value = rid_sequence.value + 1 RETURNING value",
        )
        .bind(centre.as_str())
        .bind(machine.as_str())
        .fetch_one(self.writer())
        .await
        .map_err(db_err)?;
        Ok(Rid::compose(centre, machine, value as u32, now))
    }
}
