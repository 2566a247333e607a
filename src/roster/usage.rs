//! Usage imports: read a vendor file (detected or named), preview what it would do, keep the upload until
//! the admin confirms, and import it as the study's active usage source.
//!
//! A file is read on a blocking thread while its raw rows are written, in batches, inside the import's
//! write transaction, so neither the file nor its rows are ever held whole in memory (GitHub's per-user
//! reports stream; see `import::read_usage` for which formats are read whole). A file with any problem
//! rolls the transaction back: nothing changes.
use super::cohort::Cohort;
use super::import::{
    ImportProblem, ParsedUsage, RawUsageRow, RowSink, UsageFormat, UsageOptions, read_usage,
};
use super::repo::{self, EmployeeRow};
use super::service::{
    Problems, cohorts_for, ensure_frame_editable, frame_editable, index, recompute, study_today,
};
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::study::StudyId;
use crate::study::repo::StudyRow;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

/// What a usage import came to.
#[derive(Debug)]
pub struct UsageOutcome {
    /// Data rows in the file.
    pub rows: usize,
    /// People in the file found on the roster.
    pub matched: usize,
    /// People in the file not on the roster (kept in the raw rows, not scored).
    pub unmatched: usize,
    /// The format read (detected or chosen).
    pub format: UsageFormat,
    /// Which variant of the source was read.
    pub version: String,
    /// The text encoding the file was read in.
    pub encoding: &'static str,
    /// First and last day the file covers.
    pub period: (chrono::NaiveDate, chrono::NaiveDate),
}

impl UsageOutcome {
    fn new(parsed: ParsedUsage, rows: usize, matched: usize, unmatched: usize) -> Self {
        UsageOutcome {
            rows,
            matched,
            unmatched,
            format: parsed.format,
            version: parsed.version,
            encoding: parsed.encoding,
            period: (parsed.period_start, parsed.period_end),
        }
    }

    /// "GitHub Copilot usage metrics (per user and day) — per-user report, NDJSON; UTF-8", for the page and CLI.
    pub fn source_read(&self) -> String {
        if self.version.is_empty() {
            format!("{}; {}", self.format.label(), self.encoding)
        } else {
            format!(
                "{} — {}; {}",
                self.format.label(),
                self.version,
                self.encoding
            )
        }
    }
}

/// Where a usage file is read from: an upload held in memory, or a file on disk (the CLI's argument, a
/// pending preview), which is never read whole.
pub enum UsageSource {
    /// The uploaded bytes.
    Bytes(Vec<u8>),
    /// A file on disk.
    File(PathBuf),
}

/// Raw rows per batch handed from the reading thread to the database writer.
const BATCH: usize = 2_000;
/// Batches in flight between them: with `BATCH`, at most about 10,000 raw rows are in memory.
const IN_FLIGHT: usize = 4;

/// Hands raw rows to the database writer in batches; once the writer has gone (an error), drops them.
struct Batches {
    tx: tokio::sync::mpsc::Sender<Vec<RawUsageRow>>,
    batch: Vec<RawUsageRow>,
    closed: bool,
}

impl Batches {
    fn flush(&mut self) {
        if self.batch.is_empty() || self.closed {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.closed = self.tx.blocking_send(batch).is_err();
    }
}

impl RowSink for Batches {
    fn row(&mut self, row: RawUsageRow) {
        if self.closed {
            return;
        }
        self.batch.push(row);
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }
}

/// A file's records that reach one roster person twice (see `Indexes::doubles`).
fn doubles(
    ix: &super::service::Indexes,
    employees: &[EmployeeRow],
    parsed: &ParsedUsage,
) -> Problems {
    ix.doubles(
        employees,
        parsed
            .employees
            .iter()
            .map(|e| (e.key_kind, e.key.as_str())),
    )
}

/// Reads the source on the current (blocking) thread.
fn read_source(
    source: UsageSource,
    choice: Option<UsageFormat>,
    options: &UsageOptions,
    today: chrono::NaiveDate,
    sink: &mut dyn RowSink,
) -> std::result::Result<(ParsedUsage, usize), Problems> {
    match source {
        UsageSource::Bytes(b) => {
            read_usage(choice, std::io::Cursor::new(b), options, Some(today), sink)
        }
        UsageSource::File(p) => match std::fs::File::open(&p) {
            Ok(f) => read_usage(choice, f, options, Some(today), sink),
            Err(e) => Err(vec![ImportProblem {
                row: None,
                column: None,
                message: format!("the file could not be opened: {e}"),
            }]),
        },
    }
}

/// What the admin chose for a usage import.
pub struct UsageChoice<'a> {
    /// The file's name, as uploaded or given.
    pub filename: &'a str,
    /// Its format, or `None` to detect it.
    pub format: Option<UsageFormat>,
    /// The date order and other options.
    pub options: UsageOptions,
    /// The conversion from usage units to gross AI hours per month, when the source has no hours.
    pub hours_per_unit: Option<f64>,
}

