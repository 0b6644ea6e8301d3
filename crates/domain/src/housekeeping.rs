//! Housekeeping: what nobody will ask for again is deleted, because personal data kept without a
//! purpose is a liability even when encrypted. Portal sessions past their end and the drafts left with
//! them; proof documents uploaded a day ago for an update that never came; update packets that no
//! update refers to (written, then the process died before the update was recorded) and temporary
//! files of writes that never finished. Every replica may run it at once: each
//! deletion is idempotent.

use time::{Duration, OffsetDateTime};

use crate::error::StoreError;
use crate::ids::Rid;
use crate::ports::{PacketStore, SessionStore, UpdateRepository};
use crate::throttle::RateCounter;
use crate::update::UPDATE_PACKET_FOLDER;
use crate::update::uploads::{UPLOAD_LIFETIME, UploadStore};

/// How long a packet may exist before an update refers to it: far longer than the write-then-commit
/// of one request, so a request in flight never loses its packet.
pub const PACKET_GRACE: Duration = Duration::hours(1);

/// What one pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    pub drafts: u64,
    pub packets: u64,
    /// Proof documents uploaded for an update that never came.
    pub uploads: u64,
    /// Throttling counters of windows that have ended.
    pub counters: u64,
}

/// One pass. `idle` is the portal's idle timeout.
pub async fn sweep(
    sessions: &dyn SessionStore,
    packets: &dyn PacketStore,
    updates: &dyn UpdateRepository,
    uploads: &dyn UploadStore,
    counters: &dyn RateCounter,
    now: OffsetDateTime,
    idle: Duration,
) -> Result<Swept, StoreError> {
    let (sessions, drafts) = sessions.sweep_sessions(now - idle, now).await?;
    let counters = counters.sweep(crate::clock::epoch_ms(now)).await?;
    let uploads = uploads.sweep_uploads(now - UPLOAD_LIFETIME).await?;
    let mut swept = Swept { sessions, drafts, packets: 0, uploads, counters };
    for (key, written) in packets.list(UPDATE_PACKET_FOLDER).await? {
        if now - written < PACKET_GRACE {
            continue;
        }
        let name = key.rsplit('/').next().unwrap_or_default();
        let orphan = if name.starts_with('.') {
            // a write that never reached its rename
            true
        } else {
            match name.strip_suffix(".zip").map(Rid::parse) {
                Some(Ok(rid)) => updates.find_update(&rid).await?.is_none(),
                // not ours to judge: left alone
                _ => false,
            }
        };
        if orphan {
            packets.delete(&key).await?;
            swept.packets += 1;
        }
    }
    Ok(swept)
}
