//! Invitations: the group the study's phase calls for, and the control group, each with a fresh link
//! (minted when the email is sent).
use super::instrument::instrument;
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::mail::Kind;
use crate::mail::outbox::{NewMessage, enqueue};
use crate::participants::Group;
use crate::participants::repo;
use crate::state::AppState;
use crate::study::repo::StudyRow;
use crate::study::{Status, StudyId};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

/// Which group the study's phase invites, with the button's words (none outside the pilot and collection).
pub fn invite_label(status: Status) -> Option<&'static str> {
    Group::invited_in(status).map(Group::invite_label)
}

/// Invites the group the study's phase calls for (pilot group in pilot, main sample in collection), each with
/// a fresh magic link; the emails go to the outbox in the same transaction. Returns how many were invited.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn invite(state: &AppState, actor: &Actor, study: StudyId) -> Result<usize> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let s = crate::study::repo::get(&mut *tx, study)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::retention::service::ensure_not_purged(&mut tx, study).await?;
    let Some(role) = Group::invited_in(s.status()) else {
        return Err(AppError::Conflict(format!(
            "Invitations go out in the pilot (pilot group) and in collection (main sample); the study is in {}.",
            s.status().label()
        )));
    };
    instrument(&mut tx, study, now).await?;
    if role == Group::Main {
        // From collection on the wording is frozen: every answer can be traced to one version.
        repo::freeze_instrument(&mut tx, study, now).await?;
    }
    let members = repo::uninvited(&mut tx, study, role).await?;
    for (employee, email) in &members {
        let participant = repo::insert_participant(&mut tx, study, *employee, role, now).await?;
        queue_invitation(&mut tx, &s, participant, email, now).await?;
    }
    let detail = format!("{} {} invitations queued", members.len(), role.as_str());
    audit::record(
        &mut tx,
        now,
        actor,
        "invitations.send",
        Some(study.0),
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(members.len())
}

/// Writes one invitation to the outbox; its link is minted when it is sent.
async fn queue_invitation(
    tx: &mut SqliteConnection,
    study: &StudyRow,
    participant: i64,
    email: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let msg = NewMessage::to_participant(study.id.0, participant, Kind::Invitation, email);
    enqueue(tx, &msg, now).await?;
    Ok(())
}

/// Most people one control-group request may name.
pub const CONTROL_BATCH_MAX: usize = 500;

/// Invites employees without a copilot seat as the control group of Instrument C (they log the same task
/// categories with their minutes; no pings). `list` holds employee ids or emails, one per line or separated
/// by commas. All or nothing: any unknown, sampled, already invited or copilot-using person refuses the
/// whole list with every problem named. Only during collection, beside the main sample.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn invite_control(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    list: &str,
) -> Result<usize> {
    control_invitations(state, actor, study, list, true).await
}

/// Checks a control-group list by the same rules as `invite_control` and says how many it would invite,
/// changing nothing (for the confirmation page).
pub async fn check_control(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    list: &str,
) -> Result<usize> {
    control_invitations(state, actor, study, list, false).await
}

async fn control_invitations(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    list: &str,
    commit: bool,
) -> Result<usize> {
    let keys: Vec<&str> = list
        .split(['\n', ','])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        return Err(AppError::BadRequest(
            "Name at least one employee id or email, one per line.".into(),
        ));
    }
    if keys.len() > CONTROL_BATCH_MAX {
        return Err(AppError::BadRequest(format!(
            "At most {CONTROL_BATCH_MAX} people per request; this list names {}.",
            keys.len()
        )));
    }
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let s = crate::study::repo::get(&mut *tx, study)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::retention::service::ensure_not_purged(&mut tx, study).await?;
    if s.status() != Status::Collection {
        return Err(AppError::Conflict(format!(
            "The control group is invited during collection, beside the main sample; the study is in {}.",
            s.status().label()
        )));
    }
    instrument(&mut tx, study, now).await?;
    let mut problems = Vec::new();
    let mut found: Vec<(i64, String)> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let line = i + 1;
        // Names are echoed only as their position: an email is not repeated back into a page or a log.
        match repo::control_candidate(&mut tx, study, key).await? {
            None => problems.push(format!("entry {line}: not on the roster")),
            Some(c) if c.sampled => problems.push(format!(
                "entry {line}: drawn into the sample, so cannot also be a control"
            )),
            Some(c) if c.participant => {
                problems.push(format!("entry {line}: already a participant"))
            }
            Some(c) if c.has_usage => problems.push(format!(
                "entry {line}: the usage data shows copilot use; a control has no seat"
            )),
            Some(c) if found.iter().any(|(e, _)| *e == c.employee) => {
                problems.push(format!("entry {line}: named twice"))
            }
            Some(c) => found.push((c.employee, c.email)),
        }
    }
    if !problems.is_empty() {
        let shown = problems.len().min(10);
        let more = if problems.len() > shown {
            format!(" (and {} more)", problems.len() - shown)
        } else {
            String::new()
        };
        return Err(AppError::BadRequest(format!(
            "Nobody was invited: {}{more}.",
            problems[..shown].join("; ")
        )));
    }
    if !commit {
        tx.rollback().await?;
        return Ok(found.len());
    }
    for (employee, email) in &found {
        let participant = repo::insert_control_participant(&mut tx, study, *employee, now).await?;
        queue_invitation(&mut tx, &s, participant, email, now).await?;
    }
    audit::record(
        &mut tx,
        now,
        actor,
        "control.invite",
        Some(study.0),
        &format!("{} control-group invitations queued", found.len()),
    )
    .await?;
    tx.commit().await?;
    Ok(found.len())
}