/// Imports a vendor usage file in a named format with no options (see `import_usage_from`).
pub async fn import_usage(
    state: &AppState,
    actor: &Actor,
    study: &StudyRow,
    filename: &str,
    format: UsageFormat,
    bytes: Vec<u8>,
    hours_per_unit: Option<f64>,
) -> Result<std::result::Result<UsageOutcome, Problems>> {
    let options = UsageOptions::default();
    let choice = UsageChoice {
        filename,
        format: Some(format),
        options,
        hours_per_unit,
    };
    import_usage_from(state, actor, study, choice, UsageSource::Bytes(bytes)).await
}

/// Imports uploaded bytes, their format named or (`None`) detected (see `import_usage_from`).
#[allow(clippy::too_many_arguments)]
pub async fn import_usage_as(
    state: &AppState,
    actor: &Actor,
    study: &StudyRow,
    filename: &str,
    format: Option<UsageFormat>,
    options: UsageOptions,
    bytes: Vec<u8>,
    hours_per_unit: Option<f64>,
) -> Result<std::result::Result<UsageOutcome, Problems>> {
    let choice = UsageChoice {
        filename,
        format,
        options,
        hours_per_unit,
    };
    import_usage_from(state, actor, study, choice, UsageSource::Bytes(bytes)).await
}

/// Imports a vendor usage file, its format named or (`None`) detected; it becomes the study's active
/// usage source and cohorts are reassigned. The raw rows are written while the file is read.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn import_usage_from(
    state: &AppState,
    actor: &Actor,
    study: &StudyRow,
    choice: UsageChoice<'_>,
    source: UsageSource,
) -> Result<std::result::Result<UsageOutcome, Problems>> {
    let UsageChoice {
        filename,
        format: choice,
        options,
        hours_per_unit,
    } = choice;
    let today = study_today(state, study);
    let (sender, mut batches) = tokio::sync::mpsc::channel(IN_FLIGHT);
    let reading = tokio::task::spawn_blocking(move || {
        let mut sink = Batches {
            tx: sender,
            batch: Vec::with_capacity(BATCH),
            closed: false,
        };
        let read = read_source(source, choice, &options, today, &mut sink);
        sink.flush();
        read
    });
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = &ensure_frame_editable(&mut tx, study.id, "the usage data").await?;
    let placeholder = choice.unwrap_or(UsageFormat::PlainCsv);
    let id = repo::open_usage_import(&mut tx, study.id, filename, placeholder, actor.user_id, now)
        .await?;
    while let Some(batch) = batches.recv().await {
        repo::insert_raw_rows(&mut tx, id, &batch).await?;
    }
    let read = reading.await.map_err(|e| AppError::Internal(e.into()))?;
    // A refused file: the rows written so far go with the rolled-back transaction.
    let (parsed, rows) = match read {
        Ok(r) => r,
        Err(problems) => return Ok(Err(problems)),
    };
    let format = parsed.format;
    // An hours-based source needs no conversion; keeping one would mislead the reader.
    let hours_per_unit = if parsed.has_hours {
        None
    } else {
        hours_per_unit
    };
    let employees = repo::employees(&mut *tx, study.id).await?;
    let doubles = doubles(&index(&employees), &employees, &parsed);
    if !doubles.is_empty() {
        return Ok(Err(doubles));
    }
    repo::finish_usage_import(&mut tx, id, &parsed, rows, hours_per_unit).await?;
    let (matched, unmatched) = recompute(&mut tx, study).await?;
    if matched == 0 && !parsed.employees.is_empty() {
        // Nobody matched: importing would silently make everyone light. Nothing is committed.
        let (column, how) = format.matched_on();
        return Ok(Err(vec![ImportProblem {
            row: None,
            column: Some(column.into()),
            message: format!(
                "none of the {} people in the file is on the roster: {column} is matched against {how}",
                parsed.employees.len()
            ),
        }]));
    }
    repo::set_match_counts(&mut tx, id, matched as i64, unmatched as i64).await?;
    let read = if parsed.version.is_empty() {
        parsed.encoding.to_owned()
    } else {
        format!("{}, {}", parsed.version, parsed.encoding)
    };
    let mut detail = format!(
        "{rows} rows of {} ({read}) from \"{filename}\" ({} to {}); {matched} people matched, {unmatched} not on the roster",
        format.label(),
        parsed.period_start,
        parsed.period_end
    );
    if let Some(h) = hours_per_unit {
        detail.push_str(&format!("; assumption {h} h per {}", parsed.unit_label));
    }
    audit::record(
        &mut tx,
        now,
        actor,
        "usage.import",
        Some(study.id.0),
        &detail,
    )
    .await?;
    tx.commit().await?;
    // A preview left unconfirmed is superseded by this import: its copy of the upload goes.
    discard_pending(state, study.id);
    Ok(Ok(UsageOutcome::new(parsed, rows, matched, unmatched)))
}

