//! The Layer 2 profile (SPEC.md, "The Layer 2 profile"): per cohort and overall, with standard errors
//! and t intervals by linearization, as R's `survey` package computes them for the design
//! `svydesign(ids = ~participant, strata = ~cohort, fpc = ~roster_size)`.
//!
//! Per cohort h (n_h participants of a roster of N_h):
//! - yield Y = Σy/Σn, linearized value z_i = (y_i − Y·n_i)/Σn (svyratio);
//! - oversight O = Σm/Σu minutes per "used" ping-hour, z_i = (m_i − O·u_i)/Σu (svyratio);
//! - gross G = mean g, z_i = (g_i − G)/n_h (svymean);
//! - net = G·Y − G·O/60, z = (Y − O/60)·z_G + G·z_Y − (G/60)·z_O (delta method on the same
//!   participants' influence values, never a sum of variances);
//! - multiplier = net/G = Y − O/60, z = z_Y − z_O/60; vendor gap = 1 − multiplier, z = −z_multiplier.
//!
//! Variance: V = Σ_h (1 − n_h/N_h)·n_h/(n_h − 1)·Σ_{i∈h}(z_i − z̄_h)² (the ultimate-cluster formula);
//! df = n_h − 1 in a cohort, n − H overall; interval = estimate ± t_{df}·SE.
//!
//! Overall, with W_h = N_h/ΣN over the roster: θ = Σ W_h·θ_h for yield, oversight, gross and net, with
//! linearized values W_h·z_i; the overall multiplier is overall net ÷ overall gross (cohorts weighted by
//! their gross hours, not overall Y − overall O/60), z = (z_net − M·z_G)/G.
//!
//! "Not enough data" is a `None` with the reason in [`Profile::not_enough`], never NaN, ∞ or a panic:
//! - a cohort with fewer than 2 participants has no estimate of its own (an estimate without a standard
//!   error would be quoted without its uncertainty); with exactly 1 it still enters the overall figures
//!   as R's `survey` does with `survey.lonely.psu = "adjust"` ([`LONELY_NOTE`]);
//! - no diary tasks (Σn = 0): no yield; no "yes, used" pings (Σu = 0): no oversight; either missing:
//!   no net, multiplier or vendor gap; overall gross 0: no overall multiplier;
//! - a cohort with no diary task or no "yes, used" ping has no yield or oversight of its own, so
//!   Σ W_h θ_h is undefined: the overall yield and oversight are then the combined ratio over the whole
//!   design, as R's `svyratio(~a, ~b, design)` ([`COMBINED_NOTE`], in `Profile::notes`), when every
//!   cohort has at least 2 participants; overall net, multiplier and vendor gap stay not estimable;
//! - overall figures need every cohort of the roster (N_h > 0) to have at least one participant;
//! - identical participants give SE 0 (exactly), which is an answer, not an error.
//!
//! Rows are grouped by cohort and sorted by participant id before any sum, so the results do not depend
//! on the order of the rows, bit for bit.
//!
//! The linearized values and the variance formula (including the multiplier's) live in
//! [`super::linearization`]; oversight by category in [`super::oversight`]; design effects in
//! [`super::design_effect`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::intervals::{Interval, Method, analytic, recommended, satterthwaite_df};
use super::linearization::{
    LONELY_NOTE, Linearized, NO_PARTICIPANTS, Points, Stratum, check_level, linearize_cohort,
    make_estimate, overall_design_problem, overall_multiplier_z, overall_points, strata,
    t_quantile, ultimate_cluster_variance,
};

/// One participant's data (SPEC: n_i tasks, y_i used without major rework, u_i pings answered
/// "yes, used", m_i oversight minutes over those pings, g_i gross AI hours per month).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticipantData {
    pub id: String,
    pub cohort: String,
    /// n_i: diary tasks logged.
    pub n_tasks: f64,
    /// y_i: tasks whose AI output was used `all` or `most` (without major rework).
    pub used_tasks: f64,
    /// u_i: answered pings reporting copilot use.
    pub used_pings: f64,
    /// m_i: oversight minutes summed over those pings.
    pub oversight_min: f64,
    /// g_i: gross AI hours per month (vendor analytics).
    pub gross_hours: f64,
}

/// A point estimate with its linearization standard error, degrees of freedom and t interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub estimate: f64,
    pub se: f64,
    pub df: f64,
    pub ci_lower: f64,
    pub ci_upper: f64,
    /// The interval shown to people ([`super::intervals`]); absent where no method applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
}

