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
    /// Attribute names (ID schema fields or names of MOSIP's identity mapping: `fullAddress`, …),
    /// each with the format the resident chose for it, if any.
    pub attributes: Vec<(String, Option<String>)>,
    pub purpose: &'a str,
    /// The resident accepted the terms.
    pub consent: bool,
}

/// What a shared attribute stands for, given the format the resident chose for it: for `fullAddress`
/// the address lines they kept (a format names them, comma-separated; none known: the whole address);
/// anything else is itself (a date's format is how the app shows it, not what is shared).
pub fn chosen_fields(attribute: &str, format: Option<&str>) -> Vec<String> {
    let address = super::mapped_fields("fullAddress");
    if attribute != "fullAddress" {
        return vec![attribute.to_owned()];
    }
    let kept: Vec<String> = format
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|f| address.contains(f))
        .map(str::to_owned)
        .collect();
    if kept.is_empty() { vec![attribute.to_owned()] } else { kept }
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
    let partner = ctx.partners.partner(ask.partner_id.trim()).await?.filter(|p| p.status == "ACTIVE");
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
    let policy = store.policy(&partner.id, &credential_type).await?.ok_or(ResidentError::PolicyMissing)?;
    // the address lines kept count as one attribute: refused only if the policy allows none of them
    let mut names: Vec<String> = Vec::new();
    for (name, format) in &ask.attributes {
        let fields = chosen_fields(name, format.as_deref());
        if fields.len() == 1 && fields[0] == *name {
            names.push(name.clone());
            continue;
        }
        let allowed: Vec<String> = fields.into_iter().filter(|f| policy.attributes.contains(f)).collect();
        if allowed.is_empty() {
            return Err(ResidentError::invalid(&format!("sharableAttributes/{name}")));
        }
        names.extend(allowed);
    }
    let ask = CredentialAsk {
        credential_type,
        issuer: partner.id,
        encrypt: false,
        encryption_key: None,
        sharable_attributes: names,
    };
    request_credential(ctx, store, who, id, trn, ask).await
}
