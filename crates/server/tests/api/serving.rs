//! The HTTP server as a client meets it, over real sockets against the `resident` binary: a
//! half-sent request is cut off, one client cannot hold more than its share of connections, and
//! SIGTERM drains (health 503 while requests are still served) before the process exits.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(envs: &[(&str, &str)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_resident"));
    c.args(["--data-dir", &dir.path().display().to_string(), "serve"])
        .env_remove("RESIDENT_CONFIG")
        .env("RESIDENT_LISTEN", addr.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in envs {
        c.env(k, v);
    }
    let server = Server { child: c.spawn().unwrap(), addr, _dir: dir };
    let until = Instant::now() + Duration::from_secs(30);
    while get(addr, "/resident/v1/actuator/health").is_none() {
        assert!(Instant::now() < until, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// One GET on a new connection: the whole answer, or None when the server is not there.
fn get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    (!out.is_empty()).then_some(out)
}

/// How long until the server closes this connection (reads until EOF).
fn closed_after(mut s: TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(start.elapsed()),
            Err(_) => return None,
        }
    }
}

#[test]
fn half_sent_requests_are_cut_off_and_a_client_holds_only_its_share_of_connections() {
    let server = start(&[
        ("RESIDENT_HTTP__HEADER_READ_TIMEOUT_SECONDS", "1"),
        ("RESIDENT_HTTP__MAX_CONNECTIONS_PER_CLIENT", "3"),
    ]);
    // half a request: the server hangs up once the header deadline passes
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.write_all(b"GET /resident/v1/actuator/health HTTP/1.1\r\nHost: test\r\n").unwrap();
    let after = closed_after(slow, Duration::from_secs(10)).expect("the server keeps a half-sent request open");
    assert!(after < Duration::from_secs(5), "{after:?}");

    // three open connections are this client's share: a fourth is closed at once
    let held: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(server.addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let fourth = TcpStream::connect(server.addr).unwrap();
    let after = closed_after(fourth, Duration::from_secs(3)).expect("a fourth connection was kept");
    assert!(after < Duration::from_millis(900), "refused at once, not by the header deadline: {after:?}");
    // the held ones are idle: the header deadline frees them, and the client is served again
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let answer = get(server.addr, "/resident/v1/actuator/health").expect("served once its connections closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn sigterm_drains_then_exits_within_its_deadline() {
    let mut server = start(&[("RESIDENT_HTTP__DRAIN_SECONDS", "2"), ("RESIDENT_HTTP__SHUTDOWN_DEADLINE_SECONDS", "5")]);
    let pid = server.child.id().to_string();
    let sent = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(500));
    // draining: still answering, but not ready, and closing connections after each answer
    let health = get(server.addr, "/resident/v1/actuator/health").expect("still serving while draining");
    assert!(health.starts_with("HTTP/1.1 503"), "{health}");
    assert!(health.contains("OUT_OF_SERVICE"), "{health}");
    assert!(health.to_ascii_lowercase().contains("connection: close"), "{health}");
    let page = get(server.addr, "/?lang=en").expect("requests are still served while draining");
    assert!(page.starts_with("HTTP/1.1 200"), "{}", &page[..page.len().min(200)]);
    // then it stops accepting and exits, cleanly, within drain + deadline
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(sent.elapsed() < Duration::from_secs(10), "still running after drain and deadline");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(sent.elapsed() >= Duration::from_secs(2), "it drained first: {:?}", sent.elapsed());
    assert!(get(server.addr, "/resident/v1/actuator/health").is_none());
}
