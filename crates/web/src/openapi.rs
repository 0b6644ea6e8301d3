//! The OpenAPI document as a client meets the API. The handlers' annotations give the paths, methods
//! and parameters; this module states, once for every operation, what MOSIP's contract really is:
//! the request envelope each endpoint checks (its `id`, `version`, `requesttime` and the fields of
//! `request`), and the answers, which for a business error are HTTP 200 with `errors` filled and
//! `response` null. Schemathesis runs over the result in CI (`tools/schemathesis.sh`): every answer
//! must match it, and a request that violates it must not be accepted as a success.

use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi;

const SCHEMAS: &str = "#/components/schemas/";

fn r(name: &str) -> Value {
    json!({"$ref": format!("{SCHEMAS}{name}")})
}

/// A string the server reads as present: not empty.
fn text() -> Value {
    json!({"type": "string", "minLength": 1})
}

fn digits(description: &str) -> Value {
    json!({"type": "string", "pattern": "^[0-9]+$", "description": description})
}

/// A pattern matching any of `words` in any letter case (what `eq_ignore_ascii_case` accepts).
fn any_case(words: &[&str]) -> String {
    let spelled: Vec<String> = words
        .iter()
        .map(|w| {
            w.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
                    } else {
                        regex_escape(c)
                    }
                })
                .collect()
        })
        .collect();
    format!("^({})$", spelled.join("|"))
}

/// The same, with spaces around (what `trim` then `eq_ignore_ascii_case` accepts).
fn any_case_trimmed(words: &[&str]) -> String {
    format!("^\\s*{}\\s*$", any_case(words).trim_start_matches('^').trim_end_matches('$'))
}

fn regex_escape(c: char) -> String {
    if "\\.^$|?*+()[]{}-".contains(c) { format!("\\{c}") } else { c.to_string() }
}

fn one_of_strings(values: &[&str], description: &str) -> Value {
    json!({"type": "string", "enum": values, "description": description})
}

/// An object with these properties, the `required` ones among them.
fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

/// The fields every OTP-protected resident request carries.
fn otp_fields(extra_required: &[&str], extra: Value) -> Value {
    let mut props = json!({
        "transactionID": {"type": "string", "minLength": 1, "description": "The transaction id the OTP was asked for with (ten letters or digits)"},
        "individualId": digits("The resident's UIN or VID"),
        "otp": {"type": "string", "minLength": 1, "description": "The OTP sent to the resident"}
    });
    if let (Some(p), Value::Object(e)) = (props.as_object_mut(), extra) {
        p.extend(e);
    }
    let mut required = vec!["transactionID", "individualId", "otp"];
    required.extend_from_slice(extra_required);
    object(&required, props)
}

fn card_type() -> Value {
    json!({"type": "string", "pattern": any_case(&["UIN", "MASKED_UIN"]), "description": "UIN or MASKED_UIN (any case)"})
}

fn id_type() -> Value {
    json!({"type": "string", "pattern": any_case(&["UIN", "VID"]), "description": "Which id `individualId` is: UIN or VID (any case)"})
}

/// MOSIP's resident request envelope: `id` and `version` checked when `api` is given.
fn resident_request(api: Option<&str>, request: Value) -> Value {
    match api {
        Some(api) => object(
            &["id", "version", "requesttime", "request"],
            json!({
                "id": {"type": "string", "enum": [api]},
                "version": {"type": "string", "enum": ["v1"]},
                "requesttime": r("MosipDateTime"),
                "request": request
            }),
        ),
        // MOSIP 1.2.0 reads only `request` here
        None => object(
            &["request"],
            json!({"id": {"type": "string"}, "version": {"type": "string"}, "requesttime": {"type": "string"}, "request": request}),
        ),
    }
}

