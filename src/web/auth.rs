//! Login, logout and the one-time first-admin setup page.
use super::{Flash, PageCtx, set_flash};
use crate::auth::extract::{
    NoFields, StaffForm, anonymous_csrf, check_anonymous_csrf, clear_session_cookie, device_cookie,
    device_token, session_cookie,
};
use crate::auth::service::{self, LoginOutcome};
use crate::auth::{Email, NewPassword};
use crate::error::{AppError, Result};
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: PageCtx,
    email: String,
}

/// The login form.
pub async fn login_page(State(state): State<AppState>, jar: CookieJar) -> Result<Response> {
    let (jar, csrf) = anonymous_csrf(jar, state.config.secure_cookies());
    let (jar, flash) = super::take_flash(jar);
    let page = LoginPage {
        ctx: PageCtx::anonymous(csrf, flash),
        email: String::new(),
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// Checks the credentials; an unknown user and a wrong password get the same answer.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response> {
    let client = client_address(&state, addr, &headers);
    let secure = state.config.secure_cookies();
    check_anonymous_csrf(&jar, &form.csrf, secure)?;
    let retry =
        |status: StatusCode, message: String, jar: CookieJar, email: String| -> Result<Response> {
            let (jar, csrf) = anonymous_csrf(jar, state.config.secure_cookies());
            let flash = Some(Flash {
                kind: "error",
                text: message,
                field: String::new(),
            });
            let page = LoginPage {
                ctx: PageCtx::anonymous(csrf, flash),
                email,
            };
            Ok((status, jar, Html(page.render()?)).into_response())
        };
    if form.password.len() > crate::auth::MAX_PASSWORD_BYTES || form.email.len() > 254 {
        return retry(
            StatusCode::UNAUTHORIZED,
            "Wrong email or password.".into(),
            jar,
            String::new(),
        );
    }
    let device = device_token(&jar, secure);
    match service::login(
        &state,
        &form.email,
        form.password,
        client,
        device.as_deref(),
    )
    .await?
    {
        LoginOutcome::Success { token, device } => {
            // Any session cookie the browser had is replaced: the id always changes at login; so is the
            // device cookie (one use each).
            let jar = jar
                .add(session_cookie(token, secure))
                .add(device_cookie(device, secure));
            Ok((jar, Redirect::to("/studies")).into_response())
        }
        LoginOutcome::Invalid => retry(
            StatusCode::UNAUTHORIZED,
            "Wrong email or password.".into(),
            jar,
            form.email,
        ),
        LoginOutcome::Throttled { minutes } => retry(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-ins. Wait {minutes} minute{} and try again.",
                if minutes == 1 { "" } else { "s" }
            ),
            jar,
            form.email,
        ),
    }
}

/// The client's address: the socket's, or behind a trusted proxy the last `X-Forwarded-For` entry
/// (the one the proxy itself appended; earlier entries can be forged by the client).
pub fn client_address(state: &AppState, addr: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if !state.config.behind_proxy {
        return addr.ip();
    }
    // Only the very last entry is trusted; if it does not parse, fall back to the proxy's own address.
    headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|a| a.trim().parse::<IpAddr>().ok())
        .unwrap_or(addr.ip())
}

/// Ends the session (POST with CSRF, so a link elsewhere cannot sign anyone out).
pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    StaffForm { staff, .. }: StaffForm<NoFields>,
) -> Result<Response> {
    service::logout(&state, &staff.session_hash, staff.user_id, &staff.email).await?;
    let jar = set_flash(
        jar.add(clear_session_cookie(state.config.secure_cookies())),
        "notice",
        "You are signed out.",
    );
    Ok((jar, Redirect::to("/login")).into_response())
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    ctx: PageCtx,
    token: String,
    email: String,
    problems: crate::web::FieldErrors,
}

/// The first-admin form behind the one-time link; a used or wrong link is a plain 404.
pub async fn setup_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    jar: CookieJar,
) -> Result<Response> {
    if !service::setup_token_usable(&state, &token).await? {
        return Err(AppError::NotFound);
    }
    let (jar, csrf) = anonymous_csrf(jar, state.config.secure_cookies());
    let page = SetupPage {
        ctx: PageCtx::anonymous(csrf, None),
        token,
        email: String::new(),
        problems: Default::default(),
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// The setup form's fields.
#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// Creates the first admin and signs them in.
pub async fn setup(
    State(state): State<AppState>,
    Path(token): Path<String>,
    jar: CookieJar,
    Form(form): Form<SetupForm>,
) -> Result<Response> {
    let secure = state.config.secure_cookies();
    check_anonymous_csrf(&jar, &form.csrf, secure)?;
    if !service::setup_token_usable(&state, &token).await? {
        return Err(AppError::NotFound);
    }
    let mut problems = Vec::new();
    let email = Email::parse(&form.email)
        .map_err(|e| problems.push(("email".to_string(), format!("Email: {e}."))))
        .ok();
    let password = email.as_ref().and_then(|email| {
        NewPassword::parse(form.password.clone(), email)
            .map_err(|e| problems.push(("password".to_string(), format!("Password: {e}."))))
            .ok()
    });
    if form.password != form.confirm {
        problems.push((
            "confirm".into(),
            "Password again: the two passwords differ.".into(),
        ));
    }
    let problems = crate::web::FieldErrors(problems);
    let (Some(email), Some(password), true) = (email, password, problems.is_empty()) else {
        let (jar, csrf) = anonymous_csrf(jar, state.config.secure_cookies());
        let page = SetupPage {
            ctx: PageCtx::anonymous(csrf, None),
            token,
            email: form.email,
            problems,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, jar, Html(page.render()?)).into_response());
    };
    let (session, device) = service::complete_setup(&state, &token, &email, password).await?;
    let jar = jar
        .add(session_cookie(session, secure))
        .add(device_cookie(device, secure));
    let jar = set_flash(
        jar,
        "notice",
        "Your admin account is ready. Create the first study.",
    );
    Ok((jar, Redirect::to("/studies")).into_response())
}
