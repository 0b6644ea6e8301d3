//! Credentials for partners end to end: `POST /req/credential`, the policy and type endpoints, the
//! issuing job, the embedded print service (`PRINTED`), and status, card and cancel by the owner or
//! by the request id alone.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use resident_domain::credential::{CredentialStore, Policy};
use resident_domain::ports::{Effects, IdentityRegistry, ServiceHistory};
use resident_testkit::{Db, on_both};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{AMINA, JANE, TestApp};

on_both!(
    credentials_hold_only_what_the_policy_allows_and_only_their_owner_sees_them,
    a_print_partners_card_is_printed_and_its_request_id_works_briefly_and_once,
    a_request_id_alone_can_withdraw_a_credential_while_it_is_fresh,
);

const PRINT_KEY: &str = "print-partner-key-0123456789";

impl TestApp {
    /// Ownership headers with a fresh OTP (the clock moves on so OTP flooding limits are not hit).
    pub(crate) async fn owner_headers(&self, uin: &str, trn: &str) -> Vec<(String, String)> {
        self.clock.advance(time::Duration::seconds(70));
        let otp = self.otp_for(uin, trn).await;
        vec![("x-individual-id".into(), uin.into()), ("x-transaction-id".into(), trn.into()), ("x-otp".into(), otp)]
    }

    pub(crate) async fn get_as(
        &self,
        uri: &str,
        headers: &[(String, String)],
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut req = Request::builder().method("GET").uri(uri);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let res = self.router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let (status, h) = (res.status(), res.headers().clone());
        (status, h, res.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    pub(crate) async fn ask_credential(&self, uin: &str, trn: &str, request: Value) -> Value {
        self.clock.advance(time::Duration::seconds(70));
        let otp = self.otp_for(uin, trn).await;
        let mut r = json!({"transactionID": trn, "individualId": uin, "otp": otp});
        r.as_object_mut().unwrap().extend(request.as_object().unwrap().clone());
        self.post(
            "/resident/v1/req/credential",
            json!({"id": "mosip.resident.credential.request", "version": "v1", "request": r}),
        )
        .await
        .1
    }
}

async fn credentials_hold_only_what_the_policy_allows_and_only_their_owner_sees_them(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    t.add_partner("cred-01", "Credential_Partner", "cred-partner-key-0123456789").await;
    for (ty, attrs) in [("qrcode", vec!["fullName", "dateOfBirth"]), ("euin", vec!["fullName", "UIN", "photo"])] {
        let policy = Policy {
            policy_id: format!("p-{ty}"),
            policy_name: format!("{ty} policy"),
            partner_id: "cred-01".into(),
            credential_type: ty.into(),
            attributes: attrs.into_iter().map(String::from).collect(),
            created_at: resident_testkit::t0(),
        };
        t.app.store.set_policy(&policy, &Effects::default(), resident_testkit::t0()).await.unwrap();
    }
    let (_, types) = t.call("GET", "/resident/v1/credential/types", &[], Body::empty()).await;
    let qr = types["credentialTypes"].as_array().unwrap().iter().find(|c| c["id"] == "qrcode").unwrap();
    assert_eq!(qr["issuers"], json!([{"code": "cred-01", "name": "cred-01 Ltd"}]));
    let (_, policy) =
        t.call("GET", "/resident/v1/req/policy/partnerId/cred-01/credentialType/qrcode", &[], Body::empty()).await;
    let names: Vec<&str> = policy["response"]["policies"]["shareableAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attributeName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fullName", "dateOfBirth"]);
    let (_, none) =
        t.call("GET", "/resident/v1/req/policy/partnerId/cred-01/credentialType/vercred", &[], Body::empty()).await;
    assert_eq!(none["errors"][0]["errorCode"], "PMS_PRT_064", "MOSIP 1.2.1 passes partner management's code: {none}");

    // beyond the policy, or without one: refused
    let r = t
        .ask_credential(
            JANE,
            "4000000001",
            json!({"credentialType": "qrcode", "issuer": "cred-01", "sharableAttributes": ["email"]}),
        )
        .await;
    assert_eq!(r["errors"][0]["message"], "Invalid Input Parameter- sharableAttributes/email", "{r}");
    let r = t.ask_credential(JANE, "4000000002", json!({"credentialType": "vercred", "issuer": "cred-01"})).await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-426", "{r}");

    // a QR credential with the policy's attributes, issued by the worker
    let r = t
        .ask_credential(
            JANE,
            "4000000003",
            json!({"credentialType": "qrcode", "issuer": "cred-01", "encrypt": "false"}),
        )
        .await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    let request_id = r["response"]["requestId"].as_str().unwrap().to_owned();
    assert_eq!(t.app.store.credential_request(&request_id).await.unwrap().unwrap().status.code(), "NEW");
    // (asking for the ownership OTP runs the worker, which issues the credential)
    let jane = t.owner_headers(JANE, "4000000004").await;
    let (_, _, body) = t.get_as(&format!("/resident/v1/req/credential/status/{request_id}"), &jane).await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["response"]["statusCode"], "ISSUED", "{body}");
    t.run_jobs().await;
    let jane = t.owner_headers(JANE, "4000000005").await;
    let (status, headers, token) = t.get_as(&format!("/resident/v1/req/card/{request_id}"), &jane).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/jwt");
    let claims = resident_card::jws::verify(std::str::from_utf8(&token).unwrap(), &t.jwks_keys().await).unwrap().claims;
    assert_eq!(claims["fullName"][0]["value"], "Jane Doe");
    assert_eq!(claims["dateOfBirth"], "1990/05/12");
    for absent in ["email", "phone", "UIN", "gender", "photo"] {
        assert!(claims.get(absent).is_none(), "{absent} is not in the policy");
    }
    assert_eq!(claims["issuedTo"], "cred-01");

