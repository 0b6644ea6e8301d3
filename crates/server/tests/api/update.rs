//! "Update my details" end to end: `POST /req/update-uin`, the packet, the pipeline stages run as
//! jobs, manual verification by an operator, and what the resident sees.

use std::process::Command;

use base64::Engine as _;
use resident_domain::ids::{Rid, Uin};
use resident_domain::ports::{IdentityRegistry, RegistrationRepository, ServiceHistory, UpdateRepository};
use resident_domain::update::{StageOutcome, UpdateStage};
use resident_testkit::{Db, on_both, t0};
use serde_json::{Value, json};

use super::{JANE, TestApp, check_request, envelope};

on_both!(
    an_address_change_with_proof_goes_to_processed,
    a_name_change_waits_for_an_operator,
    a_rejected_change_leaves_everything_as_it_was,
    update_refuses_bad_input_like_mosip,
    a_tampered_packet_fails_validation_and_nothing_is_applied,
    a_stage_interrupted_by_a_crash_resumes_and_runs_once,
    concurrent_updates_for_one_resident_cannot_both_be_accepted,
    housekeeping_deletes_only_packets_no_update_refers_to,
);

const SARA: &str = "2013023805";

/// A small but well-formed PDF.
pub(crate) fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn identity_json(identity: Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!({ "identity": identity }).to_string())
}

pub(crate) fn new_address() -> Value {
    json!({
        "addressLine1": [{"language": "eng", "value": "7 Avenue Hassan II"}, {"language": "ara", "value": "7 شارع الحسن الثاني"}],
        "city": [{"language": "eng", "value": "Tangier"}],
        "postalCode": "90000",
        "proofOfAddress": {"value": "rental-contract", "type": "RNC", "format": "pdf"}
    })
}

pub(crate) fn update_body(uin: &str, trn: &str, otp: &str, identity: Value, docs: &[(&str, &[u8])]) -> Value {
    let documents: Vec<Value> = docs.iter().map(|(n, b)| json!({"name": n, "value": b64(b)})).collect();
    envelope(
        "mosip.resident.updateuin",
        json!({"transactionID": trn, "individualId": uin, "individualIdType": "UIN", "otp": otp,
               "identityJson": identity_json(identity), "documents": documents}),
    )
}

impl TestApp {
    pub(crate) async fn update(&self, uin: &str, trn: &str, identity: Value, docs: &[(&str, &[u8])]) -> Value {
        let otp = self.otp_for(uin, trn).await;
        let (status, r) = self.post("/resident/v1/req/update-uin", update_body(uin, trn, &otp, identity, docs)).await;
        assert_eq!(status, axum::http::StatusCode::OK, "{r}");
        r
    }

    async fn rid_status(&self, rid: &str) -> String {
        let (_, r) = self.check_status(check_request(rid)).await;
        r["response"]["ridStatus"].as_str().unwrap_or_default().to_owned()
    }

    pub(crate) async fn identity(&self, uin: &str) -> resident_domain::ports::StoredIdentity {
        self.app.store.find_identity(&Uin::parse(uin).unwrap()).await.unwrap().unwrap()
    }

    async fn stage_codes(&self, rid: &str) -> Vec<String> {
        let stages = self.app.store.stage_history(&Rid::parse(rid).unwrap()).await.unwrap();
        stages.iter().map(|s| format!("{}:{}", s.transaction_type.code(), s.status)).collect()
    }

