//! `resident platform check`: which platform this service uses, and whether its services answer.
//! Integrated mode is being built service by service; the auth manager comes first, since every
//! MOSIP service wants its token.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use resident_domain::clock::SystemClock;
use resident_mosip::auth::{ClientCredentials, KernelAuth};

use crate::config::{Config, read_secret};

pub async fn check(config: &Config) -> Result<i32> {
    let m = &config.platform.mosip;
    let Some(base) = m.base_url.as_deref().map(|b| b.trim_end_matches('/')) else {
        println!("platform: embedded (platform.mosip.base_url is not set): every service is this binary's own");
        return Ok(0);
    };
    let url = m.authmanager_url.clone().unwrap_or_else(|| format!("{base}/v1/authmanager"));
    let client_id = m.client_id.clone().ok_or_else(|| anyhow!("platform.mosip.client_id is not set"))?;
    let Some(secret_key) =
        read_secret(&m.secret_key, &m.secret_key_file, "platform.mosip.secret_key").map_err(|e| anyhow!(e))?
    else {
        bail!("platform.mosip.secret_key (or secret_key_file) is not set");
    };
    let credentials = ClientCredentials { client_id: client_id.clone(), secret_key, app_id: m.app_id.clone() };
    let timeout = Duration::from_secs(m.timeout_seconds.max(1));
    let auth = KernelAuth::new(&url, credentials, timeout, Arc::new(SystemClock)).map_err(|e| anyhow!("{e}"))?;
    let mut code = 0;
    match auth.fetch().await {
        Ok(token) => println!("auth manager {url}: a token for {client_id} ({} s)", token.life.as_secs()),
        Err(e) => {
            println!("auth manager {url}: {e}");
            code = 1;
        }
    }
    println!(
        "still embedded (their MOSIP adapters are not built yet): ID Authentication, ID Repository, notifier, audit manager, masterdata, key manager"
    );
    Ok(code)
}
