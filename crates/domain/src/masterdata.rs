//! The country's masterdata, as MOSIP's masterdata service keeps it: the location hierarchy and its
//! locations (one code in every language, a name per language), registration centres with their
//! hours, days and coordinates, the days of the week, document categories and the document types each
//! accepts, and the values of dynamic fields (gender, residence status, preferred language).
//!
//! It is data (`data/masterdata.json`, a small demo country), replaceable by the operator's own
//! (`masterdata.file`), checked once at start-up: every name in every configured language, a tree
//! with one root, centres placed at known locations with sane hours, and the ID schema's address
//! fields and proof documents found here. The rules that read it (which centres a search finds, which
//! are near a point, which days a centre opens, what a location or document value must be) live here
//! and nowhere else.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::identity::{FieldType, IdentitySchema};

pub const DEMO_MASTERDATA: &str = include_str!("../data/masterdata.json");

/// A name per language (MOSIP three-letter codes).
pub type Names = BTreeMap<String, String>;

#[derive(Debug, Clone, Deserialize)]
pub struct HierarchyLevel {
    pub level: u8,
    pub name: Names,
    /// The identity field this level fills (`region`, …, `postalCode`); none for the country.
    #[serde(default)]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Location {
    pub code: String,
    pub level: u8,
    pub parent: Option<String>,
    pub name: Names,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Weekday {
    /// MOSIP's day code, `101` (Sunday) to `107` (Saturday).
    pub code: String,
    /// 1 to 7, Sunday first.
    pub order: u8,
    pub name: Names,
    /// A working day for centres that name none of their own.
    pub global_working: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Centre {
    pub id: String,
    #[serde(rename = "type")]
    pub centre_type: String,
    pub name: Names,
    /// Address lines per language.
    pub address: BTreeMap<String, Vec<String>>,
    /// Decimal degrees, kept as written (MOSIP serves them as strings).
    pub latitude: String,
    pub longitude: String,
    /// The location (a leaf of the hierarchy) the centre is at.
    pub location: String,
    pub holiday_location: String,
    pub zone: String,
    pub contact_phone: String,
    pub contact_person: Names,
    pub kiosks: u16,
    /// `HH:MM:SS`
    pub per_kiosk_process_time: String,
    /// `HH:MM:SS`
    pub opens: String,
    pub closes: String,
    /// Lunch break, `[start, end]`, `HH:MM:SS`.
    #[serde(default)]
    pub lunch: Option<[String; 2]>,
    pub time_zone: String,
    /// Day codes; none: the global working days.
    #[serde(default)]
    pub working_days: Vec<String>,
}

impl Centre {
    pub fn coordinates(&self) -> Option<(f64, f64)> {
        Some((self.latitude.trim().parse().ok()?, self.longitude.trim().parse().ok()?))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DocumentType {
    pub code: String,
    pub name: Names,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DocumentCategory {
    pub code: String,
    pub name: Names,
    /// Codes of the document types this category accepts.
    pub types: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DynamicValue {
    pub code: String,
    pub value: Names,
}

#[derive(Debug, Clone, Deserialize)]
struct Documents {
    types: Vec<DocumentType>,
    categories: Vec<DocumentCategory>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    root: String,
    hierarchy: Vec<HierarchyLevel>,
    locations: Vec<Location>,
    weekdays: Vec<Weekday>,
    centres: Vec<Centre>,
    documents: Documents,
    dynamic_fields: BTreeMap<String, Vec<DynamicValue>>,
}

/// A search for centres by area: the first location at `level` whose name in `lang` holds `text`.
#[derive(Debug, Clone, Copy)]
pub struct CentreSearch<'a> {
    pub level: u8,
    pub lang: &'a str,
    pub text: &'a str,
    /// Sorted by name (else in the data's order: centres have no creation time here).
    pub by_name: bool,
    pub descending: bool,
}

/// The masterdata, checked.
#[derive(Debug, Clone)]
pub struct Masterdata {
    root: String,
    hierarchy: Vec<HierarchyLevel>,
    locations: Vec<Location>,
    weekdays: Vec<Weekday>,
    centres: Vec<Centre>,
    types: Vec<DocumentType>,
    categories: Vec<DocumentCategory>,
    dynamic: BTreeMap<String, Vec<DynamicValue>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("masterdata: {0}")]
pub struct MasterdataError(String);

fn err<T>(msg: impl Into<String>) -> Result<T, MasterdataError> {
    Err(MasterdataError(msg.into()))
}

/// Seconds since midnight of a `HH:MM:SS` time.
pub fn seconds_of_day(t: &str) -> Option<u32> {
    let mut parts = t.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || [h, m, s].iter().any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let (h, m, s): (u32, u32, u32) = (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?);
    (h < 24 && m < 60 && s < 60).then_some(h * 3600 + m * 60 + s)
}

/// Great-circle distance in metres between two points in decimal degrees.
pub fn distance_metres((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

impl Masterdata {
    /// Parses and checks masterdata: every name in each of `languages`, one tree, centres at its
    /// leaves with sane hours and coordinates, document categories of known types.
    pub fn parse(json: &str, languages: &[String]) -> Result<Self, MasterdataError> {
        let f: File = serde_json::from_str(json).map_err(|e| MasterdataError(e.to_string()))?;
        let named = |what: &str, names: &Names| -> Result<(), MasterdataError> {
            match languages.iter().find(|l| names.get(*l).is_none_or(|n| n.trim().is_empty())) {
                Some(l) => err(format!("{what} has no name in {l}")),
                None => Ok(()),
            }
        };
        for (i, h) in f.hierarchy.iter().enumerate() {
            if usize::from(h.level) != i {
                return err("hierarchy levels must be 0, 1, 2, … in order");
            }
            named(&format!("hierarchy level {}", h.level), &h.name)?;
        }
        if f.hierarchy.is_empty() {
            return err("the hierarchy is empty");
        }
        let mut codes = BTreeMap::new();
        for l in &f.locations {
            if l.code.trim().is_empty() || codes.insert(l.code.as_str(), l).is_some() {
                return err(format!("location code {:?} is empty or repeated", l.code));
            }
            named(&format!("location {}", l.code), &l.name)?;
            if usize::from(l.level) >= f.hierarchy.len() {
                return err(format!("location {} is at level {}, below the hierarchy", l.code, l.level));
            }
        }
        for l in &f.locations {
            match (&l.parent, l.level) {
                (None, 0) if l.code == f.root => {}
                (None, _) => return err(format!("location {} has no parent and is not the root", l.code)),
                (Some(p), level) => match codes.get(p.as_str()) {
                    Some(parent) if parent.level + 1 == level => {}
                    _ => return err(format!("location {}'s parent {p} is not a location one level up", l.code)),
                },
            }
        }
        if codes.get(f.root.as_str()).is_none_or(|r| r.level != 0) {
            return err(format!("the root {} is not a location at level 0", f.root));
        }
        let mut day_codes = BTreeSet::new();
        for d in &f.weekdays {
            if !day_codes.insert(d.code.as_str()) || !(1..=7).contains(&d.order) {
                return err(format!("weekday {} is repeated or its order is not 1 to 7", d.code));
            }
            named(&format!("weekday {}", d.code), &d.name)?;
        }
        let mut centre_ids = BTreeSet::new();
        for c in &f.centres {
            let what = format!("centre {}", c.id);
            if c.id.trim().is_empty() || !centre_ids.insert(c.id.as_str()) {
                return err(format!("{what}: the id is empty or repeated"));
            }
            named(&what, &c.name)?;
            named(&format!("{what}'s contact person"), &c.contact_person)?;
            if let Some(l) = languages.iter().find(|l| c.address.get(*l).is_none_or(|a| a.is_empty())) {
                return err(format!("{what} has no address in {l}"));
            }
            if !codes.contains_key(c.location.as_str()) || !codes.contains_key(c.holiday_location.as_str()) {
                return err(format!("{what} is at an unknown location"));
            }
            if f.locations.iter().any(|l| l.parent.as_deref() == Some(c.location.as_str())) {
                return err(format!("{what} is at {}, which is not a leaf of the tree", c.location));
            }
            match c.coordinates() {
                Some((lat, lon)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => {}
                _ => return err(format!("{what}: latitude and longitude must be decimal degrees")),
            }
            let (opens, closes) = (seconds_of_day(&c.opens), seconds_of_day(&c.closes));
            if !matches!((opens, closes), (Some(o), Some(e)) if o < e)
                || seconds_of_day(&c.per_kiosk_process_time).is_none()
            {
                return err(format!("{what}: opening hours must be HH:MM:SS, opening before closing"));
            }
            if let Some([start, end]) = &c.lunch {
                let ok = matches!((opens, seconds_of_day(start), seconds_of_day(end), closes),
                    (Some(o), Some(s), Some(e), Some(c)) if o <= s && s < e && e <= c);
                if !ok {
                    return err(format!("{what}: lunch must fall within opening hours"));
                }
            }
            if let Some(d) = c.working_days.iter().find(|d| !day_codes.contains(d.as_str())) {
                return err(format!("{what}: unknown working day {d}"));
            }
        }
        let mut type_codes = BTreeSet::new();
        for t in &f.documents.types {
            if !type_codes.insert(t.code.as_str()) {
                return err(format!("document type {} is repeated", t.code));
            }
            named(&format!("document type {}", t.code), &t.name)?;
        }
        for c in &f.documents.categories {
            named(&format!("document category {}", c.code), &c.name)?;
            if let Some(t) = c.types.iter().find(|t| !type_codes.contains(t.as_str())) {
                return err(format!("document category {} accepts unknown type {t}", c.code));
            }
        }
        for (field, values) in &f.dynamic_fields {
            for v in values {
                named(&format!("{field} value {}", v.code), &v.value)?;
            }
        }
        let mut hierarchy = f.hierarchy;
        hierarchy.sort_by_key(|h| h.level);
        Ok(Masterdata {
            root: f.root,
            hierarchy,
            locations: f.locations,
            weekdays: f.weekdays,
            centres: f.centres,
            types: f.documents.types,
            categories: f.documents.categories,
            dynamic: f.dynamic_fields,
        })
    }

    /// The demo country.
    pub fn demo(languages: &[String]) -> Result<Self, MasterdataError> {
        Self::parse(DEMO_MASTERDATA, languages)
    }

    /// Checks the ID schema against this masterdata: each level's field is a field of the schema, and
    /// each proof document's category exists and accepts every type the schema lists for it.
    pub fn check_schema(&self, schema: &IdentitySchema) -> Result<(), MasterdataError> {
        for h in &self.hierarchy {
            if let Some(f) = &h.field
                && schema.field(f).is_none()
            {
                return err(format!("hierarchy level {} fills {f}, which the ID schema does not have", h.level));
            }
        }
        for spec in schema.fields().filter(|f| f.field_type == FieldType::Document) {
            let Some(code) = spec.document_category.as_deref() else { continue };
            let Some(category) = self.category(code) else {
                return err(format!("the ID schema's {} needs document category {code}", spec.name));
            };
            if let Some(t) = spec.document_types.iter().find(|t| !category.types.contains(t)) {
                return err(format!("the ID schema's {} accepts {t}, which category {code} does not", spec.name));
            }
        }
        Ok(())
    }

    /// The root of the location tree (the country).
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The hierarchy, level 0 first.
    pub fn hierarchy(&self) -> &[HierarchyLevel] {
        &self.hierarchy
    }

    pub fn level_of_field(&self, field: &str) -> Option<&HierarchyLevel> {
        self.hierarchy.iter().find(|h| h.field.as_deref() == Some(field))
    }

    pub fn location(&self, code: &str) -> Option<&Location> {
        self.locations.iter().find(|l| l.code == code)
    }

    /// The locations directly under `code`, in the order of the data.
    pub fn children(&self, code: &str) -> Vec<&Location> {
        self.locations.iter().filter(|l| l.parent.as_deref() == Some(code)).collect()
    }

    /// `code` and every location under it.
    pub fn subtree<'a>(&'a self, code: &'a str) -> BTreeSet<&'a str> {
        let mut set = BTreeSet::new();
        let mut todo = vec![code];
        while let Some(c) = todo.pop() {
            if set.insert(c) {
                todo.extend(self.children(c).into_iter().map(|l| l.code.as_str()));
            }
        }
        set
    }

    /// The location at `level` whose name in `lang` holds `text` (ignoring case), as masterdata's
    /// centre search takes it: the first in the data's order.
    pub fn find_location(&self, level: u8, lang: &str, text: &str) -> Option<&Location> {
        let wanted = text.trim().to_lowercase();
        if wanted.is_empty() {
            return None;
        }
        self.locations
            .iter()
            .filter(|l| l.level == level)
            .find(|l| l.name.get(lang).is_some_and(|n| n.trim().to_lowercase().contains(&wanted)))
    }

    /// The one location at `level` (under `parent`, when given) that each `(language, name)` names;
    /// `None` when none does, or more than one (two places of one name need their parent to tell
    /// them apart).
    pub fn location_by_names(&self, level: u8, parent: Option<&str>, names: &[(&str, &str)]) -> Option<&Location> {
        let mut found = self
            .locations
            .iter()
            .filter(|l| l.level == level && parent.is_none_or(|p| l.parent.as_deref() == Some(p)))
            .filter(|l| names.iter().all(|(lang, name)| l.name.get(*lang).is_some_and(|n| n == name)));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    pub fn centres(&self) -> &[Centre] {
        &self.centres
    }

    pub fn centre(&self, id: &str) -> Option<&Centre> {
        self.centres.iter().find(|c| c.id == id)
    }

    /// The centres anywhere under the first location at `level` whose name holds `text`, in the
    /// data's order (by name when `by_name`, reversed when `descending`); `None` when no location
    /// matches.
    pub fn centres_under(&self, level: u8, lang: &str, text: &str) -> Option<Vec<&Centre>> {
        let found = self.find_location(level, lang, text)?;
        let area = self.subtree(&found.code);
        Some(self.centres.iter().filter(|c| area.contains(c.location.as_str())).collect())
    }

    /// One page (counted from 0) of the centres a search finds, and how many it finds in all; `None`
    /// when no location matches or the page is past the end (masterdata's "not found").
    pub fn centres_page(&self, search: &CentreSearch<'_>, page: usize, size: usize) -> Option<(Vec<&Centre>, usize)> {
        let mut found = self.centres_under(search.level, search.lang, search.text)?;
        if search.by_name {
            found.sort_by(|a, b| a.name.get(search.lang).cmp(&b.name.get(search.lang)));
        }
        if search.descending && search.by_name {
            found.reverse();
        }
        let total = found.len();
        let shown: Vec<&Centre> = found.into_iter().skip(page.saturating_mul(size)).take(size).collect();
        (!shown.is_empty()).then_some((shown, total))
    }

    /// The centres under the locations at `level` named exactly one of `names` in `lang` (ignoring
    /// case), in the data's order.
    pub fn centres_in_named(&self, level: u8, lang: &str, names: &[&str]) -> Vec<&Centre> {
        let wanted: Vec<String> = names.iter().map(|n| n.trim().to_lowercase()).filter(|n| !n.is_empty()).collect();
        let mut area = BTreeSet::new();
        for l in self.locations.iter().filter(|l| l.level == level) {
            if l.name.get(lang).is_some_and(|n| wanted.contains(&n.trim().to_lowercase())) {
                area.extend(self.subtree(&l.code));
            }
        }
        self.centres.iter().filter(|c| area.contains(c.location.as_str())).collect()
    }

    /// The centres within `metres` of a point, nearest first, with their distance.
    pub fn centres_near(&self, point: (f64, f64), metres: f64) -> Vec<(&Centre, f64)> {
        let mut near: Vec<(&Centre, f64)> = self
            .centres
            .iter()
            .filter_map(|c| Some((c, distance_metres(point, c.coordinates()?))))
            .filter(|(_, d)| *d <= metres)
            .collect();
        near.sort_by(|a, b| a.1.total_cmp(&b.1));
        near
    }

    /// The days a centre opens, Sunday first: its own, else the global working days.
    pub fn working_days(&self, centre: &Centre) -> Vec<&Weekday> {
        let mut days: Vec<&Weekday> = if centre.working_days.is_empty() {
            self.weekdays.iter().filter(|d| d.global_working).collect()
        } else {
            self.weekdays.iter().filter(|d| centre.working_days.contains(&d.code)).collect()
        };
        days.sort_by_key(|d| d.order);
        days
    }

    pub fn categories(&self) -> &[DocumentCategory] {
        &self.categories
    }

    pub fn category(&self, code: &str) -> Option<&DocumentCategory> {
        self.categories.iter().find(|c| c.code.eq_ignore_ascii_case(code))
    }

    pub fn document_type(&self, code: &str) -> Option<&DocumentType> {
        self.types.iter().find(|t| t.code == code)
    }

    /// The document types a category accepts, in its order.
    pub fn document_types(&self, category: &str) -> Vec<&DocumentType> {
        self.category(category)
            .map(|c| c.types.iter().filter_map(|t| self.document_type(t)).collect())
            .unwrap_or_default()
    }

    pub fn dynamic_field(&self, field: &str) -> Option<&[DynamicValue]> {
        self.dynamic.get(field).map(Vec::as_slice)
    }

    /// The code of a dynamic field's value given by its code or by its name in any language
    /// (MOSIP's app sends a preferred language by its name, "French").
    pub fn dynamic_code(&self, field: &str, code_or_name: &str) -> Option<&str> {
        let wanted = code_or_name.trim();
        self.dynamic.get(field)?.iter().find_map(|v| {
            (v.code.eq_ignore_ascii_case(wanted) || v.value.values().any(|n| n.eq_ignore_ascii_case(wanted)))
                .then_some(v.code.as_str())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn langs() -> Vec<String> {
        vec!["eng".into(), "ara".into(), "fra".into()]
    }

    fn demo() -> Masterdata {
        Masterdata::demo(&langs()).unwrap()
    }

    #[test]
    fn the_demo_country_is_whole_and_fits_the_id_schema() {
        let m = demo();
        let schema = IdentitySchema::default_schema(crate::identity::Languages {
            mandatory: vec!["eng".into()],
            optional: vec!["ara".into(), "fra".into()],
        })
        .unwrap();
        m.check_schema(&schema).unwrap();
        assert_eq!(m.root(), "MOR");
        let names: Vec<&str> = m.hierarchy().iter().map(|h| h.name["eng"].as_str()).collect();
        assert_eq!(names, ["Country", "Region", "Province", "City", "Zone", "Postal Code"]);
        // every centre sits at a postal code
        for c in m.centres() {
            assert_eq!(m.location(&c.location).unwrap().level, 5, "{}", c.id);
        }
    }

    #[test]
    fn a_search_takes_the_first_matching_location_and_everything_under_it() {
        let m = demo();
        let region: Vec<&str> =
            m.centres_under(1, "eng", "rabat sale").unwrap().iter().map(|c| c.id.as_str()).collect();
        assert_eq!(region, ["10001", "10002", "10003", "10004"]);
        let city: Vec<&str> = m.centres_under(3, "ara", "الرباط").unwrap().iter().map(|c| c.id.as_str()).collect();
        assert_eq!(city, ["10003", "10004"]);
        assert!(m.centres_under(3, "eng", "Atlantis").is_none());
        assert!(m.centres_under(3, "eng", "  ").is_none());
    }

    #[test]
    fn centres_near_a_point_come_nearest_first_within_the_distance() {
        let m = demo();
        let ben_mansour = m.centre("10001").unwrap().coordinates().unwrap();
        let near: Vec<&str> = m.centres_near(ben_mansour, 2000.0).iter().map(|(c, _)| c.id.as_str()).collect();
        assert_eq!(near, ["10001", "10002"]);
        assert!(m.centres_near((0.0, 0.0), 2000.0).is_empty());
        // Rabat to Casablanca is about 87 km
        let d = distance_metres((34.0209, -6.8416), (33.5731, -7.5898));
        assert!((80_000.0..95_000.0).contains(&d), "{d}");
    }

    #[test]
    fn a_centre_opens_on_its_own_days_else_the_global_ones() {
        let m = demo();
        let days = |id: &str| -> Vec<String> {
            m.working_days(m.centre(id).unwrap()).iter().map(|d| d.name["eng"].clone()).collect()
        };
        assert_eq!(days("10001"), ["MON", "TUE", "WED", "THU", "FRI"]);
        assert_eq!(days("10003"), ["MON", "TUE", "WED", "THU", "FRI", "SAT"]);
    }

    #[test]
    fn values_are_found_by_code_or_by_name_and_translated() {
        let m = demo();
        assert_eq!(m.dynamic_code("preferredLang", "French"), Some("fra"));
        assert_eq!(m.dynamic_code("preferredLang", "ara"), Some("ara"));
        assert_eq!(m.dynamic_code("preferredLang", "Klingon"), None);
        let rabat = m.location_by_names(3, None, &[("eng", "Rabat"), ("ara", "الرباط")]).unwrap();
        assert_eq!(rabat.code, "RAB");
        assert!(m.location_by_names(3, None, &[("eng", "Rabat"), ("ara", "فاس")]).is_none(), "two places");
        assert!(m.location_by_names(3, Some("KTA"), &[("eng", "Rabat")]).is_none(), "not under Kenitra");
        assert_eq!(m.document_types("poa").first().map(|t| t.code.as_str()), Some("RNC"));
    }

    #[test]
    fn broken_masterdata_is_refused_naming_the_fault() {
        let edit = |from: &str, to: &str| {
            let text = DEMO_MASTERDATA.replacen(from, to, 1);
            assert_ne!(text, DEMO_MASTERDATA, "{from}");
            Masterdata::parse(&text, &langs()).unwrap_err().to_string()
        };
        assert!(edit(r#""parent": "RSK""#, r#""parent": "NOWHERE""#).contains("parent"));
        assert!(edit(r#""opens": "09:00:00""#, r#""opens": "18:00:00""#).contains("opening"));
        assert!(edit(r#""ara": "المغرب""#, r#""zzz": "المغرب""#).contains("no name in ara"));
        assert!(edit(r#""location": "14022""#, r#""location": "99999""#).contains("unknown location"));
        assert!(edit(r#""latitude": "34.261070""#, r#""latitude": "north""#).contains("decimal degrees"));
        assert_eq!(seconds_of_day("24:00:00"), None);
        assert_eq!(seconds_of_day("9:00:00"), None);
        assert_eq!(seconds_of_day("09:30:15"), Some(34215));
    }
}