    pub(crate) fn outbox_with(&self, template: &str) -> Vec<String> {
        std::fs::read_dir(self.db.dir.path().join("outbox"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(&format!("-{template}")))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    fn packet_files(&self) -> usize {
        let dir = self.db.dir.path().join("packets/RESIDENT/RES_UPDATE");
        std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
    }
}

async fn an_address_change_with_proof_goes_to_processed(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let before = t.identity(JANE).await;
    let r = t.update(JANE, "1000000001", new_address(), &[("rental-contract", &pdf())]).await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    assert_eq!(r["id"], "mosip.resident.updateuin");
    let rid = r["response"]["registrationId"].as_str().unwrap().to_owned();
    assert!(rid.starts_with("1000110080") && rid.len() == 29, "{rid}");
    assert_eq!(r["response"]["message"], "Notification has been sent to the provided contact detail(s)");
    assert_eq!(t.rid_status(&rid).await, "UNDER PROCESSING");
    assert_eq!(t.packet_files(), 1);
    // nothing changes before the pipeline runs
    assert_eq!(t.identity(JANE).await.identity, before.identity);

    t.run_jobs().await;
    assert_eq!(t.rid_status(&rid).await, "PROCESSED");
    assert_eq!(
        t.stage_codes(&rid).await,
        [
            "PACKET_RECEIVER:SUCCESS",
            "VALIDATE_PACKET:SUCCESS",
            "UIN_GENERATOR:SUCCESS",
            "NOTIFICATION:SUCCESS",
            "PRINT_SERVICE:SUCCESS"
        ]
    );
    let after = t.identity(JANE).await;
    assert_eq!(after.version, before.version + 1);
    assert_eq!(after.identity.localized("addressLine1", "ara"), Some("7 شارع الحسن الثاني"));
    assert_eq!(after.identity.localized("city", "eng"), Some("Tangier"));
    assert_eq!(after.identity.text("postalCode"), Some("90000"));
    assert_eq!(after.identity.localized("fullName", "eng"), before.identity.localized("fullName", "eng"));
    assert_eq!(after.identity.0["proofOfAddress"], json!({"value": "proofOfAddress", "type": "RNC", "format": "pdf"}));
    let doc = after.documents.iter().find(|d| d.category == "proofOfAddress").unwrap();
    assert_eq!((doc.format.as_str(), doc.content.as_slice()), ("pdf", pdf().as_slice()));
    // the old version is kept
    let resolved = t.app.store.find_update(&Rid::parse(&rid).unwrap()).await.unwrap().unwrap();
    let versions = t.app.store.identity_versions(&resolved.identity_id).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].0, before.version);
    assert_eq!(versions[0].1, before.identity);
    assert_eq!(resolved.stage, UpdateStage::Done);
    let counts = t.app.store.update_counts(&resolved.identity_id).await.unwrap();
    assert_eq!(counts.get("city"), Some(&1));

    // the resident's history follows the request to the end, and they were told at each end
    let events = t.app.store.events_for(&after.token, 0, 50).await.unwrap();
    let ev = events.iter().find(|e| e.aid.as_deref() == Some(rid.as_str())).unwrap();
    assert_eq!((ev.request_type.code(), ev.status_code.as_str()), ("UPDATE_MY_UIN", "PROCESSED"));
    assert_eq!(t.outbox_with("RS_UIN_UPDATE_SUCCESS").len(), 2, "email and SMS on receipt");
    let done = t.outbox_with("RS_UIN_UPDATE_DONE");
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|m| m.contains(&rid) && m.contains("addressLine1")), "{done:?}");
    // a second update is possible once the first is done; the packet is encrypted at rest
    let packet = std::fs::read(t.db.dir.path().join("packets/RESIDENT/RES_UPDATE").join(format!("{rid}.zip"))).unwrap();
    assert!(!packet.windows(6).any(|w| w == b"Tanger" || w == b"Tangie"), "the packet is not readable on disk");
    let audit = t.app.store.recent_audit(40).await.unwrap();
    for id in ["RES-SER-115", "RPR-RUP-001", "IDR-IDS-004"] {
        assert!(audit.iter().any(|a| a.event_id == id), "audit {id}");
    }
    assert!(audit.iter().all(|a| !a.description.contains("Tangier") && !a.description.contains(JANE)));
}

