//! The security hardening through the real router, on both databases: the attack that opened the issue
//! (a partner's OTP used on the resident's account, and the other way round), strangers who try to
//! freeze a resident, floods from one client, partner demographic policies, bounds, private files and
//! the anchored audit chain.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use resident_domain::clock::mosip_datetime;
use resident_testkit::{Db, on_both, t0};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{JANE, TestApp, envelope, otp_request, register_partner, resident};

on_both!(
    a_partners_otp_opens_nothing_of_the_residents_and_the_residents_nothing_at_a_partner,
    strangers_cannot_freeze_a_resident_nor_write_unbounded_text,
    a_flood_from_one_client_meets_429_while_others_are_served,
    demographic_authentication_follows_the_partners_policy_and_is_limited,
    numbers_are_bounded_and_cheap_checks_come_first,
    folders_and_files_are_private,
    the_audit_chain_is_anchored_by_a_checkpoint,
    a_refused_recipient_is_named_nowhere,
    looking_at_notifications_changes_nothing,
    an_otp_message_is_never_delivered_after_its_otp_expired,
);

fn partner_otp(trn: &str) -> Value {
    json!({"id": "mosip.identity.otp", "version": "1.0", "transactionID": trn, "requestTime": mosip_datetime(t0()),
        "individualId": JANE, "otpChannel": ["PHONE"]})
}

fn partner_auth(trn: &str, request: Value) -> Value {
    json!({"id": "mosip.identity.auth", "version": "1.0", "requestTime": mosip_datetime(t0()), "transactionID": trn,
        "individualId": JANE, "consentObtained": true, "request": request})
}

fn history_request(trn: &str, otp: &str) -> Value {
    envelope("mosip.resident.authhistory", json!({"transactionID": trn, "individualId": JANE, "otp": otp}))
}

impl TestApp {
    async fn partner(&self, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        let auth = format!("Bearer {key}");
        self.call("POST", path, &[("authorization", &auth), ("content-type", "application/json")], body.to_string())
            .await
    }

    /// The newest SMS in the outbox, whole.
    fn latest_sms(&self) -> String {
        let outbox = self.db.dir.path().join("outbox");
        let mut sms: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        sms.sort();
        let v: Value = serde_json::from_slice(&std::fs::read(sms.last().unwrap()).unwrap()).unwrap();
        v["message"].as_str().unwrap().to_owned()
    }

    /// A request from `addr` (as the socket's peer), with extra headers.
    async fn from(
        &self,
        addr: &str,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> axum::response::Response {
        let peer: SocketAddr = addr.parse().unwrap();
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.router.clone().layer(MockConnectInfo(peer)).oneshot(req.body(Body::from(body)).unwrap()).await.unwrap()
    }

    pub(super) async fn raw_pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&self.db.url).await.unwrap()
    }
}

