//! An update from MOSIP's portal app (`PATCH /update-uin`): the changed fields as plain JSON,
//! written as the app shows them, proved by the documents the resident uploaded under the update's
//! transaction id. It becomes the same `DraftUpdate`, packet and pipeline as every other front
//! door's.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::uploads::Upload;
use super::{DraftUpdate, ProofDocument, UpdateServices, check_fields, request_update};
use crate::auth_usecases::{AuthContext, Done};
use crate::error::ResidentError;
use crate::identity::{FieldType, IdentitySchema};
use crate::ids::{IndividualId, Rid};
use crate::masterdata::Masterdata;
use crate::ports::Resolved;

/// The proofs the app's tabs upload (its identity tab: a proof of identity; its address tab: a proof
/// of address): a field proved by another document cannot be changed from the app.
const APP_PROOFS: [&str; 2] = ["proofOfIdentity", "proofOfAddress"];

/// The app's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AppTab {
    Identity,
    Address,
    Contact,
    NotificationLanguage,
}

impl AppTab {
    /// The app's `tabgroup`.
    pub fn code(self) -> &'static str {
        match self {
            AppTab::Identity => "identity",
            AppTab::Address => "address",
            AppTab::Contact => "contact",
            AppTab::NotificationLanguage => "notificationLanguage",
        }
    }
}

/// How the app lets the resident enter a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppControl {
    Textbox,
    Calendar,
    Dropdown,
    FileUpload,
}

impl AppControl {
    /// The app's `controlType`.
    pub fn code(self) -> &'static str {
        match self {
            AppControl::Textbox => "textbox",
            AppControl::Calendar => "calendar",
            AppControl::Dropdown => "dropdown",
            AppControl::FileUpload => "fileupload",
        }
    }
}

/// A field the app offers to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppField {
    pub name: String,
    pub tab: AppTab,
    pub control: AppControl,
}

/// Where the app changes a field and how, if it can: contacts on their tab (an OTP to the new
/// value), the preferred language on its own, a field proved by an address on the address tab, the
/// rest on the identity tab; values masterdata lists (address levels, dynamic fields) in dropdowns.
fn placement(schema: &IdentitySchema, masterdata: &Masterdata, name: &str) -> Option<(AppTab, AppControl)> {
    let spec = schema.field(name)?;
    match (name, spec.field_type) {
        ("email" | "phone", _) => Some((AppTab::Contact, AppControl::Textbox)),
        ("preferredLang", _) => Some((AppTab::NotificationLanguage, AppControl::Dropdown)),
        ("dateOfBirth", _) => Some((AppTab::Identity, AppControl::Calendar)),
        ("proofOfIdentity", FieldType::Document) => Some((AppTab::Identity, AppControl::FileUpload)),
        ("proofOfAddress", FieldType::Document) => Some((AppTab::Address, AppControl::FileUpload)),
        (_, FieldType::Document) => None,
        _ => {
            let tab = if spec.proof.as_deref() == Some("proofOfAddress") { AppTab::Address } else { AppTab::Identity };
            let listed = masterdata.level_of_field(name).is_some() || masterdata.dynamic_field(name).is_some();
            Some((tab, if listed { AppControl::Dropdown } else { AppControl::Textbox }))
        }
    }
}

/// What the app may offer: the updatable fields it can prove (or that need no proof), in its tabs'
/// order; within a tab the texts, then the address levels top down, then the proof.
pub fn app_fields(schema: &IdentitySchema, masterdata: &Masterdata) -> Vec<AppField> {
    const FIRST: [&str; 8] =
        ["fullName", "dateOfBirth", "gender", "addressLine1", "addressLine2", "addressLine3", "email", "phone"];
    let mut out: Vec<AppField> = schema
        .fields()
        .filter(|f| f.updatable && f.proof.as_deref().is_none_or(|p| APP_PROOFS.contains(&p)))
        .filter_map(|f| {
            placement(schema, masterdata, &f.name).map(|(tab, control)| AppField { name: f.name.clone(), tab, control })
        })
        .collect();
    out.sort_by_key(|f| {
        let level = masterdata.level_of_field(&f.name).map_or(0, |h| h.level);
        let kind = match f.control {
            AppControl::FileUpload => 3,
            AppControl::Dropdown if level > 0 => 2,
            _ => 1,
        };
        (f.tab, kind, level, FIRST.iter().position(|n| *n == f.name).unwrap_or(FIRST.len()), f.name.clone())
    });
    out
}

/// What the app sends.
pub struct AppUpdate<'a> {
    /// The tab's upload transaction (none for the language tab).
    pub transaction_id: Option<&'a str>,
    pub consent: bool,
    pub identity: &'a Map<String, Value>,
}

