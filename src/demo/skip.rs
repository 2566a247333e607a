//! The replay's clock: from one half-hour tick to the next at which anything can happen. A tick in which
//! no step can find something due and no simulated person acts runs about ten queries and changes
//! nothing; the replay of two studies has about 3,600 half-hours and most are like that (nights,
//! weekends, hours between pings). Skipping them keeps every replayed time: a step due at `d` still runs
//! at the first half-hour at or after `d`, and a person still acts at the first half-hour after their
//! moment, as when every half-hour ran.
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};

/// The replay's step.
pub const STEP_MINUTES: i64 = 30;

/// The first half-hour after `t` (on `t`'s grid) at or after `event`; the next one if `event` is `None`
/// or not later than it.
pub fn slot_at_or_after(t: DateTime<Utc>, event: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let step = Duration::minutes(STEP_MINUTES);
    let next = t + step;
    match event {
        Some(e) if e > next => {
            let secs = (e - t).num_seconds();
            let n = (secs + step.num_seconds() - 1) / step.num_seconds();
            t + step * n as i32
        }
        _ => next,
    }
}

/// When the replay ticks next after `t`: the half-hour at or after the earliest of what the tables make
/// due ([`super::repo::next_due`]), the next reminder, and `acts` (the next moment a simulated person
/// acts); `end` if nothing is left to happen before it.
pub async fn next_tick(
    state: &AppState,
    t: DateTime<Utc>,
    acts: Option<DateTime<Utc>>,
    end: DateTime<Utc>,
) -> anyhow::Result<DateTime<Utc>> {
    let due = super::repo::next_due(&state.pool, t).await?;
    let soonest = [due, acts].into_iter().flatten().min();
    // The next reminder reads every candidate's diary count: only asked for when nothing else already
    // makes the very next half-hour the next tick (an earlier reminder could not make it sooner).
    if soonest.is_some_and(|e| e <= t + Duration::minutes(STEP_MINUTES)) {
        return Ok(slot_at_or_after(t, soonest.map(|e| e.min(end))));
    }
    let reminder = crate::participants::service::next_reminder(state, t)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let event = [soonest, reminder].into_iter().flatten().min();
    Ok(slot_at_or_after(t, Some(event.unwrap_or(end).min(end))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
            .and_utc()
    }

    #[test]
    fn the_replay_ticks_at_the_first_half_hour_at_or_after_the_next_event() {
        let t = at(8, 0);
        // Nothing later, or something before the next half-hour: the next half-hour.
        assert_eq!(slot_at_or_after(t, None), at(8, 30));
        assert_eq!(slot_at_or_after(t, Some(at(8, 10))), at(8, 30));
        assert_eq!(slot_at_or_after(t, Some(at(7, 0))), at(8, 30));
        assert_eq!(slot_at_or_after(t, Some(at(8, 30))), at(8, 30));
        // Later: the half-hour at or after it, on the same grid.
        assert_eq!(slot_at_or_after(t, Some(at(8, 31))), at(9, 0));
        assert_eq!(slot_at_or_after(t, Some(at(13, 0))), at(13, 0));
        assert_eq!(
            slot_at_or_after(t, Some(at(13, 0) + Duration::seconds(1))),
            at(13, 30)
        );
    }
}
