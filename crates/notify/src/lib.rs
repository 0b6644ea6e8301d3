//! Delivery of notifications. Email goes over SMTP or into the outbox; SMS goes into the outbox. The
//! outbox (`<data dir>/outbox/`) holds one RFC 5322 `.eml` file per email and one `.json` file per SMS,
//! so a new user (and the tests) can read what was sent, OTPs included.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use resident_domain::notification::{Channel, OutgoingMessage};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the same host).
    None,
    /// STARTTLS after connecting (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpConfig {
    pub host: Option<String>,
    pub port: u16,
    pub username: Option<String>,
    /// Read from the configuration (or `smtp.password_file`); never logged.
    #[serde(skip_serializing)]
    pub password: Option<String>,
    pub from: String,
    pub tls: SmtpTls,
    pub timeout_seconds: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: None,
            port: 587,
            username: None,
            password: None,
            from: "Resident Services <no-reply@resident.invalid>".into(),
            tls: SmtpTls::Starttls,
            timeout_seconds: 15,
        }
    }
}

/// An SMS gateway reached over HTTP(S). Without `url`, SMS go to the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmsGatewayConfig {
    pub url: Option<String>,
    /// `POST` (the body is `body_template`) or `GET` (`$to` and `$message` are substituted in the URL).
    pub method: String,
    /// With `$to`, `$message` and `$id` (the delivery's key, the same when a message is sent again),
    /// escaped for `content_type` (JSON, form or plain text).
    pub body_template: String,
    pub content_type: String,
    pub username: Option<String>,
    #[serde(skip_serializing)]
    pub password: Option<String>,
    #[serde(skip_serializing)]
    pub bearer_token: Option<String>,
    pub timeout_seconds: u64,
}

impl Default for SmsGatewayConfig {
    fn default() -> Self {
        SmsGatewayConfig {
            url: None,
            method: "POST".into(),
            body_template: r#"{"to": "$to", "message": "$message"}"#.into(),
            content_type: "application/json".into(),
            username: None,
            password: None,
            bearer_token: None,
            timeout_seconds: 15,
        }
    }
}

struct SmsGateway {
    client: reqwest::Client,
    config: SmsGatewayConfig,
}

fn form_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn json_escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted[1..quoted.len().saturating_sub(1)].to_owned()
}

impl SmsGateway {
    fn render(&self, template: &str, to: &str, message: &str, key: &str, escape: fn(&str) -> String) -> String {
        // the message last: its text may itself contain "$to" or "$id"
        template.replace("$to", &escape(to)).replace("$id", &escape(key)).replace("$message", &escape(message))
    }

    async fn send(&self, to: &str, message: &str, key: &str) -> Result<(), String> {
        let c = &self.config;
        let url = c.url.as_deref().unwrap_or_default();
        let mut req = if c.method.eq_ignore_ascii_case("GET") {
            self.client.get(self.render(url, to, message, key, form_escape))
        } else {
            let escape: fn(&str) -> String = if c.content_type.contains("json") {
                json_escape
            } else if c.content_type.contains("x-www-form-urlencoded") {
                form_escape
            } else {
                |s: &str| s.to_owned()
            };
            self.client.post(url).header(reqwest::header::CONTENT_TYPE, c.content_type.clone()).body(self.render(
                &c.body_template,
                to,
                message,
                key,
                escape,
            ))
        };
        // gateways that support it drop a second request with the same key
        req = req.header("Idempotency-Key", key);
        if let Some(token) = &c.bearer_token {
            req = req.bearer_auth(token);
        } else if let Some(user) = &c.username {
            req = req.basic_auth(user, c.password.as_ref());
        }
        let res = req.send().await.map_err(|e| format!("SMS gateway: {}", e.without_url()))?;
        if res.status().is_success() { Ok(()) } else { Err(format!("SMS gateway answered {}", res.status())) }
    }
}

enum EmailChannel {
    Outbox,
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor> },
}

/// Delivers `OutgoingMessage`s.
pub struct Notifier {
    outbox: PathBuf,
    from: Mailbox,
    email: EmailChannel,
    sms: Option<SmsGateway>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let email = match self.email {
            EmailChannel::Outbox => "outbox",
            EmailChannel::Smtp { .. } => "smtp",
        };
        let sms = if self.sms.is_some() { "gateway" } else { "outbox" };
        write!(f, "Notifier(email: {email}, sms: {sms}, outbox: {})", self.outbox.display())
    }
}

