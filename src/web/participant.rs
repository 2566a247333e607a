//! Participants' pages behind a magic link: no password, no staff session. The token in the path is a
//! 256-bit secret, so it also stands in for a CSRF token: another site cannot forge a form to it.
use crate::auth::token::hash_token;
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::participants::repo::{self, ParticipantRow};
use crate::participants::service::{self, AnswerOutcome};
use crate::participants::{ControlTask, DiaryEntry, DiaryForm, Outcome, PingAnswer, PingForm};
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use std::net::SocketAddr;

/// Bad links allowed per client address within 15 minutes before bad links get 429 (good links still work).
pub const BAD_LINK_LIMIT: usize = 30;

#[derive(Template)]
#[template(path = "participant/message.html")]
struct MessagePage<'a> {
    study: &'a str,
    title: &'a str,
    message: &'a str,
    home: &'a str,
}

fn message(
    status: StatusCode,
    study: &str,
    title: &str,
    text: &str,
    home: &str,
) -> Result<Response> {
    let page = MessagePage {
        study,
        title,
        message: text,
        home,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The same answer for every bad link: malformed, unknown, expired or another participant's.
fn bad_link() -> Result<Response> {
    message(
        StatusCode::NOT_FOUND,
        "Layer 2 Study",
        "This link does not work",
        "It may be mistyped or out of date. Use the newest email from the study, or ask the study team for a new link.",
        "",
    )
}

/// Finds the participant behind a link; records bad links per client address and slows a guesser down
/// without ever refusing a valid link.
async fn participant(
    state: &AppState,
    token: &str,
    addr: SocketAddr,
) -> Result<std::result::Result<ParticipantRow, Response>> {
    if let Some(p) = service::open_link(state, token).await? {
        return Ok(Ok(p));
    }
    let now = state.clock.now();
    let key = hash_token(&format!("badlink:{}", addr.ip()));
    let mut tx = begin_write(&state.pool).await?;
    let recent =
        crate::auth::repo::failures_since(&mut tx, &key, now - Duration::minutes(15)).await?;
    if recent.len() >= BAD_LINK_LIMIT {
        tx.commit().await?;
        return Ok(Err(message(
            StatusCode::TOO_MANY_REQUESTS,
            "Layer 2 Study",
            "Too many attempts",
            "Too many links that do not work came from your network. Wait a few minutes and use the newest email from the study.",
            "",
        )?));
    }
    crate::auth::repo::insert_failure(&mut tx, &key, now).await?;
    tx.commit().await?;
    Ok(Err(bad_link()?))
}

macro_rules! participant_or_return {
    ($state:expr, $token:expr, $addr:expr) => {
        match participant(&$state, &$token, $addr).await? {
            Ok(p) => p,
            Err(response) => return Ok(response),
        }
    };
}

fn base(token: &str) -> String {
    format!("/p/{token}")
}

#[derive(Template)]
#[template(path = "participant/consent.html")]
struct ConsentPage<'a> {
    study: &'a str,
    base: String,
    consent_text: String,
    version: i64,
    declined: bool,
    control: bool,
}

#[derive(Template)]
#[template(path = "participant/home.html")]
struct HomePage<'a> {
    study: &'a str,
    base: String,
    notice: Option<&'a str>,
    errors: Vec<String>,
    logged: i64,
    target: i64,
    diary_window: Option<String>,
    diary_open: bool,
    editing: Option<i64>,
    categories: Vec<String>,
    outcomes: Vec<(&'static str, &'static str)>,
    form: DiaryForm,
    entries: Vec<EntryView>,
    pings_summary: String,
    /// The control group's diary: category, description and minutes only; no check-ins.
    control: bool,
}

struct EntryView {
    id: i64,
    category: String,
    description: String,
    outcome: &'static str,
    minutes_with_ai: i64,
    minutes_without_ai: i64,
    when: String,
}

#[derive(Template)]
#[template(path = "participant/ping.html")]
struct PingPage<'a> {
    study: &'a str,
    base: String,
    ping: i64,
    until: String,
    error: Option<String>,
    used: String,
    minutes: [String; 4],
}

