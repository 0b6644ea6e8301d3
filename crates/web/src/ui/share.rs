//! Share my data and the personalised card: what the app may offer (its UI schema, drawn from our
//! identity schema), the resident's values for it, MOSIP's identity mapping, and sharing with a
//! partner.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::card::{PERSONALIZABLE, download_personalized_card};
use resident_domain::credential::{ShareAsk, mapped_fields, share_with_partner};
use serde_json::{Map, Value, json};

use super::secure::transaction_id;
use super::{Errors, Scope, refusal, reply, resident, with_event};
use crate::AppState;
use crate::envelope::{self, text};
use crate::portal::translate;

const INFO_ID: &str = "mosip.resident.identity.info";
const SHARE_ID: &str = "mosip.resident.share.credential";
const CARD_ID: &str = "mosip.resident.download.personalized.card";
const VERSION: &str = "1.0";
/// The schemas the app asks for that are about sharing and printing (`update-demographics` is
/// `super::update`'s).
const SCHEMA_TYPES: [&str; 2] = ["share-credential", "personalized-card"];
/// What the app offers, in this order, when the identity schema has it.
const OFFERED: [&str; 7] = ["fullName", "dateOfBirth", "gender", "UIN", "phone", "email", "fullAddress"];
const DATE_FORMATS: [&str; 2] = ["YYYY/MM/DD", "DD/MM/YYYY"];
/// How the card writes a date of birth.
const CARD_DATE_FORMAT: &str = "DD/MM/YYYY";

fn languages(state: &AppState) -> Vec<String> {
    state.schema.languages().all().cloned().collect()
}

fn label(lang: &str, attribute: &str) -> String {
    match attribute {
        "UIN" | "dateOfBirth" | "fullAddress" | "photo" => translate(lang, &format!("attr-{attribute}")),
        other => translate(lang, &format!("field-{other}")),
    }
}

/// What the identity schema has of `OFFERED` (for a card: of what a card can show); `fullAddress`
/// stands for the address fields it has.
fn offered(state: &AppState, kind: &str) -> Vec<&'static str> {
    OFFERED
        .into_iter()
        .filter(|a| kind != "personalized-card" || PERSONALIZABLE.contains(a))
        .filter(|a| match *a {
            "UIN" => true,
            "fullAddress" => address_fields(state).next().is_some(),
            other => state.schema.field(other).is_some(),
        })
        .collect()
}

fn address_fields(state: &AppState) -> impl Iterator<Item = &'static str> + '_ {
    mapped_fields("fullAddress").into_iter().filter(|f| state.schema.field(f).is_some())
}

fn per_language(state: &AppState, f: impl Fn(&str) -> Value) -> Value {
    Value::Object(languages(state).iter().map(|l| (l.clone(), f(l))).collect())
}

/// One attribute as the app's UI schema describes it. Nothing is offered masked: the app would
/// mask in its own preview, and neither a share nor a card request says what to mask. A card offers
/// no formats either (the card has one layout); a share offers the address lines to send.
fn schema_entry(state: &AppState, kind: &str, attribute: &str) -> Value {
    let mut e = Map::new();
    e.insert("attributeName".into(), json!(attribute));
    e.insert("label".into(), per_language(state, |l| json!(label(l, attribute))));
    e.insert("checked".into(), json!(false));
    e.insert("displaykeyinsharewithpartner".into(), json!(true));
    e.insert("displaykeyinpersonalisedcard".into(), json!(attribute != "UIN"));
    e.insert("maskRequired".into(), json!(false));
    if kind == "personalized-card" {
        e.insert("formatRequired".into(), json!(false));
        if attribute == "dateOfBirth" {
            e.insert("defaultFormat".into(), json!(CARD_DATE_FORMAT));
        }
        return Value::Object(e);
    }
    let (format_label, default, options): (&str, String, Vec<(String, &str, bool)>) = match attribute {
        "fullName" => ("attr-format-name", "fullName".into(), vec![("fullName".into(), "fullName", true)]),
        "dateOfBirth" => (
            "attr-format-date",
            DATE_FORMATS[0].into(),
            DATE_FORMATS.iter().enumerate().map(|(i, f)| ((*f).to_owned(), *f, i == 0)).collect(),
        ),
        "fullAddress" => {
            let fields: Vec<&str> = address_fields(state).collect();
            let mut options: Vec<(String, &str, bool)> = fields.iter().map(|f| ((*f).to_owned(), *f, true)).collect();
            options.push(("fullAddress".into(), "fullAddress", true));
            ("attr-format-address", fields.join(","), options)
        }
        _ => {
            e.insert("formatRequired".into(), json!(false));
            return Value::Object(e);
        }
    };
    e.insert("formatRequired".into(), json!(true));
    e.insert("defaultFormat".into(), json!(default));
    e.insert("formatOptionLabel".into(), per_language(state, |l| json!(translate(l, format_label))));
    e.insert(
        "formatOption".into(),
        per_language(state, |l| {
            let shown = |value: &str, field: &str| {
                if attribute == "dateOfBirth" { value.to_owned() } else { label(l, field) }
            };
            Value::Array(
                options
                    .iter()
                    .map(|(value, field, checked)| json!({"label": shown(value, field), "value": value, "checked": checked}))
                    .collect(),
            )
        }),
    );
    Value::Object(e)
}

