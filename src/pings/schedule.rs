//! Experience-sampling ping schedules (instrument B).
//!
//! Each participant gets `k` pings per working day at random times inside
//! their working window, in *their own* time zone. We use the semi-random
//! scheme common in ESM tools: the window is split into `k` equal blocks and
//! one time is drawn uniformly (minute resolution) inside each block, with a
//! minimum gap between consecutive pings. Schedules are generated once on the
//! server and stored, so the only hard requirement on randomness is that the
//! same inputs always give the same output, across releases and dependency
//! upgrades. That is why we draw from ChaCha8 with our own rejection sampler
//! instead of `rand`'s `gen_range`, whose algorithm is not value-stable.
//!
//! Daylight saving: times are drawn as local wall-clock minutes and then
//! converted on the actual date. A wall-clock time inside a spring-forward
//! gap moves forward by the gap length; an ambiguous (fall-back) time takes
//! the earlier instant. Because a spring-forward gap can shrink the real
//! distance between two pings, the minimum gap is re-enforced on the UTC
//! instants afterwards (see [`place_day`]).

use crate::stats::random::uniform_below;
use chrono::{
    DateTime, Datelike, Days, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Largest number of pings per day a spec may ask for.
pub const MAX_PINGS_PER_DAY: u32 = 6;

/// Largest number of calendar days one call to [`ping_times`] may cover.
pub const MAX_DAYS: u32 = 62;

/// How far back we look for the last valid wall-clock minute before a DST
/// gap. Real gaps are at most a day (Samoa skipped 2011-12-30), so two days
/// is a generous bound that still guarantees termination.
const MAX_GAP_SEARCH_MINUTES: i64 = 48 * 60;

/// Earliest first day accepted; tz data before 1900 is local mean time noise.
const EARLIEST_DAY: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();

/// Latest first day accepted; keeps all date arithmetic far from chrono's limits.
const LATEST_DAY: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();

/// How pings are laid out for one participant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    /// Pings per working day, 1..=6.
    pub pings_per_day: u32,
    /// Local start of the working window (inclusive), whole minutes.
    pub window_start: NaiveTime,
    /// Local end of the working window (exclusive), whole minutes; after start.
    pub window_end: NaiveTime,
    /// Minimum real (elapsed) time between consecutive pings of a day.
    pub min_gap_minutes: u32,
    /// Weekdays that get pings.
    pub working_days: Vec<Weekday>,
}

impl Default for ScheduleSpec {
    /// 3 pings per day, 09:00–17:00, 60-minute gap, Monday to Friday.
    fn default() -> Self {
        Self {
            pings_per_day: 3,
            window_start: hm(9, 0),
            window_end: hm(17, 0),
            min_gap_minutes: 60,
            working_days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
        }
    }
}

impl ScheduleSpec {
    /// Checks the spec is well formed and feasible; the error says what to change.
    pub fn validate(&self) -> Result<(), String> {
        let k = self.pings_per_day;
        if !(1..=MAX_PINGS_PER_DAY).contains(&k) {
            return Err(format!(
                "pings_per_day must be between 1 and {MAX_PINGS_PER_DAY}, got {k}"
            ));
        }
        for (name, t) in [
            ("window_start", self.window_start),
            ("window_end", self.window_end),
        ] {
            // Draws have minute resolution; a stray second would make the
            // block boundaries (and thus the window check) ambiguous.
            if t.second() != 0 || t.nanosecond() != 0 {
                return Err(format!(
                    "{name} must be a whole minute (hh:mm), got {}",
                    t.format("%H:%M:%S%.f")
                ));
            }
        }
        if self.window_end <= self.window_start {
            return Err(format!(
                "window_end ({}) must be after window_start ({}); windows over midnight are not supported",
                self.window_end.format("%H:%M"),
                self.window_start.format("%H:%M")
            ));
        }
        if self.working_days.is_empty() {
            return Err("working_days must name at least one weekday".to_string());
        }
        let len = self.window_minutes();
        // Feasible iff every block (the shortest is floor(len / k)) is at
        // least one gap long; since the gap is whole minutes that is the same
        // as len >= k * gap. Compare in u64 so a huge gap cannot overflow.
        if u64::from(len) < u64::from(k) * u64::from(self.min_gap_minutes) {
            return Err(format!(
                "infeasible schedule: the {len}-minute window {}–{} split into {k} blocks gives \
                 {:.1}-minute blocks, shorter than the {}-minute minimum gap; widen the window to \
                 at least {} minutes, lower pings_per_day or lower min_gap_minutes",
                self.window_start.format("%H:%M"),
                self.window_end.format("%H:%M"),
                f64::from(len) / f64::from(k),
                self.min_gap_minutes,
                u64::from(k) * u64::from(self.min_gap_minutes),
            ));
        }
        Ok(())
    }

