//! SQL for studies, phases, status changes and approvals.
use super::{Phase, PhaseDates, Status, StudyDetails, StudyId, Timeline};
use crate::auth::UserId;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

/// A study as stored.
#[derive(Clone, Debug, FromRow)]
pub struct StudyRow {
    /// Id.
    pub id: StudyId,
    /// Name.
    pub name: String,
    /// Vendor.
    pub vendor: String,
    /// Product.
    pub product: String,
    /// Model version.
    pub model_version: String,
    /// IANA zone name.
    pub time_zone: String,
    /// Day 1.
    pub start_date: NaiveDate,
    /// Stored status name.
    pub status: String,
    /// Heavy cohort share of the roster.
    pub heavy_share: f64,
    /// Moderate cohort share of the roster.
    pub moderate_share: f64,
    /// Tenure band boundaries in months, e.g. "12,36,60".
    pub tenure_bounds: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When an admin archived it, if they did.
    pub archived_at: Option<DateTime<Utc>>,
}

impl StudyRow {
    /// The status as a type (guaranteed by the CHECK constraint).
    pub fn status(&self) -> Status {
        self.status.parse().unwrap_or(Status::Draft)
    }
    /// The tool under study: vendor, product and model, each said once (`super::tool_label`).
    pub fn tool(&self) -> String {
        super::tool_label(&self.vendor, &self.product, &self.model_version)
    }
    /// The study's time zone (dates of phases and compliance days are read in it).
    pub fn tz(&self) -> chrono_tz::Tz {
        crate::clock::zone(&self.time_zone)
    }
}

/// Inserts a study in draft.
pub async fn insert(
    conn: &mut SqliteConnection,
    d: &StudyDetails,
    now: DateTime<Utc>,
) -> sqlx::Result<StudyId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO studies (name, vendor, product, model_version, time_zone, start_date, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&d.name)
    .bind(&d.vendor)
    .bind(&d.product)
    .bind(&d.model_version)
    .bind(d.time_zone.name())
    .bind(d.start_date)
    .bind(now)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(StudyId(id))
}

/// Updates the editable details.
pub async fn update(
    conn: &mut SqliteConnection,
    id: StudyId,
    d: &StudyDetails,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE studies SET name = ?, vendor = ?, product = ?, model_version = ?, time_zone = ?, start_date = ?,
         updated_at = ? WHERE id = ?",
    )
    .bind(&d.name)
    .bind(&d.vendor)
    .bind(&d.product)
    .bind(&d.model_version)
    .bind(d.time_zone.name())
    .bind(d.start_date)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// One study.
pub async fn get<'e>(db: impl SqliteExecutor<'e>, id: StudyId) -> sqlx::Result<Option<StudyRow>> {
    sqlx::query_as(
        "SELECT id, name, vendor, product, model_version, time_zone, start_date, status,
         heavy_share, moderate_share, tenure_bounds, created_at, archived_at FROM studies WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A study in the list, with its roster and sample sizes.
#[derive(Clone, Debug, FromRow)]
pub struct StudyListRow {
    /// Id.
    pub id: StudyId,
    /// Name.
    pub name: String,
    /// Vendor.
    pub vendor: String,
    /// Product.
    pub product: String,
    /// Model version.
    pub model_version: String,
    /// Status name.
    pub status: String,
    /// Day 1.
    pub start_date: NaiveDate,
    /// Employees on the roster.
    pub employees: i64,
    /// People in the main sample.
    pub sampled: i64,
    /// When an admin archived it (closed or cancelled studies only).
    pub archived_at: Option<DateTime<Utc>>,
}

/// Every study, newest first.
pub async fn list<'e>(db: impl SqliteExecutor<'e>) -> sqlx::Result<Vec<StudyListRow>> {
    sqlx::query_as(
        "SELECT s.id, s.name, s.vendor, s.product, s.model_version, s.status, s.start_date,
           (SELECT COUNT(*) FROM employees e WHERE e.study_id = s.id) AS employees,
           (SELECT COUNT(*) FROM sample_members m WHERE m.study_id = s.id AND m.role = 'main') AS sampled,
           s.archived_at
         FROM studies s ORDER BY s.id DESC",
    )
    .fetch_all(db)
    .await
}

/// The studies a phase date can still move (not draft, closed or cancelled), with their status and time
/// zone: what the clock's phase step reads every tick. Unlike [`list`] it counts nothing, so an idle tick
/// stays cheap however large the rosters are.
pub async fn movable<'e>(db: impl SqliteExecutor<'e>) -> sqlx::Result<Vec<(i64, String, String)>> {
    sqlx::query_as(
        "SELECT id, status, time_zone FROM studies
         WHERE status NOT IN ('draft', 'closed', 'cancelled') ORDER BY id DESC",
    )
    .fetch_all(db)
    .await
}

