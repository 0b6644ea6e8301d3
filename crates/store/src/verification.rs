//! Verified phone numbers and email addresses: per identity and channel, a keyed hash of the value
//! the resident last proved they hold.

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::clock::epoch_ms;
use resident_domain::history::IdentityToken;
use resident_domain::otp::OtpChannel;
use resident_domain::ports::{ChannelVerifications, Effects};
use time::OffsetDateTime;

use crate::{Store, db_err};

impl Store {
    fn channel_hash(&self, token: &IdentityToken, channel: OtpChannel, value: &str) -> String {
        self.vault().lookup_hash("channel", &format!("{}:{}:{}", token.0, channel.code(), value.trim()))
    }
}

#[async_trait]
impl ChannelVerifications for Store {
    async fn mark_verified(
        &self,
        token: &IdentityToken,
        verified: &[(OtpChannel, String)],
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(db_err)?;
        for (channel, value) in verified {
            sqlx::query(
                "INSERT INTO channel_verification (token_id, channel, value_hash, verified_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (token_id, channel) DO UPDATE SET value_hash = excluded.value_hash, \
                 verified_at = excluded.verified_at",
            )
            .bind(&token.0)
            .bind(channel.code())
            .bind(self.channel_hash(token, *channel, value))
            .bind(epoch_ms(now))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        self.apply_effects(&mut tx, effects, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn is_verified(&self, token: &IdentityToken, channel: OtpChannel, value: &str) -> Result<bool, StoreError> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT value_hash FROM channel_verification WHERE token_id = $1 AND channel = $2")
                .bind(&token.0)
                .bind(channel.code())
                .fetch_optional(self.reader())
                .await
                .map_err(db_err)?;
        Ok(stored.is_some_and(|h| h == self.channel_hash(token, channel, value)))
    }
}
