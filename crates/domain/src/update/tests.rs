//! The request side of an update: decoding, the app's drafts, planning.

use super::*;
use crate::identity::Languages;
use serde_json::json;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-26 9:00 UTC);
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF\n";

fn schema() -> IdentitySchema {
    IdentitySchema::default_schema(Languages::default()).unwrap()
}

fn b64url(v: Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn current() -> IdentityJson {
    let doc = json!({"identity": {
        "UIN": "5075291708",
        "fullName": [{"language": "eng", "value": "Jane Doe"}, {"language": "ara", "value": "جين دو"}],
        "dateOfBirth": "1990/05/12",
        "gender": [{"language": "eng", "value": "Female"}],
        "city": [{"language": "eng", "value": "Kenitra"}],
        "email": "jane@example.org"
    }});
    schema().validate_new(&doc, NOW).unwrap()
}

fn decode(identity: Value, docs: &[(&str, &[u8])]) -> Result<DraftUpdate, ResidentError> {
    let docs: Vec<(String, String)> = docs.iter().map(|(n, b)| (n.to_string(), b64(b))).collect();
    decode_update(&schema(), &UpdatePolicy::default(), &b64url(json!({ "identity": identity })), &docs, NOW)
}

fn plan(identity: Value, docs: &[(&str, &[u8])], counts: &[(&str, u32)]) -> Result<UpdatePlan, ResidentError> {
    let counts = counts.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    plan_update(
        &schema(),
        &UpdatePolicy::default(),
        decode(identity, docs)?,
        &current(),
        &Uin::parse("5075291708").unwrap(),
        &counts,
        NOW,
    )
}

fn code(r: Result<impl std::fmt::Debug, ResidentError>) -> String {
    let e = r.unwrap_err();
    format!("{} {}", e.code(), e.message())
}

fn poa() -> Value {
    json!({"value": "lease", "type": "RNC", "format": "pdf"})
}

fn upload(id: &str, field: &str, doc_type: &str, at: OffsetDateTime) -> uploads::Upload {
    uploads::Upload {
        id: id.into(),
        token: crate::history::IdentityToken("jane".into()),
        transaction_id: "3141592653".into(),
        field: field.into(),
        category: if field == "proofOfAddress" { "POA".into() } else { "POI".into() },
        doc_type: doc_type.into(),
        name: format!("{id}.pdf"),
        reference: Some("L-77".into()),
        format: DocumentFormat::Pdf,
        content: PDF.to_vec(),
        created_at: at,
    }
}

#[test]
fn the_apps_update_reads_names_as_it_shows_them_and_takes_its_proofs_from_the_uploads() {
    let md = crate::masterdata::Masterdata::demo(&["eng".into(), "ara".into(), "fra".into()]).unwrap();
    let portal = |identity: Value, ups: &[uploads::Upload]| {
        draft_from_portal(&schema(), &md, identity.as_object().unwrap(), ups, NOW)
    };
    // a preferred language by its name becomes its code; the last entry per language is kept
    let d = portal(json!({"preferredLang": "French"}), &[]).unwrap();
    assert_eq!(d.identity["preferredLang"], "fra");
    let d = portal(
        json!({"city": [{"language": "eng", "value": "Fes"}, {"language": "eng", "value": "Rabat"},
                        {"language": "ara", "value": "الرباط"}]}),
        &[],
    )
    .unwrap();
    assert_eq!(
        d.identity["city"],
        json!([{"language": "eng", "value": "Rabat"}, {"language": "ara", "value": "الرباط"}])
    );
    // names masterdata does not have, at that level, in that language, are refused
    for bad in [
        json!({"city": [{"language": "eng", "value": "Atlantis"}]}),
        json!({"city": [{"language": "ara", "value": "Rabat"}]}),
        json!({"region": [{"language": "eng", "value": "Rabat"}]}),
        json!({"postalCode": "AGDL"}),
        json!({"gender": [{"language": "eng", "value": "Femme"}]}),
        json!({"preferredLang": "Klingon"}),
        json!({"city": [{"value": "Rabat"}]}),
    ] {
        assert!(code(portal(bad.clone(), &[])).starts_with("RES-SER-410"), "{bad}");
    }
    assert!(code(portal(json!({"proofOfAddress": poa()}), &[])).starts_with("RES-SER-427"));
    assert!(code(portal(json!({}), &[upload("a", "proofOfAddress", "RNC", NOW)])).starts_with("RES-SER-410"));
    // the newest upload of each proof goes with the change, as the packet writer names it
    let ups = [
        upload("old", "proofOfAddress", "COR", NOW),
        upload("new", "proofOfAddress", "RNC", NOW + time::Duration::minutes(1)),
        upload("id", "proofOfIdentity", "DOC001", NOW),
    ];
    let d = portal(json!({"postalCode": "10106"}), &ups).unwrap();
    assert_eq!(
        d.identity["proofOfAddress"],
        json!({"value": "proofOfAddress", "type": "RNC", "format": "pdf", "refNumber": "L-77"})
    );
    assert_eq!(d.documents.len(), 2);
    let plan = plan_update(
        &schema(),
        &UpdatePolicy::default(),
        d,
        &current(),
        &Uin::parse("5075291708").unwrap(),
        &BTreeMap::new(),
        NOW,
    )
    .unwrap();
    assert_eq!(plan.fields, ["postalCode"]);
}

#[test]
fn documents_are_judged_by_content() {
    assert_eq!(DocumentFormat::sniff(PDF), Some(DocumentFormat::Pdf));
    assert_eq!(DocumentFormat::sniff(b"%PDF-1.7 truncated"), None, "no end marker");
    assert_eq!(DocumentFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 0xFF, 0xD9]), Some(DocumentFormat::Jpeg));
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    assert_eq!(DocumentFormat::sniff(&png), Some(DocumentFormat::Png));
    assert_eq!(DocumentFormat::sniff(b"GIF89a......"), None);
    assert_eq!(DocumentFormat::sniff(b"<html><script>"), None);
    assert_eq!(DocumentFormat::sniff(b""), None);
}

