//! National identifiers with MOSIP's kernel rules: UIN (10 digits), VID (16 digits), both with a Verhoeff
//! check digit and the id-generator filters, and the 29-digit RID (centre, machine, sequence, timestamp).
//!
//! `Debug` and `Display` of `Uin` and `Vid` mask the value; the clear digits are only reachable through
//! `expose()`, which makes every place that needs them easy to find.

use std::fmt;

use rand::Rng;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

const D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
const INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

/// Verhoeff check digit of a string of ASCII digits (the payload, without its check digit).
pub fn verhoeff_digit(payload: &[u8]) -> u8 {
    let mut c = 0usize;
    for (i, d) in payload.iter().rev().enumerate() {
        c = D[c][P[(i + 1) % 8][(d - b'0') as usize] as usize] as usize;
    }
    INV[c]
}

/// True when the last digit is the Verhoeff check digit of the others.
pub fn verhoeff_valid(digits: &[u8]) -> bool {
    let mut c = 0usize;
    for (i, d) in digits.iter().rev().enumerate() {
        c = D[c][P[i % 8][(d - b'0') as usize] as usize] as usize;
    }
    c == 0
}

/// Why an identifier was refused, with the kernel validator's error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{}: {}", .0.code(), .0.message())]
    Uin(UinRule),
    #[error("{}: {}", .0.code(), .0.message())]
    Vid(VidRule),
    #[error("{}: {}", .0.code(), .0.message())]
    Rid(RidRule),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UinRule {
    Empty,
    Length,
    NotNumeric,
    StartsWith,
    Filters,
    Checksum,
    FirstReversedLast,
    FirstEqualsLast,
}

