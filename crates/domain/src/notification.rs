//! Notifications: templates per language kept as data under MOSIP's template codes
//! (`<CODE>_EMAIL_SUB`, `<CODE>_EMAIL`, `<CODE>_SMS`), the language choice MOSIP makes, and the
//! messages the channels deliver.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::identity::IdentityJson;

pub const DEFAULT_TEMPLATES: &str = include_str!("../data/templates.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    Email,
    Sms,
}

/// A message ready for a channel. Personal data: `Debug` shows only the channel and template.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    pub channel: Channel,
    pub to: String,
    pub subject: Option<String>,
    pub body: String,
    pub template: String,
    /// Never delivered after this moment (epoch ms): an OTP's message is worthless, and misleading,
    /// once the OTP has expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
}

impl OutgoingMessage {
    /// Whether the message is too late to deliver at `now`.
    pub fn expired(&self, now: time::OffsetDateTime) -> bool {
        self.not_after.is_some_and(|t| crate::clock::epoch_ms(now) > t)
    }
}

/// The notifier: delivers one message (the worker's notification jobs call it). Implemented by
/// `resident-notify` (SMTP, the SMS gateway, the outbox) and by MOSIP's notifier's client.
#[async_trait::async_trait]
pub trait MessageSender: Send + Sync {
    /// Delivers `msg`; `key` names this delivery (the job's id): delivering the same key again is
    /// idempotent where the channel allows it. An error is retried by the job queue.
    async fn deliver(&self, msg: &OutgoingMessage, key: &str) -> Result<(), String>;
}

impl std::fmt::Debug for OutgoingMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OutgoingMessage({:?}, {})", self.channel, self.template)
    }
}

#[derive(Debug, Clone)]
pub struct Templates {
    by_lang: HashMap<String, HashMap<String, String>>,
    /// Used when the resident has no preferred language (MOSIP `mosip.default.template-languages`).
    pub default_languages: Vec<String>,
    /// `$date` and `$time` are written in the residents' time zone.
    pub time_zone: jiff::tz::TimeZone,
}

impl Templates {
    pub fn parse(json: &str, default_languages: Vec<String>) -> Result<Self, String> {
        let by_lang: HashMap<String, HashMap<String, String>> =
            serde_json::from_str(json).map_err(|e| format!("templates: {e}"))?;
        for lang in &default_languages {
            if !by_lang.contains_key(lang) {
                return Err(format!("templates: no templates for default language {lang}"));
            }
        }
        Ok(Templates { by_lang, default_languages, time_zone: jiff::tz::TimeZone::UTC })
    }

    pub fn default_templates(default_languages: Vec<String>) -> Result<Self, String> {
        Self::parse(DEFAULT_TEMPLATES, default_languages)
    }

