//! SQL for the audit log (insert and page; triggers refuse UPDATE and DELETE).
use super::Actor;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection, SqlitePool};

/// One audit entry.
#[derive(Clone, Debug, FromRow)]
pub struct AuditRow {
    /// Sequence number.
    pub id: i64,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What kind of action, e.g. `study.create`.
    pub action: String,
    /// The study concerned.
    pub study_id: Option<i64>,
    /// Details in words.
    pub detail: String,
}

/// Appends one entry.
pub async fn record(
    conn: &mut SqliteConnection,
    at: DateTime<Utc>,
    actor: &Actor,
    action: &str,
    study_id: Option<i64>,
    detail: &str,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO audit_log (at, user_id, actor, action, study_id, detail) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(at)
        .bind(actor.user_id)
        .bind(&actor.label)
        .bind(action)
        .bind(study_id)
        .bind(detail)
        .execute(conn)
        .await?;
    Ok(())
}

/// The newest entries first, `limit` at a time, before entry id `before` (for paging).
pub async fn list(
    pool: &SqlitePool,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<AuditRow>> {
    sqlx::query_as(
        "SELECT id, at, actor, action, study_id, detail FROM audit_log
         WHERE id < ? ORDER BY id DESC LIMIT ?",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await
}
