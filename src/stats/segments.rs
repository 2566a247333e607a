//! Segments (by function, tenure, …): domain estimation inside the stratified design of
//! [`crate::stats::profile`], as R's `survey` computes `svyby(~x, ~segment, design, svyratio)` and
//! `svyby(~x, ~segment, design, svymean)` on the FULL design
//! `svydesign(ids = ~participant, strata = ~cohort, fpc = ~roster_size)` — the design is never subset.
//!
//! With the design weights w_i = N_h/n_h and I_i = 1 for the segment's participants, 0 otherwise:
//! - yield Y_d = Σ w I y / Σ w I n, z_i = w_i I_i (y_i − Y_d n_i) / Σ w I n;
//! - oversight O_d = Σ w I m / Σ w I u, z_i = w_i I_i (m_i − O_d u_i) / Σ w I u;
//! - gross G_d = Σ w I g / Σ w I (the domain mean is a ratio), z_i = w_i I_i (g_i − G_d) / Σ w I;
//! - net = G_d·Y_d − G_d·O_d/60 and multiplier = net/G_d = Y_d − O_d/60 (vendor gap 1 − multiplier),
//!   their z combined from the same participants' z as in `profile.rs`.
//!
//! Participants outside the segment have z = 0 but still count in n_h, so the variance is
//! Σ_h (1 − n_h/N_h)·n_h/(n_h − 1)·Σ_{i∈h}(z_i − z̄_h)² over EVERY participant (the ultimate-cluster
//! formula of the whole design), and df = n − H, the design's degrees of freedom (`degf(design)`;
//! R's `confint()` on a `svyby` result uses the normal quantile unless given `df = degf(design)`).
//!
//! Combined, not separate, ratios. The segment's yield is one ratio over all its (weighted) tasks,
//! across cohorts. The study-wide yield of the profile is the *separate* ratio Σ_h W_h·Y_h, so a
//! segment holding every participant reproduces the profile's overall gross hours exactly, but its
//! yield and oversight (hence net and multiplier) are the combined ratios Σ w y / Σ w n — what
//! `svyratio` gives on the full design — which equal the profile's only when the cohorts log the same
//! number of tasks (pings) per participant, or there is one cohort. The combined ratio is what keeps a
//! segment estimable when it has few participants in a cohort (a separate ratio needs tasks in every
//! segment × cohort cell). Segments recombine exactly on their own scale: Σ_d N̂_d·G_d = ΣN·G;
//! Σ_d T̂n_d·Y_d / Σ_d T̂n_d = the combined yield (likewise oversight with T̂u_d), where N̂_d, T̂n_d and
//! T̂u_d ([`Segment`]) are the segment's estimated headcount, tasks and "used" pings.
//!
//! "Not enough data" rules: the whole design must be estimable (every cohort of the roster with at
//! least 2 participants, as for the overall profile); a segment with fewer than 2 participants, no
//! tasks or no "used" pings gets `None`s with reasons, never NaN. A segment of 1–4 participants does get
//! estimates: suppressing cells below k is the report's job, from [`Profile::n`].

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::linearization::{
    NO_PARTICIPANTS, NO_PINGS, NO_TASKS, Stratum, check_level, design_problem_for_domains,
    make_estimate, strata, t_quantile, ultimate_cluster_variance,
};
use super::profile::{Estimate, ParticipantData, Profile};

/// A segment's profile with its estimated size in the population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// The domain estimates; `profile.n` = the segment's participants.
    pub profile: Profile,
    /// N̂_d = Σ w I: estimated number of people of the roster in the segment.
    pub population: f64,
    /// T̂n_d = Σ w I n: estimated diary tasks of the segment (the yield's denominator).
    pub tasks: f64,
    /// T̂u_d = Σ w I u: estimated "used" pings of the segment (the oversight ratio's denominator).
    pub pings: f64,
}

/// The Layer 2 profile of each segment (see the module documentation). `segment_of[i]` is the segment
/// of `data[i]` (e.g. its function or tenure band); the map has one entry per distinct segment.
/// `populations` and `level` as in [`crate::stats::profile::profile`]. `Err` for invalid input.
pub fn segment_profile(
    data: &[ParticipantData],
    segment_of: &[String],
    populations: &BTreeMap<String, f64>,
    level: f64,
) -> Result<BTreeMap<String, Profile>, String> {
    Ok(segment_details(data, segment_of, populations, level)?
        .into_iter()
        .map(|(name, s)| (name, s.profile))
        .collect())
}

