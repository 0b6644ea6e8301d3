//! Configuration: defaults, then `resident.toml` (`--config` / `RESIDENT_CONFIG`), then `RESIDENT_*`
//! environment variables (`__` nests: `RESIDENT_DATABASE__MAX_CONNECTIONS`), then command-line flags.
//! Validated once at start-up; an unknown key warns, an invalid value stops start-up naming the key.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A secret that never prints.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `production` (default) or `development`. Only `development` allows a fixed OTP.
    pub profile: String,
    /// Address the HTTP server listens on (MOSIP's port 8099).
    pub listen: String,
    /// The residents' IANA time zone (`Africa/Casablanca`): the portal, the notifications and the card
    /// show dates and times in it. Stored times are UTC whatever this says.
    pub time_zone: String,
    /// Folder for the SQLite database, keys and outbox.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` (default `sqlite://<data_dir>/resident.db`) or `postgres://USER@HOST:PORT/DB`.
    pub database_url: Option<String>,
    pub database: DatabaseConfig,
    pub security: SecurityConfig,
    pub platform: PlatformConfig,
    pub registration: RegistrationConfig,
    pub identity: IdentityConfig,
    pub log: LogConfig,
    pub worker: WorkerConfig,
    pub http: HttpConfig,
    pub audit: AuditConfig,
    pub otp: resident_domain::otp::OtpPolicy,
    pub vid: VidConfig,
    pub masterdata: MasterdataConfig,
    pub transliteration: TransliterationConfig,
    pub notification: NotificationConfig,
    pub smtp: SmtpSection,
    pub sms: SmsSection,
    pub update: UpdateConfig,
    pub card: CardConfig,
    pub portal: PortalConfig,
    /// MOSIP's own Resident Portal (the Angular `resident-ui`) on this server: see docs/mosip-portal.md.
    pub mosip_ui: MosipUiConfig,
    pub cors: CorsConfig,
    /// Per-client throttling and load shedding (`resident_domain::throttle::RateLimits`).
    pub rate_limit: resident_domain::throttle::RateLimits,
}

/// The Resident Portal (web UI at `/`). Its header shows `card.authority` in `card.colour`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PortalConfig {
    /// Cookies carry `Secure` (browsers then send them only over HTTPS, and to localhost). Turn off
    /// only to try the portal over plain HTTP on another machine.
    pub secure_cookie: bool,
    /// A session ends after this long without a request…
    pub idle_minutes: u64,
    /// …and after this long in any case.
    pub absolute_hours: u64,
    /// The authority's logo for the header (PNG, JPEG or SVG); none by default.
    pub logo_file: Option<PathBuf>,
    /// How Arabic pages write numbers: `arab` (Arabic-Indic digits, CLDR's default) or `latn`
    /// (Western digits, as in the Maghreb). Identifiers (UIN, VID, RID) are always Western digits.
    pub arabic_digits: String,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            secure_cookie: true,
            idle_minutes: 15,
            absolute_hours: 8,
            logo_file: None,
            arabic_digits: "arab".into(),
        }
    }
}

/// MOSIP's Resident Portal app, served from elsewhere or by this server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MosipUiConfig {
    /// Where the app lives (`https://resident.example.org/`): after login and logout the browser is
    /// sent back only to pages under this address. Default: this server's `/resident-ui/` when `dir`
    /// is set, else none (the app's login is then refused).
    pub url: Option<String>,
    /// A built copy of the app (its `index.html` and `assets/`), served at `/resident-ui/` with an
    /// `assets/config.json` pointing at this server.
    pub dir: Option<PathBuf>,
}

/// Cross-origin requests, for the app served from another origin than the API.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CorsConfig {
    /// Exact origins (`https://resident.example.org`) allowed to call the API with the resident's
    /// cookie. None by default.
    pub allowed_origins: Vec<String>,
}

/// The resident's ID card.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CardConfig {
    /// The issuing authority's name on the card, per language.
    pub authority: std::collections::BTreeMap<String, String>,
    /// The card's header colour, `#rrggbb`.
    pub colour: String,
    /// The credential's issuer (`iss`).
    pub issuer: String,
    /// Folder of the card-signing keys (default `<data_dir>/keys/card-signing`); shared by all replicas.
    pub keys_dir: Option<PathBuf>,
    /// Minutes after a credential request during which its request id alone (MOSIP's contract) reads
    /// its status, cancels it and downloads, once, a card protected with the resident's own key; 0:
    /// never, the ownership headers are always needed.
    pub request_id_minutes: u32,
}

impl Default for CardConfig {
    fn default() -> Self {
        CardConfig {
            authority: std::collections::BTreeMap::from([
                ("eng".into(), "Resident Identity Authority".into()),
                ("fra".into(), "Autorité d'identité des résidents".into()),
                ("ara".into(), "هيئة هوية المقيمين".into()),
            ]),
            colour: "#14467a".into(),
            issuer: "resident-services".into(),
            keys_dir: None,
            request_id_minutes: 60,
        }
    }
}

