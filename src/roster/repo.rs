//! SQL for employees, imports, derived usage, cohorts and the sample.
use super::SampleRole;
use super::cohort::{Cohort, TenureBands};
use super::import::{
    EmployeeUsage, KeyKind, ParsedUsage, RawUsageRow, RosterRow, Tenure, UsageFormat,
};
use crate::auth::UserId;
use crate::study::StudyId;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, QueryBuilder, Sqlite, SqliteConnection, SqliteExecutor};

/// Rows per multi-row INSERT: 8 columns × 500 stays far below SQLite's bound-variable limit.
const CHUNK: usize = 500;

/// (main, pilot) sample sizes of a study.
pub async fn sample_sizes<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT COALESCE(SUM(role = 'main'), 0), COALESCE(SUM(role = 'pilot'), 0) FROM sample_members WHERE study_id = ?",
    )
    .bind(study)
    .fetch_one(db)
    .await
}

/// How many sampled people have been invited (a draw is final once any has).
pub async fn invited_count<'e>(db: impl SqliteExecutor<'e>, study: StudyId) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM sample_members WHERE study_id = ? AND invited_at IS NOT NULL",
    )
    .bind(study)
    .fetch_one(db)
    .await
}

/// Number of employees on a study's roster.
pub async fn employee_count<'e>(db: impl SqliteExecutor<'e>, study: StudyId) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM employees WHERE study_id = ?")
        .bind(study)
        .fetch_one(db)
        .await
}

