//! Registrations as the registration processor keeps them: an internal status, the latest transaction
//! (stage) and its history, and the mapping to what a resident is told (MOSIP's external status, then
//! resident-service's display status).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::Rid;

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

code_enum!(
    /// `registration.status_code` in the registration processor.
    InternalStatus {
        Processing = "PROCESSING",
        Processed = "PROCESSED",
        Failed = "FAILED",
        Rejected = "REJECTED",
        ReprocessFailed = "REPROCESS_FAILED",
        Paused = "PAUSED",
        Resumable = "RESUMABLE",
        Reprocess = "REPROCESS",
        PausedForAdditionalInfo = "PAUSED_FOR_ADDITIONAL_INFO",
    }
);

code_enum!(
    /// The process a packet goes through.
    RegistrationType {
        New = "NEW",
        Update = "UPDATE",
        Lost = "LOST",
        ResUpdate = "RES_UPDATE",
        ResReprint = "RES_REPRINT",
        Activated = "ACTIVATED",
        Deactivated = "DEACTIVATED",
    }
);

code_enum!(
    /// Latest-transaction type codes: which stage a registration last went through.
    TransactionType {
        PacketReceiver = "PACKET_RECEIVER",
        VirusScan = "VIRUS_SCAN",
        UploadPacket = "UPLOAD_PACKET",
        ValidatePacket = "VALIDATE_PACKET",
        PacketClassification = "PACKET_CLASSIFICATION",
        CmdValidation = "CMD_VALIDATION",
        OperatorValidation = "OPERATOR_VALIDATION",
        SupervisorValidation = "SUPERVISOR_VALIDATION",
        IntroducerValidation = "INTRODUCER_VALIDATION",
        ExternalIntegration = "EXTERNAL_INTEGRATION",
        DemographicVerification = "DEMOGRAPHIC_VERIFICATION",
        ManualAdjudication = "MANUAL_ADJUDICATION",
        Verification = "VERIFICATION",
        BiographicVerification = "BIOGRAPHIC_VERIFICATION",
        UinGenerator = "UIN_GENERATOR",
        BiometricExtraction = "BIOMETRIC_EXTRACTION",
        Notification = "NOTIFICATION",
        PrintService = "PRINT_SERVICE",
        PrintPostalService = "PRINT_POSTAL_SERVICE",
        Print = "PRINT",
        PacketReprocess = "PACKET_REPROCESS",
        SecurezoneNotification = "SECUREZONE_NOTIFICATION",
        Finalization = "FINALIZATION",
    }
);

code_enum!(
    /// The registration processor's external status codes.
    ExternalStatus {
        Processing = "PROCESSING",
        Reregister = "REREGISTER",
        Processed = "PROCESSED",
        Resend = "RESEND",
        Received = "RECEIVED",
        Rejected = "REJECTED",
        ReprocessFailed = "REPROCESS_FAILED",
        UploadPending = "UPLOAD_PENDING",
        UinGenerated = "UIN_GENERATED",
        AwaitingInformation = "AWAITING_INFORMATION",
    }
);

impl TransactionType {
    /// The camel-route stage that writes this transaction type.
    pub fn stage_name(self) -> &'static str {
        use TransactionType::*;
        match self {
            PacketReceiver => "PacketReceiverStage",
            VirusScan => "VirusScannerStage",
            UploadPacket => "PacketUploaderStage",
            ValidatePacket => "PacketValidatorStage",
            PacketClassification => "PacketClassifierStage",
            CmdValidation => "CMDValidatorStage",
            OperatorValidation => "OperatorValidatorStage",
            SupervisorValidation => "SupervisorValidatorStage",
            IntroducerValidation => "IntroducerValidatorStage",
            ExternalIntegration => "ExternalStage",
            DemographicVerification => "DemodedupeStage",
            ManualAdjudication => "ManualAdjudicationStage",
            Verification => "VerificationStage",
            BiographicVerification => "BioDedupeStage",
            UinGenerator => "UinGeneratorStage",
            BiometricExtraction => "BiometricExtractionStage",
            Notification => "MessageSenderStage",
            PrintService | PrintPostalService | Print => "PrintingStage",
            PacketReprocess => "ReprocessorStage",
            SecurezoneNotification => "SecurezoneNotificationStage",
            Finalization => "FinalizationStage",
        }
    }

    /// The stage name shown by `aid-stage` (mosip-resident-api §5.2), if this type has one.
    pub fn resident_stage(self) -> Option<&'static str> {
        use TransactionType::*;
        Some(match self {
            PacketReceiver | UploadPacket | ValidatePacket | PacketClassification => "Request received",
            CmdValidation | OperatorValidation | SupervisorValidation | IntroducerValidation | ExternalIntegration => {
                "Validation stage"
            }
            DemographicVerification | ManualAdjudication | Verification | BiographicVerification => {
                "Verification stage"
            }
            UinGenerator | BiometricExtraction | Notification => "UIN generation stage",
            PrintService | PrintPostalService | Print => "Card ready to download",
            _ => return None,
        })
    }
}

