//! Operator commands.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use resident_domain::access::{AccessQuery, AccessorKind, DataAccess, Operator};
use resident_domain::audit::AuditEvent;
use resident_domain::partner::register_partner;
use resident_domain::ports::{Effects, IdentityRecords, PartnerRecords};

use crate::app::App;
use crate::cli::{CardCommand, PartnerCommand, VerificationCommand};
use resident_domain::ResidentError;
use resident_domain::clock::mosip_datetime;
use resident_domain::ids::Rid;
use resident_domain::ports::UpdateRepository;
use resident_domain::update::{StageOutcome, UpdateStage};
use serde_json::Value;

/// `resident admin client add`: registers a client of the embedded platform; its secret is printed
/// once.
pub async fn add_client(app: &App, id: &str, app_id: &str, roles: &[String]) -> Result<i32> {
    let (client, secret) = resident_domain::platform::register_client(
        &app.store,
        &app.operator_context(),
        app.clock.now(),
        id,
        app_id,
        roles,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{} {}", e.code(), e.message()))?;
    println!("client {} registered for {} with roles {}", client.id, client.app_id, client.roles.join(","));
    println!("secret key (shown once, keep it secret): {secret}");
    println!("trade it for a token at POST /v1/authmanager/authenticate/clientidsecretkey");
    Ok(0)
}

pub async fn change_client(app: &App, id: &str, change: resident_domain::platform::ClientChange) -> Result<i32> {
    let (client, secret) =
        resident_domain::platform::change_client(&app.store, &app.operator_context(), app.clock.now(), id, change)
            .await
            .map_err(|e| anyhow::anyhow!("{} {}", e.code(), e.message()))?;
    let state = if client.active { "active" } else { "disabled" };
    match secret {
        Some(secret) => {
            println!("client {}: secret key replaced; its tokens and the old key no longer work", client.id);
            println!("secret key (shown once, keep it secret): {secret}");
        }
        None => println!("client {}: {state}; the tokens issued before no longer work", client.id),
    }
    Ok(0)
}

pub async fn partner(app: &App, command: PartnerCommand) -> Result<i32> {
    match command {
        PartnerCommand::Add { id, name, partner_type } => {
            let now = app.clock.now();
            let audit = app.operator_context();
            let registered = match register_partner(&app.store, &audit, now, id.trim(), &name, &partner_type).await? {
                Ok(r) => r,
                Err(refusal) => bail!("{}", refusal.message()),
            };
            let (partner, key) = (&registered.partner, &registered.api_key);
            println!("partner {} ({}) registered as {}", partner.id, partner.name, partner.partner_type);
            println!("API key (shown once, keep it secret): {key}");
            println!("use it as: Authorization: Bearer {key}");
            Ok(0)
        }
        PartnerCommand::Policy { partner, credential_type, attributes } => {
            use resident_domain::credential::{CREDENTIAL_TYPES, CredentialStore, Policy};
            let Some(p) = app.store.partner(&partner).await? else { bail!("no partner {partner}") };
            if !CREDENTIAL_TYPES.iter().any(|(id, ..)| *id == credential_type) {
                bail!("--credential-type must be one of {}", CREDENTIAL_TYPES.map(|t| t.0).join(", "));
            }
            let attributes: Vec<String> =
                attributes.iter().map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect();
            if attributes.is_empty() {
                bail!("--attributes needs at least one attribute");
            }
            for a in &attributes {
                let known = a == "UIN" || a == "photo" || app.schema.field(a).is_some_and(|f| f.category != "evidence");
                if !known || a.contains("Biometrics") {
                    bail!("{a} cannot be shared: use ID schema fields (no biometrics), UIN or photo");
                }
            }
            let now = app.clock.now();
            let policy = Policy {
                policy_id: format!("policy-{}-{}", p.id, credential_type),
                policy_name: format!("{} {} policy", p.name, credential_type),
                partner_id: p.id.clone(),
                credential_type: credential_type.clone(),
                attributes: attributes.clone(),
                created_at: now,
            };
            let effects = Effects {
                audit: vec![AuditEvent::PolicySet.record(
                    &app.operator_context(),
                    now,
                    Some((p.id.clone(), "PARTNER")),
                    format!("{credential_type}: {}", attributes.join(",")),
                )],
                ..Effects::default()
            };
            app.store.set_policy(&policy, &effects, now).await?;
            println!("{} may receive {credential_type} with {}", p.id, attributes.join(", "));
            Ok(0)
        }
        PartnerCommand::Policies => {
            use resident_domain::credential::CredentialStore;
            for p in app.store.policies().await? {
                println!("{:<24} {:<10} {}", p.partner_id, p.credential_type, p.attributes.join(","));
            }
            for p in app.store.partners().await? {
                if p.partner_type == "Auth_Partner" {
                    let required = match app.store.demo_policy(&p.id).await? {
                        Some(list) => list.join(","),
                        None => format!("{} (default)", resident_domain::ida::partner::DEFAULT_DEMO_POLICY.join(",")),
                    };
                    println!("{:<24} {:<10} {required}", p.id, "demo-auth");
                }
            }
            Ok(0)
        }
        PartnerCommand::AuthPolicy { partner, require } => {
            let Some(p) = app.store.partner(&partner).await? else { bail!("no partner {partner}") };
            let attributes = resident_domain::ida::partner::parse_demo_policy(&require).map_err(|_| {
                anyhow!("--require takes one or more of {}", resident_domain::ida::partner::DEMO_ATTRIBUTES.join(", "))
            })?;
            let now = app.clock.now();
            let effects = Effects {
                audit: vec![AuditEvent::PolicySet.record(
                    &app.operator_context(),
                    now,
                    Some((p.id.clone(), "PARTNER")),
                    format!("demographic authentication requires {}", attributes.join(",")),
                )],
                ..Effects::default()
            };
            app.store.set_demo_policy(&p.id, &attributes, &effects, now).await?;
            println!(
                "{} must present and match {} to authenticate a resident by demographics",
                p.id,
                attributes.join(", ")
            );
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

/// The named operator (`--operator` or `RESIDENT_OPERATOR`), refused when missing.
fn named(operator: Option<&str>) -> Result<Operator> {
    Operator::parse(operator.unwrap_or("")).map_err(|e| anyhow!(e))
}

pub async fn verification(app: &App, operator: Option<&str>, command: VerificationCommand) -> Result<i32> {
    // a decision without a name keeps the login name in the audit record; opening a packet needs one
    let named_operator = operator.map(|o| named(Some(o))).transpose()?;
    let audit = match &named_operator {
        Some(o) => o.audit_context(app.host().name, app.host().ip),
        None => app.operator_context(),
    };
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
            let operator = named_operator.ok_or_else(|| {
                anyhow!("opening a resident's update needs the operator's name: --operator NAME or RESIDENT_OPERATOR")
            })?;
            let rid = parse_rid(&rid)?;
            let (record, packet, current) =
                pipeline.inspect(&rid, &operator).await.map_err(|e| anyhow!(describe(&e)))?;
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
                resident_files::private_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
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

use crate::app::describe;

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
    resident_files::write_atomic(path, bytes).with_context(|| format!("writing {}", path.display()))
}

pub async fn card(config: crate::config::Config, command: CardCommand) -> Result<i32> {
    use resident_card::keys::{KeyRing, keys_from_jwks};
    let dir = crate::app::app_card_keys_dir(&config);
    match command {
        CardCommand::Verify { file, password, jwks } => {
            let keys = match jwks {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                    let value: Value =
                        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
                    keys_from_jwks(&value).map_err(|e| anyhow!("{}: {e}", path.display()))?
                }
                None => KeyRing::load_existing(&dir).map_err(|e| anyhow!(e))?.verifying_keys(),
            };
            let bytes = if file.as_os_str() == "-" {
                let mut b = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)?;
                b
            } else {
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?
            };
            let token = if bytes.starts_with(b"%PDF-") {
                let Some(pw) = password else {
                    bail!(
                        "this card is encrypted: give --password (the first four letters of the name in capitals, then the year of birth)"
                    );
                };
                resident_card::credential_in_pdf(&bytes, &pw).map_err(|e| anyhow!(e))?
            } else {
                String::from_utf8(bytes)
                    .map_err(|_| anyhow!("{} is neither a card PDF nor a QR payload", file.display()))?
            };
            match resident_card::jws::verify(&token, &keys) {
                Ok(v) => {
                    let c = &v.claims;
                    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                    println!("VALID: the signature holds (key {})", v.kid);
                    println!("card type      {}", s("typ"));
                    println!("UIN            {}", s("uin"));
                    for (lang, name) in c.get("name").and_then(Value::as_object).into_iter().flatten() {
                        println!("name ({lang})     {}", name.as_str().unwrap_or(""));
                    }
                    println!("date of birth  {}", s("dob"));
                    for (lang, g) in c.get("gender").and_then(Value::as_object).into_iter().flatten() {
                        println!("gender ({lang})   {}", g.as_str().unwrap_or(""));
                    }
                    if let Some(iat) = c
                        .get("iat")
                        .and_then(Value::as_i64)
                        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
                    {
                        println!("issued         {}", mosip_datetime(iat));
                    }
                    println!("issuer         {}", s("iss"));
                    Ok(0)
                }
                Err(e) => {
                    println!("NOT VALID: {e}");
                    Ok(1)
                }
            }
        }
        CardCommand::Keys => {
            let ring = KeyRing::load_existing(&dir).map_err(|e| anyhow!(e))?;
            for (i, k) in ring.keys().iter().enumerate() {
                println!("{} {}  created {}", if i == 0 { "*" } else { " " }, k.kid, k.created);
            }
            println!("(* signs new cards; all are published at /.well-known/jwks.json)");
            Ok(0)
        }
        CardCommand::RotateKey | CardCommand::RetireKey { .. } => {
            let app = App::open(config, crate::app::Schema::Migrate).await?;
            let now = app.clock.now();
            let mut ring = KeyRing::open(&dir, now).map_err(|e| anyhow!(e))?;
            let (what, kid) = match command {
                CardCommand::RetireKey { kid } => {
                    ring.retire(&kid).map_err(|e| anyhow!(e))?;
                    ("retired", kid)
                }
                _ => ("created", ring.rotate(now).map_err(|e| anyhow!(e))?.kid),
            };
            let record = resident_domain::audit::AuditEvent::CardKeyChanged.record(
                &app.operator_context(),
                now,
                Some((kid.clone(), "KEY")),
                format!("card signing key {what}"),
            );
            resident_domain::ports::AuditLog::append(&app.store, record).await?;
            app.store.close().await;
            println!("card signing key {kid} {what}; running servers pick it up on their next card");
            Ok(0)
        }
    }
}

/// `resident admin access-log`.
pub struct AccessLogQuery {
    pub identity: Option<String>,
    pub operator: Option<String>,
    pub reason: String,
    pub by: Option<String>,
    pub limit: u32,
}

pub async fn access_log(app: &App, q: AccessLogQuery) -> Result<i32> {
    let by = Operator::parse(q.by.as_deref().unwrap_or(""))
        .map_err(|_| anyhow!("name yourself: --by NAME or RESIDENT_OPERATOR (the query is recorded)"))?;
    let reason = resident_domain::access::check_reason(&q.reason).map_err(|e| anyhow!(e))?;
    if !(1..=10_000).contains(&q.limit) {
        bail!("--limit must be 1 to 10000");
    }
    let now = app.clock.now();
    let mut query = AccessQuery { limit: q.limit, ..AccessQuery::default() };
    let mut masked = None;
    match (&q.identity, &q.operator) {
        (Some(id), None) => {
            let id = resident_domain::ids::IndividualId::parse(id.trim())
                .ok_or_else(|| anyhow!("--identity is neither a valid UIN nor a valid VID"))?;
            let who = app
                .store
                .resolve(&id, now)
                .await?
                .ok_or_else(|| anyhow!("no identity has this {} (or the VID is no longer usable)", id.id_type()))?;
            masked = Some(id.masked());
            query.token = Some(who.token);
        }
        (None, Some(name)) => {
            query.kind = Some(AccessorKind::Operator);
            query.accessor_id = Some(Operator::parse(name).map_err(|e| anyhow!(e))?.name().to_owned());
        }
        _ => bail!("name what to look at: --identity UIN|VID or --operator NAME"),
    }
    let audit = by.audit_context(app.host().name, app.host().ip);
    let list = resident_domain::access::oversight(&app.store, &by, &audit, &query, &reason, now)
        .await
        .map_err(|e| anyhow!(describe(&e)))?;
    if let Some(m) = masked {
        println!("identity {m}: {} records (this query is one of them)", list.len());
    } else {
        println!("reads by operator {}: {} records", query.accessor_id.as_deref().unwrap_or(""), list.len());
    }
    println!(
        "{:<16}  {:<19}  {:<30}  {:<13}  {:<40}  {:<3}  WHAT",
        "ACCESS", "WHEN (UTC)", "WHO", "WHY", "REFERENCE", "VIA"
    );
    for a in &list {
        print_access(a);
    }
    Ok(0)
}

fn print_access(a: &DataAccess) {
    let who = format!("{} {} ({})", a.accessor.kind.code().to_lowercase(), a.accessor.name, a.accessor.id);
    println!(
        "{:<16}  {:<19}  {:<30}  {:<13}  {:<40}  {:<3}  {}",
        a.id.as_str(),
        &mosip_datetime(a.at)[..19],
        who,
        a.purpose.code(),
        a.purpose.reference(),
        a.channel.code(),
        a.what.join(",")
    );
}
