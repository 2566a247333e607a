//! Instrument C page: historical and expert baselines per category, and the comparison across methods.
use super::studies::StudyNav;
use super::{PageCtx, outcome};
use crate::auth::extract::{Admin, Staff};
use crate::baseline::{compare, repo, service};
use crate::error::Result;
use crate::state::AppState;
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
    rows: Vec<Row>,
    historical: Vec<(String, String, String)>,
    experts: Vec<(String, String, String)>,
}

struct Row {
    category: String,
    with_ai: String,
    historical: String,
    expert: String,
    participants: String,
    bound: String,
    saving: String,
    warning: bool,
}

fn m(x: f64) -> String {
    format!("{x:.1}")
}

/// The comparison table and the entry forms.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    jar: CookieJar,
) -> Result<Response> {
    let study = study_service::get(&state, StudyId(id)).await?;
    let inputs = service::inputs(&state, study.id).await?;
    let rows = compare(&inputs)
        .into_iter()
        .map(|c| {
            let show = |method: &str| {
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
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = BaselinePage {
        ctx,
        nav: StudyNav::new(&study, "baseline"),
        categories,
        rows,
        historical,
        experts,
    };
    Ok((jar, Html(page.render()?)).into_response())
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