/// What a usage file would do to the study, shown before anything changes.
pub struct UsagePreview {
    /// The outcome's description of what was read (source, version, encoding, period).
    pub read: UsageOutcome,
    /// People in the file.
    pub people: usize,
    /// The first people in the file not on the roster (their key as in the file).
    pub not_on_roster: Vec<String>,
    /// Roster employees the file has no usage for: the first few employee ids, and how many.
    pub without_usage: (Vec<String>, usize),
    /// The first ten roster employees with usage: employee id, score, active days per month, cohort.
    pub scores: Vec<(String, f64, Option<f64>, Cohort)>,
    /// What the score counts.
    pub unit_label: &'static str,
    /// The random id of the stored upload, for the confirmation.
    pub token: String,
}

/// How many names each list of the preview shows.
const PREVIEW_NAMES: usize = 20;

/// How long a preview's upload is kept for its confirmation.
const PENDING_HOURS: i64 = 24;

fn pending_dir(state: &AppState) -> PathBuf {
    state.config.data_dir.join("pending-usage")
}

/// A pending upload's file: `{study}-{created, unix seconds}-{token}`, so its age needs no file times
/// (and follows the application's clock).
fn pending_name(study: StudyId, created: DateTime<Utc>, token: &str) -> String {
    format!("{}-{}-{token}", study.0, created.timestamp())
}

/// (study, created) of a pending file's name.
fn parse_pending(name: &str) -> Option<(i64, i64)> {
    let mut parts = name.splitn(3, '-');
    let study = parts.next()?.parse().ok()?;
    let created = parts.next()?.parse().ok()?;
    Some((study, created))
}

/// Removes every pending upload older than 24 hours, of any study (best effort).
fn sweep_expired(state: &AppState) {
    let cutoff = (state.clock.now() - chrono::Duration::hours(PENDING_HOURS)).timestamp();
    if let Ok(entries) = std::fs::read_dir(pending_dir(state)) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if parse_pending(&name).is_none_or(|(_, created)| created < cutoff)
                && let Err(e) = std::fs::remove_file(entry.path())
            {
                tracing::warn!(error = %e, "an expired pending usage upload could not be removed");
            }
        }
    }
}

/// Keeps the upload until the admin confirms it: one file per study (a new preview replaces the last) in
/// a 0700 folder, 0600 from its first byte, named by a random id the confirmation must present.
fn store_pending(state: &AppState, study: StudyId, bytes: &[u8]) -> std::io::Result<PathBuf> {
    use std::io::Write;
    let dir = pending_dir(state);
    crate::files::private_dir(&dir)?;
    discard_pending(state, study);
    let token = crate::auth::token::new_token();
    let path = dir.join(pending_name(study, state.clock.now(), &token));
    let mut f = crate::files::create_private(&path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(path)
}

fn token_of(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.rsplit('-').next().unwrap_or_default().to_owned()
}

/// Removes any upload a preview of this study is holding (best effort: a leftover is replaced by the
/// study's next preview, or swept after 24 hours).
pub fn discard_pending(state: &AppState, study: StudyId) {
    let prefix = format!("{}-", study.0);
    if let Ok(entries) = std::fs::read_dir(pending_dir(state)) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix)
                && let Err(e) = std::fs::remove_file(entry.path())
            {
                tracing::warn!(error = %e, "a pending usage upload could not be removed");
            }
        }
    }
}

/// What a confirmation finds under its token.
enum Pending {
    /// The upload, on disk.
    Found(PathBuf),
    /// It was there but is older than 24 hours (now removed).
    Expired,
    /// Nothing under that id.
    Gone,
}

/// Finds the stored upload of a preview by its id.
fn find_pending(state: &AppState, study: StudyId, token: &str) -> Pending {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Pending::Gone;
    }
    let cutoff = (state.clock.now() - chrono::Duration::hours(PENDING_HOURS)).timestamp();
    let Ok(entries) = std::fs::read_dir(pending_dir(state)) else {
        return Pending::Gone;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((s, created)) = parse_pending(&name) else {
            continue;
        };
        if s != study.0 || !name.ends_with(&format!("-{token}")) {
            continue;
        }
        if created < cutoff {
            let _ = std::fs::remove_file(entry.path());
            return Pending::Expired;
        }
        return Pending::Found(entry.path());
    }
    Pending::Gone
}

