//! "Update my details": a resident's change to their identity becomes a signed, encrypted packet with
//! its own RID (`RES_UPDATE`), which the embedded registration processor takes through its stages:
//! packet validation, manual verification when sensitive fields change, the identity update in the
//! registry (a new version, the old one kept), notification, and a fresh card. Each stage is a job
//! that runs once: the store moves an update from one stage to the next only if it is still at the
//! first, in the same transaction as everything the stage changes.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::auth_usecases::{AuthContext, Done, Subject, event, refuse, success};
use crate::error::{ResidentError, StoreError};
use crate::history::{EventId, IdentityToken, RequestType, ServiceEvent};
use crate::identity::{FieldType, IdentityJson, IdentitySchema};
use crate::ids::{CentreId, IndividualId, MachineId, Rid, Uin};
use crate::masterdata::Masterdata;
use crate::ports::{
    Effects, NewDocument, PacketCodec, PacketStore, RegistrationRepository, Resolved, UpdateRepository,
};
use crate::registration::{Registration, RegistrationType, StageRecord, TransactionType};

pub mod contact;
mod from_app;
mod pipeline;
pub mod uploads;
pub use from_app::{AppControl, AppField, AppTab, AppUpdate, app_fields, draft_from_portal, update_from_app};
pub use pipeline::{Pipeline, StageOutcome};

/// What the deployment allows residents to change, and how.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UpdatePolicy {
    /// A change to any of these waits for an operator's approval.
    pub verify_fields: Vec<String>,
    /// How many times a resident may change a field over the identity's life (absent: no limit).
    pub limits: BTreeMap<String, u32>,
    /// Largest document accepted, in bytes (MOSIP `mosip.max.file.upload.size.in.bytes`).
    pub max_document_bytes: usize,
}

impl Default for UpdatePolicy {
    fn default() -> Self {
        UpdatePolicy {
            verify_fields: vec!["fullName".into(), "dateOfBirth".into(), "gender".into()],
            limits: BTreeMap::from([("fullName".into(), 3), ("dateOfBirth".into(), 1), ("gender".into(), 2)]),
            max_document_bytes: 2_000_000,
        }
    }
}

/// The document formats accepted, judged by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    Pdf,
    Jpeg,
    Png,
}

impl DocumentFormat {
    /// What the bytes are: a PDF header and end marker, a JPEG start and end of image, or a PNG
    /// signature followed by its header chunk. A name or a declared format is never trusted.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
        if bytes.starts_with(b"%PDF-") {
            // the end-of-file marker sits in the last kilobyte (trailing whitespace allowed)
            let tail = &bytes[bytes.len().saturating_sub(1024)..];
            return tail.windows(5).any(|w| w == b"%%EOF").then_some(DocumentFormat::Pdf);
        }
        if bytes.len() > 4 && bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            let tail = &bytes[bytes.len().saturating_sub(64)..];
            return tail.windows(2).any(|w| w == [0xFF, 0xD9]).then_some(DocumentFormat::Jpeg);
        }
        if bytes.len() > 16 && bytes.starts_with(PNG) && &bytes[12..16] == b"IHDR" {
            return Some(DocumentFormat::Png);
        }
        None
    }

    pub fn extension(self) -> &'static str {
        match self {
            DocumentFormat::Pdf => "pdf",
            DocumentFormat::Jpeg => "jpg",
            DocumentFormat::Png => "png",
        }
    }

    fn declared(format: &str) -> bool {
        matches!(format.to_ascii_lowercase().as_str(), "pdf" | "jpg" | "jpeg" | "png")
    }
}

/// A proof document of an update: which document field it fills, its type code and its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct ProofDocument {
    /// The document field, e.g. `proofOfAddress`.
    pub field: String,
    /// Masterdata document type, e.g. `DOC001`.
    pub doc_type: String,
    pub format: DocumentFormat,
    pub content: Vec<u8>,
}

impl std::fmt::Debug for ProofDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProofDocument({}, {}, {:?}, {} bytes)", self.field, self.doc_type, self.format, self.content.len())
    }
}

