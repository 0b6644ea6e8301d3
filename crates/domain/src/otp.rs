//! One-time passwords as the embedded IDA issues them: six digits from a CSPRNG, valid 180 s, single
//! use, bound to the transaction id and the identity, frozen after repeated failures.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct OtpPolicy {
    pub length: u32,
    pub validity_seconds: i64,
    /// Wrong answers to one OTP that freeze the identity's OTPs (MOSIP's IDA rule: a new OTP starts
    /// a new count).
    pub max_failed_attempts: i64,
    /// Wrong answers to an identity's OTPs, all OTPs together, within a day that freeze them for the
    /// rest of that day: what keeps "a new OTP after every four guesses" from adding up.
    pub max_failed_per_day: i64,
    pub freeze_seconds: i64,
    /// At most this many OTPs per identity within `flooding_window_seconds`.
    pub flooding_max: i64,
    pub flooding_window_seconds: i64,
    /// A fixed code for conformance testing. Refused by the configuration unless the profile is
    /// `development`; start-up warns loudly when it is set. Given as text or, from an environment
    /// variable, as a number.
    #[serde(deserialize_with = "text_or_number")]
    pub fixed_code: Option<String>,
}

fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Text(String),
        Number(u64),
    }
    Ok(Option::<Given>::deserialize(d)?.map(|g| match g {
        Given::Text(t) => t,
        Given::Number(n) => n.to_string(),
    }))
}

impl Default for OtpPolicy {
    fn default() -> Self {
        OtpPolicy {
            length: 6,
            validity_seconds: 180,
            max_failed_attempts: 5,
            max_failed_per_day: 20,
            freeze_seconds: 1800,
            flooding_max: 10,
            flooding_window_seconds: 600,
            fixed_code: None,
        }
    }
}

/// An OTP in clear: only ever sent to the resident, never stored or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Otp(String);

impl Otp {
    pub fn generate(rng: &mut impl Rng, length: u32) -> Self {
        Otp((0..length).map(|_| char::from(b'0' + rng.gen_range(0..10u8))).collect())
    }

    /// A code typed by the resident: digits only, the configured length.
    pub fn parse(value: &str, length: u32) -> Option<Self> {
        (value.len() == length as usize && value.bytes().all(|b| b.is_ascii_digit())).then(|| Otp(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The OTP as it is kept (in a keyed hash) when it proves a value it was sent to, such as a new
    /// email address: bound to that value, so it proves nothing for another, while the value itself
    /// is kept nowhere. Never sent to anyone: the code sent is `self`.
    pub fn bound_to(&self, value: &str) -> Otp {
        Otp(format!("{}|{}", self.0, value.trim().to_lowercase()))
    }
}

impl fmt::Debug for Otp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Otp(******)")
    }
}

/// Who asked for an OTP. An OTP opens only what its requester offers: one the resident asked for
/// (`/req/otp`, the portal's login) works on the resident API and the portal and nowhere else; one a
/// relying party asked for (`/idauthentication/v1/otp/{partnerId}`) works only at that partner's
/// `/idauthentication/v1/auth/{partnerId}`. The requester is part of the OTP's keyed hash and of its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    Resident,
    Partner { id: String, name: String },
}

impl Requester {
    /// The stable key the OTP is bound to (a partner's id, never its display name).
    pub fn key(&self) -> String {
        match self {
            Requester::Resident => "resident".into(),
            Requester::Partner { id, .. } => format!("partner:{id}"),
        }
    }
}

