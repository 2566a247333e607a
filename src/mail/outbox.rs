//! The outbox: enqueue in the caller's transaction; drain with a lease, a rate cap and back-off.
use super::transport::{Mailer, OutgoingEmail, SendError};
use crate::auth::token::new_token;
use chrono::{DateTime, Duration, Utc};
use sqlx::{FromRow, SqliteConnection, SqlitePool};

/// A transient failure is retried this many times before the message is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long a claimed message may take before another drain may take it over (crash recovery).
pub const LEASE_MINUTES: i64 = 5;

/// A message to put in the outbox.
pub struct NewMessage<'a> {
    /// The study it belongs to.
    pub study_id: Option<i64>,
    /// The participant it goes to.
    pub participant: Option<i64>,
    /// `invitation`, `ping`, `reminder`, `nudge`…
    pub kind: &'a str,
    /// Recipient address.
    pub to: &'a str,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// Never send after this (a ping's answer window); `None` for mail that keeps its value.
    pub not_after: Option<DateTime<Utc>>,
    /// The ping this email announces, if it is a ping email.
    pub ping: Option<i64>,
}

/// Writes a message into the outbox inside the caller's transaction; returns its id.
pub async fn enqueue(
    conn: &mut SqliteConnection,
    m: &NewMessage<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    // Random, stable across retries: a resend after a crash carries the same Message-ID.
    let message_id = format!("{}-{}@layer2.invalid", m.kind, &new_token()[..32]);
    sqlx::query_scalar(
        "INSERT INTO outbox (study_id, participant, ping, kind, to_addr, subject, text_body, html_body, message_id,
           not_after, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(m.study_id)
    .bind(m.participant)
    .bind(m.ping)
    .bind(m.kind)
    .bind(m.to)
    .bind(&m.subject)
    .bind(&m.text)
    .bind(&m.html)
    .bind(message_id)
    .bind(m.not_after)
    .bind(now)
    .bind(now)
    .fetch_one(conn)
    .await
}

#[derive(FromRow)]
struct Claimed {
    id: i64,
    to_addr: String,
    subject: String,
    text_body: String,
    html_body: String,
    message_id: String,
    attempts: i64,
}

/// What one drain did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Delivered.
    pub sent: usize,
    /// Will be tried again.
    pub retrying: usize,
    /// Given up (permanent failure, or too many attempts).
    pub failed: usize,
}

/// Back-off after `attempts` transient failures: 1, 2, 4 … minutes, at most an hour.
pub fn backoff(attempts: i64) -> Duration {
    Duration::minutes(1i64 << attempts.clamp(1, 7).saturating_sub(1)).min(Duration::minutes(60))
}

/// A ping whose email was never sent (failed, expired or cancelled) was never delivered: it must not count
/// against the participant's compliance, nor as missed. Idempotent, so it also catches up after a crash.
async fn undeliver_pings(pool: &SqlitePool) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE pings SET status = 'cancelled', sent_at = NULL
         WHERE status IN ('sent', 'missed')
           AND id IN (SELECT ping FROM outbox WHERE ping IS NOT NULL AND status IN ('failed', 'expired', 'cancelled'))",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Sends what is due, at most `per_minute` in any minute (0 = no cap). Safe to run twice or from two