impl UinRule {
    pub fn code(self) -> &'static str {
        match self {
            UinRule::Empty => "KER-IDV-201",
            UinRule::Filters => "KER-IDV-202",
            UinRule::Length => "KER-IDV-203",
            UinRule::NotNumeric => "KER-IDV-204",
            UinRule::Checksum => "KER-IDV-205",
            UinRule::StartsWith => "KER-IDV-206",
            UinRule::FirstReversedLast => "KER-IDV-207",
            UinRule::FirstEqualsLast => "KER-IDV-208",
        }
    }
    pub fn message(self) -> &'static str {
        match self {
            UinRule::Empty => "UIN should not be Empty or Null.",
            UinRule::Filters => {
                "UIN should not contain any sequential and repeated block of number as per configured or more than that digits and Admin ristricted numbers"
            }
            UinRule::Length => "UIN length should be as per configured digit.",
            UinRule::NotNumeric => "UIN should not contain any alphanumeric characters.",
            UinRule::Checksum => "UIN should match checksum.",
            UinRule::StartsWith => "UIN should not contain start with as per configured.",
            UinRule::FirstReversedLast => {
                "UIN First configured no.of digits should be different from the reverse of last configured no. of digits"
            }
            UinRule::FirstEqualsLast => {
                "UIN First configured no.of digits should be different from the last configured no.of digits"
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VidRule {
    Empty,
    Length,
    NotNumeric,
    Filters,
    Checksum,
}

impl VidRule {
    pub fn code(self) -> &'static str {
        match self {
            VidRule::Empty => "KER-IDV-001",
            VidRule::Filters => "KER-IDV-002",
            VidRule::Length => "KER-IDV-003",
            VidRule::NotNumeric => "KER-IDV-004",
            VidRule::Checksum => "KER-IDV-005",
        }
    }
    pub fn message(self) -> &'static str {
        match self {
            VidRule::Empty => "VID should not be empty or null.",
            VidRule::Filters => {
                "VID should not contain any sequential and repeated block of number for 2 or more than two digits"
            }
            VidRule::Length => "VID length should be 16 digit.",
            VidRule::NotNumeric => "VID should not contain any alphanumeric characters.",
            VidRule::Checksum => "VID should match checksum.",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RidRule {
    NotNumeric,
    Length,
    Timestamp,
}

impl RidRule {
    pub fn code(self) -> &'static str {
        match self {
            RidRule::NotNumeric => "KER-IDV-301",
            RidRule::Length => "KER-IDV-304",
            RidRule::Timestamp => "KER-IDV-305",
        }
    }
    pub fn message(self) -> &'static str {
        match self {
            RidRule::NotNumeric => "Rid should contain only numbers",
            RidRule::Length => "Rid Length Must Be :29",
            RidRule::Timestamp => "Invalid Time Stamp Found",
        }
    }
}

const ASC: &[u8] = b"0123456789";
const DESC: &[u8] = b"9876543210";
const ASC_WRAP: &[u8] = b"01234567890123456789";
const DESC_WRAP: &[u8] = b"98765432109876543210";
const RESTRICTED: [&[u8]; 2] = [b"786", b"666"];
const CYCLIC: [&[u8]; 1] = [b"142857"];

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// An ascending or descending run of `limit` digits (`890` counts only when `wrap`).
fn has_sequence(id: &[u8], limit: usize, wrap: bool) -> bool {
    let (asc, desc) = if wrap { (ASC_WRAP, DESC_WRAP) } else { (ASC, DESC) };
    id.windows(limit).any(|w| contains(asc, w) || contains(desc, w))
}

/// The same digit again within `limit` positions: `(\d)\d{0,limit-1}\1`.
fn has_repeat(id: &[u8], limit: usize) -> bool {
    (0..id.len()).any(|i| (1..=limit).any(|k| i + k < id.len() && id[i] == id[i + k]))
}

/// A block of `len` digits that appears again later without overlap: `(\d{len,}).*?\1`.
fn has_repeated_block(id: &[u8], len: usize) -> bool {
    for i in 0..id.len().saturating_sub(len) {
        for j in (i + len)..=(id.len() - len) {
            if id[i..i + len] == id[j..j + len] {
                return true;
            }
        }
    }
    false
}

fn has_even_run(id: &[u8], limit: usize) -> bool {
    id.windows(limit).any(|w| w.iter().all(|d| matches!(d, b'2' | b'4' | b'6' | b'8')))
}

fn has_restricted(id: &[u8]) -> bool {
    RESTRICTED.iter().any(|r| contains(id, r))
}

fn uin_filters(id: &[u8], generator: bool) -> bool {
    has_sequence(id, 3, generator)
        || has_repeat(id, 2)
        || has_repeated_block(id, 2)
        || has_even_run(id, 3)
        || has_restricted(id)
        || (generator && CYCLIC.iter().any(|c| contains(id, c)))
}

fn vid_filters(id: &[u8]) -> bool {
    matches!(id.first(), Some(b'0' | b'1'))
        || has_sequence(id, 3, false)
        || has_repeat(id, 2)
        || has_repeated_block(id, 2)
        || has_restricted(id)
}

/// Masks all but the first character and the last two (MOSIP's `convertToMaskDataFormat`).
pub fn mask_id(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 4 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars.iter().enumerate().map(|(i, c)| if i == 0 || i >= n - 2 { *c } else { '*' }).collect()
}

/// `len` digits: a first digit from 2 to 9, random digits, then the Verhoeff check digit.
fn random_with_check_digit(rng: &mut impl Rng, len: usize) -> Vec<u8> {
    let mut digits = Vec::with_capacity(len);
    digits.push(b'0' + rng.gen_range(2..10u8));
    for _ in 1..len - 1 {
        digits.push(b'0' + rng.gen_range(0..10u8));
    }
    digits.push(b'0' + verhoeff_digit(&digits));
    digits
}

/// Clear-value access and masked `Debug`/`Display` for an identifier newtype.
macro_rules! masked_id {
    ($name:ident) => {
        impl $name {
            /// The clear digits. Call only to hash, encrypt, or show the owner their own id.
            pub fn expose(&self) -> &str {
                &self.0
            }

            pub fn masked(&self) -> String {
                mask_id(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.masked())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.masked())
            }
        }
    };
}

/// A Unique Identification Number: 10 digits, Verhoeff check digit, kernel filters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Uin(String);

impl Uin {
    pub const LENGTH: usize = 10;

