//! Study waves side by side: yield, oversight, net hours and the multiplier per cohort across waves, a
//! trend chart with intervals, and the difference between the first and the last wave chosen.
use super::PageCtx;
use crate::auth::extract::Staff;
use crate::error::{AppError, Result};
use crate::reports::charts::{self, Point};
use crate::reports::order::cohort_order;
use crate::reports::readout::{Readout, load};
use crate::reports::text::interval;
use crate::state::AppState;
use crate::stats::profile::{Estimate, Metric};
use crate::stats::waves::difference;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

/// Most waves on one page.
const MAX_WAVES: usize = 8;

struct Choice {
    id: i64,
    label: String,
    checked: bool,
}

struct MetricView {
    title: &'static str,
    chart: charts::Svg,
    rows: Vec<(String, Vec<String>, String)>,
}

#[derive(Template)]
#[template(path = "waves/page.html")]
struct WavesPage {
    ctx: PageCtx,
    choices: Vec<Choice>,
    waves: Vec<(String, String, String, usize)>,
    metrics: Vec<MetricView>,
    first: String,
    last: String,
    k: usize,
}

/// `ids=2&ids=3` (checkboxes) → [2, 3]; anything else is refused with a message.
fn parse_ids(query: Option<&str>) -> Result<Vec<i64>> {
    let mut ids = vec![];
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "ids" {
            continue;
        }
        let id = value
            .parse::<i64>()
            .map_err(|_| AppError::BadRequest("Choose studies from the list to compare.".into()))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_WAVES {
        return Err(AppError::BadRequest(format!(
            "Compare at most {MAX_WAVES} waves at a time."
        )));
    }
    Ok(ids)
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

/// The comparison page (with no or one study chosen: the chooser only).
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Result<Response> {
    let ids = parse_ids(query.as_deref())?;
    let all = crate::study::repo::list(&state.pool).await?;
    for id in &ids {
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
        for id in &ids {
            readouts.push(
                load(
                    &state,
                    crate::study::StudyId(*id),
                    crate::stats::MIN_COMPLIANCE,
                )
                .await?,
            );
        }
    }
    let names: Vec<String> = readouts.iter().map(|r| r.study.name.clone()).collect();
    let waves = readouts
        .iter()
        .map(|r| {
            (
                r.study.name.clone(),
                format!("{} {}", r.study.vendor, r.study.product),
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
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = WavesPage {
        ctx,
        choices,
        waves,
        metrics,
        first: names.first().cloned().unwrap_or_default(),
        last: names.last().cloned().unwrap_or_default(),
        k: state.config.min_cell_size,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chosen_ids_are_read_from_repeated_checkboxes() {
        assert_eq!(parse_ids(Some("ids=2&ids=3&ids=2")).unwrap(), [2, 3]);
        assert!(parse_ids(None).unwrap().is_empty());
        assert!(parse_ids(Some("ids=x")).is_err());
        let nine: Vec<String> = (1..=9).map(|i| format!("ids={i}")).collect();
        assert!(parse_ids(Some(&nine.join("&"))).is_err(), "at most eight");
    }
}
