//! "Who used my data": one record for every read of a resident's personal data by anyone but the
//! resident — an operator reviewing an update, a print partner taking a card, a partner receiving a
//! credential, a relying party comparing demographic attributes. A record names who, when, what
//! (attribute and document names, never values), why and through what; it is written in the same
//! transaction as the access (or, for a read whose data leaves the system, before it leaves), kept
//! as long as the audit log, sealed, and tied to the identity by its keyed token only.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::audit::{AuditContext, AuditEvent, AuditRecord};
use crate::error::{ResidentError, StoreError};
use crate::history::{EventId, IdentityToken};
use crate::identity::IdentityJson;
use crate::notification::Templates;
use crate::ports::Effects;

/// Who read the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccessorKind {
    /// A named member of staff, through the CLI.
    Operator,
    /// A registered partner: a print partner, a credential partner, a relying party.
    Partner,
    /// A platform service acting for the country (not for the resident's own request).
    Platform,
}

impl AccessorKind {
    pub fn code(self) -> &'static str {
        match self {
            AccessorKind::Operator => "OPERATOR",
            AccessorKind::Partner => "PARTNER",
            AccessorKind::Platform => "PLATFORM",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [AccessorKind::Operator, AccessorKind::Partner, AccessorKind::Platform].into_iter().find(|k| k.code() == code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accessor {
    pub kind: AccessorKind,
    /// The operator's name, the partner's id, the platform client's id.
    pub id: String,
    /// The name a resident understands (the partner's registered name; the operator's name).
    pub name: String,
}

impl Accessor {
    pub fn operator(operator: &Operator) -> Self {
        Accessor { kind: AccessorKind::Operator, id: operator.0.clone(), name: operator.0.clone() }
    }

    pub fn partner(partner: &crate::ports::Partner) -> Self {
        Accessor { kind: AccessorKind::Partner, id: partner.id.clone(), name: partner.name.clone() }
    }
}

/// Through what the data was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    Cli,
    Api,
}

impl Channel {
    pub fn code(self) -> &'static str {
        match self {
            Channel::Cli => "CLI",
            Channel::Api => "API",
        }
    }
}

/// Why the data was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Purpose {
    /// Manual verification of the update with this RID.
    ManualVerification { rid: String },
    /// Printing the card ordered under this RID (the print job's tracking id).
    Printing { rid: String, tracking_id: String },
    /// The credential request the resident made for this partner.
    Credential { request_id: String, credential_type: String },
    /// A relying party's authentication of the resident (its transaction id).
    Authentication { transaction_id: String },
    /// An operator's oversight query, with the reason they gave.
    Oversight { reason: String },
}

impl Purpose {
    pub fn code(&self) -> &'static str {
        match self {
            Purpose::ManualVerification { .. } => "MANUAL_VERIFICATION",
            Purpose::Printing { .. } => "PRINTING",
            Purpose::Credential { .. } => "CREDENTIAL",
            Purpose::Authentication { .. } => "AUTHENTICATION",
            Purpose::Oversight { .. } => "OVERSIGHT",
        }
    }

    /// What the purpose refers to: a RID, a tracking id, a request id, a transaction id, a reason.
    pub fn reference(&self) -> String {
        match self {
            Purpose::ManualVerification { rid } => rid.clone(),
            Purpose::Printing { rid, tracking_id } => format!("{tracking_id} ({rid})"),
            Purpose::Credential { request_id, credential_type } => format!("{request_id} ({credential_type})"),
            Purpose::Authentication { transaction_id } => transaction_id.clone(),
            Purpose::Oversight { reason } => reason.clone(),
        }
    }
}

/// One access to a resident's personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataAccess {
    /// Sixteen digits, like a service-history event id: a grievance can name it.
    pub id: EventId,
    pub token: IdentityToken,
    pub at: OffsetDateTime,
    pub accessor: Accessor,
    /// Names of the attributes and documents read, never their values.
    pub what: Vec<String>,
    pub purpose: Purpose,
    pub channel: Channel,
    /// Whether the resident has seen it (the notification bell).
    pub read: bool,
}

