//! SQL aggregates over a study's collected data: one row per participant, never one per task or ping.
use crate::study::StudyId;
use chrono::NaiveDate;
use sqlx::{FromRow, SqliteExecutor};

/// A participant's counts, summed in SQL.
#[derive(Clone, Debug, FromRow)]
pub struct ParticipantTotalsRow {
    /// Pseudonymous id.
    pub employee_id: String,
    /// Cohort.
    pub cohort: Option<String>,
    /// Function.
    pub function: String,
    /// Hire date.
    pub hire_date: Option<NaiveDate>,
    /// Tenure band given by the roster.
    pub tenure_band: Option<String>,
    /// Gross AI hours per month.
    pub gross_hours_month: Option<f64>,
    /// Diary tasks.
    pub n_tasks: i64,
    /// Tasks used without major rework.
    pub used_tasks: i64,
    /// Pings delivered.
    pub delivered: i64,
    /// Pings answered in their window.
    pub answered: i64,
    /// Answers reporting copilot use.
    pub used_pings: i64,
    /// Verification minutes over those answers.
    pub verification: i64,
    /// Correction minutes.
    pub correction: i64,
    /// Context-reconstruction minutes.
    pub context: i64,
    /// Trust-calibration minutes.
    pub trust: i64,
}

/// Consented main-sample participants of a study with their totals.
pub async fn participant_totals<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<ParticipantTotalsRow>> {
    sqlx::query_as(
        "SELECT e.employee_id, e.cohort, e.function, e.hire_date, e.tenure_band, e.gross_hours_month,
           COALESCE(d.n, 0) AS n_tasks, COALESCE(d.used, 0) AS used_tasks,
           COALESCE(g.delivered, 0) AS delivered, COALESCE(g.answered, 0) AS answered,
           COALESCE(g.used, 0) AS used_pings, COALESCE(g.v, 0) AS verification, COALESCE(g.c, 0) AS correction,
           COALESCE(g.x, 0) AS context, COALESCE(g.t, 0) AS trust
         FROM participants p JOIN employees e ON e.id = p.employee
         LEFT JOIN (SELECT participant, COUNT(*) AS n, SUM(outcome IN ('all', 'most')) AS used
                    FROM diary_entries GROUP BY participant) d ON d.participant = p.id
         LEFT JOIN (SELECT q.participant, SUM(q.sent_at IS NOT NULL) AS delivered, SUM(q.status = 'answered') AS answered,
                           SUM(a.used_copilot = 'yes') AS used,
                           SUM(CASE WHEN a.used_copilot = 'yes' THEN a.verification_min ELSE 0 END) AS v,
                           SUM(CASE WHEN a.used_copilot = 'yes' THEN a.correction_min ELSE 0 END) AS c,
                           SUM(CASE WHEN a.used_copilot = 'yes' THEN a.context_min ELSE 0 END) AS x,
                           SUM(CASE WHEN a.used_copilot = 'yes' THEN a.trust_min ELSE 0 END) AS t
                    FROM pings q LEFT JOIN ping_answers a ON a.ping = q.id GROUP BY q.participant) g
           ON g.participant = p.id
         WHERE p.study_id = ? AND p.role = 'main' AND p.arm = 'copilot' AND p.consent = 'accepted'
         ORDER BY e.employee_id",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// The study's data version: bumped by every write to the rows its figures are computed from (0 before
/// the first).
pub async fn data_version<'e>(db: impl SqliteExecutor<'e>, study: StudyId) -> sqlx::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT version FROM study_data_versions WHERE study_id = ?")
            .bind(study)
            .fetch_optional(db)
            .await?
            .unwrap_or(0),
    )
}

/// Roster size per cohort (the finite population correction and the overall weights).
pub async fn cohort_sizes<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "SELECT COALESCE(cohort, 'light'), COUNT(*) FROM employees WHERE study_id = ? GROUP BY COALESCE(cohort, 'light')",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// A study's renewal assumptions as stored.
#[derive(Clone, Debug, FromRow)]
pub struct EconomicsRow {
    /// Seat price per user per month.
    pub seat_price: f64,
    /// Seats licensed.
    pub seats: i64,
    /// Hourly labor cost.
    pub hourly_cost: f64,
    /// ISO currency code.
    pub currency: String,
}

/// A study's renewal assumptions, if entered.
pub async fn economics<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Option<EconomicsRow>> {
    sqlx::query_as(
        "SELECT seat_price, seats, hourly_cost, currency FROM study_economics WHERE study_id = ?",
    )
    .bind(study)
    .fetch_optional(db)
    .await
}

/// Consented pilot participants of a study (kept apart from every estimate).
pub async fn consented_pilots<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM participants WHERE study_id = ? AND role = 'pilot' AND consent = 'accepted'",
    )
    .bind(study)
    .fetch_one(db)
    .await
}

