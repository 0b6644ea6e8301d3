//! The embedded platform's clients, and the key manager's signing certificates this tier keeps.

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::clock::{epoch_ms, from_epoch_ms};
use resident_domain::platform::{PlatformClient, PlatformClients};
use resident_domain::ports::Effects;
use sqlx::Row;
use time::OffsetDateTime;

use crate::{Store, db_err};

#[async_trait]
impl PlatformClients for Store {
    async fn add_client(
        &self,
        client: &PlatformClient,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let added = sqlx::query(
            "INSERT INTO platform_client (id, app_id, roles, secret_sha256, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&client.id)
        .bind(&client.app_id)
        .bind(client.roles.join(","))
        .bind(&client.secret_sha256)
        .bind(i64::from(client.active))
        .bind(epoch_ms(client.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if added == 0 {
            return Err(StoreError::Conflict(format!("client {}", client.id)));
        }
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn update_client(
        &self,
        client: &PlatformClient,
        was: &PlatformClient,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        let changed = sqlx::query(
            "UPDATE platform_client SET secret_sha256 = $1, active = $2, created_at = $3 \
             WHERE id = $4 AND secret_sha256 = $5 AND created_at = $6",
        )
        .bind(&client.secret_sha256)
        .bind(i64::from(client.active))
        .bind(epoch_ms(client.created_at))
        .bind(&client.id)
        .bind(&was.secret_sha256)
        .bind(epoch_ms(was.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::Conflict(format!("client {} changed meanwhile, or is gone", client.id)));
        }
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn client(&self, id: &str) -> Result<Option<PlatformClient>, StoreError> {
        let row = sqlx::query(
            "SELECT id, app_id, roles, secret_sha256, active, created_at FROM platform_client WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.reader())
        .await
        .map_err(db_err)?;
        row.map(|r| {
            let roles: String = r.try_get("roles").map_err(db_err)?;
            let active: i64 = r.try_get("active").map_err(db_err)?;
            Ok(PlatformClient {
                id: r.try_get("id").map_err(db_err)?,
                app_id: r.try_get("app_id").map_err(db_err)?,
                roles: roles.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                secret_sha256: r.try_get("secret_sha256").map_err(db_err)?,
                active: active == 1,
                created_at: from_epoch_ms(r.try_get("created_at").map_err(db_err)?),
            })
        })
        .transpose()
    }
}

#[async_trait]
impl resident_domain::keymanager::SigningCertificates for Store {
    async fn signing_certificates(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT thumbprint, pem FROM signing_certificate ORDER BY first_seen, thumbprint")
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| Ok((r.try_get("thumbprint").map_err(db_err)?, r.try_get("pem").map_err(db_err)?))).collect()
    }

    async fn keep_signing_certificate(
        &self,
        thumbprint: &str,
        pem: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_certificate (thumbprint, pem, first_seen) VALUES ($1, $2, $3) \
             ON CONFLICT (thumbprint) DO NOTHING",
        )
        .bind(thumbprint)
        .bind(pem)
        .bind(epoch_ms(now))
        .execute(self.writer())
        .await
        .map_err(db_err)?;
        Ok(())
    }
}
