//! Roster, usage, cohort and sample pages.
use super::studies::StudyNav;
use super::{PageCtx, outcome, pct, thousands};
use crate::auth::extract::{Admin, Staff};
use crate::error::{AppError, Result};
use crate::roster::cohort::{Cohort, CohortShares, TenureBands};
use crate::roster::import::{ImportProblem, UsageFormat};
use crate::roster::population::{Counts, Population, Unit, tabulate};
use crate::roster::repo::{self, EmployeeRow};
use crate::roster::sample::DrawSpec;
use crate::roster::service;
use crate::state::AppState;
use crate::stats::sample_size::{margin_of_error, required_sample_size};
use crate::study::repo::StudyRow;
use crate::study::{Status, StudyId, service as study_service};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use std::collections::HashMap;

/// A problem of a refused file, for the page.
pub struct ProblemView {
    row: String,
    column: String,
    message: String,
}

fn problem_views(problems: &[ImportProblem]) -> Vec<ProblemView> {
    problems
        .iter()
        .map(|p| ProblemView {
            row: p.row.map(|r| r.to_string()).unwrap_or_else(|| "–".into()),
            column: p.column.clone().unwrap_or_else(|| "–".into()),
            message: p.message.clone(),
        })
        .collect()
}

/// An uploaded form: the file and the other fields.
struct Upload {
    filename: String,
    bytes: Vec<u8>,
    fields: HashMap<String, String>,
}

async fn read_upload(mut mp: Multipart) -> Result<Upload> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::BadRequest(format!(
            "The upload could not be read ({}). Files may be at most 64 MB.",
            e.body_text()
        ))
    };
    let mut up = Upload {
        filename: String::new(),
        bytes: Vec::new(),
        fields: HashMap::new(),
    };
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            up.filename = field
                .file_name()
                .unwrap_or("upload")
                .chars()
                .take(200)
                .collect();
            up.bytes = field.bytes().await.map_err(bad)?.to_vec();
        } else {
            let text = field.text().await.map_err(bad)?;
            up.fields.insert(name, text.chars().take(1000).collect());
        }
    }
    Ok(up)
}

fn csrf_of(up: &Upload) -> &str {
    up.fields.get("csrf").map(String::as_str).unwrap_or("")
}

// ---------- roster ----------

#[derive(Template)]
#[template(path = "roster/roster.html")]
struct RosterPage {
    ctx: PageCtx,
    nav: StudyNav,
    employees: String,
    last_import: Option<String>,
    preview: Vec<EmployeeView>,
    editable: bool,
    problems: Vec<ProblemView>,
    failed_file: String,
}

struct EmployeeView {
    employee_id: String,
    email: String,
    function: String,
    tenure: String,
    cohort: String,
    gross: String,
}

fn employee_view(e: &EmployeeRow, bands: &TenureBands, as_of: chrono::NaiveDate) -> EmployeeView {
    EmployeeView {
        employee_id: e.employee_id.clone(),
        email: e.email.clone(),
        function: e.function.clone(),
        tenure: band(e, bands, as_of),
        cohort: e.cohort().label().to_string(),
        gross: e
            .gross_hours_month
            .map(|h| format!("{h:.1}"))
            .unwrap_or_else(|| "–".into()),
    }
}

fn band(e: &EmployeeRow, bands: &TenureBands, as_of: chrono::NaiveDate) -> String {
    match (e.hire_date, &e.tenure_band) {
        (Some(d), _) => bands.band_for(d, as_of),
        (None, Some(b)) => b.clone(),
        (None, None) => "unknown".into(),
    }
}

async fn frame_editable(state: &AppState, study: &StudyRow) -> Result<bool> {
    let (main, pilot) = repo::sample_sizes(&state.pool, study.id).await?;
    Ok(study.status() <= Status::Setup && main + pilot == 0)
}

