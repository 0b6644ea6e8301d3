//! The audit chain's anchor outside the database: every `audit.checkpoint_seconds` the worker verifies
//! what was appended since the last checkpoint and writes the new head, signed, to
//! `audit.checkpoint_file` (and to the log, for a log store to keep). `resident audit verify` checks the
//! chain against that file, so a tail cut off with the head moved back, or a chain rewritten from the
//! start, is reported. A chain that does not verify is never checkpointed: the last good checkpoint
//! stays, and the error is logged every time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use resident_domain::clock::{Clock, epoch_ms};
use resident_store::Store;
use resident_store::audit::{ChainReport, Checkpoint};

use crate::config::Config;

/// Where the checkpoint file lives.
pub fn checkpoint_path(config: &Config) -> PathBuf {
    config.audit.checkpoint_file.clone().unwrap_or_else(|| config.data_dir.join("audit").join("checkpoint.json"))
}

/// The checkpoint in `path`, if there is one. A file that is there but not a checkpoint is an error:
/// it is never silently replaced.
pub fn read_checkpoint(path: &Path) -> Result<Option<Checkpoint>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| anyhow!("{} is not an audit checkpoint: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow!("{}: {e}", path.display())),
    }
}

pub struct Checkpointer {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub path: PathBuf,
    pub every: Duration,
}

impl Checkpointer {
    /// One round: verify since the last checkpoint, then write the new one.
    pub async fn once(&self) -> Result<Result<Checkpoint, ChainReport>> {
        let previous = read_checkpoint(&self.path)?;
        let now = epoch_ms(self.clock.now());
        match self.store.advance_checkpoint(previous.as_ref(), now).await? {
            Ok(cp) => {
                if previous.as_ref().is_none_or(|p| p.seq != cp.seq || p.hash != cp.hash) {
                    let text = serde_json::to_vec_pretty(&cp).context("encoding the checkpoint")?;
                    resident_files::write_atomic(&self.path, &text)
                        .with_context(|| format!("writing {}", self.path.display()))?;
                    tracing::info!(seq = cp.seq, hash = %cp.hash, tag = %cp.tag, "audit checkpoint");
                }
                Ok(Ok(cp))
            }
            Err(broken) => {
                if let ChainReport::Broken { seq, reason } = &broken {
                    tracing::error!(seq, reason = %reason, "AUDIT CHAIN BROKEN: the checkpoint is not moved; run `resident audit verify`");
                }
                Ok(Err(broken))
            }
        }
    }

    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.once().await {
                tracing::warn!(error = %e, "audit checkpoint could not be written");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }
}
