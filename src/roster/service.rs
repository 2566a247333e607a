//! Imports, cohort assignment and the sample draw: the rules, over `repo` and the pure modules (usage
//! imports and their preview live in `usage`, re-exported here).
use super::SampleRole;
use super::cohort::{Cohort, CohortShares, TenureBands, UsageRank, assign_cohorts};
use super::import::{ImportProblem, KeyKind, parse_roster};
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

pub use super::usage::{
    UsageChoice, UsageOutcome, UsagePreview, UsageSource, confirm_usage, discard_pending,
    import_usage, import_usage_as, import_usage_from, preview_usage,
};

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
pub(super) async fn ensure_frame_editable(
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

pub(super) fn study_today(state: &AppState, study: &StudyRow) -> chrono::NaiveDate {
    let tz = study.tz();
    state.clock.now().with_timezone(&tz).date_naive()
}

/// What the roster page shows.
pub struct RosterOverview {
    /// Employees on the roster.
    pub employees: i64,
    /// The latest roster import.
    pub last_import: Option<repo::RosterImportRow>,
    /// Whether the frame can still change.
    pub frame_editable: bool,
}

/// The roster page's data.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn roster_overview(state: &AppState, study: &StudyRow) -> Result<RosterOverview> {
    let mut conn = state.pool.acquire().await?;
    Ok(RosterOverview {
        employees: repo::employee_count(&mut *conn, study.id).await?,
        last_import: repo::latest_roster_import(&mut *conn, study.id).await?,
        frame_editable: frame_editable(&mut conn, study).await?,
    })
}

/// Employees per page of the roster table.
pub const ROSTER_PER_PAGE: i64 = 50;

/// One page of the roster table (employees by id), found by part of an employee id or email.
pub struct RosterPeople {
    /// The page's employees.
    pub rows: Vec<EmployeeRow>,
    /// How many match the search.
    pub matching: i64,
    /// The page shown (moved inside the pages there are).
    pub page: i64,
}

/// A page of the roster matching `search` (counted and cut in SQL).
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn roster_people(
    state: &AppState,
    study: &StudyRow,
    search: &str,
    page: Option<&str>,
) -> Result<RosterPeople> {
    let mut conn = state.pool.acquire().await?;
    let matching = repo::employee_match_count(&mut *conn, study.id, search).await?;
    let last = ((matching + ROSTER_PER_PAGE - 1) / ROSTER_PER_PAGE).max(1);
    let page = page
        .and_then(|p| p.trim().parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, last);
    let rows = repo::employee_page(
        &mut *conn,
        study.id,
        search,
        ROSTER_PER_PAGE,
        (page - 1) * ROSTER_PER_PAGE,
    )
    .await?;
    Ok(RosterPeople {
        rows,
        matching,
        page,
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
    /// Roster employees without usage in the active source (they count as light).
    pub without_usage: i64,
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
        without_usage: repo::employees_without_usage(&mut *conn, study.id).await?,
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
        "{} employees from \"{filename}\"; {} matched to the usage data",
        crate::reports::text::thousands(rows.len() as i64),
        crate::reports::text::thousands(matched as i64)
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
                // Imports refuse a file with two records for one person (`Indexes::doubles`); one can
                // still arise when a later roster gives someone a new key: the first found counts.
                if usage[i].is_none() {
                    usage[i] = Some(s);
                    matched += 1;
                }
            }
            None => unmatched += 1,
        }
    }
    let hours_per_unit = import.as_ref().and_then(|i| i.hours_per_unit);
    let cohorts = cohorts_for(
        &employees,
        |i| usage[i].map(|s| (s.score, s.tiebreak)),
        study,
    );
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

/// Ranks the roster by usage and assigns cohorts by the study's shares; `usage(i)` is employee i's
/// (score, tiebreak), `None` without usage. The one rule the import, the preview and settings share.
pub(super) fn cohorts_for(
    employees: &[EmployeeRow],
    usage: impl Fn(usize) -> Option<(f64, f64)>,
    study: &StudyRow,
) -> Vec<Cohort> {
    let ranks: Vec<UsageRank<'_>> = employees
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let u = usage(i);
            UsageRank {
                employee_id: &e.employee_id,
                score: u.map(|s| s.0),
                tiebreak: u.map(|s| s.1).unwrap_or(0.0),
            }
        })
        .collect();
    assign_cohorts(&ranks, &shares(study))
}

type Index = HashMap<String, usize>;

/// Roster positions by each identifier a usage key can match, lowercased.
pub(super) struct Indexes {
    id: Index,
    email: Index,
    login: Index,
    upn: Index,
    vendor_id: Index,
    /// Per roster position: whether the person has a login (then their employee id is no login).
    has_login: Vec<bool>,
    /// Per roster position: whether the person has a upn (then their email is no UPN).
    has_upn: Vec<bool>,
}

