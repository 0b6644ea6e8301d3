//! The embedded print service's API for print partners (`Print_Partner`, registered with
//! `resident admin partner add --partner-type Print_Partner`): list the queue, take a job (and get the
//! card to print), report its progress. `Authorization: Bearer <partner key>`. Plain JSON (this API is
//! not part of MOSIP's resident contract); errors are `{"errors": [{"errorCode", "message"}]}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use resident_domain::ResidentError;
use resident_domain::audit::AuditContext;
use resident_domain::clock::mosip_datetime;
use resident_domain::print::{PrintJob, PrintRefusal, PrintService, PrintStatus};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::RequestMeta;
use crate::error::{ApiError, bare_error};
use crate::{AppState, tags};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrintJobView {
    pub id: String,
    /// The RES_REPRINT registration id.
    pub rid: String,
    /// `UIN` or `MASKED_UIN`.
    pub card_type: String,
    /// NEW, ISSUED, PRINTING, IN_TRANSIT, DELIVERED or FAILED.
    pub status: String,
    pub tracking_id: String,
    pub carrier_reference: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&PrintJob> for PrintJobView {
    fn from(j: &PrintJob) -> Self {
        PrintJobView {
            id: j.id.clone(),
            rid: j.rid.as_str().to_owned(),
            card_type: j.card_type.code().to_owned(),
            status: j.status.code().to_owned(),
            tracking_id: j.tracking_id.clone(),
            carrier_reference: j.carrier_ref.clone(),
            created_at: mosip_datetime(j.created_at),
            updated_at: mosip_datetime(j.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PrintJobList {
    pub jobs: Vec<PrintJobView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TakenJobView {
    pub job: PrintJobView,
    /// The card to print: a PDF, base64, encrypted with `cardPassword`.
    pub card: String,
    pub card_password: String,
    /// Name and postal address, one line each.
    pub recipient: Vec<String>,
}

fn refused(r: PrintRefusal) -> Response {
    let (status, code) = match r {
        PrintRefusal::NotFound => (StatusCode::NOT_FOUND, "PRT-JOB-001"),
        PrintRefusal::NotYours => (StatusCode::CONFLICT, "PRT-JOB-002"),
        PrintRefusal::WrongStep { .. } => (StatusCode::CONFLICT, "PRT-JOB-003"),
        PrintRefusal::ReasonMissing => (StatusCode::BAD_REQUEST, "PRT-JOB-004"),
    };
    bare_error(status, code, &r.message())
}

fn failed(e: ResidentError, now: time::OffsetDateTime) -> Response {
    ApiError::new(e, None, "v1", now).into_response()
}

fn service<'a>(state: &'a AppState, audit: &'a AuditContext, now: time::OffsetDateTime) -> PrintService<'a> {
    PrintService {
        queue: state.print_queue.as_ref(),
        identities: state.identities.as_ref(),
        cards: state.cards.as_ref(),
        templates: &state.templates,
        audit,
        now,
    }
}

/// The jobs a print partner may take (NEW) and its own open ones, oldest first (at most 100).
#[utoipa::path(get, path = "/{partnerId}/jobs", tag = tags::PRINT, params(("partnerId" = String, Path, description = "The print partner's id")),
    responses((status = 200, body = PrintJobList), (status = 401, description = "Unknown partner or wrong key")),
    security(("partner_key" = [])))]
pub async fn list(State(state): State<AppState>, headers: HeaderMap, Path(partner_id): Path<String>) -> Response {
    let now = state.clock.now();
    let result = async {
        let partner = super::require_partner(&state, &headers, &partner_id, "Print_Partner").await?;
        Ok::<_, ResidentError>(state.print_queue.print_jobs_for(&partner.id, 100).await?)
    }
    .await;
    match result {
        Ok(jobs) => Json(PrintJobList { jobs: jobs.iter().map(PrintJobView::from).collect() }).into_response(),
        Err(e) => failed(e, now),
    }
}

/// Take a NEW job: it becomes ISSUED to this partner, who receives the card to print and the
/// recipient's address. A job taken by another partner answers 409.
#[utoipa::path(post, path = "/{partnerId}/jobs/{jobId}/take", tag = tags::PRINT,
    params(("partnerId" = String, Path, description = "The print partner's id"), ("jobId" = String, Path, description = "The job")),
    responses((status = 200, body = TakenJobView), (status = 401), (status = 404, description = "PRT-JOB-001"), (status = 409, description = "PRT-JOB-002/003")),
    security(("partner_key" = [])))]
pub async fn take(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Path((partner_id, job_id)): Path<(String, String)>,
) -> Response {
    let now = state.clock.now();
    let result = async {
        let partner = super::require_partner(&state, &headers, &partner_id, "Print_Partner").await?;
        let audit = meta.audit_context(&state, &format!("partner:{}", partner.id));
        service(&state, &audit, now).take(&partner, &job_id).await
    }
    .await;
    match result {
        Ok(Ok(t)) => Json(TakenJobView {
            job: PrintJobView::from(&t.job),
            card: base64::engine::general_purpose::STANDARD.encode(&t.card.pdf),
            card_password: t.card_password,
            recipient: t.recipient,
        })
        .into_response(),
        Ok(Err(r)) => refused(r),
        Err(e) => failed(e, now),
    }
}

/// Report a job's next step: `{"status": "PRINTING" | "IN_TRANSIT" | "DELIVERED" | "FAILED",
/// "carrierReference": "…" (optional), "reason": "…" (required for FAILED)}`. Each step is told to
/// the resident and shows on their RID.
#[utoipa::path(post, path = "/{partnerId}/jobs/{jobId}/status", tag = tags::PRINT,
    params(("partnerId" = String, Path, description = "The print partner's id"), ("jobId" = String, Path, description = "The job")),
    request_body(content = Object, description = "{status, carrierReference?, reason?}"),
    responses((status = 200, body = PrintJobView), (status = 400, description = "PRT-JOB-004 or a bad body"), (status = 401), (status = 404), (status = 409)),
    security(("partner_key" = [])))]
pub async fn report(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Path((partner_id, job_id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = state.clock.now();
    let result = async {
        let partner = super::require_partner(&state, &headers, &partner_id, "Print_Partner").await?;
        if !crate::middleware::declares_json(&headers) {
            return Err(crate::middleware::not_json());
        }
        let body: Value = body
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| ResidentError::BadRequest("the body must be JSON".into()))?;
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let status =
            field("status").and_then(|s| PrintStatus::parse(&s)).ok_or_else(|| ResidentError::invalid("status"))?;
        for (k, max) in [("reason", 512), ("carrierReference", 128)] {
            if field(k).is_some_and(|v| v.chars().count() > max) {
                return Err(ResidentError::invalid(k));
            }
        }
        let audit = meta.audit_context(&state, &format!("partner:{}", partner.id));
        service(&state, &audit, now).report(&partner, &job_id, status, field("carrierReference"), field("reason")).await
    }
    .await;
    match result {
        Ok(Ok(job)) => Json(PrintJobView::from(&job)).into_response(),
        Ok(Err(r)) => refused(r),
        Err(e @ (ResidentError::InvalidInput(_) | ResidentError::BadRequest(_))) => {
            bare_error(StatusCode::BAD_REQUEST, e.code(), &e.message())
        }
        Err(e) => failed(e, now),
    }
}
