//! The `resident` binary run as separate processes on one database and one data folder, as a country
//! runs replicas and workers: starting them, talking HTTP to them, reading the shared outbox. Used by
//! the replica and crash tests (PostgreSQL only: SQLite is one process's database).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use resident_testkit::TestDb;
use serde_json::Value;

/// A running `resident` process; killed when dropped.
pub(crate) struct Proc {
    pub(crate) child: Child,
    /// Where it listens (a worker listens nowhere).
    pub(crate) addr: Option<SocketAddr>,
}

impl Proc {
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr.expect("a serving process")
    }

    /// SIGKILL: no shutdown, no cleanup, as a crash or the kernel's OOM killer does it.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `resident` binary on this test database and data folder.
pub(crate) fn resident(db: &TestDb) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_resident"));
    c.args(["--data-dir", &db.dir.path().display().to_string(), "--database-url", &db.url])
        .env_remove("RESIDENT_CONFIG")
        .env("RESIDENT_WORKER__POLL_MILLIS", "100")
        .env("RUST_LOG", "warn");
    c
}

/// Runs an operator command to its end; panics with its stderr if it fails.
pub(crate) fn run(db: &TestDb, args: &[&str]) -> String {
    let out = resident(db).args(args).output().unwrap();
    assert!(out.status.success(), "resident {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One HTTP/1.1 exchange on a new connection: status, raw head, body; `None` when the connection is
/// refused or cut (the process is down or was killed mid-answer).
pub(crate) fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok())?;
    Some((status, head.to_owned(), body.to_owned()))
}

/// One HTTP/1.1 exchange with a process that is up.
pub(crate) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    try_http(addr, method, path, headers, body).expect("an answer")
}

/// A JSON POST; `None` when no answer came.
pub(crate) fn try_json_post(addr: SocketAddr, path: &str, body: &Value) -> Option<Value> {
    let (_, _, text) = try_http(addr, "POST", path, &[("content-type", "application/json")], &body.to_string())?;
    Some(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub(crate) fn json_post(addr: SocketAddr, path: &str, body: &Value) -> Value {
    try_json_post(addr, path, body).expect("an answer")
}

/// A free local port.
pub(crate) fn free_addr() -> SocketAddr {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// `resident serve` (with its in-process worker unless `--no-worker` is among `args`), on `addr`,
/// once its health endpoint answers.
pub(crate) fn serve(db: &TestDb, addr: SocketAddr, args: &[&str], envs: &[(&str, &str)]) -> Proc {
    let mut c = resident(db);
    c.arg("serve").args(args).env("RESIDENT_LISTEN", addr.to_string()).stdout(Stdio::null()).stderr(Stdio::null());
    for (k, v) in envs {
        c.env(k, v);
    }
    let server = Proc { child: c.spawn().unwrap(), addr: Some(addr) };
    let until = Instant::now() + Duration::from_secs(30);
    while try_http(addr, "GET", "/resident/v1/actuator/health", &[], "").map(|r| r.0) != Some(200) {
        assert!(Instant::now() < until, "a server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// `resident worker`.
pub(crate) fn worker(db: &TestDb, envs: &[(&str, &str)]) -> Proc {
    let mut c = resident(db);
    c.arg("worker").stdout(Stdio::null()).stderr(Stdio::null());
    for (k, v) in envs {
        c.env(k, v);
    }
    Proc { child: c.spawn().unwrap(), addr: None }
}

/// The messages in the shared outbox whose file name holds `template` (e.g. `-OTP-`), oldest first,
/// each with its file name.
pub(crate) fn outbox(dir: &Path, template: &str) -> Vec<(PathBuf, Value)> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir.join("outbox")).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json") && p.to_string_lossy().contains(template));
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            // a file being written by a worker that is killed right now may be cut short; it is
            // written again, whole, when the job is retried
            let v = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
            Some((p, v))
        })
        .collect()
}

/// The OTP (six digits) in a message.
pub(crate) fn otp_in(message: &Value) -> String {
    let text = message["message"].as_str().unwrap_or_default();
    text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).expect("an OTP in the message").to_owned()
}