async fn a_name_change_waits_for_an_operator(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let before = t.identity(SARA).await;
    let name = json!({
        "fullName": [{"language": "eng", "value": "Sara Kim-Lee"}, {"language": "ara", "value": "سارة كيم لي"}],
        "proofOfIdentity": {"value": "passport", "type": "DOC001", "format": "pdf"}
    });
    let r = t.update(SARA, "1000000002", name, &[("passport", &pdf())]).await;
    let rid = r["response"]["registrationId"].as_str().unwrap().to_owned();
    t.run_jobs().await;
    assert_eq!(
        t.stage_codes(&rid).await,
        ["PACKET_RECEIVER:SUCCESS", "VALIDATE_PACKET:SUCCESS", "MANUAL_ADJUDICATION:IN_PROGRESS"]
    );
    let waiting = t.app.store.updates_in_stage(UpdateStage::Verify).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].fields, ["fullName"]);
    assert_eq!(t.identity(SARA).await.identity, before.identity, "nothing applied before the decision");

    // one update at a time
    let r2 = t.update(SARA, "1000000003", new_address(), &[("rental-contract", &pdf())]).await;
    assert_eq!(r2["errors"][0]["errorCode"], "RES-SER-525", "{r2}");
    assert_eq!(t.packet_files(), 1, "the refused request left no packet");

    // the operator approves; the pipeline goes on
    let audit_ctx = t.app.operator_context();
    let pipeline = t.app.pipeline(&audit_ctx);
    let rid_v = Rid::parse(&rid).unwrap();
    let operator = resident_domain::access::Operator::parse("test-operator").unwrap();
    let (_, packet, current) = pipeline.inspect(&rid_v, &operator).await.unwrap();
    assert_eq!(packet.changes()["fullName"][0]["value"], "Sara Kim-Lee");
    assert_eq!(current.localized("fullName", "eng"), Some("Sara Kim"));
    assert_eq!(pipeline.decide(&rid_v, true, "").await.unwrap(), StageOutcome::Moved(UpdateStage::Apply));
    assert_eq!(pipeline.decide(&rid_v, true, "").await.unwrap(), StageOutcome::AlreadyDone, "decided once");
    t.run_jobs().await;
    assert_eq!(t.rid_status(&rid).await, "PROCESSED");
    assert_eq!(t.identity(SARA).await.identity.localized("fullName", "eng"), Some("Sara Kim-Lee"));
    let stages = t.stage_codes(&rid).await;
    assert!(stages.contains(&"MANUAL_ADJUDICATION:SUCCESS".to_owned()), "{stages:?}");
    let audit = t.app.store.recent_audit(60).await.unwrap();
    assert!(audit.iter().any(|a| a.event_id == "RPR-MVS-001" && a.session_user_id.starts_with("operator:")));
    assert!(audit.iter().any(|a| a.event_id == "RPR-MVS-002"));
}

async fn a_rejected_change_leaves_everything_as_it_was(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let before = t.identity(JANE).await;
    let change = json!({
        "gender": [{"language": "eng", "value": "Male"}],
        "dateOfBirth": "1991/05/12",
        "proofOfIdentity": {"value": "id-card", "type": "CIN", "format": "pdf"},
        "proofOfDateOfBirth": {"value": "birth", "type": "COB", "format": "pdf"}
    });
    let r = t.update(JANE, "1000000004", change, &[("id-card", &pdf()), ("birth", &pdf())]).await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    let rid = r["response"]["registrationId"].as_str().unwrap().to_owned();
    t.run_jobs().await;
    let audit_ctx = t.app.operator_context();
    let outcome = t
        .app
        .pipeline(&audit_ctx)
        .decide(&Rid::parse(&rid).unwrap(), false, "the birth certificate is illegible")
        .await;
    assert_eq!(outcome.unwrap(), StageOutcome::Moved(UpdateStage::Rejected));
    t.run_jobs().await;
    assert_eq!(t.rid_status(&rid).await, "REJECTED");
    let after = t.identity(JANE).await;
    assert_eq!(after.identity, before.identity);
    assert_eq!(after.version, before.version);
    assert_eq!(after.documents, before.documents);
    let rec = t.app.store.find_update(&Rid::parse(&rid).unwrap()).await.unwrap().unwrap();
    assert!(t.app.store.identity_versions(&rec.identity_id).await.unwrap().is_empty());
    assert!(
        t.app.store.update_counts(&rec.identity_id).await.unwrap().is_empty(),
        "a rejected change counts for nothing"
    );
    assert_eq!(rec.reason.as_deref(), Some("the birth certificate is illegible"));
    let told = t.outbox_with("RS_UIN_UPDATE_REJECTED");
    assert_eq!(told.len(), 2);
    assert!(told.iter().all(|m| m.contains("illegible") && m.contains(&rid)));
    let events = t.app.store.events_for(&after.token, 0, 50).await.unwrap();
    let ev = events.iter().find(|e| e.aid.as_deref() == Some(rid.as_str())).unwrap();
    assert_eq!(ev.status_code, "REJECTED");
    assert!(t.app.store.recent_audit(10).await.unwrap().iter().any(|a| a.event_id == "RPR-MVS-003"));
    // the resident may try again
    let again = t.update(JANE, "1000000005", new_address(), &[("rental-contract", &pdf())]).await;
    assert_eq!(again["errors"], Value::Null, "{again}");
}

