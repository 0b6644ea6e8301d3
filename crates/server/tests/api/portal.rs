//! The portal over HTTP without a browser: sessions, cookies, CSRF and headers.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use resident_testkit::{Db, on_both};
use tower::ServiceExt;

use super::{JANE, TestApp};

on_both!(
    portal_sessions_are_renewed_at_login_bounded_in_time_and_forms_need_their_token,
    sharing_needs_consent_and_sends_only_what_was_chosen,
);

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    pub(crate) fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = self.body.find(&marker).unwrap_or_else(|| panic!("no {name} in {}", self.body)) + marker.len();
        self.body[at..].split('"').next().unwrap().to_owned()
    }
}

impl TestApp {
    pub(crate) async fn page(&self, method: &str, uri: &str, cookies: &str, form: &[(&str, &str)]) -> Answer {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", v.replace('+', "%2B").replace('=', "%3D")))
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("cookie", cookies)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        let body = String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned();
        Answer { status, headers, body }
    }
}

pub(crate) fn value(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

async fn portal_sessions_are_renewed_at_login_bounded_in_time_and_forms_need_their_token(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    // a first visit gets a CSRF cookie; the page carries the same token
    let home = t.page("GET", "/login", "", &[]).await;
    assert_eq!(home.status, StatusCode::OK);
    let csrf_cookie = home.cookie("rs_csrf").unwrap();
    assert!(
        csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Strict") && csrf_cookie.contains("Secure")
    );
    let token = home.hidden("csrf");
    assert_eq!(value(&csrf_cookie), format!("rs_csrf={token}"));
    let csp = home.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(home.headers["x-frame-options"], "DENY");
    assert!(!home.body.contains("<script"), "no script at all");
    assert!(home.headers.get("strict-transport-security").is_none(), "no HSTS over plain HTTP");
    let req = Request::builder().uri("/").header("x-forwarded-proto", "https").body(Body::empty()).unwrap();
    let over_tls = t.router.clone().oneshot(req).await.unwrap();
    assert_eq!(over_tls.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");

    // without the token, or with another, nothing happens
    let cookies = value(&csrf_cookie).to_owned();
    let forged = t.page("POST", "/login", &cookies, &[("individual_id", JANE), ("channel", "EMAIL")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let forged = t
        .page(
            "POST",
            "/login",
            &cookies,
            &[("csrf", "x".repeat(43).as_str()), ("individual_id", JANE), ("channel", "EMAIL")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // an unknown number gets the same answer as a blocked one: nothing to learn
    let unknown = t
        .page("POST", "/login", &cookies, &[("csrf", &token), ("individual_id", "6584109730"), ("channel", "EMAIL")])
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.body.contains("We could not send a one-time password for this number"));

    // the OTP page, then a session with a fresh id; a planted session cookie is ignored and replaced
    let sent =
        t.page("POST", "/login", &cookies, &[("csrf", &token), ("individual_id", JANE), ("channel", "PHONE")]).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let trn = sent.hidden("transaction_id");
    t.run_jobs().await;
    let otp = t.latest_otp();
    let planted = format!("{cookies}; rs_session=planted-by-an-attacker");
    let wrong = t
        .page(
            "POST",
            "/login/otp",
            &planted,
            &[("csrf", &token), ("individual_id", JANE), ("transaction_id", &trn), ("otp", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    let ok = t
        .page(
            "POST",
            "/login/otp",
            &planted,
            &[("csrf", &token), ("individual_id", JANE), ("transaction_id", &trn), ("otp", &otp)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.headers["location"], "/account");
    let session = ok.cookie("rs_session").unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Secure"),
        "{session}"
    );
    assert_ne!(value(&session), "rs_session=planted-by-an-attacker");
    let jar = format!("{cookies}; {}", value(&session));
    let account = t.page("GET", "/account", &jar, &[]).await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("Welcome, Jane Doe"));
    // logged in, forms carry the session's token, not the pre-login one
    let session_token = account.hidden("csrf");
    assert_ne!(session_token, token);
    let stale =
        t.page("POST", "/account/locks", &jar, &[("csrf", &token), ("auth_type", "demo"), ("action", "lock")]).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    let locked = t
        .page("POST", "/account/locks", &jar, &[("csrf", &session_token), ("auth_type", "demo"), ("action", "lock")])
        .await;
    assert_eq!(locked.status, StatusCode::OK);
    assert!(locked.body.contains("Your changes were saved."));

    // 15 minutes idle ends the session
    t.clock.advance(time::Duration::minutes(16));
    let idle = t.page("GET", "/account", &jar, &[]).await;
    assert_eq!(idle.status, StatusCode::SEE_OTHER);
    assert_eq!(idle.headers["location"], "/login");

    // another login; activity keeps it alive, but not past 8 hours
    let (jar, _) = t.portal_login().await;
    for _ in 0..40 {
        t.clock.advance(time::Duration::minutes(14));
        if t.page("GET", "/account", &jar, &[]).await.status != StatusCode::OK {
            break;
        }
    }
    let over = t.page("GET", "/account", &jar, &[]).await;
    assert_eq!(over.status, StatusCode::SEE_OTHER, "8 hours is the most");

    // logout ends the session on the server, not only in the browser
    t.clock.advance(time::Duration::minutes(20));
    let (jar, session_token) = t.portal_login().await;
    let out = t.page("POST", "/logout", &jar, &[("csrf", &session_token)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.cookie("rs_session").unwrap().contains("Max-Age=0"));
    assert_eq!(
        t.page("GET", "/account", &jar, &[]).await.status,
        StatusCode::SEE_OTHER,
        "the old cookie opens nothing"
    );
    let audit = t.app.store.recent_audit(200).await.unwrap();
    assert!(
        audit.iter().any(|a| a.event_id == "RES-SER-ATH-001") && audit.iter().any(|a| a.event_id == "RES-SER-ATH-002")
    );
}

impl TestApp {
    /// A Credential_Partner `bank-kyc` ("First Bank") whose qrcode policy shares `attributes`.
    pub(crate) async fn seed_kyc_partner(&self, attributes: &[&str]) {
        use resident_domain::credential::{CredentialStore, Policy};
        use resident_domain::ports::{Effects, Partner, PartnerRecords};
        let partner = Partner {
            id: "bank-kyc".into(),
            name: "First Bank".into(),
            partner_type: "Credential_Partner".into(),
            api_key_sha256: "0".repeat(64),
            status: "ACTIVE".into(),
        };
        self.app.store.add_partner(&partner, &Effects::default(), resident_testkit::t0()).await.unwrap();
        let policy = Policy {
            policy_id: "p1".into(),
            policy_name: "kyc".into(),
            partner_id: "bank-kyc".into(),
            credential_type: "qrcode".into(),
            attributes: attributes.iter().map(|a| a.to_string()).collect(),
            created_at: resident_testkit::t0(),
        };
        self.app.store.set_policy(&policy, &Effects::default(), resident_testkit::t0()).await.unwrap();
    }

    /// Logs Jane in through the portal; returns the cookie jar and the session's form token.
    pub(crate) async fn portal_login(&self) -> (String, String) {
        let fresh = self.page("GET", "/login", "", &[]).await;
        let (cookies, token) = (value(&fresh.cookie("rs_csrf").unwrap()).to_owned(), fresh.hidden("csrf"));
        let sent = self
            .page("POST", "/login", &cookies, &[("csrf", &token), ("individual_id", JANE), ("channel", "PHONE")])
            .await;
        let trn = sent.hidden("transaction_id");
        self.run_jobs().await;
        let otp = self.latest_otp();
        let ok = self
            .page(
                "POST",
                "/login/otp",
                &cookies,
                &[("csrf", &token), ("individual_id", JANE), ("transaction_id", &trn), ("otp", &otp)],
            )
            .await;
        let jar = format!("{cookies}; {}", value(&ok.cookie("rs_session").unwrap()));
        let account = self.page("GET", "/account", &jar, &[]).await;
        (jar, account.hidden("csrf"))
    }
}

async fn sharing_needs_consent_and_sends_only_what_was_chosen(kind: Db) {
    use resident_domain::credential::CredentialStore;
    let Some(t) = TestApp::new(kind).await else { return };
    t.seed_kyc_partner(&["fullName", "dateOfBirth", "email"]).await;
    let (jar, csrf) = t.portal_login().await;
    let page = t.page("GET", "/account/share", &jar, &[]).await;
    assert!(page.body.contains("First Bank") && page.body.contains("value=\"bank-kyc|qrcode\""), "{}", page.body);
    let form = |consent: bool| {
        let mut f = vec![("csrf", csrf.as_str()), ("choice", "bank-kyc|qrcode"), ("attr", "fullName"), ("attr", "UIN")];
        if consent {
            f.push(("consent", "yes"));
        }
        f
    };
    let refused = t.page("POST", "/account/share", &jar, &form(false)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("Tick the box to agree before sharing"));
    let sent = t.page("POST", "/account/share", &jar, &form(true)).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let marker = "Your request ";
    let at = sent.body.find(marker).unwrap() + marker.len();
    let request_id: String = sent.body[at..].chars().take(36).collect();
    let record = t.app.store.credential_request(&request_id).await.unwrap().unwrap();
    assert_eq!(record.attributes, ["fullName"], "UIN is not in the policy; email was not chosen");
}

/// The authority's logo from configuration: shown in the header, served with its type; a file that is
/// not an image stops start-up.
#[tokio::test]
async fn the_header_shows_the_configured_logo() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.svg");
    std::fs::write(
        &logo,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#,
    )
    .unwrap();
    let path = logo.clone();
    let Some(t) = TestApp::build(Db::Sqlite, move |c| c.portal.logo_file = Some(path)).await else { return };
    let home = t.page("GET", "/", "", &[]).await;
    assert!(home.body.contains(r#"<img src="/assets/logo" alt="""#), "{}", home.body);
    let served = t.page("GET", "/assets/logo", "", &[]).await;
    assert_eq!(served.headers["content-type"], "image/svg+xml");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not an image").unwrap();
    let db = resident_testkit::TestDb::new(Db::Sqlite).await.unwrap();
    let mut config = resident_server::config::Config {
        data_dir: db.dir.path().to_path_buf(),
        database_url: Some(db.url.clone()),
        ..resident_server::config::Config::default()
    };
    config.portal.logo_file = Some(text);
    let app = resident_server::app::App::open(config, resident_server::app::Schema::Migrate).await.unwrap();
    let err = app.web_state().err().unwrap().to_string();
    assert!(err.contains("portal.logo_file"), "{err}");
}

/// Dates are shown in the configured time zone, with Arabic-Indic digits on Arabic pages unless the
/// deployment writes Arabic with Western digits; the RID itself is never converted.
#[tokio::test]
async fn dates_follow_the_residents_time_zone_and_digits() {
    // the demo's first RID was received at 09:01 UTC on 1 November 2026
    let rid = "10001100010000120261101090100";
    let Some(t) = TestApp::new(Db::Sqlite).await else { return };
    let en = t.page("GET", &format!("/status?rid={rid}&lang=en"), "", &[]).await;
    assert!(en.body.contains("1 November 2026, 09:01"), "{}", en.body);
    let fr = t.page("GET", &format!("/status?rid={rid}&lang=fr"), "", &[]).await;
    assert!(fr.body.contains("1 novembre 2026 à 09:01"), "{}", fr.body);
    let ar = t.page("GET", &format!("/status?rid={rid}&lang=ar"), "", &[]).await;
    assert!(ar.body.contains("١ نوفمبر ٢٠٢٦، ٠٩:٠١") && ar.body.contains(rid), "{}", ar.body);
    // a RID typed on an Arabic keyboard (Arabic-Indic digits) is read as the same RID
    let eastern: String = rid
        .chars()
        .map(|c| char::from_u32(0x0660 + c.to_digit(10).unwrap()).unwrap())
        .flat_map(|c| c.to_string().into_bytes())
        .map(|b| format!("%{b:02X}"))
        .collect();
    let typed = t.page("GET", &format!("/status?rid={eastern}&lang=ar"), "", &[]).await;
    assert!(typed.body.contains("تمت المعالجة") && typed.body.contains(rid), "{}", typed.body);

    let Some(t) = TestApp::build(Db::Sqlite, |c| {
        c.time_zone = "Asia/Dubai".into();
        c.portal.arabic_digits = "latn".into();
    })
    .await
    else {
        return;
    };
    let en = t.page("GET", &format!("/status?rid={rid}&lang=en"), "", &[]).await;
    assert!(en.body.contains("1 November 2026, 13:01"), "{}", en.body);
    let ar = t.page("GET", &format!("/status?rid={rid}&lang=ar"), "", &[]).await;
    assert!(ar.body.contains("1 نوفمبر 2026، 13:01"), "{}", ar.body);
}

/// Texts that state a limit take it from the configuration, not from the catalogue.
#[tokio::test]
async fn texts_follow_the_configured_otp_and_document_limits() {
    let Some(t) = TestApp::build(Db::Sqlite, |c| {
        c.otp.validity_seconds = 60;
        c.update.max_document_bytes = 500_000;
    })
    .await
    else {
        return;
    };
    let (jar, _) = t.portal_login().await;
    let update = t.page("GET", "/account/update", &jar, &[]).await;
    assert!(update.body.contains("PDF, JPEG or PNG, at most 500 KB."), "{}", update.body);
    let arabic = t.page("GET", "/account/update?lang=ar", &jar, &[]).await;
    assert!(arabic.body.contains("٥٠٠ كيلوبايت"), "{}", arabic.body);
    // after the login above: a second OTP in the outbox would make `portal_login`'s pick ambiguous
    let fresh = t.page("GET", "/login", "", &[]).await;
    let (cookies, token) = (value(&fresh.cookie("rs_csrf").unwrap()).to_owned(), fresh.hidden("csrf"));
    let sent =
        t.page("POST", "/login", &cookies, &[("csrf", &token), ("individual_id", JANE), ("channel", "PHONE")]).await;
    assert!(sent.body.contains("6-digit code") && sent.body.contains("valid for 1 minute and"), "{}", sent.body);
}
