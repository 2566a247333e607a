//! Instrument C page: historical and expert baselines per category, and the comparison across methods.
use super::studies::StudyNav;
use super::{PageCtx, outcome};
use crate::auth::extract::{Admin, Staff};
use crate::baseline::{compare, repo, service, vendor_check};
use crate::error::Result;
use crate::state::AppState;
use crate::stats::profile::Profile;
use crate::study::{StudyId, service as study_service};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "baseline/page.html")]
struct BaselinePage {
    ctx: PageCtx,
    nav: StudyNav,
    categories: Vec<String>,
    baseline_rows: Vec<Row>,
    historical: Vec<(String, String, String)>,
    experts: Vec<(String, String, String)>,
    vendor: Option<VendorView>,
    control: ControlView,
    in_collection: bool,
}

/// The vendor comparison in words and figures.
pub(super) struct VendorView {
    pub(super) tasks: usize,
    pub(super) saving: String,
    pub(super) share: String,
    pub(super) vendor_hours: String,
    pub(super) vendor_tasks: String,
    pub(super) net_hours: Option<String>,
    pub(super) net_tasks: Option<String>,
}

/// The control group's state.
struct ControlView {
    invited: i64,
    accepted: i64,
    tasks: i64,
}

/// One category of the comparison table.
pub(super) struct Row {
    pub(super) category: String,
    pub(super) with_ai: String,
    pub(super) control: String,
    pub(super) historical: String,
    pub(super) expert: String,
    pub(super) participants: String,
    pub(super) bound: String,
    pub(super) saving: String,
    pub(super) warning: bool,
}

fn m(x: f64) -> String {
    format!("{x:.1}")
}

/// The per-category comparison and the vendor check against the whole sample's `overall` profile (the
/// analysis page passes the one it computed; this page computes the default one).
pub(super) async fn comparison(
    state: &AppState,
    study: StudyId,
    overall: Option<&Profile>,
) -> Result<(Vec<Row>, Option<VendorView>)> {
    let inputs = service::inputs(state, study).await?;
    let compared = compare(&inputs);
    let vendor = vendor_view(&compared, overall, state.config.min_cell_size);
    let rows: Vec<Row> = compared
        .into_iter()
        .map(|c| {
            let show = |method: &str| {
                if let Some((_, people)) = c.hidden.iter().find(|(m, _)| *m == method) {
                    return format!("{people} people: not shown");
                }
                c.methods
                    .iter()
                    .find(|x| x.method == method)
                    .map_or("–".to_string(), |x| match (x.low, x.high) {
                        (Some(l), Some(h)) => {
                            format!("{} ({}–{}), n = {}", m(x.minutes), m(l), m(h), x.n)
                        }
                        _ => format!("{}, n = {}", m(x.minutes), x.n),
                    })
            };
            Row {
                with_ai: c.with_ai.map_or("–".into(), m),
                control: show("control"),
                historical: show("historical"),
                expert: show("expert"),
                participants: show("participants"),
                bound: c
                    .bound
                    .map_or("–".into(), |(l, h)| format!("{}–{}", m(l), m(h))),
                saving: c
                    .saving
                    .map_or("–".into(), |(l, h)| format!("{}–{}", m(l), m(h))),
                warning: c.too_few_methods(),
                category: c.category,
            }
        })
        .collect();
    Ok((rows, vendor))
}

