//! The catch-up work of one scheduler tick: everything due and not done, safe to run twice.
use crate::error::Result;
use crate::mail::outbox::{DrainReport, drain_once};
use crate::participants::service::{PingTick, ping_tick};
use crate::state::AppState;
use chrono::{DateTime, Utc};

/// What one tick did.
#[derive(Debug, Default)]
pub struct TickReport {
    /// Status moves made because a phase's date came.
    pub status_moves: usize,
    /// Pings marked missed and queued.
    pub pings: PingTick,
    /// Diary reminders queued.
    pub reminders: usize,
    /// Mail delivered, retried or failed.
    pub mail: DrainReport,
}

/// Runs one tick at `now`: move phases whose date came, expire pings, queue due pings and reminders, drain
/// the outbox. Every step is a catch-up query over "due and not done", so running it twice changes nothing.
pub async fn run_due(state: &AppState, now: DateTime<Utc>) -> Result<TickReport> {
    let status_moves = crate::study::service::phase_tick(state, now).await?.len();
    let pings = ping_tick(state, now).await?;
    let reminders = crate::participants::service::reminder_tick(state, now).await?;
    let cap = match state.config.mail.transport {
        crate::config::MailTransport::Smtp => state.config.mail.smtp.per_minute,
        crate::config::MailTransport::File => 0,
    };
    let mail = drain_once(&state.pool, &state.mailer, cap, now).await?;
    Ok(TickReport {
        status_moves,
        pings,
        reminders,
        mail,
    })
}
