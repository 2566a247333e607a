//! Participant-level bootstrap of the Layer 2 profile (SPEC.md: "a participant-level bootstrap
//! (seeded, ≥ 2,000 resamples, percentile) is offered beside" the linearization intervals).
//!
//! Stratified by cohort, with the finite population correction by Rao and Wu's rescaling bootstrap:
//! in every resample each cohort h (n_h participants of a roster of N_h, f_h = n_h/N_h) draws
//! m_h = n_h − 1 of its participants with replacement; participant i, drawn r_i times, gets the weight
//! w_i = 1 − λ_h + λ_h·(n_h/m_h)·r_i with λ_h = sqrt(m_h·(1 − f_h)/(n_h − 1)) = sqrt(1 − f_h) (never
//! negative, Σ w_i = n_h). The weighted sums give every cohort's point estimates and the overall ones
//! (same estimators as [`super::profile`]: Σ W_h θ_h, overall multiplier = net ÷ gross). For a mean the
//! bootstrap variance is then exactly (1 − f_h)·s²/n_h, the linearization's; with f_h = 0.8 the naive
//! with-replacement bootstrap was about 2.2× too wide.
//!
//! The interval is the percentile interval of the resampled estimates (statrs's sample quantile,
//! Hyndman–Fan type 8), clipped to the metric's range; the SE is their standard deviation. The draws
//! come from a `ChaCha8Rng` seeded with [`BootstrapOptions::seed`] in a fixed order (resample, cohort by
//! name, participant by id), so the same seed and data give the same intervals whatever the order of
//! the rows.
//!
//! A resample in which a metric is undefined (e.g. no "yes, used" ping was drawn) is left out of that
//! metric's interval; [`Interval::resamples`] says how many resamples it rests on. Cohorts with fewer
//! than 2 participants have no interval (and then neither has the overall figure), as in
//! [`super::profile::profile`].

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use statrs::statistics::{Data, OrderStatistics, Statistics};

use super::intervals::range;
use super::linearization::{
    Points, Totals, check_level, overall_design_problem, overall_points, strata,
};
use super::profile::{Metric, ParticipantData, PerMetric};
use super::random::uniform_below;

/// Bootstrap settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapOptions {
    /// Number of resamples B (default 2,000).
    pub resamples: usize,
    pub seed: u64,
    /// Confidence level in (0, 1).
    pub level: f64,
}

pub const DEFAULT_RESAMPLES: usize = 2000;
pub const DEFAULT_SEED: u64 = 0x4c32_5354_5544_5900;

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions {
            resamples: DEFAULT_RESAMPLES,
            seed: DEFAULT_SEED,
            level: super::LEVEL,
        }
    }
}

/// A bootstrap percentile interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The point estimate on the original sample (the same as the linearization's).
    pub estimate: f64,
    /// Standard deviation of the resampled estimates.
    pub se: f64,
    pub ci_lower: f64,
    pub ci_upper: f64,
    /// Resamples in which the metric was defined.
    pub resamples: usize,
}

/// Bootstrap intervals of one cohort or of the whole study.
pub type BootstrapMetrics = PerMetric<Interval>;

/// Bootstrap intervals per cohort and overall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapProfile {
    pub resamples: usize,
    pub seed: u64,
    pub level: f64,
    pub cohorts: BTreeMap<String, BootstrapMetrics>,
    pub overall: BootstrapMetrics,
}

/// Resampled estimates of one profile: values[metric] over the resamples where it is defined.
struct Draws {
    original: Points,
    values: [Vec<f64>; 6],
}

impl Draws {
    fn new(original: Points, capacity: usize) -> Draws {
        Draws {
            original,
            values: std::array::from_fn(|_| Vec::with_capacity(capacity)),
        }
    }

    fn push(&mut self, points: &Points) {
        for (k, v) in points.0.iter().enumerate() {
            if let Ok(v) = v
                && v.is_finite()
            {
                self.values[k].push(*v);
            }
        }
    }

    fn intervals(self, n: usize, level: f64, blocked: Option<&str>) -> BootstrapMetrics {
        let alpha = 1.0 - level;
        let mut results = self
            .original
            .0
            .into_iter()
            .zip(self.values)
            .zip(Metric::ALL)
            .map(|((original, values), metric)| {
                if let Some(why) = blocked {
                    return Err(why.to_string());
                }
                let estimate = original?;
                if values.len() < 2 {
                    return Err("not enough data: the metric is undefined in the resamples".into());
                }
                let resamples = values.len();
                let se = values.iter().std_dev();
                let mut data = Data::new(values);
                let (lo, hi) = range(metric);
                let i = Interval {
                    estimate,
                    se,
                    ci_lower: data.quantile(alpha / 2.0).clamp(lo, hi),
                    ci_upper: data.quantile(1.0 - alpha / 2.0).clamp(lo, hi),
                    resamples,
                };
                if [i.estimate, i.se, i.ci_lower, i.ci_upper]
                    .iter()
                    .all(|v| v.is_finite())
                {
                    Ok(i)
                } else {
                    Err("not enough data: the bootstrap gave no finite interval".into())
                }
            });
        BootstrapMetrics::from_results(
            n,
            std::array::from_fn(|_| results.next().expect("one result per metric")),
        )
    }
}

