//! Updating one's details: the form, its draft, checking the answers, confirming, and the acknowledgement (PDF).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use resident_domain::ResidentError;
use resident_domain::ports::Resolved;
use serde::Deserialize;

use super::{
    CsrfForm, FieldError, LangQuery, RidQuery, acting, ctx, failure, forbidden, pdf_response, render, resident,
    to_login, transaction_id,
};
use crate::AppState;
use crate::portal::{Lang, Page, Visit};

struct FieldView {
    id: String,
    name: String,
    label: String,
    value: String,
    lang: Option<String>,
}

struct DocumentView {
    field: String,
    label: String,
    types: Vec<String>,
}

#[derive(Template)]
#[template(path = "portal/update.html")]
struct UpdatePage<'a> {
    p: &'a Page,
    /// What a proof may be, with the configured size limit.
    proof_hint: String,
    fields: Vec<FieldView>,
    documents: Vec<DocumentView>,
    error: Option<FieldError>,
}

/// The languages the resident's details are kept in (those of their name), in deployment order.
fn identity_languages(state: &AppState, who: &Resolved) -> Vec<String> {
    state.schema.languages().all().filter(|l| who.identity.localized_exact("fullName", l).is_some()).cloned().collect()
}

/// The form, generated from the ID schema: every updatable field (language-tagged ones once per
/// language the resident has), and a document input for each proof a change can need.
fn update_form<'a>(state: &AppState, p: &'a Page, who: &Resolved, error: Option<FieldError>) -> UpdatePage<'a> {
    use resident_domain::identity::FieldType;
    let langs = identity_languages(state, who);
    let mut fields = Vec::new();
    let mut proofs: Vec<String> = Vec::new();
    for spec in state.schema.fields().filter(|f| f.updatable) {
        match spec.field_type {
            FieldType::Simple => {
                for l in &langs {
                    let lang_name = Lang::ALL.iter().find(|x| x.mosip() == l).map(|x| x.html()).unwrap_or("en");
                    fields.push(FieldView {
                        id: format!("f-{}-{l}", spec.name),
                        name: format!("f.{}.{l}", spec.name),
                        label: format!(
                            "{} {}",
                            p.t(&format!("field-{}", spec.name)),
                            p.ta("in-language", &[("lang", l.clone())])
                        ),
                        value: who.identity.localized_exact(&spec.name, l).unwrap_or_default().to_owned(),
                        lang: Some(lang_name.to_owned()),
                    });
                }
            }
            FieldType::Text => fields.push(FieldView {
                id: format!("f-{}", spec.name),
                name: format!("f.{}", spec.name),
                label: p.t(&format!("field-{}", spec.name)),
                value: who.identity.text(&spec.name).unwrap_or_default().to_owned(),
                lang: None,
            }),
            _ => {}
        }
        if let Some(proof) = &spec.proof
            && !proofs.contains(proof)
        {
            proofs.push(proof.clone());
        }
    }
    let documents = proofs
        .into_iter()
        .filter_map(|f| {
            let spec = state.schema.field(&f)?;
            Some(DocumentView { label: p.t(&format!("field-{f}")), types: spec.document_types.clone(), field: f })
        })
        .collect();
    UpdatePage { p, proof_hint: p.ta("update-proof-hint", &[("size", size_limit(state, p))]), fields, documents, error }
}

pub(crate) async fn update(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let p = visit.page(&state);
    render(&visit, StatusCode::OK, &update_form(&state, &p, &who, None))
}

/// What the "check your answers" step keeps: the request exactly as the API would receive it.
#[derive(serde::Serialize, Deserialize)]
struct Draft {
    identity_json: String,
    documents: Vec<(String, String)>,
}

/// The configured largest document, as the language writes sizes (2 MB, 2 Mo, ٢ ميغابايت).
fn size_limit(state: &AppState, p: &Page) -> String {
    let bytes = i64::try_from(state.update_policy.max_document_bytes).unwrap_or(i64::MAX);
    if bytes % 1_000_000 == 0 {
        p.tc("size-mb", &[], &[("n", bytes / 1_000_000)])
    } else {
        p.tc("size-kb", &[], &[("n", bytes / 1000)])
    }
}

fn too_large(state: &AppState, p: &Page) -> String {
    p.ta("update-too-large", &[("size", size_limit(state, p))])
}

fn update_message(state: &AppState, p: &Page, e: &ResidentError) -> String {
    match e {
        ResidentError::DocumentNotFound => p.t("update-proof-missing"),
        ResidentError::DocumentTooLarge => too_large(state, p),
        ResidentError::UnsupportedFileType => p.t("update-file-type"),
        ResidentError::UpdatePending => p.t("update-pending"),
        ResidentError::UpdateCountExceeded(_) => p.t("update-limit"),
        ResidentError::InvalidInput(f) if f.contains("nothing to change") => p.t("update-nothing"),
        other => p.ta("update-error", &[("detail", other.message())]),
    }
}

