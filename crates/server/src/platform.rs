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
use resident_mosip::keymanager::MosipKeyManager;
use resident_mosip::masterdata::MosipMasterdata;
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

/// The key manager as configured: the card key ring (`embedded`), or MOSIP's.
pub fn keys(
    config: &Config,
    embedded: Arc<dyn resident_domain::keymanager::KeyManager>,
    auth: Option<&Arc<KernelAuth>>,
    clock: Arc<dyn Clock>,
    kept: Arc<dyn resident_domain::keymanager::SigningCertificates>,
) -> Result<Arc<dyn resident_domain::keymanager::KeyManager>> {
    if !config.platform.uses_mosip("keymanager") {
        return Ok(embedded);
    }
    let auth = auth.ok_or_else(|| anyhow!("the key manager is MOSIP's but no auth manager is configured"))?;
    let url = config.platform.mosip.url_of("keymanager").ok_or_else(|| anyhow!("platform.mosip.keymanager_url"))?;
    Ok(Arc::new(MosipKeyManager::new(&url, auth.clone(), timeout(config), clock, kept).map_err(|e| anyhow!("{e}"))?))
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

/// MOSIP's masterdata (templates and ID schema), for a service whose masterdata is MOSIP's.
pub fn masterdata(config: &Config, auth: Option<&Arc<KernelAuth>>, clock: Arc<dyn Clock>) -> Result<MosipMasterdata> {
    let auth = auth.ok_or_else(|| anyhow!("masterdata is MOSIP's but no auth manager is configured"))?;
    let m = &config.platform.mosip;
    let url = m.url_of("masterdata").ok_or_else(|| anyhow!("platform.mosip.masterdata_url"))?;
    let sync = m.url_of("syncdata").ok_or_else(|| anyhow!("platform.mosip.syncdata_url"))?;
    MosipMasterdata::new(&url, &sync, auth.clone(), timeout(config), clock).map_err(|e| anyhow!("{e}"))
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
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if config.platform.uses_mosip("id_repository") {
        // a VID nobody holds: the repository's "no record" proves it answers and takes the token
        let token_of: resident_mosip::idrepo::TokenOf =
            Arc::new(|uin: &resident_domain::ids::Uin| resident_domain::history::IdentityToken(uin.masked()));
        let url = config.platform.mosip.url_of("id_repository").unwrap_or_default();
        let repo = MosipIdRepository::new(&url, auth.clone(), timeout(config), clock.clone(), token_of)
            .map_err(|e| anyhow!("{e}"))?;
        let nobody = resident_domain::ids::IndividualId::Vid(resident_domain::ids::Vid::generate(
            &mut resident_domain::clock::rng(),
        ));
        match repo.identity(&nobody, clock.now()).await {
            Ok(_) => println!("ID Repository {}: answers (a VID nobody holds: no record)", shown("id_repository")),
            Err(e) => {
                println!("ID Repository {}: {e:?}", shown("id_repository"));
                code = 1;
            }
        }
    }
    if config.platform.uses_mosip("masterdata") {
        let m = masterdata(config, Some(&auth), clock.clone())?;
        match (m.template("eng", "OTP_SMS").await, m.id_schema().await) {
            (Ok(t), Ok(schema)) => println!(
                "masterdata {}: template OTP_SMS {}, an ID schema of {} bytes",
                shown("masterdata"),
                if t.is_some() { "found" } else { "not found (the bundled one would be used)" },
                schema.len()
            ),
            (Err(e), _) | (_, Err(e)) => {
                println!("masterdata {}: {e}", shown("masterdata"));
                code = 1;
            }
        }
    }
    if config.platform.uses_mosip("keymanager") {
        // the signing certificate is a read; a signature is not asked for (it would sign nothing)
        let url = config.platform.mosip.url_of("keymanager").unwrap_or_default();
        let keys = MosipKeyManager::new(&url, auth.clone(), timeout(config), clock.clone(), Arc::new(NothingKept))
            .map_err(|e| anyhow!("{e}"))?;
        match keys.certificate().await.map(|pem| resident_mosip::crypto::jwk_of_certificate(&pem)) {
            Ok(Ok(jwk)) => println!(
                "key manager {}: the RESIDENT signing certificate {}",
                shown("keymanager"),
                jwk["kid"].as_str().unwrap_or_default()
            ),
            Ok(Err(e)) => {
                println!(
                    "key manager {}: its RESIDENT certificate is not an RSA certificate: {e}",
                    shown("keymanager")
                );
                code = 1;
            }
            Err(e) => {
                println!("key manager {}: {e}", shown("keymanager"));
                code = 1;
            }
        }
    }
    for (key, what) in [("notifier", "it would send a message"), ("audit", "it would write a record")] {
        if config.platform.uses_mosip(key) {
            println!("{key} {}: not called ({what}); the token above is the one it takes", shown(key));
        }
    }
    Ok(code)
}

/// `platform check` reads the certificate and keeps nothing (it opens no database).
struct NothingKept;

#[async_trait::async_trait]
impl resident_domain::keymanager::SigningCertificates for NothingKept {
    async fn signing_certificates(&self) -> Result<Vec<(String, String)>, resident_domain::StoreError> {
        Ok(Vec::new())
    }
    async fn keep_signing_certificate(
        &self,
        _thumbprint: &str,
        _pem: &str,
        _now: time::OffsetDateTime,
    ) -> Result<(), resident_domain::StoreError> {
        Ok(())
    }
}

/// Forwards the local audit chain to MOSIP's audit manager, when audit is MOSIP's: every record is
/// first committed here, with the change it describes (the chain is the outbox), then handed on in
/// order by one forwarder at a time (a lease in `audit_forward`, renewed with every record), the mark
/// moved past each record the audit manager took.
///
/// A record the audit manager refuses as a record (`KER-AUD-*`: it breaks its rules) is logged by its
/// sequence number and passed over; it stays in the local chain. Any other failure (no answer, a
/// gateway's 5xx, a refused token) ends the round, and the record is sent again on the next: the
/// audit manager may see a record twice (one whose answer was lost), never not at all.
pub struct AuditForwarder {
    pub store: resident_store::Store,
    pub sink: resident_mosip::audit::MosipAuditLog,
    pub clock: Arc<dyn Clock>,
    /// This forwarder's name in the lease.
    pub owner: String,
    pub every: Duration,
    pub batch: i64,
}

/// How long a lease holds without a record handed on: longer than one call may take.
const LEASE_MS: i64 = 60_000;

impl AuditForwarder {
    /// One round: how many records the audit manager took.
    pub async fn once(&self) -> Result<usize> {
        let now_ms = || resident_domain::clock::epoch_ms(self.clock.now());
        let Some(mark) = self.store.lease_audit_forward(&self.owner, now_ms(), now_ms() + LEASE_MS).await? else {
            return Ok(0);
        };
        let result = self.forward_from(mark, now_ms).await;
        self.store.end_audit_forward(&self.owner).await?;
        result
    }

    async fn forward_from(&self, mark: i64, now_ms: impl Fn() -> i64) -> Result<usize> {
        let mut sent = 0;
        for (seq, record) in self.store.audit_after(mark, self.batch).await? {
            match self.sink.send(&record).await {
                Ok(()) => sent += 1,
                Err(resident_mosip::AdapterError::Refused { code, .. }) if code.starts_with("KER-AUD-") => {
                    tracing::error!(seq, code, "the audit manager refused a record: it stays in the local chain only");
                }
                Err(e) => bail!("record {seq} was not taken (sent again next round): {e}"),
            }
            if !self.store.audit_forwarded(&self.owner, seq, now_ms() + LEASE_MS).await? {
                bail!("another forwarder took the lease over");
            }
        }
        Ok(sent)
    }

    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            let full = match self.once().await {
                Ok(n) => n as i64 >= self.batch,
                Err(e) => {
                    tracing::warn!(error = %e, "audit records were not forwarded");
                    false
                }
            };
            if !full {
                tokio::select! {
                    _ = tokio::time::sleep(self.every) => {}
                    _ = shutdown.changed() => {}
                }
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }
}

/// The audit forwarder, when audit is MOSIP's.
pub fn audit_forwarder(
    config: &Config,
    store: resident_store::Store,
    auth: Option<&Arc<KernelAuth>>,
    clock: Arc<dyn Clock>,
) -> Result<Option<AuditForwarder>> {
    if !config.platform.uses_mosip("audit") {
        return Ok(None);
    }
    let auth = auth.ok_or_else(|| anyhow!("the audit manager is MOSIP's but no auth manager is configured"))?;
    let url = config.platform.mosip.url_of("audit").ok_or_else(|| anyhow!("platform.mosip.auditmanager_url"))?;
    let sink = resident_mosip::audit::MosipAuditLog::new(&url, auth.clone(), timeout(config), clock.clone())
        .map_err(|e| anyhow!("{e}"))?;
    let owner = format!("forwarder-{}", hex::encode(rand::Rng::r#gen::<[u8; 8]>(&mut resident_domain::clock::rng())));
    Ok(Some(AuditForwarder { store, sink, clock, owner, every: Duration::from_secs(5), batch: 100 }))
}