/// The update: consent (`RES-SER-461`), the uploads of its transaction (none: `RES-SER-461`), the
/// draft, then `request_update`. The uploads it took are deleted (what a failed deletion leaves,
/// housekeeping removes within a day).
pub async fn update_from_app(
    ctx: &AuthContext<'_>,
    svc: &UpdateServices<'_>,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    ask: AppUpdate<'_>,
) -> Result<Done<Rid>, ResidentError> {
    if !ask.consent {
        return Err(ResidentError::ConsentRequired);
    }
    let uploads = match ask.transaction_id {
        Some(t) => {
            let found = svc.uploads.uploads(&who.token, t).await?;
            if found.is_empty() {
                return Err(ResidentError::NoDocuments);
            }
            found
        }
        None => vec![],
    };
    let draft = draft_from_portal(svc.schema, svc.masterdata, ask.identity, &uploads, ctx.now)?;
    let done = request_update(ctx, svc, who, id, trn, draft).await?;
    if let Some(t) = ask.transaction_id {
        // the packet holds them now
        let _ = svc.uploads.drop_uploads(&who.token, t).await;
    }
    Ok(done)
}

/// The app adds an entry each time the resident leaves a field: the last one per language is what
/// they meant.
fn last_per_language(items: &[Value]) -> Option<Vec<Value>> {
    let mut kept: Vec<Value> = Vec::new();
    for item in items {
        let lang = item.get("language").and_then(Value::as_str)?;
        match kept.iter_mut().find(|k| k.get("language").and_then(Value::as_str) == Some(lang)) {
            Some(k) => *k = item.clone(),
            None => kept.push(item.clone()),
        }
    }
    Some(kept)
}

fn names_of(items: &[Value]) -> Option<Vec<(&str, &str)>> {
    items
        .iter()
        .map(|i| Some((i.get("language").and_then(Value::as_str)?, i.get("value").and_then(Value::as_str)?)))
        .collect()
}

/// The app's values as this registry keeps them. A preferred language comes by its name ("French")
/// and becomes its code. A gender is a value masterdata has, in each language. The address levels
/// come by their names in each language (the postal code by its code): each level must name one
/// location, the same in every language, under the level above when the change names that too. The
/// proofs come only from the uploads (the newest of each); the app never writes a document entry,
/// a UIN, or nothing at all.
pub fn draft_from_portal(
    schema: &IdentitySchema,
    masterdata: &Masterdata,
    identity: &Map<String, Value>,
    uploads: &[Upload],
    now: OffsetDateTime,
) -> Result<DraftUpdate, ResidentError> {
    let bad = |name: &str| ResidentError::invalid(&format!("identity/{name}"));
    let mut fields = Map::new();
    for (name, value) in identity {
        if matches!(name.as_str(), "UIN" | "IDSchemaVersion")
            || schema.field(name).is_some_and(|s| s.field_type == FieldType::Document)
        {
            return Err(ResidentError::UnsupportedInput(format!("identity/{name}")));
        }
        let value = match (name.as_str(), value) {
            ("preferredLang", Value::String(v)) => {
                let codes: Option<Vec<&str>> =
                    v.split(',').map(|l| masterdata.dynamic_code("preferredLang", l)).collect();
                Value::String(codes.ok_or_else(|| bad(name))?.join(","))
            }
            (_, Value::Array(items)) => Value::Array(last_per_language(items).ok_or_else(|| bad(name))?),
            _ => value.clone(),
        };
        if let (Some(values), Value::Array(items)) = (masterdata.dynamic_field(name), &value) {
            let known = names_of(items)
                .ok_or_else(|| bad(name))?
                .iter()
                .all(|(lang, text)| values.iter().any(|d| d.value.get(*lang).is_some_and(|n| n == text)));
            if !known {
                return Err(bad(name));
            }
        }
        fields.insert(name.clone(), value);
    }
    if fields.is_empty() {
        return Err(ResidentError::invalid("identity"));
    }
    // the address levels, top down: each one location, under the one above when that is named too
    let mut levels: Vec<(u8, &str)> =
        fields.keys().filter_map(|f| masterdata.level_of_field(f).map(|h| (h.level, f.as_str()))).collect();
    levels.sort();
    let mut chosen: Vec<(u8, String)> = Vec::new();
    for (level, name) in levels {
        let parent = chosen.iter().find(|(l, _)| *l + 1 == level).map(|(_, c)| c.as_str());
        let found = match &fields[name] {
            Value::Array(items) => {
                masterdata.location_by_names(level, parent, &names_of(items).ok_or_else(|| bad(name))?)
            }
            Value::String(code) => masterdata
                .location(code)
                .filter(|l| l.level == level && parent.is_none_or(|p| l.parent.as_deref() == Some(p))),
            _ => None,
        };
        chosen.push((level, found.ok_or_else(|| bad(name))?.code.clone()));
    }
    let mut proofs: Vec<ProofDocument> = Vec::new();
    for u in uploads.iter().rev() {
        if proofs.iter().any(|p| p.field == u.field) {
            continue;
        }
        let mut entry = serde_json::json!({"value": u.field, "type": u.doc_type, "format": u.format.extension()});
        if let Some(r) = &u.reference {
            entry["refNumber"] = Value::String(r.clone());
        }
        fields.insert(u.field.clone(), entry);
        proofs.push(u.proof());
    }
    let (fields, uin) = check_fields(schema, &fields, now)?;
    Ok(DraftUpdate { identity: fields, uin, documents: proofs, change_required: true })
}
