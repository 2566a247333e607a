//! The roster page (admins search its employees by id or email, a page at a time) and its import, plus what the upload pages share: reading a multipart upload and
//! listing a refused file's problems.
use super::extract::PathStudy;
use super::paging::{Pager, query_string};
use super::studies::StudyNav;
use super::{PageCtx, outcome, thousands};
use crate::auth::extract::{Admin, Staff};
use crate::error::{AppError, Result};
use crate::roster::cohort::TenureBands;
use crate::roster::import::ImportProblem;
use crate::roster::repo::EmployeeRow;
use crate::roster::service;
use crate::state::AppState;
use crate::study::repo::StudyRow;
use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use chrono::NaiveDate;
use std::collections::HashMap;

/// Who did something on a page: a staff email for admins; "an admin" for anyone else, who sees no login.
pub(super) fn who(admin: bool, who: Option<&str>) -> &str {
    match (admin, who) {
        (_, None) => "the command line",
        (true, Some(w)) => w,
        (false, Some(_)) => "an admin",
    }
}

/// A problem of a refused file, for the page.
pub struct ProblemView {
    pub(super) row: String,
    pub(super) column: String,
    pub(super) message: String,
}

pub(super) fn problem_views(problems: &[ImportProblem]) -> Vec<ProblemView> {
    problems
        .iter()
        .map(|p| ProblemView {
            row: p.row.map(|r| r.to_string()).unwrap_or_else(|| "–".into()),
            column: p.column.clone().unwrap_or_else(|| "–".into()),
            message: p.message.clone(),
        })
        .collect()
}

/// A refused file: the page again, with its problems, as 422.
pub(super) fn refused(jar: CookieJar, html: String) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, jar, Html(html)).into_response()
}

/// An uploaded form: the file and the other fields.
pub(super) struct Upload {
    pub(super) filename: String,
    pub(super) bytes: Vec<u8>,
    pub(super) fields: HashMap<String, String>,
}

/// Reads an admin's upload and checks its CSRF field (a multipart body is not a form `AdminForm` reads).
pub(super) async fn read_upload(staff: &Staff, mut mp: Multipart) -> Result<Upload> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::BadRequest(format!(
            "The upload could not be read ({}). Files may be at most 64 MB.",
            e.body_text()
        ))
    };
    let mut up = Upload {
        filename: String::new(),
        bytes: Vec::new(),
        fields: HashMap::new(),
    };
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            up.filename = field
                .file_name()
                .unwrap_or("upload")
                .chars()
                .take(200)
                .collect();
            up.bytes = field.bytes().await.map_err(bad)?.to_vec();
        } else {
            let text = field.text().await.map_err(bad)?;
            up.fields.insert(name, text.chars().take(1000).collect());
        }
    }
    staff.check_csrf(up.fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    Ok(up)
}

#[derive(Template)]
#[template(path = "roster/roster.html")]
struct RosterPage {
    ctx: PageCtx,
    nav: StudyNav,
    employees: String,
    last_import: Option<String>,
    /// Admins: a page of employees, found by id or email.
    people: Option<RosterTable>,
    editable: bool,
    problems: Vec<ProblemView>,
    failed_file: String,
}

struct RosterTable {
    q: String,
    rows: Vec<EmployeeView>,
    /// "51–100 of 376".
    range: String,
    prev: Option<String>,
    next: Option<String>,
    page: i64,
    last: i64,
}

struct EmployeeView {
    employee_id: String,
    email: String,
    function: String,
    tenure: String,
    cohort: String,
    gross: String,
}

fn employee_view(e: &EmployeeRow, bands: &TenureBands, as_of: NaiveDate) -> EmployeeView {
    EmployeeView {
        employee_id: e.employee_id.clone(),
        email: e.email.clone(),
        function: e.function.clone(),
        tenure: e.tenure_band(bands, as_of),
        cohort: e.cohort().label().to_string(),
        gross: e
            .gross_hours_month
            .map(|h| format!("{h:.1}"))
            .unwrap_or_else(|| "–".into()),
    }
}

