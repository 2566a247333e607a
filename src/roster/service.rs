//! Imports, cohort assignment and the sample draw: the rules, over `repo` and the pure modules.
use super::SampleRole;
use super::cohort::{Cohort, CohortShares, TenureBands, UsageRank, assign_cohorts};
use super::import::{
    ImportProblem, KeyKind, UsageFormat, UsageOptions, parse_roster, parse_usage_auto,
};
use super::repo::{self, Derived, EmployeeRow};
use super::sample::{Draw, DrawSpec, FrameUnit, draw_sample};
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::stats::sample_size::{Composition, composition};
use crate::study::repo::StudyRow;
use crate::study::{Status, StudyId};
use sqlx::SqliteConnection;
use std::collections::{BTreeMap, HashMap};

/// Why an import did not happen: the file's problems, listed for the page.
pub type Problems = Vec<ImportProblem>;

/// The one rule for the frame (roster, usage, cohorts): it can change during draft and setup, and only
/// while no sample has been drawn from it.
pub async fn frame_editable(conn: &mut SqliteConnection, study: &StudyRow) -> Result<bool> {
    let (main, pilot) = repo::sample_sizes(&mut *conn, study.id).await?;
    Ok(study.status() <= Status::Setup
        && main + pilot == 0
        && !crate::retention::service::is_purged(conn, study.id).await?)
}

/// Re-reads the study inside the caller's write transaction, refuses with the reason when the frame is
/// fixed, and returns the fresh row.
async fn ensure_frame_editable(
    conn: &mut SqliteConnection,
    id: StudyId,
    what: &str,
) -> Result<StudyRow> {
    let study = crate::study::repo::get(&mut *conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::retention::service::ensure_not_purged(conn, id).await?;
    if study.status() > Status::Setup {
        return Err(AppError::Conflict(format!(
            "The study is in {}; {what} can only change during draft and setup.",
            study.status().label()
        )));
    }
    if !frame_editable(conn, &study).await? {
        return Err(AppError::Conflict(format!(
            "A sample has been drawn from the current roster; discard it on the sample page before {what} can change."
        )));
    }
    Ok(study)
}

/// The one rule for the sample: it can be drawn, redrawn or discarded during draft and setup, until
/// invitations have gone out to it.
async fn sample_editable(conn: &mut SqliteConnection, study: &StudyRow) -> Result<bool> {
    Ok(study.status() <= Status::Setup
        && repo::invited_count(&mut *conn, study.id).await? == 0
        && !crate::retention::service::is_purged(conn, study.id).await?)
}

fn study_today(state: &AppState, study: &StudyRow) -> chrono::NaiveDate {
    let tz = study.tz();
    state.clock.now().with_timezone(&tz).date_naive()
}

/// What the roster page shows.
pub struct RosterOverview {
    /// Employees on the roster.
    pub employees: i64,
    /// The latest roster import.
    pub last_import: Option<repo::RosterImportRow>,
    /// The first employees, in employee-id order.
    pub preview: Vec<EmployeeRow>,
    /// Whether the frame can still change.
    pub frame_editable: bool,
}

/// How many employees the roster page previews.
const PREVIEW: usize = 25;

/// The roster page's data.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn roster_overview(state: &AppState, study: &StudyRow) -> Result<RosterOverview> {
    let mut conn = state.pool.acquire().await?;
    let mut preview = repo::employees(&mut *conn, study.id).await?;
    preview.truncate(PREVIEW);
    Ok(RosterOverview {
        employees: repo::employee_count(&mut *conn, study.id).await?,
        last_import: repo::latest_roster_import(&mut *conn, study.id).await?,
        preview,
        frame_editable: frame_editable(&mut conn, study).await?,
    })
}

/// What the usage page shows.
pub struct UsageOverview {
    /// Usage imports, newest (the active one) first.
    pub imports: Vec<repo::UsageImportRow>,
    /// Whether the frame can still change.
    pub frame_editable: bool,
    /// Whether a conversion to hours can be set: the active source has no hours and the study is open.
    pub conversion_allowed: bool,
}

