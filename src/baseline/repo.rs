//! SQL for the counterfactual baseline.
use crate::auth::UserId;
use crate::study::StudyId;
use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqliteExecutor};

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

/// (category, minutes, source) entered from records.
pub async fn historical<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<(String, f64, String)>> {
    sqlx::query_as("SELECT category, minutes, source FROM baseline_historical WHERE study_id = ? ORDER BY category")
        .bind(study)
        .fetch_all(db)
        .await
}

/// (expert, category, low, likely, high).
pub async fn experts<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<(String, String, f64, f64, f64)>> {
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

/// The control group: (invited, consented, tasks logged by the consented).
pub async fn control_counts<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<(i64, i64, i64)> {
    sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(p.consent = 'accepted'), 0),
           COALESCE(SUM(CASE WHEN p.consent = 'accepted'
             THEN (SELECT COUNT(*) FROM control_tasks t WHERE t.participant = p.id) ELSE 0 END), 0)
         FROM participants p WHERE p.study_id = ? AND p.arm = 'control'",
    )
    .bind(study)
    .fetch_one(db)
    .await
}
