//! The account: its page, the authentication locks, the VIDs (generating, revoking) and the card download.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use resident_domain::ResidentError;
use resident_domain::auth_usecases as uc;
use resident_domain::authtype::AuthType;
use resident_domain::card::{CardType, download_card};
use resident_domain::clock::epoch_ms;
use resident_domain::ids::Vid;
use resident_domain::ports::Resolved;
use serde::Deserialize;

use super::{
    CardForm, FieldError, LangQuery, acting, ctx, failure, forbidden, render, resident, to_login, transaction_id,
};
use crate::AppState;
use crate::portal::{Page, Visit};

#[derive(Template)]
#[template(path = "portal/account.html")]
struct AccountPage<'a> {
    p: &'a Page,
    welcome: String,
    signed_in: String,
}

pub(crate) async fn account(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let p = visit.page(&state);
    let name = who.identity.localized("fullName", p.lang.mosip()).unwrap_or_default().to_owned();
    let id_type = visit.session.as_ref().map(|s| s.id_type.clone()).unwrap_or_default();
    let last: String = who.uin.expose().chars().rev().take(2).collect::<Vec<_>>().into_iter().rev().collect();
    let t = AccountPage {
        welcome: p.ta("account-welcome", &[("name", name)]),
        signed_in: p.ta("account-signed-in", &[("idType", id_type), ("last", last)]),
        p: &p,
    };
    render(&visit, StatusCode::OK, &t)
}

struct LockRow {
    code: &'static str,
    name: String,
    locked: bool,
    state: String,
}

#[derive(Template)]
#[template(path = "portal/locks.html")]
struct LocksPage<'a> {
    p: &'a Page,
    rows: Vec<LockRow>,
    notice: Option<String>,
    error: Option<FieldError>,
}

async fn locks_page(state: &AppState, visit: &Visit, who: &Resolved, notice: Option<String>) -> Response {
    let p = visit.page(state);
    let states = match state.idrepo.auth_type_status(who).await {
        Ok(s) => s,
        Err(e) => return failure(state, visit, &e),
    };
    let now_ms = epoch_ms(visit.now);
    let rows = AuthType::ALL
        .iter()
        .map(|t| {
            let st = states.iter().find(|s| s.auth_type == *t);
            let locked = st.is_some_and(|s| s.locked_at(now_ms));
            let state = match st.and_then(|s| s.unlock_until_ms.filter(|u| *u > now_ms)) {
                Some(until) => p.ta(
                    "locks-unlocked-until",
                    &[("until", p.date(resident_domain::clock::from_epoch_ms(until), true))],
                ),
                None if locked => p.t("locks-locked"),
                None => p.t("locks-unlocked"),
            };
            LockRow { code: t.code(), name: p.t(&format!("auth-{}", t.code())), locked, state }
        })
        .collect();
    render(visit, StatusCode::OK, &LocksPage { p: &p, rows, notice, error: None })
}

pub(crate) async fn locks(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    locks_page(&state, &visit, &who, None).await
}

#[derive(Deserialize)]
pub(crate) struct LockForm {
    csrf: Option<String>,
    auth_type: Option<String>,
    action: Option<String>,
    duration: Option<i64>,
}

pub(crate) async fn locks_change(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LockForm>,
) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let types = match form.auth_type.as_deref() {
        Some("ALL") => AuthType::ALL.to_vec(),
        Some(t) => match AuthType::parse(t) {
            Some(t) => vec![t],
            None => return forbidden(&state, &visit),
        },
        None => return forbidden(&state, &visit),
    };
    let lock = form.action.as_deref() == Some("lock");
    let seconds = (!lock).then(|| form.duration.unwrap_or(0).clamp(0, 366 * 86400));
    match uc::set_auth_locks(&ctx(&state, &visit), &who, &id, &transaction_id(), &types, lock, seconds).await {
        Ok(_) => {
            let p = visit.page(&state);
            locks_page(&state, &visit, &who, Some(p.t("locks-done"))).await
        }
        Err(e) => failure(&state, &visit, &e),
    }
}

struct VidRow {
    vid: String,
    kind: String,
    expires: String,
    uses: String,
}

#[derive(Template)]
#[template(path = "portal/vids.html")]
struct VidsPage<'a> {
    p: &'a Page,
    vids: Vec<VidRow>,
    types: Vec<(String, String)>,
    notice: Option<String>,
    error: Option<FieldError>,
}

