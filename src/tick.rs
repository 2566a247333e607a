//! The application's tick: everything due and not done (phases, pings, reminders, retention, mail), safe to run twice,
//! and the scheduler that runs it every 20 seconds in UTC. Tests call `run_due` directly.
use crate::error::Result;
use crate::mail::outbox::{DrainReport, Stop, drain, drain_once};
use crate::participants::service::reminder_tick;
use crate::pings::service::{PingTick, ping_tick};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};

/// What one tick did.
#[derive(Debug, Default)]
pub struct TickReport {
    /// Status moves made because a phase's date came.
    pub status_moves: usize,
    /// Pings marked missed and queued.
    pub pings: PingTick,
    /// Diary reminders queued.
    pub reminders: usize,
    /// Studies whose raw data was purged because their retention date passed.
    pub purged: usize,
    /// Mail delivered, retried or failed.
    pub mail: DrainReport,
    /// Steps that failed (each is logged; the others still ran).
    pub errors: usize,
}

impl TickReport {
    /// Whether the tick changed nothing (the usual case: most ticks find nothing due).
    pub fn idle(&self) -> bool {
        self.status_moves == 0
            && self.pings == PingTick::default()
            && self.reminders == 0
            && self.purged == 0
            && self.mail == DrainReport::default()
            && self.errors == 0
    }

    /// Logs the report: counts only, at info when the tick did something and at debug when idle.
    pub fn log(&self) {
        macro_rules! report {
            ($level:ident) => {
                tracing::$level!(
                    status_moves = self.status_moves,
                    pings_missed = self.pings.missed,
                    pings_sent = self.pings.sent,
                    reminders = self.reminders,
                    purged = self.purged,
                    mail_sent = self.mail.sent,
                    mail_retrying = self.mail.retrying,
                    mail_failed = self.mail.failed,
                    errors = self.errors,
                    "tick"
                )
            };
        }
        if self.idle() {
            report!(debug);
        } else {
            report!(info);
        }
    }
}

fn keep<T: Default>(step: &str, r: Result<T>, errors: &mut usize) -> T {
    r.unwrap_or_else(|e| {
        tracing::warn!(step, error = %e, "tick step failed; the other steps still run");
        *errors += 1;
        T::default()
    })
}

/// Runs one whole tick at `now`, the clock's steps ([`clock_due`]) then a drain of the outbox, one after
/// the other: as tests and the demo replay time. The server runs the two apart ([`start`]), so that mail,
/// however long it takes, never delays the clock.
pub async fn run_due(state: &AppState, now: DateTime<Utc>) -> Result<TickReport> {
    let mut report = clock_due(state, now).await?;
    report.mail = keep(
        "mail",
        drain_once(state, &state.mailer, cap(state), now).await,
        &mut report.errors,
    );
    Ok(report)
}

/// The per-minute cap the drain keeps: the SMTP relay's (0: none); files have none.
pub fn cap(state: &AppState) -> u32 {
    match state.config.mail.transport {
        crate::config::MailTransport::Smtp => state.config.mail.smtp.per_minute,
        crate::config::MailTransport::File => 0,
    }
}

