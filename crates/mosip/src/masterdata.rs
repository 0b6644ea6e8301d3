//! MOSIP's masterdata, as MOSIP's resident service reads it: notification templates
//! (`GET {masterdata}/templates/{lang}/{code}`, `response.templates[0].fileText`, Velocity's `$name`
//! as this service writes them) and the ID schema (`GET {syncdata}/latestidschema?schemaVersion=0.1`,
//! `response.schemaJson`). Both are reads, asked again when no answer comes. This service reads them
//! once, at start-up: a country changes them rarely, and a restart picks a change up.

use std::sync::Arc;
use std::time::Duration;

use resident_domain::clock::Clock;
use serde_json::Value;

use crate::auth::KernelAuth;
use crate::{AdapterError, Breaker, Retry, call};

const SERVICE: &str = "masterdata";
/// Masterdata's "Template not found".
const TEMPLATE_NOT_FOUND: &str = "KER-MSD-046";

pub struct MosipMasterdata {
    http: reqwest::Client,
    masterdata: String,
    syncdata: String,
    auth: Arc<KernelAuth>,
    breaker: Breaker,
}

fn malformed(detail: &str) -> AdapterError {
    AdapterError::Malformed { service: SERVICE, detail: detail.into() }
}

impl MosipMasterdata {
    /// `masterdata_url` is `…/v1/masterdata`, `syncdata_url` `…/v1/syncdata`.
    pub fn new(
        masterdata_url: &str,
        syncdata_url: &str,
        auth: Arc<KernelAuth>,
        timeout: Duration,
        _clock: Arc<dyn Clock>,
    ) -> Result<Self, AdapterError> {
        let http = crate::http_client(SERVICE, timeout)?;
        Ok(MosipMasterdata {
            http,
            masterdata: masterdata_url.trim_end_matches('/').to_owned(),
            syncdata: syncdata_url.trim_end_matches('/').to_owned(),
            auth,
            breaker: Breaker::default(),
        })
    }

    async fn get(&self, url: &str) -> Result<Value, AdapterError> {
        let (status, answer) =
            call(SERVICE, &self.auth, &self.breaker, Retry::Idempotent, |_| self.http.get(url)).await?;
        if let Some(refused) = crate::refusal(SERVICE, status, &answer) {
            return Err(refused);
        }
        Ok(answer.get("response").cloned().unwrap_or(Value::Null))
    }

    /// A template's text in a language; `None` when masterdata has no such template (`KER-MSD-046`,
    /// or no active one).
    pub async fn template(&self, lang: &str, code: &str) -> Result<Option<String>, AdapterError> {
        let url = format!("{}/templates/{lang}/{code}", self.masterdata);
        let response = match self.get(&url).await {
            Ok(r) => r,
            // only "no such template": a refused token or a failing masterdata is an error, not a
            // reason to send the bundled text
            Err(AdapterError::Refused { code, .. }) if code == TEMPLATE_NOT_FOUND => return Ok(None),
            Err(e) => return Err(e),
        };
        let templates = response.get("templates").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(templates
            .iter()
            .filter(|t| t.get("isActive").and_then(Value::as_bool).unwrap_or(true))
            .find_map(|t| t.get("fileText").and_then(Value::as_str).map(str::to_owned)))
    }

    /// The latest ID schema document (`schemaJson`, a JSON text in MOSIP's answer, or an object).
    pub async fn id_schema(&self) -> Result<String, AdapterError> {
        let url = format!("{}/latestidschema?schemaVersion=0.1", self.syncdata);
        let response = self.get(&url).await?;
        match response.get("schemaJson") {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(v @ Value::Object(_)) => Ok(v.to_string()),
            _ => Err(malformed("no schemaJson")),
        }
    }
}
