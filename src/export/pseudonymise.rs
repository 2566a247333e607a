//! Pseudonymisation, pure: the keyed pseudonym of an employee id, which quasi-identifying columns a raw
//! file may carry, gross hours in bands, and times told on each participant's own clock and calendar.
//!
//! Why no calendar time leaves in a raw file: pings fall in a 09–17 *local* window, so a UTC time of day
//! tells a participant's time zone (the one heavy user in Singapore), and a participant's first date tells
//! the week they joined; neither is in the k-check of the quasi-identifiers. A row instead carries the
//! participant's study day (counted from the day they joined, on their own calendar) and the time of day
//! on their own clock, and durations where a timestamp only served to measure one. Two people in
//! different zones who did the same thing at the same local times get the same rows.
use super::repo::{ControlRow, DiaryRow, PingRow};
use super::{ControlOut, DiaryOut, ParticipantOut, PingOut};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{BTreeSet, HashMap};

pub(crate) fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A participant's own calendar and clock: their time zone and the local date they joined the study.
#[derive(Clone, Copy, Debug)]
pub struct OwnClock {
    tz: Tz,
    day_one: NaiveDate,
}

impl OwnClock {
    /// The clock of someone in `time_zone` (an IANA name; an unknown one reads as UTC) who joined at
    /// `joined` (their consent).
    pub fn new(time_zone: &str, joined: DateTime<Utc>) -> Self {
        let tz = crate::clock::zone(time_zone);
        Self {
            tz,
            day_one: joined.with_timezone(&tz).date_naive(),
        }
    }

    /// The study day of `t`: 1 on the local date they joined, 2 the next local date, and so on (a
    /// calendar day, whatever its length under daylight saving).
    pub fn day(&self, t: DateTime<Utc>) -> i64 {
        (t.with_timezone(&self.tz).date_naive() - self.day_one).num_days() + 1
    }

    /// The time of day of `t` on their clock, HH:MM.
    pub fn time_of_day(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz).format("%H:%M").to_string()
    }
}

/// Whole minutes from `from` to `to` (rounded down; never negative).
pub fn whole_minutes(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_minutes().max(0)
}

/// A diary task as `diary.csv` writes it.
pub fn diary_out(participant_id: String, d: DiaryRow, descriptions: bool) -> DiaryOut {
    let clock = OwnClock::new(&d.time_zone, d.joined_at);
    DiaryOut {
        participant_id,
        study_day: clock.day(d.created_at),
        local_time: clock.time_of_day(d.created_at),
        outcome: d.outcome,
        category: d.category,
        minutes_with_ai: d.minutes_with_ai,
        minutes_without_ai: d.minutes_without_ai,
        description: descriptions.then_some(d.description),
    }
}

/// A delivered ping as `pings.csv` writes it: its scheduled day and time on the participant's clock (the
/// schedule is drawn in local time; a sending delay is a server's, and would line zones up), the minutes it
/// gave from sending to its deadline, and the answer's delay. Whether the answer was in time is decided
/// here on the exact times, so a file reader counts exactly the answers the platform counts.
pub fn ping_out(participant_id: String, g: PingRow) -> PingOut {
    let clock = OwnClock::new(&g.time_zone, g.joined_at);
    let yes = g.used_copilot.as_deref() == Some("yes");
    let minutes = |m: Option<i64>| if yes { m } else { None };
    PingOut {
        participant_id,
        study_day: clock.day(g.due_at),
        local_time: clock.time_of_day(g.due_at),
        window_min: whole_minutes(g.sent_at, g.expires_at),
        answer_delay_min: g.answered_at.map(|a| whole_minutes(g.sent_at, a)),
        answered_in_time: g.answered_at.map(|a| u8::from(a <= g.expires_at)),
        used_copilot: g.used_copilot.as_deref().map(|u| u8::from(u == "yes")),
        was_working: g
            .used_copilot
            .as_deref()
            .map(|u| u8::from(u != "not_working")),
        verification_min: minutes(g.verification_min),
        correction_min: minutes(g.correction_min),
        context_min: minutes(g.context_min),
        trust_min: minutes(g.trust_min),
    }
}

/// A control-group task as `control.csv` writes it.
pub fn control_out(participant_id: String, t: ControlRow, descriptions: bool) -> ControlOut {
    let clock = OwnClock::new(&t.time_zone, t.joined_at);
    ControlOut {
        participant_id,
        study_day: clock.day(t.created_at),
        local_time: clock.time_of_day(t.created_at),
        category: t.category,
        minutes: t.minutes,
        description: descriptions.then_some(t.description),
    }
}

/// The pseudonym of an employee id under a study's key: 16 hex digits of HMAC-SHA-256.
pub fn pseudonym(key: &[u8], employee_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(employee_id.as_bytes());
    crate::auth::token::hex(&mac.finalize().into_bytes()[..8])
}

