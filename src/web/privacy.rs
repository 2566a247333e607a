//! The study's privacy notice: what participants are told about their data, and until when it is kept.
use super::extract::PathStudy;
use super::studies::StudyNav;
use super::{PageCtx, notice};
use crate::auth::extract::{AdminForm, Staff};
use crate::error::Result;
use crate::state::AppState;
use crate::study::privacy::{DEFAULT_RETENTION_MONTHS, PrivacyForm};
use crate::study::repo::StudyRow;
use crate::study::service;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
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
    form: PrivacyForm,
    retention: String,
    problems: Vec<(String, String)>,
) -> Result<(CookieJar, Html<String>)> {
    let (jar, ctx) = PageCtx::staff(staff, jar);
    let page = PrivacyPage {
        ctx,
        nav: StudyNav::new(study, "privacy"),
        form,
        retention,
        default_months: DEFAULT_RETENTION_MONTHS,
        problems: problems.into_iter().collect(),
    };
    Ok((jar, Html(page.render()?)))
}

/// The notice, editable by admins, readable by analysts.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    let (form, retention) = match service::privacy_notice(&state, study.id).await? {
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
    };
    Ok(render(&staff, jar, &study, form, retention, vec![])?.into_response())
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
            let (jar, html) = render(&staff, jar, &study, form, String::new(), problems)?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, jar, html).into_response())
        }
    }
}
