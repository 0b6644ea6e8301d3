//! Operator commands.

use anyhow::{Result, bail};
use base64::Engine as _;
use rand::RngCore;
use resident_domain::audit::AuditEvent;
use resident_domain::ports::{AuthRepository, Effects, Partner};

use crate::app::App;
use crate::cli::PartnerCommand;

const PARTNER_TYPES: [&str; 5] =
    ["Auth_Partner", "Print_Partner", "Credential_Partner", "Online_Verification_Partner", "Device_Provider"];

pub async fn partner(app: &App, command: PartnerCommand) -> Result<i32> {
    match command {
        PartnerCommand::Add { id, name, partner_type } => {
            if id.is_empty()
                || id.len() > 36
                || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                bail!("--id must be 1 to 36 letters, digits, '-' or '_'");
            }
            if name.trim().is_empty() || name.len() > 128 {
                bail!("--name must be 1 to 128 characters");
            }
            if !PARTNER_TYPES.contains(&partner_type.as_str()) {
                bail!("--partner-type must be one of {}", PARTNER_TYPES.join(", "));
            }
            if app.store.partner(&id).await?.is_some() {
                bail!("a partner with id {id} already exists");
            }
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
            let partner = Partner {
                id: id.clone(),
                name: name.trim().to_owned(),
                partner_type,
                api_key_sha256: resident_web::platform::ida::hex_digest(&key),
                status: "ACTIVE".into(),
            };
            let now = app.clock.now();
            let effects = Effects {
                audit: vec![AuditEvent::PartnerRegistered.record(
                    &app.operator_context(),
                    now,
                    Some((id.clone(), "PARTNER")),
                    format!("{} registered", partner.partner_type),
                )],
                ..Effects::default()
            };
            app.store.add_partner(&partner, &effects, now).await?;
            println!("partner {id} ({}) registered as {}", partner.name, partner.partner_type);
            println!("API key (shown once, keep it secret): {key}");
            println!("use it as: Authorization: Bearer {key}");
            Ok(0)
        }
        PartnerCommand::List => {
            println!("{:<24} {:<28} {:<22} STATUS", "ID", "NAME", "TYPE");
            for p in app.store.partners().await? {
                println!("{:<24} {:<28} {:<22} {}", p.id, p.name, p.partner_type, p.status);
            }
            Ok(0)
        }
    }
}
