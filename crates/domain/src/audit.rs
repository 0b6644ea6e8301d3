//! Audit records in MOSIP audit-manager's shape. Ids are always masked before they get here.

use time::OffsetDateTime;

/// Who and where: filled once per request by the web layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContext {
    pub host_name: String,
    pub host_ip: String,
    /// The authenticated principal, `anonymous` for public endpoints, or the operator/service name.
    pub session_user: String,
    /// Correlates the record with the request's log lines.
    pub request_id: Option<String>,
}

impl AuditContext {
    pub fn system(actor: &str) -> Self {
        AuditContext {
            host_name: "localhost".into(),
            host_ip: "127.0.0.1".into(),
            session_user: actor.into(),
            request_id: None,
        }
    }
}

/// One audit entry. The store chains it to the previous one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub event_id: String,
    pub event_name: String,
    pub event_type: String,
    pub action_at: OffsetDateTime,
    pub host_name: String,
    pub host_ip: String,
    pub app_id: String,
    pub app_name: String,
    pub session_user_id: String,
    pub session_user_name: String,
    pub module_id: String,
    pub module_name: String,
    /// A masked id, or a transaction id: never a clear UIN or VID.
    pub ref_id: Option<String>,
    pub ref_id_type: Option<String>,
    pub description: String,
    pub created_by: String,
    pub request_id: Option<String>,
}

/// The events this service records, with MOSIP's ids where MOSIP has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    RidStatus,
    RidStatusSuccess,
    RidNotFound,
    InputInvalid,
    IdentityCreated,
    IdentityAlreadyPresent,
    IdentityRejected,
    RegistrationRecorded,
    PartnerRegistered,
    UpdateStage,
    UpdateRejected,
    IdentityUpdated,
    VerificationViewed,
    VerificationApproved,
    VerificationRejected,
    CardKeyChanged,
    PrintStatusChanged,
    CredentialIssued,
    CredentialCancelled,
    CredentialPrinted,
    CredentialStatusRead,
    CredentialDownloaded,
    PolicySet,
    PortalLogin,
    PortalLogout,
    AuthHistoryExported,
    AcknowledgementDownloaded,
    ServiceHistoryDownloaded,
    VidCardDownloaded,
    GrievanceRaised,
    AccessLogViewed,
    AccessNoticeChanged,
    DocumentUploaded,
    DocumentDeleted,
    PlatformClientRegistered,
    PlatformClientAuthenticated,
    PlatformClientChanged,
    DocumentSigned,
    NotificationQueued,
    IdentityRead,
    VidCreated,
    VidRevoked,
    AuthTypesChanged,
}

