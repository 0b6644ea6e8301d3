//! The resident's ID card: a one-page PDF (A5 landscape) with the photo, the resident's details in each
//! of their languages, the UIN (full or masked), the issue date and a QR code carrying an
//! Ed25519-signed credential (compact JWS) of the demographic fields. The PDF is encrypted with
//! AES-256 (PDF 2.0, revision 6) under MOSIP's card password; the credential is also kept in the
//! PDF's (encrypted) document information, so `resident card verify` can check a card offline.

pub mod jws;
pub mod keys;
pub mod render;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use krilla::image::Image;
use krilla::page::PageSettings;
use krilla::{Document, metadata::Metadata};
use lopdf::encryption::crypt_filters::{Aes256CryptFilter, CryptFilter};
use lopdf::{EncryptionState, EncryptionVersion, Object, Permissions};
use rand::RngCore;
use resident_domain::card::{CardIssuer, CardRequest, CardType, IssuedCard, credential_claims};
use resident_domain::identity::IdentityJson;
use serde_json::Value;

use crate::keys::KeyRing;
use crate::render::{Align, PAGE_H, PAGE_W, Typography, fill, image_in_box, qr, rect};

/// The PDF document-information key that holds the credential.
pub const CREDENTIAL_KEY: &[u8] = b"ResidentCredential";

/// What the card looks like for this deployment.
#[derive(Debug, Clone)]
pub struct CardStyle {
    /// The issuing authority's name per language, e.g. `{"eng": "Republic of Examplia"}`.
    pub authority: BTreeMap<String, String>,
    /// The header band's colour.
    pub colour: [u8; 3],
    /// Deployment languages, in order (the first is the mandatory one).
    pub languages: Vec<String>,
    /// The credential's `iss`.
    pub issuer: String,
    /// The residents' time zone: the printed issue date is the local one.
    pub time_zone: jiff::tz::TimeZone,
}

fn rtl(lang: &str) -> bool {
    matches!(lang, "ara" | "heb" | "fas" | "urd")
}

/// Renders, signs and protects cards; holds the signing keys.
pub struct CardMaker {
    typography: Typography,
    style: CardStyle,
    keys_dir: PathBuf,
    keys: RwLock<(Option<std::time::SystemTime>, Arc<KeyRing>)>,
}

impl CardMaker {
    pub fn new(style: CardStyle, keys_dir: &Path, now: time::OffsetDateTime) -> Result<Self, String> {
        let ring = KeyRing::open(keys_dir, now)?;
        let stamp = std::fs::metadata(keys_dir).and_then(|m| m.modified()).ok();
        Ok(CardMaker {
            typography: Typography::new()?,
            style,
            keys_dir: keys_dir.to_owned(),
            keys: RwLock::new((stamp, Arc::new(ring))),
        })
    }

    /// The key ring, reloaded when an operator rotated or retired a key (the folder changed).
    pub fn ring(&self) -> Arc<KeyRing> {
        let stamp = std::fs::metadata(&self.keys_dir).and_then(|m| m.modified()).ok();
        if let Ok(guard) = self.keys.read()
            && guard.0 == stamp
        {
            return guard.1.clone();
        }
        match (KeyRing::open(&self.keys_dir, time::OffsetDateTime::UNIX_EPOCH), self.keys.write()) {
            (Ok(ring), Ok(mut guard)) => {
                *guard = (stamp, Arc::new(ring));
                guard.1.clone()
            }
            (_, Ok(guard)) => guard.1.clone(),
            (_, Err(poisoned)) => poisoned.into_inner().1.clone(),
        }
    }

    fn languages_of(&self, identity: &IdentityJson) -> Vec<String> {
        let present = |l: &str| {
            identity
                .0
                .get("fullName")
                .and_then(Value::as_array)
                .is_some_and(|items| items.iter().any(|i| i.get("language").and_then(Value::as_str) == Some(l)))
        };
        self.style.languages.iter().filter(|l| present(l)).cloned().collect()
    }

