//! Personal data at rest: XChaCha20-Poly1305 under a key derived from the master data key, and keyed
//! hashes (HMAC-SHA-256) to find a UIN or VID without storing it in clear.

use std::path::Path;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use resident_domain::StoreError;
use resident_domain::history::IdentityToken;
use sha2::Sha256;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

const SEALED_V1: u8 = 1;

/// The keys derived from one 32-byte master key. The master key itself is not kept.
#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
    lookup_key: Zeroizing<[u8; 32]>,
    token_key: Zeroizing<[u8; 32]>,
    packet_key: Zeroizing<[u8; 32]>,
    audit_key: Zeroizing<[u8; 32]>,
    checkpoint_key: Zeroizing<[u8; 32]>,
    login_key: Zeroizing<[u8; 32]>,
    platform_key: Zeroizing<[u8; 32]>,
    keymanager_seed: Zeroizing<[u8; 32]>,
    signing_seed: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

fn derive(master: &[u8; 32], label: &str) -> Zeroizing<[u8; 32]> {
    // HMAC as a PRF keyed by the master key: independent keys per purpose
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).unwrap_or_else(|_| unreachable_hmac());
    mac.update(label.as_bytes());
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

// HMAC accepts keys of any length, so this cannot happen.
fn unreachable_hmac() -> HmacSha256 {
    #[allow(clippy::unwrap_used)]
    <HmacSha256 as Mac>::new_from_slice(&[0u8; 32]).unwrap()
}

impl Vault {
    pub fn from_master(master: &[u8; 32]) -> Self {
        let enc = derive(master, "resident/v1/encryption");
        Vault {
            cipher: XChaCha20Poly1305::new(enc.as_ref().into()),
            lookup_key: derive(master, "resident/v1/lookup"),
            token_key: derive(master, "resident/v1/identity-token"),
            packet_key: derive(master, "resident/v1/packet-encryption"),
            audit_key: derive(master, "resident/v1/audit-chain"),
            checkpoint_key: derive(master, "resident/v1/audit-checkpoint"),
            login_key: derive(master, "resident/v1/login-token"),
            platform_key: derive(master, "resident/v1/platform-token"),
            keymanager_seed: derive(master, "resident/v1/keymanager-ida-internal"),
            signing_seed: derive(master, "resident/v1/keymanager-resident-sign"),
        }
    }

    /// Decodes a base64 master key (32 bytes).
    pub fn from_base64(value: &str) -> Result<Self, String> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .map_err(|e| format!("data key is not base64: {e}"))?,
        );
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| "data key must be 32 bytes".to_owned())?;
        Ok(Self::from_master(&key))
    }

    /// Reads the master key file, creating it (mode 0600) with a fresh random key when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        if path.exists() {
            let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?);
            return Self::from_base64(&text);
        }
        if let Some(dir) = path.parent() {
            resident_files::private_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key.as_ref()));
        resident_files::write_new(path, encoded.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self::from_master(&key))
    }

    /// Encrypts `plaintext`, binding it to `aad` (the row it belongs to).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad })
            .map_err(|_| StoreError::Integrity("encryption failed".into()))?;
        let mut out = Vec::with_capacity(1 + nonce.len() + ct.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        if sealed.len() < 25 || sealed[0] != SEALED_V1 {
            return Err(StoreError::Integrity("unknown ciphertext format".into()));
        }
        let (nonce, ct) = sealed[1..].split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| StoreError::Integrity("ciphertext does not authenticate (wrong key or tampered)".into()))
    }

    /// The audit chain's link: HMAC-SHA-256 under a key that is not in the database, so whoever can
    /// write the database cannot forge a record or re-chain the records after an edited one.
    pub fn audit_mac(&self, bytes: &[u8]) -> [u8; 32] {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(self.audit_key.as_ref()).unwrap_or_else(|_| unreachable_hmac());
        mac.update(bytes);
        mac.finalize().into_bytes().into()
    }

    /// The tag of an audit checkpoint (its own key: a checkpoint is not a chain link).
    pub fn checkpoint_tag(&self, bytes: &[u8]) -> String {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(self.checkpoint_key.as_ref()).unwrap_or_else(|_| unreachable_hmac());
        mac.update(bytes);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Keyed hash used as the lookup key of a UIN, VID or other identifier (`kind` separates spaces).
    pub fn lookup_hash(&self, kind: &str, value: &str) -> String {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(self.lookup_key.as_ref()).unwrap_or_else(|_| unreachable_hmac());
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The key that signs login tokens (MOSIP's portal app's cookie); every replica has it.
    pub fn login_key(&self) -> [u8; 32] {
        *self.login_key
    }

    /// The key that signs the embedded platform's client tokens (its auth manager's); every replica
    /// has it.
    pub fn platform_key(&self) -> [u8; 32] {
        *self.platform_key
    }

    /// The seed the embedded key manager derives IDA's internal key pair from, so every replica
    /// decrypts what a resident tier encrypted for any of them.
    pub fn keymanager_seed(&self) -> [u8; 32] {
        *self.keymanager_seed
    }

    /// The seed the embedded key manager derives its `RESIDENT` signing key pair from (its `jwtSign`).
    pub fn signing_seed(&self) -> [u8; 32] {
        *self.signing_seed
    }

    /// The key registration packets are encrypted with; every replica sharing the data key has it.
    pub fn packet_key(&self) -> [u8; 32] {
        *self.packet_key
    }

    pub fn identity_token(&self, uin: &str) -> IdentityToken {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(self.token_key.as_ref()).unwrap_or_else(|_| unreachable_hmac());
        mac.update(uin.as_bytes());
        IdentityToken(hex::encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let v = Vault::from_master(&[7u8; 32]);
        let sealed = v.seal(b"row-1", b"Jane Doe").unwrap();
        assert!(!sealed.windows(8).any(|w| w == b"Jane Doe"));
        assert_eq!(v.open(b"row-1", &sealed).unwrap().as_slice(), b"Jane Doe");
        assert!(v.open(b"row-2", &sealed).is_err(), "bound to its row");
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(v.open(b"row-1", &bad).is_err());
        assert!(Vault::from_master(&[8u8; 32]).open(b"row-1", &sealed).is_err(), "other key");
    }

    #[test]
    fn lookup_hashes_are_keyed_and_separated() {
        let a = Vault::from_master(&[1u8; 32]);
        let b = Vault::from_master(&[2u8; 32]);
        assert_eq!(a.lookup_hash("uin", "2013023805"), a.lookup_hash("uin", "2013023805"));
        assert_ne!(a.lookup_hash("uin", "2013023805"), b.lookup_hash("uin", "2013023805"));
        assert_ne!(a.lookup_hash("uin", "2013023805"), a.lookup_hash("vid", "2013023805"));
        assert_ne!(a.identity_token("2013023805").0, a.lookup_hash("uin", "2013023805"));
    }

    #[test]
    fn key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/master.key");
        let v1 = Vault::load_or_create(&path).unwrap();
        let v2 = Vault::load_or_create(&path).unwrap();
        assert_eq!(v1.lookup_hash("uin", "x"), v2.lookup_hash("uin", "x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
