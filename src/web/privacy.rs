//! The study's privacy notice: what participants are told about their data, and until when it is kept.
use super::extract::PathStudy;
use super::studies::StudyNav;
use super::{PageCtx, notice};
use crate::auth::extract::{Admin, AdminForm, Staff};
use crate::error::Result;
use crate::retention::service::purged_on;
use crate::state::AppState;
use crate::study::guards::{Ack, Step};
use crate::study::privacy::{DEFAULT_RETENTION_MONTHS, PrivacyForm};
use crate::study::repo::StudyRow;
use crate::study::service;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "studies/privacy.html")]
struct PrivacyPage {
    ctx: PageCtx,
    nav: StudyNav,
    form: PrivacyForm,
    /// The purge date the notice implies (the admin's, or the default after the readout).
    retention: String,
    default_months: u32,
    problems: HashMap<String, String>,
    /// The day the raw data was purged, if it was.
    purged_on: Option<String>,
}

impl PrivacyPage {
    fn problem(&self, field: &str) -> &str {
        self.problems.get(field).map(String::as_str).unwrap_or("")
    }
}

fn render(
    staff: &Staff,
    jar: CookieJar,
    study: &StudyRow,
    (form, retention): (PrivacyForm, String),
    problems: Vec<(String, String)>,
    purged_on: Option<NaiveDate>,
) -> Result<(CookieJar, Html<String>)> {
    let (jar, ctx) = PageCtx::staff(staff, jar);
    let page = PrivacyPage {
        ctx,
        nav: StudyNav::new(study, "privacy"),
        form,
        retention,
        default_months: DEFAULT_RETENTION_MONTHS,
        problems: problems.into_iter().collect(),
        purged_on: purged_on.map(|d| d.to_string()),
    };
    Ok((jar, Html(page.render()?)))
}

/// The notice as the form shows it, with the purge date it implies.
async fn current(state: &AppState, study: &StudyRow) -> Result<(PrivacyForm, String)> {
    Ok(match service::privacy_notice(state, study.id).await? {
        Some((n, until)) => (
            PrivacyForm {
                controller: n.controller,
                contact_name: n.contact_name,
                contact_email: n.contact_email,
                purpose: n.purpose,
                retention_until: n.retention_until.map(|d| d.to_string()).unwrap_or_default(),
            },
            until.map(|d| d.to_string()).unwrap_or_default(),
        ),
        None => (PrivacyForm::default(), String::new()),
    })
}

/// The notice, editable by admins, readable by analysts, and the early purge (admins).
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    let shown = current(&state, &study).await?;
    let purged_on = purged_on(&state, study.id).await?;
    Ok(render(&staff, jar, &study, shown, vec![], purged_on)?.into_response())
}

/// The early purge's form: the confirm button and, when the page warned, the tick.
#[derive(Default, Deserialize)]
pub struct PurgeForm {
    /// "yes" from the confirmation page's button.
    #[serde(default)]
    confirm: String,
    /// "yes" when "I have read the warnings" was ticked.
    #[serde(default)]
    warnings_read: String,
}

/// The early purge's confirmation page: what is deleted, and what looks wrong (admins).
pub async fn purge_page(
    State(state): State<AppState>,
    Admin(staff): Admin,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    super::studies::confirm_page(&state, &staff, &study, jar, Step::Purge).await
}

/// Purges the study's raw data now (admins), once confirmed on its page; unconfirmed, back to that page
/// with the reason, nothing deleted.
pub async fn purge(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<PurgeForm>,
) -> Result<Response> {
    let ack = Ack {
        confirmed: form.confirm == "yes",
        warnings_read: form.warnings_read == "yes",
    };
    super::studies::confirmed_step(&state, &staff, &study, jar, Step::Purge, ack).await
}

/// Saves the notice; a problem re-renders the form with what was typed (422) and saves nothing.
pub async fn save(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<PrivacyForm>,
) -> Result<Response> {
    match service::set_privacy_notice(&state, &staff.actor(), study.id, &form).await? {
        Ok(()) => Ok(notice(
            jar,
            &format!("/studies/{}/privacy", study.id.0),
            "Privacy notice saved.",
        )
        .into_response()),
        Err(problems) => {
            let (jar, html) = render(&staff, jar, &study, (form, String::new()), problems, None)?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, jar, html).into_response())
        }
    }
}
