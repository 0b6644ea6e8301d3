//! Two `serve` processes on one PostgreSQL database, one data folder (so one data key) and one queue,
//! as a country runs replicas behind a load balancer: an OTP asked for on one is used on the other, a
//! portal session started on one works on the other, a per-client limit holds across both, and every
//! job is worked once. PostgreSQL only (SQLite is one process's database).

use std::time::{Duration, Instant};

use resident_testkit::{Db, TestDb};
use serde_json::{Value, json};

use super::JANE;
use super::procs::{Proc, http, json_post, otp_in, outbox};

/// `/req/otp`'s body, stamped now (the replicas run on the real clock).
fn otp_request(individual: &str, trn: &str, channels: &[&str]) -> Value {
    json!({"id": "mosip.identity.otp.internal", "version": "1.0", "transactionID": trn,
           "requestTime": resident_domain::clock::mosip_datetime(resident_domain::clock::Clock::now(&resident_domain::clock::SystemClock)),
           "individualId": individual, "otpChannel": channels})
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!("{k}={}", v.replace('%', "%25").replace('&', "%26").replace('=', "%3D").replace('+', "%2B"))
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = body.find(&marker).unwrap_or_else(|| panic!("no {name} in {body}")) + marker.len();
    body[at..].split('"').next().unwrap().to_owned()
}

/// The OTP in the newest OTP message, once `count` of them are there (a worker of either replica sends it).
fn otp_number(dir: &std::path::Path, count: usize) -> String {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let messages = outbox(dir, "-OTP-");
        if messages.len() >= count {
            return otp_in(&messages.last().unwrap().1);
        }
        assert!(Instant::now() < until, "no OTP message {count} (have {})", messages.len());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start(db: &TestDb, envs: &[(&str, &str)]) -> Proc {
    super::procs::serve(db, super::procs::free_addr(), &[], envs)
}

#[tokio::test]
async fn two_replicas_share_otps_sessions_limits_and_the_queue() {
    let Some(db) = TestDb::new(Db::Postgres).await else { return };
    let dir = db.dir.path().to_owned();
    super::procs::run(&db, &["demo"]);
    let limits = [("RESIDENT_RATE_LIMIT__OTP_ISSUE", "6"), ("RESIDENT_RATE_LIMIT__WINDOW_SECONDS", "600")];
    let (a, b) = (start(&db, &limits), start(&db, &limits));

    // an OTP asked for on A authorises a request on B
    let r = json_post(a.addr(), "/resident/v1/req/otp", &otp_request(JANE, "6000000001", &["PHONE"]));
    assert_eq!(r["errors"], Value::Null, "{r}");
    let otp = otp_number(&dir, 1);
    let history = json!({"id": "mosip.resident.authhistory", "version": "v1",
        "requesttime": resident_domain::clock::mosip_datetime(resident_domain::clock::Clock::now(&resident_domain::clock::SystemClock)),
        "request": {"transactionID": "6000000001", "individualId": JANE, "otp": otp}});
    let r = json_post(b.addr(), "/resident/v1/req/auth-history", &history);
    assert_eq!(r["errors"], Value::Null, "B accepts A's OTP: {r}");
    // and once used, on neither again
    let r = json_post(a.addr(), "/resident/v1/req/auth-history", &history);
    assert_ne!(r["errors"], Value::Null, "{r}");

    // a portal session started on B (login on B) works on A
    let (_, head, page) = http(b.addr(), "GET", "/login", &[], "");
    let csrf_cookie = cookie(&head, "rs_csrf").expect("csrf cookie");
    let token = hidden(&page, "csrf");
    let form_headers = [("content-type", "application/x-www-form-urlencoded"), ("cookie", csrf_cookie.as_str())];
    let (_, _, sent) = http(
        b.addr(),
        "POST",
        "/login",
        &form_headers,
        &form(&[("csrf", &token), ("individual_id", JANE), ("channel", "PHONE")]),
    );
    let trn = hidden(&sent, "transaction_id");
    let otp = otp_number(&dir, 2);
    let (_, head, _) = http(
        b.addr(),
        "POST",
        "/login/otp",
        &form_headers,
        &form(&[("csrf", &token), ("individual_id", JANE), ("transaction_id", &trn), ("otp", &otp)]),
    );
    let session = cookie(&head, "rs_session").expect("a session cookie after the OTP");
    let jar = format!("{csrf_cookie}; {session}");
    let (status, _, account) = http(a.addr(), "GET", "/account", &[("cookie", jar.as_str())], "");
    assert_eq!(status, 200, "A knows B's session");
    assert!(account.contains("Jane"), "{account}");

    // the per-client OTP limit (6 in the window) counts across both: 2 used above, 4 more, then refused
    let mut refused = None;
    for i in 0..6 {
        let replica = if i % 2 == 0 { &a } else { &b };
        // the counters reach the shared rows every 250 ms
        std::thread::sleep(Duration::from_millis(400));
        let (status, _, body) = http(
            replica.addr(),
            "POST",
            "/resident/v1/req/otp",
            &[("content-type", "application/json")],
            &otp_request(JANE, &format!("60000001{i:02}"), &["PHONE"]).to_string(),
        );
        if status == 429 {
            assert!(body.contains("RES-SER-510"), "{body}");
            refused = Some(i);
            break;
        }
    }
    assert_eq!(refused, Some(4), "the fifth OTP request of this client is over the limit on either replica");

    // every job was worked once: one message per OTP asked for (2 + 4), none twice
    std::thread::sleep(Duration::from_secs(2));
    let messages = outbox(&dir, "-OTP-");
    assert_eq!(messages.len(), 6, "{messages:?}");
    drop((a, b));
}
