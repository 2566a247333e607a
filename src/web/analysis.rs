//! The analysis page: the Layer 2 profile per cohort and overall with intervals, compliance and exclusions.
//! No metric is shown for a group smaller than the configured minimum cell size.
use super::studies::StudyNav;
use super::{PageCtx, pct};
use crate::auth::extract::Staff;
use crate::error::{AppError, Result};
use crate::reports::compute::compute;
use crate::reports::{study_inputs, to_data};
use crate::state::AppState;
use crate::stats::bootstrap::{BootstrapMetrics, Interval};
use crate::stats::compliance::summarise;
use crate::stats::profile::{DesignEffect, DesignEffects, Estimate, Metric, OVERALL, Profile};
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
    /// Participants erased at their request (left out of everything).
    erased: i64,
    excluded: usize,
    min_compliance: String,
    min_cell: usize,
    level: String,
    with_bootstrap: bool,
    note: Option<String>,
    categories: Vec<CategoryRow>,
    deffs: Vec<DeffRow>,
    segments: Vec<(&'static str, &'static str, Vec<ProfileRow>)>,
    baseline_rows: Vec<super::baseline::Row>,
    vendor: Option<super::baseline::VendorView>,
}

struct CategoryRow {
    name: String,
    hidden: bool,
    cells: Vec<String>,
}

struct DeffRow {
    name: String,
    yield_deff: String,
    yield_eff: String,
    oversight_deff: String,
    oversight_eff: String,
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

fn row(name: &str, p: &Profile, b: Option<&BootstrapMetrics>, hidden: bool) -> ProfileRow {
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

fn deff_cells(d: Option<&DesignEffect>) -> (String, String) {
    match d {
        Some(d) => (
            format!("{:.2}", d.deff),
            d.effective_n
                .map_or("–".into(), |e| format!("{e:.0} of {:.0}", d.units)),
        ),
        None => ("–".into(), "–".into()),
    }
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
    let asked = q.min.as_deref().map(str::trim).filter(|s| !s.is_empty());
    // Two thresholds a person apart would give that person's figures away by subtraction: analysts see
    // the study's rule (1/3, the ESM convention) everywhere; only an admin tries other thresholds.
    if asked.is_some() && !staff.is_admin() {
        return Err(AppError::BadRequest(
            "Only an admin changes the compliance threshold: comparing two thresholds could single out a person. Analysts see the study's rule of 33%.".into(),
        ));
    }
    let min_compliance = match asked {
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
    let band_order = crate::roster::service::bands(&study).labels();
    let data: Vec<_> = inputs.kept.iter().map(to_data).collect();
    let min_cell = state.config.min_cell_size;
    let with_bootstrap = q.bootstrap.as_deref() == Some("1");
    let mut categories = vec![];
    let mut deffs = vec![];
    let mut segments = vec![];
    // The whole sample's profile, for the baseline's vendor check below (computed once, here).
    let mut overall: Option<Profile> = None;
    let (rows, note) = if data.is_empty() {
        (
            vec![],
            Some("No consented main-sample participant meets the compliance rule yet.".to_string()),
        )
    } else {
        let c = compute(inputs.clone(), level, with_bootstrap).await?;
        let hide = c.hidden(min_cell);
        match &c.profile {
            Err(e) => (vec![], Some(format!("The profile cannot be computed: {e}"))),
            Ok(p) => {
                let boot = &c.boot;
                let mut cohorts: Vec<(&String, &Profile)> = p.cohorts.iter().collect();
                cohorts.sort_by_key(|(name, _)| cohort_rank(name));
                if let Some(cats) = &c.categories {
                    let mut keys: Vec<&String> = cats.keys().collect();
                    keys.sort_by_key(|k| cohort_rank(k));
                    categories = keys
                        .into_iter()
                        .map(|k| {
                            let hidden = hide.cohort(k);
                            CategoryRow {
                                name: if k == OVERALL {
                                    "Overall".into()
                                } else {
                                    k.clone()
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
                    list.sort_by_key(|(k, _)| cohort_rank(k));
                    list.push(("Overall", &d.overall));
                    deffs = list
                        .into_iter()
                        .filter(|(k, _)| !hide.cohort(k))
                        .map(|(k, v)| {
                            let (yd, ye) = deff_cells(v.yield_rate.as_ref());
                            let (od, oe) = deff_cells(v.oversight.as_ref());
                            DeffRow {
                                name: k.to_string(),
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
                        list.sort_by_key(|(name, _)| {
                            (
                                band_order
                                    .iter()
                                    .position(|b| b == *name)
                                    .unwrap_or(usize::MAX),
                                name.to_string(),
                            )
                        });
                        let rows = list
                            .into_iter()
                            .map(|(name, sp)| row(name, sp, None, hidden.contains(name)))
                            .collect();
                        segments.push((label, heading, rows));
                    }
                }
                let mut rows: Vec<ProfileRow> = cohorts
                    .into_iter()
                    .map(|(name, c)| {
                        row(
                            name,
                            c,
                            boot.as_ref().and_then(|b| b.cohorts.get(name)),
                            hide.cohort(name),
                        )
                    })
                    .collect();
                rows.push(row(
                    "Overall",
                    &p.overall,
                    boot.as_ref().map(|b| &b.overall),
                    hide.overall,
                ));
                overall = Some(p.overall.clone());
                (rows, None)
            }
        }
    };
    let mut summaries: Vec<_> = summarise(&inputs.kept, &inputs.excluded)
        .into_iter()
        .collect();
    summaries.sort_by_key(|(name, _)| cohort_rank(name));
    // A small group's range would reveal one person's rate: the confidentiality rule applies here too.
    let hidden_compliance = crate::stats::compliance::hidden_groups(&summaries, min_cell);
    let compliance = summaries
        .into_iter()
        .filter(|(name, _)| !hidden_compliance.contains(name))
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
    let (baseline_rows, vendor) =
        super::baseline::comparison(&state, study.id, overall.as_ref()).await?;
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = AnalysisPage {
        ctx,
        nav: StudyNav::new(&study, "analysis"),
        rows,
        compliance,
        kept: inputs.kept.len(),
        erased: crate::participants::service::erased_count(&state, study.id).await?,
        excluded: inputs.excluded.len(),
        min_compliance: format!("{:.1}", min_compliance * 100.0)
            .trim_end_matches(".0")
            .to_string(),
        min_cell,
        level: format!("{:.0}%", level * 100.0),
        with_bootstrap,
        note,
        categories,
        deffs,
        segments,
        baseline_rows,
        vendor,
    };
    Ok((jar, Html(page.render()?)).into_response())
}
