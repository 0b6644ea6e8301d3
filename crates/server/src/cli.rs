//! The `resident` command line.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use clap::{Parser, Subcommand};
use resident_store::audit::ChainReport;
use tokio::sync::watch;

use crate::app::{App, Schema};
use crate::config::{self, Config, Overrides};

#[derive(Debug, Parser)]
#[command(
    name = "resident",
    version,
    about = "Resident Services: the MOSIP 1.2.0 resident API and its embedded identity platform"
)]
pub struct Cli {
    /// Configuration file (TOML). Default: ./resident.toml when it exists.
    #[arg(long, global = true, env = "RESIDENT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen address, e.g. 127.0.0.1:8099 (overrides `listen`).
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Data folder for the SQLite database, keys and outbox (overrides `data_dir`).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB (overrides `database_url`).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (resident API, platform endpoints) and, by default, the job worker.
    Serve {
        /// Seed the demo residents and registrations when the database has no identities yet.
        #[arg(long)]
        demo: bool,
        /// Do not run the job worker in this process (run `resident worker` separately).
        #[arg(long)]
        no_worker: bool,
    },
    /// Run only the job worker (several may run against one PostgreSQL database).
    Worker,
    /// Bring the database schema up to date (or show its version with --status).
    Migrate {
        #[arg(long)]
        status: bool,
    },
    /// Import identities from a JSON Lines file, one `{"identity": {...}}` per line.
    Import {
        /// The .jsonl file.
        file: PathBuf,
        /// Also write each imported (or already present) line's UIN to this file, one
        /// `{"line": N, "UIN": "…"}` per line (created 0600: UINs are personal data).
        #[arg(long)]
        uins: Option<PathBuf>,
    },
    /// Create the demo residents and registrations and print them.
    Demo,
    /// Audit log commands.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Load and validate the configuration, print it with secrets hidden, and exit.
    CheckConfig,
    /// ID cards: check a card or its QR payload offline, and manage the card-signing keys.
    Card {
        #[command(subcommand)]
        command: CardCommand,
    },
    /// The platform behind this service: `check` calls each configured MOSIP service once.
    Platform {
        #[command(subcommand)]
        command: PlatformCommand,
    },
    /// Operator commands.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Partners (relying parties that authenticate residents, print partners, …).
    Partner {
        #[command(subcommand)]
        command: PartnerCommand,
    },
    /// The embedded platform's clients (systems that call its MOSIP contracts with a token from
    /// `/v1/authmanager/authenticate/clientidsecretkey`).
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Manual verification of updates that change name, date of birth or gender (configurable).
    Verification {
        /// Who is at the keyboard: recorded with every decision, and shown to the resident whose data
        /// `show` opens (required for `show`).
        #[arg(long, env = "RESIDENT_OPERATOR", global = true, value_name = "NAME")]
        operator: Option<String>,
        #[command(subcommand)]
        command: VerificationCommand,
    },
    /// Oversight: who read one identity's personal data (`--identity`), or what one operator read
    /// (`--operator`), newest first. The query is recorded, and shown to the resident it names.
    AccessLog {
        /// The UIN or VID of the identity whose record to read.
        #[arg(long, value_name = "UIN|VID", conflicts_with = "operator")]
        identity: Option<String>,
        /// The operator whose reads to list.
        #[arg(long, value_name = "NAME")]
        operator: Option<String>,
        /// Why you are looking (recorded; shown to the resident for `--identity`).
        #[arg(long)]
        reason: String,
        /// Who is asking.
        #[arg(long, env = "RESIDENT_OPERATOR", value_name = "NAME")]
        by: Option<String>,
        /// At most this many records.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Delete now what the worker deletes every `worker.housekeeping_minutes`: expired portal
    /// sessions and their drafts, update packets no update refers to (older than an hour).
    Housekeeping,
}

#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Check a card PDF (with its password) or a QR payload (a text file, or `-` for stdin) against
    /// the published card keys; says whose card it is and whether the signature holds. Exit 1 if not.
    Verify {
        file: PathBuf,
        /// The card's password (first four letters of the name in capitals, then the year of birth).
        #[arg(long, env = "RESIDENT_CARD_PASSWORD")]
        password: Option<String>,
        /// A JSON Web Key Set to trust instead of this installation's keys (e.g. a saved
        /// /.well-known/jwks.json).
        #[arg(long, value_name = "FILE")]
        jwks: Option<PathBuf>,
    },
    /// List the card-signing keys (the first signs new cards).
    Keys,
    /// Create a new signing key; new cards use it, cards signed before still verify.
    RotateKey,
    /// Stop publishing a key: cards it signed no longer verify (for a compromised key).
    RetireKey { kid: String },
}

