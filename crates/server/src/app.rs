//! The composition root: the one place that picks concrete implementations and wires them together.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use resident_domain::audit::AuditContext;
use resident_domain::clock::{Clock, SystemClock};
use resident_domain::identity::{IdentitySchema, Languages};
use resident_domain::registration::StatusPolicy;
use resident_store::jobs::{JobHandler, Worker};
use resident_store::{Backend, Store, StoreOptions, Vault};
use resident_web::{AppState, HostInfo, Services};
use sha2::{Digest, Sha256};

use crate::config::{Config, read_secret};

pub struct App {
    pub config: Config,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub schema: Arc<IdentitySchema>,
}

/// Whether opening the store may change its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    Migrate,
    MustBeCurrent,
    /// For `migrate` itself: open whatever version the database is at.
    Unchecked,
}

impl App {
    pub async fn open(config: Config, schema_mode: Schema) -> Result<App> {
        let url = config.database_url();
        let vault = open_vault(&config)?;
        let options = StoreOptions {
            url: url.clone(),
            max_connections: config.database.max_connections,
            acquire_timeout: Duration::from_secs(config.database.acquire_timeout_seconds),
        };
        let store = Store::open(&options, vault)
            .await
            .with_context(|| format!("opening the database {}", resident_store::redact_url(&url)))?;
        match schema_mode {
            Schema::Migrate => {
                store.migrate().await.context("migrating the database")?;
                store.check_schema().await.map_err(|e| anyhow!("{e}"))?;
            }
            Schema::MustBeCurrent => store.check_schema().await.map_err(|e| anyhow!("{e}"))?,
            Schema::Unchecked => {}
        }
        let languages = Languages {
            mandatory: config.identity.mandatory_languages.clone(),
            optional: config.identity.optional_languages.clone(),
        };
        let schema_text = match &config.identity.schema_file {
            Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            None => resident_domain::identity::DEFAULT_SCHEMA.to_owned(),
        };
        let schema = IdentitySchema::parse(&schema_text, languages).context("loading the ID schema")?;
        Ok(App { config, store, clock: Arc::new(SystemClock), schema: Arc::new(schema) })
    }

    pub fn status_policy(&self) -> StatusPolicy {
        StatusPolicy {
            max_retry: self.config.registration.max_retry,
            reprocess_elapse_seconds: self.config.registration.reprocess_elapse_seconds,
            ..StatusPolicy::default()
        }
    }

    pub fn host(&self) -> HostInfo {
        HostInfo {
            name: self.config.audit.host_name.clone().unwrap_or_else(host_name),
            ip: self.config.audit.host_ip.clone().unwrap_or_else(|| "127.0.0.1".into()),
        }
    }

    pub fn operator_context(&self) -> AuditContext {
        let host = self.host();
        let user = std::env::var("USER").unwrap_or_else(|_| "operator".into());
        AuditContext {
            host_name: host.name,
            host_ip: host.ip,
            session_user: format!("operator:{user}"),
            request_id: None,
        }
    }

    pub fn web_state(&self) -> Result<AppState> {
        let service_key = read_secret(
            &self.config.platform.service_key,
            &self.config.platform.service_key_file,
            "platform.service_key",
        )
        .map_err(|e| anyhow!(e))?;
        let store = Arc::new(self.store.clone());
        Ok(AppState(Arc::new(Services {
            registrations: store.clone(),
            audit: store.clone(),
            identities: store.clone(),
            health: store,
            clock: self.clock.clone(),
            schema: self.schema.clone(),
            status_policy: self.status_policy(),
            host: self.host(),
            service_key_sha256: service_key.map(|k| Sha256::digest(k.as_bytes()).into()),
            metrics: resident_web::middleware::prometheus(),
        })))
    }

    /// The job worker with every handler this build has.
    pub fn worker(&self) -> Worker {
        let handlers: Vec<Arc<dyn JobHandler>> = Vec::new();
        let mut worker = Worker::new(self.store.clone(), self.clock.clone(), handlers);
        worker.poll = Duration::from_millis(self.config.worker.poll_millis);
        worker.lease = Duration::from_secs(self.config.worker.lease_seconds);
        worker
    }
}

fn open_vault(config: &Config) -> Result<Vault> {
    let given = read_secret(&config.security.data_key, &config.security.data_key_file, "security.data_key")
        .map_err(|e| anyhow!(e))?;
    match given {
        Some(key) => Vault::from_base64(&key).map_err(|e| anyhow!("security.data_key: {e}")),
        None => {
            let path = config.data_dir.join("keys").join("master.key");
            let existed = path.exists();
            let vault = Vault::load_or_create(&path).map_err(|e| anyhow!("data key: {e}"))?;
            if !existed {
                tracing::warn!(path = %path.display(), "created a new data key; back it up: without it the personal data cannot be read");
            }
            if Backend::from_url(&config.database_url()).ok() == Some(Backend::Postgres) {
                tracing::warn!(
                    "PostgreSQL with a data key from the data folder: every replica must share this key (set security.data_key_file)"
                );
            }
            Ok(vault)
        }
    }
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|s| s.trim().to_owned()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