async fn update_refuses_bad_input_like_mosip(kind: Db) {
    // one OTP per refusal after the OTP check, all at the test's one instant
    let Some(t) = TestApp::build(kind, |c| c.otp.flooding_max = 100).await else { return };
    let regs = t.app.store.count_registrations().await.unwrap();
    let before = t.identity(JANE).await;
    let otp = t.otp_for(JANE, "1000000006").await;
    let body = |identity: Value, docs: &[(&str, &[u8])]| update_body(JANE, "1000000006", &otp, identity, docs);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = body(new_address(), &[("rental-contract", &pdf())]);
        f(&mut b);
        b
    };
    let address_without = |field: &str| {
        let mut a = new_address();
        a.as_object_mut().unwrap().remove(field);
        a
    };
    let mut big = pdf();
    big.splice(9..9, vec![b' '; 2_000_001]);
    // refused before the OTP is checked: the envelope, the fields MOSIP's validator checks, and a
    // document too large by its length alone (nothing is decoded before the OTP)
    let cases: Vec<(Value, &str, &str)> = vec![
        (with(&|b| b["request"]["otp"] = json!("")), "RES-SER-410", "Invalid Input Parameter- otp"),
        (with(&|b| b["request"]["transactionID"] = json!("")), "RES-SER-410", "Invalid Input Parameter- transactionId"),
        (
            with(&|b| b["request"]["individualId"] = json!("@345esddd")),
            "RES-SER-410",
            "Invalid Input Parameter- individualId",
        ),
        (with(&|b| b["id"] = json!("@3453#")), "RES-SER-410", "Invalid Input Parameter- id"),
        (with(&|b| b["version"] = json!("@er45")), "RES-SER-410", "Invalid Input Parameter- version"),
        (with(&|b| b["requesttime"] = json!("ESTA")), "RES-SER-410", "Invalid Input Parameter- requesttime"),
        (with(&|b| b["request"]["identityJson"] = json!("")), "RES-SER-410", "Invalid Input Parameter- identityJson"),
        (body(new_address(), &[("rental-contract", &big)]), "RES-SER-514", "File size cannot be more than 2MB."),
    ];
    for (req, code, message) in cases {
        let (status, r) = t.post("/resident/v1/req/update-uin", req).await;
        assert_eq!(status, axum::http::StatusCode::OK, "{r}");
        assert_eq!(r["errors"][0]["errorCode"], code, "{message}: {r}");
        assert_eq!(r["errors"][0]["message"], message, "{r}");
        assert_eq!(r["response"], Value::Null);
    }
    // everything that needs decoding or the identity comes after the OTP check: each uses up its OTP
    let pdf_bytes = pdf();
    type Case<'a> = (Value, Vec<(&'a str, &'a [u8])>, &'a str, &'a str);
    let not_base64 = json!("not base64 json!");
    let after_otp: Vec<Case> = vec![
        (not_base64.clone(), vec![], "RES-SER-410", "Invalid Input Parameter- identityJson"),
        (json!({"email": "not-an-email"}), vec![], "RES-SER-410", "Invalid Input Parameter- identity/email"),
        (
            json!({"individualBiometrics": {"format": "cbeff", "version": 1.0, "value": "x"}}),
            vec![],
            "RES-SER-427",
            "Unsupported Input Parameter - identity/individualBiometrics cannot be updated",
        ),
        (json!({"nickname": "JD"}), vec![], "RES-SER-427", "Unsupported Input Parameter - identity/nickname"),
        (new_address(), vec![], "RES-SER-23", "Could not find the submitted document"),
        (
            new_address(),
            vec![("rental-contract", b"MZ\x90\x00 this is a program, not a document")],
            "RES-SER-516",
            "Unsupported file type. Supported file extensions: jpg, jpeg, png, pdf",
        ),
        (
            {
                let mut a = new_address();
                a["proofOfAddress"]["type"] = json!("DOC024");
                a
            },
            vec![("rental-contract", &pdf_bytes)],
            "RES-SER-410",
            "Invalid Input Parameter- identity/proofOfAddress/type",
        ),
        (
            new_address(),
            vec![("someone-elses-file", &pdf_bytes)],
            "RES-SER-410",
            "Invalid Input Parameter- documents/name",
        ),
        (address_without("proofOfAddress"), vec![], "RES-SER-23", "Could not find the submitted document"),
        (
            {
                let mut a = new_address();
                a["UIN"] = json!(SARA);
                a
            },
            vec![("rental-contract", &pdf_bytes)],
            "RES-SER-433",
            "Individual Id in request and identity json UIN is not matching",
        ),
        (
            json!({"phone": "9876543210"}),
            vec![],
            "RES-SER-410",
            "Invalid Input Parameter- identityJson: nothing to change",
        ),
        (
            json!({"dateOfBirth": "1990/05/12"}),
            vec![],
            "RES-SER-410",
            "Invalid Input Parameter- identityJson: nothing to change",
        ),
    ];
    let refusals_after_otp = after_otp.len();
    for (i, (identity, docs, code, message)) in after_otp.into_iter().enumerate() {
        let trn = format!("20000000{i:02}");
        let otp = t.otp_for(JANE, &trn).await;
        let mut req = update_body(JANE, &trn, &otp, identity.clone(), &docs);
        if identity == not_base64 {
            req["request"]["identityJson"] = not_base64.clone();
        }
        let (_, r) = t.post("/resident/v1/req/update-uin", req).await;
        assert_eq!(r["errors"][0]["errorCode"], code, "{message}: {r}");
        assert_eq!(r["errors"][0]["message"], message, "{r}");
        // the OTP was used by the refused request
        let again = update_body(JANE, &trn, &otp, new_address(), &[("rental-contract", &pdf_bytes)]);
        let (_, r) = t.post("/resident/v1/req/update-uin", again).await;
        assert_eq!(r["errors"][0]["errorCode"], "RES-SER-422", "{r}");
    }
    t.run_jobs().await;
    let refused = t.outbox_with("RS_UIN_UPDATE_FAILURE");
    assert_eq!(
        refused.len(),
        2 * refusals_after_otp,
        "the resident hears of each refusal after the OTP, by email and SMS"
    );
    assert!(refused.iter().any(|m| m.contains("Could not find the submitted document")));
    assert_eq!(t.app.store.count_registrations().await.unwrap(), regs, "nothing is stored for a rejected request");
    assert_eq!(t.packet_files(), 0);
    assert_eq!(t.identity(JANE).await.identity, before.identity);
    // a wrong OTP; the refusals before the OTP check left the right one unused
    let (_, r) = t.post("/resident/v1/req/update-uin", with(&|b| b["request"]["otp"] = json!("000000"))).await;
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-422", "{r}");
    assert_eq!(r["errors"][0]["message"], "OTP is invalid");
    let (_, r) = t.post("/resident/v1/req/update-uin", with(&|_| {})).await;
    assert_eq!(r["errors"], Value::Null, "{r}");
    // a body over the limit is refused before it is read
    let huge = "x".repeat(resident_web::UPDATE_BODY_LIMIT + 1);
    let (_, r) = t.call("POST", "/resident/v1/req/update-uin", &[("content-type", "application/json")], huge).await;
    assert!(r["errors"][0]["errorCode"].as_str().is_some_and(|c| c.starts_with("RES-SER-4")), "{r}");
}

