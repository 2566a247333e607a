//! Shared application state handed to every handler.
use crate::clock::Clock;
use crate::config::Config;
use crate::mail::transport::Mailer;
use sqlx::SqlitePool;
use std::sync::Arc;

/// What every request can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub pool: SqlitePool,
    /// Settings.
    pub config: Arc<Config>,
    /// The time source (fixed in tests).
    pub clock: Arc<dyn Clock>,
    /// Runs argon2 hashes, one per core at a time, each in a reused 19 MiB work area.
    pub hash_pool: Arc<crate::auth::password::HashPool>,
    /// Where the outbox sends mail.
    pub mailer: Arc<Mailer>,
    /// Commits ping answers together (group commit), each acknowledged after its commit.
    pub answers: Arc<crate::pings::writer::AnswerQueue>,
    /// Report computations reused until the study's data changes.
    pub reports: Arc<crate::reports::service_cache::ReportCache>,
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
            hash_pool: Arc::new(crate::auth::password::HashPool::new(cores)),
            mailer: Arc::new(mailer),
            answers: Arc::default(),
            reports: Arc::default(),
        }
    }
}