/// processes: each message is claimed by one atomic UPDATE before it is sent.
pub async fn drain_once(
    pool: &SqlitePool,
    mailer: &Mailer,
    per_minute: u32,
    now: DateTime<Utc>,
) -> sqlx::Result<DrainReport> {
    let budget: i64 = if per_minute == 0 {
        500
    } else {
        // Messages another drain is sending right now count against the cap too.
        let recent: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE sent_at > ? OR (status = 'sending' AND lease_until >= ?)",
        )
        .bind(now - Duration::seconds(60))
        .bind(now)
        .fetch_one(pool)
        .await?;
        (per_minute as i64 - recent).max(0)
    };
    // Nothing goes to someone who has left the study, and no ping email after its answer window.
    sqlx::query(
        "UPDATE outbox SET status = 'cancelled', lease_until = NULL, last_error = 'the participant left the study'
         WHERE status IN ('pending', 'sending') AND (status = 'pending' OR lease_until < ?)
           AND participant IN (SELECT id FROM participants WHERE withdrawn_at IS NOT NULL)",
    )
    .bind(now)
    .execute(pool)
    .await?;
    sqlx::query(
        "UPDATE outbox SET status = 'expired', lease_until = NULL, last_error = 'its answer window closed before it could be sent'
         WHERE status IN ('pending', 'sending') AND (status = 'pending' OR lease_until < ?) AND not_after <= ?",
    )
    .bind(now)
    .bind(now)
    .execute(pool)
    .await?;
    if budget == 0 {
        undeliver_pings(pool).await?;
        return Ok(DrainReport::default());
    }
    // Time-bound mail (pings) first, soonest deadline first; then everything else in order.
    let claimed: Vec<Claimed> = sqlx::query_as(
        "UPDATE outbox SET status = 'sending', lease_until = ?, attempts = attempts + 1
         WHERE id IN (SELECT id FROM outbox
                      WHERE (status = 'pending' AND next_attempt_at <= ?) OR (status = 'sending' AND lease_until < ?)
                      ORDER BY not_after IS NULL, not_after, id LIMIT ?)
         RETURNING id, to_addr, subject, text_body, html_body, message_id, attempts",
    )
    .bind(now + Duration::minutes(LEASE_MINUTES))
    .bind(now)
    .bind(now)
    .bind(budget)
    .fetch_all(pool)
    .await?;
    let mut report = DrainReport::default();
    for m in claimed {
        let email = OutgoingEmail {
            to: m.to_addr,
            subject: m.subject,
            text: m.text_body,
            html: m.html_body,
            message_id: m.message_id,
        };
        match mailer.send(&email).await {
            Ok(()) => {
                sqlx::query("UPDATE outbox SET status = 'sent', sent_at = ?, lease_until = NULL, last_error = NULL WHERE id = ?")
                    .bind(now)
                    .bind(m.id)
                    .execute(pool)
                    .await?;
                report.sent += 1;
            }
            Err(SendError::Transient(reason)) if m.attempts < MAX_ATTEMPTS => {
                sqlx::query(
                    "UPDATE outbox SET status = 'pending', next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ?",
                )
                .bind(now + backoff(m.attempts))
                .bind(format!("temporary failure (attempt {}): {reason}", m.attempts))
                .bind(m.id)
                .execute(pool)
                .await?;
                report.retrying += 1;
            }
            Err(e) => {
                let reason = match e {
                    SendError::Permanent(r) => format!("permanent failure: {r}"),
                    SendError::Transient(r) => {
                        format!("gave up after {} attempts: {r}", m.attempts)
                    }
                };
                sqlx::query("UPDATE outbox SET status = 'failed', lease_until = NULL, last_error = ? WHERE id = ?")
                    .bind(reason)
                    .bind(m.id)
                    .execute(pool)
                    .await?;
                report.failed += 1;
            }
        }
    }
    undeliver_pings(pool).await?;
    if report != DrainReport::default() {
        tracing::debug!(
            sent = report.sent,
            retrying = report.retrying,
            failed = report.failed,
            transport = mailer.kind(),
            "outbox drained"
        );
    }
    if report.failed > 0 {
        tracing::warn!(
            failed = report.failed,
            "mail given up; the study's collection page lists the reasons"
        );
    }
    Ok(report)
}

/// Empties the bodies of messages finished (sent or failed) before `before`: bodies carry magic links, and a
/// link should not outlive its use in the database longer than the retry window needs.
pub async fn scrub_bodies(pool: &SqlitePool, before: DateTime<Utc>) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "UPDATE outbox SET text_body = '', html_body = ''
         WHERE status IN ('sent', 'failed') AND created_at < ? AND (text_body <> '' OR html_body <> '')",
    )
    .bind(before)
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}

/// (participant, text body) of a study's messages of one kind, oldest first (the demo reads its links back).
pub async fn bodies(pool: &SqlitePool, study: i64, kind: &str) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as("SELECT participant, text_body FROM outbox WHERE study_id = ? AND kind = ? AND participant IS NOT NULL ORDER BY id")
        .bind(study)
        .bind(kind)
        .fetch_all(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_an_hour() {
        let mins: Vec<i64> = (1..=9).map(|a| backoff(a).num_minutes()).collect();
        assert_eq!(mins, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