    // nobody else learns anything about it; a malformed id is RES-SER-29; no headers, no answer
    let amina = t.owner_headers(AMINA, "4000000006").await;
    let (_, _, body) = t.get_as(&format!("/resident/v1/req/credential/status/{request_id}"), &amina).await;
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["errors"][0]["errorCode"], "RES-SER-458");
    let amina = t.owner_headers(AMINA, "4000000007").await;
    let (_, _, body) = t.get_as("/resident/v1/req/credential/status/not-a-uuid", &amina).await;
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["errors"][0]["errorCode"], "RES-SER-29");
    // the request id alone never gives a credential that is not protected with the resident's key
    let (_, _, body) = t.get_as(&format!("/resident/v1/req/card/{request_id}"), &[]).await;
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["errors"][0]["errorCode"], "RES-SER-29");
    // half the headers is an input error, not the request id alone
    let (_, _, body) =
        t.get_as(&format!("/resident/v1/req/card/{request_id}"), &[("x-individual-id".into(), JANE.into())]).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["errors"][0]["message"],
        "Invalid Input Parameter- X-Transaction-Id"
    );
    // an issued credential is withdrawn by cancelling it: its artefact is gone
    let jane = t.owner_headers(JANE, "4000000008").await;
    let (_, _, body) = t.get_as(&format!("/resident/v1/req/credential/cancel/{request_id}"), &jane).await;
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["errors"], Value::Null);
    assert!(t.app.store.credential_data(&request_id).await.unwrap().is_none());
    let jane = t.owner_headers(JANE, "4000000012").await;
    let (_, _, body) = t.get_as(&format!("/resident/v1/req/credential/cancel/{request_id}"), &jane).await;
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["errors"][0]["errorCode"], "RES-SER-24");

    // a card credential protected with the resident's key; cancelled before it is issued, it never is
    t.clock.advance(time::Duration::minutes(11));
    let r = t
        .ask_credential(
            JANE,
            "4000000009",
            json!({"credentialType": "euin", "issuer": "cred-01", "encrypt": true, "encryptionKey": "abc123"}),
        )
        .await;
    let euin_id = r["response"]["requestId"].as_str().unwrap().to_owned();
    // the ownership OTP first: asking for an OTP runs the worker, which would issue the request
    let jane = t.owner_headers(JANE, "4000000011").await;
    let r = t
        .ask_credential(JANE, "4000000010", json!({"credentialType": "euin", "issuer": "cred-01", "encrypt": true}))
        .await;
    let cancelled_id = r["response"]["requestId"].as_str().unwrap().to_owned();
    let (_, _, body) = t.get_as(&format!("/resident/v1/req/credential/cancel/{cancelled_id}"), &jane).await;
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["errors"], Value::Null);
    t.run_jobs().await;
    t.clock.advance(time::Duration::minutes(11));
    let jane = t.owner_headers(JANE, "4000000013").await;
    let (_, headers, pdf) = t.get_as(&format!("/resident/v1/req/card/{euin_id}"), &jane).await;
    assert_eq!(headers["content-type"], "application/pdf");
    let claims =
        resident_card::jws::verify(&resident_card::credential_in_pdf(&pdf, "abc123").unwrap(), &t.jwks_keys().await)
            .unwrap()
            .claims;
    assert_eq!(claims["uin"], JANE, "the policy shares the UIN");
    let cancelled = t.app.store.credential_request(&cancelled_id).await.unwrap().unwrap();
    assert_eq!(cancelled.status.code(), "CANCELLED");
    assert!(t.app.store.credential_data(&cancelled_id).await.unwrap().is_none());
    // the generated PIN went to the resident; the history shows the shares
    let mails: Vec<String> = std::fs::read_dir(t.db.dir.path().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("RS_CRE_REQ_SUCCESS") && p.extension().is_some_and(|e| e == "json"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        mails.iter().any(|m| m.contains(&cancelled_id) && m.split(|c: char| !c.is_ascii_digit()).any(|w| w.len() == 6))
    );
    let token = t.app.store.token_for(&resident_domain::ids::Uin::parse(JANE).unwrap());
    let events = t.app.store.events_for(&token, 0, 100).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.aid.as_deref() == Some(euin_id.as_str()) && e.status_code == "DATA_SHARED_SUCCESSFULLY")
    );
    assert!(events.iter().any(|e| e.aid.as_deref() == Some(request_id.as_str()) && e.status_code == "CANCELLED"));
}

