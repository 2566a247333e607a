//! Logging set-up. Emails, tokens, passwords and client addresses are never logged anywhere.
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `LAYER2_LOG` (or `RUST_LOG`) picks the level, default `info`.
pub fn init() {
    let filter = std::env::var("LAYER2_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info,sqlx=warn,tokio_cron_scheduler=warn".to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