    /// Window length in minutes (only meaningful once validated).
    fn window_minutes(&self) -> u32 {
        minute_of_day(self.window_end).saturating_sub(minute_of_day(self.window_start))
    }
}

/// One stored ping: its slot number, the local day it belongs to and its instant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PingSlot {
    /// Position in the participant's schedule, 0.. in time order.
    pub slot: u32,
    /// Local calendar date (in the participant's zone) the ping was scheduled for.
    pub local_date: NaiveDate,
    /// The instant the ping fires.
    pub at: DateTime<Utc>,
}

/// Ping times for `days` calendar days from `first_day` (local dates in `tz`), in time order; slot numbers 0.. in that order.
///
/// Deterministic: the same spec, zone, dates and seed always give the same
/// schedule. The random stream is consumed day by day, so a schedule for a
/// shorter or later range is not a slice of a longer one; generate once and
/// store. Errors on an invalid spec, `days` outside 1..=62 or a first day
/// outside 1900–9999.
pub fn ping_times(
    spec: &ScheduleSpec,
    tz: Tz,
    first_day: NaiveDate,
    days: u32,
    seed: u64,
) -> Result<Vec<PingSlot>, String> {
    spec.validate()?;
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(format!("days must be between 1 and {MAX_DAYS}, got {days}"));
    }
    if !(EARLIEST_DAY..=LATEST_DAY).contains(&first_day) {
        return Err(format!(
            "first_day {first_day} is outside the supported range {EARLIEST_DAY} to {LATEST_DAY}"
        ));
    }

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pings: Vec<(NaiveDate, DateTime<Utc>)> =
        Vec::with_capacity(days as usize * spec.pings_per_day as usize);
    for offset in 0..days {
        // Cannot fail: first_day <= 9999-12-31 and offset < 62.
        let date = first_day
            .checked_add_days(Days::new(offset.into()))
            .ok_or_else(|| format!("date {first_day} + {offset} days is out of range"))?;
        if !spec.working_days.contains(&date.weekday()) {
            continue;
        }
        let minutes = draw_day_minutes(spec, &mut rng);
        let instants = place_day(spec, tz, date, &minutes)?;
        pings.extend(instants.into_iter().map(|at| (date, at)));
    }

    // Days never overlap in practice, but a DST push near midnight could in
    // theory; sorting makes "in time order" a guarantee rather than an
    // assumption. The sort is stable, so ties keep generation order.
    pings.sort_by_key(|&(_, at)| at);
    Ok(pings
        .into_iter()
        .zip(0u32..)
        .map(|((local_date, at), slot)| PingSlot {
            slot,
            local_date,
            at,
        })
        .collect())
}

/// A per-participant seed from a study seed and a participant id (stable across releases: e.g. a fixed mixing function such as splitmix64, not std's Hasher).
///
/// For a fixed study seed this is a bijection of the participant id (odd
/// multiply, add, splitmix64 finaliser are all invertible), so distinct
/// participants always get distinct seeds; likewise for a fixed participant
/// across study seeds.
pub fn participant_seed(study_seed: u64, participant: i64) -> u64 {
    // Arbitrary fixed odd constants; changing them changes every schedule.
    const STUDY_DOMAIN: u64 = 0x4c61_7965_7232_4553; // "Layer2ES"
    const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15; // splitmix64's increment (odd)
    let study = splitmix64_mix(study_seed ^ STUDY_DOMAIN);
    // `as u64` reinterprets the two's-complement bits: a bijection on i64.
    splitmix64_mix(study.wrapping_add((participant as u64).wrapping_mul(GAMMA)))
}

/// The splitmix64 finaliser: a fixed, invertible 64-bit mixing function.
fn splitmix64_mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Draws one day's pings as local minutes since midnight, per the block rule.
fn draw_day_minutes(spec: &ScheduleSpec, rng: &mut impl RngCore) -> Vec<u32> {
    let start = minute_of_day(spec.window_start);
    let len = spec.window_minutes();
    let k = spec.pings_per_day;
    let gap = spec.min_gap_minutes;
    let mut out: Vec<u32> = Vec::with_capacity(k as usize);
    for i in 0..k {
        // Boundaries at floor(i * len / k) spread any remainder minutes over
        // the blocks; i * len <= 6 * 1440 cannot overflow.
        let lo = start + i * len / k;
        let hi = start + (i + 1) * len / k;
        let mut m = lo + draw(rng, hi - lo);
        if let Some(&prev) = out.last()
            && m - prev < gap
        {
            // prev < lo and validate() guarantees hi - lo >= gap, so
            // floor <= hi - 1: the redraw range is never empty.
            let floor = lo.max(prev + gap);
            debug_assert!(floor < hi, "validate() should make the redraw feasible");
            m = floor + draw(rng, hi.saturating_sub(floor).max(1));
        }
        out.push(m);
    }
    out
}

