//! The composition root: the one place that picks concrete implementations and wires them together.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use resident_domain::audit::AuditContext;
use resident_domain::clock::{Clock, SystemClock};
use resident_domain::identity::{IdentitySchema, Languages};
use resident_domain::masterdata::Masterdata;
use resident_domain::notification::{OutgoingMessage, Templates};
use resident_domain::ports::MachineKeys;
use resident_domain::registration::StatusPolicy;
use resident_domain::transliteration::Transliteration;
use resident_domain::update::{Pipeline, StageJob, UpdatePolicy};
use resident_domain::vid::VidPolicy;
use resident_notify::{Notifier, SmsGatewayConfig, SmtpConfig, SmtpTls};
use resident_packet::{PacketCrypto, PacketKeys};
use resident_store::jobs::{Job, JobHandler, Worker};
use resident_store::packets::LocalPacketStore;
use resident_store::{Backend, Store, StoreOptions, Vault};
use resident_web::{AppState, HostInfo, Services};
use sha2::{Digest, Sha256};

use crate::config::{Config, read_secret};

pub struct App {
    pub config: Config,
    pub store: Store,
    pub cards: Arc<resident_card::CardMaker>,
    pub packets: Arc<LocalPacketStore>,
    pub codec: Arc<PacketCrypto>,
    pub update_policy: UpdatePolicy,
    pub clock: Arc<dyn Clock>,
    pub schema: Arc<IdentitySchema>,
    pub masterdata: Arc<Masterdata>,
    pub transliteration: Arc<Transliteration>,
    pub templates: Arc<Templates>,
    pub vid_policy: Arc<VidPolicy>,
    pub notifier: Arc<Notifier>,
    /// Who delivers queued notifications: `notifier` (embedded), or MOSIP's notifier.
    pub sender: Arc<dyn resident_domain::notification::MessageSender>,
    /// The kernel auth manager's client, when a service is MOSIP's (every adapter shares its token).
    pub kernel_auth: Option<Arc<resident_mosip::auth::KernelAuth>>,
}

/// Delivers queued notifications (job kind `notification`).
struct NotificationJob(Arc<dyn resident_domain::notification::MessageSender>);

#[async_trait::async_trait]
impl JobHandler for NotificationJob {
    fn kind(&self) -> &'static str {
        resident_store::auth::NOTIFICATION_JOB
    }

    async fn run(&self, job: &Job, now: time::OffsetDateTime) -> Result<(), String> {
        let payload = job.payload.as_str();
        let message: OutgoingMessage =
            serde_json::from_str(payload).map_err(|e| format!("bad notification job: {e}"))?;
        if message.expired(now) {
            tracing::warn!(template = %message.template, channel = ?message.channel, "not delivered: it came too late (its OTP has expired)");
            return Ok(());
        }
        // the job's id is the delivery's key: a retry after a crash is recognised as the same message
        self.0.deliver(&message, &job.id).await
    }
}

/// Runs one stage of a resident update (job kind `update-stage`).
struct UpdateStageJob {
    store: Store,
    packets: Arc<LocalPacketStore>,
    codec: Arc<PacketCrypto>,
    schema: Arc<IdentitySchema>,
    templates: Arc<Templates>,
    audit: AuditContext,
}

#[async_trait::async_trait]
impl JobHandler for UpdateStageJob {
    fn kind(&self) -> &'static str {
        resident_domain::update::UPDATE_STAGE_JOB
    }

    async fn run(&self, job: &Job, now: time::OffsetDateTime) -> Result<(), String> {
        let payload = job.payload.as_str();
        let job: StageJob = serde_json::from_str(payload).map_err(|e| format!("bad update-stage job: {e}"))?;
        let rid = resident_domain::ids::Rid::parse(&job.rid).map_err(|_| "bad RID in update-stage job".to_owned())?;
        let pipeline = Pipeline {
            updates: &self.store,
            accesses: &self.store,
            packets: self.packets.as_ref(),
            codec: self.codec.as_ref(),
            schema: &self.schema,
            templates: &self.templates,
            audit: &self.audit,
            now,
        };
        let outcome = pipeline.run_stage(&rid, job.stage).await.map_err(|e| describe(&e))?;
        tracing::info!(rid = %rid.masked(), stage = job.stage.code(), ?outcome, "update stage");
        Ok(())
    }
}

