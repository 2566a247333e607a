//! SQL for the outbox: queueing, claiming with a lease, recording each attempt, and what admins see.
use super::Kind;
use crate::participants::Arm;
use crate::study::StudyId;
use chrono::{DateTime, Duration, Utc};
use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

/// A message as queued: what it is, never its text (the Message-ID is chosen by the caller, stable across
/// retries).
pub struct NewRow<'a> {
    /// The study it belongs to.
    pub study_id: i64,
    /// The participant it goes to.
    pub participant: i64,
    /// The ping this email announces, if any.
    pub ping: Option<i64>,
    /// What it is.
    pub kind: Kind,
    /// Recipient address.
    pub to: &'a str,
    /// Without angle brackets.
    pub message_id: &'a str,
    /// Never send after this.
    pub not_after: Option<DateTime<Utc>>,
}

/// Inserts a pending message due now; returns its id.
pub async fn insert(
    conn: &mut SqliteConnection,
    m: &NewRow<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO outbox (study_id, participant, ping, kind, to_addr, message_id, not_after, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(m.study_id)
    .bind(m.participant)
    .bind(m.ping)
    .bind(m.kind)
    .bind(m.to)
    .bind(m.message_id)
    .bind(m.not_after)
    .bind(now)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// Inserts one pending ping email due now per (ping, Message-ID), in that order, each to the ping's
/// participant and never sent after its window; returns how many were inserted.
pub async fn insert_pings(
    conn: &mut SqliteConnection,
    rows: &[(i64, String)],
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let rows = serde_json::to_string(rows).expect("ids and Message-IDs serialise");
    let done = sqlx::query(
        "INSERT INTO outbox (study_id, participant, ping, kind, to_addr, message_id, not_after, next_attempt_at, created_at)
         SELECT p.study_id, g.participant, g.id, ?, e.email, j.value ->> 1, g.expires_at, ?, ?
         FROM json_each(?) j JOIN pings g ON g.id = j.value ->> 0
         JOIN participants p ON p.id = g.participant JOIN employees e ON e.id = p.employee
         ORDER BY j.key",
    )
    .bind(Kind::Ping)
    .bind(now)
    .bind(now)
    .bind(rows)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Queues a staff member's invitation (no study, no participant) due now; returns its id.
pub async fn insert_staff(
    conn: &mut SqliteConnection,
    user: crate::auth::UserId,
    to: &str,
    message_id: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO outbox (kind, to_addr, message_id, staff_user, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(Kind::StaffInvite)
    .bind(to)
    .bind(message_id)
    .bind(user)
    .bind(now)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// The account a staff message goes to.
pub async fn staff_user_of(
    conn: &mut SqliteConnection,
    id: i64,
) -> sqlx::Result<Option<crate::auth::UserId>> {
    sqlx::query_scalar("SELECT staff_user FROM outbox WHERE id = ?")
        .bind(id)
        .fetch_one(conn)
        .await
}

/// A message claimed for sending.
#[derive(FromRow)]
pub struct Claimed {
    /// Outbox id.
    pub id: i64,
    /// What it is.
    pub kind: Kind,
    /// Recipient.
    pub to_addr: String,
    /// Without angle brackets.
    pub message_id: String,
    /// Attempts including this one.
    pub attempts: i64,
}

/// What a claimed message needs to be written: its participant, study and ping as they stand now.
#[derive(FromRow)]
pub struct Context {
    /// The participant.
    pub participant: i64,
    /// The study.
    pub study_id: StudyId,
    /// The study's name.
    pub study_name: String,
    /// With the copilot or in the control group.
    pub arm: Arm,
    /// The participant's IANA time zone.
    pub time_zone: String,
    /// The ping a ping email announces.
    pub ping: Option<i64>,
    /// The end of that ping's answer window.
    pub ping_closes: Option<DateTime<Utc>>,
    /// Diary entries (or control tasks) logged so far.
    pub logged: i64,
    /// Entries asked for.
    pub target: i64,
    /// Their answer to the consent page, if any.
    pub consent: Option<crate::participants::Decision>,
    /// The last day (their own date) their diary takes entries.
    pub diary_closes_on: Option<chrono::NaiveDate>,
    /// Check-ins missed so far.
    pub missed: i64,
    /// Check-ins still to come.
    pub checkins_left: i64,
}

/// The context of one message (`None` when its participant is gone).
pub async fn context(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<Context>> {
    sqlx::query_as(
        "SELECT p.id AS participant, p.study_id, s.name AS study_name, p.arm, e.time_zone, o.ping,
           g.expires_at AS ping_closes,
           (SELECT COUNT(*) FROM diary_entries d WHERE d.participant = p.id)
             + (SELECT COUNT(*) FROM control_tasks t WHERE t.participant = p.id) AS logged,
           COALESCE((SELECT c.diary_target FROM collection_settings c WHERE c.study_id = p.study_id), 5) AS target,
           p.consent, p.diary_closes_on,
           (SELECT COUNT(*) FROM pings x WHERE x.participant = p.id AND x.status = 'missed') AS missed,
           (SELECT COUNT(*) FROM pings x WHERE x.participant = p.id AND x.status = 'scheduled') AS checkins_left
         FROM outbox o JOIN participants p ON p.id = o.participant JOIN employees e ON e.id = p.employee
         JOIN studies s ON s.id = p.study_id LEFT JOIN pings g ON g.id = o.ping
         WHERE o.id = ?",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Attempts that count against the per-minute cap at `now`: every attempt that ended (delivered, refused or
/// failed) in the last 60 seconds, and every attempt still running whose lease has not run out, from any
/// process on the file. Counting a running attempt until it ends is what keeps the cap on the times the
/// mail server accepted messages, not only on the times they were started.
pub async fn attempts_in_window(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    lease: Duration,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM mail_sends WHERE ended_at > ?)
              + (SELECT COUNT(*) FROM mail_sends WHERE ended_at IS NULL AND started_at > ?)",
    )
    .bind(now - Duration::seconds(60))
    .bind(now - lease)
    .fetch_one(conn)
    .await
}

/// Records the start of `n` attempts at `now`, deleting records over an hour old; returns their ids.
pub async fn start_attempts(
    conn: &mut SqliteConnection,
    n: usize,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query(
        "DELETE FROM mail_sends WHERE started_at < ? AND (ended_at IS NULL OR ended_at < ?)",
    )
    .bind(now - Duration::hours(1))
    .bind(now - Duration::hours(1))
    .execute(&mut *conn)
    .await?;
    // All `n` in one statement.
    sqlx::query_scalar(
        "WITH RECURSIVE k(i) AS (SELECT 1 WHERE ?1 > 0 UNION ALL SELECT i + 1 FROM k WHERE i < ?1)
         INSERT INTO mail_sends (started_at) SELECT ?2 FROM k RETURNING id",
    )
    .bind(n as i64)
    .bind(now)
    .fetch_all(conn)
    .await
}

/// A time as sqlx stores a `DateTime<Utc>` (RFC 3339, `+00:00`), for times passed inside a JSON list.
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// Records the ends of attempts, (attempt, time the server answered or the send gave up), in one statement.
pub async fn end_attempts(
    conn: &mut SqliteConnection,
    ended: &[(i64, DateTime<Utc>)],
) -> sqlx::Result<()> {
    if ended.is_empty() {
        return Ok(());
    }
    let list: Vec<(i64, String)> = ended.iter().map(|&(id, at)| (id, stamp(at))).collect();
    sqlx::query(
        "UPDATE mail_sends SET ended_at = j.value ->> 1
         FROM json_each(?) j WHERE mail_sends.id = j.value ->> 0",
    )
    .bind(serde_json::to_string(&list).expect("ids and times serialise"))
    .execute(conn)
    .await?;
    Ok(())
}

/// Cancels unsent mail to people who left the study.
pub async fn cancel_for_withdrawn<'e>(
    db: impl SqliteExecutor<'e>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'cancelled', lease_until = NULL, last_error = 'the participant left the study'
         WHERE status IN ('pending', 'sending') AND (status = 'pending' OR lease_until < ?)
           AND participant IN (SELECT id FROM participants WHERE withdrawn_at IS NOT NULL)",
    )
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Expires unsent mail whose `not_after` (a ping's answer window) has passed.
pub async fn expire_late<'e>(db: impl SqliteExecutor<'e>, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'expired', lease_until = NULL, last_error = 'its answer window closed before it could be sent'
         WHERE status IN ('pending', 'sending') AND (status = 'pending' OR lease_until < ?) AND not_after <= ?",
    )
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// A ping whose email was never sent (failed, expired or cancelled) was never delivered: it must not count
/// against the participant's compliance, nor as missed. Idempotent, so it also catches up after a crash.
/// It runs after every drain and almost always finds nothing, so it looks first with a read (which takes
/// no write lock: the UPDATE alone cost 0.6 ms a tick in the demo's replay) and writes only when one is
/// found. The `+` before `status` makes SQLite read the few undelivered outbox rows and look each ping up,
/// instead of walking every sent and missed ping by the status index.
pub async fn undeliver_pings(conn: &mut SqliteConnection) -> sqlx::Result<()> {
    let any: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM outbox o WHERE o.ping IS NOT NULL AND o.status IN ('failed', 'expired', 'cancelled')
           AND EXISTS (SELECT 1 FROM pings g WHERE g.id = o.ping AND g.status IN ('sent', 'missed'))
         LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    if any.is_none() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE pings SET status = 'cancelled', sent_at = NULL
         WHERE +status IN ('sent', 'missed')
           AND id IN (SELECT ping FROM outbox WHERE ping IS NOT NULL AND status IN ('failed', 'expired', 'cancelled'))",
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims up to `limit` due messages for the drain `owner`, leased until `lease_until`: first those whose
/// lease ran out (a sender that crashed), then pending ones, time-bound mail (pings) first, soonest deadline
/// first, then everything else in order. Run inside the write transaction that also checks the cap.
pub async fn claim(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    owner: &str,
    limit: i64,
) -> sqlx::Result<Vec<Claimed>> {
    let mut claimed: Vec<Claimed> = sqlx::query_as(
        "UPDATE outbox SET status = 'sending', lease_until = ?, claimed_by = ?, attempts = attempts + 1
         WHERE id IN (SELECT id FROM outbox WHERE status = 'sending' AND lease_until < ?
                      ORDER BY not_after IS NULL, not_after, id LIMIT ?)
         RETURNING id, kind, to_addr, message_id, attempts",
    )
    .bind(lease_until)
    .bind(owner)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let left = limit - claimed.len() as i64;
    if left > 0 {
        claimed.extend(
            sqlx::query_as::<_, Claimed>(
                "UPDATE outbox SET status = 'sending', lease_until = ?, claimed_by = ?, attempts = attempts + 1
                 WHERE id IN (SELECT id FROM outbox INDEXED BY outbox_claim_order
                              WHERE status = 'pending' AND next_attempt_at <= ?
                              ORDER BY not_after IS NULL, not_after, id LIMIT ?)
                 RETURNING id, kind, to_addr, message_id, attempts",
            )
            .bind(lease_until)
            .bind(owner)
            .bind(now)
            .bind(left)
            .fetch_all(&mut *conn)
            .await?,
        );
    }
    Ok(claimed)
}

/// Records deliveries, (message, time the server accepted it), in one statement; returns those no longer
/// this drain's (their rows were erased or purged while they were being sent).
pub async fn mark_sent(
    conn: &mut SqliteConnection,
    sent: &[(i64, DateTime<Utc>)],
    owner: &str,
) -> sqlx::Result<Vec<i64>> {
    if sent.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<(i64, String)> = sent.iter().map(|&(id, at)| (id, stamp(at))).collect();
    let done: Vec<i64> = sqlx::query_scalar(
        "UPDATE outbox SET status = 'sent', sent_at = j.value ->> 1, lease_until = NULL, claimed_by = NULL,
           last_error = NULL
         FROM json_each(?) j WHERE outbox.id = j.value ->> 0 AND outbox.claimed_by = ?
         RETURNING outbox.id",
    )
    .bind(serde_json::to_string(&list).expect("ids and times serialise"))
    .bind(owner)
    .fetch_all(conn)
    .await?;
    let done: std::collections::HashSet<i64> = done.into_iter().collect();
    Ok(sent
        .iter()
        .map(|&(id, _)| id)
        .filter(|id| !done.contains(id))
        .collect())
}

/// Puts a message back for another attempt at `next`.
pub async fn retry_at(
    conn: &mut SqliteConnection,
    id: i64,
    owner: &str,
    next: DateTime<Utc>,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'pending', next_attempt_at = ?, lease_until = NULL, claimed_by = NULL, last_error = ?
         WHERE id = ? AND claimed_by = ?",
    )
    .bind(next)
    .bind(error)
    .bind(id)
    .bind(owner)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives a message up.
pub async fn mark_failed(
    conn: &mut SqliteConnection,
    id: i64,
    owner: &str,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'failed', lease_until = NULL, claimed_by = NULL, last_error = ?
         WHERE id = ? AND claimed_by = ?",
    )
    .bind(error)
    .bind(id)
    .bind(owner)
    .execute(conn)
    .await?;
    Ok(())
}

/// Hands a claim back untouched, due at `now` (a drain stopping cleanly): the attempt that never finished
/// is not counted against the message, and the next drain, here or in another process, sends it at once
/// with the same Message-ID.
pub async fn release(
    conn: &mut SqliteConnection,
    id: i64,
    owner: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = 'pending', next_attempt_at = ?, lease_until = NULL, claimed_by = NULL,
           attempts = MAX(attempts - 1, 0)
         WHERE id = ? AND claimed_by = ? AND status = 'sending'",
    )
    .bind(now)
    .bind(id)
    .bind(owner)
    .execute(conn)
    .await?;
    Ok(())
}

/// Drops a participant's mail not claimed yet (they withdrew or were removed).
pub async fn delete_pending_for(conn: &mut SqliteConnection, participant: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM outbox WHERE participant = ? AND status = 'pending'")
        .bind(participant)
        .execute(conn)
        .await?;
    Ok(())
}

/// (participant, Message-ID) of a study's sent messages of one kind, oldest first (the demo finds their
/// `.eml` files by it).
pub async fn sent_of_kind<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
    kind: Kind,
) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT participant, message_id FROM outbox
         WHERE study_id = ? AND kind = ? AND participant IS NOT NULL AND status = 'sent' ORDER BY id",
    )
    .bind(study)
    .bind(kind)
    .fetch_all(db)
    .await
}

/// An outbox message that failed or is being retried.
#[derive(Clone, Debug, FromRow)]
pub struct MailProblemRow {
    /// Kind of message.
    pub kind: String,
    /// Recipient (admins only).
    pub to_addr: String,
    /// Given up (otherwise waiting for a retry).
    pub failed: bool,
    /// Attempts so far.
    pub attempts: i64,
    /// Why.
    pub last_error: Option<String>,
}

/// Mail of a study that failed or waits for a retry.
pub async fn mail_problems<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<MailProblemRow>> {
    sqlx::query_as(
        "SELECT kind, to_addr, status = 'failed' AS failed, attempts, last_error FROM outbox
         WHERE study_id = ? AND (status = 'failed' OR (status = 'pending' AND attempts > 0)) ORDER BY id DESC LIMIT 200",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn times_inside_a_json_list_are_stored_as_sqlx_stores_a_bound_time() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let t = DateTime::parse_from_rfc3339("2027-03-22T09:00:01.25Z")
            .unwrap()
            .with_timezone(&Utc);
        // With a fraction of a second and without.
        for t in [t, t - Duration::milliseconds(250)] {
            let bound: String = sqlx::query_scalar("SELECT CAST(? AS TEXT)")
                .bind(t)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(stamp(t), bound);
        }
    }
}
