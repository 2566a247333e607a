//! The catch-up work of one scheduler tick: everything due and not done, safe to run twice.
use crate::error::Result;
use crate::mail::outbox::{DrainReport, drain_once};
use crate::participants::service::{PingTick, ping_tick, reminder_tick};
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
    /// Steps that failed (each is logged; the others still ran).
    pub errors: usize,
}

fn keep<T: Default>(step: &str, r: Result<T>, errors: &mut usize) -> T {
    r.unwrap_or_else(|e| {
        tracing::warn!(step, error = %e, "tick step failed; the other steps still run");
        *errors += 1;
        T::default()
    })
}

/// Runs one tick at `now`: move phases whose date came, expire pings, queue due pings and reminders, drain
/// the outbox. Every step is a catch-up query over "due and not done", so running it twice changes nothing;
/// a failing step is logged and does not stop the others (mail keeps flowing if, say, one study is broken).
pub async fn run_due(state: &AppState, now: DateTime<Utc>) -> Result<TickReport> {
    let mut errors = 0;
    let status_moves = keep(
        "phases",
        crate::study::service::phase_tick(state, now)
            .await
            .map(|m| m.len()),
        &mut errors,
    );
    let pings = keep("pings", ping_tick(state, now).await, &mut errors);
    let reminders = keep("reminders", reminder_tick(state, now).await, &mut errors);
    let cap = match state.config.mail.transport {
        crate::config::MailTransport::Smtp => state.config.mail.smtp.per_minute,
        crate::config::MailTransport::File => 0,
    };
    let mail = keep(
        "mail",
        drain_once(&state.pool, &state.mailer, cap, now)
            .await
            .map_err(Into::into),
        &mut errors,
    );
    Ok(TickReport {
        status_moves,
        pings,
        reminders,
        mail,
        errors,
    })
}