/// Replaces the five phases.
pub async fn set_timeline(
    conn: &mut SqliteConnection,
    id: StudyId,
    t: &Timeline,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM study_phases WHERE study_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for p in t.phases() {
        sqlx::query(
            "INSERT INTO study_phases (study_id, phase, starts_on, ends_on) VALUES (?, ?, ?, ?)",
        )
        .bind(id)
        .bind(p.phase.as_str())
        .bind(p.starts_on)
        .bind(p.ends_on)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The five phases in order.
pub async fn timeline<'e>(
    db: impl SqliteExecutor<'e>,
    id: StudyId,
) -> sqlx::Result<Vec<PhaseDates>> {
    let rows: Vec<(String, NaiveDate, NaiveDate)> = sqlx::query_as(
        "SELECT phase, starts_on, ends_on FROM study_phases WHERE study_id = ? ORDER BY starts_on",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, s, e)| {
            Some(PhaseDates {
                phase: p.parse::<Phase>().ok()?,
                starts_on: s,
                ends_on: e,
            })
        })
        .collect())
}

/// Moves the status and records the move.
pub async fn set_status(
    conn: &mut SqliteConnection,
    id: StudyId,
    from: Status,
    to: Status,
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    // The WHERE on the old status makes a double submit a no-op instead of a double move.
    let r =
        sqlx::query("UPDATE studies SET status = ?, updated_at = ? WHERE id = ? AND status = ?")
            .bind(to.as_str())
            .bind(now)
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *conn)
            .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO status_changes (study_id, from_status, to_status, at, user_id) VALUES (?, ?, ?, ?, ?)")
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(now)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(true)
}

/// One recorded status move.
#[derive(Clone, Debug, FromRow)]
pub struct StatusChangeRow {
    /// From.
    pub from_status: String,
    /// To.
    pub to_status: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (email), if a person.
    pub who: Option<String>,
}

