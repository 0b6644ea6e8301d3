//! MOSIP's kernel notifier, as MOSIP's resident service's `NotificationService` calls it:
//!
//! - `POST {notifier}/email/send`, multipart form data: `mailTo`, `mailSubject`, `mailContent`
//!   (MOSIP's resident puts these three in the query string, so the message, an OTP among them,
//!   lands in every proxy's access log; the notifier reads them from the form as well, so here they
//!   go only in the body);
//! - `POST {notifier}/sms/send`, `{request: {number, message}}`;
//!
//! both answered `{response: {status: "success"}}`, refusals as `errors` (`KER-NOE-*`, `KER-NOS-*`).
//! A message is never sent twice by this client: the job queue retries a delivery that failed, and
//! a delivery that got no answer may have gone out (the notifier has no idempotency key).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use resident_domain::clock::{Clock, mosip_datetime};
use resident_domain::notification::{Channel, MessageSender, OutgoingMessage};
use serde_json::{Value, json};

use crate::auth::KernelAuth;
use crate::{AdapterError, Breaker, Retry, call};

const SERVICE: &str = "notifier";

pub struct MosipNotifier {
    http: reqwest::Client,
    base: String,
    auth: Arc<KernelAuth>,
    clock: Arc<dyn Clock>,
    breaker: Breaker,
}

impl MosipNotifier {
    /// `notifier_url` is the notifier's base (`https://api-internal.example/v1/notifier`).
    pub fn new(
        notifier_url: &str,
        auth: Arc<KernelAuth>,
        timeout: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AdapterError> {
        let http = crate::http_client(SERVICE, timeout)?;
        Ok(MosipNotifier {
            http,
            base: notifier_url.trim_end_matches('/').to_owned(),
            auth,
            clock,
            breaker: Breaker::default(),
        })
    }

    /// Sends one message; `Ok` once the notifier says `success`.
    pub async fn send(&self, msg: &OutgoingMessage) -> Result<(), AdapterError> {
        let (status, answer) = match msg.channel {
            Channel::Email => {
                let url = format!("{}/email/send", self.base);
                call(SERVICE, &self.auth, &self.breaker, Retry::Once, |_| {
                    let form = reqwest::multipart::Form::new()
                        .text("mailTo", msg.to.clone())
                        .text("mailSubject", msg.subject.clone().unwrap_or_default())
                        .text("mailContent", msg.body.clone());
                    self.http.post(&url).multipart(form)
                })
                .await?
            }
            Channel::Sms => {
                let url = format!("{}/sms/send", self.base);
                let body = json!({
                    "id": "mosip.kernel.sms.send", "version": "1.0", "metadata": {},
                    "requesttime": mosip_datetime(self.clock.now()),
                    "request": {"number": msg.to, "message": msg.body},
                });
                call(SERVICE, &self.auth, &self.breaker, Retry::Once, |_| self.http.post(&url).json(&body)).await?
            }
        };
        if let Some(refused) = crate::refusal(SERVICE, status, &answer) {
            return Err(refused);
        }
        match answer.pointer("/response/status").and_then(Value::as_str) {
            Some(s) if s.eq_ignore_ascii_case("success") => Ok(()),
            _ => Err(AdapterError::Malformed { service: SERVICE, detail: "no status success".into() }),
        }
    }
}

#[async_trait]
impl MessageSender for MosipNotifier {
    async fn deliver(&self, msg: &OutgoingMessage, _key: &str) -> Result<(), String> {
        // the error goes to the job and the log: never the recipient (the adapter's errors name none)
        self.send(msg).await.map_err(|e| e.to_string())
    }
}
