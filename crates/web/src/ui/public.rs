//! What the app needs around the journeys: its configuration (`ui-properties`), the header's
//! profile, its audit trail, and "Get my UIN" without login (the application's stage, the OTP, the
//! card).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use resident_domain::ResidentError;
use resident_domain::audit::AuditRecord;
use resident_domain::card::{CardType, download_card as issue_card};
use resident_domain::clock::mosip_datetime;
use resident_domain::usecases::{aid_stage as stage_of, card_subject};
use serde_json::{Map, Value, json};

use super::{Errors, refusal, reply, resident};
use crate::AppState;
use crate::api::auth::send_otp;
use crate::envelope::{self, text};

/// `GET /proxy/config/ui-properties`: the settings the app reads at start, from this server's
/// configuration (MOSIP's key names; each value a string).
pub(crate) async fn ui_properties(State(state): State<AppState>) -> Response {
    let now = state.clock.now();
    let langs = state.schema.languages();
    // the app takes one mandatory language and offers only those it ships
    const APP_LANGUAGES: [&str; 6] = ["eng", "ara", "fra", "hin", "tam", "kan"];
    let offered: Vec<&str> = langs
        .mandatory
        .iter()
        .chain(langs.optional.iter())
        .map(String::as_str)
        .filter(|l| APP_LANGUAGES.contains(l))
        .collect();
    let mandatory = offered.first().copied().unwrap_or("eng");
    let optional: Vec<&str> = offered.iter().skip(1).copied().collect();
    let idle = state.portal.idle.as_secs().max(60);
    let s = |v: &str| Value::String(v.to_owned());
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    put("auth.types.allowed", s("otp-email,otp-phone,demo,bio-FINGER,bio-IRIS,bio-FACE"));
    put("mosip.mandatory-languages", s(mandatory));
    put("mosip.optional-languages", s(&optional.join(",")));
    put("mosip.kernel.otp.expiry-time", s(&state.otp_policy.validity_seconds.to_string()));
    put("mosip.kernel.uin.length", s("10"));
    put("mosip.kernel.vid.length", s("16"));
    put("mosip.kernel.rid.length", s("29"));
    put("mosip.resident.captcha.enable", s("false"));
    put("mosip.resident.captcha.sitekey", s(""));
    put("mosip.resident.api.id.otp.request", s("mosip.identity.otp.internal"));
    put("mosip.resident.api.version.otp.request", s("1.0"));
    put("mosip.resident.request.response.version", s("1.0"));
    put("mosip.resident.revokevid.id", s("mosip.resident.vid.revoke"));
    put("resident.vid.id.generate", s("mosip.resident.vid.generate"));
    put("resident.vid.id", s("mosip.resident.vid"));
    put("resident.vid.version", s("v1"));
    put("resident.vid.version.new", s("1.0"));
    put("resident.revokevid.id", s("mosip.resident.vidstatus"));
    put("resident.revokevid.version.new", s("1.0"));
    put("resident.updateuin.id", s("mosip.resident.updateuin"));
    put("resident.contact.details.update.id", s("mosip.resident.contact.details.update.id"));
    put("mosip.resident.download.personalized.card.id", s("mosip.resident.download.personalized.card"));
    put("mosip.resident.transliteration.transliterate.id", s("mosip.resident.transliteration.transliterate"));
    put("resident.validation.event-id.regex", s("^[0-9]{16}$"));
    put("resident.ui.notification.update.interval.seconds", s("60"));
    // the app logs out after this long idle, warning a minute before; it pings to stay alive
    put("mosip.webui.auto.logout.idle", s(&(idle.saturating_sub(60)).max(60).to_string()));
    put("mosip.webui.auto.logout.timeout", s("60"));
    put("mosip.webui.auto.logout.ping", s("30"));
    put(
        "resident.view.history.serviceType.filters",
        s("ALL,AUTHENTICATION_REQUEST,SERVICE_REQUEST,DATA_UPDATE_REQUEST,ID_MANAGEMENT_REQUEST,DATA_SHARE_REQUEST"),
    );
    put("resident.view.history.status.filters", s("ALL,SUCCESS,IN_PROGRESS,FAILED,CANCELED"));
    put("resident.grievance-redressal.alt-email.chars.limit", s("128"));
    put("resident.grievance-redressal.alt-phone.chars.limit", s("64"));
    put("resident.grievance-redressal.comments.chars.limit", s("1024"));
    put("resident.purpose.allowed.special.char.regex", s("^[\\r\\nA-Za-z0-9 .,'-]+$"));
    put("resident.nearby.centers.distance.meters", s("2000"));
    // where the address levels start: the country, the root of the masterdata's locations
    put("resident.update-uin.machine-zone-code", s(state.masterdata.root()));
    put("mosip.resident.zoom", s("14"));
    put("mosip.resident.minZoom", s("5"));
    put("mosip.resident.maxZoom", s("18"));
    for (key, name) in [
        ("mosip.resident.ack.name.convention", "Ack_{featureName}_{eventId}_{timestamp}"),
        ("mosip.resident.ack.manage_my_vid.name.convention", "Ack_{featureName}_{eventId}_{timestamp}"),
        ("mosip.resident.ack.secure_my_id.name.convention", "Ack_{featureName}_{eventId}_{timestamp}"),
        ("mosip.resident.ack.personalised_card.name.convention", "Ack_{featureName}_{eventId}_{timestamp}"),
        ("mosip.resident.ack.share_credential.name.convention", "Ack_{featureName}_{eventId}_{timestamp}"),
        ("mosip.resident.ack.order_physical_card.name.convention", "Ack_{featureName}_{eventId}_{timestamp}"),
        ("mosip.resident.ack.update_my_data.name.convention", "Ack_{featureName}_{eventId}_{timestamp}"),
        ("mosip.resident.uin.card.name.convention", "UIN_{eventId}_{timestamp}"),
        ("mosip.resident.vid.card.name.convention", "VID_{eventId}_{timestamp}"),
        ("mosip.resident.download.personalized.card.naming.convention", "Personalised_card_{eventId}_{timestamp}"),
        ("mosip.resident.download.service.history.file.name.convention", "View_history_{timestamp}"),
        ("mosip.resident.download.registration.centre.file.name.convention", "Registration_centers_{timestamp}"),
        (
            "mosip.resident.download.nearest.registration.centre.file.name.convention",
            "Registration_centers_{timestamp}",
        ),
        ("mosip.resident.download.supporting.document.file.name.convention", "Supporting_documents_{timestamp}"),
    ] {
        put(key, s(name));
    }
    reply(Some("resident.ui.properties"), "1.0", now, Value::Object(m), Errors::Null)
}