pub(crate) async fn update_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut multipart: axum::extract::Multipart,
) -> Response {
    use base64::Engine as _;
    use serde_json::{Map, Value, json};
    let visit = Visit::new(&state, &headers, None).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let p = visit.page(&state);
    let mut csrf = None;
    let mut values: Vec<(String, String)> = Vec::new();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut doc_types: Vec<(String, String)> = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return forbidden(&state, &visit),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(doc) = name.strip_prefix("file.") {
            let doc = doc.to_owned();
            match field.bytes().await {
                Ok(b) if !b.is_empty() => files.push((doc, b.to_vec())),
                Ok(_) => {}
                Err(_) => {
                    let e = FieldError { field: "update-continue", message: too_large(&state, &p) };
                    return render(&visit, StatusCode::BAD_REQUEST, &update_form(&state, &p, &who, Some(e)));
                }
            }
        } else {
            let text = field.text().await.unwrap_or_default();
            if name == "csrf" {
                csrf = Some(text);
            } else if let Some(doc) = name.strip_prefix("doctype.") {
                doc_types.push((doc.to_owned(), text));
            } else if let Some(f) = name.strip_prefix("f.") {
                values.push((f.to_owned(), text));
            }
        }
    }
    if !visit.csrf_ok(csrf.as_deref()) {
        return forbidden(&state, &visit);
    }
    // the changed fields only, in the identity's shape
    let mut identity = Map::new();
    for (key, value) in &values {
        let value = value.trim();
        match key.split_once('.') {
            Some((field, lang)) => {
                if who.identity.localized_exact(field, lang).unwrap_or_default() == value {
                    continue;
                }
                // a language-tagged field is replaced as a whole: every language the form showed
                let items: Vec<Value> = values
                    .iter()
                    .filter_map(|(k, v)| k.split_once('.').filter(|(f, _)| *f == field).map(|(_, l)| (l, v.trim())))
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(l, v)| json!({"language": l, "value": v}))
                    .collect();
                identity.insert(field.to_owned(), Value::Array(items));
            }
            None => {
                if who.identity.text(key).unwrap_or_default() != value && !value.is_empty() {
                    identity.insert(key.clone(), Value::String(value.to_owned()));
                }
            }
        }
    }
    let mut documents = Vec::new();
    for (field, bytes) in &files {
        let doc_type = doc_types.iter().find(|(f, _)| f == field).map(|(_, t)| t.clone()).unwrap_or_default();
        let format = resident_domain::update::DocumentFormat::sniff(bytes).map(|f| f.extension()).unwrap_or("pdf");
        identity.insert(field.clone(), json!({"value": field, "type": doc_type, "format": format}));
        documents.push((field.clone(), base64::engine::general_purpose::STANDARD.encode(bytes)));
    }
    let draft = Draft {
        identity_json: base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({ "identity": identity }).to_string()),
        documents,
    };
    // the same checks the API makes, before anything is kept
    let checked = resident_domain::update::decode_update(
        &state.schema,
        &state.update_policy,
        &draft.identity_json,
        &draft.documents,
        visit.now,
    )
    .and_then(|d| {
        let counts = std::collections::BTreeMap::new();
        resident_domain::update::plan_update(
            &state.schema,
            &state.update_policy,
            d,
            &who.identity,
            &who.uin,
            &counts,
            visit.now,
        )
    });
    if let Err(e) = checked {
        let err = FieldError { field: "update-continue", message: update_message(&state, &p, &e) };
        return render(&visit, StatusCode::BAD_REQUEST, &update_form(&state, &p, &who, Some(err)));
    }
    let Some(session) = &visit.session else { return to_login(&visit) };
    let bytes = match serde_json::to_vec(&draft) {
        Ok(b) => b,
        Err(e) => return failure(&state, &visit, &ResidentError::Internal(e.to_string())),
    };
    if let Err(e) = state.drafts.save_draft(&session.id_hash, &bytes, visit.now).await {
        return failure(&state, &visit, &e.into());
    }
    visit.finish(Redirect::to("/account/update/check").into_response())
}

struct ChangeView {
    label: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "portal/update_check.html")]
struct CheckPage<'a> {
    p: &'a Page,
    changes: Vec<ChangeView>,
}

async fn current_draft(state: &AppState, visit: &Visit) -> Option<Draft> {
    let session = visit.session.as_ref()?;
    let bytes = state.drafts.draft(&session.id_hash).await.ok()??;
    serde_json::from_slice(&bytes).ok()
}

fn shown(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "–".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(items)) => {
            items.iter().filter_map(|i| i.get("value").and_then(|v| v.as_str())).collect::<Vec<_>>().join(" / ")
        }
        Some(other) => other.get("type").and_then(|t| t.as_str()).unwrap_or_default().to_owned(),
    }
}

