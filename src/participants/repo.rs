//! SQL for collection settings, instruments, participants, links, consent and reminders.
use super::{Arm, ConsentEvent, Decision, Group};
use crate::study::StudyId;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

mod erasure;
mod reminders;
pub use erasure::*;
pub use reminders::*;

/// Per-study collection settings.
#[derive(Clone, Debug, FromRow)]
pub struct SettingsRow {
    /// Pings per working day.
    pub pings_per_day: i64,
    /// Local window start, HH:MM.
    pub window_start: String,
    /// Local window end, HH:MM.
    pub window_end: String,
    /// Minimum minutes between pings.
    pub min_gap_minutes: i64,
    /// Calendar days of the ping week.
    pub ping_days: i64,
    /// Minutes a ping stays answerable.
    pub expiry_minutes: i64,
    /// Diary entries asked for.
    pub diary_target: i64,
    /// Calendar days the diary stays open.
    pub diary_days: i64,
    /// Days between reminders to participants under target.
    pub reminder_days: i64,
    /// Seed of every participant's ping schedule.
    pub schedule_seed: i64,
}

/// The study's settings, created with defaults (and a fresh seed) on first use. Read first: the insert is
/// needed once per study, and every participant page reads the settings.
pub async fn settings(conn: &mut SqliteConnection, study: StudyId) -> sqlx::Result<SettingsRow> {
    const READ: &str = "SELECT pings_per_day, window_start, window_end, min_gap_minutes, ping_days, expiry_minutes,
           diary_target, diary_days, reminder_days, schedule_seed FROM collection_settings WHERE study_id = ?";
    if let Some(row) = sqlx::query_as(READ)
        .bind(study)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(row);
    }
    sqlx::query("INSERT INTO collection_settings (study_id, schedule_seed) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(study)
        .bind(rand::random::<u32>() as i64)
        .execute(&mut *conn)
        .await?;
    sqlx::query_as(READ).bind(study).fetch_one(conn).await
}

/// The current instrument wording.
#[derive(Clone, Debug, FromRow)]
pub struct InstrumentRow {
    /// Version number.
    pub version: i64,
    /// Consent text.
    pub consent_text: String,
    /// JSON array of task categories.
    pub categories: String,
    /// When it was frozen (collection started).
    pub frozen_at: Option<DateTime<Utc>>,
}

impl InstrumentRow {
    /// The task categories.
    pub fn categories(&self) -> Vec<String> {
        serde_json::from_str(&self.categories).unwrap_or_default()
    }
}

/// The latest instrument version of a study.
pub async fn instrument<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Option<InstrumentRow>> {
    sqlx::query_as(
        "SELECT version, consent_text, categories, frozen_at FROM instrument_versions
         WHERE study_id = ? ORDER BY version DESC LIMIT 1",
    )
    .bind(study)
    .fetch_optional(db)
    .await
}

/// Adds an instrument version.
pub async fn insert_instrument(
    conn: &mut SqliteConnection,
    study: StudyId,
    version: i64,
    consent: &str,
    categories: &[String],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO instrument_versions (study_id, version, consent_text, categories, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(study)
    .bind(version)
    .bind(consent)
    .bind(serde_json::to_string(categories).unwrap_or_else(|_| "[]".into()))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Freezes the latest instrument version (collection has started).
pub async fn freeze_instrument(
    conn: &mut SqliteConnection,
    study: StudyId,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE instrument_versions SET frozen_at = ? WHERE study_id = ? AND frozen_at IS NULL
           AND version = (SELECT MAX(version) FROM instrument_versions WHERE study_id = ?)",
    )
    .bind(now)
    .bind(study)
    .bind(study)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sample members of a role not invited yet: (employee id, email).
pub async fn uninvited(
    conn: &mut SqliteConnection,
    study: StudyId,
    role: Group,
) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT e.id, e.email FROM sample_members m JOIN employees e ON e.id = m.employee
         WHERE m.study_id = ? AND m.role = ? AND m.invited_at IS NULL ORDER BY e.employee_id",
    )
    .bind(study)
    .bind(role)
    .fetch_all(conn)
    .await
}

