//! The diary's rules: when it is open, and saving an entry (or a control task) inside that window.
use super::repo::{self, ControlTaskRow, DiaryRow};
use super::{ControlTask, DiaryEntry, DiaryForm};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::participants::Arm;
use crate::participants::repo::ParticipantRow;
use crate::participants::service::{instrument, local_today};
use crate::state::AppState;
use chrono::{DateTime, Utc};

/// Whether this participant may log diary entries now.
pub fn diary_open(p: &ParticipantRow, now: DateTime<Utc>) -> bool {
    let today = local_today(p, now);
    p.accepted() && p.withdrawn_at.is_none() && in_window(p, today)
}

/// Whether `today` (the participant's local date) falls inside their diary window.
pub fn in_window(p: &ParticipantRow, today: chrono::NaiveDate) -> bool {
    p.diary_opens_on.is_some_and(|d| d <= today) && p.diary_closes_on.is_some_and(|d| today <= d)
}

/// A write transaction for a diary change, with the instrument version and the time; refused once the
/// participant's diary window has closed.
async fn open_diary(
    state: &AppState,
    p: &ParticipantRow,
) -> Result<(sqlx::Transaction<'static, sqlx::Sqlite>, i64, DateTime<Utc>)> {
    let now = state.clock.now();
    if !diary_open(p, now) {
        return Err(AppError::Conflict(
            "The diary is closed; entries can no longer be added or changed.".into(),
        ));
    }
    let mut tx = begin_write(&state.pool).await?;
    let version = instrument(&mut tx, p.study_id, now).await?.version;
    Ok((tx, version, now))
}

/// Adds (or, with `id`, edits) a diary entry while the diary window is open.
#[tracing::instrument(skip_all, fields(study = p.study_id.0, participant = p.id))]
pub async fn save_diary(
    state: &AppState,
    p: &ParticipantRow,
    id: Option<i64>,
    e: &DiaryEntry,
) -> Result<()> {
    let (mut tx, version, now) = open_diary(state, p).await?;
    match id {
        None => repo::insert_diary(&mut tx, p.id, e, version, now).await?,
        Some(id) => {
            if !repo::update_diary(&mut tx, p.id, id, e, now).await? {
                return Err(AppError::NotFound);
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Adds (or, with `id`, edits) a control participant's task while their diary is open.
#[tracing::instrument(skip_all, fields(study = p.study_id.0, participant = p.id))]
pub async fn save_control_task(
    state: &AppState,
    p: &ParticipantRow,
    id: Option<i64>,
    t: &ControlTask,
) -> Result<()> {
    let (mut tx, version, now) = open_diary(state, p).await?;
    if !repo::save_control_task(&mut tx, p.id, id, t, version, now).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// A participant's log as their page shows it: the diary entries, and for the control group their tasks.
pub struct Log {
    /// The control group's tasks, newest first (empty for the copilot arm).
    pub tasks: Vec<ControlTaskRow>,
    /// Diary entries, newest first.
    pub entries: Vec<DiaryRow>,
}

/// Reads a participant's log.
pub async fn log(state: &AppState, p: &ParticipantRow) -> Result<Log> {
    let mut conn = state.pool.acquire().await?;
    let tasks = if p.arm == Arm::Control {
        repo::control_tasks(&mut *conn, p.id).await?
    } else {
        Vec::new()
    };
    Ok(Log {
        tasks,
        entries: repo::diary(&mut *conn, p.id).await?,
    })
}

/// Checks a submitted entry against the instrument's categories (a copilot entry, or for the control group a
/// task with its minutes) and saves it; `Ok(Err(problems))` names each field to fix, as (field, message).
#[tracing::instrument(skip_all, fields(study = p.study_id.0, participant = p.id))]
pub async fn submit(
    state: &AppState,
    p: &ParticipantRow,
    id: Option<i64>,
    f: &DiaryForm,
) -> Result<std::result::Result<(), Vec<(String, String)>>> {
    let categories = {
        let mut conn = state.pool.acquire().await?;
        instrument(&mut conn, p.study_id, state.clock.now())
            .await?
            .categories()
    };
    match p.arm {
        Arm::Control => match ControlTask::parse(f, &categories) {
            Ok(t) => save_control_task(state, p, id, &t).await.map(Ok),
            Err(problems) => Ok(Err(problems)),
        },
        Arm::Copilot => match DiaryEntry::parse(f, &categories) {
            Ok(e) => save_diary(state, p, id, &e).await.map(Ok),
            Err(problems) => Ok(Err(problems)),
        },
    }
}
