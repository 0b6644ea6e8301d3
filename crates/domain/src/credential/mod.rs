//! Credentials for partners (MOSIP's `/req/credential` family on an embedded partner management):
//! a resident asks for a credential of a type to be issued to a partner; the partner's policy for that
//! type says which attributes it may receive, and the credential holds only those. Issuing runs as a
//! job ([`issue`]); for a print partner the embedded print service then renders the card (MOSIP's
//! `PRINTED`). Status, download and cancel ([`access`]) take MOSIP's request id alone for a short
//! time, or proof that the caller owns the request.

mod access;
mod issue;
mod share;

pub use access::{Proof, cancel_credential, credential_status, download_credential};
pub use issue::Issuer;
pub use share::{MAX_PURPOSE_CHARS, ShareAsk, chosen_fields, share_with_partner};

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::auth_usecases::{AuthContext, Done, Subject, event, success};
use crate::error::{ResidentError, StoreError};
use crate::history::{EventId, IdentityToken, RequestType, ServiceEvent};
use crate::ids::IndividualId;
use crate::ports::{Effects, Partner, PartnerRecords, Resolved};

/// The credential types this service issues: `(id, name, description)`.
pub const CREDENTIAL_TYPES: [(&str, &str, &str); 4] = [
    ("euin", "Electronic UIN card", "The resident's card as a PDF, protected with a password"),
    ("reprint", "Card for printing", "The resident's card as a PDF, for a print partner"),
    ("qrcode", "Secure QR code", "A signed credential (EdDSA JWS) of the policy's attributes"),
    ("vercred", "Signed credential", "A signed credential (EdDSA JWS) of the policy's attributes"),
];

/// `GET /req/policy/partnerId/{p}/credentialType/{t}`: a partner's policy. For `auth` (what MOSIP's
/// relying parties have) it is the partner's authentication policy: the auth types it may use and the
/// demographic attributes it must present (`resident admin partner auth-policy`); for a credential
/// type, what the partner may receive. Anything else is PMS_PRT_064.
pub async fn partner_policy(
    repo: &dyn PartnerRecords,
    store: &dyn CredentialStore,
    partner_id: &str,
    credential_type: &str,
) -> Result<Value, ResidentError> {
    if credential_type == "auth" {
        let partner = repo.partner(partner_id).await?;
        let Some(p) = partner.filter(|p| p.status == "ACTIVE" && p.partner_type == "Auth_Partner") else {
            return Err(ResidentError::PolicyNotFound);
        };
        let demographics = match repo.demo_policy(&p.id).await? {
            Some(list) => list,
            None => crate::ida::partner::DEFAULT_DEMO_POLICY.iter().map(|s| (*s).to_owned()).collect(),
        };
        return Ok(json!({
            "partnerId": p.id,
            "credentialType": "auth",
            "policyId": format!("auth-{}", p.id),
            "policyName": format!("{} authentication policy", p.name),
            "policyType": "Auth",
            "status": "PUBLISHED",
            "version": "1.0",
            "is_Active": true,
            "policies": {
                "authPolicies": [
                    {"authType": "otp", "mandatory": false},
                    {"authType": "demo", "mandatory": false}
                ],
                "allowedKycAttributes": [],
                "demographicAttributes": demographics,
            }
        }));
    }
    match store.policy(partner_id, credential_type).await? {
        Some(p) => Ok(p.to_json()),
        None => Err(ResidentError::PolicyNotFound),
    }
}

pub fn is_card_type(credential_type: &str) -> bool {
    matches!(credential_type, "euin" | "reprint")
}

/// The attributes a partner may receive, by credential type (PMS's data-share policy, reduced to
/// what this service needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub policy_id: String,
    pub policy_name: String,
    pub partner_id: String,
    pub credential_type: String,
    pub attributes: Vec<String>,
    pub created_at: OffsetDateTime,
}

