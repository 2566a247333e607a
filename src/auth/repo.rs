//! SQL for staff accounts, sessions, throttling and setup tokens.
use super::{Role, UserId};
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection, SqlitePool};

/// A staff account as stored.
#[derive(Clone, Debug, FromRow)]
pub struct UserRow {
    /// Id.
    pub id: UserId,
    /// Lower-cased email.
    pub email: String,
    /// What they may do.
    pub role: Role,
    /// argon2 PHC string.
    pub password_hash: String,
}

/// A live session joined with its user.
#[derive(Clone, Debug, FromRow)]
pub struct SessionRow {
    /// The user.
    pub user_id: UserId,
    /// User's email.
    pub email: String,
    /// User's role.
    pub role: Role,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// Last request.
    pub last_seen_at: DateTime<Utc>,
}

/// Finds an account that may sign in (active: not invited, disabled or deleted) by (lower-cased) email.
pub async fn user_by_email(
    conn: &mut SqliteConnection,
    email: &str,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(
        "SELECT id, email, role, password_hash FROM users WHERE email = ? AND status = 'active'",
    )
    .bind(email)
    .fetch_optional(conn)
    .await
}

/// Whether any account (invited, active or disabled) has this (lower-cased) email.
pub async fn email_taken(conn: &mut SqliteConnection, email: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = ?)")
        .bind(email)
        .fetch_one(conn)
        .await
}

/// Inserts a user; the caller has checked the email is free.
pub async fn insert_user(
    conn: &mut SqliteConnection,
    email: &str,
    role: Role,
    password_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<UserId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, role, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(email)
    .bind(role)
    .bind(password_hash)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(UserId(id))
}

/// Replaces a user's password hash and ends all their sessions and device cookies.
pub async fn set_password(
    conn: &mut SqliteConnection,
    user: UserId,
    password_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
        .bind(password_hash)
        .bind(user)
        .execute(&mut *conn)
        .await?;
    for sql in [
        "DELETE FROM sessions WHERE user_id = ?",
        "DELETE FROM device_tokens WHERE user_id = ?",
    ] {
        sqlx::query(sql).bind(user).execute(&mut *conn).await?;
    }
    Ok(())
}

/// How many active admins exist.
pub async fn count_admins<'e>(db: impl sqlx::SqliteExecutor<'e>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND status = 'active'")
        .fetch_one(db)
        .await
}

/// Stores a new session (its id hashed).
pub async fn insert_session(
    conn: &mut SqliteConnection,
    id_hash: &str,
    user: UserId,
    csrf: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id_hash)
    .bind(user)
    .bind(csrf)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Loads a session with its user.
pub async fn session(pool: &SqlitePool, id_hash: &str) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as(
        "SELECT s.user_id, u.email, u.role, s.csrf_token, s.created_at, s.last_seen_at
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND u.status = 'active'",
    )
    .bind(id_hash)
    .fetch_optional(pool)
    .await
}

/// Marks a session as used now.
pub async fn touch_session(
    pool: &SqlitePool,
    id_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?")
        .bind(now)
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Ends one session.
pub async fn delete_session(pool: &SqlitePool, id_hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Removes sessions past either expiry.
pub async fn delete_expired_sessions(
    pool: &SqlitePool,
    idle_before: DateTime<Utc>,
    created_before: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?")
        .bind(idle_before)
        .bind(created_before)
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}

/// Failures recorded for a throttle key since `since`, oldest first.
pub async fn failures_since(
    conn: &mut SqliteConnection,
    key_hash: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT at FROM login_failures WHERE key_hash = ? AND at >= ? ORDER BY at")
        .bind(key_hash)
        .bind(since)
        .fetch_all(conn)
        .await
}

/// Records one failed (or not yet checked) login under a throttle key; returns its id.
pub async fn insert_failure(
    conn: &mut SqliteConnection,
    key_hash: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar("INSERT INTO login_failures (key_hash, at) VALUES (?, ?) RETURNING id")
        .bind(key_hash)
        .bind(at)
        .fetch_one(conn)
        .await
}

/// Takes back a recorded attempt that turned out to be a success.
pub async fn delete_failure(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets the failures of a key (after a successful login).
pub async fn clear_failures(conn: &mut SqliteConnection, key_hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE key_hash = ?")
        .bind(key_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Replaces any unused setup token with a new one.
pub async fn replace_setup_token(
    pool: &SqlitePool,
    token_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let mut tx = crate::db::begin_write(pool).await?;
    sqlx::query("DELETE FROM setup_tokens WHERE used_at IS NULL")
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES (?, ?)")
        .bind(token_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Whether an unused setup token with this hash exists and was created after `not_before`.
pub async fn setup_token_valid(
    conn: &mut SqliteConnection,
    token_hash: &str,
    not_before: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = ? AND used_at IS NULL AND created_at >= ?",
    )
    .bind(token_hash)
    .bind(not_before)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Uses up a setup token.
pub async fn use_setup_token(
    conn: &mut SqliteConnection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE setup_tokens SET used_at = ? WHERE token_hash = ?")
        .bind(now)
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets throttle records older than `before`.
pub async fn delete_failures_before(pool: &SqlitePool, before: DateTime<Utc>) -> sqlx::Result<u64> {
    let r = sqlx::query("DELETE FROM login_failures WHERE at < ?")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}

/// The account a device token belongs to, if it exists and was issued after `not_before`.
pub async fn device_user(
    conn: &mut SqliteConnection,
    token_hash: &str,
    not_before: DateTime<Utc>,
) -> sqlx::Result<Option<UserId>> {
    sqlx::query_scalar("SELECT user_id FROM device_tokens WHERE token_hash = ? AND created_at >= ?")
        .bind(token_hash)
        .bind(not_before)
        .fetch_optional(conn)
        .await
}

/// Stores a device token (its hash) for an account.
pub async fn insert_device(
    conn: &mut SqliteConnection,
    token_hash: &str,
    user: UserId,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO device_tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)")
        .bind(token_hash)
        .bind(user)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets one device token (replaced at each sign-in).
pub async fn delete_device(conn: &mut SqliteConnection, token_hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM device_tokens WHERE token_hash = ?")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets device tokens issued before `before`.
pub async fn delete_devices_before(pool: &SqlitePool, before: DateTime<Utc>) -> sqlx::Result<u64> {
    let r = sqlx::query("DELETE FROM device_tokens WHERE created_at < ?")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}

/// Whether a throttled sign-in was audited for this account (`None`: for an unknown one) since `since`.
pub async fn throttle_audited_since(
    conn: &mut SqliteConnection,
    user: Option<UserId>,
    since: DateTime<Utc>,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM audit_log WHERE action = 'login.throttled' AND user_id IS ? AND at >= ?)",
    )
    .bind(user)
    .bind(since)
    .fetch_one(conn)
    .await
}
