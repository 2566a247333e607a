//! SQL for staff standing, setup links, study grants and the refusal audit's window.
use super::{Status, StudyRole};
use crate::auth::{Role, UserId};
use crate::study::StudyId;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

/// A staff account as the staff page shows it.
#[derive(Clone, Debug, FromRow)]
pub struct StaffRow {
    /// Id.
    pub id: UserId,
    /// Lower-cased email.
    pub email: String,
    /// Organisation role.
    pub role: Role,
    /// Standing.
    pub status: Status,
}

/// Every account that is not deleted, by email.
pub async fn list<'e>(db: impl SqliteExecutor<'e>) -> sqlx::Result<Vec<StaffRow>> {
    sqlx::query_as(
        "SELECT id, email, role, status FROM users WHERE status <> 'deleted' ORDER BY email",
    )
    .fetch_all(db)
    .await
}

/// One account (deleted ones too).
pub async fn get<'e>(db: impl SqliteExecutor<'e>, id: UserId) -> sqlx::Result<Option<StaffRow>> {
    sqlx::query_as("SELECT id, email, role, status FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// An account that is not deleted, by (lower-cased) email.
pub async fn by_email<'e>(
    db: impl SqliteExecutor<'e>,
    email: &str,
) -> sqlx::Result<Option<StaffRow>> {
    sqlx::query_as(
        "SELECT id, email, role, status FROM users WHERE email = ? AND status <> 'deleted'",
    )
    .bind(email)
    .fetch_optional(db)
    .await
}

/// Adds an invited account, with no usable password.
pub async fn insert_invited(
    conn: &mut SqliteConnection,
    email: &str,
    role: Role,
    now: DateTime<Utc>,
) -> sqlx::Result<UserId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, role, password_hash, created_at, status) VALUES (?, ?, '', ?, 'invited') RETURNING id",
    )
    .bind(email)
    .bind(role)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(UserId(id))
}

/// Active admins other than `except`.
pub async fn other_active_admins(conn: &mut SqliteConnection, except: UserId) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND status = 'active' AND id <> ?",
    )
    .bind(except)
    .fetch_one(conn)
    .await
}

/// Changes the organisation role.
pub async fn set_role(conn: &mut SqliteConnection, id: UserId, role: Role) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET role = ? WHERE id = ?")
        .bind(role)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Changes the standing.
