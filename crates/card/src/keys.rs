//! Card signing keys (Ed25519) in a folder: `<created>-<kid>.key` files holding a base64 seed. The
//! newest is the active key; older ones stay published (cards they signed still verify) until an
//! operator retires them, which moves the file to `retired/`.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// One signing key.
#[derive(Clone)]
pub struct CardKey {
    pub kid: String,
    pub created: String,
    signing: SigningKey,
}

impl std::fmt::Debug for CardKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardKey({}, created {})", self.kid, self.created)
    }
}

impl CardKey {
    pub fn from_seed(seed: [u8; 32], created: &str) -> Self {
        let signing = SigningKey::from_bytes(&seed);
        CardKey { kid: kid_of(&signing.verifying_key()), created: created.to_owned(), signing }
    }

    pub fn signing(&self) -> &SigningKey {
        &self.signing
    }

    pub fn verifying(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }
}

/// A key's id: the first 16 hex digits of the SHA-256 of its public key.
pub fn kid_of(key: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))[..16].to_owned()
}

/// The published keys: the active one first.
#[derive(Debug, Clone)]
pub struct KeyRing {
    dir: PathBuf,
    keys: Vec<CardKey>,
}

fn io(path: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", path.display())
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    resident_files::write_new(path, text.as_bytes()).map_err(|e| io(path, e))
}

fn read_key(path: &Path) -> Result<CardKey, String> {
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    let (created, _) = name.split_once('-').ok_or_else(|| format!("{}: not <created>-<kid>.key", path.display()))?;
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| format!("{}: not base64", path.display()))?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| format!("{}: not a 32-byte Ed25519 seed", path.display()))?;
    let key = CardKey::from_seed(seed, created);
    if !name.ends_with(&key.kid) {
        return Err(format!("{}: the file name does not match the key's id {}", path.display(), key.kid));
    }
    Ok(key)
}

impl KeyRing {
    /// Loads the keys in `dir`, creating the first one when there is none.
    pub fn open(dir: &Path, now: time::OffsetDateTime) -> Result<Self, String> {
        resident_files::private_dir(dir).map_err(|e| io(dir, e))?;
        let mut ring = KeyRing { dir: dir.to_owned(), keys: Self::load(dir)? };
        if ring.keys.is_empty() {
            ring.rotate(now)?;
        }
        Ok(ring)
    }

    /// Loads the keys in `dir` without creating any (for checking cards).
    pub fn load_existing(dir: &Path) -> Result<Self, String> {
        let keys = Self::load(dir)?;
        if keys.is_empty() {
            return Err(format!("no card signing keys in {}", dir.display()));
        }
        Ok(KeyRing { dir: dir.to_owned(), keys })
    }

    fn load(dir: &Path) -> Result<Vec<CardKey>, String> {
        let mut keys = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let path = entry.map_err(|e| io(dir, e))?.path();
            if path.extension().is_some_and(|e| e == "key") && path.is_file() {
                keys.push(read_key(&path)?);
            }
        }
        // newest first: the creation stamp sorts as text
        keys.sort_by(|a, b| b.created.cmp(&a.created).then(b.kid.cmp(&a.kid)));
        Ok(keys)
    }

    /// Creates a new key, which becomes the active one.
    pub fn rotate(&mut self, now: time::OffsetDateTime) -> Result<CardKey, String> {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let created = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}{:03}",
            now.year(),
            now.month() as u8,
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            now.millisecond()
        );
        let key = CardKey::from_seed(seed, &created);
        let path = self.dir.join(format!("{created}-{}.key", key.kid));
        write_private(&path, &base64::engine::general_purpose::STANDARD.encode(seed))?;
        self.keys = Self::load(&self.dir)?;
        Ok(key)
    }

    /// Stops publishing a key (its file moves to `retired/`); cards it signed no longer verify.
    pub fn retire(&mut self, kid: &str) -> Result<(), String> {
        let key = self.keys.iter().find(|k| k.kid == kid).ok_or_else(|| format!("no published key {kid}"))?;
        if self.keys.len() == 1 {
            return Err("the only key cannot be retired: rotate first".into());
        }
        let name = format!("{}-{}.key", key.created, key.kid);
        let retired = self.dir.join("retired");
        resident_files::private_dir(&retired).map_err(|e| io(&retired, e))?;
        std::fs::rename(self.dir.join(&name), retired.join(&name)).map_err(|e| io(&retired, e))?;
        self.keys = Self::load(&self.dir)?;
        Ok(())
    }

    pub fn active(&self) -> Option<&CardKey> {
        self.keys.first()
    }

    pub fn keys(&self) -> &[CardKey] {
        &self.keys
    }

    pub fn verifying_keys(&self) -> Vec<(String, PublicKey)> {
        self.keys.iter().map(|k| (k.kid.clone(), PublicKey::Ed25519(k.verifying()))).collect()
    }

    /// The published keys as a JSON Web Key Set (RFC 8037 OKP keys).
    pub fn jwks(&self) -> serde_json::Value {
        jwks_of(&self.keys.iter().map(|k| (k.kid.clone(), k.verifying())).collect::<Vec<_>>())
    }
}

/// A key that verifies credentials: this service's Ed25519 card keys, or a MOSIP key manager's RSA
/// signing key (its certificate published as an RSA JWK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Ed25519(VerifyingKey),
    Rsa(rsa::RsaPublicKey),
}

pub fn jwks_of(keys: &[(String, VerifyingKey)]) -> serde_json::Value {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    serde_json::json!({
        "keys": keys.iter().map(|(kid, k)| serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": b64.encode(k.as_bytes())
        })).collect::<Vec<_>>()
    })
}

/// The Ed25519 and RSA signing keys of a JSON Web Key Set (other keys are passed over).
pub fn keys_from_jwks(jwks: &serde_json::Value) -> Result<Vec<(String, PublicKey)>, String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let keys = jwks.get("keys").and_then(|k| k.as_array()).ok_or("not a JSON Web Key Set")?;
    let field = |k: &serde_json::Value, name: &str| -> Result<Vec<u8>, String> {
        k.get(name).and_then(|v| v.as_str()).and_then(|x| b64.decode(x).ok()).ok_or(format!("a key without {name}"))
    };
    let mut out = Vec::new();
    for k in keys {
        let kty = k.get("kty").and_then(|v| v.as_str());
        let crv = k.get("crv").and_then(|v| v.as_str());
        let key = match (kty, crv) {
            (Some("OKP"), Some("Ed25519")) => {
                let bytes: [u8; 32] = field(k, "x")?.try_into().map_err(|_| "an Ed25519 key is 32 bytes")?;
                PublicKey::Ed25519(VerifyingKey::from_bytes(&bytes).map_err(|e| e.to_string())?)
            }
            (Some("RSA"), _) => {
                let n = rsa::BigUint::from_bytes_be(&field(k, "n")?);
                let e = rsa::BigUint::from_bytes_be(&field(k, "e")?);
                PublicKey::Rsa(rsa::RsaPublicKey::new(n, e).map_err(|e| e.to_string())?)
            }
            _ => continue,
        };
        let kid = k.get("kid").and_then(|v| v.as_str()).ok_or("a key without kid")?;
        out.push((kid.to_owned(), key));
    }
    Ok(out)
}
