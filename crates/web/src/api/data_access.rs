//! Who used my data, as JSON: `POST /req/data-access` (OTP, MOSIP's envelope) and
//! `GET /data-access` (the portal's session cookie). Both read the resident's own records through
//! the same use case as the portal's page.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use resident_domain::ResidentError;
use resident_domain::access::{AccessFilter, DataAccess};
use resident_domain::audit::AuditEvent;
use resident_domain::clock::mosip_datetime;
use resident_domain::ports::Resolved;
use serde::Serialize;
use utoipa::ToSchema;

use super::RequestMeta;
use super::auth::{Call, otp_fields, page_value};
use crate::{AppState, tags};

/// One read of the resident's data by someone else.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataAccessItem {
    pub serial_number: u32,
    /// Sixteen digits; a grievance can name it.
    pub access_id: String,
    /// `yyyy-MM-ddTHH:mm:ss.SSSZ`, UTC.
    pub accessed_at: String,
    /// `OPERATOR`, `PARTNER` or `PLATFORM`.
    pub accessor_type: String,
    pub accessor_id: String,
    pub accessor_name: String,
    /// Names of the attributes and documents read (never values).
    pub attributes: Vec<String>,
    /// `MANUAL_VERIFICATION`, `PRINTING`, `CREDENTIAL`, `AUTHENTICATION` or `OVERSIGHT`.
    pub purpose: String,
    /// What the purpose refers to: a RID, a print order, a credential request, a transaction, a reason.
    pub purpose_reference: String,
    /// `CLI` or `API`.
    pub channel: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataAccessResponse {
    pub data_access: Vec<DataAccessItem>,
}

/// The most one answer holds.
const MAX_FETCH: u32 = 500;

fn items(list: &[DataAccess], offset: u32) -> Vec<DataAccessItem> {
    list.iter()
        .enumerate()
        .map(|(i, a)| DataAccessItem {
            serial_number: offset + i as u32 + 1,
            access_id: a.id.to_string(),
            accessed_at: mosip_datetime(a.at),
            accessor_type: a.accessor.kind.code().into(),
            accessor_id: a.accessor.id.clone(),
            accessor_name: a.accessor.name.clone(),
            attributes: a.what.clone(),
            purpose: a.purpose.code().into(),
            purpose_reference: a.purpose.reference(),
            channel: a.channel.code().into(),
        })
        .collect()
}

async fn read(
    state: &AppState,
    call: &Call<'_>,
    who: &Resolved,
    start: u32,
    fetch: u32,
) -> Result<DataAccessResponse, ResidentError> {
    let fetch = fetch.min(MAX_FETCH);
    let offset = (start - 1).saturating_mul(fetch);
    let list = resident_domain::access::own_accesses(
        state.accesses.as_ref(),
        &who.token,
        &AccessFilter::default(),
        offset,
        fetch,
    )
    .await?;
    let record = AuditEvent::AccessLogViewed.record(
        call.audit(),
        call.now(),
        Some((who.uin.masked(), "UIN")),
        format!("own record read: {} entries", list.len()),
    );
    state.audit.append(record).await?;
    Ok(DataAccessResponse { data_access: items(&list, offset) })
}

/// Who read this identity's personal data, newest first (`mosip.resident.dataaccess`, OTP). Not in
/// MOSIP: the same envelope as `/req/auth-history`; `pageStart` and `pageFetch` (from 1, at most
/// 500 per page) go together.
#[utoipa::path(post, path = "/req/data-access", tag = tags::RESIDENT, request_body(content = Object, description = "MOSIP envelope"),
    responses((status = 200, description = "The records, or a MOSIP error envelope", body = DataAccessResponse)))]
pub async fn by_otp(State(state): State<AppState>, meta: RequestMeta, body: Result<Bytes, BytesRejection>) -> Response {
    let call = Call::new(&state, &meta, "mosip.resident.dataaccess");
    let result = async {
        let request = call.request(body)?;
        let (id, trn, otp) = otp_fields(&request)?;
        let start = page_value(request.get("pageStart"), ResidentError::InvalidPageStart)?;
        let fetch = page_value(request.get("pageFetch"), ResidentError::InvalidPageFetch)?;
        let (start, fetch) = match (start, fetch) {
            (Some(s), Some(f)) => (s, f),
            (None, None) => (1, MAX_FETCH),
            (None, Some(_)) => return Err(ResidentError::InvalidPageStart),
            (Some(_), None) => return Err(ResidentError::InvalidPageFetch),
        };
        let who = call.authorise(&id, &trn, &otp).await?;
        Ok((read(&state, &call, &who, start, fetch).await?, None))
    }
    .await;
    call.finish(result).await
}

/// The same for a resident logged in to the portal (its session cookie); `KER-ATH-401` without one.
#[utoipa::path(get, path = "/data-access", tag = tags::RESIDENT,
    params(("pageStart" = Option<u32>, Query, description = "From 1"), ("pageFetch" = Option<u32>, Query, description = "1 to 500")),
    responses((status = 200, description = "The records, or a MOSIP error envelope", body = DataAccessResponse)))]
pub async fn by_session(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let call = Call::new(&state, &meta, "mosip.resident.dataaccess");
    let result = async {
        // read as pairs, so a malformed or repeated parameter gets MOSIP's answer, not axum's
        let Query(pairs) = query.map_err(|_| ResidentError::invalid("query"))?;
        let page = |key: &str, err: ResidentError| -> Result<Option<u32>, ResidentError> {
            let mut values = pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| serde_json::Value::String(v.clone()));
            let first = values.next();
            if values.next().is_some() {
                return Err(err);
            }
            page_value(first.as_ref(), err)
        };
        let start = page("pageStart", ResidentError::InvalidPageStart)?.unwrap_or(1);
        let fetch = page("pageFetch", ResidentError::InvalidPageFetch)?.unwrap_or(MAX_FETCH);
        let who = crate::portal::session_resident(&state, &headers).await.ok_or(ResidentError::Unauthenticated)?;
        Ok((read(&state, &call, &who, start, fetch).await?, None))
    }
    .await;
    call.finish(result).await
}
