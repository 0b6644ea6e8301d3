//! Per-client throttling: how many requests of one kind one client may make in a window. The counters
//! live in the database (every replica sees them); this module holds the rule and the client's key.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::StoreError;

/// The kinds of request that are counted, each with its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Asking for an OTP for oneself: `/req/otp`, the portal's login.
    OtpIssue,
    /// A relying party asking for an OTP for a resident (`/idauthentication/v1/otp/{partnerId}`): one
    /// bank's servers ask for all its customers from a few addresses.
    PartnerOtp,
    /// A call that carries an OTP: every OTP-protected resident API call and the portal's OTP page.
    OtpProtected,
    /// Posts of the portal's login forms.
    PortalLogin,
}

impl Scope {
    pub fn code(self) -> &'static str {
        match self {
            Scope::OtpIssue => "otp",
            Scope::PartnerOtp => "partner-otp",
            Scope::OtpProtected => "protected",
            Scope::PortalLogin => "login",
        }
    }
}

/// `rate_limit` in the configuration. The defaults are sized for a national portal where many
/// residents share one address behind a carrier's NAT: they stop one machine from trying thousands of
/// UINs, not a busy household or office.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RateLimits {
    /// Off only for test rigs (conformance runs, load tests).
    pub enabled: bool,
    /// The window every limit counts in.
    pub window_seconds: i64,
    /// OTPs asked for per client address per window.
    pub otp_issue: i64,
    /// OTPs relying parties ask for, per client address per window.
    pub partner_otp: i64,
    /// OTP-protected calls per client address per window.
    pub otp_protected: i64,
    /// Portal login form posts per client address per window.
    pub portal_login: i64,
    /// Requests served at once; beyond it a request is answered 503 at once instead of queueing.
    pub max_concurrent: usize,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or CIDR blocks, e.g. `10.0.0.0/8`).
    /// Empty: the socket's address is the client's.
    pub trusted_proxies: Vec<String>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            enabled: true,
            window_seconds: 60,
            otp_issue: 30,
            partner_otp: 600,
            otp_protected: 120,
            portal_login: 60,
            max_concurrent: 512,
            trusted_proxies: Vec::new(),
        }
    }
}

impl RateLimits {
    pub fn limit(&self, scope: Scope) -> i64 {
        match scope {
            Scope::OtpIssue => self.otp_issue,
            Scope::PartnerOtp => self.partner_otp,
            Scope::OtpProtected => self.otp_protected,
            Scope::PortalLogin => self.portal_login,
        }
    }

    /// Checks the values (for start-up): a limit of zero would refuse everyone.
    pub fn validate(&self) -> Result<(), String> {
        if self.window_seconds < 1 || self.window_seconds > 86_400 {
            return Err("rate_limit.window_seconds must be between 1 and 86400".into());
        }
        for (name, v) in [
            ("otp_issue", self.otp_issue),
            ("partner_otp", self.partner_otp),
            ("otp_protected", self.otp_protected),
            ("portal_login", self.portal_login),
        ] {
            if v < 1 {
                return Err(format!("rate_limit.{name} must be at least 1"));
            }
        }
        if self.max_concurrent < 1 {
            return Err("rate_limit.max_concurrent must be at least 1".into());
        }
        for p in &self.trusted_proxies {
            Cidr::parse(p)
                .ok_or_else(|| format!("rate_limit.trusted_proxies: {p:?} is not an address or CIDR block"))?;
        }
        Ok(())
    }

    /// Whether `peer` is one of the trusted proxies.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.iter().filter_map(|p| Cidr::parse(p)).any(|c| c.contains(peer))
    }

    /// The client's address: the socket's peer, or, when the peer is a trusted proxy, the nearest
    /// address in `X-Forwarded-For` that is not itself a trusted proxy (the header's left part can
    /// be written by anyone, so it is read from the right).
    pub fn client_address(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let Some(header) = forwarded_for else { return Some(peer) };
        let mut client = peer;
        for part in header.rsplit(',') {
            match parse_forwarded(part) {
                Some(a) => {
                    client = a;
                    if !self.trusts(a) {
                        break;
                    }
                }
                None => break,
            }
        }
        Some(client)
    }
}

