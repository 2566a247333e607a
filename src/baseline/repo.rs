//! SQL for the counterfactual baseline.
use crate::auth::UserId;
use crate::study::StudyId;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

/// A category's minutes from the organisation's records.
#[derive(Clone, Debug, FromRow)]
pub struct HistoricalRow {
    /// Task category.
    pub category: String,
    /// Minutes per task before AI.
    pub minutes: f64,
    /// Where the figure comes from.
    pub source: String,
}

/// One named expert's estimate for a category.
#[derive(Clone, Debug, FromRow)]
pub struct ExpertRow {
    /// The expert's name.
    pub expert: String,
    /// Task category.
    pub category: String,
    /// Lowest plausible minutes.
    pub low: f64,
    /// Most likely minutes.
    pub likely: f64,
    /// Highest plausible minutes.
    pub high: f64,
}

/// The control group's size and work.
#[derive(Clone, Copy, Debug, FromRow, serde::Serialize, serde::Deserialize)]
pub struct ControlCounts {
    /// Invited.
    pub invited: i64,
    /// Consented.
    pub accepted: i64,
    /// Tasks logged by the consented.
    pub tasks: i64,
}

/// Sets (or replaces) a category's historical minutes and their source.
pub async fn set_historical(
    conn: &mut SqliteConnection,
    study: StudyId,
    category: &str,
    minutes: f64,
    source: &str,
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO baseline_historical (study_id, category, minutes, source, entered_by, entered_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (study_id, category) DO UPDATE SET minutes = excluded.minutes, source = excluded.source,
           entered_by = excluded.entered_by, entered_at = excluded.entered_at",
    )
    .bind(study)
    .bind(category)
    .bind(minutes)
    .bind(source)
    .bind(user)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a category's historical minutes; returns whether there was an entry.
pub async fn delete_historical(
    conn: &mut SqliteConnection,
    study: StudyId,
    category: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM baseline_historical WHERE study_id = ? AND category = ?")
        .bind(study)
        .bind(category)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Deletes one expert's estimate for a category; returns whether there was an entry.
pub async fn delete_expert(
    conn: &mut SqliteConnection,
    study: StudyId,
    expert: &str,
    category: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "DELETE FROM baseline_expert WHERE study_id = ? AND expert = ? AND category = ?",
    )
    .bind(study)
    .bind(expert)
    .bind(category)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Sets (or replaces) one expert's estimate for a category.
#[allow(clippy::too_many_arguments)]
pub async fn set_expert(
    conn: &mut SqliteConnection,
    study: StudyId,
    expert: &str,
    category: &str,
    (low, likely, high): (f64, f64, f64),
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO baseline_expert (study_id, expert, category, low, likely, high, entered_by, entered_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (study_id, expert, category) DO UPDATE SET low = excluded.low, likely = excluded.likely,
           high = excluded.high, entered_by = excluded.entered_by, entered_at = excluded.entered_at",
    )
    .bind(study)
    .bind(expert)
    .bind(category)
    .bind(low)
    .bind(likely)
    .bind(high)
    .bind(user)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Minutes entered from records, by category.
pub async fn historical<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<HistoricalRow>> {
    sqlx::query_as("SELECT category, minutes, source FROM baseline_historical WHERE study_id = ? ORDER BY category")
        .bind(study)
        .fetch_all(db)
        .await
}

/// Expert estimates, by category and expert.
pub async fn experts<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<ExpertRow>> {
    sqlx::query_as(
        "SELECT expert, category, low, likely, high FROM baseline_expert WHERE study_id = ? ORDER BY category, expert",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// (category, participant, minutes with AI, estimate without) of the main sample's diary tasks (the pilot
/// is kept apart).
pub async fn diary_pairs<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<(String, i64, f64, f64)>> {
    sqlx::query_as(
        "SELECT d.category, d.participant, CAST(d.minutes_with_ai AS REAL), CAST(d.minutes_without_ai AS REAL)
         FROM diary_entries d JOIN participants p ON p.id = d.participant
         WHERE p.study_id = ? AND p.role = 'main' AND p.arm = 'copilot'",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// (category, participant, minutes) of the control group's tasks (consented participants; what someone logged before withdrawing stays, as in the main sample).
pub async fn control_tasks<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<(String, i64, f64)>> {
    sqlx::query_as(
        "SELECT t.category, t.participant, CAST(t.minutes AS REAL)
         FROM control_tasks t JOIN participants p ON p.id = t.participant
         WHERE p.study_id = ? AND p.arm = 'control' AND p.consent = 'accepted'",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// The control group: invited, consented, tasks logged by the consented.
pub async fn control_counts<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<ControlCounts> {
    sqlx::query_as(
        "SELECT COUNT(*) AS invited, COALESCE(SUM(p.consent = 'accepted'), 0) AS accepted,
           COALESCE(SUM(CASE WHEN p.consent = 'accepted'
             THEN (SELECT COUNT(*) FROM control_tasks t WHERE t.participant = p.id) ELSE 0 END), 0) AS tasks
         FROM participants p WHERE p.study_id = ? AND p.arm = 'control'",
    )
    .bind(study)
    .fetch_one(db)
    .await
}
