//! Resident update packets, following MOSIP's packet layout as a guide.
//!
//! A packet is a container zip holding three sub-packets (`id`, `evidence`, `optional`), each a zip
//! of `ID.json`, the documents, `packet_meta_info.json` and `packet_data_hash.txt` (the `id` sub-packet
//! also holds `audit.json`). Each sub-packet is signed with the resident machine's Ed25519 key and
//! encrypted with XChaCha20-Poly1305; its metadata file (`<RID>_<sub>.json`) carries the signature,
//! the hash of the encrypted bytes and the signer's key id. The container is then encrypted once more
//! with the RID as associated data, so a packet cannot be moved to another RID.
//!
//! Machines register their public keys in the database (MOSIP's machine master); a packet signed by a
//! key that is not registered does not open.

use std::io::{Cursor, Read, Write};
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::RngCore;
use resident_domain::identity::IdentityJson;
use resident_domain::ids::Rid;
use resident_domain::ports::{MachineKeys, NewDocument, PacketCodec};
use resident_domain::update::{PacketAudit, PacketFault, UpdatePacket};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

const MAGIC: &[u8] = b"RSPKT1";
const SUB_PACKETS: [&str; 3] = ["id", "evidence", "optional"];
const SOURCE: &str = "RESIDENT";
/// Largest entry read back from a packet (a document is at most a few MB).
const MAX_ENTRY: u64 = 16 * 1024 * 1024;

/// The resident machine's keys: the Ed25519 signing key and the packet encryption key.
#[derive(Clone)]
pub struct PacketKeys {
    signing: SigningKey,
    encryption: [u8; 32],
}

impl std::fmt::Debug for PacketKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PacketKeys(signer {})", self.key_id())
    }
}

/// The id of a public key: the first 16 hex digits of its SHA-256.
pub fn key_id(public: &[u8]) -> String {
    hex::encode(Sha256::digest(public))[..16].to_owned()
}

impl PacketKeys {
    pub fn new(signing_seed: [u8; 32], encryption: [u8; 32]) -> Self {
        PacketKeys { signing: SigningKey::from_bytes(&signing_seed), encryption }
    }

