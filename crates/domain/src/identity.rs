//! Identities in MOSIP identity JSON (`{"identity": {...}}`, language-tagged values) and the ID schema
//! they are validated against. The schema is data (`data/identity-schema.json`, or a file named in the
//! configuration); this module interprets the part of JSON Schema that MOSIP's identity schema uses.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{Map, Value};
use time::{Date, Month, OffsetDateTime};

use crate::error::ResidentError;
use crate::ids::Uin;

pub const DEFAULT_SCHEMA: &str = include_str!("../data/identity-schema.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `[{"language": "eng", "value": "..."}]`
    Simple,
    Text,
    Number,
    Document,
    Biometrics,
}

#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub field_type: FieldType,
    pub category: String,
    pub updatable: bool,
    /// The document field that proves a change of this field (e.g. `proofOfAddress`).
    pub proof: Option<String>,
    /// For a document field: the document type codes it accepts (masterdata's valid documents).
    pub document_types: Vec<String>,
    /// For a document field: its masterdata document category (`POA`, `POI`, …).
    pub document_category: Option<String>,
    validators: Vec<Regex>,
}

impl FieldSpec {
    /// The field's validators as written in the schema (regular expressions).
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.validators.iter().map(Regex::as_str)
    }
}

/// Languages the deployment works in (MOSIP: mandatory `eng`, optional `ara,fra`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Languages {
    pub mandatory: Vec<String>,
    pub optional: Vec<String>,
}

impl Default for Languages {
    fn default() -> Self {
        Languages { mandatory: vec!["eng".into()], optional: vec!["ara".into(), "fra".into()] }
    }
}

impl Languages {
    pub fn supports(&self, lang: &str) -> bool {
        self.mandatory.iter().chain(self.optional.iter()).any(|l| l == lang)
    }
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.mandatory.iter().chain(self.optional.iter())
    }
    /// The first mandatory language (`eng` when none is configured): the card password's name
    /// comes from it, as in MOSIP.
    pub fn first(&self) -> &str {
        self.mandatory.first().map(String::as_str).unwrap_or("eng")
    }
}

#[derive(Debug, Clone)]
pub struct IdentitySchema {
    pub version: f64,
    /// The schema document as it was read (what masterdata serves as `schemaJson`).
    document: Value,
    fields: BTreeMap<String, FieldSpec>,
    required: Vec<String>,
    languages: Languages,
}

#[derive(Debug, thiserror::Error)]
#[error("identity schema: {0}")]
pub struct SchemaError(String);

impl IdentitySchema {
    pub fn parse(json: &str, languages: Languages) -> Result<Self, SchemaError> {
        let root: Value = serde_json::from_str(json).map_err(|e| SchemaError(e.to_string()))?;
        let identity =
            root.pointer("/properties/identity").ok_or_else(|| SchemaError("no properties.identity".into()))?;
        let props = identity
            .get("properties")
            .and_then(Value::as_object)
            .ok_or_else(|| SchemaError("no properties.identity.properties".into()))?;
        let mut fields = BTreeMap::new();
        for (name, spec) in props {
            let field_type = match (spec.get("$ref").and_then(Value::as_str), spec.get("type").and_then(Value::as_str))
            {
                (Some("#/definitions/simpleType"), _) => FieldType::Simple,
                (Some("#/definitions/documentType"), _) => FieldType::Document,
                (Some("#/definitions/biometricsType"), _) => FieldType::Biometrics,
                (None, Some("string")) => FieldType::Text,
                (None, Some("number" | "integer")) => FieldType::Number,
                other => return Err(SchemaError(format!("field {name}: unsupported type {other:?}"))),
            };
            let mut validators = Vec::new();
            for v in spec.get("validators").and_then(Value::as_array).into_iter().flatten() {
                if v.get("type").and_then(Value::as_str) == Some("regex") {
                    let pattern = v.get("validator").and_then(Value::as_str).unwrap_or_default();
                    validators.push(Regex::new(pattern).map_err(|e| SchemaError(format!("field {name}: {e}")))?);
                }
            }
            fields.insert(
                name.clone(),
                FieldSpec {
                    name: name.clone(),
                    field_type,
                    category: spec.get("fieldCategory").and_then(Value::as_str).unwrap_or("none").to_owned(),
                    updatable: spec.get("updatable").and_then(Value::as_bool).unwrap_or(false),
                    proof: spec.get("proof").and_then(Value::as_str).map(str::to_owned),
                    document_types: spec
                        .get("documentTypes")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                        .unwrap_or_default(),
                    document_category: spec.get("documentCategory").and_then(Value::as_str).map(str::to_owned),
                    validators,
                },
            );
        }
        let required = identity
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        for r in &required {
            if !fields.contains_key(r) {
                return Err(SchemaError(format!("required field {r} is not defined")));
            }
        }
        Ok(IdentitySchema { version: 0.1, document: root, fields, required, languages })
    }