/// `GET /auth-proxy/config/ui-schema/{schemaType}`: the attributes the app may offer, without an
/// envelope (as MOSIP serves its file).
pub(crate) async fn ui_schema(State(state): State<AppState>, headers: HeaderMap, Path(kind): Path<String>) -> Response {
    let r = match resident(&state, &headers, None).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    if kind == super::update::SCHEMA_TYPE {
        return super::update::ui_schema(&state);
    }
    if !SCHEMA_TYPES.contains(&kind.as_str()) {
        return refusal(INFO_ID, VERSION, r.now, &ResidentError::invalid("schemaType"));
    }
    let identity: Vec<Value> = offered(&state, &kind).into_iter().map(|a| schema_entry(&state, &kind, a)).collect();
    axum::Json(json!({"identity": identity})).into_response()
}

/// `GET /auth-proxy/config/identity-mapping`: MOSIP's names for groups of identity fields.
pub(crate) async fn identity_mapping(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(answer) = resident(&state, &headers, None).await {
        return answer;
    }
    let mut identity = Map::new();
    for name in ["name", "dob", "fullAddress", "phone", "email", "gender"] {
        let fields: Vec<&str> = match name {
            "gender" => vec!["gender"],
            "fullAddress" => address_fields(&state).collect(),
            other => mapped_fields(other),
        };
        identity.insert(name.into(), json!({"value": fields.join(",")}));
    }
    let limits = super::update::update_count_limits(&state);
    axum::Json(json!({"identity": identity, "attributeUpdateCountLimit": limits})).into_response()
}

/// `GET /identity/info/type/{schemaType}`: the resident's own values of what the schema offers,
/// with the masked forms the app shows when asked to.
pub(crate) async fn identity_info(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(kind): Path<String>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::IdentityData)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    if kind == super::update::SCHEMA_TYPE {
        return super::update::identity_info(&state, &r);
    }
    if !SCHEMA_TYPES.contains(&kind.as_str()) {
        return refusal(INFO_ID, VERSION, r.now, &ResidentError::invalid("schemaType"));
    }
    let mut out = Map::new();
    for attribute in offered(&state, &kind) {
        if attribute == "fullAddress" && kind == "personalized-card" {
            // the card's one address line per language, as the preview shows it
            let lines: Vec<Value> = languages(&state)
                .iter()
                .filter_map(|l| {
                    let parts: Vec<&str> =
                        address_fields(&state).filter_map(|f| r.who.identity.localized_exact(f, l)).collect();
                    (!parts.is_empty()).then(|| json!({"language": l, "value": parts.join(", ")}))
                })
                .collect();
            out.insert("fullAddress".into(), Value::Array(lines));
            continue;
        }
        let fields: Vec<&str> =
            if attribute == "fullAddress" { address_fields(&state).collect() } else { vec![attribute] };
        for f in fields {
            let value = match f {
                "UIN" => Some(json!(r.who.uin.expose())),
                other => r.who.identity.0.get(other).filter(|v| !v.is_null()).cloned(),
            };
            if let Some(v) = value {
                out.insert(f.to_owned(), v);
            }
        }
    }
    reply(Some(INFO_ID), VERSION, r.now, Value::Object(out), Errors::Null)
}

/// `POST /share-credential` `{partnerId, purpose, consent, sharableAttributes: [{attributeName, format}]}`.
/// Only the attribute names and their formats (the address lines kept) are read: what the partner
/// receives comes from the identity, never from the values the app sends along.
pub(crate) async fn share(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::Credentials)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let body = envelope::json_body(body)?;
        let request = envelope::validate_resident(&body, SHARE_ID, VERSION)?;
        let items = request.get("sharableAttributes").and_then(Value::as_array).cloned().unwrap_or_default();
        let attributes = items
            .iter()
            .filter_map(|i| {
                let name = i.get("attributeName").and_then(Value::as_str)?;
                Some((name.to_owned(), i.get("format").and_then(Value::as_str).map(str::to_owned)))
            })
            .collect();
        let ask = ShareAsk {
            partner_id: text(request, "partnerId").unwrap_or_default(),
            attributes,
            purpose: text(request, "purpose").unwrap_or_default(),
            consent: text(request, "consent").is_some_and(|c| c.eq_ignore_ascii_case("Accepted")),
        };
        let ctx = crate::api::auth::context(&state, &r.audit, r.now);
        share_with_partner(&ctx, state.credentials.as_ref(), &r.who, &r.id, &transaction_id(), ask).await
    }
    .await;
    match result {
        Ok(done) => with_event(
            reply(Some(SHARE_ID), VERSION, r.now, json!({"status": "Success"}), Errors::Null),
            done.event_id.as_str(),
        ),
        Err(e) => refusal(SHARE_ID, VERSION, r.now, &e),
    }
}

/// `POST /download/personalized-card` `{html, attributes}`: the resident's card showing only the
/// attributes named, drawn by our card crate. The HTML the app sends is not used: the server draws
/// nothing a browser wrote.
pub(crate) async fn personalized_card(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let r = match resident(&state, &headers, Some(Scope::Credentials)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let result = async {
        let body = envelope::json_body(body)?;
        let request = envelope::validate_resident(&body, CARD_ID, VERSION)?;
        let attributes: Vec<String> = request
            .get("attributes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let ctx = crate::api::auth::context(&state, &r.audit, r.now);
        let first = state.schema.languages().first();
        let cards = state.cards.as_ref();
        download_personalized_card(&ctx, cards, first, &r.who, &r.id, &transaction_id(), &attributes).await
    }
    .await;
    match result {
        Ok(done) => {
            let name = format!("Personalized_card_{}_{}.pdf", done.event_id, super::file_stamp(&headers, r.now));
            with_event(super::pdf(done.value.pdf, &name), done.event_id.as_str())
        }
        Err(e) => refusal(CARD_ID, VERSION, r.now, &e),
    }
}
