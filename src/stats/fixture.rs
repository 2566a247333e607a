//! The test fixture shared by the statistics modules: R's `survey` results on one synthetic study
//! (tests/fixtures/survey_expected.json), the comparison tolerances and small builders.
use std::collections::BTreeMap;

use serde::Deserialize;

use super::profile::{Estimate, ParticipantData};

#[derive(Deserialize)]
pub(crate) struct Fixture {
    pub level: f64,
    pub populations: BTreeMap<String, f64>,
    pub participants: Vec<ParticipantData>,
    pub participant_extra: Vec<Extra>,
    /// R's profile per cohort and overall.
    pub expected: ExpectedStudy,
    /// R's oversight by category, segments and design effects.
    pub expected_extra: ExpectedExtra,
}

#[derive(Deserialize)]
pub(crate) struct ExpectedStudy {
    pub cohorts: BTreeMap<String, ExpectedProfile>,
    pub overall: ExpectedProfile,
}

#[derive(Deserialize)]
pub(crate) struct ExpectedProfile {
    pub n: f64,
    #[serde(rename = "yield")]
    pub yield_rate: Estimate,
    pub oversight_min_per_hour: Estimate,
    pub gross_hours_month: Estimate,
    pub net_hours_month: Estimate,
    pub labor_multiplier: Estimate,
}

#[derive(Deserialize)]
pub(crate) struct Extra {
    pub id: String,
    pub function: String,
    pub tenure: String,
    pub minutes: [f64; 4],
}

#[derive(Deserialize)]
pub(crate) struct ExpectedExtra {
    pub oversight_by_category: BTreeMap<String, BTreeMap<String, Estimate>>,
    pub segments: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    pub design_effects: BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>>,
}

/// The fixture, with its participants and their extra columns checked to be in the same order.
pub(crate) fn fixture() -> Fixture {
    let f: Fixture =
        serde_json::from_str(include_str!("../../tests/fixtures/survey_expected.json")).unwrap();
    for (p, e) in f.participants.iter().zip(&f.participant_extra) {
        assert_eq!(p.id, e.id);
    }
    f
}

/// Estimates to 1e-9, SEs to 1e-6 relative, df exactly, intervals to 1e-6 of their width.
pub(crate) fn compare(what: &str, got: Option<&Estimate>, want: &Estimate) {
    let got = got.unwrap_or_else(|| panic!("{what}: missing"));
    assert!(
        (got.estimate - want.estimate).abs() <= 1e-9,
        "{what} estimate: {} vs R {}",
        got.estimate,
        want.estimate
    );
    assert!(
        (got.se - want.se).abs() <= 1e-6 * want.se.abs(),
        "{what} se: {} vs R {}",
        got.se,
        want.se
    );
    assert_eq!(got.df, want.df, "{what} df");
    let width = want.ci_upper - want.ci_lower;
    assert!(
        (got.ci_lower - want.ci_lower).abs() <= 1e-6 * width
            && (got.ci_upper - want.ci_upper).abs() <= 1e-6 * width,
        "{what} interval"
    );
}

/// A participant of cohort `cohort`: n tasks, y used, u "used" pings, m minutes, g gross hours.
pub(crate) fn p(id: &str, cohort: &str, n: f64, y: f64, u: f64, m: f64, g: f64) -> ParticipantData {
    ParticipantData {
        id: id.to_string(),
        cohort: cohort.to_string(),
        n_tasks: n,
        used_tasks: y,
        used_pings: u,
        oversight_min: m,
        gross_hours: g,
    }
}

/// Roster sizes from (cohort, N_h) pairs.
pub(crate) fn pops(list: &[(&str, f64)]) -> BTreeMap<String, f64> {
    list.iter().map(|(c, n)| (c.to_string(), *n)).collect()
}