    /// The schema document, as read.
    pub fn document(&self) -> &Value {
        &self.document
    }

    pub fn default_schema(languages: Languages) -> Result<Self, SchemaError> {
        Self::parse(DEFAULT_SCHEMA, languages)
    }

    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.get(name)
    }

    pub fn fields(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields.values()
    }

    pub fn languages(&self) -> &Languages {
        &self.languages
    }

    /// Validates a whole identity (`{"identity": {...}}`) for creation. Errors name the field as ID
    /// Repository does: `identity/<field>`.
    pub fn validate_new(&self, doc: &Value, now: OffsetDateTime) -> Result<IdentityJson, ResidentError> {
        let identity = doc
            .get("identity")
            .and_then(Value::as_object)
            .ok_or_else(|| ResidentError::IdRepoMissingInput("identity".into()))?;
        for (name, value) in identity {
            let spec =
                self.fields.get(name).ok_or_else(|| ResidentError::IdRepoInvalidInput(format!("identity/{name}")))?;
            self.validate_value(spec, value, now)?;
        }
        for r in &self.required {
            if identity.get(r).is_none_or(Value::is_null) {
                return Err(ResidentError::IdRepoMissingInput(format!("identity/{r}")));
            }
        }
        Ok(IdentityJson(identity.clone()))
    }

    /// Validates one field's value (format, languages, validators). Errors are ID Repository's
    /// `IDR-IDC-002 identity/<field>`.
    pub fn check_field(&self, spec: &FieldSpec, value: &Value, now: OffsetDateTime) -> Result<(), ResidentError> {
        self.validate_value(spec, value, now)
    }

    fn validate_value(&self, spec: &FieldSpec, value: &Value, now: OffsetDateTime) -> Result<(), ResidentError> {
        let invalid = || ResidentError::IdRepoInvalidInput(format!("identity/{}", spec.name));
        let matches = |s: &str| spec.validators.iter().all(|r| r.is_match(s));
        match spec.field_type {
            FieldType::Simple => {
                let items = value.as_array().ok_or_else(invalid)?;
                if items.is_empty() {
                    return Err(invalid());
                }
                let mut seen = Vec::new();
                for item in items {
                    let lang = item.get("language").and_then(Value::as_str).ok_or_else(invalid)?;
                    let text = item.get("value").and_then(Value::as_str).ok_or_else(invalid)?;
                    if !self.languages.supports(lang) || seen.contains(&lang) || !matches(text) {
                        return Err(invalid());
                    }
                    seen.push(lang);
                }
                if !self.languages.mandatory.iter().all(|m| seen.contains(&m.as_str())) {
                    return Err(invalid());
                }
            }
            FieldType::Text => {
                let s = value.as_str().ok_or_else(invalid)?;
                if !matches(s) {
                    return Err(invalid());
                }
                if spec.name == "UIN" && Uin::parse(s).is_err() {
                    return Err(invalid());
                }
                if spec.name == "dateOfBirth" {
                    let dob = parse_dob(s).ok_or_else(invalid)?;
                    if dob > now.date() {
                        return Err(invalid());
                    }
                }
            }
            FieldType::Number => {
                if !value.is_number() {
                    return Err(invalid());
                }
            }
            FieldType::Document => {
                let o = value.as_object().ok_or_else(invalid)?;
                for k in ["format", "type", "value"] {
                    if !o.get(k).is_some_and(Value::is_string) {
                        return Err(invalid());
                    }
                }
            }
            FieldType::Biometrics => {
                let o = value.as_object().ok_or_else(invalid)?;
                if !o.get("format").is_some_and(Value::is_string) || !o.get("value").is_some_and(Value::is_string) {
                    return Err(invalid());
                }
            }
        }
        Ok(())
    }
}

