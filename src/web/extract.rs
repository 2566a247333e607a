//! The study a staff page is about, loaded once from the path's `{id}`.
use crate::auth::extract::Staff;
use crate::error::AppError;
use crate::state::AppState;
use crate::study::repo::StudyRow;
use crate::study::{StudyId, service};
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;

/// The study named by the path's `{id}`, for a signed-in staff member: anyone without a session is sent
/// to the login page before the database is asked, a malformed id is 400 and an unknown one 404. The role is
/// checked by `Admin` or `AdminForm` beside it.
pub struct PathStudy(pub StudyRow);

impl FromRequestParts<AppState> for PathStudy {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Staff::from_request_parts(parts, state).await?;
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
        Ok(PathStudy(service::get(state, StudyId(id)).await?))
    }
}
