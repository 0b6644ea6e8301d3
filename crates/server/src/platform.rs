//! Integrated mode: the MOSIP clients the composition root plugs in where a service is MOSIP's, and
//! `resident platform check`: which platform each service is, and whether MOSIP's answer.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use resident_domain::clock::{Clock, SystemClock};
use resident_domain::ida::IdAuthentication;
use resident_domain::idrepo::IdRepository;
use resident_domain::notification::MessageSender;
use resident_mosip::auth::{ClientCredentials, KernelAuth};
use resident_mosip::ida::MosipIda;
use resident_mosip::idrepo::MosipIdRepository;
use resident_mosip::notifier::MosipNotifier;

use crate::config::{Config, read_secret};

/// The kernel auth manager's client, which every MOSIP adapter asks for its token.
pub fn kernel_auth(config: &Config, clock: Arc<dyn Clock>) -> Result<Arc<KernelAuth>> {
    let m = &config.platform.mosip;
    let url = m.url_of("authmanager").ok_or_else(|| anyhow!("platform.mosip.base_url is not set"))?;
    let client_id = m.client_id.clone().ok_or_else(|| anyhow!("platform.mosip.client_id is not set"))?;
    let Some(secret_key) =
        read_secret(&m.secret_key, &m.secret_key_file, "platform.mosip.secret_key").map_err(|e| anyhow!(e))?
    else {
        bail!("platform.mosip.secret_key (or secret_key_file) is not set");
    };
    let credentials = ClientCredentials { client_id, secret_key, app_id: m.app_id.clone() };
    Ok(Arc::new(KernelAuth::new(&url, credentials, timeout(config), clock).map_err(|e| anyhow!("{e}"))?))
}

fn timeout(config: &Config) -> Duration {
    Duration::from_secs(config.platform.mosip.timeout_seconds.max(1))
}

/// ID Authentication as configured: the embedded IDA, or MOSIP's.
pub fn ida(
    config: &Config,
    embedded: Arc<resident_domain::ida::embedded::EmbeddedIda>,
    auth: Option<&Arc<KernelAuth>>,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn IdAuthentication>> {
    if !config.platform.uses_mosip("ida") {
        return Ok(embedded);
    }
    let auth = auth.ok_or_else(|| anyhow!("ID Authentication is MOSIP's but no auth manager is configured"))?;
    let url = config.platform.mosip.url_of("ida").ok_or_else(|| anyhow!("platform.mosip.ida_url"))?;
    Ok(Arc::new(MosipIda::new(&url, auth.clone(), timeout(config), clock).map_err(|e| anyhow!("{e}"))?))
}

/// The ID Repository as configured: the embedded one, or MOSIP's (this tier then keeps its records
/// of an identity under its own keyed token of the UIN, `token_of`).
pub fn idrepo(
    config: &Config,
    embedded: Arc<resident_domain::idrepo::embedded::EmbeddedIdRepository>,
    auth: Option<&Arc<KernelAuth>>,
    clock: Arc<dyn Clock>,
    token_of: resident_mosip::idrepo::TokenOf,
) -> Result<Arc<dyn IdRepository>> {
    if !config.platform.uses_mosip("id_repository") {
        return Ok(embedded);
    }
    let auth = auth.ok_or_else(|| anyhow!("the ID Repository is MOSIP's but no auth manager is configured"))?;
    let url = config.platform.mosip.url_of("id_repository").ok_or_else(|| anyhow!("platform.mosip.idrepo_url"))?;
    let repo =
        MosipIdRepository::new(&url, auth.clone(), timeout(config), clock, token_of).map_err(|e| anyhow!("{e}"))?;
    Ok(Arc::new(repo))
}

/// Who delivers notifications as configured: this binary's notifier, or MOSIP's.
pub fn sender(
    config: &Config,
    embedded: Arc<resident_notify::Notifier>,
    auth: Option<&Arc<KernelAuth>>,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn MessageSender>> {
    if !config.platform.uses_mosip("notifier") {
        return Ok(embedded);
    }
    let auth = auth.ok_or_else(|| anyhow!("the notifier is MOSIP's but no auth manager is configured"))?;
    let url = config.platform.mosip.url_of("notifier").ok_or_else(|| anyhow!("platform.mosip.notifier_url"))?;
    Ok(Arc::new(MosipNotifier::new(&url, auth.clone(), timeout(config), clock).map_err(|e| anyhow!("{e}"))?))
}

pub async fn check(config: &Config) -> Result<i32> {
    for line in config.platform.describe() {
        println!("{line}");
    }
    if !config.platform.calls_mosip() && config.platform.mosip.base_url.is_none() {
        println!("platform: embedded: every service is this binary's own");
        return Ok(0);
    }
    let auth = kernel_auth(config, Arc::new(SystemClock))?;
    let client_id = config.platform.mosip.client_id.clone().unwrap_or_default();
    let shown =
        |key: &str| config.platform.mosip.url_of(key).map(|u| resident_store::redact_url(&u)).unwrap_or_default();
    let mut code = 0;
    match auth.fetch().await {
        Ok(token) => {
            println!("auth manager {}: a token for {client_id} ({} s)", shown("authmanager"), token.life.as_secs())
        }
        Err(e) => {
            println!("auth manager {}: {e}", shown("authmanager"));
            return Ok(1);
        }
    }
    if config.platform.uses_mosip("ida") {
        // the certificate is a read: asking for it changes nothing and proves the role and the key
        let url = config.platform.mosip.url_of("ida").unwrap_or_default();
        let ida =
            MosipIda::new(&url, auth.clone(), timeout(config), Arc::new(SystemClock)).map_err(|e| anyhow!("{e}"))?;
        match ida.certificate(true).await {
            Ok(cert) => println!(
                "ID Authentication {}: its INTERNAL certificate {}",
                shown("ida"),
                hex::encode(&cert.thumbprint()[..8])
            ),
            Err(e) => {
                println!("ID Authentication {}: {e}", shown("ida"));
                code = 1;
            }
        }
    }
    Ok(code)
}
