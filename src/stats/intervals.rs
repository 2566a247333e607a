//! The interval shown to people (SPEC.md, "Intervals"): per metric, the method whose coverage held in
//! the repository's coverage study (`cargo run --release --example coverage`, BENCHMARKS.md), always
//! inside the metric's range. The R-compatible `se`, `df`, `ci_lower`, `ci_upper` stay beside it.
//!
//! Methods (all from the linearization estimate θ̂, its SE and df, except the bootstrap ones):
//! - `t`: θ̂ ± t_df·SE, clipped to the metric's range (R's `svyratio` interval);
//! - `logit_t`: for a share in [0, 1]: expit(logit θ̂ ± t_df·SE/(θ̂(1 − θ̂))) (delta method);
//! - `log_t`: for a quantity ≥ 0: θ̂·exp(± t_df·SE/θ̂);
//! - `rao_wu_percentile`: percentiles of the Rao–Wu rescaling bootstrap with the finite population
//!   correction ([`super::bootstrap`]);
//!
//! Overall figures use Satterthwaite's degrees of freedom ([`satterthwaite_df`]) instead of n − H,
//! which overstates them when one cohort carries most of the weight.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::bootstrap::{BootstrapMetrics, BootstrapProfile};
use super::profile::{Metric, Profile, StudyProfile};

/// How an [`Interval`] was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Symmetric t interval on the original scale (clipped to the range).
    T,
    /// t interval on the logit scale.
    LogitT,
    /// t interval on the log scale.
    LogT,
    /// Percentile interval of the Rao–Wu rescaling bootstrap (with the finite population correction).
    RaoWuPercentile,
}

impl Method {
    pub const ALL: [Method; 4] = [
        Method::T,
        Method::LogitT,
        Method::LogT,
        Method::RaoWuPercentile,
    ];

    /// The name used in JSON, on the command line and on the pages.
    pub fn key(self) -> &'static str {
        match self {
            Method::T => "t",
            Method::LogitT => "logit_t",
            Method::LogT => "log_t",
            Method::RaoWuPercentile => "rao_wu_percentile",
        }
    }

    /// Words for a page: what the interval is.
    pub fn describe(self) -> &'static str {
        match self {
            Method::T => "symmetric t interval",
            Method::LogitT => "t interval on the logit scale",
            Method::LogT => "t interval on the log scale",
            Method::RaoWuPercentile => "Rao–Wu bootstrap percentile interval",
        }
    }

    /// Parses a `--interval` value.
    pub fn parse(s: &str) -> Result<Method, String> {
        Method::ALL
            .into_iter()
            .find(|m| m.key() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Method::ALL.iter().map(|m| m.key()).collect();
                format!(
                    "unknown interval method {s:?}; choose one of {}",
                    names.join(", ")
                )
            })
    }
}

/// The recommended interval of one estimate (`interval` in the JSON).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub method: Method,
    pub lower: f64,
    pub upper: f64,
}

/// The range a metric's value can take: yield [0, 1]; oversight [0, 60] minutes per hour; gross ≥ 0;
/// net unbounded; multiplier Y − O/60 in [−1, 1]; vendor gap 1 − multiplier in [0, 2].
pub fn range(metric: Metric) -> (f64, f64) {
    match metric {
        Metric::Yield => (0.0, 1.0),
        Metric::Oversight => (0.0, 60.0),
        Metric::Gross => (0.0, f64::INFINITY),
        Metric::Net => (f64::NEG_INFINITY, f64::INFINITY),
        Metric::Multiplier => (-1.0, 1.0),
        Metric::VendorGap => (0.0, 2.0),
    }
}

/// The analytic method the coverage study recommends for a metric.
pub fn recommended(metric: Metric) -> Method {
    match metric {
        Metric::Yield => Method::LogitT,
        Metric::Oversight | Metric::Gross => Method::LogT,
        Metric::Net | Metric::Multiplier | Metric::VendorGap => Method::T,
    }
}

