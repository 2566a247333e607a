//! Tests of the ping schedule: value stability, working windows, gaps and daylight saving.
use super::*;
use std::collections::{BTreeMap, HashSet};

const ALL_DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn spec(k: u32, start: (u32, u32), end: (u32, u32), gap: u32, days: &[Weekday]) -> ScheduleSpec {
    ScheduleSpec {
        pings_per_day: k,
        window_start: hm(start.0, start.1),
        window_end: hm(end.0, end.1),
        min_gap_minutes: gap,
        working_days: days.to_vec(),
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Asserts every property a schedule must have; returns it for further checks.
fn check(spec: &ScheduleSpec, tz: Tz, first: NaiveDate, days: u32, seed: u64) -> Vec<PingSlot> {
    let pings = ping_times(spec, tz, first, days, seed).unwrap();
    let ctx = format!("{tz} {first} +{days}d seed {seed} spec {spec:?}");
    let gap = TimeDelta::minutes(spec.min_gap_minutes.into());

    for (i, p) in pings.iter().enumerate() {
        assert_eq!(p.slot as usize, i, "slot numbers 0..n: {ctx}");
    }
    for w in pings.windows(2) {
        assert!(w[0].at <= w[1].at, "sorted: {ctx}");
    }

    let mut by_day: BTreeMap<NaiveDate, Vec<&PingSlot>> = BTreeMap::new();
    for p in &pings {
        by_day.entry(p.local_date).or_default().push(p);
    }
    for offset in 0..days {
        let d = first + Days::new(offset.into());
        let n = by_day.get(&d).map_or(0, Vec::len);
        let want = if spec.working_days.contains(&d.weekday()) {
            spec.pings_per_day as usize
        } else {
            0
        };
        assert_eq!(n, want, "pings on {d} ({}): {ctx}", d.weekday());
    }
    assert_eq!(
        by_day.len(),
        (0..days)
            .filter(|&o| spec
                .working_days
                .contains(&(first + Days::new(o.into())).weekday()))
            .count(),
        "no pings on dates outside the range: {ctx}"
    );

    for (d, day) in &by_day {
        let ws = resolve_local(tz, d.and_time(spec.window_start)).unwrap();
        let we = resolve_local(tz, d.and_time(spec.window_end)).unwrap();
        for p in day {
            assert!(ws <= p.at && p.at < we, "{} inside window: {ctx}", p.at);
            let local = p.at.with_timezone(&tz);
            assert_eq!(local.date_naive(), *d, "local date: {ctx}");
            let t = local.time();
            assert!(
                spec.window_start <= t && t < spec.window_end,
                "local {t} inside window: {ctx}"
            );
            assert_eq!(p.at.timestamp() % 60, 0, "whole minutes: {ctx}");
        }
        for w in day.windows(2) {
            assert!(
                w[1].at - w[0].at >= gap,
                "gap {} < {gap} on {d}: {ctx}",
                w[1].at - w[0].at
            );
        }
    }
    pings
}

fn zones() -> Vec<Tz> {
    vec![
        chrono_tz::UTC,
        chrono_tz::Europe::London,
        chrono_tz::Europe::Berlin,
        chrono_tz::America::New_York,
        chrono_tz::America::Los_Angeles,
        chrono_tz::America::Santiago,
        chrono_tz::Asia::Kolkata,
        chrono_tz::Asia::Kathmandu,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Pacific::Auckland,
        chrono_tz::Pacific::Chatham,
    ]
}

#[test]
fn properties_hold_across_zones_dates_and_seeds() {
    let specs = [
        ScheduleSpec::default(),
        spec(2, (8, 0), (12, 0), 90, &ALL_DAYS[..5]),
        spec(6, (7, 0), (19, 0), 120, &ALL_DAYS[..5]),
        spec(1, (10, 30), (11, 0), 30, &[Weekday::Sat, Weekday::Wed]),
        spec(3, (0, 0), (23, 59), 0, &ALL_DAYS),
        spec(4, (9, 0), (17, 7), 61, &ALL_DAYS[1..4]),
    ];
    let firsts = [
        date(2027, 1, 4),
        date(2027, 3, 8),
        date(2027, 3, 25),
        date(2027, 9, 30),
        date(2027, 10, 28),
        date(2027, 11, 4),
        date(2028, 2, 27),
    ];
    for s in &specs {
        for tz in zones() {
            for first in firsts {
                for seed in 0..8 {
                    check(s, tz, first, 7 + (seed as u32 % 3), seed * 7919 + 1);
                }
            }
        }
    }
}

#[test]
fn default_spec_gives_fifteen_pings_a_week_and_none_at_weekends() {
    let pings = check(
        &ScheduleSpec::default(),
        chrono_tz::Europe::Berlin,
        date(2027, 6, 7),
        7,
        42,
    );
    assert_eq!(pings.len(), 15);
    assert!(
        pings
            .iter()
            .all(|p| !matches!(p.local_date.weekday(), Weekday::Sat | Weekday::Sun))
    );
}

#[test]
fn dst_days_with_windows_spanning_the_jump() {
    let night3 = spec(3, (0, 30), (4, 30), 60, &ALL_DAYS);
    let night2 = spec(2, (0, 30), (4, 30), 120, &ALL_DAYS);
    let office = spec(3, (9, 0), (17, 0), 60, &ALL_DAYS);
    let cases = [
        (chrono_tz::Europe::London, date(2027, 3, 28)),
        (chrono_tz::Europe::London, date(2027, 10, 31)),
        (chrono_tz::America::New_York, date(2027, 3, 14)),
        (chrono_tz::America::New_York, date(2027, 11, 7)),
        (chrono_tz::Australia::Lord_Howe, date(2027, 4, 4)),
        (chrono_tz::Australia::Lord_Howe, date(2027, 10, 3)),
    ];
    for (tz, day) in cases {
        for s in [&night3, &night2, &office] {
            for seed in 0..400 {
                check(s, tz, day, 1, seed);
            }
        }
        // Same day inside a longer run, too.
        for seed in 0..20 {
            check(&night3, tz, day - Days::new(3), 7, seed);
        }
    }
}

#[test]
fn dst_jump_is_actually_exercised() {
    // With the night window, some draws must land in the spring-forward
    // gap (02:00–02:59 London wall time) and be shifted to 03:xx, and
    // some pings must be pushed apart by the real-time gap rule.
    let night = spec(3, (0, 30), (4, 30), 60, &ALL_DAYS);
    let tz = chrono_tz::Europe::London;
    let day = date(2027, 3, 28);
    let mut hours = HashSet::new();
    for seed in 0..400 {
        for p in ping_times(&night, tz, day, 1, seed).unwrap() {
            hours.insert(p.at.with_timezone(&tz).hour());
        }
    }
    assert!(!hours.contains(&1), "01:xx does not exist that day");
    assert!(hours.contains(&0) && hours.contains(&2) && hours.contains(&3));
}

#[test]
fn midnight_transition_zone_santiago() {
    // Chile: 2027-04-04 clocks go 00:00 -03 -> 23:00 -04 the evening
    // before; 2027-09-05 they jump 00:00 -04 -> 01:00 -03.
    let tz = chrono_tz::America::Santiago;
    assert_eq!(
        resolve_local(tz, date(2027, 9, 5).and_time(hm(0, 0))).unwrap(),
        utc("2027-09-05T04:00:00Z")
    );
    assert_eq!(
        resolve_local(tz, date(2027, 4, 4).and_time(hm(0, 0))).unwrap(),
        utc("2027-04-04T04:00:00Z")
    );
    assert_eq!(
        resolve_local(tz, date(2027, 4, 3).and_time(hm(23, 30))).unwrap(),
        utc("2027-04-04T02:30:00Z"),
        "ambiguous 23:30 takes the earlier (-03) instant"
    );
    let from_midnight = spec(3, (0, 0), (4, 0), 60, &ALL_DAYS);
    let evening = spec(2, (20, 0), (23, 59), 60, &ALL_DAYS);
    for s in [&from_midnight, &evening, &ScheduleSpec::default()] {
        for seed in 0..300 {
            check(s, tz, date(2027, 4, 3), 2, seed);
            check(s, tz, date(2027, 9, 4), 2, seed);
        }
    }
}

#[test]
fn resolve_local_follows_the_dst_rules() {
    let cases = [
        // Spring-forward gaps move forward by the gap length.
        (
            chrono_tz::Europe::London,
            date(2027, 3, 28),
            hm(1, 30),
            "2027-03-28T01:30:00Z",
        ),
        (
            chrono_tz::America::New_York,
            date(2027, 3, 14),
            hm(2, 30),
            "2027-03-14T07:30:00Z",
        ),
        (
            chrono_tz::America::New_York,
            date(2027, 3, 14),
            hm(2, 0),
            "2027-03-14T07:00:00Z",
        ),
        (
            chrono_tz::Australia::Lord_Howe,
            date(2027, 10, 3),
            hm(2, 15),
            "2027-10-02T15:45:00Z",
        ),
        // Fall-back ambiguity takes the earlier instant.
        (
            chrono_tz::Europe::London,
            date(2027, 10, 31),
            hm(1, 30),
            "2027-10-31T00:30:00Z",
        ),
        (
            chrono_tz::America::New_York,
            date(2027, 11, 7),
            hm(1, 30),
            "2027-11-07T05:30:00Z",
        ),
        (
            chrono_tz::Australia::Lord_Howe,
            date(2027, 4, 4),
            hm(1, 45),
            "2027-04-03T14:45:00Z",
        ),
        // Ordinary times are untouched.
        (
            chrono_tz::America::New_York,
            date(2027, 3, 14),
            hm(9, 0),
            "2027-03-14T13:00:00Z",
        ),
    ];
    for (tz, d, t, want) in cases {
        assert_eq!(
            resolve_local(tz, d.and_time(t)).unwrap(),
            utc(want),
            "{tz} {d} {t}"
        );
    }
}

#[test]
fn gap_wins_when_dst_makes_the_real_window_too_short() {
    // 00:30–04:30 is 240 wall minutes but only 180 real ones on a
    // spring-forward day; 4 pings 60 minutes apart need 181. The gap is
    // kept and the last ping may overrun the window end.
    let tight = spec(4, (0, 30), (4, 30), 60, &ALL_DAYS);
    let tz = chrono_tz::America::New_York;
    let mut overran = false;
    for seed in 0..200 {
        let pings = ping_times(&tight, tz, date(2027, 3, 14), 1, seed).unwrap();
        assert_eq!(pings.len(), 4);
        for w in pings.windows(2) {
            assert!(w[1].at - w[0].at >= TimeDelta::minutes(60), "seed {seed}");
        }
        let ws = resolve_local(tz, date(2027, 3, 14).and_time(hm(0, 30))).unwrap();
        assert!(pings[0].at >= ws);
        overran |= pings[3].at >= utc("2027-03-14T08:30:00Z");
    }
    assert!(
        overran,
        "this spec cannot fit, so some schedule must overrun"
    );
}

#[test]
fn reproducible_and_seed_sensitive() {
    let s = ScheduleSpec::default();
    let tz = chrono_tz::America::New_York;
    let d = date(2027, 5, 3);
    for seed in 0..50 {
        let a = ping_times(&s, tz, d, 7, seed).unwrap();
        let b = ping_times(&s, tz, d, 7, seed).unwrap();
        assert_eq!(a, b);
        let c = ping_times(&s, tz, d, 7, seed + 1).unwrap();
        assert_ne!(a, c);
    }
    let distinct: HashSet<Vec<PingSlot>> = (0..200)
        .map(|seed| ping_times(&s, tz, d, 7, seed).unwrap())
        .collect();
    assert_eq!(distinct.len(), 200);
}

#[test]
fn golden_schedule_is_stable() {
    // Pins the whole chain (seed_from_u64, ChaCha8 stream, sampler,
    // block rule, conversion). If this fails after a dependency upgrade,
    // stored schedules would no longer be reproducible: do not just
    // update the values.
    let pings = ping_times(
        &ScheduleSpec::default(),
        chrono_tz::Europe::London,
        date(2027, 3, 22),
        7,
        participant_seed(2027, 17),
    )
    .unwrap();
    let got: Vec<String> = pings.iter().map(|p| p.at.to_rfc3339()).collect();
    let want = [
        "2027-03-22T09:21:00+00:00",
        "2027-03-22T13:52:00+00:00",
        "2027-03-22T15:35:00+00:00",
        "2027-03-23T11:35:00+00:00",
        "2027-03-23T13:22:00+00:00",
        "2027-03-23T15:34:00+00:00",
        "2027-03-24T09:20:00+00:00",
        "2027-03-24T13:48:00+00:00",
        "2027-03-24T15:12:00+00:00",
        "2027-03-25T09:58:00+00:00",
        "2027-03-25T13:08:00+00:00",
        "2027-03-25T14:28:00+00:00",
        "2027-03-26T10:32:00+00:00",
        "2027-03-26T12:39:00+00:00",
        "2027-03-26T16:33:00+00:00",
    ];
    assert_eq!(got, want);

    // A spring-forward night in New York, where conversion and the
    // real-time gap rule both matter.
    let night = spec(3, (0, 30), (4, 30), 60, &ALL_DAYS);
    let mut got = Vec::new();
    for seed in 0..6 {
        let pings = ping_times(
            &night,
            chrono_tz::America::New_York,
            date(2027, 3, 14),
            1,
            seed,
        )
        .unwrap();
        got.push(
            pings
                .iter()
                .map(|p| p.at.format("%H:%M").to_string())
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    // UTC; EST is -5 before 07:00Z, EDT -4 after. Exact 60-minute
    // steps (seeds 0, 3, 4, 5) are pings pushed by the real-time gap rule.
    let want = [
        "05:42 07:13 08:13",
        "05:31 07:05 08:21",
        "05:35 07:22 08:24",
        "06:15 07:18 08:18",
        "05:48 07:29 08:29",
        "06:13 07:13 08:22",
    ];
    assert_eq!(got, want);
}

#[test]
fn participant_seed_is_stable_and_spreads() {
    let fixed = [
        // Cross-checked against an independent Python implementation.
        (participant_seed(0, 0), 13_868_196_682_458_464_808),
        (participant_seed(0, 1), 9_115_375_714_078_175_398),
        (participant_seed(2027, 17), 10_799_306_284_370_815_418),
        (participant_seed(u64::MAX, -1), 12_928_098_771_147_332_397),
        (
            participant_seed(12345, i64::MIN),
            18_044_268_360_717_121_624,
        ),
    ];
    for (got, want) in fixed {
        assert_eq!(got, want);
    }
    let seeds: HashSet<u64> = (-50_000..50_000).map(|p| participant_seed(7, p)).collect();
    assert_eq!(seeds.len(), 100_000);
    let across: HashSet<u64> = (0..10_000).map(|s| participant_seed(s, 42)).collect();
    assert_eq!(across.len(), 10_000);
    // Neighbouring ids should differ in about half their bits.
    let mean_bits = (0..1000)
        .map(|p| (participant_seed(1, p) ^ participant_seed(1, p + 1)).count_ones())
        .sum::<u32>() as f64
        / 1000.0;
    assert!((28.0..36.0).contains(&mean_bits), "{mean_bits}");
}

#[test]
fn draws_are_roughly_uniform_within_blocks() {
    // Gap 0: no redraws, every block uniform. Gap 60: the first block is
    // never redrawn so it stays uniform. 10,000 days each.
    for (gap, blocks) in [(0u32, 3u32), (60, 1)] {
        let s = spec(3, (9, 0), (17, 0), gap, &ALL_DAYS);
        let block_len = 160;
        let mut quarters = vec![[0u32; 4]; blocks as usize];
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        for _ in 0..10_000 {
            let mins = draw_day_minutes(&s, &mut rng);
            for b in 0..blocks as usize {
                let lo = 9 * 60 + b as u32 * block_len;
                let off = mins[b] - lo;
                assert!(off < block_len);
                quarters[b][(off * 4 / block_len) as usize] += 1;
            }
        }
        for q in quarters.iter().flatten() {
            assert!((2000..=3000).contains(q), "gap {gap}: {quarters:?}");
        }
    }
}

#[test]
fn redraw_respects_gap_in_local_minutes() {
    let s = spec(6, (8, 0), (14, 0), 60, &ALL_DAYS);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..5_000 {
        let mins = draw_day_minutes(&s, &mut rng);
        for (i, w) in mins.windows(2).enumerate() {
            assert!(w[1] - w[0] >= 60, "{mins:?}");
            assert!(w[1] >= 8 * 60 + (i as u32 + 1) * 60 && w[1] < 8 * 60 + (i as u32 + 2) * 60);
        }
    }
}

#[test]
fn infeasible_and_invalid_specs_are_refused() {
    let infeasible = spec(3, (9, 0), (11, 0), 60, &ALL_DAYS[..5]);
    let err = infeasible.validate().unwrap_err();
    assert!(err.contains("infeasible"), "{err}");
    assert!(err.contains("at least 180 minutes"), "{err}");
    let err = ping_times(&infeasible, chrono_tz::UTC, date(2027, 1, 4), 7, 1).unwrap_err();
    assert!(err.contains("infeasible"), "{err}");

    // Exactly feasible: 3 blocks of 60 minutes with a 60-minute gap.
    let exact = spec(3, (9, 0), (12, 0), 60, &ALL_DAYS);
    exact.validate().unwrap();
    for seed in 0..200 {
        check(&exact, chrono_tz::UTC, date(2027, 1, 4), 3, seed);
    }

    let refused = |s: ScheduleSpec, needle: &str| {
        let err = s.validate().unwrap_err();
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    };
    let d = ScheduleSpec::default;
    refused(
        ScheduleSpec {
            pings_per_day: 0,
            ..d()
        },
        "pings_per_day",
    );
    refused(
        ScheduleSpec {
            pings_per_day: 7,
            ..d()
        },
        "pings_per_day",
    );
    refused(
        ScheduleSpec {
            window_end: hm(8, 0),
            ..d()
        },
        "must be after",
    );
    refused(
        ScheduleSpec {
            window_end: hm(9, 0),
            ..d()
        },
        "must be after",
    );
    let half_minute = NaiveTime::from_hms_opt(9, 0, 30).unwrap();
    refused(
        ScheduleSpec {
            window_start: half_minute,
            ..d()
        },
        "whole minute",
    );
    refused(
        ScheduleSpec {
            working_days: vec![],
            ..d()
        },
        "working_days",
    );
    refused(
        ScheduleSpec {
            min_gap_minutes: u32::MAX,
            ..d()
        },
        "infeasible",
    );
    ScheduleSpec::default().validate().unwrap();
}

#[test]
fn day_count_and_date_range_are_checked() {
    let s = ScheduleSpec::default();
    let tz = chrono_tz::UTC;
    let d = date(2027, 1, 4);
    assert!(ping_times(&s, tz, d, 0, 1).unwrap_err().contains("days"));
    assert!(ping_times(&s, tz, d, 63, 1).unwrap_err().contains("days"));
    assert_eq!(ping_times(&s, tz, d, 62, 1).unwrap().len(), 45 * 3);
    assert!(ping_times(&s, tz, date(1899, 12, 31), 7, 1).is_err());
    assert!(ping_times(&s, tz, date(9999, 12, 31), 1, 1).is_ok());
}

#[test]
fn default_spec_values() {
    let s = ScheduleSpec::default();
    assert_eq!(s.pings_per_day, 3);
    assert_eq!(s.window_start, hm(9, 0));
    assert_eq!(s.window_end, hm(17, 0));
    assert_eq!(s.min_gap_minutes, 60);
    assert_eq!(s.working_days, ALL_DAYS[..5].to_vec());
}

#[test]
fn twenty_five_thousand_participants_for_a_week() {
    let s = ScheduleSpec::default();
    let zones = zones();
    let mut total = 0usize;
    for participant in 0..25_000i64 {
        let tz = zones[participant as usize % zones.len()];
        let pings = ping_times(
            &s,
            tz,
            date(2027, 3, 22),
            7,
            participant_seed(2027, participant),
        )
        .unwrap();
        total += pings.len();
    }
    assert_eq!(total, 25_000 * 15);
}
