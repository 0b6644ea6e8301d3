//! MOSIP's key manager, as resident services use it: `POST /v1/keymanager/jwtSign` signs the
//! credential on a resident's card with the `RESIDENT` key (`applicationId RESIDENT`, the payload
//! included, the certificate's SHA-256 thumbprint in the header), and
//! `GET /v1/keymanager/getCertificate?applicationId=RESIDENT&referenceId=` gives the certificate that
//! verifies it. Every certificate a card was signed under is kept by this tier
//! ([`SigningCertificates`]) and stays published as an RSA JSON Web Key: a card keeps verifying after
//! the key manager renews its key, and the published set does not depend on the key manager
//! answering. A signature whose key this tier cannot get the certificate of is refused. A signature
//! is never asked for twice; the certificate, a read, is asked again when no answer comes.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use resident_domain::ResidentError;
use resident_domain::clock::{Clock, mosip_datetime};
use resident_domain::keymanager::SigningCertificates;
use serde_json::{Value, json};

use crate::auth::KernelAuth;
use crate::{AdapterError, Breaker, Retry, call};

const SERVICE: &str = "key manager";
/// The application whose key signs residents' credentials.
pub const SIGN_APPLICATION: &str = "RESIDENT";

pub struct MosipKeyManager {
    http: reqwest::Client,
    url: String,
    auth: Arc<KernelAuth>,
    breaker: Breaker,
    clock: Arc<dyn Clock>,
    kept: Arc<dyn SigningCertificates>,
}

fn malformed(detail: &str) -> AdapterError {
    AdapterError::Malformed { service: SERVICE, detail: detail.into() }
}

impl MosipKeyManager {
    /// `url` is the key manager's `…/v1/keymanager`; `kept`, where this tier keeps its certificates.
    pub fn new(
        url: &str,
        auth: Arc<KernelAuth>,
        timeout: Duration,
        clock: Arc<dyn Clock>,
        kept: Arc<dyn SigningCertificates>,
    ) -> Result<Self, AdapterError> {
        Ok(MosipKeyManager {
            http: crate::http_client(SERVICE, timeout)?,
            url: url.trim_end_matches('/').to_owned(),
            auth,
            breaker: Breaker::default(),
            clock,
            kept,
        })
    }

    /// Asks for the current signing certificate and keeps it; its thumbprint.
    async fn keep_current(&self) -> Result<String, ResidentError> {
        let pem = self.certificate().await?;
        let jwk = crate::crypto::jwk_of_certificate(&pem).map_err(|e| malformed(&e))?;
        let thumbprint = jwk["kid"].as_str().unwrap_or_default().to_owned();
        self.kept.keep_signing_certificate(&thumbprint, &pem, self.clock.now()).await?;
        Ok(thumbprint)
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

/// The key a compact JWS names: its `x5t#S256`, else its `kid`.
fn named_key(jws: &str) -> Option<String> {
    let header = jws.split('.').next()?;
    let header: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    ["x5t#S256", "kid"].iter().find_map(|k| header.get(*k).and_then(Value::as_str).map(str::to_owned))
}

#[async_trait]
impl resident_domain::keymanager::KeyManager for MosipKeyManager {
    async fn jwt_sign(&self, claims: &Value) -> Result<String, ResidentError> {
        let jws = self.sign(claims).await?;
        let named = named_key(&jws).ok_or_else(|| malformed("a signature that names no key"))?;
        let known = self.kept.signing_certificates().await?.iter().any(|(t, _)| *t == named);
        // a key not seen before (the first signature, or a renewed key): its certificate is kept
        // before the card goes out, or the card is not given at all
        if !known && self.keep_current().await? != named {
            return Err(malformed("signed with a key whose certificate the key manager does not give").into());
        }
        Ok(jws)
    }

    async fn published_keys(&self) -> Result<Value, ResidentError> {
        let mut kept = self.kept.signing_certificates().await?;
        if kept.is_empty() {
            // nothing signed yet: the current certificate, if the key manager answers
            match self.keep_current().await {
                Ok(_) => kept = self.kept.signing_certificates().await?,
                Err(e) => tracing::warn!(error = %e, "the key manager's signing certificate is not available"),
            }
        }
        let keys: Vec<Value> = kept.iter().filter_map(|(_, pem)| crate::crypto::jwk_of_certificate(pem).ok()).collect();
        Ok(json!({ "keys": keys }))
    }
}