impl DataAccess {
    pub fn new(
        token: IdentityToken,
        accessor: Accessor,
        what: Vec<String>,
        purpose: Purpose,
        channel: Channel,
        now: OffsetDateTime,
    ) -> Self {
        let mut what = what;
        what.sort();
        what.dedup();
        DataAccess {
            id: EventId::generate(&mut crate::clock::rng()),
            token,
            at: now,
            accessor,
            what,
            purpose,
            channel,
            read: false,
        }
    }
}

/// A named operator. Every CLI command that reads a resident's personal data needs one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator(String);

impl Operator {
    /// 1 to 64 printable characters, no spaces at either end.
    pub fn parse(name: &str) -> Result<Self, String> {
        let n = name.trim();
        if n.is_empty() {
            return Err("name the operator: --operator NAME or RESIDENT_OPERATOR".into());
        }
        if n.chars().count() > 64 || n.chars().any(char::is_control) {
            return Err("the operator's name must be at most 64 printable characters".into());
        }
        Ok(Operator(n.to_owned()))
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// The audit context of this operator on this host.
    pub fn audit_context(&self, host_name: String, host_ip: String) -> AuditContext {
        AuditContext { host_name, host_ip, session_user: format!("operator:{}", self.0), request_id: None }
    }
}

/// A reason an operator gives for reading: 3 to 512 characters.
pub fn check_reason(reason: &str) -> Result<String, String> {
    let r = reason.trim();
    if r.chars().count() < 3 || r.chars().count() > 512 || r.chars().any(|c| c.is_control()) {
        return Err("--reason must be 3 to 512 printable characters: it is recorded and shown to the resident".into());
    }
    Ok(r.to_owned())
}

/// Which records to read, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessQuery {
    /// One identity's records (a resident's own page), or every identity's.
    pub token: Option<IdentityToken>,
    pub kind: Option<AccessorKind>,
    /// Only this accessor (with `kind`): an operator's name, a partner's id.
    pub accessor_id: Option<String>,
    /// From this instant (inclusive) …
    pub since: Option<OffsetDateTime>,
    /// … to this one (exclusive).
    pub until: Option<OffsetDateTime>,
    pub offset: u32,
    pub limit: u32,
}

/// What a resident narrows their own record to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessFilter {
    pub kind: Option<AccessorKind>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

/// The records a resident sees: their own identity's and no other, newest first.
pub async fn own_accesses(
    log: &dyn DataAccessLog,
    token: &IdentityToken,
    filter: &AccessFilter,
    offset: u32,
    limit: u32,
) -> Result<Vec<DataAccess>, ResidentError> {
    let query = AccessQuery {
        token: Some(token.clone()),
        kind: filter.kind,
        accessor_id: None,
        since: filter.since,
        until: filter.until,
        offset,
        limit,
    };
    Ok(log.accesses(&query).await?)
}