/// A resident answer: the success envelope with `response`, or the error envelope.
fn resident_answer(response: Value) -> Value {
    json!({"anyOf": [
        object(&["id", "version", "responsetime", "response", "errors"], json!({
            "id": {"type": "string"}, "version": {"type": "string"}, "responsetime": r("MosipDateTime"),
            "response": response, "errors": {"type": "null"}
        })),
        r("ErrorEnvelope")
    ]})
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

/// The shared pieces: a MOSIP date-time, the error envelopes.
fn components() -> Value {
    json!({
        "MosipDateTime": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$",
            "description": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z' (UTC; MOSIP writes three fraction digits, reads none to nine)", "example": "2026-11-26T09:00:00.000Z"},
        "ErrorEnvelope": {
            "description": "A refused request (MOSIP answers most with HTTP 200): `errors` holds one error, `response` is null",
            "type": "object",
            "required": ["responsetime", "response", "errors"],
            "properties": {
                "id": {"type": ["string", "null"]},
                "version": {"type": ["string", "null"]},
                "responsetime": r("MosipDateTime"),
                "response": {"type": "null"},
                "errors": {"type": "array", "minItems": 1, "items": r("ServiceError")}
            }
        },
        "BareError": {
            "description": "An error outside any API's envelope (unknown path, overload)",
            "type": "object",
            "required": ["errors"],
            "properties": {"errors": {"type": "array", "minItems": 1, "items": r("ServiceError")}}
        },
        "IdaAnswer": {
            "description": "ID Authentication's envelope: `errors` (with `errorMessage`) filled and `response` null on a refusal",
            "type": "object",
            "required": ["id", "version", "responseTime", "errors", "response"],
            "properties": {
                "id": {"type": "string"},
                "version": {"type": "string"},
                "transactionID": {"type": ["string", "null"]},
                "responseTime": r("MosipDateTime"),
                "errors": {"type": ["array", "null"], "items": r("IdaError")},
                "response": {"anyOf": [{"type": "null"}, r("MaskedContacts")]},
                "metadata": {"type": "null"}
            }
        }
    })
}

/// An IDA request (`/req/otp`, a partner's OTP): IDA's own envelope, no `request` member.
fn ida_otp_request(api: &str) -> Value {
    object(
        &["id", "requestTime", "transactionID", "individualId", "otpChannel"],
        json!({
            "id": {"type": "string", "enum": [api]},
            "version": {"type": "string"},
            "requestTime": r("MosipDateTime"),
            "transactionID": {"type": "string", "pattern": "^[A-Za-z0-9]{10}$"},
            "individualId": digits("UIN or VID"),
            "otpChannel": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": any_case(&["EMAIL", "PHONE"]), "description": "EMAIL or PHONE (any case)"}}
        }),
    )
}

/// One operation's contract: its request body (if it reads one) and its HTTP 200 answers.
struct Contract {
    method: &'static str,
    path: &'static str,
    request: Option<Value>,
    ok: Value,
}

fn contracts() -> Vec<Contract> {
    let ok_json = |response: Value| json!({"description": "The answer, or a MOSIP error envelope", "content": json_content(resident_answer(response))});
    let binary = |media: &[&str]| {
        let mut content = Map::new();
        for m in media {
            content.insert((*m).to_owned(), json!({"schema": {"type": "string", "format": "binary"}}));
        }
        content.insert("application/json".into(), json!({"schema": r("ErrorEnvelope")}));
        json!({"description": "The document, or a MOSIP error envelope (JSON)", "content": content})
    };
    vec![
        Contract {
            method: "post",
            path: "/rid/check-status",
            request: Some(resident_request(
                Some("mosip.resident.checkstatus"),
                object(
                    &["individualId", "individualIdType"],
                    json!({"individualId": digits("The 29-digit RID"), "individualIdType": {"type": "string", "pattern": any_case(&["RID"]), "description": "RID (any case)"}}),
                ),
            )),
            ok: ok_json(r("RidStatus")),
        },
        Contract {
            method: "post",
            path: "/req/otp",
            request: Some(ida_otp_request("mosip.identity.otp.internal")),
            ok: json!({"description": "Where the OTP went, or IDA's error envelope", "content": json_content(r("IdaAnswer"))}),
        },
        Contract {
            method: "post",
            path: "/vid",
            request: Some(resident_request(
                Some("mosip.resident.vid"),
                otp_fields(
                    &["vidType"],
                    json!({"vidType": {"type": "string", "description": "A VID type of the VID policy (Perpetual, Temporary)"}}),
                ),
            )),
            ok: ok_json(r("VidResponse")),
        },
        Contract {
            method: "patch",
            path: "/vid/{vid}",
            request: Some(resident_request(
                Some("mosip.resident.vidstatus"),
                otp_fields(
                    &["vidStatus"],
                    json!({"vidStatus": {"type": "string", "pattern": any_case(&["REVOKED"]), "description": "REVOKED (any case)"}, "individualIdType": id_type()}),
                ),
            )),
            ok: ok_json(r("MessageResponse")),
        },
        Contract {
            method: "post",
            path: "/req/auth-lock",
            request: Some(resident_request(
                Some("mosip.resident.authlock"),
                otp_fields(
                    &["authType"],
                    json!({"authType": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1},
                    "description": "demo, bio-FINGER, bio-IRIS, bio-FACE, otp-email, otp-phone or ALL"}}),
                ),
            )),
            ok: ok_json(r("StatusResponse")),
        },
        Contract {
            method: "post",
            path: "/req/auth-unlock",
            request: Some(resident_request(
                Some("mosip.resident.authunlock"),
                otp_fields(
                    &["authType", "unlockForSeconds"],
                    json!({"authType": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                           "unlockForSeconds": {"type": ["string", "integer"], "description": "Seconds the types stay unlocked (0: until locked again)"}}),
                ),
            )),
            ok: ok_json(r("StatusResponse")),
        },
        Contract {
            method: "post",
            path: "/req/auth-history",
            request: Some(resident_request(
                Some("mosip.resident.authhistory"),
                otp_fields(
                    &[],
                    json!({"pageStart": {"type": ["string", "integer", "null"]}, "pageFetch": {"type": ["string", "integer", "null"]}}),
                ),
            )),
            ok: ok_json(r("AuthHistoryResponse")),
        },
        Contract {
            method: "post",
            path: "/req/data-access",
            request: Some(resident_request(
                Some("mosip.resident.dataaccess"),
                otp_fields(
                    &[],
                    json!({"pageStart": {"type": ["string", "integer", "null"]}, "pageFetch": {"type": ["string", "integer", "null"]}}),
                ),
            )),
            ok: ok_json(r("DataAccessResponse")),
        },
        Contract { method: "get", path: "/data-access", request: None, ok: ok_json(r("DataAccessResponse")) },
        Contract {
            method: "post",
            path: "/req/print-uin",
            request: Some(resident_request(
                Some("mosip.resident.printuin"),
                otp_fields(
                    &["individualIdType", "cardType"],
                    json!({"individualIdType": id_type(), "cardType": card_type()}),
                ),
            )),
            ok: ok_json(r("ReprintResponse")),
        },
        Contract {
            method: "post",
            path: "/req/euin",
            request: Some(resident_request(
                Some("mosip.resident.euin"),
                otp_fields(
                    &["individualIdType", "cardType"],
                    json!({"individualIdType": id_type(), "cardType": card_type()}),
                ),
            )),
            ok: binary(&["application/pdf"]),
        },
        Contract {
            method: "post",
            path: "/req/update-uin",
            request: Some(resident_request(
                Some("mosip.resident.updateuin"),
                otp_fields(
                    &["individualIdType", "identityJson"],
                    json!({
                        "individualIdType": id_type(),
                        "identityJson": {"type": "string", "minLength": 1, "description": "base64url of {\"identity\": {...}}, updatable fields only"},
                        "documents": {"type": ["array", "null"], "items": object(&["name", "value"], json!({"name": text(), "value": {"type": "string", "minLength": 1, "description": "base64"}}))}
                    }),
                ),
            )),
            ok: ok_json(r("UpdateResponse")),
        },
        Contract {
            method: "post",
            path: "/req/credential",
            request: Some(resident_request(
                None,
                otp_fields(
                    &["credentialType", "issuer"],
                    json!({
                        "credentialType": one_of_strings(&["euin", "reprint", "qrcode", "vercred"], "The credential type (exact spelling)"),
                        "issuer": {"type": "string", "minLength": 1, "maxLength": 64, "description": "The partner"},
                        "encrypt": {"type": ["boolean", "string", "null"], "description": "true or false"},
                        "encryptionKey": {"type": ["string", "null"]},
                        "sharableAttributes": {"type": ["array", "null"], "items": {"type": "string"}},
                        "additionalData": {}
                    }),
                ),
            )),
            ok: ok_json(r("CredentialRequestResponse")),
        },
        Contract {
            method: "get",
            path: "/req/credential/status/{requestId}",
            request: None,
            ok: ok_json(r("CredentialStatusResponse")),
        },
        Contract {
            method: "get",
            path: "/req/credential/cancel/{requestId}",
            request: None,
            ok: ok_json(r("CredentialRequestResponse")),
        },
        Contract {
            method: "get",
            path: "/req/card/{requestId}",
            request: None,
            ok: binary(&["application/pdf", "application/jwt"]),
        },
        Contract {
            method: "get",
            path: "/req/policy/partnerId/{partnerId}/credentialType/{credentialType}",
            request: None,
            ok: ok_json(json!({"type": "object"})),
        },
    ]
}

