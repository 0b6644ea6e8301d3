//! The resident's ID card: what goes on it, the password that opens it (MOSIP's rule), and the port
//! that renders it. The card crate draws and signs; this module decides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::identity::IdentityJson;
use crate::ids::Uin;
use crate::ports::NewDocument;

/// `UIN`, `MASKED_UIN`, or `VID` (a card that shows one of the resident's VIDs in place of the UIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CardType {
    #[serde(rename = "UIN")]
    Uin,
    #[serde(rename = "MASKED_UIN")]
    MaskedUin,
    #[serde(rename = "VID")]
    Vid,
}

impl CardType {
    /// A `cardType` a request may ask for: `UIN` or `MASKED_UIN` (a VID card is asked for by its VID).
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_uppercase().as_str() {
            "UIN" => Some(CardType::Uin),
            "MASKED_UIN" => Some(CardType::MaskedUin),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            CardType::Uin => "UIN",
            CardType::MaskedUin => "MASKED_UIN",
            CardType::Vid => "VID",
        }
    }

    /// The UIN as the card shows it: in full, or all but the last four digits as `X` (a VID card
    /// does not show the UIN: see [`CardRequest::shown_number`]).
    pub fn shown_uin(self, uin: &Uin) -> String {
        let full = uin.expose();
        match self {
            CardType::Uin => full.to_owned(),
            CardType::MaskedUin | CardType::Vid => {
                let keep = full.len().saturating_sub(4);
                format!("{}{}", "X".repeat(keep), &full[keep..])
            }
        }
    }
}

/// MOSIP's card password (`getPassword`): for each of full name (in the first mandatory language) and
/// date of birth (`yyyy/MM/dd`), pad a value of 1, 2 or 3 characters to four (repeat 4×, repeat 2×,
/// append its first character), take the first four characters, join, upper-case. "Jane Doe",
/// 1990/05/12 → `JANE1990`. `None` when the identity has no name or date of birth.
pub fn card_password(identity: &IdentityJson, first_language: &str) -> Option<String> {
    let name = identity.localized("fullName", first_language)?.trim();
    let dob = identity.text("dateOfBirth")?.trim();
    if name.is_empty() || dob.is_empty() {
        return None;
    }
    let part = |v: &str| -> String {
        let chars: Vec<char> = v.chars().collect();
        let padded: Vec<char> = match chars.len() {
            1 => chars.repeat(4),
            2 => chars.repeat(2),
            3 => {
                let mut c = chars.clone();
                c.push(chars[0]);
                c
            }
            _ => chars,
        };
        padded.into_iter().take(4).collect::<String>().to_uppercase()
    };
    Some(format!("{}{}", part(name), part(dob)))
}

/// What a card is made from.
#[derive(Clone)]
pub struct CardRequest<'a> {
    pub identity: &'a IdentityJson,
    pub uin: &'a Uin,
    pub card_type: CardType,
    /// The VID a [`CardType::Vid`] card shows.
    pub vid: Option<&'a crate::ids::Vid>,
    /// A personalised card shows only these of [`PERSONALIZABLE`]; `None`: all of them.
    pub shown: Option<&'a [String]>,
    /// The face photo (a `photo` document, PNG or JPEG), if the identity has one.
    pub photo: Option<&'a NewDocument>,
    pub issued_at: OffsetDateTime,
    /// The PDF's user password.
    pub password: String,
}

/// What a personalised card can show (MOSIP's attribute names; `fullAddress` is the address lines).
pub const PERSONALIZABLE: [&str; 6] = ["fullName", "dateOfBirth", "gender", "UIN", "fullAddress", "photo"];

impl CardRequest<'_> {
    /// Whether the card shows this attribute (one of [`PERSONALIZABLE`]).
    pub fn shows(&self, attribute: &str) -> bool {
        self.shown.is_none_or(|chosen| chosen.iter().any(|c| c == attribute))
    }

    /// The number the card shows: the UIN (in full or masked), or a VID card's VID.
    pub fn shown_number(&self) -> String {
        match (self.card_type, self.vid) {
            (CardType::Vid, Some(vid)) => vid.expose().to_owned(),
            (t, _) => t.shown_uin(self.uin),
        }
    }
}

