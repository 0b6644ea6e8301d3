//! The embedded IDA's relying parties: demographic authentication under the partner's policy, and
//! OTPs a partner asked for. Every attempt is an authentication transaction the resident sees.

use super::IdaCall;
use super::embedded::{Attempt, EmbeddedIda, ida_record};
use crate::authtype::AuthType;
use crate::clock::epoch_ms;
use crate::error::ResidentError;
use crate::ids::IndividualId;
use crate::otp::{OtpRefusal, Requester};
use crate::ports::{DemoOutcome, Effects, Resolved};

/// Demographic attributes a relying party presents (IDA's `demographics`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demographics {
    pub name: Option<String>,
    pub dob: Option<String>,
    pub gender: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The attributes a partner's demographic policy can require, in IDA's request spelling.
pub const DEMO_ATTRIBUTES: [&str; 5] = ["name", "dob", "gender", "phoneNumber", "emailId"];

/// The identity field an IDA demographic attribute is compared with.
fn identity_field(attribute: &str) -> &str {
    match attribute {
        "name" => "fullName",
        "dob" => "dateOfBirth",
        "phoneNumber" => "phone",
        "emailId" => "email",
        other => other,
    }
}

/// What a partner must present and match when the operator set no policy for it: gender or a phone
/// number alone says little about who someone is.
pub const DEFAULT_DEMO_POLICY: [&str; 2] = ["name", "dob"];

/// The longest demographic value looked at (a full name in any script fits): longer ones are refused
/// before any comparison.
pub const MAX_DEMO_VALUE_CHARS: usize = 256;

impl Demographics {
    pub fn is_empty(&self) -> bool {
        self.presented().is_empty()
    }

    /// The attributes present, in IDA's spelling.
    pub fn presented(&self) -> Vec<&'static str> {
        let all = [&self.name, &self.dob, &self.gender, &self.phone, &self.email];
        DEMO_ATTRIBUTES.iter().zip(all).filter(|(_, v)| v.is_some()).map(|(k, _)| *k).collect()
    }

    fn too_long(&self) -> bool {
        [&self.name, &self.dob, &self.gender, &self.phone, &self.email]
            .iter()
            .any(|v| v.as_ref().is_some_and(|v| v.chars().count() > MAX_DEMO_VALUE_CHARS))
    }
}

/// A partner's demographic policy: the attributes, each one of [`DEMO_ATTRIBUTES`], deduplicated.
pub fn parse_demo_policy(list: &[String]) -> Result<Vec<String>, ResidentError> {
    let mut out: Vec<String> = Vec::new();
    for a in list {
        let a = a.trim();
        let known = DEMO_ATTRIBUTES.iter().find(|k| k.eq_ignore_ascii_case(a));
        let Some(k) = known else { return Err(ResidentError::invalid("attributes")) };
        if !out.iter().any(|o| o == k) {
            out.push((*k).to_owned());
        }
    }
    if out.is_empty() {
        return Err(ResidentError::invalid("attributes"));
    }
    Ok(out)
}

/// A relying party's authentication request.
#[derive(Debug, Clone)]
pub struct PartnerAuth {
    pub individual_id: IndividualId,
    pub transaction_id: String,
    pub demographics: Option<Demographics>,
    pub otp: Option<String>,
}

