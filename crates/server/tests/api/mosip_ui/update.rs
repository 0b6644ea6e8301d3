//! Update my data from the app: its UI schema and the resident's values, proof documents uploaded
//! ahead, the update (`PATCH /update-uin`) and its refusals, the update in progress, a new email
//! proved by an OTP sent to it, transliteration.

use axum::body::Body;
use resident_testkit::{Db, on_both};
use serde_json::{Value, json};

use super::{JANE, Raw, TestApp, ui_envelope};

on_both!(a_resident_changes_their_address_with_a_proof_uploaded_ahead, a_new_email_is_proved_by_an_otp_sent_to_it,);

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

impl TestApp {
    /// The app's upload: multipart with the file in part `file`.
    async fn upload(&self, cookie: &str, txn: &str, query: &str, name: &str, content: &[u8]) -> Raw {
        let boundary = "----resident-test-boundary";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        self.ui_raw(
            "POST",
            &format!("/resident/v1/documents/{txn}?{query}"),
            &[("cookie", cookie), ("content-type", &content_type)],
            Body::from(body),
        )
        .await
    }

    /// The OTP of the newest email sent to `to`.
    fn otp_mailed_to(&self, to: &str) -> String {
        let outbox = self.db.dir.path().join("outbox");
        let mut mails: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml") && p.to_string_lossy().contains("-OTP-"))
            .filter(|p| std::fs::read_to_string(p).unwrap().contains(&format!("To: {to}")))
            .collect();
        mails.sort();
        let text = std::fs::read_to_string(mails.last().unwrap_or_else(|| panic!("no OTP mailed to {to}"))).unwrap();
        let body = text.split("\r\n\r\n").skip(1).collect::<Vec<_>>().join("\n");
        body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().to_owned()
    }
}

const POA: &str = "docCatCode=POA&docTypCode=RNC&langCode=eng&referenceId=undefined";

fn code(r: &Raw) -> String {
    r.json()["errors"][0]["errorCode"].as_str().unwrap_or_default().to_owned()
}

fn update(txn: Option<&str>, identity: Value) -> Value {
    ui_envelope("mosip.resident.updateuin", json!({"transactionID": txn, "consent": "Accepted", "identity": identity}))
}

/// Rabat, Agdal, as the app writes a chosen address: names per language, the postal code by code,
/// and an address line it added twice (once each time the resident left the field).
fn rabat_agdal() -> Value {
    let tagged = |e: &str, a: &str, f: &str| json!([{"language": "eng", "value": e}, {"language": "ara", "value": a}, {"language": "fra", "value": f}]);
    json!({
        "addressLine1": [
            {"language": "eng", "value": "27 Avenue de Franc"}, {"language": "eng", "value": "27 Avenue de France"},
            {"language": "ara", "value": "27 شارع فرنسا"}, {"language": "fra", "value": "27 avenue de France"},
        ],
        "region": tagged("Rabat Sale Kenitra", "الرباط سلا القنيطرة", "Rabat-Salé-Kénitra"),
        "province": tagged("Rabat", "الرباط", "Rabat"),
        "city": tagged("Rabat", "الرباط", "Rabat"),
        "zone": tagged("Agdal", "أكدال", "Agdal"),
        "postalCode": "10106",
    })
}

