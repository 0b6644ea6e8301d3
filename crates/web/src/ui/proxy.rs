//! What MOSIP's app reads from the platform through resident services' proxies: the partners a
//! resident may choose from (for sharing their data, for a printed card).

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Errors, refusal, reply, resident};
use crate::AppState;

const PARTNERS_ID: &str = "mosip.resident.auth.proxy.partners";
const VERSION: &str = "1.0";

#[derive(serde::Deserialize)]
pub(crate) struct PartnerQuery {
    #[serde(rename = "partnerType")]
    partner_type: Option<String>,
}

/// `GET /auth-proxy/partners?partnerType=`: the active partners (of that type), as partner
/// management lists them: their id, name and type, nothing of how they authenticate.
pub(crate) async fn partners(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PartnerQuery>,
) -> Response {
    let r = match resident(&state, &headers, None).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let wanted = q.partner_type.as_deref().map(str::trim).filter(|t| !t.is_empty());
    match state.auth.partners().await {
        Ok(all) => {
            let listed: Vec<Value> = all
                .iter()
                .filter(|p| p.status == "ACTIVE" && wanted.is_none_or(|t| t.eq_ignore_ascii_case(&p.partner_type)))
                .map(|p| {
                    json!({
                        "partnerID": p.id,
                        "organizationName": p.name,
                        "partnerType": p.partner_type,
                        "status": "Active",
                    })
                })
                .collect();
            reply(Some(PARTNERS_ID), VERSION, r.now, json!({"partners": listed}), Errors::Null)
        }
        Err(e) => refusal(PARTNERS_ID, VERSION, r.now, &e.into()),
    }
}
