//! Update my data, as MOSIP's app does it: its UI schema (drawn from our identity schema and
//! masterdata), the resident's current values, how many changes are left, the update in progress
//! (MOSIP's "pending drafts"), proof documents uploaded ahead of the update, transliteration into
//! the resident's other languages, a new email or phone proved by an OTP sent to it, and the update
//! itself (`PATCH /update-uin`), which becomes the same update packet as every other front door's.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::identity::FieldType;
use resident_domain::transliteration::{TransliterationError, transliterate};
use resident_domain::update::contact::{NewContact, change_contact, send_contact_otp};
use resident_domain::update::uploads::{UploadAsk, Uploads, transaction_id};
use resident_domain::update::{AppControl, AppField, AppUpdate, app_fields, update_from_app, updates_left};
use serde_json::{Map, Value, json};

use super::{Errors, Scope, UiResident, language, refusal, reply, resident, with_event};
use crate::AppState;
use crate::envelope::{self, text};
use crate::portal::{translate, translate_with};

const INFO_ID: &str = "mosip.resident.identity.info";
const DRAFTS_ID: &str = "mosip.resident.get.pending.drafts";
const DISCARD_ID: &str = "mosip.resident.discard.pending.drafts";
const TRANSLITERATE_ID: &str = "mosip.resident.transliteration.transliterate";
const SEND_OTP_ID: &str = "mosip.resident.contact.details.send.otp.id";
const UPDATE_DATA_ID: &str = "mosip.resident.contact.details.update.id";
const UPLOAD_ID: &str = "mosip.resident.document.upload";
const LIST_ID: &str = "mosip.resident.document.list";
const DELETE_ID: &str = "mosip.resident.document.delete";
const UPDATE_ID: &str = "mosip.resident.updateuin";
const VERSION: &str = "1.0";
/// The app's name for this journey's UI schema and identity info.
pub(crate) const SCHEMA_TYPE: &str = "update-demographics";

fn languages(state: &AppState) -> Vec<String> {
    state.schema.languages().all().cloned().collect()
}

fn field_label(lang: &str, field: &str) -> String {
    match field {
        "dateOfBirth" | "preferredLang" => translate(lang, &format!("attr-{field}")),
        other => translate(lang, &format!("field-{other}")),
    }
}

fn per_language(state: &AppState, f: impl Fn(&str) -> Value) -> Value {
    Value::Object(languages(state).iter().map(|l| (l.clone(), f(l))).collect())
}

/// What the app may offer (domain `update::app_fields`).
fn offered(state: &AppState) -> Vec<AppField> {
    app_fields(&state.schema, &state.masterdata)
}

fn size_text(state: &AppState, lang: &str) -> String {
    let bytes = state.update_policy.max_document_bytes;
    if bytes.is_multiple_of(1_000_000) {
        translate_with(lang, "size-mb", &[("n", (bytes / 1_000_000).to_string())])
    } else {
        translate_with(lang, "size-kb", &[("n", (bytes / 1000).to_string())])
    }
}