async fn a_resident_changes_their_address_with_a_proof_uploaded_ahead(kind: Db) {
    let Some(t) = TestApp::with_app(kind).await else { return };
    let jane = t.app_login(JANE).await;

    // the UI schema: the app's four tabs, address levels named as the location levels, proofs with
    // six labels, contacts with their validators; a date of birth needs a proof the app cannot upload
    let schema = t.ui_get("/resident/v1/auth-proxy/config/ui-schema/update-demographics", &jane).await.json();
    let entries = schema["identity"].as_array().unwrap();
    let entry = |name: &str| entries.iter().find(|e| e["attributeName"] == name).cloned();
    let names: Vec<&str> = entries.iter().map(|e| e["attributeName"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "fullName",
            "gender",
            "proofOfIdentity",
            "addressLine1",
            "addressLine2",
            "addressLine3",
            "region",
            "province",
            "city",
            "zone",
            "postalCode",
            "proofOfAddress",
            "email",
            "phone",
            "preferredLang"
        ]
    );
    let region = entry("region").unwrap();
    assert_eq!((region["controlType"].clone(), region["name"].clone()), (json!("dropdown"), json!("Region")));
    assert_eq!(entry("postalCode").unwrap()["locationHierarchyLevel"], 5);
    for lang in ["eng", "ara", "fra"] {
        assert_eq!(entry("proofOfAddress").unwrap()["labelName"][lang].as_array().unwrap().len(), 6);
        assert_eq!(entry("email").unwrap()["labelName"][lang].as_array().unwrap().len(), 4);
    }
    assert!(entry("phone").unwrap()["validators"][0]["validator"].as_str().unwrap().starts_with('^'));
    assert_eq!(entry("gender").unwrap()["controlType"], "dropdown");
    // the limits beside each field, and what is left of them
    let mapping = t.ui_get("/resident/v1/auth-proxy/config/identity-mapping", &jane).await.json();
    assert_eq!(mapping["attributeUpdateCountLimit"], json!({"dateOfBirth": 1, "fullName": 3, "gender": 2}));
    let count = t.ui_get("/resident/v1/identity/update-count", &jane).await.json();
    assert_eq!(count["errors"], json!([]), "{count}");
    assert!(
        count["response"]["attributes"]
            .as_array()
            .unwrap()
            .contains(&json!({"attributeName": "fullName", "noOfUpdatesLeft": 3}))
    );
    // the values, never a null; the address as the demo country has it
    let info = t.ui_get("/resident/v1/identity/info/type/update-demographics", &jane).await.json();
    assert_eq!(info["errors"], Value::Null);
    assert_eq!(info["response"]["postalCode"], "14022");
    assert_eq!(info["response"]["city"][0], json!({"language": "eng", "value": "Kenitra"}));
    assert!(info["response"].as_object().unwrap().values().all(|v| !v.is_null()));
    let drafts = t.ui_get("/resident/v1/identity/get-pending-drafts/eng", &jane).await.json();
    assert_eq!((drafts["response"].clone(), drafts["errors"].clone()), (json!({"drafts": []}), json!([])));

    // uploads refused, in MOSIP's order, and nothing kept
    let txn = "3141592653";
    for (path_txn, query, name, content, expected) in [
        ("31415", POA, "lease.pdf", PDF, "RES-SER-410"),
        (txn, "docCatCode=XYZ&docTypCode=RNC&langCode=eng&referenceId=1", "lease.pdf", PDF, "RES-SER-410"),
        (txn, "docCatCode=POA&docTypCode=CIN&langCode=eng&referenceId=1", "lease.pdf", PDF, "RES-SER-410"),
        (txn, "docCatCode=POA&docTypCode=RNC&langCode=xyz&referenceId=1", "lease.pdf", PDF, "RES-SER-410"),
        (txn, POA, "lease.exe", PDF, "RES-SER-516"),
        (txn, POA, "lease.pdf", PNG, "RES-SER-516"),
        (txn, POA, "lease.pdf", &[b'%'; 2_000_001], "RES-SER-514"),
        // a category no updatable field needs
        (txn, "docCatCode=POR&docTypCode=CRN&langCode=eng&referenceId=1", "lease.pdf", PDF, "RES-SER-410"),
    ] {
        let r = t.upload(&jane, path_txn, query, name, content).await;
        assert_eq!((r.status.as_u16(), code(&r)), (200, expected.to_owned()), "{query} {name}: {}", r.json());
    }
    assert_eq!(code(&t.ui_get(&format!("/resident/v1/documents/{txn}"), &jane).await), "RES-SER-461");

    // an address change without its proof is refused (MOSIP's "no document for this transaction"),
    // as are values masterdata does not know
    let no_proof = t.ui_send("PATCH", "/resident/v1/update-uin", &jane, update(Some(txn), rabat_agdal())).await;
    assert_eq!(code(&no_proof), "RES-SER-461", "{}", no_proof.json());
    assert!(no_proof.headers.get("eventid").is_none());

    // the proof, uploaded as the app does it, listed, deleted and uploaded again
    let up = t.upload(&jane, txn, POA, "lease.pdf", PDF).await.json();
    assert_eq!(up["errors"], json!([]), "{up}");
    assert_eq!(up["response"]["docName"], "lease.pdf");
    assert_eq!(up["response"]["docCatCode"], "poa");
    let doc_id = up["response"]["docId"].as_str().unwrap().to_owned();
    assert!(doc_id.len() >= 20);
    let listed = t.ui_get(&format!("/resident/v1/documents/{txn}"), &jane).await.json();
    assert_eq!(listed["response"][0]["docId"], json!(doc_id));
    let delete = |id: String, txn: &str| format!("/resident/v1/documents/{id}?transactionId={txn}");
    let gone = t.ui_raw("DELETE", &delete(doc_id.clone(), txn), &[("cookie", &jane)], Body::empty()).await.json();
    assert_eq!(gone["response"]["status"], "SUCCESS", "{gone}");
    let again = t.ui_raw("DELETE", &delete(doc_id, txn), &[("cookie", &jane)], Body::empty()).await;
    assert_eq!(code(&again), "RES-SER-461");
    let up = t
        .upload(&jane, txn, "docCatCode=POA&docTypCode=RNC&langCode=eng&referenceId=L-2026-77", "lease.pdf", PDF)
        .await;
    assert_eq!(up.json()["errors"], json!([]));

    for (identity, expected) in [
        (json!({"region": [{"language": "eng", "value": "Atlantis"}]}), "RES-SER-410"),
        (json!({"postalCode": "RSK"}), "RES-SER-410"),
        // a city of another province than the one named
        (
            json!({"province": [{"language": "eng", "value": "Kenitra"}], "city": [{"language": "eng", "value": "Rabat"}]}),
            "RES-SER-410",
        ),
        (json!({"preferredLang": "Klingon"}), "RES-SER-410"),
        (json!({"proofOfAddress": {"value": "lease", "type": "RNC", "format": "pdf"}}), "RES-SER-427"),
        (json!({"UIN": JANE}), "RES-SER-427"),
        (json!({}), "RES-SER-410"),
    ] {
        let r = t.ui_send("PATCH", "/resident/v1/update-uin", &jane, update(Some(txn), identity.clone())).await;
        assert_eq!(code(&r), expected, "{identity}: {}", r.json());
    }
    let mut no_consent = update(Some(txn), rabat_agdal());
    no_consent["request"]["consent"] = json!("Denied");
    assert_eq!(code(&t.ui_send("PATCH", "/resident/v1/update-uin", &jane, no_consent).await), "RES-SER-461");
    let bad_txn = t.ui_send("PATCH", "/resident/v1/update-uin", &jane, update(Some("12"), rabat_agdal())).await;
    assert_eq!(code(&bad_txn), "RES-SER-410");
    // another resident cannot use Jane's uploads: they are hers, under her transaction
    let amina = t.app_login(super::AMINA).await;
    let hers = t.ui_send("PATCH", "/resident/v1/update-uin", &amina, update(Some(txn), rabat_agdal())).await;
    assert_eq!(code(&hers), "RES-SER-461");

    // the update: an event, the uploads taken into its packet
    let done = t.ui_send("PATCH", "/resident/v1/update-uin", &jane, update(Some(txn), rabat_agdal())).await;
    let body = done.json();
    assert_eq!((body["errors"].clone(), body["response"]["status"].clone()), (Value::Null, json!("Success")), "{body}");
    let event = done.headers["eventid"].to_str().unwrap().to_owned();
    assert_eq!(code(&t.ui_get(&format!("/resident/v1/documents/{txn}"), &jane).await), "RES-SER-461");
    // in progress: a draft the app shows (not one to throw away), and no second update
    let drafts = t.ui_get("/resident/v1/identity/get-pending-drafts/fra", &jane).await.json();
    let draft = &drafts["response"]["drafts"][0];
    assert_eq!((draft["eid"].clone(), draft["cancellable"].clone()), (json!(event), json!(false)), "{drafts}");
    assert!(draft["aid"].as_str().unwrap().len() == 29);
    assert!(draft["attributes"].as_array().unwrap().contains(&json!("city")));
    let discard =
        t.ui_send("POST", &format!("/resident/v1/identity/discardPendingDraft/{event}"), &jane, json!({})).await;
    assert_eq!(code(&discard), "RES-SER-470");
    let discard = t.ui_send("POST", "/resident/v1/identity/discardPendingDraft/12", &jane, json!({})).await;
    assert_eq!(code(&discard), "RES-SER-410");
    t.upload(&jane, "2718281828", POA, "lease.pdf", PDF).await;
    let second = t.ui_send("PATCH", "/resident/v1/update-uin", &jane, update(Some("2718281828"), rabat_agdal())).await;
    assert_eq!(code(&second), "RES-SER-525");

    // the pipeline applies it: the app then shows the new address, each level in each language
    t.run_jobs().await;
    let info = t.ui_get("/resident/v1/identity/info/type/update-demographics", &jane).await.json();
    let r = &info["response"];
    assert_eq!(r["postalCode"], "10106");
    assert!(r["city"].as_array().unwrap().contains(&json!({"language": "ara", "value": "الرباط"})), "{r}");
    assert!(
        r["addressLine1"].as_array().unwrap().contains(&json!({"language": "eng", "value": "27 Avenue de France"}))
    );
    assert_eq!(r["addressLine1"].as_array().unwrap().len(), 3);
    let drafts = t.ui_get("/resident/v1/identity/get-pending-drafts/eng", &jane).await.json();
    assert_eq!(drafts["response"]["drafts"], json!([]));
}

