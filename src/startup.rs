//! Building and running the server: the listener is bound first, so tests can use port 0.
use crate::auth::repo as auth_repo;
use crate::clock::Clock;
use crate::config::Config;
use crate::state::AppState;
use anyhow::Context;
use axum::extract::MatchedPath;
use axum::http::Request;
use chrono::Duration;
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
        // One flag for a clean stop: the accept loop and the mail sender both follow it.
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
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
        let sender = self.state.config.run_scheduler.then(|| {
            crate::tick::spawn_sender(
                self.state.clone(),
                stop.clone(),
                crate::tick::SHUTDOWN_GRACE,
            )
        });
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        });
        let limits = self.state.config.http.clone();
        let app = self.router();
        let served = serve(self.listener, app, &limits, stop).await;
        // Mail under way gets its grace, then its claims are handed back for the next start.
        if let Some(sender) = sender {
            let _ = sender.await;
        }
        served
    }

    /// The router with request tracing, as `run` serves it.
    fn router(&self) -> axum::Router {
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
        crate::web::router(self.state.clone()).layer(trace)
    }

    /// Serves with the given connection limits until `stop` turns true (tests stop a server this way).
    pub async fn run_until(self, stop: tokio::sync::watch::Receiver<bool>) -> anyhow::Result<()> {
        let limits = self.state.config.http.clone();
        let app = self.router();
        serve(self.listener, app, &limits, stop).await
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// How long open requests may take to finish once a stop is asked for.
const DRAIN_CONNECTIONS: std::time::Duration = std::time::Duration::from_secs(10);

/// The accept loop: HTTP/1.1 with a header-read timeout (which also closes a keep-alive connection idle
/// that long) and at most `max_connections` open at once (beyond, new ones wait in the listen queue).
/// `axum::serve` has neither. Each request carries its client address (`ConnectInfo`), as with axum's.
async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: &crate::config::HttpConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(
            limits.header_timeout_seconds,
        ));
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.context("the connection limit closed")?,
            () = stopped(&mut stop) => break,
        };
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(
            tower_http::add_extension::AddExtension::new(
                app.clone(),
                axum::extract::ConnectInfo(addr),
            ),
        );
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A closed or timed-out connection is routine; hyper logs the details at debug.
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_CONNECTIONS) => {
            tracing::warn!("requests still open after the shutdown wait were cut off");
        }
    }
    Ok(())
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