fn schema_entry(state: &AppState, field: &AppField) -> Value {
    let (name, tab, control) = (field.name.as_str(), field.tab.code(), field.control.code());
    let labels = |lang: &str| -> Vec<String> {
        let field = field_label(lang, name);
        let with = |key: &str| translate_with(lang, key, &[("field", field.clone())]);
        match (tab, control) {
            (_, "fileupload") => vec![
                field.clone(),
                translate(lang, "ui-doc-type"),
                translate(lang, "ui-doc-reference"),
                translate(lang, "ui-doc-file"),
                translate(lang, "ui-doc-formats"),
                translate_with(lang, "ui-doc-size", &[("size", size_text(state, lang))]),
            ],
            ("contact", _) => {
                vec![with("ui-current"), with("ui-new"), with("ui-confirm"), translate(lang, "ui-send-otp")]
            }
            _ => vec![with("ui-current"), with("ui-new")],
        }
    };
    let mut e = Map::new();
    e.insert("attributeName".into(), json!(name));
    e.insert("id".into(), json!(name));
    e.insert("controlType".into(), json!(control));
    e.insert("tabgroup".into(), json!(tab));
    e.insert("inputRequired".into(), json!(false));
    e.insert("label".into(), per_language(state, |l| json!(field_label(l, name))));
    e.insert("labelName".into(), per_language(state, |l| json!(labels(l))));
    e.insert(
        "placeHolder".into(),
        per_language(state, |l| json!(translate_with(l, "ui-enter", &[("field", field_label(l, name))]))),
    );
    let simple = state.schema.field(name).is_some_and(|f| f.field_type == FieldType::Simple);
    e.insert("dataType".into(), json!(if simple { "notString" } else { "string" }));
    if let Some(level) = state.masterdata.level_of_field(name) {
        // the app matches the level by its English name
        e.insert("name".into(), json!(level.name.get("eng").or_else(|| level.name.values().next())));
        e.insert("locationHierarchyLevel".into(), json!(level.level));
    }
    if tab == "contact" {
        let validators: Vec<Value> = state
            .schema
            .field(name)
            .into_iter()
            .flat_map(|f| f.patterns())
            .map(|p| json!({"type": "regex", "validator": p, "arguments": []}))
            .collect();
        e.insert("validators".into(), Value::Array(validators));
    }
    Value::Object(e)
}

/// `GET /auth-proxy/config/ui-schema/update-demographics`: without an envelope, as MOSIP serves
/// its file.
pub(crate) fn ui_schema(state: &AppState) -> Response {
    let identity: Vec<Value> = offered(state).iter().map(|f| schema_entry(state, f)).collect();
    axum::Json(json!({"identity": identity})).into_response()
}

/// `GET /identity/info/type/update-demographics`: the resident's current values of what the app
/// offers (documents excluded); never a null.
pub(crate) fn identity_info(state: &AppState, r: &UiResident) -> Response {
    let mut out = Map::new();
    for field in offered(state).into_iter().filter(|f| f.control != AppControl::FileUpload) {
        if let Some(v) = r.who.identity.0.get(&field.name).filter(|v| !v.is_null()) {
            out.insert(field.name, v.clone());
        }
    }
    reply(Some(INFO_ID), VERSION, r.now, Value::Object(out), Errors::Null)
}

/// The limits the app shows beside each field (MOSIP's identity mapping's `attributeUpdateCountLimit`).
pub(crate) fn update_count_limits(state: &AppState) -> Value {
    Value::Object(state.update_policy.limits.iter().map(|(f, n)| (f.clone(), json!(n))).collect())
}

/// `GET /identity/update-count`: how many more times each limited field may change.
pub(crate) async fn update_count(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let r = match resident(&state, &headers, Some(Scope::IdentityData)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    match state.updates.update_counts(&r.who.identity_id).await {
        Ok(counts) => {
            let attributes: Vec<Value> = updates_left(&state.update_policy, &counts)
                .into_iter()
                .map(|(f, left)| json!({"attributeName": f, "noOfUpdatesLeft": left}))
                .collect();
            super::reply_with(None, None, r.now, json!({"attributes": attributes}), Errors::Empty)
        }
        Err(e) => super::refusal_with(None, None, r.now, &e.into()),
    }
}

/// `GET /identity/get-pending-drafts/{lang}`: the resident's update in progress, which cannot be
/// withdrawn here (it is already a packet on its way).
pub(crate) async fn pending_drafts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(lang): Path<String>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::IdentityData)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let lang = language(&state, &lang)?;
        let open = state.updates.open_update_of(&r.who.identity_id).await?;
        let drafts: Vec<Value> = open
            .into_iter()
            .map(|u| {
                let fields: Vec<String> = u.fields.iter().map(|f| field_label(&lang, f)).collect();
                let description = translate_with(
                    &lang,
                    "ui-draft",
                    &[("request", translate(&lang, "rt-UPDATE_MY_UIN")), ("fields", fields.join(", "))],
                );
                json!({
                    "eid": u.event_id.to_string(),
                    "aid": u.rid.as_str(),
                    "createdDTimes": resident_domain::clock::mosip_datetime(u.created_at),
                    "attributes": u.fields,
                    "cancellable": false,
                    "description": description,
                })
            })
            .collect();
        Ok::<_, ResidentError>(json!({"drafts": drafts}))
    }
    .await;
    match result {
        Ok(v) => reply(Some(DRAFTS_ID), VERSION, r.now, v, Errors::Empty),
        Err(e) => refusal(DRAFTS_ID, VERSION, r.now, &e),
    }
}