    pub fn parse(value: &str) -> Result<Self, IdError> {
        let err = |r| Err(IdError::Uin(r));
        let id = value.as_bytes();
        if id.is_empty() {
            return err(UinRule::Empty);
        }
        if id.len() != Self::LENGTH {
            return err(UinRule::Length);
        }
        if !id.iter().all(u8::is_ascii_digit) {
            return err(UinRule::NotNumeric);
        }
        if matches!(id[0], b'0' | b'1') {
            return err(UinRule::StartsWith);
        }
        if uin_filters(id, false) {
            return err(UinRule::Filters);
        }
        if !verhoeff_valid(id) {
            return err(UinRule::Checksum);
        }
        let (first, last) = (&id[..5], &id[id.len() - 5..]);
        if first.iter().eq(last.iter().rev()) {
            return err(UinRule::FirstReversedLast);
        }
        if first == last {
            return err(UinRule::FirstEqualsLast);
        }
        Ok(Uin(value.to_owned()))
    }

    /// A random UIN that passes the generator's filters (stricter than the validator's).
    pub fn generate(rng: &mut impl Rng) -> Self {
        loop {
            let digits = random_with_check_digit(rng, Self::LENGTH);
            if uin_filters(&digits, true) {
                continue;
            }
            let candidate = String::from_utf8_lossy(&digits).into_owned();
            if let Ok(uin) = Uin::parse(&candidate) {
                return uin;
            }
        }
    }
}

masked_id!(Uin);

/// A Virtual ID: 16 digits, Verhoeff check digit, kernel filters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Vid(String);

impl Vid {
    pub const LENGTH: usize = 16;

    pub fn parse(value: &str) -> Result<Self, IdError> {
        let err = |r| Err(IdError::Vid(r));
        let id = value.as_bytes();
        if id.is_empty() {
            return err(VidRule::Empty);
        }
        if id.len() != Self::LENGTH {
            return err(VidRule::Length);
        }
        if !id.iter().all(u8::is_ascii_digit) {
            return err(VidRule::NotNumeric);
        }
        if vid_filters(id) {
            return err(VidRule::Filters);
        }
        if !verhoeff_valid(id) {
            return err(VidRule::Checksum);
        }
        Ok(Vid(value.to_owned()))
    }

    pub fn generate(rng: &mut impl Rng) -> Self {
        loop {
            let digits = random_with_check_digit(rng, Self::LENGTH);
            let candidate = String::from_utf8_lossy(&digits).into_owned();
            if let Ok(vid) = Vid::parse(&candidate) {
                return vid;
            }
        }
    }
}

masked_id!(Vid);

/// A registration id: centre (5) + machine (5) + sequence (5) + UTC timestamp `yyyyMMddHHmmss` (14).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rid(String);

impl Rid {
    pub const LENGTH: usize = 29;

    pub fn parse(value: &str) -> Result<Self, IdError> {
        let id = value.as_bytes();
        if id.len() != Self::LENGTH {
            return Err(IdError::Rid(RidRule::Length));
        }
        if !id.iter().all(u8::is_ascii_digit) {
            return Err(IdError::Rid(RidRule::NotNumeric));
        }
        if parse_rid_timestamp(&value[15..]).is_none() {
            return Err(IdError::Rid(RidRule::Timestamp));
        }
        Ok(Rid(value.to_owned()))
    }