async fn a_tampered_packet_fails_validation_and_nothing_is_applied(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let before = t.identity(JANE).await;
    let r = t.update(JANE, "1000000007", new_address(), &[("rental-contract", &pdf())]).await;
    let rid = r["response"]["registrationId"].as_str().unwrap().to_owned();
    let path = t.db.dir.path().join("packets/RESIDENT/RES_UPDATE").join(format!("{rid}.zip"));
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    t.run_jobs().await;
    assert_eq!(t.rid_status(&rid).await, "REJECTED");
    let stages = t.app.store.stage_history(&Rid::parse(&rid).unwrap()).await.unwrap();
    let last = stages.last().unwrap();
    assert_eq!((last.transaction_type.code(), last.status.as_str()), ("VALIDATE_PACKET", "REJECTED"));
    assert!(last.comment.contains("decryption failed"), "{}", last.comment);
    let after = t.identity(JANE).await;
    assert_eq!((after.identity, after.version), (before.identity, before.version));
    assert!(t.outbox_with("RS_UIN_UPDATE_DONE").is_empty());
}

async fn a_stage_interrupted_by_a_crash_resumes_and_runs_once(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let r = t.update(JANE, "1000000008", new_address(), &[("rental-contract", &pdf())]).await;
    let rid = r["response"]["registrationId"].as_str().unwrap().to_owned();
    let rid_v = Rid::parse(&rid).unwrap();
    // notifications first, so the next job is the validation stage
    loop {
        let job = t.app.store.claim_job("peek", t0(), std::time::Duration::from_millis(1)).await.unwrap().unwrap();
        if job.kind == "update-stage" {
            // a worker took the job, ran the stage, and died before it could mark the job done
            let audit = t.app.operator_context();
            let pipeline = t.app.pipeline(&audit);
            assert_eq!(
                pipeline.run_stage(&rid_v, UpdateStage::Validate).await.unwrap(),
                StageOutcome::Moved(UpdateStage::Apply)
            );
            break;
        }
        assert!(t.app.store.complete_job(&job, "peek").await.unwrap());
    }
    // then the apply stage's worker dies the same way
    let job = t.app.store.claim_job("crashed", t0(), std::time::Duration::from_secs(60)).await.unwrap().unwrap();
    assert!(job.payload.contains("APPLY"), "{}", job.payload);
    {
        let audit = t.app.operator_context();
        let pipeline = t.app.pipeline(&audit);
        assert_eq!(
            pipeline.run_stage(&rid_v, UpdateStage::Apply).await.unwrap(),
            StageOutcome::Moved(UpdateStage::Notify)
        );
    }
    // the leases expire; a new worker takes both jobs again and finishes the pipeline
    t.clock.advance(time::Duration::minutes(10));
    t.run_jobs().await;
    assert_eq!(t.rid_status(&rid).await, "PROCESSED");
    let stages = t.stage_codes(&rid).await;
    assert_eq!(
        stages,
        [
            "PACKET_RECEIVER:SUCCESS",
            "VALIDATE_PACKET:SUCCESS",
            "UIN_GENERATOR:SUCCESS",
            "NOTIFICATION:SUCCESS",
            "PRINT_SERVICE:SUCCESS"
        ],
        "every stage exactly once"
    );
    let rec = t.app.store.find_update(&rid_v).await.unwrap().unwrap();
    assert_eq!(t.app.store.identity_versions(&rec.identity_id).await.unwrap().len(), 1, "applied once");
    assert_eq!(t.app.store.update_counts(&rec.identity_id).await.unwrap().get("city"), Some(&1));
    assert_eq!(t.outbox_with("RS_UIN_UPDATE_DONE").len(), 2, "notified once");
    assert!(t.app.store.job_counts().await.unwrap().is_empty(), "no job left behind");
}

