//! The masterdata MOSIP's app reads through resident services' proxies: location levels and
//! locations, registration centres (by area, near a point, their working days), document
//! categories and types, dynamic field values; and the public PDFs of centres and supporting
//! documents. Masterdata's own shapes (`id` and `version` null, `errors` null on success); "nothing
//! found" is `RES-SER-418` with `response: null`, which the app reads as "no result" (an empty list
//! would leave its spinner turning). What is found is decided by `resident_domain::masterdata`.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use resident_domain::ResidentError;
use resident_domain::card::PlainDocument;
use resident_domain::masterdata::{Centre, CentreSearch, Location, Masterdata, seconds_of_day};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{language, resident};
use crate::AppState;
use crate::portal::translate;

const CENTRE_NOT_FOUND: &str = "Registration Center not found";
const LOCATION_NOT_FOUND: &str = "Location not found";
/// Masterdata's audit fields of an entity: nothing of the kind is kept here.
const BASE_FIELDS: [&str; 6] =
    ["createdBy", "createdDateTime", "updatedBy", "updatedDateTime", "isDeleted", "deletedDateTime"];
/// The most centres one page, and one PDF, holds (MOSIP's `resident.registration-centers.download.max.count`).
const MAX_CENTRES: usize = 100;

/// Masterdata's envelope: no request id or version, `errors` null.
fn found(now: OffsetDateTime, response: Value) -> Response {
    super::reply_with(None, None, now, response, super::Errors::Null)
}

fn refused(now: OffsetDateTime, e: &ResidentError) -> Response {
    super::refusal_with(None, None, now, e)
}

fn answer(state: &AppState, result: Result<Value, ResidentError>) -> Response {
    let now = state.clock.now();
    match result {
        Ok(v) => found(now, v),
        Err(e) => refused(now, &e),
    }
}

/// A language the deployment works in; masterdata has nothing in any other.
fn md_language(state: &AppState, lang: &str) -> Result<String, ResidentError> {
    language(state, lang).map_err(|_| ResidentError::MasterdataNotFound("Language not found"))
}

fn location_json(m: &Masterdata, l: &Location, lang: &str) -> Value {
    let level = m.hierarchy().get(usize::from(l.level));
    json!({
        "code": l.code,
        "name": l.name.get(lang),
        "hierarchyLevel": l.level,
        "hierarchyName": level.and_then(|h| h.name.get(lang)),
        "parentLocCode": l.parent.as_deref().unwrap_or(""),
        "langCode": lang,
        "isActive": true,
    })
}

/// How long a centre is open, as masterdata's `workingHours` writes it (`8:00:00`).
fn working_hours(c: &Centre) -> Option<String> {
    let open = seconds_of_day(&c.closes)?.checked_sub(seconds_of_day(&c.opens)?)?;
    Some(format!("{}:{:02}:{:02}", open / 3600, open / 60 % 60, open % 60))
}

/// A centre as masterdata's `RegistrationCenterDto` has it; `extended` adds the base fields of
/// `RegistrationCenterExtnDto` (the paged search's).
fn centre_json(c: &Centre, lang: &str, extended: bool) -> Value {
    let line = |i: usize| c.address.get(lang).and_then(|a| a.get(i)).cloned();
    let (lunch_start, lunch_end) = match &c.lunch {
        Some([s, e]) => (Some(s.clone()), Some(e.clone())),
        None => (None, None),
    };
    let mut v = json!({
        "id": c.id, "name": c.name.get(lang), "centerTypeCode": c.centre_type,
        "addressLine1": line(0), "addressLine2": line(1), "addressLine3": line(2),
        "latitude": c.latitude, "longitude": c.longitude, "locationCode": c.location,
        "holidayLocationCode": c.holiday_location, "contactPhone": c.contact_phone,
        "workingHours": working_hours(c), "langCode": lang, "numberOfKiosks": c.kiosks,
        "perKioskProcessTime": c.per_kiosk_process_time, "centerStartTime": c.opens, "centerEndTime": c.closes,
        "timeZone": c.time_zone, "contactPerson": c.contact_person.get(lang),
        "lunchStartTime": lunch_start, "lunchEndTime": lunch_end, "isActive": true, "zoneCode": c.zone,
    });
    if extended && let Value::Object(map) = &mut v {
        for k in BASE_FIELDS.iter().chain(&["workingNonWorkingDays", "exceptionalHolidayPutPostDto"]) {
            map.insert((*k).into(), Value::Null);
        }
    }
    v
}

