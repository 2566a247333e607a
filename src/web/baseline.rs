//! Instrument C page: historical and expert baselines per category, and the comparison across methods.
use super::studies::StudyNav;
use super::{PageCtx, outcome};
use crate::auth::extract::{AdminForm, Staff};
use crate::baseline::repo::ControlCounts;
use crate::baseline::service;
use crate::baseline::view::{self, Row, VendorView};
use crate::error::Result;
use crate::state::AppState;
use crate::web::extract::PathStudy;
use askama::Template;
use axum::extract::State;
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
    control: ControlCounts,
    /// "final results released on D", for a non-admin.
    released: Option<String>,
    in_collection: bool,
}

/// The comparison table and the entry forms.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    // Admins read the live comparison; everyone else the newest release's (see `reports::release`).
    let (v, released) = if staff.is_admin() {
        (view::page(&state, &study).await?, None)
    } else {
        match crate::reports::release::baseline(&state, study.id).await? {
            Some((info, v)) => (v, Some(info.label())),
            None => {
                return super::report::not_released(&staff, jar, &study, "baseline", "Baseline");
            }
        }
    };
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = BaselinePage {
        ctx,
        nav: StudyNav::new(&study, "baseline"),
        categories: v.categories,
        baseline_rows: v.rows,
        historical: v.historical,
        experts: v.experts,
        vendor: v.vendor,
        control: v.control,
        in_collection: study.status() == crate::study::Status::Collection,
        released,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// Employees named for the control group.
#[derive(Deserialize)]
pub struct ControlForm {
    #[serde(default)]
    people: String,
    /// `yes` from the confirmation page.
    #[serde(default)]
    confirm: String,
}

/// Invites the control group.
pub async fn control(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<ControlForm>,
) -> Result<Response> {
    let back = format!("/studies/{}/baseline", study.id.0);
    if f.confirm != "yes" {
        // First the list is checked by the invitation's own rules, changing nothing; then the admin confirms.
        let n = match crate::participants::service::check_control(
            &state,
            &staff.actor(),
            study.id,
            &f.people,
        )
        .await
        {
            Ok(n) => n,
            // The list is the form's one field: a refusal of it marks the field.
            Err(crate::error::AppError::BadRequest(m)) => {
                let e = crate::error::AppError::field("c-people", m);
                return outcome(Err(e), jar, &back, "");
            }
            Err(e) => return outcome(Err(e), jar, &back, ""),
        };
        let (_, subject) = crate::messages::service::invitation_subjects(&state, study.id).await?;
        let (jar, ctx) = PageCtx::staff(&staff, jar);
        let page = super::studies::ConfirmPage {
            ctx,
            nav: StudyNav::new(&study, "baseline"),
            title: format!("Invite {n} people to the control group"),
            consequences: vec![
                format!(
                    "{n} people get the control group's invitation now, subject \"{subject}\" (the Messages tab has its text)."
                ),
                "They are asked to log tasks done without the copilot, with the minutes each took; they get no check-ins and never count in the Layer 2 profile.".into(),
                "An invitation cannot be taken back: each person decides on their own consent page, and may leave at any time.".into(),
            ],
            warnings: vec![],
            blockers: vec![],
            button: format!("Send {n} invitations"),
            danger: false,
            action: format!("/studies/{}/baseline/control", study.id.0),
            hidden: vec![("people", f.people.clone())],
            back: back.clone(),
        };
        return Ok((jar, Html(page.render()?)).into_response());
    }
    let r =
        crate::participants::service::invite_control(&state, &staff.actor(), study.id, &f.people)
            .await;
    let done = match &r {
        Ok(n) => format!("{n} control-group invitations queued."),
        Err(_) => String::new(),
    };
    outcome(r.map(|_| ()), jar, &back, done)
}

/// Historical minutes for a category.
#[derive(Deserialize)]
pub struct HistoricalForm {
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
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<HistoricalForm>,
) -> Result<Response> {
    let r = service::set_historical(
        &state,
        &staff.actor(),
        study.id,
        &f.category,
        &f.minutes,
        &f.source,
    )
    .await;
    let back = format!("/studies/{}/baseline", study.id.0);
    outcome(r, jar, &back, "Historical baseline saved.")
}

/// One expert's estimate.
#[derive(Deserialize)]
pub struct ExpertForm {
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
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<ExpertForm>,
) -> Result<Response> {
    let r = service::set_expert(
        &state,
        &staff.actor(),
        study.id,
        &f.expert,
        &f.category,
        (&f.low, &f.likely, &f.high),
    )
    .await;
    let back = format!("/studies/{}/baseline", study.id.0);
    outcome(r, jar, &back, "Expert estimate saved.")
}

/// Which baseline entry to delete: a category's historical minutes (no expert) or one expert's estimate.
#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    expert: String,
    #[serde(default)]
    category: String,
}

/// Deletes a historical entry or an expert's estimate.
pub async fn delete(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<DeleteForm>,
) -> Result<Response> {
    let r = service::remove(&state, &staff.actor(), study.id, &f.expert, &f.category).await;
    let back = format!("/studies/{}/baseline", study.id.0);
    outcome(r, jar, &back, "Baseline entry deleted.")
}