/// The stratified participant-level bootstrap of the profile. Same inputs as
/// [`super::profile::profile`]; `Err` only for invalid input (or 0 resamples).
pub fn bootstrap(
    data: &[ParticipantData],
    populations: &BTreeMap<String, f64>,
    options: &BootstrapOptions,
) -> Result<BootstrapProfile, String> {
    check_level(options.level)?;
    if options.resamples == 0 {
        return Err("the bootstrap needs at least 1 resample".to_string());
    }
    let strata = strata(data, populations)?;
    let b = options.resamples;
    // Compact per-cohort rows: [n, y, u, m, g].
    let rows: Vec<Vec<[f64; 5]>> = strata
        .iter()
        .map(|s| {
            s.rows
                .iter()
                .map(|p| {
                    [
                        p.n_tasks,
                        p.used_tasks,
                        p.used_pings,
                        p.oversight_min,
                        p.gross_hours,
                    ]
                })
                .collect()
        })
        .collect();
    let original_points: Vec<Points> = strata
        .iter()
        .map(|s| {
            let mut t = Totals::default();
            for p in &s.rows {
                t.add(p);
            }
            t.points()
        })
        .collect();
    let overall_blocked: Option<String> = overall_design_problem(&strata);
    let with_weights = |points: &[Points]| -> Vec<(String, f64, Points)> {
        strata
            .iter()
            .zip(points)
            .filter(|(s, _)| s.weight > 0.0)
            .map(|(s, p)| (s.name.clone(), s.weight, p.clone()))
            .collect()
    };
    let mut cohort_draws: Vec<Draws> = original_points
        .iter()
        .map(|p| Draws::new(p.clone(), b))
        .collect();
    let mut overall_draws = Draws::new(overall_points(&with_weights(&original_points)), b);

    let fractions: Vec<f64> = strata
        .iter()
        .map(|s| {
            if s.population > 0.0 {
                s.rows.len() as f64 / s.population
            } else {
                0.0
            }
        })
        .collect();
    let mut counts = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut resampled: Vec<Points> = original_points.clone();
    for _ in 0..b {
        for (h, cohort) in rows.iter().enumerate() {
            let n = cohort.len();
            if n < 2 {
                continue;
            }
            rao_wu_counts(&mut rng, n, &mut counts);
            let lambda = (1.0 - fractions[h]).max(0.0).sqrt();
            let scale = lambda * n as f64 / (n - 1) as f64;
            let g0 = cohort[0][4];
            let mut t = Totals::default();
            for (r, &c) in cohort.iter().zip(&counts) {
                let w = 1.0 - lambda + scale * c as f64;
                // Gross as g0 + weighted deviations, so identical participants give exactly g0.
                t.add_values(w * r[0], w * r[1], w * r[2], w * r[3], w * (r[4] - g0));
            }
            t.gross_hours += n as f64 * g0;
            resampled[h] = t.points();
            cohort_draws[h].push(&resampled[h]);
        }
        if overall_blocked.is_none() {
            overall_draws.push(&overall_points(&with_weights(&resampled)));
        }
    }

    let mut cohorts = BTreeMap::new();
    for (s, draws) in strata.iter().zip(cohort_draws) {
        let n = s.rows.len();
        let blocked = match n {
            0 => Some("not enough data: no participants".to_string()),
            1 => Some("not enough data: 1 participant (a bootstrap needs at least 2)".to_string()),
            _ => None,
        };
        cohorts.insert(
            s.name.clone(),
            draws.intervals(n, options.level, blocked.as_deref()),
        );
    }
    let overall = overall_draws.intervals(data.len(), options.level, overall_blocked.as_deref());
    Ok(BootstrapProfile {
        resamples: b,
        seed: options.seed,
        level: options.level,
        cohorts,
        overall,
    })
}