/// Creates a participant and marks the sample member invited; returns the participant id.
pub async fn insert_participant(
    conn: &mut SqliteConnection,
    study: StudyId,
    employee: i64,
    role: Group,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query("UPDATE sample_members SET invited_at = ? WHERE study_id = ? AND employee = ?")
        .bind(now)
        .bind(study)
        .bind(employee)
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar("INSERT INTO participants (study_id, employee, role, invited_at) VALUES (?, ?, ?, ?) RETURNING id")
        .bind(study)
        .bind(employee)
        .bind(role)
        .bind(now)
        .fetch_one(conn)
        .await
}

/// Stores a link token's hash.
pub async fn insert_link(
    conn: &mut SqliteConnection,
    token_hash: &str,
    participant: i64,
    ping: Option<i64>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO link_tokens (token_hash, participant, ping, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
        .bind(token_hash)
        .bind(participant)
        .bind(ping)
        .bind(now)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// What a page link's expiry depends on.
#[derive(Clone, Debug, FromRow)]
pub struct LinkHorizon {
    /// Consented (their diary and ping week are laid out).
    pub consented: bool,
    /// Last diary day (local).
    pub diary_closes_on: Option<NaiveDate>,
    /// The participant's IANA time zone.
    pub time_zone: String,
    /// The end of their last ping's answer window.
    pub last_ping_closes: Option<DateTime<Utc>>,
    /// The last day of the study's collection phase (study time).
    pub collection_ends_on: Option<NaiveDate>,
    /// The study's IANA time zone.
    pub study_time_zone: String,
}

/// A participant's dates that bound their page links.
pub async fn link_horizon(
    conn: &mut SqliteConnection,
    participant: i64,
) -> sqlx::Result<Option<LinkHorizon>> {
    sqlx::query_as(
        "SELECT COALESCE(p.consent = 'accepted', 0) AS consented, p.diary_closes_on, e.time_zone,
           (SELECT MAX(g.expires_at) FROM pings g WHERE g.participant = p.id) AS last_ping_closes,
           (SELECT sp.ends_on FROM study_phases sp WHERE sp.study_id = p.study_id AND sp.phase = 'collection')
             AS collection_ends_on,
           s.time_zone AS study_time_zone
         FROM participants p JOIN employees e ON e.id = p.employee JOIN studies s ON s.id = p.study_id
         WHERE p.id = ?",
    )
    .bind(participant)
    .fetch_optional(conn)
    .await
}

/// Participants of a study who have not consented (invited, or declined).
pub async fn unconsented(conn: &mut SqliteConnection, study: StudyId) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM participants WHERE study_id = ? AND (consent IS NULL OR consent <> 'accepted')",
    )
    .bind(study)
    .fetch_all(conn)
    .await
}

/// Gives every page link (not a ping link) of a participant a new expiry.
pub async fn redate_page_links(
    conn: &mut SqliteConnection,
    participant: i64,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE link_tokens SET expires_at = ? WHERE participant = ? AND ping IS NULL")
        .bind(expires_at)
        .bind(participant)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets links that expired before `before` (an expired link opens nothing; its hash is clutter).
pub async fn delete_expired_links<'e>(
    db: impl SqliteExecutor<'e>,
    before: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let r = sqlx::query("DELETE FROM link_tokens WHERE expires_at IS NULL OR expires_at <= ?")
        .bind(before)
        .execute(db)
        .await?;
    Ok(r.rows_affected())
}

/// A participant as a magic link sees them.
#[derive(Clone, Debug, FromRow)]
pub struct ParticipantRow {
    /// Participant id.
    pub id: i64,
    /// Study.
    pub study_id: StudyId,
    /// Study name.
    pub study_name: String,
    /// Study status.
    pub study_status: String,
    /// Main sample or pilot group.
    pub role: Group,
    /// With the copilot, or the control group of Instrument C (no pings, a minutes-only diary).
    pub arm: Arm,
    /// Employee's email (for outgoing mail only; never shown to analysts).
    pub email: String,
    /// Employee's IANA time zone.
    pub time_zone: String,
    /// Accepted, declined, or none yet.
    pub consent: Option<Decision>,
    /// Withdrawn.
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// First diary day (local).
    pub diary_opens_on: Option<NaiveDate>,
    /// Last diary day (local).
    pub diary_closes_on: Option<NaiveDate>,
    /// The ping this link was sent for, if any.
    pub link_ping: Option<i64>,
}

