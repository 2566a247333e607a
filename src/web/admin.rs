//! Admin-only pages: the audit log, its filters, pages and CSV (staff management is in `staff.rs`).
use super::PageCtx;
use super::paging::{Pager, query_string};
use crate::audit::{self, AuditFilter};
use crate::auth::extract::Admin;
use crate::error::{AppError, Result};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use chrono::NaiveDate;
use serde::Deserialize;

/// Entries per page.
const PAGE: i64 = 100;

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    ctx: PageCtx,
    rows: Vec<audit::Entry>,
    form: AuditQuery,
    actions: Vec<(String, bool)>,
    studies: Vec<StudyChoice>,
    /// Filters left out: the control and why.
    problems: Vec<(&'static str, String)>,
    range: String,
    prev: Option<String>,
    next: Option<String>,
    page: i64,
    last: i64,
    /// The filters' query string (for the CSV link).
    here: String,
}

struct StudyChoice {
    id: i64,
    name: String,
    selected: bool,
}

/// The log's filters and page, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    study: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<String>,
}

impl AuditPage {
    /// The message about the filter control `field`, or `""`.
    fn problem(&self, field: &str) -> &str {
        self.problems
            .iter()
            .find(|(f, _)| *f == field)
            .map_or("", |(_, m)| m.as_str())
    }
}

impl AuditQuery {
    /// The filter as understood, and what could not be (left out, with a message).
    fn filter(&self) -> (AuditFilter, Vec<(&'static str, String)>) {
        let mut problems = vec![];
        let mut day = |v: &str, field: &'static str, what: &str| -> Option<NaiveDate> {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
            if d.is_none() {
                problems.push((
                    field,
                    format!(
                        "\"{what}\" takes a date as YYYY-MM-DD, not \"{}\"; it was left out.",
                        v.chars().take(40).collect::<String>()
                    ),
                ));
            }
            d
        };
        let from = day(&self.from, "f-from", "From");
        let to = day(&self.to, "f-to", "To");
        let study = match self.study.trim() {
            "" => None,
            s => match s.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    problems.push((
                        "f-study",
                        "Choose the study from the list; that filter was left out.".into(),
                    ));
                    None
                }
            },
        };
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let f = AuditFilter {
            actor: self.actor.trim().chars().take(200).collect(),
            action: self.action.trim().chars().take(100).collect(),
            study,
            from: from.and_then(midnight),
            // "To" includes its whole day (UTC, as the log shows times).
            until: to.and_then(|d| d.succ_opt()).and_then(midnight),
        };
        (f, problems)
    }

    /// The query string of the same filters (no page).
    fn query_string(&self, f: &AuditFilter) -> String {
        let study = f.study.map(|s| s.to_string()).unwrap_or_default();
        let day = |t: Option<chrono::DateTime<chrono::Utc>>, back: i64| {
            t.map(|t| {
                (t - chrono::Duration::days(back))
                    .format("%Y-%m-%d")
                    .to_string()
            })
            .unwrap_or_default()
        };
        query_string(&[
            ("actor", &f.actor),
            ("action", &f.action),
            ("study", &study),
            ("from", &day(f.from, 0)),
            ("to", &day(f.until, 1)),
        ])
    }
}

/// The audit log, newest first: filtered by actor, action, study and dates, a page at a time.
pub async fn audit(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Query(q): Query<AuditQuery>,
    jar: CookieJar,
) -> Result<Response> {
    let (filter, problems) = q.filter();
    let total = audit::count(&state.pool, &filter).await?;
    let pager = Pager::new(q.page.as_deref(), PAGE, total);
    let rows = audit::entries(&state.pool, &filter, i64::MAX, PAGE, pager.offset()).await?;
    let actions = audit::actions(&state.pool)
        .await?
        .into_iter()
        .map(|a| {
            let selected = a == filter.action;
            (a, selected)
        })
        .collect();
    let studies = crate::study::repo::list(&state.pool)
        .await?
        .into_iter()
        .map(|s| StudyChoice {
            id: s.id.0,
            selected: Some(s.id.0) == filter.study,
            name: s.name,
        })
        .collect();
    let here = q.query_string(&filter);
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = AuditPage {
        ctx,
        rows,
        actions,
        studies,
        problems,
        range: pager.range(),
        prev: pager.prev(&here),
        next: pager.next(&here),
        page: pager.page,
        last: pager.last(),
        here,
        form: q,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// The filtered log as CSV (every matching entry, newest first; cells a spreadsheet could run as a
/// formula are neutralised). The download is itself audited.
pub async fn audit_csv(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Query(q): Query<AuditQuery>,
) -> Result<Response> {
    let (filter, problems) = q.filter();
    if let Some((_, p)) = problems.into_iter().next() {
        return Err(AppError::BadRequest(p));
    }
    let bytes = audit::export_csv(&state, &staff.actor(), &filter).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"audit-log.csv\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
