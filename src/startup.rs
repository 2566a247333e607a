//! Building and running the server: the listener is bound first, so tests can use port 0.
use crate::auth::repo as auth_repo;
use crate::clock::Clock;
use crate::config::Config;
use crate::state::AppState;
use anyhow::Context;
use axum::extract::MatchedPath;
use axum::http::Request;
use chrono::Duration;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// A server ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Opens the database (migrating it) and binds the listening socket.
    pub async fn build(mut config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let pool = crate::db::connect(&config.database_path()).await?;
        // A migration may have scrubbed rows (0010 drops the stored mail bodies): their old bytes leave the
        // `-wal` now rather than at SQLite's next automatic checkpoint.
        crate::db::checkpoint(&pool).await?;
        let listener = TcpListener::bind(config.listen).await.with_context(|| {
            format!(
                "cannot listen on {} (is another server running there? set LAYER2_LISTEN)",
                config.listen
            )
        })?;
        // Links in mail must name the port actually bound (the config may say 0).
        if config.public_url.is_empty() {
            config.public_url = config.base_url_for_port(listener.local_addr()?.port());
        }
        Ok(Self {
            listener,
            state: AppState::new(pool, config, clock)?,
        })
    }

    /// The bound port (useful when the config asked for port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The shared state (tests and the CLI reach the database through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until Ctrl-C / SIGTERM.
    pub async fn run(self) -> anyhow::Result<()> {
        if self.state.config.privacy_contact.trim().is_empty() {
            tracing::warn!(
                "privacy_contact is not set: a participant whose link does not work is told to ask the study \
                 team and given no name or address; set privacy_contact (LAYER2_PRIVACY_CONTACT)"
            );
        }
        spawn_housekeeping(self.state.clone());
        // Held for the life of the server: dropping the scheduler would stop the tick.
        let _scheduler = if self.state.config.run_scheduler {
            Some(
                crate::tick::start(self.state.clone())
                    .await
                    .context("cannot start the scheduler")?,
            )
        } else {
            None
        };
        // Spans carry the route pattern, never the raw path: paths can hold one-time tokens.
        let trace = TraceLayer::new_for_http()
            .make_span_with(|req: &Request<_>| {
                let route = req
                    .extensions()
                    .get::<MatchedPath>()
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_default();
                tracing::info_span!("http", method = %req.method(), route)
            })
            .on_response(DefaultOnResponse::new().level(Level::INFO));
        let app = crate::web::router(self.state).layer(trace);
        axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server stopped with an error")
    }
}

/// Hourly clean-up of expired sessions and old throttle records (catch-up, safe to run twice).
fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = housekeeping(&state).await {
                tracing::warn!(error = ?e, "housekeeping failed");
            }
        }
    });
}

/// Removes expired sessions, login failures older than a day, expired device cookies and expired
/// participant links, then
/// checkpoints so the deleted rows leave the `-wal` too. (Mail holds no link to scrub: the outbox stores what
/// a message is, and the link exists only in the email sent.)
pub async fn housekeeping(state: &AppState) -> anyhow::Result<()> {
    let now = state.clock.now();
    let idle = now - Duration::minutes(state.config.session.idle_minutes);
    let absolute = now - Duration::hours(state.config.session.absolute_hours);
    auth_repo::delete_expired_sessions(&state.pool, idle, absolute).await?;
    auth_repo::delete_failures_before(&state.pool, now - Duration::days(1)).await?;
    auth_repo::delete_devices_before(
        &state.pool,
        now - Duration::days(crate::auth::service::DEVICE_DAYS),
    )
    .await?;
    crate::participants::repo::delete_expired_links(&state.pool, now).await?;
    crate::db::checkpoint(&state.pool).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
