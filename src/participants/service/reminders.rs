//! Reminders to participants under the diary target, and an admin's nudge to one person.
use super::links::new_link;
use super::local_today;
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::mail::messages;
use crate::mail::outbox::{NewMessage, enqueue};
use crate::participants::Arm;
use crate::participants::repo;
use crate::state::AppState;
use crate::study::StudyId;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use sqlx::SqliteConnection;

/// Queues a reminder with a fresh link to the participant's page (inside the caller's transaction).
#[allow(clippy::too_many_arguments)]
async fn queue_reminder(
    conn: &mut SqliteConnection,
    state: &AppState,
    study: StudyId,
    participant: i64,
    to: &str,
    study_name: &str,
    kind: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let (link, withdraw) =
        new_link(conn, &state.config.base_url(), participant, None, now, None).await?;
    let letter = messages::reminder(study_name, reason, &link, &withdraw)?;
    let msg = NewMessage::to_participant(study.0, participant, kind, to, letter);
    enqueue(conn, &msg, now).await?;
    repo::set_last_reminder(conn, participant, now).await?;
    Ok(())
}

/// The admin's nudge to one participant (who has not withdrawn or declined).
#[tracing::instrument(skip_all, fields(study = study.0, participant = participant))]
pub async fn nudge(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    participant: i64,
) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let Some(c) = repo::contactable(&mut tx, study, participant).await? else {
        return Err(AppError::Conflict(
            "This person has withdrawn or declined; they are not contacted again.".into(),
        ));
    };
    let reason =
        "your answers matter for the study. A few minutes this week make a real difference.";
    queue_reminder(
        &mut tx,
        state,
        study,
        c.id,
        &c.email,
        &c.study_name,
        "nudge",
        reason,
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "participant.nudge",
        Some(study.0),
        &format!("nudged participant {}", c.id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether it is a working day and inside the study's window in the participant's own time zone.
fn in_working_hours(r: &repo::ReminderCandidate, now: DateTime<Utc>) -> bool {
    use chrono::Datelike;
    let local = now.with_timezone(&r.participant.tz());
    let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").ok();
    let weekday = local.weekday().num_days_from_monday() < 5;
    match (t(&r.window.0), t(&r.window.1)) {
        (Some(a), Some(b)) => weekday && a <= local.time() && local.time() < b,
        _ => weekday,
    }
}

/// Reminds consented participants under the diary target whose diary is open, every `reminder_days`.
#[tracing::instrument(skip_all)]
pub async fn reminder_tick(state: &AppState, now: DateTime<Utc>) -> Result<usize> {
    let mut tx = begin_write(&state.pool).await?;
    let due = repo::reminders_due(&mut tx, now).await?;
    let mut sent = 0;
    for r in due {
        let today = local_today(&r.participant, now);
        let open = crate::diary::service::in_window(&r.participant, today);
        let every = Duration::days(r.reminder_days.max(1));
        let last = r.last_reminder_at.unwrap_or(r.consent_at);
        if !open || r.logged >= r.target || now - last < every || !in_working_hours(&r, now) {
            continue;
        }
        let kind = if r.participant.arm == Arm::Control {
            "work"
        } else {
            "AI-assisted"
        };
        let reason = format!(
            "you have logged {} of the {} {kind} tasks we ask for. Logging one takes about a minute.",
            r.logged, r.target
        );
        queue_reminder(
            &mut tx,
            state,
            r.participant.study_id,
            r.participant.id,
            &r.participant.email,
            &r.participant.study_name,
            "reminder",
            &reason,
            now,
        )
        .await?;
        sent += 1;
    }
    tx.commit().await?;
    Ok(sent)
}