fn levels_json(m: &Masterdata, langs: &[String]) -> Value {
    let levels: Vec<Value> = langs
        .iter()
        .flat_map(|l| {
            m.hierarchy().iter().map(move |h| {
                json!({"hierarchyLevel": h.level, "hierarchyLevelName": h.name.get(l), "langCode": l, "isActive": true})
            })
        })
        .collect();
    json!({"locationHierarchyLevels": levels})
}

/// `GET /proxy/masterdata/locationHierarchyLevels/{lang}`: the levels, the country first.
pub(crate) async fn hierarchy_levels(State(state): State<AppState>, Path(lang): Path<String>) -> Response {
    let result = md_language(&state, &lang).map(|l| levels_json(&state.masterdata, &[l]));
    answer(&state, result)
}

/// `GET /proxy/masterdata/locationHierarchyLevels`: the levels in every language.
pub(crate) async fn all_hierarchy_levels(State(state): State<AppState>) -> Response {
    let langs: Vec<String> = state.schema.languages().all().cloned().collect();
    answer(&state, Ok(levels_json(&state.masterdata, &langs)))
}

fn children(state: &AppState, code: &str) -> Result<Vec<Location>, ResidentError> {
    let found: Vec<Location> = state.masterdata.children(code).into_iter().cloned().collect();
    if found.is_empty() {
        return Err(ResidentError::MasterdataNotFound(LOCATION_NOT_FOUND));
    }
    Ok(found)
}

#[derive(serde::Deserialize)]
pub(crate) struct LanguagesQuery {
    #[serde(rename = "languageCodes")]
    language_codes: Option<String>,
}

/// `GET /auth-proxy/masterdata/locations/immediatechildren/{code}?languageCodes=eng,ara`: the
/// locations under one, grouped by language (the app's address dropdowns, one per language of
/// the resident's data).
pub(crate) async fn children_by_language(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<LanguagesQuery>,
) -> Response {
    if let Err(answer) = resident(&state, &headers, None).await {
        return answer;
    }
    let result = (|| {
        let asked = q.language_codes.unwrap_or_default();
        let mut langs: Vec<String> = Vec::new();
        for l in asked.split(',').map(str::trim).filter(|l| !l.is_empty()) {
            let l = language(&state, l)?;
            if !langs.contains(&l) {
                langs.push(l);
            }
        }
        if langs.is_empty() {
            return Err(ResidentError::invalid("languageCodes"));
        }
        let found = children(&state, &code)?;
        let m = &state.masterdata;
        let by_lang: serde_json::Map<String, Value> = langs
            .iter()
            .map(|l| (l.clone(), Value::Array(found.iter().map(|c| location_json(m, c, l)).collect())))
            .collect();
        Ok(json!({"locations": by_lang}))
    })();
    answer(&state, result)
}

/// `GET /proxy/masterdata/locations/immediatechildren/{code}/{lang}`.
pub(crate) async fn children_in(State(state): State<AppState>, Path((code, lang)): Path<(String, String)>) -> Response {
    let result = md_language(&state, &lang).and_then(|l| {
        let found = children(&state, &code)?;
        Ok(json!({"locations": found.iter().map(|c| location_json(&state.masterdata, c, &l)).collect::<Vec<_>>()}))
    });
    answer(&state, result)
}

/// `GET /proxy/masterdata/locations/info/{code}/{lang}`.
pub(crate) async fn location_info(
    State(state): State<AppState>,
    Path((code, lang)): Path<(String, String)>,
) -> Response {
    let result = md_language(&state, &lang).and_then(|l| {
        let loc = state.masterdata.location(&code).ok_or(ResidentError::MasterdataNotFound(LOCATION_NOT_FOUND))?;
        let mut v = location_json(&state.masterdata, loc, &l);
        if let Value::Object(map) = &mut v {
            for k in BASE_FIELDS {
                map.insert(k.into(), Value::Null);
            }
        }
        Ok(v)
    });
    answer(&state, result)
}

