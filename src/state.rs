//! Shared application state handed to every handler.
use crate::clock::Clock;
use crate::config::Config;
use crate::mail::transport::Mailer;
use sqlx::SqlitePool;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// What every request can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub pool: SqlitePool,
    /// Settings.
    pub config: Arc<Config>,
    /// The time source (fixed in tests).
    pub clock: Arc<dyn Clock>,
    /// Caps concurrent argon2 hashes: each takes ~19 MiB and a core for a while.
    pub hash_permits: Arc<Semaphore>,
    /// Where the outbox sends mail.
    pub mailer: Arc<Mailer>,
}

impl AppState {
    /// Builds the state with the configured mailer; at most one concurrent password hash per core.
    pub fn new(pool: SqlitePool, config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let mailer = Mailer::from_config(&config.mail, &config.mail_dir())?;
        Ok(Self::with_mailer(pool, config, clock, mailer))
    }

    /// Builds the state with a given mailer (tests use the in-memory one).
    pub fn with_mailer(
        pool: SqlitePool,
        config: Config,
        clock: Arc<dyn Clock>,
        mailer: Mailer,
    ) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Self {
            pool,
            config: Arc::new(config),
            clock,
            hash_permits: Arc::new(Semaphore::new(cores)),
            mailer: Arc::new(mailer),
        }
    }
}
