#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! HTTP tests through the real router (in-process), and the `resident` binary driven as an operator
//! would. Every database test runs on SQLite and, when `TEST_POSTGRES_URL` is set, on PostgreSQL.

use std::process::Command;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use resident_domain::clock::{FixedClock, mosip_datetime};
use resident_domain::ports::{IdentityRegistry, RegistrationRepository};
use resident_server::app::{App, Schema};
use resident_server::config::{Config, Secret};
use resident_store::audit::ChainReport;
use resident_testkit::{Db, TestDb, t0};
use serde_json::{Value, json};
use tower::ServiceExt;

use resident_testkit::on_both;

#[path = "api/update.rs"]
mod update;

#[path = "api/cards.rs"]
mod cards;

#[path = "api/credentials.rs"]
mod credentials;

#[path = "api/browser.rs"]
mod browser;

#[path = "api/portal.rs"]
mod portal;

#[path = "api/security.rs"]
mod security;

#[path = "api/compat.rs"]
mod compat;

#[path = "api/serving.rs"]
mod serving;

#[path = "api/procs.rs"]
mod procs;

#[path = "api/replicas.rs"]
mod replicas;

#[path = "api/platform_clients.rs"]
mod platform_clients;

#[path = "api/platform_tiers.rs"]
mod platform_tiers;

#[path = "api/platform_portal.rs"]
mod platform_portal;

#[path = "api/crash.rs"]
mod crash;

#[path = "api/malformed.rs"]
mod malformed;

#[path = "api/data_access.rs"]
mod data_access;

#[path = "api/mosip_ui.rs"]
mod mosip_ui;

on_both!(
    check_status_answers_every_demo_status,
    check_status_refuses_bad_input_like_mosip,
    idrepo_create_needs_the_service_key_and_validates,
    health_and_metrics,
    import_reports_bad_lines_and_is_idempotent,
    audit_verify_names_the_edited_record,
    two_importing_processes_never_share_a_uin,
    otp_vid_lock_and_history_end_to_end,
    one_residents_otp_never_authorises_another,
    otp_request_refuses_bad_input_like_ida,
    otp_email_goes_through_a_real_smtp_server,
    relying_party_is_refused_while_locked_and_accepted_after,
    a_reprint_gets_its_own_rid_that_the_resident_can_follow,
);

const SERVICE_KEY: &str = "test-service-key-0123456789";

struct TestApp {
    app: App,
    router: axum::Router,
    db: TestDb,
    clock: Arc<FixedClock>,
}

impl TestApp {
    async fn new(kind: Db) -> Option<TestApp> {
        Self::build(kind, |_| {}).await
    }

    async fn build(kind: Db, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        Self::build_seeded(kind, true, tweak).await
    }

    /// With the demo residents, or (a resident tier in front of another platform) none.
    async fn build_seeded(kind: Db, seed: bool, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let db = TestDb::new(kind).await?;
        let mut config =
            Config { data_dir: db.dir.path().to_path_buf(), database_url: Some(db.url.clone()), ..Config::default() };
        config.platform.service_key = Some(Secret(SERVICE_KEY.into()));
        // every request of a test comes from one (unknown) address at one instant: the throttling
        // tests turn it on with limits of their own
        config.rate_limit.enabled = false;
        tweak(&mut config);
        let mut app = App::open(config, Schema::Migrate).await.unwrap();
        let clock = Arc::new(FixedClock::new(t0()));
        app.clock = clock.clone();
        if seed {
            resident_server::demo::seed(&app).await.unwrap();
        }
        let router = resident_web::router(app.web_state().unwrap());
        Some(TestApp { app, router, db, clock })
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self.router.clone().oneshot(req.body(body.into()).unwrap()).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let value =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    async fn check_status(&self, body: Value) -> (StatusCode, Value) {
        self.call("POST", "/resident/v1/rid/check-status", &[("content-type", "application/json")], body.to_string())
            .await
    }
}

fn check_request(rid: &str) -> Value {
    json!({
        "id": "mosip.resident.checkstatus",
        "version": "v1",
        "requesttime": mosip_datetime(t0()),
        "request": {"individualId": rid, "individualIdType": "RID"}
    })
}

async fn check_status_answers_every_demo_status(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let expected = [
        ("10001100010000120261101090100", "PROCESSED"),
        ("10001100010000220261101090200", "UNDER PROCESSING"),
        ("10001100010000320261101090300", "RESEND"),
        ("10001100010000420261101090400", "REREGISTER"),
        ("10001100010000520261101090500", "REJECTED"),
        ("10001100010000620261101090600", "WAITING FOR ADDITIONAL INFORMATION FROM APPLICANT"),
    ];
    for (rid, status) in expected {
        let (code, body) = t.check_status(check_request(rid)).await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body["response"]["ridStatus"], status, "{rid}: {body}");
        assert_eq!(body["id"], "mosip.resident.checkstatus");
        assert_eq!(body["version"], "v1");
        assert_eq!(body["errors"], Value::Null);
        assert_eq!(body["responsetime"], "2026-11-26T09:00:00.000Z");
    }
    // the individual id type is compared ignoring case, as MOSIP does
    let mut lower = check_request(expected[0].0);
    lower["request"]["individualIdType"] = json!("rid");
    assert_eq!(t.check_status(lower).await.1["response"]["ridStatus"], "PROCESSED");
    // every check was audited, with the RID masked
    let audit = t.app.store.recent_audit(10).await.unwrap();
    let checks: Vec<_> = audit.iter().filter(|a| a.event_id == "RES-SER-200").collect();
    assert_eq!(checks.len(), 7);
    assert!(
        checks
            .iter()
            .all(|a| a.ref_id.as_deref().is_some_and(|r| r.contains("****")) && a.session_user_id == "anonymous")
    );
    assert_eq!(t.app.store.verify_audit_chain().await.unwrap(), ChainReport::Intact { records: audit_total(&t).await });
}

async fn audit_total(t: &TestApp) -> i64 {
    match t.app.store.verify_audit_chain().await.unwrap() {
        ChainReport::Intact { records } => records,
        broken => panic!("{broken:?}"),
    }
}