/// The usage page's data.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn usage_overview(state: &AppState, study: &StudyRow) -> Result<UsageOverview> {
    let mut conn = state.pool.acquire().await?;
    let imports = repo::usage_imports(&mut *conn, study.id).await?;
    let conversion_allowed =
        study.status() != Status::Closed && imports.first().is_some_and(|a| !a.has_hours);
    Ok(UsageOverview {
        imports,
        frame_editable: frame_editable(&mut conn, study).await?,
        conversion_allowed,
    })
}

/// What the cohorts page shows.
pub struct CohortsOverview {
    /// Every employee, in employee-id order.
    pub employees: Vec<EmployeeRow>,
    /// Each employee's tenure band at the study's start, in the same order.
    pub bands: Vec<String>,
    /// The study's tenure bands.
    pub tenure_bands: TenureBands,
    /// The study's cohort shares.
    pub shares: CohortShares,
    /// The active usage import.
    pub usage: Option<repo::UsageImportRow>,
    /// Whether the frame can still change.
    pub frame_editable: bool,
}

/// The cohorts page's data.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn cohorts_overview(state: &AppState, study: &StudyRow) -> Result<CohortsOverview> {
    let mut conn = state.pool.acquire().await?;
    let employees = repo::employees(&mut *conn, study.id).await?;
    let tenure_bands = bands(study);
    let bands = employees
        .iter()
        .map(|e| e.tenure_band(&tenure_bands, study.start_date))
        .collect();
    Ok(CohortsOverview {
        employees,
        bands,
        tenure_bands,
        shares: shares(study),
        usage: repo::latest_usage_import(&mut *conn, study.id).await?,
        frame_editable: frame_editable(&mut conn, study).await?,
    })
}

/// The drawn sample against its population.
pub struct DrawOverview {
    /// The stored draw.
    pub draw: repo::DrawRow,
    /// People in the main sample.
    pub main: u64,
    /// People in the pilot.
    pub pilot: u64,
    /// Population, main sample and pilot per cohort.
    pub by_cohort: BTreeMap<Cohort, Composition>,
    /// The same per cohort and function.
    pub by_cell: BTreeMap<(Cohort, String), Composition>,
}

/// What the sample page shows.
pub struct SampleOverview {
    /// Employees per cohort, in cohort order.
    pub cohort_sizes: Vec<(Cohort, u64)>,
    /// Employees on the roster.
    pub population: u64,
    /// The current draw, if any.
    pub drawn: Option<DrawOverview>,
    /// Whether the sample can still be drawn, redrawn or discarded.
    pub editable: bool,
}

/// The sample page's data.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn sample_overview(state: &AppState, study: &StudyRow) -> Result<SampleOverview> {
    let mut conn = state.pool.acquire().await?;
    let employees = repo::employees(&mut *conn, study.id).await?;
    let cohort_sizes = Cohort::ALL
        .iter()
        .map(|&c| {
            (
                c,
                employees.iter().filter(|e| e.cohort() == c).count() as u64,
            )
        })
        .collect();
    let drawn = match repo::draw(&mut *conn, study.id).await? {
        None => None,
        Some(draw) => {
            let members = repo::members(&mut *conn, study.id).await?;
            let roles: HashMap<i64, SampleRole> =
                members.iter().map(|m| (m.employee, m.role)).collect();
            let part = |e: &EmployeeRow| {
                let role = roles.get(&e.id).copied();
                (
                    role == Some(SampleRole::Main),
                    role == Some(SampleRole::Pilot),
                )
            };
            let main = members
                .iter()
                .filter(|m| m.role == SampleRole::Main)
                .count() as u64;
            Some(DrawOverview {
                draw,
                main,
                pilot: members.len() as u64 - main,
                by_cohort: composition(employees.iter().map(|e| {
                    let (m, p) = part(e);
                    (e.cohort(), m, p)
                })),
                by_cell: composition(employees.iter().map(|e| {
                    let (m, p) = part(e);
                    ((e.cohort(), e.function.clone()), m, p)
                })),
            })
        }
    };
    Ok(SampleOverview {
        cohort_sizes,
        population: employees.len() as u64,
        drawn,
        editable: sample_editable(&mut conn, study).await?,
    })
}