/// The status history, oldest first.
pub async fn status_history<'e>(
    db: impl SqliteExecutor<'e>,
    id: StudyId,
) -> sqlx::Result<Vec<StatusChangeRow>> {
    sqlx::query_as(
        "SELECT c.from_status, c.to_status, c.at, u.email AS who FROM status_changes c
         LEFT JOIN users u ON u.id = c.user_id WHERE c.study_id = ? ORDER BY c.id",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// One approval item.
#[derive(Clone, Debug, FromRow)]
pub struct ApprovalRow {
    /// Id.
    pub id: i64,
    /// What must be approved.
    pub label: String,
    /// Whether pilot waits for it.
    pub required: bool,
    /// Who recorded it.
    pub recorded_by: Option<String>,
    /// When it was recorded.
    pub recorded_at: Option<DateTime<Utc>>,
    /// A reference (ticket, letter) given when recording.
    pub reference: String,
}

/// The checklist in its order.
pub async fn approvals<'e>(
    db: impl SqliteExecutor<'e>,
    id: StudyId,
) -> sqlx::Result<Vec<ApprovalRow>> {
    sqlx::query_as(
        "SELECT a.id, a.label, a.required, u.email AS recorded_by, a.recorded_at, a.reference
         FROM approval_items a LEFT JOIN users u ON u.id = a.recorded_by
         WHERE a.study_id = ? ORDER BY a.position, a.id",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// Adds an item at the end of the checklist; false if the label exists already.
pub async fn add_approval(
    conn: &mut SqliteConnection,
    id: StudyId,
    label: &str,
    required: bool,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "INSERT INTO approval_items (study_id, label, required, position)
         VALUES (?, ?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM approval_items WHERE study_id = ?))
         ON CONFLICT (study_id, label) DO NOTHING",
    )
    .bind(id)
    .bind(label)
    .bind(required)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Records an approval; returns its label, or None if it is not this study's or already recorded.
pub async fn record_approval(
    conn: &mut SqliteConnection,
    id: StudyId,
    item: i64,
    user: Option<UserId>,
    reference: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "UPDATE approval_items SET recorded_by = ?, recorded_at = ?, reference = ?
         WHERE id = ? AND study_id = ? AND recorded_at IS NULL RETURNING label",
    )
    .bind(user)
    .bind(now)
    .bind(reference)
    .bind(item)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Labels of required approvals not yet recorded.
pub async fn missing_required<'e>(
    db: impl SqliteExecutor<'e>,
    id: StudyId,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT label FROM approval_items WHERE study_id = ? AND required = 1 AND recorded_at IS NULL ORDER BY position",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// Saves the cohort shares and tenure bands.
pub async fn set_cohort_settings(
    conn: &mut SqliteConnection,
    id: StudyId,
    heavy: f64,
    moderate: f64,
    tenure_bounds: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE studies SET heavy_share = ?, moderate_share = ?, tenure_bounds = ?, updated_at = ? WHERE id = ?")
        .bind(heavy)
        .bind(moderate)
        .bind(tenure_bounds)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A study's privacy notice as stored.
#[derive(Clone, Debug, FromRow)]
pub struct PrivacyRow {
    /// The organisation responsible for the data.
    pub controller: String,
    /// Whom participants can ask.
    pub contact_name: String,
    /// Their address.
    pub contact_email: String,
    /// Why the data is collected.
    pub purpose: String,
    /// The admin's retention date, if they chose one.
    pub retention_until: Option<NaiveDate>,
}

/// The study's privacy notice, if one was written.
pub async fn privacy_notice<'e>(
    db: impl SqliteExecutor<'e>,
    id: StudyId,
) -> sqlx::Result<Option<PrivacyRow>> {
    sqlx::query_as(
        "SELECT controller, contact_name, contact_email, purpose, retention_until
         FROM privacy_notices WHERE study_id = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Writes the default retention date into a notice that has none (when the pilot begins).
pub async fn fix_retention_date(
    conn: &mut SqliteConnection,
    id: StudyId,
    until: NaiveDate,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE privacy_notices SET retention_until = ? WHERE study_id = ? AND retention_until IS NULL",
    )
    .bind(until)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Participants of the study who consented (and were not erased since).
pub async fn consented_count(conn: &mut SqliteConnection, id: StudyId) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM participants WHERE study_id = ? AND consent_at IS NOT NULL AND consent = 'accepted'",
    )
    .bind(id)
    .fetch_one(conn)
    .await
}

/// Writes (or rewrites) the study's privacy notice.
pub async fn set_privacy_notice(
    conn: &mut SqliteConnection,
    id: StudyId,
    n: &super::privacy::PrivacyNotice,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO privacy_notices
           (study_id, controller, contact_name, contact_email, purpose, retention_until, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (study_id) DO UPDATE SET controller = excluded.controller,
           contact_name = excluded.contact_name, contact_email = excluded.contact_email,
           purpose = excluded.purpose, retention_until = excluded.retention_until,
           updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(&n.controller)
    .bind(&n.contact_name)
    .bind(&n.contact_email)
    .bind(&n.purpose)
    .bind(n.retention_until)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a closed or cancelled study archived; false when it is not over or archived already.
pub async fn archive(
    conn: &mut SqliteConnection,
    id: StudyId,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE studies SET archived_at = ?, updated_at = ?
         WHERE id = ? AND archived_at IS NULL AND status IN ('closed', 'cancelled')",
    )
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// People of the study ever invited (pilot group, main sample and control group).
pub async fn participant_count<'e>(db: impl SqliteExecutor<'e>, id: StudyId) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM participants WHERE study_id = ?")
        .bind(id)
        .fetch_one(db)
        .await
}

/// What cancelling stopped: mail not yet sent, check-ins not yet sent, diaries still open.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Emails waiting in the outbox, now cancelled.
    pub mail: u64,
    /// Check-ins scheduled and not sent, now cancelled.
    pub pings: u64,
    /// Diaries that were still open (or not yet open), now closed.
    pub diaries: u64,
}

/// Stops everything a study would still send or accept: pending mail and scheduled check-ins are
/// cancelled, and every diary window ends on `closed_on` (a day already past in every time zone).
pub async fn stop_collecting(
    conn: &mut SqliteConnection,
    id: StudyId,
    closed_on: NaiveDate,
) -> sqlx::Result<Stopped> {
    let mail = sqlx::query(
        "UPDATE outbox SET status = 'cancelled', lease_until = NULL, last_error = 'the study was cancelled'
         WHERE study_id = ? AND status = 'pending'",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let pings = sqlx::query(
        "UPDATE pings SET status = 'cancelled'
         WHERE status = 'scheduled' AND participant IN (SELECT id FROM participants WHERE study_id = ?)",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let diaries = sqlx::query(
        "UPDATE participants SET diary_closes_on = ?
         WHERE study_id = ? AND diary_closes_on IS NOT NULL AND diary_closes_on > ?",
    )
    .bind(closed_on)
    .bind(id)
    .bind(closed_on)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(Stopped {
        mail,
        pings,
        diaries,
    })
}

/// The tick's safety net: mail of a cancelled study still pending (queued by a request that raced the
/// cancellation) is cancelled before the outbox is drained. Returns how many.
pub async fn cancel_mail_of_cancelled(conn: &mut SqliteConnection) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE outbox SET status = 'cancelled', lease_until = NULL, last_error = 'the study was cancelled'
         WHERE status = 'pending' AND study_id IN (SELECT id FROM studies WHERE status = 'cancelled')",
    )
    .execute(conn)
    .await?
    .rows_affected())
}
