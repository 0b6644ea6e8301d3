//! The packet store on a local folder (or a shared volume): one file per key, written to a temporary
//! name, synced and renamed, so a packet is either whole or absent. An S3-compatible store can
//! implement the same port.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::ports::PacketStore;
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone)]
pub struct LocalPacketStore {
    root: PathBuf,
}

impl LocalPacketStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalPacketStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Keys are relative paths of plain names: no `..`, no absolute paths, no odd characters.
    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let ok = !key.is_empty()
            && !key.starts_with('/')
            && key.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'.'));
        if !ok {
            return Err(StoreError::Integrity(format!("invalid packet key {key:?}")));
        }
        Ok(self.root.join(key))
    }
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("packet store {}: {e}", path.display()))
}

#[async_trait]
impl PacketStore for LocalPacketStore {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.root).to_owned();
        let private = dir.clone();
        tokio::task::spawn_blocking(move || resident_files::private_dir(&private))
            .await
            .map_err(|e| StoreError::Unavailable(format!("packet store: {e}")))?
            .map_err(|e| io(&dir, e))?;
        let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4()));
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        // encrypted, but still nobody else's business
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&tmp).await.map_err(|e| io(&tmp, e))?;
        let written = async {
            file.write_all(bytes).await?;
            file.sync_all().await
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(io(&tmp, e));
        }
        tokio::fs::rename(&tmp, &path).await.map_err(|e| io(&path, e))?;
        // make the rename itself durable
        if let Ok(d) = tokio::fs::File::open(&dir).await {
            let _ = d.sync_all().await;
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key)?;
        match tokio::fs::read(&path).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&path, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, time::OffsetDateTime)>, StoreError> {
        let folder = prefix.trim_end_matches('/');
        let dir = self.path(folder)?;
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir, e)),
        };
        let mut out = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(|e| io(&dir, e))? {
            let meta = entry.metadata().await.map_err(|e| io(&entry.path(), e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            if !meta.is_file() {
                continue;
            }
            let written = meta.modified().map_err(|e| io(&entry.path(), e))?;
            out.push((format!("{folder}/{name}"), time::OffsetDateTime::from(written)));
        }
        out.sort();
        Ok(out)
    }
}