async fn concurrent_updates_for_one_resident_cannot_both_be_accepted(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let otp1 = t.otp_for(JANE, "1000000009").await;
    let otp2 = t.otp_for(JANE, "1000000010").await;
    let a = update_body(JANE, "1000000009", &otp1, new_address(), &[("rental-contract", &pdf())]);
    let mut other = new_address();
    other["city"] = json!([{"language": "eng", "value": "Agadir"}]);
    let b = update_body(JANE, "1000000010", &otp2, other, &[("rental-contract", &pdf())]);
    let (ra, rb) = tokio::join!(t.post("/resident/v1/req/update-uin", a), t.post("/resident/v1/req/update-uin", b));
    let results = [ra.1, rb.1];
    let accepted = results.iter().filter(|r| r["errors"].is_null()).count();
    assert_eq!(accepted, 1, "{results:?}");
    let refused = results.iter().find(|r| !r["errors"].is_null()).unwrap();
    assert_eq!(refused["errors"][0]["errorCode"], "RES-SER-525");
    assert_eq!(t.packet_files(), 1);
}

/// The operator's commands, run as an operator would (SQLite: the binary opens the same data folder).
#[tokio::test]
async fn operator_lists_shows_and_rejects_with_the_cli() {
    let Some(t) = TestApp::new(Db::Sqlite).await else { return };
    let name = json!({
        "fullName": [{"language": "eng", "value": "Jane Doe-Smith"}],
        "proofOfIdentity": {"value": "passport", "type": "DOC001", "format": "pdf"}
    });
    let r = t.update(JANE, "1000000011", name, &[("passport", &pdf())]).await;
    let rid = r["response"]["registrationId"].as_str().unwrap().to_owned();
    t.run_jobs().await;
    let dir = t.db.dir.path().to_owned();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_resident"))
            .args(["--data-dir", dir.to_str().unwrap(), "--database-url", &t.db.url, "admin", "verification"])
            .args(args)
            .current_dir(&dir)
            .env("RUST_LOG", "warn")
            .env_remove("RESIDENT_OPERATOR")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let access_log = |args: &[&str], operator: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_resident"));
        c.args(["--data-dir", dir.to_str().unwrap(), "--database-url", &t.db.url, "admin", "access-log"])
            .args(args)
            .current_dir(&dir)
            .env("RUST_LOG", "warn")
            .env_remove("RESIDENT_OPERATOR");
        if let Some(o) = operator {
            c.env("RESIDENT_OPERATOR", o);
        }
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["list"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&rid) && out.contains("fullName"), "{out}");
    let docs = dir.join("review");
    // nobody reads a resident's data without being named
    let (code, out, err) = run(&["show", &rid, "--out", docs.to_str().unwrap()]);
    assert_ne!(code, Some(0));
    assert!(err.contains("--operator NAME or RESIDENT_OPERATOR") && !out.contains("Jane"), "{err}");
    assert!(!docs.exists(), "nothing was written");
    let (code, out, err) = run(&["show", &rid, "--out", docs.to_str().unwrap(), "--operator", "amina.k"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("now:      eng: Jane Doe") && out.contains("proposed: eng: Jane Doe-Smith"), "{out}");
    assert_eq!(std::fs::read(docs.join("proofOfIdentity.pdf")).unwrap(), pdf());
    let (code, _, err) = run(&["reject", &rid, "--reason", ""]);
    assert_ne!(code, Some(0));
    assert!(err.contains("--reason"), "{err}");
    let (code, out, err) = run(&["reject", &rid, "--reason", "the passport has expired"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("rejected"), "{out}");
    let (code, _, err) = run(&["approve", &rid]);
    assert_eq!(code, Some(1), "a decided update cannot be decided again: {err}");
    assert_eq!(t.rid_status(&rid).await, "REJECTED");
    assert_eq!(t.identity(JANE).await.identity.localized("fullName", "eng"), Some("Jane Doe"));

    // oversight: who read Jane's data, and what amina.k read; each query needs a name and a reason
    let (code, _, err) = access_log(&["--identity", JANE, "--reason", "complaint 7"], None);
    assert_ne!(code, Some(0));
    assert!(err.contains("--by NAME or RESIDENT_OPERATOR"), "{err}");
    let (code, _, err) = access_log(&["--identity", JANE, "--reason", ""], Some("sam"));
    assert_ne!(code, Some(0));
    assert!(err.contains("--reason"), "{err}");
    let (code, out, err) = access_log(&["--identity", JANE, "--reason", "complaint 7"], Some("sam"));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("MANUAL_VERIFICATION") && out.contains(&rid) && out.contains("amina.k"), "{out}");
    assert!(out.contains("OVERSIGHT") && out.contains("complaint 7"), "the query itself is recorded: {out}");
    assert!(!out.contains(JANE) && !out.contains("Jane Doe"), "{out}");
    let (code, out, err) = access_log(&["--operator", "amina.k", "--reason", "quarterly review"], Some("sam"));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("reads by operator amina.k: 1 records") && out.contains(&rid), "{out}");
    let audit = t.app.store.recent_audit(20).await.unwrap();
    assert!(audit.iter().any(|a| a.event_id == "RES-DAL-001" && a.session_user_id == "operator:sam"));
    assert!(audit.iter().any(|a| a.event_id == "RPR-MVS-001" && a.session_user_id == "operator:amina.k"));
}