/// An update request whose content is well formed (before the OTP is checked).
#[derive(Clone)]
pub struct DraftUpdate {
    identity: Map<String, Value>,
    uin: Option<String>,
    documents: Vec<ProofDocument>,
    /// Whether proofs alone, with no field changed, are refused (MOSIP's app always changes something).
    change_required: bool,
}

impl std::fmt::Debug for DraftUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DraftUpdate({:?}, {} document(s))", self.identity.keys().collect::<Vec<_>>(), self.documents.len())
    }
}

fn decode_base64(value: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    let v = value.trim();
    URL_SAFE_NO_PAD
        .decode(v)
        .or_else(|_| URL_SAFE.decode(v))
        .or_else(|_| STANDARD.decode(v))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(v))
        .ok()
}

fn field_error(e: ResidentError) -> ResidentError {
    match e {
        ResidentError::IdRepoInvalidInput(f) | ResidentError::IdRepoMissingInput(f) => ResidentError::InvalidInput(f),
        other => other,
    }
}

/// What can be judged of an update's documents before the OTP is checked, from their lengths alone:
/// a document whose base64 is too long for `update.max_document_bytes` is refused (RES-SER-514)
/// without decoding anything.
pub fn check_document_lengths(policy: &UpdatePolicy, documents: &[(String, String)]) -> Result<(), ResidentError> {
    if documents.len() > MAX_DOCUMENTS {
        return Err(ResidentError::invalid("documents"));
    }
    if documents.iter().any(|(_, value)| value.len() / 4 * 3 > policy.max_document_bytes + 3) {
        return Err(ResidentError::DocumentTooLarge);
    }
    Ok(())
}

/// The most documents one update may carry (one per proof the schema knows, with room to spare).
pub const MAX_DOCUMENTS: usize = 16;

/// Refuses an update after its OTP was accepted (audit, history, `RS_UIN_UPDATE_FAILURE`).
pub async fn refuse_update(
    ctx: &AuthContext<'_>,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    error: ResidentError,
) -> Result<ResidentError, ResidentError> {
    let subject = Subject { who, id, trn };
    refuse(ctx, &subject, RequestType::UpdateMyUin, "RS_UIN_UPDATE_FAILURE", BTreeMap::new(), error).await
}

/// The fields of an update, each updatable and valid by the ID schema (a document entry of a type
/// its category accepts, in a declared format), and the UIN it names, if any.
fn check_fields(
    schema: &IdentitySchema,
    identity: &Map<String, Value>,
    now: OffsetDateTime,
) -> Result<(Map<String, Value>, Option<String>), ResidentError> {
    let mut fields = Map::new();
    let mut uin = None;
    for (name, value) in identity {
        match name.as_str() {
            "UIN" => {
                uin = Some(value.as_str().ok_or_else(|| ResidentError::invalid("identity/UIN"))?.to_owned());
                continue;
            }
            "IDSchemaVersion" => continue,
            _ => {}
        }
        let spec = schema.field(name).filter(|s| s.updatable).ok_or_else(|| {
            ResidentError::UnsupportedInput(if schema.field(name).is_some() {
                format!("identity/{name} cannot be updated")
            } else {
                format!("identity/{name}")
            })
        })?;
        schema.check_field(spec, value, now).map_err(field_error)?;
        if spec.field_type == FieldType::Document {
            let doc_type = value.get("type").and_then(Value::as_str).unwrap_or_default();
            if !spec.document_types.is_empty() && !spec.document_types.iter().any(|t| t == doc_type) {
                return Err(ResidentError::invalid(&format!("identity/{name}/type")));
            }
            let format = value.get("format").and_then(Value::as_str).unwrap_or_default();
            if !DocumentFormat::declared(format) {
                return Err(ResidentError::UnsupportedFileType);
            }
        }
        fields.insert(name.clone(), value.clone());
    }
    Ok((fields, uin))
}

