//! The rules of staff management and study access: invitations and setup links, role changes, disabling
//! and deleting (never the last active admin), grants, and the audit of refused requests.
use super::repo::{self, GrantRow, StaffRow};
use super::{Refusal, Status, StudyAccess, StudyRole, Visible};
use crate::audit::{self, Actor};
use crate::auth::extract::Staff;
use crate::auth::token::{hash_token, looks_like_token, new_token};
use crate::auth::{Email, NewPassword, Role, UserId, password};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::mail::messages::{Letter, staff_invite};
use crate::mail::outbox::enqueue_staff_invite;
use crate::state::AppState;
use crate::study::StudyId;
use chrono::{DateTime, Duration, Utc};
use sqlx::SqliteConnection;

/// How long a setup link works.
pub const SETUP_LINK_DAYS: i64 = 7;
/// A refused request is audited at most once per person, study and kind in this many minutes, so that a
/// script probing study ids cannot flood the log.
pub const REFUSAL_AUDIT_MINUTES: i64 = 10;
/// Most refusals of one kind audited per person in that window, whatever the study: probing study
/// numbers one after another must not flood the log.
pub const REFUSAL_AUDIT_MAX: i64 = 10;

const LAST_ADMIN: &str =
    "This is the last active admin: make another account an admin first. Nothing was changed.";

/// Every account that is not deleted, by email.
pub async fn list(state: &AppState) -> Result<Vec<StaffRow>> {
    Ok(repo::list(&state.pool).await?)
}

/// An account by email (CLI), or a clear refusal.
pub async fn find(state: &AppState, email: &Email) -> Result<StaffRow> {
    repo::by_email(&state.pool, email.as_str())
        .await?
        .ok_or_else(|| {
            AppError::BadRequest(format!("there is no staff account for {}", email.as_str()))
        })
}

async fn account(conn: &mut SqliteConnection, id: UserId) -> Result<StaffRow> {
    match repo::get(&mut *conn, id).await? {
        Some(u) if u.status != Status::Deleted => Ok(u),
        _ => Err(AppError::NotFound),
    }
}

/// A new setup link for `user`, stored as its hash; returns the link.
async fn mint_link(
    conn: &mut SqliteConnection,
    state: &AppState,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<String> {
    let token = new_token();
    let expires = now + Duration::days(SETUP_LINK_DAYS);
    repo::insert_link(conn, &hash_token(&token), user, now, expires).await?;
    Ok(format!("{}/welcome/{token}", state.config.base_url()))
}

/// What an invitation came to: the link to show the admin, under the file transport only (nobody reads
/// those files but someone on the server).
pub struct Invited {
    /// The new account.
    pub id: UserId,
    /// The setup link, shown once.
    pub link: Option<String>,
}

/// Invites a staff member: an account with no password, and an email with a one-time setup link queued in
/// the same transaction. Audited (no link in the log).
#[tracing::instrument(skip_all)]
pub async fn invite(state: &AppState, actor: &Actor, email: &Email, role: Role) -> Result<Invited> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    if repo::by_email(&mut *tx, email.as_str()).await?.is_some() {
        return Err(AppError::field(
            "invite-email",
            format!("A staff account for {} already exists.", email.as_str()),
        ));
    }
    let id = repo::insert_invited(&mut tx, email.as_str(), role, now).await?;
    enqueue_staff_invite(&mut tx, id, email.as_str(), now).await?;
    let link = if state.mailer.kind() == "file" {
        Some(mint_link(&mut tx, state, id, now).await?)
    } else {
        None
    };
    audit::record(
        &mut tx,
        now,
        actor,
        "user.invite",
        None,
        &format!("invited {} as {}", email.as_str(), role_name(role)),
    )
    .await?;
    tx.commit().await?;
    Ok(Invited { id, link })
}

/// How the pages and the log name an organisation role.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Analyst => "staff (per-study grants)",
    }
}