/// [`segment_profile`] with each segment's estimated headcount, tasks and pings.
pub fn segment_details(
    data: &[ParticipantData],
    segment_of: &[String],
    populations: &BTreeMap<String, f64>,
    level: f64,
) -> Result<BTreeMap<String, Segment>, String> {
    check_level(level)?;
    if segment_of.len() != data.len() {
        return Err(format!(
            "{} participants but {} segment labels",
            data.len(),
            segment_of.len()
        ));
    }
    let strata = strata(data, populations)?;
    let seg_by_id: HashMap<&str, &str> = data
        .iter()
        .zip(segment_of)
        .map(|(p, s)| (p.id.as_str(), s.as_str()))
        .collect();
    let mut names: Vec<&str> = segment_of.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    let design_problem = design_problem_for_domains(&strata);
    let used: Vec<&Stratum<'_>> = strata.iter().filter(|s| s.weight > 0.0).collect();
    let n_all: usize = used.iter().map(|s| s.rows.len()).sum();
    let df = n_all.saturating_sub(used.len()) as f64;
    let mut out = BTreeMap::new();
    for name in names {
        let member = |p: &ParticipantData| seg_by_id[p.id.as_str()] == name;
        let seg = domain(&used, &member, design_problem.as_deref(), df, level)?;
        out.insert(name.to_string(), seg);
    }
    Ok(out)
}