async fn a_partners_otp_opens_nothing_of_the_residents_and_the_residents_nothing_at_a_partner(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let key = register_partner(&t.db, "bank-01", "Harbour Savings Bank");
    // the bank asks for an OTP; the message says who asked
    let (_, r) = t.partner("/idauthentication/v1/otp/bank-01", &key, partner_otp("P000000001")).await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    t.run_jobs().await;
    let message = t.latest_sms();
    assert!(message.contains("Harbour Savings Bank"), "{message}");
    let bank_otp = t.latest_otp();

    // the resident reads it out; the bank tries it on the resident's own services
    let (_, r) = t.post("/resident/v1/req/auth-history", history_request("P000000001", &bank_otp)).await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-422", "{r}");
    let vid = envelope(
        "mosip.resident.vid",
        json!({"transactionID": "P000000001", "individualId": JANE, "otp": bank_otp, "vidType": "Perpetual"}),
    );
    let (_, r) = t.post("/resident/v1/vid", vid).await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-422", "{r}");
    let (status, _, pdf) = t.euin(JANE, "P000000001", &bank_otp, "UIN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!pdf.starts_with(b"%PDF"), "no card for the bank");
    // and on the portal's login: no session
    let login = t.page("GET", "/login", "", &[]).await;
    let cookies = login.cookie("rs_csrf").unwrap().split(';').next().unwrap().to_owned();
    let token = login.hidden("csrf");
    let tried = t
        .page(
            "POST",
            "/login/otp",
            &cookies,
            &[("csrf", &token), ("individual_id", JANE), ("transaction_id", "P000000001"), ("otp", &bank_otp)],
        )
        .await;
    assert_eq!(tried.status, StatusCode::BAD_REQUEST);
    assert!(tried.cookie("rs_session").is_none(), "no session from a partner's OTP");
    // the attempts spent nothing: the code still works where it was asked for
    let (_, r) = t
        .partner("/idauthentication/v1/auth/bank-01", &key, partner_auth("P000000001", json!({"otp": bank_otp})))
        .await;
    assert_eq!(r["response"]["authStatus"], true, "{r}");

    // the other way round: the resident's own OTP is nothing at the bank
    let own = t.otp_for(JANE, "1234567890").await;
    assert!(!t.latest_sms().contains("Harbour"), "the resident's own message names no partner");
    let (_, r) =
        t.partner("/idauthentication/v1/auth/bank-01", &key, partner_auth("1234567890", json!({"otp": own}))).await;
    assert_eq!(r["response"]["authStatus"], false, "{r}");
    assert_eq!(r["errors"][0]["errorCode"], "IDA-OTA-005", "{r}");
    let (_, r) = t.post("/resident/v1/req/auth-history", history_request("1234567890", &own)).await;
    assert_eq!(r["errors"], Value::Null, "the resident's OTP still works for the resident: {r}");
}

async fn strangers_cannot_freeze_a_resident_nor_write_unbounded_text(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    // twenty guesses for transactions that were never issued
    for i in 0..20 {
        let trn = format!("{:010}", 7_000_000_000u64 + i);
        let (_, r) = t.post("/resident/v1/req/auth-history", history_request(&trn, &format!("{:06}", i * 7))).await;
        assert_eq!(r["errors"][0]["errorCode"], "RES-SER-422", "{r}");
    }
    // the resident is not frozen
    let otp = t.otp_for(JANE, "1234567890").await;
    let (_, r) = t.post("/resident/v1/req/auth-history", history_request("1234567890", &otp)).await;
    assert_eq!(r["errors"], Value::Null, "{r}");

    // a transaction id of a megabyte, on every kind of OTP-protected request: refused, and written nowhere
    let pool = t.raw_pool().await;
    let longest = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, Option<i64>>(sql).fetch_one(&pool).await.unwrap().unwrap_or(0) }
    };
    let huge = "A".repeat(1_000_000);
    let (_, r) = t.post("/resident/v1/req/auth-history", history_request(&huge, "123456")).await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-422", "{r}");
    let lock = envelope(
        "mosip.resident.authlock",
        json!({"transactionID": huge, "individualId": JANE, "otp": "123456", "authType": ["demo"]}),
    );
    let (_, r) = t.post("/resident/v1/req/auth-lock", lock).await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-422", "{r}");
    let (_, r) = t
        .call(
            "GET",
            "/resident/v1/req/credential/status/3fa85f64-5717-4562-b3fc-2c963f66afa6",
            &[("x-individual-id", JANE), ("x-transaction-id", &"B".repeat(100_000)), ("x-otp", "123456")],
            "",
        )
        .await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-422", "{r}");
    let (_, r) = t.post("/resident/v1/req/otp", otp_request(JANE, &huge, &["PHONE"])).await;
    assert_eq!(r["errors"][0]["errorCode"], "IDA-MLC-009", "{r}");
    assert!(longest("SELECT MAX(LENGTH(description)) FROM audit_log").await < 1000);
    assert!(longest("SELECT MAX(LENGTH(transaction_id)) FROM auth_transaction").await <= 10);
    assert!(longest("SELECT MAX(LENGTH(request_trn_id)) FROM resident_transaction").await <= 10);
}