impl CardConfig {
    pub fn rgb(&self) -> Option<[u8; 3]> {
        let hex = self.colour.strip_prefix('#')?;
        if hex.len() != 6 {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        Some([byte(0)?, byte(2)?, byte(4)?])
    }
}

/// "Update my details": what needs an operator, per-field limits, documents, and where packets go.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateConfig {
    /// A change to any of these fields waits for an operator's approval (`resident admin verification`).
    pub verify_fields: Vec<String>,
    /// How many times a resident may change each field (fields not listed: no limit).
    pub limits: std::collections::BTreeMap<String, u32>,
    /// Largest proof document, in bytes (MOSIP: 2000000).
    pub max_document_bytes: usize,
    /// Folder of the packet store (default `<data_dir>/packets`); a shared volume for several replicas.
    pub packet_dir: Option<PathBuf>,
    /// This machine's Ed25519 packet-signing key (default `<data_dir>/keys/packet-signing.key`,
    /// created on first start; its public key is registered in the database).
    pub signing_key_file: Option<PathBuf>,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        let policy = resident_domain::update::UpdatePolicy::default();
        UpdateConfig {
            verify_fields: policy.verify_fields,
            limits: policy.limits,
            max_document_bytes: policy.max_document_bytes,
            packet_dir: None,
            signing_key_file: None,
        }
    }
}

impl UpdateConfig {
    pub fn policy(&self) -> resident_domain::update::UpdatePolicy {
        resident_domain::update::UpdatePolicy {
            verify_fields: self.verify_fields.clone(),
            limits: self.limits.clone(),
            max_document_bytes: self.max_document_bytes,
        }
    }
}

/// An HTTP SMS gateway. Without `url`, SMS go to the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmsSection {
    pub url: Option<String>,
    /// `POST` or `GET`.
    pub method: String,
    /// The POST body, with `$to` and `$message`.
    pub body_template: String,
    pub content_type: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    pub bearer_token: Option<Secret>,
    pub bearer_token_file: Option<PathBuf>,
}