fn dynamic_entry(field: &str, lang: &str, values: &[resident_domain::masterdata::DynamicValue]) -> Value {
    json!({
        "id": format!("{field}-{lang}"), "name": field, "langCode": lang, "dataType": "string",
        "description": field, "isActive": true,
        "fieldVal": values.iter().map(|v| json!({"code": v.code, "value": v.value.get(lang)})).collect::<Vec<_>>(),
    })
}

/// `GET /proxy/masterdata/dynamicfields/{field}`: the field's values, one entry per language.
pub(crate) async fn dynamic_field(State(state): State<AppState>, Path(field): Path<String>) -> Response {
    let result = state
        .masterdata
        .dynamic_field(&field)
        .map(|values| {
            Value::Array(state.schema.languages().all().map(|l| dynamic_entry(&field, l, values)).collect::<Vec<_>>())
        })
        .ok_or(ResidentError::MasterdataNotFound("Dynamic field not found"));
    answer(&state, result)
}

#[derive(serde::Deserialize)]
pub(crate) struct WithValue {
    #[serde(rename = "withValue")]
    with_value: Option<bool>,
}

/// `GET /auth-proxy/masterdata/dynamicfields/{field}/{lang}?withValue=true`: the field and, when
/// asked, its values in one language.
pub(crate) async fn dynamic_field_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((field, lang)): Path<(String, String)>,
    Query(q): Query<WithValue>,
) -> Response {
    if let Err(answer) = resident(&state, &headers, None).await {
        return answer;
    }
    let result = md_language(&state, &lang).and_then(|l| {
        let values = state
            .masterdata
            .dynamic_field(&field)
            .ok_or(ResidentError::MasterdataNotFound("Dynamic field not found"))?;
        let mut v = json!({"name": field, "description": field});
        if q.with_value.unwrap_or(false) {
            v["values"] = values.iter().map(|d| json!({"code": d.code, "value": d.value.get(&l)})).collect();
        }
        Ok(v)
    });
    answer(&state, result)
}

/// `GET /proxy/masterdata/documenttypes/{category}/{lang}`: the types a category accepts.
pub(crate) async fn document_types(
    State(state): State<AppState>,
    Path((category, lang)): Path<(String, String)>,
) -> Response {
    let result = md_language(&state, &lang).and_then(|l| {
        let m = &state.masterdata;
        let category = m.category(&category).ok_or(ResidentError::MasterdataNotFound("Document Category not found"))?;
        let documents: Vec<Value> = m
            .document_types(&category.code)
            .iter()
            .map(|t| {
                json!({"code": t.code, "name": t.name.get(&l), "description": category.name.get(&l), "langCode": l, "isActive": true})
            })
            .collect();
        Ok(json!({"documents": documents}))
    });
    answer(&state, result)
}