/// IDA's `transactionID`: exactly ten letters or digits.
pub fn valid_transaction_id(value: &str) -> bool {
    value.len() == 10 && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// How the event of an OTP request names where the OTP went (`OTP sent by PHONE,EMAIL`): the
/// resident side's own record of it, which [`channels_sent`] reads back.
pub fn sent_by(channels: &[OtpChannel]) -> String {
    let names: Vec<&str> = channels.iter().map(|c| c.code()).collect();
    format!("OTP sent by {}", names.join(","))
}

/// The channels an OTP request's event names ([`sent_by`]); none for any other text.
pub fn channels_sent(comment: &str) -> Vec<OtpChannel> {
    comment
        .strip_prefix("OTP sent by ")
        .map(|l| l.split(',').filter_map(OtpChannel::parse).collect())
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OtpChannel {
    Email,
    Phone,
}

impl OtpChannel {
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_uppercase().as_str() {
            "EMAIL" => Some(OtpChannel::Email),
            "PHONE" => Some(OtpChannel::Phone),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            OtpChannel::Email => "EMAIL",
            OtpChannel::Phone => "PHONE",
        }
    }
}

/// Why an OTP was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpRefusal {
    /// No OTP was requested for this identity and transaction id (IDA-OTA-005).
    NoSuchTransaction,
    /// IDA-OTA-003
    Expired,
    /// IDA-OTA-004 (also an OTP already used)
    Invalid,
    /// IDA-OTA-013: too many failures; the identity's OTPs are frozen until `until` (epoch ms).
    Frozen { until_ms: i64 },
}

impl OtpRefusal {
    pub fn ida_code(self) -> &'static str {
        match self {
            OtpRefusal::NoSuchTransaction => "IDA-OTA-005",
            OtpRefusal::Expired => "IDA-OTA-003",
            OtpRefusal::Invalid => "IDA-OTA-004",
            OtpRefusal::Frozen { .. } => "IDA-OTA-013",
        }
    }

    pub fn message(self, policy: &OtpPolicy) -> String {
        match self {
            OtpRefusal::NoSuchTransaction => "Input transactionID does not match transactionID of OTP Request".into(),
            OtpRefusal::Expired => "OTP has expired".into(),
            OtpRefusal::Invalid => "OTP is invalid".into(),
            OtpRefusal::Frozen { .. } => format!(
                "OTP request/validation has been frozen for the Individual-ID for {} minutes due to consecutive failure attempts for {} times.",
                policy.freeze_seconds / 60,
                policy.max_failed_attempts
            ),
        }
    }
}

/// IDA's email mask: in the local part, characters whose 1-based position is not a multiple of 3
/// become `X` (`mosiptest@gmail.com` → `XXsXXtXXt@gmail.com`).
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let masked: String =
                local.chars().enumerate().map(|(i, c)| if (i + 1) % 3 == 0 { c } else { 'X' }).collect();
            format!("{masked}@{domain}")
        }
        None => "X".repeat(email.chars().count()),
    }
}

/// IDA's mobile mask: the first `len/2 + 1` characters become `X` (`9876543210` → `XXXXXX3210`).
pub fn mask_mobile(phone: &str) -> String {
    let n = phone.chars().count();
    let hidden = (n / 2 + 1).min(n);
    phone.chars().enumerate().map(|(i, c)| if i < hidden { 'X' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_otp_requests_channels_are_read_back_from_its_event() {
        let both = [OtpChannel::Phone, OtpChannel::Email];
        assert_eq!(sent_by(&both), "OTP sent by PHONE,EMAIL");
        assert_eq!(channels_sent(&sent_by(&both)), both);
        assert_eq!(channels_sent(&sent_by(&[OtpChannel::Email])), [OtpChannel::Email]);
        assert!(channels_sent("authentication history viewed").is_empty());
    }
    use rand::{SeedableRng, rngs::StdRng};

    #[test]
    fn masks_like_ida() {
        assert_eq!(mask_email("mosiptest@gmail.com"), "XXsXXtXXt@gmail.com");
        assert_eq!(mask_mobile("9876543210"), "XXXXXX3210");
    }

    #[test]
    fn otps_are_digits_and_hidden_in_debug() {
        let otp = Otp::generate(&mut StdRng::seed_from_u64(1), 6);
        assert_eq!(otp.expose().len(), 6);
        assert!(otp.expose().bytes().all(|b| b.is_ascii_digit()));
        assert!(!format!("{otp:?}").contains(otp.expose()));
        assert!(Otp::parse("12345", 6).is_none());
        assert!(Otp::parse("12345a", 6).is_none());
        assert!(Otp::parse("123456", 6).is_some());
    }

    #[test]
    fn transaction_ids_are_ten_alphanumerics() {
        assert!(valid_transaction_id("1234567890"));
        assert!(valid_transaction_id("abcDEF1234"));
        assert!(!valid_transaction_id("123456789"));
        assert!(!valid_transaction_id("12345-7890"));
    }
}
