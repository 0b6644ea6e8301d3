//! MOSIP's own portal app's API (resident-services 1.2.1): its cookie login and logout, the scopes,
//! CORS, the served copy, and each journey's shapes and refusals, as the app reads them.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http_body_util::BodyExt;
use resident_domain::clock::mosip_datetime;
use resident_testkit::{Db, on_both, t0};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{AMINA, JANE, TestApp};

#[path = "mosip_ui/masterdata.rs"]
mod masterdata;
#[path = "mosip_ui/requests.rs"]
mod requests;
#[path = "mosip_ui/share.rs"]
mod share;
#[path = "mosip_ui/update.rs"]
mod update;
#[path = "mosip_ui/verify.rs"]
mod verify;

on_both!(
    the_apps_login_sets_a_cookie_that_logout_and_idleness_revoke,
    the_journeys_answer_in_the_shapes_the_app_reads,
    get_my_uin_works_without_login,
    cors_and_the_served_app,
);

pub(crate) const APP: &str = "https://resident.example.org/";
const STATE: &str = "4c1e2a9e-7a53-4d0f-9d8e-2f7f4a1b6c3d";

pub(crate) struct Raw {
    pub(crate) status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    fn location(&self) -> String {
        self.headers.get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }
}

fn first_part(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

impl TestApp {
    async fn with_app(kind: Db) -> Option<TestApp> {
        TestApp::build(kind, |c| {
            c.mosip_ui.url = Some(APP.into());
        })
        .await
    }

    async fn ui_raw(&self, method: &str, uri: &str, headers: &[(&str, &str)], body: impl Into<Body>) -> Raw {
        let mut req = Request::builder().method(method).uri(uri).header("host", "api.example.org");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self.router.clone().oneshot(req.body(body.into()).unwrap()).await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Raw { status, headers, body }
    }

    /// The app's login, as the browser goes it: `/login/{page}`, our OTP pages, `/login-redirect`.
    /// Returns the `Authorization` cookie (`Authorization=…`).
    async fn app_login(&self, uin: &str) -> String {
        self.app_login_via(uin, self).await
    }

    /// The app's login where `sender` is the tier that sends the OTP (the platform, in integrated mode).
    pub(crate) async fn app_login_via(&self, uin: &str, sender: &TestApp) -> String {
        let page = STANDARD.encode(format!("{APP}#/uinservices/dashboard"));
        let start = self.ui_raw("GET", &format!("/resident/v1/login/{page}?state={STATE}"), &[], Body::empty()).await;
        assert_eq!(start.status, StatusCode::FOUND);
        let state_cookie = first_part(&start.cookie("state").unwrap());
        let login_page = start.location();
        assert!(login_page.starts_with("/login?resume="), "{login_page}");
        let form = self.page("GET", &login_page, "", &[]).await;
        let csrf = first_part(&form.cookie("rs_csrf").unwrap());
        let token = form.hidden("csrf");
        let resume = form.hidden("resume");
        let sent = self
            .page(
                "POST",
                "/login",
                &csrf,
                &[("csrf", &token), ("individual_id", uin), ("channel", "PHONE"), ("resume", &resume)],
            )
            .await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        let trn = sent.hidden("transaction_id");
        sender.run_jobs().await;
        let otp = sender.latest_otp();
        let done = self
            .page(
                "POST",
                "/login/otp",
                &csrf,
                &[
                    ("csrf", &token),
                    ("individual_id", uin),
                    ("transaction_id", &trn),
                    ("otp", &otp),
                    ("resume", &resume),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
        assert!(done.cookie("rs_session").is_none(), "the app's login is not a portal session");
        let redirect = done.headers["location"].to_str().unwrap().to_owned();
        assert!(redirect.starts_with(&format!("/resident/v1/login-redirect/{page}?state={STATE}&")), "{redirect}");
        let back = self.ui_raw("GET", &redirect, &[("cookie", &state_cookie)], Body::empty()).await;
        assert_eq!(back.status, StatusCode::FOUND);
        assert_eq!(back.location(), format!("{APP}#/uinservices/dashboard"));
        let auth = back.cookie("Authorization").unwrap();
        assert!(auth.contains("HttpOnly") && auth.contains("Path=/") && auth.contains("Max-Age="), "{auth}");
        // the code worked once
        let again = self.ui_raw("GET", &redirect, &[("cookie", &state_cookie)], Body::empty()).await;
        assert!(again.location().ends_with("?error=invalid_transaction"), "{}", again.location());
        assert!(again.cookie("Authorization").is_none());
        first_part(&auth)
    }

    pub(crate) async fn ui_get(&self, uri: &str, cookie: &str) -> Raw {
        self.ui_raw("GET", uri, &[("cookie", cookie), ("time-zone-offset", "-60")], Body::empty()).await
    }

    pub(crate) async fn ui_send(&self, method: &str, uri: &str, cookie: &str, body: Value) -> Raw {
        self.ui_raw(method, uri, &[("cookie", cookie), ("content-type", "application/json")], body.to_string()).await
    }
}

pub(crate) fn ui_envelope(id: &str, request: Value) -> Value {
    json!({"id": id, "version": "1.0", "requesttime": mosip_datetime(t0()), "request": request})
}

/// The same token with other scopes, signed with the server's key (what a token the login issued
/// for fewer scopes would be).
fn with_scope(t: &TestApp, cookie: &str, scope: &str) -> String {
    use hmac::{Hmac, Mac};
    let jwt = cookie.strip_prefix("Authorization=").unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["scope"] = json!(scope);
    let unsigned = format!("{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&t.app.store.vault().login_key()).unwrap();
    mac.update(unsigned.as_bytes());
    format!("Authorization={unsigned}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

async fn the_apps_login_sets_a_cookie_that_logout_and_idleness_revoke(kind: Db) {
    let Some(t) = TestApp::with_app(kind).await else { return };
    let page = STANDARD.encode(format!("{APP}#/uinservices/dashboard"));
    // refusals as MOSIP's login library words them, HTTP 200
    let bad_state = t.ui_raw("GET", &format!("/resident/v1/login/{page}?state=not-a-uuid"), &[], Body::empty()).await;
    assert_eq!(
        (bad_state.status, bad_state.json()["errors"][0]["errorCode"].clone()),
        (StatusCode::OK, json!("KER-ACP-011"))
    );
    let upper = STATE.to_uppercase();
    let not_canonical = t.ui_raw("GET", &format!("/resident/v1/login/{page}?state={upper}"), &[], Body::empty()).await;
    assert_eq!(not_canonical.json()["errors"][0]["errorCode"], "KER-ACP-011");
    let no_state = t.ui_raw("GET", &format!("/resident/v1/login/{page}"), &[], Body::empty()).await;
    assert_eq!(no_state.json()["errors"][0]["errorCode"], "KER-ACP-010");
    for elsewhere in ["https://evil.example/", "https://resident.example.org.evil.example/", "javascript:alert(1)"] {
        let evil = STANDARD.encode(elsewhere);
        let r = t.ui_raw("GET", &format!("/resident/v1/login/{evil}?state={STATE}"), &[], Body::empty()).await;
        assert_eq!(r.json()["errors"][0]["errorCode"], "KER-ACP-009", "{elsewhere}");
        assert!(r.headers.get("location").is_none());
    }
    // a resume the server did not make (another page to return to) is dropped by the login page
    let forged = format!("{STATE}~{}", STANDARD.encode("https://evil.example/"));
    let form = t.page("GET", &format!("/login?resume={}", forged.replace('+', "%2B")), "", &[]).await;
    assert!(!form.body.contains("name=\"resume\""));

    // the whole login; the login page's forms may end at the app
    let start = t.ui_raw("GET", &format!("/resident/v1/login/{page}?state={STATE}"), &[], Body::empty()).await;
    let login_page = t.page("GET", &start.location(), "", &[]).await;
    let csp = login_page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("form-action 'self' https://resident.example.org;"), "{csp}");
    let cookie = t.app_login(JANE).await;

    // validateToken: MOSIP's answer for a good cookie, 401 for none, a tampered or a foreign one
    let good = t.ui_get("/resident/v1/authorize/admin/validateToken", &cookie).await;
    assert_eq!(good.status, StatusCode::OK);
    assert_eq!((good.json()["response"].clone(), good.json()["errors"].clone()), (json!("TOKEN_VALID"), Value::Null));
    let none = t.ui_get("/resident/v1/authorize/admin/validateToken", "").await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.json()["errors"][0]["errorCode"], "KER-ATH-401");
    let mut tampered = cookie.clone();
    tampered.pop();
    tampered.push(if cookie.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(
        t.ui_get("/resident/v1/authorize/admin/validateToken", &tampered).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(t.ui_get("/resident/v1/vids", &tampered).await.status, StatusCode::UNAUTHORIZED);

    // each endpoint checks its scope
    let no_vid = with_scope(&t, &cookie, "Manage-Authentication");
    let refused = t.ui_get("/resident/v1/vids", &no_vid).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json()["errors"][0]["errorCode"], "RES-SER-403");
    assert_eq!(t.ui_get("/resident/v1/auth-lock-status", &no_vid).await.status, StatusCode::OK);
    assert_eq!(t.ui_get("/resident/v1/vids", &cookie).await.status, StatusCode::OK);

    // logout: back to the app, the cookie expired, and the session gone for any copy of it
    let to = STANDARD.encode(format!("{APP}#/dashboard"));
    let out = t.ui_get(&format!("/resident/v1/logout/user?redirecturi={to}"), &cookie).await;
    assert_eq!((out.status, out.location()), (StatusCode::FOUND, format!("{APP}#/dashboard")));
    assert!(out.cookie("Authorization").unwrap().contains("Max-Age=0"));
    assert_eq!(t.ui_get("/resident/v1/authorize/admin/validateToken", &cookie).await.status, StatusCode::UNAUTHORIZED);
    let evil = STANDARD.encode("https://evil.example/");
    let refused = t.ui_get(&format!("/resident/v1/logout/user?redirecturi={evil}"), "").await;
    assert_eq!(refused.json()["errors"][0]["errorCode"], "KER-ACP-009");

    // a session idle for longer than the portal's limit ends
    let cookie = t.app_login(AMINA).await;
    assert_eq!(t.ui_get("/resident/v1/profile", &cookie).await.status, StatusCode::OK);
    t.clock.advance(time::Duration::minutes(16));
    assert_eq!(t.ui_get("/resident/v1/profile", &cookie).await.status, StatusCode::UNAUTHORIZED);
}

async fn the_journeys_answer_in_the_shapes_the_app_reads(kind: Db) {
    let Some(t) = TestApp::with_app(kind).await else { return };
    let jane = t.app_login(JANE).await;
    let r = t.ui_get("/resident/v1/profile", &jane).await.json();
    assert_eq!((r["response"]["fullName"].clone(), r["errors"].clone()), (json!("Jane Doe"), Value::Null));
    assert!(r["response"]["photo"].is_object());

    // Secure My ID: every type, always; a change gives its event id
    let status = t.ui_get("/resident/v1/auth-lock-status", &jane).await.json();
    assert_eq!(status["errors"], json!([]));
    let types = status["response"]["authTypes"].as_array().unwrap();
    assert_eq!(types.len(), 6);
    assert!(types.iter().all(|t| t["locked"] == json!(false)));
    let lock = |locked: bool| {
        ui_envelope(
            "mosip.resident.auth.lock.unlock",
            json!({"authTypes": [{"authType": "demo", "authSubType": null, "locked": locked, "unlockForSeconds": null, "recorddirty": true}]}),
        )
    };
    let done = t.ui_send("POST", "/resident/v1/auth-lock-unlock", &jane, lock(true)).await;
    let body = done.json();
    assert_eq!((body["errors"].clone(), body["response"]["status"].clone()), (Value::Null, json!("Success")), "{body}");
    let lock_event = done.headers["eventid"].to_str().unwrap().to_owned();
    assert_eq!(lock_event.len(), 16);
    let status = t.ui_get("/resident/v1/auth-lock-status", &jane).await.json();
    let demo = status["response"]["authTypes"].as_array().unwrap().iter().find(|t| t["authType"] == "demo").cloned();
    assert_eq!(demo.unwrap()["locked"], json!(true));
    // refusals change nothing
    let mut wrong_id = lock(false);
    wrong_id["id"] = json!("mosip.resident.auth.lock");
    let refused = t.ui_send("POST", "/resident/v1/auth-lock-unlock", &jane, wrong_id).await.json();
    assert_eq!(refused["errors"][0]["message"], "Invalid Input Parameter- id");
    let empty = ui_envelope("mosip.resident.auth.lock.unlock", json!({"authTypes": []}));
    let refused = t.ui_send("POST", "/resident/v1/auth-lock-unlock", &jane, empty).await.json();
    assert_eq!(refused["errors"][0]["message"], "Invalid Input Parameter- authTypes");
    let unknown = ui_envelope(
        "mosip.resident.auth.lock.unlock",
        json!({"authTypes": [{"authType": "bio", "authSubType": "TOE", "locked": false}]}),
    );
    assert_eq!(
        t.ui_send("POST", "/resident/v1/auth-lock-unlock", &jane, unknown).await.json()["errors"][0]["errorCode"],
        "RES-SER-410"
    );
    let status = t.ui_get("/resident/v1/auth-lock-status", &jane).await.json();
    let demo = status["response"]["authTypes"].as_array().unwrap().iter().find(|t| t["authType"] == "demo").cloned();
    assert_eq!(demo.unwrap()["locked"], json!(true));
    // one request may lock some and unlock others: one event
    let mixed = ui_envelope(
        "mosip.resident.auth.lock.unlock",
        json!({"authTypes": [{"authType": "demo", "locked": false}, {"authType": "bio", "authSubType": "IRIS", "locked": true}]}),
    );
    let done = t.ui_send("POST", "/resident/v1/auth-lock-unlock", &jane, mixed).await;
    assert_eq!(done.json()["errors"], Value::Null);
    let states = t.ui_get("/resident/v1/auth-lock-status", &jane).await.json()["response"]["authTypes"].clone();
    let locked: Vec<String> = states
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["locked"] == json!(true))
        .map(|t| format!("{}-{}", t["authType"].as_str().unwrap(), t["authSubType"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(locked, ["bio-IRIS"]);

    // Manage My VID: `errors` as the app reads them ([] here), the policy without an envelope
    let policy = t.ui_get("/resident/v1/vid/policy", "").await.json();
    assert_eq!(policy["vidPolicies"][0]["vidType"], "Perpetual");
    let created = t
        .ui_send(
            "POST",
            "/resident/v1/generate-vid",
            &jane,
            ui_envelope(
                "mosip.resident.vid.generate",
                json!({"transactionID": "1234567890", "vidType": "Temporary", "channels": ["EMAIL"]}),
            ),
        )
        .await;
    let body = created.json();
    assert_eq!(body["errors"], json!([]), "{body}");
    let vid = body["response"]["vid"].as_str().unwrap().to_owned();
    assert!(created.headers.contains_key("eventid"));
    let list = t.ui_get("/resident/v1/vids", &jane).await.json();
    assert_eq!(list["errors"], json!([]));
    let listed = list["response"].as_array().unwrap().iter().find(|v| v["vid"] == json!(vid)).cloned().unwrap();
    assert_eq!(listed["vidType"], "TEMPORARY");
    assert!(listed["maskedVid"].as_str().unwrap().contains('*') || listed["maskedVid"].as_str().unwrap().contains('X'));
    assert!(listed.get("hashAttributes").is_none());
    let revoke = |status: &str| {
        ui_envelope("mosip.resident.vid.revoke", json!({"transactionID": "1234567890", "vidStatus": status}))
    };
    let refused = t.ui_send("PATCH", &format!("/resident/v1/revoke-vid/{vid}"), &jane, revoke("ACTIVE")).await.json();
    assert_eq!(refused["errors"][0]["message"], "Invalid Input Parameter- vidStatus");
    // another resident cannot revoke it
    let amina = t.app_login(AMINA).await;
    let refused = t.ui_send("PATCH", &format!("/resident/v1/revoke-vid/{vid}"), &amina, revoke("REVOKED")).await.json();
    assert_eq!(refused["errors"][0]["errorCode"], "RES-SER-412");
    let revoked = t.ui_send("PATCH", &format!("/resident/v1/revoke-vid/{vid}"), &jane, revoke("REVOKED")).await;
    assert_eq!(revoked.json()["errors"], json!([]), "{}", revoked.json());
    assert!(
        !t.ui_get("/resident/v1/vids", &jane).await.json()["response"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["vid"] == json!(vid))
    );

    // View History: paged, filtered, refused as MOSIP refuses
    let history = t.ui_get("/resident/v1/service-history/eng", &jane).await.json();
    assert_eq!(history["errors"], json!([]));
    let page = &history["response"];
    let kinds: Vec<&str> =
        page["data"].as_array().unwrap().iter().map(|e| e["description"].as_str().unwrap()).collect();
    assert!(kinds.iter().any(|d| d.starts_with("Virtual ID created")), "{kinds:?}");
    assert!(kinds.iter().any(|d| d.starts_with("Virtual ID revoked")), "{kinds:?}");
    assert!(kinds.iter().any(|d| d.starts_with("Authentication locked or unlocked")), "{kinds:?}");
    let total = page["totalItems"].as_u64().unwrap();
    let two = t.ui_get("/resident/v1/service-history/eng?pageIndex=0&pageSize=2", &jane).await.json();
    assert_eq!(
        (two["response"]["data"].as_array().unwrap().len(), two["response"]["totalPages"].as_u64().unwrap()),
        (2, total.div_ceil(2))
    );
    let vids_only = t
        .ui_get("/resident/v1/service-history/eng?serviceType=ID_MANAGEMENT_REQUEST&statusFilter=SUCCESS", &jane)
        .await
        .json();
    assert!(
        vids_only["response"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["serviceType"] == "ID_MANAGEMENT_REQUEST" && e["eventStatus"] == "Success")
    );
    let today = t.ui_get("/resident/v1/service-history/eng?fromDate=2026-11-26&toDate=2026-11-26", &jane).await.json();
    assert_eq!(today["response"]["totalItems"].as_u64().unwrap(), total);
    let before = t.ui_get("/resident/v1/service-history/eng?fromDate=2026-01-01&toDate=2026-01-02", &jane).await.json();
    assert_eq!(before["response"]["totalItems"], 0);
    for (query, code, message) in [
        ("pageIndex=-1", "RES-SER-446", None),
        ("pageSize=0", "RES-SER-447", None),
        ("statusFilter=", "RES-SER-410", Some("Invalid Input Parameter- statusFilter")),
        ("serviceType=PAYMENTS", "RES-SER-410", Some("Invalid Input Parameter- serviceType")),
        ("fromDate=2026-11-01", "RES-SER-410", Some("Invalid Input Parameter- toDateTime")),
        ("fromDate=2026-11-02&toDate=2026-11-01", "RES-SER-410", Some("Invalid Input Parameter- fromDateTime")),
        ("searchText=12345678901234567", "RES-SER-514", None),
        ("sortType=UP", "RES-SER-410", Some("Invalid Input Parameter- sortType")),
    ] {
        let r = t.ui_get(&format!("/resident/v1/service-history/eng?{query}"), &jane).await.json();
        assert_eq!(r["errors"][0]["errorCode"], code, "{query}: {r}");
        if let Some(m) = message {
            assert_eq!(r["errors"][0]["message"], m, "{query}");
        }
    }
    assert_eq!(
        t.ui_get("/resident/v1/service-history/deu", &jane).await.json()["errors"][0]["message"],
        "Invalid Input Parameter- languageCode"
    );

    // pin to the top; Track My Requests; another resident's event is refused
    let oldest = page["data"].as_array().unwrap().last().unwrap()["eventId"].as_str().unwrap().to_owned();
    let pinned = t.ui_send("POST", &format!("/resident/v1/pinned/{oldest}"), &jane, json!({})).await.json();
    assert_eq!(pinned["response"]["message"], "SUCCESS");
    let history = t.ui_get("/resident/v1/service-history/eng", &jane).await.json();
    assert_eq!(history["response"]["data"][0]["eventId"], json!(oldest));
    assert_eq!(history["response"]["data"][0]["pinnedStatus"], json!(true));
    let not_hers = t.ui_send("POST", &format!("/resident/v1/pinned/{oldest}"), &amina, json!({})).await.json();
    assert_eq!(not_hers["errors"][0]["errorCode"], "RES-SER-459");
    let event = t.ui_get(&format!("/resident/v1/events/{lock_event}?langCode=eng"), &jane).await.json();
    assert_eq!(event["errors"], json!([]));
    assert_eq!(event["response"]["eventId"], json!(lock_event));
    assert_eq!(event["response"]["individualId"], "UIN");
    assert_eq!(event["response"]["info"]["eventTypeEnum"], "AUTH_TYPE_LOCK_UNLOCK");
    assert_eq!(event["response"]["info"]["eventStatusEnum"], "SUCCESS");
    let theirs = t.ui_get(&format!("/resident/v1/events/{lock_event}?langCode=eng"), &amina).await.json();
    assert_eq!(theirs["errors"][0]["errorCode"], "RES-SER-511");
    assert_eq!(
        t.ui_get("/resident/v1/events/1234567890123456", &jane).await.json()["errors"][0]["errorCode"],
        "RES-SER-459"
    );
    assert_eq!(
        t.ui_get("/resident/v1/events/12ab", &jane).await.json()["errors"][0]["message"],
        "Invalid Input Parameter- eventId"
    );

    // the bell
    let count = t.ui_get("/resident/v1/unread/notification-count", &jane).await.json();
    assert_eq!(count["errors"], Value::Null);
    assert!(count["response"]["unreadCount"].is_i64());
    let list = t.ui_get("/resident/v1/notifications/eng", &jane).await.json();
    assert_eq!((list["errors"].clone(), list["response"]["pageIndex"].clone()), (Value::Null, json!(0)));
    let seen = t.ui_raw("PUT", "/resident/v1/bell/updatedttime", &[("cookie", &jane)], Body::empty()).await;
    assert_eq!((seen.status, seen.json()), (StatusCode::OK, json!(1)));
    assert_eq!(t.ui_get("/resident/v1/unread/notification-count", &jane).await.json()["response"]["unreadCount"], 0);

    // the app's audit trail goes into the audit log with who the session says
    let before = super::audit_total(&t).await;
    let logged = t
        .ui_send("POST", "/resident/v1/auth-proxy/audit/log", &jane, json!({"auditEventId": "RP-025", "auditEventName": "Lock/unlock", "moduleId": "RP", "moduleName": "Resident portal", "description": "clicks\nsubmit"}))
        .await;
    assert_eq!((logged.status, logged.body.len()), (StatusCode::OK, 0));
    assert_eq!(super::audit_total(&t).await, before + 1);

    // ui-properties: one mandatory language the app ships, MOSIP's key names
    let props = t.ui_get("/resident/v1/proxy/config/ui-properties", "").await.json();
    assert_eq!(props["errors"], Value::Null);
    assert_eq!(props["response"]["mosip.mandatory-languages"], "eng");
    assert_eq!(props["response"]["mosip.resident.captcha.enable"], "false");
    assert_eq!(props["response"]["mosip.kernel.otp.expiry-time"], "180");
}

async fn get_my_uin_works_without_login(kind: Db) {
    let Some(t) = TestApp::with_app(kind).await else { return };
    let stage = t.ui_get(&format!("/resident/v1/aid-stage/{JANE}"), "").await.json();
    assert_eq!(stage["response"], json!({"transactionStage": "CARD_READY_TO_DOWNLOAD", "aidStatus": "SUCCESS"}));
    let processed = t.ui_get("/resident/v1/aid-stage/10001100010000120261101090100", "").await.json();
    assert_eq!(processed["response"]["aidStatus"], "SUCCESS", "{processed}");
    let processing = t.ui_get("/resident/v1/aid-stage/10001100010000220261101090200", "").await.json();
    assert_eq!(processing["response"]["aidStatus"], "IN-PROGRESS", "{processing}");
    assert_eq!(
        t.ui_get("/resident/v1/aid-stage/10001100010009920261101099900", "").await.json()["errors"][0]["errorCode"],
        "RES-SER-456"
    );
    assert_eq!(
        t.ui_get("/resident/v1/aid-stage/12ab", "").await.json()["errors"][0]["message"],
        "Invalid Input Parameter- individualId"
    );

    let otp_request = json!({"id": "mosip.identity.otp.internal", "version": "1.0", "transactionId": "1234567890",
        "requestTime": mosip_datetime(t0()), "individualId": JANE, "otpChannel": ["PHONE", "EMAIL"], "metadata": {}});
    let sent = t.ui_send("POST", "/resident/v1/individualId/otp", "", otp_request.clone()).await.json();
    assert_eq!(sent["errors"], Value::Null, "{sent}");
    assert_eq!(
        (sent["transactionId"].clone(), sent["response"]["maskedMobile"].clone()),
        (json!("1234567890"), json!("XXXXXX3210"))
    );
    let mut bad = otp_request.clone();
    bad["transactionId"] = json!("12");
    assert_eq!(
        t.ui_send("POST", "/resident/v1/individualId/otp", "", bad).await.json()["errors"][0]["errorCode"],
        "IDA-MLC-009"
    );
    t.run_jobs().await;
    let otp = t.latest_otp();
    let download = |otp: &str| {
        ui_envelope(
            "mosip.resident.download.uin.card",
            json!({"transactionId": "1234567890", "individualId": JANE, "otp": otp}),
        )
    };
    let wrong = t.ui_send("POST", "/resident/v1/download-card", "", download("000000")).await;
    assert_eq!(wrong.headers["content-type"], "application/json");
    assert_eq!(wrong.json()["errors"][0]["errorCode"], "RES-SER-422");
    let card = t.ui_send("POST", "/resident/v1/download-card", "", download(&otp)).await;
    assert_eq!(card.status, StatusCode::OK);
    assert_eq!(card.headers["content-type"], "application/pdf");
    let disposition = card.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"Get_my_UIN_") && disposition.ends_with(".pdf\""),
        "{disposition}"
    );
    assert!(card.headers.contains_key("eventid"));
    assert!(card.body.starts_with(b"%PDF-"));
}

async fn cors_and_the_served_app(kind: Db) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::write(dir.path().join("assets/config.json"), "{\"baseUrl\": \"https://elsewhere\"}").unwrap();
    std::fs::write(dir.path().join("assets/logo.png"), b"\x89PNG\r\n\x1a\n").unwrap();
    let app_dir = dir.path().to_path_buf();
    let Some(t) = TestApp::build(kind, move |c| {
        c.cors.allowed_origins = vec!["https://resident.example.org".into()];
        c.mosip_ui.dir = Some(app_dir);
    })
    .await
    else {
        return;
    };
    let origin = "https://resident.example.org";
    let preflight = t
        .ui_raw(
            "OPTIONS",
            "/resident/v1/auth-lock-unlock",
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type,time-zone-offset,locale"),
            ],
            Body::empty(),
        )
        .await;
    assert_eq!(preflight.status, StatusCode::OK);
    assert_eq!(preflight.headers["access-control-allow-origin"], origin);
    assert_eq!(preflight.headers["access-control-allow-credentials"], "true");
    let allowed = preflight.headers["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(allowed.contains("time-zone-offset") && allowed.contains("locale"), "{allowed}");
    let get = t.ui_raw("GET", "/resident/v1/vid/policy", &[("origin", origin)], Body::empty()).await;
    assert_eq!(get.headers["access-control-allow-origin"], origin);
    let exposed = get.headers["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(exposed.contains("eventid") && exposed.contains("content-disposition"), "{exposed}");
    let evil = t.ui_raw("GET", "/resident/v1/vid/policy", &[("origin", "https://evil.example")], Body::empty()).await;
    assert!(!evil.headers.contains_key("access-control-allow-origin"));

    // the served app: its pages with their headers, its config.json pointing here
    let index = t.ui_raw("GET", "/resident-ui/", &[], Body::empty()).await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&index.body).contains("<title>app</title>"));
    let csp = index.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let config = t.ui_raw("GET", "/resident-ui/assets/config.json", &[], Body::empty()).await.json();
    assert_eq!(config["baseUrl"], "http://api.example.org/resident/v1");
    assert_eq!(config["login"], "/login/");
    assert_eq!(t.ui_raw("GET", "/assets/logo.png", &[], Body::empty()).await.status, StatusCode::OK);
    assert_eq!(
        t.ui_raw("GET", "/assets/portal.css", &[], Body::empty()).await.status,
        StatusCode::OK,
        "our portal's own assets stay"
    );
    assert_eq!(t.ui_raw("GET", "/resident-ui/../Cargo.toml", &[], Body::empty()).await.status, StatusCode::NOT_FOUND);
    // with the app served here and no mosip_ui.url, logins return only to it
    let here = STANDARD.encode("http://api.example.org/resident-ui/#/uinservices/dashboard");
    let ok = t.ui_raw("GET", &format!("/resident/v1/login/{here}?state={STATE}"), &[], Body::empty()).await;
    assert_eq!(ok.status, StatusCode::FOUND);
    let away = STANDARD.encode("http://api.example.org/account");
    let refused = t.ui_raw("GET", &format!("/resident/v1/login/{away}?state={STATE}"), &[], Body::empty()).await;
    assert_eq!(refused.json()["errors"][0]["errorCode"], "KER-ACP-009");
}
