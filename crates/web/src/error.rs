//! The one place where errors become HTTP. Business errors are HTTP 200 with `errors` filled, as MOSIP
//! does; only authentication (401), internal failures (500) and unavailability (503) change the status.
//! Internal details are logged here and never returned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use serde::Serialize;
use time::OffsetDateTime;

use crate::envelope::{ResponseEnvelope, ServiceError};

pub fn http_status(e: &ResidentError) -> StatusCode {
    match e {
        ResidentError::Unauthenticated => StatusCode::UNAUTHORIZED,
        ResidentError::Internal(_) | ResidentError::PacketCreation(_) => StatusCode::INTERNAL_SERVER_ERROR,
        ResidentError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ResidentError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        ResidentError::InvalidInput(_)
        | ResidentError::MissingInput(_)
        | ResidentError::BadRequest(_)
        | ResidentError::RidNotFound
        | ResidentError::IdRepoMissingInput(_)
        | ResidentError::IdRepoInvalidInput(_)
        | ResidentError::IdRepoRecordExists
        | ResidentError::OtpValidationFailed(_)
        | ResidentError::VidAlreadyPresent
        | ResidentError::VidCreationFailed
        | ResidentError::VidRevocationFailed
        | ResidentError::ApiResourceAccess
        | ResidentError::InvalidPageStart
        | ResidentError::EventNotFound
        | ResidentError::EventNotOwned
        | ResidentError::AidNotFound
        | ResidentError::SearchTextTooLong
        | ResidentError::TextTooLong { .. }
        | ResidentError::VidNotYours
        | ResidentError::IndividualIdInvalid
        | ResidentError::NotACardRequest
        | ResidentError::InvalidUinOrVid
        | ResidentError::ConsentRequired
        | ResidentError::InvalidPageFetch
        | ResidentError::DocumentNotFound
        | ResidentError::UnsupportedInput(_)
        | ResidentError::IndividualIdUinMismatch
        | ResidentError::DocumentTooLarge
        | ResidentError::UnsupportedFileType
        | ResidentError::UpdatePending
        | ResidentError::UpdateCountExceeded(_)
        | ResidentError::PolicyMissing
        | ResidentError::PolicyNotFound
        | ResidentError::InvalidId
        | ResidentError::RequestIdAlone
        | ResidentError::CredentialRequestNotFound
        | ResidentError::CredentialIssued
        | ResidentError::CardNotReady
        | ResidentError::MasterdataNotFound(_)
        | ResidentError::NoDocuments
        | ResidentError::NoRecord
        | ResidentError::SameContact(_)
        | ResidentError::SendOtpFailed
        | ResidentError::Kernel(..)
        | ResidentError::Ida(..) => StatusCode::OK,
    }
}

/// An error answered in the MOSIP envelope of the API it happened on.
pub struct ApiError {
    pub error: ResidentError,
    pub api_id: Option<&'static str>,
    pub version: &'static str,
    pub at: OffsetDateTime,
}

impl ApiError {
    pub fn new(error: ResidentError, api_id: Option<&'static str>, version: &'static str, at: OffsetDateTime) -> Self {
        ApiError { error, api_id, version, at }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(detail) = self.error.internal_detail() {
            tracing::error!(code = self.error.code(), detail, "request failed");
        }
        let body: ResponseEnvelope<()> = ResponseEnvelope {
            id: self.api_id.map(str::to_owned),
            version: Some(self.version.to_owned()),
            responsetime: resident_domain::clock::mosip_datetime(self.at),
            response: None,
            errors: Some(vec![ServiceError {
                error_code: self.error.code().to_owned(),
                message: self.error.message(),
            }]),
        };
        (http_status(&self.error), axum::Json(body)).into_response()
    }
}

/// A plain JSON error for routes outside any API (unknown path, panic).
pub fn bare_error(status: StatusCode, code: &str, message: &str) -> Response {
    #[derive(Serialize)]
    struct Bare<'a> {
        errors: [ServiceError; 1],
        #[serde(skip_serializing_if = "Option::is_none")]
        hint: Option<&'a str>,
    }
    let body = Bare { errors: [ServiceError { error_code: code.to_owned(), message: message.to_owned() }], hint: None };
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_errors_are_http_200_others_are_not() {
        let cases = [
            (ResidentError::invalid("id"), 200),
            (ResidentError::MissingInput("x".into()), 200),
            (ResidentError::BadRequest("json".into()), 200),
            (ResidentError::RidNotFound, 200),
            (ResidentError::IdRepoMissingInput("request".into()), 200),
            (ResidentError::IdRepoInvalidInput("id".into()), 200),
            (ResidentError::IdRepoRecordExists, 200),
            (ResidentError::OtpValidationFailed("OTP is invalid".into()), 200),
            (ResidentError::VidAlreadyPresent, 200),
            (ResidentError::Ida("IDA-OTA-001", "flooded".into()), 200),
            (ResidentError::Unauthenticated, 401),
            (ResidentError::DocumentNotFound, 200),
            (ResidentError::UpdatePending, 200),
            (ResidentError::UpdateCountExceeded("fullName".into()), 200),
            (ResidentError::PacketCreation("disk full".into()), 500),
            (ResidentError::Internal("boom".into()), 500),
            (ResidentError::Unavailable("db".into()), 503),
            (ResidentError::Throttled { retry_after_seconds: 5 }, 429),
        ];
        for (e, status) in cases {
            assert_eq!(http_status(&e).as_u16(), status, "{e:?}");
        }
    }
}
