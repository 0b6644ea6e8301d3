//! "Share my data" (MOSIP 1.2.1's `/share-credential`): the resident picks a partner, the
//! attributes and says why; the partner gets a signed credential of what its policy allows of them.

use super::{CredentialAsk, CredentialStore, is_card_type, request_credential};
use crate::auth_usecases::{AuthContext, Done};
use crate::error::ResidentError;
use crate::ids::IndividualId;
use crate::ports::Resolved;

/// The longest purpose, in characters (MOSIP's `resident.share-credential.purpose.chars.limit`).
pub const MAX_PURPOSE_CHARS: usize = 1024;

/// What a resident asks to share.
pub struct ShareAsk<'a> {
    pub partner_id: &'a str,
    /// Attribute names: ID schema fields or names of MOSIP's identity mapping (`fullAddress`, …).
    pub attributes: Vec<String>,
    pub purpose: &'a str,
    /// The resident accepted the terms.
    pub consent: bool,
}

/// Checks the request and asks for a credential for the partner. The credential type is the
/// partner's signed credential (`vercred`, else `qrcode`, else any type of its policies that is
/// not a card). The purpose is checked, then told to no one and kept nowhere: it is free text.
pub async fn share_with_partner(
    ctx: &AuthContext<'_>,
    store: &dyn CredentialStore,
    who: &Resolved,
    id: &IndividualId,
    trn: &str,
    ask: ShareAsk<'_>,
) -> Result<Done<String>, ResidentError> {
    if ask.attributes.is_empty() {
        return Err(ResidentError::MissingInput("attributeList".into()));
    }
    let purpose = ask.purpose.trim();
    if purpose.is_empty() {
        return Err(ResidentError::MissingInput("purpose".into()));
    }
    if purpose.chars().count() > MAX_PURPOSE_CHARS {
        return Err(ResidentError::TextTooLong { field: "purpose", limit: MAX_PURPOSE_CHARS });
    }
    if purpose.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(ResidentError::invalid("purpose"));
    }
    let partner = ctx.repo.partner(ask.partner_id.trim()).await?.filter(|p| p.status == "ACTIVE");
    let Some(partner) = partner else { return Err(ResidentError::invalid("partnerId")) };
    if !ask.consent {
        return Err(ResidentError::ConsentRequired);
    }
    let policies: Vec<String> = store
        .policies()
        .await?
        .into_iter()
        .filter(|p| p.partner_id == partner.id && !is_card_type(&p.credential_type))
        .map(|p| p.credential_type)
        .collect();
    let credential_type = ["vercred", "qrcode"]
        .into_iter()
        .find(|t| policies.iter().any(|p| p == t))
        .map(str::to_owned)
        .or_else(|| policies.first().cloned())
        .ok_or(ResidentError::PolicyMissing)?;
    let ask = CredentialAsk {
        credential_type,
        issuer: partner.id,
        encrypt: false,
        encryption_key: None,
        sharable_attributes: ask.attributes,
    };
    request_credential(ctx, store, who, id, trn, ask).await
}
