//! `resident-bench`: RID-status throughput and latency through the real server, next to a bare axum
//! JSON endpoint measured in the same run, on SQLite and on PostgreSQL.
//!
//!     cargo run --release --bin resident-bench -- --backend both
//!
//! The servers and the load generator run in this process on separate runtimes, over loopback TCP
//! with keep-alive connections. Every response is checked (HTTP 200 and the expected body).

#![allow(clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::routing::post;
use clap::Parser;
use rand::Rng;
use resident_domain::clock::mosip_datetime;
use resident_domain::ids::{CentreId, MachineId, Rid};
use resident_domain::registration::{InternalStatus, Registration, RegistrationType, StageRecord, TransactionType};
use resident_server::app::{App, Schema};
use resident_server::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, Parser)]
#[command(about = "Benchmark POST /resident/v1/rid/check-status against a bare axum JSON endpoint")]
struct Args {
    /// sqlite, postgres or both
    #[arg(long, default_value = "both")]
    backend: String,
    /// rid-status (RID status next to a bare endpoint), auth (OTP round trips and relying-party
    /// authentications), update (update requests with a document, then the pipeline), card (card
    /// generation with a photo; no database) or all
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Identities seeded for the auth scenario.
    #[arg(long, default_value_t = 2_000)]
    identities: u32,
    /// An administrative PostgreSQL URL; a throw-away database is created there and dropped after.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    #[arg(long, default_value_t = 100_000)]
    registrations: u32,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Measured seconds per endpoint (after a warm-up of a quarter of that).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Database pool size (SQLite: reader connections; there is always one writer).
    #[arg(long, default_value_t = 16)]
    max_connections: u32,
    /// Worker threads for the servers' runtime (the load generator gets its own).
    #[arg(long, default_value_t = 2)]
    server_threads: usize,
    /// Count every request toward per-client throttling, as production does, with limits no load
    /// generator reaches (the load comes from one address): measures what the counting costs.
    #[arg(long)]
    throttle: bool,
}