/// The comparison table and the entry forms.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    jar: CookieJar,
) -> Result<Response> {
    let study = study_service::get(&state, StudyId(id)).await?;
    let overall = default_overall(&state, study.id).await?;
    let (baseline_rows, vendor) = comparison(&state, study.id, overall.as_ref()).await?;
    let historical = repo::historical(&state.pool, study.id)
        .await?
        .into_iter()
        .map(|(c, x, s)| (c, m(x), s))
        .collect();
    let experts = repo::experts(&state.pool, study.id)
        .await?
        .into_iter()
        .map(|(e, c, l, k, h)| (e, c, format!("{} / {} / {}", m(l), m(k), m(h))))
        .collect();
    let categories = {
        let mut conn = state.pool.acquire().await?;
        crate::participants::service::instrument(&mut conn, study.id, state.clock.now())
            .await?
            .categories()
    };
    let (invited, accepted, tasks) = repo::control_counts(&state.pool, study.id).await?;
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = BaselinePage {
        ctx,
        nav: StudyNav::new(&study, "baseline"),
        categories,
        baseline_rows,
        historical,
        experts,
        vendor,
        control: ControlView {
            invited,
            accepted,
            tasks,
        },
        in_collection: study.status() == crate::study::Status::Collection,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

fn tasks_needed((most, fewest): (Option<f64>, Option<f64>)) -> String {
    match (most, fewest) {
        (Some(a), Some(b)) if (a - b).abs() < 0.5 => format!("{a:.0}"),
        (Some(a), Some(b)) => format!("{b:.0}–{a:.0}"),
        (None, Some(b)) => format!("at least {b:.0} (none at the low end: no saving there)"),
        _ => "no number of tasks (the baseline shows no saving)".into(),
    }
}

/// The whole sample's profile at the study's compliance rule (what the analysis page shows by default).
async fn default_overall(state: &AppState, study: StudyId) -> Result<Option<Profile>> {
    let inputs = crate::reports::study_inputs(state, study, crate::stats::MIN_COMPLIANCE).await?;
    let data: Vec<_> = inputs.kept.iter().map(crate::reports::to_data).collect();
    Ok(
        crate::stats::profile::profile(&data, &inputs.populations, crate::stats::LEVEL)
            .ok()
            .map(|p| p.overall),
    )
}

/// The vendor's gross hours (and the measured net) of the whole sample against the baseline's saving per
/// task; nothing when the whole sample is under the minimum cell size.
fn vendor_view(
    compared: &[crate::baseline::CategoryBaseline],
    overall: Option<&Profile>,
    min_cell: usize,
) -> Option<VendorView> {
    let p = overall.filter(|p| p.n >= min_cell)?;
    let gross = p.gross_hours_month.as_ref()?.estimate;
    let net = p.net_hours_month.as_ref().map(|e| e.estimate);
    vendor_check(compared, gross, net).map(|v| VendorView {
        tasks: v.tasks,
        saving: format!("{}–{}", m(v.saving_per_task.0), m(v.saving_per_task.1)),
        share: format!(
            "{:.0}–{:.0}%",
            100.0 * v.share_saved.0,
            100.0 * v.share_saved.1
        ),
        vendor_hours: m(v.vendor_hours),
        vendor_tasks: tasks_needed(v.tasks_for_vendor),
        net_hours: net.map(m),
        net_tasks: v.tasks_for_net.map(tasks_needed),
    })
}

/// Employees named for the control group.
#[derive(Deserialize)]
pub struct ControlForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    people: String,
}

/// Invites the control group.
pub async fn control(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<i64>,
    jar: CookieJar,
    Form(f): Form<ControlForm>,
) -> Result<Response> {
    staff.check_csrf(&f.csrf)?;
    let study = study_service::get(&state, StudyId(id)).await?;
    let r =
        crate::participants::service::invite_control(&state, &staff.actor(), study.id, &f.people)
            .await;
    let done = match &r {
        Ok(n) => format!("{n} control-group invitations queued."),
        Err(_) => String::new(),
    };
    outcome(r.map(|_| ()), jar, &format!("/studies/{id}/baseline"), done)
}

/// Historical minutes for a category.
#[derive(Deserialize)]
pub struct HistoricalForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    source: String,
}

/// Saves historical minutes.
pub async fn historical(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<i64>,
    jar: CookieJar,
    Form(f): Form<HistoricalForm>,
) -> Result<Response> {
    staff.check_csrf(&f.csrf)?;
    let study = study_service::get(&state, StudyId(id)).await?;
    let r = service::set_historical(
        &state,
        &staff.actor(),
        study.id,
        &f.category,
        &f.minutes,
        &f.source,
    )
    .await;
    outcome(
        r,
        jar,
        &format!("/studies/{id}/baseline"),
        "Historical baseline saved.",
    )
}

/// One expert's estimate.
#[derive(Deserialize)]
pub struct ExpertForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    expert: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    low: String,
    #[serde(default)]
    likely: String,
    #[serde(default)]
    high: String,
}

/// Saves an expert estimate.
pub async fn expert(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<i64>,
    jar: CookieJar,
    Form(f): Form<ExpertForm>,
) -> Result<Response> {
    staff.check_csrf(&f.csrf)?;
    let study = study_service::get(&state, StudyId(id)).await?;
    let r = service::set_expert(
        &state,
        &staff.actor(),
        study.id,
        &f.expert,
        &f.category,
        (&f.low, &f.likely, &f.high),
    )
    .await;
    outcome(
        r,
        jar,
        &format!("/studies/{id}/baseline"),
        "Expert estimate saved.",
    )
}
