//! The one place that reads the wall clock and the operating system's randomness. Everything else is given
//! `now` and an RNG, so rules can be tested with a fixed clock.

use time::OffsetDateTime;

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stays where it is put; tests move it by hand.
#[derive(Debug)]
pub struct FixedClock(std::sync::Mutex<OffsetDateTime>);

impl FixedClock {
    pub fn new(at: OffsetDateTime) -> Self {
        FixedClock(std::sync::Mutex::new(at))
    }
    pub fn advance(&self, by: time::Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        match self.0.lock() {
            Ok(t) => *t,
            Err(p) => *p.into_inner(),
        }
    }
}

/// A cryptographically secure RNG seeded by the operating system.
#[allow(clippy::disallowed_methods)]
pub fn rng() -> rand::rngs::ThreadRng {
    rand::thread_rng()
}

/// A moment as the clocks on the wall show it in `zone` (summer time included); `None` only outside
/// the years -9999..=9999.
pub fn local(zone: &jiff::tz::TimeZone, at: OffsetDateTime) -> Option<jiff::civil::DateTime> {
    jiff::Timestamp::from_nanosecond(at.unix_timestamp_nanos()).ok().map(|ts| zone.to_datetime(ts))
}

/// The time zone type the deployment configures (re-exported so callers need not name jiff).
pub use jiff::tz::TimeZone;

/// Milliseconds since the Unix epoch: the portable time representation the store uses.
pub fn epoch_ms(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn from_epoch_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// MOSIP's `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`.
pub fn mosip_datetime(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        at.month() as u8,
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Parses MOSIP's request time pattern: `yyyy-MM-ddTHH:mm:ss[.fraction]Z`.
pub fn parse_mosip_datetime(value: &str) -> Option<OffsetDateTime> {
    let rest = value.strip_suffix('Z')?;
    let (main, frac) = match rest.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (rest, None),
    };
    if main.len() != 19 || main.as_bytes()[10] != b'T' {
        return None;
    }
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let dt = time::PrimitiveDateTime::parse(main, &format).ok()?;
    let nanos = match frac {
        None => 0,
        Some(f) if (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<u32>().ok()? * 10u32.pow(9 - f.len() as u32)
        }
        Some(_) => return None,
    };
    dt.assume_utc().replace_nanosecond(nanos).ok()
}

/// A random (version 4) UUID in its hyphenated form.
pub fn random_uuid() -> String {
    let mut b = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rng(), &mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mosip_datetime_round_trips() {
        let at = parse_mosip_datetime("2026-11-26T04:05:06.789Z").unwrap();
        assert_eq!(mosip_datetime(at), "2026-11-26T04:05:06.789Z");
        assert!(parse_mosip_datetime("2026-11-26T04:05:06Z").is_some());
        for bad in [
            "#@234455",
            "",
            "2026-11-26 04:05:06.789Z",
            "2026-11-26T04:05:06.789",
            "2026-13-26T04:05:06.789Z",
            "2026-11-26T04:05:06.Z",
        ] {
            assert!(parse_mosip_datetime(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn epoch_ms_round_trips() {
        let at = parse_mosip_datetime("2026-11-26T04:05:06.789Z").unwrap();
        assert_eq!(from_epoch_ms(epoch_ms(at)), at);
    }
}
