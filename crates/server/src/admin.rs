//! Operator commands.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use rand::RngCore;
use resident_domain::audit::AuditEvent;
use resident_domain::ports::{AuthRepository, Effects, Partner};

use crate::app::App;
use crate::cli::{PartnerCommand, VerificationCommand};
use resident_domain::ResidentError;
use resident_domain::clock::mosip_datetime;
use resident_domain::ids::Rid;
use resident_domain::ports::UpdateRepository;
use resident_domain::update::{StageOutcome, UpdateStage};
use serde_json::Value;

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

fn parse_rid(rid: &str) -> Result<Rid> {
    Rid::parse(rid.trim()).map_err(|_| anyhow!("{rid:?} is not a valid RID (29 digits)"))
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                format!(
                    "{}: {}",
                    i.get("language").and_then(Value::as_str).unwrap_or("?"),
                    i.get("value").and_then(Value::as_str).unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join(" | "),
        Some(other) => other.to_string(),
    }
}

pub async fn verification(app: &App, command: VerificationCommand) -> Result<i32> {
    let audit = app.operator_context();
    let pipeline = app.pipeline(&audit);
    match command {
        VerificationCommand::List => {
            let waiting = app.store.updates_in_stage(UpdateStage::Verify).await?;
            if waiting.is_empty() {
                println!("no update is waiting for verification");
                return Ok(0);
            }
            println!("{:<30} {:<21} FIELDS", "RID", "RECEIVED (UTC)");
            for u in waiting {
                println!("{:<30} {:<21} {}", u.rid.as_str(), mosip_datetime(u.created_at), u.fields.join(", "));
            }
            Ok(0)
        }
        VerificationCommand::Show { rid, out } => {
            let rid = parse_rid(&rid)?;
            let (record, packet, current) = pipeline.inspect(&rid).await.map_err(|e| anyhow!(describe(&e)))?;
            println!("RID        {}", record.rid.as_str());
            println!("stage      {}", record.stage.code());
            println!("received   {}", mosip_datetime(record.created_at));
            println!("UIN        {}", packet.uin().map(|u| u.masked()).unwrap_or_default());
            println!();
            for (field, proposed) in packet.changes() {
                if proposed.get("format").is_some() && proposed.get("type").is_some() {
                    continue;
                }
                println!("{field}");
                println!("  now:      {}", shown(current.0.get(&field)));
                println!("  proposed: {}", shown(Some(&proposed)));
            }
            let dir = out.unwrap_or_else(|| PathBuf::from(format!("verification-{}", rid.as_str())));
            if !packet.documents.is_empty() {
                std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                println!();
                for doc in &packet.documents {
                    let doc_type =
                        packet.identity.0.get(&doc.category).and_then(|v| v.get("type")).and_then(Value::as_str);
                    let path = dir.join(format!("{}.{}", doc.category, doc.format));
                    write_private(&path, &doc.content)?;
                    println!(
                        "document {} ({}, {} bytes) saved to {}",
                        doc.category,
                        doc_type.unwrap_or("?"),
                        doc.content.len(),
                        path.display()
                    );
                }
                println!("these files hold personal data: delete them once the decision is made");
            }
            Ok(0)
        }
        VerificationCommand::Approve { rid } => {
            let rid = parse_rid(&rid)?;
            decided(pipeline.decide(&rid, true, "").await, &rid, "approved")
        }
        VerificationCommand::Reject { rid, reason } => {
            let rid = parse_rid(&rid)?;
            let reason = reason.trim();
            if reason.is_empty() || reason.len() > 512 {
                bail!("--reason must be 1 to 512 characters: the resident is told it");
            }
            decided(pipeline.decide(&rid, false, reason).await, &rid, "rejected")
        }
    }
}

fn describe(e: &ResidentError) -> String {
    match e.internal_detail() {
        Some(d) => format!("{}: {d}", e.code()),
        None => format!("{} {}", e.code(), e.message()),
    }
}

fn decided(result: Result<StageOutcome, ResidentError>, rid: &Rid, what: &str) -> Result<i32> {
    match result.map_err(|e| anyhow!(describe(&e)))? {
        StageOutcome::Moved(_) => {
            println!("update {} {what}", rid.as_str());
            Ok(0)
        }
        StageOutcome::AlreadyDone => {
            eprintln!(
                "update {} is not waiting for verification (see `resident admin verification list`)",
                rid.as_str()
            );
            Ok(1)
        }
    }
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
