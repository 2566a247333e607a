//! Imports, cohort assignment and the sample draw: the rules, over `repo` and the pure modules.
use super::cohort::{CohortShares, TenureBands, UsageRank, assign_cohorts};
use super::import::{ImportProblem, KeyKind, UsageFormat, parse_roster, parse_usage};
use super::repo::{self, Derived, EmployeeRow};
use super::sample::{Draw, DrawSpec, FrameUnit, draw_sample};
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::study::repo::StudyRow;
use crate::study::{Status, StudyId};
use chrono_tz::Tz;
use sqlx::SqliteConnection;
use std::collections::HashMap;

/// Why an import did not happen: the file's problems, listed for the page.
pub type Problems = Vec<ImportProblem>;

/// The frame (roster, usage, cohorts) is fixed once a sample exists, and never changes after setup.
/// Re-reads the study inside the caller's write transaction and returns the fresh row.
async fn ensure_frame_editable(
    conn: &mut SqliteConnection,
    id: StudyId,
    what: &str,
) -> Result<StudyRow> {
    let study = crate::study::repo::get(&mut *conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if study.status() > Status::Setup {
        return Err(AppError::Conflict(format!(
            "The study is in {}; {what} can only change during draft and setup.",
            study.status().label()
        )));
    }
    let (main, pilot) = repo::sample_sizes(&mut *conn, study.id).await?;
    if main + pilot > 0 {
        return Err(AppError::Conflict(format!(
            "A sample has been drawn from the current roster; discard it on the sample page before {what} can change."
        )));
    }
    Ok(study)
}

fn study_today(state: &AppState, study: &StudyRow) -> chrono::NaiveDate {
    let tz: Tz = study.time_zone.parse().unwrap_or(chrono_tz::UTC);
    state.clock.now().with_timezone(&tz).date_naive()
}

/// Imports a roster file, replacing the study's roster; a file with any bad row changes nothing.
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
}

/// Imports a vendor usage file; it becomes the study's active usage source and cohorts are reassigned.
pub async fn import_usage(
    state: &AppState,
    actor: &Actor,
    study: &StudyRow,
    filename: &str,
    format: UsageFormat,
    bytes: Vec<u8>,
    hours_per_unit: Option<f64>,
) -> Result<std::result::Result<UsageOutcome, Problems>> {
    let parsed = tokio::task::spawn_blocking(move || parse_usage(format, &bytes))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let parsed = match parsed {
        Ok(p) => p,
        Err(problems) => return Ok(Err(problems)),
    };
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
        let (column, how) = match format {
            UsageFormat::PlainCsv => ("employee_id", "the roster's employee_id or email"),
            UsageFormat::GithubCopilot => {
                ("user_login", "the roster's login column (or employee_id)")
            }
            UsageFormat::M365Copilot => ("User Principal Name", "the roster's email"),
        };
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
    let mut detail = format!(
        "{} rows of {} from \"{filename}\" ({} to {}); {matched} people matched, {unmatched} not on the roster",
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
    Ok(Ok(UsageOutcome {
        rows: parsed.rows.len(),
        matched,
        unmatched,
    }))
}

/// Sets (or clears) the admin's conversion from usage units to gross AI hours for the active import.
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
pub async fn recompute(conn: &mut SqliteConnection, study: &StudyRow) -> Result<(usize, usize)> {
    let employees = repo::employees(&mut *conn, study.id).await?;
    let import = repo::latest_usage_import(&mut *conn, study.id).await?;
    let summaries = match &import {
        Some(i) => repo::summaries(&mut *conn, i.id).await?,
        None => Vec::new(),
    };
    let (by_id, by_email, by_login) = index(&employees);
    let mut usage: Vec<Option<&repo::SummaryRow>> = vec![None; employees.len()];
    let (mut matched, mut unmatched) = (0, 0);
    for s in &summaries {
        let key = s.key.to_lowercase();
        let found = match s.key_kind.as_str() {
            "employee_id" => by_id.get(&key),
            "email" => by_email.get(&key),
            _ => by_login.get(&key).or_else(|| by_id.get(&key)),
        };
        match found {
            Some(&i) => {
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

fn index(employees: &[EmployeeRow]) -> (Index, Index, Index) {
    let mut by_id = HashMap::with_capacity(employees.len());
    let mut by_email = HashMap::with_capacity(employees.len());
    let mut by_login = HashMap::new();
    for (i, e) in employees.iter().enumerate() {
        by_id.insert(e.employee_id.to_lowercase(), i);
        by_email.insert(e.email.to_lowercase(), i);
        if let Some(l) = &e.login {
            by_login.insert(l.to_lowercase(), i);
        }
    }
    (by_id, by_email, by_login)
}

/// How the key of each usage format is matched (for the usage page).
pub fn key_help(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::EmployeeId => "employee_id",
        KeyKind::Email => "email",
        KeyKind::Login => "the roster's login column (or employee_id)",
    }
}

/// Draws the main sample and the pilot group; refused once invitations have gone out.
/// Everything happens in one write transaction: the draw is pure and takes milliseconds even at 100,000.
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
    if study.status() > Status::Setup {
        return Err(AppError::Conflict(format!(
            "The study is in {}; the sample can only be drawn during draft and setup.",
            study.status().label()
        )));
    }
    if repo::invited_count(&mut *tx, study.id).await? > 0 {
        return Err(AppError::Conflict(
            "Invitations have gone out to this sample; it can no longer be redrawn.".into(),
        ));
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
pub async fn discard_sample(state: &AppState, actor: &Actor, study: &StudyRow) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = crate::study::repo::get(&mut *tx, study.id)
        .await?
        .ok_or(AppError::NotFound)?;
    if study.status() > Status::Setup || repo::invited_count(&mut *tx, study.id).await? > 0 {
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
