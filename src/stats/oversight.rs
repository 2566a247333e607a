//! Oversight per category (verification, correction, context reconstruction, trust calibration): the
//! total oversight ratio of the profile split into its four parts, per cohort and stratified overall.
use std::collections::BTreeMap;

use super::linearization::{NO_PINGS, check_level, moment_to_estimate, strata, stratified_ratio};
use super::profile::{Estimate, ParticipantData};

/// The oversight categories of a ping (SPEC.md, Instrument B), in the order of the `minutes` arrays.
pub const OVERSIGHT_CATEGORIES: [&str; 4] = ["verification", "correction", "context", "trust"];

/// The key of the whole-study entry in [`oversight_by_category`]'s map.
pub const OVERALL: &str = "overall";

/// Oversight minutes per "used" ping-hour in each category (verification, correction, context
/// reconstruction, trust calibration; [`OVERSIGHT_CATEGORIES`]) per cohort and stratified overall (key
/// [`OVERALL`]): Σm_k/Σu with the same linearization, df and interval as the total oversight ratio of
/// [`super::profile::profile`]; the four categories add up to it. `minutes[i]` are participant `data[i]`'s minutes per
/// category, summing to its `oversight_min` (to 1e-9 relative). A `None` is "not enough data" (a
/// cohort with fewer than 2 participants or no "used" pings; overall, any cohort of the roster that
/// lacks its estimate) — [`super::profile::profile`]'s `not_enough` gives the same reasons for the total. `Err` for
/// invalid input, or a cohort named "overall".
pub fn oversight_by_category(
    data: &[ParticipantData],
    minutes: &[[f64; 4]],
    populations: &BTreeMap<String, f64>,
    level: f64,
) -> Result<BTreeMap<String, [Option<Estimate>; 4]>, String> {
    check_level(level)?;
    if minutes.len() != data.len() {
        return Err(format!(
            "{} participants but {} rows of minutes per category",
            data.len(),
            minutes.len()
        ));
    }
    if populations.contains_key(OVERALL) {
        return Err(format!(
            "a cohort may not be named {OVERALL:?} (it is the key of the whole-study figures)"
        ));
    }
    for (p, row) in data.iter().zip(minutes) {
        for (k, &v) in row.iter().enumerate() {
            if !v.is_finite() || v < 0.0 {
                return Err(format!(
                    "participant {:?}: {} minutes must be a number ≥ 0, got {v}",
                    p.id, OVERSIGHT_CATEGORIES[k]
                ));
            }
        }
        let sum: f64 = row.iter().sum();
        if (sum - p.oversight_min).abs() > 1e-9 * p.oversight_min.abs().max(1.0) {
            return Err(format!(
                "participant {:?}: the minutes per category add up to {sum}, not to oversight_min {}",
                p.id, p.oversight_min
            ));
        }
    }
    let strata = strata(data, populations)?;
    let index: std::collections::HashMap<&str, usize> = data
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let mut out: BTreeMap<String, [Option<Estimate>; 4]> = strata
        .iter()
        .map(|s| (s.name.clone(), [None; 4]))
        .chain(std::iter::once((OVERALL.to_string(), [None; 4])))
        .collect();
    for (k, _category) in OVERSIGHT_CATEGORIES.iter().enumerate() {
        let num = |p: &ParticipantData| minutes[index[p.id.as_str()]][k];
        let den = |p: &ParticipantData| p.used_pings;
        let (per, overall) = stratified_ratio(&strata, &num, &den, NO_PINGS);
        for (s, m) in strata.iter().zip(&per) {
            out.get_mut(&s.name).unwrap()[k] = moment_to_estimate(m, level).ok();
        }
        out.get_mut(OVERALL).unwrap()[k] = moment_to_estimate(&overall, level).ok();
    }
    Ok(out)
}