async fn a_new_email_is_proved_by_an_otp_sent_to_it(kind: Db) {
    let Some(t) = TestApp::with_app(kind).await else { return };
    let jane = t.app_login(JANE).await;
    let send = |user: &str, txn: &str| {
        ui_envelope("mosip.resident.contact.details.send.otp.id", json!({"userId": user, "transactionId": txn}))
    };
    let confirm = |user: &str, txn: &str, otp: &str| {
        ui_envelope(
            "mosip.resident.contact.details.update.id",
            json!({"userId": user, "transactionId": txn, "otp": otp}),
        )
    };
    for (body, expected) in [
        (send("not-an-address", "5000000001"), "RES-SER-410"),
        (send("jane.doe@example.org", "5000000001"), "RES-SER-519"),
        (send("9876543210", "5000000001"), "RES-SER-520"),
        (send("jane.new@example.org", "50"), "RES-SER-410"),
    ] {
        let r = t.ui_send("POST", "/resident/v1/contact-details/send-otp", &jane, body).await;
        assert_eq!(code(&r), expected, "{}", r.json());
    }

    // the OTP goes to the new address only
    let sent = t
        .ui_send("POST", "/resident/v1/contact-details/send-otp", &jane, send("Jane.New@example.org", "5000000001"))
        .await
        .json();
    assert_eq!(sent["response"], json!({"message": "Email Request submitted", "status": "success"}), "{sent}");
    assert_eq!(sent["errors"], Value::Null);
    t.run_jobs().await;
    let otp = t.otp_mailed_to("Jane.New@example.org");
    let wrong = if otp == "111111" { "222222" } else { "111111" };

    // it works only for that address and that transaction, and a wrong one leaves no event
    for body in [
        confirm("Jane.New@example.org", "5000000001", wrong),
        confirm("other@example.org", "5000000001", &otp),
        confirm("Jane.New@example.org", "5000000002", &otp),
    ] {
        let r = t.ui_send("POST", "/resident/v1/contact-details/update-data", &jane, body).await;
        assert_eq!(code(&r), "RES-SER-422", "{}", r.json());
        assert_eq!(r.headers["eventid"], "NA");
    }
    // the address's case does not matter; the change is asked for, with its event
    let done = t
        .ui_send(
            "POST",
            "/resident/v1/contact-details/update-data",
            &jane,
            confirm("jane.new@example.org", "5000000001", &otp),
        )
        .await;
    let body = done.json();
    assert_eq!(body["response"], json!({"message": "VALIDATION_SUCCESSFUL", "status": "success"}), "{body}");
    assert_eq!(done.headers["eventid"].to_str().unwrap().len(), 16);
    // again: refused before the OTP is looked at while the change is in progress, then because the
    // address is already the identity's
    let again = || {
        t.ui_send(
            "POST",
            "/resident/v1/contact-details/update-data",
            &jane,
            confirm("jane.new@example.org", "5000000001", &otp),
        )
    };
    assert_eq!(code(&again().await), "RES-SER-525");
    t.run_jobs().await;
    let info = t.ui_get("/resident/v1/identity/info/type/update-demographics", &jane).await.json();
    assert_eq!(info["response"]["email"], "jane.new@example.org");
    assert_eq!(code(&again().await), "RES-SER-519");
    // a third address, its own OTP; replaying that changes nothing more
    let sent = t
        .ui_send("POST", "/resident/v1/contact-details/send-otp", &jane, send("jane.third@example.org", "5000000003"))
        .await;
    assert_eq!(sent.json()["errors"], Value::Null);
    t.run_jobs().await;
    let third = t.otp_mailed_to("jane.third@example.org");
    let ok = t
        .ui_send(
            "POST",
            "/resident/v1/contact-details/update-data",
            &jane,
            confirm("jane.third@example.org", "5000000003", &third),
        )
        .await;
    assert_eq!(ok.json()["errors"], Value::Null, "{}", ok.json());
    t.run_jobs().await;
    let replay = t
        .ui_send(
            "POST",
            "/resident/v1/contact-details/update-data",
            &jane,
            confirm("jane.third@example.org", "5000000003", &third),
        )
        .await;
    assert_eq!(code(&replay), "RES-SER-519");

    // transliteration into the resident's other scripts; same language refused as MOSIP words it
    let translit = |value: &str, from: &str, to: &str| {
        json!({"id": "mosip.resident.transliteration.transliterate", "version": "1.0",
               "requesttime": "2023-09-20T10:43:08.864Z",
               "request": {"from_field_value": value, "from_field_lang": from, "to_field_lang": to}})
    };
    let r = t
        .ui_send("POST", "/resident/v1/transliteration/transliterate", &jane, translit("Jane Doe", "eng", "ara"))
        .await
        .json();
    let arabic = r["response"]["to_field_value"].as_str().unwrap().to_owned();
    assert!(
        arabic.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))
            && !arabic.chars().any(|c| c.is_ascii_alphabetic()),
        "{r}"
    );
    assert_eq!(r["response"]["to_field_lang"], "ara");
    let r = t
        .ui_send("POST", "/resident/v1/transliteration/transliterate", &jane, translit("Jane", "eng", "eng"))
        .await
        .json();
    assert_eq!(r["errors"][0]["message"], "Invalid Input Parameter- 'from' and 'to' languages cannot be same");
    let r = t
        .ui_send("POST", "/resident/v1/transliteration/transliterate", &jane, translit("Jane", "eng", "xyz"))
        .await
        .json();
    assert_eq!(r["errors"][0]["errorCode"], "RES-SER-410");
    // nothing of this without a login
    let r = t.ui_send("POST", "/resident/v1/transliteration/transliterate", "", translit("Jane", "eng", "ara")).await;
    assert_eq!(r.status.as_u16(), 401);
}