async fn check_status_refuses_bad_input_like_mosip(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let before_regs = t.app.store.count_registrations().await.unwrap();
    let before_audit = audit_total(&t).await;
    let good = check_request("10001100010000120261101090100");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(&|v| {
                v["request"]["individualId"] = json!("@345563333###");
            }),
            "RES-SER-408",
            "RID not found",
        ),
        (
            with(&|v| {
                v["request"]["individualId"] = json!("10001100010000999920261101090");
            }),
            "RES-SER-408",
            "RID not found",
        ),
        (
            with(&|v| {
                v["request"]["individualId"] = json!("27847657360002520181308183050");
            }),
            "RES-SER-408",
            "RID not found",
        ),
        (
            with(&|v| {
                v["request"].as_object_mut().unwrap().remove("individualId");
            }),
            "RES-SER-410",
            "Invalid Input Parameter- individualId",
        ),
        (
            with(&|v| {
                v["request"]["individualId"] = json!("");
            }),
            "RES-SER-410",
            "Invalid Input Parameter- individualId",
        ),
        (
            with(&|v| {
                v["request"]["individualId"] = json!(12345);
            }),
            "RES-SER-410",
            "Invalid Input Parameter- individualId",
        ),
        (
            with(&|v| {
                v["request"].as_object_mut().unwrap().remove("individualIdType");
            }),
            "RES-SER-410",
            "Invalid Input Parameter- individualIdType",
        ),
        (
            with(&|v| {
                v["request"]["individualIdType"] = json!("@2334#");
            }),
            "RES-SER-410",
            "Invalid Input Parameter- individualIdType",
        ),
        (
            with(&|v| {
                v["request"]["individualIdType"] = json!("UIN");
            }),
            "RES-SER-410",
            "Invalid Input Parameter- individualIdType",
        ),
        (
            with(&|v| {
                v.as_object_mut().unwrap().remove("id");
            }),
            "RES-SER-410",
            "Invalid Input Parameter- id",
        ),
        (
            with(&|v| {
                v["id"] = json!("mosip.resident.euin");
            }),
            "RES-SER-410",
            "Invalid Input Parameter- id",
        ),
        (
            with(&|v| {
                v.as_object_mut().unwrap().remove("requesttime");
            }),
            "RES-SER-410",
            "Invalid Input Parameter- requesttime",
        ),
        (
            with(&|v| {
                v["requesttime"] = json!("#@234455");
            }),
            "RES-SER-410",
            "Invalid Input Parameter- requesttime",
        ),
        (
            with(&|v| {
                v["requesttime"] = json!("2026-11-26 09:00:00");
            }),
            "RES-SER-410",
            "Invalid Input Parameter- requesttime",
        ),
        (
            with(&|v| {
                v.as_object_mut().unwrap().remove("version");
            }),
            "RES-SER-410",
            "Invalid Input Parameter- version",
        ),
        (
            with(&|v| {
                v["version"] = json!("1.0");
            }),
            "RES-SER-410",
            "Invalid Input Parameter- version",
        ),
        (
            with(&|v| {
                v["request"] = Value::Null;
            }),
            "RES-SER-410",
            "Invalid Input Parameter- request",
        ),
        (
            with(&|v| {
                v.as_object_mut().unwrap().remove("request");
            }),
            "RES-SER-410",
            "Invalid Input Parameter- request",
        ),
        (
            with(&|v| {
                v["request"] = json!("RID");
            }),
            "RES-SER-418",
            "Bad Request: request must be a JSON object",
        ),
        (json!([1, 2]), "RES-SER-418", "Bad Request: the body must be a JSON object"),
        (json!("text"), "RES-SER-418", "Bad Request: the body must be a JSON object"),
    ];
    for (body, code, message) in &cases {
        let (status, got) = t.check_status(body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(got["errors"][0]["errorCode"], *code, "{body} -> {got}");
        assert_eq!(got["errors"][0]["message"], *message, "{body} -> {got}");
        assert_eq!(got["response"], Value::Null);
        assert_eq!(got["id"], "mosip.resident.checkstatus");
    }
    let json = [("content-type", "application/json")];
    for raw in ["{not json", "", "\u{0}\u{1}", "{\"id\": \"mosip.resident.checkstatus\", "] {
        let (status, got) = t.call("POST", "/resident/v1/rid/check-status", &json, raw.to_owned()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got["errors"][0]["errorCode"], "RES-SER-418", "{raw:?} -> {got}");
    }
    // a body not declared JSON is not read, however good its JSON
    let good = check_request("10001100010000120261101090100").to_string();
    for declared in [&[("content-type", "text/plain")][..], &[]] {
        let (status, got) = t.call("POST", "/resident/v1/rid/check-status", declared, good.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got["errors"][0]["errorCode"], "RES-SER-418", "{declared:?} -> {got}");
        assert!(got["errors"][0]["message"].as_str().unwrap().contains("Content-Type: application/json"));
    }
    // a huge body is refused, not buffered without limit
    let (status, got) = t.call("POST", "/resident/v1/rid/check-status", &json, vec![b' '; 3 * 1024 * 1024]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["errors"][0]["errorCode"], "RES-SER-418");

    // nothing changed, and every refusal was audited
    assert_eq!(t.app.store.count_registrations().await.unwrap(), before_regs);
    let after_audit = audit_total(&t).await;
    assert_eq!(after_audit - before_audit, cases.len() as i64 + 7);
    assert!(t.app.store.recent_audit(1).await.unwrap()[0].request_id.is_some(), "audit links to the request id");
}

pub(crate) fn create_request(registration_id: &str, phone: &str) -> Value {
    json!({
        "id": "mosip.id.create",
        "version": "v1",
        "requesttime": mosip_datetime(t0()),
        "request": {
            "registrationId": registration_id,
            "identity": {
                "IDSchemaVersion": 0.1,
                "fullName": [{"language": "eng", "value": "Lina Haddad"}, {"language": "ara", "value": "لينا حداد"}],
                "dateOfBirth": "1999/03/04",
                "gender": [{"language": "eng", "value": "Female"}],
                "phone": phone,
                "email": "lina@example.org",
                "proofOfAddress": {"value": "proofOfAddress", "type": "DOC001", "format": "pdf"}
            },
            "documents": [{"category": "proofOfAddress", "value": "JVBERi0xLjQKJcfsj6IK"}]
        }
    })
}

