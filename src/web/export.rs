//! Exports through the browser: a page listing what can be downloaded, and one POST per file (audited).
//! Analysts and admins export; only an admin may include free-text descriptions, deliberately.
use super::PageCtx;
use super::studies::StudyNav;
use crate::auth::extract::{Staff, StaffForm};
use crate::error::{AppError, Result};
use crate::export;
use crate::state::AppState;
use crate::web::extract::{PathAccess, PathStudy};
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
    /// Whether the caller may take the raw files (not an aggregate analyst).
    raw_files: bool,
    /// Why a data analyst gets no raw file for this study, when they don't.
    withheld: Option<String>,
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
    PathAccess(access): PathAccess,
    jar: CookieJar,
) -> Result<Response> {
    let k = state.config.min_cell_size;
    let withheld = export::service::raw_withheld_from(&state, study.id, access).await?;
    let raw_files = access.raw_files() && !withheld;
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = ExportPage {
        ctx,
        nav: StudyNav::new(&study, "export"),
        files: ABOUT
            .into_iter()
            .filter(|(name, _)| {
                access.may_download(name)
                    && (raw_files || crate::staff::AGGREGATE_FILES.contains(name))
            })
            .collect(),
        raw_files,
        withheld: (withheld && access.raw_files()).then(|| export::service::raw_withheld(k)),
        min_cell: k,
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
    PathAccess(access): PathAccess,
    StaffForm { staff, form: f }: StaffForm<ExportForm>,
) -> Result<Response> {
    may_download(&state, &staff, study.id, access, &f.file).await?;
    let descriptions = f.descriptions == "1";
    let download = export::service::file(
        &state,
        &staff.actor(),
        access,
        study.id,
        &f.file,
        descriptions,
    )
    .await?;
    let disposition = format!("attachment; filename=\"study-{}-{}\"", study.id.0, f.file);
    let body = match download.body {
        export::service::Body::Whole(bytes) => axum::body::Body::from(bytes),
        // Each piece goes out as it is written; an error cuts the response short (never a complete-looking
        // file that is not).
        export::service::Body::Streamed(rx) => {
            axum::body::Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|piece| (piece, rx))
            }))
        }
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(download.mime),
            ),
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
        body,
    )
        .into_response())
}

/// An analyst with the aggregate study role downloads the summary only: any other file is a 403, audited.
async fn may_download(
    state: &AppState,
    staff: &crate::auth::extract::Staff,
    study: crate::study::StudyId,
    access: crate::staff::StudyAccess,
    file: &str,
) -> Result<()> {
    if access.may_download(file) {
        return Ok(());
    }
    let what = format!("POST /studies/{}/export {file}", study.0);
    crate::staff::service::record_refusal(
        state,
        staff,
        Some(study.0),
        crate::staff::Refusal::Forbidden,
        &what,
    )
    .await?;
    Err(AppError::Forbidden)
}
