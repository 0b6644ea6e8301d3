//! MOSIP's key manager, as resident services use it: `POST /v1/keymanager/jwtSign` signs the
//! credential on a resident's card with the `RESIDENT` key (`applicationId RESIDENT`, the payload
//! included, the certificate's SHA-256 thumbprint in the header), and
//! `GET /v1/keymanager/getCertificate?applicationId=RESIDENT&referenceId=` gives the certificate that
//! verifies it, published as an RSA JSON Web Key. A signature is a change-free call, but each makes a
//! new token: it is never sent twice. The certificate is a read, kept for ten minutes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine as _;
use resident_domain::ResidentError;
use resident_domain::clock::{Clock, mosip_datetime};
use serde_json::{Value, json};

use crate::auth::KernelAuth;
use crate::{AdapterError, Breaker, Retry, call};

const SERVICE: &str = "key manager";
/// The application whose key signs residents' credentials.
pub const SIGN_APPLICATION: &str = "RESIDENT";
/// How long the signing certificate is kept before it is asked for again.
const CERTIFICATE_LIFE: Duration = Duration::from_secs(600);

pub struct MosipKeyManager {
    http: reqwest::Client,
    url: String,
    auth: Arc<KernelAuth>,
    breaker: Breaker,
    clock: Arc<dyn Clock>,
    published: tokio::sync::Mutex<Option<(Instant, Value)>>,
}

fn malformed(detail: &str) -> AdapterError {
    AdapterError::Malformed { service: SERVICE, detail: detail.into() }
}

impl MosipKeyManager {
    /// `url` is the key manager's `…/v1/keymanager`.
    pub fn new(
        url: &str,
        auth: Arc<KernelAuth>,
        timeout: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AdapterError> {
        Ok(MosipKeyManager {
            http: crate::http_client(SERVICE, timeout)?,
            url: url.trim_end_matches('/').to_owned(),
            auth,
            breaker: Breaker::default(),
            clock,
            published: tokio::sync::Mutex::new(None),
        })
    }

    fn response(status: reqwest::StatusCode, answer: &Value) -> Result<Value, AdapterError> {
        if let Some(refused) = crate::refusal(SERVICE, status, answer) {
            return Err(refused);
        }
        answer.get("response").cloned().filter(|r| !r.is_null()).ok_or_else(|| malformed("no response"))
    }

    /// The signing certificate (PEM).
    pub async fn certificate(&self) -> Result<String, AdapterError> {
        let url = format!("{}/getCertificate", self.url);
        let query = [("applicationId", SIGN_APPLICATION), ("referenceId", "")];
        let (status, answer) =
            call(SERVICE, &self.auth, &self.breaker, Retry::Idempotent, |_| self.http.get(&url).query(&query)).await?;
        let response = Self::response(status, &answer)?;
        response
            .get("certificate")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| malformed("no certificate"))
    }

    async fn sign(&self, claims: &Value) -> Result<String, AdapterError> {
        let url = format!("{}/jwtSign", self.url);
        let body = json!({
            "id": "string", "version": "string", "requesttime": mosip_datetime(self.clock.now()), "metadata": {},
            "request": {
                "dataToSign": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string()),
                "applicationId": SIGN_APPLICATION, "referenceId": "",
                "includePayload": true, "includeCertificate": false, "includeCertHash": true,
            },
        });
        let (status, answer) =
            call(SERVICE, &self.auth, &self.breaker, Retry::Once, |_| self.http.post(&url).json(&body)).await?;
        let response = Self::response(status, &answer)?;
        let jws = response.get("jwtSignedData").and_then(Value::as_str).ok_or_else(|| malformed("no jwtSignedData"))?;
        if jws.split('.').count() != 3 || jws.split('.').nth(1).is_none_or(str::is_empty) {
            return Err(malformed("not a compact JWS with its payload"));
        }
        Ok(jws.to_owned())
    }
}

#[async_trait]
impl resident_domain::keymanager::KeyManager for MosipKeyManager {
    async fn jwt_sign(&self, claims: &Value) -> Result<String, ResidentError> {
        Ok(self.sign(claims).await?)
    }

    async fn published_keys(&self) -> Result<Value, ResidentError> {
        let mut kept = self.published.lock().await;
        if let Some((at, keys)) = kept.as_ref()
            && at.elapsed() < CERTIFICATE_LIFE
        {
            return Ok(keys.clone());
        }
        let pem = self.certificate().await?;
        let jwk = crate::crypto::jwk_of_certificate(&pem).map_err(|e| malformed(&e))?;
        let keys = json!({ "keys": [jwk] });
        *kept = Some((Instant::now(), keys.clone()));
        Ok(keys)
    }
}
