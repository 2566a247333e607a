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
//! - a cohort with fewer than 2 participants has no estimate at all (an estimate without a standard
//!   error would be quoted without its uncertainty; R's `survey` refuses such a "lonely PSU" too);
//! - no diary tasks (Σn = 0): no yield; no "yes, used" pings (Σu = 0): no oversight; either missing:
//!   no net, multiplier or vendor gap; overall gross 0: no overall multiplier;
//! - overall figures need every cohort of the roster (N_h > 0) to have its estimate;
//! - identical participants give SE 0 (exactly), which is an answer, not an error.
//!
//! Rows are grouped by cohort and sorted by participant id before any sum, so the results do not depend
//! on the order of the rows, bit for bit.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

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

    fn index(self) -> usize {
        self as usize
    }
}

/// The Layer 2 profile of one cohort, or of the whole study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Participants in the estimate.
    pub n: usize,
    #[serde(rename = "yield")]
    pub yield_rate: Option<Estimate>,
    /// Minutes of review per hour of AI output.
    pub oversight_min_per_hour: Option<Estimate>,
    /// Gross AI hours per user per month.
    pub gross_hours_month: Option<Estimate>,
    /// Net hours saved per user per month.
    pub net_hours_month: Option<Estimate>,
    pub labor_multiplier: Option<Estimate>,
    /// 1 − multiplier: how far below the vendor's figure the net saving is.
    pub vendor_gap: Option<Estimate>,
    /// Why a metric is `None`: metric key ([`Metric::key`]) → reason ("not enough data: …").
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_enough: BTreeMap<String, String>,
}

impl Profile {
    pub fn get(&self, metric: Metric) -> Option<&Estimate> {
        match metric {
            Metric::Yield => self.yield_rate.as_ref(),
            Metric::Oversight => self.oversight_min_per_hour.as_ref(),
            Metric::Gross => self.gross_hours_month.as_ref(),
            Metric::Net => self.net_hours_month.as_ref(),
            Metric::Multiplier => self.labor_multiplier.as_ref(),
            Metric::VendorGap => self.vendor_gap.as_ref(),
        }
    }

    /// The reason a metric is missing, if it is.
    pub fn reason(&self, metric: Metric) -> Option<&str> {
        self.not_enough.get(metric.key()).map(String::as_str)
    }

    pub(crate) fn from_results(n: usize, results: [Result<Estimate, String>; 6]) -> Profile {
        let mut not_enough = BTreeMap::new();
        let mut values = [None; 6];
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
        Profile {
            n,
            yield_rate,
            oversight_min_per_hour,
            gross_hours_month,
            net_hours_month,
            labor_multiplier,
            vendor_gap,
            not_enough,
        }
    }
}

/// The profile of every cohort of the roster and of the whole study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyProfile {
    pub cohorts: BTreeMap<String, Profile>,
    pub overall: Profile,
}

/// A cohort (stratum) of the design: its roster size and its participants sorted by id.
#[derive(Debug, Clone)]
pub struct Stratum<'a> {
    pub name: String,
    /// N_h, the cohort's roster size.
    pub population: f64,
    /// W_h = N_h / ΣN.
    pub weight: f64,
    pub rows: Vec<&'a ParticipantData>,
}

/// Checks the inputs and groups the participants by cohort (every cohort of `populations`, in name
/// order, possibly with no participant), each sorted by id.
pub fn strata<'a>(
    data: &'a [ParticipantData],
    populations: &BTreeMap<String, f64>,
) -> Result<Vec<Stratum<'a>>, String> {
    let mut total = 0.0;
    for (cohort, &big_n) in populations {
        if !big_n.is_finite() || big_n < 0.0 {
            return Err(format!(
                "the roster size of cohort {cohort:?} must be a number ≥ 0, got {big_n}"
            ));
        }
        total += big_n;
    }
    let mut groups: BTreeMap<&str, Vec<&'a ParticipantData>> = populations
        .keys()
        .map(|c| (c.as_str(), Vec::new()))
        .collect();
    let mut ids = BTreeSet::new();
    for p in data {
        let fields = [
            ("n_tasks", p.n_tasks),
            ("used_tasks", p.used_tasks),
            ("used_pings", p.used_pings),
            ("oversight_min", p.oversight_min),
            ("gross_hours", p.gross_hours),
        ];
        for (name, value) in fields {
            if !value.is_finite() || value < 0.0 {
                return Err(format!(
                    "participant {:?}: {name} must be a number ≥ 0, got {value}",
                    p.id
                ));
            }
        }
        if p.used_tasks > p.n_tasks {
            return Err(format!(
                "participant {:?}: used_tasks ({}) exceeds n_tasks ({})",
                p.id, p.used_tasks, p.n_tasks
            ));
        }
        if !ids.insert(p.id.as_str()) {
            return Err(format!("participant {:?} appears twice", p.id));
        }
        match groups.get_mut(p.cohort.as_str()) {
            Some(rows) => rows.push(p),
            None => {
                return Err(format!(
                    "participant {:?}: cohort {:?} has no roster size",
                    p.id, p.cohort
                ));
            }
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for (name, mut rows) in groups {
        let population = populations[name];
        if (rows.len() as f64) > population {
            return Err(format!(
                "cohort {name:?} has {} participants but a roster of {population}",
                rows.len()
            ));
        }
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        out.push(Stratum {
            name: name.to_string(),
            population,
            weight: if total > 0.0 { population / total } else { 0.0 },
            rows,
        });
    }
    Ok(out)
}

/// The sums a cohort's point estimates need (also what a bootstrap resample accumulates).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub participants: usize,
    pub n_tasks: f64,
    pub used_tasks: f64,
    pub used_pings: f64,
    pub oversight_min: f64,
    pub gross_hours: f64,
}