impl ParticipantRow {
    /// The participant's time zone.
    pub fn tz(&self) -> chrono_tz::Tz {
        crate::clock::zone(&self.time_zone)
    }

    /// Whether they consented.
    pub fn accepted(&self) -> bool {
        self.consent == Some(Decision::Accepted)
    }
}

/// Looks a link up by its token hash; an expired link (or one without an expiry) is not found.
pub async fn by_link<'e>(
    db: impl SqliteExecutor<'e>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<ParticipantRow>> {
    sqlx::query_as(
        "SELECT p.id, p.study_id, s.name AS study_name, s.status AS study_status, p.role, p.arm, e.email, e.time_zone,
           p.consent, p.withdrawn_at, p.diary_opens_on, p.diary_closes_on, l.ping AS link_ping
         FROM link_tokens l JOIN participants p ON p.id = l.participant JOIN employees e ON e.id = p.employee
         JOIN studies s ON s.id = p.study_id
         WHERE l.token_hash = ? AND l.expires_at > ?",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Records a consent decision (and its event).
#[allow(clippy::too_many_arguments)]
pub async fn set_consent(
    conn: &mut SqliteConnection,
    participant: i64,
    decision: Decision,
    version: i64,
    now: DateTime<Utc>,
    diary_opens: Option<NaiveDate>,
    diary_closes: Option<NaiveDate>,
) -> sqlx::Result<bool> {
    // The conditions make a double submit or a race with a withdrawal a no-op instead of a second decision.
    let r = sqlx::query(
        "UPDATE participants SET consent = ?, consent_at = ?, consent_version = ?, diary_opens_on = ?, diary_closes_on = ?
         WHERE id = ? AND withdrawn_at IS NULL AND (consent IS NULL OR consent <> 'accepted')",
    )
    .bind(decision)
    .bind(now)
    .bind(version)
    .bind(diary_opens)
    .bind(diary_closes)
    .bind(participant)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    consent_event(conn, participant, decision.into(), version, now).await?;
    Ok(true)
}

/// Appends to the consent history.
pub async fn consent_event(
    conn: &mut SqliteConnection,
    participant: i64,
    event: ConsentEvent,
    version: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO consent_events (participant, event, text_version, at) VALUES (?, ?, ?, ?)",
    )
    .bind(participant)
    .bind(event)
    .bind(version)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Withdraws: no more pings from the next tick on (scheduled ones are cancelled now).
pub async fn withdraw(
    conn: &mut SqliteConnection,
    participant: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE participants SET withdrawn_at = ? WHERE id = ? AND withdrawn_at IS NULL",
    )
    .bind(now)
    .bind(participant)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Invitation and consent counts of a study.
#[derive(Clone, Debug, Default, FromRow)]
pub struct Counts {
    /// Invited.
    pub invited: i64,
    /// Consented.
    pub accepted: i64,
    /// Declined.
    pub declined: i64,
    /// Withdrawn.
    pub withdrawn: i64,
}

/// Counts for the overview.
pub async fn counts<'e>(db: impl SqliteExecutor<'e>, study: StudyId) -> sqlx::Result<Counts> {
    sqlx::query_as(
        "SELECT COUNT(*) AS invited, COALESCE(SUM(consent = 'accepted'), 0) AS accepted,
           COALESCE(SUM(consent = 'declined'), 0) AS declined, COALESCE(SUM(withdrawn_at IS NOT NULL), 0) AS withdrawn
         FROM participants WHERE study_id = ?",
    )
    .bind(study)
    .fetch_one(db)
    .await
}