/// Rao–Wu draw counts of one cohort of n ≥ 2: how often each participant is among n − 1 draws with
/// replacement (value-stable: [`super::random::uniform_below`]).
fn rao_wu_counts(rng: &mut ChaCha8Rng, n: usize, counts: &mut Vec<u32>) {
    counts.clear();
    counts.resize(n, 0);
    for _ in 0..n - 1 {
        counts[uniform_below(rng, n as u64) as usize] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::profile::profile;
    use super::*;
    use rand::Rng;

    /// A large generated study: 3 cohorts × `per` participants, rosters so large the finite population
    /// correction is negligible.
    fn generated(per: usize, seed: u64) -> (Vec<ParticipantData>, BTreeMap<String, f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut data = Vec::new();
        let cohorts = [
            ("early", 0.7, 12.0, 14.0),
            ("mid", 0.55, 16.0, 9.0),
            ("late", 0.45, 20.0, 6.0),
        ];
        for (c, p_yield, ov, g) in cohorts {
            for i in 0..per {
                let n_tasks = rng.random_range(0..25) as f64;
                let p: f64 = (p_yield + rng.random_range(-0.2..0.2f64)).clamp(0.0, 1.0);
                let used_tasks =
                    (0..n_tasks as usize).filter(|_| rng.random_bool(p)).count() as f64;
                let used_pings = rng.random_range(0..12) as f64;
                let oversight_min = used_pings * ov * rng.random_range(0.3..1.7f64);
                let gross_hours = g * rng.random_range(0.2..1.8f64);
                data.push(ParticipantData {
                    id: format!("{c}-{i:04}"),
                    cohort: c.to_string(),
                    n_tasks,
                    used_tasks,
                    used_pings,
                    oversight_min,
                    gross_hours,
                });
            }
        }
        let pops = [("early", 2.0e6), ("mid", 5.0e6), ("late", 3.0e6)]
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect();
        (data, pops)
    }

    #[test]
    fn agrees_with_linearization_on_a_large_sample() {
        let (data, pops) = generated(400, 11);
        let lin = profile(&data, &pops, 0.95).unwrap();
        let boot = bootstrap(&data, &pops, &BootstrapOptions::default()).unwrap();
        let check = |name: &str, l: &super::super::profile::Profile, b: &BootstrapMetrics| {
            for m in Metric::ALL {
                let (l, b) = (l.get(m).unwrap(), b.get(m).unwrap());
                assert_eq!(l.estimate, b.estimate, "{name} {m:?}");
                assert_eq!(b.resamples, DEFAULT_RESAMPLES);
                let ratio = b.se / l.se;
                assert!(
                    (0.92..1.08).contains(&ratio),
                    "{name} {m:?}: bootstrap se {} vs {}",
                    b.se,
                    l.se
                );
                // The percentile interval is close to the t interval.
                let width = l.ci_upper - l.ci_lower;
                assert!(
                    (b.ci_lower - l.ci_lower).abs() < 0.1 * width,
                    "{name} {m:?} lower"
                );
                assert!(
                    (b.ci_upper - l.ci_upper).abs() < 0.1 * width,
                    "{name} {m:?} upper"
                );
            }
        };
        for (c, l) in &lin.cohorts {
            check(c, l, &boot.cohorts[c]);
        }
        check("overall", &lin.overall, &boot.overall);
    }

    /// The percentile step worked by hand: resampled yields 0.1, 0.2, …, 1.0 at level 0.8 give
    /// Hyndman–Fan type 8 quantiles h = (10 + 1/3)·τ + 1/3: τ = 0.1 → h = 1.3667, 0.1 + 0.3667·0.1 =
    /// 0.13667; τ = 0.9 → h = 9.6333, 0.9 + 0.6333·0.1 = 0.96333; SE = sd(0.1..1.0) = sqrt(0.825 / 9).
    /// Oversight draws −1, 1, 2, …, 9 give a lower quantile of −1 + 0.3667·2 = −0.267, clipped to 0.
    #[test]
    fn the_percentile_interval_by_hand() {
        let undefined = || Err::<f64, String>("undefined".into());
        let points = |y: f64, o: f64| {
            Points([
                Ok(y),
                Ok(o),
                undefined(),
                undefined(),
                undefined(),
                undefined(),
            ])
        };
        let mut draws = Draws::new(points(0.55, 4.0), 10);
        let oversight = [-1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        for (i, o) in oversight.into_iter().enumerate() {
            draws.push(&points((i + 1) as f64 / 10.0, o));
        }
        let m = draws.intervals(10, 0.8, None);
        let y = m.get(Metric::Yield).unwrap();
        assert!((y.ci_lower - (0.1 + 11.0 / 30.0 * 0.1)).abs() < 1e-12);
        assert!(
            (y.ci_lower - 0.136_666_666_666_666_7).abs() < 1e-12,
            "{y:?}"
        );
        assert!(
            (y.ci_upper - 0.963_333_333_333_333_3).abs() < 1e-12,
            "{y:?}"
        );
        assert!((y.se - (0.825f64 / 9.0).sqrt()).abs() < 1e-12);
        assert_eq!((y.estimate, y.resamples), (0.55, 10));
        let o = m.get(Metric::Oversight).unwrap();
        assert_eq!(o.ci_lower, 0.0, "clipped to the metric's range");
        assert!((o.ci_upper - (8.0 + 19.0 / 30.0)).abs() < 1e-12, "{o:?}");
        assert!(m.get(Metric::Gross).is_none() && m.reason(Metric::Gross).is_some());
    }

    #[test]
    fn fpc_bootstrap_se_matches_linearization_at_sampling_fraction_0_8() {
        // 3 cohorts of 60 drawn from rosters of 75: f = 0.8. The naive bootstrap would be
        // sqrt(1/(1 − 0.8)) ≈ 2.2× too wide; Rao–Wu must agree with linearization within 5%.
        let (data, _) = generated(60, 23);
        let pops: BTreeMap<String, f64> = ["early", "mid", "late"]
            .iter()
            .map(|c| (c.to_string(), 75.0))
            .collect();
        let lin = profile(&data, &pops, 0.95).unwrap();
        let opts = BootstrapOptions {
            resamples: 4000,
            ..Default::default()
        };
        let boot = bootstrap(&data, &pops, &opts).unwrap();
        for m in Metric::ALL {
            let mut pairs: Vec<(String, f64, f64)> = lin
                .cohorts
                .iter()
                .map(|(c, l)| {
                    let b = boot.cohorts[c].get(m).unwrap();
                    (c.clone(), l.get(m).unwrap().se, b.se)
                })
                .collect();
            pairs.push((
                "overall".into(),
                lin.overall.get(m).unwrap().se,
                boot.overall.get(m).unwrap().se,
            ));
            for (c, l, b) in pairs {
                assert!(
                    (b / l - 1.0).abs() < 0.05,
                    "{c} {m:?}: bootstrap se {b} vs linearization {l}"
                );
            }
        }
    }

    #[test]
    fn same_seed_same_intervals_whatever_the_row_order() {
        let (data, pops) = generated(40, 5);
        let opts = BootstrapOptions {
            resamples: 300,
            seed: 42,
            level: 0.9,
        };
        let a = bootstrap(&data, &pops, &opts).unwrap();
        let mut reversed = data.clone();
        reversed.reverse();
        assert_eq!(bootstrap(&reversed, &pops, &opts).unwrap(), a);
        let other = bootstrap(&data, &pops, &BootstrapOptions { seed: 43, ..opts }).unwrap();
        assert_ne!(other.overall.yield_rate, a.overall.yield_rate);
    }

    #[test]
    fn edge_cases() {
        let pops: BTreeMap<String, f64> = [("a".to_string(), 10.0), ("b".to_string(), 10.0)]
            .into_iter()
            .collect();
        let opts = BootstrapOptions {
            resamples: 50,
            ..Default::default()
        };
        let empty = bootstrap(&[], &pops, &opts).unwrap();
        assert!(empty.overall.yield_rate.is_none());
        assert!(empty.overall.not_enough["yield"].starts_with("not enough data"));
        let one = |id: &str, c: &str, u: f64| ParticipantData {
            id: id.into(),
            cohort: c.into(),
            n_tasks: 4.0,
            used_tasks: 2.0,
            used_pings: u,
            oversight_min: 10.0 * u,
            gross_hours: 5.0,
        };
        // Cohort a has one participant: no interval there; overall it counts with its fixed value
        // (issue 15: R's survey.lonely.psu = "adjust"), here every gross is 5, so SE 0; b is fine.
        let data = vec![
            one("a1", "a", 1.0),
            one("b1", "b", 1.0),
            one("b2", "b", 2.0),
        ];
        let r = bootstrap(&data, &pops, &opts).unwrap();
        assert!(r.cohorts["a"].gross_hours_month.is_none());
        let overall = r.overall.gross_hours_month.unwrap();
        assert_eq!((overall.estimate, overall.se), (5.0, 0.0));
        let g = r.cohorts["b"].gross_hours_month.unwrap();
        assert_eq!((g.se, g.ci_lower, g.ci_upper), (0.0, 5.0, 5.0));
        // No used pings in the sample: no oversight, reason given.
        let data = vec![one("b1", "b", 0.0), one("b2", "b", 0.0)];
        let r = bootstrap(&data, &pops, &opts).unwrap();
        assert!(r.cohorts["b"].oversight_min_per_hour.is_none());
        assert!(r.cohorts["b"].not_enough["oversight_min_per_hour"].contains("pings"));
        assert!(
            bootstrap(
                &data,
                &pops,
                &BootstrapOptions {
                    resamples: 0,
                    ..opts
                }
            )
            .is_err()
        );
        assert!(bootstrap(&data, &pops, &BootstrapOptions { level: 1.0, ..opts }).is_err());
    }
}