async fn render_roster(
    state: &AppState,
    staff: &Staff,
    jar: CookieJar,
    study: StudyRow,
    problems: Vec<ProblemView>,
    failed_file: String,
) -> Result<(CookieJar, String)> {
    let employees = repo::employee_count(&state.pool, study.id).await?;
    let last_import = repo::latest_roster_import(&state.pool, study.id)
        .await?
        .map(|r| {
            format!(
                "{} employees from {} on {} by {}",
                thousands(r.rows),
                r.filename,
                r.imported_at.format("%Y-%m-%d %H:%M UTC"),
                r.who.as_deref().unwrap_or("the command line")
            )
        });
    let bands = service::bands(&study);
    let preview = repo::employees(&state.pool, study.id)
        .await?
        .iter()
        .take(25)
        .map(|e| employee_view(e, &bands, study.start_date))
        .collect();
    let editable = staff.is_admin() && frame_editable(state, &study).await?;
    let (jar, ctx) = PageCtx::staff(staff, jar);
    let page = RosterPage {
        ctx,
        nav: StudyNav::new(&study, "roster"),
        employees: thousands(employees),
        last_import,
        preview,
        editable,
        problems,
        failed_file,
    };
    Ok((jar, page.render()?))
}

/// The roster: what was imported, a preview, and the import form.
pub async fn roster_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    jar: CookieJar,
) -> Result<Response> {
    let study = study_service::get(&state, StudyId(id)).await?;
    let (jar, html) = render_roster(&state, &staff, jar, study, vec![], String::new()).await?;
    Ok((jar, Html(html)).into_response())
}

/// Imports a roster CSV; a file with problems is refused whole and its problems listed.
pub async fn roster_import(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<i64>,
    jar: CookieJar,
    mp: Multipart,
) -> Result<Response> {
    let up = read_upload(mp).await?;
    staff.check_csrf(csrf_of(&up))?;
    let study = study_service::get(&state, StudyId(id)).await?;
    let back = format!("/studies/{id}/roster");
    match service::import_roster(&state, &staff.actor(), &study, &up.filename, up.bytes).await {
        Ok(Ok(n)) => outcome(
            Ok(()),
            jar,
            &back,
            format!(
                "Imported {} employees. Cohorts were reassigned.",
                thousands(n as i64)
            ),
        ),
        Ok(Err(problems)) => {
            let (jar, html) = render_roster(
                &state,
                &staff,
                jar,
                study,
                problem_views(&problems),
                up.filename,
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, jar, Html(html)).into_response())
        }
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

// ---------- usage ----------

#[derive(Template)]
#[template(path = "roster/usage.html")]
struct UsagePage {
    ctx: PageCtx,
    nav: StudyNav,
    active: Option<UsageView>,
    history: Vec<UsageView>,
    editable: bool,
    can_convert: bool,
    problems: Vec<ProblemView>,
    failed_file: String,
    formats: Vec<(&'static str, &'static str)>,
    chosen: String,
}

struct UsageView {
    source: &'static str,
    filename: String,
    rows: String,
    matched: String,
    unmatched: String,
    period: String,
    imported: String,
    has_hours: bool,
    unit_label: String,
    assumption: Option<String>,
    hours_per_unit: String,
}

impl From<repo::UsageImportRow> for UsageView {
    fn from(u: repo::UsageImportRow) -> Self {
        Self {
            source: u
                .source
                .parse::<UsageFormat>()
                .map(|f| f.label())
                .unwrap_or("?"),
            filename: u.filename,
            rows: thousands(u.rows),
            matched: thousands(u.matched),
            unmatched: thousands(u.unmatched),
            period: format!("{} to {}", u.period_start, u.period_end),
            imported: format!(
                "{} by {}",
                u.imported_at.format("%Y-%m-%d %H:%M UTC"),
                u.who.as_deref().unwrap_or("the command line")
            ),
            has_hours: u.has_hours,
            assumption: u
                .hours_per_unit
                .map(|h| format!("{h} gross AI hours per month per {}", u.unit_label)),
            hours_per_unit: u.hours_per_unit.map(|h| h.to_string()).unwrap_or_default(),
            unit_label: u.unit_label,
        }
    }
}

const FORMATS: [UsageFormat; 3] = [
    UsageFormat::PlainCsv,
    UsageFormat::GithubCopilot,
    UsageFormat::M365Copilot,
];

async fn render_usage(
    state: &AppState,
    staff: &Staff,
    jar: CookieJar,
    study: StudyRow,
    problems: Vec<ProblemView>,
    failed_file: String,
    chosen: String,
) -> Result<(CookieJar, String)> {
    let mut history: Vec<UsageView> = repo::usage_imports(&state.pool, study.id)
        .await?
        .into_iter()
        .map(UsageView::from)
        .collect();
    let active = if history.is_empty() {
        None
    } else {
        Some(history.remove(0))
    };
    let editable = staff.is_admin() && frame_editable(state, &study).await?;
    let can_convert = staff.is_admin()
        && study.status() != Status::Closed
        && active.as_ref().is_some_and(|a| !a.has_hours);
    let (jar, ctx) = PageCtx::staff(staff, jar);
    let page = UsagePage {
        ctx,
        nav: StudyNav::new(&study, "usage"),
        active,
        history,
        editable,
        can_convert,
        problems,
        failed_file,
        formats: FORMATS.iter().map(|f| (f.as_str(), f.label())).collect(),
        chosen,
    };
    Ok((jar, page.render()?))
}

/// The usage analytics: the active import, its assumption, history and the import form.
pub async fn usage_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    jar: CookieJar,
) -> Result<Response> {
    let study = study_service::get(&state, StudyId(id)).await?;
    let (jar, html) = render_usage(
        &state,
        &staff,
        jar,
        study,
        vec![],
        String::new(),
        "csv".into(),
    )
    .await?;
    Ok((jar, Html(html)).into_response())
}

