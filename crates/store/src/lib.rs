//! Storage for Resident Services on SQLite and PostgreSQL through one sqlx `AnyPool` code path.
//!
//! SQL is written once in the common dialect (`$n` placeholders, `ON CONFLICT`, `RETURNING`, times as
//! epoch milliseconds bound from the clock). The rare statement that must differ is a named pair.
//! SQLite gets a single-connection writer pool (WAL, one writer) and a reader pool; PostgreSQL uses one
//! pool for both.

pub mod access;
pub mod audit;
pub mod auth;
pub mod credentials;
pub mod crypto;
pub mod history;
pub mod identities;
mod import;
pub mod jobs;
pub mod migrate;
pub mod packets;
pub mod platform;
pub mod portal;
pub mod printing;
pub mod registrations;
pub mod throttle;
pub mod updates;
pub mod uploads;
pub mod verification;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::ports::HealthCheck;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

pub use crypto::Vault;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(format!("unsupported database URL scheme in {:?}: use sqlite://PATH or postgres://…", redact_url(url)))
        }
    }
}

/// The URL with its secrets replaced, for messages, logs and `check-config`: the password of the user
/// information (`user:***@host`), and the value of every query parameter whose name says it is a
/// secret (`key`, `apikey`, `api_key`, `token`, `access_token`, `password`, `secret`, `signature`, …).
pub fn redact_url(url: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match (before_query.find("://"), before_query.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &before_query[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &before_query[..s + 3], user, &before_query[at..]),
                // a long user part without a password is a token (`https://<token>@host`)
                None if creds.len() >= 20 => format!("{}***{}", &before_query[..s + 3], &before_query[at..]),
                None => before_query.to_owned(),
            }
        }
        _ => before_query.to_owned(),
    };
    if let Some(q) = query {
        let (q, fragment) = match q.split_once('#') {
            Some((q, f)) => (q, Some(f)),
            None => (q, None),
        };
        let params: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if secret_name(k) => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
        if fragment.is_some() {
            out.push_str("#***");
        }
    }
    out
}

/// A request body template (`sms.body_template`) with the values of secret-named fields replaced: a
/// JSON object's (at any depth), or a form's (`apikey=…&to=$to`).
pub fn redact_template(template: &str) -> String {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    if secret_name(k) && !child.is_object() && !child.is_array() {
                        *child = serde_json::Value::String("***".into());
                    } else {
                        walk(child);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(template) {
        Ok(mut v @ serde_json::Value::Object(_)) => {
            walk(&mut v);
            v.to_string()
        }
        _ => template
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if secret_name(k.trim()) => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&"),
    }
}

/// Whether a configuration key or URL parameter name says its value is a secret.
pub fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace(['-', '.'], "_");
    const PARTS: [&str; 5] = ["key", "pwd", "sig", "auth", "pass"];
    const INSIDE: [&str; 8] = ["password", "passwd", "token", "secret", "apikey", "signature", "credential", "private"];
    n.split('_').any(|part| PARTS.contains(&part)) || INSIDE.iter().any(|w| n.contains(w))
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        StoreOptions { url: url.into(), max_connections: 16, acquire_timeout: Duration::from_secs(5) }
    }
}

struct Inner {
    reader: AnyPool,
    writer: AnyPool,
    backend: Backend,
    vault: Vault,
    audit: audit::AuditWriter,
}

/// The store: cheap to clone, shared by every request and the job worker.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.inner.backend)
    }
}

fn sqlite_url(url: &str) -> Result<String, String> {
    // create the file (and its folder) on first use
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let file = path.split('?').next().unwrap_or_default();
    if file.is_empty() || file.starts_with(":memory:") || file.starts_with("file:") {
        return Err("use a file for SQLite (e.g. sqlite://data/resident.db): an in-memory database is lost on restart and is private to one connection".into());
    }
    if let Some(dir) = std::path::Path::new(file).parent()
        && !dir.as_os_str().is_empty()
    {
        resident_files::private_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // the database and, from its mode, SQLite's -wal, -shm and -journal files: 0600
    let db = std::path::Path::new(file);
    resident_files::touch_private(db).map_err(|e| format!("{}: {e}", db.display()))?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = std::path::PathBuf::from(format!("{file}{suffix}"));
        resident_files::tighten(&side).map_err(|e| format!("{}: {e}", side.display()))?;
    }
    Ok(if path.contains("mode=") {
        format!("sqlite://{path}")
    } else if path.contains('?') {
        format!("sqlite://{path}&mode=rwc")
    } else {
        format!("sqlite://{path}?mode=rwc")
    })
}