impl AuditEvent {
    /// (event id, event name, module id, module name)
    fn parts(self) -> (&'static str, &'static str, &'static str, &'static str) {
        const RES: (&str, &str) = ("RES-SER", "Residence service");
        const IDR: (&str, &str) = ("IDR-IDS", "ID Repository identity service");
        const REG: (&str, &str) = ("RPR-RGS", "Registration status service");
        const RUP: (&str, &str) = ("RPR-RUP", "Resident update pipeline");
        const MVS: (&str, &str) = ("RPR-MVS", "Manual verification");
        const DAL: (&str, &str) = ("RES-DAL", "Data access log");
        let (id, name, (mid, mname)) = match self {
            AuditEvent::RidStatus => ("RES-SER-101", "Checking RID status", RES),
            AuditEvent::RidStatusSuccess => ("RES-SER-200", "Request for checking RID status is success", RES),
            AuditEvent::RidNotFound => ("RES-SER-408", "RID not found while checking for RID status", RES),
            AuditEvent::InputInvalid => ("RES-SER-410", "Invalid input parameter", RES),
            AuditEvent::IdentityCreated => ("IDR-IDS-001", "Create identity", IDR),
            AuditEvent::IdentityAlreadyPresent => ("IDR-IDS-002", "Create identity: already present", IDR),
            AuditEvent::IdentityRejected => ("IDR-IDS-003", "Create identity: rejected", IDR),
            AuditEvent::RegistrationRecorded => ("RPR-RGS-001", "Registration status recorded", REG),
            AuditEvent::PartnerRegistered => ("PMS-PRT-001", "Partner registered", ("PMS", "Partner management")),
            AuditEvent::UpdateStage => ("RPR-RUP-001", "Resident update: stage completed", RUP),
            AuditEvent::UpdateRejected => ("RPR-RUP-002", "Resident update: rejected", RUP),
            AuditEvent::IdentityUpdated => ("IDR-IDS-004", "Update identity", IDR),
            AuditEvent::VerificationViewed => ("RPR-MVS-001", "Manual verification: packet opened", MVS),
            AuditEvent::VerificationApproved => ("RPR-MVS-002", "Manual verification: approved", MVS),
            AuditEvent::VerificationRejected => ("RPR-MVS-003", "Manual verification: rejected", MVS),
            AuditEvent::CardKeyChanged => ("RES-CRD-001", "Card signing key changed", ("RES-CRD", "Cards")),
            AuditEvent::PrintStatusChanged => {
                ("RES-PRT-001", "Printed card status changed", ("RES-PRT", "Print queue"))
            }
            AuditEvent::CredentialIssued => ("RES-SER-126", "Credential issued", RES),
            AuditEvent::CredentialCancelled => ("RES-SER-131", "Credential request cancelled", RES),
            AuditEvent::CredentialPrinted => {
                ("RES-PRT-002", "Credential printed as a card", ("RES-PRT", "Print queue"))
            }
            AuditEvent::CredentialStatusRead => ("RES-SER-128", "Credential request status read", RES),
            AuditEvent::CredentialDownloaded => ("RES-SER-137", "Credential downloaded", RES),
            AuditEvent::PolicySet => ("PMS-POL-001", "Partner policy set", ("PMS", "Partner management")),
            AuditEvent::PortalLogin => ("RES-SER-ATH-001", "Portal login", RES),
            AuditEvent::PortalLogout => ("RES-SER-ATH-002", "Portal logout", RES),
            AuditEvent::AuthHistoryExported => ("RES-SER-104", "Authentication history downloaded", RES),
            AuditEvent::AcknowledgementDownloaded => ("RES-SER-105", "Acknowledgement of a request downloaded", RES),
            AuditEvent::ServiceHistoryDownloaded => ("RES-SER-106", "Service history downloaded", RES),
            AuditEvent::VidCardDownloaded => ("RES-SER-139", "VID card downloaded", RES),
            AuditEvent::GrievanceRaised => ("RES-SER-512", "Grievance ticket raised", RES),
            AuditEvent::AccessLogViewed => ("RES-DAL-001", "Data access log read", DAL),
            AuditEvent::AccessNoticeChanged => ("RES-DAL-002", "Data access notice preference changed", DAL),
            AuditEvent::DocumentUploaded => ("RES-SER-142", "Proof document uploaded for an update", RES),
            AuditEvent::DocumentDeleted => ("RES-SER-143", "Uploaded proof document deleted", RES),
            AuditEvent::PlatformClientRegistered => {
                ("KER-ATH-101", "Platform client registered", ("KER-ATH", "Auth manager"))
            }
            AuditEvent::PlatformClientAuthenticated => {
                ("KER-ATH-102", "Platform client authenticated", ("KER-ATH", "Auth manager"))
            }
            AuditEvent::PlatformClientChanged => {
                ("KER-ATH-103", "Platform client disabled, enabled or its secret replaced", ("KER-ATH", "Auth manager"))
            }
            AuditEvent::DocumentSigned => ("KER-KMS-101", "Document signed", ("KER-KMS", "Key manager")),
            AuditEvent::NotificationQueued => ("KER-NOT-001", "Notification queued", ("KER-NOT", "Notifier")),
            AuditEvent::IdentityRead => ("IDR-IDS-005", "Read identity", IDR),
            AuditEvent::VidCreated => ("IDR-VDS-001", "VID created", ("IDR-VDS", "ID Repository VID service")),
            AuditEvent::VidRevoked => ("IDR-VDS-002", "VID revoked", ("IDR-VDS", "ID Repository VID service")),
            AuditEvent::AuthTypesChanged => ("IDR-IDS-006", "Auth type status updated", IDR),
        };
        (id, name, mid, mname)
    }