/// The lower limits of the gross-hours bands before small bands are merged (hours per month).
pub const GROSS_BAND_LIMITS: [f64; 13] = [
    0.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 50.0,
];

/// Which quasi-identifying columns `participants.csv` carries: each one for every row or for none.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Published {
    /// The cohort column.
    pub cohort: bool,
    /// The function column.
    pub function: bool,
    /// The tenure column.
    pub tenure: bool,
}

/// The groups of each kind the summary hides (their rows must not be selectable in the raw file).
#[derive(Clone, Debug, Default)]
pub struct HiddenGroups {
    /// Hidden cohorts.
    pub cohorts: BTreeSet<String>,
    /// Hidden functions.
    pub functions: BTreeSet<String>,
    /// Hidden tenure bands.
    pub tenures: BTreeSet<String>,
    /// The whole sample is hidden.
    pub overall: bool,
}

/// A participant's quasi-identifiers before the file's columns are chosen.
#[derive(Clone, Debug)]
pub struct Quasi {
    /// Cohort.
    pub cohort: String,
    /// Function.
    pub function: String,
    /// Tenure band.
    pub tenure: String,
}

/// Decides, for the whole file, which of cohort, function and tenure to publish. A column is a candidate
/// only if every value of it holds at least `k` rows and none of its values is a group the summary hides
/// (else its rows would rebuild the hidden cell, or the published n minus the visible rows would point at
/// them). Then, while some combination of the candidate columns holds fewer than `k` rows, tenure goes,
/// then function, then cohort. Never per row: a generalised row is what the subtraction attack restores.
pub fn choose_columns(rows: &[Quasi], hidden: &HiddenGroups, k: usize) -> Published {
    if hidden.overall || rows.is_empty() {
        return Published::default();
    }
    let fit = |value: &dyn Fn(&Quasi) -> &str, hide: &BTreeSet<String>| {
        let mut c: HashMap<&str, usize> = HashMap::new();
        for r in rows {
            *c.entry(value(r)).or_default() += 1;
        }
        c.iter().all(|(v, n)| *n >= k && !hide.contains(*v))
    };
    let mut p = Published {
        cohort: fit(&|r| r.cohort.as_str(), &hidden.cohorts),
        function: fit(&|r| r.function.as_str(), &hidden.functions),
        tenure: fit(&|r| r.tenure.as_str(), &hidden.tenures),
    };
    let combinations_fit = |p: &Published| {
        let mut c: HashMap<(&str, &str, &str), usize> = HashMap::new();
        for r in rows {
            let key = (
                if p.cohort { r.cohort.as_str() } else { "" },
                if p.function { r.function.as_str() } else { "" },
                if p.tenure { r.tenure.as_str() } else { "" },
            );
            *c.entry(key).or_default() += 1;
        }
        c.values().all(|n| *n >= k)
    };
    for drop in [
        |p: &mut Published| p.tenure = false,
        |p: &mut Published| p.function = false,
        |p: &mut Published| p.cohort = false,
    ] {
        if combinations_fit(&p) {
            break;
        }
        drop(&mut p);
    }
    p
}

/// Gross-hours bands for a file: [`GROSS_BAND_LIMITS`], with any band holding fewer than `k` of `hours`
/// merged into its neighbour, so that every band shown holds at least `k` rows. Returns the lower limits of
/// the bands kept (the last band is open).
pub fn gross_bands(hours: &[f64], k: usize) -> Vec<f64> {
    crate::reports::distribution::bands_of_at_least(hours, &GROSS_BAND_LIMITS, k)
}

/// The label of `h`'s band ("10–20", or "40 +" for the open top band).
pub fn gross_band_label(limits: &[f64], h: f64) -> String {
    let i = crate::reports::distribution::band_index(limits, h);
    match limits.get(i + 1) {
        Some(hi) => format!("{}–{}", limits[i], hi),
        None => format!("{} +", limits[i]),
    }
}

