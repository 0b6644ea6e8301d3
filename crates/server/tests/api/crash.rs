//! Crash safety: one `serve` (no in-process worker) and two `resident worker`s on one PostgreSQL
//! database, killed with SIGKILL at random moments and restarted, while residents ask for OTPs, change
//! their address (an update through the pipeline's jobs) and order printed cards (a credential for a
//! print partner, issued and printed by jobs, each step telling the resident). Afterwards: every update
//! and every card order reached its final state, no job is left (lost, stuck or dead), no OTP was sent
//! twice and no notification delivered twice, and the audit chain verifies.
//!
//! The schedule of kills comes from a seed printed at the start; `CRASH_SEED=<n>` replays one.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use resident_testkit::{Db, TestDb};
use serde_json::{Value, json};

use super::check_request;
use super::procs::{self, Proc, otp_in, outbox, try_json_post};
use super::update::{pdf, update_body};

const PEOPLE: usize = 12;
const DRIVERS: usize = 3;
const CHAOS: Duration = Duration::from_secs(40);
const PRINTER: &str = "mpartner-default-print";

/// Short leases, so a killed worker's job is taken over within seconds; no per-client limits (one
/// test client sends everything).
const ENVS: [(&str, &str); 4] = [
    ("RESIDENT_WORKER__LEASE_SECONDS", "3"),
    ("RESIDENT_RATE_LIMIT__ENABLED", "false"),
    ("RESIDENT_OTP__FLOODING_MAX", "100000"),
    ("RESIDENT_HTTP__DRAIN_SECONDS", "0"),
];

/// A small deterministic generator (xorshift): the kill schedule is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A request time as MOSIP writes it, now (the processes run on the real clock, and OTP requests must
/// be recent).
fn now() -> String {
    resident_domain::clock::mosip_datetime(resident_domain::clock::Clock::now(&resident_domain::clock::SystemClock))
}

fn epoch_millis() -> u128 {
    resident_domain::clock::epoch_ms(resident_domain::clock::Clock::now(&resident_domain::clock::SystemClock)) as u128
}

/// When a message's job was queued: the outbox file name starts with it (ms).
fn stamp(path: &std::path::Path) -> u128 {
    let name = path.file_name().unwrap().to_string_lossy();
    name.split('-').next().unwrap().parse().unwrap_or(0)
}

fn phone(i: usize) -> String {
    format!("97531{i:05}")
}

/// What the residents' side saw, for the checks at the end.
#[derive(Default)]
struct Seen {
    rids: Vec<String>,
    card_orders: Vec<String>,
    /// Business errors by code (a request cut by a kill may leave its retry refused, e.g. an update
    /// already in progress).
    refusals: BTreeMap<String, usize>,
    /// Requests that got no answer (the server was killed meanwhile).
    cut: usize,
    server_errors: Vec<String>,
}

struct Resident {
    uin: String,
    phone: String,
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    dir: std::path::PathBuf,
    trn: u64,
}

impl Resident {
    fn next_trn(&mut self) -> String {
        self.trn += 1;
        format!("{:010}", self.trn)
    }

    /// Sends a request; the answer, or `None` when it was cut (counted) or is an error (counted).
    fn post(&self, path: &str, body: &Value) -> Option<Value> {
        let Some(r) = try_json_post(self.addr, path, body) else {
            self.seen.lock().unwrap().cut += 1;
            return None;
        };
        if r.get("errors").is_some_and(|e| e.is_array() && !e.as_array().unwrap().is_empty()) {
            let code = r["errors"][0]["errorCode"].as_str().unwrap_or("?").to_owned();
            *self.seen.lock().unwrap().refusals.entry(code).or_default() += 1;
            return None;
        }
        if !r.is_object() {
            // not JSON: a server error page would be a finding
            self.seen.lock().unwrap().server_errors.push(r.to_string());
            return None;
        }
        Some(r)
    }