async fn a_flood_from_one_client_meets_429_while_others_are_served(kind: Db) {
    let Some(t) = TestApp::build(kind, |c| {
        c.rate_limit.enabled = true;
        c.rate_limit.otp_issue = 3;
        c.rate_limit.otp_protected = 4;
        c.rate_limit.portal_login = 2;
        c.rate_limit.trusted_proxies = vec!["10.0.0.0/8".into()];
        c.otp.flooding_max = 100;
    })
    .await
    else {
        return;
    };
    let json = [("content-type", "application/json")];
    // an OTP asked for from `peer`, with an X-Forwarded-For line when given
    let ask = |peer: &'static str, forwarded: Option<&'static str>, trn: &'static str| {
        let t = &t;
        async move {
            let mut headers = vec![("content-type", "application/json")];
            headers.extend(forwarded.map(|f| ("x-forwarded-for", f)));
            let body = otp_request(JANE, trn, &["PHONE"]).to_string();
            t.from(peer, "POST", "/resident/v1/req/otp", &headers, body).await
        }
    };
    for trn in ["1000000000", "1000000001", "1000000002"] {
        assert_eq!(ask("203.0.113.5:4000", None, trn).await.status(), StatusCode::OK);
    }
    let res = ask("203.0.113.5:4001", None, "1000000009").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["errors"][0]["errorCode"], "RES-SER-510", "{body}");
    assert!(t.app.store.count_otps().await.unwrap() == 3, "the refused request issued nothing");
    // a header anyone can write changes nothing when the peer is not a trusted proxy
    let forged = ask("203.0.113.5:4002", Some("192.0.2.1"), "1000000008").await;
    assert_eq!(forged.status(), StatusCode::TOO_MANY_REQUESTS);
    // another client is served, and so is a client behind the trusted proxy
    assert_eq!(ask("198.51.100.9:5000", None, "1000000007").await.status(), StatusCode::OK);
    assert_eq!(ask("10.1.2.3:6000", Some("192.0.2.1"), "1000000006").await.status(), StatusCode::OK);
    // the server stays healthy for everyone, the flooding client included
    let res = t.from("203.0.113.5:4003", "GET", "/resident/v1/actuator/health", &[], String::new()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = t
        .from(
            "203.0.113.5:4003",
            "POST",
            "/resident/v1/rid/check-status",
            &json,
            super::check_request("10001100010000120261101090100").to_string(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // OTP-protected calls are counted on their own
    for i in 0..4 {
        let res = t
            .from(
                "203.0.113.6:1",
                "POST",
                "/resident/v1/req/auth-history",
                &json,
                history_request(&format!("900000000{i}"), "111111").to_string(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = t
        .from(
            "203.0.113.6:1",
            "POST",
            "/resident/v1/req/auth-history",
            &json,
            history_request("9000000009", "111111").to_string(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);

    // the portal's login form: a page in the visitor's language, 429 and Retry-After
    let form = [("content-type", "application/x-www-form-urlencoded"), ("accept-language", "fr")];
    for _ in 0..2 {
        let res = t.from("203.0.113.7:1", "POST", "/login", &form, "csrf=x".into()).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "counted, then refused for its CSRF token");
    }
    let res = t.from("203.0.113.7:1", "POST", "/login", &form, "csrf=x".into()).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let page = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(page.contains("Trop de tentatives"), "{page}");
    // and the counters reach the database, where every replica sees them, within a flush
    tokio::time::sleep(resident_store::throttle::BufferedCounter::FLUSH * 3).await;
    let pool = t.raw_pool().await;
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rate_counter").fetch_one(&pool).await.unwrap();
    assert!(rows >= 5, "{rows}");
}

async fn demographic_authentication_follows_the_partners_policy_and_is_limited(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let keys = [register_partner(&t.db, "bank-01", "First Bank"), register_partner(&t.db, "bank-02", "Second Bank")];
    let name = json!([{"language": "eng", "value": "Jane Doe"}]);
    let gender = json!([{"language": "eng", "value": "Female"}]);
    // partner 1 or 2 presents these demographics; (authStatus, first error code, its message)
    let demo = |bank: usize, trn: &'static str, d: Value| {
        let t = &t;
        let key = keys[bank - 1].clone();
        async move {
            let path = format!("/idauthentication/v1/auth/bank-0{bank}");
            let (_, r) = t.partner(&path, &key, partner_auth(trn, json!({"demographics": d}))).await;
            (
                r["response"]["authStatus"].clone(),
                r["errors"][0]["errorCode"].clone(),
                r["errors"][0]["errorMessage"].clone(),
            )
        }
    };
    let right = json!({"name": name, "dob": "1990/05/12"});
    // gender alone says nothing of who someone is: the default policy wants name and date of birth
    let (ok, code, _) = demo(1, "P000000001", json!({"gender": gender})).await;
    assert_eq!((ok, code), (json!(false), json!("IDA-MLC-006")));
    assert_eq!(demo(1, "P000000002", right.clone()).await.0, true);
    // a mismatch names no field
    let (_, code, message) = demo(1, "P000000003", json!({"name": name, "dob": "1990/05/13"})).await;
    assert_eq!((code, message), (json!("IDA-DEA-001"), json!("Demographic data did not match")));
    // searching the date of birth: five misses, then even the right one is refused
    for d in 14..18 {
        let (_, code, _) = demo(1, "P000000004", json!({"name": name, "dob": format!("1990/05/{d}")})).await;
        assert_eq!(code, "IDA-DEA-001");
    }
    assert_eq!(demo(1, "P000000005", right.clone()).await.1, "IDA-DEA-013");
    // another partner is not held up
    assert_eq!(demo(2, "P000000006", right.clone()).await.0, true);
    // the operator sets a stricter policy for the second partner
    let out =
        resident(&t.db, &["admin", "partner", "auth-policy", "--partner", "bank-02", "--require", "name,dob,gender"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(demo(2, "P000000007", right.clone()).await.1, "IDA-MLC-006");
    assert_eq!(demo(2, "P000000008", json!({"name": name, "dob": "1990/05/12", "gender": gender})).await.0, true);
    let bad = resident(&t.db, &["admin", "partner", "auth-policy", "--partner", "bank-02", "--require", "shoeSize"]);
    assert!(!bad.status.success());
    let listed = String::from_utf8_lossy(&resident(&t.db, &["admin", "partner", "policies"]).stdout).into_owned();
    assert!(
        listed.contains("bank-02") && listed.contains("name,dob,gender") && listed.contains("name,dob (default)"),
        "{listed}"
    );
}

async fn numbers_are_bounded_and_cheap_checks_come_first(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let otp = t.otp_for(JANE, "1234567890").await;
    for seconds in [json!(100_000_000_000_000_000u64), json!("2147483648"), json!(-1), json!("tt")] {
        let unlock = envelope(
            "mosip.resident.authunlock",
            json!({"transactionID": "1234567890", "individualId": JANE, "otp": otp, "authType": ["demo"], "unlockForSeconds": seconds}),
        );
        let (_, r) = t.post("/resident/v1/req/auth-unlock", unlock).await;
        assert_eq!(r["errors"][0]["errorCode"], "RES-SER-410", "{seconds}: {r}");
        assert_eq!(r["errors"][0]["message"], "Invalid Input Parameter- unlockForSeconds");
    }
    let unlock = envelope(
        "mosip.resident.authunlock",
        json!({"transactionID": "1234567890", "individualId": JANE, "otp": otp, "authType": ["demo"], "unlockForSeconds": 2147483647}),
    );
    let (_, r) = t.post("/resident/v1/req/auth-unlock", unlock).await;
    assert_eq!(r["errors"], Value::Null, "the largest is accepted, and the OTP was not spent before: {r}");
    let otp = t.otp_for(JANE, "2234567890").await;
    let mut big_page = history_request("2234567890", &otp);
    big_page["request"]["pageStart"] = json!("99999999999");
    big_page["request"]["pageFetch"] = json!("10");
    let (_, r) = t.post("/resident/v1/req/auth-history", big_page).await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-446", "{r}");
    // the portal's pages take any page number
    let (jar, _) = t.portal_login().await;
    for uri in
        ["/account/history?page=99999999999999", "/account/auth-history?page=4294967296", "/account/history?page=-3"]
    {
        assert_eq!(t.page("GET", uri, &jar, &[]).await.status, StatusCode::OK, "{uri}");
    }
    // update-uin: a wrong OTP is found before the identity JSON is decoded
    let bad = envelope(
        "mosip.resident.updateuin",
        json!({"transactionID": "3234567890", "individualId": JANE, "individualIdType": "UIN", "otp": "000000", "identityJson": "not base64 at all!"}),
    );
    let (_, r) = t.post("/resident/v1/req/update-uin", bad).await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-422", "{r}");
    // the ID Repository answers a caller without the key before it reads the body: a body that never
    // ends would otherwise hold the request open
    let req = Request::builder()
        .method("POST")
        .uri("/idrepository/v1/identity/")
        .header("content-type", "application/json")
        .body(Body::new(Endless(false)))
        .unwrap();
    let res = tokio::time::timeout(std::time::Duration::from_secs(10), t.router.clone().oneshot(req)).await;
    assert_eq!(res.expect("answered without reading the body").unwrap().status(), StatusCode::UNAUTHORIZED);
}

/// A request body that sends one chunk and then never ends.
struct Endless(bool);

impl http_body::Body for Endless {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.0 {
            std::task::Poll::Pending
        } else {
            self.0 = true;
            let chunk = axum::body::Bytes::from_static(b"{\"id\": \"mosip.id.create\", ");
            std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
        }
    }
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

async fn folders_and_files_are_private(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    t.otp_for(JANE, "1234567890").await;
    #[cfg(unix)]
    {
        let data = t.db.dir.path();
        assert_eq!(mode(data), 0o700);
        for dir in ["keys", "keys/card-signing", "outbox"] {
            assert_eq!(mode(&data.join(dir)), 0o700, "{dir}");
        }
        let mut files = vec![data.join("keys/master.key"), data.join("keys/packet-signing.key")];
        for dir in ["outbox", "keys/card-signing"] {
            files.extend(std::fs::read_dir(data.join(dir)).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()));
        }
        if kind == Db::Sqlite {
            for f in std::fs::read_dir(data).unwrap().map(|e| e.unwrap().path()) {
                if f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("resident.db")) {
                    files.push(f);
                }
            }
            assert!(files.iter().any(|f| f.to_string_lossy().ends_with("-wal")), "{files:?}");
        }
        assert!(files.len() >= 4, "{files:?}");
        for f in files {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
    }
}

async fn the_audit_chain_is_anchored_by_a_checkpoint(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    for _ in 0..3 {
        t.check_status(super::check_request("10001100010000120261101090100")).await;
    }
    let written = resident(&t.db, &["audit", "checkpoint"]);
    assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stdout));
    let cp = t.db.dir.path().join("audit/checkpoint.json");
    #[cfg(unix)]
    assert_eq!(mode(&cp), 0o600);
    let ok = resident(&t.db, &["audit", "verify"]);
    let out = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert!(out.starts_with("OK") && out.contains("holds the checkpoint"), "{out}");
    // someone with the database cuts the last record off and moves the head back
    let pool = t.raw_pool().await;
    let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log").fetch_one(&pool).await.unwrap();
    let prev: String =
        sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1").bind(last - 1).fetch_one(&pool).await.unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = $1").bind(last).execute(&pool).await.unwrap();
    sqlx::query("UPDATE audit_head SET seq = $1, last_hash = $2")
        .bind(last - 1)
        .bind(&prev)
        .execute(&pool)
        .await
        .unwrap();
    let broken = resident(&t.db, &["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1));
    let out = String::from_utf8_lossy(&broken.stdout).into_owned();
    assert!(out.starts_with(&format!("BROKEN at audit record {last}:")) && out.contains("cut off"), "{out}");
    // the checkpointer refuses to bless the shorter chain
    let again = resident(&t.db, &["audit", "checkpoint"]);
    assert_eq!(again.status.code(), Some(1), "{}", String::from_utf8_lossy(&again.stdout));
    // an edited checkpoint file is refused too
    let text =
        std::fs::read_to_string(&cp).unwrap().replace(&format!("\"seq\": {last}"), &format!("\"seq\": {}", last - 1));
    std::fs::write(&cp, text).unwrap();
    let forged = resident(&t.db, &["audit", "verify"]);
    assert_eq!(forged.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&forged.stdout).contains("signature"),
        "{}",
        String::from_utf8_lossy(&forged.stdout)
    );
}

async fn a_refused_recipient_is_named_nowhere(kind: Db) {
    let (port, _) = super::smtp_server(true).await;
    let Some(t) = TestApp::build(kind, |c| {
        c.smtp.host = Some("127.0.0.1".into());
        c.smtp.port = port;
        c.smtp.tls = "none".into();
    })
    .await
    else {
        return;
    };
    let (_, r) = t.post("/resident/v1/req/otp", otp_request(JANE, "1234567890", &["EMAIL"])).await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    t.run_jobs().await;
    let pool = t.raw_pool().await;
    let errors: Vec<Option<String>> =
        sqlx::query_scalar("SELECT last_error FROM job WHERE kind = 'notification'").fetch_all(&pool).await.unwrap();
    let error = errors.into_iter().flatten().next().expect("the delivery failed and was kept for a retry");
    assert!(error.contains("550") && error.contains("Recipient address rejected"), "{error}");
    assert!(!error.to_lowercase().contains("jane.doe"), "{error}");
}

async fn looking_at_notifications_changes_nothing(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let (jar, csrf) = t.portal_login().await;
    let ordered = t.page("POST", "/account/print", &jar, &[("csrf", &csrf), ("card_type", "UIN")]).await;
    assert!(ordered.status.is_success() || ordered.status.is_redirection(), "{}", ordered.status);
    let bell = |body: &str| body.split("id=\"bell\">").nth(1).unwrap_or("").split('<').next().unwrap_or("").to_owned();
    let unseen = bell(&t.page("GET", "/account", &jar, &[]).await.body);
    assert!(unseen.chars().any(|c| c.is_ascii_digit()), "{unseen}");
    for _ in 0..2 {
        let list = t.page("GET", "/account/notifications", &jar, &[]).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.body.contains("notifications-seen"), "the page offers to mark them as seen");
    }
    assert_eq!(bell(&t.page("GET", "/account", &jar, &[]).await.body), unseen, "two looks changed nothing");
    // without the form's token, nothing either
    let forged = t.page("POST", "/account/notifications", &jar, &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(bell(&t.page("GET", "/account", &jar, &[]).await.body), unseen);
    let seen = t.page("POST", "/account/notifications", &jar, &[("csrf", &csrf)]).await;
    assert!(seen.status.is_redirection(), "{}", seen.status);
    let now = bell(&t.page("GET", "/account", &jar, &[]).await.body);
    assert!(!now.chars().any(|c| c.is_ascii_digit()), "{now}");
}

async fn an_otp_message_is_never_delivered_after_its_otp_expired(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let otp_messages = |t: &TestApp| {
        std::fs::read_dir(t.db.dir.path().join("outbox"))
            .map(|d| d.filter(|e| e.as_ref().unwrap().path().to_string_lossy().contains("-OTP-")).count())
            .unwrap_or(0)
    };
    // the worker is down when the OTP is asked for, and back after it expired (180 s)
    let (_, r) = t.post("/resident/v1/req/otp", otp_request(JANE, "5000000001", &["PHONE", "EMAIL"])).await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    t.clock.advance(time::Duration::seconds(181));
    assert!(t.run_jobs().await >= 2, "the jobs are done…");
    assert_eq!(otp_messages(&t), 0, "…without sending a dead OTP");
    // in time, it is sent
    let (_, r) = t.post("/resident/v1/req/otp", otp_request(JANE, "5000000002", &["PHONE"])).await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    t.clock.advance(time::Duration::seconds(170));
    t.run_jobs().await;
    assert!(otp_messages(&t) >= 1);
}
