//! SQL for the cost per unit: the unit, the entered stack lines, the outcome classes with their DAPM
//! record, and the diary's minutes by whether the output was used.
use super::{Class, Line};
use crate::auth::UserId;
use crate::study::StudyId;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

/// A study's unit of value as stored.
#[derive(Clone, Debug, FromRow)]
pub struct UnitRow {
    /// The unit's name ("resolved case").
    pub unit: String,
    /// Units produced per month by the studied population.
    pub units_per_month: f64,
    /// Where that count comes from.
    pub units_source: String,
    /// Cost per unit before AI; `None`: derived from the baseline.
    pub before_per_unit: Option<f64>,
    /// Where the entered cost before AI comes from (empty when derived).
    pub before_source: String,
}

/// An entered stack line.
#[derive(Clone, Debug, FromRow)]
pub struct LineRow {
    /// Which line.
    pub line: Line,
    /// Monthly amount.
    pub monthly: f64,
    /// Its source.
    pub source: String,
}

/// A category's class.
#[derive(Clone, Debug, FromRow)]
pub struct ClassRow {
    /// Task category.
    pub category: String,
    /// Claimed class.
    pub class: Class,
    /// One line on why.
    pub reason: String,
}

/// One recorded DAPM condition.
#[derive(Clone, Debug, FromRow)]
pub struct ConditionRow {
    /// Task category.
    pub category: String,
    /// 1, 2 or 3.
    pub condition: i64,
    /// Recorded as met.
    pub met: bool,
    /// Who confirmed it.
    pub confirmed_by: String,
    /// The evidence.
    pub evidence: String,
}

/// The study's unit, if entered.
pub async fn unit<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Option<UnitRow>> {
    sqlx::query_as(
        "SELECT unit, units_per_month, units_source, before_per_unit, before_source
         FROM tco_units WHERE study_id = ?",
    )
    .bind(study)
    .fetch_optional(db)
    .await
}

/// Sets (or replaces) the study's unit.
pub async fn set_unit(
    conn: &mut SqliteConnection,
    study: StudyId,
    u: &UnitRow,
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO tco_units (study_id, unit, units_per_month, units_source, before_per_unit,
           before_source, updated_by, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (study_id) DO UPDATE SET unit = excluded.unit,
           units_per_month = excluded.units_per_month, units_source = excluded.units_source,
           before_per_unit = excluded.before_per_unit, before_source = excluded.before_source,
           updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(study)
    .bind(&u.unit)
    .bind(u.units_per_month)
    .bind(&u.units_source)
    .bind(u.before_per_unit)
    .bind(&u.before_source)
    .bind(user)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The study's entered lines.
pub async fn lines<'e>(db: impl SqliteExecutor<'e>, study: StudyId) -> sqlx::Result<Vec<LineRow>> {
    sqlx::query_as("SELECT line, monthly, source FROM tco_lines WHERE study_id = ? ORDER BY line")
        .bind(study)
        .fetch_all(db)
        .await
}

/// Sets (or replaces) an entered line.
pub async fn set_line(
    conn: &mut SqliteConnection,
    study: StudyId,
    l: &LineRow,
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO tco_lines (study_id, line, monthly, source, updated_by, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (study_id, line) DO UPDATE SET monthly = excluded.monthly,
           source = excluded.source, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(study)
    .bind(l.line)
    .bind(l.monthly)
    .bind(&l.source)
    .bind(user)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes an entered line (the work itself then comes from the diary); whether there was one.
pub async fn clear_line(
    conn: &mut SqliteConnection,
    study: StudyId,
    line: Line,
) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM tco_lines WHERE study_id = ? AND line = ?")
        .bind(study)
        .bind(line)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The study's outcome classes, by category.
pub async fn classes<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<ClassRow>> {
    sqlx::query_as(
        "SELECT category, class, reason FROM tco_classes WHERE study_id = ? ORDER BY category",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// The study's recorded DAPM conditions.
pub async fn conditions<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<ConditionRow>> {
    sqlx::query_as(
        "SELECT category, condition, met, confirmed_by, evidence FROM tco_dapm
         WHERE study_id = ? ORDER BY category, condition",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// Sets a category's class and replaces its DAPM record with `conditions` (none for acceleration).
pub async fn set_class(
    conn: &mut SqliteConnection,
    study: StudyId,
    c: &ClassRow,
    conditions: &[ConditionRow],
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO tco_classes (study_id, category, class, reason, updated_by, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (study_id, category) DO UPDATE SET class = excluded.class,
           reason = excluded.reason, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(study)
    .bind(&c.category)
    .bind(c.class)
    .bind(&c.reason)
    .bind(user)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM tco_dapm WHERE study_id = ? AND category = ?")
        .bind(study)
        .bind(&c.category)
        .execute(&mut *conn)
        .await?;
    for d in conditions {
        sqlx::query(
            "INSERT INTO tco_dapm (study_id, category, condition, met, confirmed_by, evidence)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(study)
        .bind(&d.category)
        .bind(d.condition)
        .bind(d.met)
        .bind(&d.confirmed_by)
        .bind(&d.evidence)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The main sample's mean minutes with AI per diary task, for output used (`all`/`most`) and not
/// (`some`/`none`), each with how many people its tasks come from; the pilot and the control group are
/// kept apart.
pub async fn diary_minutes<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<(Option<f64>, i64, Option<f64>, i64)> {
    sqlx::query_as(
        "SELECT AVG(CASE WHEN d.outcome IN ('all', 'most') THEN CAST(d.minutes_with_ai AS REAL) END),
                COUNT(DISTINCT CASE WHEN d.outcome IN ('all', 'most') THEN d.participant END),
                AVG(CASE WHEN d.outcome IN ('some', 'none') THEN CAST(d.minutes_with_ai AS REAL) END),
                COUNT(DISTINCT CASE WHEN d.outcome IN ('some', 'none') THEN d.participant END)
         FROM diary_entries d JOIN participants p ON p.id = d.participant
         WHERE p.study_id = ? AND p.role = 'main' AND p.arm = 'copilot'",
    )
    .bind(study)
    .fetch_one(db)
    .await
}