/// Sets (or replaces) a study's renewal assumptions.
pub async fn set_economics(
    conn: &mut sqlx::SqliteConnection,
    study: StudyId,
    (price, seats, cost, currency): (f64, i64, f64, &str),
    user: Option<crate::auth::UserId>,
    now: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO study_economics (study_id, seat_price, seats, hourly_cost, currency, updated_by, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (study_id) DO UPDATE SET seat_price = excluded.seat_price, seats = excluded.seats,
           hourly_cost = excluded.hourly_cost, currency = excluded.currency, updated_by = excluded.updated_by,
           updated_at = excluded.updated_at",
    )
    .bind(study)
    .bind(price)
    .bind(seats)
    .bind(cost)
    .bind(currency)
    .bind(user)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Per day of the main sample's pings: (day, participants with a delivered ping, delivered, answered).
/// Days are the study's: UTC shifted by `offset_minutes` (the study time zone's offset; pings fall in
/// working hours, so an hour of daylight saving never moves one across midnight).
pub async fn compliance_by_day<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
    offset_minutes: i64,
) -> sqlx::Result<Vec<(String, i64, i64, i64)>> {
    sqlx::query_as(
        "SELECT substr(datetime(g.sent_at, ? || ' minutes'), 1, 10) AS day, COUNT(DISTINCT g.participant), COUNT(*),
           COALESCE(SUM(g.status = 'answered'), 0)
         FROM pings g JOIN participants p ON p.id = g.participant
         WHERE p.study_id = ? AND p.role = 'main' AND p.arm = 'copilot' AND p.consent = 'accepted'
           AND g.sent_at IS NOT NULL
         GROUP BY day ORDER BY day",
    )
    .bind(offset_minutes)
    .bind(study)
    .fetch_all(db)
    .await
}

/// A stored release: id, kind, when, the day in the study's zone, who, and the frozen figures (JSON).
#[derive(Clone, Debug, FromRow)]
pub struct ReleaseRow {
    pub id: i64,
    pub kind: String,
    pub released_at: chrono::DateTime<chrono::Utc>,
    pub released_on: NaiveDate,
    pub actor: String,
}

/// The study's releases, newest first (without their figures).
pub async fn releases(e: impl SqliteExecutor<'_>, study: StudyId) -> sqlx::Result<Vec<ReleaseRow>> {
    sqlx::query_as(
        "SELECT id, kind, released_at, released_on, actor FROM study_releases
         WHERE study_id = ? ORDER BY id DESC",
    )
    .bind(study.0)
    .fetch_all(e)
    .await
}

/// Studies in analysis, readout or closed (a cancelled study's collection did not end) with no release
/// yet: the ones the tick's release step must look at.
pub async fn unreleased_after_collection(e: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT s.id FROM studies s WHERE s.status IN ('analysis', 'readout', 'closed')
           AND NOT EXISTS (SELECT 1 FROM study_releases r WHERE r.study_id = s.id)
         ORDER BY s.id DESC",
    )
    .fetch_all(e)
    .await
}

/// The study's newest release with its figures (JSON).
pub async fn latest_release(
    e: impl SqliteExecutor<'_>,
    study: StudyId,
) -> sqlx::Result<Option<(ReleaseRow, String)>> {
    let row: Option<(
        i64,
        String,
        chrono::DateTime<chrono::Utc>,
        NaiveDate,
        String,
        String,
    )> = sqlx::query_as(
        "SELECT id, kind, released_at, released_on, actor, snapshot FROM study_releases
             WHERE study_id = ? ORDER BY id DESC LIMIT 1",
    )
    .bind(study.0)
    .fetch_optional(e)
    .await?;
    Ok(
        row.map(|(id, kind, released_at, released_on, actor, json)| {
            (
                ReleaseRow {
                    id,
                    kind,
                    released_at,
                    released_on,
                    actor,
                },
                json,
            )
        }),
    )
}

/// Stores a release; returns its id.
pub async fn insert_release(
    conn: &mut sqlx::SqliteConnection,
    study: StudyId,
    kind: &str,
    at: chrono::DateTime<chrono::Utc>,
    on: NaiveDate,
    actor: &str,
    snapshot: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO study_releases (study_id, kind, released_at, released_on, actor, snapshot)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(study.0)
    .bind(kind)
    .bind(at)
    .bind(on)
    .bind(actor)
    .bind(snapshot)
    .fetch_one(conn)
    .await
}

/// Participants of the study with new activity since `since`, by kind, since each kind moves different
/// figures: [tasks written or edited (diary and control group), pings answered, pings sent (compliance
/// and so who is in the estimates), consent given, declined or withdrawn and erasures (the erased
/// person's rows are gone, so they are counted from the erasure log)].
pub async fn changed_since(
    e: impl SqliteExecutor<'_>,
    study: StudyId,
    since: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<[i64; 4]> {
    let (tasks, answers, sent, membership): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT
           (SELECT COUNT(*) FROM (
                SELECT d.participant FROM diary_entries d JOIN participants p ON p.id = d.participant
                 WHERE p.study_id = ?1 AND d.updated_at > ?2
                UNION
                SELECT t.participant FROM control_tasks t JOIN participants p ON p.id = t.participant
                 WHERE p.study_id = ?1 AND t.updated_at > ?2)),
           (SELECT COUNT(DISTINCT g.participant) FROM pings g
              JOIN participants p ON p.id = g.participant JOIN ping_answers a ON a.ping = g.id
             WHERE p.study_id = ?1 AND a.answered_at > ?2),
           (SELECT COUNT(DISTINCT g.participant) FROM pings g JOIN participants p ON p.id = g.participant
             WHERE p.study_id = ?1 AND g.sent_at > ?2),
           (SELECT COUNT(*) FROM (
                SELECT c.participant FROM consent_events c JOIN participants p ON p.id = c.participant
                 WHERE p.study_id = ?1 AND c.at > ?2
                UNION
                SELECT p.id FROM participants p WHERE p.study_id = ?1 AND p.withdrawn_at > ?2))
           + (SELECT COUNT(*) FROM erasures WHERE study_id = ?1 AND at > ?2)",
    )
    .bind(study.0)
    .bind(since)
    .fetch_one(e)
    .await?;
    Ok([tasks, answers, sent, membership])
}