    /// Loads the signing key from `path` (base64 of the 32-byte seed), creating it (mode 0600) on
    /// first use.
    pub fn load_or_create_signing_seed(path: &Path) -> Result<[u8; 32], String> {
        let b64 = base64::engine::general_purpose::STANDARD;
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let bytes = b64.decode(text.trim()).map_err(|_| format!("{}: not base64", path.display()))?;
            return bytes.try_into().map_err(|_| format!("{}: not a 32-byte Ed25519 seed", path.display()));
        }
        if let Some(dir) = path.parent() {
            resident_files::private_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        resident_files::write_new(path, b64.encode(seed).as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(seed)
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    pub fn key_id(&self) -> String {
        key_id(&self.public_key())
    }
}

fn seal(key: &[u8; 32], aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, String> {
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(key.into());
    let ct = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(|_| "encryption failed".to_owned())?;
    let mut out = Vec::with_capacity(24 + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, String> {
    if sealed.len() < 24 + 16 {
        return Err("too short".into());
    }
    let (nonce, ct) = sealed.split_at(24);
    XChaCha20Poly1305::new(key.into())
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
        .map_err(|_| "decryption failed (wrong key, or the bytes were changed)".to_owned())
}

fn zip_of(entries: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    // documents are already compressed formats and everything is encrypted: store, do not deflate
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in entries {
        w.start_file(name.as_str(), options).map_err(|e| e.to_string())?;
        w.write_all(bytes).map_err(|e| e.to_string())?;
    }
    Ok(w.finish().map_err(|e| e.to_string())?.into_inner())
}

struct Unzipped(zip::ZipArchive<Cursor<Vec<u8>>>);

impl Unzipped {
    fn new(bytes: Vec<u8>) -> Result<Self, String> {
        zip::ZipArchive::new(Cursor::new(bytes)).map(Unzipped).map_err(|e| format!("not a zip: {e}"))
    }

    fn read(&mut self, name: &str) -> Result<Vec<u8>, String> {
        let mut file = self.0.by_name(name).map_err(|_| format!("{name} is missing"))?;
        if file.size() > MAX_ENTRY {
            return Err(format!("{name} is too large"));
        }
        let mut out = Vec::with_capacity(file.size() as usize);
        file.by_ref().take(MAX_ENTRY + 1).read_to_end(&mut out).map_err(|e| format!("{name}: {e}"))?;
        if out.len() as u64 > MAX_ENTRY {
            return Err(format!("{name} is too large"));
        }
        Ok(out)
    }

    fn json(&mut self, name: &str) -> Result<Value, String> {
        serde_json::from_slice(&self.read(name)?).map_err(|e| format!("{name}: {e}"))
    }
}

fn document_file(doc: &NewDocument) -> String {
    format!("{}.{}", doc.category, doc.format)
}

/// The hash MOSIP keeps in `packet_data_hash.txt`: over ID.json, then each document in order.
fn data_hash(id_json: &[u8], documents: &[(String, Vec<u8>)]) -> String {
    let mut h = Sha256::new();
    h.update(id_json);
    for (_, bytes) in documents {
        h.update(bytes);
    }
    hex::encode_upper(h.finalize())
}

/// Builds and opens packets; `directory` holds the public keys of every machine that may sign.
pub struct PacketCrypto {
    keys: PacketKeys,
    directory: Arc<dyn MachineKeys>,
}

impl PacketCrypto {
    pub fn new(keys: PacketKeys, directory: Arc<dyn MachineKeys>) -> Self {
        PacketCrypto { keys, directory }
    }

    pub fn keys(&self) -> &PacketKeys {
        &self.keys
    }

    fn sub_packet(&self, packet: &UpdatePacket, name: &str) -> Result<Vec<u8>, String> {
        // fields without a category (UIN, IDSchemaVersion) go to every sub-packet, as MOSIP does; the
        // resident's updatable fields are all `pvt`, so they and the documents go to `id`
        let mut identity = serde_json::Map::new();
        for key in ["IDSchemaVersion", "UIN"] {
            if let Some(v) = packet.identity.0.get(key) {
                identity.insert(key.into(), v.clone());
            }
        }
        let mut documents = Vec::new();
        if name == "id" {
            for (k, v) in &packet.identity.0 {
                identity.insert(k.clone(), v.clone());
            }
            for doc in &packet.documents {
                documents.push((document_file(doc), doc.content.clone()));
            }
        }
        let id_json = serde_json::to_vec(&json!({ "identity": identity })).map_err(|e| e.to_string())?;
        let meta = json!({ "identity": {
            "registrationId": packet.rid.as_str(),
            "creationDate": resident_domain::clock::mosip_datetime(packet.created_at),
            "metaData": [
                {"label": "centerId", "value": packet.centre},
                {"label": "machineId", "value": packet.machine},
                {"label": "registrationType", "value": packet.process},
            ],
            "documents": packet.documents.iter().filter(|_| name == "id").map(|d| json!({
                "documentName": d.category, "documentCategory": d.category, "documentFormat": d.format,
                "documentOwner": "Applicant",
                "documentType": packet.identity.0.get(&d.category).and_then(|v| v.get("type")).cloned().unwrap_or(Value::Null),
            })).collect::<Vec<_>>(),
            "hashSequence1": [{"label": "demographicSequence", "value": std::iter::once("ID".to_owned()).chain(documents.iter().map(|(n, _)| n.clone())).collect::<Vec<_>>()}],
        }});
        let mut entries = vec![
            ("ID.json".to_owned(), id_json.clone()),
            ("packet_meta_info.json".to_owned(), serde_json::to_vec(&meta).map_err(|e| e.to_string())?),
            ("packet_data_hash.txt".to_owned(), data_hash(&id_json, &documents).into_bytes()),
        ];
        if name == "id" {
            entries.push(("audit.json".to_owned(), serde_json::to_vec(&packet.audits).map_err(|e| e.to_string())?));
        }
        entries.extend(documents);
        zip_of(&entries)
    }

    fn open_sub_packet(
        &self,
        container: &mut Unzipped,
        rid: &Rid,
        process: &str,
        name: &str,
        keys: &std::collections::HashMap<String, VerifyingKey>,
    ) -> Result<(Value, Unzipped), String> {
        let base = format!("{SOURCE}/{process}/{}_{name}", rid.as_str());
        let meta = container.json(&format!("{base}.json"))?;
        let sealed = container.read(&format!("{base}.zip"))?;
        let field = |k: &str| meta.get(k).and_then(Value::as_str).ok_or(format!("{name} metadata has no {k}"));
        if !hex::encode_upper(Sha256::digest(&sealed)).eq_ignore_ascii_case(field("encryptedhash")?) {
            return Err(format!("sub-packet {name}: the encrypted hash does not match"));
        }
        let plain = open(&self.keys.encryption, format!("{}_{name}", rid.as_str()).as_bytes(), &sealed)
            .map_err(|e| format!("sub-packet {name}: {e}"))?;
        let signer = field("signerKeyId")?;
        let key = keys.get(signer).ok_or(format!("sub-packet {name}: signed by an unknown machine key {signer}"))?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(field("signature")?)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or(format!("sub-packet {name}: malformed signature"))?;
        key.verify(&plain, &signature).map_err(|_| format!("sub-packet {name}: the signature does not hold"))?;
        let mut sub = Unzipped::new(plain)?;
        let id_json = sub.read("ID.json")?;
        let doc: Value = serde_json::from_slice(&id_json).map_err(|e| format!("ID.json: {e}"))?;
        let meta_info = sub.json("packet_meta_info.json")?;
        let names: Vec<String> = meta_info
            .pointer("/identity/hashSequence1/0/value")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).filter(|n| *n != "ID").map(str::to_owned).collect())
            .unwrap_or_default();
        let mut documents = Vec::new();
        for n in &names {
            documents.push((n.clone(), sub.read(n)?));
        }
        let stored_hash = String::from_utf8(sub.read("packet_data_hash.txt")?).unwrap_or_default();
        if stored_hash.trim() != data_hash(&id_json, &documents) {
            return Err(format!("sub-packet {name}: the data hash does not match"));
        }
        Ok((doc, sub))
    }

    fn decrypt_container(&self, rid: &Rid, bytes: &[u8]) -> Result<Unzipped, String> {
        let body = bytes.strip_prefix(MAGIC).ok_or("not a resident packet")?;
        let plain = open(&self.keys.encryption, rid.as_str().as_bytes(), body).map_err(|e| format!("packet: {e}"))?;
        Unzipped::new(plain)
    }

    fn open_container(
        &self,
        rid: &Rid,
        mut container: Unzipped,
        keys: &std::collections::HashMap<String, VerifyingKey>,
    ) -> Result<UpdatePacket, String> {
        let manifest = container.json("manifest.json")?;
        let process = manifest.get("process").and_then(Value::as_str).ok_or("manifest has no process")?.to_owned();
        if manifest.get("id").and_then(Value::as_str) != Some(rid.as_str()) {
            return Err("the packet belongs to another RID".into());
        }
        let (doc, mut id_sub) = self.open_sub_packet(&mut container, rid, &process, "id", keys)?;
        for name in &SUB_PACKETS[1..] {
            self.open_sub_packet(&mut container, rid, &process, name, keys)?;
        }
        let identity = doc.get("identity").and_then(Value::as_object).ok_or("ID.json has no identity")?.clone();
        let mut documents = Vec::new();
        for (field, value) in &identity {
            if let Some(format) = value.get("format").and_then(Value::as_str)
                && value.get("type").is_some()
            {
                let file = format!("{field}.{format}");
                documents.push(NewDocument {
                    category: field.clone(),
                    format: format.to_owned(),
                    content: id_sub.read(&file)?,
                });
            }
        }
        let audits: Vec<PacketAudit> =
            serde_json::from_slice(&id_sub.read("audit.json")?).map_err(|e| format!("audit.json: {e}"))?;
        let text =
            |k: &str| manifest.get(k).and_then(Value::as_str).map(str::to_owned).ok_or(format!("manifest has no {k}"));
        let created_at =
            resident_domain::clock::parse_mosip_datetime(&text("creationDate")?).ok_or("bad creationDate")?;
        Ok(UpdatePacket {
            rid: rid.clone(),
            process,
            created_at,
            centre: text("centerId")?,
            machine: text("machineId")?,
            identity: IdentityJson(identity),
            documents,
            audits,
        })
    }

    /// Seals a packet; public so tests and tools can build packets with a given key.
    pub fn seal_packet(&self, packet: &UpdatePacket) -> Result<Vec<u8>, String> {
        let rid = packet.rid.as_str();
        let mut entries = Vec::new();
        let created = resident_domain::clock::mosip_datetime(packet.created_at);
        for name in SUB_PACKETS {
            let plain = self.sub_packet(packet, name)?;
            let signature = self.keys.signing.sign(&plain);
            let sealed = seal(&self.keys.encryption, format!("{rid}_{name}").as_bytes(), &plain)?;
            let base = format!("{SOURCE}/{}/{rid}_{name}", packet.process);
            let meta = json!({
                "id": rid, "packetname": format!("{rid}_{name}"), "source": SOURCE, "process": packet.process,
                "schemaversion": packet.identity.0.get("IDSchemaVersion").cloned().unwrap_or(Value::Null),
                "signature": base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()),
                "signerKeyId": self.keys.key_id(),
                "encryptedhash": hex::encode_upper(Sha256::digest(&sealed)),
                "providername": "resident-packet", "providerversion": env!("CARGO_PKG_VERSION"),
                "creationdate": created, "refid": format!("{}_{}", packet.centre, packet.machine),
            });
            entries.push((format!("{base}.zip"), sealed));
            entries.push((format!("{base}.json"), serde_json::to_vec(&meta).map_err(|e| e.to_string())?));
        }
        let manifest = json!({
            "id": rid, "process": packet.process, "creationDate": created,
            "centerId": packet.centre, "machineId": packet.machine,
        });
        entries.push(("manifest.json".to_owned(), serde_json::to_vec(&manifest).map_err(|e| e.to_string())?));
        let container = zip_of(&entries)?;
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&seal(&self.keys.encryption, rid.as_bytes(), &container)?);
        Ok(out)
    }
}

#[async_trait::async_trait]
impl PacketCodec for PacketCrypto {
    fn seal(&self, packet: &UpdatePacket) -> Result<Vec<u8>, String> {
        self.seal_packet(packet)
    }