fn tz(p: &ParticipantRow) -> Tz {
    p.time_zone.parse().unwrap_or(chrono_tz::UTC)
}

#[allow(clippy::too_many_arguments)]
async fn home(
    state: &AppState,
    p: &ParticipantRow,
    token: &str,
    status: StatusCode,
    notice: Option<&str>,
    errors: Vec<String>,
    form: DiaryForm,
    editing: Option<i64>,
) -> Result<Response> {
    let now = state.clock.now();
    let mut conn = state.pool.acquire().await?;
    let settings = repo::settings(&mut conn, p.study_id).await?;
    let instrument = service::instrument(&mut conn, p.study_id, now).await?;
    let zone = tz(p);
    let control = p.arm == "control";
    let mut entries: Vec<EntryView> = if control {
        repo::control_tasks(&mut *conn, p.id)
            .await?
            .into_iter()
            .map(|t| EntryView {
                id: t.id,
                outcome: "",
                category: t.category,
                description: t.description,
                minutes_with_ai: 0,
                minutes_without_ai: t.minutes,
                when: t
                    .created_at
                    .with_timezone(&zone)
                    .format("%a %d %b, %H:%M")
                    .to_string(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let diary: Vec<EntryView> = repo::diary(&mut *conn, p.id)
        .await?
        .into_iter()
        .map(|e| EntryView {
            id: e.id,
            outcome: Outcome::parse(&e.outcome)
                .map(Outcome::label)
                .unwrap_or("?"),
            category: e.category,
            description: e.description,
            minutes_with_ai: e.minutes_with_ai,
            minutes_without_ai: e.minutes_without_ai,
            when: e
                .created_at
                .with_timezone(&zone)
                .format("%a %d %b, %H:%M")
                .to_string(),
        })
        .collect();
    entries.extend(diary);
    let pings = repo::pings(&mut *conn, p.id).await?;
    let answered = pings.iter().filter(|g| g.status == "answered").count();
    let next = pings
        .iter()
        .find(|g| g.status == "scheduled" && g.due_at > now);
    let pings_summary = match (pings.first(), pings.last()) {
        (Some(first), Some(last)) => format!(
            "Your check-in week runs from {} to {}: {} check-ins, {} answered so far.{}",
            first.due_at.with_timezone(&zone).format("%A %d %B"),
            last.due_at.with_timezone(&zone).format("%A %d %B"),
            pings.len(),
            answered,
            if next.is_some() {
                " Each one arrives by email at a random time in your working hours."
            } else {
                ""
            }
        ),
        _ => "No check-ins are planned for you.".into(),
    };
    let diary_window = match (p.diary_opens_on, p.diary_closes_on) {
        (Some(a), Some(b)) => Some(format!(
            "The diary is open from {} to {} (your time).",
            a.format("%d %B"),
            b.format("%d %B")
        )),
        _ => None,
    };
    let editing_form = match editing {
        Some(id) if form.category.is_empty() => entries
            .iter()
            .find(|e| e.id == id)
            .map(|e| DiaryForm {
                category: e.category.clone(),
                description: e.description.clone(),
                outcome: Outcome::ALL
                    .iter()
                    .find(|o| o.label() == e.outcome)
                    .map(|o| o.as_str().to_string())
                    .unwrap_or_default(),
                minutes_with_ai: e.minutes_with_ai.to_string(),
                minutes_without_ai: e.minutes_without_ai.to_string(),
                minutes: e.minutes_without_ai.to_string(),
            })
            .unwrap_or(form),
        _ => form,
    };
    let page = HomePage {
        study: &p.study_name,
        base: base(token),
        notice,
        errors,
        logged: entries.len() as i64,
        target: settings.diary_target,
        diary_window,
        diary_open: service::diary_open(p, now),
        editing,
        categories: instrument.categories(),
        outcomes: Outcome::ALL
            .iter()
            .map(|o| (o.as_str(), o.label()))
            .collect(),
        form: editing_form,
        entries,
        pings_summary,
        control,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The link's page: consent first, then the ping the link was sent for (while answerable), else the home page.
/// A GET or HEAD changes nothing: mail scanners open links.
pub async fn open(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, addr);
    if p.withdrawn_at.is_some() {
        return message(
            StatusCode::OK,
            &p.study_name,
            "You have left the study",
            "Nothing more will be sent to you. Thank you for your time.",
            "",
        );
    }
    if p.consent.as_deref() != Some("accepted") {
        let instrument = {
            let mut conn = state.pool.acquire().await?;
            repo::instrument(&mut *conn, p.study_id).await?
        };
        let (consent_text, version) = match instrument {
            Some(i) => (i.consent_text, i.version),
            None => (crate::participants::DEFAULT_CONSENT.to_string(), 1),
        };
        let page = ConsentPage {
            study: &p.study_name,
            base: base(&token),
            consent_text,
            version,
            declined: p.consent.as_deref() == Some("declined"),
            control: p.arm == "control",
        };
        return Ok(Html(page.render()?).into_response());
    }
    if let Some(ping) = p.link_ping {
        let pings = repo::pings(&state.pool, p.id).await?;
        if let Some(g) = pings.iter().find(|g| g.id == ping) {
            let now = state.clock.now();
            if g.status == "sent" && g.expires_at > now {
                return ping_page(
                    &p,
                    &token,
                    g.id,
                    g.expires_at,
                    None,
                    &PingForm::default(),
                    StatusCode::OK,
                );
            }
            let text = if g.status == "answered" {
                "This check-in is already answered. Thank you!"
            } else {
                "This check-in has closed. The next one will come by email."
            };
            return message(
                StatusCode::OK,
                &p.study_name,
                "Check-in closed",
                text,
                &base(&token),
            );
        }
    }
    home(
        &state,
        &p,
        &token,
        StatusCode::OK,
        None,
        vec![],
        DiaryForm::default(),
        None,
    )
    .await
}

fn ping_page(
    p: &ParticipantRow,
    token: &str,
    ping: i64,
    expires: chrono::DateTime<Utc>,
    error: Option<String>,
    f: &PingForm,
    status: StatusCode,
) -> Result<Response> {
    let page = PingPage {
        study: &p.study_name,
        base: base(token),
        ping,
        until: expires.with_timezone(&tz(p)).format("%H:%M").to_string(),
        error,
        used: f.used.clone(),
        minutes: [
            f.verification.clone(),
            f.correction.clone(),
            f.context.clone(),
            f.trust.clone(),
        ],
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The consent decision.
#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    decision: String,
    /// The consent-text version shown.
    version: Option<i64>,
}

/// Records yes or no.
pub async fn consent(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    Form(f): Form<ConsentForm>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, addr);
    let accept = match f.decision.as_str() {
        "accept" => true,
        "decline" => false,
        _ => return Err(AppError::BadRequest("Choose yes or no.".into())),
    };
    match service::decide(&state, &p, accept, f.version).await {
        Ok(()) if accept => Ok(Redirect::to(&base(&token)).into_response()),
        Ok(()) => message(
            StatusCode::OK,
            &p.study_name,
            "Thank you",
            "You will not take part, and nothing more will be sent to you about this study. If you change your mind, open the link in your invitation again.",
            "",
        ),
        Err(AppError::Conflict(m)) => {
            message(StatusCode::CONFLICT, &p.study_name, "Not possible", &m, "")
        }
        Err(e) => Err(e),
    }
}

/// The leave-the-study confirmation (a GET changes nothing).
pub async fn withdraw_page(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Result<Response> {
    #[derive(Template)]
    #[template(path = "participant/withdraw.html")]
    struct WithdrawPage<'a> {
        study: &'a str,
        base: String,
    }
    let p = participant_or_return!(state, token, addr);
    Ok(Html(
        WithdrawPage {
            study: &p.study_name,
            base: base(&token),
        }
        .render()?,
    )
    .into_response())
}

/// Leaves the study at once.
pub async fn withdraw(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, addr);
    service::withdraw(&state, &p).await?;
    message(
        StatusCode::OK,
        &p.study_name,
        "You have left the study",
        "Nothing more will be sent to you. Thank you for your time.",
        "",
    )
}

/// A new diary entry.
pub async fn diary_add(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    Form(f): Form<DiaryForm>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, addr);
    save(&state, &p, &token, None, f).await
}

/// An edited diary entry.
pub async fn diary_edit(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((token, id)): Path<(String, i64)>,
    Form(f): Form<DiaryForm>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, addr);
    save(&state, &p, &token, Some(id), f).await
}

/// The edit form for one entry.
pub async fn diary_edit_page(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((token, id)): Path<(String, i64)>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, addr);
    home(
        &state,
        &p,
        &token,
        StatusCode::OK,
        None,
        vec![],
        DiaryForm::default(),
        Some(id),
    )
    .await
}

enum Entry {
    Copilot(DiaryEntry),
    Control(ControlTask),
}

async fn save(
    state: &AppState,
    p: &ParticipantRow,
    token: &str,
    id: Option<i64>,
    f: DiaryForm,
) -> Result<Response> {
    let categories = {
        let mut conn = state.pool.acquire().await?;
        service::instrument(&mut conn, p.study_id, state.clock.now())
            .await?
            .categories()
    };
    let parsed = if p.arm == "control" {
        ControlTask::parse(&f, &categories).map(Entry::Control)
    } else {
        DiaryEntry::parse(&f, &categories).map(Entry::Copilot)
    };
    match parsed {
        Ok(entry) => match match &entry {
            Entry::Copilot(e) => service::save_diary(state, p, id, e).await,
            Entry::Control(t) => service::save_control_task(state, p, id, t).await,
        } {
            Ok(()) => {
                let msg = if id.is_some() {
                    "Your change is saved."
                } else {
                    "Task logged. Thank you!"
                };
                home(
                    state,
                    p,
                    token,
                    StatusCode::OK,
                    Some(msg),
                    vec![],
                    DiaryForm::default(),
                    None,
                )
                .await
            }
            Err(AppError::Conflict(m)) => {
                home(state, p, token, StatusCode::CONFLICT, None, vec![m], f, id).await
            }
            Err(AppError::NotFound) => bad_link(),
            Err(e) => Err(e),
        },
        Err(problems) => {
            let errors = problems.into_iter().map(|(_, m)| capitalise(&m)).collect();
            home(
                state,
                p,
                token,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                errors,
                f,
                id,
            )
            .await
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}

/// Answers a ping: once, inside its window; an empty answer is refused without using up the ping.
pub async fn answer(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((token, ping)): Path<(String, i64)>,
    Form(f): Form<PingForm>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, addr);
    let pings = repo::pings(&state.pool, p.id).await?;
    // Another participant's ping looks exactly like a bad link.
    let Some(g) = pings.iter().find(|g| g.id == ping) else {
        return bad_link();
    };
    match PingAnswer::parse(&f) {
        Err(m) => ping_page(
            &p,
            &token,
            g.id,
            g.expires_at,
            Some(m),
            &f,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Ok(a) => match service::answer(&state, &p, ping, &a).await? {
            AnswerOutcome::Stored => message(
                StatusCode::OK,
                &p.study_name,
                "Thank you!",
                "Your answer is saved.",
                &base(&token),
            ),
            AnswerOutcome::NotAnswerable => {
                let already = repo::pings(&state.pool, p.id)
                    .await?
                    .iter()
                    .any(|x| x.id == ping && x.status == "answered");
                let text = if already {
                    "This check-in was already answered; your first answer counts."
                } else {
                    "Sorry, this check-in has closed, so this answer could not be counted. The next one will come by email."
                };
                message(
                    StatusCode::CONFLICT,
                    &p.study_name,
                    "Check-in closed",
                    text,
                    &base(&token),
                )
            }
        },
    }
}