/// One participant's line on the compliance dashboard.
#[derive(Clone, Debug, FromRow)]
pub struct ComplianceRow {
    /// Participant id.
    pub id: i64,
    /// Pseudonymous employee id.
    pub employee_id: String,
    /// Email (shown to admins only).
    pub email: String,
    /// Cohort.
    pub cohort: Option<String>,
    /// Main sample or pilot group.
    pub role: Group,
    /// With the copilot or the control group.
    pub arm: Arm,
    /// Accepted, declined, or none yet.
    pub consent: Option<Decision>,
    /// Withdrawn.
    pub withdrawn: bool,
    /// Diary entries.
    pub diary: i64,
    /// Pings delivered (sent, answered or missed after sending).
    pub delivered: i64,
    /// Pings answered.
    pub answered: i64,
    /// Pings missed after delivery.
    pub missed: i64,
}

/// Every participant of a study with their counts.
pub async fn compliance<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<ComplianceRow>> {
    sqlx::query_as(
        "SELECT p.id, e.employee_id, e.email, e.cohort, p.role, p.arm, p.consent, p.withdrawn_at IS NOT NULL AS withdrawn,
           (SELECT COUNT(*) FROM diary_entries d WHERE d.participant = p.id)
             + (SELECT COUNT(*) FROM control_tasks t WHERE t.participant = p.id) AS diary,
           (SELECT COUNT(*) FROM pings g WHERE g.participant = p.id AND g.sent_at IS NOT NULL) AS delivered,
           (SELECT COUNT(*) FROM pings g WHERE g.participant = p.id AND g.status = 'answered') AS answered,
           (SELECT COUNT(*) FROM pings g WHERE g.participant = p.id AND g.status = 'missed' AND g.sent_at IS NOT NULL) AS missed
         FROM participants p JOIN employees e ON e.id = p.employee
         WHERE p.study_id = ? ORDER BY e.employee_id",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// Someone an admin may still write to.
#[derive(Clone, Debug, FromRow)]
pub struct Contact {
    /// Participant id.
    pub id: i64,
    /// Their employee id (what the collection page calls them).
    pub employee_id: String,
    /// Their email.
    pub email: String,
    /// The study's name.
    pub study_name: String,
}

/// A participant of a study, if they may still be written to (not withdrawn, not declined).
pub async fn contactable(
    conn: &mut SqliteConnection,
    study: StudyId,
    participant: i64,
) -> sqlx::Result<Option<Contact>> {
    sqlx::query_as(
        "SELECT p.id, e.employee_id, e.email, s.name AS study_name FROM participants p JOIN employees e ON e.id = p.employee JOIN studies s ON s.id = p.study_id
         WHERE p.study_id = ? AND p.id = ? AND p.withdrawn_at IS NULL AND (p.consent IS NULL OR p.consent = 'accepted')",
    )
    .bind(study)
    .bind(participant)
    .fetch_optional(conn)
    .await
}

/// Notes when a participant was last reminded.
pub async fn set_last_reminder(
    conn: &mut SqliteConnection,
    participant: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE participants SET last_reminder_at = ? WHERE id = ?")
        .bind(now)
        .bind(participant)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether a participant belongs to a study.
pub async fn belongs(
    conn: &mut SqliteConnection,
    study: StudyId,
    participant: i64,
) -> sqlx::Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM participants WHERE id = ? AND study_id = ?")
            .bind(participant)
            .bind(study)
            .fetch_one(conn)
            .await?;
    Ok(n == 1)
}

/// Saves the collection settings (already validated).
pub async fn update_settings(
    conn: &mut SqliteConnection,
    study: StudyId,
    s: &SettingsRow,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE collection_settings SET pings_per_day = ?, window_start = ?, window_end = ?, min_gap_minutes = ?,
           ping_days = ?, expiry_minutes = ?, diary_target = ?, diary_days = ?, reminder_days = ? WHERE study_id = ?",
    )
    .bind(s.pings_per_day)
    .bind(&s.window_start)
    .bind(&s.window_end)
    .bind(s.min_gap_minutes)
    .bind(s.ping_days)
    .bind(s.expiry_minutes)
    .bind(s.diary_target)
    .bind(s.diary_days)
    .bind(s.reminder_days)
    .bind(study)
    .execute(conn)
    .await?;
    Ok(())
}

/// What the roster says about someone proposed for the control group.
#[derive(Clone, Debug, FromRow)]
pub struct ControlCandidate {
    /// Employee row id.
    pub employee: i64,
    /// Email (for the invitation).
    pub email: String,
    /// The active usage import saw copilot use.
    pub has_usage: bool,
    /// Drawn into the sample (main or pilot).
    pub sampled: bool,
    /// Already a participant.
    pub participant: bool,
}

/// Looks a roster employee up by employee id or email (emails are stored lowercased, so any case matches).
pub async fn control_candidate(
    conn: &mut SqliteConnection,
    study: StudyId,
    key: &str,
) -> sqlx::Result<Option<ControlCandidate>> {
    sqlx::query_as(
        "SELECT e.id AS employee, e.email, e.usage_score IS NOT NULL AS has_usage,
           EXISTS (SELECT 1 FROM sample_members m WHERE m.employee = e.id) AS sampled,
           EXISTS (SELECT 1 FROM participants p WHERE p.employee = e.id) AS participant
         FROM employees e WHERE e.study_id = ? AND (e.employee_id = ? OR e.email = ?)",
    )
    .bind(study)
    .bind(key)
    .bind(key.to_lowercase())
    .fetch_optional(conn)
    .await
}

/// Adds a control-group participant (main role, control arm).
pub async fn insert_control_participant(
    conn: &mut SqliteConnection,
    study: StudyId,
    employee: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO participants (study_id, employee, role, arm, invited_at) VALUES (?, ?, 'main', 'control', ?) RETURNING id",
    )
    .bind(study)
    .bind(employee)
    .bind(now)
    .fetch_one(conn)
    .await
}

