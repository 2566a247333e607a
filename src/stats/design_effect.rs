//! Design effects: how much the clustered, stratified design inflates the variance of the yield and the
//! oversight ratio over simple random sampling of tasks or "used" pings, and the effective sample size.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::linearization::{NO_PINGS, NO_TASKS, Stratum, strata, stratified_ratio};
use super::profile::ParticipantData;

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
    /// The linearization variance of the estimate (= SE² of [`super::profile::profile`]).
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
/// - V_design: the linearization variance of [`super::profile::profile`] (clustered by participant, stratified, fpc).
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

/// Tests against R (tests/fixtures/survey_expected.json, `expected_extra`) and by hand.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fixture::{fixture, p, pops};
    use crate::stats::oversight::OVERALL;

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