async fn idrepo_create_needs_the_service_key_and_validates(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let uri = "/idrepository/v1/identity/";
    let before = t.app.store.count_identities().await.unwrap();
    let body = create_request("10002100020000120261126090000", "9812345670").to_string();

    let (status, got) = t.call("POST", uri, &[], body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(got["errors"][0]["errorCode"], "KER-ATH-401");
    let (status, _) = t.call("POST", uri, &[("authorization", "Bearer wrong")], body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.app.store.count_identities().await.unwrap(), before);

    let auth = format!("Bearer {SERVICE_KEY}");
    // the right key, a body not declared JSON: not read
    let (_, got) = t.call("POST", uri, &[("authorization", &auth), ("content-type", "text/plain")], body.clone()).await;
    assert_eq!(got["errors"][0]["errorCode"], "IDR-IDC-002", "{got}");
    assert_eq!(t.app.store.count_identities().await.unwrap(), before);
    let (status, got) =
        t.call("POST", uri, &[("authorization", &auth), ("content-type", "application/json")], body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["response"]["status"], "ACTIVATED");
    assert_eq!(got["response"]["alreadyPresent"], false);
    let uin = got["response"]["identity"]["UIN"].as_str().unwrap().to_owned();
    resident_domain::ids::Uin::parse(&uin).unwrap();

    // MOSIP's cookie form works too, and the same registration is recognised
    let cookie = format!("Authorization={SERVICE_KEY}");
    let (_, again) = t.call("POST", uri, &[("cookie", &cookie), ("content-type", "application/json")], body).await;
    assert_eq!(again["response"]["alreadyPresent"], true);
    assert_eq!(again["response"]["identity"]["UIN"], uin.as_str());
    let stored = t.app.store.find_identity(&resident_domain::ids::Uin::parse(&uin).unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.documents[0].content, b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n");

    // bad input names the field and stores nothing
    let mid = t.app.store.count_identities().await.unwrap();
    let bad = create_request("10002100020000220261126090000", "12ab").to_string();
    let (status, got) =
        t.call("POST", uri, &[("authorization", &auth), ("content-type", "application/json")], bad).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["errors"][0]["errorCode"], "IDR-IDC-002");
    assert_eq!(got["errors"][0]["message"], "Invalid Input Parameter - identity/phone");
    let mut no_request = create_request("x", "9812345670");
    no_request.as_object_mut().unwrap().remove("request");
    let (_, got) = t
        .call("POST", uri, &[("authorization", &auth), ("content-type", "application/json")], no_request.to_string())
        .await;
    assert_eq!(got["errors"][0]["message"], "Missing Input Parameter - request");
    let mut taken = create_request("10002100020000320261126090000", "9812345670");
    taken["request"]["identity"]["UIN"] = json!("5075291708");
    let (_, got) =
        t.call("POST", uri, &[("authorization", &auth), ("content-type", "application/json")], taken.to_string()).await;
    assert_eq!(got["errors"][0]["errorCode"], "IDR-IDC-012", "a demo resident's UIN is taken");
    assert_eq!(t.app.store.count_identities().await.unwrap(), mid);
}

async fn health_and_metrics(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    // a plain client request id is kept (and audited); anything else is replaced
    for (sent, kept) in
        [("trace-42_abc", true), ("<script>alert(1)</script>", false), ("a b", false), (&"x".repeat(65), false)]
    {
        let req = Request::builder()
            .method("POST")
            .uri("/resident/v1/rid/check-status")
            .header("x-request-id", sent)
            .body(Body::from(check_request("10001100010000120261101090100").to_string()))
            .unwrap();
        let res = t.router.clone().oneshot(req).await.unwrap();
        let echoed = res.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
        assert_eq!(echoed == sent, kept, "{sent:?} -> {echoed:?}");
        assert_eq!(t.app.store.recent_audit(1).await.unwrap()[0].request_id.as_deref(), Some(echoed.as_str()));
    }
    drop(t);

    let Some(t) = TestApp::new(kind).await else { return };
    let (status, body) = t.call("GET", "/resident/v1/actuator/health", &[], Body::empty()).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("UP")));
    t.check_status(check_request("10001100010000120261101090100")).await;
    let (status, body) = t.call("GET", "/resident/v1/actuator/prometheus", &[], Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().unwrap();
    assert!(
        text.contains("http_requests_total{method=\"POST\",route=\"/resident/v1/rid/check-status\",status=\"200\"}"),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));
    // the database going away turns health DOWN
    t.app.store.close().await;
    let (status, body) = t.call("GET", "/resident/v1/actuator/health", &[], Body::empty()).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("DOWN")));
    let _ = &t.db;
}