/// The metrics of a profile, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Metric {
    Yield,
    Oversight,
    Gross,
    Net,
    Multiplier,
    VendorGap,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::Yield,
        Metric::Oversight,
        Metric::Gross,
        Metric::Net,
        Metric::Multiplier,
        Metric::VendorGap,
    ];

    /// The JSON key (issue 4's `layer2 analyze --json` format).
    pub fn key(self) -> &'static str {
        match self {
            Metric::Yield => "yield",
            Metric::Oversight => "oversight_min_per_hour",
            Metric::Gross => "gross_hours_month",
            Metric::Net => "net_hours_month",
            Metric::Multiplier => "labor_multiplier",
            Metric::VendorGap => "vendor_gap",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The six metrics of one group (a cohort, a segment or the whole study), each a `T` (an [`Estimate`]
/// of the profile, a bootstrap `Interval`) or, when `None`, the reason in `not_enough`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerMetric<T> {
    /// Participants in the estimate.
    pub n: usize,
    #[serde(rename = "yield")]
    pub yield_rate: Option<T>,
    /// Minutes of review per hour of AI output.
    pub oversight_min_per_hour: Option<T>,
    /// Gross AI hours per user per month.
    pub gross_hours_month: Option<T>,
    /// Net hours saved per user per month.
    pub net_hours_month: Option<T>,
    pub labor_multiplier: Option<T>,
    /// 1 − multiplier: how far below the vendor's figure the net saving is.
    pub vendor_gap: Option<T>,
    /// Why a metric is `None`: metric key ([`Metric::key`]) → reason ("not enough data: …").
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_enough: BTreeMap<String, String>,
    /// A metric computed by a fallback rather than the usual estimator: metric key → how
    /// ([`COMBINED_NOTE`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<String, String>,
}

/// The Layer 2 profile of one cohort, or of the whole study.
pub type Profile = PerMetric<Estimate>;

impl<T> PerMetric<T> {
    /// One metric's value, if it has one.
    pub fn get(&self, metric: Metric) -> Option<&T> {
        match metric {
            Metric::Yield => self.yield_rate.as_ref(),
            Metric::Oversight => self.oversight_min_per_hour.as_ref(),
            Metric::Gross => self.gross_hours_month.as_ref(),
            Metric::Net => self.net_hours_month.as_ref(),
            Metric::Multiplier => self.labor_multiplier.as_ref(),
            Metric::VendorGap => self.vendor_gap.as_ref(),
        }
    }

    /// One metric's value, mutably.
    pub fn get_mut(&mut self, metric: Metric) -> Option<&mut T> {
        match metric {
            Metric::Yield => self.yield_rate.as_mut(),
            Metric::Oversight => self.oversight_min_per_hour.as_mut(),
            Metric::Gross => self.gross_hours_month.as_mut(),
            Metric::Net => self.net_hours_month.as_mut(),
            Metric::Multiplier => self.labor_multiplier.as_mut(),
            Metric::VendorGap => self.vendor_gap.as_mut(),
        }
    }

    /// The reason a metric is missing, if it is.
    pub fn reason(&self, metric: Metric) -> Option<&str> {
        self.not_enough.get(metric.key()).map(String::as_str)
    }

    /// From each metric's result in [`Metric::ALL`] order; an `Err` is the reason it is missing.
    pub(crate) fn from_results(n: usize, results: [Result<T, String>; 6]) -> PerMetric<T> {
        let mut not_enough = BTreeMap::new();
        let mut values: [Option<T>; 6] = std::array::from_fn(|_| None);
        for (metric, result) in Metric::ALL.into_iter().zip(results) {
            match result {
                Ok(e) => values[metric.index()] = Some(e),
                Err(reason) => {
                    not_enough.insert(metric.key().to_string(), reason);
                }
            }
        }
        let [
            yield_rate,
            oversight_min_per_hour,
            gross_hours_month,
            net_hours_month,
            labor_multiplier,
            vendor_gap,
        ] = values;
        PerMetric {
            n,
            yield_rate,
            oversight_min_per_hour,
            gross_hours_month,
            net_hours_month,
            labor_multiplier,
            vendor_gap,
            not_enough,
            notes: BTreeMap::new(),
        }
    }
}

/// The profile of every cohort of the roster and of the whole study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyProfile {
    pub cohorts: BTreeMap<String, Profile>,
    pub overall: Profile,
}