/// Registration processor settings that the status mapping depends on (CFG-RPR defaults).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusPolicy {
    pub max_retry: i32,
    pub reprocess_elapse_seconds: i64,
    pub stages_before_packet_store: Vec<String>,
}

impl Default for StatusPolicy {
    fn default() -> Self {
        StatusPolicy {
            max_retry: 10,
            reprocess_elapse_seconds: 4800,
            stages_before_packet_store: vec!["PacketReceiverStage".into(), "SecurezoneNotificationStage".into()],
        }
    }
}

/// One row of the registration table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub rid: Rid,
    pub registration_type: RegistrationType,
    /// `None`: synced but the packet has not arrived (the sync table only).
    pub status: Option<InternalStatus>,
    pub latest_transaction: Option<TransactionType>,
    pub latest_transaction_at: Option<OffsetDateTime>,
    pub last_success_stage: Option<String>,
    pub retry_count: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Registration {
    /// A registration a resident request just created: received by the packet receiver, processing.
    pub fn received(rid: Rid, registration_type: RegistrationType, now: OffsetDateTime) -> Self {
        Registration {
            rid,
            registration_type,
            status: Some(InternalStatus::Processing),
            latest_transaction: Some(TransactionType::PacketReceiver),
            latest_transaction_at: Some(now),
            last_success_stage: Some(TransactionType::PacketReceiver.stage_name().to_owned()),
            retry_count: 0,
            created_at: now,
            updated_at: now,
        }
    }

    /// The registration that produced an identity brought in from an existing registry (`resident
    /// import`): it went through, the UIN was generated. Its RID answers PROCESSED.
    pub fn imported(rid: Rid, now: OffsetDateTime) -> (Self, Vec<StageRecord>) {
        let registration = Registration {
            rid,
            registration_type: RegistrationType::New,
            status: Some(InternalStatus::Processed),
            latest_transaction: Some(TransactionType::UinGenerator),
            latest_transaction_at: Some(now),
            last_success_stage: Some(TransactionType::UinGenerator.stage_name().to_owned()),
            retry_count: 0,
            created_at: now,
            updated_at: now,
        };
        let stage = StageRecord {
            transaction_type: TransactionType::UinGenerator,
            status: "SUCCESS".into(),
            comment: "identity imported".into(),
            at: now,
        };
        (registration, vec![stage])
    }
}

/// One entry of a registration's stage history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRecord {
    pub transaction_type: TransactionType,
    /// SUCCESS, FAILED, IN_PROGRESS, REPROCESS, ERROR, REJECTED
    pub status: String,
    pub comment: String,
    pub at: OffsetDateTime,
}

/// The registration processor's mapping from internal to external status.
pub fn external_status(reg: &Registration, now: OffsetDateTime, policy: &StatusPolicy) -> ExternalStatus {
    use InternalStatus::*;
    let Some(status) = reg.status else {
        return ExternalStatus::UploadPending;
    };
    match status {
        Processed => ExternalStatus::UinGenerated,
        PausedForAdditionalInfo => ExternalStatus::AwaitingInformation,
        Processing | Paused | Resumable | Reprocess => {
            let stuck_in_receiver = reg.latest_transaction == Some(TransactionType::PacketReceiver)
                && reg
                    .latest_transaction_at
                    .is_some_and(|at| (now - at).whole_seconds() > policy.reprocess_elapse_seconds);
            if stuck_in_receiver {
                if reg.retry_count < policy.max_retry { ExternalStatus::Resend } else { ExternalStatus::Reregister }
            } else {
                match &reg.last_success_stage {
                    None => ExternalStatus::Processing,
                    Some(stage) if policy.stages_before_packet_store.iter().any(|s| s == stage) => {
                        ExternalStatus::Processing
                    }
                    Some(_) => ExternalStatus::Processed,
                }
            }
        }
        Failed => {
            let early =
                matches!(reg.latest_transaction, Some(TransactionType::PacketReceiver | TransactionType::UploadPacket));
            if early && reg.retry_count < policy.max_retry {
                ExternalStatus::Resend
            } else {
                ExternalStatus::Reregister
            }
        }
        Rejected | ReprocessFailed => ExternalStatus::Rejected,
    }
}

