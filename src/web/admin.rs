//! Admin-only pages: the audit log (staff management is in `staff.rs`).
use super::PageCtx;
use crate::audit;
use crate::auth::extract::Admin;
use crate::error::Result;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

const PAGE: i64 = 100;

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    ctx: PageCtx,
    rows: Vec<AuditView>,
    older: Option<i64>,
}

struct AuditView {
    at: String,
    actor: String,
    action: String,
    study: String,
    detail: String,
}

/// Paging through the log.
#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// The audit log, newest first.
pub async fn audit(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Query(q): Query<AuditQuery>,
    jar: CookieJar,
) -> Result<Response> {
    let rows = audit::list(&state.pool, q.before, PAGE).await?;
    let older = if rows.len() as i64 == PAGE {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let rows = rows
        .into_iter()
        .map(|r| AuditView {
            at: r.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            actor: r.actor,
            action: r.action,
            study: r.study_id.map(|s| s.to_string()).unwrap_or_default(),
            detail: r.detail,
        })
        .collect();
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    Ok((jar, Html(AuditPage { ctx, rows, older }.render()?)).into_response())
}