    /// `$date` (dd-mm-yyyy) and `$time` (hh:mm:ss) of a moment, in the residents' time zone.
    pub fn stamp(&self, at: time::OffsetDateTime) -> BTreeMap<&'static str, String> {
        let Some(l) = crate::clock::local(&self.time_zone, at) else { return BTreeMap::new() };
        BTreeMap::from([
            ("date", format!("{:02}-{:02}-{:04}", l.day(), l.month(), l.year())),
            ("time", format!("{:02}:{:02}:{:02}", l.hour(), l.minute(), l.second())),
        ])
    }

    /// One template's text (`RS_VIN_GEN_SUCCESS_EMAIL`, …) in a language, as masterdata serves it.
    pub fn text(&self, lang: &str, code: &str) -> Option<&str> {
        self.by_lang.get(lang).and_then(|t| t.get(code)).map(String::as_str)
    }

    /// Every (language, template code) this service sends, sorted.
    pub fn codes(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> =
            self.by_lang.iter().flat_map(|(l, t)| t.keys().map(move |c| (l.clone(), c.clone()))).collect();
        out.sort();
        out
    }

    /// Replaces one template's text (a country's own, from its masterdata).
    pub fn set_text(&mut self, lang: &str, code: &str, text: String) {
        self.by_lang.entry(lang.to_owned()).or_default().insert(code.to_owned(), text);
    }

    /// Every language/code pair the channels need exists for `code` (checked at start-up and in tests).
    pub fn has(&self, lang: &str, code: &str) -> bool {
        self.by_lang.get(lang).is_some_and(|t| {
            ["_EMAIL_SUB", "_EMAIL", "_SMS"].iter().all(|suffix| t.contains_key(&format!("{code}{suffix}")))
        })
    }

    /// The resident's preferred language when we have templates in it; else the defaults (MOSIP sends
    /// one message in all of them).
    pub fn languages_for(&self, identity: &IdentityJson) -> Vec<String> {
        let preferred: Vec<String> = identity
            .text("preferredLang")
            .map(|p| p.split(',').map(|l| l.trim().to_owned()).filter(|l| self.by_lang.contains_key(l)).collect())
            .unwrap_or_default();
        if preferred.is_empty() { self.default_languages.clone() } else { preferred }
    }

    fn render_one(&self, lang: &str, key: &str, vars: &BTreeMap<&str, String>) -> Option<String> {
        let template = self.by_lang.get(lang)?.get(key)?;
        // longest names first, so `$name` does not eat the start of `$nameOther`
        let mut names: Vec<&&str> = vars.keys().collect();
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let mut out = template.clone();
        for n in names {
            out = out.replace(&format!("${n}"), &vars[*n]);
        }
        Some(out)
    }

    /// The email and SMS for `code`, in each language, joined; `$name` is the resident's name in that
    /// language.
    pub fn render(
        &self,
        code: &str,
        identity: &IdentityJson,
        vars: &BTreeMap<&str, String>,
    ) -> (Option<String>, Option<String>, Option<String>) {
        let mut subjects = Vec::new();
        let mut emails = Vec::new();
        let mut smss = Vec::new();
        for lang in self.languages_for(identity) {
            let mut v = vars.clone();
            v.insert("name", identity.localized("fullName", &lang).unwrap_or_default().to_owned());
            if let Some(s) = self.render_one(&lang, &format!("{code}_EMAIL_SUB"), &v) {
                subjects.push(s);
            }
            if let Some(s) = self.render_one(&lang, &format!("{code}_EMAIL"), &v) {
                emails.push(s);
            }
            if let Some(s) = self.render_one(&lang, &format!("{code}_SMS"), &v) {
                smss.push(s);
            }
        }
        let join = |v: Vec<String>, sep: &str| (!v.is_empty()).then(|| v.join(sep));
        (join(subjects, " / "), join(emails, "\n\n----\n\n"), join(smss, "\n"))
    }

    /// Messages for every contact the identity has.
    pub fn messages(&self, code: &str, identity: &IdentityJson, vars: &BTreeMap<&str, String>) -> Vec<OutgoingMessage> {
        let (subject, email, sms) = self.render(code, identity, vars);
        let mut out = Vec::new();
        if let (Some(to), Some(body)) = (identity.text("email"), email) {
            out.push(OutgoingMessage {
                channel: Channel::Email,
                to: to.to_owned(),
                subject,
                body,
                template: code.to_owned(),
                not_after: None,
            });
        }
        if let (Some(to), Some(body)) = (identity.text("phone"), sms) {
            out.push(OutgoingMessage {
                channel: Channel::Sms,
                to: to.to_owned(),
                subject: None,
                body,
                template: code.to_owned(),
                not_after: None,
            });
        }
        out
    }
}

