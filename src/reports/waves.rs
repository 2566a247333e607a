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
use crate::study::Status;

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

/// The cost per unit of output across the waves (issue 13): a row per wave, and a trend chart when every
/// wave chosen counts the same unit in the same currency (different units are not one axis).
pub struct CostView {
    pub chart: charts::Svg,
    /// (wave, unit, cost per unit with its interval, before AI, vendor's implied figure).
    pub rows: Vec<(String, String, String, String, String)>,
    /// Why there is no chart, when there is none.
    pub note: Option<String>,
}

/// Everything the comparison page shows.
pub struct Waves {
    /// Cost per unit across the waves (None: no wave chosen has a cost per unit).
    pub cost: Option<CostView>,
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

/// A signed change with `d` decimals: "+1.20", "−0.35", and "0.00" for anything that rounds to zero
/// (never "-0.00").
fn signed(x: f64, d: usize) -> String {
    let s = format!("{x:+.d$}");
    if s[1..].bytes().all(|b| b == b'0' || b == b'.') {
        s[1..].to_string()
    } else {
        s.replacen('-', "−", 1)
    }
}

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
    // Oldest first by the study's first day (then by creation), so that "the change" is always the
    // newest chosen wave minus the oldest, whatever order the ids come in.
    let mut all = all;
    all.sort_by_key(|s| (s.start_date, s.id.0));
    let mut ids = ids.to_vec();
    ids.sort_by_key(|id| all.iter().position(|s| s.id.0 == *id));
    let ids = &ids[..];
    let choices = all
        .iter()
        .map(|s| Choice {
            id: s.id.0,
            label: format!(
                "{} — {}, {}",
                s.name,
                crate::study::tool_label("", &s.product, &s.model_version),
                s.status
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
    // A study still collecting (an admin's live figures) is marked interim wherever its name shows.
    let names: Vec<String> = readouts
        .iter()
        .map(|r| {
            if r.released.is_none() && r.purged_on.is_none() && r.study.status() < Status::Analysis
            {
                format!("{} (interim: still collecting)", r.study.name)
            } else {
                r.study.name.clone()
            }
        })
        .collect();
    let waves = readouts
        .iter()
        .zip(&names)
        .map(|(r, name)| {
            (
                name.clone(),
                match (&r.purged_on, &r.released) {
                    (Some(on), _) => format!(
                        "{} (raw data was purged on {on})",
                        crate::study::tool_label(&r.study.vendor, &r.study.product, "")
                    ),
                    (None, Some(rel)) => format!(
                        "{} ({rel})",
                        crate::study::tool_label(&r.study.vendor, &r.study.product, "")
                    ),
                    (None, None) => crate::study::tool_label(&r.study.vendor, &r.study.product, ""),
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
                                    // A change of a share is in percentage points, not per cent.
                                    let unit = if percent { " pp" } else { unit };
                                    format!(
                                        "{}{unit} [{}, {}]",
                                        signed(e.estimate * scale, d),
                                        signed(e.ci_lower * scale, d),
                                        signed(e.ci_upper * scale, d)
                                    )
                                })
                                .unwrap_or_else(|_| "–".into()),
                            _ => "–".into(),
                        };
                        (crate::roster::cohort::cohort_label(g), cells, diff)
                    })
                    .collect();
                MetricView { title, chart, rows }
            })
            .collect()
    } else {
        vec![]
    };
    let cost = if readouts.len() >= 2 {
        cost_view(state, ids, &names, admin).await?
    } else {
        None
    };
    Ok(Waves {
        cost,
        choices,
        waves,
        metrics,
        first: names.first().cloned().unwrap_or_default(),
        last: names.last().cloned().unwrap_or_default(),
    })
}

/// The cost per unit of each wave: live for an admin, the release's (or a purge's snapshot) for everyone
/// else, like every other figure on the page.
async fn cost_view(
    state: &AppState,
    ids: &[i64],
    names: &[String],
    admin: bool,
) -> Result<Option<CostView>> {
    let mut sections = vec![];
    for id in ids {
        let study = crate::study::StudyId(*id);
        let section = if admin {
            crate::tco::service::section(state, study).await?
        } else {
            super::release::view(state, study)
                .await?
                .and_then(|v| v.tco)
        };
        sections.push(section.map(|s| s.out));
    }
    if sections
        .iter()
        .all(|s| s.as_ref().is_none_or(|t| t.stack.is_none()))
    {
        return Ok(None);
    }
    let stacks: Vec<Option<(&str, &crate::tco::view::StackOut)>> = sections
        .iter()
        .map(|s| {
            s.as_ref()
                .and_then(|t| Some((t.currency.as_str(), t.stack.as_ref()?)))
        })
        .collect();
    let two = |c: &str, a: &crate::tco::view::Amount| {
        if a.ci_lower == a.ci_upper {
            format!("{c} {:.2}", a.estimate)
        } else {
            format!(
                "{c} {:.2} [{:.2}, {:.2}]",
                a.estimate, a.ci_lower, a.ci_upper
            )
        }
    };
    let rows = names
        .iter()
        .zip(&stacks)
        .map(|(name, s)| match s {
            Some((c, s)) => (
                name.clone(),
                s.unit.clone(),
                two(c, &s.cost_per_unit),
                s.cost_per_unit_before_ai
                    .as_ref()
                    .map_or("–".into(), |b| two(c, b)),
                s.vendor_implied_per_unit
                    .map_or("–".into(), |v| format!("{c} {v:.2}")),
            ),
            None => (
                name.clone(),
                "–".into(),
                "no unit of value entered".into(),
                "–".into(),
                "–".into(),
            ),
        })
        .collect();
    let first = stacks
        .iter()
        .flatten()
        .next()
        .map(|(c, s)| (*c, s.unit.as_str()));
    let same = stacks
        .iter()
        .all(|s| s.is_some_and(|(c, s)| Some((c, s.unit.as_str())) == first));
    let (chart, note) = match first {
        Some((currency, unit)) if same => {
            let points: Vec<Option<Point>> = stacks
                .iter()
                .map(|s| {
                    s.map(|(_, s)| Point {
                        estimate: s.cost_per_unit.estimate,
                        low: s.cost_per_unit.ci_lower,
                        high: s.cost_per_unit.ci_upper,
                    })
                })
                .collect();
            (
                charts::trend(
                    &format!("Cost per {unit} across waves (95% CI)"),
                    &format!("{currency} per {unit}"),
                    names,
                    &points,
                    false,
                ),
                None,
            )
        }
        _ => (
            charts::Svg::default(),
            Some(
                "No chart: the waves do not all count the same unit of value in the same currency, so their costs per unit are not on one scale."
                    .to_string(),
            ),
        ),
    };
    Ok(Some(CostView { chart, rows, note }))
}

#[cfg(test)]
mod tests {
    use super::signed;

    #[test]
    fn a_change_that_rounds_to_zero_has_no_sign_and_a_minus_is_a_minus() {
        assert_eq!(signed(-0.001, 2), "0.00");
        assert_eq!(signed(0.0, 1), "0.0");
        assert_eq!(signed(-0.0, 0), "0");
        assert_eq!(signed(1.234, 2), "+1.23");
        assert_eq!(signed(-1.236, 2), "−1.24");
    }
}
