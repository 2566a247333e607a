//! Consent, withdrawal and removal: a participant's decisions and an admin's removal.
use super::instrument::instrument;
use super::local_today;
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::participants::repo::{self, ParticipantRow};
use crate::participants::{Arm, ConsentEvent, Decision};
use crate::state::AppState;
use crate::study::StudyId;
use chrono::{DateTime, Duration, Utc};
use sqlx::SqliteConnection;

/// Records consent or refusal. Consent opens the diary (from today, local) and lays out the ping week
/// (from tomorrow, local); a decline can later become a consent.
/// `seen` is the consent-text version the person read: if the wording changed meanwhile, they are asked
/// to read it again rather than being recorded against a text they never saw.
#[tracing::instrument(skip_all, fields(study = p.study_id.0, participant = p.id))]
pub async fn decide(
    state: &AppState,
    p: &ParticipantRow,
    accept: bool,
    seen: Option<i64>,
) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let instrument = instrument(&mut tx, p.study_id, now).await?;
    if seen.is_some_and(|v| v != instrument.version) {
        return Err(AppError::BadRequest(
            "The study's text has changed since you opened the page. Please read it again before you decide.".into(),
        ));
    }
    if p.withdrawn_at.is_some() {
        return Err(AppError::Conflict(
            "You have left the study; nothing more will be asked of you.".into(),
        ));
    }
    if p.accepted() {
        return Ok(());
    }
    if !accept {
        repo::set_consent(
            &mut tx,
            p.id,
            Decision::Declined,
            instrument.version,
            now,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        return Ok(());
    }
    let settings = repo::settings(&mut tx, p.study_id).await?;
    let today = local_today(p, now);
    let closes = today + Duration::days(settings.diary_days - 1);
    if !repo::set_consent(
        &mut tx,
        p.id,
        Decision::Accepted,
        instrument.version,
        now,
        Some(today),
        Some(closes),
    )
    .await?
    {
        // Already accepted (a double submit) or withdrawn meanwhile: nothing more to do.
        return Ok(());
    }
    // The control group has no copilot: nothing to ask about it, so no pings.
    if p.arm != Arm::Control {
        crate::pings::service::lay_out(&mut tx, &settings, p, today + Duration::days(1)).await?;
    }
    // The link they consented with now lasts as long as their diary and ping week (plus the grace).
    super::links::redate_page_links(&mut tx, p.id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Leaves the study: everything scheduled is cancelled at once (pings not sent, mail not claimed) and the
/// consent history gains a withdrawal; a second withdrawal changes nothing more.
async fn leave(
    conn: &mut SqliteConnection,
    study: StudyId,
    participant: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let first = repo::withdraw(conn, participant, now).await?;
    crate::pings::repo::cancel_scheduled(conn, participant).await?;
    crate::mail::repo::delete_pending_for(conn, participant).await?;
    if first {
        let version = repo::instrument(&mut *conn, study)
            .await?
            .map(|i| i.version)
            .unwrap_or(1);
        repo::consent_event(conn, participant, ConsentEvent::Withdrawn, version, now).await?;
    }
    Ok(())
}

/// Leaves the study at the participant's request.
#[tracing::instrument(skip_all, fields(study = p.study_id.0, participant = p.id))]
pub async fn withdraw(state: &AppState, p: &ParticipantRow) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    leave(&mut tx, p.study_id, p.id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a participant on the admin's decision: like a withdrawal, from the next tick on.
#[tracing::instrument(skip_all, fields(study = study.0, participant = participant))]
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    participant: i64,
) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    if !repo::belongs(&mut tx, study, participant).await? {
        return Err(AppError::NotFound);
    }
    leave(&mut tx, study, participant, now).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "participant.remove",
        Some(study.0),
        &format!("removed participant {participant}"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