impl Notifier {
    /// Email over SMTP when `smtp.host` is set, else into the outbox; SMS into the outbox.
    pub fn new(outbox: PathBuf, smtp: &SmtpConfig) -> Result<Self, String> {
        Self::with_sms(outbox, smtp, &SmsGatewayConfig::default())
    }

    /// As [`Notifier::new`], with SMS through an HTTP gateway when `sms.url` is set.
    pub fn with_sms(outbox: PathBuf, smtp: &SmtpConfig, sms: &SmsGatewayConfig) -> Result<Self, String> {
        let sms = match &sms.url {
            None => None,
            Some(url) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(format!("sms.url {url:?} must be an http(s) URL"));
                }
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(sms.timeout_seconds))
                    .build()
                    .map_err(|e| format!("SMS gateway client: {e}"))?;
                Some(SmsGateway { client, config: sms.clone() })
            }
        };
        let from: Mailbox = smtp.from.parse().map_err(|e| format!("smtp.from {:?}: {e}", smtp.from))?;
        let email = match &smtp.host {
            None => EmailChannel::Outbox,
            Some(host) => {
                let builder = match smtp.tls {
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                    SmtpTls::Starttls => {
                        let params = TlsParameters::new(host.clone()).map_err(|e| format!("smtp TLS: {e}"))?;
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).tls(Tls::Required(params))
                    }
                    SmtpTls::Tls => {
                        let params = TlsParameters::new(host.clone()).map_err(|e| format!("smtp TLS: {e}"))?;
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).tls(Tls::Wrapper(params))
                    }
                };
                let mut builder = builder.port(smtp.port).timeout(Some(Duration::from_secs(smtp.timeout_seconds)));
                if let (Some(user), Some(pass)) = (&smtp.username, &smtp.password) {
                    builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
                }
                EmailChannel::Smtp { transport: builder.build() }
            }
        };
        Ok(Notifier { outbox, from, email, sms })
    }

    pub fn outbox(&self) -> &Path {
        &self.outbox
    }

    fn email_message(&self, msg: &OutgoingMessage, key: &str) -> Result<Message, String> {
        let to: Mailbox = msg.to.parse().map_err(|_| "the email address does not parse".to_owned())?;
        // the same Message-ID each time this message is sent again: mail systems that see a second
        // copy (a retry after a crash between the server's acceptance and our record of it) can
        // recognise it
        let key: String = key.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        Message::builder()
            .message_id(Some(format!("<{key}@{}>", self.from.email.domain())))
            .from(self.from.clone())
            .to(to)
            .subject(msg.subject.clone().unwrap_or_default())
            .header(ContentType::TEXT_PLAIN)
            .body(msg.body.clone())
            .map_err(|e| format!("building the email: {e}"))
    }

    /// One name per delivery key: delivering the same message again (a job retried after a crash)
    /// replaces the file instead of adding a second one. Names sort in the order the messages were
    /// queued (a job id is a UUIDv7, whose first bits are its creation time).
    fn file_name(&self, msg: &OutgoingMessage, key: &str, ext: &str) -> PathBuf {
        let stamp = delivery_stamp(key);
        let key: String = key.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        self.outbox.join(format!("{stamp}-{}-{key}.{ext}", msg.template))
    }

    /// A file in the outbox (0600 in a 0700 folder: it holds OTPs), written whole or not at all.
    async fn write_file(&self, path: PathBuf, bytes: Vec<u8>) -> Result<(), String> {
        tokio::task::spawn_blocking(move || resident_files::write_atomic(&path, &bytes))
            .await
            .map_err(|e| format!("outbox write: {e}"))?
            .map_err(|e| format!("outbox write: {e}"))
    }

    /// Delivers one message. An error is retried by the job queue. `key` names this delivery (the
    /// job's id): delivering the same key again is idempotent where the channel allows it. The outbox
    /// keeps one file per key; an SMS gateway gets it as `Idempotency-Key` (and `$id` in its
    /// template); SMTP cannot promise it (a crash after the server accepted the message and before
    /// the job was recorded done sends it again), so the copy carries the same Message-ID.
    pub async fn deliver(&self, msg: &OutgoingMessage, key: &str) -> Result<(), String> {
        match msg.channel {
            Channel::Email => {
                let email = self.email_message(msg, key)?;
                match &self.email {
                    EmailChannel::Outbox => self.write_file(self.file_name(msg, key, "eml"), email.formatted()).await,
                    EmailChannel::Smtp { transport } => {
                        // a server's refusal usually quotes the recipient: it goes to the log and the job
                        transport.send(email).await.map(|_| ()).map_err(|e| scrub(&format!("SMTP: {e}"), &msg.to))
                    }
                }
            }
            Channel::Sms if self.sms.is_some() => match &self.sms {
                Some(gateway) => gateway.send(&msg.to, &msg.body, key).await.map_err(|e| scrub(&e, &msg.to)),
                None => Ok(()),
            },
            Channel::Sms => {
                let json = serde_json::json!({"to": msg.to, "message": msg.body, "template": msg.template});
                let bytes = serde_json::to_vec_pretty(&json).map_err(|e| e.to_string())?;
                self.write_file(self.file_name(msg, key, "json"), bytes).await
            }
        }
    }
}