/// Satterthwaite's degrees of freedom of a stratified variance V = Σ_h V_h (V_h each cohort's part,
/// with n_h − 1 df): (Σ V_h)² / Σ V_h²/(n_h − 1). `parts`: (N_h, linearized values of cohort h).
/// Falls back to n − H when every part is 0 (no information), and never exceeds n − H.
pub fn satterthwaite_df(parts: &[(f64, &[f64])]) -> f64 {
    let mut total = 0.0;
    let mut denom = 0.0;
    let mut classic = 0usize;
    for &(big_n, z) in parts {
        if z.len() < 2 {
            continue;
        }
        classic += z.len() - 1;
        let v = super::linearization::ultimate_cluster_variance(&[(big_n, z)]);
        total += v;
        denom += v * v / (z.len() - 1) as f64;
    }
    if denom <= 0.0 || total <= 0.0 {
        return classic as f64;
    }
    (total * total / denom).clamp(1.0, classic.max(1) as f64)
}

fn t_crit(level: f64, df: f64) -> Option<f64> {
    let t = StudentsT::new(0.0, 1.0, df.max(1.0)).ok()?;
    Some(t.inverse_cdf(1.0 - (1.0 - level) / 2.0))
}

fn clip(metric: Metric, method: Method, lower: f64, upper: f64) -> Interval {
    let (lo, hi) = range(metric);
    Interval {
        method,
        lower: lower.clamp(lo, hi),
        upper: upper.clamp(lo, hi),
    }
}

/// An analytic interval of `method` (T, LogitT or LogT) from the estimate, its SE and df, inside the
/// metric's range. A transformation that does not apply (a share of exactly 0 or 1, a value of 0)
/// falls back to the clipped t interval, which the method field then names. `None` for a bootstrap
/// method or a df below 1.
pub fn analytic(
    metric: Metric,
    method: Method,
    estimate: f64,
    se: f64,
    df: f64,
    level: f64,
) -> Option<Interval> {
    if df.is_nan() || df < 1.0 {
        return None;
    }
    let t = t_crit(level, df)?;
    let symmetric = || clip(metric, Method::T, estimate - t * se, estimate + t * se);
    let out = match method {
        Method::T => symmetric(),
        Method::LogitT => {
            if estimate > 0.0 && estimate < 1.0 {
                let eta = (estimate / (1.0 - estimate)).ln();
                let half = t * se / (estimate * (1.0 - estimate));
                let expit = |x: f64| 1.0 / (1.0 + (-x).exp());
                clip(metric, method, expit(eta - half), expit(eta + half))
            } else {
                symmetric()
            }
        }
        Method::LogT => {
            if estimate > 0.0 {
                let f = (t * se / estimate).exp();
                clip(metric, method, estimate / f, estimate * f)
            } else {
                symmetric()
            }
        }
        Method::RaoWuPercentile => return None,
    };
    (out.lower.is_finite() && out.upper.is_finite()).then_some(out)
}

/// Cohorts with fewer participants than this show their interval marked "approximate" (issue 15).
pub const APPROXIMATE_BELOW: usize = 30;

/// The coverage study's result for small cohorts: (participants per cohort, lowest and highest coverage
/// of the recommended 95% intervals over the five metrics, the three cohorts and overall), in percent.
/// Provenance: `cargo run --release --example coverage -- --params examples/coverage.toml
/// --replicates 4000 --bootstrap 0 --sizes 5,10,20,30,60` (seed 20261202), BENCHMARKS.md "Interval
/// coverage study"; rerun it and update this table when a method or the generator changes.
pub const SIMULATED_COVERAGE: [(usize, f64, f64); 4] = [
    (5, 86.6, 95.8),
    (10, 91.0, 95.5),
    (20, 92.4, 95.6),
    (30, 93.1, 95.7),
];

/// The "approximate" note of a group whose smallest cohort has `n` participants: `None` from
/// [`APPROXIMATE_BELOW`] on (or below 2, where there is no interval), else the simulated coverage at
/// the largest size studied that is not above `n`.
pub fn approximate(n: usize) -> Option<String> {
    if !(2..APPROXIMATE_BELOW).contains(&n) {
        return None;
    }
    let below = |&&(size, _, _): &&(usize, f64, f64)| size <= n;
    Some(match SIMULATED_COVERAGE.iter().rev().find(below) {
        Some(&(size, lo, hi)) => format!(
            "approximate: {n} participants, under {APPROXIMATE_BELOW}; in the coverage study these 95% intervals covered {lo:.1}–{hi:.1}% at {size} per cohort"
        ),
        None => {
            let (size, lo, hi) = SIMULATED_COVERAGE[0];
            format!(
                "approximate: {n} participants, fewer than the {size} per cohort of the coverage study (where these 95% intervals covered {lo:.1}–{hi:.1}%); expect less"
            )
        }
    })
}

