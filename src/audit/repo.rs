//! SQL for the audit log (insert, filter, page; triggers refuse UPDATE and DELETE).
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
    /// Its name.
    pub study_name: Option<String>,
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

/// Which entries the audit page shows (already checked by the page).
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Part of the actor's label (any case); empty for everyone.
    pub actor: String,
    /// One action exactly; empty for every action.
    pub action: String,
    /// One study.
    pub study: Option<i64>,
    /// From this moment on.
    pub from: Option<DateTime<Utc>>,
    /// Before this moment.
    pub until: Option<DateTime<Utc>>,
}

// The filtered log (?1 actor, ?2 action, ?3 study, ?4 from, ?5 until), shared by the page, its count and
// the CSV so that all three always mean the same entries.
macro_rules! audit_filtered {
    () => {
        "FROM audit_log a LEFT JOIN studies s ON s.id = a.study_id
         WHERE (?1 = '' OR instr(lower(a.actor), lower(?1)) > 0) AND (?2 = '' OR a.action = ?2)
           AND (?3 IS NULL OR a.study_id = ?3) AND (?4 IS NULL OR a.at >= ?4) AND (?5 IS NULL OR a.at < ?5)"
    };
}

/// The filter's parameters ?1 to ?5, in order.
fn filter_args(f: &AuditFilter) -> Result<sqlx::sqlite::SqliteArguments, sqlx::error::BoxDynError> {
    use sqlx::Arguments;
    let mut a = sqlx::sqlite::SqliteArguments::default();
    a.add(f.actor.clone())?;
    a.add(f.action.clone())?;
    a.add(f.study)?;
    a.add(f.from)?;
    a.add(f.until)?;
    Ok(a)
}

/// The filtered log older than entry `before`, newest first, `limit` rows after skipping `offset` (a page
/// skips; the CSV reads on from the last entry it got).
pub async fn rows(
    pool: &SqlitePool,
    f: &AuditFilter,
    before: i64,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<AuditRow>> {
    use sqlx::Arguments;
    let args = filter_args(f)
        .and_then(|mut a| {
            a.add(before)?;
            a.add(limit)?;
            a.add(offset)?;
            Ok(a)
        })
        .map_err(sqlx::Error::Encode)?;
    sqlx::query_as_with(
        concat!(
            "SELECT a.id, a.at, a.actor, a.action, a.study_id, s.name AS study_name, a.detail ",
            audit_filtered!(),
            " AND a.id < ?6 ORDER BY a.id DESC LIMIT ?7 OFFSET ?8"
        ),
        args,
    )
    .fetch_all(pool)
    .await
}

/// How many entries the filter matches.
pub async fn count(pool: &SqlitePool, f: &AuditFilter) -> sqlx::Result<i64> {
    let args = filter_args(f).map_err(sqlx::Error::Encode)?;
    sqlx::query_scalar_with(concat!("SELECT COUNT(*) ", audit_filtered!()), args)
        .fetch_one(pool)
        .await
}

/// Every action the log holds, for the filter's list.
pub async fn actions(pool: &SqlitePool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT DISTINCT action FROM audit_log ORDER BY action")
        .fetch_all(pool)
        .await
}

/// A participant as the collection page names them.
#[derive(Clone, Debug, FromRow)]
pub struct ParticipantName {
    /// Participant row id.
    pub id: i64,
    /// Their study.
    pub study_id: i64,
    /// Their employee id.
    pub employee_id: String,
    /// When they were invited (an entry older than this is about someone else: row ids can be reused).
    pub invited_at: DateTime<Utc>,
}

/// The participants (still there) among `ids`.
pub async fn participant_names(
    pool: &SqlitePool,
    ids: &[i64],
) -> sqlx::Result<Vec<ParticipantName>> {
    let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    sqlx::query_as(
        "SELECT p.id, p.study_id, e.employee_id, p.invited_at FROM participants p
         JOIN employees e ON e.id = p.employee WHERE p.id IN (SELECT value FROM json_each(?))",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
}