/// The embedded platform's operations (outside `/resident/v1`), whose answers are their own services'.
fn platform_contracts() -> Vec<Contract> {
    let ida = |response: Value| {
        json!({"description": "IDA's envelope: `errors` filled on a refusal", "content": json_content(json!({
            "type": "object",
            "required": ["id", "version", "responseTime", "errors", "response"],
            "properties": {
                "id": {"type": "string"}, "version": {"type": "string"},
                "transactionID": {"type": ["string", "null"]}, "responseTime": r("MosipDateTime"),
                "errors": {"type": ["array", "null"], "items": r("IdaError")},
                "response": {"anyOf": [{"type": "null"}, response]},
                "metadata": {"type": "null"}
            }
        }))})
    };
    vec![
        Contract {
            method: "post",
            path: "/idauthentication/v1/otp/{partnerId}",
            request: Some(ida_otp_request("mosip.identity.otp")),
            ok: ida(r("MaskedContacts")),
        },
        Contract {
            method: "post",
            path: "/idauthentication/v1/auth/{partnerId}",
            request: Some(object(
                &["id", "requestTime", "transactionID", "consentObtained", "individualId", "request"],
                json!({
                    "id": {"type": "string", "enum": ["mosip.identity.auth"]},
                    "version": {"type": "string"},
                    "requestTime": r("MosipDateTime"),
                    "transactionID": {"type": "string", "pattern": "^[A-Za-z0-9]{10}$"},
                    "consentObtained": {"type": "boolean", "enum": [true]},
                    "individualId": digits("UIN or VID"),
                    "request": {"type": "object", "description": "`demographics` ({name: [{language, value}], dob, gender, phoneNumber, emailId}) and/or `otp`",
                        "properties": {"otp": {"type": "string"}, "demographics": {"type": "object"}}}
                }),
            )),
            ok: ida(object(
                &["authStatus"],
                json!({"authStatus": {"type": "boolean"}, "authToken": {"type": ["string", "null"]}}),
            )),
        },
        Contract {
            method: "post",
            path: "/idrepository/v1/identity/",
            request: Some(object(
                &["id", "version", "requesttime", "request"],
                json!({
                    "id": {"type": "string", "enum": ["mosip.id.create"]},
                    "version": {"type": "string", "enum": ["v1"]},
                    "requesttime": r("MosipDateTime"),
                    "request": object(&["registrationId", "identity"], json!({
                        "registrationId": text(),
                        "identity": {"type": "object", "description": "The identity, in the ID schema's fields"},
                        "documents": {"type": "array", "items": object(&["category", "value"], json!({"category": text(), "value": {"type": "string", "description": "base64url"}}))}
                    }))
                }),
            )),
            ok: json!({"description": "Created, or a MOSIP error envelope", "content": json_content(resident_answer(r("IdentityCreated")))}),
        },
        Contract {
            method: "post",
            path: "/print/v1/{partnerId}/jobs/{jobId}/status",
            request: Some(object(
                &["status"],
                json!({
                    "status": {"type": "string", "pattern": any_case_trimmed(&["NEW", "ISSUED", "PRINTING", "IN_TRANSIT", "DELIVERED", "FAILED"]),
                        "description": "The job's next step: PRINTING, IN_TRANSIT, DELIVERED or FAILED (any case)"},
                    "carrierReference": {"type": "string", "maxLength": 128},
                    "reason": {"type": "string", "maxLength": 512}
                }),
            )),
            ok: json!({"description": "The job as it is now", "content": json_content(r("PrintJobView"))}),
        },
    ]
}