/// The Layer 2 profile per cohort and overall. `populations`: cohort → roster size N_h (finite
/// population correction, and overall weights W_h = N_h/ΣN); every participant's cohort must be in it.
/// `level`: confidence level in (0, 1), e.g. 0.95. `Err` only for invalid input (a negative count,
/// used tasks above tasks, a duplicate id, an unknown cohort, more participants than the roster, a bad
/// level); missing data gives `None` metrics with reasons.
pub fn profile(
    data: &[ParticipantData],
    populations: &BTreeMap<String, f64>,
    level: f64,
) -> Result<StudyProfile, String> {
    profile_with(data, populations, level, None)
}

/// [`profile`] with every metric's `interval` computed by `method` (an analytic one: `t`, `logit_t`,
/// `log_t`) instead of the recommended one; a transformation that does not fit the metric (logit
/// outside yield, log on a quantity that can be negative) falls back to `t`.
pub fn profile_with(
    data: &[ParticipantData],
    populations: &BTreeMap<String, f64>,
    level: f64,
    method: Option<Method>,
) -> Result<StudyProfile, String> {
    check_level(level)?;
    let strata = strata(data, populations)?;
    let mut cohorts = BTreeMap::new();
    let mut lins = Vec::with_capacity(strata.len());
    for s in &strata {
        let n = s.rows.len();
        let lin = linearize_cohort(&s.rows);
        let results: [Result<Estimate, String>; 6] = if n < 2 {
            let why = if n == 0 {
                NO_PARTICIPANTS.to_string()
            } else {
                LONELY_NOTE.to_string()
            };
            std::array::from_fn(|_| Err(why.clone()))
        } else {
            let df = (n - 1) as f64;
            let t = t_quantile(level, df)?;
            std::array::from_fn(|k| {
                let est = lin.points.0[k].clone()?;
                let v = ultimate_cluster_variance(&[(s.population, &lin.z[k])]);
                make_estimate(est, v, df, t).map(|e| with_interval(e, k, df, level, method))
            })
        };
        cohorts.insert(s.name.clone(), Profile::from_results(n, results));
        lins.push(lin);
    }
    let overall = overall_profile(&strata, &lins, level, method)?;
    Ok(StudyProfile { cohorts, overall })
}

/// Attaches the interval of `method` (or the metric's recommended one) with `df` degrees of freedom.
fn with_interval(
    mut e: Estimate,
    k: usize,
    df: f64,
    level: f64,
    method: Option<Method>,
) -> Estimate {
    let metric = Metric::ALL[k];
    let method = match method {
        Some(Method::LogitT) if metric != Metric::Yield => Method::T,
        Some(Method::LogT) if !matches!(metric, Metric::Oversight | Metric::Gross) => Method::T,
        Some(m) => m,
        None => recommended(metric),
    };
    e.interval = analytic(metric, method, e.estimate, e.se, df, level);
    e
}