#[async_trait]
pub trait DataAccessLog: Send + Sync {
    /// Commits effects that belong to no other change, with their access records, in one transaction.
    async fn record_access(&self, effects: &Effects, now: OffsetDateTime) -> Result<(), StoreError>;
    async fn accesses(&self, query: &AccessQuery) -> Result<Vec<DataAccess>, StoreError>;
    async fn access(&self, id: &EventId) -> Result<Option<DataAccess>, StoreError>;
    async fn unread_accesses(&self, token: &IdentityToken) -> Result<i64, StoreError>;
    /// Marks the identity's records as seen; returns how many were unread.
    async fn mark_accesses_read(&self, token: &IdentityToken) -> Result<u64, StoreError>;
    /// Whether the resident asked to be told (email/SMS) whenever an operator reads their data.
    async fn tell_on_operator_read(&self, token: &IdentityToken) -> Result<bool, StoreError>;
    async fn set_tell_on_operator_read(
        &self,
        token: &IdentityToken,
        on: bool,
        audit: &AuditRecord,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// Whether `id` names one of this identity's requests (a service-history event) or one of the uses of
/// its data: what a grievance may be about.
pub async fn grievance_subject(
    history: &dyn crate::ports::ServiceHistory,
    log: &dyn DataAccessLog,
    token: &IdentityToken,
    id: &EventId,
) -> Result<bool, ResidentError> {
    if let Some(e) = history.event(id).await? {
        return Ok(&e.token == token);
    }
    Ok(log.access(id).await?.is_some_and(|a| &a.token == token))
}

/// The notification sent to a resident who asked to hear of operators' reads.
pub const OPERATOR_READ_TEMPLATE: &str = "RS_DATA_ACCESS";

/// An operator's read of one identity: the access record, its audit record and, when the resident
/// asked for it, the message telling them; committed before the caller shows the operator anything.
pub async fn record_operator_read(
    log: &dyn DataAccessLog,
    templates: &Templates,
    identity: &IdentityJson,
    access: DataAccess,
    audit: AuditRecord,
) -> Result<(), ResidentError> {
    let notifications = if log.tell_on_operator_read(&access.token).await? {
        let mut vars: BTreeMap<&str, String> = templates.stamp(access.at);
        vars.insert("accessId", access.id.to_string());
        vars.insert("operator", access.accessor.name.clone());
        vars.insert("purpose", format!("{} {}", access.purpose.code(), access.purpose.reference()));
        templates.messages(OPERATOR_READ_TEMPLATE, identity, &vars)
    } else {
        Vec::new()
    };
    let now = access.at;
    let effects = Effects { audit: vec![audit], notifications, accesses: vec![access], ..Effects::default() };
    log.record_access(&effects, now).await?;
    Ok(())
}

/// An operator's oversight query (`resident admin access-log`): the records asked for, after the query
/// itself is recorded — in the audit log always, and, when it names an identity, as an access the
/// resident sees.
pub async fn oversight(
    log: &dyn DataAccessLog,
    operator: &Operator,
    audit: &AuditContext,
    query: &AccessQuery,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Vec<DataAccess>, ResidentError> {
    let subject = match (&query.token, &query.accessor_id) {
        (Some(_), _) => "one identity".to_owned(),
        (None, Some(id)) => format!("{} {id}", query.kind.map(AccessorKind::code).unwrap_or("accessor")),
        (None, None) => "every identity".to_owned(),
    };
    let record =
        AuditEvent::AccessLogViewed.record(audit, now, None, format!("access log of {subject} read: {reason}"));
    let accesses = match &query.token {
        Some(token) => vec![DataAccess::new(
            token.clone(),
            Accessor::operator(operator),
            vec!["dataAccessLog".into()],
            Purpose::Oversight { reason: reason.to_owned() },
            Channel::Cli,
            now,
        )],
        None => Vec::new(),
    };
    log.record_access(&Effects { audit: vec![record], accesses, ..Effects::default() }, now).await?;
    Ok(log.accesses(query).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_are_named() {
        assert!(Operator::parse("").is_err());
        assert!(Operator::parse("   ").is_err());
        assert!(Operator::parse("a\u{7}b").is_err());
        assert!(Operator::parse(&"x".repeat(65)).is_err());
        assert_eq!(Operator::parse(" amina ").unwrap().name(), "amina");
    }

    #[test]
    fn reasons_are_checked() {
        assert!(check_reason("").is_err());
        assert!(check_reason("ab").is_err());
        assert!(check_reason(&"r".repeat(513)).is_err());
        assert_eq!(check_reason(" complaint 42 ").unwrap(), "complaint 42");
    }

    #[test]
    fn purposes_round_trip_and_name_their_reference() {
        let p = Purpose::Printing { rid: "10001100010000120260101120000".into(), tracking_id: "PRN1".into() };
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"kind\":\"PRINTING\""), "{json}");
        assert_eq!(serde_json::from_str::<Purpose>(&json).unwrap(), p);
        assert_eq!(p.reference(), "PRN1 (10001100010000120260101120000)");
        for k in [AccessorKind::Operator, AccessorKind::Partner, AccessorKind::Platform] {
            assert_eq!(AccessorKind::parse(k.code()), Some(k));
        }
        assert_eq!(AccessorKind::parse("operator"), None);
    }

    #[test]
    fn what_is_a_set_of_names() {
        let a = DataAccess::new(
            IdentityToken("t".into()),
            Accessor { kind: AccessorKind::Partner, id: "p".into(), name: "P".into() },
            vec!["fullName".into(), "UIN".into(), "fullName".into()],
            Purpose::Authentication { transaction_id: "1".into() },
            Channel::Api,
            OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(a.what, vec!["UIN".to_owned(), "fullName".to_owned()]);
        assert!(!a.read);
        assert!(EventId::parse(a.id.as_str()).is_some());
    }
}