impl Default for SmsSection {
    fn default() -> Self {
        let d = resident_notify::SmsGatewayConfig::default();
        SmsSection {
            url: None,
            method: d.method,
            body_template: d.body_template,
            content_type: d.content_type,
            username: None,
            password: None,
            password_file: None,
            bearer_token: None,
            bearer_token_file: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VidConfig {
    /// A VID policy file (MOSIP's `mosip-vid-policy.json` shape) instead of the built-in one.
    pub policy_file: Option<PathBuf>,
}

/// The country's masterdata (locations, registration centres, document types, dynamic fields).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MasterdataConfig {
    /// A masterdata file (the shape of `crates/domain/data/masterdata.json`) instead of the demo country.
    pub file: Option<PathBuf>,
}

/// How names and address lines are written in the resident's other languages' scripts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TransliterationConfig {
    /// A rules file (the shape of `crates/domain/data/transliteration.json`) instead of the built-in one.
    pub rules_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationConfig {
    /// Languages used when a resident has no preferred language (all of them, in one message).
    pub languages: Vec<String>,
    /// Where outbox files go (default `<data_dir>/outbox`).
    pub outbox_dir: Option<PathBuf>,
}

impl Default for NotificationConfig {
    fn default() -> Self {
        NotificationConfig { languages: vec!["eng".into(), "ara".into(), "fra".into()], outbox_dir: None }
    }
}

/// SMTP settings. Without `host`, email goes to the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpSection {
    pub host: Option<String>,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    pub from: String,
    /// `none`, `starttls` or `tls`.
    pub tls: String,
}

impl Default for SmtpSection {
    fn default() -> Self {
        SmtpSection {
            host: None,
            port: 587,
            username: None,
            password: None,
            password_file: None,
            from: "Resident Services <no-reply@resident.invalid>".into(),
            tls: "starttls".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    pub acquire_timeout_seconds: u64,
    /// Apply migrations when `serve` or `worker` starts (otherwise run `resident migrate`).
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityConfig {
    /// Base64 of the 32-byte master key that encrypts personal data. Default: `<data_dir>/keys/master.key`,
    /// created on first start. Every replica must use the same key.
    pub data_key: Option<Secret>,
    /// A file holding `data_key`.
    pub data_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PlatformConfig {
    /// The key a registration processor presents (`Authorization: Bearer`) to the embedded ID
    /// Repository. Unset: those endpoints answer 401.
    pub service_key: Option<Secret>,
    pub service_key_file: Option<PathBuf>,
    /// `embedded` (every service is this binary's own) or `mosip` (each service that has a MOSIP
    /// adapter calls the platform at `platform.mosip.base_url`).
    pub mode: PlatformMode,
    /// Per service, `embedded` or `mosip`, over `mode` (mixed set-ups).
    pub services: PlatformServices,
    /// The MOSIP platform to call in `mosip` mode.
    pub mosip: MosipPlatformConfig,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlatformMode {
    #[default]
    Embedded,
    Mosip,
}

/// A per-service choice; unset follows `platform.mode`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PlatformServices {
    pub ida: Option<PlatformMode>,
    pub audit: Option<PlatformMode>,
    pub id_repository: Option<PlatformMode>,
    pub notifier: Option<PlatformMode>,
    pub masterdata: Option<PlatformMode>,
    pub keymanager: Option<PlatformMode>,
}

/// A platform service: its configuration key and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformService {
    pub key: &'static str,
    pub name: &'static str,
}

pub const PLATFORM_SERVICES: [PlatformService; 6] = [
    PlatformService { key: "ida", name: "ID Authentication" },
    // every record is committed to the local chain first, and forwarded from there
    PlatformService { key: "audit", name: "audit manager" },
    PlatformService { key: "id_repository", name: "ID Repository" },
    PlatformService { key: "notifier", name: "notifier" },
    PlatformService { key: "masterdata", name: "masterdata" },
    // signs the credential on a resident's card; data at rest stays sealed with this tier's data key
    PlatformService { key: "keymanager", name: "key manager" },
];

impl PlatformConfig {
    fn chosen(&self, key: &str) -> Option<PlatformMode> {
        let s = &self.services;
        match key {
            "ida" => s.ida,
            "audit" => s.audit,
            "id_repository" => s.id_repository,
            "notifier" => s.notifier,
            "masterdata" => s.masterdata,
            "keymanager" => s.keymanager,
            _ => None,
        }
    }

    /// Which one serves `service`: its own choice, else the mode.
    pub fn effective(&self, service: &PlatformService) -> PlatformMode {
        self.chosen(service.key).unwrap_or(self.mode)
    }

    /// Whether the service `key` (`ida`, `id_repository`, …) is MOSIP's.
    pub fn uses_mosip(&self, key: &str) -> bool {
        PLATFORM_SERVICES.iter().any(|s| s.key == key && self.effective(s) == PlatformMode::Mosip)
    }

    /// Whether any service calls MOSIP.
    pub fn calls_mosip(&self) -> bool {
        PLATFORM_SERVICES.iter().any(|s| self.effective(s) == PlatformMode::Mosip)
    }

    /// One line per service: which serves it, and where.
    pub fn describe(&self) -> Vec<String> {
        PLATFORM_SERVICES
            .iter()
            .map(|s| match self.effective(s) {
                PlatformMode::Mosip => format!(
                    "{}: mosip ({})",
                    s.name,
                    self.mosip.url_of(s.key).map(|u| resident_store::redact_url(&u)).unwrap_or_default()
                ),
                PlatformMode::Embedded => format!("{}: embedded", s.name),
            })
            .collect()
    }
}

/// Where a MOSIP platform answers, and who this service is to it (a client of its auth manager).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MosipPlatformConfig {
    /// The base address of every service (`https://api-internal.example.org`); unset: embedded.
    pub base_url: Option<String>,
    /// The auth manager, when not `<base_url>/v1/authmanager`.
    pub authmanager_url: Option<String>,
    /// IDA's internal base, when not `<base_url>/idauthentication/v1/internal`.
    pub ida_url: Option<String>,
    /// The audit manager, when not `<base_url>/v1/auditmanager`.
    pub auditmanager_url: Option<String>,
    /// The ID Repository, when not `<base_url>/idrepository/v1`.
    pub idrepo_url: Option<String>,
    /// The kernel notifier, when not `<base_url>/v1/notifier`.
    pub notifier_url: Option<String>,
    /// Masterdata, when not `<base_url>/v1/masterdata`.
    pub masterdata_url: Option<String>,
    /// Sync data (the ID schema), when not `<base_url>/v1/syncdata`.
    pub syncdata_url: Option<String>,
    /// The key manager, when not `<base_url>/v1/keymanager`.
    pub keymanager_url: Option<String>,
    pub client_id: Option<String>,
    pub secret_key: Option<Secret>,
    pub secret_key_file: Option<PathBuf>,
    /// MOSIP's `appId` (`resident` for a resident service).
    pub app_id: String,
    /// How long one call may take.
    pub timeout_seconds: u64,
}

impl Default for MosipPlatformConfig {
    fn default() -> Self {
        MosipPlatformConfig {
            base_url: None,
            authmanager_url: None,
            ida_url: None,
            auditmanager_url: None,
            idrepo_url: None,
            notifier_url: None,
            masterdata_url: None,
            syncdata_url: None,
            keymanager_url: None,
            client_id: None,
            secret_key: None,
            secret_key_file: None,
            app_id: "resident".into(),
            timeout_seconds: 10,
        }
    }
}

impl MosipPlatformConfig {
    /// Where a service answers: its own URL, else its MOSIP path under `base_url`.
    pub fn url_of(&self, key: &str) -> Option<String> {
        let base = self.base_url.as_deref().map(|b| b.trim_end_matches('/').to_owned());
        let own = match key {
            "ida" => &self.ida_url,
            "audit" => &self.auditmanager_url,
            "authmanager" => &self.authmanager_url,
            "id_repository" => &self.idrepo_url,
            "notifier" => &self.notifier_url,
            "masterdata" => &self.masterdata_url,
            "syncdata" => &self.syncdata_url,
            "keymanager" => &self.keymanager_url,
            _ => &None,
        };
        let path = match key {
            "ida" => "/idauthentication/v1/internal",
            "audit" => "/v1/auditmanager",
            "authmanager" => "/v1/authmanager",
            "id_repository" => "/idrepository/v1",
            "notifier" => "/v1/notifier",
            "masterdata" => "/v1/masterdata",
            "syncdata" => "/v1/syncdata",
            "keymanager" => "/v1/keymanager",
            _ => return None,
        };
        own.clone().or_else(|| base.map(|b| format!("{b}{path}")))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistrationConfig {
    /// Centre and machine ids used in RIDs this service creates (MOSIP `resident.center.id` / `machine.id`).
    pub centre_id: String,
    pub machine_id: String,
    /// Registration-processor retry limit and packet-receiver elapse time used by the status mapping.
    pub max_retry: i32,
    pub reprocess_elapse_seconds: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentityConfig {
    /// An ID schema file to use instead of the built-in one.
    pub schema_file: Option<PathBuf>,
    pub mandatory_languages: Vec<String>,
    pub optional_languages: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `info,resident_store=debug`.
    pub level: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerConfig {
    /// Run the job worker inside `serve`.
    pub in_process: bool,
    pub poll_millis: u64,
    /// A job is leased for this long and the lease renewed every third of it while the job runs: a
    /// worker that dies (SIGKILL) leaves its job to another within this many seconds.
    pub lease_seconds: u64,
    /// A job that runs longer is stopped and retried later.
    pub job_timeout_seconds: u64,
    /// How often expired portal sessions, their drafts and orphan update packets are deleted.
    pub housekeeping_minutes: u64,
}

/// The HTTP server's own limits and its shutdown.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// A client must send a request's headers within this many seconds (an idle keep-alive
    /// connection too): half-sent requests cannot hold connections or shutdown.
    pub header_read_timeout_seconds: u64,
    /// Open connections one client address (an IPv6 /64) may hold; a trusted proxy
    /// (`rate_limit.trusted_proxies`) is not limited. 0: no limit.
    pub max_connections_per_client: usize,
    /// On SIGTERM: seconds the health endpoint answers 503 while requests are still served, so a
    /// load balancer stops sending new ones.
    pub drain_seconds: u64,
    /// Then: seconds requests in flight get to finish before the server closes what is left.
    pub shutdown_deadline_seconds: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_seconds: 10,
            max_connections_per_client: 64,
            drain_seconds: 5,
            shutdown_deadline_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditConfig {
    /// Host name written into audit records (default: the machine's).
    pub host_name: Option<String>,
    pub host_ip: Option<String>,
    /// Where the signed checkpoint of the audit chain's head is written (default
    /// `<data_dir>/audit/checkpoint.json`). Keep it, or ship it, away from the database.
    pub checkpoint_file: Option<PathBuf>,
    /// How often the worker checkpoints the chain's head (and logs it).
    pub checkpoint_seconds: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig { host_name: None, host_ip: None, checkpoint_file: None, checkpoint_seconds: 60 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            profile: "production".into(),
            listen: "127.0.0.1:8099".into(),
            time_zone: "UTC".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database: DatabaseConfig::default(),
            security: SecurityConfig::default(),
            platform: PlatformConfig::default(),
            registration: RegistrationConfig::default(),
            identity: IdentityConfig::default(),
            log: LogConfig::default(),
            worker: WorkerConfig::default(),
            http: HttpConfig::default(),
            audit: AuditConfig::default(),
            otp: resident_domain::otp::OtpPolicy::default(),
            vid: VidConfig::default(),
            masterdata: MasterdataConfig::default(),
            transliteration: TransliterationConfig::default(),
            notification: NotificationConfig::default(),
            smtp: SmtpSection::default(),
            sms: SmsSection::default(),
            update: UpdateConfig::default(),
            card: CardConfig::default(),
            portal: PortalConfig::default(),
            mosip_ui: MosipUiConfig::default(),
            cors: CorsConfig::default(),
            rate_limit: resident_domain::throttle::RateLimits::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig { max_connections: 16, acquire_timeout_seconds: 5, migrate_on_start: true }
    }
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        RegistrationConfig {
            centre_id: "10001".into(),
            machine_id: "10080".into(),
            max_retry: 10,
            reprocess_elapse_seconds: 4800,
        }
    }
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            schema_file: None,
            mandatory_languages: vec!["eng".into()],
            optional_languages: vec!["ara".into(), "fra".into()],
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: "text".into(), level: "info".into() }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            in_process: true,
            poll_millis: 500,
            lease_seconds: 15,
            job_timeout_seconds: 120,
            housekeeping_minutes: 15,
        }
    }
}

/// Values given on the command line; `None` leaves the lower layers in charge.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

/// Builds the configuration from its layers. `env` is the process environment (passed in for tests).
pub fn load(file: Option<&Path>, env: &[(String, String)], overrides: Overrides) -> Result<Loaded, String> {
    let mut fig = Figment::from(Serialized::defaults(Config::default()));
    let mut warnings = Vec::new();
    match file {
        Some(path) if !path.exists() => return Err(format!("configuration file {} does not exist", path.display())),
        Some(path) => fig = fig.merge(Toml::file(path)),
        None if Path::new("resident.toml").exists() => fig = fig.merge(Toml::file("resident.toml")),
        None => {}
    }
    let vars: Vec<(String, String)> =
        env.iter().filter(|(k, _)| k.starts_with("RESIDENT_") && k != "RESIDENT_CONFIG").cloned().collect();
    // the variables are passed in, so tests never touch the process environment; the defaults say
    // which keys are text (an all-digit centre id or password is still text)
    let defaults = serde_json::to_value(Config::default()).map_err(|e| e.to_string())?;
    fig = fig.merge(EnvSlice { vars, defaults });
    fig = fig.merge(Serialized::defaults(overrides));

    let known = key_paths(&serde_json::to_value(Config::default()).map_err(|e| e.to_string())?);
    let given: Value = fig.extract().map_err(|e| format!("configuration: {e}"))?;
    for key in key_paths(&given) {
        // tables whose keys are the operator's to choose
        let open_table = ["update.limits.", "card.authority."].iter().any(|t| key.starts_with(t));
        if !open_table && !known.contains(&key) && !known.iter().any(|k| key.starts_with(&format!("{k}."))) {
            let source = fig.find_metadata(&key).map(|m| m.name.to_string()).unwrap_or_else(|| "?".into());
            warnings.push(format!("unknown configuration key `{key}` (from {source}) is ignored"));
        }
    }
    let config: Config = fig.extract().map_err(|e| format!("configuration: {e}"))?;
    config.validate()?;
    Ok(Loaded { config, warnings })
}

/// Dotted paths of every leaf (and of tables whose value is null).
fn key_paths(v: &Value) -> BTreeSet<String> {
    fn walk(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, child) in m {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&key, child, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk("", v, &mut out);
    out
}

/// The environment provider over an explicit list of variables (so tests need not touch the process env).
struct EnvSlice {
    vars: Vec<(String, String)>,
    /// The default configuration: a key whose default is text (or unset, which is always text or a
    /// path here) takes the variable as it is; others parse it (numbers, booleans).
    defaults: Value,
}

impl EnvSlice {
    fn is_text(&self, key: &str) -> Option<bool> {
        let mut v = &self.defaults;
        for part in key.split('.') {
            v = v.get(part)?;
        }
        Some(matches!(v, Value::String(_) | Value::Null))
    }

    /// The key takes a list (`RESIDENT_CORS__ALLOWED_ORIGINS=https://a,https://b`).
    fn is_list(&self, key: &str) -> bool {
        let mut v = &self.defaults;
        for part in key.split('.') {
            match v.get(part) {
                Some(next) => v = next,
                None => return false,
            }
        }
        v.is_array()
    }
}

impl figment::Provider for EnvSlice {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("RESIDENT_* environment variable(s)")
    }

    fn data(&self) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        use figment::value::{Dict, Map, Value as FValue};
        let mut dict = Dict::new();
        for (k, v) in &self.vars {
            let Some(stripped) = k.strip_prefix("RESIDENT_") else { continue };
            let key = stripped.to_ascii_lowercase().replace("__", ".");
            if key == "config" {
                continue;
            }
            // digits with a leading zero (an OTP such as 012345, an id) are text: as a number they
            // would lose the zero; so is anything for a key that takes text
            let leading_zero = v.len() > 1 && v.starts_with('0') && v.bytes().all(|b| b.is_ascii_digit());
            let value: FValue = if self.is_list(&key) && !v.trim_start().starts_with('[') {
                FValue::from(
                    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>(),
                )
            } else if leading_zero || self.is_text(&key) == Some(true) {
                FValue::from(v.clone())
            } else {
                v.parse().unwrap_or_else(|_| FValue::from(v.clone()))
            };
            let nested = key.split('.').rev().fold(value, |acc, part| {
                let mut d = Dict::new();
                d.insert(part.to_owned(), acc);
                FValue::from(d)
            });
            if let FValue::Dict(_, d) = nested {
                for (k, v) in d {
                    merge_into(&mut dict, k, v);
                }
            }
        }
        let mut map = Map::new();
        map.insert(figment::Profile::Default, dict);
        Ok(map)
    }
}

fn merge_into(dict: &mut figment::value::Dict, key: String, value: figment::value::Value) {
    use figment::value::Value as FValue;
    match (dict.get_mut(&key), value) {
        (Some(FValue::Dict(_, existing)), FValue::Dict(_, new)) => {
            for (k, v) in new {
                merge_into(existing, k, v);
            }
        }
        (_, value) => {
            dict.insert(key, value);
        }
    }
}

impl Config {
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("resident.db").display()),
        }
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        self.listen
            .parse()
            .map_err(|_| format!("configuration: `listen` = {:?} is not an address like 127.0.0.1:8099", self.listen))
    }

    fn validate(&self) -> Result<(), String> {
        self.listen_addr()?;
        self.rate_limit.validate().map_err(|e| format!("configuration: {e}"))?;
        for origin in &self.cors.allowed_origins {
            let ok = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.trim_end_matches('/').contains(|c: char| c == '*' || c.is_whitespace())
                && origin.splitn(4, '/').nth(3).is_none_or(str::is_empty);
            if !ok {
                return Err(format!(
                    "configuration: `cors.allowed_origins`: {origin:?} is not an origin (scheme://host[:port], no path, no wildcard)"
                ));
            }
        }
        if let Some(url) = &self.mosip_ui.url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(format!("configuration: `mosip_ui.url`: {url:?} must start with https:// or http://"));
        }
        if let Some(dir) = &self.mosip_ui.dir
            && !dir.join("index.html").is_file()
        {
            return Err(format!("configuration: `mosip_ui.dir`: {} holds no index.html", dir.display()));
        }
        if self.audit.checkpoint_seconds < 1 {
            return Err("configuration: `audit.checkpoint_seconds` must be at least 1".into());
        }
        if self.worker.lease_seconds < 3 {
            return Err("configuration: `worker.lease_seconds` must be at least 3".into());
        }
        if self.http.header_read_timeout_seconds < 1 {
            return Err("configuration: `http.header_read_timeout_seconds` must be at least 1".into());
        }
        resident_store::Backend::from_url(&self.database_url())
            .map_err(|e| format!("configuration: `database_url`: {e}"))?;
        if resident_domain::ids::CentreId::parse(&self.registration.centre_id).is_none() {
            return Err("configuration: `registration.centre_id` must be five digits".into());
        }
        if resident_domain::ids::MachineId::parse(&self.registration.machine_id).is_none() {
            return Err("configuration: `registration.machine_id` must be five digits".into());
        }
        if self.identity.mandatory_languages.is_empty() {
            return Err("configuration: `identity.mandatory_languages` needs at least one language".into());
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err("configuration: `log.format` must be `text` or `json`".into());
        }
        if self.database.max_connections == 0 {
            return Err("configuration: `database.max_connections` must be at least 1".into());
        }
        if self.security.data_key.is_some() && self.security.data_key_file.is_some() {
            return Err("configuration: set `security.data_key` or `security.data_key_file`, not both".into());
        }
        if !matches!(self.profile.as_str(), "production" | "development") {
            return Err("configuration: `profile` must be `production` or `development`".into());
        }
        if let Some(code) = &self.otp.fixed_code {
            if self.profile != "development" {
                return Err("configuration: `otp.fixed_code` is only allowed with profile = \"development\"".into());
            }
            if resident_domain::otp::Otp::parse(code, self.otp.length).is_none() {
                return Err(format!("configuration: `otp.fixed_code` must be {} digits", self.otp.length));
            }
        }
        if !(4..=10).contains(&self.otp.length) || self.otp.validity_seconds < 30 || self.otp.max_failed_attempts < 1 {
            return Err(
                "configuration: `otp` needs length 4..10, validity_seconds >= 30, max_failed_attempts >= 1".into()
            );
        }
        if !(1..=24 * 60).contains(&self.portal.idle_minutes) || !(1..=72).contains(&self.portal.absolute_hours) {
            return Err("configuration: `portal.idle_minutes` must be 1..1440 and `portal.absolute_hours` 1..72".into());
        }
        if !(1..=24 * 60).contains(&self.worker.housekeeping_minutes) {
            return Err("configuration: `worker.housekeeping_minutes` must be 1..1440".into());
        }
        if !matches!(self.portal.arabic_digits.as_str(), "arab" | "latn") {
            return Err("configuration: `portal.arabic_digits` must be `arab` or `latn`".into());
        }
        if resident_web::portal::time_zone(&self.time_zone).is_none() {
            return Err(format!(
                "configuration: `time_zone` {:?} is not an IANA time zone (e.g. `Africa/Casablanca`, `UTC`)",
                self.time_zone
            ));
        }
        if self.card.rgb().is_none() {
            return Err("configuration: `card.colour` must be #rrggbb".into());
        }
        if !(1..=10_000_000).contains(&self.update.max_document_bytes) {
            return Err("configuration: `update.max_document_bytes` must be between 1 and 10000000".into());
        }
        if !matches!(self.sms.method.to_ascii_uppercase().as_str(), "POST" | "GET") {
            return Err("configuration: `sms.method` must be `POST` or `GET`".into());
        }
        if let Some(url) = &self.sms.url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err("configuration: `sms.url` must be an http(s) URL".into());
        }
        if !matches!(self.smtp.tls.as_str(), "none" | "starttls" | "tls") {
            return Err("configuration: `smtp.tls` must be `none`, `starttls` or `tls`".into());
        }
        for service in PLATFORM_SERVICES {
            if self.platform.effective(&service) == PlatformMode::Mosip
                && self.platform.mosip.url_of(service.key).is_none()
            {
                return Err(format!(
                    "configuration: the {} is MOSIP's, but neither `platform.mosip.base_url` nor its own URL is set",
                    service.name
                ));
            }
        }
        if self.platform.uses_mosip("id_repository") && !self.platform.uses_mosip("ida") {
            // the embedded IDA looks identities up in this binary's registry, which then holds none
            return Err("configuration: with a MOSIP ID Repository, ID Authentication must be MOSIP's too \
                        (`platform.services.ida = \"mosip\"`): the embedded IDA would find no identity"
                .into());
        }
        if self.platform.calls_mosip() {
            if self.platform.mosip.client_id.is_none() {
                return Err("configuration: `platform.mosip.client_id` is needed to call a MOSIP platform".into());
            }
            if self.platform.mosip.secret_key.is_none() && self.platform.mosip.secret_key_file.is_none() {
                return Err("configuration: `platform.mosip.secret_key` (or `secret_key_file`) is needed to call a MOSIP platform".into());
            }
        }
        if let Some(key) = &self.security.data_key {
            resident_store::Vault::from_base64(&key.0)
                .map_err(|e| format!("configuration: `security.data_key`: {e}"))?;
        }
        Ok(())
    }

    /// The configuration as TOML with secrets hidden (for `check-config`): every value whose key names
    /// a secret (`*password*`, `*token*`, `*key*`, `*secret*`, the fixed OTP), except the paths of
    /// files and folders that hold them, and the secrets inside any URL.
    pub fn redacted_toml(&self) -> String {
        fn hide(key: &str, v: &mut Value) {
            match v {
                Value::Object(m) => {
                    for (k, child) in m.iter_mut() {
                        hide(k, child);
                    }
                }
                Value::Array(items) => {
                    for item in items {
                        hide(key, item);
                    }
                }
                Value::Null => {}
                other => {
                    let is_path = key.ends_with("_file") || key.ends_with("_dir") || key.ends_with("_files");
                    if !is_path && (resident_store::secret_name(key) || key == "fixed_code") {
                        *other = Value::String("***".into());
                    } else if let Value::String(s) = other
                        && key == "body_template"
                    {
                        *s = resident_store::redact_template(s);
                    } else if let Value::String(s) = other
                        && s.contains("://")
                    {
                        *s = resident_store::redact_url(s);
                    }
                }
            }
        }
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        hide("", &mut v);
        render_toml(&v)
    }
}