/// Writes the staff invitation of outbox message `id` as it is sent, with a fresh setup link; `None` when
/// its account no longer waits for one.
pub async fn invitation_letter(
    state: &AppState,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Option<Letter>> {
    let mut tx = begin_write(&state.pool).await?;
    let Some(user) = crate::mail::repo::staff_user_of(&mut tx, id).await? else {
        return Ok(None);
    };
    match repo::get(&mut *tx, user).await? {
        Some(row) if row.status == Status::Invited => {
            let link = mint_link(&mut tx, state, user, now).await?;
            tx.commit().await?;
            let role = role_name(row.role);
            Ok(Some(staff_invite(&link, role, SETUP_LINK_DAYS)?))
        }
        _ => Ok(None),
    }
}

/// The invited account a setup link belongs to, while the link is live (else `None`: a plain 404).
pub async fn setup_link_owner(state: &AppState, token: &str) -> Result<Option<StaffRow>> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    let mut conn = state.pool.acquire().await?;
    Ok(repo::link_owner(&mut conn, &hash_token(token), state.clock.now()).await?)
}

/// Sets the invited person's password through their link; every link of theirs dies. Audited.
#[tracing::instrument(skip_all)]
pub async fn complete_setup(state: &AppState, token: &str, pw: NewPassword) -> Result<()> {
    let hash = password::hash(state, pw.expose().to_string()).await?;
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let Some(user) = repo::link_owner(&mut tx, &hash_token(token), now).await? else {
        return Err(AppError::NotFound);
    };
    repo::activate(&mut tx, user.id, &hash).await?;
    audit::record(
        &mut tx,
        now,
        &Actor::staff(user.id, &user.email),
        "user.setup",
        None,
        "chose a password with the setup link",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Refuses a change that would leave no active admin.
async fn keep_an_admin(conn: &mut SqliteConnection, user: &StaffRow) -> Result<()> {
    if user.role == Role::Admin
        && user.status == Status::Active
        && repo::other_active_admins(conn, user.id).await? == 0
    {
        return Err(AppError::BadRequest(LAST_ADMIN.into()));
    }
    Ok(())
}

/// Changes an account's organisation role. Becoming an admin drops the study grants (an admin sees every
/// study); the last active admin keeps the role. Audited.
#[tracing::instrument(skip_all, fields(user = user.0))]
pub async fn set_role(state: &AppState, actor: &Actor, user: UserId, role: Role) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let row = account(&mut tx, user).await?;
    if row.role == role {
        return Err(AppError::BadRequest(format!(
            "{} is already {}.",
            row.email,
            role_name(role)
        )));
    }
    if role != Role::Admin {
        keep_an_admin(&mut tx, &row).await?;
    } else {
        repo::delete_grants_of(&mut tx, user).await?;
    }
    repo::set_role(&mut tx, user, role).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "user.role",
        None,
        &format!(
            "{}: {} → {}",
            row.email,
            role_name(row.role),
            role_name(role)
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Disables an account and ends its sessions at once (never the last active admin). Audited.
#[tracing::instrument(skip_all, fields(user = user.0))]
pub async fn disable(state: &AppState, actor: &Actor, user: UserId) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let row = account(&mut tx, user).await?;
    if row.status == Status::Disabled {
        return Err(AppError::BadRequest(format!(
            "{} is already disabled.",
            row.email
        )));
    }
    keep_an_admin(&mut tx, &row).await?;
    repo::set_status(&mut tx, user, Status::Disabled).await?;
    repo::end_sessions(&mut tx, user).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "user.disable",
        None,
        &format!("disabled {}; their sessions were ended", row.email),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Lets a disabled account sign in again (or, if it never chose a password, use its setup link). Audited.
#[tracing::instrument(skip_all, fields(user = user.0))]
pub async fn enable(state: &AppState, actor: &Actor, user: UserId) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let row = account(&mut tx, user).await?;
    if row.status != Status::Disabled {
        return Err(AppError::BadRequest(format!(
            "{} is not disabled.",
            row.email
        )));
    }
    repo::reenable(&mut tx, user).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "user.enable",
        None,
        &format!("enabled {}", row.email),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes an account: sessions, grants and links go, the row stays as a tombstone for the audit log
/// (never the last active admin). Audited.
#[tracing::instrument(skip_all, fields(user = user.0))]
pub async fn delete(state: &AppState, actor: &Actor, user: UserId) -> Result<String> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let row = account(&mut tx, user).await?;
    keep_an_admin(&mut tx, &row).await?;
    repo::tombstone(&mut tx, user).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "user.delete",
        None,
        &format!("deleted the account of {}", row.email),
    )
    .await?;
    tx.commit().await?;
    Ok(row.email)
}

/// What `staff` may see of `study`: everything for an admin, their grant otherwise, `None` without one.
pub async fn access(
    state: &AppState,
    staff: &Staff,
    study: StudyId,
) -> Result<Option<StudyAccess>> {
    if staff.is_admin() {
        return Ok(Some(StudyAccess::Admin));
    }
    Ok(repo::grant_of(&state.pool, staff.user_id, study)
        .await?
        .map(StudyAccess::Granted))
}

/// Which studies `staff` may see listed.
pub async fn visible(state: &AppState, staff: &Staff) -> Result<Visible> {
    if staff.is_admin() {
        return Ok(Visible::All);
    }
    Ok(Visible::Only(
        repo::granted_studies(&state.pool, staff.user_id).await?,
    ))
}

/// Audits a refused request (`what`: method and path, no query string), at most once per person, study
/// and kind every `REFUSAL_AUDIT_MINUTES`, and at most `REFUSAL_AUDIT_MAX` times per person and kind in
/// that window.
#[tracing::instrument(skip_all, fields(study = ?study))]
pub async fn record_refusal(
    state: &AppState,
    staff: &Staff,
    study: Option<i64>,
    kind: Refusal,
    what: &str,
) -> Result<()> {
    let now = state.clock.now();
    let since = now - Duration::minutes(REFUSAL_AUDIT_MINUTES);
    // A read first: a flood of refused requests takes no write lock; the check is repeated under it.
    let mut conn = state.pool.acquire().await?;
    if repo::refusal_audited_since(&mut conn, staff.user_id, kind.action(), study, since).await?
        || repo::refusals_since(&mut conn, staff.user_id, kind.action(), since).await?
            >= REFUSAL_AUDIT_MAX
    {
        return Ok(());
    }
    drop(conn);
    let mut tx = begin_write(&state.pool).await?;
    if repo::refusal_audited_since(&mut tx, staff.user_id, kind.action(), study, since).await?
        || repo::refusals_since(&mut tx, staff.user_id, kind.action(), since).await?
            >= REFUSAL_AUDIT_MAX
    {
        return Ok(());
    }
    let what = crate::audit::path_without_ids(what);
    let detail = match kind {
        Refusal::NotGranted => format!("{what}: no grant for this study (answered 404)"),
        Refusal::Forbidden => format!("{what}: the role does not allow it (answered 403)"),
    };
    audit::record(&mut tx, now, &staff.actor(), kind.action(), study, &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// A study's grants, for its access page.
pub async fn grants(state: &AppState, study: StudyId) -> Result<Vec<GrantRow>> {
    Ok(repo::grants_of_study(&state.pool, study).await?)
}

/// Grants a staff member who is not an admin a study role (or changes it). Audited.
#[tracing::instrument(skip_all, fields(study = study.0, user = user.0))]
pub async fn grant(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    user: UserId,
    role: StudyRole,
) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let row = account(&mut tx, user)
        .await
        .map_err(|_| AppError::BadRequest("Choose a staff member from the list.".into()))?;
    if row.role == Role::Admin {
        return Err(AppError::BadRequest(format!(
            "{} is an admin and sees every study already.",
            row.email
        )));
    }
    repo::upsert_grant(&mut tx, study, user, role, now).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "study.grant",
        Some(study.0),
        &format!("{} granted {}", row.email, role.label()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Takes a grant back. Audited.
#[tracing::instrument(skip_all, fields(study = study.0, user = user.0))]
pub async fn revoke(state: &AppState, actor: &Actor, study: StudyId, user: UserId) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let email = repo::get(&mut *tx, user).await?.map(|u| u.email);
    if !repo::delete_grant(&mut tx, study, user).await? {
        return Err(AppError::BadRequest(
            "That person has no grant on this study.".into(),
        ));
    }
    audit::record(
        &mut tx,
        now,
        actor,
        "study.revoke",
        Some(study.0),
        &format!("{}: grant revoked", email.unwrap_or_default()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
