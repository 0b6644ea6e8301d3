//! The audit manager's client: an audit record sent to MOSIP's `POST /v1/auditmanager/audits` (the
//! kernel envelope around an `AuditRequestDto`, as MOSIP's resident service's `AuditUtil` fills it),
//! with the kernel auth token (renewed once when refused), through the shared call path (a gateway's
//! 502–504 is no answer; a breaker stops calling a manager that stopped answering). Sending a record
//! twice writes it twice, so a record that got no answer is not sent again here: the caller's error
//! says so, and the chain's forwarder decides.

use std::sync::Arc;

use async_trait::async_trait;
use resident_domain::StoreError;
use resident_domain::audit::AuditRecord;
use resident_domain::clock::{Clock, mosip_datetime};
use resident_domain::ports::AuditLog;
use serde_json::{Value, json};

use crate::auth::KernelAuth;
use crate::{AdapterError, Breaker, Retry, call};

const SERVICE: &str = "audit manager";

/// MOSIP's audit manager, as this service's audit sink.
pub struct MosipAuditLog {
    http: reqwest::Client,
    url: String,
    auth: Arc<KernelAuth>,
    clock: Arc<dyn Clock>,
    breaker: Breaker,
}

impl MosipAuditLog {
    /// `auditmanager_url` is the audit manager's base (`https://api-internal.example/v1/auditmanager`).
    pub fn new(
        auditmanager_url: &str,
        auth: Arc<KernelAuth>,
        timeout: std::time::Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AdapterError> {
        let http = crate::http_client(SERVICE, timeout)?;
        let url = format!("{}/audits", auditmanager_url.trim_end_matches('/'));
        Ok(MosipAuditLog { http, url, auth, clock, breaker: Breaker::default() })
    }

    /// Sends one record; `Ok` once the audit manager says it is kept.
    pub async fn send(&self, record: &AuditRecord) -> Result<(), AdapterError> {
        let body = json!({
            "id": "mosip.audit.request", "version": "1.0", "metadata": {},
            "requesttime": mosip_datetime(self.clock.now()),
            "request": {
                "eventId": record.event_id, "eventName": record.event_name, "eventType": record.event_type,
                "actionTimeStamp": mosip_datetime(record.action_at),
                "hostName": record.host_name, "hostIp": record.host_ip,
                "applicationId": record.app_id, "applicationName": record.app_name,
                "sessionUserId": record.session_user_id, "sessionUserName": record.session_user_name,
                "id": record.ref_id.as_deref().unwrap_or("NO_ID"),
                "idType": record.ref_id_type.as_deref().unwrap_or("NO_ID_TYPE"),
                "createdBy": record.created_by, "moduleName": record.module_name, "moduleId": record.module_id,
                "description": record.description,
            },
        });
        let (status, answer) =
            call(SERVICE, &self.auth, &self.breaker, Retry::Once, |_| self.http.post(&self.url).json(&body)).await?;
        if let Some(refused) = crate::refusal(SERVICE, status, &answer) {
            return Err(refused);
        }
        match answer.pointer("/response/status") {
            Some(Value::Bool(true)) => Ok(()),
            _ => Err(AdapterError::Malformed { service: SERVICE, detail: "no status true".into() }),
        }
    }
}

#[async_trait]
impl AuditLog for MosipAuditLog {
    async fn append(&self, record: AuditRecord) -> Result<(), StoreError> {
        self.send(&record).await.map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}