/// A rendered, encrypted card and the signed credential its QR code carries.
#[derive(Clone)]
pub struct IssuedCard {
    pub pdf: Vec<u8>,
    /// The compact JWS in the QR code (also kept in the PDF's metadata).
    pub credential: String,
    /// The signing key's id.
    pub key_id: String,
}

impl std::fmt::Debug for IssuedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuedCard({} bytes, key {})", self.pdf.len(), self.key_id)
    }
}

/// A plain printable document: a title, labelled lines, and a table (an acknowledgement, a history).
#[derive(Debug, Clone, Default)]
pub struct PlainDocument {
    pub title: String,
    /// The language the texts are in (MOSIP code); `ara` is set right to left.
    pub language: String,
    pub lines: Vec<(String, String)>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub footer: String,
}

/// Renders cards and publishes the keys that verify them.
pub trait CardIssuer: Send + Sync {
    /// A plain A4 PDF (not encrypted: the resident prints or keeps it).
    fn document(&self, doc: &PlainDocument) -> Result<Vec<u8>, String>;
    /// The claims of a card's credential ([`credential_claims`]) with this issuer's name and a fresh id.
    fn claims(&self, request: &CardRequest<'_>) -> serde_json::Value;
    /// Draws the card around its signed credential (a compact JWS) and protects it.
    fn render(&self, request: &CardRequest<'_>, credential: &str) -> Result<IssuedCard, String>;
    /// Signs with this service's own card key and renders: the embedded credential and print services.
    fn issue(&self, request: &CardRequest<'_>) -> Result<IssuedCard, String>;
    /// The public keys, as a JSON Web Key Set (`/.well-known/jwks.json`).
    fn jwks(&self) -> serde_json::Value;
    /// Signs claims with the active card key (a compact JWS).
    fn sign(&self, claims: &serde_json::Value) -> Result<String, String>;
}

/// The demographic claims of a card's credential: never biometrics, never contact details.
pub fn credential_claims(request: &CardRequest<'_>, languages: &[String]) -> serde_json::Value {
    let identity = request.identity;
    let per_language = |field: &str| -> BTreeMap<String, String> {
        languages
            .iter()
            .filter_map(|l| {
                let items = identity.0.get(field)?.as_array()?;
                items
                    .iter()
                    .find_map(|i| {
                        (i.get("language")?.as_str()? == l)
                            .then(|| i.get("value")?.as_str().map(str::to_owned))
                            .flatten()
                    })
                    .map(|v| (l.clone(), v))
            })
            .collect()
    };
    let mut address: BTreeMap<String, String> = BTreeMap::new();
    for l in languages {
        let parts: Vec<String> = ["addressLine1", "addressLine2", "addressLine3", "city", "province", "region"]
            .iter()
            .filter_map(|f| per_language(f).remove(l))
            .filter(|v| !v.trim().is_empty())
            .collect();
        if !parts.is_empty() {
            let mut line = parts.join(if l == "ara" { "، " } else { ", " });
            if let Some(pc) = identity.text("postalCode").filter(|p| *p != "NA") {
                line.push(' ');
                line.push_str(pc);
            }
            address.insert(l.clone(), line);
        }
    }
    let mut claims = serde_json::json!({
        "typ": request.card_type.code(),
        "name": per_language("fullName"),
        "dob": identity.text("dateOfBirth"),
        "gender": per_language("gender"),
        "address": address,
        "iat": request.issued_at.unix_timestamp(),
    });
    // a VID card names the resident by the VID alone
    let number = if request.card_type == CardType::Vid { "vid" } else { "uin" };
    claims[number] = serde_json::Value::String(request.shown_number());
    // a personalised card's credential holds what the card shows, no more
    if let Some(map) = claims.as_object_mut() {
        for (claim, attribute) in
            [("name", "fullName"), ("dob", "dateOfBirth"), ("gender", "gender"), ("address", "fullAddress")]
        {
            if !request.shows(attribute) {
                map.remove(claim);
            }
        }
        if !request.shows("UIN") {
            map.remove(number);
        }
    }
    claims
}

/// `POST /req/euin` after the OTP: renders the resident's card (full or masked UIN), protected with
/// MOSIP's password rule, with its history event, audit record and notification.
#[allow(clippy::too_many_arguments)]
pub async fn download_card(
    ctx: &crate::auth_usecases::AuthContext<'_>,
    cards: &dyn CardIssuer,
    first_language: &str,
    who: &crate::ports::Resolved,
    id: &crate::ids::IndividualId,
    trn: &str,
    card_type: CardType,
) -> Result<crate::auth_usecases::Done<IssuedCard>, crate::error::ResidentError> {
    issue_own_card(ctx, cards, first_language, who, id, trn, card_type, None).await
}

/// MOSIP 1.2.1's personalised card: the resident's card showing only the attributes they chose
/// (of [`PERSONALIZABLE`]; its credential holds only those too), protected and recorded as
/// [`download_card`] is. Contact details are never on a card.
#[allow(clippy::too_many_arguments)]
pub async fn download_personalized_card(
    ctx: &crate::auth_usecases::AuthContext<'_>,
    cards: &dyn CardIssuer,
    first_language: &str,
    who: &crate::ports::Resolved,
    id: &crate::ids::IndividualId,
    trn: &str,
    attributes: &[String],
) -> Result<crate::auth_usecases::Done<IssuedCard>, crate::error::ResidentError> {
    use crate::error::ResidentError;
    if attributes.is_empty() {
        return Err(ResidentError::MissingInput("attributes".into()));
    }
    if let Some(other) = attributes.iter().find(|a| !PERSONALIZABLE.contains(&a.as_str())) {
        return Err(ResidentError::invalid(&format!("attributes/{other}")));
    }
    issue_own_card(ctx, cards, first_language, who, id, trn, CardType::Uin, Some(attributes)).await
}

#[allow(clippy::too_many_arguments)]
async fn issue_own_card(
    ctx: &crate::auth_usecases::AuthContext<'_>,
    cards: &dyn CardIssuer,
    first_language: &str,
    who: &crate::ports::Resolved,
    id: &crate::ids::IndividualId,
    trn: &str,
    card_type: CardType,
    shown: Option<&[String]>,
) -> Result<crate::auth_usecases::Done<IssuedCard>, crate::error::ResidentError> {
    use crate::auth_usecases::{Done, Subject, event, refuse, success};
    use crate::error::ResidentError;
    use crate::history::{RequestType, ServiceEvent};

    let subject = Subject { who, id, trn };
    let failed = |error: ResidentError| {
        refuse(ctx, &subject, RequestType::DownloadPersonalizedCard, "RS_DOW_UIN_FAILURE", BTreeMap::new(), error)
    };
    // the identity as the ID Repository gave it, with its documents (the photo)
    let documents = ctx.idrepo.documents(who).await?;
    let Some(password) = card_password(&who.identity, first_language) else {
        let why = "the identity has no name or date of birth for the card password";
        return Err(failed(ResidentError::Internal(why.into())).await?);
    };
    let photo = documents.iter().find(|d| d.category == "photo" || d.category == "face");
    let request = CardRequest {
        identity: &who.identity,
        uin: &who.uin,
        card_type,
        vid: None,
        shown,
        photo,
        issued_at: ctx.now,
        password,
    };
    let credential = match ctx.keys.jwt_sign(&cards.claims(&request)).await {
        Ok(c) => c,
        // the key manager's own failure (RES-SER-411 silent, RES-SER-412 refused), recorded as failed
        Err(e) => return Err(failed(e).await?),
    };
    let card = match cards.render(&request, &credential) {
        Ok(c) => c,
        Err(e) => return Err(failed(ResidentError::Internal(format!("card rendering failed: {e}"))).await?),
    };
    let what = match shown {
        Some(chosen) => format!("personalised card ({})", chosen.join(", ")),
        None => format!("{} card", card_type.code()),
    };
    let ev = ServiceEvent {
        status_comment: Some(format!("{what}, key {}", card.key_id)),
        ..event(who, RequestType::DownloadPersonalizedCard, "CARD_DOWNLOADED", id, trn, ctx.now)
    };
    let vars = BTreeMap::from([("cardType", card_type.code().to_owned())]);
    let audit = ("RES-SER-210", "Request for EUIN is success", format!("{what} issued, key {}", card.key_id));
    let (effects, message, event_id) = success(ctx, &subject, ev, "RS_DOW_UIN_SUCCESS", vars, audit);
    ctx.repo.record_effects(&effects, ctx.now).await?;
    Ok(Done { value: card, message, event_id })
}

/// The status of a VID card request whose card can be downloaded, and of one that was.
pub const VID_CARD_READY: &str = "CARD_READY_TO_DOWNLOAD";
pub const VID_CARD_DOWNLOADED: &str = "CARD_DOWNLOADED";

/// How a VID card request names its VID without keeping it: the masked VID (the event's `ref_id`)
/// and the moment the VID was issued, in milliseconds (its `request_trn_id`).
fn vid_reference(v: &crate::vid::VidRecord) -> (String, String) {
    (v.vid.masked(), ((v.created_at.unix_timestamp_nanos() / 1_000_000) as i64).to_string())
}

/// MOSIP 1.2.1's `GET /request-card/vid/{vid}`: the resident asks for a card that shows one of their
/// usable VIDs instead of the UIN. Recorded as a `VID_CARD_DOWNLOAD` request, ready at once (the card
/// is rendered when it is downloaded). Another resident's VID, one that is no longer active and no
/// VID at all are refused alike (RES-SER-454).
pub async fn request_vid_card(
    ctx: &crate::auth_usecases::AuthContext<'_>,
    who: &crate::ports::Resolved,
    id: &crate::ids::IndividualId,
    trn: &str,
    vid: &crate::ids::Vid,
) -> Result<crate::auth_usecases::Done<()>, crate::error::ResidentError> {
    use crate::auth_usecases::{Done, Subject, event, success};
    use crate::error::ResidentError;
    use crate::history::{RequestType, ServiceEvent};

    let vids = ctx.idrepo.vids(who, ctx.now).await?;
    let record = vids.iter().find(|v| v.vid == *vid).ok_or(ResidentError::VidNotYours)?;
    if !record.usable(ctx.now) {
        return Err(ResidentError::IndividualIdInvalid);
    }
    let (masked, issued) = vid_reference(record);
    let ev = ServiceEvent {
        status_comment: Some(format!("{} VID card", record.vid_type)),
        ref_id_type: Some("VID".into()),
        ref_id: Some(masked),
        request_trn_id: Some(issued),
        ..event(who, RequestType::VidCardDownload, VID_CARD_READY, id, trn, ctx.now)
    };
    let subject = Subject { who, id, trn };
    let audit = ("RES-SER-138", "Request for a VID card", format!("{} VID card requested", record.vid_type));
    let (effects, message, event_id) = success(ctx, &subject, ev, "RS_VIDCARD_REQUEST", BTreeMap::new(), audit);
    ctx.repo.record_effects(&effects, ctx.now).await?;
    Ok(Done { value: (), message, event_id })
}

/// MOSIP 1.2.1's `GET /download-card/event/{eid}` for a VID card request of the resident's: renders
/// the card with the VID it names, protected with the card password rule, marks the request
/// downloaded (a second download needs a new request, as in MOSIP), and tells the resident.
#[allow(clippy::too_many_arguments)]
pub async fn download_vid_card(
    ctx: &crate::auth_usecases::AuthContext<'_>,
    history: &dyn crate::ports::ServiceHistory,
    cards: &dyn CardIssuer,
    first_language: &str,
    who: &crate::ports::Resolved,
    id: &crate::ids::IndividualId,
    request: &crate::history::ServiceEvent,
) -> Result<crate::auth_usecases::Done<IssuedCard>, crate::error::ResidentError> {
    use crate::auth_usecases::Done;
    use crate::error::ResidentError;
    use crate::history::RequestType;

    if request.token != who.token {
        return Err(ResidentError::EventNotOwned);
    }
    match request.request_type {
        RequestType::VidCardDownload if request.status_code == VID_CARD_READY => {}
        // an update's new card is the printed one here: nothing to download
        RequestType::VidCardDownload | RequestType::UpdateMyUin => return Err(ResidentError::CardNotReady),
        _ => return Err(ResidentError::NotACardRequest),
    }
    let vids = ctx.idrepo.vids(who, ctx.now).await?;
    let named = (request.ref_id.clone().unwrap_or_default(), request.request_trn_id.clone().unwrap_or_default());
    let record = vids.iter().find(|v| vid_reference(v) == named).ok_or(ResidentError::IndividualIdInvalid)?;
    if !record.usable(ctx.now) {
        return Err(ResidentError::IndividualIdInvalid);
    }
    // the identity as the ID Repository gave it, with its documents (the photo)
    let documents = ctx.idrepo.documents(who).await?;
    let password = card_password(&who.identity, first_language).ok_or_else(|| {
        ResidentError::Internal("the identity has no name or date of birth for the card password".into())
    })?;
    let photo = documents.iter().find(|d| d.category == "photo" || d.category == "face");
    let card_request = CardRequest {
        identity: &who.identity,
        uin: &who.uin,
        card_type: CardType::Vid,
        vid: Some(&record.vid),
        shown: None,
        photo,
        issued_at: ctx.now,
        password,
    };
    let credential = ctx.keys.jwt_sign(&cards.claims(&card_request)).await?;
    let card = cards
        .render(&card_request, &credential)
        .map_err(|e| ResidentError::Internal(format!("card rendering failed: {e}")))?;
    let audit = crate::audit::AuditEvent::VidCardDownloaded.record(
        ctx.audit,
        ctx.now,
        Some((id.masked(), id.id_type())),
        format!("VID card of event {}, key {}", request.event_id, card.key_id),
    );
    let comment = format!("{} VID card, key {}", record.vid_type, card.key_id);
    history.update_event_status(&request.event_id, VID_CARD_DOWNLOADED, Some(&comment), &audit, ctx.now).await?;
    let mut vars = ctx.templates.stamp(ctx.now);
    vars.insert("cardType", CardType::Vid.code().to_owned());
    vars.insert("eventId", request.event_id.to_string());
    let messages = ctx.templates.messages("RS_DOW_UIN_SUCCESS", &who.identity, &vars);
    let message = crate::notification::notified_message(&messages).to_owned();
    let effects = crate::ports::Effects { notifications: messages, ..crate::ports::Effects::default() };
    ctx.repo.record_effects(&effects, ctx.now).await?;
    Ok(Done { value: card, message, event_id: request.event_id.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn identity(name: &str, dob: &str) -> IdentityJson {
        IdentityJson(
            json!({"fullName": [{"language": "ara", "value": "جين"}, {"language": "eng", "value": name}], "dateOfBirth": dob})
                .as_object()
                .unwrap()
                .clone(),
        )
    }

    #[test]
    fn passwords_follow_mosips_rule() {
        assert_eq!(card_password(&identity("Jane Doe", "1990/05/12"), "eng").as_deref(), Some("JANE1990"));
        assert_eq!(card_password(&identity("Johnny", "1963/06/09"), "eng").as_deref(), Some("JOHN1963"));
        assert_eq!(card_password(&identity("Bo", "1963/06/09"), "eng").as_deref(), Some("BOBO1963"));
        assert_eq!(card_password(&identity("Ann", "1963/06/09"), "eng").as_deref(), Some("ANNA1963"));
        assert_eq!(card_password(&identity("X", "1963/06/09"), "eng").as_deref(), Some("XXXX1963"));
        assert_eq!(card_password(&identity("Jo Li", "2001/01/01"), "eng").as_deref(), Some("JO L2001"));
        assert_eq!(card_password(&identity("Émile", "2001/01/01"), "eng").as_deref(), Some("ÉMIL2001"));
        assert_eq!(card_password(&identity("Jane", ""), "eng"), None);
    }

    #[test]
    fn masked_cards_show_the_last_four_digits() {
        let uin = Uin::parse("5075291708").unwrap();
        assert_eq!(CardType::MaskedUin.shown_uin(&uin), "XXXXXX1708");
        assert_eq!(CardType::Uin.shown_uin(&uin), "5075291708");
        assert_eq!(CardType::parse("masked_uin"), Some(CardType::MaskedUin));
        assert_eq!(CardType::parse("PHOTO"), None);
    }
}