impl TestApp {
    async fn print_partner_with_policies(&self) {
        self.add_partner("print-01", "Print_Partner", PRINT_KEY).await;
        for ty in ["euin", "qrcode"] {
            let policy = Policy {
                policy_id: format!("print-{ty}"),
                policy_name: format!("{ty} printing"),
                partner_id: "print-01".into(),
                credential_type: ty.into(),
                attributes: ["fullName", "dateOfBirth", "UIN"].into_iter().map(String::from).collect(),
                created_at: resident_testkit::t0(),
            };
            self.app.store.set_policy(&policy, &Effects::default(), resident_testkit::t0()).await.unwrap();
        }
    }

    /// GET with no headers: the parsed envelope's first error code, or the status and content type.
    async fn alone(&self, uri: &str) -> (StatusCode, String, Vec<u8>) {
        let (status, headers, body) = self.get_as(uri, &[]).await;
        let ct = headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, ct, body)
    }
}

fn first_error(body: &[u8]) -> Value {
    serde_json::from_slice::<Value>(body).unwrap()["errors"][0]["errorCode"].clone()
}

async fn a_print_partners_card_is_printed_and_its_request_id_works_briefly_and_once(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    t.print_partner_with_policies().await;
    let r = t
        .ask_credential(
            JANE,
            "4100000001",
            json!({"credentialType": "qrcode", "issuer": "print-01", "encrypt": "true", "encryptionKey": "k3y-of-jane"}),
        )
        .await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    let id = r["response"]["requestId"].as_str().unwrap().to_owned();
    // not issued yet: the status says so, the card is not ready (and that costs no download)
    let (_, _, body) = t.alone(&format!("/resident/v1/req/credential/status/{id}")).await;
    let status: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status["response"]["statusCode"], "NEW", "{status}");
    assert_eq!(status["response"]["id"], resident_domain::ids::Uin::parse(JANE).unwrap().masked());
    let (_, _, body) = t.alone(&format!("/resident/v1/req/card/{id}")).await;
    assert_eq!(first_error(&body), "RES-SER-509");

    // the job issues the credential to the print partner and the embedded print service prints it
    t.run_jobs().await;
    let record = t.app.store.credential_request(&id).await.unwrap().unwrap();
    assert_eq!(record.status.code(), "PRINTED");
    let (_, _, body) = t.alone(&format!("/resident/v1/req/credential/status/{id}")).await;
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["response"]["statusCode"], "PRINTED");
    let token = t.app.store.token_for(&resident_domain::ids::Uin::parse(JANE).unwrap());
    let events = t.app.store.events_for(&token, 0, 100).await.unwrap();
    assert!(events.iter().any(|e| e.aid.as_deref() == Some(id.as_str()) && e.status_code == "PRINTED"));
    let mails: Vec<String> = std::fs::read_dir(t.db.dir.path().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("RS_CRE_STATUS") && p.extension().is_some_and(|e| e == "json"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(mails.len(), 1, "the resident hears once, when the card is printed: {mails:?}");
    assert!(mails[0].contains("PRINTED"));

    // the request id alone downloads the card once: a PDF only the resident's key opens
    let (status, ct, pdf) = t.alone(&format!("/resident/v1/req/card/{id}")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(resident_card::credential_in_pdf(&pdf, "wrong-key").is_err());
    let claims = resident_card::jws::verify(
        &resident_card::credential_in_pdf(&pdf, "k3y-of-jane").unwrap(),
        &t.jwks_keys().await,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["uin"], JANE);
    let (_, _, body) = t.alone(&format!("/resident/v1/req/card/{id}")).await;
    assert_eq!(first_error(&body), "RES-SER-29", "only once");
    // the owner still can, at any time
    let jane = t.owner_headers(JANE, "4100000002").await;
    let (status, headers, again) = t.get_as(&format!("/resident/v1/req/card/{id}"), &jane).await;
    assert_eq!((status, &headers["content-type"]), (StatusCode::OK, &"application/pdf".parse().unwrap()));
    assert_eq!(again, pdf);
    let downloads: Vec<_> = t
        .app
        .store
        .recent_audit(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.event_id == "RES-SER-137" && a.ref_id.as_deref() == Some(id.as_str()))
        .map(|a| a.description)
        .collect();
    assert_eq!(downloads.len(), 2, "{downloads:?}");
    assert!(
        downloads.iter().any(|d| d.ends_with("by request id")) && downloads.iter().any(|d| d.ends_with("by the owner"))
    );

    // malformed or empty: RES-SER-29 before anything else
    for uri in [
        "/resident/v1/req/card/adfvd",
        "/resident/v1/req/card/",
        "/resident/v1/req/credential/status/",
        "/resident/v1/req/credential/cancel/",
    ] {
        let (_, _, body) = t.alone(uri).await;
        assert_eq!(first_error(&body), "RES-SER-29", "{uri}");
    }
    // an unknown request id alone is the same answer as one whose time is over
    let (_, _, body) =
        t.alone(&format!("/resident/v1/req/credential/status/{}", resident_domain::clock::random_uuid())).await;
    assert_eq!(first_error(&body), "RES-SER-29");
    t.clock.advance(time::Duration::minutes(61));
    let (_, _, body) = t.alone(&format!("/resident/v1/req/credential/status/{id}")).await;
    assert_eq!(first_error(&body), "RES-SER-29", "the request id alone works for an hour");
    let jane = t.owner_headers(JANE, "4100000003").await;
    let (_, _, body) = t.get_as(&format!("/resident/v1/req/credential/status/{id}"), &jane).await;
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["response"]["statusCode"], "PRINTED");

    // a card not protected with the resident's own key never goes out on the request id alone
    let r = t
        .ask_credential(JANE, "4100000004", json!({"credentialType": "euin", "issuer": "print-01", "encrypt": false}))
        .await;
    let plain = r["response"]["requestId"].as_str().unwrap().to_owned();
    t.run_jobs().await;
    let (_, _, body) = t.alone(&format!("/resident/v1/req/card/{plain}")).await;
    assert_eq!(first_error(&body), "RES-SER-29");
    assert!(t.app.store.credential_request(&plain).await.unwrap().unwrap().fetched_by_request_id_at.is_none());
}

async fn a_request_id_alone_can_withdraw_a_credential_while_it_is_fresh(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    t.print_partner_with_policies().await;
    let r = t
        .ask_credential(JANE, "4200000001", json!({"credentialType": "euin", "issuer": "print-01", "encrypt": true}))
        .await;
    let id = r["response"]["requestId"].as_str().unwrap().to_owned();
    t.run_jobs().await;
    assert_eq!(t.app.store.credential_request(&id).await.unwrap().unwrap().status.code(), "PRINTED");
    // someone else's ownership proof reaches nothing
    let amina = t.owner_headers(AMINA, "4200000002").await;
    let (_, _, body) = t.get_as(&format!("/resident/v1/req/credential/cancel/{id}"), &amina).await;
    assert_eq!(first_error(&body), "RES-SER-458");
    // within the hour the request id alone withdraws it; the card is gone and the resident is told
    let (_, _, body) = t.alone(&format!("/resident/v1/req/credential/cancel/{id}")).await;
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    assert_eq!(answer["response"]["requestId"], id.as_str());
    let record = t.app.store.credential_request(&id).await.unwrap().unwrap();
    assert_eq!(record.status.code(), "CANCELLED");
    assert!(t.app.store.credential_data(&id).await.unwrap().is_none());
    let (_, _, body) = t.alone(&format!("/resident/v1/req/card/{id}")).await;
    assert_eq!(first_error(&body), "RES-SER-509");
    let (_, _, body) = t.alone(&format!("/resident/v1/req/credential/cancel/{id}")).await;
    assert_eq!(first_error(&body), "RES-SER-24");
    t.run_jobs().await;
    let told = std::fs::read_dir(t.db.dir.path().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("RS_CRE_STATUS") && p.extension().is_some_and(|e| e == "json"))
        .any(|p| std::fs::read_to_string(p).unwrap().contains("CANCELLED"));
    assert!(told, "the resident hears of the withdrawal");
    let audit = t.app.store.recent_audit(20).await.unwrap();
    assert!(audit.iter().any(|a| a.event_id == "RES-SER-131" && a.description.ends_with("at PRINTED by request id")));

    // after the hour, only the owner
    let r = t
        .ask_credential(JANE, "4200000003", json!({"credentialType": "euin", "issuer": "print-01", "encrypt": true}))
        .await;
    let later = r["response"]["requestId"].as_str().unwrap().to_owned();
    t.clock.advance(time::Duration::minutes(61));
    let (_, _, body) = t.alone(&format!("/resident/v1/req/credential/cancel/{later}")).await;
    assert_eq!(first_error(&body), "RES-SER-29");
    assert_ne!(t.app.store.credential_request(&later).await.unwrap().unwrap().status.code(), "CANCELLED");
    let jane = t.owner_headers(JANE, "4200000004").await;
    let (_, _, body) = t.get_as(&format!("/resident/v1/req/credential/cancel/{later}"), &jane).await;
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["errors"], Value::Null);
}