impl Totals {
    pub fn add(&mut self, p: &ParticipantData) {
        self.add_values(
            p.n_tasks,
            p.used_tasks,
            p.used_pings,
            p.oversight_min,
            p.gross_hours,
        );
    }

    pub fn add_values(&mut self, n: f64, y: f64, u: f64, m: f64, g: f64) {
        self.participants += 1;
        self.n_tasks += n;
        self.used_tasks += y;
        self.used_pings += u;
        self.oversight_min += m;
        self.gross_hours += g;
    }

    /// The cohort's point estimates, indexed like [`Metric::ALL`].
    pub fn points(&self) -> Points {
        let yield_rate = if self.n_tasks > 0.0 {
            Ok(self.used_tasks / self.n_tasks)
        } else {
            Err(NO_TASKS.to_string())
        };
        let oversight = if self.used_pings > 0.0 {
            Ok(self.oversight_min / self.used_pings)
        } else {
            Err(NO_PINGS.to_string())
        };
        let gross = if self.participants > 0 {
            Ok(self.gross_hours / self.participants as f64)
        } else {
            Err(NO_PARTICIPANTS.to_string())
        };
        let (net, multiplier, gap) = match (&yield_rate, &oversight, &gross) {
            (Ok(y), Ok(o), Ok(g)) => {
                let multiplier = y - o / 60.0;
                (
                    Ok(g * y - g * o / 60.0),
                    Ok(multiplier),
                    Ok(1.0 - multiplier),
                )
            }
            _ => {
                let why = first_err(&[&yield_rate, &oversight, &gross]);
                (Err(why.clone()), Err(why.clone()), Err(why))
            }
        };
        Points([yield_rate, oversight, gross, net, multiplier, gap])
    }
}

pub(crate) const NO_PARTICIPANTS: &str = "not enough data: no participants";
pub(crate) const NO_TASKS: &str = "not enough data: no diary tasks logged";
pub(crate) const NO_PINGS: &str = "not enough data: no pings answered \"yes, used\"";
pub(crate) const NO_GROSS: &str = "not enough data: the gross AI hours are all 0";

fn first_err(results: &[&Result<f64, String>]) -> String {
    results
        .iter()
        .find_map(|r| r.as_ref().err().cloned())
        .unwrap_or_default()
}

/// Point estimates indexed like [`Metric::ALL`]; `Err` holds the "not enough data" reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Points(pub [Result<f64, String>; 6]);

impl Points {
    pub fn get(&self, metric: Metric) -> &Result<f64, String> {
        &self.0[metric.index()]
    }
}

/// Overall point estimates from each cohort's (W_h, points): Σ W_h θ_h for yield, oversight, gross and
/// net; multiplier = net ÷ gross; vendor gap = 1 − multiplier. Cohorts with W_h = 0 are left out.
pub fn overall_points(cohorts: &[(String, f64, Points)]) -> Points {
    let mut sums = [0.0; 4];
    let mut errs: [Option<String>; 4] = Default::default();
    let mut any = false;
    for (name, weight, points) in cohorts {
        if *weight <= 0.0 {
            continue;
        }
        any = true;
        for k in 0..4 {
            match &points.0[k] {
                Ok(v) => sums[k] += weight * v,
                Err(e) => {
                    if errs[k].is_none() {
                        errs[k] = Some(format!("{e} in cohort {name:?}"));
                    }
                }
            }
        }
    }
    if !any {
        return Points(std::array::from_fn(|_| Err(NO_PARTICIPANTS.to_string())));
    }
    let lin: [Result<f64, String>; 4] =
        std::array::from_fn(|k| errs[k].clone().map_or(Ok(sums[k]), Err));
    let multiplier = match (&lin[3], &lin[2]) {
        (Ok(net), Ok(g)) if *g > 0.0 => Ok(net / g),
        (Ok(_), Ok(_)) => Err(NO_GROSS.to_string()),
        (net, g) => Err(first_err(&[net, g])),
    };
    let gap = multiplier.clone().map(|m| 1.0 - m);
    let [y, o, g, net] = lin;
    Points([y, o, g, net, multiplier, gap])
}