pub(crate) async fn update_check(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    use base64::Engine as _;
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let p = visit.page(&state);
    let Some(draft) = current_draft(&state, &visit).await else {
        let e = FieldError { field: "update-continue", message: p.t("update-no-draft") };
        return render(&visit, StatusCode::OK, &update_form(&state, &p, &who, Some(e)));
    };
    let doc: serde_json::Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&draft.identity_json)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let changes = doc
        .get("identity")
        .and_then(|i| i.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| ChangeView {
                    label: p.t(&format!("field-{k}")),
                    before: if v.is_object() { "–".into() } else { shown(who.identity.0.get(k)) },
                    after: shown(Some(v)),
                })
                .collect()
        })
        .unwrap_or_default();
    render(&visit, StatusCode::OK, &CheckPage { p: &p, changes })
}

#[derive(Template)]
#[template(path = "portal/update_done.html")]
struct DonePage<'a> {
    p: &'a Page,
    rid: String,
    body: String,
    follow: String,
}

pub(crate) async fn update_confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let p = visit.page(&state);
    let Some(draft) = current_draft(&state, &visit).await else {
        let e = FieldError { field: "update-continue", message: p.t("update-no-draft") };
        return render(&visit, StatusCode::BAD_REQUEST, &update_form(&state, &p, &who, Some(e)));
    };
    let decoded = resident_domain::update::decode_update(
        &state.schema,
        &state.update_policy,
        &draft.identity_json,
        &draft.documents,
        visit.now,
    );
    let svc = state.update_services();
    let done = match decoded {
        Ok(d) => {
            resident_domain::update::request_update(&ctx(&state, &visit), &svc, &who, &id, &transaction_id(), d).await
        }
        Err(e) => Err(e),
    };
    if let Some(s) = &visit.session {
        let _ = state.drafts.drop_draft(&s.id_hash).await;
    }
    match done {
        Ok(done) => {
            let rid = done.value.as_str().to_owned();
            let t = DonePage {
                body: p.ta("update-done-body", &[("rid", rid.clone())]),
                follow: p.ta("history-follow", &[("rid", rid.clone())]),
                rid,
                p: &p,
            };
            render(&visit, StatusCode::OK, &t)
        }
        Err(e @ (ResidentError::Internal(_) | ResidentError::Unavailable(_) | ResidentError::PacketCreation(_))) => {
            failure(&state, &visit, &e)
        }
        Err(e) => {
            let err = FieldError { field: "update-continue", message: update_message(&state, &p, &e) };
            render(&visit, StatusCode::BAD_REQUEST, &update_form(&state, &p, &who, Some(err)))
        }
    }
}

pub(crate) async fn update_acknowledgement(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RidQuery>,
) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let Some(rid) = q.rid.as_deref().and_then(|r| resident_domain::ids::Rid::parse(r.trim()).ok()) else {
        return forbidden(&state, &visit);
    };
    let record = match state.updates.find_update(&rid).await {
        Ok(Some(r)) if r.token == who.token => r,
        Ok(_) => return forbidden(&state, &visit),
        Err(e) => return failure(&state, &visit, &e.into()),
    };
    let p = visit.page(&state);
    let status =
        match state.registrations.find_registration(&rid).await {
            Ok(Some(reg)) => {
                let shown = resident_domain::registration::resident_status(
                    resident_domain::registration::external_status(&reg, visit.now, &state.status_policy),
                );
                let key = match shown {
                    "UNDER PROCESSING" => "status-UNDER_PROCESSING".to_owned(),
                    "WAITING FOR ADDITIONAL INFORMATION FROM APPLICANT" => "status-WAITING".to_owned(),
                    other => format!("status-{other}"),
                };
                p.t(&key)
            }
            _ => String::new(),
        };
    let doc = resident_domain::card::PlainDocument {
        title: p.t("ack-title"),
        language: p.lang.mosip().into(),
        lines: vec![
            (p.t("ack-rid"), rid.as_str().to_owned()),
            (p.t("history-event"), record.event_id.to_string()),
            (p.t("ack-date"), p.date(record.created_at, true)),
            (
                p.t("ack-fields"),
                record.fields.iter().map(|f| p.t(&format!("field-{f}"))).collect::<Vec<_>>().join(", "),
            ),
            (p.t("ack-status"), status),
        ],
        headers: vec![],
        rows: vec![],
        footer: p.t("ack-footer"),
    };
    match state.cards.document(&doc) {
        Ok(pdf) => pdf_response(&visit, pdf, &format!("acknowledgement-{}.pdf", rid.as_str())),
        Err(e) => failure(&state, &visit, &ResidentError::Internal(e)),
    }
}
