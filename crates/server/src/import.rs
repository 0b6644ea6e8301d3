//! `resident import FILE`: identities from JSON Lines, one per line:
//! `{"identity": {...}, "registrationId": "...", "documents": [{"category", "format", "value"}]}`
//! (`registrationId` and `documents` optional; `value` is base64). Bad lines are reported with their
//! number and reason and skipped; a re-run is idempotent.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine as _;
use indicatif::{ProgressBar, ProgressStyle};
use resident_domain::ResidentError;
use resident_domain::ids::Rid;
use resident_domain::ports::{CreateOutcome, NewDocument, RegistrationRepository};
use resident_domain::registration::Registration;
use resident_domain::usecases::{CreateIdentity, create_identities, prepare_identity};
use serde_json::Value;

use crate::app::App;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: u64,
    pub already_present: u64,
    pub rejected: u64,
    /// (line number, reason) for every rejected line.
    pub problems: Vec<(u64, String)>,
}

fn documents_of(line: &Value) -> Result<Vec<NewDocument>, String> {
    let mut out = Vec::new();
    for (i, d) in line.get("documents").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let field = |k: &str| d.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        let (Some(category), Some(value)) = (field("category"), field("value")) else {
            return Err(format!("documents[{i}] needs category and value"));
        };
        let content = base64::engine::general_purpose::STANDARD
            .decode(value)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')))
            .map_err(|_| format!("documents[{i}].value is not base64"))?;
        out.push(NewDocument {
            category: category.to_owned(),
            format: field("format").unwrap_or("bin").to_owned(),
            content,
        });
    }
    Ok(out)
}

/// How often the import says how far it is when it has no terminal to draw a bar on.
const LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Progress as log lines (a container, a pipe): count, rate and time left, every [`LOG_EVERY`].
struct ProgressLog {
    total: u64,
    started: std::time::Instant,
    last: std::time::Instant,
}

impl ProgressLog {
    fn tick(&mut self, done: u64) {
        let now = std::time::Instant::now();
        if now.duration_since(self.last) < LOG_EVERY {
            return;
        }
        self.last = now;
        let elapsed = now.duration_since(self.started).as_secs_f64().max(0.001);
        let rate = done as f64 / elapsed;
        let left = if rate > 0.0 { (self.total.saturating_sub(done)) as f64 / rate } else { 0.0 };
        tracing::info!(
            lines = done,
            of = self.total,
            per_second = rate.round() as u64,
            seconds_left = left.round() as u64,
            "importing"
        );
    }
}

/// Lines sent to the registry together: one transaction each.
const BATCH: usize = 500;

/// One line, read and checked, waiting for its batch to be stored.
struct Prepared {
    number: u64,
    registration_id: Option<String>,
    identity: Result<resident_domain::ports::NewIdentity, ResidentError>,
}

/// What the reading thread hands over: a batch, a line that is not an identity at all, or how far
/// it has read.
enum Read {
    Batch(Vec<Prepared>, u64),
    Rejected(u64, String),
    Failed(anyhow::Error),
}

/// Reads, parses and checks the file's lines on a thread of its own, a batch at a time, so the next
/// batch is ready while this one is stored.
fn read_batches(
    path: std::path::PathBuf,
    schema: std::sync::Arc<resident_domain::identity::IdentitySchema>,
    now: time::OffsetDateTime,
    to: tokio::sync::mpsc::Sender<Read>,
) {
    let run = || -> Result<()> {
        let reader = BufReader::new(std::fs::File::open(&path)?);
        let mut batch: Vec<Prepared> = Vec::with_capacity(BATCH);
        let mut number = 0;
        for line in reader.lines() {
            number += 1;
            let line = line.with_context(|| format!("reading line {number}"))?;
            if line.trim().is_empty() {
                continue;
            }
            match parse_line(&line) {
                Ok((registration_id, cmd)) => {
                    batch.push(Prepared { number, registration_id, identity: prepare_identity(&schema, cmd, now) })
                }
                Err(reason) => {
                    if to.blocking_send(Read::Rejected(number, reason)).is_err() {
                        return Ok(());
                    }
                }
            }
            if batch.len() >= BATCH && to.blocking_send(Read::Batch(std::mem::take(&mut batch), number)).is_err() {
                return Ok(());
            }
        }
        let _ = to.blocking_send(Read::Batch(batch, number));
        Ok(())
    };
    if let Err(e) = run() {
        let _ = to.blocking_send(Read::Failed(e));
    }
}