/// Per participant linearized values of every metric of one cohort (in the stratum's row order).
struct Linearized {
    points: Points,
    /// z[metric][participant]; empty where the metric is undefined.
    z: [Vec<f64>; 6],
}

fn linearize_cohort(rows: &[&ParticipantData]) -> Linearized {
    let mut totals = Totals::default();
    for p in rows {
        totals.add(p);
    }
    let points = totals.points();
    let mut z: [Vec<f64>; 6] = Default::default();
    let n = rows.len() as f64;
    if let Ok(y) = points.get(Metric::Yield) {
        z[0] = rows
            .iter()
            .map(|p| (p.used_tasks - y * p.n_tasks) / totals.n_tasks)
            .collect();
    }
    if let Ok(o) = points.get(Metric::Oversight) {
        z[1] = rows
            .iter()
            .map(|p| (p.oversight_min - o * p.used_pings) / totals.used_pings)
            .collect();
    }
    if let Ok(g) = points.get(Metric::Gross) {
        z[2] = rows.iter().map(|p| (p.gross_hours - g) / n).collect();
    }
    if let (Ok(y), Ok(o), Ok(g)) = (
        points.get(Metric::Yield),
        points.get(Metric::Oversight),
        points.get(Metric::Gross),
    ) {
        let (zy, zo, zg) = (&z[0], &z[1], &z[2]);
        let net: Vec<f64> = (0..rows.len())
            .map(|i| (y - o / 60.0) * zg[i] + g * zy[i] - g / 60.0 * zo[i])
            .collect();
        let mult: Vec<f64> = (0..rows.len()).map(|i| zy[i] - zo[i] / 60.0).collect();
        z[5] = mult.iter().map(|v| -v).collect();
        z[3] = net;
        z[4] = mult;
    }
    Linearized { points, z }
}

/// Σ_h (1 − n_h/N_h)·n_h/(n_h − 1)·Σ(z − z̄_h)² over (N_h, z of stratum h). Deviations are taken from
/// the stratum's first value before centring, so identical values give exactly 0.
pub fn ultimate_cluster_variance(strata: &[(f64, &[f64])]) -> f64 {
    let mut v = 0.0;
    for &(big_n, z) in strata {
        let n = z.len();
        if n < 2 {
            continue;
        }
        let nf = n as f64;
        let shift = z[0];
        let mean = z.iter().map(|x| x - shift).sum::<f64>() / nf;
        let ss: f64 = z.iter().map(|x| (x - shift - mean).powi(2)).sum();
        let fpc = (1.0 - nf / big_n).max(0.0);
        v += fpc * nf / (nf - 1.0) * ss;
    }
    v
}

/// Two-sided t critical value for a level in (0, 1) and df ≥ 1 (statrs).
pub fn t_quantile(level: f64, df: f64) -> Result<f64, String> {
    check_level(level)?;
    let t = StudentsT::new(0.0, 1.0, df).map_err(|e| {
        format!("not enough data: no t distribution with {df} degrees of freedom ({e})")
    })?;
    Ok(t.inverse_cdf(1.0 - (1.0 - level) / 2.0))
}

/// Rejects a confidence level outside (0, 1).
pub fn check_level(level: f64) -> Result<(), String> {
    if level.is_finite() && level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(format!(
            "the confidence level must be between 0 and 1 (e.g. 0.95 for 95%), got {level}"
        ))
    }
}

