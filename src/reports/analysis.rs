//! The analysis page's content: the Layer 2 profile per cohort and overall with intervals (and the
//! bootstrap's when asked for), oversight by kind, design effects, segments, compliance and exclusions,
//! and the baseline comparison. No metric is shown for a group smaller than the minimum cell size.
use super::compute::Audience;
use super::order::{band_order, cohort_order};
use super::text::{cell as show, pct};
use super::{computed_for, to_data};
use crate::baseline::view::{Row, VendorView, comparison};
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::stats::bootstrap::{BootstrapMetrics, Interval};
use crate::stats::compliance::summarise;
use crate::stats::design_effect::{DesignEffect, DesignEffects};
use crate::stats::input::Inputs;
use crate::stats::intervals::{approximate, approximate_overall};
use crate::stats::oversight::OVERALL;
use crate::stats::profile::{Metric, Profile};
use crate::study::repo::StudyRow;

/// Everything the analysis page shows, written out.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Analysis {
    /// The profile per cohort, then overall.
    pub rows: Vec<ProfileRow>,
    /// Compliance per cohort and overall (small groups left out).
    pub compliance: Vec<ComplianceRow>,
    /// Participants in the estimates.
    pub kept: usize,
    /// Participants erased at their request (left out of everything).
    pub erased: i64,
    /// Left out by the compliance rule.
    pub excluded: usize,
    /// Who is left out and why, in sentences (participants with no ping at all named apart).
    #[serde(default)]
    pub left_out: Vec<String>,
    /// The compliance rule in force, in percent ("33.3").
    pub min_compliance: String,
    /// The minimum cell size.
    pub min_cell: usize,
    /// The intervals' level ("95%").
    pub level: String,
    /// Whether bootstrap intervals are shown.
    pub with_bootstrap: bool,
    /// Why there is no profile, if there is none.
    pub note: Option<String>,
    /// How an overall figure was computed when a cohort could not give its own (issue 15).
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// Oversight by kind per cohort and overall.
    pub categories: Vec<CategoryRow>,
    /// Design effects per cohort and overall.
    pub deffs: Vec<DeffRow>,
    /// (key, heading, rows) per kind of segment.
    pub segments: Vec<(String, String, Vec<ProfileRow>)>,
    /// The baseline comparison per category.
    pub baseline_rows: Vec<Row>,
    /// The vendor check against this page's profile.
    pub vendor: Option<VendorView>,
    /// Why this threshold shows counts only (it is a few people away from the study's rule), if it does.
    pub counts_only: Option<String>,
    /// Why breakdowns are missing for this reader (see `Audience`), if any are.
    pub withheld: Option<String>,
}

/// Oversight by kind of one group.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct CategoryRow {
    pub name: String,
    pub hidden: bool,
    pub cells: Vec<String>,
}

/// Design effects of one group.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct DeffRow {
    pub name: String,
    pub yield_deff: String,
    pub yield_eff: String,
    pub oversight_deff: String,
    pub oversight_eff: String,
}

/// The profile of one group, with its bootstrap intervals when asked for.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ProfileRow {
    pub name: String,
    pub n: usize,
    pub hidden: bool,
    /// Hidden because the threshold is a few people away from the study's rule (not for its size).
    pub counts_only: bool,
    pub cells: Vec<String>,
    pub boot: Vec<String>,
    /// "approximate: …" for a cohort under 30 participants (or the overall figures of such cohorts).
    #[serde(default)]
    pub approx: Option<String>,
}

/// Compliance of one group.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ComplianceRow {
    pub name: String,
    pub n: usize,
    pub pooled: String,
    pub mean: String,
    pub median: String,
    pub range: String,
    pub excluded: usize,
}

const METRICS: [(Metric, usize); 6] = [
    (Metric::Yield, 3),
    (Metric::Oversight, 1),
    (Metric::Gross, 1),
    (Metric::Net, 1),
    (Metric::Multiplier, 3),
    (Metric::VendorGap, 3),
];

fn show_boot(i: Option<&Interval>, d: usize) -> String {
    i.map_or("–".into(), |i| {
        format!("[{:.d$}, {:.d$}]", i.ci_lower, i.ci_upper)
    })
}

