//! The signed tokens of the app's login: JSON Web Tokens with HMAC-SHA-256 (RFC 7519, `HS256`) under
//! a key every replica derives from the data key. A token proves who signed it and until when it
//! holds; whether its session still exists is the session store's to say.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn mac(key: &[u8; 32]) -> HmacSha256 {
    // HMAC takes keys of any length
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// `header.claims.signature`.
pub(crate) fn sign<T: Serialize>(key: &[u8; 32], claims: &T) -> String {
    let body = serde_json::to_vec(claims).unwrap_or_default();
    let unsigned = format!("{}.{}", URL_SAFE_NO_PAD.encode(HEADER), URL_SAFE_NO_PAD.encode(body));
    let mut m = mac(key);
    m.update(unsigned.as_bytes());
    format!("{unsigned}.{}", URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
}

/// The claims of a token this key signed with `HS256` (any other algorithm, a bad signature or
/// malformed parts: `None`). Time claims are the caller's to check.
pub(crate) fn verify<T: DeserializeOwned>(key: &[u8; 32], token: &str) -> Option<T> {
    let mut parts = token.split('.');
    let (header, body, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || token.len() > 4096 {
        return None;
    }
    let mut m = mac(key);
    m.update(header.as_bytes());
    m.update(b".");
    m.update(body.as_bytes());
    m.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Claims {
        sid: String,
        exp: i64,
    }

    #[test]
    fn a_token_verifies_under_its_key_only_and_unaltered() {
        let key = [7u8; 32];
        let claims = Claims { sid: "abc".into(), exp: 10 };
        let token = sign(&key, &claims);
        assert_eq!(verify::<Claims>(&key, &token), Some(Claims { sid: "abc".into(), exp: 10 }));
        assert_eq!(verify::<Claims>(&[8u8; 32], &token), None, "another key");
        // the claims changed, the signature kept
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sid":"abc","exp":99999999999}"#);
        parts[1] = &forged;
        assert_eq!(verify::<Claims>(&key, &parts.join(".")), None);
        // "alg": "none" with no signature
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"sid":"abc","exp":10}"#)
        );
        assert_eq!(verify::<Claims>(&key, &none), None);
        assert_eq!(verify::<Claims>(&key, "a.b"), None);
        assert_eq!(verify::<Claims>(&key, &format!("{token}.x")), None);
    }
}
