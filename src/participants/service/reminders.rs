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

/// Whether a candidate is due a reminder at `now`: consented before, diary open on their local day, under
/// target, the interval passed since the last reminder (or the consent), inside working hours.
fn reminder_due(r: &repo::ReminderCandidate, now: DateTime<Utc>) -> bool {
    let today = local_today(&r.participant, now);
    let open = crate::diary::service::in_window(&r.participant, today);
    let every = Duration::days(r.reminder_days.max(1));
    let last = r.last_reminder_at.unwrap_or(r.consent_at);
    r.consent_at < now
        && open
        && r.logged < r.target
        && now - last >= every
        && in_working_hours(r, now)
}

/// The first instant after `after` at which [`reminder_due`] holds for this candidate if nothing else
/// changes (no entry logged, no reminder sent), or `None` if it never will (target reached, diary closed).
/// The demo's replay uses it to skip the half-hours in which nothing can be due.
pub fn next_reminder_at(
    r: &repo::ReminderCandidate,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    use chrono::{Datelike, TimeZone};
    if r.logged >= r.target {
        return None;
    }
    let tz = r.participant.tz();
    let every = Duration::days(r.reminder_days.max(1));
    let last = r.last_reminder_at.unwrap_or(r.consent_at);
    // The interval and the consent, to the second (a tick at exactly `last + every` may send it).
    let from = (after + Duration::seconds(1))
        .max(last + every)
        .max(r.consent_at + Duration::seconds(1));
    let closes = r.participant.diary_closes_on?;
    let opens = r.participant.diary_opens_on?;
    let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").ok();
    // Working hours start at the window's start (all day when the window does not read).
    let start = match (t(&r.window.0), t(&r.window.1)) {
        (Some(a), Some(_)) => a,
        _ => NaiveTime::MIN,
    };
    let mut day = from.with_timezone(&tz).date_naive().max(opens);
    while day <= closes {
        if day.weekday().num_days_from_monday() < 5 {
            // The window's start that day (a start that a clock change skips: the day's first instant).
            let open_at = tz
                .from_local_datetime(&day.and_time(start))
                .earliest()
                .or_else(|| {
                    tz.from_local_datetime(&day.and_time(NaiveTime::MIN))
                        .earliest()
                })?
                .with_timezone(&Utc);
            let candidate = open_at.max(from);
            // Otherwise it is past the window's end that day: the next working day.
            if reminder_due(r, candidate) {
                return Some(candidate);
            }
        }
        day = day.succ_opt()?;
    }
    None
}

/// The first instant after `after` at which some participant is due a reminder if nothing else changes.
pub async fn next_reminder(
    state: &AppState,
    after: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let mut conn = state.pool.acquire().await?;
    let candidates = repo::reminder_candidates(&mut conn, after).await?;
    Ok(candidates
        .iter()
        .filter_map(|r| next_reminder_at(r, after))
        .min())
}

/// Reminds consented participants under the diary target whose diary is open, every `reminder_days`.
#[tracing::instrument(skip_all)]
pub async fn reminder_tick(state: &AppState, now: DateTime<Utc>) -> Result<usize> {
    let mut tx = begin_write(&state.pool).await?;
    let due = repo::reminders_due(&mut tx, now).await?;
    let mut sent = 0;
    for r in due {
        if !reminder_due(&r, now) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::participants::repo::{ParticipantRow, ReminderCandidate};
    use crate::participants::{Arm, Decision, Group};
    use chrono::NaiveDate;

    fn candidate(zone: &str, last: Option<DateTime<Utc>>, logged: i64) -> ReminderCandidate {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        ReminderCandidate {
            participant: ParticipantRow {
                id: 1,
                study_id: StudyId(1),
                study_name: "S".into(),
                study_status: "collection".into(),
                role: Group::Main,
                arm: Arm::Copilot,
                email: "p@example.org".into(),
                time_zone: zone.into(),
                consent: Some(Decision::Accepted),
                withdrawn_at: None,
                diary_opens_on: Some(day(2)),
                diary_closes_on: Some(day(15)),
                link_ping: None,
            },
            logged,
            target: 5,
            reminder_days: 2,
            consent_at: day(2).and_hms_opt(10, 17, 0).unwrap().and_utc(),
            last_reminder_at: last,
            window: ("09:00".into(), "17:00".into()),
        }
    }

    /// Every minute from `after` on: the first at which the tick would remind is the one predicted.
    fn first_due_by_brute_force(
        r: &ReminderCandidate,
        after: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        (1..=20 * 24 * 60)
            .map(|m| after + Duration::minutes(m))
            .find(|t| reminder_due(r, *t))
    }

    #[test]
    fn the_next_reminder_is_the_first_minute_the_tick_would_send_it() {
        let at = |d, h, m| {
            NaiveDate::from_ymd_opt(2026, 11, d)
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap()
                .and_utc()
        };
        for zone in [
            "Europe/Berlin",
            "America/Los_Angeles",
            "Asia/Singapore",
            "Pacific/Kiritimati",
        ] {
            for last in [
                None,
                Some(at(4, 16, 30)),
                Some(at(6, 23, 0)),
                Some(at(13, 9, 5)),
            ] {
                let r = candidate(zone, last, 1);
                for after in [at(2, 0, 0), at(5, 12, 0), at(7, 3, 0), at(14, 20, 0)] {
                    let predicted = next_reminder_at(&r, after).map(|t| {
                        // The brute force steps whole minutes from `after`.
                        let m = (t - after).num_seconds();
                        after + Duration::minutes((m + 59) / 60)
                    });
                    assert_eq!(
                        predicted,
                        first_due_by_brute_force(&r, after),
                        "{zone}, last {last:?}, after {after}"
                    );
                }
            }
        }
        // At the target there is nothing to remind of.
        assert_eq!(
            next_reminder_at(&candidate("Europe/Berlin", None, 5), at(2, 0, 0)),
            None
        );
    }
}
