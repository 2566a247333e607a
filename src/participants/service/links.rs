//! Magic links: minting one (only its hash is stored), opening one, and slowing down whoever guesses them.
use crate::auth::token::{hash_token, looks_like_token, new_token};
use crate::db::begin_write;
use crate::error::Result;
use crate::participants::repo::{self, ParticipantRow};
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use sqlx::SqliteConnection;
use std::net::IpAddr;

/// Bad links allowed per client address within 15 minutes before bad links get 429 (good links still work).
pub const BAD_LINK_LIMIT: usize = 30;

/// Stores a fresh link for a participant (for a ping, or to their page) and returns it with its
/// leave-the-study twin: (link, withdraw link).
pub async fn new_link(
    conn: &mut SqliteConnection,
    base_url: &str,
    participant: i64,
    ping: Option<i64>,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(String, String)> {
    let token = new_token();
    repo::insert_link(
        conn,
        &hash_token(&token),
        participant,
        ping,
        now,
        expires_at,
    )
    .await?;
    let link = format!("{base_url}/p/{token}");
    let withdraw = format!("{link}/withdraw");
    Ok((link, withdraw))
}

/// Finds the participant behind a magic link; malformed, unknown and expired links are all `None`.
pub async fn open_link(state: &AppState, token: &str) -> Result<Option<ParticipantRow>> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    Ok(repo::by_link(&state.pool, &hash_token(token), state.clock.now()).await?)
}

/// What a link turned out to be.
pub enum LinkCheck {
    /// A working link, and whose it is.
    Valid(Box<ParticipantRow>),
    /// Malformed, unknown, expired: all look the same.
    Bad,
    /// Too many bad links from this client lately.
    Throttled,
}

/// Opens a link for a client; bad links are counted per client address (the one login uses, so a proxy's
/// `X-Forwarded-For` counts when configured) and slow a guesser down without ever refusing a valid link.
#[tracing::instrument(skip_all)]
pub async fn check_link(state: &AppState, token: &str, client: IpAddr) -> Result<LinkCheck> {
    if let Some(p) = open_link(state, token).await? {
        return Ok(LinkCheck::Valid(Box::new(p)));
    }
    let now = state.clock.now();
    let key = hash_token(&format!("badlink:{client}"));
    let mut tx = begin_write(&state.pool).await?;
    let recent =
        crate::auth::repo::failures_since(&mut tx, &key, now - Duration::minutes(15)).await?;
    if recent.len() >= BAD_LINK_LIMIT {
        tx.commit().await?;
        return Ok(LinkCheck::Throttled);
    }
    crate::auth::repo::insert_failure(&mut tx, &key, now).await?;
    tx.commit().await?;
    Ok(LinkCheck::Bad)
}