impl Policy {
    /// The policy in PMS's response shape (`GET …/partners/{p}/credentialtype/{t}/policies`).
    pub fn to_json(&self) -> Value {
        json!({
            "partnerId": self.partner_id,
            "credentialType": self.credential_type,
            "policyId": self.policy_id,
            "policyName": self.policy_name,
            "policyDesc": format!("Attributes {} may receive as {}", self.partner_id, self.credential_type),
            "policyType": "DataShare",
            "publishDate": crate::clock::mosip_datetime(self.created_at),
            "validTill": null,
            "status": "PUBLISHED",
            "version": "1.0",
            "schema": "https://schemas.mosip.io/v1/auth-policy",
            "is_Active": true,
            "cr_dtimes": crate::clock::mosip_datetime(self.created_at),
            "policies": {
                "dataSharePolicies": {"typeOfShare": "direct", "transactionsAllowed": "1", "encryptionType": "none", "shareDomain": "resident-services", "source": "ID Repository", "validForInMinutes": "60"},
                "shareableAttributes": self.attributes.iter().map(|a| json!({"attributeName": a, "source": [{"attribute": a}], "encrypted": false})).collect::<Vec<_>>(),
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CredentialStatus {
    New,
    /// The credential is made (for a print partner: handed to the print service).
    Issued,
    /// A print partner's card is rendered and ready (MOSIP's print service's `PRINTED`).
    Printed,
    Failed,
    Cancelled,
}

impl CredentialStatus {
    pub fn code(self) -> &'static str {
        match self {
            CredentialStatus::New => "NEW",
            CredentialStatus::Issued => "ISSUED",
            CredentialStatus::Printed => "PRINTED",
            CredentialStatus::Failed => "FAILED",
            CredentialStatus::Cancelled => "CANCELLED",
        }
    }
    pub fn parse(code: &str) -> Option<Self> {
        [
            CredentialStatus::New,
            CredentialStatus::Issued,
            CredentialStatus::Printed,
            CredentialStatus::Failed,
            CredentialStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }

    /// Whether the request has an artefact to download.
    pub fn downloadable(self) -> bool {
        matches!(self, CredentialStatus::Issued | CredentialStatus::Printed)
    }

    /// Whether the request can still be cancelled (withdrawn).
    pub fn open(self) -> bool {
        matches!(self, CredentialStatus::New | CredentialStatus::Issued | CredentialStatus::Printed)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    /// A UUID.
    pub request_id: String,
    pub identity_id: String,
    pub token: IdentityToken,
    pub event_id: EventId,
    pub partner_id: String,
    pub credential_type: String,
    pub status: CredentialStatus,
    /// The attributes the credential holds (the request's, within the policy).
    pub attributes: Vec<String>,
    pub encrypt: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// When the request id alone fetched the artefact (it can once).
    pub fetched_by_request_id_at: Option<OffsetDateTime>,
}

/// An issued credential's content.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialData {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for CredentialData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CredentialData({}, {} bytes)", self.content_type, self.bytes.len())
    }
}

/// The job that issues one credential.
pub const CREDENTIAL_JOB: &str = "credential-issue";

#[derive(Clone, Serialize, Deserialize)]
pub struct CredentialJob {
    pub request_id: String,
    /// The PIN a card credential is protected with (the job payload is sealed at rest).
    pub encryption_key: Option<String>,
}

#[async_trait]
pub trait CredentialStore: Send + Sync {
    async fn policy(&self, partner_id: &str, credential_type: &str) -> Result<Option<Policy>, StoreError>;
    async fn policies(&self) -> Result<Vec<Policy>, StoreError>;
    async fn set_policy(&self, policy: &Policy, effects: &Effects, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Records the request with its effects and the issuing job (payload sealed).
    async fn create_credential_request(
        &self,
        record: &CredentialRecord,
        job: &CredentialJob,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn credential_request(&self, request_id: &str) -> Result<Option<CredentialRecord>, StoreError>;
    /// Moves a request from `from` to `to` (and its artefact as `data` says), with its history status
    /// and effects; `false` when it was no longer at `from`.
    async fn move_credential(
        &self,
        request_id: &str,
        from: CredentialStatus,
        to: CredentialStatus,
        data: DataChange<'_>,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn credential_data(&self, request_id: &str) -> Result<Option<CredentialData>, StoreError>;
    /// Records a download with its effects (the audit record). With `by_request_id`, only the first
    /// such download counts: `false` when the request id alone had already fetched it.
    async fn record_download(
        &self,
        request_id: &str,
        by_request_id: bool,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// What a status change does to a request's artefact.
#[derive(Debug, Clone, Copy)]
pub enum DataChange<'a> {
    Keep,
    Set(&'a CredentialData),
    /// A cancelled request keeps nothing.
    Clear,
}

/// What a resident asks for.
#[derive(Debug, Clone)]
pub struct CredentialAsk {
    pub credential_type: String,
    pub issuer: String,
    pub encrypt: bool,
    pub encryption_key: Option<String>,
    pub sharable_attributes: Vec<String>,
}

/// An audit record about one credential request.
pub(crate) fn request_audit(
    event: crate::audit::AuditEvent,
    ctx: &crate::audit::AuditContext,
    now: OffsetDateTime,
    request_id: &str,
    detail: String,
) -> crate::audit::AuditRecord {
    event.record(ctx, now, Some((request_id.to_owned(), "REQUEST_ID")), detail)
}

/// A request id is a UUID (MOSIP answers RES-SER-29 otherwise).
pub fn valid_request_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12].iter().zip(&parts).all(|(n, p)| p.len() == *n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `POST /req/credential` after the OTP: the partner must have a policy for the type, the attributes
/// are the requested ones within the policy (all of the policy's when none are named). Issuing is a
/// job. The response names the request id; the PIN protecting a card credential is sent to the
/// resident (MOSIP's RS_CRE_REQ_SUCCESS).
/// The ID schema fields a `sharableAttributes` name stands for: the field itself, or the fields of a
/// name of MOSIP's identity mapping (`identity-mapping.json`: `name`, `dob`, `address`, `fullAddress`,
/// `phoneNumber`, `emailId`, `face`, …) that MOSIP clients send.
pub fn mapped_fields(name: &str) -> Vec<&str> {
    const ADDRESS: [&str; 8] =
        ["addressLine1", "addressLine2", "addressLine3", "region", "province", "city", "zone", "postalCode"];
    match name {
        "name" | "fullName" => vec!["fullName"],
        "dob" | "dateOfBirth" => vec!["dateOfBirth"],
        "phoneNumber" | "phone" => vec!["phone"],
        "emailId" | "email" => vec!["email"],
        "address" | "fullAddress" => ADDRESS.to_vec(),
        "face" | "photo" => vec!["photo"],
        other => vec![other],
    }
}

pub async fn request_credential(
    ctx: &AuthContext<'_>,
    store: &dyn CredentialStore,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    ask: CredentialAsk,
) -> Result<Done<String>, ResidentError> {
    let partner = ctx.partners.partner(&ask.issuer).await?.filter(|p| p.status == "ACTIVE");
    let Some(partner) = partner else { return Err(ResidentError::invalid("issuer")) };
    let Some(policy) = store.policy(&partner.id, &ask.credential_type).await? else {
        return Err(ResidentError::PolicyMissing);
    };
    let attributes: Vec<String> = if ask.sharable_attributes.is_empty() {
        policy.attributes.clone()
    } else {
        let mut chosen: Vec<String> = Vec::new();
        for asked in &ask.sharable_attributes {
            // an ID schema field, or a name of MOSIP's identity mapping standing for some of them;
            // only what the policy allows is shared, and a name of which it allows nothing is refused
            let allowed: Vec<&str> =
                mapped_fields(asked).into_iter().filter(|f| policy.attributes.iter().any(|p| p == f)).collect();
            if allowed.is_empty() {
                return Err(ResidentError::invalid(&format!("sharableAttributes/{asked}")));
            }
            for f in allowed {
                if !chosen.iter().any(|c| c == f) {
                    chosen.push(f.to_owned());
                }
            }
        }
        chosen
    };
    // MOSIP: an empty key gets a random six-digit PIN
    let key = match ask.encryption_key.filter(|k| !k.trim().is_empty() && k != "null") {
        Some(k) => k,
        None => rand::Rng::gen_range(&mut crate::clock::rng(), 100_000..1_000_000).to_string(),
    };
    let request_id = crate::clock::random_uuid();
    let ev = ServiceEvent {
        aid: Some(request_id.clone()),
        status_comment: Some(format!("{} for {}", ask.credential_type, partner.name)),
        ..event(who, RequestType::ShareCredWithPartner, "NEW", id, trn, ctx.now)
    };
    let vars = BTreeMap::from([
        ("RID", request_id.clone()),
        ("credentialName", ask.credential_type.clone()),
        ("partnerName", partner.name.clone()),
        ("encryptionKey", key.clone()),
    ]);
    let audit =
        ("RES-SER-125", "Credential request success", format!("{} for partner {}", ask.credential_type, partner.id));
    let subject = Subject { who, id, trn };
    let (effects, message, event_id) = success(ctx, &subject, ev, "RS_CRE_REQ_SUCCESS", vars, audit);
    let record = CredentialRecord {
        request_id: request_id.clone(),
        identity_id: who.identity_id.clone(),
        token: who.token.clone(),
        event_id: event_id.clone(),
        partner_id: partner.id.clone(),
        credential_type: ask.credential_type.clone(),
        status: CredentialStatus::New,
        attributes,
        encrypt: ask.encrypt,
        created_at: ctx.now,
        updated_at: ctx.now,
        fetched_by_request_id_at: None,
    };
    let job = CredentialJob { request_id: request_id.clone(), encryption_key: Some(key) };
    store.create_credential_request(&record, &job, &effects, ctx.now).await?;
    Ok(Done { value: request_id, message, event_id })
}

/// Only the policy's attributes, from the identity (language-tagged values keep all languages;
/// `photo` is the face photo in base64).
pub fn shared_attributes(
    identity: &crate::identity::IdentityJson,
    uin: &crate::ids::Uin,
    documents: &[crate::ports::NewDocument],
    attributes: &[String],
) -> Map<String, Value> {
    use base64::Engine as _;
    let mut out = Map::new();
    for a in attributes {
        let value = match a.as_str() {
            "UIN" => Some(Value::String(uin.expose().to_owned())),
            "photo" => documents
                .iter()
                .find(|d| d.category == "photo")
                .map(|d| Value::String(base64::engine::general_purpose::STANDARD.encode(&d.content))),
            other => identity.0.get(other).filter(|v| !v.is_object()).cloned(),
        };
        if let Some(v) = value {
            out.insert(a.clone(), v);
        }
    }
    out
}

/// The partners that may receive each credential type.
pub async fn credential_types(
    store: &dyn CredentialStore,
    auth: &dyn PartnerRecords,
) -> Result<Vec<(String, String, String, Vec<Partner>)>, ResidentError> {
    let policies = store.policies().await?;
    let partners = auth.partners().await?;
    Ok(CREDENTIAL_TYPES
        .iter()
        .map(|(id, name, description)| {
            let issuers = partners
                .iter()
                .filter(|p| {
                    p.status == "ACTIVE" && policies.iter().any(|po| po.partner_id == p.id && po.credential_type == *id)
                })
                .cloned()
                .collect();
            (id.to_string(), name.to_string(), description.to_string(), issuers)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuids() {
        let id = crate::clock::random_uuid();
        assert!(valid_request_id(&id), "{id}");
        assert!(!valid_request_id("1234"));
        assert!(!valid_request_id("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"));
    }

    #[test]
    fn only_the_policys_attributes_are_shared() {
        let identity = crate::identity::IdentityJson(
            json!({"fullName": [{"language": "eng", "value": "Jane"}], "email": "j@x.org", "phone": "9876543210",
                   "proofOfAddress": {"value": "proofOfAddress", "type": "RNC", "format": "pdf"}})
            .as_object()
            .unwrap()
            .clone(),
        );
        let uin = crate::ids::Uin::parse("5075291708").unwrap();
        let shared = shared_attributes(&identity, &uin, &[], &["fullName".into(), "proofOfAddress".into()]);
        assert_eq!(shared.keys().collect::<Vec<_>>(), ["fullName"], "documents are never shared as attributes");
        assert!(!shared.contains_key("email"));
        let with_uin = shared_attributes(&identity, &uin, &[], &["UIN".into()]);
        assert_eq!(with_uin["UIN"], "5075291708");
    }
}
