//! Who may be due a diary reminder: the candidates the tick judges, and the ones the demo's clock looks
//! ahead to.
use super::*;

/// A consented participant who may need a diary reminder.
pub struct ReminderCandidate {
    /// The participant.
    pub participant: ParticipantRow,
    /// Entries logged.
    pub logged: i64,
    /// The target.
    pub target: i64,
    /// Days between reminders.
    pub reminder_days: i64,
    /// When they consented.
    pub consent_at: DateTime<Utc>,
    /// Last reminder.
    pub last_reminder_at: Option<DateTime<Utc>>,
    /// The study's working window, HH:MM (reminders are sent inside it, on working days).
    pub window: (String, String),
}

#[derive(FromRow)]
struct CandidateRow {
    #[sqlx(flatten)]
    participant: ParticipantRow,
    logged: i64,
    target: i64,
    reminder_days: i64,
    consent_at: DateTime<Utc>,
    last_reminder_at: Option<DateTime<Utc>>,
    window_start: String,
    window_end: String,
}

/// Consented, not withdrawn participants of a study in their phase (pilot or collection), with their
/// counts: who may get a reminder. `reminders_due` narrows it; the demo's replay reads it whole.
const REMINDER_CANDIDATES: &str = "SELECT p.id, p.study_id, s.name AS study_name, s.status AS study_status, p.role, p.arm, e.email, e.time_zone,
       p.consent, p.withdrawn_at, p.diary_opens_on, p.diary_closes_on, NULL AS link_ping,
       (SELECT COUNT(*) FROM diary_entries d WHERE d.participant = p.id)
         + (SELECT COUNT(*) FROM control_tasks t WHERE t.participant = p.id) AS logged,
       c.diary_target AS target, c.reminder_days, p.consent_at, p.last_reminder_at, c.window_start, c.window_end
     FROM participants p JOIN employees e ON e.id = p.employee JOIN studies s ON s.id = p.study_id
     JOIN collection_settings c ON c.study_id = p.study_id
     WHERE p.consent = 'accepted' AND p.withdrawn_at IS NULL
       AND ((p.role = 'pilot' AND s.status = 'pilot') OR (p.role = 'main' AND s.status = 'collection'))";

fn candidates(rows: Vec<CandidateRow>) -> Vec<ReminderCandidate> {
    rows.into_iter()
        .map(|r| ReminderCandidate {
            participant: r.participant,
            logged: r.logged,
            target: r.target,
            reminder_days: r.reminder_days,
            consent_at: r.consent_at,
            last_reminder_at: r.last_reminder_at,
            window: (r.window_start, r.window_end),
        })
        .collect()
}

/// The participants who may be due a reminder at `now`, with their counts. The caller decides (in the
/// person's time zone: diary window, target, interval, working hours); this query only leaves out,
/// conservatively, those who cannot be due, so that a tick does not count every participant's diary:
/// a diary window that does not touch the UTC days around `now` (a local date is at most one day off),
/// and a last reminder (or the consent) more recent than the study's interval, with a second of slack.
pub async fn reminders_due(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<ReminderCandidate>> {
    let utc_today = now.date_naive();
    let sql = format!(
        "{REMINDER_CANDIDATES} AND p.consent_at < ?1
           AND p.diary_opens_on <= ?2 AND p.diary_closes_on >= ?3
           AND IFNULL(julianday(COALESCE(p.last_reminder_at, p.consent_at)) + MAX(c.reminder_days, 1), 0)
               <= julianday(?1) + 1.0 / 86400"
    );
    let rows: Vec<CandidateRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(utc_today + chrono::Duration::days(1))
        .bind(utc_today - chrono::Duration::days(1))
        .fetch_all(conn)
        .await?;
    Ok(candidates(rows))
}

/// Every participant who may get a reminder after `after` (see [`REMINDER_CANDIDATES`]): under the
/// target, with a diary window that has not closed by then (a local date is at most a day behind UTC's).
pub async fn reminder_candidates(
    conn: &mut SqliteConnection,
    after: DateTime<Utc>,
) -> sqlx::Result<Vec<ReminderCandidate>> {
    let sql = format!(
        "SELECT * FROM ({REMINDER_CANDIDATES} AND p.diary_closes_on >= ?) WHERE logged < target"
    );
    let rows: Vec<CandidateRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(after.date_naive() - chrono::Duration::days(1))
        .fetch_all(conn)
        .await?;
    Ok(candidates(rows))
}