#[async_trait::async_trait]
impl resident_domain::notification::MessageSender for Notifier {
    async fn deliver(&self, msg: &OutgoingMessage, key: &str) -> Result<(), String> {
        Notifier::deliver(self, msg, key).await
    }
}

/// The creation time (epoch ms) of a UUIDv7 delivery key, so the outbox sorts in queueing order and
/// a re-delivery keeps its name; the current time for any other key.
fn delivery_stamp(key: &str) -> u128 {
    match uuid::Uuid::parse_str(key).ok().and_then(|u| u.get_timestamp()) {
        Some(ts) => {
            let (secs, nanos) = ts.to_unix();
            u128::from(secs) * 1000 + u128::from(nanos / 1_000_000)
        }
        None => std::time::SystemTime::UNIX_EPOCH.elapsed().map(|d| d.as_millis()).unwrap_or(0),
    }
}

/// A delivery error as it may be logged and kept with the job: the recipient's address or number, and
/// anything else that looks like an email address or a phone number, replaced.
pub fn scrub(error: &str, recipient: &str) -> String {
    let mut out = if recipient.is_empty() { error.to_owned() } else { replace_ignoring_case(error, recipient) };
    // any other address: a token with an @ between other characters
    out = out
        .split_inclusive(|c: char| c.is_whitespace() || "<>()[],;\"'".contains(c))
        .map(|token| {
            let (word, tail) =
                token.split_at(token.trim_end_matches(|c: char| c.is_whitespace() || "<>()[],;\"'".contains(c)).len());
            if word.contains('@') && !word.starts_with('@') && !word.ends_with('@') {
                format!("<address>{tail}")
            } else {
                token.to_owned()
            }
        })
        .collect();
    // long runs of digits (a phone number; codes such as 550 or 5.1.1 are short)
    let mut result = String::with_capacity(out.len());
    let mut digits = String::new();
    for c in out.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() || (c == '+' && digits.is_empty()) {
            digits.push(c);
            continue;
        }
        if digits.chars().filter(char::is_ascii_digit).count() >= 7 {
            result.push_str("<number>");
        } else {
            result.push_str(&digits);
        }
        digits.clear();
        if c != '\0' {
            result.push(c);
        }
    }
    result
}