/// One `X-Forwarded-For` entry: an address, or an address with a port (`203.0.113.7:4711`,
/// `[2001:db8::1]:4711`, as some proxies write them).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    if let Ok(a) = e.parse::<IpAddr>() {
        return Some(a);
    }
    if let Some(rest) = e.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = e.rsplit_once(':')?;
    port.bytes().all(|b| b.is_ascii_digit()).then(|| host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4))?
}

/// The key a client is counted under: its IPv4 address, or its IPv6 /64 (one subscriber's prefix:
/// a host can pick any address in it). `None` (no address known) is counted as one client.
pub fn client_key(addr: Option<IpAddr>) -> String {
    match addr.map(canonical) {
        Some(IpAddr::V4(a)) => a.to_string(),
        Some(IpAddr::V6(a)) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "unknown".into(),
    }
}

fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(a),
        v4 => v4,
    }
}

/// An address or a CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    base: IpAddr,
    bits: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, bits) = match text.trim().split_once('/') {
            Some((a, b)) => (a.parse::<IpAddr>().ok()?, Some(b.parse::<u8>().ok()?)),
            None => (text.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Cidr { base: addr, bits })
    }

    pub fn contains(&self, a: IpAddr) -> bool {
        match (self.base, canonical(a)) {
            (IpAddr::V4(b), IpAddr::V4(x)) => {
                let mask = if self.bits == 0 { 0 } else { u32::MAX << (32 - u32::from(self.bits)) };
                u32::from(b) & mask == u32::from(x) & mask
            }
            (IpAddr::V6(b), IpAddr::V6(x)) => {
                let mask = if self.bits == 0 { 0 } else { u128::MAX << (128 - u32::from(self.bits)) };
                u128::from(b) & mask == u128::from(x) & mask
            }
            _ => false,
        }
    }
}

/// A refused request: try again in this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_seconds: i64,
}

/// Counters every replica shares.
#[async_trait::async_trait]
pub trait RateCounter: Send + Sync {
    /// Adds one hit to `bucket` in the window starting at `window_start_ms` (kept until
    /// `expires_at_ms`) and returns the hits in that window, this one included.
    async fn hit(&self, bucket: &str, window_start_ms: i64, expires_at_ms: i64) -> Result<i64, StoreError>;

    /// Deletes the counters of windows that ended before `now_ms`; returns how many.
    async fn sweep(&self, now_ms: i64) -> Result<u64, StoreError>;
}

