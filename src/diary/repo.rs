//! SQL for diary entries and the control group's tasks.
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

/// A diary entry as stored.
#[derive(Clone, Debug, FromRow)]
pub struct DiaryRow {
    /// Id.
    pub id: i64,
    /// Category.
    pub category: String,
    /// Description.
    pub description: String,
    /// Outcome.
    pub outcome: String,
    /// Minutes with AI.
    pub minutes_with_ai: i64,
    /// Minutes without AI.
    pub minutes_without_ai: i64,
    /// Logged.
    pub created_at: DateTime<Utc>,
}

/// A participant's entries, newest first.
pub async fn diary<'e>(
    db: impl SqliteExecutor<'e>,
    participant: i64,
) -> sqlx::Result<Vec<DiaryRow>> {
    sqlx::query_as(
        "SELECT id, category, description, outcome, minutes_with_ai, minutes_without_ai, created_at
         FROM diary_entries WHERE participant = ? ORDER BY id DESC",
    )
    .bind(participant)
    .fetch_all(db)
    .await
}

/// Adds an entry.
pub async fn insert_diary(
    conn: &mut SqliteConnection,
    participant: i64,
    e: &super::DiaryEntry,
    version: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO diary_entries (participant, category, description, outcome, minutes_with_ai, minutes_without_ai,
           instrument_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(participant)
    .bind(&e.category)
    .bind(&e.description)
    .bind(e.outcome.as_str())
    .bind(e.minutes_with_ai)
    .bind(e.minutes_without_ai)
    .bind(version)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Changes an entry of this participant; false if it is not theirs.
pub async fn update_diary(
    conn: &mut SqliteConnection,
    participant: i64,
    id: i64,
    e: &super::DiaryEntry,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE diary_entries SET category = ?, description = ?, outcome = ?, minutes_with_ai = ?, minutes_without_ai = ?,
           updated_at = ? WHERE id = ? AND participant = ?",
    )
    .bind(&e.category)
    .bind(&e.description)
    .bind(e.outcome.as_str())
    .bind(e.minutes_with_ai)
    .bind(e.minutes_without_ai)
    .bind(now)
    .bind(id)
    .bind(participant)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A control-group task as its author sees it.
#[derive(Clone, Debug, FromRow)]
pub struct ControlTaskRow {
    /// Id.
    pub id: i64,
    /// Category.
    pub category: String,
    /// Description.
    pub description: String,
    /// Minutes.
    pub minutes: i64,
    /// Logged.
    pub created_at: DateTime<Utc>,
}

/// A control participant's tasks, newest first.
pub async fn control_tasks<'e>(
    db: impl SqliteExecutor<'e>,
    participant: i64,
) -> sqlx::Result<Vec<ControlTaskRow>> {
    sqlx::query_as(
        "SELECT id, category, description, minutes, created_at FROM control_tasks WHERE participant = ? ORDER BY id DESC",
    )
    .bind(participant)
    .fetch_all(db)
    .await
}

/// Adds (`id` None) or changes one of this participant's control tasks; false if the task is not theirs.
pub async fn save_control_task(
    conn: &mut SqliteConnection,
    participant: i64,
    id: Option<i64>,
    t: &super::ControlTask,
    version: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r = match id {
        None => {
            sqlx::query(
                "INSERT INTO control_tasks (participant, category, description, minutes, instrument_version, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(participant)
            .bind(&t.category)
            .bind(&t.description)
            .bind(t.minutes)
            .bind(version)
            .bind(now)
            .bind(now)
            .execute(conn)
            .await?
        }
        Some(id) => {
            sqlx::query(
                "UPDATE control_tasks SET category = ?, description = ?, minutes = ?, updated_at = ?
                 WHERE id = ? AND participant = ?",
            )
            .bind(&t.category)
            .bind(&t.description)
            .bind(t.minutes)
            .bind(now)
            .bind(id)
            .bind(participant)
            .execute(conn)
            .await?
        }
    };
    Ok(r.rows_affected() == 1)
}