/// What `POST /rid/check-status` returns as `ridStatus` (resident-service's display mapping).
pub fn resident_status(external: ExternalStatus) -> &'static str {
    match external {
        ExternalStatus::Processed | ExternalStatus::UinGenerated => "PROCESSED",
        ExternalStatus::Rejected => "REJECTED",
        ExternalStatus::Reregister => "REREGISTER",
        ExternalStatus::Resend => "RESEND",
        ExternalStatus::AwaitingInformation => "WAITING FOR ADDITIONAL INFORMATION FROM APPLICANT",
        _ => "UNDER PROCESSING",
    }
}

/// Every status a resident can be shown.
pub const RESIDENT_STATUSES: [&str; 6] = [
    "PROCESSED",
    "REJECTED",
    "REREGISTER",
    "RESEND",
    "UNDER PROCESSING",
    "WAITING FOR ADDITIONAL INFORMATION FROM APPLICANT",
];

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn reg(status: Option<InternalStatus>) -> Registration {
        let at = datetime!(2026-11-26 10:00 UTC);
        Registration {
            rid: Rid::parse("27847657360002520181208183050").unwrap(),
            registration_type: RegistrationType::New,
            status,
            latest_transaction: Some(TransactionType::UinGenerator),
            latest_transaction_at: Some(at),
            last_success_stage: Some("UinGeneratorStage".into()),
            retry_count: 0,
            created_at: at,
            updated_at: at,
        }
    }

    fn shown(r: &Registration, now: OffsetDateTime) -> &'static str {
        resident_status(external_status(r, now, &StatusPolicy::default()))
    }

    #[test]
    fn mapping_matches_mosip() {
        let now = datetime!(2026-11-26 10:01 UTC);
        assert_eq!(shown(&reg(Some(InternalStatus::Processed)), now), "PROCESSED");
        assert_eq!(shown(&reg(Some(InternalStatus::Rejected)), now), "REJECTED");
        assert_eq!(shown(&reg(Some(InternalStatus::ReprocessFailed)), now), "REJECTED");
        assert_eq!(
            shown(&reg(Some(InternalStatus::PausedForAdditionalInfo)), now),
            "WAITING FOR ADDITIONAL INFORMATION FROM APPLICANT"
        );
        assert_eq!(shown(&reg(None), now), "UNDER PROCESSING", "UPLOAD_PENDING shows as under processing");

        // processing but already past the packet store: MOSIP shows PROCESSED
        assert_eq!(shown(&reg(Some(InternalStatus::Processing)), now), "PROCESSED");
        let mut early = reg(Some(InternalStatus::Processing));
        early.last_success_stage = Some("PacketReceiverStage".into());
        early.latest_transaction = Some(TransactionType::PacketReceiver);
        assert_eq!(shown(&early, now), "UNDER PROCESSING");
        early.last_success_stage = None;
        assert_eq!(shown(&early, now), "UNDER PROCESSING");

        // stuck in the packet receiver for longer than the elapse time
        let later = now + time::Duration::seconds(4801 + 60);
        assert_eq!(shown(&early, later), "RESEND");
        early.retry_count = 10;
        assert_eq!(shown(&early, later), "REREGISTER");

        let mut failed = reg(Some(InternalStatus::Failed));
        failed.latest_transaction = Some(TransactionType::UploadPacket);
        failed.retry_count = 3;
        assert_eq!(shown(&failed, now), "RESEND");
        failed.retry_count = 10;
        assert_eq!(shown(&failed, now), "REREGISTER");
        failed.retry_count = 0;
        failed.latest_transaction = Some(TransactionType::ValidatePacket);
        assert_eq!(shown(&failed, now), "REREGISTER");
    }

    #[test]
    fn codes_round_trip() {
        for s in InternalStatus::ALL {
            assert_eq!(InternalStatus::from_code(s.code()), Some(*s));
        }
        for t in TransactionType::ALL {
            assert_eq!(TransactionType::from_code(t.code()), Some(*t));
        }
    }
}
