//! One error type for the web layer: internals are logged once here, people see a plain message.
use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

/// Result alias used by handlers and services.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The page or record does not exist (or is not the caller's to see).
    #[error("not found")]
    NotFound,
    /// Signed in, but the role does not allow this.
    #[error("forbidden")]
    Forbidden,
    /// A form arrived without a valid CSRF token.
    #[error("csrf token missing or wrong")]
    Csrf,
    /// A state-changing request that another site sent (its `Origin` or `Referer` names that site).
    #[error("cross-site request")]
    CrossSite,
    /// No valid session: send the person to the login page.
    #[error("login required")]
    LoginRequired,
    /// The request cannot be carried out; the message is shown as is (escaped).
    #[error("{0}")]
    BadRequest(String),
    /// A form field's value is refused: the message names the field, and the next page marks the field
    /// itself (`aria-invalid`, `aria-describedby`) when the form answers with a redirect.
    #[error("{message}")]
    Field {
        /// The `id` (and `name`) of the form control.
        field: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The request conflicts with the study's state (e.g. redraw after invitations).
    #[error("{0}")]
    Conflict(String),
    /// Throttled.
    #[error("{0}")]
    TooManyRequests(String),
    /// Anything unexpected; logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A refusal tied to the form control `field`.
    pub fn field(field: &'static str, message: impl Into<String>) -> AppError {
        AppError::Field {
            field,
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            AppError::LoginRequired => return Redirect::to("/login").into_response(),
            AppError::NotFound => (StatusCode::NOT_FOUND, "Not found", "There is nothing at this address.".to_string()),
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Your role does not allow this. Only admins change a study or manage staff; the raw export files need the data analyst role on the study.".to_string(),
            ),
            AppError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form is out of date or did not come from this site. Go back, reload the page and try again; nothing was changed.".to_string(),
            ),
            AppError::CrossSite => (
                StatusCode::FORBIDDEN,
                "Sent from another site",
                "This form was sent from a page of another site, so it was refused and nothing was changed. Open this site's own page and submit the form there.".to_string(),
            ),
            AppError::BadRequest(m) | AppError::Field { message: m, .. } => {
                (StatusCode::BAD_REQUEST, "Cannot do that", m.clone())
            }
            AppError::Conflict(m) => (StatusCode::CONFLICT, "Cannot do that now", m.clone()),
            AppError::TooManyRequests(m) => (StatusCode::TOO_MANY_REQUESTS, "Too many attempts", m.clone()),
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server could not complete this request. Nothing you submitted was half-saved; try again, and tell your administrator if it keeps happening.".to_string(),
                )
            }
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message: &message,
        };
        match page.render() {
            Ok(body) => (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}