/// The answers every resident operation may give besides its own: throttled, overloaded.
fn common_answers() -> Value {
    json!({
        "429": {"description": "Too many requests from this client or for this identity (RES-SER-510); `Retry-After`",
                "content": json_content(r("ErrorEnvelope"))},
        "503": {"description": "Overloaded or the database is unavailable; try again",
                "content": json_content(json!({"anyOf": [r("ErrorEnvelope"), r("BareError")]}))}
    })
}

/// The generated document with the contracts applied, as JSON (utoipa's types cannot hold every
/// JSON Schema construct used here).
pub(crate) fn finish(doc: &OpenApi) -> Value {
    let mut v = serde_json::to_value(doc).unwrap_or(Value::Null);
    if let Some(schemas) = v.pointer_mut("/components/schemas").and_then(Value::as_object_mut)
        && let Value::Object(extra) = components()
    {
        schemas.extend(extra);
    }
    let resident = contracts().into_iter().map(|c| (format!("{}{}", crate::CONTEXT_PATH, c.path), c, true));
    let platform = platform_contracts().into_iter().map(|c| (c.path.to_owned(), c, false));
    for (path, c, in_resident_api) in resident.chain(platform) {
        let path = path.replace('~', "~0").replace('/', "~1");
        let Some(op) = v.pointer_mut(&format!("/paths/{path}/{}", c.method)) else {
            debug_assert!(false, "no operation {} {}", c.method, c.path);
            continue;
        };
        if let Some(request) = c.request {
            op["requestBody"] = json!({"required": true, "content": json_content(request)});
        }
        op["responses"]["200"] = c.ok;
        if !in_resident_api {
            continue;
        }
        if let (Some(responses), Value::Object(common)) = (op["responses"].as_object_mut(), common_answers()) {
            responses.extend(common);
        }
        if SESSION_OPERATIONS.contains(&(c.method, c.path)) {
            op["responses"]["401"] = json!({"description": "No portal session (KER-ATH-401)",
                "content": json_content(r("ErrorEnvelope"))});
        }
    }
    v
}