    fn draw(&self, request: &CardRequest<'_>, credential: &str, kid: &str) -> Result<Vec<u8>, String> {
        let t = &self.typography;
        let identity = request.identity;
        let langs = self.languages_of(identity);
        let ltr: Vec<&String> = langs.iter().filter(|l| !rtl(l)).collect();
        let rtls: Vec<&String> = langs.iter().filter(|l| rtl(l)).collect();
        let first = langs.first().cloned().unwrap_or_else(|| "eng".into());

        let mut document = Document::new();
        let mut metadata = Metadata::new()
            .title(t.label(&first, "title"))
            .creator("Resident Services".into())
            .producer("Resident Services".into());
        if let Some(l) = langs.first() {
            metadata = metadata.language(l.clone());
        }
        document.set_metadata(metadata);
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("page size")?;
        let mut page = document.start_page_with(settings);
        let mut s = page.surface();
        let right = PAGE_W - 28.0;
        let [r, g, b] = self.style.colour;

        // header band: authority and title, left in the first language, right in a right-to-left one
        rect(&mut s, 0.0, 0.0, PAGE_W, 66.0, fill(r, g, b));
        s.set_fill(Some(fill(255, 255, 255)));
        let authority = |l: &str| self.style.authority.get(l).or_else(|| self.style.authority.values().next());
        if let Some(a) = authority(&first) {
            t.line(&mut s, a, 28.0, 30.0, 17.0, true, Align::Left, false, 330.0);
        }
        t.line(&mut s, &t.label(&first, "title"), 28.0, 52.0, 11.0, false, Align::Left, false, 330.0);
        if let Some(l) = rtls.first() {
            if let Some(a) = self.style.authority.get(l.as_str()) {
                t.line(&mut s, a, right, 30.0, 16.0, true, Align::Right, true, 200.0);
            }
            t.line(&mut s, &t.label(l, "title"), right, 52.0, 11.0, false, Align::Right, true, 200.0);
        }

        // photo
        let shows = |attribute: &str| request.shows(attribute);
        if shows("photo") {
            let (px, py, pw, ph) = (28.0, 86.0, 118.0, 148.0);
            rect(&mut s, px, py, pw, ph, fill(232, 236, 240));
            let image = request.photo.and_then(|p| match p.format.as_str() {
                "png" => Image::from_png(p.content.clone().into(), true).ok(),
                "jpg" | "jpeg" => Image::from_jpeg(p.content.clone().into(), true).ok(),
                _ => None,
            });
            match image {
                Some(img) => image_in_box(&mut s, img, px, py, pw, ph),
                None => {
                    s.set_fill(Some(fill(90, 90, 90)));
                    t.line(
                        &mut s,
                        &t.label(&first, "noPhoto"),
                        px + pw / 2.0 - 30.0,
                        py + ph / 2.0,
                        9.0,
                        false,
                        Align::Left,
                        false,
                        pw,
                    );
                }
            }
        }

        // left column: left-to-right languages
        let grey = || fill(95, 100, 110);
        let ink = || fill(20, 24, 30);
        let x = 166.0;
        let col = 250.0;
        let mut y = 96.0;
        let label = |s: &mut krilla::surface::Surface<'_>, key: &str, y: f32| {
            s.set_fill(Some(grey()));
            let text: Vec<String> = ltr.iter().map(|l| t.label(l, key)).collect::<Vec<_>>();
            let mut uniq: Vec<String> = Vec::new();
            for v in text {
                if !uniq.contains(&v) {
                    uniq.push(v);
                }
            }
            t.line(s, &uniq.join(" / "), x, y, 7.5, false, Align::Left, false, col);
        };
        let values = |field: &str| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for l in &ltr {
                if let Some(v) = identity.localized_exact(field, l)
                    && !out.iter().any(|o| o == v)
                {
                    out.push(v.to_owned());
                }
            }
            out
        };
        if shows("fullName") {
            label(&mut s, "name", y);
            y += 15.0;
            s.set_fill(Some(ink()));
            for v in values("fullName") {
                t.line(&mut s, &v, x, y, 13.0, true, Align::Left, false, col);
                y += 16.0;
            }
            y += 4.0;
        }
        let dob = identity.text("dateOfBirth").map(display_date).unwrap_or_default();
        if shows("dateOfBirth") {
            label(&mut s, "dateOfBirth", y);
            y += 14.0;
            s.set_fill(Some(ink()));
            t.line(&mut s, &dob, x, y, 12.0, true, Align::Left, false, col);
            y += 18.0;
        }
        if shows("gender") {
            label(&mut s, "gender", y);
            y += 14.0;
            s.set_fill(Some(ink()));
            t.line(&mut s, &values("gender").join(" / "), x, y, 12.0, true, Align::Left, false, col);
            y += 20.0;
        }
        if shows("UIN") {
            let number_label = match request.card_type {
                CardType::Uin => "uin",
                CardType::MaskedUin => "maskedUin",
                CardType::Vid => "vid",
            };
            label(&mut s, number_label, y);
            y += 17.0;
            s.set_fill(Some(ink()));
            let shown = request.shown_number();
            let spaced: String = shown
                .chars()
                .collect::<Vec<_>>()
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join(" ");
            t.line(&mut s, &spaced, x, y, 16.0, true, Align::Left, false, col);
        }

        // right column: right-to-left languages
        for l in &rtls {
            let mut ry = 96.0;
            let field = |name: &str| identity.localized_exact(name, l).map(str::to_owned);
            for (key, value, size) in [
                ("name", field("fullName").filter(|_| shows("fullName")), 13.0),
                ("dateOfBirth", Some(dob.clone()).filter(|_| shows("dateOfBirth")), 12.0),
                ("gender", field("gender").filter(|_| shows("gender")), 12.0),
            ] {
                let Some(v) = value else { continue };
                s.set_fill(Some(grey()));
                t.line(&mut s, &t.label(l, key), right, ry, 7.5, false, Align::Right, true, 150.0);
                ry += 15.0;
                s.set_fill(Some(ink()));
                t.line(&mut s, &v, right, ry, size, true, Align::Right, true, 150.0);
                ry += 20.0;
            }
        }

        // address, then the QR code at the bottom right
        let qr_side = 142.0;
        let (qx, qy) = (PAGE_W - 28.0 - qr_side, PAGE_H - 24.0 - qr_side);
        let mut ay = 262.0;
        let claims_address = |l: &str| -> Option<String> {
            let parts: Vec<&str> = ["addressLine1", "addressLine2", "addressLine3", "city", "province", "region"]
                .iter()
                .filter_map(|f| identity.localized_exact(f, l))
                .filter(|v| !v.trim().is_empty())
                .collect();
            (!parts.is_empty()).then(|| {
                let mut line = parts.join(if rtl(l) { "، " } else { ", " });
                if let Some(pc) = identity.text("postalCode").filter(|p| *p != "NA") {
                    line.push(' ');
                    line.push_str(pc);
                }
                line
            })
        };
        let address_width = qx - 28.0 - 16.0;
        let mut first_label = true;
        for l in ltr.iter().chain(rtls.iter()).filter(|_| shows("fullAddress")) {
            let Some(line) = claims_address(l) else { continue };
            let is_rtl = rtl(l);
            let (ax, align) = if is_rtl { (qx - 16.0, Align::Right) } else { (28.0, Align::Left) };
            if first_label || is_rtl {
                s.set_fill(Some(grey()));
                t.line(&mut s, &t.label(l, "address"), ax, ay, 7.5, false, align, is_rtl, address_width);
                ay += 14.0;
                first_label = false;
            }
            s.set_fill(Some(ink()));
            for part in wrap(t, &line, 11.0, address_width, is_rtl) {
                t.line(&mut s, &part, ax, ay, 11.0, false, align, is_rtl, address_width);
                ay += 14.0;
            }
            ay += 4.0;
        }
        qr(&mut s, credential.as_bytes(), qx, qy, qr_side)?;

        // footer: issue date and signing key
        s.set_fill(Some(grey()));
        let day = resident_domain::clock::local(&self.style.time_zone, request.issued_at)
            .map(|l| format!("{:02}/{:02}/{:04}", l.day(), l.month(), l.year()))
            .unwrap_or_default();
        let issued = format!("{} {day}", t.label(&first, "issued"));
        t.line(&mut s, &issued, 28.0, PAGE_H - 24.0, 8.0, false, Align::Left, false, 200.0);
        t.line(&mut s, &format!("key {kid}"), 28.0, PAGE_H - 12.0, 6.0, false, Align::Left, false, 200.0);

        s.finish();
        page.finish();
        document.finish().map_err(|e| format!("{e:?}"))
    }
}

