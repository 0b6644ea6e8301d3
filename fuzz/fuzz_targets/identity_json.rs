//! Identity JSON from outside: a resident's `identityJson` (base64url of `{"identity": {...}}`, with a
//! proof document) and a registration processor's identity for the ID repository. Anything is refused
//! with a named error or accepted; an accepted identity validates again as itself.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use resident_domain::identity::{IdentitySchema, Languages};
use resident_domain::update::{UpdatePolicy, decode_update};
use time::OffsetDateTime;

static SCHEMA: LazyLock<IdentitySchema> =
    LazyLock::new(|| IdentitySchema::default_schema(Languages::default()).expect("the built-in schema"));

fuzz_target!(|data: &[u8]| {
    let now = OffsetDateTime::from_unix_timestamp(1_796_000_000).expect("a time");
    let policy = UpdatePolicy::default();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let as_identity_json = b64.encode(data);
    let proof = vec![("proofOfAddress".to_owned(), base64::engine::general_purpose::STANDARD.encode(data))];
    for (identity_json, docs) in [(as_identity_json.as_str(), &[][..]), (as_identity_json.as_str(), &proof[..])] {
        if let Err(e) = decode_update(&SCHEMA, &policy, identity_json, docs, now) {
            assert!(!e.code().is_empty());
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_update(&SCHEMA, &policy, text, &[], now);
    }
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data)
        && let Ok(identity) = SCHEMA.validate_new(&doc, now)
    {
        let again = SCHEMA.validate_new(&identity.to_document(), now).expect("an accepted identity validates again");
        assert_eq!(again.canonical_bytes(), identity.canonical_bytes());
    }
});
