//! The Resident Portal in a real browser: Debian's headless Chromium driven over WebDriver (chromedriver),
//! against the server on a real socket. A resident logs in with the OTP from the outbox, locks and
//! unlocks an authentication type, creates and revokes a VID and downloads the card, in English and in
//! Arabic, on a phone-sized window. axe-core checks every page; screenshots go to
//! `target/screenshots/`. Without Chromium the test fails on CI and is skipped elsewhere.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use resident_testkit::Db;
use serde_json::{Value, json};

use resident_domain::access::DataAccessLog as _;
use resident_domain::clock::Clock as _;

use super::{JANE, TestApp};

const AXE: &str = include_str!("../assets/axe.min.js");

/// chromedriver in a process group of its own, stopped with every browser it started when dropped
/// (a panicking test must leave nothing running; even a closed session leaves Chromium helpers).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tools_present() -> bool {
    let ok = Command::new("chromedriver").arg("--version").output().is_ok() && Path::new("/usr/bin/chromium").exists();
    if !ok && std::env::var("CI").is_ok() {
        panic!("chromium and chromium-driver are required on CI");
    }
    ok
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn start_driver() -> (Driver, u16) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .process_group(0)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver(child);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return (driver, port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

async fn browser(port: u16, downloads: &Path, width: u32, height: u32) -> Client {
    let profile = tempfile::tempdir().unwrap().keep();
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-quic", "--no-first-run",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                format!("--window-size={width},{height}"), format!("--user-data-dir={}", profile.display())
            ],
            // the viewport of a phone this narrow (a headless window cannot be made narrower than 500 px)
            "mobileEmulation": {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}},
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false
            }
        }
    });
    let Value::Object(caps) = caps else { unreachable!() };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap()
}

/// axe-core on the current page: no violation of WCAG 2.1 A or AA; and nothing wider than the window
/// (the narrowest phones are 320 px).
async fn accessible(c: &Client, page: &str) {
    let overflow = c
        .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth", vec![])
        .await
        .unwrap();
    if overflow.as_i64().unwrap_or(0) > 0 {
        let culprits = c
            .execute(
                "const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')]
                   .filter(e => e.getBoundingClientRect().right > w + 1).slice(0, 8)
                   .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));",
                vec![],
            )
            .await
            .unwrap();
        panic!("{page} is wider than the window by {overflow} px: {culprits}");
    }
    // nor a box inside it that scrolls sideways (a table's wrapper would show a scrollbar)
    let scrolling = c
        .execute(
            "return [...document.querySelectorAll('body *')]
               .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) && e.scrollWidth > e.clientWidth + 1)
               .map(e => e.tagName + '.' + e.className + ' ' + e.scrollWidth + '>' + e.clientWidth);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(scrolling, json!([]), "{page} has a box that scrolls sideways");
    c.execute(AXE, vec![]).await.unwrap();
    let result = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .unwrap();
    let violations: Vec<String> = serde_json::from_value(result).unwrap();
    assert!(violations.is_empty(), "{page}: {violations:#?}");
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).unwrap();
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css)).await.unwrap().text().await.unwrap()
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