/// `POST /identity/discardPendingDraft/{eid}`: an update here is a packet already, never a draft
/// that can be thrown away: `RES-SER-470` for every well-formed event id.
pub(crate) async fn discard_draft(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(eid): Path<String>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::IdentityData)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let e = if eid.len() == 16 && eid.bytes().all(|b| b.is_ascii_digit()) {
        ResidentError::NoRecord
    } else {
        ResidentError::invalid("eventId")
    };
    refusal(DISCARD_ID, VERSION, r.now, &e)
}

/// The logged-in resident (else the answer to send: 401, 403) and their request, checked against
/// MOSIP's envelope (`id`, `requesttime`, `version`; a refusal in the same envelope otherwise).
async fn resident_request(
    state: &AppState,
    headers: &HeaderMap,
    scope: Option<Scope>,
    body: Result<Bytes, BytesRejection>,
    api_id: &str,
) -> Result<(UiResident, Map<String, Value>), Response> {
    let r = resident(state, headers, scope).await?;
    let request = envelope::json_body(body)
        .and_then(|b| envelope::validate_resident(&b, api_id, VERSION).cloned())
        .map_err(|e| refusal(api_id, VERSION, r.now, &e))?;
    Ok((r, request))
}

/// `POST /transliteration/transliterate` `{from_field_value, from_field_lang, to_field_lang}`.
/// The app sends a fixed `requesttime` from 2023: it is checked for form only.
pub(crate) async fn transliteration(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (r, request) = match resident_request(&state, &headers, None, body, TRANSLITERATE_ID).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let request = &request;
    let result = (|| {
        let value = text(request, "from_field_value").ok_or_else(|| ResidentError::invalid("from_field_value"))?;
        let from = text(request, "from_field_lang").ok_or_else(|| ResidentError::invalid("from_field_lang"))?;
        let to = text(request, "to_field_lang").ok_or_else(|| ResidentError::invalid("to_field_lang"))?;
        for l in [from, to] {
            language(&state, l)?;
        }
        let out = transliterate(&state.transliteration, from, to, value).map_err(|e| match e {
            TransliterationError::SameLanguage => ResidentError::invalid("'from' and 'to' languages cannot be same"),
            TransliterationError::UnknownLanguage(_) | TransliterationError::NoRules { .. } => {
                ResidentError::BadRequest("no transliteration between these languages".into())
            }
            _ => ResidentError::invalid("from_field_value"),
        })?;
        Ok(json!({"from_field_value": value, "from_field_lang": from, "to_field_value": out, "to_field_lang": to}))
    })();
    match result {
        Ok(v) => reply(Some(TRANSLITERATE_ID), VERSION, r.now, v, Errors::Null),
        Err(e) => refusal(TRANSLITERATE_ID, VERSION, r.now, &e),
    }
}

/// The contact change a request names: `userId` (the new email or phone) and `transactionId`.
fn contact_request<'a>(
    state: &AppState,
    request: &'a Map<String, Value>,
    now: time::OffsetDateTime,
) -> Result<(NewContact, String, &'a Map<String, Value>), ResidentError> {
    let trn = transaction_id(text(request, "transactionId").unwrap_or_default())?;
    let contact = NewContact::parse(&state.schema, text(request, "userId").unwrap_or_default(), now)?;
    Ok((contact, trn, request))
}

