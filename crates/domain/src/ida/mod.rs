//! ID Authentication as a service: what resident services ask of IDA (MOSIP's internal OTP, internal
//! authentication and authentication transactions). Resident use cases see only
//! [`IdAuthentication`]; the embedded IDA ([`embedded::EmbeddedIda`]: OTP policy, freeze, relying
//! parties) implements it over this platform's store, and `resident-mosip` over MOSIP IDA's REST
//! contract.

pub mod embedded;
pub mod partner;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::AuditContext;
use crate::error::ResidentError;
use crate::ids::IndividualId;
use crate::otp::OtpChannel;
use crate::ports::{AuthTransaction, Resolved};

/// The request IDA serves: who is calling (for its audit) and when.
#[derive(Clone, Copy)]
pub struct IdaCall<'a> {
    pub audit: &'a AuditContext,
    pub now: OffsetDateTime,
}

/// Where an OTP went, masked as IDA masks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpSent {
    pub masked_email: Option<String>,
    pub masked_mobile: Option<String>,
}

/// IDA's refusal of an authentication: its error code and message (`IDA-OTA-004`, "OTP is invalid").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure {
    pub code: String,
    pub message: String,
}

#[async_trait]
pub trait IdAuthentication: Send + Sync {
    /// Sends an OTP for the resident's own requests (MOSIP's internal OTP) to the identity's email
    /// and/or phone. IDA's refusals are [`ResidentError::Ida`] (`IDA-MLC-018` unknown id,
    /// `IDA-OTA-001` flooded, `IDA-OTA-013` frozen, …).
    async fn request_otp(
        &self,
        call: &IdaCall<'_>,
        id: &IndividualId,
        transaction_id: &str,
        channels: &[OtpChannel],
    ) -> Result<OtpSent, ResidentError>;

    /// Checks an OTP that [`request_otp`](Self::request_otp) sent for this id and transaction (MOSIP's
    /// internal authentication). `Ok(Err(_))` is IDA's refusal; `Err(_)` means IDA could not answer.
    async fn authenticate_otp(
        &self,
        call: &IdaCall<'_>,
        id: &IndividualId,
        transaction_id: &str,
        otp: &str,
    ) -> Result<Result<(), AuthFailure>, ResidentError>;

    /// The identity's authentication transactions, newest first (`page_start` from 1), as IDA
    /// recorded them; `who` is the identity `id` names.
    async fn auth_transactions(
        &self,
        call: &IdaCall<'_>,
        who: &Resolved,
        id: &IndividualId,
        page_start: u32,
        page_fetch: u32,
    ) -> Result<Vec<AuthTransaction>, ResidentError>;
}

/// The IDA error codes resident services pass on as IDA's own: the resident's input or identity is
/// the cause. Any other (`IDA-MLC-007` "could not be processed", which wraps IDA's decryption and
/// HMAC faults, among them) is a failed neighbour.
pub const IDA_CODES: [&str; 21] = [
    "IDA-MLC-001",
    "IDA-MLC-002",
    "IDA-MLC-003",
    "IDA-MLC-004",
    "IDA-MLC-006",
    "IDA-MLC-008",
    "IDA-MLC-009",
    "IDA-MLC-012",
    "IDA-MLC-018",
    "IDA-MLC-019",
    "IDA-MLC-022",
    "IDA-OTA-001",
    "IDA-OTA-002",
    "IDA-OTA-003",
    "IDA-OTA-004",
    "IDA-OTA-005",
    "IDA-OTA-006",
    "IDA-OTA-007",
    "IDA-OTA-008",
    "IDA-OTA-009",
    "IDA-OTA-013",
];

/// IDA's code as this crate spells it, when it is one resident services know.
pub fn known_code(code: &str) -> Option<&'static str> {
    IDA_CODES.iter().find(|c| **c == code).copied()
}