fn resident(db: &TestDb, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_resident"))
        .args(["--data-dir", &db.dir.path().display().to_string(), "--database-url", &db.url])
        .args(args)
        .env_remove("RESIDENT_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

async fn import_reports_bad_lines_and_is_idempotent(kind: Db) {
    let Some(db) = TestDb::new(kind).await else { return };
    let file = db.dir.path().join("people.jsonl");
    let good = |name: &str| {
        json!({"identity": {"fullName": [{"language": "eng", "value": name}], "dateOfBirth": "1980/01/31", "gender": [{"language": "eng", "value": "Male"}]}}).to_string()
    };
    let lines = [
        good("Omar Farouk"),
        json!({"identity": {"UIN": "7509619239", "fullName": [{"language": "eng", "value": "Yusuf Ali"}], "dateOfBirth": "1970/07/07", "gender": [{"language": "eng", "value": "Male"}]}}).to_string(),
        "{this is not json".to_owned(),
        json!({"identity": {"fullName": [{"language": "eng", "value": "No Birthday"}], "gender": [{"language": "eng", "value": "Male"}]}}).to_string(),
        String::new(),
        good("Omar Farouk"),
        json!({"identity": {"fullName": [{"language": "eng", "value": "Bad Doc"}], "dateOfBirth": "1980/01/31", "gender": [{"language": "eng", "value": "Male"}]}, "documents": [{"category": "photo", "value": "%%%"}]}).to_string(),
        json!({"identity": {"fullName": [{"language": "eng", "value": "Registered Once"}], "dateOfBirth": "1981/02/03", "gender": [{"language": "eng", "value": "Female"}]}, "registrationId": "10001100010000720261101100000"}).to_string(),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = resident(&db, &["import", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "rejected lines make the exit status 1: {stdout} {stderr}");
    assert!(stdout.contains("imported 3, already present 1, rejected 3"), "{stdout}");
    assert!(stderr.contains("line 3: not JSON"), "{stderr}");
    assert!(stderr.contains("line 4: IDR-IDC-001 Missing Input Parameter - identity/dateOfBirth"), "{stderr}");
    assert!(stderr.contains("line 7: documents[0].value is not base64"), "{stderr}");
    assert!(!stderr.contains("Omar") && !stderr.contains("7509619239"), "no personal data in the report: {stderr}");

    let uins = db.dir.path().join("uins.jsonl");
    let again = resident(&db, &["import", file.to_str().unwrap(), "--uins", uins.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("imported 0, already present 4, rejected 3"));
    // which UIN each line has, for whoever imported them (a private file)
    let listed: Vec<Value> =
        std::fs::read_to_string(&uins).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(listed.iter().map(|v| v["line"].as_u64().unwrap()).collect::<Vec<_>>(), vec![1, 2, 6, 8]);
    assert_eq!(listed[1]["UIN"], "7509619239");
    assert_eq!(listed[0]["UIN"], listed[2]["UIN"], "the same person twice is one identity");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&uins).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let verify = resident(&db, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", String::from_utf8_lossy(&verify.stderr));
    // the registration a line names is known, processed, once
    let app = App::open(
        Config { data_dir: db.dir.path().to_path_buf(), database_url: Some(db.url.clone()), ..Config::default() },
        Schema::MustBeCurrent,
    )
    .await
    .unwrap();
    let rid = resident_domain::ids::Rid::parse("10001100010000720261101100000").unwrap();
    let found = app.store.find_registration(&rid).await.unwrap().expect("the imported registration");
    assert_eq!(found.status, Some(resident_domain::registration::InternalStatus::Processed));
    app.store.close().await;
}

async fn audit_verify_names_the_edited_record(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    for _ in 0..3 {
        t.check_status(check_request("10001100010000120261101090100")).await;
    }
    let ok = resident(&t.db, &["audit", "verify"]);
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("OK"), "{}", String::from_utf8_lossy(&ok.stdout));
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&t.db.url).await.unwrap();
    sqlx::query("UPDATE audit_log SET session_user_id = 'someone-else' WHERE seq = 9").execute(&pool).await.unwrap();
    let broken = resident(&t.db, &["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&broken.stdout).trim(),
        "BROKEN at audit record 9: record content does not match its hash"
    );
}

async fn two_importing_processes_never_share_a_uin(kind: Db) {
    let Some(db) = TestDb::new(kind).await else { return };
    // migrate first so the two processes only race on data
    assert!(resident(&db, &["migrate"]).status.success());
    let write = |name: &str, who: &str| {
        let path = db.dir.path().join(name);
        let lines: Vec<String> = (0..120)
            .map(|i| json!({"identity": {"fullName": [{"language": "eng", "value": format!("{who} {i}")}], "dateOfBirth": "1990/01/01", "gender": [{"language": "eng", "value": "Female"}]}}).to_string())
            .collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
        path
    };
    let (a, b) = (write("a.jsonl", "Alpha"), write("b.jsonl", "Beta"));
    let spawn = |file: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_resident"))
            .args(["--data-dir", &db.dir.path().display().to_string(), "--database-url", &db.url, "import"])
            .arg(file)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (pa, pb) = (spawn(&a), spawn(&b));
    for p in [pa, pb] {
        let out = p.wait_with_output().unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("imported 120, already present 0, rejected 0"));
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&db.url).await.unwrap();
    let distinct: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT uin_hash) FROM identity").fetch_one(&pool).await.unwrap();
    assert_eq!(distinct, 240);
}

#[tokio::test]
async fn openapi_document_is_committed_and_current() {
    let generated = serde_json::to_string_pretty(&resident_web::openapi()).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p resident-server openapi` and commit it"
    );
    for p in ["/resident/v1/rid/check-status", "/idrepository/v1/identity/", "/resident/v1/actuator/health"] {
        assert!(generated.contains(p), "{p} missing");
    }
}

#[test]
fn check_config_warns_and_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let run = |envs: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_resident"));
        c.current_dir(dir.path()).arg("check-config").env_remove("RESIDENT_CONFIG");
        for (k, v) in envs {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let out = run(&[("RESIDENT_LISTNE", "x"), ("RESIDENT_PLATFORM__SERVICE_KEY", "very-secret")]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown configuration key `listne`"), "{stderr}");
    assert!(stdout.contains("listen = \"127.0.0.1:8099\"") && !stdout.contains("very-secret"), "{stdout}");
    // secrets inside URLs too
    let out = run(&[
        ("RESIDENT_SMS__URL", "https://gw:pa55word@sms.example/send?apikey=K3Y&to=$to"),
        ("RESIDENT_SMS__BEARER_TOKEN", "t0ken"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for secret in ["pa55word", "K3Y", "t0ken"] {
        assert!(!stdout.contains(secret), "{secret}: {stdout}");
    }
    assert!(stdout.contains("url = \"https://gw:***@sms.example/send?apikey=***&to=$to\""), "{stdout}");
    let out = run(&[("RESIDENT_DATABASE__MAX_CONNECTIONS", "lots")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_connections"));
    for (key, value, named) in [
        ("RESIDENT_TIME_ZONE", "Mars/Olympus_Mons", "time_zone"),
        ("RESIDENT_PORTAL__ARABIC_DIGITS", "roman", "portal.arabic_digits"),
    ] {
        let out = run(&[(key, value)]);
        assert!(!out.status.success(), "{key}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(named), "{key}");
    }
}

#[tokio::test]
async fn an_operators_masterdata_replaces_the_demo_country_and_a_broken_one_stops_start_up() {
    let demo = resident_domain::masterdata::DEMO_MASTERDATA;
    let open = |text: String| async move {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("country.json");
        std::fs::write(&file, text).unwrap();
        let mut config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
        config.masterdata.file = Some(file);
        let opened = App::open(config, Schema::Migrate).await;
        (dir, opened)
    };
    let (_dir, own) = open(demo.replace("Tangier Malabata Centre", "Tangier Port Centre")).await;
    let own = own.unwrap();
    assert_eq!(own.masterdata.centre("10007").unwrap().name["eng"], "Tangier Port Centre");
    for (from, to, named) in [
        (r#""parent": "RSK""#, r#""parent": "NOWHERE""#, "parent"),
        // the ID schema's proof of address accepts a rental contract, which the category must too
        (r#"["RNC", "COR","#, r#"["COR","#, "RNC"),
        (r#""field": "city""#, r#""field": "town""#, "town"),
    ] {
        let (_dir, broken) = open(demo.replacen(from, to, 1)).await;
        let e = broken.err().unwrap_or_else(|| panic!("{from} → {to} was accepted")).to_string();
        assert!(e.contains("masterdata") && e.contains(named), "{e}");
    }
}

#[tokio::test]
async fn demo_is_idempotent() {
    let Some(t) = TestApp::new(Db::Sqlite).await else { return };
    let regs = t.app.store.count_registrations().await.unwrap();
    resident_server::demo::seed(&t.app).await.unwrap();
    assert_eq!(t.app.store.count_registrations().await.unwrap(), regs);
    assert_eq!(t.app.store.count_identities().await.unwrap(), 5);
    let rid = resident_domain::ids::Rid::parse("10001100010000120261101090100").unwrap();
    assert_eq!(t.app.store.stage_history(&rid).await.unwrap().len(), 6, "stages are not duplicated");
}

const JANE: &str = "5075291708";
const AMINA: &str = "8296572490";

fn otp_request(individual: &str, trn: &str, channels: &[&str]) -> Value {
    json!({"id": "mosip.identity.otp.internal", "version": "1.0", "transactionID": trn,
           "requestTime": mosip_datetime(t0()), "individualId": individual, "otpChannel": channels})
}

fn envelope(id: &str, request: Value) -> Value {
    json!({"id": id, "version": "v1", "requesttime": mosip_datetime(t0()), "request": request})
}

impl TestApp {
    async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", uri, &[("content-type", "application/json")], body.to_string()).await
    }

    /// Runs queued jobs (notifications) like the worker would.
    async fn run_jobs(&self) -> usize {
        let worker = self.app.worker();
        let mut n = 0;
        while worker.run_once().await.unwrap() {
            n += 1;
        }
        n
    }

    /// The newest OTP in the SMS outbox.
    fn latest_otp(&self) -> String {
        let outbox = self.db.dir.path().join("outbox");
        let mut sms: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            // the resident's own (`-OTP-`) and a partner's (`-PARTNER_OTP-`)
            .filter(|p| p.extension().is_some_and(|e| e == "json") && p.to_string_lossy().contains("OTP-"))
            .collect();
        sms.sort();
        let v: Value = serde_json::from_slice(&std::fs::read(sms.last().unwrap()).unwrap()).unwrap();
        let text = v["message"].as_str().unwrap().to_owned();
        text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().to_owned()
    }

    async fn otp_for(&self, individual: &str, trn: &str) -> String {
        let (_, r) = self.post("/resident/v1/req/otp", otp_request(individual, trn, &["PHONE"])).await;
        assert_eq!(r["errors"], Value::Null, "{r}");
        assert!(self.run_jobs().await >= 1);
        self.latest_otp()
    }
}

async fn otp_vid_lock_and_history_end_to_end(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    // OTP by both channels: masked contacts back, an email and an SMS in the outbox
    let (status, r) = t.post("/resident/v1/req/otp", otp_request(JANE, "1234567890", &["EMAIL", "PHONE"])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["response"]["maskedEmail"], "XXnXXdXX@example.org");
    assert_eq!(r["response"]["maskedMobile"], "XXXXXX3210");
    assert_eq!(r["transactionID"], "1234567890");
    assert_eq!(t.run_jobs().await, 2);
    let eml: Vec<_> = std::fs::read_dir(t.db.dir.path().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(eml.len(), 1);
    let mail = std::fs::read_to_string(&eml[0]).unwrap();
    assert!(mail.contains("To: jane.doe@example.org"));
    let otp = t.latest_otp();
    assert!(mail.contains(&otp), "the email carries the same OTP");

    // generate a Perpetual VID with it
    let vid_req = |otp: &str, trn: &str| {
        envelope(
            "mosip.resident.vid",
            json!({"transactionID": trn, "individualId": JANE, "otp": otp, "vidType": "Perpetual"}),
        )
    };
    let res = t
        .router
        .clone()
        .oneshot(
            Request::builder()
                .method("POST")
                .uri("/resident/v1/vid")
                .header("content-type", "application/json")
                .body(Body::from(vid_req(&otp, "1234567890").to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let event_id = res.headers().get("eventId").unwrap().to_str().unwrap().to_owned();
    assert_eq!(event_id.len(), 16);
    let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["errors"], Value::Null, "{body}");
    assert_eq!(body["response"]["message"], "Notification has been sent to the provided contact detail(s)");
    let vid = body["response"]["vid"].as_str().unwrap().to_owned();
    resident_domain::ids::Vid::parse(&vid).unwrap();

    // the OTP was single use
    let (_, again) = t.post("/resident/v1/vid", vid_req(&otp, "1234567890")).await;
    assert_eq!(again["errors"][0]["errorCode"], "RES-SER-422");
    assert_eq!(again["errors"][0]["message"], "OTP is invalid");

    // the VID works in place of the UIN: an OTP for the VID revokes it; Perpetual is restored
    let otp = t.otp_for(&vid, "2234567890").await;
    let revoke = json!({"id": "mosip.resident.vidstatus", "version": "v1", "requesttime": mosip_datetime(t0()),
        "request": {"transactionID": "2234567890", "individualId": vid, "individualIdType": "VID", "otp": otp, "vidStatus": "REVOKED"}});
    let (status, revoked) = t
        .call("PATCH", &format!("/resident/v1/vid/{vid}"), &[("content-type", "application/json")], revoke.to_string())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revoked["errors"], Value::Null, "{revoked}");
    assert_eq!(revoked["response"]["message"], "Notification has been sent to the provided contact detail(s)");
    let who = resident_domain::ports::IdentityRecords::resolve(
        &t.app.store,
        &resident_domain::ids::IndividualId::parse(JANE).unwrap(),
        t0(),
    )
    .await
    .unwrap()
    .unwrap();
    let active = resident_domain::ports::IdentityRecords::vids(&t.app.store, &who.identity_id, t0()).await.unwrap();
    assert_eq!(active.len(), 1, "the revoked Perpetual VID was replaced");
    assert_ne!(active[0].vid.expose(), vid);
    let (_, gone) = t.post("/resident/v1/req/otp", otp_request(&vid, "3234567890", &["PHONE"])).await;
    assert_eq!(gone["errors"][0]["errorCode"], "IDA-MLC-018", "a revoked VID is no longer an identity: {gone}");

    // lock (1.2.0 spelling) then unlock for a minute
    let otp = t.otp_for(JANE, "4234567890").await;
    let (_, locked) = t.post("/resident/v1/req/auth-lock", envelope("mosip.resident.authlock", json!({"transactionID": "4234567890", "individualId": JANE, "otp": otp, "authType": ["bio-FIR", "demo"]}))).await;
    assert_eq!(locked["response"]["status"], "SUCCESS", "{locked}");
    let otp = t.otp_for(JANE, "5234567890").await;
    let (_, unlocked) = t.post("/resident/v1/req/auth-unlock", envelope("mosip.resident.authunlock", json!({"transactionID": "5234567890", "individualId": JANE, "otp": otp, "authType": ["demo"], "unlockForSeconds": "60"}))).await;
    assert_eq!(unlocked["response"]["status"], "SUCCESS", "{unlocked}");
    let who = resident_domain::ports::IdentityRecords::resolve(
        &t.app.store,
        &resident_domain::ids::IndividualId::parse(JANE).unwrap(),
        t0(),
    )
    .await
    .unwrap()
    .unwrap();
    let states = resident_domain::ports::IdentityRecords::lock_states(&t.app.store, &who.identity_id).await.unwrap();
    let now_ms = resident_domain::clock::epoch_ms(t0());
    let demo = states.iter().find(|s| s.auth_type == resident_domain::authtype::AuthType::Demo).unwrap();
    assert!(!demo.locked_at(now_ms) && demo.locked_at(now_ms + 61_000), "a temporary unlock locks again by itself");
    assert!(
        states
            .iter()
            .find(|s| s.auth_type == resident_domain::authtype::AuthType::BioFinger)
            .unwrap()
            .locked_at(now_ms)
    );

    // history, newest first, paged
    let otp = t.otp_for(JANE, "6234567890").await;
    let (_, history) = t.post("/resident/v1/req/auth-history", envelope("mosip.resident.authhistory", json!({"transactionID": "6234567890", "individualId": JANE, "otp": otp, "pageStart": "1", "pageFetch": "3"}))).await;
    let items = history["response"]["authHistory"].as_array().unwrap_or_else(|| panic!("{history}"));
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["serialNumber"], 1);
    assert_eq!(items[0]["authModality"], "OTP-AUTH");
    assert_eq!(items[0]["responseCode"], "Y");
    assert_eq!(items[1]["authModality"], "OTP-REQUEST");
    let (_, bad_page) = t.post("/resident/v1/req/auth-history", envelope("mosip.resident.authhistory", json!({"transactionID": "6234567890", "individualId": JANE, "otp": "000000", "pageStart": "0", "pageFetch": "3"}))).await;
    assert_eq!(bad_page["errors"][0]["errorCode"], "RES-SER-446");

    // everything was audited on an intact chain, and the service history has the events
    audit_total(&t).await;
    let token = resident_domain::ports::IdentityRegistry::token_for(
        &t.app.store,
        &resident_domain::ids::Uin::parse(JANE).unwrap(),
    );
    let events = resident_domain::ports::ServiceHistory::events_for(&t.app.store, &token, 0, 50).await.unwrap();
    for kind in ["GENERATE_VID", "REVOKE_VID", "AUTH_TYPE_LOCK_UNLOCK", "SEND_OTP"] {
        assert!(events.iter().any(|e| e.request_type.code() == kind), "{kind}");
    }
    assert!(events.iter().any(|e| e.event_id.as_str() == event_id));
}

async fn one_residents_otp_never_authorises_another(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let otp = t.otp_for(JANE, "1234567890").await;
    let (_, r) = t
        .post(
            "/resident/v1/vid",
            envelope(
                "mosip.resident.vid",
                json!({"transactionID": "1234567890", "individualId": AMINA, "otp": otp, "vidType": "Temporary"}),
            ),
        )
        .await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-422", "{r}");
    // and Jane's OTP still works for Jane (the failed attempt was Amina's)
    let (_, ok) = t
        .post(
            "/resident/v1/vid",
            envelope(
                "mosip.resident.vid",
                json!({"transactionID": "1234567890", "individualId": JANE, "otp": otp, "vidType": "Temporary"}),
            ),
        )
        .await;
    assert_eq!(ok["errors"], Value::Null, "{ok}");
}

async fn otp_request_refuses_bad_input_like_ida(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let before = t.app.store.count_otps().await.unwrap();
    let cases = [
        (otp_request("2013023800", "1234567890", &["EMAIL"]), "IDA-MLC-002"),
        (otp_request("5371843613598205", "1234567890", &["EMAIL"]), "IDA-MLC-004"),
        (otp_request("6584109730", "1234567890", &["EMAIL"]), "IDA-MLC-018"),
        (otp_request(JANE, "123", &["EMAIL"]), "IDA-MLC-009"),
        (otp_request(JANE, "1234567890", &[]), "IDA-OTA-008"),
        (otp_request(JANE, "1234567890", &["FAX"]), "IDA-MLC-009"),
        // IDA: no id, or one that is not digits, is invalid
        (otp_request("asfvgaf", "1234567890", &["EMAIL"]), "IDA-MLC-009"),
        (otp_request("", "1234567890", &["EMAIL"]), "IDA-MLC-009"),
        (
            json!({"id": "mosip.identity.otp.internal", "version": "1.0", "transactionID": "1234567890", "requestTime": mosip_datetime(t0()), "otpChannel": ["EMAIL"]}),
            "IDA-MLC-009",
        ),
        (
            json!({"id": "mosip.identity.otp.internal", "transactionID": "1234567890", "individualId": JANE, "otpChannel": ["EMAIL"]}),
            "IDA-MLC-006",
        ),
    ];
    for (body, code) in cases {
        let (status, r) = t.post("/resident/v1/req/otp", body.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(r["errors"][0]["errorCode"], code, "{body} -> {r}");
        assert!(r["errors"][0]["errorMessage"].is_string());
        assert_eq!(r["response"], Value::Null);
    }
    assert_eq!(t.app.store.count_otps().await.unwrap(), before, "a refused request stores no OTP");
    assert_eq!(t.run_jobs().await, 0, "and sends nothing");
    // flooding: the policy allows 10 OTPs per identity in 10 minutes
    for i in 0..10 {
        let (_, r) = t.post("/resident/v1/req/otp", otp_request(JANE, &format!("{i:010}"), &["EMAIL"])).await;
        assert_eq!(r["errors"], Value::Null);
    }
    let (_, r) = t.post("/resident/v1/req/otp", otp_request(JANE, "9999999999", &["EMAIL"])).await;
    assert_eq!(r["errors"][0]["errorCode"], "IDA-OTA-001");
}

/// A minimal SMTP receiver on loopback: it speaks enough of RFC 5321 for a real client and keeps
/// every message it is given.
async fn smtp_receiver() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    smtp_server(false).await
}

/// [`smtp_receiver`], or with `reject_recipients` a server that refuses every recipient the way real
/// ones do: quoting the address (`550 5.1.1 <jane@…>: Recipient address rejected`).
async fn smtp_server(reject_recipients: bool) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = inbox.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 localhost test SMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(buf) = data.as_mut() {
                        if line == "." {
                            keep.lock().unwrap().push(std::mem::take(buf));
                            data = None;
                            let _ = write.write_all(b"250 2.0.0 queued\r\n").await;
                        } else {
                            buf.push_str(&line);
                            buf.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 localhost\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 end with .\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        "RCPT" if reject_recipients => {
                            let to = line.split(['<', '>']).nth(1).unwrap_or("").to_owned();
                            let reply = format!("550 5.1.1 <{to}>: Recipient address rejected: user unknown\r\n");
                            let _ = write.write_all(reply.as_bytes()).await;
                            continue;
                        }
                        _ => b"250 OK\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (port, inbox)
}

async fn otp_email_goes_through_a_real_smtp_server(kind: Db) {
    let (port, inbox) = smtp_receiver().await;
    let Some(t) = TestApp::build(kind, |c| {
        c.smtp.host = Some("127.0.0.1".into());
        c.smtp.port = port;
        c.smtp.tls = "none".into();
        c.smtp.from = "Resident Services <otp@resident.test>".into();
    })
    .await
    else {
        return;
    };
    let (_, r) = t.post("/resident/v1/req/otp", otp_request(JANE, "1234567890", &["EMAIL"])).await;
    assert_eq!(r["response"]["maskedEmail"], "XXnXXdXX@example.org", "{r}");
    assert_eq!(t.run_jobs().await, 1);
    let mails = inbox.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("To: jane.doe@example.org")
            && mails[0].contains("From: \"Resident Services\" <otp@resident.test>"),
        "{}",
        mails[0]
    );
    // the OTP in the mail authorises Jane's request
    // (in the body: the headers' Message-ID holds hex digits too)
    let body = mails[0].split_once("\n\n").map_or(mails[0].as_str(), |(_, b)| b);
    let otp = body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().to_owned();
    let (_, ok) = t
        .post(
            "/resident/v1/vid",
            envelope(
                "mosip.resident.vid",
                json!({"transactionID": "1234567890", "individualId": JANE, "otp": otp, "vidType": "Temporary"}),
            ),
        )
        .await;
    assert_eq!(ok["errors"], Value::Null, "{ok}");
    assert!(
        !t.db.dir.path().join("outbox").exists()
            || std::fs::read_dir(t.db.dir.path().join("outbox")).unwrap().all(|e| !e
                .unwrap()
                .path()
                .to_string_lossy()
                .ends_with(".eml")),
        "email did not go to the outbox"
    );
}

#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Every log line of a whole resident journey, at TRACE level, carries no OTP, UIN, VID or contact.
#[tokio::test(flavor = "current_thread")]
async fn logs_carry_no_otp_uin_vid_or_contact() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    // the process-wide subscriber: a thread-local one misses events whose callsites other tests'
    // threads registered first, and the other tests' lines are searched too (they use the same residents)
    tracing::subscriber::set_global_default(subscriber).expect("no other test installs a subscriber");

    let t = TestApp::new(Db::Sqlite).await.unwrap();
    let mut secrets = vec![JANE.to_owned(), "jane.doe@example.org".into(), "9876543210".into(), "Jane Doe".into()];
    let otp = t.otp_for(JANE, "1234567890").await;
    secrets.push(otp.clone());
    let (_, r) = t
        .post(
            "/resident/v1/vid",
            envelope(
                "mosip.resident.vid",
                json!({"transactionID": "1234567890", "individualId": JANE, "otp": otp, "vidType": "Perpetual"}),
            ),
        )
        .await;
    let vid = r["response"]["vid"].as_str().unwrap().to_owned();
    secrets.push(vid.clone());
    let otp = t.otp_for(&vid, "2234567890").await;
    secrets.push(otp.clone());
    for wrong in ["000000", "111111"] {
        t.post(
            "/resident/v1/req/auth-lock",
            envelope(
                "mosip.resident.authlock",
                json!({"transactionID": "2234567890", "individualId": vid, "otp": wrong, "authType": ["demo"]}),
            ),
        )
        .await;
    }
    let (_, r) = t
        .post(
            "/resident/v1/req/auth-lock",
            envelope(
                "mosip.resident.authlock",
                json!({"transactionID": "2234567890", "individualId": vid, "otp": otp, "authType": ["demo"]}),
            ),
        )
        .await;
    assert_eq!(r["response"]["status"], "SUCCESS", "{r}");
    t.post("/resident/v1/req/otp", otp_request("6584109730", "3234567890", &["EMAIL"])).await;
    t.check_status(check_request("10001100010000120261101090100")).await;
    // an update through every stage of the pipeline
    let otp = t.otp_for(JANE, "4234567890").await;
    secrets.extend([otp.clone(), "Hassan II".into(), "Tangier".into()]);
    let body =
        update::update_body(JANE, "4234567890", &otp, update::new_address(), &[("rental-contract", &update::pdf())]);
    let (_, r) = t.post("/resident/v1/req/update-uin", body).await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    t.run_jobs().await;
    assert!(t.identity(JANE).await.version > 1, "the update was applied");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.lines().count() > 10, "the journey was logged: {logs}");
    assert!(logs.contains("route=/resident/v1/req/otp"), "{logs}");
    for s in secrets.iter().chain(["6584109730".to_owned()].iter()) {
        if s.chars().all(|c| c.is_ascii_digit()) && s.len() == 6 {
            // an OTP: look for it as a whole number, not inside a timestamp
            assert!(!logs.split(|c: char| !c.is_ascii_digit()).any(|w| w == s), "OTP {s} in the logs");
        } else {
            assert!(!logs.contains(s.as_str()), "{s} in the logs");
        }
    }
}

fn register_partner(db: &TestDb, id: &str, name: &str) -> String {
    let out = resident(db, &["admin", "partner", "add", "--id", id, "--name", name]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    stdout.lines().find_map(|l| l.strip_prefix("API key (shown once, keep it secret): ")).unwrap().to_owned()
}

async fn relying_party_is_refused_while_locked_and_accepted_after(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let key = register_partner(&t.db, "bank-01", "First Bank");
    let auth = format!("Bearer {key}");
    let demo_auth = |trn: &str| {
        json!({"id": "mosip.identity.auth", "version": "1.0", "requestTime": mosip_datetime(t0()), "transactionID": trn,
        "individualId": JANE, "consentObtained": true, "request": {"demographics": {"name": [{"language": "eng", "value": "jane  doe"}], "dob": "1990/05/12"}}})
    };
    let partner_call = |body: Value, key: String| {
        let t = &t;
        async move {
            t.call(
                "POST",
                "/idauthentication/v1/auth/bank-01",
                &[("authorization", &key), ("content-type", "application/json")],
                body.to_string(),
            )
            .await
        }
    };

    let (status, r) = partner_call(demo_auth("P000000001"), auth.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["response"]["authStatus"], true, "{r}");
    let (status, _) = partner_call(demo_auth("P000000002"), "Bearer wrong".into()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut wrong_dob = demo_auth("P000000003");
    wrong_dob["request"]["demographics"]["dob"] = json!("1991/05/12");
    let (_, r) = partner_call(wrong_dob, auth.clone()).await;
    assert_eq!(
        (r["response"]["authStatus"].clone(), r["errors"][0]["errorCode"].clone()),
        (json!(false), json!("IDA-DEA-001"))
    );

    // the resident locks demographic authentication: refused, and recorded
    let otp = t.otp_for(JANE, "1234567890").await;
    let (_, locked) = t.post("/resident/v1/req/auth-lock", envelope("mosip.resident.authlock", json!({"transactionID": "1234567890", "individualId": JANE, "otp": otp, "authType": ["demo", "otp-email"]}))).await;
    assert_eq!(locked["response"]["status"], "SUCCESS");
    let (_, r) = partner_call(demo_auth("P000000004"), auth.clone()).await;
    assert_eq!(r["response"]["authStatus"], false);
    assert_eq!(r["errors"][0]["errorCode"], "IDA-MLC-019");
    assert_eq!(r["errors"][0]["errorMessage"], "demo Auth Type is Locked for the UIN");
    // a partner cannot send an OTP by a locked channel, but can by an open one
    let partner_otp = |ch: &str, trn: &str| json!({"id": "mosip.identity.otp", "version": "1.0", "transactionID": trn, "requestTime": mosip_datetime(t0()), "individualId": JANE, "otpChannel": [ch]});
    let (_, r) = t
        .call(
            "POST",
            "/idauthentication/v1/otp/bank-01",
            &[("authorization", &auth), ("content-type", "application/json")],
            partner_otp("EMAIL", "P000000005").to_string(),
        )
        .await;
    assert_eq!(r["errors"][0]["errorCode"], "IDA-MLC-019", "{r}");
    let (_, r) = t
        .call(
            "POST",
            "/idauthentication/v1/otp/bank-01",
            &[("authorization", &auth), ("content-type", "application/json")],
            partner_otp("PHONE", "P000000006").to_string(),
        )
        .await;
    assert_eq!(r["response"]["maskedMobile"], "XXXXXX3210", "{r}");
    t.run_jobs().await;
    let otp_for_bank = t.latest_otp();
    let otp_auth = json!({"id": "mosip.identity.auth", "version": "1.0", "requestTime": mosip_datetime(t0()), "transactionID": "P000000006",
        "individualId": JANE, "consentObtained": true, "request": {"otp": otp_for_bank}});
    let (_, r) = partner_call(otp_auth, auth.clone()).await;
    assert_eq!(r["response"]["authStatus"], true, "{r}");

    // unlocked for a while: accepted again
    let otp = t.otp_for(JANE, "2234567890").await;
    let (_, unlocked) = t.post("/resident/v1/req/auth-unlock", envelope("mosip.resident.authunlock", json!({"transactionID": "2234567890", "individualId": JANE, "otp": otp, "authType": ["demo"], "unlockForSeconds": 300}))).await;
    assert_eq!(unlocked["response"]["status"], "SUCCESS");
    let (_, r) = partner_call(demo_auth("P000000007"), auth.clone()).await;
    assert_eq!(r["response"]["authStatus"], true, "{r}");

    // a whole-identity lock refuses every kind of authentication
    let otp = t.otp_for(JANE, "2334567890").await;
    let (_, all) = t
        .post(
            "/resident/v1/req/auth-lock",
            envelope(
                "mosip.resident.authlock",
                json!({"transactionID": "2334567890", "individualId": JANE, "otp": otp, "authType": ["ALL"]}),
            ),
        )
        .await;
    assert_eq!(all["response"]["status"], "SUCCESS", "{all}");
    let (_, r) = partner_call(demo_auth("P000000008"), auth.clone()).await;
    assert_eq!(r["errors"][0]["errorCode"], "IDA-MLC-019");
    let (_, r) = t
        .call(
            "POST",
            "/idauthentication/v1/otp/bank-01",
            &[("authorization", &auth), ("content-type", "application/json")],
            partner_otp("PHONE", "P000000009").to_string(),
        )
        .await;
    assert_eq!(r["errors"][0]["errorCode"], "IDA-MLC-019");

    // the resident sees all of it, with the partner's name and transaction ids
    let otp = t.otp_for(JANE, "3234567890").await;
    let (_, history) = t
        .post(
            "/resident/v1/req/auth-history",
            envelope(
                "mosip.resident.authhistory",
                json!({"transactionID": "3234567890", "individualId": JANE, "otp": otp}),
            ),
        )
        .await;
    let items = history["response"]["authHistory"].as_array().unwrap();
    let bank: Vec<&Value> = items.iter().filter(|i| i["partnerName"] == "First Bank").collect();
    assert!(bank.iter().any(|i| i["partnerTransactionId"] == "P000000004"
        && i["responseCode"] == "N"
        && i["authModality"] == "DEMO-AUTH"));
    assert!(bank.iter().any(|i| i["partnerTransactionId"] == "P000000007" && i["responseCode"] == "Y"));
    assert!(bank.iter().any(|i| i["partnerTransactionId"] == "P000000006"
        && i["authModality"] == "OTP-AUTH"
        && i["responseCode"] == "Y"));
    assert!(bank.iter().any(|i| i["partnerTransactionId"] == "P000000006" && i["authModality"] == "OTP-REQUEST"));
}

async fn a_reprint_gets_its_own_rid_that_the_resident_can_follow(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let before = t.app.store.count_registrations().await.unwrap();
    let otp = t.otp_for(JANE, "1234567890").await;
    let audited_before = audit_total(&t).await;
    let req = |f: &dyn Fn(&mut Value)| {
        let mut r = json!({"transactionID": "1234567890", "individualId": JANE, "individualIdType": "UIN", "otp": otp, "cardType": "MASKED_UIN"});
        f(&mut r);
        envelope("mosip.resident.printuin", r)
    };
    for (body, field) in [
        (req(&|r| r["individualIdType"] = json!("RID")), "individualIdType"),
        (req(&|r| r["individualIdType"] = json!("VID")), "individualId"),
        (req(&|r| r["cardType"] = json!("PHOTO")), "cardType"),
        (
            req(&|r| {
                r.as_object_mut().unwrap().remove("otp");
            }),
            "otp",
        ),
    ] {
        let (_, r) = t.post("/resident/v1/req/print-uin", body).await;
        assert_eq!(r["errors"][0]["message"], format!("Invalid Input Parameter- {field}"), "{r}");
    }
    assert_eq!(t.app.store.count_registrations().await.unwrap(), before, "refused requests create nothing");
    assert_eq!(audit_total(&t).await - audited_before, 4, "but each refusal is audited");
    assert_eq!(t.app.store.recent_audit(1).await.unwrap()[0].event_id, "RES-SER-410");

    let (status, r) = t.post("/resident/v1/req/print-uin", req(&|_| {})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["errors"], Value::Null, "{r}");
    let rid = r["response"]["registrationId"].as_str().unwrap().to_owned();
    assert!(rid.starts_with("1000110080") && rid.len() == 29, "{rid}");
    assert_eq!(r["response"]["message"], "Notification has been sent to the provided contact detail(s)");
    let (_, status) = t.check_status(check_request(&rid)).await;
    assert_eq!(status["response"]["ridStatus"], "UNDER PROCESSING");
    let reg = t.app.store.find_registration(&resident_domain::ids::Rid::parse(&rid).unwrap()).await.unwrap().unwrap();
    assert_eq!(reg.registration_type, resident_domain::registration::RegistrationType::ResReprint);
    let token = resident_domain::ports::IdentityRegistry::token_for(
        &t.app.store,
        &resident_domain::ids::Uin::parse(JANE).unwrap(),
    );
    let events = resident_domain::ports::ServiceHistory::events_for(&t.app.store, &token, 0, 20).await.unwrap();
    assert!(events.iter().any(|e| e.request_type.code() == "ORDER_PHYSICAL_CARD"
        && e.aid.as_deref() == Some(rid.as_str())
        && e.status_code == "NEW"));
    t.run_jobs().await;
    let sms: Vec<String> = std::fs::read_dir(t.db.dir.path().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("RS_UIN_RPR_SUCCESS") && p.extension().is_some_and(|e| e == "json"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(sms.len(), 1);
    assert!(sms[0].contains(&rid), "the notification names the RID");
}
