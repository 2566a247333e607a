//! Extractors that check the session and the role on the server for every route.
use super::repo::SessionRow;
use super::service::current_session;
use super::{Role, UserId, token};
use crate::error::AppError;
use crate::state::AppState;
use axum::Form;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A cookie's name. Served over https (`public_url` starts with `https://`) cookies carry the `__Host-`
/// prefix, which makes the browser insist on `Secure`, `Path=/` and no `Domain`, so no other host or
/// plain-http page can plant or overwrite them. Over plain http (the local demo) browsers refuse any
/// `__Host-` cookie, so the plain name is used there.
pub struct CookieName {
    plain: &'static str,
    host: &'static str,
}

impl CookieName {
    /// The name for a server whose cookies are (or are not) `Secure`.
    pub fn get(&self, secure: bool) -> &'static str {
        if secure { self.host } else { self.plain }
    }
}

/// The staff session cookie.
pub const SESSION_COOKIE: CookieName = CookieName {
    plain: "layer2_session",
    host: "__Host-layer2_session",
};
/// The pre-login CSRF cookie (double-submit, for the login and setup forms).
pub const CSRF_COOKIE: CookieName = CookieName {
    plain: "layer2_csrf",
    host: "__Host-layer2_csrf",
};
/// The device cookie: a browser that signed in to an account before (see `service::login`).
pub const DEVICE_COOKIE: CookieName = CookieName {
    plain: "layer2_device",
    host: "__Host-layer2_device",
};

/// A signed-in staff member (admin or analyst).
#[derive(Clone, Debug)]
pub struct Staff {
    /// Account id.
    pub user_id: UserId,
    /// Email (shown in the page header, never logged).
    pub email: String,
    /// Role.
    pub role: Role,
    /// The session's CSRF token, put into every form.
    pub csrf: String,
    /// Hash of the session id, to end it at logout.
    pub session_hash: String,
}

impl Staff {
    fn from_row(id_hash: String, row: SessionRow) -> Self {
        Self {
            user_id: row.user_id,
            role: row.role,
            email: row.email,
            csrf: row.csrf_token,
            session_hash: id_hash,
        }
    }

    /// Whether this person may change studies.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Refuses a form whose CSRF token is missing or not this session's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), AppError> {
        if token::same(submitted, &self.csrf) {
            Ok(())
        } else {
            Err(AppError::Csrf)
        }
    }

    /// The audit actor for this person.
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor::staff(self.user_id, &self.email)
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // A handler may take several extractors that need the session (the study from the path, an
        // admin form): the first one looks it up, the others reuse it.
        if let Some(staff) = parts.extensions.get::<Staff>() {
            return Ok(staff.clone());
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(SESSION_COOKIE.get(state.config.secure_cookies())) else {
            return Err(AppError::LoginRequired);
        };
        if !token::looks_like_token(cookie.value()) {
            return Err(AppError::LoginRequired);
        }
        match current_session(state, cookie.value()).await? {
            Some((hash, row)) => {
                let staff = Staff::from_row(hash, row);
                parts.extensions.insert(staff.clone());
                Ok(staff)
            }
            None => Err(AppError::LoginRequired),
        }
    }
}

/// A signed-in admin; an analyst gets 403.
#[derive(Clone, Debug)]
pub struct Admin(pub Staff);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let staff = Staff::from_request_parts(parts, state).await?;
        if staff.is_admin() {
            return Ok(Admin(staff));
        }
        // Audited (rate-limited), against the study of the path when the study gate let the request in.
        let study = parts
            .extensions
            .get::<crate::staff::StudyScope>()
            .map(|s| s.study.0);
        let what = format!("{} {}", parts.method, parts.uri.path());
        crate::staff::service::record_refusal(
            state,
            &staff,
            study,
            crate::staff::Refusal::Forbidden,
            &what,
        )
        .await?;
        Err(AppError::Forbidden)
    }
}

/// The CSRF field every staff form carries.
#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form posted by a signed-in admin: the role (403 for an analyst) and the session's CSRF token (403
/// when missing or wrong) are checked before the form's own fields are read, so a handler that takes
/// `AdminForm<T>` starts from a request that is allowed. Must be the handler's last extractor.
pub struct AdminForm<T> {
    /// The admin who posted.
    pub staff: Staff,
    /// The form's fields (its `csrf` field, if it declares one, is already checked).
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for AdminForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Admin(staff) = Admin::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = checked_form(&staff, parts, body, state).await?;
        Ok(AdminForm { staff, form })
    }
}