fn parse_hours(s: Option<&String>) -> std::result::Result<Option<f64>, String> {
    match s.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => match v.parse::<f64>() {
            Ok(h) if h.is_finite() && h > 0.0 && h <= 744.0 => Ok(Some(h)),
            _ => Err(format!(
                "The conversion must be a positive number of hours, not \"{v}\"."
            )),
        },
    }
}

/// Imports a usage file in one of the three vendor formats.
pub async fn usage_import(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<i64>,
    jar: CookieJar,
    mp: Multipart,
) -> Result<Response> {
    let up = read_upload(mp).await?;
    staff.check_csrf(csrf_of(&up))?;
    let study = study_service::get(&state, StudyId(id)).await?;
    let back = format!("/studies/{id}/usage");
    let chosen = up.fields.get("format").cloned().unwrap_or_default();
    let Ok(format) = chosen.parse::<UsageFormat>() else {
        return outcome(
            Err(AppError::BadRequest(
                "Choose the format of the usage file.".into(),
            )),
            jar,
            &back,
            "",
        );
    };
    let hours = match parse_hours(up.fields.get("hours_per_unit")) {
        Ok(h) => h,
        Err(m) => return outcome(Err(AppError::BadRequest(m)), jar, &back, ""),
    };
    match service::import_usage(
        &state,
        &staff.actor(),
        &study,
        &up.filename,
        format,
        up.bytes,
        hours,
    )
    .await
    {
        Ok(Ok(o)) => {
            let msg = format!(
                "Imported {} rows: {} people matched to the roster, {} not on it. Cohorts were reassigned.",
                thousands(o.rows as i64),
                thousands(o.matched as i64),
                thousands(o.unmatched as i64)
            );
            outcome(Ok(()), jar, &back, msg)
        }
        Ok(Err(problems)) => {
            let (jar, html) = render_usage(
                &state,
                &staff,
                jar,
                study,
                problem_views(&problems),
                up.filename,
                chosen,
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, jar, Html(html)).into_response())
        }
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

/// The conversion form.
#[derive(Deserialize)]
pub struct ConversionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    hours_per_unit: String,
}