/// Tests against R (tests/fixtures/survey_expected.json, `expected_extra`).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fixture::{Fixture, compare, fixture, p, pops};
    use crate::stats::profile::profile;

    fn minutes(f: &Fixture) -> Vec<[f64; 4]> {
        f.participant_extra.iter().map(|e| e.minutes).collect()
    }

    #[test]
    fn oversight_by_category_matches_r() {
        let f = fixture();
        let got =
            oversight_by_category(&f.participants, &minutes(&f), &f.populations, f.level).unwrap();
        assert_eq!(got.len(), f.expected_extra.oversight_by_category.len());
        for (group, want) in &f.expected_extra.oversight_by_category {
            for (k, cat) in OVERSIGHT_CATEGORIES.iter().enumerate() {
                compare(
                    &format!("{group} {cat}"),
                    got[group][k].as_ref(),
                    &want[*cat],
                );
            }
        }
    }

    #[test]
    fn categories_add_up_to_the_total_oversight() {
        let f = fixture();
        let cats =
            oversight_by_category(&f.participants, &minutes(&f), &f.populations, f.level).unwrap();
        let prof = profile(&f.participants, &f.populations, f.level).unwrap();
        let total = |g: &str| {
            if g == OVERALL {
                prof.overall.oversight_min_per_hour.unwrap()
            } else {
                prof.cohorts[g].oversight_min_per_hour.unwrap()
            }
        };
        for (g, row) in &cats {
            let sum: f64 = row.iter().map(|e| e.unwrap().estimate).sum();
            assert!((sum - total(g).estimate).abs() < 1e-10, "{g}");
            // Putting every minute in one category gives the total oversight exactly.
        }
        let all_verif: Vec<[f64; 4]> = f
            .participants
            .iter()
            .map(|p| [p.oversight_min, 0.0, 0.0, 0.0])
            .collect();
        let one =
            oversight_by_category(&f.participants, &all_verif, &f.populations, f.level).unwrap();
        for (g, row) in &one {
            // (by category there is no recommended interval: compare the R fields)
            let want = Estimate {
                interval: None,
                ..total(g)
            };
            assert_eq!(row[0].unwrap(), want, "{g}");
            assert_eq!(row[1].unwrap().estimate, 0.0);
            assert_eq!(row[1].unwrap().se, 0.0);
        }
    }

    #[test]
    fn oversight_by_category_edge_cases_and_errors() {
        let roster = pops(&[("a", 10.0), ("b", 10.0)]);
        let data = vec![
            p("a1", "a", 4.0, 2.0, 2.0, 10.0, 3.0),
            p("a2", "a", 4.0, 3.0, 0.0, 0.0, 5.0),
            p("b1", "b", 4.0, 3.0, 0.0, 0.0, 5.0),
        ];
        let m = vec![[4.0, 3.0, 2.0, 1.0], [0.0; 4], [0.0; 4]];
        let got = oversight_by_category(&data, &m, &roster, 0.95).unwrap();
        assert!(got["a"].iter().all(Option::is_some));
        assert!(got["b"].iter().all(Option::is_none)); // 1 participant, no pings
        assert!(got[OVERALL].iter().all(Option::is_none));
        let empty = oversight_by_category(&[], &[], &roster, 0.95).unwrap();
        assert_eq!(empty.len(), 3);
        assert!(empty.values().all(|r| r.iter().all(Option::is_none)));
        // Errors.
        assert!(
            oversight_by_category(&data, &m[..2], &roster, 0.95)
                .unwrap_err()
                .contains("rows of minutes")
        );
        let mut bad = m.clone();
        bad[0][1] = 4.0;
        assert!(
            oversight_by_category(&data, &bad, &roster, 0.95)
                .unwrap_err()
                .contains("add up")
        );
        bad[0] = [4.0, f64::NAN, 2.0, 1.0];
        assert!(
            oversight_by_category(&data, &bad, &roster, 0.95)
                .unwrap_err()
                .contains("correction")
        );
        let clash = pops(&[("overall", 10.0)]);
        assert!(oversight_by_category(&[], &[], &clash, 0.95).is_err());
    }
}