#[test]
fn an_address_change_with_its_proof_is_planned() {
    let p = plan(
        json!({"city": [{"language": "eng", "value": "Tangier"}], "proofOfAddress": poa()}),
        &[("lease", PDF)],
        &[],
    )
    .unwrap();
    assert_eq!(p.fields, ["city"]);
    assert!(!p.needs_verification);
    assert_eq!(p.changes["proofOfAddress"], json!({"value": "proofOfAddress", "type": "RNC", "format": "pdf"}));
    assert_eq!(p.documents.len(), 1);
    assert_eq!(p.documents[0].field, "proofOfAddress");
}

#[test]
fn the_proof_rule_follows_the_schema() {
    let city = json!([{"language": "eng", "value": "Tangier"}]);
    assert_eq!(code(plan(json!({"city": city}), &[], &[])), "RES-SER-23 Could not find the submitted document");
    // a proof of identity does not prove an address
    let poi = json!({"value": "passport", "type": "DOC001", "format": "pdf"});
    assert_eq!(
        code(plan(json!({"city": city, "proofOfIdentity": poi}), &[("passport", PDF)], &[])),
        "RES-SER-23 Could not find the submitted document"
    );
    // a name change needs a proof of identity and an operator; email needs neither
    let name = json!([{"language": "eng", "value": "Jane Smith"}]);
    let p = plan(json!({"fullName": name, "proofOfIdentity": poi}), &[("passport", PDF)], &[]).unwrap();
    assert!(p.needs_verification);
    let p = plan(json!({"email": "jane.new@example.org"}), &[], &[]).unwrap();
    assert_eq!((p.fields.as_slice(), p.needs_verification), (&["email".to_owned()][..], false));
    // the document entry without its file
    assert_eq!(
        code(decode(json!({"city": city, "proofOfAddress": poa()}), &[])),
        "RES-SER-23 Could not find the submitted document"
    );
}

#[test]
fn only_updatable_fields_in_valid_formats() {
    assert_eq!(
        code(decode(json!({"residenceStatus": [{"language": "eng", "value": "FR"}]}), &[])),
        "RES-SER-427 Unsupported Input Parameter - identity/residenceStatus cannot be updated"
    );
    assert_eq!(
        code(decode(json!({"favouriteColour": "blue"}), &[])),
        "RES-SER-427 Unsupported Input Parameter - identity/favouriteColour"
    );
    assert_eq!(
        code(decode(json!({"dateOfBirth": "12/05/1990"}), &[])),
        "RES-SER-410 Invalid Input Parameter- identity/dateOfBirth"
    );
    assert_eq!(
        code(decode(json!({"city": [{"language": "deu", "value": "Tanger"}]}), &[])),
        "RES-SER-410 Invalid Input Parameter- identity/city"
    );
    assert_eq!(code(decode(json!({}), &[])), "RES-SER-410 Invalid Input Parameter- identityJson");
    let bad = decode_update(&schema(), &UpdatePolicy::default(), "%%%", &[], NOW);
    assert_eq!(code(bad), "RES-SER-410 Invalid Input Parameter- identityJson");
    let wrong_type = json!({"value": "lease", "type": "DOC024", "format": "pdf"});
    assert_eq!(
        code(decode(json!({"proofOfAddress": wrong_type}), &[("lease", PDF)])),
        "RES-SER-410 Invalid Input Parameter- identity/proofOfAddress/type"
    );
    let exe = json!({"value": "lease", "type": "RNC", "format": "exe"});
    assert_eq!(
        code(decode(json!({"proofOfAddress": exe}), &[("lease", PDF)])),
        "RES-SER-516 Unsupported file type. Supported file extensions: jpg, jpeg, png, pdf"
    );
}

