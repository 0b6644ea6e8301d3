//! Partner policies and credential requests. An issued credential is sealed at rest like the
//! identity it comes from; a request moves only from the status it is expected at.

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::clock::{epoch_ms, from_epoch_ms};
use resident_domain::credential::{
    CREDENTIAL_JOB, CredentialData, CredentialJob, CredentialRecord, CredentialStatus, CredentialStore, DataChange,
    Policy,
};
use resident_domain::history::{EventId, IdentityToken};
use resident_domain::ports::Effects;
use sqlx::Row;
use time::OffsetDateTime;

use crate::{Store, db_err, flag, jobs};

fn list(text: &str) -> Vec<String> {
    text.split(',').filter(|a| !a.is_empty()).map(str::to_owned).collect()
}

fn policy_from_row(row: &sqlx::any::AnyRow) -> Result<Policy, StoreError> {
    Ok(Policy {
        policy_id: row.try_get("policy_id").map_err(db_err)?,
        policy_name: row.try_get("policy_name").map_err(db_err)?,
        partner_id: row.try_get("partner_id").map_err(db_err)?,
        credential_type: row.try_get("credential_type").map_err(db_err)?,
        attributes: list(&row.try_get::<String, _>("attributes").map_err(db_err)?),
        created_at: from_epoch_ms(row.try_get("created_at").map_err(db_err)?),
    })
}

const COLUMNS: &str = "request_id, identity_id, token_id, event_id, partner_id, credential_type, status, attributes, \
    encrypt, created_at, updated_at, fetched_by_request_id_at";

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<CredentialRecord, StoreError> {
    let event: String = row.try_get("event_id").map_err(db_err)?;
    let status: String = row.try_get("status").map_err(db_err)?;
    Ok(CredentialRecord {
        request_id: row.try_get("request_id").map_err(db_err)?,
        identity_id: row.try_get("identity_id").map_err(db_err)?,
        token: IdentityToken(row.try_get("token_id").map_err(db_err)?),
        event_id: EventId::parse(&event).ok_or_else(|| StoreError::Integrity(format!("bad event id {event:?}")))?,
        partner_id: row.try_get("partner_id").map_err(db_err)?,
        credential_type: row.try_get("credential_type").map_err(db_err)?,
        status: CredentialStatus::parse(&status)
            .ok_or_else(|| StoreError::Integrity(format!("bad credential status {status:?}")))?,
        attributes: list(&row.try_get::<String, _>("attributes").map_err(db_err)?),
        encrypt: row.try_get::<i64, _>("encrypt").map_err(db_err)? != 0,
        created_at: from_epoch_ms(row.try_get("created_at").map_err(db_err)?),
        updated_at: from_epoch_ms(row.try_get("updated_at").map_err(db_err)?),
        fetched_by_request_id_at: row
            .try_get::<Option<i64>, _>("fetched_by_request_id_at")
            .map_err(db_err)?
            .map(from_epoch_ms),
    })
}

#[async_trait]
impl CredentialStore for Store {
    async fn policy(&self, partner_id: &str, credential_type: &str) -> Result<Option<Policy>, StoreError> {
        let row = sqlx::query(
            "SELECT partner_id, credential_type, policy_id, policy_name, attributes, created_at FROM partner_policy \
             WHERE partner_id = $1 AND credential_type = $2",
        )
        .bind(partner_id)
        .bind(credential_type)
        .fetch_optional(self.reader())
        .await
        .map_err(db_err)?;
        row.as_ref().map(policy_from_row).transpose()
    }

    async fn policies(&self) -> Result<Vec<Policy>, StoreError> {
        let rows = sqlx::query(
            "SELECT partner_id, credential_type, policy_id, policy_name, attributes, created_at FROM partner_policy \
             ORDER BY partner_id, credential_type",
        )
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        rows.iter().map(policy_from_row).collect()
    }

