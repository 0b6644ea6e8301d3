//! Throttling counters (`rate_counter`): one row per client bucket and window. Buckets are keyed
//! hashes: the table holds no client address.
//!
//! [`Store`] counts every hit with one upsert, exactly, across replicas. [`BufferedCounter`] is what
//! the server uses: it counts in memory and adds its hits to the same rows every
//! [`BufferedCounter::FLUSH`], so a counted request costs no database write. A bucket first seen in a
//! window is read from the database, so what other replicas counted is known from the start; after
//! that, other replicas' hits are known as of the last flush (a few hundred milliseconds), and a
//! bucket this process has not counted in since is read again before it decides (a flush learns only
//! the totals of the buckets it writes).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::throttle::RateCounter;
use sqlx::Row;

use crate::{Store, db_err};

impl Store {
    /// Adds `n` hits to a bucket's window and returns its total.
    async fn add_hits(
        &self,
        bucket: &str,
        window_start_ms: i64,
        expires_at_ms: i64,
        n: i64,
    ) -> Result<i64, StoreError> {
        let key = self.vault().lookup_hash("rate", bucket);
        sqlx::query_scalar(
            "INSERT INTO rate_counter (bucket, window_start, hits, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counter.hits + excluded.hits RETURNING hits",
        )
        .bind(key)
        .bind(window_start_ms)
        .bind(n)
        .bind(expires_at_ms)
        .fetch_one(self.writer())
        .await
        .map_err(db_err)
    }

    /// A bucket's hits in a window, as the database has them.
    async fn hits(&self, bucket: &str, window_start_ms: i64) -> Result<i64, StoreError> {
        let key = self.vault().lookup_hash("rate", bucket);
        let row = sqlx::query("SELECT hits FROM rate_counter WHERE bucket = $1 AND window_start = $2")
            .bind(key)
            .bind(window_start_ms)
            .fetch_optional(self.reader())
            .await
            .map_err(db_err)?;
        Ok(match row {
            Some(r) => r.try_get("hits").map_err(db_err)?,
            None => 0,
        })
    }
}

#[async_trait]
impl RateCounter for Store {
    async fn hit(&self, bucket: &str, window_start_ms: i64, expires_at_ms: i64) -> Result<i64, StoreError> {
        self.add_hits(bucket, window_start_ms, expires_at_ms, 1).await
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

/// One bucket's window as this process knows it.
#[derive(Debug, Clone, Copy)]
struct Tally {
    expires_at_ms: i64,
    /// The database's total at the last read or flush (every replica's hits).
    known: i64,
    /// Hits of this process not yet added to the database.
    pending: i64,
    /// When `known` was read or learned.
    learned: std::time::Instant,
}

type Tallies = HashMap<(String, i64), Tally>;

/// Counts in memory and adds to the database in the background (see the module's documentation).
pub struct BufferedCounter {
    store: Store,
    tallies: Mutex<Tallies>,
}

impl BufferedCounter {
    /// How often this process's hits reach the database.
    pub const FLUSH: Duration = Duration::from_millis(250);

    /// A counter over `store`, with its flushing task (which ends when the counter is dropped).
    pub fn spawn(store: Store) -> Arc<BufferedCounter> {
        let counter = Arc::new(BufferedCounter { store, tallies: Mutex::new(HashMap::new()) });
        let weak: Weak<BufferedCounter> = Arc::downgrade(&counter);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Self::FLUSH).await;
                let Some(c) = weak.upgrade() else { break };
                if let Err(e) = c.flush().await {
                    tracing::warn!(error = %e, "throttling counters could not be written; counting locally meanwhile");
                }
            }
        });
        counter
    }

    fn tallies(&self) -> Result<std::sync::MutexGuard<'_, Tallies>, StoreError> {
        self.tallies.lock().map_err(|_| StoreError::Unavailable("throttling counters poisoned".into()))
    }

    /// Adds this process's pending hits to the database and learns every replica's totals; forgets
    /// windows that have ended.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let pending: Vec<((String, i64), Tally)> = {
            let t = self.tallies()?;
            t.iter().filter(|(_, v)| v.pending > 0).map(|(k, v)| (k.clone(), *v)).collect()
        };
        let mut failed = None;
        for ((bucket, start), tally) in pending {
            match self.store.add_hits(&bucket, start, tally.expires_at_ms, tally.pending).await {
                Ok(total) => {
                    let mut t = self.tallies()?;
                    if let Some(entry) = t.get_mut(&(bucket, start)) {
                        entry.pending -= tally.pending;
                        entry.known = total;
                        entry.learned = std::time::Instant::now();
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        // a window older than the newest one seen has ended: nothing will be counted in it again, and
        // its hits, written or not, no longer decide anything (so the map shrinks even while the
        // database cannot be written)
        let mut t = self.tallies()?;
        let latest = t.keys().map(|(_, s)| *s).max().unwrap_or(i64::MIN);
        t.retain(|(_, start), _| *start >= latest);
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The most buckets kept in memory; beyond (a spray of distinct addresses), a new bucket is
    /// counted straight in the database.
    pub const MAX_BUCKETS: usize = 100_000;
}

#[async_trait]
impl RateCounter for BufferedCounter {
    async fn hit(&self, bucket: &str, window_start_ms: i64, expires_at_ms: i64) -> Result<i64, StoreError> {
        let key = (bucket.to_owned(), window_start_ms);
        // a bucket this process has nothing pending for learns nothing at the flushes: what it knows
        // may be old (another replica may have counted since), so it is read again before it decides
        let (seen, fresh, size) = {
            let t = self.tallies()?;
            let entry = t.get(&key);
            let fresh = entry.is_some_and(|e| e.pending > 0 || e.learned.elapsed() <= Self::FLUSH);
            (entry.is_some(), fresh, t.len())
        };
        if !seen && size >= Self::MAX_BUCKETS {
            return self.store.add_hits(bucket, window_start_ms, expires_at_ms, 1).await;
        }
        if !fresh {
            // first sight in this window, or a quiet bucket: what every replica counted so far
            let known = self.store.hits(bucket, window_start_ms).await?;
            let mut t = self.tallies()?;
            let entry = t.entry(key.clone()).or_insert(Tally {
                expires_at_ms,
                known,
                pending: 0,
                learned: std::time::Instant::now(),
            });
            // the database's total includes what this process flushed; what it holds back stays pending
            entry.known = entry.known.max(known);
            entry.learned = std::time::Instant::now();
        }
        let mut t = self.tallies()?;
        let entry =
            t.entry(key).or_insert(Tally { expires_at_ms, known: 0, pending: 0, learned: std::time::Instant::now() });
        entry.pending += 1;
        Ok(entry.known + entry.pending)
    }

    async fn sweep(&self, now_ms: i64) -> Result<u64, StoreError> {
        self.store.sweep(now_ms).await
    }
}
