//! Staff management (admins): invitations, roles, disabling and deleting accounts; a study's Access tab
//! (grants); and the invited person's setup page behind their one-time link.
use super::extract::PathStudy;
use super::studies::StudyNav;
use super::{PageCtx, outcome, set_flash};
use crate::auth::extract::{Admin, AdminForm, anonymous_csrf, check_anonymous_csrf};
use crate::auth::{Email, NewPassword, Role, UserId};
use crate::error::{AppError, Result};
use crate::staff::service::{self, role_name};
use crate::staff::{Status, StudyRole};
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

const USERS: &str = "/admin/users";

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    ctx: PageCtx,
    users: Vec<UserView>,
    /// (email, setup link) right after an invitation under the file transport.
    link: Option<(String, String)>,
}

struct UserView {
    id: i64,
    email: String,
    admin: bool,
    role: &'static str,
    status: &'static str,
    disabled: bool,
    you: bool,
}

async fn users_page(
    state: &AppState,
    ctx: PageCtx,
    me: UserId,
    link: Option<(String, String)>,
) -> Result<String> {
    let users = service::list(state)
        .await?
        .into_iter()
        .map(|u| UserView {
            id: u.id.0,
            email: u.email,
            admin: u.role == Role::Admin,
            role: role_name(u.role),
            status: u.status.label(),
            disabled: u.status == Status::Disabled,
            you: u.id == me,
        })
        .collect();
    Ok(UsersPage { ctx, users, link }.render()?)
}

/// The staff accounts, the invitation form and each account's actions.
pub async fn users(
    State(state): State<AppState>,
    Admin(staff): Admin,
    jar: CookieJar,
) -> Result<Response> {
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let html = users_page(&state, ctx, staff.user_id, None).await?;
    Ok((jar, Html(html)).into_response())
}

/// The invitation form.
#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

fn parse_role(s: &str) -> Result<Role> {
    s.parse()
        .map_err(|_| AppError::BadRequest("Choose admin or staff.".into()))
}

/// Invites a staff member; under the file transport the page shows the setup link once.
pub async fn invite(
    State(state): State<AppState>,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<InviteForm>,
) -> Result<Response> {
    let parsed = Email::parse(&form.email)
        .map_err(|e| AppError::field("invite-email", format!("Email: {e}.")))
        .and_then(|email| {
            let role = parse_role(&form.role).map_err(|e| match e {
                AppError::BadRequest(m) => AppError::field("invite-role", m),
                e => e,
            })?;
            Ok((email, role))
        });
    let invited = match parsed {
        Ok((email, role)) => service::invite(&state, &staff.actor(), &email, role)
            .await
            .map(|i| (email, i)),
        Err(e) => Err(e),
    };
    let (email, invited) = match invited {
        Ok(x) => x,
        Err(e) => return outcome(Err(e), jar, USERS, ""),
    };
    let notice = format!(
        "Invitation to {} queued: they choose a password through the link in it.",
        email.as_str()
    );
    let Some(link) = invited.link else {
        return outcome(Ok(()), jar, USERS, notice);
    };
    // Shown in this response only (never in a cookie or a redirect): the mail stays on the server.
    let (jar, mut ctx) = PageCtx::staff(&staff, jar);
    ctx.flash = Some(super::Flash {
        kind: "notice",
        text: notice,
        field: String::new(),
    });
    let html = users_page(
        &state,
        ctx,
        staff.user_id,
        Some((email.as_str().into(), link)),
    )
    .await?;
    Ok((jar, Html(html)).into_response())
}

/// The role form.
#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// Changes an account's role.
pub async fn role(
    State(state): State<AppState>,
    Path(user): Path<i64>,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<RoleForm>,
) -> Result<Response> {
    let result = match parse_role(&form.role) {
        Ok(role) => service::set_role(&state, &staff.actor(), UserId(user), role).await,
        Err(e) => Err(e),
    };
    outcome(result, jar, USERS, "Role changed.")
}

/// A button with nothing but its CSRF token, or a confirmation box.
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

/// Disables an account; its sessions end at once.
pub async fn disable(
    State(state): State<AppState>,
    Path(user): Path<i64>,
    jar: CookieJar,
    AdminForm { staff, .. }: AdminForm<ConfirmForm>,
) -> Result<Response> {
    let result = service::disable(&state, &staff.actor(), UserId(user)).await;
    outcome(
        result,
        jar,
        USERS,
        "Account disabled; its sessions were ended.",
    )
}

/// Lets a disabled account sign in again.
pub async fn enable(
    State(state): State<AppState>,
    Path(user): Path<i64>,
    jar: CookieJar,
    AdminForm { staff, .. }: AdminForm<ConfirmForm>,
) -> Result<Response> {
    let result = service::enable(&state, &staff.actor(), UserId(user)).await;
    outcome(result, jar, USERS, "Account enabled.")
}

