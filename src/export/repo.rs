//! SQL for exports: the study's export key and the raw rows of the consented participants, each with
//! the employee id the service turns into a pseudonym.
use crate::study::StudyId;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

/// A diary task of the main sample.
#[derive(Clone, Debug, FromRow)]
pub struct DiaryRow {
    /// The participant's employee id (never exported as such).
    pub employee_id: String,
    /// When it was logged.
    pub created_at: DateTime<Utc>,
    /// The participant's time zone (IANA name).
    pub time_zone: String,
    /// When the participant joined (consented).
    pub joined_at: DateTime<Utc>,
    /// all / most / some / none.
    pub outcome: String,
    /// Task category.
    pub category: String,
    /// Minutes with AI.
    pub minutes_with_ai: i64,
    /// The participant's estimate without AI.
    pub minutes_without_ai: i64,
    /// Free text.
    pub description: String,
}

/// A delivered ping of the main sample, with its answer if any.
#[derive(Clone, Debug, FromRow)]
pub struct PingRow {
    /// The participant's employee id.
    pub employee_id: String,
    /// The participant's time zone (IANA name).
    pub time_zone: String,
    /// When the participant joined (consented).
    pub joined_at: DateTime<Utc>,
    /// When the ping was scheduled.
    pub due_at: DateTime<Utc>,
    /// When its email was sent.
    pub sent_at: DateTime<Utc>,
    /// When it was answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// yes / no / not_working.
    pub used_copilot: Option<String>,
    /// Verification minutes.
    pub verification_min: Option<i64>,
    /// Correction minutes.
    pub correction_min: Option<i64>,
    /// Context-reconstruction minutes.
    pub context_min: Option<i64>,
    /// Trust-calibration minutes.
    pub trust_min: Option<i64>,
    /// The answer deadline.
    pub expires_at: DateTime<Utc>,
}

/// A control-group task.
#[derive(Clone, Debug, FromRow)]
pub struct ControlRow {
    /// The participant's employee id.
    pub employee_id: String,
    /// When it was logged.
    pub created_at: DateTime<Utc>,
    /// The participant's time zone (IANA name).
    pub time_zone: String,
    /// When the participant joined (consented).
    pub joined_at: DateTime<Utc>,
    /// Task category.
    pub category: String,
    /// Minutes without AI.
    pub minutes: i64,
    /// Free text.
    pub description: String,
}

/// The study's export key, if one was made.
pub async fn key(conn: &mut SqliteConnection, study: StudyId) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT key FROM export_keys WHERE study_id = ?")
        .bind(study)
        .fetch_optional(conn)
        .await
}

/// Stores a study's new export key.
pub async fn insert_key(
    conn: &mut SqliteConnection,
    study: StudyId,
    key: &[u8],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO export_keys (study_id, key, created_at) VALUES (?, ?, ?)")
        .bind(study)
        .bind(key)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Diary tasks of the consented main sample, by participant and entry.
pub async fn diary<'e>(db: impl SqliteExecutor<'e>, study: StudyId) -> sqlx::Result<Vec<DiaryRow>> {
    sqlx::query_as(
        "SELECT e.employee_id, d.created_at, e.time_zone, COALESCE(p.consent_at, p.invited_at) AS joined_at, d.outcome, d.category, d.minutes_with_ai, d.minutes_without_ai, d.description
         FROM diary_entries d JOIN participants p ON p.id = d.participant JOIN employees e ON e.id = p.employee
         WHERE p.study_id = ? AND p.role = 'main' AND p.arm = 'copilot' AND p.consent = 'accepted'
         ORDER BY d.participant, d.id",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// Delivered pings of the consented main sample with their answers, by participant and slot.
pub async fn pings<'e>(db: impl SqliteExecutor<'e>, study: StudyId) -> sqlx::Result<Vec<PingRow>> {
    sqlx::query_as(
        "SELECT e.employee_id, e.time_zone, COALESCE(p.consent_at, p.invited_at) AS joined_at, g.due_at, g.sent_at, a.answered_at, a.used_copilot, a.verification_min, a.correction_min,
           a.context_min, a.trust_min, g.expires_at
         FROM pings g JOIN participants p ON p.id = g.participant JOIN employees e ON e.id = p.employee
         LEFT JOIN ping_answers a ON a.ping = g.id
         WHERE p.study_id = ? AND p.role = 'main' AND p.arm = 'copilot' AND p.consent = 'accepted'
           AND g.sent_at IS NOT NULL
         ORDER BY g.participant, g.slot",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// The consented control group's tasks, by participant and entry.
pub async fn control<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<ControlRow>> {
    sqlx::query_as(
        "SELECT e.employee_id, t.created_at, e.time_zone, COALESCE(p.consent_at, p.invited_at) AS joined_at, t.category, t.minutes, t.description
         FROM control_tasks t JOIN participants p ON p.id = t.participant JOIN employees e ON e.id = p.employee
         WHERE p.study_id = ? AND p.arm = 'control' AND p.consent = 'accepted' ORDER BY t.participant, t.id",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// A ping's answer window in minutes, if the study's collection settings were saved.
pub async fn window_minutes<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT expiry_minutes FROM collection_settings WHERE study_id = ?")
        .bind(study)
        .fetch_optional(db)
        .await
}
