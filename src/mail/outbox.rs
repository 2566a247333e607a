//! The outbox: enqueue in the caller's transaction (what a message is, never its text); drain with a lease,
//! a rate cap and back-off, writing each message and minting its link only when it is sent.
use super::transport::{Mailer, OutgoingEmail, SendError};
use super::{Kind, messages, repo};
use crate::auth::token::new_token;
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::messages::MessageKind;
use crate::messages::nudge::{NudgeState, variant};
use crate::messages::service::{PersonValues, StudyLetters, study_letters};
use crate::participants::service::{new_link, page_link_expiry, ping_link_expiry};
use crate::participants::{Arm, Decision};
use crate::state::AppState;
use crate::study::StudyId;
use chrono::{DateTime, Duration, Utc};
use lettre::message::Mailbox;
use sqlx::SqliteConnection;
use tokio::sync::watch;

/// A transient failure is retried this many times before the message is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long a claimed message may take before another drain may take it over (crash recovery); a send is
/// cut off long before ([`SEND_TIMEOUT`]).
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
    let message_id = message_id(m.kind);
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

/// Queues the emails of pings just claimed for sending (`pings`, in sending order) inside the caller's
/// transaction, in one statement: one message each, to its participant, never sent after the ping's
/// window. Returns how many were queued.
pub async fn enqueue_pings(
    conn: &mut SqliteConnection,
    pings: &[i64],
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let rows: Vec<(i64, String)> = pings
        .iter()
        .map(|&ping| (ping, message_id(Kind::Ping)))
        .collect();
    repo::insert_pings(conn, &rows, now).await
}

/// A fresh Message-ID for a message of `kind`: random, stable across retries (a resend after a crash
/// carries the same one).
fn message_id(kind: Kind) -> String {
    format!("{}-{}@layer2.invalid", kind.as_str(), &new_token()[..32])
}