/// Issues one credential for a partner (job kind `credential-issue`).
struct CredentialIssueJob {
    store: Store,
    cards: Arc<resident_card::CardMaker>,
    templates: Arc<Templates>,
    audit: AuditContext,
    first_language: String,
}

#[async_trait::async_trait]
impl JobHandler for CredentialIssueJob {
    fn kind(&self) -> &'static str {
        resident_domain::credential::CREDENTIAL_JOB
    }

    async fn run(&self, job: &Job, now: time::OffsetDateTime) -> Result<(), String> {
        let payload = job.payload.as_str();
        let job: resident_domain::credential::CredentialJob =
            serde_json::from_str(payload).map_err(|e| format!("bad credential job: {e}"))?;
        let issuer = resident_domain::credential::Issuer {
            store: &self.store,
            identities: &self.store,
            partners: &self.store,
            cards: self.cards.as_ref(),
            templates: &self.templates,
            audit: &self.audit,
            first_language: &self.first_language,
            now,
        };
        issuer.issue(&job).await.map(|_| ()).map_err(|e| describe(&e))
    }
}

/// An error as an operator or a job's `last_error` reads it: the code, and the detail when it is ours.
pub fn describe(e: &resident_domain::ResidentError) -> String {
    match e.internal_detail() {
        Some(d) => format!("{}: {d}", e.code()),
        None => format!("{} {}", e.code(), e.message()),
    }
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
        // the data folder holds the database, keys, packets and the outbox: nobody else's to read (the
        // folders an earlier version created 0755 in it are closed too)
        resident_files::private_dir(&config.data_dir)
            .with_context(|| format!("creating the data folder {}", config.data_dir.display()))?;
        for dir in ["", "keys", "keys/card-signing", "keys/card-signing/retired", "outbox", "packets", "audit"] {
            let path = config.data_dir.join(dir);
            resident_files::tighten_dir(&path).with_context(|| format!("closing {}", path.display()))?;
        }
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
        let masterdata = match &config.masterdata.file {
            Some(path) => Masterdata::parse(
                &std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
                &schema.languages().all().cloned().collect::<Vec<_>>(),
            ),
            None => Masterdata::demo(&schema.languages().all().cloned().collect::<Vec<_>>()),
        }
        .and_then(|m| m.check_schema(&schema).map(|()| m))
        .map_err(|e| anyhow!(e))?;
        let transliteration = match &config.transliteration.rules_file {
            Some(path) => Transliteration::parse(
                &std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            ),
            None => Transliteration::default_rules(),
        }
        .map_err(|e| anyhow!(e))?;
        let mut templates =
            Templates::default_templates(config.notification.languages.clone()).map_err(|e| anyhow!(e))?;
        templates.time_zone = resident_web::portal::time_zone(&config.time_zone)
            .ok_or_else(|| anyhow!("time_zone {:?} is not an IANA time zone", config.time_zone))?;
        let vid_policy = match &config.vid.policy_file {
            Some(path) => {
                VidPolicy::parse(&std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?)
            }
            None => VidPolicy::default_policy(),
        }
        .map_err(|e| anyhow!(e))?;
        let smtp = SmtpConfig {
            host: config.smtp.host.clone(),
            port: config.smtp.port,
            username: config.smtp.username.clone(),
            password: read_secret(&config.smtp.password, &config.smtp.password_file, "smtp.password")
                .map_err(|e| anyhow!(e))?,
            from: config.smtp.from.clone(),
            tls: match config.smtp.tls.as_str() {
                "none" => SmtpTls::None,
                "tls" => SmtpTls::Tls,
                _ => SmtpTls::Starttls,
            },
            ..SmtpConfig::default()
        };
        let outbox = config.notification.outbox_dir.clone().unwrap_or_else(|| config.data_dir.join("outbox"));
        let c = &config.sms;
        let sms = SmsGatewayConfig {
            url: c.url.clone(),
            method: c.method.to_ascii_uppercase(),
            body_template: c.body_template.clone(),
            content_type: c.content_type.clone(),
            username: c.username.clone(),
            password: read_secret(&c.password, &c.password_file, "sms.password").map_err(|e| anyhow!(e))?,
            bearer_token: read_secret(&c.bearer_token, &c.bearer_token_file, "sms.bearer_token")
                .map_err(|e| anyhow!(e))?,
            ..SmsGatewayConfig::default()
        };
        let notifier = Arc::new(Notifier::with_sms(outbox, &smtp, &sms).map_err(|e| anyhow!(e))?);
        let kernel_auth = if config.platform.calls_mosip() {
            Some(crate::platform::kernel_auth(&config, Arc::new(SystemClock))?)
        } else {
            None
        };
        let sender = crate::platform::sender(&config, notifier.clone(), kernel_auth.as_ref(), Arc::new(SystemClock))?;
        let packet_dir = config.update.packet_dir.clone().unwrap_or_else(|| config.data_dir.join("packets"));
        let key_file = config
            .update
            .signing_key_file
            .clone()
            .unwrap_or_else(|| config.data_dir.join("keys").join("packet-signing.key"));
        let seed =
            PacketKeys::load_or_create_signing_seed(&key_file).map_err(|e| anyhow!("packet signing key: {e}"))?;
        let keys = PacketKeys::new(seed, store.vault().packet_key());
        if schema_mode != Schema::Unchecked {
            // this machine's public key, so any replica's worker can check its packets
            store
                .register_machine_key(
                    &keys.key_id(),
                    &keys.public_key(),
                    &config.registration.machine_id,
                    SystemClock.now(),
                )
                .await
                .map_err(|e| anyhow!("registering the packet-signing key: {e}"))?;
        }
        let codec = Arc::new(PacketCrypto::new(keys, Arc::new(store.clone())));
        for field in config.update.verify_fields.iter().chain(config.update.limits.keys()) {
            if !schema.field(field).is_some_and(|f| f.updatable) {
                return Err(anyhow!(
                    "configuration: `update` names {field:?}, which is not an updatable field of the ID schema"
                ));
            }
        }
        if config.otp.fixed_code.is_some() {
            tracing::warn!(
                "!!! otp.fixed_code is set: every OTP is the same known code. Development profile only; never in production !!!"
            );
        }
        let update_policy = config.update.policy();
        let mut card_languages = config.identity.mandatory_languages.clone();
        card_languages.extend(config.identity.optional_languages.iter().cloned());
        let style = resident_card::CardStyle {
            authority: config.card.authority.clone(),
            colour: config.card.rgb().unwrap_or([20, 70, 122]),
            languages: card_languages,
            issuer: config.card.issuer.clone(),
            time_zone: templates.time_zone.clone(),
        };
        let cards = resident_card::CardMaker::new(style, &app_card_keys_dir(&config), SystemClock.now())
            .map_err(|e| anyhow!("card signing keys: {e}"))?;
        Ok(App {
            cards: Arc::new(cards),
            config,
            store,
            packets: Arc::new(LocalPacketStore::new(packet_dir)),
            codec,
            update_policy,
            clock: Arc::new(SystemClock),
            schema: Arc::new(schema),
            masterdata: Arc::new(masterdata),
            transliteration: Arc::new(transliteration),
            templates: Arc::new(templates),
            vid_policy: Arc::new(vid_policy),
            notifier,
            sender,
            kernel_auth,
        })
    }

    /// When masterdata is MOSIP's: its notification templates (where it has one of this service's
    /// codes; the bundled text stays for the others, as the log says) and its ID schema (unless
    /// `identity.schema_file` names one), read once before serving. A platform that does not answer
    /// stops the start: residents must not get messages or checks other than the country's.
    pub async fn use_platform_masterdata(&mut self) -> Result<()> {
        if !self.config.platform.uses_mosip("masterdata") {
            return Ok(());
        }
        let source = crate::platform::masterdata(&self.config, self.kernel_auth.as_ref(), self.clock.clone())?;
        let mut templates = (*self.templates).clone();
        let (mut theirs, mut ours) = (0, Vec::new());
        for (lang, code) in self.templates.codes() {
            match source.template(&lang, &code).await.map_err(|e| anyhow!("masterdata templates: {e}"))? {
                Some(text) => {
                    templates.set_text(&lang, &code, text);
                    theirs += 1;
                }
                None => ours.push(format!("{lang}/{code}")),
            }
        }
        tracing::info!(from_masterdata = theirs, bundled = ours.len(), "notification templates read from masterdata");
        if !ours.is_empty() {
            tracing::warn!(templates = %ours.join(","), "masterdata has no such template: the bundled text is used");
        }
        self.templates = Arc::new(templates);
        if self.config.identity.schema_file.is_none() {
            let text = source.id_schema().await.map_err(|e| anyhow!("masterdata ID schema: {e}"))?;
            let schema = IdentitySchema::parse(&text, self.schema.languages().clone())
                .context("the ID schema masterdata serves")?;
            self.masterdata.check_schema(&schema).map_err(|e| anyhow!("masterdata and the ID schema: {e}"))?;
            self.schema = Arc::new(schema);
        }
        Ok(())
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
        let embedded_ida = Arc::new(resident_domain::ida::embedded::EmbeddedIda::new(
            store.clone(),
            self.templates.clone(),
            self.config.otp.clone(),
        ));
        let kernel_auth = self.kernel_auth.clone();
        let ida = crate::platform::ida(&self.config, embedded_ida.clone(), kernel_auth.as_ref(), self.clock.clone())?;
        let embedded_idrepo = Arc::new(resident_domain::idrepo::embedded::EmbeddedIdRepository::new(
            store.clone(),
            store.clone(),
            self.vid_policy.clone(),
        ));
        let vault = self.store.vault().clone();
        let token_of: resident_mosip::idrepo::TokenOf = Arc::new(move |uin| vault.identity_token(uin.expose()));
        let idrepo = crate::platform::idrepo(
            &self.config,
            embedded_idrepo.clone(),
            kernel_auth.as_ref(),
            self.clock.clone(),
            token_of,
        )?;
        let keys = crate::platform::keys(
            &self.config,
            self.cards.clone(),
            kernel_auth.as_ref(),
            self.clock.clone(),
            store.clone(),
        )?;
        Ok(AppState(Arc::new(Services {
            registrations: store.clone(),
            audit: store.clone(),
            identities: store.clone(),
            health: store.clone(),
            auth: store.clone(),
            ida,
            embedded_ida,
            idrepo,
            embedded_idrepo,
            ida_keys: Arc::new(resident_web::platform::keymanager::DerivedKeys::new(
                self.store.vault().keymanager_seed(),
                resident_mosip::crypto::IDA_INTERNAL_SUBJECT,
            )),
            sign_keys: Arc::new(resident_web::platform::keymanager::DerivedKeys::new(
                self.store.vault().signing_seed(),
                resident_mosip::crypto::RESIDENT_SIGN_SUBJECT,
            )),
            keys,
            updates: store.clone(),
            packets: self.packets.clone(),
            codec: self.codec.clone(),
            update_policy: self.update_policy.clone(),
            cards: self.cards.clone(),
            print_queue: store.clone(),
            credentials: store.clone(),
            sessions: store.clone(),
            drafts: store.clone(),
            history: store.clone(),
            grievances: store.clone(),
            verifications: store.clone(),
            accesses: store.clone(),
            portal: resident_web::portal::PortalSettings {
                authority: self.config.card.authority.clone(),
                colour: self.config.card.colour.clone(),
                secure_cookie: self.config.portal.secure_cookie,
                idle: Duration::from_secs(self.config.portal.idle_minutes * 60),
                absolute: Duration::from_secs(self.config.portal.absolute_hours * 3600),
                logo: match &self.config.portal.logo_file {
                    Some(path) => {
                        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                        let kind = resident_web::portal::logo_type(&bytes)
                            .ok_or_else(|| anyhow!("portal.logo_file must be a PNG, JPEG or SVG image"))?;
                        Some((bytes, kind))
                    }
                    None => None,
                },
                arabic_digits: self.config.portal.arabic_digits == "arab",
            },
            mosip_ui: resident_web::ui::UiSettings {
                url: self.config.mosip_ui.url.clone(),
                dir: self.config.mosip_ui.dir.clone(),
                token_key: self.store.vault().login_key(),
                cors_origins: self.config.cors.allowed_origins.clone(),
            },
            templates: self.templates.clone(),
            otp_policy: self.config.otp.clone(),
            vid_policy: self.vid_policy.clone(),
            request_id_window: time::Duration::minutes(i64::from(self.config.card.request_id_minutes)),
            centre: resident_domain::ids::CentreId::parse(&self.config.registration.centre_id)
                .ok_or_else(|| anyhow!("registration.centre_id"))?,
            machine: resident_domain::ids::MachineId::parse(&self.config.registration.machine_id)
                .ok_or_else(|| anyhow!("registration.machine_id"))?,
            clock: self.clock.clone(),
            schema: self.schema.clone(),
            masterdata: self.masterdata.clone(),
            transliteration: self.transliteration.clone(),
            uploads: store.clone(),
            status_policy: self.status_policy(),
            host: self.host(),
            service_key_sha256: service_key.map(|k| Sha256::digest(k.as_bytes()).into()),
            clients: store.clone(),
            platform_token_key: self.store.vault().platform_key(),
            metrics: resident_web::middleware::prometheus(),
            rate_limits: self.config.rate_limit.clone(),
            // counted in memory, added to the shared rows every 250 ms: no write per request
            rate_counter: resident_store::throttle::BufferedCounter::spawn(self.store.clone()),
            draining: Default::default(),
        })))
    }

    /// The job worker with every handler this build has.
    pub fn worker(&self) -> Worker {
        let handlers: Vec<Arc<dyn JobHandler>> = vec![
            Arc::new(NotificationJob(self.sender.clone())),
            Arc::new(self.update_stage_job()),
            Arc::new(CredentialIssueJob {
                store: self.store.clone(),
                cards: self.cards.clone(),
                templates: self.templates.clone(),
                audit: self.system_context("system:credential-service"),
                first_language: self
                    .config
                    .identity
                    .mandatory_languages
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "eng".into()),
            }),
        ];
        let mut worker = Worker::new(self.store.clone(), self.clock.clone(), handlers);
        worker.poll = Duration::from_millis(self.config.worker.poll_millis);
        worker.lease = Duration::from_secs(self.config.worker.lease_seconds);
        worker.job_timeout = Duration::from_secs(self.config.worker.job_timeout_seconds);
        worker
    }

    /// Says loudly, when a server or worker starts in production, that messages (OTPs among them) go
    /// to files because no SMTP server or SMS gateway is configured.
    pub fn warn_about_delivery(&self) {
        let config = &self.config;
        if config.profile == "production" && (config.smtp.host.is_none() || config.sms.url.is_none()) {
            let missing = match (config.smtp.host.is_none(), config.sms.url.is_none()) {
                (true, true) => "no SMTP server (smtp.host) and no SMS gateway (sms.url)",
                (true, false) => "no SMTP server (smtp.host)",
                _ => "no SMS gateway (sms.url)",
            };
            tracing::warn!(
                outbox = %config.notification.outbox_dir.clone().unwrap_or_else(|| config.data_dir.join("outbox")).display(),
                "!!! production profile with {missing}: those messages, one-time passwords included, are written to files in the outbox instead of being sent. Configure delivery before residents use this service !!!"
            );
        }
    }

    /// Verifies and checkpoints the audit chain's head; runs beside the job worker.
    pub fn checkpointer(&self) -> crate::anchor::Checkpointer {
        crate::anchor::Checkpointer {
            store: self.store.clone(),
            clock: self.clock.clone(),
            path: crate::anchor::checkpoint_path(&self.config),
            every: Duration::from_secs(self.config.audit.checkpoint_seconds),
        }
    }

    /// Hands the audit chain on to MOSIP's audit manager, when audit is MOSIP's; runs beside the job
    /// worker.
    pub fn audit_forwarder(&self) -> Result<Option<crate::platform::AuditForwarder>> {
        crate::platform::audit_forwarder(
            &self.config,
            self.store.clone(),
            self.kernel_auth.as_ref(),
            self.clock.clone(),
        )
    }

    /// Deletes expired sessions, their drafts and orphan packets; runs beside the job worker.
    pub fn housekeeper(&self) -> Housekeeper {
        Housekeeper {
            store: self.store.clone(),
            packets: self.packets.clone(),
            clock: self.clock.clone(),
            idle: Duration::from_secs(self.config.portal.idle_minutes * 60),
            every: Duration::from_secs(self.config.worker.housekeeping_minutes * 60),
        }
    }
}