fn replace_ignoring_case(text: &str, needle: &str) -> String {
    let lower = text.to_lowercase();
    let want = needle.to_lowercase();
    if want.is_empty() || lower.len() != text.len() {
        return text.replace(needle, "<recipient>");
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(found) = lower[i..].find(&want) {
        out.push_str(&text[i..i + found]);
        out.push_str("<recipient>");
        i += found + want.len();
    }
    out.push_str(&text[i..]);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn delivery_errors_name_nobody() {
        let e = "SMTP: permanent error (550): 5.1.1 <Jane.Doe@Example.org>: Recipient address rejected; also cc <x.y@z.example>";
        let s = super::scrub(e, "jane.doe@example.org");
        assert!(!s.to_lowercase().contains("jane"), "{s}");
        assert!(!s.contains("x.y@z"), "{s}");
        assert!(s.contains("550") && s.contains("5.1.1") && s.contains("Recipient address rejected"), "{s}");
        let s = super::scrub("SMS gateway answered 400 for +212612345678", "+212612345678");
        assert!(!s.contains("612345678"), "{s}");
        let s = super::scrub("SMS gateway: number 0612345678 blocked", "");
        assert_eq!(s, "SMS gateway: number <number> blocked");
        assert_eq!(
            super::scrub("SMS gateway answered 503 Service Unavailable", "x"),
            "SMS gateway answered 503 Service Unavailable"
        );
    }

    use super::*;

    fn msg(channel: Channel, to: &str) -> OutgoingMessage {
        OutgoingMessage {
            channel,
            to: to.into(),
            subject: Some("One-time password / كلمة مرور".into()),
            body: "Your code is 123456.\nجين".into(),
            template: "OTP".into(),
            not_after: None,
        }
    }

    #[tokio::test]
    async fn the_outbox_holds_an_eml_and_a_json() {
        let dir = tempfile::tempdir().unwrap();
        let n = Notifier::new(dir.path().join("outbox"), &SmtpConfig::default()).unwrap();
        n.deliver(&msg(Channel::Email, "jane@example.org"), KEY).await.unwrap();
        n.deliver(&msg(Channel::Sms, "9876543210"), "0190a0b0-0000-7000-8000-000000000002").await.unwrap();
        let mut files: Vec<_> = std::fs::read_dir(n.outbox()).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        assert_eq!(files.len(), 2);
        let eml = files.iter().find(|p| p.extension().is_some_and(|e| e == "eml")).unwrap();
        let text = std::fs::read_to_string(eml).unwrap();
        assert!(text.contains("To: jane@example.org"), "{text}");
        assert!(text.contains("Subject: One-time password / =?utf-8?b?"), "non-ASCII words are encoded: {text}");
        assert!(text.contains(&format!("Message-ID: <{KEY}@resident.invalid>")), "{text}");
        let sms = files.iter().find(|p| p.extension().is_some_and(|e| e == "json")).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(sms).unwrap()).unwrap();
        assert_eq!(v["to"], "9876543210");
        assert!(v["message"].as_str().unwrap().contains("123456"));
    }

    /// A job id (UUIDv7, created 2024-07-11).
    const KEY: &str = "0190a0b0-0000-7000-8000-000000000001";

    #[tokio::test]
    async fn delivering_a_message_again_under_its_key_leaves_one_copy() {
        let dir = tempfile::tempdir().unwrap();
        let n = Notifier::new(dir.path().join("outbox"), &SmtpConfig::default()).unwrap();
        let names = || -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(n.outbox())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        for _ in 0..3 {
            n.deliver(&msg(Channel::Sms, "9876543210"), KEY).await.unwrap();
        }
        assert_eq!(names(), ["1720682807296-OTP-0190a0b0000070008000000000000001.json"], "named by the key's time");
        n.deliver(&msg(Channel::Email, "jane@example.org"), KEY).await.unwrap();
        n.deliver(&msg(Channel::Sms, "9876543210"), "0190a0af-0000-7000-8000-000000000009").await.unwrap();
        let names = names();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names[0].starts_with("1720682741760-"), "an earlier job sorts first: {names:?}");
        // a key that is not a UUIDv7 (no time in it) still names one file, and nothing else gets in
        n.deliver(&msg(Channel::Sms, "9876543210"), "../x").await.unwrap();
        assert!(std::fs::read_dir(dir.path()).unwrap().count() == 1, "nothing written beside the outbox");
    }

    #[tokio::test]
    async fn sms_goes_to_an_http_gateway_with_credentials() {
        use std::sync::{Arc, Mutex};
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let keep = seen.clone();
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let keep = keep.clone();
                async move {
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    keep.lock().unwrap().push((format!("{auth} {key}"), body));
                    if headers.get("x-fail").is_some() {
                        axum::http::StatusCode::BAD_GATEWAY
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let dir = tempfile::tempdir().unwrap();
        let sms = SmsGatewayConfig {
            url: Some(format!("http://{addr}/sms")),
            bearer_token: Some("gw-token".into()),
            ..SmsGatewayConfig::default()
        };
        let n = Notifier::with_sms(dir.path().join("outbox"), &SmtpConfig::default(), &sms).unwrap();
        n.deliver(&msg(Channel::Sms, "9876543210"), KEY).await.unwrap();
        let got = seen.lock().unwrap().clone();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, format!("Bearer gw-token {KEY}"), "the delivery's key goes along");
        let body: serde_json::Value = serde_json::from_str(&got[0].1).unwrap();
        assert_eq!(body["to"], "9876543210");
        assert_eq!(body["message"], "Your code is 123456.\nجين", "escaped for JSON and back");
        assert!(!dir.path().join("outbox").exists(), "nothing went to the outbox");
        // a gateway that refuses is an error, so the job queue retries
        let down = SmsGatewayConfig { url: Some("http://127.0.0.1:9/sms".into()), ..SmsGatewayConfig::default() };
        let n = Notifier::with_sms(dir.path().join("outbox"), &SmtpConfig::default(), &down).unwrap();
        assert!(n.deliver(&msg(Channel::Sms, "9876543210"), KEY).await.is_err());
    }

    #[tokio::test]
    async fn a_bad_address_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let n = Notifier::new(dir.path().to_path_buf(), &SmtpConfig::default()).unwrap();
        assert!(n.deliver(&msg(Channel::Email, "not an address"), KEY).await.is_err());
    }
}