/// Sets the admin's assumption turning usage units into gross AI hours.
pub async fn conversion(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<i64>,
    jar: CookieJar,
    Form(f): Form<ConversionForm>,
) -> Result<Response> {
    staff.check_csrf(&f.csrf)?;
    let study = study_service::get(&state, StudyId(id)).await?;
    let back = format!("/studies/{id}/usage");
    let r = match parse_hours(Some(&f.hours_per_unit)) {
        Ok(h) => service::set_conversion(&state, &staff.actor(), &study, h).await,
        Err(m) => Err(AppError::BadRequest(m)),
    };
    outcome(
        r,
        jar,
        &back,
        "Conversion saved; gross hours were recomputed.",
    )
}

// ---------- cohorts ----------

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
}

struct CohortSummary {
    label: &'static str,
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

fn population(
    employees: &[EmployeeRow],
    bands: &TenureBands,
    as_of: chrono::NaiveDate,
) -> Population {
    let labels: Vec<String> = employees.iter().map(|e| band(e, bands, as_of)).collect();
    tabulate(employees.iter().zip(&labels).map(|(e, b)| Unit {
        cohort: e.cohort(),
        function: &e.function,
        band: b,
    }))
}

fn format_pct(x: f64) -> String {
    let s = format!("{:.2}", x * 100.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

async fn render_cohorts(
    state: &AppState,
    staff: &Staff,
    jar: CookieJar,
    study: StudyRow,
) -> Result<(CookieJar, String)> {
    let employees = repo::employees(&state.pool, study.id).await?;
    let bands = service::bands(&study);
    let pop = population(&employees, &bands, study.start_date);
    let n = employees.len() as f64;
    let summary = Cohort::ALL
        .iter()
        .map(|&c| {
            let members: Vec<&EmployeeRow> = employees.iter().filter(|e| e.cohort() == c).collect();
            let scores: Vec<f64> = members.iter().filter_map(|e| e.usage_score).collect();
            let score_range = match (
                scores.iter().cloned().reduce(f64::min),
                scores.iter().cloned().reduce(f64::max),
            ) {
                (Some(lo), Some(hi)) => format!("{lo:.1} – {hi:.1}"),
                _ => "no usage".into(),
            };
            let gross: Vec<f64> = members.iter().filter_map(|e| e.gross_hours_month).collect();
            let mean_gross = if gross.is_empty() {
                "–".into()
            } else {
                format!("{:.1}", gross.iter().sum::<f64>() / gross.len() as f64)
            };
            CohortSummary {
                label: c.label(),
                count: thousands(members.len() as i64),
                share: pct(members.len() as f64, n),
                score_range,
                mean_gross,
            }
        })
        .collect();
    let import = repo::latest_usage_import(&state.pool, study.id).await?;
    let gross_note = match &import {
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
    let shares = service::shares(&study);
    let editable = staff.is_admin() && frame_editable(state, &study).await?;
    let (jar, ctx) = PageCtx::staff(staff, jar);
    let page = CohortsPage {
        ctx,
        nav: StudyNav::new(&study, "cohorts"),
        editable,
        heavy_pct: format_pct(shares.heavy()),
        moderate_pct: format_pct(shares.moderate()),
        tenure_bounds: bands.to_config_string(),
        summary,
        total: thousands(employees.len() as i64),
        functions: pop
            .by_function
            .iter()
            .map(|(f, c)| cross(f.clone(), String::new(), c))
            .collect(),
        bands: bands
            .labels()
            .into_iter()
            .chain(
                pop.by_band
                    .keys()
                    .filter(|k| !bands.labels().contains(k))
                    .cloned()
                    .collect::<Vec<_>>(),
            )
            .filter_map(|b| {
                pop.by_band
                    .get(&b)
                    .map(|c| cross(b.clone(), String::new(), c))
            })
            .collect(),
        cells: pop
            .by_cell
            .iter()
            .map(|((f, b), c)| cross(f.clone(), b.clone(), c))
            .collect(),
        gross_note,
    };
    Ok((jar, page.render()?))
}

/// Population by cohort × function × tenure, and the cohort rule's settings.
pub async fn cohorts_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    jar: CookieJar,
) -> Result<Response> {
    let study = study_service::get(&state, StudyId(id)).await?;
    let (jar, html) = render_cohorts(&state, &staff, jar, study).await?;
    Ok((jar, Html(html)).into_response())
}

/// The cohort settings form (shares in percent).
#[derive(Deserialize)]
pub struct CohortForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    heavy_pct: String,
    #[serde(default)]
    moderate_pct: String,
    #[serde(default)]
    tenure_bounds: String,
}

/// Saves shares and tenure bands, then reassigns cohorts.
pub async fn cohort_settings(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<i64>,
    jar: CookieJar,
    Form(f): Form<CohortForm>,
) -> Result<Response> {
    staff.check_csrf(&f.csrf)?;
    let study = study_service::get(&state, StudyId(id)).await?;
    let back = format!("/studies/{id}/cohorts");
    let num = |s: &str, what: &str| {
        s.trim()
            .trim_end_matches('%')
            .parse::<f64>()
            .map_err(|_| format!("The {what} share must be a number of percent."))
    };
    let parsed = (|| -> std::result::Result<(CohortShares, TenureBands), String> {
        let shares = CohortShares::parse(
            num(&f.heavy_pct, "heavy")? / 100.0,
            num(&f.moderate_pct, "moderate")? / 100.0,
        )?;
        let bands = TenureBands::parse(&f.tenure_bounds)?;
        Ok((shares, bands))
    })();
    let r = match parsed {
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

// ---------- sample ----------

#[derive(Template)]
#[template(path = "roster/sample.html")]
struct SamplePage {
    ctx: PageCtx,
    nav: StudyNav,
    population: String,
    calc_margin: String,
    calc_confidence: String,
    calc_result: Option<String>,
    calc_for_n: Option<String>,
    calc_n: String,
    calc_error: Option<String>,
    calc_cohorts: Vec<MarginRow>,
    default_n: u64,
    default_seed: u64,
    editable: bool,
    drawn: Option<DrawView>,
    can_discard: bool,
}

struct MarginRow {
    label: &'static str,
    population: String,
    n: String,
    margin: String,
}

struct DrawView {
    summary: String,
    cohorts: Vec<CompositionRow>,
    cells: Vec<CompositionRow>,
}

struct CompositionRow {
    label: String,
    sub: String,
    population: String,
    population_share: String,
    main: String,
    main_share: String,
    pilot: String,
    margin: String,
}

/// The calculator's query string.
#[derive(Deserialize, Default)]
pub struct CalcQuery {
    margin: Option<String>,
    confidence: Option<String>,
    /// A sample size whose margin of error to show.
    n: Option<String>,
}

fn pct_input(s: Option<&str>, default: f64) -> std::result::Result<f64, String> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .trim_end_matches('%')
            .trim()
            .parse::<f64>()
            .map(|x| x / 100.0)
            .map_err(|_| format!("\"{v}\" is not a number of percent")),
    }
}

fn margin_text(n: u64, pop: u64, confidence: f64) -> String {
    match margin_of_error(n, pop, confidence) {
        Some(m) => format!("±{:.1}%", m * 100.0),
        None => "–".into(),
    }
}

/// Sample size calculator, draw form and the drawn sample's composition.
pub async fn sample_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<CalcQuery>,
    jar: CookieJar,
) -> Result<Response> {
    let study = study_service::get(&state, StudyId(id)).await?;
    let employees = repo::employees(&state.pool, study.id).await?;
    let big_n = employees.len() as u64;
    let cohort_sizes: Vec<(Cohort, u64)> = Cohort::ALL
        .iter()
        .map(|&c| {
            (
                c,
                employees.iter().filter(|e| e.cohort() == c).count() as u64,
            )
        })
        .collect();

    // Calculator: Cochran with the finite population correction (SPEC "Sampling").
    let margin = pct_input(q.margin.as_deref(), 0.05);
    let confidence = pct_input(q.confidence.as_deref(), 0.95);
    let (mut calc_result, mut calc_error, mut calc_cohorts, mut default_n) =
        (None, None, vec![], 0);
    match (margin, confidence.clone()) {
        (Ok(m), Ok(c)) if big_n > 0 => match required_sample_size(m, c, big_n) {
            Ok(n) => {
                default_n = n;
                calc_result = Some(format!(
                    "n = {} of {} employees gives ±{:.1}% at {:.0}% confidence (overall margin {}).",
                    thousands(n as i64),
                    thousands(big_n as i64),
                    m * 100.0,
                    c * 100.0,
                    margin_text(n, big_n, c)
                ));
                calc_cohorts = per_cohort_margins(&cohort_sizes, n, big_n, c);
            }
            Err(e) => calc_error = Some(e),
        },
        (Err(e), _) | (_, Err(e)) => calc_error = Some(e),
        _ => calc_error = Some("Import a roster first.".into()),
    }

    // The other direction: the margin a given n buys.
    let mut calc_for_n = None;
    if let Some(v) = q.n.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        match (v.parse::<u64>(), confidence.clone()) {
            (Ok(n), Ok(c)) if n >= 1 && n <= big_n => {
                calc_cohorts = per_cohort_margins(&cohort_sizes, n, big_n, c);
                calc_for_n = Some(format!(
                    "n = {} of {} employees gives {} at {:.0}% confidence.",
                    thousands(n as i64),
                    thousands(big_n as i64),
                    margin_text(n, big_n, c),
                    c * 100.0
                ))
            }
            _ => {
                calc_error = Some(format!(
                    "The sample size must be a whole number from 1 to {}.",
                    thousands(big_n as i64)
                ))
            }
        }
    }

