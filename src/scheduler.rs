//! Wiring only: a UTC tick every 20 seconds calls `sampling::dispatch::run_due`, which tests call directly.
use crate::state::AppState;
use tokio_cron_scheduler::{Job, JobScheduler};

/// Starts the tick; returns the scheduler so it lives as long as the server.
pub async fn start(state: AppState) -> anyhow::Result<JobScheduler> {
    let sched = JobScheduler::new().await?;
    // Six fields, seconds first; UTC. The tick is idempotent, so an overlap or a missed tick is harmless.
    let job = Job::new_async("*/20 * * * * *", move |_id, _lock| {
        let state = state.clone();
        Box::pin(async move {
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