/// `yyyy/MM/dd` as `dd/MM/yyyy`.
fn display_date(dob: &str) -> String {
    let parts: Vec<&str> = dob.split('/').collect();
    match parts.as_slice() {
        [y, m, d] => format!("{d}/{m}/{y}"),
        _ => dob.to_owned(),
    }
}

/// Splits a line at spaces so each piece fits `width`.
fn wrap(t: &Typography, text: &str, size: f32, width: f32, rtl: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() { word.to_owned() } else { format!("{current} {word}") };
        if !current.is_empty() && t.width(&candidate, size, false, rtl) > width {
            lines.push(std::mem::take(&mut current));
            current = word.to_owned();
        } else {
            current = candidate;
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines.truncate(3);
    lines
}

/// Encrypts `pdf` (AES-256, revision 6) under `password`, with a random owner password, and keeps the
/// credential in the document information.
pub fn protect(pdf: &[u8], password: &str, credential: &str) -> Result<Vec<u8>, String> {
    let mut doc = lopdf::Document::load_mem(pdf).map_err(|e| format!("reading the card: {e}"))?;
    let info = match doc.trailer.get(b"Info").and_then(Object::as_reference) {
        Ok(id) => id,
        Err(_) => {
            let id = doc.add_object(lopdf::Dictionary::new());
            doc.trailer.set("Info", id);
            id
        }
    };
    match doc.get_object_mut(info) {
        Ok(Object::Dictionary(d)) => d.set(CREDENTIAL_KEY, Object::string_literal(credential)),
        _ => return Err("the card has no document information".into()),
    }
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let mut owner = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut owner);
    let owner = hex::encode(owner);
    let aes: Arc<dyn CryptFilter> = Arc::new(Aes256CryptFilter);
    let version = EncryptionVersion::V5 {
        encrypt_metadata: true,
        crypt_filters: BTreeMap::from([(b"StdCF".to_vec(), aes)]),
        file_encryption_key: &key,
        stream_filter: b"StdCF".to_vec(),
        string_filter: b"StdCF".to_vec(),
        owner_password: &owner,
        user_password: password,
        permissions: Permissions::PRINTABLE | Permissions::PRINTABLE_IN_HIGH_QUALITY | Permissions::COPYABLE,
    };
    let state = EncryptionState::try_from(version).map_err(|e| format!("encrypting the card: {e}"))?;
    doc.encrypt(&state).map_err(|e| format!("encrypting the card: {e}"))?;
    let mut out = Vec::with_capacity(pdf.len() + 1024);
    doc.save_to(&mut out).map_err(|e| format!("writing the card: {e}"))?;
    Ok(out)
}

