//! Issuing a credential (the `credential-issue` job) and, for a print partner, printing it: the
//! embedded print service does what MOSIP's print service does for a print partner's credential,
//! renders the card and reports `PRINTED`, so the card is there to download.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{
    CredentialData, CredentialJob, CredentialRecord, CredentialStatus, CredentialStore, DataChange, is_card_type,
    shared_attributes,
};
use crate::access::{Accessor, AccessorKind, Channel, DataAccess, Purpose};
use crate::audit::AuditEvent;
use crate::card::{CardIssuer, CardRequest, CardType, card_password};
use crate::error::ResidentError;
use crate::ports::{Effects, IdentityRegistry, PartnerRecords, StoredIdentity};

/// The partner type whose credentials the embedded print service prints.
pub const PRINT_PARTNER: &str = "Print_Partner";

/// What issuing needs.
pub struct Issuer<'a> {
    pub store: &'a dyn CredentialStore,
    pub identities: &'a dyn IdentityRegistry,
    pub partners: &'a dyn PartnerRecords,
    pub cards: &'a dyn CardIssuer,
    pub templates: &'a crate::notification::Templates,
    pub audit: &'a crate::audit::AuditContext,
    pub first_language: &'a str,
    pub now: OffsetDateTime,
}

impl Issuer<'_> {
    /// Takes a request as far as it goes: a NEW one is issued (the credential built from the identity,
    /// kept sealed); an ISSUED one for a print partner is printed. Each step is one status change with
    /// its audit record, so a job that dies between the two picks up where it stopped. `false` when
    /// there was nothing to do (cancelled, already done, gone).
    pub async fn issue(&self, job: &CredentialJob) -> Result<bool, ResidentError> {
        let Some(mut record) = self.store.credential_request(&job.request_id).await? else { return Ok(false) };
        if !matches!(record.status, CredentialStatus::New | CredentialStatus::Issued) {
            return Ok(false);
        }
        let stored = self
            .identities
            .identity_by_id(&record.identity_id)
            .await?
            .ok_or_else(|| ResidentError::Internal("the identity of a credential request is gone".into()))?;
        let partner = self.partners.partner(&record.partner_id).await?;
        let for_printer = partner.as_ref().is_some_and(|p| p.partner_type == PRINT_PARTNER && p.status == "ACTIVE");
        let mut progressed = false;
        if record.status == CredentialStatus::New {
            // a print partner receives the signed credential and prints the card from it; other
            // partners get a card type as the card itself
            let data = if is_card_type(&record.credential_type) && !for_printer {
                self.card(&record, &stored, job)?
            } else {
                self.signed(&record, &stored)?
            };
            let detail = format!(
                "{} issued to {} with {}",
                record.credential_type,
                record.partner_id,
                record.attributes.join(",")
            );
            // the resident hears once: when the credential is issued, or for a print partner when
            // the card is printed
            let tell = !for_printer;
            let mut effects = self.effects(&record, &stored, AuditEvent::CredentialIssued, "ISSUED", detail, tell);
            // the partner receives these attributes: the resident sees it among who used their data
            let accessor = match &partner {
                Some(p) => Accessor::partner(p),
                None => Accessor {
                    kind: AccessorKind::Partner,
                    id: record.partner_id.clone(),
                    name: record.partner_id.clone(),
                },
            };
            effects.accesses.push(DataAccess::new(
                stored.token.clone(),
                accessor,
                record.attributes.clone(),
                Purpose::Credential {
                    request_id: record.request_id.clone(),
                    credential_type: record.credential_type.clone(),
                },
                Channel::Api,
                self.now,
            ));
            let to = CredentialStatus::Issued;
            if !self
                .store
                .move_credential(&record.request_id, record.status, to, DataChange::Set(&data), &effects, self.now)
                .await?
            {
                return Ok(false);
            }
            record.status = to;
            progressed = true;
        }
        if record.status == CredentialStatus::Issued && for_printer {
            let pdf = self.card(&record, &stored, job)?;
            let detail = format!("{} for {} printed as a card", record.credential_type, record.partner_id);
            let effects = self.effects(&record, &stored, AuditEvent::CredentialPrinted, "PRINTED", detail, true);
            let (from, to) = (CredentialStatus::Issued, CredentialStatus::Printed);
            progressed |= self
                .store
                .move_credential(&record.request_id, from, to, DataChange::Set(&pdf), &effects, self.now)
                .await?;
        }
        Ok(progressed)
    }

    /// The card, protected with the resident's key when they asked for it, else with the card
    /// password rule; the policy decides whether the UIN is on it in full.
    fn card(
        &self,
        record: &CredentialRecord,
        stored: &StoredIdentity,
        job: &CredentialJob,
    ) -> Result<CredentialData, ResidentError> {
        let password = match (&job.encryption_key, record.encrypt) {
            (Some(k), true) => k.clone(),
            _ => card_password(&stored.identity, self.first_language)
                .ok_or_else(|| ResidentError::Internal("no card password".into()))?,
        };
        let card_type = if record.attributes.iter().any(|a| a == "UIN") { CardType::Uin } else { CardType::MaskedUin };
        let photo = stored.documents.iter().find(|d| d.category == "photo");
        let card = self
            .cards
            .issue(&CardRequest {
                identity: &stored.identity,
                uin: &stored.uin,
                card_type,
                vid: None,
                shown: None,
                photo,
                issued_at: self.now,
                password,
            })
            .map_err(ResidentError::Internal)?;
        Ok(CredentialData { content_type: "application/pdf".into(), bytes: card.pdf })
    }

    /// A signed credential (JWS) of the policy's attributes.
    fn signed(&self, record: &CredentialRecord, stored: &StoredIdentity) -> Result<CredentialData, ResidentError> {
        let mut claims =
            Value::Object(shared_attributes(&stored.identity, &stored.uin, &stored.documents, &record.attributes));
        claims["credentialType"] = Value::String(record.credential_type.clone());
        claims["issuedTo"] = Value::String(record.partner_id.clone());
        claims["iat"] = json!(self.now.unix_timestamp());
        let token = self.cards.sign(&claims).map_err(ResidentError::Internal)?;
        Ok(CredentialData { content_type: "application/jwt".into(), bytes: token.into_bytes() })
    }

    fn effects(
        &self,
        record: &CredentialRecord,
        stored: &StoredIdentity,
        event: AuditEvent,
        status: &str,
        detail: String,
        tell: bool,
    ) -> Effects {
        let vars = BTreeMap::from([
            ("RID", record.request_id.clone()),
            ("status", status.to_owned()),
            ("eventId", record.event_id.to_string()),
        ]);
        Effects {
            audit: vec![super::request_audit(event, self.audit, self.now, &record.request_id, detail)],
            notifications: if tell {
                self.templates.messages("RS_CRE_STATUS", &stored.identity, &vars)
            } else {
                Vec::new()
            },
            ..Effects::default()
        }
    }
}
