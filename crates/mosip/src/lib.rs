//! HTTP adapters to a MOSIP deployment's services, for integrated mode: resident services calling a
//! MOSIP platform (or another `resident` process serving the embedded platform's MOSIP contracts)
//! instead of the embedded one. So far: the kernel auth manager's client token (`auth`), which every
//! adapter needs first; the audit manager as an audit sink (`audit`, the domain's `AuditLog` port);
//! ID Authentication (`ida`, the domain's `IdAuthentication` port) with MOSIP's encrypted request
//! (`crypto`, which the embedded platform also uses to open it). Each call goes through [`call`]:
//! timeouts, retries of reads only, a [`Breaker`] per service.

pub mod audit;
pub mod auth;
pub mod crypto;
pub mod ida;
pub mod idrepo;
pub mod keymanager;
pub mod masterdata;
pub mod notifier;

use resident_domain::ResidentError;

/// What calling a neighbour can fail with. Converted to MOSIP's resident error codes at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    /// No answer: connection refused, reset, DNS, TLS.
    #[error("{service} is unreachable: {detail}")]
    Unreachable { service: &'static str, detail: String },
    /// No answer within the time allowed.
    #[error("{service} did not answer in time")]
    Timeout { service: &'static str },
    /// The service answered with its own refusal (MOSIP's `errors`, or an HTTP error status).
    #[error("{service} refused: {code} {message}")]
    Refused { service: &'static str, code: String, message: String },
    /// The answer was not what the contract says.
    #[error("{service} answered something unexpected: {detail}")]
    Malformed { service: &'static str, detail: String },
}

impl From<AdapterError> for ResidentError {
    /// As MOSIP's resident service reports a neighbour's failure: unreachable or silent,
    /// `RES-SER-411` (API resource not available); a refusal or a broken answer, `RES-SER-412`
    /// (unable to access API resource). The detail goes to the log, never to the resident.
    fn from(e: AdapterError) -> Self {
        match e {
            AdapterError::Unreachable { .. } | AdapterError::Timeout { .. } => {
                ResidentError::Unavailable(e.to_string())
            }
            AdapterError::Refused { .. } | AdapterError::Malformed { .. } => {
                tracing::warn!(error = %e, "a platform service failed");
                ResidentError::ApiResourceAccess
            }
        }
    }
}

/// The HTTP client of one service's adapter: every call, and every connection, within `timeout`.
pub(crate) fn http_client(
    service: &'static str,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, AdapterError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| AdapterError::Malformed { service, detail: e.to_string() })
}

/// A request that got no answer: too slow, or not delivered (never the URL: it may hold credentials).
pub(crate) fn no_answer(service: &'static str, e: reqwest::Error) -> AdapterError {
    if e.is_timeout() {
        AdapterError::Timeout { service }
    } else {
        AdapterError::Unreachable { service, detail: e.without_url().to_string() }
    }
}

/// The refusal in an answer, if it is one: MOSIP's first `errors` entry (often with HTTP 200; an
/// empty list is no refusal; the neighbour's text
/// without control characters), else an error status.
pub(crate) fn refusal(
    service: &'static str,
    status: reqwest::StatusCode,
    answer: &serde_json::Value,
) -> Option<AdapterError> {
    use serde_json::Value;
    if let Some(first) = answer.get("errors").and_then(Value::as_array).and_then(|e| e.first()) {
        let clean = |k: &str| -> String {
            let v = first.get(k).and_then(Value::as_str).unwrap_or_default();
            v.chars().filter(|c| !c.is_control()).take(200).collect()
        };
        // the kernel's services say `message`; IDA says `errorMessage`
        let message = if first.get("errorMessage").is_some() { clean("errorMessage") } else { clean("message") };
        return Some(AdapterError::Refused { service, code: clean("errorCode"), message });
    }
    (!status.is_success()).then(|| AdapterError::Refused {
        service,
        code: status.as_u16().to_string(),
        message: String::new(),
    })
}

/// A neighbour that stopped answering is not called for a while: after [`Breaker::TRIPS`] calls in
/// a row got no answer, calls fail at once (`RES-SER-411`) for [`Breaker::COOL_DOWN`]; then one
/// call is let through, and its answer closes the circuit again.
#[derive(Debug, Default)]
pub struct Breaker {
    state: std::sync::Mutex<BreakerState>,
}

#[derive(Debug, Default)]
struct BreakerState {
    failures: u32,
    open_until: Option<std::time::Instant>,
}

impl Breaker {
    pub const TRIPS: u32 = 5;
    pub const COOL_DOWN: std::time::Duration = std::time::Duration::from_secs(30);

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a call may go out now; while open, the answer is `Unavailable` without calling.
    pub fn admit(&self, service: &'static str) -> Result<(), AdapterError> {
        let mut s = self.lock();
        match s.open_until {
            Some(until) if std::time::Instant::now() < until => {
                Err(AdapterError::Unreachable { service, detail: "circuit open after repeated failures".into() })
            }
            Some(_) => {
                // half open: this call is the trial; the next ones wait for its answer's verdict
                s.open_until = Some(std::time::Instant::now() + Self::COOL_DOWN);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Records how a call went.
    pub fn record<T>(&self, result: &Result<T, AdapterError>) {
        let mut s = self.lock();
        match result {
            Err(AdapterError::Unreachable { .. } | AdapterError::Timeout { .. }) => {
                s.failures += 1;
                if s.failures >= Self::TRIPS {
                    s.open_until = Some(std::time::Instant::now() + Self::COOL_DOWN);
                }
            }
            _ => {
                s.failures = 0;
                s.open_until = None;
            }
        }
    }
}

/// How a call to a neighbour may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A read: asked again (twice, after a jittered pause) when no answer comes.
    Idempotent,
    /// A change (an OTP sent, an OTP used): never sent twice.
    Once,
}

/// One call to a kernel-authenticated MOSIP service: the token as MOSIP's clients send it (the
/// `Authorization` cookie; IDA also wants an `Authorization` header), renewed once when refused
/// (401), the breaker consulted and told, a gateway's 502–504 counted as no answer. The answer's
/// status and JSON body (null when it has none).
pub(crate) async fn call(
    service: &'static str,
    auth: &auth::KernelAuth,
    breaker: &Breaker,
    retry: Retry,
    build: impl Fn(&str) -> reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, serde_json::Value), AdapterError> {
    breaker.admit(service)?;
    let result = async {
        let mut attempt = 0u32;
        let mut refused_once = false;
        loop {
            attempt += 1;
            let token = auth.token().await?;
            let sent = build(&token)
                .header(reqwest::header::COOKIE, format!("Authorization={token}"))
                .send()
                .await
                .map_err(|e| no_answer(service, e));
            let outcome = match sent {
                Ok(res) if matches!(res.status().as_u16(), 502..=504) => {
                    Err(AdapterError::Unreachable { service, detail: format!("HTTP {}", res.status().as_u16()) })
                }
                Ok(res) => Ok(res),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(res) if res.status() == reqwest::StatusCode::UNAUTHORIZED && !refused_once => {
                    refused_once = true;
                    auth.invalidate(&token).await;
                }
                Ok(res) => {
                    let status = res.status();
                    let body = res.json().await.unwrap_or(serde_json::Value::Null);
                    return Ok((status, body));
                }
                Err(e) if retry == Retry::Idempotent && attempt < 3 => {
                    let base = 100u64 << (attempt - 1);
                    tracing::warn!(error = %e, attempt, "calling {service} again");
                    tokio::time::sleep(std::time::Duration::from_millis(base + auth::rand_below(base))).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
    .await;
    breaker.record(&result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> Result<(), AdapterError> {
        Err(AdapterError::Timeout { service: "x" })
    }

    #[test]
    fn five_calls_without_an_answer_open_the_circuit_and_an_answer_closes_it() {
        let breaker = Breaker::default();
        for _ in 0..Breaker::TRIPS - 1 {
            assert!(breaker.admit("x").is_ok());
            breaker.record(&down());
        }
        // a refusal is an answer: it resets the count
        breaker.record::<()>(&Err(AdapterError::Refused { service: "x", code: "c".into(), message: String::new() }));
        for _ in 0..Breaker::TRIPS {
            assert!(breaker.admit("x").is_ok());
            breaker.record(&down());
        }
        let refused = breaker.admit("x").unwrap_err();
        assert!(matches!(refused, AdapterError::Unreachable { .. }));
        assert_eq!(ResidentError::from(refused).code(), "RES-SER-411");
        // after the cool-down one trial goes through; its answer closes the circuit
        breaker.lock().open_until = Some(std::time::Instant::now());
        assert!(breaker.admit("x").is_ok());
        assert!(breaker.admit("x").is_err(), "one trial at a time");
        breaker.record(&Ok(()));
        assert!(breaker.admit("x").is_ok());
    }
}