/// `POST /contact-details/send-otp` `{userId, transactionId}`: an OTP to the new email or phone.
pub(crate) async fn send_otp(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (r, request) = match resident_request(&state, &headers, Some(Scope::IdentityData), body, SEND_OTP_ID).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let request = &request;
    let result = async {
        let (contact, trn, _) = contact_request(&state, request, r.now)?;
        let ctx = crate::api::auth::context(&state, &r.audit, r.now);
        send_contact_otp(&ctx, &state.update_services(), &r.who, &r.id, &contact, &trn).await?;
        Ok::<_, ResidentError>(contact)
    }
    .await;
    match result {
        Ok(contact) => {
            let message = match contact.channel {
                resident_domain::otp::OtpChannel::Email => "Email Request submitted",
                resident_domain::otp::OtpChannel::Phone => "Sms Request Sent",
            };
            reply(Some(SEND_OTP_ID), VERSION, r.now, json!({"message": message, "status": "success"}), Errors::Null)
        }
        Err(e) => refusal(SEND_OTP_ID, VERSION, r.now, &e),
    }
}

/// `POST /contact-details/update-data` `{userId, transactionId, otp}`: the OTP sent to the new
/// contact; when right, the change is asked for (an update, with its event id).
pub(crate) async fn update_data(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::IdentityData)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let body = envelope::json_body(body)?;
        let request = envelope::validate_resident(&body, UPDATE_DATA_ID, VERSION)?;
        let (contact, trn, request) = contact_request(&state, request, r.now)?;
        let otp = text(request, "otp").ok_or_else(|| ResidentError::invalid("otp"))?;
        let ctx = crate::api::auth::context(&state, &r.audit, r.now);
        change_contact(&ctx, &state.update_services(), &r.who, &r.id, &contact, &trn, otp).await
    }
    .await;
    match result {
        Ok(done) => with_event(
            reply(
                Some(UPDATE_DATA_ID),
                VERSION,
                r.now,
                json!({"message": "VALIDATION_SUCCESSFUL", "status": "success"}),
                Errors::Null,
            ),
            done.event_id.as_str(),
        ),
        Err(e) => with_event(refusal(UPDATE_DATA_ID, VERSION, r.now, &e), "NA"),
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct UploadQuery {
    #[serde(rename = "docCatCode")]
    category: Option<String>,
    #[serde(rename = "docTypCode")]
    doc_type: Option<String>,
    #[serde(rename = "langCode")]
    lang: Option<String>,
    #[serde(rename = "referenceId")]
    reference: Option<String>,
}

/// An upload as MOSIP's document service describes it (never the file).
fn upload_json(u: &resident_domain::update::uploads::Upload) -> Value {
    json!({
        "transactionId": u.transaction_id, "docId": u.id, "docName": u.name,
        "docCatCode": u.category.to_lowercase(), "docTypCode": u.doc_type, "docFileFormat": u.format.extension(),
    })
}

fn uploads_of<'a>(state: &'a AppState, r: &'a UiResident) -> Uploads<'a> {
    Uploads {
        store: state.uploads.as_ref(),
        schema: &state.schema,
        masterdata: &state.masterdata,
        policy: &state.update_policy,
        audit: &r.audit,
        now: r.now,
    }
}

/// The one file of a multipart body, from its part `file`: (name, bytes).
async fn file_part(mut form: Multipart) -> Result<(String, Vec<u8>), ResidentError> {
    while let Some(field) = form.next_field().await.map_err(|_| ResidentError::invalid("file"))? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|_| ResidentError::invalid("file"))?;
            return Ok((name, bytes.to_vec()));
        }
    }
    Err(ResidentError::invalid("file"))
}