/// Imports a roster file, replacing the study's roster; a file with any bad row changes nothing.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn import_roster(
    state: &AppState,
    actor: &Actor,
    study: &StudyRow,
    filename: &str,
    bytes: Vec<u8>,
) -> Result<std::result::Result<usize, Problems>> {
    let today = study_today(state, study);
    let parsed = tokio::task::spawn_blocking(move || parse_roster(&bytes, today))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let rows = match parsed {
        Ok(rows) => rows,
        Err(problems) => return Ok(Err(problems)),
    };
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = &ensure_frame_editable(&mut tx, study.id, "the roster").await?;
    repo::replace_roster(&mut tx, study.id, &rows).await?;
    repo::insert_roster_import(&mut tx, study.id, filename, rows.len(), actor.user_id, now).await?;
    let (matched, _) = recompute(&mut tx, study).await?;
    let detail = format!(
        "{} employees from \"{filename}\"; {matched} matched to the usage data",
        rows.len()
    );
    audit::record(
        &mut tx,
        now,
        actor,
        "roster.import",
        Some(study.id.0),
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(rows.len()))
}

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

/// Imports a vendor usage file in a named format with no options (see `import_usage_as`).
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
    let choice = Some(format);
    import_usage_as(
        state,
        actor,
        study,
        filename,
        choice,
        options,
        bytes,
        hours_per_unit,
    )
    .await
}

/// Imports a vendor usage file, its format named or (`None`) detected; it becomes the study's active
/// usage source and cohorts are reassigned.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn import_usage_as(
    state: &AppState,
    actor: &Actor,
    study: &StudyRow,
    filename: &str,
    choice: Option<UsageFormat>,
    options: UsageOptions,
    bytes: Vec<u8>,
    hours_per_unit: Option<f64>,
) -> Result<std::result::Result<UsageOutcome, Problems>> {
    let parsed = tokio::task::spawn_blocking(move || parse_usage_auto(choice, &bytes, &options))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let parsed = match parsed {
        Ok(p) => p,
        Err(problems) => return Ok(Err(problems)),
    };
    let format = parsed.format;
    // An hours-based source needs no conversion; keeping one would mislead the reader.
    let hours_per_unit = if parsed.has_hours {
        None
    } else {
        hours_per_unit
    };
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = &ensure_frame_editable(&mut tx, study.id, "the usage data").await?;
    let id = repo::insert_usage_import(
        &mut tx,
        study.id,
        filename,
        &parsed,
        0,
        0,
        hours_per_unit,
        actor.user_id,
        now,
    )
    .await?;
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
        "{} rows of {} ({read}) from \"{filename}\" ({} to {}); {matched} people matched, {unmatched} not on the roster",
        parsed.rows.len(),
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
    Ok(Ok(UsageOutcome {
        rows: parsed.rows.len(),
        matched,
        unmatched,
        format,
        version: parsed.version,
        encoding: parsed.encoding,
        period: (parsed.period_start, parsed.period_end),
    }))
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

fn pending_dir(state: &AppState) -> std::path::PathBuf {
    state.config.data_dir.join("pending-usage")
}

/// Keeps the upload until the admin confirms it: one file per study (a new preview replaces the last),
/// readable by the service only, named by a random id the confirmation must present.
fn store_pending(state: &AppState, study: StudyId, bytes: &[u8]) -> std::io::Result<String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = pending_dir(state);
    std::fs::create_dir_all(&dir)?;
    discard_pending(state, study);
    let prefix = format!("{}-", study.0);
    let token = crate::auth::token::new_token();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join(format!("{prefix}{token}")))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(token)
}

/// Removes any upload a preview of this study is holding (best effort: a leftover is replaced by the
/// study's next preview).
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

