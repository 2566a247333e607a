//! Login, logout, sessions, throttling and the first-admin setup: the rules, over `repo`.
use super::repo::{self, SessionRow};
use super::token::{hash_token, new_token, throttle_key};
use super::{Email, NewPassword, Role, UserId, password};
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use sqlx::SqliteConnection;
use std::net::IpAddr;

/// Failed logins allowed per account from one client address within `THROTTLE_WINDOW_MINUTES`.
pub const ACCOUNT_ADDRESS_LIMIT: usize = 5;
/// Failed logins allowed per account from all addresses together: an attacker at one address cannot
/// lock the real person out from another, yet a distributed guesser is still slowed down.
pub const ACCOUNT_LIMIT: usize = 20;
/// Failed logins allowed per client address, whatever the account.
pub const ADDRESS_LIMIT: usize = 20;
/// The sliding window; a pause never lasts longer than this, so nobody is locked out for good.
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;
/// How long the setup link printed at start-up stays valid.
pub const SETUP_TOKEN_HOURS: i64 = 24;

/// Failed logins allowed from a browser holding a device cookie for the account, within the window.
pub const DEVICE_LIMIT: usize = 5;
/// How long a device cookie is honoured after the sign-in that issued it.
pub const DEVICE_DAYS: i64 = 90;

/// What a login attempt came to.
pub enum LoginOutcome {
    /// Signed in: the new session's token and the browser's new device token go into cookies.
    Success { token: String, device: String },
    /// Unknown user or wrong password: the same answer for both.
    Invalid,
    /// Too many failures recently; try again in this many minutes.
    Throttled { minutes: i64 },
}

fn account_key(email: &str) -> String {
    throttle_key(&format!("account:{}", email.trim().to_lowercase()))
}

/// Throttle keys (SHA-256, so the table holds no emails or addresses) and their limits.
fn throttle_keys(email: &str, ip: IpAddr) -> [(String, usize); 3] {
    let email = email.trim().to_lowercase();
    // IPv6 clients usually hold a whole /64: count it as one address.
    let address = match ip {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        IpAddr::V4(v4) => v4.to_string(),
    };
    [
        (
            throttle_key(&format!("account:{email}|address:{address}")),
            ACCOUNT_ADDRESS_LIMIT,
        ),
        (account_key(&email), ACCOUNT_LIMIT),
        (throttle_key(&format!("address:{address}")), ADDRESS_LIMIT),
    ]
}

/// Minutes until a key is below its limit again, if it is at or over it now.
async fn throttled_for(
    conn: &mut SqliteConnection,
    key: &str,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let window = Duration::minutes(THROTTLE_WINDOW_MINUTES);
    let fails = repo::failures_since(conn, key, now - window).await?;
    if fails.len() < limit {
        return Ok(None);
    }
    // The pause ends when the failure that put the key over its limit leaves the window.
    let frees_at = fails[fails.len() - limit] + window;
    Ok(Some(((frees_at - now).num_seconds() + 59).max(60) / 60))
}

/// Names the account in the audit log only when it exists: a typo'd email may be someone's password.
async fn audit_actor(conn: &mut SqliteConnection, email: &str) -> Result<Actor> {
    Ok(
        match repo::user_by_email(conn, email.trim().to_lowercase().as_str()).await? {
            Some(u) => Actor::staff(u.id, &u.email),
            None => Actor {
                user_id: None,
                label: "unknown account".into(),
            },
        },
    )
}

fn device_key(device_hash: &str) -> String {
    throttle_key(&format!("device:{device_hash}"))
}

