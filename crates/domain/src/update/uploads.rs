//! Proof documents a resident uploads before asking for an update (MOSIP 1.2.1's document service,
//! which MOSIP's portal app uses): each is kept sealed under the resident's identity and the
//! update's transaction id until the update takes it into its packet, the resident deletes it, or
//! housekeeping removes it a day later. Only a document the ID schema asks for as a proof of an
//! updatable field, of a type masterdata accepts for its category, judged PDF, JPEG or PNG by its
//! content, is kept.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{DocumentFormat, MAX_DOCUMENTS, ProofDocument, UpdatePolicy};
use crate::audit::{AuditContext, AuditEvent};
use crate::error::{ResidentError, StoreError};
use crate::history::IdentityToken;
use crate::identity::{FieldType, IdentitySchema};
use crate::ids::IndividualId;
use crate::masterdata::Masterdata;
use crate::ports::{Effects, Resolved};

/// How long an upload waits for its update.
pub const UPLOAD_LIFETIME: time::Duration = time::Duration::hours(24);
/// File name extensions MOSIP accepts (`mosip.allowed.extension`).
const EXTENSIONS: [&str; 4] = ["pdf", "jpeg", "png", "jpg"];
const MAX_NAME_CHARS: usize = 128;
const MAX_REFERENCE_CHARS: usize = 64;

/// One uploaded proof document.
#[derive(Clone, PartialEq, Eq)]
pub struct Upload {
    /// A random UUID: the app deletes by it.
    pub id: String,
    pub token: IdentityToken,
    pub transaction_id: String,
    /// The ID schema's document field it proves (`proofOfAddress`).
    pub field: String,
    /// Masterdata's category code (`POA`).
    pub category: String,
    pub doc_type: String,
    /// The file's name as the resident's browser gave it.
    pub name: String,
    /// The document's own number, when the resident typed one.
    pub reference: Option<String>,
    pub format: DocumentFormat,
    pub content: Vec<u8>,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upload({}, {} {}, {} bytes)", self.id, self.category, self.doc_type, self.content.len())
    }
}

impl Upload {
    pub fn proof(&self) -> ProofDocument {
        ProofDocument {
            field: self.field.clone(),
            doc_type: self.doc_type.clone(),
            format: self.format,
            content: self.content.clone(),
        }
    }
}