// ---- consent record and erasure ----

/// Notes on the participant's latest consent event what exactly was shown (SHA-256 of the text) and how
/// the decision was taken.
pub async fn record_shown(
    conn: &mut SqliteConnection,
    participant: i64,
    text_sha256: &str,
    method: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE consent_events SET text_sha256 = ?, method = ?
         WHERE id = (SELECT MAX(id) FROM consent_events WHERE participant = ?)",
    )
    .bind(text_sha256)
    .bind(method)
    .bind(participant)
    .execute(conn)
    .await?;
    Ok(())
}

// ---- the collection dashboard: nudges, and a page of participants ----

/// Notes a nudge now unless the participant was nudged after `since`; false when they were (nothing is
/// written). The condition sits in the UPDATE itself, so two requests at once cannot both pass it.
pub async fn claim_nudge(
    conn: &mut SqliteConnection,
    participant: i64,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE participants SET last_nudged_at = ?
         WHERE id = ? AND (last_nudged_at IS NULL OR last_nudged_at <= ?)",
    )
    .bind(now)
    .bind(participant)
    .bind(since)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// When a participant was last nudged.
pub async fn last_nudged(
    conn: &mut SqliteConnection,
    participant: i64,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT last_nudged_at FROM participants WHERE id = ?")
        .bind(participant)
        .fetch_one(conn)
        .await
}

/// The counts of one group of participants (a cohort × role × arm), summed in SQL.
#[derive(Clone, Debug)]
pub struct GroupCountsRow {
    /// Cohort as stored.
    pub cohort: Option<String>,
    /// Main sample or pilot group.
    pub role: Group,
    /// With the copilot or the control group.
    pub arm: Arm,
    /// The group's numbers (invited counts its people).
    pub counts: crate::stats::compliance::Counts,
}

impl<'r> FromRow<'r, sqlx::sqlite::SqliteRow> for GroupCountsRow {
    fn from_row(row: &'r sqlx::sqlite::SqliteRow) -> sqlx::Result<Self> {
        use sqlx::Row;
        let n = |column: &str| row.try_get::<i64, _>(column);
        Ok(GroupCountsRow {
            cohort: row.try_get("cohort")?,
            role: row.try_get("role")?,
            arm: row.try_get("arm")?,
            counts: crate::stats::compliance::Counts {
                invited: n("invited")?,
                consented: n("consented")?,
                declined: n("declined")?,
                withdrawn: n("withdrawn")?,
                diary: n("diary")?,
                delivered: n("delivered")?,
                answered: n("answered")?,
                missed: n("missed")?,
            },
        })
    }
}