async fn connect(url: &str, max: u32, timeout: Duration) -> Result<AnyPool, StoreError> {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(timeout)
        .after_connect(|conn, _| {
            Box::pin(async move {
                if conn.backend_name() == "SQLite" {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    // 64 MiB of page cache per connection (SQLite's default is 2 MiB): with a few
                    // million identities the indexes' pages are otherwise read back from the OS at every
                    // batch of an import
                    conn.execute("PRAGMA cache_size = -65536").await?;
                    conn.execute("PRAGMA temp_store = MEMORY").await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

impl Store {
    /// Connects (creating an SQLite file if needed). Does not migrate: call [`Store::migrate`] or
    /// [`Store::check_schema`].
    pub async fn open(options: &StoreOptions, vault: Vault) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = Backend::from_url(&options.url).map_err(StoreError::Unavailable)?;
        let (reader, writer) = match backend {
            Backend::Sqlite => {
                let url = sqlite_url(&options.url).map_err(StoreError::Unavailable)?;
                let writer = connect(&url, 1, options.acquire_timeout).await?;
                let reader = connect(&url, options.max_connections.max(2), options.acquire_timeout).await?;
                (reader, writer)
            }
            Backend::Postgres => {
                let pool = connect(&options.url, options.max_connections, options.acquire_timeout).await?;
                (pool.clone(), pool)
            }
        };
        let audit = audit::AuditWriter::spawn(writer.clone(), backend, vault.clone());
        Ok(Store { inner: Arc::new(Inner { reader, writer, backend, vault, audit }) })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    pub fn vault(&self) -> &Vault {
        &self.inner.vault
    }

    pub(crate) fn reader(&self) -> &AnyPool {
        &self.inner.reader
    }

    pub(crate) fn writer(&self) -> &AnyPool {
        &self.inner.writer
    }

    /// Applies every migration this binary has; refuses a database written by a newer version.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrate::migrator(self.inner.backend)
            .run(self.writer())
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))
    }

    /// The schema version the database is at (0 for an empty database).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let exists: Result<Option<i64>, _> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(self.reader()).await;
        match exists {
            Ok(v) => Ok(v.unwrap_or(0)),
            Err(sqlx::Error::Database(e)) if e.message().contains("_sqlx_migrations") => Ok(0),
            Err(e) => Err(db_err(e)),
        }
    }

    /// Fails when the database is not at exactly this binary's schema version.
    pub async fn check_schema(&self) -> Result<(), StoreError> {
        let have = self.schema_version().await?;
        let want = migrate::latest_version();
        if have > want {
            return Err(StoreError::Unavailable(format!(
                "the database is at schema version {have}, newer than this binary's {want}: upgrade the binary"
            )));
        }
        if have < want {
            return Err(StoreError::Unavailable(format!(
                "the database is at schema version {have}; run `resident migrate` to bring it to {want}"
            )));
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.inner.audit.shutdown().await;
        self.inner.writer.close().await;
        self.inner.reader.close().await;
    }
}

#[async_trait]
impl HealthCheck for Store {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(self.reader()).await.map(|_| ()).map_err(db_err)?;
        Ok(())
    }
}

/// Converts a sqlx error at the crate boundary. Unique violations become conflicts.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(d.message().to_owned()),
        sqlx::Error::RowNotFound => StoreError::NotFound,
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// `prefix VALUES (…), (…) suffix` for `rows` rows of `cols` placeholders: only placeholders are
/// generated, never values. SQLite gets anonymous `?` placeholders: sqlx looks every named one up with
/// `sqlite3_bind_parameter_name`, which scans a list, so `$n` costs O(n²) per statement.
pub(crate) fn values_sql(prefix: &str, rows: usize, cols: usize, anonymous: bool, suffix: &str) -> String {
    let mut sql = String::with_capacity(prefix.len() + suffix.len() + rows * cols * 6);
    sql.push_str(prefix);
    sql.push_str(" VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..cols {
            if col > 0 {
                sql.push_str(", ");
            }
            if anonymous {
                sql.push('?');
            } else {
                sql.push_str(&format!("${}", row * cols + col + 1));
            }
        }
        sql.push(')');
    }
    sql.push(' ');
    sql.push_str(suffix);
    sql
}

pub(crate) fn flag(v: bool) -> i64 {
    i64::from(v)
}

#[cfg(test)]
mod tests {
    use super::{redact_template, redact_url};

    #[test]
    fn secrets_in_urls_and_templates_are_hidden() {
        assert_eq!(redact_url("postgres://app:pw@db/resident"), "postgres://app:***@db/resident");
        assert_eq!(redact_url("postgres://postgres@127.0.0.1:5432/x"), "postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(redact_url("https://0123456789abcdefghij@gw.example/x"), "https://***@gw.example/x");
        assert_eq!(
            redact_url("https://gw.example/send?to=$to&api_key=A1&Token=B2&signature=C3#frag"),
            "https://gw.example/send?to=$to&api_key=***&Token=***&signature=***#***"
        );
        let json = redact_template(r#"{"apikey": "A1", "nested": {"password": "B2"}, "to": "$to", "authority": "x"}"#);
        assert!(
            !json.contains("A1") && !json.contains("B2") && json.contains("$to") && json.contains("\"x\""),
            "{json}"
        );
        assert_eq!(redact_template("user=u&pass=P1&to=$to&text=$message"), "user=u&pass=***&to=$to&text=$message");
    }
}