/// The credential kept in a card PDF, read with the card's password.
pub fn credential_in_pdf(pdf: &[u8], password: &str) -> Result<String, String> {
    let doc = lopdf::Document::load_mem_with_options(pdf, lopdf::LoadOptions::with_password(password))
        .map_err(|_| "the card does not open with this password".to_owned())?;
    let info =
        doc.trailer.get(b"Info").and_then(Object::as_reference).map_err(|_| "the card has no document information")?;
    let dict = doc.get_dictionary(info).map_err(|_| "the card has no document information")?;
    let value = dict.get(CREDENTIAL_KEY).map_err(|_| "the card carries no credential")?;
    match value {
        Object::String(bytes, _) => String::from_utf8(bytes.clone()).map_err(|_| "the credential is not text".into()),
        _ => Err("the credential is not text".into()),
    }
}

impl CardMaker {
    /// A4 pages: the authority and title, labelled lines, then a table that flows onto further pages.
    fn plain(&self, doc: &resident_domain::card::PlainDocument) -> Result<Vec<u8>, String> {
        const W: f32 = 595.0;
        const H: f32 = 842.0;
        let t = &self.typography;
        let is_rtl = rtl(&doc.language);
        let (x, align) = if is_rtl { (W - 40.0, Align::Right) } else { (40.0, Align::Left) };
        let mut document = Document::new();
        document.set_metadata(
            Metadata::new().title(doc.title.clone()).creator("Resident Services".into()).language(doc.language.clone()),
        );
        let settings = PageSettings::from_wh(W, H).ok_or("page size")?;
        let [r, g, b] = self.style.colour;
        let authority = self
            .style
            .authority
            .get(&doc.language)
            .or_else(|| self.style.authority.values().next())
            .cloned()
            .unwrap_or_default();
        let columns = doc.headers.len().max(1);
        let col_w = (W - 80.0) / columns as f32;
        let col_x = |i: usize| if is_rtl { W - 40.0 - i as f32 * col_w } else { 40.0 + i as f32 * col_w };
        let mut rows = doc.rows.iter().peekable();
        let mut first = true;
        loop {
            let mut page = document.start_page_with(settings.clone());
            let mut s = page.surface();
            rect(&mut s, 0.0, 0.0, W, 50.0, fill(r, g, b));
            s.set_fill(Some(fill(255, 255, 255)));
            t.line(&mut s, &authority, x, 32.0, 14.0, true, align, is_rtl, W - 80.0);
            s.set_fill(Some(fill(20, 24, 30)));
            let mut y = 90.0;
            if first {
                t.line(&mut s, &doc.title, x, y, 18.0, true, align, is_rtl, W - 80.0);
                y += 30.0;
                for (label, value) in &doc.lines {
                    s.set_fill(Some(fill(95, 100, 110)));
                    t.line(&mut s, label, x, y, 9.0, false, align, is_rtl, W - 80.0);
                    y += 14.0;
                    s.set_fill(Some(fill(20, 24, 30)));
                    t.line(&mut s, value, x, y, 12.0, true, align, is_rtl, W - 80.0);
                    y += 22.0;
                }
                y += 10.0;
            }
            if !doc.headers.is_empty() {
                for (i, h) in doc.headers.iter().enumerate() {
                    t.line(&mut s, h, col_x(i), y, 9.0, true, align, is_rtl, col_w - 6.0);
                }
                y += 16.0;
                while let Some(row) = rows.peek() {
                    if y > H - 60.0 {
                        break;
                    }
                    for (i, cell) in row.iter().enumerate().take(columns) {
                        t.line(&mut s, cell, col_x(i), y, 9.0, false, align, is_rtl, col_w - 6.0);
                    }
                    y += 14.0;
                    rows.next();
                }
            }
            s.set_fill(Some(fill(95, 100, 110)));
            t.line(&mut s, &doc.footer, x, H - 30.0, 8.0, false, align, is_rtl, W - 80.0);
            s.finish();
            page.finish();
            first = false;
            if rows.peek().is_none() {
                break;
            }
        }
        document.finish().map_err(|e| format!("{e:?}"))
    }
}

