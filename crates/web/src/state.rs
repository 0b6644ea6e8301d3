//! What handlers can reach: ports (never concrete storage), the clock, configuration they need.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use resident_domain::clock::Clock;
use resident_domain::identity::IdentitySchema;
use resident_domain::notification::Templates;
use resident_domain::otp::OtpPolicy;
use resident_domain::ports::{
    AuditLog, AuthRepository, HealthCheck, IdentityRegistry, PacketCodec, PacketStore, RegistrationRepository,
    UpdateRepository,
};
use resident_domain::registration::StatusPolicy;
use resident_domain::vid::VidPolicy;

/// The host that writes audit records (MOSIP's hostName/hostIp).
#[derive(Debug, Clone)]
pub struct HostInfo {
    pub name: String,
    pub ip: String,
}

pub struct Services {
    pub registrations: Arc<dyn RegistrationRepository>,
    pub audit: Arc<dyn AuditLog>,
    pub identities: Arc<dyn IdentityRegistry>,
    pub health: Arc<dyn HealthCheck>,
    pub auth: Arc<dyn AuthRepository>,
    /// ID Authentication as resident services use it: the embedded IDA, or MOSIP's.
    pub ida: Arc<dyn resident_domain::ida::IdAuthentication>,
    /// This platform's own IDA, which its IDA endpoints serve (to relying parties and resident tiers).
    pub embedded_ida: Arc<resident_domain::ida::embedded::EmbeddedIda>,
    /// The ID Repository as resident services use it: the embedded one, or MOSIP's.
    pub idrepo: Arc<dyn resident_domain::idrepo::IdRepository>,
    /// This platform's own ID Repository, which its ID Repository endpoints serve.
    pub embedded_idrepo: Arc<resident_domain::idrepo::embedded::EmbeddedIdRepository>,
    /// The embedded key manager's IDA `INTERNAL` key pair, which opens sealed internal requests.
    pub ida_keys: Arc<crate::platform::keymanager::DerivedKeys>,
    /// The embedded key manager's `RESIDENT` signing key, which its `jwtSign` serves.
    pub sign_keys: Arc<crate::platform::keymanager::DerivedKeys>,
    /// The key manager as resident services use it: the card key ring, or MOSIP's.
    pub keys: Arc<dyn resident_domain::keymanager::KeyManager>,
    pub updates: Arc<dyn UpdateRepository>,
    pub packets: Arc<dyn PacketStore>,
    pub codec: Arc<dyn PacketCodec>,
    pub update_policy: resident_domain::update::UpdatePolicy,
    pub cards: Arc<dyn resident_domain::card::CardIssuer>,
    pub print_queue: Arc<dyn resident_domain::print::PrintQueue>,
    pub credentials: Arc<dyn resident_domain::credential::CredentialStore>,
    pub sessions: Arc<dyn resident_domain::ports::SessionStore>,
    pub drafts: Arc<dyn resident_domain::ports::DraftStore>,
    pub history: Arc<dyn resident_domain::ports::ServiceHistory>,
    pub grievances: Arc<dyn resident_domain::ports::GrievanceStore>,
    pub verifications: Arc<dyn resident_domain::ports::ChannelVerifications>,
    pub accesses: Arc<dyn resident_domain::access::DataAccessLog>,
    pub portal: crate::portal::PortalSettings,
    /// MOSIP's portal app on this server (its login, CORS, the served copy).
    pub mosip_ui: crate::ui::UiSettings,
    pub templates: Arc<Templates>,
    pub otp_policy: OtpPolicy,
    pub vid_policy: Arc<VidPolicy>,
    /// How long a credential request id works on its own (`card.request_id_minutes`).
    pub request_id_window: time::Duration,
    /// Centre and machine ids in the RIDs of resident requests (MOSIP `resident.center.id`/`machine.id`).
    pub centre: resident_domain::ids::CentreId,
    pub machine: resident_domain::ids::MachineId,
    pub clock: Arc<dyn Clock>,
    pub schema: Arc<IdentitySchema>,
    /// The country's locations, centres, document types and dynamic field values.
    pub masterdata: Arc<resident_domain::masterdata::Masterdata>,
    /// Rules that write a name or an address line in another language's script.
    pub transliteration: Arc<resident_domain::transliteration::Transliteration>,
    /// Proof documents uploaded for an update (MOSIP's portal app).
    pub uploads: Arc<dyn resident_domain::update::uploads::UploadStore>,
    pub status_policy: StatusPolicy,
    pub host: HostInfo,
    /// SHA-256 of the service key a registration processor may present instead of a platform
    /// client's token. `None`: only tokens.
    pub service_key_sha256: Option<[u8; 32]>,
    /// The platform's registered clients (MOSIP's auth manager), and the key that signs their tokens.
    pub clients: Arc<dyn resident_domain::platform::PlatformClients>,
    pub platform_token_key: [u8; 32],
    pub metrics: Option<PrometheusHandle>,
    /// Per-client throttling: the limits and the shared counters.
    pub rate_limits: resident_domain::throttle::RateLimits,
    pub rate_counter: Arc<dyn resident_domain::throttle::RateCounter>,
    /// Set when the server shuts down: the health endpoint fails and responses close their connection.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
}

#[derive(Clone)]
pub struct AppState(pub Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl Services {
    /// The session use cases for one request.
    pub fn session_cases<'a>(
        &'a self,
        audit: &'a resident_domain::audit::AuditContext,
        now: time::OffsetDateTime,
    ) -> resident_domain::session::Sessions<'a> {
        resident_domain::session::Sessions {
            store: self.sessions.as_ref(),
            audit,
            now,
            idle: time::Duration::try_from(self.portal.idle).unwrap_or(time::Duration::minutes(15)),
            absolute: time::Duration::try_from(self.portal.absolute).unwrap_or(time::Duration::hours(8)),
        }
    }

    /// The grievance use cases for one request.
    pub fn grievance_cases<'a>(
        &'a self,
        audit: &'a resident_domain::audit::AuditContext,
        now: time::OffsetDateTime,
    ) -> resident_domain::grievance::Grievances<'a> {
        resident_domain::grievance::Grievances {
            history: self.history.as_ref(),
            accesses: self.accesses.as_ref(),
            store: self.grievances.as_ref(),
            templates: &self.templates,
            schema: &self.schema,
            audit,
            now,
        }
    }

    /// What placing an update needs, from this state.
    pub fn update_services(&self) -> resident_domain::update::UpdateServices<'_> {
        resident_domain::update::UpdateServices {
            registrations: self.registrations.as_ref(),
            updates: self.updates.as_ref(),
            packets: self.packets.as_ref(),
            codec: self.codec.as_ref(),
            schema: &self.schema,
            masterdata: &self.masterdata,
            uploads: self.uploads.as_ref(),
            policy: &self.update_policy,
            centre: &self.centre,
            machine: &self.machine,
            contact_otps: self.auth.as_ref(),
        }
    }
}