async fn vids_page(
    state: &AppState,
    visit: &Visit,
    who: &Resolved,
    notice: Option<String>,
    error: Option<FieldError>,
) -> Response {
    let p = visit.page(state);
    let records = match state.idrepo.vids(who, visit.now).await {
        Ok(v) => v,
        Err(e) => return failure(state, visit, &e),
    };
    let vids = records
        .iter()
        .map(|v| VidRow {
            vid: v.vid.expose().to_owned(),
            kind: p.t(&format!("vids-type-{}", v.vid_type)),
            expires: v.expires_at.map(|e| p.date(e, true)).unwrap_or_else(|| p.t("vids-never")),
            uses: v.transactions_left.map(|n| p.number(n)).unwrap_or_else(|| p.t("vids-unlimited")),
        })
        .collect();
    let types = ["Perpetual", "Temporary", "OneTimeUse"]
        .iter()
        .filter(|t| state.vid_policy.lookup(t).is_some())
        .map(|t| (t.to_string(), p.t(&format!("vids-type-{t}"))))
        .collect();
    let code = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    render(visit, code, &VidsPage { p: &p, vids, types, notice, error })
}

pub(crate) async fn vids(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    vids_page(&state, &visit, &who, None, None).await
}

#[derive(Deserialize)]
pub(crate) struct VidForm {
    csrf: Option<String>,
    vid_type: Option<String>,
}

pub(crate) async fn vids_generate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<VidForm>,
) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let vid_type = form.vid_type.unwrap_or_default();
    let p = visit.page(&state);
    match uc::generate_vid(&ctx(&state, &visit), &who, &id, &transaction_id(), &vid_type).await {
        Ok(done) => {
            let notice = p.ta("vids-created", &[("vid", done.value.expose().to_owned())]);
            vids_page(&state, &visit, &who, Some(notice), None).await
        }
        Err(ResidentError::VidAlreadyPresent | ResidentError::InvalidInput(_)) => {
            let error = FieldError { field: "vid_type", message: p.t("vids-limit") };
            vids_page(&state, &visit, &who, None, Some(error)).await
        }
        Err(e) => failure(&state, &visit, &e),
    }
}

#[derive(Deserialize)]
pub(crate) struct RevokeQuery {
    lang: Option<String>,
    vid: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/revoke.html")]
struct RevokePage<'a> {
    p: &'a Page,
    heading: String,
    vid: String,
}

/// The VID, if it is one of this resident's.
async fn own_vid(state: &AppState, who: &Resolved, value: Option<&str>) -> Option<Vid> {
    let vid = Vid::parse(value?.trim()).ok()?;
    let own = state.idrepo.vids(who, state.clock.now()).await.ok()?;
    own.iter().any(|v| v.vid == vid).then_some(vid)
}

pub(crate) async fn revoke_confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RevokeQuery>,
) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    let Some((who, _)) = resident(&state, &visit).await else { return to_login(&visit) };
    let Some(vid) = own_vid(&state, &who, q.vid.as_deref()).await else { return forbidden(&state, &visit) };
    let p = visit.page(&state);
    let t = RevokePage {
        heading: p.ta("vids-revoke-title", &[("vid", vid.expose().to_owned())]),
        vid: vid.expose().to_owned(),
        p: &p,
    };
    render(&visit, StatusCode::OK, &t)
}

#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    csrf: Option<String>,
    vid: Option<String>,
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<RevokeForm>,
) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let Some(vid) = own_vid(&state, &who, form.vid.as_deref()).await else { return forbidden(&state, &visit) };
    match uc::revoke_vid(&ctx(&state, &visit), &who, &id, &transaction_id(), &vid).await {
        Ok(_) => {
            let p = visit.page(&state);
            let notice = p.ta("vids-revoked", &[("vid", vid.expose().to_owned())]);
            vids_page(&state, &visit, &who, Some(notice), None).await
        }
        Err(e) => failure(&state, &visit, &e),
    }
}

#[derive(Template)]
#[template(path = "portal/card.html")]
struct CardPage<'a> {
    p: &'a Page,
}

pub(crate) async fn card(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let visit = Visit::new(&state, &headers, q.lang.as_deref()).await;
    if resident(&state, &visit).await.is_none() {
        return to_login(&visit);
    }
    let p = visit.page(&state);
    render(&visit, StatusCode::OK, &CardPage { p: &p })
}

pub(crate) async fn card_download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CardForm>,
) -> Response {
    let (visit, who, id) = match acting(&state, &headers, form.csrf.as_deref()).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let card_type = form.card_type.as_deref().and_then(CardType::parse).unwrap_or(CardType::Uin);
    let first = state.schema.languages().first();
    let done =
        download_card(&ctx(&state, &visit), state.cards.as_ref(), first, &who, &id, &transaction_id(), card_type).await;
    match done {
        Ok(done) => {
            let mut res = done.value.pdf.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            let name = if card_type == CardType::MaskedUin { "card-masked.pdf" } else { "card.pdf" };
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            visit.finish(res)
        }
        Err(e) => failure(&state, &visit, &e),
    }
}