    let drawn = match repo::draw(&state.pool, study.id).await? {
        None => None,
        Some(d) => Some(draw_view(
            &employees,
            &repo::members(&state.pool, study.id).await?,
            &d,
            confidence.unwrap_or(0.95),
        )),
    };
    let editable = staff.is_admin()
        && study.status() <= Status::Setup
        && repo::invited_count(&state.pool, study.id).await? == 0;
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = SamplePage {
        ctx,
        nav: StudyNav::new(&study, "sample"),
        population: thousands(big_n as i64),
        calc_margin: q.margin.clone().unwrap_or_else(|| "5".into()),
        calc_confidence: q.confidence.clone().unwrap_or_else(|| "95".into()),
        calc_result,
        calc_for_n,
        calc_n: q.n.clone().unwrap_or_default(),
        calc_error,
        calc_cohorts,
        default_n: default_n.min(big_n.saturating_sub(50)),
        default_seed: rand::random::<u32>() as u64,
        can_discard: editable && drawn.is_some(),
        editable,
        drawn,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// Proportional allocation of `n`: each cohort's share, and the wider margin that follows for it.
fn per_cohort_margins(
    cohort_sizes: &[(Cohort, u64)],
    n: u64,
    big_n: u64,
    confidence: f64,
) -> Vec<MarginRow> {
    cohort_sizes
        .iter()
        .filter(|(_, size)| *size > 0)
        .map(|&(cohort, size)| {
            let nh = (((n as f64) * size as f64 / big_n as f64).round().max(1.0) as u64).min(size);
            MarginRow {
                label: cohort.label(),
                population: thousands(size as i64),
                n: thousands(nh as i64),
                margin: margin_text(nh, size, confidence),
            }
        })
        .collect()
}

fn draw_view(
    employees: &[EmployeeRow],
    members: &[(i64, String)],
    d: &repo::DrawRow,
    confidence: f64,
) -> DrawView {
    let roles: HashMap<i64, &str> = members.iter().map(|(k, r)| (*k, r.as_str())).collect();
    // (population, main, pilot) per cohort and per (cohort, function).
    let mut by_cohort: std::collections::BTreeMap<Cohort, [u64; 3]> = Default::default();
    let mut by_cell: std::collections::BTreeMap<(Cohort, String), [u64; 3]> = Default::default();
    for e in employees {
        let c = e.cohort();
        let slot = match roles.get(&e.id) {
            Some(&"main") => Some(1),
            Some(&"pilot") => Some(2),
            _ => None,
        };
        for counts in [
            by_cohort.entry(c).or_default(),
            by_cell.entry((c, e.function.clone())).or_default(),
        ] {
            counts[0] += 1;
            if let Some(s) = slot {
                counts[s] += 1;
            }
        }
    }
    let total_pop = employees.len() as f64;
    let total_main = members.iter().filter(|(_, r)| r == "main").count() as f64;
    let row = |label: String, sub: String, c: &[u64; 3], with_margin: bool| CompositionRow {
        label,
        sub,
        population: thousands(c[0] as i64),
        population_share: pct(c[0] as f64, total_pop),
        main: thousands(c[1] as i64),
        main_share: pct(c[1] as f64, total_main),
        pilot: thousands(c[2] as i64),
        margin: if with_margin {
            margin_text(c[1], c[0], confidence)
        } else {
            String::new()
        },
    };
    DrawView {
        summary: format!(
            "Drawn {} by {} with seed {}: main sample {} (asked {}), pilot {} (asked {}), at least {} per cohort.",
            d.drawn_at.format("%Y-%m-%d %H:%M UTC"),
            d.who.as_deref().unwrap_or("the command line"),
            d.seed as u64,
            thousands(total_main as i64),
            d.n,
            thousands(members.len() as i64 - total_main as i64),
            d.pilot_n,
            d.min_per_cohort
        ),
        cohorts: by_cohort
            .iter()
            .map(|(c, v)| row(c.label().to_string(), String::new(), v, true))
            .collect(),
        cells: by_cell
            .iter()
            .map(|((c, f), v)| row(c.label().to_string(), f.clone(), v, false))
            .collect(),
    }
}

/// The draw form.
#[derive(Deserialize)]
pub struct DrawForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    n: String,
    #[serde(default)]
    min_per_cohort: String,
    #[serde(default)]
    pilot_n: String,
    #[serde(default)]
    seed: String,
}

impl DrawForm {
    fn spec(&self) -> std::result::Result<DrawSpec, String> {
        let num = |s: &str, what: &str| -> std::result::Result<u64, String> {
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("The {what} must be a whole number, not \"{}\".", s.trim()))
        };
        Ok(DrawSpec {
            n: num(&self.n, "sample size")? as usize,
            min_per_cohort: num(&self.min_per_cohort, "minimum per cohort")? as usize,
            pilot_n: num(&self.pilot_n, "pilot size")? as usize,
            seed: num(&self.seed, "seed")?,
        })
    }
}

/// Draws (or redraws, before invitations) the sample.
pub async fn draw(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<i64>,
    jar: CookieJar,
    Form(f): Form<DrawForm>,
) -> Result<Response> {
    staff.check_csrf(&f.csrf)?;
    let study = study_service::get(&state, StudyId(id)).await?;
    let back = format!("/studies/{id}/sample");
    let r = match f.spec() {
        Ok(spec) => service::draw(&state, &staff.actor(), &study, spec)
            .await
            .map(|_| ()),
        Err(m) => Err(AppError::BadRequest(m)),
    };
    outcome(
        r,
        jar,
        &back,
        "Sample drawn. The same seed and roster always give the same people.",
    )
}

/// The discard form.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Discards the sample so the frame can change again.
pub async fn discard(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<i64>,
    jar: CookieJar,
    Form(f): Form<CsrfForm>,
) -> Result<Response> {
    staff.check_csrf(&f.csrf)?;
    let study = study_service::get(&state, StudyId(id)).await?;
    let r = service::discard_sample(&state, &staff.actor(), &study).await;
    outcome(
        r,
        jar,
        &format!("/studies/{id}/sample"),
        "Sample discarded.",
    )
}
