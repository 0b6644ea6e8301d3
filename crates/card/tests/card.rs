#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Cards opened with real tools: Debian's qpdf and poppler (pdftotext, pdftoppm) and zbar (zbarimg).
//! Without them the test fails on CI and is skipped elsewhere.

use std::collections::BTreeMap;
use std::process::Command;

use resident_card::keys::KeyRing;
use resident_card::{CardMaker, CardStyle, credential_in_pdf, jws};
use resident_domain::card::{CardIssuer, CardRequest, CardType, card_password};
use resident_domain::identity::IdentityJson;
use resident_domain::ids::{Uin, Vid};
use resident_domain::ports::NewDocument;
use serde_json::json;
use time::macros::datetime;

fn tools_present() -> bool {
    let ok =
        ["qpdf", "pdftotext", "pdftoppm", "zbarimg"].iter().all(|t| Command::new(t).arg("--version").output().is_ok());
    if !ok && std::env::var("CI").is_ok() {
        panic!("qpdf, poppler-utils and zbar-tools are required on CI");
    }
    ok
}

fn portrait() -> Vec<u8> {
    let (w, h) = (240u32, 300u32);
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let inside = ((x as i32 - 120).pow(2) + (y as i32 - 120).pow(2)) < 70 * 70
                || (y > 210 && (x as i32 - 120).abs() < 100);
            let c = if inside { [200u8, 160, 130] } else { [90u8, 120, 170] };
            data.extend_from_slice(&c);
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(&data).unwrap();

    out
}

fn identity() -> IdentityJson {
    IdentityJson(
        json!({
            "UIN": "5075291708",
            "fullName": [{"language": "eng", "value": "Jane Doe"}, {"language": "ara", "value": "جين دو"}, {"language": "fra", "value": "Jeanne Doe"}],
            "dateOfBirth": "1990/05/12",
            "gender": [{"language": "eng", "value": "Female"}, {"language": "ara", "value": "أنثى"}, {"language": "fra", "value": "Femme"}],
            "addressLine1": [{"language": "eng", "value": "7 Avenue Hassan II"}, {"language": "ara", "value": "7 شارع الحسن الثاني"}],
            "city": [{"language": "eng", "value": "Tangier"}, {"language": "ara", "value": "طنجة"}],
            "postalCode": "90000",
            "email": "jane.doe@example.org",
            "phone": "9876543210"
        })
        .as_object()
        .unwrap()
        .clone(),
    )
}

fn maker(dir: &std::path::Path) -> CardMaker {
    let style = CardStyle {
        authority: BTreeMap::from([
            ("eng".into(), "Republic of Examplia".into()),
            ("ara".into(), "جمهورية إكزامبليا".into()),
        ]),
        colour: [20, 70, 120],
        languages: vec!["eng".into(), "ara".into(), "fra".into()],
        issuer: "resident-services.test".into(),
        time_zone: jiff::tz::TimeZone::get("Asia/Dubai").unwrap(),
    };
    CardMaker::new(style, &dir.join("keys"), datetime!(2026-11-26 9:00 UTC)).unwrap()
}