/// A process that dies between writing a packet and recording its update leaves an encrypted packet
/// nobody refers to; housekeeping deletes it (and unfinished writes) once it is an hour old, and
/// leaves recorded updates' packets, younger files and files that are not packets alone.
async fn housekeeping_deletes_only_packets_no_update_refers_to(kind: Db) {
    let Some(t) = TestApp::new(kind).await else { return };
    let r = t.update(JANE, "1000000010", new_address(), &[("rental-contract", &pdf())]).await;
    let rid = r["response"]["registrationId"].as_str().unwrap().to_owned();
    let folder = t.db.dir.path().join("packets/RESIDENT/RES_UPDATE");
    let recorded = folder.join(format!("{rid}.zip"));
    let bytes = std::fs::read(&recorded).unwrap();
    let orphan = folder.join("10001100010099920261126070000.zip");
    let young = folder.join("10001100010099820261126085500.zip");
    let unfinished = folder.join(".5b0c9d7e.tmp");
    let foreign = folder.join("README.txt");
    for f in [&orphan, &young, &unfinished, &foreign] {
        std::fs::write(f, &bytes).unwrap();
    }
    // file times are set against the test's clock (t0)
    let at = |minutes_before: i64| std::time::SystemTime::from(t0() - time::Duration::minutes(minutes_before));
    for (f, age) in [(&recorded, 120), (&orphan, 120), (&unfinished, 120), (&foreign, 120), (&young, 10)] {
        std::fs::File::options().write(true).open(f).unwrap().set_modified(at(age)).unwrap();
    }
    let swept = t.app.housekeeper().once().await.unwrap();
    assert_eq!(swept.packets, 2);
    assert!(!orphan.exists() && !unfinished.exists());
    assert!(recorded.exists() && young.exists() && foreign.exists());
    // the recorded update still goes through
    t.run_jobs().await;
    assert_eq!(t.rid_status(&rid).await, "PROCESSED");
}
