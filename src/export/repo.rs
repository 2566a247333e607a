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

/// A participant whose rows an export carries: the row id and the employee id (never exported as such).
#[derive(Clone, Debug, FromRow)]
pub struct Member {
    /// participants.id
    pub id: i64,
    /// The employee id the pseudonym is made from.
    pub employee_id: String,
}

/// The consented main sample (copilot arm): whose diary tasks and pings an export carries.
pub async fn main_sample<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<Member>> {
    sqlx::query_as(
        "SELECT p.id, e.employee_id FROM participants p JOIN employees e ON e.id = p.employee
         WHERE p.study_id = ? AND p.role = 'main' AND p.arm = 'copilot' AND p.consent = 'accepted'",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// The consented control group: whose control tasks an export carries.
pub async fn control_group<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<Member>> {
    sqlx::query_as(
        "SELECT p.id, e.employee_id FROM participants p JOIN employees e ON e.id = p.employee
         WHERE p.study_id = ? AND p.arm = 'control' AND p.consent = 'accepted'",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

// The row queries below read a slice of participants, given as a JSON array of participants.id in the
// order the file lists them (`json_each`: one static statement whatever the slice's length), each
// participant's rows in time order: an export streams slice after slice and never holds every row.
// `CROSS JOIN` keeps the slice's list as the outer loop: with a plain JOIN, SQLite 3.51 chose to walk the
// study's participants by index and re-read the JSON list for every row (quadratic: one run of the
// 25,000-participant export bench had not finished after 9 minutes).

/// Diary tasks of some participants, in the order given, each participant's by entry.
pub async fn diary<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
    participants: &str,
) -> sqlx::Result<Vec<DiaryRow>> {
    sqlx::query_as(
        "SELECT e.employee_id, d.created_at, e.time_zone, COALESCE(p.consent_at, p.invited_at) AS joined_at, d.outcome, d.category, d.minutes_with_ai, d.minutes_without_ai, d.description
         FROM json_each(?) j CROSS JOIN participants p ON p.id = j.value JOIN employees e ON e.id = p.employee
           JOIN diary_entries d ON d.participant = p.id
         WHERE p.study_id = ?
         ORDER BY j.key, d.id",
    )
    .bind(participants)
    .bind(study)
    .fetch_all(db)
    .await
}

/// Delivered pings of some participants with their answers, in the order given, each participant's by slot.
pub async fn pings<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
    participants: &str,
) -> sqlx::Result<Vec<PingRow>> {
    sqlx::query_as(
        "SELECT e.employee_id, e.time_zone, COALESCE(p.consent_at, p.invited_at) AS joined_at, g.due_at, g.sent_at, a.answered_at, a.used_copilot, a.verification_min, a.correction_min,
           a.context_min, a.trust_min, g.expires_at
         FROM json_each(?) j CROSS JOIN participants p ON p.id = j.value JOIN employees e ON e.id = p.employee
           JOIN pings g ON g.participant = p.id
           LEFT JOIN ping_answers a ON a.ping = g.id
         WHERE p.study_id = ? AND g.sent_at IS NOT NULL
         ORDER BY j.key, g.slot",
    )
    .bind(participants)
    .bind(study)
    .fetch_all(db)
    .await
}

/// Control-group tasks of some participants, in the order given, each participant's by entry.
pub async fn control<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
    participants: &str,
) -> sqlx::Result<Vec<ControlRow>> {
    sqlx::query_as(
        "SELECT e.employee_id, t.created_at, e.time_zone, COALESCE(p.consent_at, p.invited_at) AS joined_at, t.category, t.minutes, t.description
         FROM json_each(?) j CROSS JOIN participants p ON p.id = j.value JOIN employees e ON e.id = p.employee
           JOIN control_tasks t ON t.participant = p.id
         WHERE p.study_id = ?
         ORDER BY j.key, t.id",
    )
    .bind(participants)
    .bind(study)
    .fetch_all(db)
    .await
}

/// How many raw rows (diary tasks, delivered pings, control tasks) a study's export carries at most.
pub async fn raw_rows<'e>(db: impl SqliteExecutor<'e>, study: StudyId) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM diary_entries d JOIN participants p ON p.id = d.participant WHERE p.study_id = ?1)
              + (SELECT COUNT(*) FROM pings g JOIN participants p ON p.id = g.participant WHERE p.study_id = ?1 AND g.sent_at IS NOT NULL)
              + (SELECT COUNT(*) FROM control_tasks t JOIN participants p ON p.id = t.participant WHERE p.study_id = ?1)",
    )
    .bind(study)
    .fetch_one(db)
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