/// `GET /profile`: the header's name, photo and contacts of the logged-in resident.
pub(crate) async fn profile(State(state): State<AppState>, headers: HeaderMap) -> Response {
    const API: &str = "mosip.resident.profile";
    let r = match resident(&state, &headers, None).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let lang = state.schema.languages().mandatory.first().cloned().unwrap_or_else(|| "eng".into());
    let documents = match state.idrepo.documents(&r.who).await {
        Ok(d) => d,
        Err(e) => return refusal(API, "1.0", r.now, &e),
    };
    let photo = documents.iter().find(|d| d.category == "photo" || d.category == "face").and_then(|d| {
        let kind = match d.format.to_ascii_lowercase().as_str() {
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            _ => return None,
        };
        Some(json!({"data": format!("data:{kind};base64,{}", base64::engine::general_purpose::STANDARD.encode(&d.content))}))
    });
    let identity = &r.who.identity;
    let name = identity.localized("fullName", &lang).unwrap_or_default().to_owned();
    let field = |k: &str| identity.0.get(k).and_then(Value::as_str).map(str::to_owned);
    let body = json!({
        "fullName": name,
        // this session's start (the previous one's is not kept once it ended)
        "lastLogin": super::ui_time(&state, &headers, r.session.created_at),
        "photo": photo.unwrap_or_else(|| json!({})),
        "email": field("email"),
        "phone": field("phone"),
    });
    reply(Some(API), "1.0", r.now, body, Errors::Null)
}

/// A field of the app's audit event, bounded and on one line.
fn audit_field(m: &Map<String, Value>, key: &str, limit: usize) -> String {
    text(m, key).unwrap_or("-").chars().filter(|c| !c.is_control()).take(limit).collect()
}

/// `POST /proxy/audit/log` (before login) and `/auth-proxy/audit/log`: the app's own trail (pages
/// opened, buttons pressed) into the audit log, with who the session says, not what the app says.
/// MOSIP answers with an empty body.
pub(crate) async fn audit_log(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = state.clock.now();
    let Ok(body) = envelope::json_body(body) else {
        return refusal("mosip.resident.audit", "1.0", now, &ResidentError::BadRequest("audit event".into()));
    };
    let user = match resident(&state, &headers, None).await {
        Ok(_) => "mosip-ui-resident",
        Err(_) => "anonymous",
    };
    let ctx = super::audit_context(&state, &headers, user);
    let record = AuditRecord {
        event_id: audit_field(&body, "auditEventId", 64),
        event_name: audit_field(&body, "auditEventName", 128),
        event_type: "BUSINESS".into(),
        action_at: now,
        host_name: ctx.host_name.clone(),
        host_ip: ctx.host_ip.clone(),
        app_id: "resident-ui".into(),
        app_name: "MOSIP Resident Portal app".into(),
        session_user_id: user.into(),
        session_user_name: user.into(),
        module_id: audit_field(&body, "moduleId", 64),
        module_name: audit_field(&body, "moduleName", 128),
        ref_id: None,
        ref_id_type: None,
        description: audit_field(&body, "description", 512),
        created_by: user.into(),
        request_id: ctx.request_id.clone(),
    };
    match state.audit.append(record).await {
        Ok(()) => axum::http::StatusCode::OK.into_response(),
        Err(e) => refusal("mosip.resident.audit", "1.0", now, &e.into()),
    }
}