/// A form posted by any signed-in staff member (an analyst's export, a logout): the session's CSRF token
/// is checked (403) before the form's own fields are read. Must be the handler's last extractor.
pub struct StaffForm<T> {
    /// Who posted.
    pub staff: Staff,
    /// The form's fields.
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for StaffForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = checked_form(&staff, parts, body, state).await?;
        Ok(StaffForm { staff, form })
    }
}

/// Reads a urlencoded body twice, as the token alone (checked against `staff`'s session) and as the whole
/// form; both reads need the original method (`Form` reads a GET's query string) and content type.
async fn checked_form<T: DeserializeOwned>(
    staff: &Staff,
    parts: Parts,
    body: Body,
    state: &AppState,
) -> Result<T, Response> {
    let (method, headers) = (parts.method.clone(), parts.headers.clone());
    let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
        .await
        .map_err(IntoResponse::into_response)?;
    let again = |bytes: Bytes| {
        let mut r = Request::new(Body::from(bytes));
        *r.method_mut() = method.clone();
        *r.headers_mut() = headers.clone();
        r
    };
    let Form(field) = Form::<CsrfField>::from_request(again(bytes.clone()), state)
        .await
        .map_err(IntoResponse::into_response)?;
    staff
        .check_csrf(&field.csrf)
        .map_err(IntoResponse::into_response)?;
    let Form(form) = Form::<T>::from_request(again(bytes), state)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(form)
}

/// A form that carries nothing but its CSRF token (a button).
#[derive(Deserialize)]
pub struct NoFields {}

/// A cookie only this site's pages send back: host-only, `Path=/`, HttpOnly, `Secure` over https.
fn site_cookie(
    name: &CookieName,
    value: String,
    secure: bool,
    same_site: SameSite,
) -> Cookie<'static> {
    Cookie::build((name.get(secure), value))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(same_site)
        .build()
}

/// The session cookie for a new login.
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    site_cookie(&SESSION_COOKIE, token, secure, SameSite::Lax)
}

/// A cookie that removes the session cookie (same name and flags, or the browser keeps it).
pub fn clear_session_cookie(secure: bool) -> Cookie<'static> {
    let mut c = site_cookie(&SESSION_COOKIE, String::new(), secure, SameSite::Lax);
    c.make_removal();
    c
}

/// The device cookie given at each sign-in; it outlives the session (the browser keeps it, the server
/// honours it for `DEVICE_DAYS`), so the next sign-in from this browser is throttled on its own failures.
pub fn device_cookie(token: String, secure: bool) -> Cookie<'static> {
    let mut c = site_cookie(&DEVICE_COOKIE, token, secure, SameSite::Strict);
    c.make_permanent();
    c
}

/// The device token this browser presents, if any.
pub fn device_token(jar: &CookieJar, secure: bool) -> Option<String> {
    jar.get(DEVICE_COOKIE.get(secure))
        .map(|c| c.value().to_string())
}

/// The anonymous CSRF token for the login/setup forms: the cookie's, or a new one to set.
pub fn anonymous_csrf(jar: CookieJar, secure: bool) -> (CookieJar, String) {
    if let Some(c) = jar
        .get(CSRF_COOKIE.get(secure))
        .filter(|c| token::looks_like_token(c.value()))
    {
        let v = c.value().to_string();
        return (jar, v);
    }
    let v = token::new_token();
    let cookie = site_cookie(&CSRF_COOKIE, v.clone(), secure, SameSite::Strict);
    (jar.add(cookie), v)
}

/// Checks a pre-login form's token against its cookie.
pub fn check_anonymous_csrf(
    jar: &CookieJar,
    submitted: &str,
    secure: bool,
) -> Result<(), AppError> {
    match jar.get(CSRF_COOKIE.get(secure)) {
        Some(c) if token::looks_like_token(c.value()) && token::same(c.value(), submitted) => {
            Ok(())
        }
        _ => Err(AppError::Csrf),
    }
}