/// Takes the stored upload back (and removes it); `None` if there is none under that id.
fn take_pending(state: &AppState, study: StudyId, token: &str) -> std::io::Result<Option<Vec<u8>>> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let path = pending_dir(state).join(format!("{}-{token}", study.0));
    match std::fs::read(&path) {
        Ok(bytes) => {
            std::fs::remove_file(&path)?;
            Ok(Some(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads a usage file and matches it to the roster without changing anything; the upload is kept under a
/// random id until `confirm_usage` imports it.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn preview_usage(
    state: &AppState,
    study: &StudyRow,
    choice: Option<UsageFormat>,
    options: UsageOptions,
    bytes: Vec<u8>,
) -> Result<std::result::Result<UsagePreview, Problems>> {
    let (parsed, bytes) = tokio::task::spawn_blocking(move || {
        let parsed = parse_usage_auto(choice, &bytes, &options);
        (parsed, bytes)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    let parsed = match parsed {
        Ok(p) => p,
        Err(problems) => return Ok(Err(problems)),
    };
    let mut conn = state.pool.acquire().await?;
    if !frame_editable(&mut conn, study).await? {
        return Err(AppError::Conflict(
            "The usage data can no longer change for this study.".into(),
        ));
    }
    let employees = repo::employees(&mut *conn, study.id).await?;
    drop(conn);
    let ix = index(&employees);
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
    let ranks: Vec<UsageRank<'_>> = employees
        .iter()
        .zip(&usage)
        .map(|(e, u)| UsageRank {
            employee_id: &e.employee_id,
            score: u.map(|s| s.score),
            tiebreak: u.map(|s| s.tiebreak).unwrap_or(0.0),
        })
        .collect();
    let cohorts = assign_cohorts(&ranks, &shares(study));
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
    let token = store_pending(state, study.id, &bytes).map_err(|e| AppError::Internal(e.into()))?;
    Ok(Ok(UsagePreview {
        people: parsed.employees.len(),
        not_on_roster,
        without_usage: (
            without
                .iter()
                .take(PREVIEW_NAMES)
                .map(|e| e.employee_id.clone())
                .collect(),
            without.len(),
        ),
        scores,
        unit_label: parsed.unit_label,
        token,
        read: UsageOutcome {
            rows: parsed.rows.len(),
            matched,
            unmatched,
            format: parsed.format,
            version: parsed.version,
            encoding: parsed.encoding,
            period: (parsed.period_start, parsed.period_end),
        },
    }))
}

/// Imports the upload a preview stored, read the same way; refused if the preview is gone.
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
    let Some(bytes) =
        take_pending(state, study.id, token).map_err(|e| AppError::Internal(e.into()))?
    else {
        return Err(AppError::BadRequest(
            "This preview is no longer available (imported already, or replaced by a newer one); upload the file again.".into(),
        ));
    };
    import_usage_as(
        state,
        actor,
        study,
        filename,
        Some(format),
        options,
        bytes,
        hours_per_unit,
    )
    .await
}

/// Sets (or clears) the admin's conversion from usage units to gross AI hours for the active import.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn set_conversion(
    state: &AppState,
    actor: &Actor,
    study: &StudyRow,
    hours: Option<f64>,
) -> Result<()> {
    if let Some(h) = hours
        && !(h.is_finite() && h > 0.0 && h <= 24.0 * 31.0)
    {
        return Err(AppError::BadRequest(
            "The conversion must be a positive number of hours.".into(),
        ));
    }
    if study.status() == Status::Closed {
        return Err(AppError::Conflict(
            "This study is closed; it can no longer be changed.".into(),
        ));
    }
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let Some(import) = repo::latest_usage_import(&mut *tx, study.id).await? else {
        return Err(AppError::BadRequest("Import usage data first.".into()));
    };
    if import.has_hours {
        return Err(AppError::BadRequest(
            "This usage source reports hours itself; it needs no conversion.".into(),
        ));
    }
    repo::set_hours_per_unit(&mut tx, import.id, hours).await?;
    recompute(&mut tx, study).await?;
    let detail = match hours {
        Some(h) => format!(
            "assumption: {h} gross AI hours per month per {}",
            import.unit_label
        ),
        None => "conversion removed".to_string(),
    };
    audit::record(
        &mut tx,
        now,
        actor,
        "usage.conversion",
        Some(study.id.0),
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Saves cohort shares and tenure bands, then reassigns cohorts.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn set_cohort_settings(
    state: &AppState,
    actor: &Actor,
    study: &StudyRow,
    shares: &CohortShares,
    bands: &TenureBands,
) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    ensure_frame_editable(&mut tx, study.id, "the cohort shares").await?;
    let bounds = bands.to_config_string();
    crate::study::repo::set_cohort_settings(
        &mut tx,
        study.id,
        shares.heavy(),
        shares.moderate(),
        &bounds,
        now,
    )
    .await?;
    let fresh = crate::study::repo::get(&mut *tx, study.id)
        .await?
        .ok_or(AppError::NotFound)?;
    recompute(&mut tx, &fresh).await?;
    let detail = format!(
        "heavy {:.0}%, moderate {:.0}%, light {:.0}%; tenure bands at {bounds} months",
        shares.heavy() * 100.0,
        shares.moderate() * 100.0,
        shares.light() * 100.0
    );
    audit::record(
        &mut tx,
        now,
        actor,
        "cohorts.settings",
        Some(study.id.0),
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The study's cohort shares (stored values were validated when saved).
pub fn shares(study: &StudyRow) -> CohortShares {
    CohortShares::parse(study.heavy_share, study.moderate_share).unwrap_or_default()
}

/// The study's tenure bands.
pub fn bands(study: &StudyRow) -> TenureBands {
    TenureBands::parse(&study.tenure_bounds).unwrap_or_default()
}

/// Matches the active usage import to the roster and reassigns cohorts; returns (matched, unmatched) people.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn recompute(conn: &mut SqliteConnection, study: &StudyRow) -> Result<(usize, usize)> {
    let employees = repo::employees(&mut *conn, study.id).await?;
    let import = repo::latest_usage_import(&mut *conn, study.id).await?;
    let summaries = match &import {
        Some(i) => repo::summaries(&mut *conn, i.id).await?,
        None => Vec::new(),
    };
    let ix = index(&employees);
    let mut usage: Vec<Option<&repo::SummaryRow>> = vec![None; employees.len()];
    let (mut matched, mut unmatched) = (0, 0);
    for s in &summaries {
        match ix.find(s.key_kind, &s.key) {
            Some(i) => {
                // A second record for the same person (a plain CSV keyed by id on some rows and by email
                // on others) is ignored: the first one found counts, and the person counts once.
                if usage[i].is_none() {
                    usage[i] = Some(s);
                    matched += 1;
                }
            }
            None => unmatched += 1,
        }
    }
    let hours_per_unit = import.as_ref().and_then(|i| i.hours_per_unit);
    let ranks: Vec<UsageRank<'_>> = employees
        .iter()
        .zip(&usage)
        .map(|(e, u)| UsageRank {
            employee_id: &e.employee_id,
            score: u.map(|s| s.score),
            tiebreak: u.map(|s| s.tiebreak).unwrap_or(0.0),
        })
        .collect();
    let cohorts = assign_cohorts(&ranks, &shares(study));
    let derived: Vec<Derived> = employees
        .iter()
        .zip(&usage)
        .zip(cohorts)
        .map(|((e, u), cohort)| Derived {
            id: e.id,
            score: u.map(|s| s.score),
            tiebreak: u.map(|s| s.tiebreak).unwrap_or(0.0),
            active_days: u.and_then(|s| s.active_days_month),
            gross_hours: match u {
                Some(s) => s.gross_hours_month.or(hours_per_unit.map(|h| h * s.units)),
                // No usage at all: zero hours when the source can say so, unknown otherwise.
                None => import
                    .as_ref()
                    .filter(|i| i.has_hours || i.hours_per_unit.is_some())
                    .map(|_| 0.0),
            },
            cohort,
        })
        .collect();
    repo::write_derived(conn, &derived).await?;
    Ok((matched, unmatched))
}

type Index = HashMap<String, usize>;

/// Roster positions by each identifier a usage key can match, lowercased.
struct Indexes {
    id: Index,
    email: Index,
    login: Index,
    upn: Index,
    vendor_id: Index,
}

impl Indexes {
    /// The roster position a usage key matches, if any.
    fn find(&self, kind: KeyKind, key: &str) -> Option<usize> {
        let key = key.trim().to_lowercase();
        let found = match kind {
            KeyKind::EmployeeId => self.id.get(&key),
            KeyKind::Email => self.email.get(&key),
            KeyKind::Login => self.login.get(&key).or_else(|| self.id.get(&key)),
            // Where UPN and mail differ the roster's upn column says so; elsewhere the UPN is the mail.
            KeyKind::Upn => self.upn.get(&key).or_else(|| self.email.get(&key)),
            KeyKind::VendorId => self.vendor_id.get(&key),
        };
        found.copied()
    }
}

fn index(employees: &[EmployeeRow]) -> Indexes {
    let mut ix = Indexes {
        id: HashMap::with_capacity(employees.len()),
        email: HashMap::with_capacity(employees.len()),
        login: HashMap::new(),
        upn: HashMap::new(),
        vendor_id: HashMap::new(),
    };
    for (i, e) in employees.iter().enumerate() {
        ix.id.insert(e.employee_id.to_lowercase(), i);
        ix.email.insert(e.email.to_lowercase(), i);
        if let Some(l) = &e.login {
            ix.login.insert(l.to_lowercase(), i);
        }
        if let Some(u) = &e.upn {
            ix.upn.insert(u.to_lowercase(), i);
        }
        if let Some(v) = &e.vendor_id {
            ix.vendor_id.insert(v.trim().to_lowercase(), i);
        }
    }
    ix
}

/// How the key of each usage format is matched (for the usage page).
pub fn key_help(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::EmployeeId => "employee_id",
        KeyKind::Email => "email",
        KeyKind::Login => "the roster's login column (or employee_id)",
        KeyKind::Upn => "the roster's upn column (or email)",
        KeyKind::VendorId => "the roster's vendor_id column",
    }
}

/// Draws the main sample and the pilot group; refused once invitations have gone out.
/// Everything happens in one write transaction: the draw is pure and takes milliseconds even at 100,000.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn draw(
    state: &AppState,
    actor: &Actor,
    study: &StudyRow,
    spec: DrawSpec,
) -> Result<Draw> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = crate::study::repo::get(&mut *tx, study.id)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::retention::service::ensure_not_purged(&mut tx, study.id).await?;
    if !sample_editable(&mut tx, &study).await? {
        return Err(AppError::Conflict(if study.status() > Status::Setup {
            format!(
                "The study is in {}; the sample can only be drawn during draft and setup.",
                study.status().label()
            )
        } else {
            "Invitations have gone out to this sample; it can no longer be redrawn.".into()
        }));
    }
    let employees = repo::employees(&mut *tx, study.id).await?;
    let frame: Vec<FrameUnit> = employees
        .iter()
        .map(|e| FrameUnit {
            key: e.id,
            employee_id: e.employee_id.clone(),
            cohort: e.cohort(),
            function: e.function.clone(),
        })
        .collect();
    let drawn = draw_sample(&frame, &spec).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let redraw = repo::draw(&mut *tx, study.id).await?.is_some();
    repo::insert_draw(
        &mut tx,
        study.id,
        spec.seed,
        spec.n,
        spec.min_per_cohort,
        spec.pilot_n,
        &drawn.main,
        &drawn.pilot,
        actor.user_id,
        now,
    )
    .await?;
    let detail = format!(
        "{}main sample {}, pilot {}, at least {} per cohort, seed {}",
        if redraw { "redrawn: " } else { "" },
        drawn.main.len(),
        drawn.pilot.len(),
        spec.min_per_cohort,
        spec.seed
    );
    audit::record(
        &mut tx,
        now,
        actor,
        "sample.draw",
        Some(study.id.0),
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(drawn)
}

/// Discards the sample so the roster or usage can change; refused once invitations have gone out.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn discard_sample(state: &AppState, actor: &Actor, study: &StudyRow) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = crate::study::repo::get(&mut *tx, study.id)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::retention::service::ensure_not_purged(&mut tx, study.id).await?;
    if !sample_editable(&mut tx, &study).await? {
        return Err(AppError::Conflict(
            "Invitations have gone out to this sample; it can no longer be discarded.".into(),
        ));
    }
    if repo::draw(&mut *tx, study.id).await?.is_none() {
        return Err(AppError::Conflict("There is no sample to discard.".into()));
    }
    repo::delete_draw(&mut tx, study.id).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "sample.discard",
        Some(study.id.0),
        "sample discarded",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Looks a study up for the CLI by id.
pub async fn study_for_cli(state: &AppState, id: i64) -> anyhow::Result<StudyRow> {
    crate::study::repo::get(&state.pool, StudyId(id))
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!("there is no study with id {id}; `layer2 study list` shows them")
        })
}
