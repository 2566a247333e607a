//! The outbox: enqueue in the caller's transaction; drain with a lease, a rate cap and back-off.
use super::messages::Letter;
use super::repo;
use super::transport::{Mailer, OutgoingEmail, SendError};
use crate::auth::token::new_token;
use chrono::{DateTime, Duration, Utc};
use sqlx::{SqliteConnection, SqlitePool};

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

impl<'a> NewMessage<'a> {
    /// A message to one participant of a study, with no deadline (a ping email adds its own).
    pub fn to_participant(
        study_id: i64,
        participant: i64,
        kind: &'a str,
        to: &'a str,
        letter: Letter,
    ) -> Self {
        NewMessage {
            study_id: Some(study_id),
            participant: Some(participant),
            kind,
            to,
            subject: letter.subject,
            text: letter.text,
            html: letter.html,
            not_after: None,
            ping: None,
        }
    }
}

/// Writes a message into the outbox inside the caller's transaction; returns its id.
pub async fn enqueue(
    conn: &mut SqliteConnection,
    m: &NewMessage<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    // Random, stable across retries: a resend after a crash carries the same Message-ID.
    let message_id = format!("{}-{}@layer2.invalid", m.kind, &new_token()[..32]);
    let row = repo::NewRow {
        study_id: m.study_id,
        participant: m.participant,
        ping: m.ping,
        kind: m.kind,
        to: m.to,
        subject: &m.subject,
        text: &m.text,
        html: &m.html,
        message_id: &message_id,
        not_after: m.not_after,
    };
    repo::insert(conn, &row, now).await
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

/// Sends what is due, at most `per_minute` in any minute (0 = no cap). Safe to run twice or from two
/// processes: each message is claimed by one atomic UPDATE before it is sent.
#[tracing::instrument(skip_all)]
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
        (per_minute as i64 - repo::recently_sent(pool, now).await?).max(0)
    };
    // Nothing goes to someone who has left the study, and no ping email after its answer window.
    repo::cancel_for_withdrawn(pool, now).await?;
    repo::expire_late(pool, now).await?;
    if budget == 0 {
        repo::undeliver_pings(pool).await?;
        return Ok(DrainReport::default());
    }
    let claimed = repo::claim(pool, now, now + Duration::minutes(LEASE_MINUTES), budget).await?;
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
                repo::mark_sent(pool, m.id, now).await?;
                report.sent += 1;
            }
            Err(SendError::Transient(reason)) if m.attempts < MAX_ATTEMPTS => {
                let error = format!("temporary failure (attempt {}): {reason}", m.attempts);
                repo::retry_at(pool, m.id, now + backoff(m.attempts), &error).await?;
                report.retrying += 1;
            }
            Err(e) => {
                let reason = match e {
                    SendError::Permanent(r) => format!("permanent failure: {r}"),
                    SendError::Transient(r) => {
                        format!("gave up after {} attempts: {r}", m.attempts)
                    }
                };
                repo::mark_failed(pool, m.id, &reason).await?;
                report.failed += 1;
            }
        }
    }
    repo::undeliver_pings(pool).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_an_hour() {
        let mins: Vec<i64> = (1..=9).map(|a| backoff(a).num_minutes()).collect();
        assert_eq!(mins, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
