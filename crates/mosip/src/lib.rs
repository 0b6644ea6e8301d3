//! HTTP adapters to a MOSIP deployment's services, for integrated mode: resident services calling a
//! MOSIP platform (or another `resident` process serving the embedded platform's MOSIP contracts)
//! instead of the embedded one. So far: the kernel auth manager's client token (`auth`), which every
//! adapter needs first, and the audit manager as an audit sink (`audit`, the domain's `AuditLog`
//! port). Each other service's adapter arrives with its port.

pub mod audit;
pub mod auth;

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

/// A request that got no answer: too slow, or not delivered (never the URL: it may hold credentials).
pub(crate) fn no_answer(service: &'static str, e: reqwest::Error) -> AdapterError {
    if e.is_timeout() {
        AdapterError::Timeout { service }
    } else {
        AdapterError::Unreachable { service, detail: e.without_url().to_string() }
    }
}

/// The refusal in an answer, if it is one: MOSIP's `errors` (often with HTTP 200; the neighbour's text
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
        return Some(AdapterError::Refused { service, code: clean("errorCode"), message: clean("message") });
    }
    (!status.is_success()).then(|| AdapterError::Refused {
        service,
        code: status.as_u16().to_string(),
        message: String::new(),
    })
}