/// Checks a login; records failures; on success opens a new session (a fresh id every time) and gives
/// the browser a new device token. `device` is the device token the browser presented, if any: when it is
/// live and belongs to the account named, only that device's own failures can pause the attempt
/// (OWASP's device cookies), so guesses from other addresses never lock out a browser that signed in
/// before; otherwise the account+address, account and address limits apply.
#[tracing::instrument(skip_all)]
pub async fn login(
    state: &AppState,
    email: &str,
    password: String,
    ip: IpAddr,
    device: Option<&str>,
) -> Result<LoginOutcome> {
    let now = state.clock.now();
    let email = email.trim().to_lowercase();
    let device_hash = device
        .filter(|d| super::token::looks_like_token(d))
        .map(hash_token);
    // Check the limits and count this attempt as a failure in one write transaction, before the
    // password is checked: parallel attempts are serialised here, so a burst cannot slip past the limit.
    let mut tx = begin_write(&state.pool).await?;
    let user = repo::user_by_email(&mut tx, &email).await?;
    let mut trusted = None;
    if let (Some(hash), Some(user)) = (&device_hash, &user) {
        let not_before = now - Duration::days(DEVICE_DAYS);
        if repo::device_user(&mut tx, hash, not_before).await? == Some(user.id) {
            trusted = Some(hash.clone());
        }
    }
    let keys: Vec<(String, usize)> = match &trusted {
        Some(hash) => vec![(device_key(hash), DEVICE_LIMIT)],
        None => throttle_keys(&email, ip).to_vec(),
    };
    let mut wait = None;
    for (key, limit) in &keys {
        wait = wait.max(throttled_for(&mut tx, key, *limit, now).await?);
    }
    if let Some(minutes) = wait {
        // Audited once per account (or once for all unknown ones) per window: a script hammering the
        // login form must not flood the append-only log.
        let actor = audit_actor(&mut tx, &email).await?;
        let window = now - Duration::minutes(THROTTLE_WINDOW_MINUTES);
        if !repo::throttle_audited_since(&mut tx, actor.user_id, window).await? {
            audit::record(
                &mut tx,
                now,
                &actor,
                "login.throttled",
                None,
                "sign-in refused: too many failures (further refusals in the next 15 minutes are not logged)",
            )
            .await?;
            tx.commit().await?;
        }
        return Ok(LoginOutcome::Throttled { minutes });
    }
    let mut pending = Vec::with_capacity(keys.len());
    for (key, _) in &keys {
        pending.push(repo::insert_failure(&mut tx, key, now).await?);
    }
    tx.commit().await?;

    let ok = password::verify(
        state,
        password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    let mut tx = begin_write(&state.pool).await?;
    match user.filter(|_| ok) {
        Some(user) => {
            for id in pending {
                repo::delete_failure(&mut tx, id).await?;
            }
            // The person's own failures are forgiven; from a known device, other addresses' guesses at
            // the account are not (they were never counted against this device).
            match &trusted {
                Some(hash) => {
                    repo::clear_failures(&mut tx, &keys[0].0).await?;
                    repo::delete_device(&mut tx, hash).await?;
                }
                None => {
                    repo::clear_failures(&mut tx, &keys[0].0).await?;
                    repo::clear_failures(&mut tx, &keys[1].0).await?;
                }
            }
            let device = new_token();
            repo::insert_device(&mut tx, &hash_token(&device), user.id, now).await?;
            let token = new_token();
            repo::insert_session(&mut tx, &hash_token(&token), user.id, &new_token(), now).await?;
            audit::record(
                &mut tx,
                now,
                &Actor::staff(user.id, &user.email),
                "login",
                None,
                if trusted.is_some() {
                    "signed in (known device)"
                } else {
                    "signed in"
                },
            )
            .await?;
            tx.commit().await?;
            Ok(LoginOutcome::Success { token, device })
        }
        None => {
            let actor = audit_actor(&mut tx, &email).await?;
            audit::record(
                &mut tx,
                now,
                &actor,
                "login.failed",
                None,
                "wrong email or password",
            )
            .await?;
            tx.commit().await?;
            Ok(LoginOutcome::Invalid)
        }
    }
}

/// Loads a session if it exists and has not expired (idle or absolute); refreshes its idle timer.
pub async fn current_session(
    state: &AppState,
    token: &str,
) -> Result<Option<(String, SessionRow)>> {
    let id_hash = hash_token(token);
    let Some(row) = repo::session(&state.pool, &id_hash).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    let idle = Duration::minutes(state.config.session.idle_minutes);
    let absolute = Duration::hours(state.config.session.absolute_hours);
    if now - row.last_seen_at > idle || now - row.created_at > absolute {
        repo::delete_session(&state.pool, &id_hash).await?;
        return Ok(None);
    }
    // One write a minute is enough to keep the idle timer honest.
    if now - row.last_seen_at > Duration::seconds(60) {
        repo::touch_session(&state.pool, &id_hash, now).await?;
    }
    Ok(Some((id_hash, row)))
}

/// Ends a session and records the logout.
#[tracing::instrument(skip_all)]
pub async fn logout(state: &AppState, id_hash: &str, user: UserId, email: &str) -> Result<()> {
    repo::delete_session(&state.pool, id_hash).await?;
    let mut conn = state.pool.acquire().await?;
    audit::record(
        &mut conn,
        state.clock.now(),
        &Actor::staff(user, email),
        "logout",
        None,
        "signed out",
    )
    .await?;
    Ok(())
}

/// Creates a staff account (CLI and first-admin setup).
#[tracing::instrument(skip_all)]
pub async fn create_user(
    state: &AppState,
    email: &Email,
    role: Role,
    pw: NewPassword,
    actor: &Actor,
) -> Result<UserId> {
    let hash = password::hash(state, pw.expose().to_string()).await?;
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    if repo::email_taken(&mut tx, email.as_str()).await? {
        return Err(AppError::BadRequest(format!(
            "a staff account for {} already exists",
            email.as_str()
        )));
    }
    let id = repo::insert_user(&mut tx, email.as_str(), role, &hash, now).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "user.create",
        None,
        &format!("{} account {}", role, email.as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Sets a new password for an existing account and ends its sessions (CLI).
#[tracing::instrument(skip_all)]
pub async fn reset_password(state: &AppState, email: &Email, pw: NewPassword) -> Result<()> {
    let hash = password::hash(state, pw.expose().to_string()).await?;
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    // Any account that is not deleted: a disabled one stays disabled; an invited one is set up by it.
    let Some(user) = crate::staff::repo::by_email(&mut *tx, email.as_str()).await? else {
        return Err(AppError::BadRequest(format!(
            "there is no staff account for {}",
            email.as_str()
        )));
    };
    repo::set_password(&mut tx, user.id, &hash).await?;
    if user.status == crate::staff::Status::Invited {
        crate::staff::repo::activate(&mut tx, user.id, &hash).await?;
    }
    repo::clear_failures(&mut tx, &account_key(email.as_str())).await?;
    audit::record(
        &mut tx,
        now,
        &Actor::cli(),
        "user.password",
        None,
        &format!("password reset for {}", user.email),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// If no admin exists, makes a one-time setup token and returns it (to print, never to log).
pub async fn setup_token_if_needed(state: &AppState) -> Result<Option<String>> {
    if repo::count_admins(&state.pool).await? > 0 {
        return Ok(None);
    }
    let token = new_token();
    repo::replace_setup_token(&state.pool, &hash_token(&token), state.clock.now()).await?;
    Ok(Some(token))
}

/// Whether a setup token may still be used (unused, recent, and no admin exists yet).
pub async fn setup_token_usable(state: &AppState, token: &str) -> Result<bool> {
    if !super::token::looks_like_token(token) || repo::count_admins(&state.pool).await? > 0 {
        return Ok(false);
    }
    let mut conn = state.pool.acquire().await?;
    let not_before = state.clock.now() - Duration::hours(SETUP_TOKEN_HOURS);
    Ok(repo::setup_token_valid(&mut conn, &hash_token(token), not_before).await?)
}

/// Creates the first admin with a setup token and signs them in; the token dies with it. Returns the
/// session token and a device token (as a login does).
#[tracing::instrument(skip_all)]
pub async fn complete_setup(
    state: &AppState,
    token: &str,
    email: &Email,
    pw: NewPassword,
) -> Result<(String, String)> {
    let hash = password::hash(state, pw.expose().to_string()).await?;
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let not_before = now - Duration::hours(SETUP_TOKEN_HOURS);
    let admins = repo::count_admins(&mut *tx).await?;
    if admins > 0 || !repo::setup_token_valid(&mut tx, &hash_token(token), not_before).await? {
        return Err(AppError::NotFound);
    }
    let id = repo::insert_user(&mut tx, email.as_str(), Role::Admin, &hash, now).await?;
    repo::use_setup_token(&mut tx, &hash_token(token), now).await?;
    let actor = Actor::staff(id, email.as_str());
    audit::record(
        &mut tx,
        now,
        &actor,
        "user.create",
        None,
        "first admin created with the setup link",
    )
    .await?;
    let session = new_token();
    repo::insert_session(&mut tx, &hash_token(&session), id, &new_token(), now).await?;
    let device = new_token();
    repo::insert_device(&mut tx, &hash_token(&device), id, now).await?;
    audit::record(&mut tx, now, &actor, "login", None, "signed in").await?;
    tx.commit().await?;
    Ok((session, device))
}
