//! Who used my data, end to end: an operator reviewing Jane's name change, a print partner taking
//! her card, a partner receiving a credential and a relying party comparing her details each leave
//! exactly one record with the right who, what and why; Jane sees them (API, portal, CSV, bell),
//! raises a grievance about one; another resident never sees them.

use axum::body::Body;
use axum::http::StatusCode;
use resident_domain::access::{AccessQuery, AccessorKind, DataAccessLog, Operator, Purpose};
use resident_domain::credential::{CredentialStore, Policy};
use resident_domain::ids::Rid;
use resident_domain::ports::{Effects, IdentityRegistry};
use resident_testkit::{Db, on_both, t0};
use serde_json::{Value, json};

use super::update::pdf;
use super::{AMINA, JANE, TestApp, envelope};

on_both!(every_use_of_janes_data_leaves_one_record_that_she_alone_sees);

const PRINT_KEY: &str = "print-partner-key-0123456789";
const BANK_KEY: &str = "bank-partner-key-0123456789ab";

impl TestApp {
    async fn fresh_otp(&self, uin: &str, trn: &str) -> String {
        self.clock.advance(time::Duration::seconds(70));
        self.otp_for(uin, trn).await
    }

    async fn data_access_of(&self, uin: &str, trn: &str) -> Value {
        let otp = self.fresh_otp(uin, trn).await;
        let (status, r) = self
            .post(
                "/resident/v1/req/data-access",
                envelope("mosip.resident.dataaccess", json!({"transactionID": trn, "individualId": uin, "otp": otp})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(r["errors"], Value::Null, "{r}");
        r["response"]["dataAccess"].clone()
    }
}

async fn every_use_of_janes_data_leaves_one_record_that_she_alone_sees(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let jane_token = t.identity(JANE).await.token;
    let count = |k: AccessorKind| {
        let t = &t;
        let token = jane_token.clone();
        async move {
            let q = AccessQuery { token: Some(token), kind: Some(k), limit: 100, ..AccessQuery::default() };
            t.app.store.accesses(&q).await.unwrap()
        }
    };
    // Jane asks to be told of every officer's read (the portal's form does the same)
    let record = resident_domain::audit::AuditEvent::AccessNoticeChanged.record(
        &resident_domain::audit::AuditContext::system("resident"),
        t0(),
        None,
        "on",
    );
    t.app.store.set_tell_on_operator_read(&jane_token, true, &record, t0()).await.unwrap();

    // 1. an operator reviews Jane's name change
    let name = json!({
        "fullName": [{"language": "eng", "value": "Jane Doe-Smith"}],
        "proofOfIdentity": {"value": "passport", "type": "DOC001", "format": "pdf"}
    });
    let r = t.update(JANE, "1500000001", name, &[("passport", &pdf())]).await;
    let rid = r["response"]["registrationId"].as_str().unwrap().to_owned();
    t.run_jobs().await;
    let amina = Operator::parse("amina.k").unwrap();
    let ctx = amina.audit_context("review-01".into(), "10.0.0.7".into());
    t.app.pipeline(&ctx).inspect(&Rid::parse(&rid).unwrap(), &amina).await.unwrap();
    let ops = count(AccessorKind::Operator).await;
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!((ops[0].accessor.id.as_str(), ops[0].accessor.name.as_str()), ("amina.k", "amina.k"));
    assert_eq!(ops[0].purpose, Purpose::ManualVerification { rid: rid.clone() });
    assert_eq!(ops[0].what, ["fullName", "proofOfIdentity"]);
    assert_eq!(ops[0].channel.code(), "CLI");
    t.run_jobs().await;
    let told = t.outbox_with("RS_DATA_ACCESS");
    assert_eq!(told.len(), 2, "email and SMS, as Jane asked: {told:?}");
    assert!(told.iter().all(|m| m.contains("amina.k") && m.contains(ops[0].id.as_str())), "{told:?}");

    // 2. a print partner takes her printed card
    t.add_partner("print-01", "Print_Partner", PRINT_KEY).await;
    let otp = t.fresh_otp(JANE, "1500000002").await;
    let (_, r) = t
        .post(
            "/resident/v1/req/print-uin",
            envelope(
                "mosip.resident.printuin",
                json!({"transactionID": "1500000002", "individualId": JANE, "individualIdType": "UIN", "otp": otp, "cardType": "UIN"}),
            ),
        )
        .await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    let (_, list) = t.partner_call("GET", "/print/v1/print-01/jobs", PRINT_KEY, None).await;
    let job = list["jobs"][0].clone();
    assert_eq!(count(AccessorKind::Partner).await.len(), 0, "listing the jobs reads no personal data");
    let (status, taken) = t
        .partner_call("POST", &format!("/print/v1/print-01/jobs/{}/take", job["id"].as_str().unwrap()), PRINT_KEY, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    let printing = count(AccessorKind::Partner).await;
    assert_eq!(printing.len(), 1);
    assert_eq!(printing[0].accessor.name, "print-01 Ltd");
    assert_eq!(printing[0].purpose.code(), "PRINTING");
    assert!(printing[0].purpose.reference().contains(job["trackingId"].as_str().unwrap()));
    for f in ["UIN", "fullName", "dateOfBirth", "addressLine1", "postalCode"] {
        assert!(printing[0].what.iter().any(|w| w == f), "{f} in {:?}", printing[0].what);
    }
    // a second take is refused and records nothing more
    let _ = t
        .partner_call("POST", &format!("/print/v1/print-01/jobs/{}/take", job["id"].as_str().unwrap()), PRINT_KEY, None)
        .await;
    assert_eq!(count(AccessorKind::Partner).await.len(), 1);

    // 3. a partner receives a credential Jane shares
    t.add_partner("cred-01", "Credential_Partner", "cred-partner-key-0123456789").await;
    let policy = Policy {
        policy_id: "p-qr".into(),
        policy_name: "qr".into(),
        partner_id: "cred-01".into(),
        credential_type: "qrcode".into(),
        attributes: vec!["fullName".into(), "dateOfBirth".into()],
        created_at: t0(),
    };
    t.app.store.set_policy(&policy, &Effects::default(), t0()).await.unwrap();
    let r = t.ask_credential(JANE, "1500000003", json!({"credentialType": "qrcode", "issuer": "cred-01"})).await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    let request_id = r["response"]["requestId"].as_str().unwrap().to_owned();
    t.run_jobs().await;
    t.run_jobs().await;
    let partners = count(AccessorKind::Partner).await;
    assert_eq!(partners.len(), 2, "{partners:?}");
    let credential = partners.iter().find(|a| a.purpose.code() == "CREDENTIAL").unwrap();
    assert_eq!(credential.accessor.id, "cred-01");
    assert_eq!(credential.what, ["dateOfBirth", "fullName"]);
    assert!(credential.purpose.reference().starts_with(&request_id));

    // 4. a relying party compares her name and date of birth
    t.clock.advance(time::Duration::seconds(5)); // later than the credential: the order is by time
    t.add_partner("bank-01", "Auth_Partner", BANK_KEY).await;
    let auth = format!("Bearer {BANK_KEY}");
    let body = json!({"id": "mosip.identity.auth", "version": "1.0", "requestTime": resident_domain::clock::mosip_datetime(t0()),
        "transactionID": "B000000001", "individualId": JANE, "consentObtained": true,
        "request": {"demographics": {"name": [{"language": "eng", "value": "Jane Doe"}], "dob": "1990/05/12"}}});
    let (_, r) = t
        .call(
            "POST",
            "/idauthentication/v1/auth/bank-01",
            &[("authorization", &auth), ("content-type", "application/json")],
            body.to_string(),
        )
        .await;
    assert!(r["errors"].is_null() || r["errors"] == json!([]), "{r}");
    let partners = count(AccessorKind::Partner).await;
    assert_eq!(partners.len(), 3);
    let authn = partners.iter().find(|a| a.purpose.code() == "AUTHENTICATION").unwrap();
    assert_eq!(
        (authn.accessor.name.as_str(), authn.what.clone()),
        ("bank-01 Ltd", vec!["dateOfBirth".to_owned(), "fullName".to_owned()])
    );
    assert_eq!(authn.purpose.reference(), "B000000001");

    // Jane sees the four, newest first, through the API; Amina sees none of them
    let mine = t.data_access_of(JANE, "1500000004").await;
    let purposes: Vec<&str> = mine.as_array().unwrap().iter().map(|a| a["purpose"].as_str().unwrap()).collect();
    assert_eq!(purposes, ["AUTHENTICATION", "CREDENTIAL", "PRINTING", "MANUAL_VERIFICATION"], "{mine}");
    assert_eq!(mine[3]["accessorType"], "OPERATOR");
    assert_eq!(mine[3]["purposeReference"], rid.as_str());
    assert!(!mine.to_string().contains("Jane Doe"), "names of attributes, never values: {mine}");
    let amina_sees = t.data_access_of(AMINA, "1500000005").await;
    assert_eq!(amina_sees, json!([]));
    // without an OTP or a session: nothing
    let (status, r) = t.call("GET", "/resident/v1/data-access", &[], Body::empty()).await;
    assert_eq!((status, r["errors"][0]["errorCode"].as_str()), (StatusCode::UNAUTHORIZED, Some("KER-ATH-401")));

    // in the portal: the page, the bell, the CSV, the session API, a grievance about one entry
    let (jar, csrf) = t.portal_login().await;
    let account = t.page("GET", "/account", &jar, &[]).await;
    assert!(account.body.contains("Notifications ("), "the bell counts the unseen uses: {}", account.body);
    let page = t.page("GET", "/account/data-access", &jar, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    for text in ["Officer amina.k", "Partner print-01 Ltd", "Partner cred-01 Ltd", "Partner bank-01 Ltd", &rid] {
        assert!(page.body.contains(text), "{text} on the page");
    }
    let partners_only = t.page("GET", "/account/data-access?who=PARTNER", &jar, &[]).await;
    assert!(!partners_only.body.contains("Officer amina.k") && partners_only.body.contains("print-01 Ltd"));
    let bad = t.page("GET", "/account/data-access?from=2026-13-40", &jar, &[]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let csv = t.page("GET", "/account/data-access.csv", &jar, &[]).await;
    assert_eq!(csv.body.lines().count(), 1 + 4, "{}", csv.body);
    let (status, by_session) =
        t.call("GET", "/resident/v1/data-access?pageStart=1&pageFetch=2", &[("cookie", &jar)], Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_session["response"]["dataAccess"].as_array().unwrap().len(), 2, "{by_session}");
    // a repeated or malformed parameter gets MOSIP's envelope, not the framework's plain text
    for query in ["pageStart=1&pageStart=2", "pageStart=0", "pageFetch=x%ZZ"] {
        let (status, r) =
            t.call("GET", &format!("/resident/v1/data-access?{query}"), &[("cookie", &jar)], Body::empty()).await;
        assert_eq!(status, StatusCode::OK, "{query}: {r}");
        assert!(r["errors"][0]["errorCode"].as_str().is_some_and(|c| c.starts_with("RES-SER-")), "{query}: {r}");
    }

    let print_id = printing[0].id.to_string();
    let chooser = t.page("GET", "/account/grievance", &jar, &[]).await;
    assert_eq!(chooser.status, StatusCode::OK, "{}", chooser.body);
    assert!(chooser.body.contains(&format!("event={print_id}")), "{}", chooser.body);
    let form = t.page("GET", &format!("/account/grievance?event={print_id}"), &jar, &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    let sent = t
        .page(
            "POST",
            "/account/grievance",
            &jar,
            &[("csrf", &csrf), ("event", &print_id), ("message", "I never ordered a printed card")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert!(sent.body.contains("Its ticket number is GRV"), "{}", sent.body);
    // an access of someone else's (or no access at all) cannot be complained about
    let other = t.app.store.find_identity(&resident_domain::ids::Uin::parse(AMINA).unwrap()).await.unwrap().unwrap();
    let stranger = resident_domain::access::DataAccess::new(
        other.token,
        resident_domain::access::Accessor { kind: AccessorKind::Operator, id: "sam".into(), name: "sam".into() },
        vec!["fullName".into()],
        Purpose::Oversight { reason: "test".into() },
        resident_domain::access::Channel::Cli,
        t0(),
    );
    t.app.store.record_access(&Effects { accesses: vec![stranger.clone()], ..Effects::default() }, t0()).await.unwrap();
    let refused = t.page("GET", &format!("/account/grievance?event={}", stranger.id), &jar, &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!t.page("GET", "/account/data-access", &jar, &[]).await.body.contains("Oversight"));

    // marking notifications as seen covers the uses too
    assert!(t.app.store.unread_accesses(&jane_token).await.unwrap() > 0);
    let seen = t.page("POST", "/account/notifications", &jar, &[("csrf", &csrf)]).await;
    assert_eq!(seen.status, StatusCode::SEE_OTHER);
    assert_eq!(t.app.store.unread_accesses(&jane_token).await.unwrap(), 0);
}
