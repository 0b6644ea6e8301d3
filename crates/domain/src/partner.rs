//! Registering a partner (a relying party, a print partner, …): the rules for its id, name and
//! type, its API key (shown once to the operator, kept only as a SHA-256 digest), and the audit
//! record. The operator's CLI is one front door to it.

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::audit::{AuditContext, AuditEvent};
use crate::error::ResidentError;
use crate::ports::{Effects, Partner, PartnerRecords};

/// MOSIP's partner types.
pub const PARTNER_TYPES: [&str; 5] =
    ["Auth_Partner", "Print_Partner", "Credential_Partner", "Online_Verification_Partner", "Device_Provider"];
/// The longest partner id (it is used in URLs) and name, in characters.
pub const MAX_ID_CHARS: usize = 36;
pub const MAX_NAME_CHARS: usize = 128;

/// Why a partner was not registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerRefusal {
    /// Empty, longer than [`MAX_ID_CHARS`], or not only letters, digits, `-` and `_`.
    BadId,
    /// Blank or longer than [`MAX_NAME_CHARS`].
    BadName,
    /// Not one of [`PARTNER_TYPES`].
    BadType,
    /// A partner with that id exists.
    Exists,
}

impl PartnerRefusal {
    pub fn message(self) -> String {
        match self {
            PartnerRefusal::BadId => format!("the id must be 1 to {MAX_ID_CHARS} letters, digits, '-' or '_'"),
            PartnerRefusal::BadName => format!("the name must be 1 to {MAX_NAME_CHARS} characters"),
            PartnerRefusal::BadType => format!("the partner type must be one of {}", PARTNER_TYPES.join(", ")),
            PartnerRefusal::Exists => "a partner with that id already exists".into(),
        }
    }
}

/// A registered partner and its API key, which exists nowhere else.
pub struct Registered {
    pub partner: Partner,
    pub api_key: String,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registered({}, key hidden)", self.partner.id)
    }
}

/// The digest a partner's API key (or a platform client's secret) is kept and checked as: SHA-256,
/// lower-case hex. The keys are 256 random bits: a plain digest is enough.
pub fn api_key_digest(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two digests are the same, in time that does not depend on where they differ.
pub fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks the id, name and type, makes an API key (32 random bytes, URL-safe base64) and records
/// the partner, ACTIVE, with its audit record.
pub async fn register_partner(
    repo: &dyn PartnerRecords,
    audit: &AuditContext,
    now: OffsetDateTime,
    id: &str,
    name: &str,
    partner_type: &str,
) -> Result<Result<Registered, PartnerRefusal>, ResidentError> {
    if id.is_empty()
        || id.chars().count() > MAX_ID_CHARS
        || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(Err(PartnerRefusal::BadId));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Ok(Err(PartnerRefusal::BadName));
    }
    if !PARTNER_TYPES.contains(&partner_type) {
        return Ok(Err(PartnerRefusal::BadType));
    }
    if repo.partner(id).await?.is_some() {
        return Ok(Err(PartnerRefusal::Exists));
    }
    let mut key = [0u8; 32];
    crate::clock::rng().fill_bytes(&mut key);
    let api_key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
    let partner = Partner {
        id: id.to_owned(),
        name: name.to_owned(),
        partner_type: partner_type.to_owned(),
        api_key_sha256: api_key_digest(&api_key),
        status: "ACTIVE".into(),
    };
    let effects = Effects {
        audit: vec![AuditEvent::PartnerRegistered.record(
            audit,
            now,
            Some((partner.id.clone(), "PARTNER")),
            format!("{partner_type} registered"),
        )],
        ..Effects::default()
    };
    repo.add_partner(&partner, &effects, now).await?;
    Ok(Ok(Registered { partner, api_key }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_hex() {
        assert_eq!(api_key_digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn refusals_say_what_is_allowed() {
        assert!(PartnerRefusal::BadType.message().contains("Print_Partner"));
        assert!(PartnerRefusal::BadId.message().contains("36"));
    }
}
