//! Service history: every request a resident makes becomes an event with a 16-digit event id and a
//! status, owned by the identity through a keyed token (MOSIP 1.2.0.1's `resident_transaction`).

use std::fmt;

use rand::Rng;
use time::OffsetDateTime;

/// A 16-digit event id in [10^15, 10^16).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventId(String);

impl EventId {
    pub fn generate(rng: &mut impl Rng) -> Self {
        EventId(rng.gen_range(1_000_000_000_000_000u64..10_000_000_000_000_000u64).to_string())
    }

    pub fn parse(value: &str) -> Option<Self> {
        (value.len() == 16 && value.bytes().all(|b| b.is_ascii_digit()) && !value.starts_with('0'))
            .then(|| EventId(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Keyed token that ties records to an identity without naming its UIN.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdentityToken(pub String);

impl fmt::Debug for IdentityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityToken({}…)", self.0.get(..8).unwrap_or(""))
    }
}

/// `request_type_code` values (mosip-resident-api §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    AuthenticationRequest,
    ValidateOtp,
    SendOtp,
    DownloadPersonalizedCard,
    OrderPhysicalCard,
    GetMyId,
    VidCardDownload,
    UpdateMyUin,
    GenerateVid,
    RevokeVid,
    AuthTypeLockUnlock,
    ShareCredWithPartner,
}

impl RequestType {
    pub const ALL: [RequestType; 12] = [
        RequestType::AuthenticationRequest,
        RequestType::ValidateOtp,
        RequestType::SendOtp,
        RequestType::DownloadPersonalizedCard,
        RequestType::OrderPhysicalCard,
        RequestType::GetMyId,
        RequestType::VidCardDownload,
        RequestType::UpdateMyUin,
        RequestType::GenerateVid,
        RequestType::RevokeVid,
        RequestType::AuthTypeLockUnlock,
        RequestType::ShareCredWithPartner,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RequestType::AuthenticationRequest => "AUTHENTICATION_REQUEST",
            RequestType::ValidateOtp => "VALIDATE_OTP",
            RequestType::SendOtp => "SEND_OTP",
            RequestType::DownloadPersonalizedCard => "DOWNLOAD_PERSONALIZED_CARD",
            RequestType::OrderPhysicalCard => "ORDER_PHYSICAL_CARD",
            RequestType::GetMyId => "GET_MY_ID",
            RequestType::VidCardDownload => "VID_CARD_DOWNLOAD",
            RequestType::UpdateMyUin => "UPDATE_MY_UIN",
            RequestType::GenerateVid => "GENERATE_VID",
            RequestType::RevokeVid => "REVOKE_VID",
            RequestType::AuthTypeLockUnlock => "AUTH_TYPE_LOCK_UNLOCK",
            RequestType::ShareCredWithPartner => "SHARE_CRED_WITH_PARTNER",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }
}

/// What the portal shows for a status code: `Success`, `In Progress` or `Failed` (unknown → in progress).
pub fn event_status(status_code: &str) -> &'static str {
    const SUCCESS: &[&str] = &[
        "AUTHENTICATION_SUCCESSFUL",
        "STORED",
        "CARD_READY_TO_DOWNLOAD",
        "CARD_DOWNLOADED",
        "CARD_DELIVERED",
        "RECEIVED",
        "DATA_SHARED_SUCCESSFULLY",
        "PRINTED",
        "LOCKED",
        "UNLOCKED",
        "AUTHENTICATION_TYPE_LOCKED",
        "AUTHENTICATION_TYPE_UNLOCKED",
        "PROCESSED",
        "DATA_UPDATED",
        "VID_GENERATED",
        "VID_REVOKED",
        "EMAIL_VERIFIED",
        "PHONE_VERIFIED",
        "OTP_VERIFIED",
        "COMPLETED",
        "AUTHENTICATION_TYPE_UPDATED",
        "PHYSICAL_CARD_ORDERED",
    ];
    const FAILED: &[&str] = &[
        "AUTHENTICATION_FAILED",
        "FAILED",
        "PAYMENT_FAILED",
        "REJECTED",
        "REPROCESS_FAILED",
        "OTP_VERIFICATION_FAILED",
        // a withdrawn credential request: it did not complete
        "CANCELLED",
    ];
    if SUCCESS.contains(&status_code) {
        "Success"
    } else if FAILED.contains(&status_code) {
        "Failed"
    } else {
        "In Progress"
    }
}

/// A row of the service history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEvent {
    pub event_id: EventId,
    pub token: IdentityToken,
    pub request_type: RequestType,
    pub request_summary: String,
    pub status_code: String,
    pub status_comment: Option<String>,
    /// OTP transaction id, partner transaction id, …
    pub request_trn_id: Option<String>,
    pub ref_id_type: Option<String>,
    /// Masked UIN/VID.
    pub ref_id: Option<String>,
    pub lang_code: Option<String>,
    /// RID/AID of a packet this request produced.
    pub aid: Option<String>,
    pub requested_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub read: bool,
    pub pinned: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{SeedableRng, rngs::StdRng};

    proptest! {
        #[test]
        fn event_ids_have_16_digits(seed in any::<u64>()) {
            let id = EventId::generate(&mut StdRng::seed_from_u64(seed));
            prop_assert_eq!(id.as_str().len(), 16);
            prop_assert!(EventId::parse(id.as_str()).is_some());
        }
    }

    #[test]
    fn statuses_map_like_mosip() {
        assert_eq!(event_status("VID_GENERATED"), "Success");
        assert_eq!(event_status("REJECTED"), "Failed");
        assert_eq!(event_status("NEW"), "In Progress");
        assert_eq!(event_status("SOMETHING_NEW"), "In Progress");
        assert!(EventId::parse("0123456789012345").is_none());
        assert!(EventId::parse("123").is_none());
    }

    #[test]
    fn request_types_round_trip() {
        for t in RequestType::ALL {
            assert_eq!(RequestType::from_code(t.code()), Some(t));
        }
    }
}