#[derive(Debug, Subcommand)]
pub enum VerificationCommand {
    /// Updates waiting for an operator's decision, oldest first.
    List,
    /// Decrypt an update for review: current and proposed values; documents saved to a folder.
    Show {
        /// The update's RID.
        rid: String,
        /// Folder for the documents (default ./verification-<RID>).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Approve the update: the identity is changed.
    Approve { rid: String },
    /// Reject the update with a reason the resident is told; the identity stays as it is.
    Reject {
        rid: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PlatformCommand {
    /// Call each configured MOSIP service once and say what answers (exit 1 if one does not).
    Check,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client and print its secret key (shown once; only its digest is stored).
    Add {
        /// The client id, e.g. `mosip-regproc-client` (letters, digits, `-`, `_`, `.`).
        #[arg(long)]
        id: String,
        /// The application it acts for (MOSIP's `appId`), e.g. `regproc`.
        #[arg(long)]
        app_id: String,
        /// Its roles, comma-separated: `REGISTRATION_PROCESSOR` (create identities),
        /// `RESIDENT`, `ID_AUTHENTICATION`.
        #[arg(long, value_delimiter = ',', default_value = "REGISTRATION_PROCESSOR")]
        roles: Vec<String>,
    },
    /// Stop a client: no new tokens, and the tokens it holds stop working at once.
    Disable {
        #[arg(long)]
        id: String,
    },
    /// Let a disabled client get tokens again with its current secret key.
    Enable {
        #[arg(long)]
        id: String,
    },
    /// Replace a client's secret key and print the new one (shown once); the old key and every token
    /// issued with it stop working at once.
    Rotate {
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Register a partner and print its API key (shown once; only its digest is stored).
    Add {
        /// The partner id used in URLs, e.g. `bank-auth-01` (letters, digits, `-`, `_`).
        #[arg(long)]
        id: String,
        /// The name residents see in their authentication history.
        #[arg(long)]
        name: String,
        /// MOSIP partner type.
        #[arg(long, default_value = "Auth_Partner")]
        partner_type: String,
    },
    /// List partners.
    List,
    /// Set what a partner may receive as a credential type (its policy).
    Policy {
        #[arg(long)]
        partner: String,
        /// `euin`, `reprint`, `qrcode` or `vercred`.
        #[arg(long)]
        credential_type: String,
        /// Comma-separated attributes: ID schema fields, `UIN`, `photo`.
        #[arg(long, value_delimiter = ',')]
        attributes: Vec<String>,
    },
    /// List the partners' policies.
    Policies,
    /// Set which demographic attributes a relying party must present and match (its auth policy;
    /// default `name,dob`).
    AuthPolicy {
        #[arg(long)]
        partner: String,
        /// Comma-separated: `name`, `dob`, `gender`, `phoneNumber`, `emailId`.
        #[arg(long, value_delimiter = ',')]
        require: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit chain (and, when there is one, against the signed checkpoint of its head);
    /// names the first broken record, exit 1.
    Verify {
        /// The checkpoint to check against (default `audit.checkpoint_file`).
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
    },
    /// Verify what was appended since the last checkpoint and write the new one now (the worker does
    /// it every `audit.checkpoint_seconds`).
    Checkpoint,
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(&config.log.level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = if config.log.format == "json" { builder.json().try_init() } else { builder.try_init() };
}

pub async fn run(cli: Cli) -> Result<i32> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let overrides = Overrides {
        listen: cli.listen.clone(),
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    let loaded = config::load(cli.config.as_deref(), &env, overrides).map_err(|e| anyhow!(e))?;
    init_logging(&loaded.config);
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let config = loaded.config;
    match cli.command {
        Command::CheckConfig => {
            print!("{}", config.redacted_toml());
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            println!("\n# platform services (platform.mode = {:?})", config.platform.mode);
            for line in config.platform.describe() {
                println!("#   {line}");
            }
            println!("\n# configuration is valid");
            Ok(0)
        }
        Command::Migrate { status } => {
            let app = App::open(config, Schema::Unchecked).await?;
            let before = app.store.schema_version().await?;
            let latest = resident_store::migrate::latest_version();
            if status {
                println!("schema version {before} (this binary: {latest})");
                app.store.close().await;
                return Ok(if before == latest { 0 } else { 1 });
            }
            app.store.migrate().await?;
            println!("schema version {} (was {before})", app.store.schema_version().await?);
            app.store.close().await;
            Ok(0)
        }
        Command::Serve { demo, no_worker } => serve(config, demo, no_worker).await,
        Command::Worker => {
            let mode = if config.database.migrate_on_start { Schema::Migrate } else { Schema::MustBeCurrent };
            let mut app = App::open(config, mode).await?;
            app.use_platform_masterdata().await?;
            app.warn_about_delivery();
            let (stop, stopped) = watch::channel(false);
            let worker = tokio::spawn(app.worker().run(stopped.clone()));
            let housekeeper = tokio::spawn(app.housekeeper().run(stopped.clone()));
            let forwarder = app.audit_forwarder()?.map(|f| tokio::spawn(f.run(stopped.clone())));
            let checkpointer = tokio::spawn(app.checkpointer().run(stopped));
            shutdown_signal().await;
            let _ = stop.send(true);
            let _ = worker.await;
            let _ = housekeeper.await;
            let _ = checkpointer.await;
            if let Some(f) = forwarder {
                let _ = f.await;
            }
            app.store.close().await;
            Ok(0)
        }
        Command::Import { file, uins } => {
            let app = App::open(config, Schema::Migrate).await?;
            // the UIN list is written as the import goes, into a private file renamed into place at the end
            let mut out = match &uins {
                Some(path) => {
                    let tmp = path.with_extension("partial");
                    let file =
                        resident_files::create_private(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
                    Some((tmp, std::io::BufWriter::new(file)))
                }
                None => None,
            };
            let report = crate::import::run(
                &app,
                &file,
                std::io::IsTerminal::is_terminal(&std::io::stderr()),
                out.as_mut().map(|(_, w)| w as &mut dyn std::io::Write),
            )
            .await?;
            app.store.close().await;
            if let (Some((tmp, mut w)), Some(path)) = (out, &uins) {
                std::io::Write::flush(&mut w)?;
                drop(w);
                std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
            }
            println!(
                "imported {}, already present {}, rejected {}",
                report.imported, report.already_present, report.rejected
            );
            Ok(if report.rejected > 0 { 1 } else { 0 })
        }
        Command::Demo => {
            let app = App::open(config, Schema::Migrate).await?;
            let report = crate::demo::seed(&app).await?;
            app.store.close().await;
            crate::demo::print_report(&report);
            Ok(0)
        }
        Command::Admin { command: AdminCommand::Client { command } } => {
            use resident_domain::platform::ClientChange;
            let app = App::open(config, Schema::Migrate).await?;
            let code = match command {
                ClientCommand::Add { id, app_id, roles } => crate::admin::add_client(&app, &id, &app_id, &roles).await,
                ClientCommand::Disable { id } => crate::admin::change_client(&app, &id, ClientChange::Disable).await,
                ClientCommand::Enable { id } => crate::admin::change_client(&app, &id, ClientChange::Enable).await,
                ClientCommand::Rotate { id } => {
                    crate::admin::change_client(&app, &id, ClientChange::RotateSecret).await
                }
            };
            app.store.close().await;
            code
        }
        Command::Admin { command: AdminCommand::Partner { command } } => {
            let app = App::open(config, Schema::Migrate).await?;
            let code = crate::admin::partner(&app, command).await;
            app.store.close().await;
            code
        }
        Command::Card { command } => crate::admin::card(config, command).await,
        Command::Platform { command: PlatformCommand::Check } => crate::platform::check(&config).await,
        Command::Admin { command: AdminCommand::AccessLog { identity, operator, reason, by, limit } } => {
            let app = App::open(config, Schema::MustBeCurrent).await?;
            let query = crate::admin::AccessLogQuery { identity, operator, reason, by, limit };
            let code = crate::admin::access_log(&app, query).await;
            app.store.close().await;
            code
        }
        Command::Admin { command: AdminCommand::Housekeeping } => {
            let app = App::open(config, Schema::MustBeCurrent).await?;
            let swept = app.housekeeper().once().await;
            app.store.close().await;
            let s = swept?;
            println!(
                "deleted {} expired portal sessions, {} drafts, {} orphan update packets, {} throttling counters",
                s.sessions, s.drafts, s.packets, s.counters
            );
            Ok(0)
        }
        Command::Admin { command: AdminCommand::Verification { operator, command } } => {
            let app = App::open(config, Schema::Migrate).await?;
            let code = crate::admin::verification(&app, operator.as_deref(), command).await;
            app.store.close().await;
            code
        }
        Command::Audit { command: AuditCommand::Verify { checkpoint } } => {
            let path = checkpoint.unwrap_or_else(|| crate::anchor::checkpoint_path(&config));
            let anchor = crate::anchor::read_checkpoint(&path);
            let app = App::open(config, Schema::MustBeCurrent).await?;
            let anchor = match anchor {
                Ok(a) => a,
                Err(e) => {
                    app.store.close().await;
                    println!("BROKEN: {e}");
                    return Ok(1);
                }
            };
            let report = app.store.verify_audit_chain_against(anchor.as_ref()).await?;
            app.store.close().await;
            match report {
                ChainReport::Intact { records } => {
                    println!("OK: the audit chain of {records} records is intact");
                    match anchor {
                        Some(cp) => println!("and holds the checkpoint of record {} ({})", cp.seq, path.display()),
                        None => println!(
                            "no checkpoint at {}: a tail cut off with its head cannot be told from an intact chain",
                            path.display()
                        ),
                    }
                    Ok(0)
                }
                ChainReport::Broken { seq, reason } => {
                    println!("BROKEN at audit record {seq}: {reason}");
                    Ok(1)
                }
            }
        }
        Command::Audit { command: AuditCommand::Checkpoint } => {
            let app = App::open(config, Schema::MustBeCurrent).await?;
            let checkpointer = app.checkpointer();
            let outcome = checkpointer.once().await;
            app.store.close().await;
            match outcome? {
                Ok(cp) => {
                    println!("checkpoint of record {} written to {}", cp.seq, checkpointer.path.display());
                    Ok(0)
                }
                Err(ChainReport::Broken { seq, reason }) => {
                    println!("BROKEN at audit record {seq}: {reason}; the checkpoint was not moved");
                    Ok(1)
                }
                Err(ChainReport::Intact { .. }) => Ok(0),
            }
        }
    }
}

async fn serve(config: Config, demo: bool, no_worker: bool) -> Result<i32> {
    let addr = config.listen_addr().map_err(|e| anyhow!(e))?;
    let in_process_worker = config.worker.in_process && !no_worker;
    let mode = if config.database.migrate_on_start { Schema::Migrate } else { Schema::MustBeCurrent };
    let mut app = App::open(config, mode).await?;
    app.use_platform_masterdata().await?;
    app.warn_about_delivery();
    if demo && app.store.count_identities().await? == 0 {
        let report = crate::demo::seed(&app).await?;
        crate::demo::print_report(&report);
    }
    let state = app.web_state()?;
    if state.service_key_sha256.is_none() {
        tracing::info!("platform.service_key is not set: the embedded ID Repository endpoints answer 401");
    }
    let draining = state.draining.clone();
    let rate_limits = state.rate_limits.clone();
    let router = resident_web::router(state);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let (stop, stopped) = watch::channel(false);
    let worker = in_process_worker.then(|| {
        (
            tokio::spawn(app.worker().run(stopped.clone())),
            tokio::spawn(app.housekeeper().run(stopped.clone())),
            tokio::spawn(app.checkpointer().run(stopped.clone())),
        )
    });
    let forwarder = match (in_process_worker, app.audit_forwarder()?) {
        (true, Some(f)) => Some(tokio::spawn(f.run(stopped.clone()))),
        _ => None,
    };
    tracing::info!(%addr, backend = ?app.store.backend(), "Resident Services listening on http://{addr}/resident/v1 (API docs: /resident/v1/swagger-ui/)");
    let mut wait_stop = stopped.clone();
    let http = &app.config.http;
    let limits = crate::http::Limits {
        header_read_timeout: std::time::Duration::from_secs(http.header_read_timeout_seconds),
        max_connections_per_client: http.max_connections_per_client,
        drain: std::time::Duration::from_secs(http.drain_seconds),
        shutdown_deadline: std::time::Duration::from_secs(http.shutdown_deadline_seconds),
    };
    // the peer's address reaches the handlers (per-client throttling)
    let all_finished = crate::http::serve(listener, router, limits, rate_limits, draining, async move {
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = wait_stop.changed() => {}
        }
    })
    .await;
    if all_finished {
        tracing::info!("every request in flight finished");
    }
    let _ = stop.send(true);
    if let Some((w, h, c)) = worker {
        let _ = w.await;
        let _ = h.await;
        let _ = c.await;
    }
    if let Some(f) = forwarder {
        let _ = f.await;
    }
    app.store.close().await;
    tracing::info!("stopped");
    Ok(0)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
