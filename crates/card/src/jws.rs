//! Compact JWS (RFC 7515) with EdDSA over Ed25519 (RFC 8037): `header.payload.signature`, each part
//! base64url without padding. Written out rather than through a JOSE library: it is this one
//! algorithm, and verification accepts nothing else (no `alg: none`, no key in the header).

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};
use serde_json::Value;

use crate::keys::CardKey;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn sign(key: &CardKey, claims: &Value) -> String {
    let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": key.kid});
    let signing_input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
    let signature = key.signing().sign(signing_input.as_bytes());
    format!("{signing_input}.{}", B64.encode(signature.to_bytes()))
}

/// A credential whose signature holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub kid: String,
    pub claims: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwsError {
    Malformed(&'static str),
    UnknownKey(String),
    BadSignature,
}

impl std::fmt::Display for JwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwsError::Malformed(what) => write!(f, "not a signed credential: {what}"),
            JwsError::UnknownKey(kid) => write!(f, "signed with key {kid}, which is not a published key"),
            JwsError::BadSignature => f.write_str("the signature does not hold: the credential was changed or forged"),
        }
    }
}

impl std::error::Error for JwsError {}

pub fn verify(token: &str, keys: &[(String, VerifyingKey)]) -> Result<Verified, JwsError> {
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwsError::Malformed("three dot-separated parts expected"));
    };
    let header: Value =
        B64.decode(h).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(JwsError::Malformed("header"))?;
    if header.get("alg").and_then(Value::as_str) != Some("EdDSA") {
        return Err(JwsError::Malformed("only EdDSA is accepted"));
    }
    let kid = header.get("kid").and_then(Value::as_str).ok_or(JwsError::Malformed("no kid"))?;
    let key =
        keys.iter().find(|(k, _)| k == kid).map(|(_, k)| k).ok_or_else(|| JwsError::UnknownKey(kid.to_owned()))?;
    let signature =
        B64.decode(s).ok().and_then(|b| Signature::from_slice(&b).ok()).ok_or(JwsError::Malformed("signature"))?;
    key.verify(format!("{h}.{p}").as_bytes(), &signature).map_err(|_| JwsError::BadSignature)?;
    let claims: Value =
        B64.decode(p).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(JwsError::Malformed("payload"))?;
    Ok(Verified { kid: kid.to_owned(), claims })
}