/// MOSIP's wording for which channels were notified.
pub fn notified_message(messages: &[OutgoingMessage]) -> &'static str {
    let email = messages.iter().any(|m| m.channel == Channel::Email);
    let sms = messages.iter().any(|m| m.channel == Channel::Sms);
    match (email, sms) {
        (true, true) => "Notification has been sent to the provided contact detail(s)",
        (false, true) => "Notification has been sent to the provided contact phone number",
        (true, false) => "Notification has been sent to the provided email ",
        (false, false) => "No contact detail is registered to notify",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn identity(pref: Option<&str>) -> IdentityJson {
        let mut m = json!({
            "fullName": [{"language": "eng", "value": "Jane Doe"}, {"language": "ara", "value": "جين دو"}],
            "email": "jane@example.org", "phone": "9876543210"
        });
        if let Some(p) = pref {
            m["preferredLang"] = json!(p);
        }
        IdentityJson(m.as_object().unwrap().clone())
    }

    #[test]
    fn every_code_exists_in_every_language() {
        let t = Templates::default_templates(vec!["eng".into()]).unwrap();
        for lang in ["eng", "fra", "ara"] {
            for code in [
                "OTP",
                "PARTNER_OTP",
                "RS_VIN_GEN_SUCCESS",
                "RS_VIN_GEN_FAILURE",
                "RS_VIN_REV_SUCCESS",
                "RS_VIN_REV_FAILURE",
                "RS_LOCK_AUTH_SUCCESS",
                "RS_LOCK_AUTH_FAILURE",
                "RS_UNLOCK_AUTH_SUCCESS",
                "RS_UNLOCK_AUTH_FAILURE",
                "RS_AUTH_HIST_SUCCESS",
                "RS_AUTH_HIST_FAILURE",
                "RS_UIN_RPR_SUCCESS",
                "RS_UIN_RPR_FAILURE",
                "RS_UIN_UPDATE_SUCCESS",
                "RS_DOW_UIN_SUCCESS",
                "RS_PRINT_ISSUED",
                "RS_CRE_REQ_SUCCESS",
                "RS_CRE_STATUS",
                "RS_GRIEVANCE",
                "RS_PRINT_PRINTING",
                "RS_PRINT_IN_TRANSIT",
                "RS_PRINT_DELIVERED",
                "RS_PRINT_FAILED",
                "RS_DOW_UIN_FAILURE",
                "RS_UIN_UPDATE_FAILURE",
                "RS_UIN_UPDATE_REJECTED",
                "RS_UIN_UPDATE_DONE",
                "RS_UIN_UPDATE_CONTACT",
            ] {
                assert!(t.has(lang, code), "{lang} {code}");
            }
        }
    }

    #[test]
    fn date_and_time_are_the_residents_local_ones() {
        let mut t = Templates::default_templates(vec!["eng".into()]).unwrap();
        let at = time::macros::datetime!(2026-12-31 23:30:05 UTC);
        assert_eq!(t.stamp(at)["date"], "31-12-2026");
        t.time_zone = jiff::tz::TimeZone::get("Asia/Dubai").unwrap();
        let stamp = t.stamp(at);
        assert_eq!((stamp["date"].as_str(), stamp["time"].as_str()), ("01-01-2027", "03:30:05"));
        // summer time: Paris is UTC+2 in July, UTC+1 in January
        t.time_zone = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(t.stamp(time::macros::datetime!(2026-07-01 12:00 UTC))["time"], "14:00:00");
        assert_eq!(t.stamp(time::macros::datetime!(2026-01-01 12:00 UTC))["time"], "13:00:00");
    }

    #[test]
    fn preferred_language_else_defaults() {
        let t = Templates::default_templates(vec!["eng".into(), "fra".into()]).unwrap();
        let vars = BTreeMap::from([("otp", "123456".to_owned()), ("validMinutes", "3".to_owned())]);
        let (subject, email, sms) = t.render("OTP", &identity(Some("ara")), &vars);
        assert!(subject.unwrap().contains("كلمة مرور"));
        assert!(email.unwrap().contains("جين دو"));
        assert!(sms.unwrap().contains("123456"));
        let (subject, email, _) = t.render("OTP", &identity(None), &vars);
        assert!(subject.unwrap().contains(" / "), "both default languages");
        let email = email.unwrap();
        assert!(email.contains("Dear Jane Doe") && email.contains("Bonjour Jane Doe"));
    }

    #[test]
    fn channels_follow_the_contacts_and_mosips_wording() {
        let t = Templates::default_templates(vec!["eng".into()]).unwrap();
        let msgs = t.messages("RS_VIN_GEN_SUCCESS", &identity(Some("eng")), &BTreeMap::new());
        assert_eq!(msgs.len(), 2);
        assert_eq!(notified_message(&msgs), "Notification has been sent to the provided contact detail(s)");
        assert_eq!(notified_message(&msgs[1..]), "Notification has been sent to the provided contact phone number");
        assert!(!format!("{:?}", msgs[0]).contains("jane@"));
    }
}