    async fn open(&self, rid: &Rid, bytes: &[u8]) -> Result<UpdatePacket, PacketFault> {
        // the signers named in the packet's metadata, looked up in the machine registry first
        let mut keys = std::collections::HashMap::new();
        let own = self.keys.signing.verifying_key();
        keys.insert(self.keys.key_id(), own);
        let mut container = self.decrypt_container(rid, bytes).map_err(PacketFault::Invalid)?;
        for id in signers(&mut container, rid).map_err(PacketFault::Invalid)? {
            if keys.contains_key(&id) {
                continue;
            }
            let stored = self
                .directory
                .machine_key(&id)
                .await
                .map_err(|e| PacketFault::Unavailable(format!("machine registry: {e}")))?;
            if let Some(bytes) = stored
                && let Ok(arr) = <[u8; 32]>::try_from(bytes.as_slice())
                && let Ok(k) = VerifyingKey::from_bytes(&arr)
            {
                keys.insert(id, k);
            }
        }
        self.open_container(rid, container, &keys).map_err(PacketFault::Invalid)
    }
}

/// The key ids a packet's sub-packets claim to be signed with.
fn signers(container: &mut Unzipped, rid: &Rid) -> Result<Vec<String>, String> {
    let manifest = container.json("manifest.json")?;
    let process = manifest.get("process").and_then(Value::as_str).ok_or("manifest has no process")?;
    let mut out = Vec::new();
    for name in SUB_PACKETS {
        let meta = container.json(&format!("{SOURCE}/{process}/{}_{name}.json", rid.as_str()))?;
        if let Some(id) = meta.get("signerKeyId").and_then(Value::as_str)
            && !out.iter().any(|o| o == id)
        {
            out.push(id.to_owned());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::collections::HashMap;
    use std::sync::Mutex;

    use resident_domain::StoreError;
    use time::OffsetDateTime;
    use time::macros::datetime;

    use super::*;

    #[derive(Default)]
    struct Registry(Mutex<HashMap<String, Vec<u8>>>);

    #[async_trait::async_trait]
    impl MachineKeys for Registry {
        async fn machine_key(&self, key_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(self.0.lock().unwrap().get(key_id).cloned())
        }
        async fn register_machine_key(
            &self,
            key_id: &str,
            public_key: &[u8],
            _: &str,
            _: OffsetDateTime,
        ) -> Result<(), StoreError> {
            self.0.lock().unwrap().insert(key_id.into(), public_key.to_vec());
            Ok(())
        }
    }

    const ENC: [u8; 32] = [7u8; 32];

    fn rid() -> Rid {
        Rid::parse("10001100800000120261126090000").unwrap()
    }

    fn packet() -> UpdatePacket {
        let identity = json!({
            "UIN": "5075291708", "IDSchemaVersion": 0.1,
            "city": [{"language": "eng", "value": "Tangier"}],
            "proofOfAddress": {"value": "proofOfAddress", "type": "RNC", "format": "pdf"}
        });
        UpdatePacket {
            rid: rid(),
            process: "RES_UPDATE".into(),
            created_at: datetime!(2026-11-26 9:00 UTC),
            centre: "10001".into(),
            machine: "10080".into(),
            identity: IdentityJson(identity.as_object().unwrap().clone()),
            documents: vec![NewDocument {
                category: "proofOfAddress".into(),
                format: "pdf".into(),
                content: b"%PDF-1.4 lease %%EOF".to_vec(),
            }],
            audits: vec![PacketAudit {
                event_id: "RES-SER-118".into(),
                description: "created".into(),
                at: "2026-11-26T09:00:00.000Z".into(),
            }],
        }
    }

    fn crypto(seed: u8, registry: Arc<Registry>) -> PacketCrypto {
        PacketCrypto::new(PacketKeys::new([seed; 32], ENC), registry)
    }

    #[tokio::test]
    async fn a_packet_opens_to_what_was_sealed() {
        let c = crypto(1, Arc::default());
        let sealed = c.seal(&packet()).unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"Tangier"), "encrypted");
        assert_eq!(c.open(&rid(), &sealed).await.unwrap(), packet());
        // bound to its RID
        let other = Rid::parse("10001100800000220261126090000").unwrap();
        let err = c.open(&other, &sealed).await.unwrap_err();
        assert!(matches!(&err, PacketFault::Invalid(r) if r.contains("decryption failed")), "{err}");
    }

    #[tokio::test]
    async fn any_changed_byte_is_refused() {
        let c = crypto(1, Arc::default());
        let sealed = c.seal(&packet()).unwrap();
        for i in (0..sealed.len()).step_by(97) {
            let mut t = sealed.clone();
            t[i] ^= 0x20;
            assert!(c.open(&rid(), &t).await.is_err(), "byte {i}");
        }
        assert!(c.open(&rid(), &sealed[..sealed.len() - 1]).await.is_err());
    }

    #[tokio::test]
    async fn only_registered_machines_may_sign() {
        let registry = Arc::new(Registry::default());
        let other = crypto(2, registry.clone());
        let sealed = other.seal(&packet()).unwrap();
        let me = crypto(1, registry.clone());
        let err = me.open(&rid(), &sealed).await.unwrap_err();
        assert!(matches!(&err, PacketFault::Invalid(r) if r.contains("unknown machine key")), "{err}");
        registry
            .register_machine_key(&other.keys().key_id(), &other.keys().public_key(), "10081", packet().created_at)
            .await
            .unwrap();
        assert_eq!(me.open(&rid(), &sealed).await.unwrap(), packet());
    }

    struct Down;

    #[async_trait::async_trait]
    impl MachineKeys for Down {
        async fn machine_key(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
            Err(StoreError::Unavailable("connection refused".into()))
        }
        async fn register_machine_key(&self, _: &str, _: &[u8], _: &str, _: OffsetDateTime) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("connection refused".into()))
        }
    }

    /// A registry that cannot be reached is not the packet's fault: the caller retries.
    #[tokio::test]
    async fn an_unreachable_key_registry_is_not_a_bad_packet() {
        let sealed = crypto(2, Arc::default()).seal(&packet()).unwrap();
        let me = PacketCrypto::new(PacketKeys::new([1; 32], ENC), Arc::new(Down));
        assert!(matches!(me.open(&rid(), &sealed).await, Err(PacketFault::Unavailable(_))));
    }

    /// Someone with the encryption key but not a signing key rewrites the identity inside.
    #[tokio::test]
    async fn a_rewritten_sub_packet_fails_its_signature() {
        let c = crypto(1, Arc::default());
        let sealed = c.seal(&packet()).unwrap();
        let mut container = c.decrypt_container(&rid(), &sealed).unwrap();
        let base = format!("RESIDENT/RES_UPDATE/{}", rid().as_str());
        let mut entries = Vec::new();
        for i in 0..container.0.len() {
            let name = container.0.by_index(i).unwrap().name().to_owned();
            entries.push((name.clone(), container.read(&name).unwrap()));
        }
        let aad = format!("{}_id", rid().as_str());
        let (_, id_zip) = entries.iter().find(|(n, _)| *n == format!("{base}_id.zip")).unwrap().clone();
        let mut sub = Unzipped::new(open(&ENC, aad.as_bytes(), &id_zip).unwrap()).unwrap();
        let mut sub_entries = Vec::new();
        for i in 0..sub.0.len() {
            let name = sub.0.by_index(i).unwrap().name().to_owned();
            let mut bytes = sub.read(&name).unwrap();
            if name == "ID.json" {
                bytes = String::from_utf8(bytes).unwrap().replace("Tangier", "Atlantis").into_bytes();
            }
            sub_entries.push((name, bytes));
        }
        // keep the data hash consistent, as a careful forger would
        let id_json = sub_entries.iter().find(|(n, _)| n == "ID.json").unwrap().1.clone();
        let docs: Vec<(String, Vec<u8>)> = sub_entries.iter().filter(|(n, _)| n.ends_with(".pdf")).cloned().collect();
        for e in sub_entries.iter_mut().filter(|(n, _)| n == "packet_data_hash.txt") {
            e.1 = data_hash(&id_json, &docs).into_bytes();
        }
        let forged = seal(&ENC, aad.as_bytes(), &zip_of(&sub_entries).unwrap()).unwrap();
        for (name, bytes) in entries.iter_mut() {
            if *name == format!("{base}_id.zip") {
                *bytes = forged.clone();
            } else if *name == format!("{base}_id.json") {
                let mut meta: Value = serde_json::from_slice(bytes).unwrap();
                meta["encryptedhash"] = json!(hex::encode_upper(Sha256::digest(&forged)));
                *bytes = serde_json::to_vec(&meta).unwrap();
            }
        }
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&seal(&ENC, rid().as_str().as_bytes(), &zip_of(&entries).unwrap()).unwrap());
        let err = c.open(&rid(), &out).await.unwrap_err();
        assert!(matches!(&err, PacketFault::Invalid(r) if r.contains("signature does not hold")), "{err}");
    }

    #[test]
    fn the_signing_key_is_created_once_and_private() {
        let dir = std::env::temp_dir().join(format!("rs-packet-key-{}", std::process::id()));
        let path = dir.join("keys/packet-signing.key");
        let a = PacketKeys::load_or_create_signing_seed(&path).unwrap();
        let b = PacketKeys::load_or_create_signing_seed(&path).unwrap();
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