/// Imports the file. `uins_out` receives `{"line", "UIN"}` for every line imported or already
/// present, as it goes (memory stays flat whatever the file's size). A second run of the same file
/// imports nothing twice: every line is recognised by its registration id or its content, so an
/// interrupted import is resumed by running it again.
pub async fn run(
    app: &App,
    path: &Path,
    show_progress: bool,
    mut uins_out: Option<&mut dyn Write>,
) -> Result<ImportReport> {
    let total = BufReader::new(std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?)
        .lines()
        .count() as u64;
    let bar = if show_progress { ProgressBar::new(total) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} lines  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let start = std::time::Instant::now();
    let mut log = (!show_progress).then_some(ProgressLog { total, started: start, last: start });
    let ctx = app.operator_context();
    let mut report = ImportReport::default();
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let reader = {
        let (path, schema, now) = (path.to_owned(), app.schema.clone(), app.clock.now());
        tokio::task::spawn_blocking(move || read_batches(path, schema, now, tx))
    };
    while let Some(read) = rx.recv().await {
        match read {
            Read::Rejected(number, reason) => reject(&bar, &mut report, number, reason),
            Read::Failed(e) => return Err(e),
            Read::Batch(batch, read_to) => {
                import_batch(app, &ctx, batch, &bar, &mut report, &mut uins_out).await?;
                bar.set_position(read_to);
                if let Some(log) = log.as_mut() {
                    log.tick(read_to);
                }
            }
        }
    }
    reader.await.context("the reading thread")?;
    bar.finish_and_clear();
    Ok(report)
}

fn reject(bar: &ProgressBar, report: &mut ImportReport, number: u64, reason: String) {
    bar.suspend(|| eprintln!("line {number}: {reason}"));
    report.rejected += 1;
    report.problems.push((number, reason));
}

fn parse_line(line: &str) -> Result<(Option<String>, CreateIdentity), String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    if !value.is_object() {
        return Err("not a JSON object".to_owned());
    }
    let documents = documents_of(&value)?;
    let registration_id = value.get("registrationId").and_then(Value::as_str).map(str::to_owned);
    let document = serde_json::json!({ "identity": value.get("identity").cloned().unwrap_or(Value::Null) });
    Ok((registration_id.clone(), CreateIdentity { document, registration_id, documents }))
}

async fn import_batch(
    app: &App,
    ctx: &resident_domain::audit::AuditContext,
    batch: Vec<Prepared>,
    bar: &ProgressBar,
    report: &mut ImportReport,
    uins_out: &mut Option<&mut dyn Write>,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let (meta, prepared): (Vec<(u64, Option<String>)>, Vec<_>) =
        batch.into_iter().map(|p| ((p.number, p.registration_id), p.identity)).unzip();
    let answers = create_identities(&app.store, &app.store, ctx, prepared, app.clock.now())
        .await
        .map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
    for ((number, registration_id), answer) in meta.into_iter().zip(answers) {
        match answer {
            Ok(created) => {
                match created.outcome {
                    CreateOutcome::Created => report.imported += 1,
                    CreateOutcome::AlreadyPresent => report.already_present += 1,
                }
                if let Some(out) = uins_out.as_mut() {
                    writeln!(out, "{}", serde_json::json!({"line": number, "UIN": created.uin.expose()}))?;
                }
                // the registration that produced the identity, when the line names one: its RID then
                // answers PROCESSED to /rid/check-status
                if let Some(rid) = registration_id.and_then(|r| Rid::parse(&r).ok())
                    && app.store.find_registration(&rid).await?.is_none()
                {
                    let (registration, stages) = Registration::imported(rid, app.clock.now());
                    app.store.record_registration(&registration, &stages, ctx).await?;
                }
            }
            Err(e) => reject(bar, report, number, describe(&e)),
        }
    }
    Ok(())
}

fn describe(e: &ResidentError) -> String {
    match e.internal_detail() {
        Some(detail) => format!("{}: {detail}", e.code()),
        None => format!("{} {}", e.code(), e.message()),
    }
}