/// Queues a staff member's invitation inside the caller's transaction; its setup link is minted when it
/// is sent (`crate::staff::service::invitation_email`).
pub async fn enqueue_staff_invite(
    conn: &mut SqliteConnection,
    user: crate::auth::UserId,
    to: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    let message_id = message_id(Kind::StaffInvite);
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

/// A claimed message, its attempt's row in the cap's window and, for a participant's message, the link
/// minted for it in the claim's own transaction.
struct Job {
    m: repo::Claimed,
    attempt: i64,
    minted: Option<Minted>,
}

/// A participant's message as it stands at its claim: the context and the fresh link (and leave link).
struct Minted {
    c: repo::Context,
    link: String,
    withdraw: String,
    /// What the study's messages share, read once per batch and study after the claim.
    letters: Option<std::sync::Arc<StudyLetters>>,
}

/// Mints the link of a claimed participant message in the claim's transaction; `None` when its
/// participant is gone.
async fn mint(
    conn: &mut SqliteConnection,
    state: &AppState,
    m: &repo::Claimed,
    now: DateTime<Utc>,
) -> Result<Option<Minted>> {
    let Some(c) = repo::context(conn, m.id).await? else {
        return Ok(None);
    };
    let expires = match c.ping_closes {
        Some(closes) if m.kind == Kind::Ping => ping_link_expiry(closes),
        _ => page_link_expiry(conn, c.participant, now).await?,
    };
    let ping = if m.kind == Kind::Ping { c.ping } else { None };
    let (link, withdraw) = new_link(
        conn,
        &state.config.base_url(),
        c.participant,
        ping,
        now,
        expires,
    )
    .await?;
    Ok(Some(Minted {
        c,
        link,
        withdraw,
        letters: None,
    }))
}

/// Writes a claimed message: the text around its link, with the study's sender. `None` when its
/// participant is gone (or the invited staff account no longer waits).
async fn compose(
    state: &AppState,
    job: Job,
    now: DateTime<Utc>,
) -> Result<Option<(OutgoingEmail, Option<Mailbox>)>> {
    let m = &job.m;
    let (letter, from) = match m.kind {
        Kind::StaffInvite => (
            crate::staff::service::invitation_letter(state, m.id, now).await?,
            None,
        ),
        _ => match job.minted {
            Some(minted) => {
                let (letter, from) = participant_letter(state, m, minted, now).await?;
                (Some(letter), from)
            }
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

/// A participant's message around its link: the study's current text for its kind (a nudge's text
/// chosen from where the person stands now), and the study's sender.
async fn participant_letter(
    state: &AppState,
    m: &repo::Claimed,
    minted: Minted,
    now: DateTime<Utc>,
) -> Result<(messages::Letter, Option<Mailbox>)> {
    let c = &minted.c;
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
        link: &minted.link,
        withdraw: &minted.withdraw,
        until: if m.kind == Kind::Ping { until } else { None },
        logged: c.logged,
        missed: c.missed,
        checkins_left: c.checkins_left,
    };
    let letters = match &minted.letters {
        Some(letters) => letters.clone(),
        None => std::sync::Arc::new(study_letters(state, c.study_id).await?),
    };
    Ok(letters.compose(kind, &person))
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

/// When a drain must stop: the flag turns true on a clean shutdown; sends under way then get `grace` to
/// finish before they are abandoned and their claims handed back.
#[derive(Clone)]
pub struct Stop {
    flag: watch::Receiver<bool>,
    grace: std::time::Duration,
}

impl Stop {
    /// A stop that follows `flag`.
    pub fn new(flag: watch::Receiver<bool>, grace: std::time::Duration) -> Self {
        Self { flag, grace }
    }

    /// The flag itself (to wait on).
    pub fn flag(&self) -> watch::Receiver<bool> {
        self.flag.clone()
    }

    /// Whether the stop was asked for.
    pub fn requested(&self) -> bool {
        *self.flag.borrow()
    }

    /// Resolves once the stop is asked for and the grace has passed; never when the flag's sender is gone
    /// without asking.
    async fn after_grace(&self) {
        let mut flag = self.flag.clone();
        if flag.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(self.grace).await;
    }
}

/// How one attempt ended.
enum Outcome {
    /// The server accepted it at this time.
    Sent(DateTime<Utc>),
    /// Refused or failed at this time.
    Failed(SendError, DateTime<Utc>),
    /// Its participant (or awaited staff account) is gone.
    Gone,
    /// It could not be written (a database error): handed back, and the drain reports the error.
    Broken(AppError),
}

/// The drain's time: the state's clock, shifted so that it reads `now` when the drain starts (the demo
/// drains at replayed times; everywhere else the shift is zero). `sent_at` is this time when the server
/// accepted the message, and the cap's window moves with it.
#[derive(Clone)]
struct DrainClock {
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    shift: Duration,
}

impl DrainClock {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now() + self.shift
    }
}

/// Sends what is due, at most `per_minute` in any 60 seconds from every process on the file together (0 =
/// no cap). See `drain`.
#[tracing::instrument(skip_all)]
pub async fn drain_once(
    state: &AppState,
    mailer: &Mailer,
    per_minute: u32,
    now: DateTime<Utc>,
) -> Result<DrainReport> {
    let (_keep, flag) = watch::channel(false);
    drain(
        state,
        mailer,
        per_minute,
        now,
        &Stop::new(flag, std::time::Duration::ZERO),
    )
    .await
}

/// Sends what is due until nothing is, the cap is reached or `stop` is asked for. Safe to run twice or from
/// two processes: a message is claimed in a write transaction that also counts the cap's window, a few at
/// a time ([`BATCH`]), and each send is cut off after [`SEND_TIMEOUT`], well inside its lease, so no claim
/// can run out while its message is being sent. On a stop, sends under way get the stop's grace, then
/// their claims are handed back, due at once (a restart sends them with the same Message-ID).
///
/// Each message is written and its link minted at its claim: a resend after a crash keeps the Message-ID
/// and carries a fresh link. The link of a send that never completed is not revoked (an SMTP timeout may
/// still have delivered it); it stays valid until its own expiry, and only its hash is stored.
pub async fn drain(
    state: &AppState,
    mailer: &Mailer,
    per_minute: u32,
    now: DateTime<Utc>,
    stop: &Stop,
) -> Result<DrainReport> {
    let pool = &state.pool;
    let clock = DrainClock {
        clock: state.clock.clone(),
        shift: now - state.clock.now(),
    };
    // Who holds this drain's leases: only this drain records them sent or hands them back.
    let owner = new_token();
    // Nothing goes to someone who has left the study, and no ping email after its answer window.
    repo::cancel_for_withdrawn(pool, now).await?;
    repo::expire_late(pool, now).await?;
    let mailer = std::sync::Arc::new(mailer.clone());
    // Side by side only over the network, where the time goes waiting for the server; files and memory
    // (tests) one after the other, in order. Either way a batch is claimed and recorded together.
    let side_by_side = mailer.kind() == "smtp";
    let mut report = DrainReport::default();
    let mut broken = None;
    while !stop.requested() && broken.is_none() {
        let jobs = claim_batch(state, per_minute, BATCH, &owner, clock.now()).await?;
        if jobs.is_empty() {
            break;
        }
        let outcomes = send_batch(state, &mailer, &clock, jobs, side_by_side, stop).await;
        broken = record(state, &mailer, &owner, &clock, outcomes, &mut report).await?;
    }
    repo::undeliver_pings(&mut *pool.acquire().await?).await?;
    if report != DrainReport::default() {
        tracing::debug!(
            sent = report.sent,
            retrying = report.retrying,
            failed = report.failed,
            transport = mailer.kind(),
            "outbox drained"
        );
    }
    match broken {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// At most this many messages are claimed at once and sent (side by side over SMTP, through at most
/// eight pooled connections; one after the other to files): one claim and one record transaction per
/// batch keep the database's syncs off each message's path.
pub const BATCH: usize = 32;
/// A send (writing the message and the SMTP conversation) is abandoned after this long, well inside its
/// lease: the lease can never run out while its message is being sent.
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Claims the next messages, as many as the cap's window leaves room for, in one write transaction with
/// the count, and mints their links in it.
async fn claim_batch(
    state: &AppState,
    per_minute: u32,
    width: usize,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Job>> {
    let lease = Duration::minutes(LEASE_MINUTES);
    let mut tx = begin_write(&state.pool).await?;
    let room = if per_minute == 0 {
        width as i64
    } else {
        let used = repo::attempts_in_window(&mut tx, now, lease).await?;
        (per_minute as i64 - used).clamp(0, width as i64)
    };
    if room == 0 {
        return Ok(Vec::new());
    }
    let claimed = repo::claim(&mut tx, now, now + lease, owner, room).await?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let attempts = repo::start_attempts(&mut tx, claimed.len(), now).await?;
    let mut jobs = Vec::with_capacity(claimed.len());
    for (m, attempt) in claimed.into_iter().zip(attempts) {
        let minted = match m.kind {
            Kind::StaffInvite => None,
            _ => mint(&mut tx, state, &m, now).await?,
        };
        jobs.push(Job { m, attempt, minted });
    }
    tx.commit().await?;
    // The texts, sender and contact of each study in the batch, read once (after the claim's commit, as
    // each message read them before). A read that fails is left to each message's own compose, whose
    // error hands its claim back as before.
    let mut letters = std::collections::HashMap::new();
    for minted in jobs.iter_mut().filter_map(|j| j.minted.as_mut()) {
        let study = minted.c.study_id;
        if let std::collections::hash_map::Entry::Vacant(slot) = letters.entry(study.0) {
            let read = study_letters(state, study).await.ok();
            slot.insert(read.map(std::sync::Arc::new));
        }
        minted.letters = letters.get(&study.0).cloned().flatten();
    }
    Ok(jobs)
}

/// Sends a batch, side by side or one after the other in claim order; a job missing from the answer was
/// abandoned on a stop (or, one after the other, not started after a send met a database error).
async fn send_batch(
    state: &AppState,
    mailer: &std::sync::Arc<Mailer>,
    clock: &DrainClock,
    jobs: Vec<Job>,
    side_by_side: bool,
    stop: &Stop,
) -> Vec<(repo::Claimed, i64, Option<Outcome>)> {
    let mut rows: Vec<(repo::Claimed, i64, Option<Outcome>)> = Vec::new();
    let mut set = tokio::task::JoinSet::new();
    let mut queue = Vec::new();
    for (i, job) in jobs.into_iter().enumerate() {
        let claimed = repo::Claimed {
            id: job.m.id,
            kind: job.m.kind,
            to_addr: String::new(),
            message_id: job.m.message_id.clone(),
            attempts: job.m.attempts,
        };
        rows.push((claimed, job.attempt, None));
        if side_by_side {
            let (state, mailer, clock) = (state.clone(), mailer.clone(), clock.clone());
            set.spawn(async move { vec![(i, attempt(&state, &mailer, &clock, job).await)] });
        } else {
            queue.push((i, job));
        }
    }
    // One after the other: one task sends the batch in order and stops at a database error, leaving the
    // rest unsent (handed back), as a drain stops there.
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    if !queue.is_empty() {
        let (state, mailer, clock) = (state.clone(), mailer.clone(), clock.clone());
        set.spawn(async move {
            for (i, job) in queue {
                let outcome = attempt(&state, &mailer, &clock, job).await;
                let broken = matches!(outcome, Outcome::Broken(_));
                if done_tx.send((i, outcome)).is_err() || broken {
                    break;
                }
            }
            Vec::new()
        });
    } else {
        drop(done_tx);
    }
    loop {
        tokio::select! {
            Some((i, outcome)) = done_rx.recv() => rows[i].2 = Some(outcome),
            next = set.join_next() => match next {
                Some(Ok(done)) => {
                    for (i, outcome) in done {
                        rows[i].2 = Some(outcome);
                    }
                }
                Some(Err(_)) => {} // a panicked send is handed back
                None => break,
            },
            () = stop.after_grace() => {
                set.abort_all();
                break;
            }
        }
    }
    // Outcomes the one-after-the-other task sent just before it finished.
    while let Ok((i, outcome)) = done_rx.try_recv() {
        rows[i].2 = Some(outcome);
    }
    rows
}

/// Writes and sends one message, within [`SEND_TIMEOUT`].
async fn attempt(state: &AppState, mailer: &Mailer, clock: &DrainClock, job: Job) -> Outcome {
    let started = clock.now();
    let send = async {
        match compose(state, job, started).await {
            Err(e) => Err(e),
            Ok(None) => Ok(None),
            Ok(Some((email, from))) => Ok(Some(mailer.send_as(&email, from.as_ref()).await)),
        }
    };
    match tokio::time::timeout(SEND_TIMEOUT, send).await {
        Ok(Err(e)) => Outcome::Broken(e),
        Ok(Ok(None)) => Outcome::Gone,
        Ok(Ok(Some(Ok(())))) => Outcome::Sent(clock.now()),
        Ok(Ok(Some(Err(e)))) => Outcome::Failed(e, clock.now()),
        Err(_) => Outcome::Failed(
            SendError::Transient(format!(
                "no answer from the mail server within {} seconds",
                SEND_TIMEOUT.as_secs()
            )),
            clock.now(),
        ),
    }
}

/// Records a batch's outcomes in one write transaction; returns the first database error a send met
/// (its claim handed back).
async fn record(
    state: &AppState,
    mailer: &Mailer,
    owner: &str,
    clock: &DrainClock,
    outcomes: Vec<(repo::Claimed, i64, Option<Outcome>)>,
    report: &mut DrainReport,
) -> Result<Option<AppError>> {
    let now = clock.now();
    let mut broken = None;
    let mut vanished = Vec::new();
    let (mut sent, mut ends) = (Vec::new(), Vec::new());
    let mut message_ids = std::collections::HashMap::new();
    let mut tx = begin_write(&state.pool).await?;
    for (m, attempt, outcome) in outcomes {
        let ended = match outcome {
            Some(Outcome::Sent(at)) => {
                sent.push((m.id, at));
                message_ids.insert(m.id, m.message_id);
                at
            }
            Some(Outcome::Failed(SendError::Transient(reason), at))
                if m.attempts < MAX_ATTEMPTS =>
            {
                tracing::warn!(outbox = m.id, attempt = m.attempts, %reason, "mail not sent; will retry");
                let error = format!("temporary failure (attempt {}): {reason}", m.attempts);
                repo::retry_at(&mut tx, m.id, owner, at + backoff(m.attempts), &error).await?;
                report.retrying += 1;
                at
            }
            Some(Outcome::Failed(e, at)) => {
                let reason = match e {
                    SendError::Permanent(r) => format!("permanent failure: {r}"),
                    SendError::Transient(r) => {
                        format!("gave up after {} attempts: {r}", m.attempts)
                    }
                };
                tracing::warn!(outbox = m.id, attempt = m.attempts, %reason, "mail given up");
                repo::mark_failed(&mut tx, m.id, owner, &reason).await?;
                report.failed += 1;
                at
            }
            Some(Outcome::Gone) => {
                let gone = match m.kind {
                    Kind::StaffInvite => "the account no longer waits for its setup link",
                    _ => "the participant is no longer in the study",
                };
                repo::mark_failed(&mut tx, m.id, owner, gone).await?;
                report.failed += 1;
                now
            }
            Some(Outcome::Broken(e)) => {
                repo::release(&mut tx, m.id, owner, now).await?;
                broken.get_or_insert(e);
                now
            }
            None => {
                repo::release(&mut tx, m.id, owner, now).await?;
                now
            }
        };
        ends.push((attempt, ended));
    }
    // Deliveries and the ends of attempts are recorded a batch at a time.
    let gone = repo::mark_sent(&mut tx, &sent, owner).await?;
    report.sent += sent.len() - gone.len();
    // A message whose participant was erased (or whose study was purged) while it was being written: the
    // erasure could not see this file yet, so it goes now.
    vanished.extend(gone.iter().filter_map(|id| message_ids.remove(id)));
    repo::end_attempts(&mut tx, &ends).await?;
    tx.commit().await?;
    for message_id in vanished {
        mailer.forget(&message_id).await.map_err(|e| {
            AppError::Internal(anyhow::anyhow!("cannot delete an erased mail file: {e}"))
        })?;
    }
    Ok(broken)
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
