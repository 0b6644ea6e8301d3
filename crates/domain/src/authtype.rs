//! Authentication types a resident can lock: `demo`, `bio-FINGER`, `bio-IRIS`, `bio-FACE`, `otp-email`,
//! `otp-phone` (MOSIP 1.2.0.1 spelling), with MOSIP 1.2.0's older spellings accepted.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AuthType {
    Demo,
    BioFinger,
    BioIris,
    BioFace,
    OtpEmail,
    OtpPhone,
}

impl AuthType {
    pub const ALL: [AuthType; 6] = [
        AuthType::Demo,
        AuthType::BioFinger,
        AuthType::BioIris,
        AuthType::BioFace,
        AuthType::OtpEmail,
        AuthType::OtpPhone,
    ];

    /// Accepts `bio-FINGER`, `bio-Finger`, `bio-FIR`, `otp-email`, … ignoring case.
    pub fn parse(value: &str) -> Option<Self> {
        let v = value.trim().to_ascii_lowercase();
        Some(match v.as_str() {
            "demo" => AuthType::Demo,
            "bio-finger" | "bio-fir" | "bio-fmr" => AuthType::BioFinger,
            "bio-iris" | "bio-iir" => AuthType::BioIris,
            "bio-face" => AuthType::BioFace,
            "otp-email" => AuthType::OtpEmail,
            "otp-phone" | "otp-sms" | "otp-mobile" => AuthType::OtpPhone,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            AuthType::Demo => "demo",
            AuthType::BioFinger => "bio-FINGER",
            AuthType::BioIris => "bio-IRIS",
            AuthType::BioFace => "bio-FACE",
            AuthType::OtpEmail => "otp-email",
            AuthType::OtpPhone => "otp-phone",
        }
    }

    /// `(authType, authSubType)` as ID Repository reports them.
    pub fn split(self) -> (&'static str, Option<&'static str>) {
        match self {
            AuthType::Demo => ("demo", None),
            AuthType::BioFinger => ("bio", Some("FINGER")),
            AuthType::BioIris => ("bio", Some("IRIS")),
            AuthType::BioFace => ("bio", Some("FACE")),
            AuthType::OtpEmail => ("otp", Some("email")),
            AuthType::OtpPhone => ("otp", Some("phone")),
        }
    }
}

/// The stored lock state of one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockState {
    pub auth_type: AuthType,
    pub locked: bool,
    /// A temporary unlock: unlocked until this instant (epoch ms), locked again after it.
    pub unlock_until_ms: Option<i64>,
}

impl LockState {
    pub fn locked_at(&self, now_ms: i64) -> bool {
        match self.unlock_until_ms {
            Some(until) if until > now_ms => false,
            Some(_) => true,
            None => self.locked,
        }
    }
}

/// The longest timed unlock: MOSIP reads `unlockForSeconds` as a Java int, so 2^31 − 1 seconds (68
/// years) is the most it accepts; anything more is `RES-SER-410` rather than an overflow.
pub const MAX_UNLOCK_SECONDS: i64 = i32::MAX as i64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        for (s, t) in [
            ("bio-FIR", AuthType::BioFinger),
            ("bio-Finger", AuthType::BioFinger),
            ("BIO-IRIS", AuthType::BioIris),
            ("bio-IIR", AuthType::BioIris),
            ("bio-FACE", AuthType::BioFace),
            ("demo", AuthType::Demo),
            ("otp-email", AuthType::OtpEmail),
            ("OTP-PHONE", AuthType::OtpPhone),
        ] {
            assert_eq!(AuthType::parse(s), Some(t), "{s}");
        }
        assert_eq!(AuthType::parse("bio-toe"), None);
        for t in AuthType::ALL {
            assert_eq!(AuthType::parse(t.code()), Some(t));
        }
    }

    #[test]
    fn a_temporary_unlock_locks_again_by_itself() {
        let s = LockState { auth_type: AuthType::Demo, locked: true, unlock_until_ms: Some(1_000) };
        assert!(!s.locked_at(999));
        assert!(s.locked_at(1_000));
        let plain = LockState { auth_type: AuthType::Demo, locked: false, unlock_until_ms: None };
        assert!(!plain.locked_at(5));
    }
}