/// Counts one request of `scope` from `client` and says whether it may go on.
pub async fn admit(
    counter: &dyn RateCounter,
    limits: &RateLimits,
    scope: Scope,
    client: &str,
    now: OffsetDateTime,
) -> Result<Result<(), Throttled>, StoreError> {
    if !limits.enabled {
        return Ok(Ok(()));
    }
    let window_ms = limits.window_seconds * 1000;
    let now_ms = crate::clock::epoch_ms(now);
    let start = now_ms - now_ms.rem_euclid(window_ms);
    let hits = counter.hit(&format!("{}:{client}", scope.code()), start, start + window_ms).await?;
    if hits > limits.limit(scope) {
        let retry = ((start + window_ms - now_ms) + 999) / 1000;
        return Ok(Err(Throttled { retry_after_seconds: retry.max(1) }));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(proxies: &[&str]) -> RateLimits {
        RateLimits { trusted_proxies: proxies.iter().map(|s| (*s).to_owned()).collect(), ..RateLimits::default() }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        let none = limits(&[]);
        // anyone can send the header: without a trusted proxy the socket decides
        assert_eq!(none.client_address(ip("203.0.113.9"), Some("198.51.100.1")), ip("203.0.113.9"));
        let lb = limits(&["10.0.0.0/8"]);
        assert_eq!(lb.client_address(ip("10.1.2.3"), Some("198.51.100.1")), ip("198.51.100.1"));
        // a client that writes its own header gains nothing: the proxy appended the real address
        assert_eq!(lb.client_address(ip("10.1.2.3"), Some("1.1.1.1, 198.51.100.1")), ip("198.51.100.1"));
        // two proxies in a row
        assert_eq!(lb.client_address(ip("10.1.2.3"), Some("198.51.100.1, 10.9.9.9")), ip("198.51.100.1"));
        // garbage stops the walk at the last good address
        assert_eq!(lb.client_address(ip("10.1.2.3"), Some("junk")), ip("10.1.2.3"));
        // entries with ports
        assert_eq!(lb.client_address(ip("10.1.2.3"), Some("198.51.100.1:4711")), ip("198.51.100.1"));
        assert_eq!(lb.client_address(ip("10.1.2.3"), Some("[2001:db8::1]:4711")), ip("2001:db8::1"));
        assert_eq!(lb.client_address(None, Some("198.51.100.1")), None);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a = client_key("2001:db8:1:2:aaaa::1".parse().ok());
        let b = client_key("2001:db8:1:2:bbbb::7".parse().ok());
        let c = client_key("2001:db8:1:3::1".parse().ok());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(client_key("::ffff:192.0.2.1".parse().ok()), "192.0.2.1");
        assert_eq!(client_key(None), "unknown");
    }

    #[test]
    fn cidr_blocks() {
        let c = Cidr::parse("192.168.0.0/16").unwrap();
        assert!(c.contains("192.168.44.1".parse().unwrap()));
        assert!(!c.contains("192.169.0.1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nonsense").is_none());
        assert!(limits(&["0.0.0.0/0"]).trusts("8.8.8.8".parse().unwrap()));
    }

    struct Memory(std::sync::Mutex<std::collections::HashMap<(String, i64), i64>>);

    #[async_trait::async_trait]
    impl RateCounter for Memory {
        async fn hit(&self, bucket: &str, start: i64, _expires: i64) -> Result<i64, StoreError> {
            let mut m = self.0.lock().map_err(|_| StoreError::Unavailable("poisoned".into()))?;
            let n = m.entry((bucket.to_owned(), start)).or_insert(0);
            *n += 1;
            Ok(*n)
        }
        async fn sweep(&self, _now_ms: i64) -> Result<u64, StoreError> {
            Ok(0)
        }
    }

    #[tokio::test]
    async fn the_limit_holds_within_a_window_and_the_next_window_starts_afresh() {
        let counter = Memory(Default::default());
        let l = RateLimits { otp_issue: 3, ..RateLimits::default() };
        let t = time::macros::datetime!(2026-11-26 09:00:10 UTC);
        for _ in 0..3 {
            assert_eq!(admit(&counter, &l, Scope::OtpIssue, "a", t).await.ok(), Some(Ok(())));
        }
        assert_eq!(
            admit(&counter, &l, Scope::OtpIssue, "a", t).await.ok(),
            Some(Err(Throttled { retry_after_seconds: 50 }))
        );
        // another client, another scope: their own counts
        assert_eq!(admit(&counter, &l, Scope::OtpIssue, "b", t).await.ok(), Some(Ok(())));
        assert_eq!(admit(&counter, &l, Scope::OtpProtected, "a", t).await.ok(), Some(Ok(())));
        let next = t + time::Duration::seconds(50);
        assert_eq!(admit(&counter, &l, Scope::OtpIssue, "a", next).await.ok(), Some(Ok(())));
        let off = RateLimits { enabled: false, otp_issue: 1, ..RateLimits::default() };
        for _ in 0..5 {
            assert_eq!(admit(&counter, &off, Scope::OtpIssue, "c", t).await.ok(), Some(Ok(())));
        }
    }
}
