//! Sharing a credential with a partner, with the resident's consent to the attributes sent.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{FieldError, LangQuery, acting, ctx, failure, render, resident, to_login, transaction_id};
use crate::AppState;
use crate::portal::{Page, Visit};

struct ShareOption {
    value: String,
    label: String,
    attributes: String,
}

#[derive(Template)]
#[template(path = "portal/share.html")]
struct SharePage<'a> {
    p: &'a Page,
    options: Vec<ShareOption>,
    attributes: Vec<(String, String)>,
    notice: Option<String>,
    error: Option<FieldError>,
}

pub(super) fn attribute_label(p: &Page, a: &str) -> String {
    match a {
        "UIN" | "photo" | "dataAccessLog" | "dateOfBirth" | "preferredLang" => p.t(&format!("attr-{a}")),
        other => p.t(&format!("field-{other}")),
    }
}

async fn share_page(state: &AppState, visit: &Visit, notice: Option<String>, error: Option<FieldError>) -> Response {
    let p = visit.page(state);
    let (policies, partners) = match (state.credentials.policies().await, state.auth.partners().await) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return failure(state, visit, &e.into()),
    };
    let mut attributes: Vec<(String, String)> = Vec::new();
    let options = policies
        .iter()
        .filter_map(|po| {
            let partner = partners.iter().find(|pa| pa.id == po.partner_id && pa.status == "ACTIVE")?;
            let type_name = resident_domain::credential::CREDENTIAL_TYPES
                .iter()
                .find(|(id, ..)| *id == po.credential_type)
                .map(|(_, name, _)| *name)
                .unwrap_or(&po.credential_type);
            for a in &po.attributes {
                if !attributes.iter().any(|(c, _)| c == a) {
                    attributes.push((a.clone(), attribute_label(&p, a)));
                }
            }
            Some(ShareOption {
                value: format!("{}|{}", po.partner_id, po.credential_type),
                label: format!("{} — {type_name}", partner.name),
                attributes: po.attributes.iter().map(|a| attribute_label(&p, a)).collect::<Vec<_>>().join(", "),
            })
        })
        .collect();
    let code = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    render(visit, code, &SharePage { p: &p, options, attributes, notice, error })
}

pub(crate) async fn share(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    if resident(&state, &visit).await.is_none() {
        return to_login(&visit);
    }
    share_page(&state, &visit, None, None).await
}

pub(crate) async fn share_send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let field = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let (visit, who, id) = match acting(&state, &headers, field("csrf")).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let p = visit.page(&state);
    let Some((partner, credential_type)) = field("choice").and_then(|c| c.split_once('|')) else {
        return share_page(
            &state,
            &visit,
            None,
            Some(FieldError { field: "choice", message: p.t("share-choose-missing") }),
        )
        .await;
    };
    if field("consent") != Some("yes") {
        return share_page(
            &state,
            &visit,
            None,
            Some(FieldError { field: "consent", message: p.t("share-consent-missing") }),
        )
        .await;
    }
    let policy = match state.credentials.policy(partner, credential_type).await {
        Ok(Some(po)) => po,
        Ok(None) => {
            return share_page(
                &state,
                &visit,
                None,
                Some(FieldError { field: "choice", message: p.t("share-choose-missing") }),
            )
            .await;
        }
        Err(e) => return failure(&state, &visit, &e.into()),
    };
    // what the resident ticked, within what the partner may receive
    let chosen: Vec<String> =
        pairs.iter().filter(|(k, v)| k == "attr" && policy.attributes.contains(v)).map(|(_, v)| v.clone()).collect();
    if chosen.is_empty() {
        return share_page(
            &state,
            &visit,
            None,
            Some(FieldError { field: "attributes", message: p.t("share-choose-missing") }),
        )
        .await;
    }
    let ask = resident_domain::credential::CredentialAsk {
        credential_type: credential_type.to_owned(),
        issuer: partner.to_owned(),
        encrypt: resident_domain::credential::is_card_type(credential_type),
        encryption_key: None,
        sharable_attributes: chosen,
    };
    match resident_domain::credential::request_credential(
        &ctx(&state, &visit),
        state.credentials.as_ref(),
        &who,
        &id,
        &transaction_id(),
        ask,
    )
    .await
    {
        Ok(done) => {
            let notice = p.ta("share-done", &[("id", done.value)]);
            share_page(&state, &visit, Some(notice), None).await
        }
        Err(e) => failure(&state, &visit, &e),
    }
}