/// Decodes and checks the request's `identityJson` (base64url of `{"identity": {...}}`) and
/// `documents` (`[{name, value}]`, base64) against the ID schema and the policy. Only updatable fields;
/// each document is a PDF, JPEG or PNG by content, at most the policy's size, of a type its category
/// accepts; each document field in the identity has its document.
pub fn decode_update(
    schema: &IdentitySchema,
    policy: &UpdatePolicy,
    identity_json: &str,
    documents: &[(String, String)],
    now: OffsetDateTime,
) -> Result<DraftUpdate, ResidentError> {
    let invalid_json = || ResidentError::invalid("identityJson");
    let bytes = decode_base64(identity_json).ok_or_else(invalid_json)?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|_| invalid_json())?;
    let identity = doc.get("identity").and_then(Value::as_object).ok_or_else(invalid_json)?;
    let (fields, uin) = check_fields(schema, identity, now)?;
    if fields.is_empty() {
        return Err(invalid_json());
    }

    // documents: each names the `value` of a document field in the identity
    let mut proofs = Vec::new();
    for (name, value) in documents {
        let (field, spec_value) = fields
            .iter()
            .find(|(f, v)| {
                schema.field(f).is_some_and(|s| s.field_type == FieldType::Document)
                    && v.get("value").and_then(Value::as_str) == Some(name.as_str())
            })
            .ok_or_else(|| ResidentError::invalid("documents/name"))?;
        if proofs.iter().any(|p: &ProofDocument| &p.field == field) {
            return Err(ResidentError::invalid("documents/name"));
        }
        // base64 of 2 MB is about 2.7 MB: refuse oversized input before decoding it
        if value.len() / 4 * 3 > policy.max_document_bytes + 3 {
            return Err(ResidentError::DocumentTooLarge);
        }
        let content = decode_base64(value).ok_or_else(|| ResidentError::invalid("documents/value"))?;
        if content.len() > policy.max_document_bytes {
            return Err(ResidentError::DocumentTooLarge);
        }
        let format = DocumentFormat::sniff(&content).ok_or(ResidentError::UnsupportedFileType)?;
        proofs.push(ProofDocument {
            field: field.clone(),
            doc_type: spec_value.get("type").and_then(Value::as_str).unwrap_or_default().to_owned(),
            format,
            content,
        });
    }
    for (name, _) in fields.iter().filter(|(f, _)| schema.field(f).is_some_and(|s| s.field_type == FieldType::Document))
    {
        if !proofs.iter().any(|p| &p.field == name) {
            return Err(ResidentError::DocumentNotFound);
        }
    }
    Ok(DraftUpdate { identity: fields, uin, documents: proofs, change_required: false })
}

/// How many more times the resident may change each field that has a limit (MOSIP's update counts).
pub fn updates_left(policy: &UpdatePolicy, counts: &BTreeMap<String, u32>) -> Vec<(String, u32)> {
    policy
        .limits
        .iter()
        .map(|(f, limit)| (f.clone(), limit.saturating_sub(counts.get(f).copied().unwrap_or(0))))
        .collect()
}

/// An update checked against the identity it changes.
#[derive(Clone)]
pub struct UpdatePlan {
    /// The changed data fields and the proof documents' entries.
    pub changes: Map<String, Value>,
    pub documents: Vec<ProofDocument>,
    /// Names of the changed data fields (documents excluded), sorted.
    pub fields: Vec<String>,
    pub needs_verification: bool,
}

impl std::fmt::Debug for UpdatePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UpdatePlan({:?}, verify: {})", self.fields, self.needs_verification)
    }
}

/// Language-tagged values compare without regard to order.
fn same_value(a: &Value, b: &Value) -> bool {
    fn key(v: &Value) -> Value {
        match v {
            Value::Array(items) => {
                let mut sorted = items.clone();
                sorted.sort_by_key(|i| i.get("language").and_then(Value::as_str).unwrap_or_default().to_owned());
                Value::Array(sorted)
            }
            other => other.clone(),
        }
    }
    key(a) == key(b)
}

/// Applies `changes` to `current`.
pub fn merge(current: &IdentityJson, changes: &Map<String, Value>) -> IdentityJson {
    let mut merged = current.0.clone();
    for (k, v) in changes {
        merged.insert(k.clone(), v.clone());
    }
    IdentityJson(merged)
}

