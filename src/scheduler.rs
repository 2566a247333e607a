//! Wiring only: a UTC tick every 20 seconds calls `sampling::dispatch::run_due`, which tests call directly.
use crate::state::AppState;
use std::sync::Arc;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};

/// Starts the tick; returns the scheduler so it lives as long as the server.
pub async fn start(state: AppState) -> anyhow::Result<JobScheduler> {
    let sched = JobScheduler::new().await?;
    // A tick that is still running (a long drain) makes the next one skip rather than overlap: overlapping
    // drains would be safe but would stretch the sending-rate cap.
    let running = Arc::new(Mutex::new(()));
    // Six fields, seconds first; UTC.
    let job = Job::new_async("*/20 * * * * *", move |_id, _lock| {
        let (state, running) = (state.clone(), running.clone());
        Box::pin(async move {
            let Ok(_guard) = running.try_lock() else {
                return;
            };
            let now = state.clock.now();
            if let Err(e) = crate::sampling::dispatch::run_due(&state, now).await {
                tracing::warn!(error = %e, "scheduled tick failed");
            }
        })
    })?;
    sched.add(job).await?;
    sched.start().await?;
    Ok(sched)
}