/// `GET /proxy/masterdata/validdocuments/{lang}`: every category with the types it accepts.
pub(crate) async fn valid_documents(State(state): State<AppState>, Path(lang): Path<String>) -> Response {
    let result = md_language(&state, &lang).map(|l| {
        let m = &state.masterdata;
        let categories: Vec<Value> = m
            .categories()
            .iter()
            .map(|c| {
                json!({
                    "code": c.code, "name": c.name.get(&l), "description": c.name.get(&l), "langCode": l, "isActive": true,
                    "documenttypes": m.document_types(&c.code).iter().map(|t| json!({
                        "code": t.code, "name": t.name.get(&l), "description": t.name.get(&l), "langCode": l, "isActive": true,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({"documentcategories": categories})
    });
    answer(&state, result)
}

fn level(raw: &str) -> Result<u8, ResidentError> {
    raw.trim().parse().map_err(|_| ResidentError::invalid("hierarchylevel"))
}

/// The centres under the area a text names, as the centre search finds them.
fn centres_named<'m>(m: &'m Masterdata, lang: &str, level: u8, text: &str) -> Result<Vec<&'m Centre>, ResidentError> {
    match m.centres_under(level, lang, text) {
        Some(found) if !found.is_empty() => Ok(found),
        _ => Err(ResidentError::MasterdataNotFound(CENTRE_NOT_FOUND)),
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct NamesQuery {
    name: Option<String>,
}

/// `GET /proxy/masterdata/registrationcenters/{lang}/{level}/names?name=`: the centres under the
/// locations at that level named exactly so (ignoring case).
pub(crate) async fn centres_by_names(
    State(state): State<AppState>,
    Path((lang, lvl)): Path<(String, String)>,
    Query(q): Query<NamesQuery>,
) -> Response {
    let result = (|| {
        let l = md_language(&state, &lang)?;
        let lvl = level(&lvl)?;
        let asked = q.name.unwrap_or_default();
        let names: Vec<&str> = asked.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
        let found: Vec<Value> =
            state.masterdata.centres_in_named(lvl, &l, &names).iter().map(|c| centre_json(c, &l, false)).collect();
        if found.is_empty() {
            return Err(ResidentError::MasterdataNotFound(CENTRE_NOT_FOUND));
        }
        Ok(json!({"registrationCenters": found}))
    })();
    answer(&state, result)
}

#[derive(serde::Deserialize)]
pub(crate) struct PageQuery {
    #[serde(rename = "pageNumber")]
    page_number: Option<String>,
    #[serde(rename = "pageSize")]
    page_size: Option<String>,
    #[serde(rename = "orderBy")]
    order_by: Option<String>,
    #[serde(rename = "sortBy")]
    sort_by: Option<String>,
}

/// `GET /proxy/masterdata/registrationcenters/page/{lang}/{level}/{text}?pageNumber&pageSize&orderBy&sortBy`:
/// the centres under the first location at that level whose name holds the text, a page at a
/// time (pages counted from 0). A page past the end is "not found", as in MOSIP.
pub(crate) async fn centres_page(
    State(state): State<AppState>,
    Path((lang, lvl, text)): Path<(String, String, String)>,
    Query(q): Query<PageQuery>,
) -> Response {
    let result = (|| {
        let l = md_language(&state, &lang)?;
        let number: usize = match q.page_number.as_deref() {
            None => 0,
            Some(n) => n.trim().parse().map_err(|_| ResidentError::invalid("pageNumber"))?,
        };
        let size: usize = match q.page_size.as_deref() {
            None => 10,
            Some(n) => n
                .trim()
                .parse()
                .ok()
                .filter(|s| (1..=MAX_CENTRES).contains(s))
                .ok_or_else(|| ResidentError::invalid("pageSize"))?,
        };
        let descending = match q.order_by.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(_) => return Err(ResidentError::invalid("orderBy")),
        };
        let search = CentreSearch {
            level: level(&lvl)?,
            lang: &l,
            text: &text,
            by_name: q.sort_by.as_deref() == Some("name"),
            descending,
        };
        let (page, total) = state
            .masterdata
            .centres_page(&search, number, size)
            .ok_or(ResidentError::MasterdataNotFound(CENTRE_NOT_FOUND))?;
        let page: Vec<Value> = page.iter().map(|c| centre_json(c, &l, true)).collect();
        Ok(json!({
            "pageNo": number, "pageSize": size, "sort": null, "totalItems": total,
            "totalPages": total.div_ceil(size), "data": page,
        }))
    })();
    answer(&state, result)
}

/// A point and a distance as the app sends them (longitude first, metres).
fn point(lon: &str, lat: &str, distance: &str) -> Result<((f64, f64), f64), ResidentError> {
    let lon: f64 = lon
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| (-180.0..=180.0).contains(v))
        .ok_or_else(|| ResidentError::invalid("longitude"))?;
    let lat: f64 = lat
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| (-90.0..=90.0).contains(v))
        .ok_or_else(|| ResidentError::invalid("latitude"))?;
    let metres: f64 = distance
        .trim()
        .parse()
        .ok()
        .filter(|d: &f64| d.is_finite() && (0.0..=20_000_000.0).contains(d))
        .ok_or_else(|| ResidentError::invalid("proximitydistance"))?;
    Ok(((lat, lon), metres))
}

fn centres_near(m: &Masterdata, at: (f64, f64), metres: f64) -> Result<Vec<&Centre>, ResidentError> {
    let near: Vec<&Centre> = m.centres_near(at, metres).into_iter().map(|(c, _)| c).collect();
    if near.is_empty() {
        return Err(ResidentError::MasterdataNotFound(CENTRE_NOT_FOUND));
    }
    Ok(near)
}

/// `GET /proxy/masterdata/getcoordinatespecificregistrationcenters/{lang}/{lon}/{lat}/{metres}`:
/// the centres within that distance, nearest first.
pub(crate) async fn centres_nearby(
    State(state): State<AppState>,
    Path((lang, lon, lat, distance)): Path<(String, String, String, String)>,
) -> Response {
    let result = (|| {
        let l = md_language(&state, &lang)?;
        let (at, metres) = point(&lon, &lat, &distance)?;
        let near = centres_near(&state.masterdata, at, metres)?;
        Ok(json!({"registrationCenters": near.iter().map(|c| centre_json(c, &l, false)).collect::<Vec<_>>()}))
    })();
    answer(&state, result)
}

/// `GET /proxy/masterdata/workingdays/{centre}/{lang}`: the days a centre opens, Sunday first.
pub(crate) async fn working_days(
    State(state): State<AppState>,
    Path((centre, lang)): Path<(String, String)>,
) -> Response {
    let result = md_language(&state, &lang).and_then(|l| {
        let m = &state.masterdata;
        let c = m.centre(&centre).ok_or(ResidentError::MasterdataNotFound("Center ID is invalid"))?;
        let days: Vec<Value> = m
            .working_days(c)
            .iter()
            .map(|d| json!({"code": d.code, "name": d.name.get(&l), "order": d.order, "languageCode": l}))
            .collect();
        Ok(json!({"workingdays": days}))
    });
    answer(&state, result)
}

/// `09:00:00` as the centre list prints it: `09.00 AM`.
fn clock_text(t: &str) -> String {
    let Some(s) = seconds_of_day(t) else { return t.to_owned() };
    let (h, m) = (s / 3600, s / 60 % 60);
    let (h12, half) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!("{h12:02}.{m:02} {half}")
}

/// The list of centres as a PDF in one language: name, address, phone, days and hours.
fn centres_pdf(
    state: &AppState,
    headers: &HeaderMap,
    lang: &str,
    centres: &[&Centre],
) -> Result<Response, ResidentError> {
    let m = &state.masterdata;
    let t = |key: &str| translate(lang, key);
    let rows = centres
        .iter()
        .take(MAX_CENTRES)
        .enumerate()
        .map(|(i, c)| {
            let days = m.working_days(c);
            let span = match (days.first(), days.last()) {
                (Some(a), Some(b)) if a.code == b.code => a.name.get(lang).cloned().unwrap_or_default(),
                (Some(a), Some(b)) => {
                    format!("{}-{}", a.name.get(lang).map_or("", |s| s), b.name.get(lang).map_or("", |s| s))
                }
                _ => String::new(),
            };
            vec![
                (i + 1).to_string(),
                c.name.get(lang).cloned().unwrap_or_default(),
                c.address
                    .get(lang)
                    .map(|a| a.iter().filter(|s| !s.trim().is_empty()).cloned().collect::<Vec<_>>().join(", "))
                    .unwrap_or_default(),
                c.contact_phone.clone(),
                format!("{span} | {}-{}", clock_text(&c.opens), clock_text(&c.closes)),
            ]
        })
        .collect();
    let doc = PlainDocument {
        title: t("centres-pdf-title"),
        language: lang.to_owned(),
        lines: vec![(t("history-pdf-generated"), super::ui_time(state, headers, state.clock.now()))],
        headers: vec![
            t("centres-pdf-number"),
            t("centres-pdf-name"),
            t("centres-pdf-address"),
            t("centres-pdf-phone"),
            t("centres-pdf-hours"),
        ],
        rows,
        footer: t("centres-pdf-footer"),
    };
    let pdf = state.cards.document(&doc).map_err(ResidentError::Internal)?;
    Ok(super::pdf(pdf, &format!("Registration_centers_{}.pdf", super::file_stamp(headers, state.clock.now()))))
}

fn pdf_answer(state: &AppState, id: &str, result: Result<Response, ResidentError>) -> Response {
    result.unwrap_or_else(|e| super::refusal(id, "1.0", state.clock.now(), &e))
}

#[derive(serde::Deserialize)]
pub(crate) struct CentresListQuery {
    langcode: Option<String>,
    hierarchylevel: Option<String>,
    name: Option<String>,
}

/// `GET /download/registration-centers-list?langcode&hierarchylevel&name`: the search's centres
/// (at most 100) as a PDF.
pub(crate) async fn centres_list_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CentresListQuery>,
) -> Response {
    const ID: &str = "mosip.resident.download.reg.centers.list";
    let result = (|| {
        let l = language(&state, q.langcode.as_deref().unwrap_or_default())?;
        let lvl = level(q.hierarchylevel.as_deref().unwrap_or_default())?;
        let name = q
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ResidentError::MissingInput("name".into()))?;
        let found = centres_named(&state.masterdata, &l, lvl, name)?;
        centres_pdf(&state, &headers, &l, &found)
    })();
    pdf_answer(&state, ID, result)
}

#[derive(serde::Deserialize)]
pub(crate) struct NearestQuery {
    langcode: Option<String>,
    longitude: Option<String>,
    latitude: Option<String>,
    proximitydistance: Option<String>,
}

/// `GET /download/nearestRegistrationcenters?langcode&longitude&latitude&proximitydistance`.
pub(crate) async fn nearest_centres_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NearestQuery>,
) -> Response {
    const ID: &str = "mosip.resident.download.nearest.reg.centers";
    let result = (|| {
        let l = language(&state, q.langcode.as_deref().unwrap_or_default())?;
        let (at, metres) = point(
            q.longitude.as_deref().unwrap_or_default(),
            q.latitude.as_deref().unwrap_or_default(),
            q.proximitydistance.as_deref().unwrap_or_default(),
        )?;
        let near = centres_near(&state.masterdata, at, metres)?;
        centres_pdf(&state, &headers, &l, &near)
    })();
    pdf_answer(&state, ID, result)
}

#[derive(serde::Deserialize)]
pub(crate) struct SupportingQuery {
    langcode: Option<String>,
}

/// `GET /download/supporting-documents?langcode=`: the documents accepted as each proof, from
/// masterdata (MOSIP prints a fixed template instead).
pub(crate) async fn supporting_documents_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SupportingQuery>,
) -> Response {
    const ID: &str = "mosip.resident.download.supporting.documents";
    let result = (|| {
        let l = language(&state, q.langcode.as_deref().unwrap_or_default())?;
        let m = &state.masterdata;
        let t = |key: &str| translate(&l, key);
        // one row a document, the proof named on its first
        let mut rows = Vec::new();
        for c in m.categories() {
            for (i, d) in m.document_types(&c.code).iter().enumerate() {
                let proof = if i == 0 { c.name.get(&l).cloned().unwrap_or_default() } else { String::new() };
                rows.push(vec![proof, d.name.get(&l).cloned().unwrap_or_default()]);
            }
        }
        let doc = PlainDocument {
            title: t("documents-pdf-title"),
            language: l.clone(),
            lines: vec![(t("history-pdf-generated"), super::ui_time(&state, &headers, state.clock.now()))],
            headers: vec![t("documents-pdf-proof"), t("documents-pdf-accepted")],
            rows,
            footer: t("documents-pdf-footer"),
        };
        let pdf = state.cards.document(&doc).map_err(ResidentError::Internal)?;
        Ok(super::pdf(pdf, &format!("Supporting_documents_{}.pdf", super::file_stamp(&headers, state.clock.now()))))
    })();
    pdf_answer(&state, ID, result)
}

#[cfg(test)]
mod tests {
    use super::clock_text;

    #[test]
    fn centre_hours_print_on_a_twelve_hour_clock() {
        assert_eq!(clock_text("09:00:00"), "09.00 AM");
        assert_eq!(clock_text("17:30:00"), "05.30 PM");
        assert_eq!(clock_text("12:00:00"), "12.00 PM");
        assert_eq!(clock_text("00:15:00"), "12.15 AM");
    }
}