/// Checks a draft against the identity it changes: the UIN in it is the resident's, something
/// changes, each change that needs proof has its document, no field goes past its update limit, and
/// the identity after the change is still valid.
pub fn plan_update(
    schema: &IdentitySchema,
    policy: &UpdatePolicy,
    draft: DraftUpdate,
    current: &IdentityJson,
    uin: &Uin,
    counts: &BTreeMap<String, u32>,
    now: OffsetDateTime,
) -> Result<UpdatePlan, ResidentError> {
    if draft.uin.as_deref().is_some_and(|u| u != uin.expose()) {
        return Err(ResidentError::IndividualIdUinMismatch);
    }
    let is_document = |f: &str| schema.field(f).is_some_and(|s| s.field_type == FieldType::Document);
    let mut changes = Map::new();
    let mut fields = Vec::new();
    for (name, value) in &draft.identity {
        if is_document(name) {
            // as MOSIP's packet writer does: the entry names its file in the packet, the format is the
            // one the content showed
            let doc = draft.documents.iter().find(|d| &d.field == name).ok_or(ResidentError::DocumentNotFound)?;
            let mut entry = serde_json::json!({"value": name, "type": doc.doc_type, "format": doc.format.extension()});
            if let Some(r) = value.get("refNumber").filter(|r| r.is_string()) {
                entry["refNumber"] = r.clone();
            }
            changes.insert(name.clone(), entry);
        } else if current.0.get(name).is_none_or(|old| !same_value(old, value)) {
            changes.insert(name.clone(), value.clone());
            fields.push(name.clone());
        }
    }
    if fields.is_empty() && (draft.documents.is_empty() || draft.change_required) {
        return Err(ResidentError::invalid("identityJson: nothing to change"));
    }
    for f in &fields {
        if let Some(proof) = schema.field(f).and_then(|s| s.proof.as_deref())
            && !draft.documents.iter().any(|d| d.field == proof)
        {
            return Err(ResidentError::DocumentNotFound);
        }
    }
    let over: Vec<&str> = fields
        .iter()
        .filter(|f| policy.limits.get(*f).is_some_and(|limit| counts.get(*f).copied().unwrap_or(0) >= *limit))
        .map(String::as_str)
        .collect();
    if !over.is_empty() {
        return Err(ResidentError::UpdateCountExceeded(over.join(",")));
    }
    schema.validate_new(&merge(current, &changes).to_document(), now).map_err(field_error)?;
    fields.sort();
    let needs_verification = fields.iter().any(|f| policy.verify_fields.contains(f));
    Ok(UpdatePlan { changes, documents: draft.documents, fields, needs_verification })
}

/// What an update packet carries (MOSIP's RES_UPDATE packet: the changed identity, its documents and
/// the metadata of who made it where).
#[derive(Clone, PartialEq)]
pub struct UpdatePacket {
    pub rid: Rid,
    /// `RES_UPDATE`
    pub process: String,
    pub created_at: OffsetDateTime,
    pub centre: String,
    pub machine: String,
    /// `UIN`, `IDSchemaVersion` and the changed fields.
    pub identity: IdentityJson,
    /// One per document field (category = the field name).
    pub documents: Vec<NewDocument>,
    /// The audit trail of the packet's creation (MOSIP: mandatory `audit.json`).
    pub audits: Vec<PacketAudit>,
}

impl std::fmt::Debug for UpdatePacket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UpdatePacket({}, {:?})", self.rid.masked(), self.identity)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketAudit {
    #[serde(rename = "eventId")]
    pub event_id: String,
    pub description: String,
    #[serde(rename = "actionTimeStamp")]
    pub at: String,
}

impl UpdatePacket {
    pub fn uin(&self) -> Option<Uin> {
        self.identity.uin().and_then(|u| Uin::parse(u).ok())
    }

    /// The changed fields: everything but `UIN` and `IDSchemaVersion`.
    pub fn changes(&self) -> Map<String, Value> {
        self.identity
            .0
            .iter()
            .filter(|(k, _)| *k != "UIN" && *k != "IDSchemaVersion")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Why a packet does not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketFault {
    /// The packet itself is wrong: it does not decrypt, its signature does not hold, it is malformed.
    Invalid(String),
    /// Something the check needs (the machine key registry) cannot be reached: try again later.
    Unavailable(String),
}

impl std::fmt::Display for PacketFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PacketFault::Invalid(r) | PacketFault::Unavailable(r) => f.write_str(r),
        }
    }
}

/// Where a packet lives in the packet store.
/// The packet store's folder for update packets.
pub const UPDATE_PACKET_FOLDER: &str = "RESIDENT/RES_UPDATE/";

