//! The MOSIP 1.2.0 resident API under `/resident/v1`.

pub mod auth;
pub mod card;
pub mod check_status;
pub mod credential;
pub mod data_access;
pub mod update;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use resident_domain::audit::AuditContext;

use crate::AppState;

/// Per-request facts for audit records: the request id (also in the logs) and this host.
pub struct RequestMeta {
    pub request_id: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let request_id = parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(RequestMeta { request_id })
    }
}

impl RequestMeta {
    pub fn audit_context(&self, state: &AppState, user: &str) -> AuditContext {
        AuditContext {
            host_name: state.host.name.clone(),
            host_ip: state.host.ip.clone(),
            session_user: user.to_owned(),
            request_id: self.request_id.clone(),
        }
    }
}