/// Waits for a downloaded PDF, reads its text with pdftotext, and removes it.
async fn pdf_text(file: &Path) -> String {
    for _ in 0..100 {
        if file.exists() && std::fs::metadata(file).map(|m| m.len() > 0).unwrap_or(false) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let out = Command::new("pdftotext").arg(file).arg("-").output().unwrap();
    std::fs::remove_file(file).unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One resident journey in `lang` on a phone-sized window.
async fn journey(t: &TestApp, c: &Client, base: &str, lang: &str, downloads: &Path) {
    c.goto(&format!("{base}/?lang={lang}")).await.unwrap();
    let viewport = c.execute("return window.innerWidth", vec![]).await.unwrap();
    assert!(viewport.as_i64().is_some_and(|w| w <= 360), "the viewport is {viewport} px wide");
    let dir = c.execute("return document.documentElement.dir", vec![]).await.unwrap();
    assert_eq!(dir, if lang == "ar" { "rtl" } else { "ltr" });
    shot(c, &format!("{lang}-1-home")).await;
    accessible(c, "home").await;

    // the RID status page, with its timeline
    c.goto(&format!("{base}/status?rid=10001100010000120261101090100")).await.unwrap();
    assert!(!text(c, "#rid-status").await.is_empty());
    accessible(c, "status").await;
    shot(c, &format!("{lang}-2-status")).await;

    // log in with the OTP from the outbox
    c.goto(&format!("{base}/login")).await.unwrap();
    accessible(c, "login").await;
    // by keyboard alone: type the id, then Enter submits the form
    let id_field = c.find(Locator::Id("individual-id")).await.unwrap();
    id_field.send_keys(&format!("{JANE}\u{E007}")).await.unwrap();
    c.wait().for_element(Locator::Id("otp")).await.unwrap();
    accessible(c, "otp").await;
    t.run_jobs().await;
    let otp = t.latest_email_otp();
    c.find(Locator::Id("otp")).await.unwrap().send_keys(&otp).await.unwrap();
    click(c, "#verify-otp").await;
    c.wait().for_url(&url::Url::parse(&format!("{base}/account")).unwrap()).await.unwrap();
    let welcome = text(c, "h1").await;
    assert!(welcome.contains(if lang == "ar" { "جين دو" } else { "Jane Doe" }), "{welcome}");
    accessible(c, "account").await;
    shot(c, &format!("{lang}-3-account")).await;

    // lock, then unlock for an hour; the lock by keyboard alone: Tab until the button has the focus,
    // then Enter
    c.goto(&format!("{base}/account/locks")).await.unwrap();
    let mut reached = false;
    for _ in 0..40 {
        c.active_element().await.unwrap().send_keys("\u{E004}").await.unwrap();
        let id = c.execute("return document.activeElement.id", vec![]).await.unwrap();
        if id == "lock-button-demo" {
            reached = true;
            break;
        }
    }
    assert!(reached, "the lock button can be reached with Tab");
    c.active_element().await.unwrap().send_keys("\u{E007}").await.unwrap();
    c.wait().for_element(Locator::Id("notice")).await.unwrap();
    assert!(c.find(Locator::Css("#lock-demo .govuk-tag--red")).await.is_ok(), "demo is locked");
    accessible(c, "locks").await;
    shot(c, &format!("{lang}-4-locks")).await;
    c.execute("document.getElementById('lock-demo').scrollIntoView()", vec![]).await.unwrap();
    shot(c, &format!("{lang}-4-locks-rows")).await;
    c.find(Locator::Css("#duration-demo option[value='3600']")).await.unwrap().click().await.unwrap();
    click(c, "#unlock-demo").await;
    c.wait().for_element(Locator::Css("#lock-demo .govuk-tag--green")).await.unwrap();

    // a VID: create it, then revoke it after the confirmation page
    c.goto(&format!("{base}/account/vids")).await.unwrap();
    click(c, "#vid-type-Perpetual").await;
    click(c, "#generate-vid").await;
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    let vid: String = notice.chars().filter(|ch| ch.is_ascii_digit()).collect();
    assert_eq!(vid.len(), 16, "{notice}");
    accessible(c, "vids").await;
    shot(c, &format!("{lang}-5-vids")).await;
    click(c, &format!("#revoke-{vid}")).await;
    c.wait().for_element(Locator::Id("confirm-revoke")).await.unwrap();
    accessible(c, "revoke").await;
    click(c, "#confirm-revoke").await;
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains(&vid), "{notice}");

    // the card: the password rule is explained, the PDF arrives and opens with it
    c.goto(&format!("{base}/account/card")).await.unwrap();
    assert!(text(c, "#password-rule").await.contains("JANE1990"));
    accessible(c, "card").await;
    shot(c, &format!("{lang}-6-card")).await;
    click(c, "#download-card").await;
    let file = downloads.join("card.pdf");
    for _ in 0..100 {
        if file.exists() && std::fs::metadata(&file).map(|m| m.len() > 0).unwrap_or(false) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pdf = std::fs::read(&file).unwrap();
    let credential = resident_card::credential_in_pdf(&pdf, "JANE1990").unwrap();
    assert!(credential.split('.').count() == 3);
    std::fs::remove_file(&file).unwrap();

    // update the address with a proof: the form, "check your answers", the RID, then PROCESSED
    c.goto(&format!("{base}/account/update")).await.unwrap();
    accessible(c, "update").await;
    let address = if lang == "ar" { "9 Rue de Fes" } else { "7 Avenue Hassan II" };
    let line = c.find(Locator::Id("f-addressLine1-eng")).await.unwrap();
    line.clear().await.unwrap();
    line.send_keys(address).await.unwrap();
    let proof = downloads.join("lease.pdf");
    std::fs::write(&proof, b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
        .unwrap();
    c.find(Locator::Id("file-proofOfAddress")).await.unwrap().send_keys(proof.to_str().unwrap()).await.unwrap();
    shot(c, &format!("{lang}-7-update")).await;
    click(c, "#update-continue").await;
    let changes = c.wait().for_element(Locator::Id("changes")).await.unwrap().text().await.unwrap();
    assert!(changes.contains(address), "{changes}");
    accessible(c, "check your answers").await;
    shot(c, &format!("{lang}-8-check")).await;
    click(c, "#update-confirm").await;
    let rid = c.wait().for_element(Locator::Id("rid")).await.unwrap().text().await.unwrap();
    assert_eq!(rid.len(), 29, "{rid}");
    accessible(c, "update sent").await;
    click(c, "#acknowledgement").await;
    let ack = pdf_text(&downloads.join(format!("acknowledgement-{rid}.pdf"))).await;
    assert!(ack.contains(&rid), "{ack}");
    t.run_jobs().await;
    c.goto(&format!("{base}/status?rid={rid}")).await.unwrap();
    let shown = text(c, "#rid-status").await;
    assert_eq!(shown, if lang == "ar" { "تمت المعالجة" } else { "Processed" });
    let stored = t.identity(JANE).await;
    assert_eq!(stored.identity.localized_exact("addressLine1", "eng"), Some(address));

    // order a printed card, then read the service history: every request with its event id
    c.goto(&format!("{base}/account/print")).await.unwrap();
    click(c, "#order-card").await;
    c.wait().for_element(Locator::Id("notice")).await.unwrap();
    let orders = text(c, "#orders").await;
    assert!(orders.contains("PRN-"), "the tracking number is shown: {orders}");
    accessible(c, "print").await;
    // the bell counts what moved since it was last opened, in the language's digits
    let bell = text(c, "#bell").await;
    let digit = |ch: char| if lang == "ar" { ('٠'..='٩').contains(&ch) } else { ch.is_ascii_digit() };
    assert!(bell.chars().any(digit), "{bell}");
    click(c, "#bell").await;
    let list = c.wait().for_element(Locator::Id("notifications")).await.unwrap().text().await.unwrap();
    assert!(list.contains(if lang == "ar" { "تحديث البيانات" } else { "Details updated" }), "{list}");
    accessible(c, "notifications").await;
    // opening the list changes nothing (a GET); the resident marks them as seen
    c.goto(&format!("{base}/account")).await.unwrap();
    let bell = text(c, "#bell").await;
    assert!(bell.chars().any(digit), "still unseen after a look: {bell}");
    click(c, "#bell").await;
    shot(c, &format!("{lang}-10-notifications")).await;
    click(c, "#notifications-seen").await;
    c.wait().for_element(Locator::Id("notifications")).await.unwrap();
    c.goto(&format!("{base}/account")).await.unwrap();
    let bell = text(c, "#bell").await;
    assert!(!bell.chars().any(char::is_numeric), "seen: {bell}");
    c.goto(&format!("{base}/account/history")).await.unwrap();
    let history = text(c, "#history").await;
    for what in if lang == "ar" {
        ["تحديث البيانات", "طلب بطاقة مطبوعة", "إنشاء رقم افتراضي"]
    } else {
        ["Details updated", "Printed card ordered", "Virtual ID created"]
    } {
        assert!(history.contains(what), "{what} not in {history}");
    }
    assert!(history.split(|ch: char| !ch.is_ascii_digit()).any(|w| w.len() == 16), "event ids are shown");
    accessible(c, "history").await;
    shot(c, &format!("{lang}-9-history")).await;
    // a grievance about the first request listed
    c.find(Locator::Css("#history a[href^='/account/grievance']")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("message")).await.unwrap().send_keys("The letter never came.").await.unwrap();
    accessible(c, "grievance").await;
    click(c, "#send-grievance").await;
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("GRV-"), "{notice}");

    // who authenticated me: the OTP logins, filterable; and as CSV
    c.goto(&format!("{base}/account/auth-history")).await.unwrap();
    let table = text(c, "#auth-history").await;
    assert!(table.contains("resident-services"), "{table}");
    accessible(c, "authentication history").await;
    shot(c, &format!("{lang}-10-auth-history")).await;
    c.find(Locator::Css("#result option[value='N']")).await.unwrap().click().await.unwrap();
    click(c, "#filter").await;
    c.wait().for_element(Locator::Id("no-auth")).await.unwrap();
    click(c, "#csv").await;
    let csv = downloads.join("authentication-history.csv");
    for _ in 0..100 {
        if csv.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text_csv = std::fs::read_to_string(&csv).unwrap();
    assert!(text_csv.starts_with("time,method,used_by"), "{text_csv}");
    std::fs::remove_file(&csv).unwrap();
    c.goto(&format!("{base}/account/auth-history")).await.unwrap();
    click(c, "#pdf").await;
    let pdf = pdf_text(&downloads.join("authentication-history.pdf")).await;
    assert!(pdf.contains("resident-services"), "{pdf}");

    // share a credential with a partner, with explicit consent
    c.goto(&format!("{base}/account/share")).await.unwrap();
    accessible(c, "share").await;
    click(c, "#choice-1").await;
    click(c, "#consent-box").await;
    click(c, "#share").await;
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.split(|ch: char| !(ch.is_ascii_hexdigit() || ch == '-')).any(|w| w.len() == 36), "{notice}");
    shot(c, &format!("{lang}-11-share")).await;

    // who used my data: the partner that received the credential, an officer's oversight query
    t.run_jobs().await;
    let operator = resident_domain::access::Operator::parse("amina.k").unwrap();
    let ctx = operator.audit_context("review-01".into(), "10.0.0.7".into());
    let query = resident_domain::access::AccessQuery {
        token: Some(t.identity(JANE).await.token),
        limit: 10,
        ..Default::default()
    };
    resident_domain::access::oversight(&t.app.store, &operator, &ctx, &query, "complaint 7", t.clock.now())
        .await
        .unwrap();
    c.goto(&format!("{base}/account")).await.unwrap();
    click(c, "#data-access-link").await;
    let table = c.wait().for_element(Locator::Id("data-access")).await.unwrap().text().await.unwrap();
    assert!(table.contains("First Bank") && table.contains("amina.k") && table.contains("complaint 7"), "{table}");
    accessible(c, "who used my data").await;
    shot(c, &format!("{lang}-12-data-access")).await;
    c.execute("document.getElementById('data-access').scrollIntoView()", vec![]).await.unwrap();
    shot(c, &format!("{lang}-12-data-access-entries")).await;
    c.find(Locator::Css("#who option[value='OPERATOR']")).await.unwrap().click().await.unwrap();
    click(c, "#filter").await;
    for _ in 0..100 {
        if c.current_url().await.unwrap().query().is_some_and(|q| q.contains("who=OPERATOR")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let filtered = c.wait().for_element(Locator::Id("data-access")).await.unwrap().text().await.unwrap();
    assert!(!filtered.contains("First Bank") && filtered.contains("amina.k"), "{filtered}");
    click(c, "#pdf").await;
    let pdf = pdf_text(&downloads.join("who-used-my-data.pdf")).await;
    assert!(pdf.contains("amina.k"), "{pdf}");
    // the choice to be told of officers' reads: the box shows it, ticking it changes it
    let token = t.identity(JANE).await.token;
    let before = t.app.store.tell_on_operator_read(&token).await.unwrap();
    click(c, "#tell").await;
    click(c, "#save-notice").await;
    c.wait().for_element(Locator::Id("notice")).await.unwrap();
    assert_eq!(t.app.store.tell_on_operator_read(&token).await.unwrap(), !before);
    click(c, "#data-access a[href^='/account/grievance']").await;
    c.wait().for_element(Locator::Id("message")).await.unwrap();
    accessible(c, "grievance about a use of my data").await;
    // a grievance started from nowhere: choose what it is about
    c.goto(&format!("{base}/account/grievance")).await.unwrap();
    c.wait().for_element(Locator::Id("choose-accesses")).await.unwrap();
    accessible(c, "grievance: choose").await;
    shot(c, &format!("{lang}-13-grievance-choose")).await;

    // log out: the account is gone
    click(c, "header form button").await;
    c.wait().for_url(&url::Url::parse(&format!("{base}/")).unwrap()).await.unwrap();
    c.goto(&format!("{base}/account")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/login"));
}

impl TestApp {
    /// The newest OTP in the email outbox.
    fn latest_email_otp(&self) -> String {
        let outbox = self.db.dir.path().join("outbox");
        let mut mails: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml") && p.to_string_lossy().contains("-OTP-"))
            .collect();
        // names sort in the order the messages were queued (modification times can tie)
        mails.sort();
        let text = std::fs::read_to_string(mails.last().unwrap()).unwrap();
        // the body only: a header (the Message-ID holds the job's UUID) can hold six digits in a row
        let body = text.split_once("\r\n\r\n").map_or(text.as_str(), |(_, b)| b);
        body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_uses_the_portal_in_english_and_arabic_on_a_phone() {
    if !tools_present() {
        return;
    }
    let Some(t) = TestApp::new(Db::Sqlite).await else { return };
    t.seed_kyc_partner(&["fullName", "dateOfBirth"]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = t.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    // `localhost` is a secure context: the browser keeps the portal's Secure cookies over plain HTTP
    let base = format!("http://localhost:{}", addr.port());
    let (_driver, port) = start_driver().await;
    let downloads = tempfile::tempdir().unwrap();
    for (lang, width) in [("en", 320), ("ar", 360)] {
        let c = browser(port, downloads.path(), width, 780).await;
        journey(&t, &c, &base, lang, downloads.path()).await;
        c.close().await.unwrap();
    }
}
