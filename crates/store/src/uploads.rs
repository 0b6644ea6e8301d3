//! Proof documents uploaded for an update, sealed under their row id until the update takes them.

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::clock::{epoch_ms, from_epoch_ms};
use resident_domain::history::IdentityToken;
use resident_domain::ports::Effects;
use resident_domain::update::DocumentFormat;
use resident_domain::update::uploads::{Upload, UploadStore};
use sqlx::Row;
use time::OffsetDateTime;

use crate::{Store, db_err};

/// What is sealed beside the file.
#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    field: String,
    doc_type: String,
    name: String,
    reference: Option<String>,
    format: String,
}

fn aad(id: &str) -> Vec<u8> {
    format!("update_upload/{id}").into_bytes()
}

/// `len(meta) ‖ meta ‖ file`: the file is not re-encoded.
fn pack(u: &Upload) -> Result<Vec<u8>, StoreError> {
    let meta = Meta {
        field: u.field.clone(),
        doc_type: u.doc_type.clone(),
        name: u.name.clone(),
        reference: u.reference.clone(),
        format: u.format.extension().to_owned(),
    };
    let meta = serde_json::to_vec(&meta).map_err(|e| StoreError::Integrity(e.to_string()))?;
    let len = u32::try_from(meta.len()).map_err(|_| StoreError::Integrity("upload metadata too long".into()))?;
    let mut out = Vec::with_capacity(4 + meta.len() + u.content.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&meta);
    out.extend_from_slice(&u.content);
    Ok(out)
}

fn unpack(bytes: &[u8]) -> Result<(Meta, Vec<u8>), StoreError> {
    let bad = || StoreError::Integrity("an upload does not unpack".into());
    let len: [u8; 4] = bytes.get(..4).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
    let end = 4usize.checked_add(u32::from_be_bytes(len) as usize).ok_or_else(bad)?;
    let meta: Meta = serde_json::from_slice(bytes.get(4..end).ok_or_else(bad)?).map_err(|_| bad())?;
    Ok((meta, bytes.get(end..).ok_or_else(bad)?.to_vec()))
}

fn format_of(ext: &str) -> Result<DocumentFormat, StoreError> {
    match ext {
        "pdf" => Ok(DocumentFormat::Pdf),
        "jpg" => Ok(DocumentFormat::Jpeg),
        "png" => Ok(DocumentFormat::Png),
        other => Err(StoreError::Integrity(format!("an upload of format {other}"))),
    }
}

#[async_trait]
impl UploadStore for Store {
    async fn put_upload(
        &self,
        upload: &Upload,
        limit: usize,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let sealed = self.vault().seal(&aad(&upload.id), &pack(upload)?)?;
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        if self.backend() == crate::Backend::Postgres {
            // one upload of an owner at a time, so that the count below holds (SQLite has one writer)
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(format!("update_upload:{}", upload.token.0))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM update_upload WHERE token_id = $1")
            .bind(&upload.token.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if usize::try_from(held).unwrap_or(usize::MAX) >= limit {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO update_upload (id, token_id, transaction_id, category, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&upload.id)
        .bind(&upload.token.0)
        .bind(&upload.transaction_id)
        .bind(&upload.category)
        .bind(sealed)
        .bind(epoch_ms(upload.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn uploads(&self, token: &IdentityToken, transaction_id: &str) -> Result<Vec<Upload>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, category, data, created_at FROM update_upload \
             WHERE token_id = $1 AND transaction_id = $2 ORDER BY created_at, id",
        )
        .bind(&token.0)
        .bind(transaction_id)
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id").map_err(db_err)?;
                let sealed: Vec<u8> = row.try_get("data").map_err(db_err)?;
                let (meta, content) = unpack(&self.vault().open(&aad(&id), &sealed)?)?;
                Ok(Upload {
                    id,
                    token: token.clone(),
                    transaction_id: transaction_id.to_owned(),
                    field: meta.field,
                    category: row.try_get("category").map_err(db_err)?,
                    doc_type: meta.doc_type,
                    name: meta.name,
                    reference: meta.reference,
                    format: format_of(&meta.format)?,
                    content,
                    created_at: from_epoch_ms(row.try_get("created_at").map_err(db_err)?),
                })
            })
            .collect()
    }

    async fn delete_upload(
        &self,
        token: &IdentityToken,
        transaction_id: &str,
        id: &str,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let gone = sqlx::query("DELETE FROM update_upload WHERE id = $1 AND token_id = $2 AND transaction_id = $3")
            .bind(id)
            .bind(&token.0)
            .bind(transaction_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        if gone == 0 {
            return Ok(false);
        }
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn drop_uploads(&self, token: &IdentityToken, transaction_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM update_upload WHERE token_id = $1 AND transaction_id = $2")
            .bind(&token.0)
            .bind(transaction_id)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn sweep_uploads(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM update_upload WHERE created_at < $1")
            .bind(epoch_ms(before))
            .execute(self.writer())
            .await
            .map_err(db_err)?
            .rows_affected())
    }
}