struct Figures {
    requests: u64,
    errors: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Figures {
    /// Throughput and percentiles from per-request latencies in microseconds.
    fn from(mut latencies: Vec<u32>, errors: u64, measure: Duration) -> Self {
        latencies.sort_unstable();
        let pct = |p: f64| match latencies.len() {
            0 => 0.0,
            n => latencies[((n as f64 * p) as usize).min(n - 1)] as f64 / 1000.0,
        };
        Figures {
            requests: latencies.len() as u64,
            errors,
            rps: latencies.len() as f64 / measure.as_secs_f64(),
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.scenario == "card" || args.scenario == "all" {
        run_card()?;
        if args.scenario == "card" {
            return Ok(());
        }
    }
    let backends: Vec<&str> = match args.backend.as_str() {
        "both" => vec!["sqlite", "postgres"],
        "sqlite" => vec!["sqlite"],
        "postgres" => vec!["postgres"],
        other => bail!("unknown backend {other}"),
    };
    let server_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.server_threads).enable_all().build()?;
    let client_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("loadgen").enable_all().build()?;
    println!(
        "machine: {} cores; {} registrations; {} connections; {} s per endpoint",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        args.registrations,
        args.connections,
        args.seconds
    );
    for backend in backends {
        let dir = tempfile::tempdir()?;
        let (url, drop_db) = match backend {
            "sqlite" => (format!("sqlite://{}/bench.db", dir.path().display()), None),
            _ => {
                let name = format!("resident_bench_{}", std::process::id());
                server_rt.block_on(admin(&args.postgres_url, &format!("CREATE DATABASE {name}")))?;
                let base = args.postgres_url.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or_default();
                (format!("{base}/{name}"), Some(name))
            }
        };
        let result = (|| {
            if args.scenario == "rid-status" || args.scenario == "all" {
                run_backend(&args, &server_rt, &client_rt, backend, &url, dir.path())?;
            }
            if args.scenario == "auth" || args.scenario == "all" {
                let auth_dir = tempfile::tempdir()?;
                let auth_url = match backend {
                    "sqlite" => format!("sqlite://{}/auth.db", auth_dir.path().display()),
                    _ => url.clone(),
                };
                run_auth(&args, &server_rt, &client_rt, backend, &auth_url, auth_dir.path())?;
            }
            if args.scenario == "update" || args.scenario == "all" {
                let update_dir = tempfile::tempdir()?;
                let update_url = match backend {
                    "sqlite" => format!("sqlite://{}/update.db", update_dir.path().display()),
                    _ => {
                        // a database of its own: the auth scenario left its residents in the shared one
                        let name = format!("resident_bench_upd_{}", std::process::id());
                        server_rt.block_on(admin(&args.postgres_url, &format!("CREATE DATABASE {name}")))?;
                        let base = args.postgres_url.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or_default();
                        format!("{base}/{name}")
                    }
                };
                let r = run_update(&args, &server_rt, &client_rt, backend, &update_url, update_dir.path());
                if backend == "postgres" {
                    let name = format!("resident_bench_upd_{}", std::process::id());
                    server_rt
                        .block_on(admin(&args.postgres_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))?;
                }
                r?;
            }
            anyhow::Ok(())
        })();
        if let Some(name) = drop_db {
            server_rt.block_on(admin(&args.postgres_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))?;
        }
        result?;
    }
    Ok(())
}

async fn admin(url: &str, sql: &str) -> Result<()> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await?;
    sqlx::query(sql).execute(&pool).await?;
    pool.close().await;
    Ok(())
}

fn run_backend(
    args: &Args,
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
    backend: &str,
    url: &str,
    dir: &std::path::Path,
) -> Result<()> {
    let mut config = Config { data_dir: dir.to_path_buf(), database_url: Some(url.to_owned()), ..Config::default() };
    config.database.max_connections = args.max_connections;
    let (rid_addr, bare_addr, rids) = server_rt.block_on(async {
        let app = App::open(config, Schema::Migrate).await?;
        let started = Instant::now();
        let rids = seed(&app, args.registrations).await?;
        println!("\n[{backend}] seeded {} registrations in {:.1} s", rids.len(), started.elapsed().as_secs_f64());
        let router = resident_web::router(app.web_state()?);
        let rid_addr = spawn_server(router).await?;
        let bare = Router::new().route(
            "/bare",
            post(|body: axum::body::Bytes| async move {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                axum::Json(serde_json::json!({"id": v["id"], "response": {"ridStatus": "PROCESSED"}, "errors": null}))
            }),
        );
        let bare_addr = spawn_server(bare).await?;
        anyhow::Ok((rid_addr, bare_addr, rids))
    })?;

    let requesttime = mosip_datetime(time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000));
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..2000)
            .map(|i| {
                let rid = &rids[(i * 7919) % rids.len()];
                format!(
                    r#"{{"id":"mosip.resident.checkstatus","version":"v1","requesttime":"{requesttime}","request":{{"individualId":"{rid}","individualIdType":"RID"}}}}"#
                )
            })
            .collect(),
    );
    let seconds = Duration::from_secs(args.seconds);
    let bare = client_rt.block_on(load(bare_addr, "/bare", bodies.clone(), args.connections, seconds))?;
    let rid = client_rt.block_on(load(rid_addr, "/resident/v1/rid/check-status", bodies, args.connections, seconds))?;
    println!("  {:<38} {:>10} {:>9} {:>9} {:>8}", "endpoint", "req/s", "p50 ms", "p99 ms", "errors");
    for (name, f) in [("bare axum JSON (POST /bare)", &bare), ("POST /resident/v1/rid/check-status", &rid)] {
        println!("  {:<38} {:>10.0} {:>9.3} {:>9.3} {:>8}", name, f.rps, f.p50_ms, f.p99_ms, f.errors);
    }
    println!(
        "  check-status / bare = {:.0}%  ({} + {} requests)",
        100.0 * rid.rps / bare.rps.max(1.0),
        bare.requests,
        rid.requests
    );
    Ok(())
}

