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

    /// MOSIP's name of the feature, as its file names carry it (`Ack_{name}_{event}_{time}.pdf`).
    pub fn feature_name(self) -> &'static str {
        match self {
            RequestType::AuthenticationRequest => "Authentication Request",
            RequestType::ValidateOtp => "Verify My Phone-Email",
            RequestType::SendOtp => "Send OTP",
            RequestType::DownloadPersonalizedCard => "Download Personalized Card",
            RequestType::OrderPhysicalCard => "Order a Physical Card",
            RequestType::GetMyId => "Get UIN Card",
            RequestType::VidCardDownload => "Download VID Card",
            RequestType::UpdateMyUin => "Update UIN Data",
            RequestType::GenerateVid => "Generate VID",
            RequestType::RevokeVid => "Revoke VID",
            RequestType::AuthTypeLockUnlock => "Secure My ID",
            RequestType::ShareCredWithPartner => "Share Credential With Partner",
        }
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

/// MOSIP 1.2.1's service types: the groups of request types the history is filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceType {
    AuthenticationRequest,
    ServiceRequest,
    DataUpdateRequest,
    IdManagementRequest,
    DataShareRequest,
}

impl ServiceType {
    pub const ALL: [ServiceType; 5] = [
        ServiceType::AuthenticationRequest,
        ServiceType::ServiceRequest,
        ServiceType::DataUpdateRequest,
        ServiceType::IdManagementRequest,
        ServiceType::DataShareRequest,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ServiceType::AuthenticationRequest => "AUTHENTICATION_REQUEST",
            ServiceType::ServiceRequest => "SERVICE_REQUEST",
            ServiceType::DataUpdateRequest => "DATA_UPDATE_REQUEST",
            ServiceType::IdManagementRequest => "ID_MANAGEMENT_REQUEST",
            ServiceType::DataShareRequest => "DATA_SHARE_REQUEST",
        }
    }

    /// The group a request type is shown under.
    pub fn of(kind: RequestType) -> ServiceType {
        use RequestType::*;
        match kind {
            AuthenticationRequest => ServiceType::AuthenticationRequest,
            DownloadPersonalizedCard | OrderPhysicalCard | GetMyId | VidCardDownload => ServiceType::ServiceRequest,
            UpdateMyUin => ServiceType::DataUpdateRequest,
            GenerateVid | RevokeVid | ValidateOtp | AuthTypeLockUnlock | SendOtp => ServiceType::IdManagementRequest,
            ShareCredWithPartner => ServiceType::DataShareRequest,
        }
    }
}

/// The status groups the history is filtered by (`statusFilter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusGroup {
    Success,
    InProgress,
    Failed,
    Canceled,
}

impl StatusGroup {
    /// The group of a stored status code.
    pub fn of(status_code: &str) -> StatusGroup {
        if status_code == "CANCELLED" {
            return StatusGroup::Canceled;
        }
        match event_status(status_code) {
            "Success" => StatusGroup::Success,
            "Failed" => StatusGroup::Failed,
            _ => StatusGroup::InProgress,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            StatusGroup::Success => "SUCCESS",
            StatusGroup::InProgress => "IN_PROGRESS",
            StatusGroup::Failed => "FAILED",
            StatusGroup::Canceled => "CANCELED",
        }
    }
}

/// The longest history a filtered page is drawn from (the newest events).
pub const HISTORY_SCAN: u32 = 1000;

/// A page of the service history, filtered and counted (MOSIP 1.2.1's `service-history`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// From 0.
    pub page_index: u32,
    pub page_size: u32,
    /// Empty: every type.
    pub service_types: Vec<ServiceType>,
    /// Empty: every status.
    pub statuses: Vec<StatusGroup>,
    /// Part of an event id.
    pub search: Option<String>,
    /// Calendar days, both included, in the viewer's time zone.
    pub from: Option<time::Date>,
    pub to: Option<time::Date>,
}