/// Deletes an account (with its confirmation box ticked).
pub async fn delete(
    State(state): State<AppState>,
    Path(user): Path<i64>,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<ConfirmForm>,
) -> Result<Response> {
    if form.confirm != "yes" {
        let no = Err(AppError::BadRequest(
            "Tick the box to confirm the deletion. Nothing was changed.".into(),
        ));
        return outcome(no, jar, USERS, "");
    }
    let result = service::delete(&state, &staff.actor(), UserId(user))
        .await
        .map(|_| ());
    outcome(result, jar, USERS, "Account deleted.")
}

#[derive(Template)]
#[template(path = "staff/welcome.html")]
struct WelcomePage {
    ctx: PageCtx,
    token: String,
    email: String,
    problems: crate::web::FieldErrors,
}

/// The invited person's page: choose a password. A used, expired or wrong link is a plain 404.
pub async fn welcome_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    jar: CookieJar,
) -> Result<Response> {
    let user = service::setup_link_owner(&state, &token)
        .await?
        .ok_or(AppError::NotFound)?;
    let (jar, csrf) = anonymous_csrf(jar, state.config.secure_cookies());
    let page = WelcomePage {
        ctx: PageCtx::anonymous(csrf, None),
        token,
        email: user.email,
        problems: Default::default(),
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// The setup form's fields.
#[derive(Deserialize)]
pub struct WelcomeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// Sets the password; then the person signs in.
pub async fn welcome(
    State(state): State<AppState>,
    Path(token): Path<String>,
    jar: CookieJar,
    Form(form): Form<WelcomeForm>,
) -> Result<Response> {
    check_anonymous_csrf(&jar, &form.csrf, state.config.secure_cookies())?;
    let user = service::setup_link_owner(&state, &token)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut problems = vec![];
    // The password may not contain the account's own address or name (the stored address is valid).
    let email = crate::auth::Email::parse(&user.email).map_err(AppError::BadRequest)?;
    let password = NewPassword::parse(form.password.clone(), &email)
        .map_err(|e| problems.push(("password".to_string(), format!("Password: {e}."))))
        .ok();
    if form.password != form.confirm {
        problems.push((
            "confirm".to_string(),
            "Password again: the two passwords differ.".to_string(),
        ));
    }
    let problems = crate::web::FieldErrors(problems);
    let (Some(password), true) = (password, problems.is_empty()) else {
        let (jar, csrf) = anonymous_csrf(jar, state.config.secure_cookies());
        let page = WelcomePage {
            ctx: PageCtx::anonymous(csrf, None),
            token,
            email: user.email,
            problems,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, jar, Html(page.render()?)).into_response());
    };
    service::complete_setup(&state, &token, password).await?;
    let jar = set_flash(jar, "notice", "Your password is set. Sign in with it.");
    Ok((jar, Redirect::to("/login")).into_response())
}

#[derive(Template)]
#[template(path = "staff/access.html")]
struct AccessPage {
    ctx: PageCtx,
    nav: StudyNav,
    /// (user id, email, status, study role label).
    grants: Vec<(i64, String, &'static str, &'static str)>,
    /// (user id, email) of staff who are not admins.
    candidates: Vec<(i64, String)>,
}

/// A study's Access tab (admins): who besides the admins sees it, and how much.
pub async fn access_page(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    Admin(staff): Admin,
    jar: CookieJar,
) -> Result<Response> {
    let grants = service::grants(&state, study.id)
        .await?
        .into_iter()
        .map(|g| (g.user_id.0, g.email, g.status.label(), g.role.label()))
        .collect();
    let candidates = service::list(&state)
        .await?
        .into_iter()
        .filter(|u| u.role != Role::Admin)
        .map(|u| (u.id.0, u.email))
        .collect();
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = AccessPage {
        ctx,
        nav: StudyNav::new(&study, "access"),
        grants,
        candidates,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// A grant to give, or to take back.
#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    role: String,
}

fn parse_user(s: &str) -> Result<UserId> {
    s.trim()
        .parse()
        .map(UserId)
        .map_err(|_| AppError::BadRequest("Choose a staff member from the list.".into()))
}

/// Grants a staff member a study role (or changes it).
pub async fn grant(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<GrantForm>,
) -> Result<Response> {
    let back = format!("/studies/{}/access", study.id.0);
    let parsed = parse_user(&form.user).and_then(|u| {
        let role: StudyRole = form.role.parse().map_err(AppError::BadRequest)?;
        Ok((u, role))
    });
    let result = match parsed {
        Ok((user, role)) => service::grant(&state, &staff.actor(), study.id, user, role).await,
        Err(e) => Err(e),
    };
    outcome(result, jar, &back, "Access granted.")
}

/// Takes a grant back.
pub async fn revoke(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<GrantForm>,
) -> Result<Response> {
    let back = format!("/studies/{}/access", study.id.0);
    let result = match parse_user(&form.user) {
        Ok(user) => service::revoke(&state, &staff.actor(), study.id, user).await,
        Err(e) => Err(e),
    };
    outcome(result, jar, &back, "Access revoked.")
}