/// The "approximate" note of the overall figures: from the smallest cohort that has an estimate
/// (2 participants or more) when it is under [`APPROXIMATE_BELOW`].
pub fn approximate_overall(cohort_sizes: impl IntoIterator<Item = usize>) -> Option<String> {
    let smallest = cohort_sizes.into_iter().filter(|&n| n >= 2).min()?;
    approximate(smallest).map(|note| note.replacen("participants", "in the smallest cohort", 1))
}

/// The "approximate" notes of `profile`, one line per group concerned (for `layer2 analyze`).
pub fn approximate_lines(profile: &StudyProfile) -> Vec<String> {
    let mut out: Vec<String> = profile
        .cohorts
        .iter()
        .filter_map(|(name, p)| approximate(p.n).map(|a| format!("Cohort {name}: intervals {a}.")))
        .collect();
    if let Some(a) = approximate_overall(profile.cohorts.values().map(|p| p.n)) {
        out.push(format!("Overall: intervals {a}."));
    }
    out
}

/// One sentence naming the method of each metric's interval in `profile` (from its overall figure, or
/// the first cohort that has one), for the text outputs.
pub fn methods_sentence(profile: &StudyProfile) -> String {
    let parts: Vec<String> = Metric::ALL
        .iter()
        .filter_map(|&m| {
            let method = std::iter::once(&profile.overall)
                .chain(profile.cohorts.values())
                .find_map(|p| p.get(m).and_then(|e| e.interval))?
                .method;
            Some(format!("{} {}", m.key(), method.describe()))
        })
        .collect();
    if parts.is_empty() {
        return "Intervals: none (not enough data).".into();
    }
    format!(
        "Intervals: {}; overall figures with Satterthwaite degrees of freedom. \
         The JSON's se, df, ci_lower, ci_upper are R survey's svyratio linearization with a symmetric t interval.",
        parts.join(", ")
    )
}