/// A message another tier asks this platform's notifier to send (MOSIP's `/v1/notifier/email/send`
/// and `/sms/send`), checked as MOSIP's notifier checks it: an email needs a valid address
/// (`KER-NOE-001`), a subject (`KER-NOE-002`) and content (`KER-NOE-003`); an SMS a number of 8 to
/// 15 digits, an optional leading `+` (`KER-NOS-002`), and a message (`KER-NOS-001`).
pub fn from_platform(
    channel: Channel,
    to: &str,
    subject: Option<&str>,
    body: &str,
) -> Result<OutgoingMessage, crate::ResidentError> {
    use crate::ResidentError::Kernel;
    let to = to.trim();
    let body = body.trim();
    match channel {
        Channel::Email => {
            let at = to.find('@');
            let valid = to.len() <= 254
                && !to.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == ';')
                && at.is_some_and(|i| i > 0 && to[i + 1..].contains('.') && !to[i + 1..].contains('@'));
            if !valid {
                return Err(Kernel("KER-NOE-001", "To must be valid. It can't be empty or null.".into()));
            }
            let subject = subject
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Kernel("KER-NOE-002", "Subject must be valid. It can't be empty or null.".into()))?;
            if body.is_empty() {
                return Err(Kernel("KER-NOE-003", "Content must be valid. It can't be empty or null.".into()));
            }
            Ok(OutgoingMessage {
                channel,
                to: to.to_owned(),
                subject: Some(subject.to_owned()),
                body: body.to_owned(),
                template: "NOTIFIER".into(),
                not_after: None,
            })
        }
        Channel::Sms => {
            if to.is_empty() || body.is_empty() {
                return Err(Kernel("KER-NOS-001", "Number and message can't be empty, null".into()));
            }
            let digits = to.strip_prefix('+').unwrap_or(to);
            if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Kernel(
                    "KER-NOS-002",
                    "Contact number cannot contains alphabet,special character or less than or more than".into(),
                ));
            }
            Ok(OutgoingMessage {
                channel,
                to: to.to_owned(),
                subject: None,
                body: body.to_owned(),
                template: "NOTIFIER".into(),
                not_after: None,
            })
        }
    }
}

#[cfg(test)]
mod platform_message_tests {
    use super::*;

    #[test]
    fn a_notifier_request_is_checked_as_mosips_notifier_checks_it() {
        let code = |r: Result<OutgoingMessage, crate::ResidentError>| r.map(|_| "ok").unwrap_or_else(|e| e.code());
        assert_eq!(code(from_platform(Channel::Email, "jane@example.org", Some("Hi"), "Body")), "ok");
        assert_eq!(code(from_platform(Channel::Email, "jane", Some("Hi"), "Body")), "KER-NOE-001");
        assert_eq!(code(from_platform(Channel::Email, "a@b.org, c@d.org", Some("Hi"), "Body")), "KER-NOE-001");
        assert_eq!(code(from_platform(Channel::Email, "jane@example.org", None, "Body")), "KER-NOE-002");
        assert_eq!(code(from_platform(Channel::Email, "jane@example.org", Some("Hi"), " ")), "KER-NOE-003");
        assert_eq!(code(from_platform(Channel::Sms, "+212612345678", None, "Hello")), "ok");
        assert_eq!(code(from_platform(Channel::Sms, "", None, "Hello")), "KER-NOS-001");
        assert_eq!(code(from_platform(Channel::Sms, "06-12-34", None, "Hello")), "KER-NOS-002");
    }
}