fn render_toml(v: &Value) -> String {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(format!("{s:?}")),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Array(a) => Some(format!("[{}]", a.iter().filter_map(scalar).collect::<Vec<_>>().join(", "))),
            // a table inside a section (card.authority, update.limits): an inline table
            Value::Object(m) => Some(format!(
                "{{{}}}",
                m.iter().filter_map(|(k, v)| scalar(v).map(|v| format!("{k} = {v}"))).collect::<Vec<_>>().join(", ")
            )),
            Value::Null => None,
        }
    }
    let mut out = String::new();
    if let Value::Object(m) = v {
        for (k, val) in m {
            match val {
                Value::Object(_) => {}
                Value::Null => out.push_str(&format!("# {k} = (unset)\n")),
                other => out.push_str(&format!("{k} = {}\n", scalar(other).unwrap_or_default())),
            }
        }
        for (k, val) in m {
            if let Value::Object(table) = val {
                out.push_str(&format!("\n[{k}]\n"));
                for (tk, tv) in table {
                    match tv {
                        Value::Null => out.push_str(&format!("# {tk} = (unset)\n")),
                        other => out.push_str(&format!("{tk} = {}\n", scalar(other).unwrap_or_default())),
                    }
                }
            }
        }
    }
    out
}

/// Reads a secret given inline or in a file.
pub fn read_secret(inline: &Option<Secret>, file: &Option<PathBuf>, key: &str) -> Result<Option<String>, String> {
    match (inline, file) {
        (Some(s), _) => Ok(Some(s.0.clone())),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|s| Some(s.trim().to_owned()))
            .map_err(|e| format!("configuration: `{key}_file` {}: {e}", path.display())),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_mosips() {
        let c = load(None, &[], Overrides::default()).unwrap().config;
        assert_eq!(c.listen, "127.0.0.1:8099");
        assert_eq!(c.database_url(), "sqlite://./data/resident.db");
        assert_eq!(c.registration.centre_id, "10001");
    }

    #[test]
    fn the_platform_choice_is_per_service_and_refuses_what_cannot_work() {
        let base = [
            ("RESIDENT_PLATFORM__MOSIP__BASE_URL", "https://api-internal.example.org"),
            ("RESIDENT_PLATFORM__MOSIP__CLIENT_ID", "mosip-resident-client"),
            ("RESIDENT_PLATFORM__MOSIP__SECRET_KEY", "s3cr3t"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            load(None, &env(&pairs), Overrides::default())
        };
        let c = with(&[("RESIDENT_PLATFORM__MODE", "mosip"), ("RESIDENT_PLATFORM__SERVICES__NOTIFIER", "embedded")])
            .unwrap()
            .config;
        assert!(c.platform.uses_mosip("ida") && c.platform.uses_mosip("id_repository"));
        assert!(!c.platform.uses_mosip("notifier") && c.platform.uses_mosip("keymanager"));
        assert_eq!(
            c.platform.mosip.url_of("ida").as_deref(),
            Some("https://api-internal.example.org/idauthentication/v1/internal")
        );
        let shown = c.platform.describe().join("\n");
        assert!(
            shown.contains("notifier: embedded")
                && shown.contains("key manager: mosip (https://api-internal.example.org/v1/keymanager)"),
            "{shown}"
        );
        let e = with(&[("RESIDENT_PLATFORM__SERVICES__ID_REPOSITORY", "mosip")]).err().map(|e| e.to_string());
        assert!(e.unwrap_or_default().contains("ID Authentication must be MOSIP's too"));
        let no_secret =
            load(None, &env(&[("RESIDENT_PLATFORM__MODE", "mosip"), base[0], base[1]]), Overrides::default());
        assert!(no_secret.err().map(|e| e.to_string()).unwrap_or_default().contains("secret_key"));
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("resident.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/resident\"\n[database]\nmax_connections = 4\n",
        )
        .unwrap();
        let e = env(&[("RESIDENT_LISTEN", "127.0.0.1:9001"), ("RESIDENT_DATABASE__MAX_CONNECTIONS", "8")]);
        let c = load(Some(&file), &e, Overrides::default()).unwrap().config;
        assert_eq!(c.listen, "127.0.0.1:9001", "environment beats the file");
        assert_eq!(c.database.max_connections, 8);
        assert_eq!(c.database_url(), "sqlite:///srv/resident/resident.db");
        let c = load(Some(&file), &e, Overrides { listen: Some("127.0.0.1:9002".into()), ..Default::default() })
            .unwrap()
            .config;
        assert_eq!(c.listen, "127.0.0.1:9002", "flags beat the environment");
        let e = env(&[("RESIDENT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/resident")]);
        assert_eq!(
            load(None, &e, Overrides::default()).unwrap().config.database_url(),
            "postgres://postgres@127.0.0.1:5432/resident"
        );
    }

    #[test]
    fn all_digit_values_are_text_where_the_key_takes_text() {
        let loaded = load(
            None,
            &env(&[
                ("RESIDENT_REGISTRATION__CENTRE_ID", "10002"),
                ("RESIDENT_SMTP__PASSWORD", "123456"),
                ("RESIDENT_SMTP__PORT", "2525"),
                ("RESIDENT_SMS__BEARER_TOKEN", "987654321"),
                ("RESIDENT_PROFILE", "development"),
                ("RESIDENT_OTP__FIXED_CODE", "111111"),
                ("RESIDENT_RATE_LIMIT__ENABLED", "false"),
                ("RESIDENT_UPDATE__LIMITS__FULLNAME", "3"),
            ]),
            Overrides::default(),
        )
        .unwrap();
        let c = loaded.config;
        assert_eq!(c.registration.centre_id, "10002");
        assert_eq!(c.smtp.password.as_ref().map(|p| p.0.as_str()), Some("123456"));
        assert_eq!(c.smtp.port, 2525, "numbers stay numbers");
        assert_eq!(c.sms.bearer_token.as_ref().map(|p| p.0.as_str()), Some("987654321"));
        assert_eq!(c.otp.fixed_code.as_deref(), Some("111111"));
        assert!(!c.rate_limit.enabled);
        assert_eq!(c.update.limits.get("fullname"), Some(&3), "an open table still parses numbers");
    }

    #[test]
    fn unknown_keys_warn_and_bad_values_stop() {
        let loaded = load(
            None,
            &env(&[("RESIDENT_LISTNE", "x"), ("RESIDENT_DATABASE__MAX_CONECTIONS", "3")]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
        assert!(loaded.warnings.iter().any(|w| w.contains("`listne`")));
        assert!(loaded.warnings.iter().any(|w| w.contains("`database.max_conections`")));

        let err =
            load(None, &env(&[("RESIDENT_DATABASE__MAX_CONNECTIONS", "many")]), Overrides::default()).unwrap_err();
        assert!(err.contains("max_connections"), "{err}");
        let err = load(None, &env(&[("RESIDENT_LISTEN", "nowhere")]), Overrides::default()).unwrap_err();
        assert!(err.contains("`listen`"), "{err}");
        let err = load(None, &env(&[("RESIDENT_DATABASE_URL", "mysql://x")]), Overrides::default()).unwrap_err();
        assert!(err.contains("`database_url`"), "{err}");
        let err = load(None, &env(&[("RESIDENT_REGISTRATION__CENTRE_ID", "12")]), Overrides::default()).unwrap_err();
        assert!(err.contains("centre_id"), "{err}");
        let err = load(None, &env(&[("RESIDENT_SECURITY__DATA_KEY", "short")]), Overrides::default()).unwrap_err();
        assert!(err.contains("security.data_key"), "{err}");
    }

    #[test]
    fn secrets_never_print() {
        let c = load(
            None,
            &env(&[
                ("RESIDENT_PLATFORM__SERVICE_KEY", "s3cret-key"),
                ("RESIDENT_DATABASE_URL", "postgres://app:pw@db/resident"),
            ]),
            Overrides::default(),
        )
        .unwrap()
        .config;
        assert!(!format!("{c:?}").contains("s3cret"));
        let shown = c.redacted_toml();
        assert!(!shown.contains("s3cret") && !shown.contains(":pw@"), "{shown}");
        assert!(shown.contains("service_key = \"***\""));
        // secrets in URLs: user information and query parameters that name a secret
        let c = load(
            None,
            &env(&[
                (
                    "RESIDENT_SMS__URL",
                    "https://gw:hunter2@sms.example/send?apikey=AK-1&to=$to&access_token=TK-2&sig=SG-3",
                ),
                ("RESIDENT_SMS__BEARER_TOKEN", "BT-4"),
                ("RESIDENT_SMS__PASSWORD", "PW-5"),
                ("RESIDENT_SMTP__PASSWORD", "PW-6"),
                ("RESIDENT_SECURITY__DATA_KEY", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="),
                ("RESIDENT_PROFILE", "development"),
                ("RESIDENT_OTP__FIXED_CODE", "111111"),
            ]),
            Overrides::default(),
        )
        .unwrap()
        .config;
        let mut c = c;
        c.sms.body_template = r#"{"api_key": "BK-7", "auth": {"token": "BK-8"}, "to": "$to"}"#.into();
        let shown = c.redacted_toml();
        for secret in ["hunter2", "AK-1", "TK-2", "SG-3", "BT-4", "PW-5", "PW-6", "MDEyMzQ1", "111111", "BK-7", "BK-8"]
        {
            assert!(!shown.contains(secret), "{secret} shown in:\n{shown}");
        }
        // what is not secret stays readable: the host, the other parameters, paths, names
        assert!(
            shown.contains("https://gw:***@sms.example/send?apikey=***&to=$to&access_token=***&sig=***"),
            "{shown}"
        );
        assert!(shown.contains("otp_issue = 30"), "{shown}");
        assert!(shown.contains("Resident Identity Authority"), "{shown}");
        assert!(!shown.contains("keys_dir = \"***\""), "{shown}");
    }
}