/// `yyyy/MM/dd`, a real calendar date.
pub fn parse_dob(s: &str) -> Option<Date> {
    let mut parts = s.split('/');
    let y = parts.next()?.parse::<i32>().ok()?;
    let m = parts.next()?.parse::<u8>().ok()?;
    let d = parts.next()?.parse::<u8>().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

/// The `identity` object of a validated identity.
#[derive(Clone, PartialEq)]
pub struct IdentityJson(pub Map<String, Value>);

impl std::fmt::Debug for IdentityJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // personal data never reaches a log through Debug
        write!(f, "IdentityJson({} fields)", self.0.len())
    }
}

impl IdentityJson {
    pub fn text(&self, field: &str) -> Option<&str> {
        self.0.get(field).and_then(Value::as_str)
    }

    /// The value of a language-tagged field in `lang`, else in the first language present.
    pub fn localized(&self, field: &str, lang: &str) -> Option<&str> {
        let items = self.0.get(field)?.as_array()?;
        let pick = |want: Option<&str>| {
            items.iter().find_map(|i| {
                let l = i.get("language")?.as_str()?;
                if want.is_none_or(|w| w == l) { i.get("value")?.as_str() } else { None }
            })
        };
        pick(Some(lang)).or_else(|| pick(None))
    }

    /// The value of a language-tagged field in exactly `lang`.
    pub fn localized_exact(&self, field: &str, lang: &str) -> Option<&str> {
        self.0.get(field)?.as_array()?.iter().find_map(|i| {
            (i.get("language")?.as_str()? == lang).then_some(())?;
            i.get("value")?.as_str()
        })
    }

    pub fn uin(&self) -> Option<&str> {
        self.text("UIN")
    }

    pub fn with_uin(mut self, uin: &Uin) -> Self {
        self.0.insert("UIN".into(), Value::String(uin.expose().to_owned()));
        self
    }

    pub fn to_document(&self) -> Value {
        let mut root = Map::new();
        root.insert("identity".into(), Value::Object(self.0.clone()));
        Value::Object(root)
    }

