//! The cohorts page: population by cohort × function × tenure, and the cohort rule's settings.
use super::extract::PathStudy;
use super::studies::StudyNav;
use super::{PageCtx, outcome, pct, thousands};
use crate::auth::extract::{AdminForm, Staff};
use crate::error::{AppError, Result};
use crate::roster::cohort::{Cohort, CohortShares, TenureBands};
use crate::roster::population::{
    CohortStats, Counts, Unit, at_least_k, cohort_lines, cohort_stats, tabulate,
};
use crate::roster::service;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Template)]
#[template(path = "roster/cohorts.html")]
struct CohortsPage {
    ctx: PageCtx,
    nav: StudyNav,
    editable: bool,
    heavy_pct: String,
    moderate_pct: String,
    tenure_bounds: String,
    summary: Vec<CohortSummary>,
    total: String,
    functions: Vec<CrossRow>,
    bands: Vec<CrossRow>,
    cells: Vec<CrossRow>,
    gross_note: Option<String>,
    /// Admins see every table; anyone else one-dimensional margins of at least k people.
    full: bool,
    /// The study's smallest group shown to non-admins.
    k: usize,
}

struct CohortSummary {
    label: String,
    count: String,
    share: String,
    score_range: String,
    mean_gross: String,
}

/// One row of a cross table: a label and the counts per cohort.
pub struct CrossRow {
    label: String,
    sub: String,
    heavy: String,
    moderate: String,
    light: String,
    total: String,
}

fn cross(label: String, sub: String, c: &Counts) -> CrossRow {
    CrossRow {
        label,
        sub,
        heavy: thousands(c.get(Cohort::Heavy) as i64),
        moderate: thousands(c.get(Cohort::Moderate) as i64),
        light: thousands(c.get(Cohort::Light) as i64),
        total: thousands(c.total() as i64),
    }
}

