//! Reminders to participants under the diary target, and an admin's nudge to one person.
use super::local_today;
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::mail::Kind;
use crate::mail::outbox::{NewMessage, enqueue};
use crate::participants::repo;
use crate::state::AppState;
use crate::study::StudyId;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use sqlx::SqliteConnection;

/// Queues a reminder or a nudge (inside the caller's transaction); its link is minted when it is sent.
async fn queue_reminder(
    conn: &mut SqliteConnection,
    study: StudyId,
    participant: i64,
    to: &str,
    kind: Kind,
    now: DateTime<Utc>,
) -> Result<()> {
    let msg = NewMessage::to_participant(study.0, participant, kind, to);
    enqueue(conn, &msg, now).await?;
    repo::set_last_reminder(conn, participant, now).await?;
    Ok(())
}

/// How long after a nudge the same person cannot be nudged again.
pub const NUDGE_GAP_HOURS: i64 = 24;

/// The admin's nudge to one participant (who has not withdrawn or declined), at most one per person in
/// `NUDGE_GAP_HOURS`. Returns the person's employee id (what the collection page calls them).
#[tracing::instrument(skip_all, fields(study = study.0, participant = participant))]
pub async fn nudge(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    participant: i64,
) -> Result<String> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let Some(c) = repo::contactable(&mut tx, study, participant).await? else {
        return Err(AppError::Conflict(
            "This person has withdrawn or declined; they are not contacted again.".into(),
        ));
    };
    let tz = crate::study::repo::get(&mut *tx, study)
        .await?
        .ok_or(AppError::NotFound)?
        .tz();
    // A nudge asks for something this week; once the person's diary and ping week (or, before a consent,
    // the collection phase) is over there is nothing left to ask, and its link would work only for the
    // grace days. Say so instead of sending it.
    let expires = super::links::page_link_expiry(&mut tx, c.id, now).await?;
    let over = expires - Duration::days(super::links::PAGE_LINK_GRACE_DAYS);
    if over <= now {
        let day = (over - Duration::seconds(1))
            .with_timezone(&tz)
            .date_naive();
        return Err(AppError::Conflict(format!(
            "{}'s part of the study ended on {day}; there is nothing left to remind them of, so no nudge was sent.",
            c.employee_id
        )));
    }
    // Decided inside this write transaction by a conditional UPDATE: of two clicks or two requests at
    // once, exactly one finds the previous nudge old enough.
    let gap = Duration::hours(NUDGE_GAP_HOURS);
    if !repo::claim_nudge(&mut tx, c.id, now, now - gap).await? {
        let last = repo::last_nudged(&mut tx, c.id).await?.unwrap_or(now);
        let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z");
        return Err(AppError::Conflict(format!(
            "{} was already nudged at {}; one nudge a day at most, so nothing was sent. The next one can go after {}.",
            c.employee_id,
            local(last),
            local(last + gap)
        )));
    }
    queue_reminder(&mut tx, study, c.id, &c.email, Kind::Nudge, now).await?;
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
    Ok(c.employee_id)
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
        queue_reminder(
            &mut tx,
            r.participant.study_id,
            r.participant.id,
            &r.participant.email,
            Kind::Reminder,
            now,
        )
        .await?;
        sent += 1;
    }
    tx.commit().await?;
    Ok(sent)
}
