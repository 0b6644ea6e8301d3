//! The key manager as resident services use it: it signs the credential a resident's card carries
//! (MOSIP's `jwtSign`) and names the keys that verify what it signed. The embedded key manager is
//! this service's card key ring (EdDSA); MOSIP's signs with its `RESIDENT` key (RS256) and publishes
//! that key's certificate. Personal data at rest stays sealed with this tier's own data key: a call
//! to a key manager per field read would put the network in every page.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::{ResidentError, StoreError};

#[async_trait]
pub trait KeyManager: Send + Sync {
    /// Signs a JSON object as a compact JWS, the payload included.
    async fn jwt_sign(&self, claims: &Value) -> Result<String, ResidentError>;
    /// The public keys that verify what it signs, as a JSON Web Key Set.
    async fn published_keys(&self) -> Result<Value, ResidentError>;
}

/// The signing certificates a key manager signed this tier's cards with, kept by this tier: all stay
/// published, so cards verify after the key manager renews its key and while it does not answer.
#[async_trait]
pub trait SigningCertificates: Send + Sync {
    /// Every certificate kept, as (SHA-256 thumbprint, PEM), first seen first.
    async fn signing_certificates(&self) -> Result<Vec<(String, String)>, StoreError>;
    /// Keeps a certificate; one already kept (by thumbprint) is left as it is.
    async fn keep_signing_certificate(
        &self,
        thumbprint: &str,
        pem: &str,
        now: time::OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// One key set of several (the key manager's and the card ring's), each key once, by `kid`.
pub fn merged_key_sets(sets: &[Value]) -> Value {
    let mut seen = std::collections::BTreeSet::new();
    let mut keys = Vec::new();
    for key in sets.iter().filter_map(|s| s.get("keys").and_then(Value::as_array)).flatten() {
        let kid = key.get("kid").and_then(Value::as_str).unwrap_or_default().to_owned();
        if seen.insert(kid) {
            keys.push(key.clone());
        }
    }
    serde_json::json!({ "keys": keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_in_two_sets_is_published_once() {
        let ring = serde_json::json!({"keys": [{"kid": "a", "kty": "OKP"}, {"kid": "b", "kty": "OKP"}]});
        let manager = serde_json::json!({"keys": [{"kid": "c", "kty": "RSA"}, {"kid": "a", "kty": "OKP"}]});
        let merged = merged_key_sets(&[manager, ring]);
        let kids: Vec<&str> = merged["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids, ["c", "a", "b"]);
    }
}