    pub fn id(self) -> &'static str {
        self.parts().0
    }

    pub fn record(
        self,
        ctx: &AuditContext,
        at: OffsetDateTime,
        ref_id: Option<(String, &str)>,
        description: impl Into<String>,
    ) -> AuditRecord {
        let (event_id, event_name, module_id, module_name) = self.parts();
        let (ref_id, ref_id_type) = match ref_id {
            Some((id, kind)) => (Some(id), Some(kind.to_owned())),
            None => (None, None),
        };
        AuditRecord {
            event_id: event_id.into(),
            event_name: event_name.into(),
            event_type: if ctx.session_user == "anonymous" { "SYSTEM".into() } else { "USER".into() },
            action_at: at,
            host_name: ctx.host_name.clone(),
            host_ip: ctx.host_ip.clone(),
            app_id: "10011".into(),
            app_name: "Resident portal".into(),
            session_user_id: ctx.session_user.clone(),
            session_user_name: ctx.session_user.clone(),
            module_id: module_id.into(),
            module_name: module_name.into(),
            ref_id,
            ref_id_type,
            description: description.into(),
            created_by: ctx.session_user.clone(),
            request_id: ctx.request_id.clone(),
        }
    }
}

/// A record another system sends to the embedded audit manager (MOSIP's `AuditRequestDto`), checked as
/// MOSIP checks it: the required fields present and within their sizes (`KER-AUD-001`), the time in
/// UTC as MOSIP writes it (`KER-AUD-002`). Control characters are dropped, and an `id` that is all
/// digits (a UIN, a VID, a RID) is kept masked: the chain holds no identifier in clear.
pub fn record_from_platform(
    request: &serde_json::Map<String, serde_json::Value>,
    request_id: Option<String>,
) -> Result<AuditRecord, crate::ResidentError> {
    use crate::ResidentError;
    let missing =
        || ResidentError::Kernel("KER-AUD-001", "Invalid Audit Request. Required parameters must be present".into());
    let field = |name: &str, max: usize, required: bool| -> Result<Option<String>, ResidentError> {
        let value = request
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(|v| v.chars().filter(|c| !c.is_control()).collect::<String>().trim().to_owned());
        match value.filter(|v| !v.is_empty()) {
            Some(v) if v.chars().count() <= max => Ok(Some(v)),
            Some(_) => Err(missing()),
            None if required => Err(missing()),
            None => Ok(None),
        }
    };
    let need = |name: &str, max: usize| field(name, max, true).map(Option::unwrap_or_default);
    let at = need("actionTimeStamp", 64)?;
    let action_at = crate::clock::parse_mosip_datetime(&at).ok_or_else(|| {
        ResidentError::Kernel(
            "KER-AUD-002",
            "Invalid Audit Request. Format is incorrect. (For timestamp, use UTC format)".into(),
        )
    })?;
    let ref_id = field("id", 64, false)?.map(|id| {
        if id.len() >= 8 && id.bytes().all(|b| b.is_ascii_digit()) {
            format!("{}{}{}", &id[..1], "*".repeat(id.len() - 3), &id[id.len() - 2..])
        } else {
            id
        }
    });
    Ok(AuditRecord {
        event_id: need("eventId", 64)?,
        event_name: need("eventName", 128)?,
        event_type: need("eventType", 64)?,
        action_at,
        host_name: need("hostName", 128)?,
        host_ip: need("hostIp", 256)?,
        app_id: need("applicationId", 64)?,
        app_name: need("applicationName", 128)?,
        session_user_id: need("sessionUserId", 256)?,
        session_user_name: field("sessionUserName", 128, false)?.unwrap_or_default(),
        module_id: field("moduleId", 64, false)?.unwrap_or_default(),
        module_name: field("moduleName", 128, false)?.unwrap_or_default(),
        ref_id,
        ref_id_type: field("idType", 64, false)?,
        description: field("description", 2048, false)?.unwrap_or_default(),
        created_by: need("createdBy", 256)?,
        request_id,
    })
}
