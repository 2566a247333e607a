//! The purge: due studies found by the tick (catch-up, once per study), or one study on an admin's
//! confirmed request; the snapshot frozen first, then the person-level rows deleted in one transaction,
//! audited with counts only, and the WAL checkpointed so the deleted bytes leave the files.
use super::{Counts, Purged, Snapshot, repo};
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::reports::compute::Audience;
use crate::staff::{StudyAccess, StudyRole};
use crate::state::AppState;
use crate::study::StudyId;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::SqliteConnection;

/// The study's purge, if its raw data is gone.
pub async fn purged(state: &AppState, id: StudyId) -> Result<Option<Purged>> {
    let Some((on, json)) = repo::purge(&state.pool, id).await? else {
        return Ok(None);
    };
    let snapshot: Snapshot = serde_json::from_str(&json)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("snapshot of study {}: {e}", id.0)))?;
    Ok(Some(Purged { on, snapshot }))
}

/// The day a purged study lost its raw data, if it did (no snapshot parsed).
pub async fn purged_on(state: &AppState, id: StudyId) -> Result<Option<NaiveDate>> {
    Ok(repo::purge(&state.pool, id).await?.map(|(on, _)| on))
}

/// Refuses, with a plain message, what needs a purged study's raw data.
pub async fn require_raw_data(state: &AppState, id: StudyId) -> Result<()> {
    match purged_on(state, id).await? {
        Some(on) => Err(AppError::Conflict(format!(
            "The raw data of this study was purged on {on} (its retention date). Only the aggregate \
             results remain: see the report, the readout and summary.csv."
        ))),
        None => Ok(()),
    }
}

/// Inside a write transaction: refuses whatever would bring person-level data back into a purged study
/// (a roster or usage import, a sample draw, invitations, a move to the next phase). Rows written after
/// the purge would never be purged again, so a purged study is closed for good.
pub async fn ensure_not_purged(conn: &mut SqliteConnection, id: StudyId) -> Result<()> {
    match repo::purge(&mut *conn, id).await? {
        Some((on, _)) => Err(AppError::Conflict(closed_message(on))),
        None => Ok(()),
    }
}

/// Whether the study's raw data was purged, read inside the caller's transaction.
pub async fn is_purged(conn: &mut SqliteConnection, id: StudyId) -> Result<bool> {
    Ok(repo::purge(&mut *conn, id).await?.is_some())
}

fn closed_message(on: NaiveDate) -> String {
    format!(
        "The raw data of this study was purged on {on}; the study is closed: nothing can be imported, \
         drawn, sent or moved on any more. Only the aggregate results remain."
    )
}

/// The study's retention date: the admin's, or the default after the readout.
pub async fn retention_date(state: &AppState, id: StudyId) -> Result<Option<NaiveDate>> {
    let chosen = crate::study::repo::privacy_notice(&state.pool, id)
        .await?
        .and_then(|n| n.retention_until);
    let timeline = crate::study::repo::timeline(&state.pool, id).await?;
    Ok(crate::study::privacy::retention_date(chosen, &timeline))
}

/// The tick's step: purges every study whose retention date has passed (in its time zone) and that is not
/// purged yet. Returns how many were purged; running it again finds nothing.
#[tracing::instrument(skip_all)]
pub async fn retention_tick(state: &AppState, now: DateTime<Utc>) -> Result<usize> {
    let mut purged = 0;
    for id in repo::not_purged(&state.pool).await? {
        let Some(study) = crate::study::repo::get(&state.pool, id).await? else {
            continue;
        };
        let today = now.with_timezone(&study.tz()).date_naive();
        let Some(until) = retention_date(state, id).await? else {
            continue;
        };
        // Kept *until* the date: the purge comes the day after.
        if today > until {
            let reason = format!("retention date {until} passed");
            if purge(state, &Actor::system(), id, now, &reason)
                .await?
                .is_some()
            {
                purged += 1;
            }
        }
    }
    Ok(purged)
}

/// An admin's early purge. `confirmed` is the explicit choice from the form; without it nothing changes
/// (`Ok(Err(message))`). A study already purged is a conflict.
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn purge_early(
    state: &AppState,
    actor: &Actor,
    id: StudyId,
    confirmed: bool,
) -> Result<std::result::Result<Counts, String>> {
    if !confirmed {
        return Ok(Err(
            "Tick the box to confirm that every person-level record of this study is deleted now; nothing was deleted."
                .into(),
        ));
    }
    let now = state.clock.now();
    match purge(state, actor, id, now, "early purge by an admin").await? {
        Some(c) => Ok(Ok(c)),
        None => Err(AppError::Conflict(
            "The raw data of this study was already purged.".into(),
        )),
    }
}

/// Freezes the snapshot, then deletes the study's person-level rows in one transaction; `None` when the
/// study was already purged (nothing changes then).
#[tracing::instrument(skip_all, fields(study = id.0))]
async fn purge(
    state: &AppState,
    actor: &Actor,
    id: StudyId,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<Option<Counts>> {
    let study = crate::study::service::get(state, id).await?;
    if repo::purge(&state.pool, id).await?.is_some() {
        return Ok(None);
    }
    // Computed from the raw data before it goes: exactly what the pages showed (small cells hidden).
    let readout = crate::reports::readout::load(
        state,
        id,
        crate::stats::MIN_COMPLIANCE,
        Audience::Aggregates,
    )
    .await?;
    let groups = crate::reports::readout::freeze(readout.groups);
    let analyst = StudyAccess::Granted(StudyRole::DataAnalyst);
    let all = Audience::Aggregates;
    // A data analyst refused the raw files (rows that can't carry the cohort) read the full summary.
    let rows = if crate::export::service::raw_withheld_from(state, id, analyst).await? {
        all
    } else {
        Audience::RawFiles
    };
    let snapshot = Snapshot {
        view: crate::reports::view::view(state, id, all).await?,
        raw_view: Some(crate::reports::view::view(state, id, rows).await?),
        summary_csv: crate::export::service::summary_csv(state, id, all).await?,
        raw_summary_csv: Some(crate::export::service::summary_csv(state, id, rows).await?),
        kept: readout.kept,
        groups,
    };
    let json = serde_json::to_string(&snapshot)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("snapshot: {e}")))?;
    let on = now.with_timezone(&study.tz()).date_naive();
    let mut tx = begin_write(&state.pool).await?;
    if repo::purge(&mut *tx, id).await?.is_some() {
        return Ok(None);
    }
    let message_ids = repo::message_ids(&mut tx, id).await?;
    let mut counts = repo::delete_person_rows(&mut tx, id).await?;
    // The mail files go before the commit, as in an erasure: should the commit fail, the rows stay and the
    // purge runs again; a file that cannot be deleted fails the purge instead of leaving a copy behind.
    let mail_dir = state.config.mail_dir();
    counts.mail_files = tokio::task::spawn_blocking(move || {
        crate::mail::transport::remove_sent_files(&mail_dir, &message_ids)
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("the file remover stopped: {e}")))?
    .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot delete a mail file: {e}")))?;
    // A usage upload still waiting in a preview holds person-level rows too.
    crate::roster::service::discard_pending(state, id);
    repo::insert_purge(&mut tx, id, on, now, &json).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "retention purge",
        Some(id.0),
        &format!("{reason}; deleted {}", counts.detail()),
    )
    .await?;
    tx.commit().await?;
    // The deleted bytes leave the -wal too (secure_delete already zeroed them in the pages).
    crate::db::checkpoint(&state.pool).await?;
    tracing::info!(
        study = id.0,
        participants = counts.participants,
        "raw data purged"
    );
    Ok(Some(counts))
}