/// Reads a usage file and matches it to the roster without changing anything; the upload is kept on disk
/// under a random id until `confirm_usage` imports it, and read from there (never whole in memory).
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn preview_usage(
    state: &AppState,
    study: &StudyRow,
    choice: Option<UsageFormat>,
    options: UsageOptions,
    bytes: Vec<u8>,
) -> Result<std::result::Result<UsagePreview, Problems>> {
    sweep_expired(state);
    let path = store_pending(state, study.id, &bytes).map_err(|e| AppError::Internal(e.into()))?;
    drop(bytes);
    let today = study_today(state, study);
    let source = UsageSource::File(path.clone());
    let read = tokio::task::spawn_blocking(move || {
        let mut rows = 0usize;
        read_source(source, choice, &options, today, &mut rows)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    let (parsed, rows) = match read {
        Ok(r) => r,
        Err(problems) => {
            discard_pending(state, study.id);
            return Ok(Err(problems));
        }
    };
    let mut conn = state.pool.acquire().await?;
    if !frame_editable(&mut conn, study).await? {
        discard_pending(state, study.id);
        return Err(AppError::Conflict(
            "The usage data can no longer change for this study.".into(),
        ));
    }
    let employees = repo::employees(&mut *conn, study.id).await?;
    drop(conn);
    let ix = index(&employees);
    let doubles = doubles(&ix, &employees, &parsed);
    if !doubles.is_empty() {
        discard_pending(state, study.id);
        return Ok(Err(doubles));
    }
    let mut usage: Vec<Option<&super::import::EmployeeUsage>> = vec![None; employees.len()];
    let mut not_on_roster = Vec::new();
    let (mut matched, mut unmatched) = (0, 0);
    for e in &parsed.employees {
        match ix.find(e.key_kind, &e.key) {
            Some(i) if usage[i].is_none() => {
                usage[i] = Some(e);
                matched += 1;
            }
            Some(_) => {}
            None => {
                unmatched += 1;
                if not_on_roster.len() < PREVIEW_NAMES {
                    not_on_roster.push(e.key.clone());
                }
            }
        }
    }
    let cohorts = cohorts_for(
        &employees,
        |i| usage[i].map(|u| (u.score, u.tiebreak)),
        study,
    );
    let without: Vec<&EmployeeRow> = employees
        .iter()
        .zip(&usage)
        .filter(|(_, u)| u.is_none())
        .map(|(e, _)| e)
        .collect();
    let scores = employees
        .iter()
        .zip(&usage)
        .zip(&cohorts)
        .filter_map(|((e, u), c)| u.map(|u| (e.employee_id.clone(), u.score, u.active_days, *c)))
        .take(10)
        .collect();
    let without_usage = (
        without
            .iter()
            .take(PREVIEW_NAMES)
            .map(|e| e.employee_id.clone())
            .collect(),
        without.len(),
    );
    let people = parsed.employees.len();
    let unit_label = parsed.unit_label;
    Ok(Ok(UsagePreview {
        people,
        not_on_roster,
        without_usage,
        scores,
        unit_label,
        token: token_of(&path),
        read: UsageOutcome::new(parsed, rows, matched, unmatched),
    }))
}

/// Imports the upload a preview stored, read the same way from disk; refused if the preview is gone or
/// older than 24 hours.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn confirm_usage(
    state: &AppState,
    actor: &Actor,
    study: &StudyRow,
    token: &str,
    filename: &str,
    format: UsageFormat,
    options: UsageOptions,
    hours_per_unit: Option<f64>,
) -> Result<std::result::Result<UsageOutcome, Problems>> {
    let found = find_pending(state, study.id, token);
    sweep_expired(state);
    let path = match found {
        Pending::Found(p) => p,
        Pending::Expired => {
            return Err(AppError::BadRequest(
                "This preview expired (an upload is kept for 24 hours until it is confirmed); upload the file again.".into(),
            ));
        }
        Pending::Gone => {
            return Err(AppError::BadRequest(
                "This preview is no longer available (imported already, or replaced by a newer one); upload the file again.".into(),
            ));
        }
    };
    let choice = UsageChoice {
        filename,
        format: Some(format),
        options,
        hours_per_unit,
    };
    let result =
        import_usage_from(state, actor, study, choice, UsageSource::File(path.clone())).await;
    // Imported or refused, the upload has been used: the admin starts again from a fresh upload.
    if let Err(e) = std::fs::remove_file(&path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, "a pending usage upload could not be removed");
    }
    result
}