impl Indexes {
    /// The roster position a usage key matches, if any. The fallbacks (a login matched against
    /// `employee_id`, a UPN against `email`) reach only people without a login or upn of their own: where
    /// the roster names one, it is the only key that person is found by.
    pub(super) fn find(&self, kind: KeyKind, key: &str) -> Option<usize> {
        let key = key.trim().to_lowercase();
        let found = match kind {
            KeyKind::EmployeeId => self.id.get(&key),
            KeyKind::Email => self.email.get(&key),
            KeyKind::Login => self
                .login
                .get(&key)
                .or_else(|| self.id.get(&key).filter(|&&i| !self.has_login[i])),
            // Where UPN and mail differ the roster's upn column says so; elsewhere the UPN is the mail.
            KeyKind::Upn => self
                .upn
                .get(&key)
                .or_else(|| self.email.get(&key).filter(|&&i| !self.has_upn[i])),
            KeyKind::VendorId => self.vendor_id.get(&key),
        };
        found.copied()
    }

    /// Records of a usage file that reach a roster person another record of the file reached already
    /// (an email row and a UPN row of one person, a plain CSV keyed by id on some rows and by email on
    /// others): refused, naming both, since counting either alone would silently drop the other's usage.
    pub(super) fn doubles<'a>(
        &self,
        employees: &[EmployeeRow],
        keys: impl Iterator<Item = (KeyKind, &'a str)>,
    ) -> Vec<ImportProblem> {
        let mut seen: HashMap<usize, &str> = HashMap::new();
        let mut problems = Vec::new();
        for (kind, key) in keys {
            let Some(i) = self.find(kind, key) else {
                continue;
            };
            match seen.get(&i) {
                Some(first) if !first.trim().eq_ignore_ascii_case(key.trim()) => {
                    problems.push(ImportProblem {
                        row: None,
                        column: None,
                        message: format!(
                            "\"{first}\" and \"{key}\" are two records of the same roster person ({}): \
                             keep one identifier per person in the file and import it again",
                            employees[i].employee_id
                        ),
                    });
                }
                Some(_) => {}
                None => {
                    seen.insert(i, key);
                }
            }
        }
        problems
    }
}

pub(super) fn index(employees: &[EmployeeRow]) -> Indexes {
    let mut ix = Indexes {
        id: HashMap::with_capacity(employees.len()),
        email: HashMap::with_capacity(employees.len()),
        login: HashMap::new(),
        upn: HashMap::new(),
        vendor_id: HashMap::new(),
        has_login: employees.iter().map(|e| e.login.is_some()).collect(),
        has_upn: employees.iter().map(|e| e.upn.is_some()).collect(),
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
    let drawn = draw_sample(&frame, &spec).map_err(|e| match e.field() {
        "" => AppError::BadRequest(e.to_string()),
        field => AppError::field(field, e.to_string()),
    })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, email: &str, login: Option<&str>, upn: Option<&str>) -> EmployeeRow {
        EmployeeRow {
            id: 0,
            employee_id: id.into(),
            email: email.into(),
            function: "Engineering".into(),
            hire_date: None,
            tenure_band: Some("1-3 y".into()),
            login: login.map(Into::into),
            upn: upn.map(Into::into),
            vendor_id: None,
            usage_score: None,
            usage_tiebreak: 0.0,
            gross_hours_month: None,
            cohort: None,
        }
    }

    #[test]
    fn a_fallback_key_reaches_only_people_without_their_own() {
        let roster = [
            person(
                "E1",
                "ada@example.org",
                Some("ada-l"),
                Some("ada.l@corp.example"),
            ),
            person("E2", "bob@example.org", None, None),
        ];
        let ix = index(&roster);
        // Their own keys, and the fallbacks for someone who has none.
        assert_eq!(ix.find(KeyKind::Login, "ADA-L"), Some(0));
        assert_eq!(ix.find(KeyKind::Upn, "ada.l@corp.example"), Some(0));
        assert_eq!(ix.find(KeyKind::Login, "E2"), Some(1));
        assert_eq!(ix.find(KeyKind::Upn, "bob@example.org"), Some(1));
        // Someone with a login or upn of their own is found by it only.
        assert_eq!(ix.find(KeyKind::Login, "E1"), None);
        assert_eq!(ix.find(KeyKind::Upn, "ada@example.org"), None);
    }

    #[test]
    fn two_records_of_one_person_are_refused_naming_both() {
        let roster = [
            person("E1", "ada@example.org", None, None),
            person("E2", "bob@example.org", None, None),
        ];
        let ix = index(&roster);
        let keys = [
            (KeyKind::EmployeeId, "E1"),
            (KeyKind::Email, "bob@example.org"),
            (KeyKind::Email, "Ada@example.org"),
            (KeyKind::Email, "nobody@example.org"),
        ];
        let problems = ix.doubles(&roster, keys.into_iter());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].message.starts_with(
                "\"E1\" and \"Ada@example.org\" are two records of the same roster person (E1)"
            ),
            "{}",
            problems[0].message
        );
        // The same key twice is one record (a person in two organisations' files is merged upstream).
        let same = [
            (KeyKind::Email, "bob@example.org"),
            (KeyKind::Email, "BOB@example.org"),
        ];
        assert!(ix.doubles(&roster, same.into_iter()).is_empty());
    }
}