    /// The JSON with keys in a fixed order, so equal identities give equal bytes.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        fn sort(v: &Value) -> Value {
            match v {
                Value::Object(m) => {
                    let sorted: BTreeMap<_, _> = m.iter().map(|(k, v)| (k.clone(), sort(v))).collect();
                    Value::Object(sorted.into_iter().collect())
                }
                Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
                other => other.clone(),
            }
        }
        serde_json::to_vec(&sort(&Value::Object(self.0.clone()))).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn schema() -> IdentitySchema {
        IdentitySchema::default_schema(Languages::default()).unwrap()
    }

    fn jane() -> Value {
        json!({"identity": {
            "IDSchemaVersion": 0.1,
            "fullName": [{"language": "eng", "value": "Jane Doe"}, {"language": "ara", "value": "جين دو"}],
            "dateOfBirth": "1990/05/12",
            "gender": [{"language": "eng", "value": "Female"}],
            "addressLine1": [{"language": "eng", "value": "12 Main St"}],
            "city": [{"language": "eng", "value": "Kenitra"}],
            "postalCode": "14022", "phone": "9876543210", "email": "jane@example.org",
            "proofOfAddress": {"value": "proofOfAddress", "type": "DOC001", "format": "pdf"},
            "individualBiometrics": {"format": "cbeff", "version": 1.0, "value": "individualBiometrics_bio_CBEFF"}
        }})
    }

    const NOW: OffsetDateTime = datetime!(2026-11-26 0:00 UTC);

    #[test]
    fn the_reference_example_is_valid() {
        let id = schema().validate_new(&jane(), NOW).unwrap();
        assert_eq!(id.localized("fullName", "ara"), Some("جين دو"));
        assert_eq!(id.localized("fullName", "fra"), Some("Jane Doe"));
        assert!(!format!("{id:?}").contains("Jane"));
    }

    fn err(mut doc: Value, f: impl FnOnce(&mut Map<String, Value>)) -> String {
        f(doc["identity"].as_object_mut().unwrap());
        let e = schema().validate_new(&doc, NOW).unwrap_err();
        format!("{} {}", e.code(), e.message())
    }

    #[test]
    fn bad_identities_name_the_field() {
        assert_eq!(
            err(jane(), |m| {
                m.remove("fullName");
            }),
            "IDR-IDC-001 Missing Input Parameter - identity/fullName"
        );
        assert_eq!(
            err(jane(), |m| {
                m.insert("nickname".into(), json!("x"));
            }),
            "IDR-IDC-002 Invalid Input Parameter - identity/nickname"
        );
        assert_eq!(
            err(jane(), |m| {
                m.insert("dateOfBirth".into(), json!("1990-05-12"));
            }),
            "IDR-IDC-002 Invalid Input Parameter - identity/dateOfBirth"
        );
        assert_eq!(
            err(jane(), |m| {
                m.insert("dateOfBirth".into(), json!("1990/02/30"));
            }),
            "IDR-IDC-002 Invalid Input Parameter - identity/dateOfBirth"
        );
        assert_eq!(
            err(jane(), |m| {
                m.insert("dateOfBirth".into(), json!("2030/02/10"));
            }),
            "IDR-IDC-002 Invalid Input Parameter - identity/dateOfBirth"
        );
        assert_eq!(
            err(jane(), |m| {
                m.insert("phone".into(), json!("12ab"));
            }),
            "IDR-IDC-002 Invalid Input Parameter - identity/phone"
        );
        assert_eq!(
            err(jane(), |m| {
                m.insert("fullName".into(), json!([{"language": "deu", "value": "Jane"}]));
            }),
            "IDR-IDC-002 Invalid Input Parameter - identity/fullName"
        );
        assert_eq!(
            err(jane(), |m| {
                m.insert("fullName".into(), json!([{"language": "ara", "value": "جين دو"}]));
            }),
            "IDR-IDC-002 Invalid Input Parameter - identity/fullName",
        );
        assert_eq!(
            err(jane(), |m| {
                m.insert("fullName".into(), json!("Jane"));
            }),
            "IDR-IDC-002 Invalid Input Parameter - identity/fullName"
        );
        assert_eq!(
            err(jane(), |m| {
                m.insert("UIN".into(), json!("2013023800"));
            }),
            "IDR-IDC-002 Invalid Input Parameter - identity/UIN"
        );
        assert_eq!(schema().validate_new(&json!({"x": 1}), NOW).unwrap_err().code(), "IDR-IDC-001");
    }

    #[test]
    fn canonical_bytes_ignore_key_order() {
        let a = schema().validate_new(&jane(), NOW).unwrap();
        let mut reordered = Map::new();
        for (k, v) in a.0.iter().rev() {
            reordered.insert(k.clone(), v.clone());
        }
        assert_eq!(a.canonical_bytes(), IdentityJson(reordered).canonical_bytes());
    }
}
