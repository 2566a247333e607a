//! The cohort report (charts, tables, segments, renewal economics) and the printable executive readout.
//! Both read `reports::readout`, so the confidentiality rule and every number are the same on each.
use super::studies::StudyNav;
use super::{PageCtx, outcome};
use crate::auth::extract::{AdminForm, Staff};
use crate::error::Result;
use crate::reports::compute::Audience;
use crate::reports::view::{View, view};
use crate::staff::StudyAccess;
use crate::state::AppState;
use crate::web::extract::{PathAccess, PathStudy};
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "report/page.html")]
struct ReportPage {
    ctx: PageCtx,
    nav: StudyNav,
    r: View,
    /// The releases (admins only).
    releases: Option<crate::reports::release::Overview>,
}

#[derive(Template)]
#[template(path = "report/readout.html")]
struct ReadoutPage {
    r: View,
    tool: String,
    generated: String,
}

/// Who reads a study's figures. Only an admin (who holds the key anyway) reads every breakdown: an analyst
/// without raw files can hand the figures to one with them, or was one before a role change, so every
/// non-admin reads what the raw files carry (see `Audience`).
pub fn audience(access: StudyAccess) -> Audience {
    if access == StudyAccess::Admin {
        Audience::Aggregates
    } else {
        Audience::RawFiles
    }
}

/// The report as this reader may see it: live for an admin, the newest release for everyone else (see
/// `reports::release`); None before the first release.
async fn view_for(
    state: &AppState,
    study: crate::study::StudyId,
    access: StudyAccess,
) -> Result<Option<View>> {
    if access == StudyAccess::Admin {
        view(state, study, Audience::Aggregates).await.map(Some)
    } else {
        crate::reports::release::view(state, study).await
    }
}

#[derive(Template)]
#[template(path = "report/not_released.html")]
struct NotReleasedPage {
    ctx: PageCtx,
    nav: StudyNav,
    what: &'static str,
}

/// What a non-admin sees of a study before its first release.
pub fn not_released(
    staff: &Staff,
    jar: CookieJar,
    study: &crate::study::repo::StudyRow,
    tab: &'static str,
    what: &'static str,
) -> Result<Response> {
    let (jar, ctx) = PageCtx::staff(staff, jar);
    let page = NotReleasedPage {
        ctx,
        nav: StudyNav::new(study, tab),
        what,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// The cohort report.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    PathAccess(access): PathAccess,
    jar: CookieJar,
) -> Result<Response> {
    let Some(r) = view_for(&state, study.id, access).await? else {
        return not_released(&staff, jar, &study, "report", "Report");
    };
    let releases = if access == StudyAccess::Admin {
        Some(crate::reports::release::overview(&state, study.id).await?)
    } else {
        None
    };
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = ReportPage {
        ctx,
        nav: StudyNav::new(&study, "report"),
        r,
        releases,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// The printable executive readout (A4 and Letter).
pub async fn readout(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    PathAccess(access): PathAccess,
    jar: CookieJar,
) -> Result<Response> {
    let Some(r) = view_for(&state, study.id, access).await? else {
        return not_released(&staff, jar, &study, "report", "Readout");
    };
    let page = ReadoutPage {
        r,
        tool: format!("{} — {}", study.name, study.tool()),
        generated: state.clock.now().format("%d %B %Y").to_string(),
    };
    Ok(Html(page.render()?).into_response())
}

/// The renewal assumptions form.
#[derive(Deserialize)]
pub struct EconomicsForm {
    #[serde(default)]
    seat_price: String,
    #[serde(default)]
    seats: String,
    #[serde(default)]
    hourly_cost: String,
    #[serde(default)]
    currency: String,
}

/// Saves the renewal assumptions (admins; audited).
pub async fn economics(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<EconomicsForm>,
) -> Result<Response> {
    let result = crate::reports::set_economics(
        &state,
        &staff.actor(),
        study.id,
        [&f.seat_price, &f.seats, &f.hourly_cost, &f.currency],
    )
    .await;
    outcome(
        result,
        jar,
        &format!("/studies/{}/report#economics", study.id.0),
        "Renewal assumptions saved.",
    )
}

/// The release form carries only the CSRF token.
#[derive(Deserialize)]
pub struct ReleaseForm {}

/// Releases the study's current results to analysts (admins; audited).
pub async fn release(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: _ }: AdminForm<ReleaseForm>,
) -> Result<Response> {
    let result = crate::reports::release::release(&state, &staff.actor(), study.id)
        .await
        .map(|_| ());
    outcome(
        result,
        jar,
        &format!("/studies/{}/report#releases", study.id.0),
        "Results released: analysts now read these figures.",
    )
}