/// `GET /aid-stage/{aid}` (no login): where an application stands.
pub(crate) async fn aid_stage(State(state): State<AppState>, headers: HeaderMap, Path(aid): Path<String>) -> Response {
    const API: &str = "mosip.resident.check-stage-status";
    let now = state.clock.now();
    let ctx = super::audit_context(&state, &headers, "anonymous");
    match stage_of(state.registrations.as_ref(), state.audit.as_ref(), &state.status_policy, &ctx, aid.trim(), now)
        .await
    {
        Ok(s) => reply(
            Some(API),
            "1.0",
            now,
            json!({"transactionStage": s.transaction_stage, "aidStatus": s.aid_status}),
            Errors::Empty,
        ),
        Err(e) => refusal(API, "1.0", now, &e),
    }
}

/// `POST /individualId/otp` (no login): an OTP for "Get my UIN", in IDA's answer shape with MOSIP
/// 1.2.1's spelling (`transactionId`).
pub(crate) async fn individual_otp(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.identity.otp.internal";
    let now = state.clock.now();
    let audit = super::audit_context(&state, &headers, "anonymous");
    let mut trn = None;
    let result = async {
        let mut body = envelope::json_body(body).map_err(|e| ResidentError::Ida("IDA-MLC-009", e.message()))?;
        trn = text(&body, "transactionId").map(str::to_owned);
        // an application id stands for the UIN it was given
        if let Some(given) = text(&body, "individualId").filter(|v| v.len() == 29).map(str::to_owned) {
            let id = card_subject(state.identities.as_ref(), &given).await?;
            body.insert("individualId".into(), Value::String(id.expose().to_owned()));
        }
        send_otp(&state, &audit, &body, API, "transactionId", &crate::api::auth::OtpFor::Resident, now).await
    }
    .await;
    let (response, errors) = match result {
        Ok(m) => (serde_json::to_value(m).unwrap_or(Value::Null), Value::Null),
        Err(e) => {
            if let Some(detail) = e.internal_detail() {
                tracing::error!(code = e.code(), detail, "individualId/otp failed");
            }
            (Value::Null, json!([{"errorCode": e.code(), "errorMessage": e.message(), "message": e.message()}]))
        }
    };
    axum::Json(json!({
        "id": API, "version": "1.0", "transactionId": trn, "responseTime": mosip_datetime(now),
        "errors": errors, "response": response, "metadata": null,
    }))
    .into_response()
}

/// `POST /download-card` (no login): the card of a UIN, VID or application, after its OTP.
pub(crate) async fn download_card(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    const API: &str = "mosip.resident.download.uin.card";
    let now = state.clock.now();
    let audit = super::audit_context(&state, &headers, "anonymous");
    let result = async {
        let body = envelope::json_body(body)?;
        if text(&body, "id") != Some(API) {
            return Err(ResidentError::invalid("id"));
        }
        if text(&body, "requesttime").and_then(resident_domain::clock::parse_mosip_datetime).is_none() {
            return Err(ResidentError::invalid("requesttime"));
        }
        let request = match body.get("request") {
            Some(Value::Object(m)) => m,
            _ => return Err(ResidentError::invalid("request")),
        };
        let trn = text(request, "transactionId")
            .filter(|t| t.len() == 10 && t.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| ResidentError::invalid("transactionId"))?;
        let given = text(request, "individualId").ok_or_else(|| ResidentError::MissingInput("individualId".into()))?;
        if !given.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ResidentError::invalid("individualId"));
        }
        let otp = text(request, "otp").ok_or_else(|| ResidentError::invalid("otp"))?;
        let id = card_subject(state.identities.as_ref(), given).await?;
        let ctx = crate::api::auth::context(&state, &audit, now);
        let who = resident_domain::auth_usecases::authorise_with_otp(&ctx, &id, trn, otp).await?;
        let first = state.schema.languages().first();
        issue_card(&ctx, state.cards.as_ref(), first, &who, &id, trn, CardType::Uin).await
    }
    .await;
    match result {
        Ok(done) => {
            let name = format!("Get_my_UIN_{}.pdf", super::file_stamp(&headers, now));
            super::with_event(super::pdf(done.value.pdf, &name), done.event_id.as_str())
        }
        Err(e) => refusal(API, "1.0", now, &e),
    }
}