async fn spawn_server(router: Router) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(addr)
}

/// Registrations spread over every internal status, each with a short stage history.
async fn seed(app: &App, n: u32) -> Result<Vec<String>> {
    let base = time::macros::datetime!(2026-10-01 00:00 UTC);
    let centre = CentreId::parse("10001").context("centre")?;
    let statuses = InternalStatus::ALL;
    let ctx = app.operator_context();
    let mut rids = Vec::with_capacity(n as usize);
    let mut batch = Vec::with_capacity(5000);
    for i in 0..n {
        let machine = MachineId::parse(&format!("{:05}", 10001 + i / 90_000)).context("machine")?;
        let at = base + time::Duration::seconds(i64::from(i));
        let rid = Rid::compose(&centre, &machine, i % 90_000 + 1, at);
        rids.push(rid.as_str().to_owned());
        let status = statuses[(i as usize) % statuses.len()];
        batch.push((
            Registration {
                rid,
                registration_type: RegistrationType::New,
                status: Some(status),
                latest_transaction: Some(TransactionType::ValidatePacket),
                latest_transaction_at: Some(at),
                last_success_stage: Some("PacketValidatorStage".into()),
                retry_count: (i % 12) as i32,
                created_at: at,
                updated_at: at,
            },
            vec![StageRecord {
                transaction_type: TransactionType::PacketReceiver,
                status: "SUCCESS".into(),
                comment: "received".into(),
                at,
            }],
        ));
        if batch.len() == 5000 {
            app.store.record_registrations(&batch, &ctx).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        app.store.record_registrations(&batch, &ctx).await?;
    }
    Ok(rids)
}

async fn load(
    addr: SocketAddr,
    path: &str,
    bodies: Arc<Vec<String>>,
    connections: usize,
    measure: Duration,
) -> Result<Figures> {
    load_with(addr, path, "", b"\"ridStatus\"", bodies, connections, measure).await
}

async fn load_with(
    addr: SocketAddr,
    path: &str,
    headers: &str,
    expect: &'static [u8],
    bodies: Arc<Vec<String>>,
    connections: usize,
    measure: Duration,
) -> Result<Figures> {
    let warmup = measure / 4;
    let start = Instant::now() + warmup;
    let end = start + measure;
    let mut tasks = Vec::with_capacity(connections);
    for c in 0..connections {
        let bodies = bodies.clone();
        let path = path.to_owned();
        let headers = headers.to_owned();
        tasks
            .push(tokio::spawn(async move { connection(addr, &path, &headers, expect, &bodies, c, start, end).await }));
    }
    let mut latencies: Vec<u32> = Vec::new();
    let mut errors = 0u64;
    for t in tasks {
        let (lat, err) = t.await??;
        latencies.extend(lat);
        errors += err;
    }
    Ok(Figures::from(latencies, errors, measure))
}

/// One keep-alive HTTP/1.1 connection sending requests back to back; latencies in microseconds for
/// the requests completed inside the measured window.
#[allow(clippy::too_many_arguments)]
async fn connection(
    addr: SocketAddr,
    path: &str,
    headers: &str,
    expect: &[u8],
    bodies: &[String],
    seed: usize,
    start: Instant,
    end: Instant,
) -> Result<(Vec<u32>, u64)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut lat = Vec::with_capacity(100_000);
    let mut errors = 0u64;
    let mut i = seed * 31 + resident_domain::clock::rng().gen_range(0..bodies.len());
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let body = &bodies[i % bodies.len()];
        i += 1;
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let t = Instant::now();
        stream.write_all(req.as_bytes()).await?;
        let (status, ok) = read_response(&mut stream, &mut buf, expect).await?;
        let elapsed = t.elapsed();
        if t >= start {
            lat.push(elapsed.as_micros().min(u128::from(u32::MAX)) as u32);
            if status != 200 || !ok {
                errors += 1;
            }
        }
    }
    Ok((lat, errors))
}

