//! Logging set-up. Emails, tokens, passwords and client addresses are never logged anywhere.
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `LAYER2_LOG` (or `RUST_LOG`) picks the level, default `info`.
/// Colour only when stderr is a terminal (a log file or journal gets plain text);
/// `LAYER2_LOG_FORMAT=json` writes one JSON object a line, for log shippers.
pub fn init() {
    let filter = std::env::var("LAYER2_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info,sqlx=warn,tokio_cron_scheduler=warn".to_string());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_target(false)
        .with_writer(std::io::stderr);
    let json =
        std::env::var("LAYER2_LOG_FORMAT").is_ok_and(|f| f.trim().eq_ignore_ascii_case("json"));
    let _ = if json {
        builder.json().with_ansi(false).try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}