fn format_pct(x: f64) -> String {
    let s = format!("{:.2}", x * 100.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A count as a non-admin reads it: under `k` (only when a whole table is) as "fewer than k".
pub fn count_shown(n: usize, k: usize) -> String {
    if n > 0 && n < k {
        format!("fewer than {k}")
    } else {
        thousands(n as i64)
    }
}

/// A one-dimensional margin (function or tenure) as a non-admin sees it: groups merged to at least `k`
/// people ([`at_least_k`]), totals only (a function's cohort split is a cross table with small cells).
fn margin_rows(by: &BTreeMap<String, Counts>, order: &[String], k: usize) -> Vec<CrossRow> {
    let lines = order
        .iter()
        .filter_map(|key| by.get(key).map(|c| (key.clone(), vec![c.total()])))
        .collect();
    at_least_k(lines, k)
        .into_iter()
        .map(|l| CrossRow {
            label: l.keys.join(", "),
            sub: String::new(),
            heavy: String::new(),
            moderate: String::new(),
            light: String::new(),
            total: count_shown(l.counts[0], k),
        })
        .collect()
}

fn admin_summary(stats: &[CohortStats], n: f64) -> Vec<CohortSummary> {
    stats
        .iter()
        .map(|s| CohortSummary {
            label: s.cohort.label().to_string(),
            count: thousands(s.count as i64),
            share: pct(s.count as f64, n),
            score_range: match s.score_range {
                Some((lo, hi)) => format!("{lo:.1} – {hi:.1}"),
                None => "no usage".into(),
            },
            mean_gross: s
                .mean_gross
                .map_or_else(|| "–".into(), |g| format!("{g:.1}")),
        })
        .collect()
}

/// Population by cohort × function × tenure, and the cohort rule's settings.
///
/// The roster's counts tell who is a heavy user: a function of one person in a cohort cell names them.
/// So only admins see the cross tables, the usage score ranges (a lowest or highest score is one person's)
/// and counts under k. Everyone else sees one-dimensional margins (cohort, function, tenure), each group
/// of fewer than k people merged with others until the merged line holds k ([`at_least_k`]): a blanked
/// cell would come back by subtracting the other lines from the roster total, which every page shows.
/// Means of gross hours are shown for lines where at least k people have hours.
pub async fn cohorts_page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    let o = service::cohorts_overview(&state, &study).await?;
    let pop = tabulate(o.employees.iter().zip(&o.bands).map(|(e, b)| Unit {
        cohort: e.cohort(),
        function: &e.function,
        band: b,
    }));
    let n = o.employees.len() as f64;
    let full = staff.is_admin();
    let k = state.config.min_cell_size;
    let summary = if full {
        admin_summary(
            &cohort_stats(
                o.employees
                    .iter()
                    .map(|e| (e.cohort(), e.usage_score, e.gross_hours_month)),
            ),
            n,
        )
    } else {
        cohort_lines(
            o.employees
                .iter()
                .map(|e| (e.cohort(), e.gross_hours_month)),
            k,
        )
        .into_iter()
        .map(|(l, mean)| CohortSummary {
            label: l
                .keys
                .iter()
                .map(|c| c.label())
                .collect::<Vec<_>>()
                .join(" + "),
            count: count_shown(l.counts[0], k),
            share: if l.counts[0] >= k {
                pct(l.counts[0] as f64, n)
            } else {
                String::new()
            },
            score_range: String::new(),
            mean_gross: mean.map_or_else(|| "–".into(), |g| format!("{g:.1}")),
        })
        .collect()
    };
    let gross_note = match &o.usage {
        None => {
            Some("No usage data yet: everyone counts as light until usage is imported.".to_string())
        }
        Some(i) if !i.has_hours && i.hours_per_unit.is_none() => Some(format!(
            "The usage source has no hours: enter the conversion (hours per {}) on the usage page to get gross AI hours.",
            i.unit_label
        )),
        Some(i) => i.hours_per_unit.map(|h| {
            format!(
                "Gross hours rest on the assumption of {h} hours per month per {}.",
                i.unit_label
            )
        }),
    };
    let bands = &o.tenure_bands;
    let band_order: Vec<String> = bands
        .labels()
        .into_iter()
        .chain(
            pop.by_band
                .keys()
                .filter(|k| !bands.labels().contains(k))
                .cloned()
                .collect::<Vec<_>>(),
        )
        .filter(|b| pop.by_band.contains_key(b))
        .collect();
    let (functions, band_rows, cells) = if full {
        (
            pop.by_function
                .iter()
                .map(|(f, c)| cross(f.clone(), String::new(), c))
                .collect(),
            band_order
                .iter()
                .map(|b| cross(b.clone(), String::new(), &pop.by_band[b]))
                .collect(),
            pop.by_cell
                .iter()
                .map(|((f, b), c)| cross(f.clone(), b.clone(), c))
                .collect(),
        )
    } else {
        let function_order: Vec<String> = pop.by_function.keys().cloned().collect();
        (
            margin_rows(&pop.by_function, &function_order, k),
            margin_rows(&pop.by_band, &band_order, k),
            vec![],
        )
    };
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = CohortsPage {
        ctx,
        nav: StudyNav::new(&study, "cohorts"),
        editable: full && o.frame_editable,
        heavy_pct: format_pct(o.shares.heavy()),
        moderate_pct: format_pct(o.shares.moderate()),
        tenure_bounds: bands.to_config_string(),
        summary,
        total: if full {
            thousands(o.employees.len() as i64)
        } else {
            count_shown(o.employees.len(), k)
        },
        functions,
        bands: band_rows,
        cells,
        gross_note,
        full,
        k,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// The cohort settings form (shares in percent).
#[derive(Deserialize)]
pub struct CohortForm {
    #[serde(default)]
    heavy_pct: String,
    #[serde(default)]
    moderate_pct: String,
    #[serde(default)]
    tenure_bounds: String,
}

impl CohortForm {
    fn parse(&self) -> std::result::Result<(CohortShares, TenureBands), String> {
        let num = |s: &str, what: &str| {
            s.trim()
                .trim_end_matches('%')
                .parse::<f64>()
                .map_err(|_| format!("The {what} share must be a number of percent."))
        };
        let shares = CohortShares::parse(
            num(&self.heavy_pct, "heavy")? / 100.0,
            num(&self.moderate_pct, "moderate")? / 100.0,
        )?;
        let bands = TenureBands::parse(&self.tenure_bounds)?;
        Ok((shares, bands))
    }
}

/// Saves shares and tenure bands, then reassigns cohorts.
pub async fn cohort_settings(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<CohortForm>,
) -> Result<Response> {
    let back = format!("/studies/{}/cohorts", study.id.0);
    let r = match f.parse() {
        Ok((shares, bands)) => {
            service::set_cohort_settings(&state, &staff.actor(), &study, &shares, &bands).await
        }
        Err(m) => Err(AppError::BadRequest(m)),
    };
    outcome(
        r,
        jar,
        &back,
        "Cohort settings saved; cohorts were reassigned.",
    )
}