/// The clock's steps at `now`: move phases whose date came, expire pings, queue due pings and reminders
/// (never for a cancelled or archived study: those are over), purge studies past their retention date.
/// Every step is a catch-up query over "due and not done", so running it twice changes nothing; a failing
/// step is logged and does not stop the others. It sends no mail: the sender does ([`spawn_sender`]).
pub async fn clock_due(state: &AppState, now: DateTime<Utc>) -> Result<TickReport> {
    let mut errors = 0;
    let status_moves = keep(
        "phases",
        crate::study::service::phase_tick(state, now)
            .await
            .map(|m| m.len()),
        &mut errors,
    );
    // A study whose collection ended without its final release (a failed attempt, an upgrade) gets it.
    keep(
        "releases",
        crate::reports::release::release_tick(state).await,
        &mut errors,
    );
    let pings = keep("pings", ping_tick(state, now).await, &mut errors);
    let reminders = keep("reminders", reminder_tick(state, now).await, &mut errors);
    let purged = keep(
        "retention",
        crate::retention::service::retention_tick(state, now).await,
        &mut errors,
    );
    // A cancelled study sends nothing: mail a racing request queued for it is cancelled before the drain.
    keep(
        "cancelled",
        crate::study::service::silence_cancelled(state).await,
        &mut errors,
    );
    // An erasure or purge whose checkpoint a reader blocked: its deleted bytes leave the -wal now.
    keep(
        "checkpoint",
        crate::db::checkpoint_if_pending(&state.pool)
            .await
            .map_err(Into::into),
        &mut errors,
    );
    let report = TickReport {
        status_moves,
        pings,
        reminders,
        purged,
        mail: DrainReport::default(),
        errors,
    };
    Ok(report)
}

/// Starts the clock's tick every 20 seconds (UTC); returns the scheduler so it lives as long as the
/// server. Mail goes out through [`spawn_sender`], never from the tick.
pub async fn start(state: AppState) -> anyhow::Result<JobScheduler> {
    let sched = JobScheduler::new().await?;
    // A tick still running makes the next one skip rather than overlap (the steps are catch-up queries:
    // the next tick does what one skipped would have). Without mail a tick takes well under 20 s.
    let running = Arc::new(Mutex::new(()));
    // Six fields, seconds first; UTC.
    let job = Job::new_async("*/20 * * * * *", move |_id, _lock| {
        let (state, running) = (state.clone(), running.clone());
        Box::pin(async move {
            let Ok(_guard) = running.try_lock() else {
                tracing::warn!("a tick is still running; this one is skipped");
                return;
            };
            let now = state.clock.now();
            // Logged here, by the scheduler, and not in `clock_due`: the demo replays weeks of ticks in
            // seconds and reports them once, as a total.
            match clock_due(&state, now).await {
                Ok(report) => report.log(),
                Err(e) => tracing::warn!(error = %e, "scheduled tick failed"),
            }
        })
    })?;
    sched.add(job).await?;
    sched.start().await?;
    Ok(sched)
}

/// How long the sender waits between drains when nothing is due (or the cap is reached).
pub const SENDER_PAUSE: std::time::Duration = std::time::Duration::from_secs(2);
/// How long sends under way may take to finish on a clean shutdown before their claims are handed back.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Starts the sender: a task of its own that drains the outbox whenever something is due, keeping the cap,
/// until `stop` turns true; then sends under way get [`SHUTDOWN_GRACE`] and every claim still held is
/// handed back, so a restart sends those messages at once, with the same Message-IDs.
pub fn spawn_sender(
    state: AppState,
    stop: tokio::sync::watch::Receiver<bool>,
    grace: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    let stop = Stop::new(stop, grace);
    tokio::spawn(async move {
        let mut flag = stop.flag();
        while !stop.requested() {
            let now = state.clock.now();
            match drain(&state, &state.mailer, cap(&state), now, &stop).await {
                Ok(report) if report != DrainReport::default() => tracing::info!(
                    mail_sent = report.sent,
                    mail_retrying = report.retrying,
                    mail_failed = report.failed,
                    "mail"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sending mail failed; trying again shortly"),
            }
            tokio::select! {
                () = tokio::time::sleep(SENDER_PAUSE) => {}
                _ = async { let _ = flag.wait_for(|s| *s).await; } => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_that_found_nothing_due_is_idle_and_any_work_or_error_is_not() {
        assert!(TickReport::default().idle());
        let sent = TickReport {
            pings: PingTick { missed: 0, sent: 2 },
            ..TickReport::default()
        };
        assert!(!sent.idle());
        let failed = TickReport {
            errors: 1,
            ..TickReport::default()
        };
        assert!(!failed.idle());
    }
}