pub(crate) fn make_estimate(
    estimate: f64,
    variance: f64,
    df: f64,
    t: f64,
) -> Result<Estimate, String> {
    let se = variance.max(0.0).sqrt();
    let e = Estimate {
        estimate,
        se,
        df,
        ci_lower: estimate - t * se,
        ci_upper: estimate + t * se,
    };
    if [e.estimate, e.se, e.ci_lower, e.ci_upper]
        .iter()
        .all(|v| v.is_finite())
    {
        Ok(e)
    } else {
        Err("not enough data: the estimate is not a finite number".to_string())
    }
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
                "not enough data: 1 participant (a standard error needs at least 2)".to_string()
            };
            std::array::from_fn(|_| Err(why.clone()))
        } else {
            let df = (n - 1) as f64;
            let t = t_quantile(level, df)?;
            std::array::from_fn(|k| {
                let est = lin.points.0[k].clone()?;
                let v = ultimate_cluster_variance(&[(s.population, &lin.z[k])]);
                make_estimate(est, v, df, t)
            })
        };
        cohorts.insert(s.name.clone(), Profile::from_results(n, results));
        lins.push(lin);
    }
    let overall = overall_profile(&strata, &lins, level)?;
    Ok(StudyProfile { cohorts, overall })
}

fn overall_profile(
    strata: &[Stratum<'_>],
    lins: &[Linearized],
    level: f64,
) -> Result<Profile, String> {
    let n: usize = strata.iter().map(|s| s.rows.len()).sum();
    let fail = |why: String| {
        Ok(Profile::from_results(
            n,
            std::array::from_fn(|_| Err(why.clone())),
        ))
    };
    if n == 0 {
        return fail(NO_PARTICIPANTS.to_string());
    }
    // Every cohort of the roster must be estimable: its θ_h enters Σ W_h θ_h.
    for s in strata {
        if s.weight > 0.0 && s.rows.len() < 2 {
            return fail(format!(
                "not enough data: cohort {:?} has {} participant(s), at least 2 are needed",
                s.name,
                s.rows.len()
            ));
        }
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
    let mut results: [Result<Estimate, String>; 6] = std::array::from_fn(|_| Err(String::new()));
    let mut z_all: [Vec<Vec<f64>>; 4] = Default::default();
    for k in 0..4 {
        results[k] = points.0[k].clone().and_then(|est| {
            z_all[k] = weighted(k);
            make_estimate(est, variance(&z_all[k]), df, t)
        });
    }
    // Multiplier = net/G: z = (z_net − M·z_G)/G.
    let mult = points.get(Metric::Multiplier).clone().and_then(|m| {
        let g = points.get(Metric::Gross).clone()?;
        let z: Vec<Vec<f64>> = z_all[3]
            .iter()
            .zip(&z_all[2])
            .map(|(zn, zg)| zn.iter().zip(zg).map(|(a, b)| (a - m * b) / g).collect())
            .collect();
        Ok((m, variance(&z)))
    });
    results[4] = mult.clone().and_then(|(m, v)| make_estimate(m, v, df, t));
    results[5] = mult.and_then(|(m, v)| make_estimate(1.0 - m, v, df, t));
    Ok(Profile::from_results(n, results))
}

// ---------------------------------------------------------------------------------------------------
// Oversight per category and design effects (issue 4).
// ---------------------------------------------------------------------------------------------------

/// The oversight categories of a ping (SPEC.md, Instrument B), in the order of the `minutes` arrays.
pub const OVERSIGHT_CATEGORIES: [&str; 4] = ["verification", "correction", "context", "trust"];

/// The key of the whole-study entry in [`oversight_by_category`]'s map.
pub const OVERALL: &str = "overall";

/// Why the stratified overall figures of a design cannot be estimated, if they cannot: no participant,
/// or a cohort of the roster (N_h > 0) with fewer than 2 participants (its θ_h, and its variance, are
/// needed). The same rule as the overall profile.
pub(crate) fn overall_design_problem(strata: &[Stratum<'_>]) -> Option<String> {
    let n: usize = strata.iter().map(|s| s.rows.len()).sum();
    if n == 0 {
        return Some(NO_PARTICIPANTS.to_string());
    }
    strata
        .iter()
        .find(|s| s.weight > 0.0 && s.rows.len() < 2)
        .map(|s| {
            format!(
                "not enough data: cohort {:?} has {} participant(s), at least 2 are needed",
                s.name,
                s.rows.len()
            )
        })
}

/// (estimate, variance, df) of a ratio or the reason it has none.
type Moment = Result<(f64, f64, f64), String>;

/// A ratio Σnum/Σden per cohort (z_i = (num_i − R_h·den_i)/Σden, df n_h − 1) and stratified overall
/// (Σ W_h R_h, z = W_h·z_i, df n − H), as the yield and oversight of [`profile`]. `num`/`den` get the
/// participant's row; `no_den` is the reason when Σden = 0. Returns (per stratum, overall).
fn stratified_ratio(
    strata: &[Stratum<'_>],
    num: &dyn Fn(&ParticipantData) -> f64,
    den: &dyn Fn(&ParticipantData) -> f64,
    no_den: &str,
) -> (Vec<Moment>, Moment) {
    let mut per: Vec<Moment> = Vec::with_capacity(strata.len());
    let mut zs: Vec<Vec<f64>> = Vec::with_capacity(strata.len());
    for s in strata {
        let n = s.rows.len();
        let sn: f64 = s.rows.iter().map(|p| num(p)).sum();
        let sd: f64 = s.rows.iter().map(|p| den(p)).sum();
        let mut z = Vec::new();
        let r = if n == 0 {
            Err(NO_PARTICIPANTS.to_string())
        } else if sd <= 0.0 {
            Err(no_den.to_string())
        } else {
            let ratio = sn / sd;
            z = s
                .rows
                .iter()
                .map(|p| (num(p) - ratio * den(p)) / sd)
                .collect();
            if n < 2 {
                Err(
                    "not enough data: 1 participant (a standard error needs at least 2)"
                        .to_string(),
                )
            } else {
                let v = ultimate_cluster_variance(&[(s.population, &z)]);
                Ok((ratio, v, (n - 1) as f64))
            }
        };
        per.push(r);
        zs.push(z);
    }
    let overall = (|| {
        if let Some(why) = overall_design_problem(strata) {
            return Err(why);
        }
        let mut est = 0.0;
        let mut parts: Vec<(f64, Vec<f64>)> = Vec::new();
        let mut n = 0;
        for (h, s) in strata.iter().enumerate() {
            if s.weight <= 0.0 {
                continue;
            }
            let (r, _, _) = per[h]
                .clone()
                .map_err(|e| format!("{e} in cohort {:?}", s.name))?;
            est += s.weight * r;
            parts.push((s.population, zs[h].iter().map(|z| s.weight * z).collect()));
            n += s.rows.len();
        }
        let refs: Vec<(f64, &[f64])> = parts.iter().map(|(p, z)| (*p, z.as_slice())).collect();
        let v = ultimate_cluster_variance(&refs);
        Ok((est, v, (n - parts.len()) as f64))
    })();
    (per, overall)
}

fn moment_to_estimate(m: &Moment, level: f64) -> Result<Estimate, String> {
    let (est, v, df) = m.clone()?;
    make_estimate(est, v, df, t_quantile(level, df)?)
}

/// Oversight minutes per "used" ping-hour in each category (verification, correction, context
/// reconstruction, trust calibration; [`OVERSIGHT_CATEGORIES`]) per cohort and stratified overall (key
/// [`OVERALL`]): Σm_k/Σu with the same linearization, df and interval as the total oversight ratio of
/// [`profile`]; the four categories add up to it. `minutes[i]` are participant `data[i]`'s minutes per
/// category, summing to its `oversight_min` (to 1e-9 relative). A `None` is "not enough data" (a
/// cohort with fewer than 2 participants or no "used" pings; overall, any cohort of the roster that
/// lacks its estimate) — [`profile`]'s `not_enough` gives the same reasons for the total. `Err` for
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

/// A design effect: how much the clustered, stratified design inflates a variance over simple random
/// sampling of the same number of units (tasks for yield, "used" pings for oversight).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DesignEffect {
    /// V_design / V_srs.
    pub deff: f64,
    /// units / deff: the number of independent units the sample is worth; `None` when deff = 0 (the
    /// design variance is 0, e.g. identical participants).
    pub effective_n: Option<f64>,
    /// The units: Σn tasks (yield) or Σu "used" pings (oversight).
    pub units: f64,
    /// The linearization variance of the estimate (= SE² of [`profile`]).
    pub v_design: f64,
    /// The variance under simple random sampling of the units (see [`design_effects`]).
    pub v_srs: f64,
}

/// Design effects of yield and oversight for a cohort or the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignEffects {
    #[serde(rename = "yield")]
    pub yield_rate: Option<DesignEffect>,
    pub oversight: Option<DesignEffect>,
    /// Why one is `None`: "yield" / "oversight" → reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_enough: BTreeMap<String, String>,
}

/// Design effects per cohort and overall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyDesignEffects {
    pub cohorts: BTreeMap<String, DesignEffects>,
    pub overall: DesignEffects,
}

fn design_effect(
    v_design: f64,
    v_srs: f64,
    units: f64,
    what: &str,
) -> Result<DesignEffect, String> {
    if v_srs.is_nan() || v_srs <= 0.0 || !v_srs.is_finite() {
        return Err(format!(
            "not enough data: the variance of {what} under simple random sampling is 0 \
             (every unit alike, or a census)"
        ));
    }
    let deff = v_design / v_srs;
    if !deff.is_finite() {
        return Err("not enough data: the design effect is not a finite number".to_string());
    }
    Ok(DesignEffect {
        deff,
        effective_n: (deff > 0.0).then(|| units / deff),
        units,
        v_design,
        v_srs,
    })
}

/// Design effect and effective sample size of the yield and the oversight ratio, per cohort and
/// overall: deff = V_design / V_srs, effective n = units / deff.
///
/// - V_design: the linearization variance of [`profile`] (clustered by participant, stratified, fpc).
/// - Yield: tasks as independent Bernoulli units, V_srs = Y(1 − Y)/Σn · (1 − f), with f = n_h/N_h in a
///   cohort (the cohort's finite population correction) and f = n/ΣN overall (Y the overall estimate,
///   Σn all tasks: Y(1 − Y) is exactly the per-task variance of the population in which each cohort's
///   tasks count for its roster share W_h, whose mean is Σ W_h Y_h).
/// - Oversight: "used" pings as independent units, V_srs = s²_ping/Σu · (1 − f). APPROXIMATION: we only
///   have each participant's summed minutes m_i over u_i pings, not the minutes of each ping, so the
///   per-ping variance s²_ping is approximated by the between-participant variance of the per-ping
///   means m_i/u_i weighted by u_i: s² = Σ_i u_i (m_i/u_i − O)² / Σu (participants with u_i = 0 carry no
///   weight; overall, s² = Σ_h W_h Σ_{i∈h} u_i (m_i/u_i − O)²/Σ_{i∈h} u_i around the overall O). This
///   leaves out the variance of the pings around their participant's mean, so s²_ping and V_srs are
///   underestimated and the oversight design effect is OVERSTATED (an upper bound in expectation; with
///   one ping per participant it is exact).
/// - R's `svyratio(..., deff = TRUE)` defines it differently: design variance over that of a simple
///   random sample of *participants* (the rows), which is 1 for a cohort alone in this one-stage
///   design; the fixture records it as `r_deff` but this function does not reproduce it.
///
/// `None` with a reason where a profile estimate is missing or V_srs = 0 (yield 0 or 1, every
/// participant at the same minutes per ping, a census cohort).
pub fn design_effects(
    data: &[ParticipantData],
    populations: &BTreeMap<String, f64>,
) -> Result<StudyDesignEffects, String> {
    let strata = strata(data, populations)?;
    let (y_per, y_all) = stratified_ratio(&strata, &|p| p.used_tasks, &|p| p.n_tasks, NO_TASKS);
    let (o_per, o_all) =
        stratified_ratio(&strata, &|p| p.oversight_min, &|p| p.used_pings, NO_PINGS);
    // Σ_i u_i (m_i/u_i − o)² / Σu over a cohort (Σu > 0).
    let s2_ping = |s: &Stratum<'_>, o: f64| {
        let su: f64 = s.rows.iter().map(|p| p.used_pings).sum();
        let ss: f64 = s
            .rows
            .iter()
            .filter(|p| p.used_pings > 0.0)
            .map(|p| p.used_pings * (p.oversight_min / p.used_pings - o).powi(2))
            .sum();
        ss / su
    };
    let build = |y: Result<DesignEffect, String>, o: Result<DesignEffect, String>| {
        let mut not_enough = BTreeMap::new();
        if let Err(e) = &y {
            not_enough.insert("yield".to_string(), e.clone());
        }
        if let Err(e) = &o {
            not_enough.insert("oversight".to_string(), e.clone());
        }
        DesignEffects {
            yield_rate: y.ok(),
            oversight: o.ok(),
            not_enough,
        }
    };
    let mut cohorts = BTreeMap::new();
    for (h, s) in strata.iter().enumerate() {
        let nf = s.rows.len() as f64;
        let fpc = (1.0 - nf / s.population).max(0.0);
        let tasks: f64 = s.rows.iter().map(|p| p.n_tasks).sum();
        let pings: f64 = s.rows.iter().map(|p| p.used_pings).sum();
        let y = y_per[h].clone().and_then(|(y, v, _)| {
            design_effect(v, y * (1.0 - y) / tasks * fpc, tasks, "the yield")
        });
        let o = o_per[h].clone().and_then(|(o, v, _)| {
            design_effect(v, s2_ping(s, o) / pings * fpc, pings, "the oversight ratio")
        });
        cohorts.insert(s.name.clone(), build(y, o));
    }
    let used: Vec<&Stratum<'_>> = strata.iter().filter(|s| s.weight > 0.0).collect();
    let n: f64 = used.iter().map(|s| s.rows.len() as f64).sum();
    let big_n: f64 = used.iter().map(|s| s.population).sum();
    let fpc = if big_n > 0.0 {
        (1.0 - n / big_n).max(0.0)
    } else {
        0.0
    };
    let tasks: f64 = used.iter().flat_map(|s| &s.rows).map(|p| p.n_tasks).sum();
    let pings: f64 = used
        .iter()
        .flat_map(|s| &s.rows)
        .map(|p| p.used_pings)
        .sum();
    let y = y_all
        .and_then(|(y, v, _)| design_effect(v, y * (1.0 - y) / tasks * fpc, tasks, "the yield"));
    let o = o_all.and_then(|(o, v, _)| {
        let s2: f64 = used.iter().map(|s| s.weight * s2_ping(s, o)).sum();
        design_effect(v, s2 / pings * fpc, pings, "the oversight ratio")
    });
    Ok(StudyDesignEffects {
        cohorts,
        overall: build(y, o),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: &str, cohort: &str, n: f64, y: f64, u: f64, m: f64, g: f64) -> ParticipantData {
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

    fn pops(list: &[(&str, f64)]) -> BTreeMap<String, f64> {
        list.iter().map(|(c, n)| (c.to_string(), *n)).collect()
    }

    #[derive(Deserialize)]
    struct Fixture {
        level: f64,
        populations: BTreeMap<String, f64>,
        participants: Vec<ParticipantData>,
        expected: ExpectedStudy,
    }

    #[derive(Deserialize)]
    struct ExpectedStudy {
        cohorts: BTreeMap<String, ExpectedProfile>,
        overall: ExpectedProfile,
    }

    #[derive(Deserialize)]
    struct ExpectedProfile {
        n: f64,
        #[serde(rename = "yield")]
        yield_rate: Estimate,
        oversight_min_per_hour: Estimate,
        gross_hours_month: Estimate,
        net_hours_month: Estimate,
        labor_multiplier: Estimate,
    }

    fn compare(what: &str, got: Option<&Estimate>, want: &Estimate) {
        let got = got.unwrap_or_else(|| panic!("{what}: missing"));
        let abs = |a: f64, b: f64| (a - b).abs();
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-300);
        assert!(
            abs(got.estimate, want.estimate) <= 1e-9,
            "{what} estimate: {} vs R {}",
            got.estimate,
            want.estimate
        );
        assert!(
            rel(got.se, want.se) <= 1e-6,
            "{what} se: {} vs R {}",
            got.se,
            want.se
        );
        assert_eq!(got.df, want.df, "{what} df");
        // The interval uses statrs's t quantile against R's qt().
        let width = want.ci_upper - want.ci_lower;
        assert!(
            abs(got.ci_lower, want.ci_lower) <= 1e-6 * width
                && abs(got.ci_upper, want.ci_upper) <= 1e-6 * width,
            "{what} interval: [{}, {}] vs R [{}, {}]",
            got.ci_lower,
            got.ci_upper,
            want.ci_lower,
            want.ci_upper
        );
    }

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
        let fixture: Fixture =
            serde_json::from_str(include_str!("../../tests/fixtures/survey_expected.json"))
                .unwrap();
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

        // One participant in a cohort: that cohort and the overall figure have no estimate.
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

/// Tests of the oversight per category and the design effects (R cross-checks in
/// tests/fixtures/survey_expected.json, `expected_extra`).
#[cfg(test)]
pub(crate) mod extension_tests {
    use super::*;

    #[derive(Deserialize)]
    pub(crate) struct Fixture {
        pub level: f64,
        pub populations: BTreeMap<String, f64>,
        pub participants: Vec<ParticipantData>,
        pub participant_extra: Vec<Extra>,
        pub expected_extra: ExpectedExtra,
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

    pub(crate) fn fixture() -> Fixture {
        let f: Fixture =
            serde_json::from_str(include_str!("../../tests/fixtures/survey_expected.json"))
                .unwrap();
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

    pub(crate) fn p(
        id: &str,
        cohort: &str,
        n: f64,
        y: f64,
        u: f64,
        m: f64,
        g: f64,
    ) -> ParticipantData {
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

    pub(crate) fn pops(list: &[(&str, f64)]) -> BTreeMap<String, f64> {
        list.iter().map(|(c, n)| (c.to_string(), *n)).collect()
    }

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
            assert_eq!(row[0].unwrap(), total(g), "{g}");
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

    #[test]
    fn design_effects_match_the_r_hand_computation() {
        let f = fixture();
        let got = design_effects(&f.participants, &f.populations).unwrap();
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
        for (group, metrics) in &f.expected_extra.design_effects {
            let d = if group == OVERALL {
                &got.overall
            } else {
                &got.cohorts[group]
            };
            for (metric, want) in metrics {
                let e = match metric.as_str() {
                    "yield" => d.yield_rate.unwrap(),
                    _ => d.oversight.unwrap(),
                };
                let what = format!("{group} {metric}");
                assert_eq!(e.units, want["units"], "{what} units");
                assert!(rel(e.v_design, want["v_design"]) < 1e-6, "{what} v_design");
                assert!(rel(e.v_srs, want["v_srs"]) < 1e-9, "{what} v_srs");
                assert!(rel(e.deff, want["deff"]) < 1e-6, "{what} deff");
                assert!(
                    rel(e.effective_n.unwrap(), want["effective_n"]) < 1e-6,
                    "{what} effective n"
                );
                // The design variance is the profile's SE².
                if let Some(r) = want.get("r_deff") {
                    // R's participant-unit deff is 1 for a cohort alone; ours is not.
                    assert!((r - 1.0).abs() < 1e-9 && e.deff > 1.5, "{what}");
                }
            }
        }
    }

    #[test]
    fn design_effect_by_hand() {
        // Cohort of N = 10, two participants: a (4 tasks, 2 used; 2 pings, 10 min), b (6, 5; 3, 30).
        let data = vec![
            p("a", "c", 4.0, 2.0, 2.0, 10.0, 1.0),
            p("b", "c", 6.0, 5.0, 3.0, 30.0, 1.0),
        ];
        let got = design_effects(&data, &pops(&[("c", 10.0)])).unwrap();
        for d in [&got.cohorts["c"], &got.overall] {
            // Y = 0.7, z = ∓0.08, V = 0.8·2·0.0128 = 0.02048; V_srs = 0.7·0.3/10·0.8 = 0.0168.
            let y = d.yield_rate.unwrap();
            assert!((y.v_design - 0.02048).abs() < 1e-15);
            assert!((y.v_srs - 0.0168).abs() < 1e-15);
            assert!((y.deff - 0.02048 / 0.0168).abs() < 1e-12);
            assert!((y.effective_n.unwrap() - 8.203125).abs() < 1e-12);
            assert_eq!(y.units, 10.0);
            // O = 8, z = ∓1.2, V = 0.8·2·2.88 = 4.608; s² = (2·3² + 3·2²)/5 = 6, V_srs = 6/5·0.8.
            let o = d.oversight.unwrap();
            assert!((o.v_design - 4.608).abs() < 1e-12);
            assert!((o.v_srs - 0.96).abs() < 1e-12);
            assert!((o.deff - 4.8).abs() < 1e-12);
            assert!((o.effective_n.unwrap() - 5.0 / 4.8).abs() < 1e-12);
        }
    }

    #[test]
    fn design_effect_edge_cases() {
        // Every task used: Y = 1, V_srs = 0 → no design effect, with a reason.
        let data = vec![
            p("a", "c", 4.0, 4.0, 2.0, 10.0, 1.0),
            p("b", "c", 6.0, 6.0, 2.0, 10.0, 1.0),
        ];
        let got = design_effects(&data, &pops(&[("c", 10.0)])).unwrap();
        let c = &got.cohorts["c"];
        assert!(c.yield_rate.is_none() && c.oversight.is_none());
        assert!(c.not_enough["yield"].starts_with("not enough data"));
        assert!(c.not_enough["oversight"].starts_with("not enough data"));
        // Identical participants with a non-degenerate yield: deff 0, no effective n.
        let data = vec![
            p("a", "c", 4.0, 2.0, 2.0, 10.0, 1.0),
            p("b", "c", 4.0, 2.0, 2.0, 10.0, 1.0),
        ];
        let got = design_effects(&data, &pops(&[("c", 10.0)])).unwrap();
        let y = got.cohorts["c"].yield_rate.unwrap();
        assert_eq!((y.deff, y.effective_n), (0.0, None));
        // Empty study, one participant.
        let got = design_effects(&[], &pops(&[("c", 10.0)])).unwrap();
        assert!(got.overall.yield_rate.is_none() && got.cohorts["c"].oversight.is_none());
        let got = design_effects(&data[..1], &pops(&[("c", 10.0)])).unwrap();
        assert!(got.cohorts["c"].not_enough["yield"].contains("1 participant"));
        let json = serde_json::to_string(&got).unwrap();
        assert!(!json.contains("NaN") && !json.contains("inf"));
    }
}