    /// Asks for an OTP by SMS and reads it from the outbox: `(transaction id, OTP)`.
    fn otp(&mut self, deadline: Instant) -> Option<(String, String)> {
        while Instant::now() < deadline {
            let trn = self.next_trn();
            let asked = epoch_millis();
            let body = json!({"id": "mosip.identity.otp.internal", "version": "1.0", "transactionID": trn,
                "requestTime": now(), "individualId": self.uin, "otpChannel": ["PHONE"]});
            if self.post("/resident/v1/req/otp", &body).is_none() {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            // this request's message was queued after `asked`; an earlier request whose answer was
            // cut queued its own before that
            let wait = Instant::now() + Duration::from_secs(20);
            while Instant::now() < wait {
                let mine = outbox(&self.dir, "-OTP-")
                    .into_iter()
                    .find(|(p, m)| m["to"] == self.phone.as_str() && stamp(p) >= asked);
                if let Some((_, m)) = mine {
                    return Some((trn, otp_in(&m)));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            panic!("no OTP message for a request answered 20 s ago");
        }
        None
    }

    /// One journey: an address change, then a printed card.
    fn journey(&mut self, round: usize, deadline: Instant) {
        let Some((trn, otp)) = self.otp(deadline) else { return };
        let address = json!({
            "addressLine1": [{"language": "eng", "value": format!("{round} Crash Street")}],
            "city": [{"language": "eng", "value": "Tangier"}],
            "postalCode": "90000",
            "proofOfAddress": {"value": "rental-contract", "type": "RNC", "format": "pdf"}
        });
        let body = update_body(&self.uin, &trn, &otp, address, &[("rental-contract", &pdf())]);
        if let Some(r) = self.post("/resident/v1/req/update-uin", &body) {
            let rid = r["response"]["registrationId"].as_str().expect("a RID").to_owned();
            self.seen.lock().unwrap().rids.push(rid);
        }
        let Some((trn, otp)) = self.otp(deadline) else { return };
        let body = json!({"id": "mosip.resident.credential.request", "version": "v1",
            "requesttime": now(),
            "request": {"transactionID": trn, "individualId": self.uin, "otp": otp,
                        "credentialType": "euin", "issuer": PRINTER, "encrypt": false}});
        if let Some(r) = self.post("/resident/v1/req/credential", &body) {
            let id = r["response"]["requestId"].as_str().expect("a request id").to_owned();
            self.seen.lock().unwrap().card_orders.push(id);
        }
    }
}

/// Every message in the outbox as the resident reads it: an SMS's addressee, template and text; a
/// mail's addressee, subject and body (not its Message-ID or Date, which a second sending repeats or
/// changes).
fn delivered(dir: &std::path::Path) -> Vec<String> {
    let files = std::fs::read_dir(dir.join("outbox"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_else(|_| Vec::new());
    files
        .into_iter()
        // a write a kill cut short leaves its `.NAME.PID.part`: not a message, nobody reads it
        .filter(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "eml" || e == "json"))
        .map(|p: std::path::PathBuf| {
            let text = std::fs::read_to_string(&p).unwrap();
            if p.extension().is_some_and(|e| e == "json") {
                let m: Value = serde_json::from_str(&text).unwrap();
                format!("{} {} {}", m["to"], m["template"], m["message"])
            } else {
                let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
                let keep: Vec<&str> =
                    head.lines().filter(|l| l.starts_with("To:") || l.starts_with("Subject:")).collect();
                format!("{} {body}", keep.join(" "))
            }
        })
        .collect()
}

fn import_people(db: &TestDb) -> Vec<String> {
    let people = db.dir.path().join("people.jsonl");
    let lines: Vec<String> = (1..=PEOPLE)
        .map(|i| {
            json!({"identity": {
                "fullName": [{"language": "eng", "value": format!("Crash Resident {i}")}],
                "dateOfBirth": format!("1991/03/{:02}", 1 + i % 28),
                "gender": [{"language": "eng", "value": "Female"}],
                "addressLine1": [{"language": "eng", "value": format!("{i} Harbour Road")}],
                "city": [{"language": "eng", "value": "Rabat"}],
                "postalCode": "14022",
                "phone": phone(i),
                "email": format!("crash{i:02}@resident.test"),
                "preferredLang": "eng"
            }})
            .to_string()
        })
        .collect();
    std::fs::write(&people, lines.join("\n") + "\n").unwrap();
    let uins = db.dir.path().join("uins.jsonl");
    procs::run(db, &["import", &people.display().to_string(), "--uins", &uins.display().to_string()]);
    let mut by_line: Vec<(u64, String)> = std::fs::read_to_string(&uins)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["line"].as_u64().unwrap(), v["UIN"].as_str().unwrap().to_owned())
        })
        .collect();
    by_line.sort();
    assert_eq!(by_line.len(), PEOPLE);
    by_line.into_iter().map(|(_, uin)| uin).collect()
}

/// Which of the three processes: the server or one of the workers.
fn start(db: &TestDb, which: usize, addr: SocketAddr) -> Proc {
    if which == 0 { procs::serve(db, addr, &["--no-worker"], &ENVS) } else { procs::worker(db, &ENVS) }
}

#[tokio::test]
async fn sigkill_at_random_moments_loses_nothing_and_repeats_nothing() {
    let Some(db) = TestDb::new(Db::Postgres).await else { return };
    let db = Arc::new(db);
    let dir = db.dir.path().to_owned();
    let uins = import_people(&db);
    procs::run(
        &db,
        &["admin", "partner", "add", "--id", PRINTER, "--name", "Print partner", "--partner-type", "Print_Partner"],
    );
    procs::run(
        &db,
        &[
            "admin",
            "partner",
            "policy",
            "--partner",
            PRINTER,
            "--credential-type",
            "euin",
            "--attributes",
            "UIN,fullName,dateOfBirth,addressLine1,city,postalCode",
        ],
    );

    let seed: u64 = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(epoch_millis() as u64 | 1);
    println!("crash schedule seed: {seed} (CRASH_SEED={seed} replays it)");
    let addr = procs::free_addr();
    let procs_up: Arc<Mutex<Vec<Option<Proc>>>> =
        Arc::new(Mutex::new((0..3).map(|w| Some(start(&db, w, addr))).collect()));

    // the killer: every 0.5–2 s one of the three dies with SIGKILL, and comes back 0.2–1 s later
    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(Mutex::new([0usize; 3]));
    let killer = {
        let (db, procs_up, stop, kills) = (db.clone(), procs_up.clone(), stop.clone(), kills.clone());
        std::thread::spawn(move || {
            let mut rng = Rng(seed);
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500 + rng.below(1500)));
                let which = rng.below(3) as usize;
                if let Some(mut p) = procs_up.lock().unwrap()[which].take() {
                    p.kill();
                }
                kills.lock().unwrap()[which] += 1;
                std::thread::sleep(Duration::from_millis(200 + rng.below(800)));
                let p = start(&db, which, addr);
                procs_up.lock().unwrap()[which] = Some(p);
            }
        })
    };

    // the residents: DRIVERS clients, each taking its share of the people in turn
    let seen = Arc::new(Mutex::new(Seen::default()));
    let deadline = Instant::now() + CHAOS;
    let drivers: Vec<_> = (0..DRIVERS)
        .map(|d| {
            let mut residents: Vec<Resident> = uins
                .iter()
                .enumerate()
                .filter(|(i, _)| i % DRIVERS == d)
                .map(|(i, uin)| Resident {
                    uin: uin.clone(),
                    phone: phone(i + 1),
                    addr,
                    seen: seen.clone(),
                    dir: dir.clone(),
                    trn: 10_000_000 * (i as u64 + 1),
                })
                .collect();
            std::thread::spawn(move || {
                let mut round = 0;
                while Instant::now() < deadline {
                    round += 1;
                    for r in residents.iter_mut() {
                        r.journey(round, deadline);
                    }
                }
            })
        })
        .collect();
    for d in drivers {
        d.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    killer.join().unwrap();
    let kills = *kills.lock().unwrap();
    println!("kills (server, worker 1, worker 2): {kills:?}");
    assert!(kills.iter().all(|k| *k > 0), "each process was killed at least once: {kills:?}");

    // all three up again: the queue drains (a job a killed worker held is taken over after its lease)
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&db.url).await.unwrap();
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM job").fetch_one(&pool).await.unwrap();
        if left == 0 {
            break;
        }
        assert!(Instant::now() < until, "{left} jobs still queued 120 s after the last kill");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    println!(
        "updates accepted {}, card orders accepted {}, requests cut by a kill {}, refusals {:?}",
        seen.rids.len(),
        seen.card_orders.len(),
        seen.cut,
        seen.refusals
    );
    assert!(seen.server_errors.is_empty(), "{:?}", seen.server_errors);
    assert!(seen.rids.len() >= PEOPLE && seen.card_orders.len() >= PEOPLE, "the journeys went on despite the kills");

    // every update reached its end, applied: none left half-way, none refused
    let updates: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT rid, stage, in_progress FROM resident_update").fetch_all(&pool).await.unwrap();
    assert!(updates.len() >= seen.rids.len());
    for (rid, stage, in_progress) in &updates {
        assert_eq!((stage.as_str(), *in_progress), ("DONE", 0), "update {rid}");
    }
    let server = procs_up.lock().unwrap()[0].as_ref().unwrap().addr();
    for rid in &seen.rids {
        let r = procs::json_post(server, "/resident/v1/rid/check-status", &check_request(rid));
        assert_eq!(r["response"]["ridStatus"], "PROCESSED", "{rid}: {r}");
    }
    // every card order was printed
    let orders: Vec<(String, String)> =
        sqlx::query_as("SELECT request_id, status FROM credential_request").fetch_all(&pool).await.unwrap();
    assert!(orders.len() >= seen.card_orders.len());
    for (id, status) in &orders {
        assert_eq!(status, "PRINTED", "card order {id}");
    }

    // one OTP message per OTP issued, and no notification delivered twice
    let issued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM otp_transaction").fetch_one(&pool).await.unwrap();
    assert_eq!(outbox(&dir, "-OTP-").len() as i64, issued, "one message per OTP");
    let mut copies: HashMap<String, usize> = HashMap::new();
    for message in delivered(&dir) {
        *copies.entry(message).or_default() += 1;
    }
    let twice: Vec<_> = copies.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    // each update and each order told its resident (the pipeline's and the printer's messages)
    for rid in &seen.rids {
        assert!(copies.keys().any(|k| k.contains(rid.as_str())), "no message about {rid}");
    }

    // the audit chain is whole
    let report = procs::run(&db, &["audit", "verify"]);
    println!("{report}");
    drop(procs_up.lock().unwrap().drain(..));
}