/// `POST /documents/{transactionId}?docCatCode&docTypCode&langCode&referenceId`, multipart with the
/// file in part `file`: a proof document for the update of that transaction.
pub(crate) async fn upload_document(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(txn): Path<String>,
    Query(q): Query<UploadQuery>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::IdentityData)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let form = form.map_err(|_| ResidentError::invalid("file"))?;
        let (name, content) = file_part(form).await?;
        let ask = UploadAsk {
            transaction_id: &txn,
            category: q.category.as_deref().unwrap_or_default(),
            doc_type: q.doc_type.as_deref().unwrap_or_default(),
            language: q.lang.as_deref().unwrap_or_default(),
            reference: q.reference.as_deref(),
            file_name: &name,
            content,
        };
        uploads_of(&state, &r).upload(&r.who, &r.id, ask).await
    }
    .await;
    match result {
        Ok(u) => reply(Some(UPLOAD_ID), VERSION, r.now, upload_json(&u), Errors::Empty),
        Err(e) => refusal(UPLOAD_ID, VERSION, r.now, &e),
    }
}

/// `GET /documents/{transactionId}`: what the resident uploaded for that update (names and types,
/// not the files).
pub(crate) async fn list_documents(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(txn): Path<String>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::IdentityData)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let txn = transaction_id(&txn)?;
        let found = state.uploads.uploads(&r.who.token, &txn).await?;
        if found.is_empty() {
            return Err(ResidentError::NoDocuments);
        }
        Ok(found.iter().map(upload_json).collect::<Vec<_>>())
    }
    .await;
    match result {
        Ok(list) => reply(Some(LIST_ID), VERSION, r.now, Value::Array(list), Errors::Empty),
        Err(e) => refusal(LIST_ID, VERSION, r.now, &e),
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct DeleteQuery {
    #[serde(rename = "transactionId")]
    transaction_id: Option<String>,
}

/// `DELETE /documents/{docId}?transactionId=`: one of the resident's uploads.
pub(crate) async fn delete_document(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(doc): Path<String>,
    Query(q): Query<DeleteQuery>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::IdentityData)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let txn = q.transaction_id.unwrap_or_default();
    match uploads_of(&state, &r).delete(&r.who, &r.id, &txn, &doc).await {
        Ok(()) => reply(
            Some(DELETE_ID),
            VERSION,
            r.now,
            json!({"status": "SUCCESS", "message": "Document deleted successfully"}),
            Errors::Empty,
        ),
        Err(e) => refusal(DELETE_ID, VERSION, r.now, &e),
    }
}

/// `PATCH /update-uin` `{transactionID, consent, identity}`: the changed fields as the app writes
/// them, proved by the documents uploaded under `transactionID`; the same update as every other
/// front door's (a packet, its RID, the pipeline). The uploads go with it.
pub(crate) async fn update_uin(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (r, request) = match resident_request(&state, &headers, Some(Scope::IdentityData), body, UPDATE_ID).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let request = &request;
    let result = async {
        let identity =
            request.get("identity").and_then(Value::as_object).ok_or_else(|| ResidentError::invalid("identity"))?;
        let trn = match request.get("transactionID") {
            None | Some(Value::Null) => None,
            Some(v) => Some(transaction_id(v.as_str().unwrap_or_default())?),
        };
        let ask = AppUpdate {
            transaction_id: trn.as_deref(),
            consent: text(request, "consent").is_some_and(|c| c.eq_ignore_ascii_case("Accepted")),
            identity,
        };
        let ctx = crate::api::auth::context(&state, &r.audit, r.now);
        let event_trn = trn.clone().unwrap_or_else(super::secure::transaction_id);
        update_from_app(&ctx, &state.update_services(), &r.who, &r.id, &event_trn, ask).await
    }
    .await;
    match result {
        Ok(done) => with_event(
            reply(Some(UPDATE_ID), VERSION, r.now, json!({"status": "Success", "message": done.message}), Errors::Null),
            done.event_id.as_str(),
        ),
        Err(e) => refusal(UPDATE_ID, VERSION, r.now, &e),
    }
}