async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>, expect: &[u8]) -> Result<(u16, bool)> {
    buf.clear();
    let mut chunk = [0u8; 8192];
    let (head_end, length) = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed");
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..pos])?;
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
                })
                .context("no content-length")?;
            break (pos + 4, length);
        }
    };
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed mid-body");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let status: u16 = std::str::from_utf8(&buf[9..12])?.parse()?;
    let body = &buf[head_end..head_end + length];
    let ok = body.windows(expect.len()).any(|w| w == expect);
    Ok((status, ok))
}

const BENCH_KEY: &str = "bench-partner-key-0123456789abcdef";

/// OTP round trips (request, then validate through relying-party OTP authentication) and
/// relying-party demographic authentications, through the real server with the worker delivering
/// every OTP to the outbox.
/// A 413×531 JPEG ID photo (35×45 mm at 300 dpi, 38 KB), the size a registration client captures.
const PORTRAIT: &[u8] = include_bytes!("../../bench/portrait.jpg");

/// Card generation alone: layout, fonts, photo, QR, signature and AES-256 encryption, 300 cards.
fn run_card() -> Result<()> {
    use resident_domain::card::{CardIssuer, CardRequest, CardType, card_password};
    let dir = tempfile::tempdir()?;
    let config = Config::default();
    let mut languages = config.identity.mandatory_languages.clone();
    languages.extend(config.identity.optional_languages.iter().cloned());
    let style = resident_card::CardStyle {
        authority: config.card.authority.clone(),
        colour: config.card.rgb().unwrap_or([20, 70, 122]),
        languages,
        issuer: config.card.issuer.clone(),
        time_zone: resident_domain::clock::TimeZone::UTC,
    };
    let maker = resident_card::CardMaker::new(style, &dir.path().join("keys"), time::OffsetDateTime::UNIX_EPOCH)
        .map_err(|e| anyhow::anyhow!(e))?;
    let identity = resident_domain::identity::IdentityJson(
        serde_json::json!({
            "UIN": "5075291708",
            "fullName": [{"language": "eng", "value": "Jane Doe"}, {"language": "ara", "value": "جين دو"}, {"language": "fra", "value": "Jane Doe"}],
            "dateOfBirth": "1990/05/12",
            "gender": [{"language": "eng", "value": "Female"}, {"language": "ara", "value": "أنثى"}, {"language": "fra", "value": "Femme"}],
            "addressLine1": [{"language": "eng", "value": "12 Avenue Mohammed V, Apartment 4"}, {"language": "ara", "value": "12 شارع محمد الخامس، شقة 4"}, {"language": "fra", "value": "12 avenue Mohammed V, appartement 4"}],
            "city": [{"language": "eng", "value": "Rabat"}, {"language": "ara", "value": "الرباط"}, {"language": "fra", "value": "Rabat"}],
            "postalCode": "10000"
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    );
    let uin = resident_domain::ids::Uin::parse("5075291708").map_err(|e| anyhow::anyhow!("{e}"))?;
    let photo = resident_domain::ports::NewDocument {
        category: "photo".into(),
        format: "jpg".into(),
        content: PORTRAIT.to_vec(),
    };
    let password = card_password(&identity, "eng").unwrap_or_default();
    let request = CardRequest {
        identity: &identity,
        uin: &uin,
        card_type: CardType::Uin,
        vid: None,
        shown: None,
        photo: Some(&photo),
        issued_at: time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
        password,
    };
    // warm-up: fonts parsed, caches filled
    for _ in 0..20 {
        maker.issue(&request).map_err(|e| anyhow::anyhow!(e))?;
    }
    let (mut micros, mut sizes) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        let t = Instant::now();
        let card = maker.issue(&request).map_err(|e| anyhow::anyhow!(e))?;
        micros.push(t.elapsed().as_micros() as u32);
        sizes.push(card.pdf.len());
    }
    let f = Figures::from(micros, 0, Duration::from_secs(1));
    sizes.sort_unstable();
    println!("\n[card] 300 cards, UIN card with a {} byte JPEG photo, three languages, one thread", PORTRAIT.len());
    println!("  {:<38} {:>9} {:>9} {:>10}", "measure", "p50 ms", "p99 ms", "size");
    println!(
        "  {:<38} {:>9.2} {:>9.2} {:>10}",
        "card generation (render+sign+encrypt)",
        f.p50_ms,
        f.p99_ms,
        sizes[sizes.len() / 2]
    );
    Ok(())
}

/// The production path with an OTP the client knows (`development` profile, fixed code) and no
/// flooding limit in the way.
fn otp_bench_config(args: &Args, url: &str, dir: &std::path::Path) -> Config {
    let mut config = Config { data_dir: dir.to_path_buf(), database_url: Some(url.to_owned()), ..Config::default() };
    config.database.max_connections = args.max_connections;
    config.profile = "development".into();
    config.otp.fixed_code = Some("123456".into());
    config.otp.flooding_max = i64::MAX / 2;
    // one load generator is one client address: per-client throttling would refuse it; with
    // --throttle every request is counted as in production, under limits it cannot reach
    config.rate_limit.enabled = args.throttle;
    config.rate_limit.otp_issue = i64::MAX / 2;
    config.rate_limit.partner_otp = i64::MAX / 2;
    config.rate_limit.otp_protected = i64::MAX / 2;
    config.rate_limit.portal_login = i64::MAX / 2;
    config.rate_limit.max_concurrent = 100_000;
    config
}

async fn seed_identities(app: &App, n: u32) -> Result<Vec<String>> {
    let ctx = app.operator_context();
    let mut uins = Vec::new();
    for i in 0..n {
        let doc = serde_json::json!({"identity": {
            "fullName": [{"language": "eng", "value": format!("Bench Resident {i}")}],
            "dateOfBirth": "1990/01/01", "gender": [{"language": "eng", "value": "Female"}],
            "city": [{"language": "eng", "value": "Rabat"}],
            "email": format!("resident{i}@example.org"), "phone": "9876543210", "preferredLang": "eng"}});
        let created = resident_domain::usecases::create_identity(
            &app.store,
            &app.store,
            &app.schema,
            &ctx,
            resident_domain::usecases::CreateIdentity { document: doc, registration_id: None, documents: vec![] },
            app.clock.now(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{} {}", e.code(), e.message()))?;
        uins.push(created.uin.expose().to_owned());
    }
    Ok(uins)
}

/// A scanned proof of address: a PDF of about `size` bytes.
fn proof_pdf(size: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%".to_vec();
    let mut rng = resident_domain::clock::rng();
    pdf.extend((0..size.saturating_sub(64)).map(|_| rng.gen_range(b'!'..=b'~')));
    pdf.extend_from_slice(b"\ntrailer << /Root 1 0 R >>\n%%EOF\n");
    pdf
}

/// Update requests (OTP, then `update-uin` with a 200 KB proof) over HTTP with the worker stopped,
/// then the pipeline drained by one worker; and the packet codec alone.
fn run_update(
    args: &Args,
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
    backend: &str,
    url: &str,
    dir: &std::path::Path,
) -> Result<()> {
    use base64::Engine as _;
    let config = otp_bench_config(args, url, dir);
    let residents = args.identities.min(2_000);
    let pdf = proof_pdf(200_000);
    let (addr, uins, app) = server_rt.block_on(async {
        let app = App::open(config, Schema::Migrate).await?;
        let uins = seed_identities(&app, residents).await?;
        let addr = spawn_server(resident_web::router(app.web_state()?)).await?;
        anyhow::Ok((addr, uins, app))
    })?;
    println!("\n[{backend}] update scenario: {} residents, one update each, 200 KB proof document", uins.len());

    // the packet codec alone
    let packet = resident_domain::update::UpdatePacket {
        rid: Rid::parse("10001100800000120261126090000").expect("rid"),
        process: "RES_UPDATE".into(),
        created_at: app.clock.now(),
        centre: "10001".into(),
        machine: "10080".into(),
        identity: resident_domain::identity::IdentityJson(
            serde_json::json!({"UIN": uins[0], "IDSchemaVersion": 0.1,
                "city": [{"language": "eng", "value": "Tangier"}],
                "proofOfAddress": {"value": "proofOfAddress", "type": "RNC", "format": "pdf"}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        ),
        documents: vec![resident_domain::ports::NewDocument {
            category: "proofOfAddress".into(),
            format: "pdf".into(),
            content: pdf.clone(),
        }],
        audits: vec![],
    };
    let codec: &dyn resident_domain::ports::PacketCodec = app.codec.as_ref();
    let (mut seal_us, mut open_us, mut size) = (Vec::new(), Vec::new(), 0);
    for _ in 0..200 {
        let t = Instant::now();
        let sealed = codec.seal(&packet).map_err(|e| anyhow::anyhow!(e))?;
        seal_us.push(t.elapsed().as_micros() as u32);
        size = sealed.len();
        let t = Instant::now();
        server_rt.block_on(codec.open(&packet.rid, &sealed)).map_err(|e| anyhow::anyhow!("{e}"))?;
        open_us.push(t.elapsed().as_micros() as u32);
    }
    let seal = Figures::from(seal_us, 0, Duration::from_secs(1));
    let open = Figures::from(open_us, 0, Duration::from_secs(1));

    let requesttime = mosip_datetime(time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000));
    let identity = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        r#"{"identity":{"city":[{"language":"eng","value":"Tangier"}],"postalCode":"90000","proofOfAddress":{"value":"lease","type":"RNC","format":"pdf"}}}"#,
    );
    let doc = base64::engine::general_purpose::STANDARD.encode(&pdf);
    let uins = Arc::new(uins);
    let connections = args.connections.min(uins.len());
    let started = Instant::now();
    let figures = client_rt.block_on(async {
        let mut tasks = Vec::new();
        for c in 0..connections {
            let (uins, identity, doc, requesttime) = (uins.clone(), identity.clone(), doc.clone(), requesttime.clone());
            tasks.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let (mut buf, mut lat, mut errors) = (Vec::new(), Vec::new(), 0u64);
                for (i, uin) in uins.iter().enumerate().skip(c).step_by(connections) {
                    let trn = format!("{i:010}");
                    let otp = format!(
                        r#"{{"id":"mosip.identity.otp.internal","version":"1.0","transactionID":"{trn}","requestTime":"{requesttime}","individualId":"{uin}","otpChannel":["EMAIL"]}}"#
                    );
                    // the relying party asks for the OTP: an OTP works only for whoever asked for it
                let r1 = format!("POST /idauthentication/v1/otp/bench HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nAuthorization: Bearer {BENCH_KEY}\r\nContent-Length: {}\r\n\r\n{otp}", otp.len());
                    stream.write_all(r1.as_bytes()).await?;
                    read_response(&mut stream, &mut buf, b"\"maskedEmail\"").await?;
                    let body = format!(
                        r#"{{"id":"mosip.resident.updateuin","version":"v1","requesttime":"{requesttime}","request":{{"transactionID":"{trn}","individualId":"{uin}","individualIdType":"UIN","otp":"123456","identityJson":"{identity}","documents":[{{"name":"lease","value":"{doc}"}}]}}}}"#
                    );
                    let t = Instant::now();
                    let r2 = format!("POST /resident/v1/req/update-uin HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len());
                    stream.write_all(r2.as_bytes()).await?;
                    stream.write_all(body.as_bytes()).await?;
                    let (status, ok) = read_response(&mut stream, &mut buf, b"\"registrationId\"").await?;
                    lat.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                    if status != 200 || !ok {
                        errors += 1;
                    }
                }
                anyhow::Ok((lat, errors))
            }));
        }
        let (mut latencies, mut errors) = (Vec::new(), 0);
        for t in tasks {
            let (l, e) = t.await??;
            latencies.extend(l);
            errors += e;
        }
        anyhow::Ok((latencies, errors))
    })?;
    let requests = Figures::from(figures.0, figures.1, started.elapsed());

    // the pipeline: validation, registry update, notification, card for every update (and the
    // notifications it queues), drained by one worker
    let drained = server_rt.block_on(async {
        let worker = app.worker();
        let started = Instant::now();
        let mut jobs = 0u64;
        while worker.run_once().await? {
            jobs += 1;
        }
        let done = resident_domain::ports::UpdateRepository::updates_in_stage(
            &app.store,
            resident_domain::update::UpdateStage::Done,
        )
        .await?
        .len();
        anyhow::Ok((started.elapsed(), jobs, done))
    })?;
    let (elapsed, jobs, done) = drained;
    println!("  {:<38} {:>10} {:>9} {:>9} {:>8}", "measure", "per s", "p50 ms", "p99 ms", "errors");
    println!(
        "  {:<38} {:>10.0} {:>9.3} {:>9.3} {:>8}",
        "update-uin request (200 KB proof)", requests.rps, requests.p50_ms, requests.p99_ms, requests.errors
    );
    println!("  {:<38} {:>10} {:>9.3} {:>9.3}", "packet seal (200 KB proof)", "", seal.p50_ms, seal.p99_ms);
    println!("  {:<38} {:>10} {:>9.3} {:>9.3}", "packet open + verify", "", open.p50_ms, open.p99_ms);
    println!("  packet size: {size} bytes for a {} byte document", pdf.len());
    println!(
        "  pipeline: {done} updates PROCESSED, {jobs} jobs in {:.1} s = {:.0} updates/s through all stages (one worker)",
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64()
    );
    if done != uins.len() {
        bail!("only {done} of {} updates reached DONE", uins.len());
    }
    Ok(())
}

fn run_auth(
    args: &Args,
    server_rt: &tokio::runtime::Runtime,
    client_rt: &tokio::runtime::Runtime,
    backend: &str,
    url: &str,
    dir: &std::path::Path,
) -> Result<()> {
    let config = otp_bench_config(args, url, dir);
    let (addr, uins, stop) = server_rt.block_on(async {
        let app = App::open(config, Schema::Migrate).await?;
        let started = Instant::now();
        let uins = seed_identities(&app, args.identities).await?;
        let partner = resident_domain::ports::Partner {
            id: "bench".into(),
            name: "Bench Partner".into(),
            partner_type: "Auth_Partner".into(),
            api_key_sha256: resident_web::platform::ida::hex_digest(BENCH_KEY),
            status: "ACTIVE".into(),
        };
        resident_domain::ports::PartnerRecords::add_partner(&app.store, &partner, &Default::default(), app.clock.now())
            .await?;
        println!(
            "\n[{backend}] seeded {} identities in {:.1} s (auth scenario; OTPs to the outbox)",
            uins.len(),
            started.elapsed().as_secs_f64()
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(app.worker().run(stopped));
        let addr = spawn_server(resident_web::router(app.web_state()?)).await?;
        anyhow::Ok((addr, uins, stop))
    })?;
    let seconds = Duration::from_secs(args.seconds);
    let uins = Arc::new(uins);
    let trips = client_rt.block_on(otp_round_trips(addr, uins.clone(), args.connections, seconds, false))?;
    let own = client_rt.block_on(otp_round_trips(addr, uins.clone(), args.connections, seconds, true))?;
    let requesttime = mosip_datetime(time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000));
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..2000usize)
            .map(|i| {
                let n = (i * 7919) % uins.len();
                format!(
                    r#"{{"id":"mosip.identity.auth","version":"1.0","requestTime":"{requesttime}","transactionID":"B{n:09}","individualId":"{}","consentObtained":true,"request":{{"demographics":{{"name":[{{"language":"eng","value":"Bench Resident {n}"}}],"dob":"1990/01/01"}}}}}}"#,
                    uins[n]
                )
            })
            .collect(),
    );
    let header = format!("Authorization: Bearer {BENCH_KEY}\r\n");
    let demo = client_rt.block_on(load_with(
        addr,
        "/idauthentication/v1/auth/bench",
        &header,
        b"\"authStatus\":true",
        bodies,
        args.connections,
        seconds,
    ))?;
    let _ = stop.send(true);
    println!("  {:<38} {:>10} {:>9} {:>9} {:>8}", "scenario", "per s", "p50 ms", "p99 ms", "errors");
    println!(
        "  {:<38} {:>10.0} {:>9.3} {:>9.3} {:>8}",
        "partner OTP round trip (otp + auth)", trips.rps, trips.p50_ms, trips.p99_ms, trips.errors
    );
    println!(
        "  {:<38} {:>10.0} {:>9.3} {:>9.3} {:>8}",
        "resident OTP round trip (otp + history)", own.rps, own.p50_ms, own.p99_ms, own.errors
    );
    println!(
        "  {:<38} {:>10.0} {:>9.3} {:>9.3} {:>8}",
        "relying-party demographic auth", demo.rps, demo.p50_ms, demo.p99_ms, demo.errors
    );
    Ok(())
}

