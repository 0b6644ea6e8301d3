//! Endpoints of the embedded platform that other systems call, in MOSIP's own contracts.

pub mod auditmanager;
pub mod authmanager;
pub mod ida;
pub mod ida_internal;
pub mod idrepo;
pub mod idrepo_service;
pub mod keymanager;
pub mod masterdata;
pub mod notifier;
pub mod print;

use axum::http::HeaderMap;
use resident_domain::ResidentError;
use sha2::{Digest, Sha256};

use crate::AppState;

/// Checks the caller of a platform endpoint: a token of an active registered client holding `role`
/// (MOSIP's way: `/v1/authmanager/authenticate/clientidsecretkey`), or, where the role is
/// `REGISTRATION_PROCESSOR`, the service key (the older credential of a registration processor; it
/// opens nothing else: not IDA, an identity read, a signature). Either comes
/// as `Authorization: Bearer <…>`, a bare `Authorization` header (as MOSIP's clients send a token) or
/// MOSIP's `Authorization=<…>` cookie.
/// The caller's name for the audit trail: `client:<id>`, or `service-key`.
pub async fn require_platform(state: &AppState, headers: &HeaderMap, role: &str) -> Result<String, ResidentError> {
    let presented = presented_credentials(headers);
    if presented.is_empty() {
        return Err(ResidentError::Unauthenticated);
    }
    // MOSIP's clients send the token in the cookie and may put a placeholder in the header (IDA's
    // filter wants one): the first credential that is a token decides
    if let Some(claims) = presented.iter().find_map(|p| authmanager::token_claims(state, p)) {
        let client = state.clients.client(&claims.sub).await?;
        return if resident_domain::platform::authorize(client.as_ref(), claims.registered, &claims.roles, role) {
            Ok(format!("client:{}", claims.sub))
        } else {
            Err(ResidentError::Unauthenticated)
        };
    }
    if role == SERVICE_KEY_ROLE && presented.iter().any(|p| require_service(state, p).is_ok()) {
        Ok("service-key".into())
    } else {
        Err(ResidentError::Unauthenticated)
    }
}

/// The one role the service key stands for.
const SERVICE_KEY_ROLE: &str = "REGISTRATION_PROCESSOR";

/// What the request presents: the `Authorization` header (with or without `Bearer `), then MOSIP's
/// `Authorization=<…>` cookie.
fn presented_credentials(headers: &HeaderMap) -> Vec<String> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).to_owned());
    let cookie = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.split(';').find_map(|kv| kv.trim().strip_prefix("Authorization=").map(str::to_owned)));
    header.into_iter().chain(cookie).filter(|c| !c.trim().is_empty()).collect()
}

/// The service key, compared by SHA-256 digest in constant time.
fn require_service(state: &AppState, presented: &str) -> Result<(), ResidentError> {
    let Some(expected) = state.service_key_sha256 else {
        return Err(ResidentError::Unauthenticated);
    };
    let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
    let diff = digest.iter().zip(expected.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff == 0 { Ok(()) } else { Err(ResidentError::Unauthenticated) }
}

/// The partner named in the path, if it is active, of `partner_type`, and the request carries its key
/// (`Authorization: Bearer <key>`, compared by SHA-256 digest in constant time).
pub async fn require_partner(
    state: &AppState,
    headers: &HeaderMap,
    partner_id: &str,
    partner_type: &str,
) -> Result<resident_domain::ports::Partner, ResidentError> {
    let key = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ResidentError::Unauthenticated)?;
    let partner = state.auth.partner(partner_id).await?.ok_or(ResidentError::Unauthenticated)?;
    let digest = ida::hex_digest(key.trim());
    let same = digest.len() == partner.api_key_sha256.len()
        && digest.bytes().zip(partner.api_key_sha256.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0;
    if !same || partner.status != "ACTIVE" || partner.partner_type != partner_type {
        return Err(ResidentError::Unauthenticated);
    }
    Ok(partner)
}