/// The domain estimates of one segment over the strata `used` (W_h > 0); `problem`: why the design
/// cannot be estimated at all (then only the counts are given).
fn domain(
    used: &[&Stratum<'_>],
    member: &dyn Fn(&ParticipantData) -> bool,
    problem: Option<&str>,
    df: f64,
    level: f64,
) -> Result<Segment, String> {
    // Totals Σ w I (·) in stratum then row order.
    let (mut tg, mut ty, mut tn, mut tm, mut tu, mut t1) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let mut n = 0usize;
    for s in used {
        let w = s.population / s.rows.len().max(1) as f64;
        for p in s.rows.iter().filter(|p| member(p)) {
            n += 1;
            tg += w * p.gross_hours;
            ty += w * p.used_tasks;
            tn += w * p.n_tasks;
            tm += w * p.oversight_min;
            tu += w * p.used_pings;
            t1 += w;
        }
    }
    let fail = |why: String| {
        Ok(Segment {
            profile: Profile::from_results(n, std::array::from_fn(|_| Err(why.clone()))),
            population: t1,
            tasks: tn,
            pings: tu,
        })
    };
    if let Some(why) = problem {
        return fail(why.to_string());
    }
    if n == 0 {
        return fail(NO_PARTICIPANTS.to_string());
    }
    if n < 2 {
        return fail(
            "not enough data: 1 participant in the segment (a standard error needs at least 2)"
                .to_string(),
        );
    }
    let y = if tn > 0.0 {
        Ok(ty / tn)
    } else {
        Err(NO_TASKS.to_string())
    };
    let o = if tu > 0.0 {
        Ok(tm / tu)
    } else {
        Err(NO_PINGS.to_string())
    };
    let g = tg / t1;
    // z[metric] per stratum (every participant of the stratum, 0 outside the segment).
    let lin = |f: &dyn Fn(&ParticipantData) -> f64| -> Vec<Vec<f64>> {
        used.iter()
            .map(|s| {
                let w = s.population / s.rows.len() as f64;
                s.rows
                    .iter()
                    .map(|p| if member(p) { w * f(p) } else { 0.0 })
                    .collect()
            })
            .collect()
    };
    let variance = |z: &[Vec<f64>]| {
        let parts: Vec<(f64, &[f64])> = used
            .iter()
            .zip(z)
            .map(|(s, zh)| (s.population, zh.as_slice()))
            .collect();
        ultimate_cluster_variance(&parts)
    };
    let t = t_quantile(level, df)?;
    let zg = lin(&|p| (p.gross_hours - g) / t1);
    let gross = make_estimate(g, variance(&zg), df, t);
    let zy = y
        .as_ref()
        .ok()
        .map(|&y| lin(&|p| (p.used_tasks - y * p.n_tasks) / tn));
    let zo = o
        .as_ref()
        .ok()
        .map(|&o| lin(&|p| (p.oversight_min - o * p.used_pings) / tu));
    let yield_rate = y
        .clone()
        .and_then(|y| make_estimate(y, variance(zy.as_ref().unwrap()), df, t));
    let oversight = o
        .clone()
        .and_then(|o| make_estimate(o, variance(zo.as_ref().unwrap()), df, t));
    let combine = |f: &dyn Fn(f64, f64, f64) -> f64| -> Vec<Vec<f64>> {
        let (zy, zo) = (zy.as_ref().unwrap(), zo.as_ref().unwrap());
        (0..used.len())
            .map(|h| {
                (0..zg[h].len())
                    .map(|i| f(zy[h][i], zo[h][i], zg[h][i]))
                    .collect()
            })
            .collect()
    };
    let (net, multiplier, gap): (Result<Estimate, String>, _, _) = match (&y, &o) {
        (Ok(y), Ok(o)) => {
            let (y, o) = (*y, *o);
            let m = y - o / 60.0;
            let z_net = combine(&|zy, zo, zg| m * zg + g * zy - g / 60.0 * zo);
            let z_mult = combine(&|zy, zo, _| zy - zo / 60.0);
            let v_mult = variance(&z_mult);
            (
                make_estimate(g * y - g * o / 60.0, variance(&z_net), df, t),
                make_estimate(m, v_mult, df, t),
                make_estimate(1.0 - m, v_mult, df, t),
            )
        }
        (Err(e), _) | (_, Err(e)) => (Err(e.clone()), Err(e.clone()), Err(e.clone())),
    };
    Ok(Segment {
        profile: Profile::from_results(n, [yield_rate, oversight, gross, net, multiplier, gap]),
        population: t1,
        tasks: tn,
        pings: tu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fixture::{Fixture, compare, fixture, p, pops};
    use crate::stats::profile::{Metric, profile};

    fn labels(f: &Fixture, by: &str) -> Vec<String> {
        f.participant_extra
            .iter()
            .map(|e| match by {
                "function" => e.function.clone(),
                _ => e.tenure.clone(),
            })
            .collect()
    }

    #[test]
    fn segments_match_r_svyby_on_the_full_design() {
        let f = fixture();
        for (by, want_segments) in &f.expected_extra.segments {
            let got =
                segment_details(&f.participants, &labels(&f, by), &f.populations, f.level).unwrap();
            assert_eq!(got.len(), want_segments.len(), "{by}");
            for (name, want) in want_segments {
                let seg = &got[name];
                let what = format!("{by}={name}");
                assert_eq!(
                    seg.profile.n as f64,
                    want["n"].as_f64().unwrap(),
                    "{what} n"
                );
                for (key, got_v) in [
                    ("population", seg.population),
                    ("tasks", seg.tasks),
                    ("pings", seg.pings),
                ] {
                    let w = want[key].as_f64().unwrap();
                    assert!((got_v - w).abs() <= 1e-9 * w, "{what} {key}");
                }
                for m in [
                    Metric::Yield,
                    Metric::Oversight,
                    Metric::Gross,
                    Metric::Net,
                    Metric::Multiplier,
                ] {
                    let w: Estimate = serde_json::from_value(want[m.key()].clone()).unwrap();
                    compare(&format!("{what} {}", m.key()), seg.profile.get(m), &w);
                }
                let (m, gap) = (
                    seg.profile.labor_multiplier.unwrap(),
                    seg.profile.vendor_gap.unwrap(),
                );
                assert!((gap.estimate - (1.0 - m.estimate)).abs() < 1e-15 && gap.se == m.se);
            }
        }
    }

    #[test]
    fn segments_recombine() {
        let f = fixture();
        let prof = profile(&f.participants, &f.populations, f.level).unwrap();
        let total_n: f64 = f.populations.values().sum();
        // Combined ratios over the whole design, Σ w y / Σ w n.
        let mut sums = [0.0; 4]; // w·y, w·n, w·m, w·u
        for p in &f.participants {
            let n_h = f
                .participants
                .iter()
                .filter(|q| q.cohort == p.cohort)
                .count() as f64;
            let w = f.populations[&p.cohort] / n_h;
            sums[0] += w * p.used_tasks;
            sums[1] += w * p.n_tasks;
            sums[2] += w * p.oversight_min;
            sums[3] += w * p.used_pings;
        }
        for by in ["function", "tenure"] {
            let segs =
                segment_details(&f.participants, &labels(&f, by), &f.populations, f.level).unwrap();
            let sum = |g: &dyn Fn(&Segment) -> f64| segs.values().map(g).sum::<f64>();
            assert!((sum(&|s| s.population) - total_n).abs() < 1e-9 * total_n);
            assert_eq!(sum(&|s| s.profile.n as f64), f.participants.len() as f64);
            let gross = sum(&|s| s.population * s.profile.gross_hours_month.unwrap().estimate);
            let want = prof.overall.gross_hours_month.unwrap().estimate;
            assert!((gross / total_n - want).abs() < 1e-12, "{by} gross");
            let y = sum(&|s| s.tasks * s.profile.yield_rate.unwrap().estimate) / sum(&|s| s.tasks);
            assert!((y - sums[0] / sums[1]).abs() < 1e-12, "{by} yield");
            let o = sum(&|s| s.pings * s.profile.oversight_min_per_hour.unwrap().estimate)
                / sum(&|s| s.pings);
            assert!((o - sums[2] / sums[3]).abs() < 1e-12, "{by} oversight");
        }
    }

    fn close(a: &Estimate, b: &Estimate, what: &str) {
        assert!(
            (a.estimate - b.estimate).abs() < 1e-12 * b.estimate.abs().max(1.0),
            "{what}"
        );
        assert!(
            (a.se - b.se).abs() < 1e-9 * b.se.max(1e-300),
            "{what} se {} vs {}",
            a.se,
            b.se
        );
        assert_eq!(a.df, b.df, "{what} df");
    }

    #[test]
    fn a_segment_of_everybody() {
        let f = fixture();
        let all = vec!["all".to_string(); f.participants.len()];
        let seg = &segment_details(&f.participants, &all, &f.populations, f.level).unwrap()["all"];
        let prof = profile(&f.participants, &f.populations, f.level).unwrap();
        assert_eq!(seg.profile.n, prof.overall.n);
        // Gross hours: exactly the profile's overall figure (Σ W_h G_h), SE and df included.
        close(
            seg.profile.gross_hours_month.as_ref().unwrap(),
            prof.overall.gross_hours_month.as_ref().unwrap(),
            "gross",
        );
        // Yield is the combined ratio, which differs from the profile's separate Σ W_h Y_h here.
        let (sy, py) = (
            seg.profile.yield_rate.unwrap().estimate,
            prof.overall.yield_rate.unwrap().estimate,
        );
        assert!((sy - py).abs() > 1e-6);

        // With one cohort, combined = separate: every metric equals the profile (cohort and overall).
        let one: Vec<ParticipantData> = f
            .participants
            .iter()
            .filter(|p| p.cohort == "B")
            .cloned()
            .collect();
        let roster = pops(&[("B", f.populations["B"])]);
        let all = vec!["all".to_string(); one.len()];
        let seg = &segment_profile(&one, &all, &roster, 0.9).unwrap()["all"];
        let prof = profile(&one, &roster, 0.9).unwrap();
        for m in Metric::ALL {
            close(seg.get(m).unwrap(), prof.overall.get(m).unwrap(), m.key());
            close(
                seg.get(m).unwrap(),
                prof.cohorts["B"].get(m).unwrap(),
                m.key(),
            );
        }

        // With the same tasks and pings per participant in every cohort, combined = separate too.
        let mut even = f.participants.clone();
        for q in &mut even {
            q.used_tasks = (q.used_tasks / q.n_tasks.max(1.0) * 10.0).round();
            q.n_tasks = 10.0;
            q.oversight_min = if q.used_pings > 0.0 {
                q.oversight_min / q.used_pings * 4.0
            } else {
                20.0
            };
            q.used_pings = 4.0;
        }
        let all = vec!["all".to_string(); even.len()];
        let seg = &segment_profile(&even, &all, &f.populations, f.level).unwrap()["all"];
        let prof = profile(&even, &f.populations, f.level).unwrap();
        // (Net is G·Y − G·O/60 of the segment, not Σ W_h net_h: those still differ.)
        for m in [Metric::Yield, Metric::Oversight, Metric::Gross] {
            let (a, b) = (seg.get(m).unwrap(), prof.overall.get(m).unwrap());
            assert!(
                (a.estimate - b.estimate).abs() < 1e-12 * b.estimate.abs().max(1.0),
                "{m:?}"
            );
        }
    }

    #[test]
    fn row_order_does_not_matter() {
        let f = fixture();
        let lab = labels(&f, "function");
        let base = segment_details(&f.participants, &lab, &f.populations, f.level).unwrap();
        let mut rows: Vec<(ParticipantData, String)> = f
            .participants
            .iter()
            .cloned()
            .zip(lab.iter().cloned())
            .collect();
        rows.reverse();
        let n = rows.len();
        let mut perm: Vec<(usize, (ParticipantData, String))> =
            rows.into_iter().enumerate().collect();
        perm.sort_by_key(|(i, _)| (i * 7919) % n);
        let (data, lab2): (Vec<_>, Vec<_>) = perm.into_iter().map(|(_, r)| r).unzip();
        assert_eq!(
            segment_details(&data, &lab2, &f.populations, f.level).unwrap(),
            base
        );
    }

    #[test]
    fn small_and_degenerate_segments() {
        let roster = pops(&[("a", 10.0), ("b", 20.0)]);
        let data = vec![
            p("a1", "a", 4.0, 2.0, 2.0, 10.0, 3.0),
            p("a2", "a", 5.0, 3.0, 0.0, 0.0, 5.0),
            p("b1", "b", 0.0, 0.0, 0.0, 0.0, 6.0),
            p("b2", "b", 0.0, 0.0, 0.0, 0.0, 7.0),
            p("b3", "b", 6.0, 1.0, 3.0, 9.0, 8.0),
        ];
        let lab: Vec<String> = ["x", "y", "z", "z", "y"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let got = segment_details(&data, &lab, &roster, 0.95).unwrap();
        assert_eq!(got.len(), 3);
        // x: 1 participant → reasons, but counts.
        assert_eq!(got["x"].profile.n, 1);
        assert!(
            got["x"]
                .profile
                .reason(Metric::Yield)
                .unwrap()
                .contains("1 participant")
        );
        assert_eq!(got["x"].population, 5.0);
        // z: no tasks, no pings → yield/oversight/net None, gross present.
        let z = &got["z"].profile;
        assert_eq!(z.reason(Metric::Yield), Some(NO_TASKS));
        assert_eq!(z.reason(Metric::Oversight), Some(NO_PINGS));
        assert!(z.net_hours_month.is_none() && z.gross_hours_month.is_some());
        assert_eq!(z.gross_hours_month.unwrap().df, 3.0); // n − H = 5 − 2
        // y: across both cohorts, everything estimable.
        assert!(
            Metric::ALL
                .iter()
                .all(|&m| got["y"].profile.get(m).is_some())
        );
        // A cohort with one participant: no segment estimates, with the design's reason.
        let got = segment_details(&data[1..], &lab[1..], &roster, 0.95).unwrap();
        assert!(
            got["y"]
                .profile
                .reason(Metric::Gross)
                .unwrap()
                .contains("\"a\"")
        );
        // Empty study; errors.
        assert!(segment_profile(&[], &[], &roster, 0.95).unwrap().is_empty());
        assert!(
            segment_profile(&data, &lab[1..], &roster, 0.95)
                .unwrap_err()
                .contains("segment labels")
        );
        assert!(segment_profile(&data, &lab, &roster, 1.5).is_err());
        let json = serde_json::to_string(&got).unwrap();
        assert!(!json.contains("NaN") && !json.contains("inf"));
    }
}
