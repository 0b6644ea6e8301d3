//! One error type for everything a resident or a platform client can be told, with MOSIP's stable codes.
//! How each maps to HTTP lives in the web crate (`error.rs`), in one table.

use crate::ids::IdError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResidentError {
    /// RES-SER-410 "Invalid Input Parameter- <field>"
    #[error("Invalid Input Parameter- {0}")]
    InvalidInput(String),
    /// RES-SER-414 "Missing input Parameter- <field>"
    #[error("Missing input Parameter- {0}")]
    MissingInput(String),
    /// RES-SER-418: the body is not JSON, or not the JSON the endpoint takes.
    #[error("Bad Request: {0}")]
    BadRequest(String),
    /// RES-SER-408
    #[error("RID not found")]
    RidNotFound,
    /// KER-ATH-401: no or wrong service credential.
    #[error("Authentication failed")]
    Unauthenticated,
    /// IDR-IDC-001
    #[error("Missing Input Parameter - {0}")]
    IdRepoMissingInput(String),
    /// IDR-IDC-002
    #[error("Invalid Input Parameter - {0}")]
    IdRepoInvalidInput(String),
    /// IDR-IDC-012
    #[error("Record already exists in DB")]
    IdRepoRecordExists,
    /// RES-SER-422: the OTP did not authorise the request (MOSIP 1.2.0 passes IDA's reason as the message).
    #[error("{0}")]
    OtpValidationFailed(String),
    /// RES-SER-405
    #[error("Maximum allowed VIDs are active. Deactivate VID to generate new one.")]
    VidAlreadyPresent,
    /// RES-SER-406
    #[error("Exception while creating VID")]
    VidCreationFailed,
    /// RES-SER-407
    #[error("VID revocation request failed. Please visit the nearest registration center for assistance.")]
    VidRevocationFailed,
    /// RES-SER-412: MOSIP 1.2.1's answer when the VID to revoke is malformed, unknown, not the
    /// caller's or no longer active (the ID Repository could not be asked about it). Says which of
    /// these it was to nobody.
    #[error("Unable to access API resource")]
    ApiResourceAccess,
    /// RES-SER-23: a change that needs proof came without its document.
    #[error("Could not find the submitted document")]
    DocumentNotFound,
    /// RES-SER-427: a field the resident may not update.
    #[error("Unsupported Input Parameter - {0}")]
    UnsupportedInput(String),
    /// RES-SER-433
    #[error("Individual Id in request and identity json UIN is not matching")]
    IndividualIdUinMismatch,
    /// RES-SER-514
    #[error("File size cannot be more than 2MB.")]
    DocumentTooLarge,
    /// RES-SER-516
    #[error("Unsupported file type. Supported file extensions: jpg, jpeg, png, pdf")]
    UnsupportedFileType,
    /// RES-SER-525
    #[error("Not allowed to update UIN as previous packet is pending and it cannot be cancelled.")]
    UpdatePending,
    /// RES-SER-526
    #[error("Update count limit for the attributes exceeded:- {0}")]
    UpdateCountExceeded(String),
    /// RES-SER-424: the update packet could not be built or stored. Detail for the log.
    #[error("Exception while creating packet.")]
    PacketCreation(String),
    /// RES-SER-426: no policy lets the partner receive this credential type.
    #[error("while retrieving policy details error is occured")]
    PolicyMissing,
    /// PMS_PRT_064 (partner management's code, which MOSIP 1.2.1 passes through on the policy
    /// endpoint): no such partner, or no policy of that type for it.
    #[error("Policy does not exist for the given partner and credential type")]
    PolicyNotFound,
    /// RES-SER-29
    #[error("Invalid id")]
    InvalidId,
    /// RES-SER-29 as well: the request id alone does not reach this (unknown, its time is over, its
    /// one download is used, or the artefact is not protected with the resident's own key).
    #[error(
        "Invalid id: this request id does not work on its own here; prove the request is yours with X-Individual-Id, X-Transaction-Id and X-OTP"
    )]
    RequestIdAlone,
    /// RES-SER-458: unknown, or not the caller's.
    #[error("Credential request id not found")]
    CredentialRequestNotFound,
    /// RES-SER-24: the request is cancelled or failed: nothing to cancel.
    #[error("Credential is issued")]
    CredentialIssued,
    /// RES-SER-509
    #[error("The card is not ready for download.")]
    CardNotReady,
    /// RES-SER-446
    #[error("EID not available in database")]
    EventNotFound,

    #[error("The event id does not belong to the logged-in resident")]
    EventNotOwned,

    #[error("AID not found")]
    AidNotFound,

    #[error("Search text is longer than an event id")]
    SearchTextTooLong,

    /// RES-SER-454: not an active VID of the logged-in resident (another's, revoked, or no VID at
    /// all: they are not told apart).
    #[error("Provided VID does not belong to the logged in user.")]
    VidNotYours,
    /// RES-SER-474: the VID a card was asked for is no longer active (revoked, expired, used up).
    #[error("Individual ID is invalid.")]
    IndividualIdInvalid,
    /// RES-SER-461: the resident did not accept the terms of sharing.
    #[error(
        "Accepting the terms and conditions is a mandatory action to proceed further. Please accept the consent to proceed"
    )]
    ConsentRequired,
    /// RES-SER-522: neither a UIN nor a VID.
    #[error("Invalid UIN/VID entered")]
    InvalidUinOrVid,
    /// RES-SER-473: a card is downloaded only for a request of a card.
    #[error("Invalid Request Type. Please input eventId only for VID_CARD_DOWNLOAD,UPDATE_MY_UIN")]
    NotACardRequest,

    /// RES-SER-514 as MOSIP words it, without echoing the text (which may be an email address).
    #[error("Input text size exceeds the limit; Character limit={limit}; inputType={field}")]
    TextTooLong { field: &'static str, limit: usize },

    #[error("Invalid page start value")]
    InvalidPageStart,
    /// RES-SER-447
    #[error("Invalid page fetch value")]
    InvalidPageFetch,
    /// RES-SER-510 (MOSIP's OTP_REQUEST_FLOODED): this client sent too many requests of this kind;
    /// answered HTTP 429 with `Retry-After`.
    #[error("Innumerous requests received; try again in {retry_after_seconds} seconds")]
    Throttled { retry_after_seconds: i64 },
    /// RES-SER-418 with masterdata's own words: no location, centre, document type or value matches
    /// ("Registration Center not found", …). MOSIP's app reads this code as "nothing found".
    #[error("{0}")]
    MasterdataNotFound(&'static str),
    /// RES-SER-461: no document uploaded under this transaction (or not this one).
    #[error("No document found for this transaction")]
    NoDocuments,
    /// RES-SER-470: nothing of the resident's to act on (a pending draft to discard).
    #[error("No Record(s) found")]
    NoRecord,
    /// RES-SER-519 / RES-SER-520: the new email or phone is the one the identity already has.
    #[error("{}", if *.0 { "Enter a new email ID" } else { "Enter a new phone number" })]
    SameContact(bool),
    /// RES-SER-463: the OTP could not be sent (the contact cannot be reached, or sending is frozen).
    #[error("Send OTP failed.")]
    SendOtpFailed,
    /// A kernel service's own error (`KER-AUD-*`), answered in its envelope by the embedded platform.
    #[error("{1}")]
    Kernel(&'static str, String),
    /// An IDA (`IDA-*`) error, answered in IDA's own envelope by the OTP endpoint.
    #[error("{1}")]
    Ida(&'static str, String),
    /// RES-SER-423: something failed on our side. The detail is for the log, never for the client.
    #[error("Unknown exception occured.")]
    Internal(String),
    /// RES-SER-411: the database (or another platform service) cannot be reached. Detail for the log.
    #[error("API resource is not available")]
    Unavailable(String),
}

impl ResidentError {
    pub fn code(&self) -> &'static str {
        match self {
            ResidentError::InvalidInput(_) => "RES-SER-410",
            ResidentError::MissingInput(_) => "RES-SER-414",
            ResidentError::BadRequest(_) => "RES-SER-418",
            ResidentError::RidNotFound => "RES-SER-408",
            ResidentError::Unauthenticated => "KER-ATH-401",
            ResidentError::IdRepoMissingInput(_) => "IDR-IDC-001",
            ResidentError::IdRepoInvalidInput(_) => "IDR-IDC-002",
            ResidentError::IdRepoRecordExists => "IDR-IDC-012",
            ResidentError::OtpValidationFailed(_) => "RES-SER-422",
            ResidentError::VidAlreadyPresent => "RES-SER-405",
            ResidentError::VidCreationFailed => "RES-SER-406",
            ResidentError::VidRevocationFailed => "RES-SER-407",
            ResidentError::ApiResourceAccess => "RES-SER-412",
            ResidentError::DocumentNotFound => "RES-SER-23",
            ResidentError::UnsupportedInput(_) => "RES-SER-427",
            ResidentError::IndividualIdUinMismatch => "RES-SER-433",
            ResidentError::DocumentTooLarge => "RES-SER-514",
            ResidentError::UnsupportedFileType => "RES-SER-516",
            ResidentError::UpdatePending => "RES-SER-525",
            ResidentError::UpdateCountExceeded(_) => "RES-SER-526",
            ResidentError::PacketCreation(_) => "RES-SER-424",
            ResidentError::PolicyMissing => "RES-SER-426",
            ResidentError::PolicyNotFound => "PMS_PRT_064",
            ResidentError::InvalidId | ResidentError::RequestIdAlone => "RES-SER-29",
            ResidentError::CredentialRequestNotFound => "RES-SER-458",
            ResidentError::CredentialIssued => "RES-SER-24",
            ResidentError::CardNotReady => "RES-SER-509",
            ResidentError::EventNotFound => "RES-SER-459",
            ResidentError::EventNotOwned => "RES-SER-511",
            ResidentError::AidNotFound => "RES-SER-456",
            ResidentError::SearchTextTooLong | ResidentError::TextTooLong { .. } => "RES-SER-514",
            ResidentError::VidNotYours => "RES-SER-454",
            ResidentError::IndividualIdInvalid => "RES-SER-474",
            ResidentError::NotACardRequest => "RES-SER-473",
            ResidentError::InvalidUinOrVid => "RES-SER-522",
            ResidentError::ConsentRequired => "RES-SER-461",
            ResidentError::InvalidPageStart => "RES-SER-446",
            ResidentError::InvalidPageFetch => "RES-SER-447",
            ResidentError::Throttled { .. } => "RES-SER-510",
            ResidentError::MasterdataNotFound(_) => "RES-SER-418",
            ResidentError::NoDocuments => "RES-SER-461",
            ResidentError::NoRecord => "RES-SER-470",
            ResidentError::SameContact(true) => "RES-SER-519",
            ResidentError::SameContact(false) => "RES-SER-520",
            ResidentError::SendOtpFailed => "RES-SER-463",
            ResidentError::Ida(code, _) | ResidentError::Kernel(code, _) => code,
            ResidentError::Internal(_) => "RES-SER-423",
            ResidentError::Unavailable(_) => "RES-SER-411",
        }
    }

    pub fn message(&self) -> String {
        self.to_string()
    }

    /// What went wrong inside, for the log; `None` for errors that are the client's.
    pub fn internal_detail(&self) -> Option<&str> {
        match self {
            ResidentError::Internal(d) | ResidentError::Unavailable(d) | ResidentError::PacketCreation(d) => Some(d),
            _ => None,
        }
    }

    pub fn invalid(field: &str) -> Self {
        ResidentError::InvalidInput(field.to_owned())
    }
}

/// What a storage adapter can fail with; converted at the store crate's boundary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("stored data failed an integrity check: {0}")]
    Integrity(String),
}

impl From<StoreError> for ResidentError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(d) => ResidentError::Unavailable(d),
            other => ResidentError::Internal(other.to_string()),
        }
    }
}

impl From<IdError> for ResidentError {
    fn from(_: IdError) -> Self {
        ResidentError::InvalidInput("individualId".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_mosips() {
        assert_eq!(ResidentError::invalid("individualId").message(), "Invalid Input Parameter- individualId");
        assert_eq!(ResidentError::invalid("individualId").code(), "RES-SER-410");
        assert_eq!(ResidentError::RidNotFound.message(), "RID not found");
        assert_eq!(ResidentError::IdRepoInvalidInput("request".into()).message(), "Invalid Input Parameter - request");
    }
}