#[test]
fn a_card_opens_only_with_its_password_and_its_qr_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let maker = maker(dir.path());
    let identity = identity();
    let uin = Uin::parse("5075291708").unwrap();
    let photo = NewDocument { category: "photo".into(), format: "png".into(), content: portrait() };
    let password = card_password(&identity, "eng").unwrap();
    assert_eq!(password, "JANE1990");
    let request = CardRequest {
        identity: &identity,
        uin: &uin,
        card_type: CardType::Uin,
        vid: None,
        shown: None,
        photo: Some(&photo),
        issued_at: datetime!(2026-12-31 23:30 UTC),
        password: password.clone(),
    };
    let card = maker.issue(&request).unwrap();
    assert!(card.pdf.starts_with(b"%PDF-"));
    assert!(card.pdf.len() < 150_000, "{} bytes", card.pdf.len());
    // nothing readable in the file itself
    assert!(!card.pdf.windows(8).any(|w| w == b"Jane Doe" || w == b"50752917"));

    // the credential verifies against the published keys; a changed byte does not
    let keys = KeyRing::open(&dir.path().join("keys"), datetime!(2026-11-26 9:00 UTC)).unwrap().verifying_keys();
    let verified = jws::verify(&card.credential, &keys).unwrap();
    assert_eq!(verified.claims["uin"], "5075291708");
    assert_eq!(verified.claims["name"]["ara"], "جين دو");
    assert_eq!(verified.claims["dob"], "1990/05/12");
    assert!(verified.claims.get("email").is_none() && verified.claims.get("phone").is_none());
    let mut forged = card.credential.clone().into_bytes();
    let i = forged.iter().position(|b| *b == b'.').unwrap() + 10;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    assert!(jws::verify(std::str::from_utf8(&forged).unwrap(), &keys).is_err());
    assert_eq!(credential_in_pdf(&card.pdf, &password).unwrap(), card.credential);
    assert!(credential_in_pdf(&card.pdf, "WRONG1990").is_err());

    if !tools_present() {
        return;
    }
    let path = dir.path().join("card.pdf");
    std::fs::write(&path, &card.pdf).unwrap();
    // qpdf: a password is required, a wrong one is refused, the right one decrypts a valid file
    let qpdf = |args: &[&str]| Command::new("qpdf").args(args).arg(&path).output().unwrap();
    assert_eq!(qpdf(&["--requires-password"]).status.code(), Some(0), "a password is required");
    let decrypted = dir.path().join("plain.pdf");
    let wrong =
        Command::new("qpdf").args(["--password=JANE1991", "--decrypt"]).arg(&path).arg(&decrypted).output().unwrap();
    assert!(!wrong.status.success(), "a wrong password must not open the card");
    let out = qpdf(&[&format!("--password={password}"), "--show-encryption"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && shown.contains("R = 6"), "{shown}");
    let out = qpdf(&[&format!("--password={password}"), "--check"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No syntax or stream encoding errors"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let text = |pw: Option<&str>| {
        let mut c = Command::new("pdftotext");
        if let Some(p) = pw {
            c.args(["-upw", p]);
        }
        let out = c.args([path.to_str().unwrap(), "-"]).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (ok, t) = text(None);
    assert!(!ok && t.is_empty(), "text without the password: {t}");
    let (ok, t) = text(Some(&password));
    assert!(ok);
    for expected in [
        "Jane Doe",
        "Jeanne Doe",
        "12/05/1990",
        "Female",
        "5075 2917 08",
        "Tangier",
        "90000",
        "Republic of Examplia",
        // issued at 23:30 UTC on 31 December: already 1 January in the residents' zone (Dubai, UTC+4)
        "01/01/2027",
    ] {
        assert!(t.contains(expected), "{expected} missing from:\n{t}");
    }
    for arabic in ["جين دو", "أنثى", "طنجة"] {
        assert!(t.contains(arabic), "{arabic} missing (shaping or ToUnicode):\n{t}");
    }

    // render, decode the QR, verify what it says
    let png = dir.path().join("card");
    let out = Command::new("pdftoppm")
        .args(["-upw", &password, "-r", "300", "-png", "-singlefile", path.to_str().unwrap(), png.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out =
        Command::new("zbarimg").args(["--raw", "-q", dir.path().join("card.png").to_str().unwrap()]).output().unwrap();
    let decoded = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(decoded, card.credential, "the QR code carries the credential");
    assert_eq!(jws::verify(&decoded, &keys).unwrap().claims["uin"], "5075291708");
    if let Ok(dest) = std::env::var("CARD_SAMPLE_DIR") {
        std::fs::copy(&path, format!("{dest}/card.pdf")).unwrap();
        std::fs::copy(dir.path().join("card.png"), format!("{dest}/card.png")).unwrap();
    }
}

#[test]
fn a_masked_card_hides_the_uin_and_keys_rotate_without_breaking_old_cards() {
    let dir = tempfile::tempdir().unwrap();
    let maker = maker(dir.path());
    let identity = identity();
    let uin = Uin::parse("5075291708").unwrap();
    let request = CardRequest {
        identity: &identity,
        uin: &uin,
        card_type: CardType::MaskedUin,
        vid: None,
        shown: None,
        photo: None,
        issued_at: datetime!(2026-11-26 9:00 UTC),
        password: "JANE1990".into(),
    };
    let old = maker.issue(&request).unwrap();
    let claims = &jws::verify(&old.credential, &maker.ring().verifying_keys()).unwrap().claims;
    assert_eq!(claims["uin"], "XXXXXX1708");
    assert_eq!(claims["typ"], "MASKED_UIN");
    // a VID card names the resident by the VID alone
    let vid = Vid::parse("5371843613598206").unwrap();
    let vid_card = maker.issue(&CardRequest { card_type: CardType::Vid, vid: Some(&vid), ..request.clone() }).unwrap();
    let claims = &jws::verify(&vid_card.credential, &maker.ring().verifying_keys()).unwrap().claims;
    assert_eq!((claims["typ"].as_str(), claims["vid"].as_str()), (Some("VID"), Some("5371843613598206")));
    assert!(claims.get("uin").is_none(), "{claims}");
    // a personalised card: only what was chosen, on the card and in its credential
    let chosen = ["fullName".to_owned(), "fullAddress".to_owned()];
    let personal = maker.issue(&CardRequest { shown: Some(&chosen), ..request.clone() }).unwrap();
    let claims = &jws::verify(&personal.credential, &maker.ring().verifying_keys()).unwrap().claims;
    assert!(claims.get("name").is_some() && claims.get("address").is_some(), "{claims}");
    for absent in ["uin", "dob", "gender"] {
        assert!(claims.get(absent).is_none(), "{absent}: {claims}");
    }

    // rotate: new cards use the new key, the old card still verifies
    let mut ring = KeyRing::open(&dir.path().join("keys"), datetime!(2026-11-26 9:00 UTC)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let new_key = ring.rotate(datetime!(2026-11-27 9:00 UTC)).unwrap();
    let new = maker.issue(&request).unwrap();
    assert_eq!(new.key_id, new_key.kid);
    assert_ne!(new.key_id, old.key_id);
    assert_eq!(maker.jwks()["keys"].as_array().unwrap().len(), 2);
    assert!(jws::verify(&old.credential, &maker.ring().verifying_keys()).is_ok());
    // retire the old key: its cards no longer verify
    ring.retire(&old.key_id).unwrap();
    let err = jws::verify(&old.credential, &maker.ring().verifying_keys()).unwrap_err();
    assert!(err.to_string().contains("not a published key"), "{err}");
    assert!(ring.retire(&new.key_id).is_err(), "the last key stays");
}