    /// Builds a RID from its parts; `sequence` wraps within 1..=99999 as the kernel's does.
    pub fn compose(centre: &CentreId, machine: &MachineId, sequence: u32, at: OffsetDateTime) -> Self {
        let seq = ((sequence.max(1) - 1) % 99_999) + 1;
        let at = at.to_offset(time::UtcOffset::UTC);
        Rid(format!(
            "{}{}{:05}{:04}{:02}{:02}{:02}{:02}{:02}",
            centre.0,
            machine.0,
            seq,
            at.year(),
            at.month() as u8,
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn centre(&self) -> &str {
        &self.0[..5]
    }

    pub fn machine(&self) -> &str {
        &self.0[5..10]
    }

    pub fn masked(&self) -> String {
        mask_id(&self.0)
    }
}

impl fmt::Debug for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rid({})", self.masked())
    }
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn parse_rid_timestamp(ts: &str) -> Option<PrimitiveDateTime> {
    let num = |r: std::ops::Range<usize>| ts.get(r).and_then(|s| s.parse::<u32>().ok());
    let year = num(0..4)? as i32;
    let month = Month::try_from(num(4..6)? as u8).ok()?;
    let day = num(6..8)? as u8;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(num(8..10)? as u8, num(10..12)? as u8, num(12..14)? as u8).ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

/// Registration centre id: five digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentreId(String);

/// Registration machine id: five digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineId(String);

fn five_digits(value: &str) -> bool {
    value.len() == 5 && value.bytes().all(|b| b.is_ascii_digit())
}

impl CentreId {
    pub fn parse(value: &str) -> Option<Self> {
        five_digits(value).then(|| CentreId(value.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl MachineId {
    pub fn parse(value: &str) -> Option<Self> {
        five_digits(value).then(|| MachineId(value.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an `individualId` turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndividualId {
    Uin(Uin),
    Vid(Vid),
}

impl IndividualId {
    /// UIN first, then VID, as ID Repository's auto-detection does.
    pub fn parse(value: &str) -> Option<Self> {
        if let Ok(uin) = Uin::parse(value) {
            return Some(IndividualId::Uin(uin));
        }
        Vid::parse(value).ok().map(IndividualId::Vid)
    }

    pub fn masked(&self) -> String {
        match self {
            IndividualId::Uin(u) => u.masked(),
            IndividualId::Vid(v) => v.masked(),
        }
    }

    pub fn id_type(&self) -> &'static str {
        match self {
            IndividualId::Uin(_) => "UIN",
            IndividualId::Vid(_) => "VID",
        }
    }

    /// The id in clear: only for its owner (a file name, a response), never for logs.
    pub fn expose(&self) -> &str {
        match self {
            IndividualId::Uin(u) => u.expose(),
            IndividualId::Vid(v) => v.expose(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{SeedableRng, rngs::StdRng};

    fn uin_rule(v: &str) -> Option<UinRule> {
        match Uin::parse(v) {
            Ok(_) => None,
            Err(IdError::Uin(r)) => Some(r),
            Err(e) => unreachable!("{e}"),
        }
    }

    fn vid_rule(v: &str) -> Option<VidRule> {
        match Vid::parse(v) {
            Ok(_) => None,
            Err(IdError::Vid(r)) => Some(r),
            Err(e) => unreachable!("{e}"),
        }
    }

    #[test]
    fn uin_reference_examples() {
        assert_eq!(uin_rule("2013023805"), None);
        for v in ["5075291708", "8296572490", "3645074956", "7509619239", "6584109730"] {
            assert_eq!(uin_rule(v), None, "{v}");
        }
        assert_eq!(uin_rule(""), Some(UinRule::Empty));
        assert_eq!(uin_rule("1013023805"), Some(UinRule::StartsWith));
        assert_eq!(uin_rule("0013023805"), Some(UinRule::StartsWith));
        assert_eq!(uin_rule("201302380"), Some(UinRule::Length));
        assert_eq!(uin_rule("20130238051"), Some(UinRule::Length));
        assert_eq!(uin_rule("2A13023805"), Some(UinRule::NotNumeric));
        for v in [
            "2013023800",
            "2013013805",
            "2013223805",
            "4345643456",
            "4345665434",
            "4567890123",
            "6543210987",
            "3434343434",
            "2013564809",
            "2786023805",
        ] {
            assert_eq!(uin_rule(v), Some(UinRule::Filters), "{v}");
        }
        // the last digit changed: filters pass, checksum fails
        assert_eq!(uin_rule("2013023807"), Some(UinRule::Checksum));
    }

    #[test]
    fn uin_generator_is_stricter_than_validator() {
        assert!(uin_filters(b"6584109730", true), "wrap-around 109 is refused by the generator");
        assert!(!uin_filters(b"6584109730", false));
    }

    #[test]
    fn vid_reference_examples() {
        assert_eq!(vid_rule("5371843613598206"), None);
        for v in ["3472541892807460", "5615841681706239", "2908418052862130"] {
            assert_eq!(vid_rule(v), None, "{v}");
        }
        assert_eq!(vid_rule("537184361359820"), Some(VidRule::Length));
        assert_eq!(vid_rule("5371843613598205"), Some(VidRule::Checksum));
        assert_eq!(vid_rule("53718A3613598206"), Some(VidRule::NotNumeric));
        assert_eq!(vid_rule("5371143613598206"), Some(VidRule::Filters));
        assert_eq!(vid_rule("5371843613598666"), Some(VidRule::Filters));
        assert_eq!(vid_rule("0247389354374855"), Some(VidRule::Filters));
        assert_eq!(vid_rule("1247389354374855"), Some(VidRule::Filters));
    }

    #[test]
    fn rid_reference_examples() {
        assert!(Rid::parse("27847657360002520181208183050").is_ok());
        assert_eq!(Rid::parse("27847657360002520181308183050"), Err(IdError::Rid(RidRule::Timestamp)));
        assert_eq!(Rid::parse("27847657360002520181208253050"), Err(IdError::Rid(RidRule::Timestamp)));
        assert_eq!(Rid::parse("278476573600A2520181208183050"), Err(IdError::Rid(RidRule::NotNumeric)));
        assert_eq!(Rid::parse("2784765736000252018120818305"), Err(IdError::Rid(RidRule::Length)));
        assert_eq!(Rid::parse("27847657360002520190229120000"), Err(IdError::Rid(RidRule::Timestamp)));
        assert!(Rid::parse("27847657360002520200229120000").is_ok(), "leap day");
    }

    #[test]
    fn ids_are_masked_in_debug_and_display() {
        let uin = Uin::parse("2013023805").unwrap();
        assert_eq!(format!("{uin}"), "2*******05");
        assert_eq!(format!("{uin:?}"), "Uin(2*******05)");
        assert!(!format!("{uin:?}").contains("2013023805"));
        let vid = Vid::parse("5371843613598206").unwrap();
        assert_eq!(vid.to_string(), "5*************06");
        assert!(!format!("{vid:?}").contains("5371843613598206"));
    }

    #[test]
    fn individual_id_prefers_uin_then_vid() {
        assert_eq!(IndividualId::parse("2013023805").map(|i| i.id_type()), Some("UIN"));
        assert_eq!(IndividualId::parse("5371843613598206").map(|i| i.id_type()), Some("VID"));
        assert!(IndividualId::parse("12345").is_none());
    }

    proptest! {
        #[test]
        fn generated_uins_validate(seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let uin = Uin::generate(&mut rng);
            prop_assert!(Uin::parse(uin.expose()).is_ok());
            prop_assert!(!uin_filters(uin.expose().as_bytes(), true));
        }

        #[test]
        fn generated_vids_validate(seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let vid = Vid::generate(&mut rng);
            prop_assert!(Vid::parse(vid.expose()).is_ok());
        }

        #[test]
        fn one_changed_digit_breaks_the_checksum(seed in any::<u64>(), pos in 0usize..10, delta in 1u8..10) {
            let mut rng = StdRng::seed_from_u64(seed);
            let uin = Uin::generate(&mut rng);
            let mut bytes = uin.expose().as_bytes().to_vec();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            prop_assert!(!verhoeff_valid(&bytes));
        }

        #[test]
        fn composed_rids_validate(centre in 10000u32..99999, machine in 10000u32..99999, seq in 1u32..200_000, secs in 0i64..4_000_000_000) {
            let at = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let rid = Rid::compose(&CentreId::parse(&centre.to_string()).unwrap(), &MachineId::parse(&machine.to_string()).unwrap(), seq, at);
            prop_assert!(Rid::parse(rid.as_str()).is_ok(), "{}", rid.as_str());
            prop_assert_eq!(rid.centre(), centre.to_string());
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = Uin::parse(&s);
            let _ = Vid::parse(&s);
            let _ = Rid::parse(&s);
        }
    }
}
