//! Exports through the browser: a page listing what can be downloaded, and one POST per file (audited).
//! Analysts and admins export; only an admin may include free-text descriptions, deliberately.
use super::PageCtx;
use super::studies::StudyNav;
use crate::auth::extract::{Staff, StaffForm};
use crate::error::{AppError, Result};
use crate::export;
use crate::state::AppState;
use crate::web::extract::PathStudy;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "export/page.html")]
struct ExportPage {
    ctx: PageCtx,
    nav: StudyNav,
    files: Vec<(&'static str, &'static str)>,
    min_cell: usize,
}

const ABOUT: [(&str, &str); 7] = [
    (
        "participants.csv",
        "one row per participant: pseudonymous id, the cohort, function and tenure the file can publish for everyone, gross AI hours in bands",
    ),
    (
        "diary.csv",
        "every diary task: outcome and minutes with and without AI",
    ),
    (
        "pings.csv",
        "every delivered ping: answer, the four oversight minutes, its deadline",
    ),
    ("population.csv", "roster size per cohort"),
    ("control.csv", "the control group's tasks (Instrument C)"),
    (
        "summary.csv",
        "the cohort summary: every metric with its interval; hidden groups marked",
    ),
    ("codebook.csv", "every column, its unit and allowed values"),
];

/// What can be exported.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = ExportPage {
        ctx,
        nav: StudyNav::new(&study, "export"),
        files: ABOUT.to_vec(),
        min_cell: state.config.min_cell_size,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// One download.
#[derive(Deserialize)]
pub struct ExportForm {
    /// A CSV file name, `export.json` or `workbook.xlsx`.
    #[serde(default)]
    file: String,
    /// "1": include free-text descriptions (admins only).
    #[serde(default)]
    descriptions: String,
}

/// The file, as an attachment. Analysts export too, so the form is a staff form, not an admin one.
pub async fn download(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    StaffForm { staff, form: f }: StaffForm<ExportForm>,
) -> Result<Response> {
    let descriptions = f.descriptions == "1";
    let (bytes, mime) = export::service::file(
        &state,
        &staff.actor(),
        staff.role,
        study.id,
        &f.file,
        descriptions,
    )
    .await?;
    let disposition = format!("attachment; filename=\"study-{}-{}\"", study.id.0, f.file);
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?,
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response())
}