/// The resident API's operations that take the portal's session cookie instead of an OTP.
const SESSION_OPERATIONS: [(&str, &str); 1] = [("get", "/data-access")];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_reaches_its_operation() {
        let (_, doc) = crate::routes();
        let v = serde_json::to_value(&doc).unwrap();
        for c in contracts() {
            let path = format!("{}{}", crate::CONTEXT_PATH, c.path);
            assert!(v["paths"][&path][c.method].is_object(), "{} {path}", c.method);
        }
        for c in platform_contracts() {
            assert!(v["paths"][c.path][c.method].is_object(), "{} {}", c.method, c.path);
        }
        let done = finish(&doc);
        assert_eq!(
            done["paths"]["/resident/v1/vid"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["anyOf"]
                [1]["$ref"],
            "#/components/schemas/ErrorEnvelope"
        );
    }
}

#[cfg(test)]
mod pattern_tests {
    #[test]
    fn any_case_spells_each_letter_both_ways() {
        assert_eq!(super::any_case(&["IN_TRANSIT", "ok"]), "^([Ii][Nn]_[Tt][Rr][Aa][Nn][Ss][Ii][Tt]|[Oo][Kk])$");
        assert_eq!(super::any_case_trimmed(&["ok"]), "^\\s*([Oo][Kk])\\s*$");
    }
}