/// Runs `resident_domain::housekeeping::sweep` now and then.
pub struct Housekeeper {
    store: Store,
    packets: Arc<LocalPacketStore>,
    clock: Arc<dyn Clock>,
    idle: Duration,
    every: Duration,
}

impl Housekeeper {
    pub async fn once(&self) -> Result<resident_domain::housekeeping::Swept, resident_domain::StoreError> {
        let idle = time::Duration::try_from(self.idle).unwrap_or(time::Duration::minutes(15));
        resident_domain::housekeeping::sweep(
            &self.store,
            self.packets.as_ref(),
            &self.store,
            &self.store,
            &self.store,
            self.clock.now(),
            idle,
        )
        .await
    }

    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            match self.once().await {
                Ok(s) if s != Default::default() => {
                    tracing::info!(
                        sessions = s.sessions,
                        drafts = s.drafts,
                        packets = s.packets,
                        uploads = s.uploads,
                        counters = s.counters,
                        "housekeeping"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "housekeeping could not run"),
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

impl App {
    fn system_context(&self, user: &str) -> AuditContext {
        let host = self.host();
        AuditContext { host_name: host.name, host_ip: host.ip, session_user: user.into(), request_id: None }
    }

    fn update_stage_job(&self) -> UpdateStageJob {
        UpdateStageJob {
            store: self.store.clone(),
            packets: self.packets.clone(),
            codec: self.codec.clone(),
            schema: self.schema.clone(),
            templates: self.templates.clone(),
            audit: self.system_context("system:registration-processor"),
        }
    }

    /// The update pipeline as an operator drives it (manual verification).
    pub fn pipeline<'a>(&'a self, audit: &'a AuditContext) -> Pipeline<'a> {
        Pipeline {
            updates: &self.store,
            accesses: &self.store,
            packets: self.packets.as_ref(),
            codec: self.codec.as_ref(),
            schema: &self.schema,
            templates: &self.templates,
            audit,
            now: self.clock.now(),
        }
    }
}

/// Where the card-signing keys live.
pub fn app_card_keys_dir(config: &Config) -> std::path::PathBuf {
    config.card.keys_dir.clone().unwrap_or_else(|| config.data_dir.join("keys").join("card-signing"))
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
