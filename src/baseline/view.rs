//! Instrument C as the pages show it: the comparison table per category and the vendor check in words
//! and figures (the Baseline tab and the analysis page), and everything the Baseline tab lists.
use super::repo::ControlCounts;
use super::{CategoryBaseline, compare, repo, service, vendor_check};
use crate::error::Result;
use crate::state::AppState;
use crate::stats::profile::Profile;
use crate::study::StudyId;
use crate::study::repo::StudyRow;

/// The vendor comparison in words and figures.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct VendorView {
    pub tasks: usize,
    pub saving: String,
    pub share: String,
    pub vendor_hours: String,
    pub vendor_tasks: String,
    pub net_hours: Option<String>,
    pub net_tasks: Option<String>,
}

/// One category of the comparison table.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Row {
    pub category: String,
    pub with_ai: String,
    pub control: String,
    pub historical: String,
    pub expert: String,
    pub participants: String,
    pub bound: String,
    pub saving: String,
    pub warning: bool,
}

/// Everything the Baseline tab shows.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct BaselinePage {
    /// The study's task categories (the entry forms' choices).
    pub categories: Vec<String>,
    /// The comparison per category.
    pub rows: Vec<Row>,
    /// (category, minutes, source) from records.
    pub historical: Vec<(String, String, String)>,
    /// (expert, category, "low / likely / high").
    pub experts: Vec<(String, String, String)>,
    /// The vendor check against the default profile.
    pub vendor: Option<VendorView>,
    /// The control group.
    pub control: ControlCounts,
}

fn m(x: f64) -> String {
    format!("{x:.1}")
}

/// The per-category comparison and the vendor check against the whole sample's `overall` profile (the
/// analysis page passes the one it computed; this page computes the default one).
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn comparison(
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

/// The Baseline tab: the comparison against the default profile, the entries and the control group.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn page(state: &AppState, study: &StudyRow) -> Result<BaselinePage> {
    let overall = default_overall(state, study.id).await?;
    let (rows, vendor) = comparison(state, study.id, overall.as_ref()).await?;
    let historical = repo::historical(&state.pool, study.id)
        .await?
        .into_iter()
        .map(|h| (h.category, m(h.minutes), h.source))
        .collect();
    let experts = repo::experts(&state.pool, study.id)
        .await?
        .into_iter()
        .map(|e| {
            let range = format!("{} / {} / {}", m(e.low), m(e.likely), m(e.high));
            (e.expert, e.category, range)
        })
        .collect();
    let categories = crate::participants::service::current_categories(state, study.id).await?;
    let control = repo::control_counts(&state.pool, study.id).await?;
    Ok(BaselinePage {
        categories,
        rows,
        historical,
        experts,
        vendor,
        control,
    })
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
    compared: &[CategoryBaseline],
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