/// Where uploads wait (sealed at rest).
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Keeps an upload with its effects, unless its owner already holds `limit` uploads (`false`,
    /// nothing written). Two uploads of one owner at once are counted one after the other.
    async fn put_upload(
        &self,
        upload: &Upload,
        limit: usize,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// The uploads of one of the resident's transactions, oldest first.
    async fn uploads(&self, token: &IdentityToken, transaction_id: &str) -> Result<Vec<Upload>, StoreError>;
    /// Deletes one of the resident's uploads with its effects; `false` when there is no such upload.
    async fn delete_upload(
        &self,
        token: &IdentityToken,
        transaction_id: &str,
        id: &str,
        effects: &Effects,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Deletes every upload of a transaction (its update took them).
    async fn drop_uploads(&self, token: &IdentityToken, transaction_id: &str) -> Result<(), StoreError>;
    /// Deletes uploads made before `before`; how many went.
    async fn sweep_uploads(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}

/// An update's transaction id as MOSIP's app makes it: ten digits.
pub fn transaction_id(raw: &str) -> Result<String, ResidentError> {
    let t = raw.trim();
    if t.len() == 10 && t.bytes().all(|b| b.is_ascii_digit()) {
        Ok(t.to_owned())
    } else {
        Err(ResidentError::invalid("transactionId"))
    }
}

/// What the resident sends with a file.
pub struct UploadAsk<'a> {
    pub transaction_id: &'a str,
    pub category: &'a str,
    pub doc_type: &'a str,
    pub language: &'a str,
    /// `undefined` (what the app sends for none) and blanks are none.
    pub reference: Option<&'a str>,
    pub file_name: &'a str,
    pub content: Vec<u8>,
}

/// What uploading and deleting need.
pub struct Uploads<'a> {
    pub store: &'a dyn UploadStore,
    pub schema: &'a IdentitySchema,
    pub masterdata: &'a Masterdata,
    pub policy: &'a UpdatePolicy,
    pub audit: &'a AuditContext,
    pub now: OffsetDateTime,
}

fn plain_text(value: &str, max: usize) -> bool {
    !value.is_empty() && value.chars().count() <= max && !value.chars().any(char::is_control)
}

impl Uploads<'_> {
    fn effects(&self, event: AuditEvent, id: &IndividualId, what: String) -> Effects {
        Effects {
            audit: vec![event.record(self.audit, self.now, Some((id.masked(), id.id_type())), what)],
            ..Effects::default()
        }
    }

    /// Checks and keeps one proof document, in MOSIP's order of refusals: the transaction id, the
    /// language, the category and type, the file's extension (`RES-SER-516`), its size
    /// (`RES-SER-514`); then what MOSIP does not check: the content is what the extension says, the
    /// category proves an updatable field, and a resident holds at most 16 uploads at a time (they go
    /// with an update or after a day), so nobody fills the disk by opening transactions.
    pub async fn upload(&self, who: &Resolved, id: &IndividualId, ask: UploadAsk<'_>) -> Result<Upload, ResidentError> {
        let transaction_id = transaction_id(ask.transaction_id)?;
        if !self.schema.languages().all().any(|l| l.eq_ignore_ascii_case(ask.language.trim())) {
            return Err(ResidentError::invalid("languageCode"));
        }
        let category =
            self.masterdata.category(ask.category.trim()).ok_or_else(|| ResidentError::invalid("docCatCode"))?;
        let field = self
            .schema
            .fields()
            .find(|f| {
                f.field_type == FieldType::Document
                    && f.updatable
                    && f.document_category.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&category.code))
            })
            .ok_or_else(|| ResidentError::invalid("docCatCode"))?;
        let doc_type = ask.doc_type.trim();
        if !category.types.iter().any(|t| t == doc_type)
            || (!field.document_types.is_empty() && !field.document_types.iter().any(|t| t == doc_type))
        {
            return Err(ResidentError::invalid("docTypCode"));
        }
        let name = ask.file_name.trim();
        if !plain_text(name, MAX_NAME_CHARS) || name.contains(['/', '\\']) {
            return Err(ResidentError::invalid("file"));
        }
        let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        if !EXTENSIONS.contains(&extension.as_str()) {
            return Err(ResidentError::UnsupportedFileType);
        }
        if ask.content.len() > self.policy.max_document_bytes {
            return Err(ResidentError::DocumentTooLarge);
        }
        let format = DocumentFormat::sniff(&ask.content).ok_or(ResidentError::UnsupportedFileType)?;
        let claimed_jpeg = matches!(extension.as_str(), "jpg" | "jpeg");
        if format.extension() != extension && !(claimed_jpeg && format == DocumentFormat::Jpeg) {
            return Err(ResidentError::UnsupportedFileType);
        }
        let reference = match ask.reference.map(str::trim) {
            None | Some("" | "undefined" | "null") => None,
            Some(r) if plain_text(r, MAX_REFERENCE_CHARS) => Some(r.to_owned()),
            Some(_) => return Err(ResidentError::invalid("referenceId")),
        };
        let upload = Upload {
            id: crate::clock::random_uuid(),
            token: who.token.clone(),
            transaction_id,
            field: field.name.clone(),
            category: category.code.clone(),
            doc_type: doc_type.to_owned(),
            name: name.to_owned(),
            reference,
            format,
            content: ask.content,
            created_at: self.now,
        };
        let what = format!(
            "{} {} ({} bytes) for transaction {}",
            upload.category,
            upload.doc_type,
            upload.content.len(),
            upload.transaction_id
        );
        let effects = self.effects(AuditEvent::DocumentUploaded, id, what);
        if !self.store.put_upload(&upload, MAX_DOCUMENTS, &effects, self.now).await? {
            return Err(ResidentError::invalid("documents"));
        }
        Ok(upload)
    }

    /// Deletes one of the resident's uploads (`RES-SER-461` when they have no such upload).
    pub async fn delete(
        &self,
        who: &Resolved,
        id: &IndividualId,
        transaction: &str,
        document_id: &str,
    ) -> Result<(), ResidentError> {
        let transaction = transaction_id(transaction)?;
        let doc = document_id.trim();
        if doc.len() < 20 || doc.len() > 64 || !doc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(ResidentError::invalid("documentId"));
        }
        let effects =
            self.effects(AuditEvent::DocumentDeleted, id, format!("document {doc} of transaction {transaction}"));
        if self.store.delete_upload(&who.token, &transaction, doc, &effects, self.now).await? {
            Ok(())
        } else {
            Err(ResidentError::NoDocuments)
        }
    }
}