/// Each connection, over and over: a relying party's round trip (POST /idauthentication/v1/otp, then
/// /idauthentication/v1/auth with that OTP), or with `resident` the resident's own (POST /req/otp,
/// then the OTP-protected /req/auth-history).
async fn otp_round_trips(
    addr: SocketAddr,
    uins: Arc<Vec<String>>,
    connections: usize,
    measure: Duration,
    resident: bool,
) -> Result<Figures> {
    let start = Instant::now() + measure / 4;
    let end = start + measure;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let uins = uins.clone();
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let mut buf = Vec::new();
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut i = c;
            let requesttime = mosip_datetime(time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000));
            while Instant::now() < end {
                let uin = &uins[(i * 7919) % uins.len()];
                let trn = format!("{:010}", (c * 1_000_000 + i) % 10_000_000_000);
                i += connections;
                let otp_id = if resident { "mosip.identity.otp.internal" } else { "mosip.identity.otp" };
                let otp = format!(
                    r#"{{"id":"{otp_id}","version":"1.0","transactionID":"{trn}","requestTime":"{requesttime}","individualId":"{uin}","otpChannel":["EMAIL"]}}"#
                );
                let t = Instant::now();
                // an OTP works only for whoever asked for it: the relying party asks for its own
                let (otp_path, use_path, expected): (&str, &str, &[u8]) = if resident {
                    ("/resident/v1/req/otp", "/resident/v1/req/auth-history", b"\"authHistory\"")
                } else {
                    ("/idauthentication/v1/otp/bench", "/idauthentication/v1/auth/bench", b"\"authStatus\":true")
                };
                let auth = if resident {
                    format!(
                        r#"{{"id":"mosip.resident.authhistory","version":"v1","requesttime":"{requesttime}","request":{{"transactionID":"{trn}","individualId":"{uin}","otp":"123456","pageStart":"1","pageFetch":"10"}}}}"#
                    )
                } else {
                    format!(
                        r#"{{"id":"mosip.identity.auth","version":"1.0","requestTime":"{requesttime}","transactionID":"{trn}","individualId":"{uin}","consentObtained":true,"request":{{"otp":"123456"}}}}"#
                    )
                };
                let r1 = format!("POST {otp_path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nAuthorization: Bearer {BENCH_KEY}\r\nContent-Length: {}\r\n\r\n{otp}", otp.len());
                stream.write_all(r1.as_bytes()).await?;
                let (s1, ok1) = read_response(&mut stream, &mut buf, b"\"maskedEmail\"").await?;
                let r2 = format!("POST {use_path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nAuthorization: Bearer {BENCH_KEY}\r\nContent-Length: {}\r\n\r\n{auth}", auth.len());
                stream.write_all(r2.as_bytes()).await?;
                let (s2, ok2) = read_response(&mut stream, &mut buf, expected).await?;
                if t >= start {
                    lat.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                    if s1 != 200 || s2 != 200 || !ok1 || !ok2 {
                        errors += 1;
                    }
                }
            }
            anyhow::Ok((lat, errors))
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await??;
        latencies.extend(l);
        errors += e;
    }
    Ok(Figures::from(latencies, errors, measure))
}
