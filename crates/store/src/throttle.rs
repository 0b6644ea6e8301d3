//! Throttling counters (`rate_counter`): one row per client bucket and window, counted with one
//! upsert so concurrent requests on any replica add up exactly. Buckets are keyed hashes: the table
//! holds no client address.

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::throttle::RateCounter;

use crate::{Store, db_err};

#[async_trait]
impl RateCounter for Store {
    async fn hit(&self, bucket: &str, window_start_ms: i64, expires_at_ms: i64) -> Result<i64, StoreError> {
        let key = self.vault().lookup_hash("rate", bucket);
        sqlx::query_scalar(
            "INSERT INTO rate_counter (bucket, window_start, hits, expires_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counter.hits + 1 RETURNING hits",
        )
        .bind(key)
        .bind(window_start_ms)
        .bind(expires_at_ms)
        .fetch_one(self.writer())
        .await
        .map_err(db_err)
    }

    async fn sweep(&self, now_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM rate_counter WHERE expires_at < $1")
            .bind(now_ms)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
