//! Compact JWS (RFC 7515): `header.payload.signature`, each part base64url without padding. This
//! service signs with EdDSA over Ed25519 (RFC 8037); a MOSIP key manager signs with RS256 (RFC 7518,
//! RSASSA-PKCS1-v1_5 with SHA-256). Written out rather than through a JOSE library: verification
//! accepts these two algorithms only, each with a key of its own kind, and only keys published in
//! advance (no `alg: none`, no key taken from the header).

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, Verifier};
use serde_json::Value;

use crate::keys::{CardKey, PublicKey};

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

/// The key a JWS names: its `x5t#S256` (a MOSIP key manager's certificate thumbprint, which the
/// published key carries as its id) or else its `kid`.
pub fn key_id(token: &str) -> Option<String> {
    let header: Value =
        B64.decode(token.trim().split('.').next()?).ok().and_then(|b| serde_json::from_slice(&b).ok())?;
    ["x5t#S256", "kid"].iter().find_map(|k| header.get(*k).and_then(Value::as_str).map(str::to_owned))
}

pub fn verify(token: &str, keys: &[(String, PublicKey)]) -> Result<Verified, JwsError> {
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwsError::Malformed("three dot-separated parts expected"));
    };
    let header: Value =
        B64.decode(h).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(JwsError::Malformed("header"))?;
    let kid = ["x5t#S256", "kid"]
        .iter()
        .find_map(|k| header.get(*k).and_then(Value::as_str))
        .ok_or(JwsError::Malformed("no kid"))?;
    let key =
        keys.iter().find(|(k, _)| k == kid).map(|(_, k)| k).ok_or_else(|| JwsError::UnknownKey(kid.to_owned()))?;
    let signed = format!("{h}.{p}");
    let signature = B64.decode(s).map_err(|_| JwsError::Malformed("signature"))?;
    match (header.get("alg").and_then(Value::as_str), key) {
        (Some("EdDSA"), PublicKey::Ed25519(key)) => {
            let signature = Signature::from_slice(&signature).map_err(|_| JwsError::Malformed("signature"))?;
            key.verify(signed.as_bytes(), &signature).map_err(|_| JwsError::BadSignature)?;
        }
        (Some("RS256"), PublicKey::Rsa(key)) => {
            let digest = <sha2::Sha256 as sha2::Digest>::digest(signed.as_bytes());
            key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, &signature)
                .map_err(|_| JwsError::BadSignature)?;
        }
        (Some("EdDSA" | "RS256"), _) => return Err(JwsError::Malformed("the algorithm is not the published key's")),
        _ => return Err(JwsError::Malformed("only EdDSA and RS256 are accepted")),
    }
    let claims: Value =
        B64.decode(p).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(JwsError::Malformed("payload"))?;
    Ok(Verified { kid: kid.to_owned(), claims })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::signature::SignatureEncoding;

    fn rsa_jws(key: &rsa::RsaPrivateKey, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
        format!("{input}.{}", B64.encode(signer.sign(input.as_bytes()).to_bytes()))
    }

    #[test]
    fn an_rs256_credential_verifies_with_the_published_rsa_key_only() {
        use rand::SeedableRng;
        use rsa::traits::PublicKeyParts;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let key = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap_or_else(|e| unreachable!("{e}"));
        let public = key.to_public_key();
        let jwks = serde_json::json!({"keys": [{"kty": "RSA", "alg": "RS256", "kid": "thumb",
            "n": B64.encode(public.n().to_bytes_be()), "e": B64.encode(public.e().to_bytes_be())}]});
        let keys = crate::keys::keys_from_jwks(&jwks).unwrap_or_else(|e| unreachable!("{e}"));
        let claims = serde_json::json!({"uin": "5075291708"});
        let header = serde_json::json!({"alg": "RS256", "x5t#S256": "thumb"});
        let token = rsa_jws(&key, &header, &claims);
        assert_eq!(verify(&token, &keys).map(|v| v.claims), Ok(claims.clone()));
        assert_eq!(key_id(&token).as_deref(), Some("thumb"));

        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = B64.encode(serde_json::json!({"uin": "8296572490"}).to_string());
        assert_eq!(verify(&parts.join("."), &keys), Err(JwsError::BadSignature));
        // an RSA key does not take an EdDSA token, nor any other algorithm
        let eddsa = rsa_jws(&key, &serde_json::json!({"alg": "EdDSA", "kid": "thumb"}), &claims);
        assert!(matches!(verify(&eddsa, &keys), Err(JwsError::Malformed(_))));
        let none = format!("{}.{}.", B64.encode(r#"{"alg":"none","kid":"thumb"}"#), B64.encode(claims.to_string()));
        assert!(matches!(verify(&none, &keys), Err(JwsError::Malformed(_))));
        let other = rsa_jws(&key, &serde_json::json!({"alg": "RS256", "kid": "another"}), &claims);
        assert_eq!(verify(&other, &keys), Err(JwsError::UnknownKey("another".into())));
    }
}
