//! SQL for pings and their answers.
use super::PingStatus;
use crate::study::StudyId;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

/// Stores scheduled pings; an existing (participant, slot) is left as it is.
pub async fn insert_pings(
    conn: &mut SqliteConnection,
    participant: i64,
    pings: &[(u32, DateTime<Utc>, DateTime<Utc>)],
) -> sqlx::Result<()> {
    for (slot, due, expires) in pings {
        sqlx::query(
            "INSERT INTO pings (participant, slot, due_at, expires_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (participant, slot) DO NOTHING",
        )
        .bind(participant)
        .bind(*slot as i64)
        .bind(due)
        .bind(expires)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A ping of one participant.
#[derive(Clone, Debug, FromRow)]
pub struct PingRow {
    /// Id.
    pub id: i64,
    /// Due.
    pub due_at: DateTime<Utc>,
    /// Answerable until.
    pub expires_at: DateTime<Utc>,
    /// Where it stands.
    pub status: PingStatus,
}

/// A participant's pings in time order.
pub async fn pings<'e>(
    db: impl SqliteExecutor<'e>,
    participant: i64,
) -> sqlx::Result<Vec<PingRow>> {
    sqlx::query_as(
        "SELECT id, due_at, expires_at, status FROM pings WHERE participant = ? ORDER BY due_at",
    )
    .bind(participant)
    .fetch_all(db)
    .await
}

/// Stores one answer: only for a sent ping of this participant still inside its window; at most once.
#[allow(clippy::too_many_arguments)]
pub async fn answer_ping(
    conn: &mut SqliteConnection,
    participant: i64,
    ping: i64,
    a: &super::PingAnswer,
    version: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE pings SET status = 'answered' WHERE id = ? AND participant = ? AND status = 'sent' AND expires_at > ?
           AND EXISTS (SELECT 1 FROM participants p WHERE p.id = pings.participant AND p.withdrawn_at IS NULL
                       AND p.consent = 'accepted')",
    )
    .bind(ping)
    .bind(participant)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO ping_answers (ping, used_copilot, verification_min, correction_min, context_min, trust_min,
           instrument_version, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(ping)
    .bind(a.used.as_str())
    .bind(a.minutes[0])
    .bind(a.minutes[1])
    .bind(a.minutes[2])
    .bind(a.minutes[3])
    .bind(version)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(true)
}

/// Marks missed every ping whose answer window has passed (sent or never sent).
pub async fn mark_missed(conn: &mut SqliteConnection, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let r = sqlx::query("UPDATE pings SET status = 'missed' WHERE status IN ('scheduled', 'sent') AND expires_at <= ?")
        .bind(now)
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}

/// Claims up to `limit` due pings for sending, stamping them sent at `now`, in one statement: pings due
/// and unsent, still answerable, of participants who consented and did not withdraw, in a study whose
/// phase sends them (pilot or collection), soonest first. Returns the claimed ids in that order. The
/// caller's write transaction keeps another tick out between the choice and the update; the outer WHERE
/// names only ids, so SQLite looks each one up rather than scanning every scheduled ping.
pub async fn claim_due(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<i64>> {
    let mut ids: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(
        "UPDATE pings SET status = 'sent', sent_at = ?1
         WHERE id IN (
           SELECT g.id FROM pings g JOIN participants p ON p.id = g.participant
           JOIN studies s ON s.id = p.study_id
           WHERE g.status = 'scheduled' AND g.due_at <= ?1 AND g.expires_at > ?1
             AND p.consent = 'accepted' AND p.withdrawn_at IS NULL
             AND ((p.role = 'pilot' AND s.status = 'pilot') OR (p.role = 'main' AND s.status = 'collection'))
           ORDER BY g.due_at LIMIT ?2)
         RETURNING id, due_at",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    ids.sort_by_key(|(id, due)| (*due, *id));
    Ok(ids.into_iter().map(|(id, _)| id).collect())
}

/// Sent, unanswered pings of a study: (ping, participant, expires).
pub async fn sent_pings<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<(i64, i64, DateTime<Utc>)>> {
    sqlx::query_as(
        "SELECT g.id, g.participant, g.expires_at FROM pings g JOIN participants p ON p.id = g.participant
         WHERE p.study_id = ? AND g.status = 'sent'",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// Cancels a participant's pings not sent yet (they withdrew or were removed).
pub async fn cancel_scheduled(conn: &mut SqliteConnection, participant: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE pings SET status = 'cancelled' WHERE participant = ? AND status = 'scheduled'",
    )
    .bind(participant)
    .execute(conn)
    .await?;
    Ok(())
}

/// One ping of this participant (another participant's ping is `None`).
pub async fn ping<'e>(
    db: impl SqliteExecutor<'e>,
    participant: i64,
    ping: i64,
) -> sqlx::Result<Option<PingRow>> {
    sqlx::query_as(
        "SELECT id, due_at, expires_at, status FROM pings WHERE participant = ? AND id = ?",
    )
    .bind(participant)
    .bind(ping)
    .fetch_optional(db)
    .await
}