/// Replaces a study's roster with `rows`.
pub async fn replace_roster(
    conn: &mut SqliteConnection,
    study: StudyId,
    rows: &[RosterRow],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM employees WHERE study_id = ?")
        .bind(study)
        .execute(&mut *conn)
        .await?;
    for chunk in rows.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO employees (study_id, employee_id, email, function, hire_date, tenure_band, time_zone, login, upn,
               vendor_id) ",
        );
        q.push_values(chunk, |mut b, r| {
            let (hire, band) = match &r.tenure {
                Tenure::HireDate(d) => (Some(*d), None),
                Tenure::Band(s) => (None, Some(s.as_str())),
            };
            b.push_bind(study)
                .push_bind(r.employee_id.as_str())
                .push_bind(r.email.as_str())
                .push_bind(r.function.as_str())
                .push_bind(hire)
                .push_bind(band)
                .push_bind(r.time_zone.name())
                .push_bind(r.login.as_deref())
                .push_bind(r.upn.as_deref())
                .push_bind(r.vendor_id.as_deref());
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Records a roster import.
pub async fn insert_roster_import(
    conn: &mut SqliteConnection,
    study: StudyId,
    filename: &str,
    rows: usize,
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO roster_imports (study_id, filename, rows, imported_at, user_id) VALUES (?, ?, ?, ?, ?)")
        .bind(study)
        .bind(filename)
        .bind(rows as i64)
        .bind(now)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}

/// The latest roster import, if any.
#[derive(Clone, Debug, FromRow)]
pub struct RosterImportRow {
    /// File name as uploaded.
    pub filename: String,
    /// Employees imported.
    pub rows: i64,
    /// When.
    pub imported_at: DateTime<Utc>,
    /// Who (email), if a person.
    pub who: Option<String>,
}

/// The latest roster import of a study.
pub async fn latest_roster_import<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Option<RosterImportRow>> {
    sqlx::query_as(
        "SELECT r.filename, r.rows, r.imported_at, u.email AS who FROM roster_imports r
         LEFT JOIN users u ON u.id = r.user_id WHERE r.study_id = ? ORDER BY r.id DESC LIMIT 1",
    )
    .bind(study)
    .fetch_optional(db)
    .await
}

/// A usage import as stored.
#[derive(Clone, Debug, FromRow)]
pub struct UsageImportRow {
    /// Id.
    pub id: i64,
    /// The format's identifier (`UsageFormat::as_str`).
    pub source: String,
    /// File name as uploaded.
    pub filename: String,
    /// Data rows in the file.
    pub rows: i64,
    /// People in the file matched to the roster.
    pub matched: i64,
    /// People in the file not on the roster.
    pub unmatched: i64,
    /// First day covered.
    pub period_start: NaiveDate,
    /// Last day covered.
    pub period_end: NaiveDate,
    /// Whether the source reports hours itself.
    pub has_hours: bool,
    /// What one usage unit is.
    pub unit_label: String,
    /// The admin's conversion: gross AI hours per month per unit.
    pub hours_per_unit: Option<f64>,
    /// When.
    pub imported_at: DateTime<Utc>,
    /// Who (email), if a person.
    pub who: Option<String>,
    /// Which variant of the source was read; empty for imports made before it was recorded.
    pub version: String,
    /// The text encoding the file was read in.
    pub encoding: String,
}

/// Stores an import, its raw rows and its per-person summaries; returns the import id.
#[allow(clippy::too_many_arguments)]
pub async fn insert_usage_import(
    conn: &mut SqliteConnection,
    study: StudyId,
    filename: &str,
    parsed: &ParsedUsage,
    matched: usize,
    unmatched: usize,
    hours_per_unit: Option<f64>,
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    let id = open_usage_import(conn, study, filename, parsed.format, user, now).await?;
    insert_raw_rows(conn, id, &parsed.rows).await?;
    finish_usage_import(conn, id, parsed, parsed.rows.len(), hours_per_unit).await?;
    sqlx::query("UPDATE usage_imports SET matched = ?, unmatched = ? WHERE id = ?")
        .bind(matched as i64)
        .bind(unmatched as i64)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Starts an import whose raw rows arrive in batches (`insert_raw_rows`) while the file is read; its
/// counts, period and summaries are written by `finish_usage_import`. Returns the import id.
pub async fn open_usage_import(
    conn: &mut SqliteConnection,
    study: StudyId,
    filename: &str,
    format: UsageFormat,
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO usage_imports (study_id, source, filename, rows, matched, unmatched, period_start, period_end,
           has_hours, unit_label, hours_per_unit, imported_at, user_id)
         VALUES (?, ?, ?, 0, 0, 0, ?, ?, 0, '', NULL, ?, ?) RETURNING id",
    )
    .bind(study)
    .bind(format.as_str())
    .bind(filename)
    .bind(now.date_naive())
    .bind(now.date_naive())
    .bind(now)
    .bind(user)
    .fetch_one(&mut *conn)
    .await
}

/// Writes what reading the file found into an import opened by `open_usage_import`: its source,
/// row count, period, version and encoding, and one summary per person.
pub async fn finish_usage_import(
    conn: &mut SqliteConnection,
    id: i64,
    parsed: &ParsedUsage,
    rows: usize,
    hours_per_unit: Option<f64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE usage_imports SET source = ?, rows = ?, period_start = ?, period_end = ?, has_hours = ?,
           unit_label = ?, hours_per_unit = ?, version = ?, encoding = ? WHERE id = ?",
    )
    .bind(parsed.format.as_str())
    .bind(rows as i64)
    .bind(parsed.period_start)
    .bind(parsed.period_end)
    .bind(parsed.has_hours)
    .bind(parsed.unit_label)
    .bind(hours_per_unit)
    .bind(parsed.version.as_str())
    .bind(parsed.encoding)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    insert_summaries(conn, id, &parsed.employees).await
}

/// Stores raw rows of an import, in multi-row statements.
pub async fn insert_raw_rows(
    conn: &mut SqliteConnection,
    import: i64,
    rows: &[RawUsageRow],
) -> sqlx::Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO usage_raw (import_id, row_number, key, raw) ");
        q.push_values(chunk, |mut b, r| {
            b.push_bind(import)
                .push_bind(r.row as i64)
                .push_bind(r.key.as_str())
                .push_bind(r.raw_json.as_str());
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_summaries(
    conn: &mut SqliteConnection,
    import: i64,
    rows: &[EmployeeUsage],
) -> sqlx::Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO usage_summary (import_id, key, key_kind, score, tiebreak, active_days_month, units, gross_hours_month) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(import)
                .push_bind(r.key.as_str())
                .push_bind(r.key_kind)
                .push_bind(r.score)
                .push_bind(r.tiebreak)
                .push_bind(r.active_days)
                .push_bind(r.units)
                .push_bind(r.gross_hours_month);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The active (latest) usage import of a study.
pub async fn latest_usage_import<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Option<UsageImportRow>> {
    sqlx::query_as(
        "SELECT i.id, i.source, i.filename, i.rows, i.matched, i.unmatched, i.period_start, i.period_end, i.has_hours,
           i.unit_label, i.hours_per_unit, i.imported_at, u.email AS who, i.version, i.encoding
         FROM usage_imports i LEFT JOIN users u ON u.id = i.user_id
         WHERE i.study_id = ? ORDER BY i.id DESC LIMIT 1",
    )
    .bind(study)
    .fetch_optional(db)
    .await
}

/// How many roster employees the active usage source has no usage for (they count as light).
pub async fn employees_without_usage<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM employees WHERE study_id = ? AND usage_score IS NULL")
        .bind(study.0)
        .fetch_one(db)
        .await
}

/// Every usage import of a study, newest first.
pub async fn usage_imports<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<UsageImportRow>> {
    sqlx::query_as(
        "SELECT i.id, i.source, i.filename, i.rows, i.matched, i.unmatched, i.period_start, i.period_end, i.has_hours,
           i.unit_label, i.hours_per_unit, i.imported_at, u.email AS who, i.version, i.encoding
         FROM usage_imports i LEFT JOIN users u ON u.id = i.user_id
         WHERE i.study_id = ? ORDER BY i.id DESC",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// Sets the conversion of the latest import.
pub async fn set_hours_per_unit(
    conn: &mut SqliteConnection,
    import: i64,
    hours: Option<f64>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE usage_imports SET hours_per_unit = ? WHERE id = ?")
        .bind(hours)
        .bind(import)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets how many rows matched (known only after matching against the roster).
pub async fn set_match_counts(
    conn: &mut SqliteConnection,
    import: i64,
    matched: i64,
    unmatched: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE usage_imports SET matched = ?, unmatched = ? WHERE id = ?")
        .bind(matched)
        .bind(unmatched)
        .bind(import)
        .execute(conn)
        .await?;
    Ok(())
}

/// One person's usage as stored for an import.
#[derive(Clone, Debug, FromRow)]
pub struct SummaryRow {
    /// Key as in the source.
    pub key: String,
    /// How the key matches the roster.
    pub key_kind: KeyKind,
    /// Usage score.
    pub score: f64,
    /// Secondary ranking value.
    pub tiebreak: f64,
    /// Active days per month.
    pub active_days_month: Option<f64>,
    /// Units for the conversion.
    pub units: f64,
    /// Hours per month, when the source has them.
    pub gross_hours_month: Option<f64>,
}

/// The per-person summaries of an import.
pub async fn summaries<'e>(
    db: impl SqliteExecutor<'e>,
    import: i64,
) -> sqlx::Result<Vec<SummaryRow>> {
    sqlx::query_as(
        "SELECT key, key_kind, score, tiebreak, active_days_month, units, gross_hours_month
         FROM usage_summary WHERE import_id = ?",
    )
    .bind(import)
    .fetch_all(db)
    .await
}

/// An employee with what cohorts, segments and the sample need.
#[derive(Clone, Debug, FromRow)]
pub struct EmployeeRow {
    /// Database id.
    pub id: i64,
    /// The organisation's employee id.
    pub employee_id: String,
    /// Lower-cased email.
    pub email: String,
    /// Function (department).
    pub function: String,
    /// Hire date, when the roster gave one.
    pub hire_date: Option<NaiveDate>,
    /// Tenure band, when the roster gave one instead.
    pub tenure_band: Option<String>,
    /// Vendor login.
    pub login: Option<String>,
    /// Microsoft user principal name (lowercased).
    pub upn: Option<String>,
    /// An id the vendor assigns.
    pub vendor_id: Option<String>,
    /// Usage score from the active import.
    pub usage_score: Option<f64>,
    /// Secondary ranking value.
    pub usage_tiebreak: f64,
    /// Gross AI hours per month.
    pub gross_hours_month: Option<f64>,
    /// Assigned cohort.
    pub cohort: Option<String>,
}

impl EmployeeRow {
    /// The cohort as a type; no cohort yet counts as light.
    pub fn cohort(&self) -> Cohort {
        self.cohort
            .as_deref()
            .and_then(|c| c.parse().ok())
            .unwrap_or(Cohort::Light)
    }

    /// The tenure band on `as_of`: from the hire date when there is one, else the roster's band.
    pub fn tenure_band(&self, bands: &TenureBands, as_of: NaiveDate) -> String {
        match (self.hire_date, &self.tenure_band) {
            (Some(d), _) => bands.band_for(d, as_of),
            (None, Some(b)) => b.clone(),
            (None, None) => "unknown".into(),
        }
    }
}

// The columns of an `EmployeeRow`.
macro_rules! employee_columns {
    () => {
        "SELECT id, employee_id, email, function, hire_date, tenure_band, login, upn, vendor_id, usage_score,
           usage_tiebreak, gross_hours_month, cohort"
    };
}

// A study's employees whose employee id or email contains ?2 (any case; empty for all).
macro_rules! employees_found {
    () => {
        " FROM employees WHERE study_id = ?1
           AND (?2 = '' OR instr(lower(employee_id), lower(?2)) > 0 OR instr(email, lower(?2)) > 0)"
    };
}

/// All employees of a study, ordered by employee id.
pub async fn employees<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<EmployeeRow>> {
    sqlx::query_as(concat!(
        employee_columns!(),
        " FROM employees WHERE study_id = ? ORDER BY employee_id"
    ))
    .bind(study)
    .fetch_all(db)
    .await
}

/// One page of a study's employees whose employee id or email contains `search` (any case), by id.
pub async fn employee_page<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
    search: &str,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<EmployeeRow>> {
    sqlx::query_as(concat!(
        employee_columns!(),
        employees_found!(),
        " ORDER BY employee_id LIMIT ?3 OFFSET ?4"
    ))
    .bind(study)
    .bind(search)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

/// How many employees of a study have `search` in their employee id or email (any case).
pub async fn employee_match_count<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
    search: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(concat!("SELECT COUNT(*)", employees_found!()))
        .bind(study)
        .bind(search)
        .fetch_one(db)
        .await
}

/// What the usage source and the cohort rule derived for one employee.
pub struct Derived {
    /// Employee database id.
    pub id: i64,
    /// Usage score.
    pub score: Option<f64>,
    /// Secondary ranking value.
    pub tiebreak: f64,
    /// Active days per month.
    pub active_days: Option<f64>,
    /// Gross AI hours per month.
    pub gross_hours: Option<f64>,
    /// Cohort.
    pub cohort: Cohort,
}

/// Writes the derived columns for a whole roster: bulk-load a temp table, then one UPDATE.
pub async fn write_derived(conn: &mut SqliteConnection, rows: &[Derived]) -> sqlx::Result<()> {
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS derived_usage (id INTEGER PRIMARY KEY, score REAL, tiebreak REAL,
           active_days REAL, gross REAL, cohort TEXT)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM derived_usage")
        .execute(&mut *conn)
        .await?;
    for chunk in rows.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO derived_usage (id, score, tiebreak, active_days, gross, cohort) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.id)
                .push_bind(r.score)
                .push_bind(r.tiebreak)
                .push_bind(r.active_days)
                .push_bind(r.gross_hours)
                .push_bind(r.cohort.as_str());
        });
        q.build().execute(&mut *conn).await?;
    }
    sqlx::query(
        "UPDATE employees SET usage_score = d.score, usage_tiebreak = d.tiebreak, active_days_month = d.active_days,
           gross_hours_month = d.gross, cohort = d.cohort
         FROM derived_usage d WHERE employees.id = d.id",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM derived_usage")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A stored draw.
#[derive(Clone, Debug, FromRow)]
pub struct DrawRow {
    /// Seed used.
    pub seed: i64,
    /// Main sample size asked for.
    pub n: i64,
    /// Minimum per cohort.
    pub min_per_cohort: i64,
    /// Pilot size asked for.
    pub pilot_n: i64,
    /// When.
    pub drawn_at: DateTime<Utc>,
    /// Who (email), if a person.
    pub who: Option<String>,
}

/// The study's current draw.
pub async fn draw<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Option<DrawRow>> {
    sqlx::query_as(
        "SELECT d.seed, d.n, d.min_per_cohort, d.pilot_n, d.drawn_at, u.email AS who FROM sample_draws d
         LEFT JOIN users u ON u.id = d.user_id WHERE d.study_id = ?",
    )
    .bind(study)
    .fetch_optional(db)
    .await
}

/// Removes the draw and its members.
pub async fn delete_draw(conn: &mut SqliteConnection, study: StudyId) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sample_members WHERE study_id = ?")
        .bind(study)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM sample_draws WHERE study_id = ?")
        .bind(study)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Stores a draw and its members (replacing any earlier one).
#[allow(clippy::too_many_arguments)]
pub async fn insert_draw(
    conn: &mut SqliteConnection,
    study: StudyId,
    seed: u64,
    n: usize,
    min_per_cohort: usize,
    pilot_n: usize,
    main: &[i64],
    pilot: &[i64],
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    delete_draw(conn, study).await?;
    // SQLite integers are signed: the seed is stored bit-for-bit.
    sqlx::query(
        "INSERT INTO sample_draws (study_id, seed, n, min_per_cohort, pilot_n, drawn_at, user_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(study)
    .bind(seed as i64)
    .bind(n as i64)
    .bind(min_per_cohort as i64)
    .bind(pilot_n as i64)
    .bind(now)
    .bind(user)
    .execute(&mut *conn)
    .await?;
    let members: Vec<(i64, SampleRole)> = main
        .iter()
        .map(|&k| (k, SampleRole::Main))
        .chain(pilot.iter().map(|&k| (k, SampleRole::Pilot)))
        .collect();
    for chunk in members.chunks(CHUNK) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO sample_members (study_id, employee, role) ");
        q.push_values(chunk, |mut b, (k, role)| {
            b.push_bind(study).push_bind(*k).push_bind(*role);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One sampled person: the employee's database id and the part of the sample.
#[derive(Clone, Copy, Debug, FromRow)]
pub struct MemberRow {
    /// Employee database id.
    pub employee: i64,
    /// Main sample or pilot.
    pub role: SampleRole,
}

/// Sample role per employee id.
pub async fn members<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<MemberRow>> {
    sqlx::query_as("SELECT employee, role FROM sample_members WHERE study_id = ?")
        .bind(study)
        .fetch_all(db)
        .await
}