pub async fn set_status(
    conn: &mut SqliteConnection,
    id: UserId,
    status: Status,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET status = ? WHERE id = ?")
        .bind(status)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Lifts a disable: back to active, or to invited when no password was ever chosen.
pub async fn reenable(conn: &mut SqliteConnection, id: UserId) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET status = CASE WHEN password_hash = '' THEN 'invited' ELSE 'active' END WHERE id = ?",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends every session of an account at once, and forgets its device cookies: a disabled account's
/// browsers are strangers again (re-enabled, it signs in afresh).
pub async fn end_sessions(conn: &mut SqliteConnection, id: UserId) -> sqlx::Result<()> {
    for sql in [
        "DELETE FROM sessions WHERE user_id = ?",
        "DELETE FROM device_tokens WHERE user_id = ?",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Turns an account into a tombstone: no email, no password, no grants, no links, no sessions, no device
/// cookies. The row stays because the append-only audit log refers to its id (so nothing cascades).
pub async fn tombstone(conn: &mut SqliteConnection, id: UserId) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET status = 'deleted', password_hash = '', email = 'deleted-' || id || '@deleted.invalid' WHERE id = ?",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    for sql in [
        "DELETE FROM sessions WHERE user_id = ?",
        "DELETE FROM device_tokens WHERE user_id = ?",
        "DELETE FROM study_grants WHERE user_id = ?",
        "DELETE FROM staff_setup_links WHERE user_id = ?",
        "DELETE FROM outbox WHERE staff_user = ? AND status = 'pending'",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Stores a setup link's hash.
pub async fn insert_link(
    conn: &mut SqliteConnection,
    token_hash: &str,
    user: UserId,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO staff_setup_links (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(token_hash)
    .bind(user)
    .bind(now)
    .bind(expires)
    .execute(conn)
    .await?;
    Ok(())
}

/// The invited account a live setup link belongs to.
pub async fn link_owner(
    conn: &mut SqliteConnection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<StaffRow>> {
    sqlx::query_as(
        "SELECT u.id, u.email, u.role, u.status FROM staff_setup_links l JOIN users u ON u.id = l.user_id
         WHERE l.token_hash = ? AND l.expires_at > ? AND u.status = 'invited'",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Sets the password of an invited account, makes it active and kills all its setup links.
pub async fn activate(
    conn: &mut SqliteConnection,
    id: UserId,
    password_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET password_hash = ?, status = 'active' WHERE id = ? AND status = 'invited'",
    )
    .bind(password_hash)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM staff_setup_links WHERE user_id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The grant of one account on one study.
pub async fn grant_of<'e>(
    db: impl SqliteExecutor<'e>,
    user: UserId,
    study: StudyId,
) -> sqlx::Result<Option<StudyRole>> {
    sqlx::query_scalar("SELECT role FROM study_grants WHERE user_id = ? AND study_id = ?")
        .bind(user)
        .bind(study)
        .fetch_optional(db)
        .await
}

/// The studies an account is granted.
pub async fn granted_studies<'e>(
    db: impl SqliteExecutor<'e>,
    user: UserId,
) -> sqlx::Result<Vec<StudyId>> {
    sqlx::query_scalar("SELECT study_id FROM study_grants WHERE user_id = ? ORDER BY study_id")
        .bind(user)
        .fetch_all(db)
        .await
}

/// A grant with its holder, for a study's access page.
#[derive(Clone, Debug, FromRow)]
pub struct GrantRow {
    /// The account.
    pub user_id: UserId,
    /// Its email.
    pub email: String,
    /// Its standing.
    pub status: Status,
    /// The study role.
    pub role: StudyRole,
}

/// A study's grants, by email.
pub async fn grants_of_study<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<GrantRow>> {
    sqlx::query_as(
        "SELECT g.user_id, u.email, u.status, g.role FROM study_grants g JOIN users u ON u.id = g.user_id
         WHERE g.study_id = ? ORDER BY u.email",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// Grants (or changes the grant of) one account on one study.
pub async fn upsert_grant(
    conn: &mut SqliteConnection,
    study: StudyId,
    user: UserId,
    role: StudyRole,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO study_grants (study_id, user_id, role, granted_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (study_id, user_id) DO UPDATE SET role = excluded.role, granted_at = excluded.granted_at",
    )
    .bind(study)
    .bind(user)
    .bind(role)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a grant; whether there was one.
pub async fn delete_grant(
    conn: &mut SqliteConnection,
    study: StudyId,
    user: UserId,
) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM study_grants WHERE study_id = ? AND user_id = ?")
        .bind(study)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Removes every grant of an account (it became an admin, who needs none).
pub async fn delete_grants_of(conn: &mut SqliteConnection, user: UserId) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM study_grants WHERE user_id = ?")
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many refusals of this kind were audited for this person since `since`, any study.
pub async fn refusals_since(
    conn: &mut SqliteConnection,
    user: UserId,
    action: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE user_id = ? AND action = ? AND at >= ?",
    )
    .bind(user)
    .bind(action)
    .bind(since)
    .fetch_one(conn)
    .await
}

/// Whether a refusal of this kind was audited for this person and study since `since`.
pub async fn refusal_audited_since(
    conn: &mut SqliteConnection,
    user: UserId,
    action: &str,
    study: Option<i64>,
    since: DateTime<Utc>,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM audit_log WHERE user_id = ? AND action = ? AND study_id IS ? AND at >= ?)",
    )
    .bind(user)
    .bind(action)
    .bind(study)
    .bind(since)
    .fetch_one(conn)
    .await
}