pub fn packet_key(rid: &Rid) -> String {
    format!("{UPDATE_PACKET_FOLDER}{}.zip", rid.as_str())
}

/// Where an update is in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UpdateStage {
    /// Packet validation (a job).
    Validate,
    /// Waiting for an operator's decision.
    Verify,
    /// Identity update in the registry (a job).
    Apply,
    /// Telling the resident (a job).
    Notify,
    /// Making the new card available (a job).
    Card,
    Done,
    Rejected,
}

impl UpdateStage {
    pub const ALL: [UpdateStage; 7] = [
        UpdateStage::Validate,
        UpdateStage::Verify,
        UpdateStage::Apply,
        UpdateStage::Notify,
        UpdateStage::Card,
        UpdateStage::Done,
        UpdateStage::Rejected,
    ];

    pub fn code(self) -> &'static str {
        match self {
            UpdateStage::Validate => "VALIDATE",
            UpdateStage::Verify => "VERIFY",
            UpdateStage::Apply => "APPLY",
            UpdateStage::Notify => "NOTIFY",
            UpdateStage::Card => "CARD",
            UpdateStage::Done => "DONE",
            UpdateStage::Rejected => "REJECTED",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Stages a job runs (the others wait for an operator, or are final).
    pub fn runs_as_job(self) -> bool {
        matches!(self, UpdateStage::Validate | UpdateStage::Apply | UpdateStage::Notify | UpdateStage::Card)
    }

    pub fn is_final(self) -> bool {
        matches!(self, UpdateStage::Done | UpdateStage::Rejected)
    }
}

/// The job that runs one stage of one update.
pub const UPDATE_STAGE_JOB: &str = "update-stage";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageJob {
    pub rid: String,
    pub stage: UpdateStage,
}

/// One resident update request as the pipeline keeps it. No personal data: the packet holds that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateRecord {
    pub rid: Rid,
    pub identity_id: String,
    pub token: IdentityToken,
    pub event_id: EventId,
    pub stage: UpdateStage,
    /// Names of the changed fields.
    pub fields: Vec<String>,
    pub needs_verification: bool,
    pub reason: Option<String>,
    pub packet_key: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// One stage transition and everything committed with it.
#[derive(Debug, Clone)]
pub struct StageChange {
    pub rid: Rid,
    pub from: UpdateStage,
    pub to: UpdateStage,
    pub registration: Registration,
    pub stages: Vec<StageRecord>,
    /// The service-history status of the resident's request after this stage.
    pub event_status: &'static str,
    pub event_comment: String,
    pub reason: Option<String>,
    pub effects: Effects,
}

/// A new version of an identity: the old one is kept.
#[derive(Debug, Clone)]
pub struct IdentityChange {
    pub identity_id: String,
    /// The version the change was computed from; the write fails if the identity moved since.
    pub base_version: i64,
    pub identity: IdentityJson,
    pub documents: Vec<NewDocument>,
    pub fields: Vec<String>,
    pub rid: Rid,
}

/// What placing an update needs beyond the authentication context.
pub struct UpdateServices<'a> {
    pub registrations: &'a dyn RegistrationRepository,
    pub updates: &'a dyn UpdateRepository,
    pub packets: &'a dyn PacketStore,
    pub codec: &'a dyn PacketCodec,
    pub schema: &'a IdentitySchema,
    pub masterdata: &'a Masterdata,
    pub uploads: &'a dyn uploads::UploadStore,
    pub policy: &'a UpdatePolicy,
    pub centre: &'a CentreId,
    pub machine: &'a MachineId,
    /// The resident service's own OTPs to a new phone or email (MOSIP's resident keeps these itself,
    /// not in IDA); kept in the same OTP records the embedded IDA uses, in this tier's database.
    pub contact_otps: &'a dyn crate::ports::IdaRecords,
}

fn fields_text(fields: &[String], documents: &[ProofDocument]) -> String {
    let mut all: Vec<&str> = fields.iter().map(String::as_str).collect();
    if all.is_empty() {
        all.extend(documents.iter().map(|d| d.field.as_str()));
    }
    all.join(", ")
}

