//! Resident Portal sessions.

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::audit::AuditRecord;
use resident_domain::clock::{epoch_ms, from_epoch_ms};
use resident_domain::ports::{PortalSession, SessionStore};
use sqlx::Row;
use time::OffsetDateTime;

use crate::{Store, audit, db_err};

/// What a session's sealed UIN is bound to: its own row.
fn session_aad(id_hash: &str) -> String {
    format!("portal_session/{id_hash}")
}

#[async_trait]
impl SessionStore for Store {
    async fn create_session(&self, s: &PortalSession, record: &AuditRecord) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO portal_session (id_hash, identity_id, token_id, id_type, csrf, created_at, last_seen_at, expires_at, \
             uin_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.id_hash)
        .bind(&s.identity_id)
        .bind(&s.token.0)
        .bind(&s.id_type)
        .bind(&s.csrf)
        .bind(epoch_ms(s.created_at))
        .bind(epoch_ms(s.last_seen_at))
        .bind(epoch_ms(s.expires_at))
        .bind(self.vault().seal(session_aad(&s.id_hash).as_bytes(), s.uin.expose().as_bytes())?)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // sessions long over are swept on the way
        sqlx::query("DELETE FROM portal_session WHERE expires_at < $1")
            .bind(epoch_ms(s.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        audit::append_in(&mut tx, self.vault(), std::slice::from_ref(record)).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn session(&self, id_hash: &str) -> Result<Option<PortalSession>, StoreError> {
        let row = sqlx::query(
            "SELECT id_hash, identity_id, token_id, id_type, csrf, created_at, last_seen_at, expires_at, uin_sealed \
             FROM portal_session WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(self.writer())
        .await
        .map_err(db_err)?;
        let Some(r) = row else { return Ok(None) };
        // a session from before the UIN was kept (schema 16) opens nothing: the resident logs in again
        let Some(sealed) = r.try_get::<Option<Vec<u8>>, _>("uin_sealed").map_err(db_err)? else { return Ok(None) };
        let opened = self.vault().open(session_aad(id_hash).as_bytes(), &sealed)?;
        let uin = std::str::from_utf8(&opened)
            .ok()
            .and_then(|u| resident_domain::ids::Uin::parse(u).ok())
            .ok_or_else(|| StoreError::Integrity("a session's UIN".into()))?;
        Some(r)
            .map(|r| {
                Ok(PortalSession {
                    id_hash: r.try_get("id_hash").map_err(db_err)?,
                    identity_id: r.try_get("identity_id").map_err(db_err)?,
                    uin,
                    token: resident_domain::history::IdentityToken(r.try_get("token_id").map_err(db_err)?),
                    id_type: r.try_get("id_type").map_err(db_err)?,
                    csrf: r.try_get("csrf").map_err(db_err)?,
                    created_at: from_epoch_ms(r.try_get("created_at").map_err(db_err)?),
                    last_seen_at: from_epoch_ms(r.try_get("last_seen_at").map_err(db_err)?),
                    expires_at: from_epoch_ms(r.try_get("expires_at").map_err(db_err)?),
                })
            })
            .transpose()
    }

    async fn touch_session(&self, id_hash: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE portal_session SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(epoch_ms(now))
            .bind(id_hash)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn end_session(&self, id_hash: &str, record: Option<&AuditRecord>) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query("DELETE FROM portal_session WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("DELETE FROM portal_draft WHERE session_hash = $1")
            .bind(id_hash)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if let Some(r) = record {
            audit::append_in(&mut tx, self.vault(), std::slice::from_ref(r)).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn sweep_sessions(&self, idle_since: OffsetDateTime, now: OffsetDateTime) -> Result<(u64, u64), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let sessions = sqlx::query("DELETE FROM portal_session WHERE expires_at <= $1 OR last_seen_at < $2")
            .bind(epoch_ms(now))
            .bind(epoch_ms(idle_since))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        let drafts = sqlx::query(
            "DELETE FROM portal_draft WHERE NOT EXISTS \
             (SELECT 1 FROM portal_session s WHERE s.id_hash = portal_draft.session_hash)",
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        tx.commit().await.map_err(db_err)?;
        Ok((sessions, drafts))
    }
}

#[async_trait]
impl resident_domain::ports::DraftStore for Store {
    async fn save_draft(&self, session_hash: &str, data: &[u8], now: OffsetDateTime) -> Result<(), StoreError> {
        let sealed = self.vault().seal(format!("draft/{session_hash}").as_bytes(), data)?;
        sqlx::query(
            "INSERT INTO portal_draft (session_hash, data, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (session_hash) DO UPDATE SET data = excluded.data, created_at = excluded.created_at",
        )
        .bind(session_hash)
        .bind(sealed)
        .bind(epoch_ms(now))
        .execute(self.writer())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn draft(&self, session_hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<Vec<u8>> = sqlx::query_scalar("SELECT data FROM portal_draft WHERE session_hash = $1")
            .bind(session_hash)
            .fetch_optional(self.writer())
            .await
            .map_err(db_err)?;
        row.map(|sealed| Ok(self.vault().open(format!("draft/{session_hash}").as_bytes(), &sealed)?.to_vec()))
            .transpose()
    }

    async fn drop_draft(&self, session_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM portal_draft WHERE session_hash = $1")
            .bind(session_hash)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl resident_domain::ports::GrievanceStore for Store {
    async fn raise_grievance(
        &self,
        g: &resident_domain::ports::Grievance,
        effects: &resident_domain::ports::Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let sealed = self.vault().seal(format!("grievance/{}", g.ticket_id).as_bytes(), g.message.as_bytes())?;
        let contact = if g.contact.is_empty() {
            None
        } else {
            let plain = serde_json::json!({"email": g.contact.email, "phone": g.contact.phone}).to_string();
            Some(self.vault().seal(format!("grievance-contact/{}", g.ticket_id).as_bytes(), plain.as_bytes())?)
        };
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO grievance (ticket_id, token_id, event_id, message, contact, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'OPEN', $6)",
        )
        .bind(&g.ticket_id)
        .bind(&g.token.0)
        .bind(g.event_id.as_str())
        .bind(sealed)
        .bind(contact)
        .bind(epoch_ms(g.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)
    }
}
