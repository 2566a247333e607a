//! The analysis page: the Layer 2 profile per cohort and overall with intervals, compliance and exclusions.
//! No metric is shown for a group smaller than the configured minimum cell size.
use super::PageCtx;
use super::studies::StudyNav;
use crate::auth::extract::Staff;
use crate::baseline::view::{Row, VendorView};
use crate::error::{AppError, Result};
use crate::reports::analysis::{CategoryRow, ComplianceRow, DeffRow, ProfileRow, analysis};
use crate::staff::StudyAccess;
use crate::state::AppState;
use crate::web::extract::{PathAccess, PathStudy};
use askama::Template;
use axum::extract::{Query, State};
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
    left_out: Vec<String>,
    min_compliance: String,
    min_cell: usize,
    level: String,
    with_bootstrap: bool,
    note: Option<String>,
    fallbacks: Vec<String>,
    categories: Vec<CategoryRow>,
    deffs: Vec<DeffRow>,
    segments: Vec<(String, String, Vec<ProfileRow>)>,
    baseline_rows: Vec<Row>,
    vendor: Option<VendorView>,
    counts_only: Option<String>,
    withheld: Option<String>,
    /// "final results released on D", for a non-admin.
    released: Option<String>,
}

/// Page options.
#[derive(Deserialize, Default)]
pub struct AnalysisQuery {
    /// Minimum compliance in percent.
    min: Option<String>,
    /// "1" adds bootstrap intervals.
    bootstrap: Option<String>,
}

/// The profile of the main sample.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    PathAccess(access): PathAccess,
    Query(q): Query<AnalysisQuery>,
    jar: CookieJar,
) -> Result<Response> {
    let with_bootstrap = q.bootstrap.as_deref() == Some("1");
    // Admins read live figures; everyone else the newest release (see `reports::release`), at the study's
    // rule (the release computed its bootstrap intervals once).
    let (a, released) = if access == StudyAccess::Admin {
        let a = analysis(
            &state,
            &study,
            true,
            q.min.as_deref(),
            with_bootstrap,
            super::report::audience(access),
        )
        .await?;
        (a, None)
    } else {
        if q.min.as_deref().is_some_and(|m| !m.trim().is_empty()) {
            return Err(AppError::BadRequest(
                "Only an admin changes the compliance threshold: comparing two thresholds could single out a person. Analysts see the study's rule of 33%.".into(),
            ));
        }
        let Some((info, a)) =
            crate::reports::release::analysis(&state, study.id, with_bootstrap).await?
        else {
            return super::report::not_released(&staff, jar, &study, "analysis", "Analysis");
        };
        (a, Some(info.label()))
    };
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = AnalysisPage {
        ctx,
        nav: StudyNav::new(&study, "analysis"),
        rows: a.rows,
        compliance: a.compliance,
        kept: a.kept,
        erased: a.erased,
        excluded: a.excluded,
        left_out: a.left_out,
        min_compliance: a.min_compliance,
        min_cell: a.min_cell,
        level: a.level,
        with_bootstrap: a.with_bootstrap,
        note: a.note,
        fallbacks: a.fallbacks,
        categories: a.categories,
        deffs: a.deffs,
        segments: a.segments,
        baseline_rows: a.baseline_rows,
        vendor: a.vendor,
        counts_only: a.counts_only,
        withheld: a.withheld,
        released,
    };
    Ok((jar, Html(page.render()?)).into_response())
}