fn row(name: &str, p: &Profile, b: Option<&BootstrapMetrics>, hidden: bool) -> ProfileRow {
    ProfileRow {
        name: crate::roster::cohort::cohort_label(name),
        n: p.n,
        hidden,
        counts_only: false,
        approx: None,
        cells: METRICS
            .iter()
            .map(|&(m, d)| {
                if hidden {
                    String::new()
                } else {
                    show(p.get(m), d)
                }
            })
            .collect(),
        boot: match b {
            Some(b) if !hidden => METRICS
                .iter()
                .map(|&(m, d)| show_boot(b.get(m), d))
                .collect(),
            _ => vec![],
        },
    }
}

fn deff_cells(d: Option<&DesignEffect>) -> (String, String) {
    match d {
        Some(d) => (
            format!("{:.2}", d.deff),
            d.effective_n
                .map_or("–".into(), |e| format!("{e:.0} ({:.0} logged)", d.units)),
        ),
        None => ("–".into(), "–".into()),
    }
}

fn rate(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| pct(v, 1.0))
}

/// The analysis of a study's main sample under the study's compliance rule, or under `min` percent when
/// an admin asks for another (two thresholds a person apart would give that person's figures away by
/// subtraction, so an analyst cannot).
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn analysis(
    state: &AppState,
    study: &StudyRow,
    is_admin: bool,
    min: Option<&str>,
    with_bootstrap: bool,
    audience: Audience,
) -> Result<Analysis> {
    // Recomputing needs the raw data; after a purge only the frozen report remains.
    crate::retention::service::require_raw_data(state, study.id).await?;
    let asked = min.map(str::trim).filter(|s| !s.is_empty());
    // Two thresholds a person apart would give that person's figures away by subtraction: analysts see
    // the study's rule (1/3, the ESM convention) everywhere; only an admin tries other thresholds.
    if asked.is_some() && !is_admin {
        return Err(AppError::BadRequest(
            "Only an admin changes the compliance threshold: comparing two thresholds could single out a person. Analysts see the study's rule of 33%.".into(),
        ));
    }
    let rule = crate::stats::MIN_COMPLIANCE;
    let min_compliance = match asked {
        None => rule,
        Some(v) => match v.trim_end_matches('%').parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => p / 100.0,
            _ => {
                return Err(AppError::BadRequest(
                    "The minimum compliance must be a percentage from 0 to 100.".into(),
                ));
            }
        },
    };
    let level = crate::stats::LEVEL;
    let (inputs, computed, withheld) =
        computed_for(state, study.id, min_compliance, with_bootstrap, audience).await?;
    let bands = crate::roster::service::bands(study).labels();
    let data: Vec<_> = inputs.kept.iter().map(to_data).collect();
    let min_cell = state.config.min_cell_size;
    let mut categories = vec![];
    let mut deffs = vec![];
    let mut segments = vec![];
    let mut fallbacks = vec![];
    // The whole sample's profile, for the baseline's vendor check below (computed once, here).
    let mut overall: Option<Profile> = None;
    let (mut rows, note) = if data.is_empty() {
        (
            vec![],
            Some("No consented main-sample participant meets the compliance rule yet.".to_string()),
        )
    } else {
        let c = computed;
        let hide = c.hidden(min_cell);
        match &c.profile {
            Err(e) => (vec![], Some(format!("The profile cannot be computed: {e}"))),
            Ok(p) => {
                let boot = &c.boot;
                let mut cohorts: Vec<(&String, &Profile)> = p.cohorts.iter().collect();
                cohorts.sort_by_key(|(name, _)| cohort_order(name));
                if let Some(cats) = &c.categories {
                    let mut keys: Vec<&String> = cats.keys().collect();
                    keys.sort_by_key(|k| cohort_order(k));
                    categories = keys
                        .into_iter()
                        .map(|k| {
                            let hidden = hide.cohort(k);
                            CategoryRow {
                                name: if k == OVERALL {
                                    "Overall".into()
                                } else {
                                    crate::roster::cohort::cohort_label(k)
                                },
                                hidden,
                                cells: cats[k]
                                    .iter()
                                    .map(|e| {
                                        if hidden {
                                            String::new()
                                        } else {
                                            show(e.as_ref(), 1)
                                        }
                                    })
                                    .collect(),
                            }
                        })
                        .collect();
                }
                if let Some(d) = &c.deffs {
                    let mut list: Vec<(&str, &DesignEffects)> =
                        d.cohorts.iter().map(|(k, v)| (k.as_str(), v)).collect();
                    list.sort_by_key(|(k, _)| cohort_order(k));
                    list.push(("Overall", &d.overall));
                    deffs = list
                        .into_iter()
                        .filter(|(k, _)| !hide.cohort(k))
                        .map(|(k, v)| {
                            let (yd, ye) = deff_cells(v.yield_rate.as_ref());
                            let (od, oe) = deff_cells(v.oversight.as_ref());
                            DeffRow {
                                name: crate::roster::cohort::cohort_label(k),
                                yield_deff: yd,
                                yield_eff: ye,
                                oversight_deff: od,
                                oversight_eff: oe,
                            }
                        })
                        .collect();
                }
                for (label, heading, seg, hidden) in [
                    ("function", "Function", &c.by_function, &hide.functions),
                    ("tenure", "Tenure", &c.by_tenure, &hide.tenures),
                ] {
                    if let Some(seg) = seg {
                        let mut list: Vec<(&String, &Profile)> = seg.iter().collect();
                        // Tenure bands in their natural order, not as strings ("< 1 y" first).
                        list.sort_by_key(|(name, _)| band_order(&bands, name));
                        let rows: Vec<ProfileRow> = list
                            .into_iter()
                            .map(|(name, sp)| row(name, sp, None, hidden.contains(name)))
                            .collect();
                        segments.push((label.to_string(), heading.to_string(), rows));
                    }
                }
                let mut rows: Vec<ProfileRow> = cohorts
                    .into_iter()
                    .map(|(name, c)| {
                        let mut r = row(
                            name,
                            c,
                            boot.as_ref().and_then(|b| b.cohorts.get(name)),
                            hide.cohort(name),
                        );
                        r.approx = (!r.hidden).then(|| approximate(c.n)).flatten();
                        r
                    })
                    .collect();
                let mut total = row(
                    "Overall",
                    &p.overall,
                    boot.as_ref().map(|b| &b.overall),
                    hide.overall,
                );
                total.approx = (!total.hidden)
                    .then(|| approximate_overall(p.cohorts.values().map(|c| c.n)))
                    .flatten();
                rows.push(total);
                fallbacks = p
                    .overall
                    .notes
                    .iter()
                    .map(|(metric, how)| format!("Overall {metric}: {how}."))
                    .collect();
                overall = Some(p.overall.clone());
                (rows, None)
            }
        }
    };
    let mut summaries: Vec<_> = summarise(&inputs.kept, &inputs.excluded)
        .into_iter()
        .collect();
    summaries.sort_by_key(|(name, _)| cohort_order(name));
    // A small group's range would reveal one person's rate: the confidentiality rule applies here too.
    let hidden_compliance = crate::stats::compliance::hidden_groups(&summaries, min_cell);
    let compliance = summaries
        .into_iter()
        .filter(|(name, _)| !hidden_compliance.contains(name))
        .map(|(name, s)| ComplianceRow {
            name: if name == "overall" {
                "Overall".into()
            } else {
                crate::roster::cohort::cohort_label(&name)
            },
            n: s.n,
            pooled: rate(s.pooled),
            mean: rate(s.mean),
            median: rate(s.median),
            range: s.range.map_or("–".into(), |(a, b)| {
                format!("{}–{}", pct(a, 1.0), pct(b, 1.0))
            }),
            excluded: s.excluded,
        })
        .collect();
    let counts_only = (asked.is_some()
        && few_apart(&inputs, &inputs.with_min_compliance(rule), min_cell))
    .then(|| {
        format!(
            "At {}% some group holds between 1 and {} people more or fewer than under the study's rule of {}%: comparing the two views would give those people's figures away, so this threshold shows counts only.",
            percent(min_compliance),
            min_cell - 1,
            percent(rule)
        )
    });
    let mut compliance: Vec<ComplianceRow> = compliance;
    if counts_only.is_some() {
        for r in rows
            .iter_mut()
            .chain(segments.iter_mut().flat_map(|s| s.2.iter_mut()))
        {
            r.counts_only = !r.hidden;
            r.hidden = true;
            r.approx = None;
            r.cells.iter_mut().for_each(String::clear);
            r.boot.clear();
        }
        categories.clear();
        deffs.clear();
        overall = None;
        for c in compliance.iter_mut() {
            for v in [&mut c.pooled, &mut c.mean, &mut c.median, &mut c.range] {
                *v = "–".into();
            }
        }
    }
    let (baseline_rows, vendor) = comparison(state, study.id, overall.as_ref()).await?;
    Ok(Analysis {
        rows,
        compliance,
        kept: inputs.kept.len(),
        erased: crate::participants::service::erased_count(state, study.id).await?,
        excluded: inputs.excluded.len(),
        left_out: crate::stats::input::LeftOut::of(&inputs).sentences(),
        min_compliance: percent(min_compliance),
        min_cell,
        level: format!("{:.0}%", level * 100.0),
        with_bootstrap,
        note,
        fallbacks,
        categories,
        deffs,
        segments,
        baseline_rows,
        vendor,
        counts_only,
        withheld: super::withheld_note(&withheld),
    })
}

