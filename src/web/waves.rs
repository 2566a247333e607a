//! Study waves side by side: yield, oversight, net hours and the multiplier per cohort across waves, a
//! trend chart with intervals, and the difference between the first and the last wave chosen.
use super::PageCtx;
use crate::auth::extract::Staff;
use crate::error::{AppError, Result};
use crate::reports::waves::{Choice, MetricView, compare};
use crate::staff::Refusal;
use crate::staff::service as staff_service;
use crate::state::AppState;
use crate::study::StudyId;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

/// Most waves on one page.
const MAX_WAVES: usize = 8;

#[derive(Template)]
#[template(path = "waves/page.html")]
struct WavesPage {
    ctx: PageCtx,
    choices: Vec<Choice>,
    waves: Vec<(String, String, String, usize)>,
    metrics: Vec<MetricView>,
    cost: Option<crate::reports::waves::CostView>,
    first: String,
    last: String,
    k: usize,
    /// What to do when fewer than two studies were chosen.
    hint: Option<&'static str>,
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

/// The comparison page (with no or one study chosen: the chooser only), over the studies the caller may
/// see; a study chosen without a grant is a 404, audited.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Result<Response> {
    let ids = parse_ids(query.as_deref())?;
    let visible = staff_service::visible(&state, &staff).await?;
    for id in &ids {
        if !visible.allows(StudyId(*id)) {
            let what = format!("GET /waves?ids={id}");
            staff_service::record_refusal(&state, &staff, Some(*id), Refusal::NotGranted, &what)
                .await?;
            return Err(AppError::NotFound);
        }
    }
    let mut w = compare(&state, &ids, staff.is_admin()).await?;
    w.choices.retain(|c| visible.allows(StudyId(c.id)));
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = WavesPage {
        ctx,
        choices: w.choices,
        waves: w.waves,
        metrics: w.metrics,
        cost: w.cost,
        first: w.first,
        last: w.last,
        k: state.config.min_cell_size,
        hint: (ids.len() == 1).then_some(
            "Choose at least two studies to compare: one wave has nothing to be compared with. Its own figures are on its report.",
        ),
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
