//! The study a staff page is about, loaded once from the path's `{id}`, with the caller's access to it.
use crate::auth::extract::Staff;
use crate::error::AppError;
use crate::staff::service as staff_service;
use crate::staff::{Refusal, StudyAccess, StudyScope};
use crate::state::AppState;
use crate::study::repo::StudyRow;
use crate::study::{StudyId, service};
use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The study named by the path's `{id}`, for a signed-in staff member: anyone without a session is sent
/// to the login page before the database is asked, a malformed id is 400, and an unknown study, or one the
/// caller holds no grant for, is 404 (the latter audited). The role is checked by `Admin` or `AdminForm`
/// beside it; `PathAccess` says how much of the study the caller may see.
pub struct PathStudy(pub StudyRow);

/// The caller's access to the study in the path (admin, or their grant).
pub struct PathAccess(pub StudyAccess);

/// What the first look-up of a request found, kept in its extensions for the other extractors.
#[derive(Clone)]
struct Loaded(StudyRow, StudyAccess);

async fn load(parts: &mut Parts, state: &AppState) -> Result<Loaded, AppError> {
    if let Some(loaded) = parts.extensions.get::<Loaded>() {
        return Ok(loaded.clone());
    }
    let staff = Staff::from_request_parts(parts, state).await?;
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| AppError::NotFound)?;
    let id = params
        .iter()
        .find(|(name, _)| *name == "id")
        .ok_or(AppError::NotFound)?
        .1
        .parse::<i64>()
        .map_err(|_| AppError::BadRequest("A study is named by its number.".into()))?;
    // The grant is asked before the study: a study someone may not see does not exist for them, whether
    // or not it exists.
    let Some(access) = staff_service::access(state, &staff, StudyId(id)).await? else {
        let what = format!("{} {}", parts.method, parts.uri.path());
        staff_service::record_refusal(state, &staff, Some(id), Refusal::NotGranted, &what).await?;
        return Err(AppError::NotFound);
    };
    let study = service::get(state, StudyId(id)).await?;
    parts.extensions.insert(StudyScope {
        study: study.id,
        access,
    });
    let loaded = Loaded(study, access);
    parts.extensions.insert(loaded.clone());
    Ok(loaded)
}

impl FromRequestParts<AppState> for PathStudy {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(PathStudy(load(parts, state).await?.0))
    }
}

impl FromRequestParts<AppState> for PathAccess {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(PathAccess(load(parts, state).await?.1))
    }
}

/// Layered on every `/studies/{id}/…` route: the study and the caller's access are settled before any of
/// the handler's extractors run, so a study without a grant is a 404 on every route of it (a 403 from a
/// role check never tells a stranger that the study exists).
pub async fn study_gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    if let Err(e) = load(&mut parts, &state).await {
        return e.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}