impl CardIssuer for CardMaker {
    fn document(&self, doc: &resident_domain::card::PlainDocument) -> Result<Vec<u8>, String> {
        self.plain(doc)
    }

    fn claims(&self, request: &CardRequest<'_>) -> Value {
        let mut claims = credential_claims(request, &self.style.languages);
        claims["iss"] = Value::String(self.style.issuer.clone());
        let mut jti = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut jti);
        claims["jti"] = Value::String(hex::encode(jti));
        claims
    }

    fn render(&self, request: &CardRequest<'_>, credential: &str) -> Result<IssuedCard, String> {
        let key_id = jws::key_id(credential).ok_or("the credential names no key")?;
        let pdf = self.draw(request, credential, &key_id)?;
        let pdf = protect(&pdf, &request.password, credential)?;
        Ok(IssuedCard { pdf, credential: credential.to_owned(), key_id })
    }

    fn issue(&self, request: &CardRequest<'_>) -> Result<IssuedCard, String> {
        let ring = self.ring();
        let key = ring.active().ok_or("no card signing key")?;
        let credential = jws::sign(key, &self.claims(request));
        self.render(request, &credential)
    }

    fn jwks(&self) -> Value {
        self.ring().jwks()
    }

    fn sign(&self, claims: &Value) -> Result<String, String> {
        let ring = self.ring();
        let key = ring.active().ok_or("no card signing key")?;
        let mut claims = claims.clone();
        claims["iss"] = Value::String(self.style.issuer.clone());
        Ok(jws::sign(key, &claims))
    }
}

/// The embedded key manager: the card key ring, EdDSA.
#[async_trait::async_trait]
impl resident_domain::keymanager::KeyManager for CardMaker {
    async fn jwt_sign(&self, claims: &Value) -> Result<String, resident_domain::ResidentError> {
        let ring = self.ring();
        let key =
            ring.active().ok_or_else(|| resident_domain::ResidentError::Internal("no card signing key".into()))?;
        Ok(jws::sign(key, claims))
    }

    async fn published_keys(&self) -> Result<Value, resident_domain::ResidentError> {
        Ok(self.ring().jwks())
    }
}