/// `POST /req/update-uin` after the OTP: checks the draft against the identity, builds and stores the
/// packet, and records the request (RID, first stage, history, notification, validation job). A
/// refusal is told to the resident and changes nothing.
pub async fn request_update(
    ctx: &AuthContext<'_>,
    svc: &UpdateServices<'_>,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    draft: DraftUpdate,
) -> Result<Done<Rid>, ResidentError> {
    let subject = Subject { who, id, trn };
    let refused = |e: ResidentError| refuse_update(ctx, who, id, trn, e);
    if svc.updates.open_update_of(&who.identity_id).await?.is_some() {
        return Err(refused(ResidentError::UpdatePending).await?);
    }
    let counts = svc.updates.update_counts(&who.identity_id).await?;
    let plan = match plan_update(svc.schema, svc.policy, draft, &who.identity, &who.uin, &counts, ctx.now) {
        Ok(p) => p,
        Err(e) => return Err(refused(e).await?),
    };
    let rid = svc.registrations.next_rid(svc.centre, svc.machine, ctx.now).await?;
    let mut identity = plan.changes.clone();
    identity.insert("UIN".into(), Value::String(who.uin.expose().to_owned()));
    identity.insert("IDSchemaVersion".into(), serde_json::json!(svc.schema.version));
    let packet = UpdatePacket {
        rid: rid.clone(),
        process: RegistrationType::ResUpdate.code().into(),
        created_at: ctx.now,
        centre: svc.centre.as_str().to_owned(),
        machine: svc.machine.as_str().to_owned(),
        identity: IdentityJson(identity),
        documents: plan
            .documents
            .iter()
            .map(|d| NewDocument {
                category: d.field.clone(),
                format: d.format.extension().into(),
                content: d.content.clone(),
            })
            .collect(),
        audits: vec![PacketAudit {
            event_id: "RES-SER-118".into(),
            description: format!("packet created for the update of {}", plan.fields.join(",")),
            at: crate::clock::mosip_datetime(ctx.now),
        }],
    };
    let bytes = svc.codec.seal(&packet).map_err(ResidentError::PacketCreation)?;
    let key = packet_key(&rid);
    svc.packets.put(&key, &bytes).await.map_err(|e| ResidentError::PacketCreation(e.to_string()))?;

    let registration = Registration::received(rid.clone(), RegistrationType::ResUpdate, ctx.now);
    let changed = fields_text(&plan.fields, &plan.documents);
    let stages = [StageRecord {
        transaction_type: TransactionType::PacketReceiver,
        status: "SUCCESS".into(),
        comment: format!("update packet received ({} bytes): {changed}", bytes.len()),
        at: ctx.now,
    }];
    let ev = ServiceEvent {
        aid: Some(rid.as_str().to_owned()),
        status_comment: Some(changed.clone()),
        ..event(who, RequestType::UpdateMyUin, "NEW", id, trn, ctx.now)
    };
    let vars = BTreeMap::from([("RID", rid.as_str().to_owned()), ("fields", changed.clone())]);
    let audit =
        ("RES-SER-115", "Obtained RID for UIN update", format!("update RID {} obtained: {changed}", rid.masked()));
    let (effects, message, event_id) = success(ctx, &subject, ev, "RS_UIN_UPDATE_SUCCESS", vars, audit);
    let record = UpdateRecord {
        rid: rid.clone(),
        identity_id: who.identity_id.clone(),
        token: who.token.clone(),
        event_id: event_id.clone(),
        stage: UpdateStage::Validate,
        fields: if plan.fields.is_empty() {
            plan.documents.iter().map(|d| d.field.clone()).collect()
        } else {
            plan.fields.clone()
        },
        needs_verification: plan.needs_verification,
        reason: None,
        packet_key: key.clone(),
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    match svc.updates.create_update(&record, &registration, &stages, &effects, ctx.now).await {
        Ok(()) => Ok(Done { value: rid, message, event_id }),
        Err(e) => {
            // nothing refers to the packet: take it back
            if let Err(del) = svc.packets.delete(&key).await {
                return Err(ResidentError::Internal(format!("{e}; and removing the packet failed: {del}")));
            }
            match e {
                StoreError::Conflict(_) => Err(refused(ResidentError::UpdatePending).await?),
                other => Err(other.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests;
