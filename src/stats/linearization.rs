//! Linearization (the Taylor-series method of R's `survey`): each participant's influence value z_i on
//! an estimate, and the variance of a stratified, clustered design from those values.
//!
//! Per cohort h (n_h participants of a roster of N_h):
//! - ratio R = Σnum/Σden (yield Σy/Σn, oversight Σm/Σu): z_i = (num_i − R·den_i)/Σden (svyratio);
//! - mean G = mean g: z_i = (g_i − G)/n_h (svymean);
//! - net = G·Y − G·O/60: z = (Y − O/60)·z_G + G·z_Y − (G/60)·z_O, from the same participants' values;
//! - THE MULTIPLIER'S VARIANCE: M = Y − O/60 in a cohort, z = z_Y − z_O/60 ([`multiplier_z`]); overall
//!   M = net ÷ gross, z = (z_net − M·z_G)/G ([`overall_multiplier_z`]); the vendor gap 1 − M has −z.
//!
//! Variance: V = Σ_h (1 − n_h/N_h)·n_h/(n_h − 1)·Σ_{i∈h}(z_i − z̄_h)² ([`ultimate_cluster_variance`]);
//! df = n_h − 1 in a cohort, n − H overall; interval = estimate ± t_{df}·SE ([`make_estimate`]).
//! Overall, with W_h = N_h/ΣN, a linear statistic Σ W_h θ_h has values W_h·z_i.

use std::collections::{BTreeMap, BTreeSet};

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::profile::{Estimate, Metric, ParticipantData};

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
        if is_reserved_cohort(cohort) {
            return Err(format!(
                "a cohort cannot be named {cohort:?}: that name is reserved for the whole-study figure; rename the cohort"
            ));
        }
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

/// Cohort names the reports use for their own rows ("overall", any case).
pub fn is_reserved_cohort(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("overall")
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
pub(crate) struct Linearized {
    pub(crate) points: Points,
    /// z[metric][participant]; empty where the metric is undefined.
    pub(crate) z: [Vec<f64>; 6],
}

pub(crate) fn linearize_cohort(rows: &[&ParticipantData]) -> Linearized {
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
        let mult = multiplier_z(zy, zo);
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
        interval: None,
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

/// The multiplier's linearized values in a cohort: M = Y − O/60, so z_i = z_Y,i − z_O,i/60.
pub fn multiplier_z(z_yield: &[f64], z_oversight: &[f64]) -> Vec<f64> {
    (0..z_yield.len())
        .map(|i| z_yield[i] - z_oversight[i] / 60.0)
        .collect()
}

/// The overall multiplier's linearized values, per cohort: M = net ÷ gross (cohorts weighted by their
/// gross hours), so z_i = (z_net,i − M·z_G,i)/G from the overall net's and gross's values.
pub fn overall_multiplier_z(
    z_net: &[Vec<f64>],
    z_gross: &[Vec<f64>],
    m: f64,
    g: f64,
) -> Vec<Vec<f64>> {
    z_net
        .iter()
        .zip(z_gross)
        .map(|(zn, zg)| zn.iter().zip(zg).map(|(a, b)| (a - m * b) / g).collect())
        .collect()
}

/// Why the stratified overall figures of a design cannot be estimated, if they cannot: no participant,
/// or a cohort of the roster (N_h > 0) with no participant (its θ_h is needed). The same rule as the
/// overall profile.
///
/// A cohort with ONE participant is not estimable on its own (no standard error) but enters the overall
/// figures as R's `survey` does with `options(survey.lonely.psu = "adjust")`: its θ_h counts in Σ W_h θ_h
/// and its variance part is (1 − 1/N_h)·z², where z, its influence on its own cohort's estimate, is 0,
/// so it adds nothing to the variance (its n_h − 1 = 0 degrees of freedom too). Checked against R in
/// tests/fixtures/survey_lonely_expected.json (scripts/survey_lonely_fixture.R).
pub(crate) fn overall_design_problem(strata: &[Stratum<'_>]) -> Option<String> {
    let n: usize = strata.iter().map(|s| s.rows.len()).sum();
    if n == 0 {
        return Some(NO_PARTICIPANTS.to_string());
    }
    strata
        .iter()
        .find(|s| s.weight > 0.0 && s.rows.is_empty())
        .map(|s| {
            format!(
                "not enough data: cohort {:?} has no participant, at least 1 is needed",
                s.name
            )
        })
}

/// The older, stricter rule the segments keep (a segment is a domain of the whole design, which R's
/// lonely-PSU adjustment does not cover the same way): every cohort of the roster needs 2 participants.
pub(crate) fn design_problem_for_domains(strata: &[Stratum<'_>]) -> Option<String> {
    overall_design_problem(strata).or_else(|| {
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
    })
}

/// The note a page shows for a cohort with one participant (R's `survey.lonely.psu = "adjust"`).
pub const LONELY_NOTE: &str = "not estimable: 1 participant (a standard error needs at least 2); \
     the overall figures include it as R's survey does with survey.lonely.psu = \"adjust\"";

/// (estimate, variance, df) of a ratio or the reason it has none.
pub(crate) type Moment = Result<(f64, f64, f64), String>;

/// A ratio Σnum/Σden per cohort (z_i = (num_i − R_h·den_i)/Σden, df n_h − 1) and stratified overall
/// (Σ W_h R_h, z = W_h·z_i, df n − H), as the yield and oversight of [`super::profile::profile`]. `num`/`den` get the
/// participant's row; `no_den` is the reason when Σden = 0. Returns (per stratum, overall).
pub(crate) fn stratified_ratio(
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
            let v = ultimate_cluster_variance(&[(s.population, &z)]);
            Ok((ratio, v, (n - 1) as f64))
        };
        per.push(r);
        zs.push(z);
    }
    let lonely = |h: usize| strata[h].rows.len() == 1;
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
    // A lonely cohort has its ratio (used overall) but no estimate of its own.
    let per = per
        .into_iter()
        .enumerate()
        .map(|(h, m)| match m {
            Ok(_) if lonely(h) => Err(LONELY_NOTE.to_string()),
            other => other,
        })
        .collect();
    (per, overall)
}

pub(crate) fn moment_to_estimate(m: &Moment, level: f64) -> Result<Estimate, String> {
    let (est, v, df) = m.clone()?;
    make_estimate(est, v, df, t_quantile(level, df)?)
}