/// IDA's answer: `authStatus`, with the reasons when it is false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthOutcome {
    pub auth_status: bool,
    pub errors: Vec<(&'static str, String)>,
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Whether every presented attribute matches the identity. Which one did not is never told: a
/// partner told "dob did not match" could search a date of birth.
fn demo_matches(who: &Resolved, d: &Demographics) -> bool {
    let id = &who.identity;
    let any_lang = |field: &str, want: &str| {
        id.0.get(field).and_then(|v| v.as_array()).is_some_and(|items| {
            items.iter().any(|i| i.get("value").and_then(|v| v.as_str()).is_some_and(|v| norm(v) == norm(want)))
        })
    };
    d.name.as_ref().is_none_or(|n| any_lang("fullName", n))
        && d.gender.as_ref().is_none_or(|g| any_lang("gender", g))
        && d.dob.as_ref().is_none_or(|dob| id.text("dateOfBirth") == Some(dob.as_str()))
        && d.phone.as_ref().is_none_or(|p| id.text("phone") == Some(p.as_str()))
        && d.email.as_ref().is_none_or(|e| id.text("email").map(str::to_lowercase) == Some(e.to_lowercase()))
}

/// IDA's answer to a demographic mismatch: the same whichever attribute it was.
pub const DEMO_MISMATCH: &str = "Demographic data did not match";

/// Authenticates a resident for a relying party: demographic match (the attributes of the partner's
/// policy, at least) and/or an OTP that this partner asked for, refused when the type is locked.
/// Demographic failures per identity and partner freeze like OTP failures. Every attempt is an
/// authentication transaction the resident sees in their history.
pub async fn relying_party_authenticate(
    ida: &EmbeddedIda,
    call: &IdaCall<'_>,
    partner: &crate::ports::Partner,
    cmd: &PartnerAuth,
) -> Result<AuthOutcome, ResidentError> {
    let id = &cmd.individual_id;
    let demo = cmd.demographics.as_ref().filter(|d| !d.is_empty());
    if demo.is_none() && cmd.otp.is_none() {
        return Err(ResidentError::Ida("IDA-MLC-008", "No authentication type selected".into()));
    }
    if let Some(d) = demo {
        if d.too_long() {
            return Err(ResidentError::Ida("IDA-MLC-009", "Invalid Input Parameter - demographics".into()));
        }
        let required = match ida.repo().demo_policy(&partner.id).await? {
            Some(list) => list,
            None => DEFAULT_DEMO_POLICY.iter().map(|s| (*s).to_owned()).collect(),
        };
        let presented = d.presented();
        if let Some(missing) = required.iter().find(|r| !presented.contains(&r.as_str())) {
            return Err(ResidentError::Ida("IDA-MLC-006", format!("Missing Input Parameter - demographics/{missing}")));
        }
    }
    let who: Resolved = ida.active(id, call).await?;
    let mut codes = Vec::new();
    if demo.is_some() {
        codes.push("DEMO-AUTH");
    }
    if cmd.otp.is_some() {
        codes.push("OTP-AUTH");
    }
    let states = ida.repo().lock_states(&who.identity_id).await?;
    let now_ms = epoch_ms(call.now);
    let locked = |t: AuthType| states.iter().any(|s| s.auth_type == t && s.locked_at(now_ms));
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    if demo.is_some() && locked(AuthType::Demo) {
        errors.push(("IDA-MLC-019", "demo Auth Type is Locked for the UIN".into()));
    }
    if cmd.otp.is_some() && locked(AuthType::OtpEmail) && locked(AuthType::OtpPhone) {
        errors.push(("IDA-MLC-019", "otp Auth Type is Locked for the UIN".into()));
    }
    // the identity attributes a demographic match compared: a read the resident sees
    let mut compared: Vec<String> = Vec::new();
    if errors.is_empty() {
        if let Some(d) = demo {
            let outcome =
                ida.repo().demo_attempt(&who, &partner.id, demo_matches(&who, d), ida.policy(), call.now).await?;
            if !matches!(outcome, DemoOutcome::Frozen { .. }) {
                compared = d.presented().iter().map(|a| identity_field(a).to_owned()).collect();
            }
            match outcome {
                DemoOutcome::Matched => {}
                DemoOutcome::Mismatch => errors.push(("IDA-DEA-001", DEMO_MISMATCH.into())),
                DemoOutcome::Frozen { .. } => errors.push((
                    "IDA-DEA-013",
                    format!(
                        "Demographic authentication of this individual by this partner is suspended for the day after {} failed attempts",
                        ida.policy().max_failed_attempts
                    ),
                )),
            }
        }
        if let Some(otp) = &cmd.otp {
            let requester = Requester::Partner { id: partner.id.clone(), name: partner.name.clone() };
            // the attempt's one transaction is recorded below, with every type it tried
            let refusal: Option<OtpRefusal> = match crate::otp::Otp::parse(otp, ida.policy().length) {
                None => Some(OtpRefusal::Invalid),
                Some(o) => ida
                    .repo()
                    .verify_otp(&who, &requester.key(), &cmd.transaction_id, &o, ida.policy(), call.now, &|_| {
                        Effects::default()
                    })
                    .await?
                    .err(),
            };
            if let Some(r) = refusal {
                errors.push((r.ida_code(), r.message(ida.policy())));
            }
        }
    }
    let ok = errors.is_empty();
    let messages: Vec<&str> = codes
        .iter()
        .map(|c| match *c {
            "DEMO-AUTH" => "Demo Authentication",
            _ => "OTP Authentication",
        })
        .collect();
    let comment = format!("{} {}", messages.join(";"), if ok { "Success" } else { "Failed" });
    let response = errors.first().map(|(c, _)| *c).unwrap_or("Y");
    let effects = Effects {
        audit: vec![ida_record(
            call,
            if ok { "IDA-AUT-001" } else { "IDA-AUT-002" },
            if ok { "Authentication success" } else { "Authentication failed" },
            id,
            format!("{} for partner {}: {response}", codes.join(","), partner.id),
        )],
        auth_transactions: vec![
            Attempt { who: &who, id, transaction_id: &cmd.transaction_id, entity: &partner.name }.transaction(
                &codes.join(","),
                ok,
                &comment,
                response,
                call.now,
            ),
        ],
        accesses: if compared.is_empty() {
            Vec::new()
        } else {
            vec![crate::access::DataAccess::new(
                who.token.clone(),
                crate::access::Accessor::partner(partner),
                compared,
                crate::access::Purpose::Authentication { transaction_id: cmd.transaction_id.clone() },
                crate::access::Channel::Api,
                call.now,
            )]
        },
        ..Effects::default()
    };
    ida.repo().record_effects(&effects, call.now).await?;
    Ok(AuthOutcome { auth_status: ok, errors })
}
