//! The outbox: enqueue in the caller's transaction (what a message is, never its text); drain with a lease,
//! a rate cap and back-off, writing each message and minting its link only when it is sent.
use super::transport::{Mailer, OutgoingEmail, SendError};
use super::{Kind, messages, repo};
use crate::auth::token::new_token;
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::messages::MessageKind;
use crate::messages::nudge::{NudgeState, variant};
use crate::messages::service::{PersonValues, compose as compose_text};
use crate::participants::service::{new_link, page_link_expiry, ping_link_expiry};
use crate::participants::{Arm, Decision};
use crate::state::AppState;
use crate::study::StudyId;
use chrono::{DateTime, Duration, Utc};
use lettre::message::Mailbox;
use sqlx::SqliteConnection;

/// A transient failure is retried this many times before the message is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long a claimed message may take before another drain may take it over (crash recovery).
pub const LEASE_MINUTES: i64 = 5;

/// A message to put in the outbox: what it is and to whom, never a link or a body.
pub struct NewMessage<'a> {
    /// The study it belongs to.
    pub study_id: i64,
    /// The participant it goes to.
    pub participant: i64,
    /// What it is.
    pub kind: Kind,
    /// Recipient address.
    pub to: &'a str,
    /// Never send after this (a ping's answer window); `None` for mail that keeps its value.
    pub not_after: Option<DateTime<Utc>>,
    /// The ping this email announces, if it is a ping email.
    pub ping: Option<i64>,
}

impl<'a> NewMessage<'a> {
    /// A message to one participant of a study, with no deadline (a ping email adds its own).
    pub fn to_participant(study_id: i64, participant: i64, kind: Kind, to: &'a str) -> Self {
        NewMessage {
            study_id,
            participant,
            kind,
            to,
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
    let message_id = format!("{}-{}@layer2.invalid", m.kind.as_str(), &new_token()[..32]);
    let row = repo::NewRow {
        study_id: m.study_id,
        participant: m.participant,
        ping: m.ping,
        kind: m.kind,
        to: m.to,
        message_id: &message_id,
        not_after: m.not_after,
    };
    repo::insert(conn, &row, now).await
}

/// Queues a staff member's invitation inside the caller's transaction; its setup link is minted when it
/// is sent (`crate::staff::service::invitation_email`).
pub async fn enqueue_staff_invite(
    conn: &mut SqliteConnection,
    user: crate::auth::UserId,
    to: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    let message_id = format!(
        "{}-{}@layer2.invalid",
        Kind::StaffInvite.as_str(),
        &new_token()[..32]
    );
    repo::insert_staff(conn, user, to, &message_id, now).await
}

/// Whom a participant of `study` can ask about their data: the study's privacy notice, else the
/// organisation's contact from the config, else nobody (the footer is left out).
pub async fn privacy_contact(state: &AppState, study: StudyId) -> Result<Option<String>> {
    if let Some((n, _)) = crate::study::service::privacy_notice(state, study).await? {
        return Ok(Some(format!(
            "{}, {} (for {})",
            n.contact_name, n.contact_email, n.controller
        )));
    }
    let org = state.config.privacy_contact.trim();
    Ok((!org.is_empty()).then(|| org.to_string()))
}

/// Writes a claimed message as it is sent: a fresh link (only its hash is stored, with its expiry) and the
/// text around it, with the study's sender. `None` when its participant is gone (or the invited staff
/// account no longer waits).
async fn compose(
    state: &AppState,
    m: &repo::Claimed,
    now: DateTime<Utc>,
) -> Result<Option<(OutgoingEmail, Option<Mailbox>)>> {
    let (letter, from) = match m.kind {
        Kind::StaffInvite => (
            crate::staff::service::invitation_letter(state, m.id, now).await?,
            None,
        ),
        _ => match participant_letter(state, m, now).await? {
            Some((letter, from)) => (Some(letter), from),
            None => (None, None),
        },
    };
    Ok(letter.map(|letter| {
        let email = OutgoingEmail {
            to: m.to_addr.clone(),
            subject: letter.subject,
            text: letter.text,
            html: letter.html,
            message_id: m.message_id.clone(),
        };
        (email, from)
    }))
}

/// A participant's message with its fresh link: the study's current text for its kind (a nudge's text
/// chosen from where the person stands now), and the study's sender.
async fn participant_letter(
    state: &AppState,
    m: &repo::Claimed,
    now: DateTime<Utc>,
) -> Result<Option<(messages::Letter, Option<Mailbox>)>> {
    let mut tx = begin_write(&state.pool).await?;
    let Some(c) = repo::context(&mut tx, m.id).await? else {
        return Ok(None);
    };
    let expires = match c.ping_closes {
        Some(closes) if m.kind == Kind::Ping => ping_link_expiry(closes),
        _ => page_link_expiry(&mut tx, c.participant, now).await?,
    };
    let ping = if m.kind == Kind::Ping { c.ping } else { None };
    let (link, withdraw) = new_link(
        &mut tx,
        &state.config.base_url(),
        c.participant,
        ping,
        now,
        expires,
    )
    .await?;
    tx.commit().await?;
    let zone = crate::clock::zone(&c.time_zone);
    let control = c.arm == Arm::Control;
    let kind = match m.kind {
        Kind::Invitation if control => MessageKind::ControlInvitation,
        Kind::Invitation => MessageKind::Invitation,
        Kind::Ping => MessageKind::Ping,
        Kind::Reminder => MessageKind::Reminder,
        Kind::Nudge => variant(&NudgeState {
            consented: c.consent == Some(Decision::Accepted),
            control,
            logged: c.logged,
            target: c.target,
            diary_open: c
                .diary_closes_on
                .is_some_and(|d| d >= now.with_timezone(&zone).date_naive()),
            missed: c.missed,
            checkins_left: c.checkins_left,
        }),
        Kind::StaffInvite => unreachable!("compose writes staff invitations itself"),
    };
    let until = c
        .ping_closes
        .map(|closes| closes.with_timezone(&zone).format("%H:%M").to_string());
    let person = PersonValues {
        link: &link,
        withdraw: &withdraw,
        until: if m.kind == Kind::Ping { until } else { None },
        logged: c.logged,
        missed: c.missed,
        checkins_left: c.checkins_left,
    };
    Ok(Some(compose_text(state, c.study_id, kind, &person).await?))
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
///
/// Each message is written and its link minted here, after the claim: a resend after a crash keeps the
/// Message-ID and carries a fresh link. The link of a send that never completed is not revoked (an SMTP
/// timeout may still have delivered it); it stays valid until its own expiry, and only its hash is stored.
pub async fn drain_once(
    state: &AppState,
    mailer: &Mailer,
    per_minute: u32,
    now: DateTime<Utc>,
) -> Result<DrainReport> {
    let pool = &state.pool;
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
        let Some((email, from)) = compose(state, &m, now).await? else {
            let gone = match m.kind {
                Kind::StaffInvite => "the account no longer waits for its setup link",
                _ => "the participant is no longer in the study",
            };
            repo::mark_failed(pool, m.id, gone).await?;
            report.failed += 1;
            continue;
        };
        match mailer.send_as(&email, from.as_ref()).await {
            Ok(()) => {
                if repo::mark_sent(pool, m.id, now).await? {
                    report.sent += 1;
                } else {
                    // Its participant was erased (or its study purged) while it was being written: the
                    // erasure could not see this file yet, so it goes now.
                    mailer.forget(&m.message_id).await.map_err(|e| {
                        AppError::Internal(anyhow::anyhow!(
                            "cannot delete an erased mail file: {e}"
                        ))
                    })?;
                }
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
