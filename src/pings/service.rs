//! The pings' rules: laying out a participant's week, answering inside the window, and the tick that marks
//! missed pings and sends the due ones.
use super::repo::{self, PingRow};
use super::schedule::{PingSlot, ScheduleSpec, participant_seed, ping_times};
use super::{PingAnswer, PingStatus};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::mail::outbox::enqueue_pings;
use crate::participants::repo::{ParticipantRow, SettingsRow};
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::SqliteConnection;

/// The schedule the study's settings describe.
pub fn spec(settings: &SettingsRow) -> Result<ScheduleSpec> {
    let t = |s: &str| {
        NaiveTime::parse_from_str(s, "%H:%M")
            .map_err(|e| AppError::Internal(anyhow::anyhow!("window {s}: {e}")))
    };
    Ok(ScheduleSpec {
        pings_per_day: settings.pings_per_day as u32,
        window_start: t(&settings.window_start)?,
        window_end: t(&settings.window_end)?,
        min_gap_minutes: settings.min_gap_minutes as u32,
        ..ScheduleSpec::default()
    })
}

/// The ping times of one participant's sampling week, from `first_day` (local).
pub fn schedule_for(
    settings: &SettingsRow,
    tz: Tz,
    participant: i64,
    first_day: NaiveDate,
) -> Result<Vec<PingSlot>> {
    ping_times(
        &spec(settings)?,
        tz,
        first_day,
        settings.ping_days as u32,
        participant_seed(settings.schedule_seed as u64, participant),
    )
    .map_err(|e| AppError::Internal(anyhow::anyhow!("ping schedule: {e}")))
}

/// Lays out a consenting participant's ping week from `first_day` (local), inside the caller's transaction.
pub async fn lay_out(
    conn: &mut SqliteConnection,
    settings: &SettingsRow,
    p: &ParticipantRow,
    first_day: NaiveDate,
) -> Result<()> {
    let expiry = Duration::minutes(settings.expiry_minutes);
    let slots: Vec<(u32, DateTime<Utc>, DateTime<Utc>)> =
        schedule_for(settings, p.tz(), p.id, first_day)?
            .into_iter()
            .map(|s| (s.slot, s.at, s.at + expiry))
            .collect();
    repo::insert_pings(conn, p.id, &slots).await?;
    Ok(())
}

/// A participant's pings in time order.
pub async fn pings(state: &AppState, p: &ParticipantRow) -> Result<Vec<PingRow>> {
    Ok(repo::pings(&state.pool, p.id).await?)
}

/// One of this participant's pings; another participant's ping is `None`, like an unknown one, and so is
/// any ping but its own for a link sent with a ping (a ping link answers only its ping).
pub async fn find(state: &AppState, p: &ParticipantRow, ping: i64) -> Result<Option<PingRow>> {
    if p.link_ping.is_some_and(|own| own != ping) {
        return Ok(None);
    }
    Ok(repo::ping(&state.pool, p.id, ping).await?)
}

/// What answering a ping came to.
#[derive(Debug, PartialEq, Eq)]
pub enum AnswerOutcome {
    /// Stored (and committed).
    Stored,
    /// Already answered: the first answer counts, nothing stored.
    AlreadyAnswered,
    /// Too late, or not sent: nothing stored.
    Closed,
    /// Not this participant's ping (or not the one their link was sent for): looks like a bad link.
    Unknown,
}

/// Stores one answer to one of this participant's pings, inside its window, at most once. The write goes
/// through the answer writer (group commit); a stored answer is committed before this returns.
#[tracing::instrument(skip_all, fields(study = p.study_id.0, participant = p.id, ping = ping))]
pub async fn answer(
    state: &AppState,
    p: &ParticipantRow,
    ping: i64,
    a: &PingAnswer,
) -> Result<AnswerOutcome> {
    if p.link_ping.is_some_and(|own| own != ping) {
        return Ok(AnswerOutcome::Unknown);
    }
    let now = state.clock.now();
    let stored = state
        .answers
        .store(&state.pool, p.study_id, p.id, ping, *a, now)
        .await?;
    if stored {
        return Ok(AnswerOutcome::Stored);
    }
    // Only a refused answer reads the ping again, to say why.
    Ok(match repo::ping(&state.pool, p.id, ping).await? {
        None => AnswerOutcome::Unknown,
        Some(g) if g.status == PingStatus::Answered => AnswerOutcome::AlreadyAnswered,
        Some(_) => AnswerOutcome::Closed,
    })
}

/// How many due pings one transaction of the tick claims and queues.
const TICK_BATCH: i64 = 1_000;

/// One tick's work on pings: mark missed, then send what is due (each ping once, even from two processes).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PingTick {
    /// Pings whose window passed.
    pub missed: u64,
    /// Ping emails queued.
    pub sent: usize,
}

/// Marks missed pings and queues the due ones; a ping whose window closed while the server was down is
/// marked missed, never sent late.
#[tracing::instrument(skip_all)]
pub async fn ping_tick(state: &AppState, now: DateTime<Utc>) -> Result<PingTick> {
    let mut tick = PingTick::default();
    let mut tx = begin_write(&state.pool).await?;
    tick.missed = repo::mark_missed(&mut tx, now).await?;
    tx.commit().await?;
    // Claimed and queued a thousand at a time, set-wise: a few statements and one commit per thousand.
    loop {
        let mut tx = begin_write(&state.pool).await?;
        let claimed = repo::claim_due(&mut tx, now, TICK_BATCH).await?;
        if claimed.is_empty() {
            break;
        }
        // The email (and its link, answering this ping only) is written when the outbox sends it.
        tick.sent += enqueue_pings(&mut tx, &claimed, now).await? as usize;
        tx.commit().await?;
    }
    Ok(tick)
}

/// Where the ping a link was sent for stands, as its page needs it.
pub enum LinkedPing {
    /// Still answerable: its id and the end of its window.
    Open(i64, DateTime<Utc>),
    /// Already answered.
    Answered,
    /// Closed (missed, cancelled) or not sent yet.
    Closed,
}

/// The ping a link was sent for, if it is this participant's.
pub async fn linked(state: &AppState, p: &ParticipantRow, ping: i64) -> Result<Option<LinkedPing>> {
    let now = state.clock.now();
    Ok(find(state, p, ping).await?.map(|g| {
        if g.open_at(now) {
            LinkedPing::Open(g.id, g.expires_at)
        } else if g.status == PingStatus::Answered {
            LinkedPing::Answered
        } else {
            LinkedPing::Closed
        }
    }))
}