impl HistoryQuery {
    /// Reads MOSIP's query parameters (`pageIndex`, `pageSize`, `serviceType`, `statusFilter`,
    /// `searchText`, `fromDate`, `toDate`, `sortType`), with MOSIP's refusals. A parameter given twice
    /// or given empty is refused too.
    pub fn parse(params: &[(String, String)], default_size: u32) -> Result<HistoryQuery, crate::ResidentError> {
        use crate::ResidentError;
        let mut q = HistoryQuery { page_size: default_size, ..HistoryQuery::default() };
        let mut seen: Vec<&str> = Vec::new();
        for (k, v) in params {
            if seen.contains(&k.as_str()) {
                return Err(ResidentError::invalid(k));
            }
            seen.push(k);
            let v = v.trim();
            match k.as_str() {
                "pageIndex" => {
                    q.page_index = match v.parse::<i64>() {
                        Ok(n) if n >= 0 => u32::try_from(n).map_err(|_| ResidentError::InvalidPageStart)?,
                        Ok(_) => return Err(ResidentError::InvalidPageStart),
                        Err(_) => return Err(ResidentError::BadRequest(format!("pageIndex {v:?} is not a number"))),
                    }
                }
                "pageSize" => {
                    q.page_size = match v.parse::<i64>() {
                        Ok(n) if n > 0 => u32::try_from(n.min(500)).map_err(|_| ResidentError::InvalidPageFetch)?,
                        Ok(_) => return Err(ResidentError::InvalidPageFetch),
                        Err(_) => return Err(ResidentError::BadRequest(format!("pageSize {v:?} is not a number"))),
                    }
                }
                "serviceType" => {
                    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        if part == "ALL" {
                            continue;
                        }
                        let t = ServiceType::ALL
                            .into_iter()
                            .find(|t| t.code() == part)
                            .ok_or_else(|| ResidentError::invalid("serviceType"))?;
                        q.service_types.push(t);
                    }
                    if v.split(',').all(|p| p.trim().is_empty()) {
                        return Err(ResidentError::invalid("serviceType"));
                    }
                }
                "statusFilter" => {
                    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        let g = match part {
                            "ALL" => continue,
                            "SUCCESS" => StatusGroup::Success,
                            "IN_PROGRESS" => StatusGroup::InProgress,
                            "FAILED" => StatusGroup::Failed,
                            "CANCELED" => StatusGroup::Canceled,
                            _ => return Err(ResidentError::invalid("statusFilter")),
                        };
                        q.statuses.push(g);
                    }
                    if v.split(',').all(|p| p.trim().is_empty()) {
                        return Err(ResidentError::invalid("statusFilter"));
                    }
                }
                "searchText" => {
                    if v.is_empty() {
                        return Err(ResidentError::invalid("searchText"));
                    }
                    if v.chars().count() > 16 {
                        return Err(ResidentError::SearchTextTooLong);
                    }
                    q.search = Some(v.to_owned());
                }
                "fromDate" | "toDate" => {
                    let day = time::Date::parse(v, time::macros::format_description!("[year]-[month]-[day]")).map_err(
                        |_| ResidentError::invalid(if k == "fromDate" { "fromDateTime" } else { "toDateTime" }),
                    )?;
                    if k == "fromDate" {
                        q.from = Some(day);
                    } else {
                        q.to = Some(day);
                    }
                }
                "sortType" if v != "ASC" && v != "DESC" => return Err(ResidentError::invalid("sortType")),
                // the app's own (the language, the page count it wants) and anything else: ignored
                _ => {}
            }
        }
        match (q.from, q.to) {
            (Some(_), None) => return Err(ResidentError::invalid("toDateTime")),
            (None, Some(_)) => return Err(ResidentError::invalid("fromDateTime")),
            (Some(f), Some(t)) if f > t => return Err(ResidentError::invalid("fromDateTime")),
            _ => {}
        }
        Ok(q)
    }

    /// Whether an event passes every filter; `day` gives the calendar day of a moment as the viewer
    /// sees it.
    pub fn matches(&self, e: &ServiceEvent, day: &(dyn Fn(OffsetDateTime) -> Option<time::Date> + Sync)) -> bool {
        let kind_ok = self.service_types.is_empty() || self.service_types.contains(&ServiceType::of(e.request_type));
        let status_ok = self.statuses.is_empty() || self.statuses.contains(&StatusGroup::of(&e.status_code));
        let search_ok = self.search.as_deref().is_none_or(|s| e.event_id.as_str().contains(s));
        let date_ok = match (self.from, self.to) {
            (Some(from), Some(to)) => day(e.requested_at).is_some_and(|d| d >= from && d <= to),
            _ => true,
        };
        kind_ok && status_ok && search_ok && date_ok
    }
}

/// One page of the filtered history, pinned events first, then the newest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    pub page_index: u32,
    pub page_size: u32,
    pub total_items: u64,
    pub total_pages: u64,
    pub items: Vec<ServiceEvent>,
}

/// The resident's service history as MOSIP 1.2.1's portal asks for it.
pub async fn history_page(
    history: &dyn crate::ports::ServiceHistory,
    token: &IdentityToken,
    query: &HistoryQuery,
    day: &(dyn Fn(OffsetDateTime) -> Option<time::Date> + Sync),
) -> Result<HistoryPage, crate::ResidentError> {
    let mut all: Vec<ServiceEvent> =
        history.events_for(token, 0, HISTORY_SCAN).await?.into_iter().filter(|e| query.matches(e, day)).collect();
    // stable: within each group the store's newest-first order stays
    all.sort_by_key(|e| !e.pinned);
    let size = query.page_size.max(1);
    let total_items = all.len() as u64;
    let items = all.into_iter().skip(query.page_index as usize * size as usize).take(size as usize).collect();
    Ok(HistoryPage {
        page_index: query.page_index,
        page_size: size,
        total_items,
        total_pages: total_items.div_ceil(u64::from(size)),
        items,
    })
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