/// Every row's published fields under the file's columns and bands.
pub fn publish(
    id: String,
    q: &Quasi,
    gross: f64,
    columns: &Published,
    limits: &[f64],
) -> ParticipantOut {
    ParticipantOut {
        id,
        cohort: columns.cohort.then(|| q.cohort.clone()),
        function: columns.function.then(|| q.function.clone()),
        tenure: columns.tenure.then(|| q.tenure.clone()),
        gross_hours_band: gross_band_label(limits, gross),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn study_days_and_times_of_day_are_the_participants_own() {
        // Both joined on Monday 1 February at 08:30 on their own clocks, and logged at 09:15 on the Wednesday.
        let berlin = OwnClock::new("Europe/Berlin", at("2027-02-01T07:30:00Z"));
        let singapore = OwnClock::new("Asia/Singapore", at("2027-02-01T00:30:00Z"));
        for (c, t) in [
            (berlin, at("2027-02-03T08:15:00Z")),
            (singapore, at("2027-02-03T01:15:00Z")),
        ] {
            assert_eq!((c.day(t), c.time_of_day(t)), (3, "09:15".to_string()));
        }
        // The joining day is day 1 until local midnight, whatever the UTC date.
        assert_eq!(singapore.day(at("2027-02-01T15:59:00Z")), 1);
        assert_eq!(singapore.day(at("2027-02-01T16:00:00Z")), 2);
        // Daylight saving changes the clock, not the count of calendar days.
        let london = OwnClock::new("Europe/London", at("2027-03-27T10:00:00Z"));
        let after = at("2027-03-29T08:00:00Z");
        assert_eq!(
            (london.day(after), london.time_of_day(after)),
            (3, "09:00".to_string())
        );
        assert_eq!(
            whole_minutes(at("2027-02-01T09:00:00Z"), at("2027-02-01T09:44:59Z")),
            44
        );
        assert_eq!(
            whole_minutes(at("2027-02-01T09:00:00Z"), at("2027-02-01T08:00:00Z")),
            0
        );
    }

    #[test]
    fn pseudonyms_are_stable_under_a_key_and_unrelated_across_keys() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert_eq!(pseudonym(&a, "E00001"), pseudonym(&a, "E00001"));
        assert_ne!(pseudonym(&a, "E00001"), pseudonym(&a, "E00002"));
        assert_ne!(pseudonym(&a, "E00001"), pseudonym(&b, "E00001"));
        let p = pseudonym(&a, "E00001");
        assert!(p.len() == 16 && p.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(!p.contains("E00001"));
    }

    fn q(c: &str, f: &str, t: &str) -> Quasi {
        Quasi {
            cohort: c.into(),
            function: f.into(),
            tenure: t.into(),
        }
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_column_is_published_for_every_row_or_not_at_all() {
        let mut rows: Vec<Quasi> = std::iter::repeat_n(q("heavy", "Sales", "1–3 y"), 7)
            .chain(std::iter::repeat_n(q("light", "Sales", "1–3 y"), 6))
            .chain(std::iter::repeat_n(q("light", "Sales", "5+ y"), 5))
            .collect();
        let none = HiddenGroups::default();
        let all = Published {
            cohort: true,
            function: true,
            tenure: true,
        };
        assert_eq!(choose_columns(&rows, &none, 5), all);
        // One lawyer: the function column goes for everyone, not just for her row.
        rows.push(q("light", "Legal", "5+ y"));
        let p = choose_columns(&rows, &none, 5);
        assert_eq!((p.cohort, p.function, p.tenure), (true, false, true));
        // A function the summary hides takes the column away even when the file holds k of it.
        let rows: Vec<Quasi> = std::iter::repeat_n(q("heavy", "Sales", "1–3 y"), 7)
            .chain(std::iter::repeat_n(q("heavy", "HR", "1–3 y"), 5))
            .collect();
        let hr = HiddenGroups {
            functions: set(&["HR"]),
            ..HiddenGroups::default()
        };
        assert!(!choose_columns(&rows, &hr, 5).function);
        // A hidden cohort: no cohort column, so its rows cannot be picked out and its cell rebuilt.
        let heavy = HiddenGroups {
            cohorts: set(&["heavy"]),
            ..HiddenGroups::default()
        };
        assert!(!choose_columns(&rows, &heavy, 5).cohort);
        // Combinations too: each column fits alone, but (light, 5+ y) would hold 3 people.
        let rows: Vec<Quasi> = std::iter::repeat_n(q("heavy", "Sales", "5+ y"), 5)
            .chain(std::iter::repeat_n(q("light", "Sales", "1–3 y"), 9))
            .chain(std::iter::repeat_n(q("light", "Sales", "5+ y"), 3))
            .collect();
        let p = choose_columns(&rows, &none, 5);
        assert_eq!((p.cohort, p.function, p.tenure), (true, true, false));
    }

    #[test]
    fn gross_hours_fall_in_bands_of_at_least_k_rows() {
        let hours = [
            0.0, 0.0, 1.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0, 9.5, 12.0, 25.0, 44.0,
        ];
        let limits = gross_bands(&hours, 5);
        assert_eq!(limits, vec![0.0, 7.5]);
        assert_eq!(gross_band_label(&limits, 3.0), "0–7.5");
        assert_eq!(gross_band_label(&limits, 44.0), "7.5 +");
        let mut counts: HashMap<String, usize> = HashMap::new();
        for h in hours {
            *counts.entry(gross_band_label(&limits, h)).or_default() += 1;
        }
        assert!(counts.values().all(|&n| n >= 5), "{counts:?}");
        use crate::stats::input::gross_band_value;
        assert_eq!(gross_band_value("10–20"), Some(15.0));
        assert_eq!(gross_band_value("40 +"), Some(40.0));
        assert_eq!(gross_band_value("abc"), None);
        // Fewer than k rows in all: one open band.
        assert_eq!(gross_bands(&[1.0, 30.0], 5), vec![0.0]);
    }
}