    async fn set_policy(&self, policy: &Policy, effects: &Effects, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO partner_policy (partner_id, credential_type, policy_id, policy_name, attributes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (partner_id, credential_type) DO UPDATE SET \
             policy_name = excluded.policy_name, attributes = excluded.attributes, created_at = excluded.created_at",
        )
        .bind(&policy.partner_id)
        .bind(&policy.credential_type)
        .bind(&policy.policy_id)
        .bind(&policy.policy_name)
        .bind(policy.attributes.join(","))
        .bind(epoch_ms(policy.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn create_credential_request(
        &self,
        record: &CredentialRecord,
        job: &CredentialJob,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO credential_request (request_id, identity_id, token_id, event_id, partner_id, credential_type, \
             status, attributes, encrypt, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&record.request_id)
        .bind(&record.identity_id)
        .bind(&record.token.0)
        .bind(record.event_id.as_str())
        .bind(&record.partner_id)
        .bind(&record.credential_type)
        .bind(record.status.code())
        .bind(record.attributes.join(","))
        .bind(flag(record.encrypt))
        .bind(epoch_ms(record.created_at))
        .bind(epoch_ms(record.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.apply_effects(&mut tx, effects, now).await?;
        let payload = serde_json::to_string(job).map_err(|e| StoreError::Integrity(e.to_string()))?;
        jobs::enqueue_in(&mut tx, self.vault(), CREDENTIAL_JOB, &payload, now, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn credential_request(&self, request_id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM credential_request WHERE request_id = $1");
        let row = sqlx::query(&sql).bind(request_id).fetch_optional(self.writer()).await.map_err(db_err)?;
        row.as_ref().map(record_from_row).transpose()
    }

    async fn move_credential(
        &self,
        request_id: &str,
        from: CredentialStatus,
        to: CredentialStatus,
        data: DataChange<'_>,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (content_type, sealed, clear) = match data {
            DataChange::Keep => (None, None, false),
            DataChange::Set(d) => (
                Some(d.content_type.clone()),
                Some(self.vault().seal(format!("credential/{request_id}").as_bytes(), &d.bytes)?),
                false,
            ),
            DataChange::Clear => (None, None, true),
        };
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let moved = sqlx::query(
            "UPDATE credential_request SET status = $1, \
             content_type = CASE WHEN $2 = 1 THEN NULL ELSE COALESCE($3, content_type) END, \
             data = CASE WHEN $2 = 1 THEN NULL ELSE COALESCE($4, data) END, updated_at = $5 \
             WHERE request_id = $6 AND status = $7 RETURNING event_id",
        )
        .bind(to.code())
        .bind(flag(clear))
        .bind(content_type)
        .bind(sealed)
        .bind(epoch_ms(now))
        .bind(request_id)
        .bind(from.code())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = moved else { return Ok(false) };
        let event_id: String = row.try_get("event_id").map_err(db_err)?;
        // MOSIP's SHARE_CRED_WITH_PARTNER statuses: DATA_SHARED_SUCCESSFULLY on success
        let history = match to {
            CredentialStatus::Issued => "DATA_SHARED_SUCCESSFULLY",
            other => other.code(),
        };
        sqlx::query(
            "UPDATE resident_transaction SET status_code = $1, request_summary = $2, upd_dtimes = $3, read_status = 0 WHERE event_id = $4",
        )
        .bind(history)
        .bind(format!("SHARE_CRED_WITH_PARTNER - {history}"))
        .bind(epoch_ms(now))
        .bind(&event_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn record_download(
        &self,
        request_id: &str,
        by_request_id: bool,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        if by_request_id {
            let claimed = sqlx::query(
                "UPDATE credential_request SET fetched_by_request_id_at = $1 \
                 WHERE request_id = $2 AND fetched_by_request_id_at IS NULL",
            )
            .bind(epoch_ms(now))
            .bind(request_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if claimed.rows_affected() != 1 {
                return Ok(false);
            }
        }
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn credential_data(&self, request_id: &str) -> Result<Option<CredentialData>, StoreError> {
        let row = sqlx::query("SELECT content_type, data FROM credential_request WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(self.reader())
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let content_type: Option<String> = row.try_get("content_type").map_err(db_err)?;
        let data: Option<Vec<u8>> = row.try_get("data").map_err(db_err)?;
        match (content_type, data) {
            (Some(content_type), Some(sealed)) => Ok(Some(CredentialData {
                content_type,
                bytes: self.vault().open(format!("credential/{request_id}").as_bytes(), &sealed)?.to_vec(),
            })),
            _ => Ok(None),
        }
    }
}