#[test]
fn documents_are_checked_for_size_and_type() {
    let city = json!([{"language": "eng", "value": "Tangier"}]);
    let with = |bytes: &[u8]| decode(json!({"city": city, "proofOfAddress": poa()}), &[("lease", bytes)]);
    assert_eq!(
        code(with(b"#!/bin/sh\nrm -rf /\n")),
        "RES-SER-516 Unsupported file type. Supported file extensions: jpg, jpeg, png, pdf"
    );
    let mut big = PDF.to_vec();
    big.splice(9..9, std::iter::repeat_n(b' ', 2_000_000));
    assert_eq!(code(with(&big)), "RES-SER-514 File size cannot be more than 2MB.");
    let mut fits = PDF.to_vec();
    fits.splice(9..9, std::iter::repeat_n(b' ', 2_000_000 - PDF.len()));
    assert!(with(&fits).is_ok(), "exactly the limit is accepted");
    // a declared pdf that is really a PNG is stored as what it is
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    let p = plan(json!({"city": city, "proofOfAddress": poa()}), &[("lease", &png)], &[]).unwrap();
    assert_eq!(p.changes["proofOfAddress"]["format"], "png");
    assert_eq!(
        code(decode(json!({"city": city, "proofOfAddress": poa()}), &[("lease", PDF), ("lease", PDF)])),
        "RES-SER-410 Invalid Input Parameter- documents/name"
    );
}

#[test]
fn limits_uin_and_no_op_updates() {
    let name = json!([{"language": "eng", "value": "Jane Smith"}]);
    let poi = json!({"value": "passport", "type": "DOC001", "format": "pdf"});
    assert!(plan(json!({"fullName": name, "proofOfIdentity": poi}), &[("passport", PDF)], &[("fullName", 2)]).is_ok());
    assert_eq!(
        code(plan(json!({"fullName": name, "proofOfIdentity": poi}), &[("passport", PDF)], &[("fullName", 3)])),
        "RES-SER-526 Update count limit for the attributes exceeded:- fullName"
    );
    assert_eq!(
        code(plan(json!({"UIN": "2013023805", "email": "a@b.org"}), &[], &[])),
        "RES-SER-433 Individual Id in request and identity json UIN is not matching"
    );
    assert!(plan(json!({"UIN": "5075291708", "email": "a@b.org"}), &[], &[]).is_ok());
    // the same values in another order change nothing
    let same = json!([{"language": "ara", "value": "جين دو"}, {"language": "eng", "value": "Jane Doe"}]);
    let p = plan(json!({"fullName": same, "proofOfIdentity": poi}), &[("passport", PDF)], &[]).unwrap();
    assert!(p.fields.is_empty() && p.changes.contains_key("proofOfIdentity"), "a new proof alone is a change");
    assert!(!p.changes.contains_key("fullName"), "the same name in another order is not");
    assert_eq!(
        code(plan(json!({"email": "jane@example.org"}), &[], &[])),
        "RES-SER-410 Invalid Input Parameter- identityJson: nothing to change"
    );
}

#[test]
fn stage_codes_round_trip() {
    for s in UpdateStage::ALL {
        assert_eq!(UpdateStage::from_code(s.code()), Some(s));
        let job = serde_json::to_string(&StageJob { rid: "x".into(), stage: s }).unwrap();
        assert!(job.contains(s.code()), "{job}");
    }
}

#[test]
fn the_app_offers_what_it_can_prove_on_the_tab_of_its_proof() {
    let md = crate::masterdata::Masterdata::demo(&["eng".into(), "ara".into(), "fra".into()]).unwrap();
    let fields = app_fields(&schema(), &md);
    let shown: Vec<(&str, &str, &str)> =
        fields.iter().map(|f| (f.name.as_str(), f.tab.code(), f.control.code())).collect();
    assert_eq!(
        shown,
        [
            ("fullName", "identity", "textbox"),
            ("gender", "identity", "dropdown"),
            ("proofOfIdentity", "identity", "fileupload"),
            ("addressLine1", "address", "textbox"),
            ("addressLine2", "address", "textbox"),
            ("addressLine3", "address", "textbox"),
            ("region", "address", "dropdown"),
            ("province", "address", "dropdown"),
            ("city", "address", "dropdown"),
            ("zone", "address", "dropdown"),
            ("postalCode", "address", "dropdown"),
            ("proofOfAddress", "address", "fileupload"),
            ("email", "contact", "textbox"),
            ("phone", "contact", "textbox"),
            ("preferredLang", "notificationLanguage", "dropdown"),
        ],
        "the date of birth needs a proof of birth, which the app cannot upload"
    );
}