/// Replaces every `interval` of `profile` by the bootstrap's percentile interval of the same metric
/// (`--interval rao_wu_percentile`); a metric the bootstrap could not estimate keeps none.
pub fn use_bootstrap(profile: &mut StudyProfile, boot: &BootstrapProfile) {
    let apply = |p: &mut Profile, b: &BootstrapMetrics| {
        for m in Metric::ALL {
            let i = b.get(m).map(|i| Interval {
                method: Method::RaoWuPercentile,
                lower: i.ci_lower,
                upper: i.ci_upper,
            });
            if let Some(e) = p.get_mut(m) {
                e.interval = i;
            }
        }
    };
    for (name, p) in profile.cohorts.iter_mut() {
        if let Some(b) = boot.cohorts.get(name) {
            apply(p, b);
        }
    }
    apply(&mut profile.overall, &boot.overall);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn logit_interval_by_hand() {
        // θ = 0.8, SE 0.05, df 9: t = 2.262157163; half-width on the logit scale 2.262157163·0.05/0.16.
        let i = analytic(Metric::Yield, Method::LogitT, 0.8, 0.05, 9.0, 0.95).unwrap();
        let t = 2.262_157_162_740_992;
        let eta = 4.0f64.ln();
        let half = t * 0.05 / 0.16;
        let expit = |x: f64| 1.0 / (1.0 + (-x).exp());
        assert!(close(i.lower, expit(eta - half)) && close(i.upper, expit(eta + half)));
        assert_eq!(i.method, Method::LogitT);
        // Asymmetric towards the middle, always inside [0, 1]: 0.66360 to 0.89024.
        assert!((i.lower - 0.663_60).abs() < 1e-5 && (i.upper - 0.890_24).abs() < 1e-5);
        // A tiny sample whose t interval would be [−5.18, 6.18] stays inside [0, 1].
        let wild = analytic(Metric::Yield, Method::LogitT, 0.5, 0.45, 1.0, 0.95).unwrap();
        assert!(wild.lower > 0.0 && wild.upper < 1.0);
        let t_wild = analytic(Metric::Yield, Method::T, 0.5, 0.45, 1.0, 0.95).unwrap();
        assert_eq!((t_wild.lower, t_wild.upper), (0.0, 1.0));
    }

    #[test]
    fn log_interval_by_hand() {
        // θ = 12 min/h, SE 3, df 29: 12·exp(±2.045229642·0.25).
        let i = analytic(Metric::Oversight, Method::LogT, 12.0, 3.0, 29.0, 0.95).unwrap();
        let f = (2.045_229_642_132_703 * 0.25f64).exp();
        assert!(close(i.lower, 12.0 / f) && close(i.upper, 12.0 * f));
        assert!(close(i.lower * i.upper, 144.0), "geometric symmetry");
        // The t interval of a wide oversight figure goes negative; the log one never does.
        let t = analytic(Metric::Oversight, Method::T, 2.0, 1.5, 4.0, 0.95).unwrap();
        assert_eq!(t.lower, 0.0);
        let l = analytic(Metric::Oversight, Method::LogT, 2.0, 1.5, 4.0, 0.95).unwrap();
        assert!(l.lower > 0.0);
    }

    #[test]
    fn transformations_fall_back_at_the_edges() {
        let i = analytic(Metric::Yield, Method::LogitT, 1.0, 0.0, 5.0, 0.95).unwrap();
        assert_eq!((i.method, i.lower, i.upper), (Method::T, 1.0, 1.0));
        let i = analytic(Metric::Oversight, Method::LogT, 0.0, 0.0, 5.0, 0.95).unwrap();
        assert_eq!((i.method, i.lower, i.upper), (Method::T, 0.0, 0.0));
        assert!(analytic(Metric::Net, Method::T, 1.0, 1.0, 0.0, 0.95).is_none());
    }

    #[test]
    fn satterthwaite_by_hand() {
        // Two cohorts, no FPC (huge N). Cohort a: z = [1, −1] → Σ(z−z̄)² = 2, V_a = 2·2/1 = 4, 1 df.
        // Cohort b: z = [0.5, −0.5, 0.5, −0.5] → Σ = 1, V_b = 1·4/3, 3 df.
        // df = (4 + 4/3)² / (16/1 + (16/9)/3) = (256/9) / (16 + 16/27) = 1.7142857…
        let a = [1.0, -1.0];
        let b = [0.5, -0.5, 0.5, -0.5];
        let df = satterthwaite_df(&[(1e12, &a), (1e12, &b)]);
        let want = (256.0 / 9.0) / (16.0 + 16.0 / 27.0);
        assert!((df - want).abs() < 1e-6, "{df} vs {want}");
        // Equal cohorts with equal spread: the classic n − H.
        let df = satterthwaite_df(&[(1e12, &b), (1e12, &b)]);
        assert!((df - 6.0).abs() < 1e-6);
        // No spread anywhere: n − H.
        assert_eq!(
            satterthwaite_df(&[(1e12, &[1.0, 1.0]), (1e12, &[2.0, 2.0])]),
            2.0
        );
    }

    #[test]
    fn small_cohorts_are_marked_approximate_with_the_simulated_coverage() {
        assert_eq!(approximate(30), None);
        assert_eq!(approximate(1), None, "no interval at all");
        let a = approximate(12).unwrap();
        assert!(
            a.starts_with("approximate: 12 participants, under 30"),
            "{a}"
        );
        assert!(a.contains("91.0–95.5% at 10 per cohort"), "{a}");
        assert!(approximate(29).unwrap().contains("at 20 per cohort"));
        let tiny = approximate(3).unwrap();
        assert!(
            tiny.contains("fewer than the 5 per cohort") && tiny.contains("86.6"),
            "{tiny}"
        );
        // Overall: the smallest cohort with an estimate decides.
        assert_eq!(approximate_overall([40, 31]), None);
        let o = approximate_overall([40, 1, 12]).unwrap();
        assert!(
            o.starts_with("approximate: 12 in the smallest cohort"),
            "{o}"
        );
        // The table is in order of size, each a range of percentages.
        assert!(SIMULATED_COVERAGE.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            SIMULATED_COVERAGE
                .iter()
                .all(|&(_, lo, hi)| 0.0 < lo && lo <= hi && hi <= 100.0)
        );
    }

    #[test]
    fn method_names_round_trip() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.key()).unwrap(), m);
            assert_eq!(
                serde_json::to_string(&m).unwrap(),
                format!("\"{}\"", m.key())
            );
        }
        assert!(Method::parse("bca").unwrap_err().contains("logit_t"));
    }
}