fn percent(x: f64) -> String {
    format!("{:.1}", x * 100.0)
        .trim_end_matches(".0")
        .to_string()
}

/// Whether two rules' participants differ by 1 to k − 1 people in any cohort, function, tenure band or
/// overall: the difference of the two views would then describe those few people. The rules are thresholds,
/// so one set holds the other and the difference of the counts is the number of people in between.
pub fn few_apart(a: &Inputs, b: &Inputs, k: usize) -> bool {
    use std::collections::BTreeMap;
    fn counts(i: &Inputs) -> BTreeMap<(u8, &str), i64> {
        let mut c: BTreeMap<(u8, &str), i64> = BTreeMap::new();
        for t in &i.kept {
            for key in [
                (0, ""),
                (1, t.cohort.as_str()),
                (2, t.function.as_str()),
                (3, t.tenure.as_str()),
            ] {
                *c.entry(key).or_default() += 1;
            }
        }
        c
    }
    let (ca, cb) = (counts(a), counts(b));
    ca.keys().chain(cb.keys()).any(|key| {
        let d = (ca.get(key).copied().unwrap_or(0) - cb.get(key).copied().unwrap_or(0)).abs();
        d > 0 && d < k as i64
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::input::Totals;

    fn people(groups: &[(&str, &str, usize, f64)]) -> Inputs {
        let totals = groups
            .iter()
            .flat_map(|&(cohort, function, n, rate)| {
                std::iter::repeat_n(
                    Totals {
                        cohort: cohort.into(),
                        function: function.into(),
                        delivered: 10.0,
                        valid: rate * 10.0,
                        ..Totals::default()
                    },
                    n,
                )
            })
            .collect();
        Inputs::split(totals, Default::default(), 0.0)
    }

    #[test]
    fn thresholds_a_few_people_apart_in_any_group_are_flagged() {
        let all = people(&[
            ("heavy", "Sales", 20, 0.9),
            ("heavy", "Sales", 1, 0.4),
            ("light", "HR", 20, 0.9),
        ]);
        let rule = all.with_min_compliance(1.0 / 3.0);
        // Same people: nothing to subtract.
        assert!(!few_apart(&rule, &all.with_min_compliance(0.3), 5));
        // One heavy person apart.
        assert!(few_apart(&rule, &all.with_min_compliance(0.5), 5));
        // Six people apart overall, but in one function only two: still flagged.
        let all = people(&[
            ("heavy", "Sales", 20, 0.9),
            ("heavy", "Sales", 4, 0.4),
            ("heavy", "HR", 2, 0.4),
        ]);
        let rule = all.with_min_compliance(1.0 / 3.0);
        assert!(few_apart(&rule, &all.with_min_compliance(0.5), 5));
        // Five or more apart in every group that changes: the difference describes at least k people.
        let all = people(&[("heavy", "Sales", 20, 0.9), ("heavy", "Sales", 6, 0.4)]);
        let rule = all.with_min_compliance(1.0 / 3.0);
        assert!(!few_apart(&rule, &all.with_min_compliance(0.5), 5));
    }
}
