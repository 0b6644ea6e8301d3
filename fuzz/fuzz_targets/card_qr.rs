//! The payload of a card's QR code: a JWS (EdDSA) of the credential's claims, as a verifier scans it.
//! Any text is refused or verified; a real token with characters changed never verifies to claims
//! other than those signed.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use resident_card::jws::{sign, verify};
use resident_card::keys::{CardKey, PublicKey, kid_of};
use serde_json::{Value, json};

struct Setup {
    keys: Vec<(String, PublicKey)>,
    claims: Value,
    token: String,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let key = CardKey::from_seed([3u8; 32], "2026-01-01T00:00:00.000Z");
    let claims =
        json!({"fullName": [{"language": "eng", "value": "Jane Doe"}], "UIN": "5075291708", "issuedTo": "cred-01"});
    let token = sign(&key, &claims);
    let keys = vec![(kid_of(&key.verifying()), PublicKey::Ed25519(key.verifying()))];
    assert_eq!(verify(&token, &keys).expect("our own token verifies").claims, claims);
    Setup { keys, claims, token }
});

fuzz_target!(|data: &[u8]| {
    let s = &*SETUP;
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verify(text, &s.keys);
    }
    let mut changed = s.token.clone().into_bytes();
    for c in data.chunks_exact(2) {
        let at = c[0] as usize % changed.len();
        changed[at] = c[1];
    }
    if let Ok(text) = std::str::from_utf8(&changed)
        && let Ok(v) = verify(text, &s.keys)
    {
        assert_eq!(v.claims, s.claims, "a changed token verified to other claims");
    }
});
