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

    /// The type MOSIP's `authType` and `authSubType` name together (`bio` + `FIR`, `otp` + `email`,
    /// `demo`).
    pub fn from_parts(kind: &str, sub: Option<&str>) -> Option<Self> {
        match sub.map(str::trim).filter(|s| !s.is_empty()) {
            Some(sub) => Self::parse(&format!("{kind}-{sub}")),
            None => Self::parse(kind),
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
    /// A lock as MOSIP's ID Repository carries it, both ways: `locked`, and for an unlock for a while
    /// `locked: false` with `unlockForSeconds` (stored as locked, unlocked until then). `None` when
    /// the seconds are out of 1 to [`MAX_UNLOCK_SECONDS`] on an unlock (a lock ignores them).
    pub fn from_wire(auth_type: AuthType, locked: bool, unlock_for_seconds: Option<i64>, now_ms: i64) -> Option<Self> {
        match unlock_for_seconds.filter(|_| !locked) {
            Some(s) if !(1..=MAX_UNLOCK_SECONDS).contains(&s) => None,
            Some(s) => Some(LockState { auth_type, locked: true, unlock_until_ms: Some(now_ms + s * 1000) }),
            None => Some(LockState { auth_type, locked, unlock_until_ms: None }),
        }
    }

    /// `(locked, unlockForSeconds)` as MOSIP's ID Repository carries them at `now_ms`: an unlock still
    /// running is `false` with the seconds it has left (rounded up), else the lock as it stands.
    pub fn to_wire(&self, now_ms: i64) -> (bool, Option<i64>) {
        match self.unlock_until_ms {
            Some(until) if until > now_ms => (false, Some((until - now_ms + 999) / 1000)),
            _ => (self.locked_at(now_ms), None),
        }
    }

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
    fn a_lock_goes_over_the_wire_and_back_unchanged() {
        let now = 1_000_000;
        for (locked, seconds) in [(true, None), (false, None), (false, Some(60)), (true, Some(60))] {
            let state = LockState::from_wire(AuthType::Demo, locked, seconds, now).unwrap();
            let back = state.to_wire(now);
            assert_eq!(LockState::from_wire(AuthType::Demo, back.0, back.1, now), Some(state), "{locked} {seconds:?}");
        }
        let timed = LockState::from_wire(AuthType::Demo, false, Some(60), now).unwrap();
        assert_eq!(timed.unlock_until_ms, Some(now + 60_000));
        assert!(!timed.locked_at(now + 59_999) && timed.locked_at(now + 60_000));
        assert_eq!(timed.to_wire(now + 60_000), (true, None), "locked again once the minute is over");
        assert_eq!(LockState::from_wire(AuthType::Demo, false, Some(0), now), None);
        assert_eq!(LockState::from_wire(AuthType::Demo, false, Some(MAX_UNLOCK_SECONDS + 1), now), None);
        assert_eq!(AuthType::from_parts("bio", Some("FIR")), Some(AuthType::BioFinger));
        assert_eq!(AuthType::from_parts("otp", Some("")), None);
        assert_eq!(AuthType::from_parts("demo", None), Some(AuthType::Demo));
    }

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