fn overall_profile(
    strata: &[Stratum<'_>],
    lins: &[Linearized],
    level: f64,
    method: Option<Method>,
) -> Result<Profile, String> {
    let n: usize = strata.iter().map(|s| s.rows.len()).sum();
    let fail = |why: String| {
        Ok(Profile::from_results(
            n,
            std::array::from_fn(|_| Err(why.clone())),
        ))
    };
    // Every cohort of the roster must be estimable: its θ_h enters Σ W_h θ_h.
    if let Some(why) = overall_design_problem(strata) {
        return fail(why);
    }
    let used: Vec<usize> = (0..strata.len())
        .filter(|&h| strata[h].weight > 0.0)
        .collect();
    let df = (n - used.len()) as f64;
    let t = t_quantile(level, df)?;
    let cohort_points: Vec<(String, f64, Points)> = used
        .iter()
        .map(|&h| {
            (
                strata[h].name.clone(),
                strata[h].weight,
                lins[h].points.clone(),
            )
        })
        .collect();
    let points = overall_points(&cohort_points);
    // Overall linearized values: W_h·z_i for the four linear metrics.
    let weighted = |k: usize| -> Vec<Vec<f64>> {
        used.iter()
            .map(|&h| lins[h].z[k].iter().map(|z| strata[h].weight * z).collect())
            .collect()
    };
    let variance = |z: &[Vec<f64>]| {
        let parts: Vec<(f64, &[f64])> = used
            .iter()
            .zip(z)
            .map(|(&h, zh)| (strata[h].population, zh.as_slice()))
            .collect();
        ultimate_cluster_variance(&parts)
    };
    // The shown interval uses Satterthwaite's df (R's fields keep n − H).
    let satterthwaite = |z: &[Vec<f64>]| {
        let parts: Vec<(f64, &[f64])> = used
            .iter()
            .zip(z)
            .map(|(&h, zh)| (strata[h].population, zh.as_slice()))
            .collect();
        satterthwaite_df(&parts)
    };
    let mut results: [Result<Estimate, String>; 6] = std::array::from_fn(|_| Err(String::new()));
    let mut z_all: [Vec<Vec<f64>>; 4] = Default::default();
    for k in 0..4 {
        results[k] = points.0[k].clone().and_then(|est| {
            z_all[k] = weighted(k);
            let sdf = satterthwaite(&z_all[k]);
            make_estimate(est, variance(&z_all[k]), df, t)
                .map(|e| with_interval(e, k, sdf, level, method))
        });
    }
    // A cohort without a ratio of its own (no diary task, no "yes, used" ping) leaves Σ W_h θ_h
    // undefined; the overall yield and oversight are then R's combined ratio over the whole design.
    let mut notes = BTreeMap::new();
    let lonely = strata.iter().any(|s| s.weight > 0.0 && s.rows.len() < 2);
    for (k, result) in results.iter_mut().enumerate().take(2) {
        if result.is_ok() || lonely {
            continue;
        }
        if let Some((est, z)) = combined_ratio(strata, &used, k) {
            let sdf = satterthwaite(&z);
            *result = make_estimate(est, variance(&z), df, t)
                .map(|e| with_interval(e, k, sdf, level, method));
            let why = match result {
                Ok(_) => COMBINED_NOTE.to_string(),
                Err(e) => e.clone(),
            };
            notes.insert(Metric::ALL[k].key().to_string(), why);
        }
    }
    // Multiplier = net/G, its own linearized values (not the cohorts' Y − O/60).
    let mult = points.get(Metric::Multiplier).clone().and_then(|m| {
        let g = points.get(Metric::Gross).clone()?;
        let z = overall_multiplier_z(&z_all[3], &z_all[2], m, g);
        Ok((m, variance(&z), satterthwaite(&z)))
    });
    results[4] = mult.clone().and_then(|(m, v, sdf)| {
        make_estimate(m, v, df, t).map(|e| with_interval(e, 4, sdf, level, method))
    });
    results[5] = mult.and_then(|(m, v, sdf)| {
        make_estimate(1.0 - m, v, df, t).map(|e| with_interval(e, 5, sdf, level, method))
    });
    let mut profile = Profile::from_results(n, results);
    profile.notes = notes;
    Ok(profile)
}

/// How an overall ratio is computed when a cohort has none of its own (issue 15, checked against R in
/// `tests::zero_use_cohort_matches_r_survey_combined_ratio`).
pub const COMBINED_NOTE: &str = "a cohort has no data for its own ratio, so the overall figure is the combined ratio over the whole design (R survey's svyratio(~numerator, ~denominator, design)): Σ_h (N_h/n_h)·Σ numerator ÷ Σ_h (N_h/n_h)·Σ denominator; net time, the multiplier and the vendor gap stay not estimable";

/// The combined ratio R̂ = Σ_h w_h Σ_i a_i ÷ Σ_h w_h Σ_i b_i (w_h = N_h/n_h) of metric `k` (0: used ÷
/// logged tasks, 1: oversight minutes ÷ "yes, used" pings) over the cohorts `used`, with its
/// linearized values z_i = w_h·(a_i − R̂·b_i)/B̂ per cohort (svyratio's). `None` when B̂ = 0.
fn combined_ratio(
    strata: &[Stratum<'_>],
    used: &[usize],
    k: usize,
) -> Option<(f64, Vec<Vec<f64>>)> {
    let pair = |p: &ParticipantData| match k {
        0 => (p.used_tasks, p.n_tasks),
        _ => (p.oversight_min, p.used_pings),
    };
    let w = |h: usize| strata[h].population / strata[h].rows.len() as f64;
    let (mut a, mut b) = (0.0, 0.0);
    for &h in used {
        for p in &strata[h].rows {
            let (x, y) = pair(p);
            a += w(h) * x;
            b += w(h) * y;
        }
    }
    if b <= 0.0 {
        return None;
    }
    let r = a / b;
    let z = used
        .iter()
        .map(|&h| {
            strata[h]
                .rows
                .iter()
                .map(|p| {
                    let (x, y) = pair(p);
                    w(h) * (x - r * y) / b
                })
                .collect()
        })
        .collect();
    Some((r, z))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fixture::{ExpectedProfile, compare, fixture, p, pops};
    use crate::stats::linearization::{NO_GROSS, NO_PINGS, NO_TASKS};

    fn compare_profile(name: &str, got: &Profile, want: &ExpectedProfile) {
        assert_eq!(got.n as f64, want.n, "{name} n");
        compare(
            &format!("{name} yield"),
            got.yield_rate.as_ref(),
            &want.yield_rate,
        );
        compare(
            &format!("{name} oversight"),
            got.oversight_min_per_hour.as_ref(),
            &want.oversight_min_per_hour,
        );
        compare(
            &format!("{name} gross"),
            got.gross_hours_month.as_ref(),
            &want.gross_hours_month,
        );
        compare(
            &format!("{name} net"),
            got.net_hours_month.as_ref(),
            &want.net_hours_month,
        );
        compare(
            &format!("{name} multiplier"),
            got.labor_multiplier.as_ref(),
            &want.labor_multiplier,
        );
        let m = got.labor_multiplier.unwrap();
        let gap = got.vendor_gap.unwrap();
        assert!((gap.estimate - (1.0 - m.estimate)).abs() < 1e-15);
        assert_eq!(gap.se, m.se);
    }

    #[test]
    fn matches_r_survey_fixture() {
        let fixture = fixture();
        let got = profile(&fixture.participants, &fixture.populations, fixture.level).unwrap();
        assert_eq!(got.cohorts.len(), fixture.expected.cohorts.len());
        for (name, want) in &fixture.expected.cohorts {
            compare_profile(name, &got.cohorts[name], want);
        }
        compare_profile("overall", &got.overall, &fixture.expected.overall);
        // The overall multiplier is net ÷ gross, not overall yield − overall oversight/60.
        let o = &got.overall;
        let naive =
            o.yield_rate.unwrap().estimate - o.oversight_min_per_hour.unwrap().estimate / 60.0;
        assert!((o.labor_multiplier.unwrap().estimate - naive).abs() > 1e-4);
    }

    /// An R-checked degenerate design (scripts/survey_lonely_fixture.R, survey_zero_use_fixture.R).
    #[derive(serde::Deserialize)]
    struct DegenerateFixture {
        level: f64,
        populations: BTreeMap<String, f64>,
        participants: Vec<ParticipantData>,
        expected_overall: BTreeMap<String, Estimate>,
        n: usize,
    }

    #[test]
    fn lonely_cohort_matches_r_survey_adjust() {
        let f: DegenerateFixture = serde_json::from_str(include_str!(
            "../../tests/fixtures/survey_lonely_expected.json"
        ))
        .unwrap();
        let got = profile(&f.participants, &f.populations, f.level).unwrap();
        // Cohort B has one participant: not estimable on its own, with the reason.
        assert!(got.cohorts["B"].yield_rate.is_none());
        assert!(
            got.cohorts["B"]
                .reason(Metric::Yield)
                .unwrap()
                .contains("lonely.psu")
        );
        assert!(got.cohorts["A"].yield_rate.is_some());
        assert_eq!(got.overall.n, f.n);
        for m in Metric::ALL.into_iter().take(5) {
            compare(
                &format!("overall {m:?}"),
                got.overall.get(m),
                &f.expected_overall[m.key()],
            );
            assert!(got.overall.get(m).unwrap().interval.is_some());
        }
    }

    #[test]
    fn zero_use_cohort_matches_r_survey_combined_ratio() {
        let f: DegenerateFixture = serde_json::from_str(include_str!(
            "../../tests/fixtures/survey_zero_use_expected.json"
        ))
        .unwrap();
        let got = profile(&f.participants, &f.populations, f.level).unwrap();
        // Cohort B logged no task and answered no ping "yes, used": not estimable, with the reasons.
        let b = &got.cohorts["B"];
        assert_eq!(b.reason(Metric::Oversight), Some(NO_PINGS));
        assert_eq!(b.reason(Metric::Yield), Some(NO_TASKS));
        assert!(b.gross_hours_month.is_some());
        assert_eq!(got.overall.n, f.n);
        // Overall yield and oversight: R's svyratio on the whole design, said so in the notes.
        for m in [Metric::Yield, Metric::Oversight] {
            compare(
                &format!("overall {m:?}"),
                got.overall.get(m),
                &f.expected_overall[m.key()],
            );
            assert!(got.overall.get(m).unwrap().interval.is_some());
            assert_eq!(got.overall.notes[m.key()], COMBINED_NOTE);
        }
        // Gross is every cohort's mean as usual; net and the multiplier stay not estimable, naming B.
        assert!(got.overall.gross_hours_month.is_some());
        assert!(!got.overall.notes.contains_key("gross_hours_month"));
        for m in [Metric::Net, Metric::Multiplier, Metric::VendorGap] {
            assert!(got.overall.get(m).is_none());
            assert!(got.overall.reason(m).unwrap().contains("\"B\""), "{m:?}");
        }
        // With a lonely cohort as well, no fallback (R's adjustment would centre it differently).
        let mut data = f.participants.clone();
        data.retain(|p| p.cohort != "A" || p.id == "A-001");
        let got = profile(&data, &f.populations, f.level).unwrap();
        assert!(got.overall.oversight_min_per_hour.is_none());
        assert!(got.overall.notes.is_empty());
    }

    #[test]
    fn worked_example_holds_exactly() {
        // G = 10 h, Y = 60%, O = 15 min/h, from two identical participants.
        let data = vec![
            p("a", "c", 10.0, 6.0, 4.0, 60.0, 10.0),
            p("b", "c", 10.0, 6.0, 4.0, 60.0, 10.0),
        ];
        let study = profile(&data, &pops(&[("c", 100.0)]), 0.95).unwrap();
        for prof in [&study.cohorts["c"], &study.overall] {
            assert_eq!(prof.gross_hours_month.unwrap().estimate, 10.0);
            assert_eq!(prof.yield_rate.unwrap().estimate, 0.6);
            assert_eq!(prof.oversight_min_per_hour.unwrap().estimate, 15.0);
            assert_eq!(prof.net_hours_month.unwrap().estimate, 3.5);
            assert_eq!(prof.labor_multiplier.unwrap().estimate, 0.35);
            assert_eq!(prof.vendor_gap.unwrap().estimate, 0.65);
            for m in Metric::ALL {
                let e = prof.get(m).unwrap();
                assert_eq!(e.se, 0.0, "{m:?}");
                assert_eq!((e.ci_lower, e.ci_upper), (e.estimate, e.estimate));
            }
        }
    }

    #[test]
    fn identical_participants_have_zero_se() {
        // Values whose sums and means do not round-trip exactly (0.1 · 3 ≠ 0.3).
        let mut data = Vec::new();
        for i in 0..7 {
            data.push(p(&format!("a{i}"), "a", 3.0, 1.0, 3.0, 0.1, 7.3));
            data.push(p(&format!("b{i}"), "b", 11.0, 7.0, 9.0, 13.7, 2.9));
        }
        let study = profile(&data, &pops(&[("a", 50.0), ("b", 70.0)]), 0.9).unwrap();
        for prof in study.cohorts.values() {
            for m in Metric::ALL {
                assert_eq!(prof.get(m).unwrap().se, 0.0, "{m:?}");
            }
        }
        for m in Metric::ALL {
            assert_eq!(study.overall.get(m).unwrap().se, 0.0, "{m:?}");
        }
    }

    /// A deterministic pseudo-random study (no rand needed for the estimator tests).
    fn synthetic(sizes: &[(&str, usize)], seed: u64) -> Vec<ParticipantData> {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut out = Vec::new();
        for (c, n) in sizes {
            for i in 0..*n {
                let tasks = (next() * 20.0).floor();
                let used = (tasks * next()).floor();
                let pings = (next() * 10.0).floor();
                let minutes = (pings * next() * 40.0 * 10.0).round() / 10.0;
                let gross = (next() * 30.0 * 100.0).round() / 100.0;
                out.push(p(
                    &format!("{c}-{i}"),
                    c,
                    tasks,
                    used,
                    pings,
                    minutes,
                    gross,
                ));
            }
        }
        out
    }

    #[test]
    fn row_order_does_not_change_anything() {
        let data = synthetic(&[("x", 40), ("y", 25), ("z", 60)], 7);
        let roster = pops(&[("x", 400.0), ("y", 90.0), ("z", 5000.0)]);
        let base = profile(&data, &roster, 0.95).unwrap();
        let mut reversed = data.clone();
        reversed.reverse();
        assert_eq!(profile(&reversed, &roster, 0.95).unwrap(), base);
        let mut shuffled = data.clone();
        // A fixed permutation: interleave from both ends.
        shuffled.sort_by_key(|r| {
            let i = data.iter().position(|d| d.id == r.id).unwrap();
            (i * 7919) % data.len()
        });
        assert_eq!(profile(&shuffled, &roster, 0.95).unwrap(), base);
    }

    #[test]
    fn net_variance_combines_influence_values() {
        // Independent sum of variances would differ: check the combined formula against a direct
        // numeric delta method on the cohort's totals.
        let data = synthetic(&[("x", 30)], 3);
        let roster = pops(&[("x", 300.0)]);
        let prof = &profile(&data, &roster, 0.95).unwrap().cohorts["x"];
        let net = prof.net_hours_month.unwrap();
        let (y, o, g) = (
            prof.yield_rate.unwrap(),
            prof.oversight_min_per_hour.unwrap(),
            prof.gross_hours_month.unwrap(),
        );
        let naive = ((y.estimate - o.estimate / 60.0) * g.se).powi(2)
            + (g.estimate * y.se).powi(2)
            + (g.estimate / 60.0 * o.se).powi(2);
        assert!((net.se - naive.sqrt()).abs() > 1e-6 * net.se);
        // The linearized value of participant i is the derivative of the estimator with respect to
        // i's weight in the sums: take it numerically from the plain formula and compare the SEs.
        let net_of = |w: &[f64]| {
            let (mut sn, mut sy, mut su, mut sm, mut sg, mut sw) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
            for (p, w) in data.iter().zip(w) {
                sn += w * p.n_tasks;
                sy += w * p.used_tasks;
                su += w * p.used_pings;
                sm += w * p.oversight_min;
                sg += w * p.gross_hours;
                sw += w;
            }
            let (yy, oo, gg) = (sy / sn, sm / su, sg / sw);
            gg * yy - gg * oo / 60.0
        };
        let eps = 1e-6;
        let mut sorted: Vec<usize> = (0..data.len()).collect();
        sorted.sort_by(|&a, &b| data[a].id.cmp(&data[b].id));
        let z: Vec<f64> = sorted
            .iter()
            .map(|&i| {
                let mut up = vec![1.0; data.len()];
                let mut down = vec![1.0; data.len()];
                up[i] += eps;
                down[i] -= eps;
                (net_of(&up) - net_of(&down)) / (2.0 * eps)
            })
            .collect();
        let v = ultimate_cluster_variance(&[(300.0, &z)]);
        assert!(
            (v.sqrt() - net.se).abs() < 1e-6 * net.se,
            "{} vs {}",
            v.sqrt(),
            net.se
        );
    }

    #[test]
    fn edge_cases_give_reasons_not_nan() {
        let roster = pops(&[("a", 10.0), ("b", 10.0)]);
        // Empty study.
        let empty = profile(&[], &roster, 0.95).unwrap();
        assert_eq!(empty.overall.n, 0);
        for m in Metric::ALL {
            assert!(empty.overall.get(m).is_none());
            assert!(
                empty
                    .overall
                    .reason(m)
                    .unwrap()
                    .starts_with("not enough data")
            );
            assert!(empty.cohorts["a"].get(m).is_none());
        }
        assert!(
            profile(&[], &BTreeMap::new(), 0.95)
                .unwrap()
                .overall
                .yield_rate
                .is_none()
        );

        // One participant in a cohort: that cohort has no estimate; the overall figure counts it as R's
        // survey.lonely.psu = "adjust" does (issue 15; checked against R in
        // lonely_cohort_matches_r_survey_adjust).
        let data = vec![
            p("a1", "a", 5.0, 3.0, 2.0, 20.0, 8.0),
            p("b1", "b", 5.0, 3.0, 2.0, 20.0, 8.0),
            p("b2", "b", 6.0, 2.0, 3.0, 25.0, 9.0),
        ];
        let s = profile(&data, &roster, 0.95).unwrap();
        assert!(s.cohorts["a"].yield_rate.is_none());
        assert!(
            s.cohorts["a"]
                .reason(Metric::Yield)
                .unwrap()
                .contains("1 participant")
        );
        assert!(s.cohorts["b"].yield_rate.is_some());
        let net = s.overall.net_hours_month.unwrap();
        assert_eq!(net.df, 1.0); // n − H = 3 − 2
        // A cohort of the roster with nobody in it still blocks the overall figures, with its name.
        let s = profile(&data[1..], &roster, 0.95).unwrap();
        assert!(s.overall.net_hours_month.is_none());
        assert!(s.overall.reason(Metric::Net).unwrap().contains("\"a\""));

        // No tasks, no used pings, no gross hours.
        let data = vec![
            p("a1", "a", 0.0, 0.0, 0.0, 0.0, 0.0),
            p("a2", "a", 0.0, 0.0, 0.0, 0.0, 0.0),
        ];
        let s = profile(&data, &pops(&[("a", 10.0)]), 0.95).unwrap();
        let c = &s.cohorts["a"];
        assert!(c.yield_rate.is_none() && c.oversight_min_per_hour.is_none());
        assert!(c.net_hours_month.is_none() && c.labor_multiplier.is_none());
        assert_eq!(c.gross_hours_month.unwrap().estimate, 0.0);
        assert_eq!(c.reason(Metric::Yield), Some(NO_TASKS));
        assert_eq!(c.reason(Metric::Oversight), Some(NO_PINGS));
        // Tasks and pings but zero gross hours: cohort multiplier Y − O/60 exists, overall net ÷ G not.
        let data = vec![
            p("a1", "a", 4.0, 2.0, 2.0, 10.0, 0.0),
            p("a2", "a", 4.0, 3.0, 2.0, 12.0, 0.0),
        ];
        let s = profile(&data, &pops(&[("a", 10.0)]), 0.95).unwrap();
        assert!(s.cohorts["a"].labor_multiplier.is_some());
        assert_eq!(s.overall.reason(Metric::Multiplier), Some(NO_GROSS));
        assert_eq!(s.overall.net_hours_month.unwrap().estimate, 0.0);

        // A census cohort (n = N) has SE 0.
        let data = vec![
            p("a1", "a", 4.0, 2.0, 2.0, 10.0, 3.0),
            p("a2", "a", 4.0, 3.0, 2.0, 12.0, 5.0),
        ];
        let s = profile(&data, &pops(&[("a", 2.0)]), 0.95).unwrap();
        assert_eq!(s.cohorts["a"].yield_rate.unwrap().se, 0.0);

        // Nothing is NaN or infinite anywhere in the JSON.
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("NaN") && !json.contains("inf"));
    }

    #[test]
    fn invalid_input_is_an_error() {
        let roster = pops(&[("a", 10.0)]);
        let ok = p("a1", "a", 4.0, 2.0, 2.0, 10.0, 3.0);
        let bad = |f: &dyn Fn(&mut ParticipantData)| {
            let mut q = ok.clone();
            f(&mut q);
            profile(&[q], &roster, 0.95).unwrap_err()
        };
        assert!(bad(&|q| q.used_tasks = 5.0).contains("exceeds"));
        assert!(bad(&|q| q.gross_hours = f64::NAN).contains("gross_hours"));
        assert!(bad(&|q| q.used_pings = -1.0).contains("used_pings"));
        assert!(bad(&|q| q.cohort = "zz".into()).contains("no roster size"));
        assert!(
            profile(&[ok.clone(), ok.clone()], &roster, 0.95)
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            profile(std::slice::from_ref(&ok), &roster, 95.0)
                .unwrap_err()
                .contains("between 0 and 1")
        );
        assert!(
            profile(std::slice::from_ref(&ok), &pops(&[("a", 0.0)]), 0.95)
                .unwrap_err()
                .contains("roster")
        );
    }

    #[test]
    fn json_shape_matches_the_analyze_format() {
        let data = synthetic(&[("x", 5)], 1);
        let s = profile(&data, &pops(&[("x", 50.0)]), 0.95).unwrap();
        let v = serde_json::to_value(&s).unwrap();
        for key in [
            "yield",
            "oversight_min_per_hour",
            "gross_hours_month",
            "net_hours_month",
            "labor_multiplier",
        ] {
            let e = &v["cohorts"]["x"][key];
            for f in ["estimate", "se", "df", "ci_lower", "ci_upper"] {
                assert!(e[f].is_number(), "{key}.{f}");
            }
            assert!(v["overall"][key].is_object());
        }
        assert_eq!(v["cohorts"]["x"]["n"], 5);
    }
}