/// A study's participants counted per cohort, role and arm (the admin's group lines).
pub async fn group_counts<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<GroupCountsRow>> {
    sqlx::query_as(
        "SELECT e.cohort, p.role, p.arm, COUNT(*) AS invited,
           COALESCE(SUM(p.consent = 'accepted'), 0) AS consented, COALESCE(SUM(p.consent = 'declined'), 0) AS declined,
           COALESCE(SUM(p.withdrawn_at IS NOT NULL), 0) AS withdrawn,
           COALESCE(SUM((SELECT COUNT(*) FROM diary_entries d WHERE d.participant = p.id)
             + (SELECT COUNT(*) FROM control_tasks t WHERE t.participant = p.id)), 0) AS diary,
           COALESCE(SUM((SELECT COUNT(*) FROM pings g WHERE g.participant = p.id AND g.sent_at IS NOT NULL)), 0) AS delivered,
           COALESCE(SUM((SELECT COUNT(*) FROM pings g WHERE g.participant = p.id AND g.status = 'answered')), 0) AS answered,
           COALESCE(SUM((SELECT COUNT(*) FROM pings g WHERE g.participant = p.id AND g.status = 'missed'
             AND g.sent_at IS NOT NULL)), 0) AS missed
         FROM participants p JOIN employees e ON e.id = p.employee
         WHERE p.study_id = ? GROUP BY e.cohort, p.role, p.arm",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// Which participants the admin's table shows, and in what order (already checked by the service).
#[derive(Clone, Debug, Default)]
pub struct PeopleQuery {
    /// Part of an employee id or email (any case); empty for everyone.
    pub search: String,
    /// `heavy`, `moderate`, `light`, or empty.
    pub cohort: String,
    /// `waiting`, `consented`, `declined`, `withdrawn`, or empty.
    pub status: String,
    /// `main`, `pilot`, `control`, or empty.
    pub group: String,
    /// Only people with pings delivered and a compliance under this share (0–1).
    pub below: Option<f64>,
    /// Only this participant (a confirmation page).
    pub participant: Option<i64>,
    /// `compliance` (lowest first), `id`, `activity` (quiet longest first) or `nudged` (longest ago first).
    pub sort: &'static str,
    /// Rows per page.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

/// One row of the admin's participant table.
#[derive(Clone, Debug, FromRow)]
pub struct PersonRow {
    /// The counts the dashboard has always shown.
    #[sqlx(flatten)]
    pub counts: ComplianceRow,
    /// Pings laid out and not sent yet.
    pub checkins_left: i64,
    /// Their latest consent decision, diary entry or answer.
    pub last_active: Option<DateTime<Utc>>,
    /// The last nudge.
    pub last_nudged_at: Option<DateTime<Utc>>,
}

// The filtered participants of a study (?1 study, ?2 search, ?3 cohort, ?4 status, ?5 group, ?6 below,
// ?7 one participant),
// shared by the page and its count so that both always mean the same people.
macro_rules! people_filtered {
    () => {
        "WITH t AS (
           SELECT p.id, e.employee_id, e.email, e.cohort, p.role, p.arm, p.consent,
             p.withdrawn_at IS NOT NULL AS withdrawn,
             (SELECT COUNT(*) FROM diary_entries d WHERE d.participant = p.id)
               + (SELECT COUNT(*) FROM control_tasks c WHERE c.participant = p.id) AS diary,
             (SELECT COUNT(*) FROM pings g WHERE g.participant = p.id AND g.sent_at IS NOT NULL) AS delivered,
             (SELECT COUNT(*) FROM pings g WHERE g.participant = p.id AND g.status = 'answered') AS answered,
             (SELECT COUNT(*) FROM pings g WHERE g.participant = p.id AND g.status = 'missed'
               AND g.sent_at IS NOT NULL) AS missed,
             (SELECT COUNT(*) FROM pings g WHERE g.participant = p.id AND g.status = 'scheduled') AS checkins_left,
             NULLIF(MAX(COALESCE(p.consent_at, ''),
               COALESCE((SELECT MAX(d.updated_at) FROM diary_entries d WHERE d.participant = p.id), ''),
               COALESCE((SELECT MAX(c.updated_at) FROM control_tasks c WHERE c.participant = p.id), ''),
               COALESCE((SELECT MAX(a.answered_at) FROM ping_answers a JOIN pings g ON g.id = a.ping
                 WHERE g.participant = p.id), '')), '') AS last_active,
             p.last_nudged_at
           FROM participants p JOIN employees e ON e.id = p.employee
           WHERE p.study_id = ?1
             AND (?2 = '' OR instr(lower(e.employee_id), lower(?2)) > 0 OR instr(e.email, lower(?2)) > 0)
             AND (?3 = '' OR CASE lower(COALESCE(e.cohort, '')) WHEN 'heavy' THEN 'heavy'
               WHEN 'moderate' THEN 'moderate' ELSE 'light' END = ?3)
             AND (?4 = ''
               OR (?4 = 'withdrawn' AND p.withdrawn_at IS NOT NULL)
               OR (?4 = 'consented' AND p.withdrawn_at IS NULL AND p.consent = 'accepted')
               OR (?4 = 'declined' AND p.withdrawn_at IS NULL AND p.consent = 'declined')
               OR (?4 = 'waiting' AND p.withdrawn_at IS NULL AND p.consent IS NULL))
             AND (?5 = '' OR (?5 = 'control' AND p.arm = 'control') OR (p.arm = 'copilot' AND p.role = ?5))
             AND (?7 IS NULL OR p.id = ?7))
         SELECT * FROM t WHERE (?6 IS NULL OR (delivered > 0 AND answered < ?6 * delivered))"
    };
}

/// The filters' parameters ?1 to ?7, in order.
fn people_args(
    study: StudyId,
    q: &PeopleQuery,
) -> Result<sqlx::sqlite::SqliteArguments, sqlx::error::BoxDynError> {
    use sqlx::Arguments;
    let mut a = sqlx::sqlite::SqliteArguments::default();
    a.add(study)?;
    a.add(q.search.clone())?;
    a.add(q.cohort.clone())?;
    a.add(q.status.clone())?;
    a.add(q.group.clone())?;
    a.add(q.below)?;
    a.add(q.participant)?;
    Ok(a)
}

/// One page of a study's participants, filtered and sorted as asked (ties by employee id).
pub async fn people_page<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
    q: &PeopleQuery,
) -> sqlx::Result<Vec<PersonRow>> {
    use sqlx::Arguments;
    let args = people_args(study, q)
        .and_then(|mut a| {
            a.add(q.sort)?;
            a.add(q.limit)?;
            a.add(q.offset)?;
            Ok(a)
        })
        .map_err(sqlx::Error::Encode)?;
    sqlx::query_as_with(
        concat!(
            people_filtered!(),
            " ORDER BY
           CASE WHEN ?8 = 'compliance' THEN CASE WHEN delivered = 0 THEN 2.0 ELSE answered * 1.0 / delivered END END,
           CASE WHEN ?8 = 'activity' THEN COALESCE(last_active, '') END,
           CASE WHEN ?8 = 'nudged' THEN COALESCE(last_nudged_at, '') END,
           employee_id, id
         LIMIT ?9 OFFSET ?10"
        ),
        args,
    )
    .fetch_all(db)
    .await
}

/// How many participants of a study the filters of `q` match (paging and sort ignored).
pub async fn people_count<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
    q: &PeopleQuery,
) -> sqlx::Result<i64> {
    sqlx::query_scalar_with(
        concat!("SELECT COUNT(*) FROM (", people_filtered!(), ")"),
        people_args(study, q).map_err(sqlx::Error::Encode)?,
    )
    .fetch_one(db)
    .await
}

/// The employee id of a participant of a study (what the collection page calls them).
pub async fn employee_id_of(
    conn: &mut SqliteConnection,
    study: StudyId,
    participant: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT e.employee_id FROM participants p JOIN employees e ON e.id = p.employee
         WHERE p.study_id = ? AND p.id = ?",
    )
    .bind(study)
    .bind(participant)
    .fetch_optional(conn)
    .await
}