/// The roster page's query string: a search and a page.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct RosterQuery {
    #[serde(default)]
    q: String,
    page: Option<String>,
}

async fn render_roster(
    state: &AppState,
    staff: &Staff,
    jar: CookieJar,
    study: &StudyRow,
    query: &RosterQuery,
    problems: Vec<ProblemView>,
    failed_file: String,
) -> Result<(CookieJar, String)> {
    let o = service::roster_overview(state, study).await?;
    let admin = staff.is_admin();
    let last_import = o.last_import.map(|r| {
        format!(
            "{} employees from {} on {} by {}",
            thousands(r.rows),
            r.filename,
            r.imported_at.format("%Y-%m-%d %H:%M UTC"),
            who(admin, r.who.as_deref())
        )
    });
    // Employees by id are for admins; everyone else finds the counts on the cohorts page.
    let people = if admin && o.employees > 0 {
        let q: String = query.q.trim().chars().take(100).collect();
        let found = service::roster_people(state, study, &q, query.page.as_deref()).await?;
        let bands = service::bands(study);
        let pager = Pager {
            page: found.page,
            per_page: service::ROSTER_PER_PAGE,
            total: found.matching,
        };
        let base = query_string(&[("q", &q)]);
        Some(RosterTable {
            rows: found
                .rows
                .iter()
                .map(|e| employee_view(e, &bands, study.start_date))
                .collect(),
            range: pager.range(),
            prev: pager.prev(&base),
            next: pager.next(&base),
            page: pager.page,
            last: pager.last(),
            q,
        })
    } else {
        None
    };
    let (jar, ctx) = PageCtx::staff(staff, jar);
    let page = RosterPage {
        ctx,
        nav: StudyNav::new(study, "roster"),
        employees: thousands(o.employees),
        last_import,
        people,
        editable: staff.is_admin() && o.frame_editable,
        problems,
        failed_file,
    };
    Ok((jar, page.render()?))
}

/// The roster: what was imported, the import form, and (admins) the employees, searchable, a page at a time.
pub async fn roster_page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    Query(query): Query<RosterQuery>,
    jar: CookieJar,
) -> Result<Response> {
    let (jar, html) =
        render_roster(&state, &staff, jar, &study, &query, vec![], String::new()).await?;
    Ok((jar, Html(html)).into_response())
}

/// A CSV response offered as a download.
pub(super) fn csv_download(filename: &str, body: String) -> Result<Response> {
    use axum::http::{HeaderValue, header};
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
        .map_err(|_| AppError::BadRequest("bad file name".into()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// A roster CSV to fill in: every column the import reads, two made-up rows in the study's time zone.
pub async fn roster_template(
    State(state): State<AppState>,
    _staff: Staff,
    PathStudy(study): PathStudy,
) -> Result<Response> {
    let today = state.clock.now().with_timezone(&study.tz()).date_naive();
    csv_download(
        "roster-template.csv",
        crate::roster::import::roster_template(study.tz(), today),
    )
}

/// Imports a roster CSV; a file with problems is refused whole and its problems listed.
pub async fn roster_import(
    State(state): State<AppState>,
    Admin(staff): Admin,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    mp: Multipart,
) -> Result<Response> {
    let up = read_upload(&staff, mp).await?;
    let back = format!("/studies/{}/roster", study.id.0);
    match service::import_roster(&state, &staff.actor(), &study, &up.filename, up.bytes).await {
        Ok(Ok(n)) => outcome(
            Ok(()),
            jar,
            &back,
            format!(
                "Imported {} employees. Cohorts were reassigned.",
                thousands(n as i64)
            ),
        ),
        Ok(Err(problems)) => {
            let views = problem_views(&problems);
            let (jar, html) = render_roster(
                &state,
                &staff,
                jar,
                &study,
                &RosterQuery::default(),
                views,
                up.filename,
            )
            .await?;
            Ok(refused(jar, html))
        }
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}
