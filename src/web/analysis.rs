//! The analysis page: the Layer 2 profile per cohort and overall with intervals, compliance and exclusions.
//! No metric is shown for a group smaller than the configured minimum cell size.
use super::studies::StudyNav;
use super::{PageCtx, pct};
use crate::auth::extract::Staff;
use crate::error::{AppError, Result};
use crate::reports::{study_inputs, to_data};
use crate::state::AppState;
use crate::stats::bootstrap::{BootstrapMetrics, BootstrapOptions, Interval, bootstrap};
use crate::stats::compliance::summarise;
use crate::stats::profile::{Estimate, Metric, Profile, profile};
use crate::study::{StudyId, service as study_service};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "analysis/page.html")]
struct AnalysisPage {
    ctx: PageCtx,
    nav: StudyNav,
    rows: Vec<ProfileRow>,
    compliance: Vec<ComplianceRow>,
    kept: usize,
    excluded: usize,
    min_compliance: String,
    min_cell: usize,
    level: String,
    with_bootstrap: bool,
    note: Option<String>,
}

struct ProfileRow {
    name: String,
    n: usize,
    hidden: bool,
    cells: Vec<String>,
    boot: Vec<String>,
}

struct ComplianceRow {
    name: String,
    n: usize,
    pooled: String,
    mean: String,
    median: String,
    range: String,
    excluded: usize,
}

/// Page options.
#[derive(Deserialize, Default)]
pub struct AnalysisQuery {
    /// Minimum compliance in percent.
    min: Option<String>,
    /// "1" adds bootstrap intervals.
    bootstrap: Option<String>,
}

const METRICS: [(Metric, usize); 6] = [
    (Metric::Yield, 3),
    (Metric::Oversight, 1),
    (Metric::Gross, 1),
    (Metric::Net, 1),
    (Metric::Multiplier, 3),
    (Metric::VendorGap, 3),
];

fn show(e: Option<&Estimate>, d: usize) -> String {
    e.map_or("not enough data".into(), |e| {
        format!(
            "{:.d$} [{:.d$}, {:.d$}]",
            e.estimate, e.ci_lower, e.ci_upper
        )
    })
}

fn show_boot(i: Option<&Interval>, d: usize) -> String {
    i.map_or("–".into(), |i| {
        format!("[{:.d$}, {:.d$}]", i.ci_lower, i.ci_upper)
    })
}

fn boot_of(b: &BootstrapMetrics, m: Metric) -> Option<&Interval> {
    match m {
        Metric::Yield => b.yield_rate.as_ref(),
        Metric::Oversight => b.oversight_min_per_hour.as_ref(),
        Metric::Gross => b.gross_hours_month.as_ref(),
        Metric::Net => b.net_hours_month.as_ref(),
        Metric::Multiplier => b.labor_multiplier.as_ref(),
        Metric::VendorGap => b.vendor_gap.as_ref(),
    }
}

fn row(name: &str, p: &Profile, b: Option<&BootstrapMetrics>, min_cell: usize) -> ProfileRow {
    let hidden = p.n < min_cell;
    ProfileRow {
        name: name.to_string(),
        n: p.n,
        hidden,
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
                .map(|&(m, d)| show_boot(boot_of(b, m), d))
                .collect(),
            _ => vec![],
        },
    }
}

/// Heavy, moderate, light, anything else, then overall.
fn cohort_rank(name: &str) -> (usize, String) {
    let rank = match name {
        "heavy" => 0,
        "moderate" => 1,
        "light" => 2,
        "overall" => 4,
        _ => 3,
    };
    (rank, name.to_string())
}

fn rate(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| pct(v, 1.0))
}

/// The profile of the main sample.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<AnalysisQuery>,
    jar: CookieJar,
) -> Result<Response> {
    let study = study_service::get(&state, StudyId(id)).await?;
    let min_compliance = match q.min.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => 1.0 / 3.0,
        Some(v) => match v.trim_end_matches('%').parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => p / 100.0,
            _ => {
                return Err(AppError::BadRequest(
                    "The minimum compliance must be a percentage from 0 to 100.".into(),
                ));
            }
        },
    };
    let level = 0.95;
    let inputs = study_inputs(&state, study.id, min_compliance).await?;
    let data: Vec<_> = inputs.kept.iter().map(to_data).collect();
    let min_cell = state.config.min_cell_size;
    let with_bootstrap = q.bootstrap.as_deref() == Some("1");
    let (rows, note) = if data.is_empty() {
        (
            vec![],
            Some("No consented main-sample participant meets the compliance rule yet.".to_string()),
        )
    } else {
        let populations = inputs.populations.clone();
        let data_for_task = data.clone();
        // Bootstrap and linearization are CPU work: off the async threads.
        let (prof, boot) = tokio::task::spawn_blocking(move || {
            let prof = profile(&data_for_task, &populations, level);
            let boot = with_bootstrap.then(|| {
                bootstrap(
                    &data_for_task,
                    &populations,
                    &BootstrapOptions {
                        level,
                        ..BootstrapOptions::default()
                    },
                )
            });
            (prof, boot)
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
        match prof {
            Err(e) => (vec![], Some(format!("The profile cannot be computed: {e}"))),
            Ok(p) => {
                let boot = boot.and_then(|b| b.ok());
                let mut rows: Vec<ProfileRow> = p
                    .cohorts
                    .iter()
                    .map(|(name, c)| {
                        row(
                            name,
                            c,
                            boot.as_ref().and_then(|b| b.cohorts.get(name)),
                            min_cell,
                        )
                    })
                    .collect();
                rows.push(row(
                    "Overall",
                    &p.overall,
                    boot.as_ref().map(|b| &b.overall),
                    min_cell,
                ));
                (rows, None)
            }
        }
    };
    let mut summaries: Vec<_> = summarise(&inputs.kept, &inputs.excluded)
        .into_iter()
        .collect();
    summaries.sort_by_key(|(name, _)| cohort_rank(name));
    let compliance = summaries
        .into_iter()
        .map(|(name, s)| ComplianceRow {
            name: if name == "overall" {
                "Overall".into()
            } else {
                name
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
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = AnalysisPage {
        ctx,
        nav: StudyNav::new(&study, "analysis"),
        rows,
        compliance,
        kept: inputs.kept.len(),
        excluded: inputs.excluded.len(),
        min_compliance: format!("{:.1}", min_compliance * 100.0)
            .trim_end_matches(".0")
            .to_string(),
        min_cell,
        level: format!("{:.0}%", level * 100.0),
        with_bootstrap,
        note,
    };
    Ok((jar, Html(page.render()?)).into_response())
}