/// `uniform_below` for small u32 ranges (the result is `< n`, so it fits).
fn draw(rng: &mut impl RngCore, n: u32) -> u32 {
    u32::try_from(uniform_below(rng, n.into())).unwrap_or(0)
}

/// Converts one day's local minutes to instants, re-enforcing the gap in real time.
///
/// Outside DST transitions the conversion is monotone and preserves
/// distances, so nothing moves. Around a spring-forward gap two pings can end
/// up closer (or even reversed) in real time, so:
/// 1. forward pass: no ping before the window opens, each at least one gap
///    after the previous (pushing later pings forward);
/// 2. if that pushed the last ping out of the window, a backward pass pulls
///    pings back from the window end, keeping the gaps;
/// 3. if the real window is too short for `k` pings at that spacing (only
///    possible when DST removes time from a tight window), the gap wins: we
///    redo the forward pass and the last ping may end after the window.
fn place_day(
    spec: &ScheduleSpec,
    tz: Tz,
    date: NaiveDate,
    minutes: &[u32],
) -> Result<Vec<DateTime<Utc>>, String> {
    let gap = TimeDelta::minutes(spec.min_gap_minutes.into());
    let window_start = resolve_local(tz, date.and_time(spec.window_start))?;
    let window_end = resolve_local(tz, date.and_time(spec.window_end))?;
    let mut at = minutes
        .iter()
        .map(|&m| resolve_local(tz, date.and_time(time_of_minute(m))))
        .collect::<Result<Vec<_>, _>>()?;

    forward_pass(&mut at, window_start, gap);
    let last_allowed = window_end - TimeDelta::minutes(1);
    if at.last().is_some_and(|&t| t > last_allowed) {
        let mut ceiling = last_allowed;
        for t in at.iter_mut().rev() {
            if *t > ceiling {
                *t = ceiling;
            }
            ceiling = *t - gap;
        }
        if at.first().is_some_and(|&t| t < window_start) {
            forward_pass(&mut at, window_start, gap);
        }
    }
    Ok(at)
}

/// Moves pings forward so none is before `floor` and consecutive ones are `gap` apart.
fn forward_pass(at: &mut [DateTime<Utc>], mut floor: DateTime<Utc>, gap: TimeDelta) {
    for t in at.iter_mut() {
        if *t < floor {
            *t = floor;
        }
        floor = *t + gap;
    }
}

/// Local wall-clock time in `tz` to an instant, with our DST rules.
///
/// Ambiguous (fall-back) times take the earlier instant. Non-existent
/// (spring-forward) times move forward by the gap length, which is the same
/// as reading them with the offset in force just before the gap; we find
/// that offset from the last valid minute before `local`.
fn resolve_local(tz: Tz, local: NaiveDateTime) -> Result<DateTime<Utc>, String> {
    match tz.from_local_datetime(&local) {
        MappedLocalTime::Single(t) => Ok(t.with_timezone(&Utc)),
        MappedLocalTime::Ambiguous(earliest, _) => Ok(earliest.with_timezone(&Utc)),
        MappedLocalTime::None => {
            for back in 1..=MAX_GAP_SEARCH_MINUTES {
                let probe = local - TimeDelta::minutes(back);
                let before = match tz.from_local_datetime(&probe) {
                    MappedLocalTime::Single(t) => t,
                    // The later reading is the one that runs into the gap.
                    MappedLocalTime::Ambiguous(_, latest) => latest,
                    MappedLocalTime::None => continue,
                };
                return Ok(before.with_timezone(&Utc) + TimeDelta::minutes(back));
            }
            Err(format!(
                "local time {local} does not exist in {tz} and no valid time precedes it within 48 hours"
            ))
        }
    }
}

/// Minutes since local midnight (seconds are ignored; validate() forbids them).
fn minute_of_day(t: NaiveTime) -> u32 {
    t.hour() * 60 + t.minute()
}

/// Local time for a minute of the day; callers pass values below 24 * 60.
fn time_of_minute(m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap_or(NaiveTime::MIN)
}

/// `hh:mm` as a `NaiveTime`, for the default spec (arguments are constants).
fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
