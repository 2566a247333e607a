//! The catch-up work of one scheduler tick: everything due and not done, safe to run twice.
use crate::error::Result;
use crate::mail::outbox::{DrainReport, drain_once};
use crate::participants::service::{PingTick, ping_tick};
use crate::state::AppState;
use chrono::{DateTime, Utc};

/// What one tick did.
#[derive(Debug, Default)]
pub struct TickReport {
    /// Pings marked missed and queued.
    pub pings: PingTick,
    /// Mail delivered, retried or failed.
    pub mail: DrainReport,
}

/// Runs one tick at `now`: expire pings, queue due pings, drain the outbox.
pub async fn run_due(state: &AppState, now: DateTime<Utc>) -> Result<TickReport> {
    let pings = ping_tick(state, now).await?;
    let cap = match state.config.mail.transport {
        crate::config::MailTransport::Smtp => state.config.mail.smtp.per_minute,
        crate::config::MailTransport::File => 0,
    };
    let mail = drain_once(&state.pool, &state.mailer, cap, now).await?;
    Ok(TickReport { pings, mail })
}
