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
