//! Study waves side by side: yield, oversight, net hours and the multiplier per cohort across waves, a
//! trend chart with intervals, and the difference between the first and the last wave chosen.
use super::charts::{self, Point};
use super::order::cohort_order;
use super::readout::{Readout, load};
use super::text::interval;
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::stats::profile::{Estimate, Metric};
use crate::stats::waves::difference;

/// A study in the chooser.
pub struct Choice {
    pub id: i64,
    pub label: String,
    pub checked: bool,
}

/// One metric across the waves: its trend chart and a row per group.
pub struct MetricView {
    pub title: &'static str,
    pub chart: charts::Svg,
    pub rows: Vec<(String, Vec<String>, String)>,
}

/// Everything the comparison page shows.
pub struct Waves {
    /// Every study, newest first, the chosen ones checked.
    pub choices: Vec<Choice>,
    /// (name, tool, model version, participants) per wave chosen.
    pub waves: Vec<(String, String, String, usize)>,
    /// One view per metric (none with fewer than two waves).
    pub metrics: Vec<MetricView>,
    /// The first wave's name.
    pub first: String,
    /// The last wave's name.
    pub last: String,
}

const METRICS: [(Metric, &str, usize, f64, &str, bool); 4] = [
    (Metric::Yield, "Yield", 1, 100.0, "%", true),
    (
        Metric::Oversight,
        "Oversight (minutes per hour)",
        1,
        1.0,
        "",
        false,
    ),
    (
        Metric::Net,
        "Net hours saved per user per month",
        1,
        1.0,
        "",
        false,
    ),
    (Metric::Multiplier, "Labor multiplier", 2, 1.0, "", false),
];

/// A group's estimate in a wave, unless the confidentiality rule hides it.
fn shown<'a>(r: &'a Readout, group: &str, m: Metric) -> Option<&'a Estimate> {
    r.groups
        .iter()
        .find(|g| g.name == group && !g.hidden)
        .and_then(|g| g.profile.get(m))
}

/// The waves `ids` (in that order) side by side; an unknown id is 404. With fewer than two, the chooser
/// only. An admin compares live figures, everyone else released ones.
#[tracing::instrument(skip_all)]
pub async fn compare(state: &AppState, ids: &[i64], admin: bool) -> Result<Waves> {
    let all = crate::study::repo::list(&state.pool).await?;
    for id in ids {
        if !all.iter().any(|s| s.id.0 == *id) {
            return Err(AppError::NotFound);
        }
    }
    let choices = all
        .iter()
        .rev()
        .map(|s| Choice {
            id: s.id.0,
            label: format!(
                "{} — {} ({}), {}",
                s.name, s.product, s.model_version, s.status
            ),
            checked: ids.contains(&s.id.0),
        })
        .collect();
    let mut readouts = vec![];
    if ids.len() >= 2 {
        for id in ids {
            let study = crate::study::StudyId(*id);
            // An admin compares live figures; everyone else the newest releases (see `reports::release`),
            // or a purge's frozen groups.
            let released = if admin {
                None
            } else {
                super::release::readout(state, study).await?
            };
            let r = match released {
                Some(r) => r,
                None if !admin
                    && crate::retention::service::purged_on(state, study)
                        .await?
                        .is_none() =>
                {
                    let name = &all
                        .iter()
                        .find(|s| s.id == study)
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    return Err(AppError::Conflict(format!(
                        "No results of {name} have been released yet: analysts compare released results only."
                    )));
                }
                None => {
                    load(
                        state,
                        study,
                        crate::stats::MIN_COMPLIANCE,
                        // Waves compare cohorts only, which the raw files always carry for a data analyst.
                        super::compute::Audience::Aggregates,
                    )
                    .await?
                }
            };
            readouts.push(r);
        }
    }
    let names: Vec<String> = readouts.iter().map(|r| r.study.name.clone()).collect();
    let waves = readouts
        .iter()
        .map(|r| {
            (
                r.study.name.clone(),
                match (&r.purged_on, &r.released) {
                    (Some(on), _) => format!(
                        "{} {} (raw data was purged on {on})",
                        r.study.vendor, r.study.product
                    ),
                    (None, Some(rel)) => format!("{} {} ({rel})", r.study.vendor, r.study.product),
                    (None, None) => format!("{} {}", r.study.vendor, r.study.product),
                },
                r.study.model_version.clone(),
                r.kept,
            )
        })
        .collect();
    let mut groups: Vec<String> = vec![];
    for r in &readouts {
        for g in &r.groups {
            if !groups.contains(&g.name) {
                groups.push(g.name.clone());
            }
        }
    }
    groups.sort_by_key(|g| cohort_order(g));
    let metrics = if readouts.len() >= 2 {
        METRICS
            .iter()
            .map(|&(m, title, d, scale, unit, percent)| {
                let points: Vec<Option<Point>> = readouts
                    .iter()
                    .map(|r| {
                        shown(r, "Overall", m).map(|e| Point {
                            estimate: e.estimate,
                            low: e.ci_lower,
                            high: e.ci_upper,
                        })
                    })
                    .collect();
                let chart = charts::trend(
                    &format!("{title}, whole population, across waves (95% CI)"),
                    title,
                    &names,
                    &points,
                    percent,
                );
                let rows = groups
                    .iter()
                    .map(|g| {
                        let cells = readouts
                            .iter()
                            .map(|r| {
                                shown(r, g, m)
                                    .map_or("–".into(), |e| interval(Some(e), d, scale, unit))
                            })
                            .collect();
                        let first = readouts.first().and_then(|r| shown(r, g, m));
                        let last = readouts.last().and_then(|r| shown(r, g, m));
                        let diff = match (first, last) {
                            (Some(a), Some(b)) => difference(a, b, crate::stats::LEVEL)
                                .map(|e| {
                                    format!(
                                        "{:+.d$}{unit} [{:+.d$}, {:+.d$}]",
                                        e.estimate * scale,
                                        e.ci_lower * scale,
                                        e.ci_upper * scale
                                    )
                                })
                                .unwrap_or_else(|_| "–".into()),
                            _ => "–".into(),
                        };
                        (g.clone(), cells, diff)
                    })
                    .collect();
                MetricView { title, chart, rows }
            })
            .collect()
    } else {
        vec![]
    };
    Ok(Waves {
        choices,
        waves,
        metrics,
        first: names.first().cloned().unwrap_or_default(),
        last: names.last().cloned().unwrap_or_default(),
    })
}
