//! Participants' pages behind a magic link: no password, no staff session. The token in the path is a
//! 256-bit secret, so it also stands in for a CSRF token: another site cannot forge a form to it.
use crate::diary::{DiaryForm, Outcome};
use crate::error::{AppError, Result};
use crate::participants::repo::ParticipantRow;
use crate::participants::service::{self, LinkCheck};
use crate::participants::{Arm, Decision};
use crate::pings::service::{AnswerOutcome, LinkedPing};
use crate::pings::{PingAnswer, PingForm, PingStatus};
use crate::state::AppState;
use crate::web::FieldErrors;
use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};

/// The diary form's field labels, to name a field in its error message.
fn diary_label(field: &str) -> &'static str {
    match field {
        "category" => "Task category",
        "description" => "Short description",
        "outcome" => "How much of the AI output you used",
        "minutes_with_ai" => "Minutes with the AI",
        "minutes_without_ai" => "Minutes without the AI",
        "minutes" => "Minutes the task took",
        _ => "",
    }
}

#[derive(Template)]
#[template(path = "participant/message.html")]
struct MessagePage<'a> {
    study: &'a str,
    title: &'a str,
    message: &'a str,
    home: &'a str,
    /// The organisation's data protection contact (the bad-link page only).
    contact: &'a str,
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
        contact: "",
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The same answer for every bad link: malformed, unknown, expired, erased or another participant's; it
/// names the organisation's data protection contact when the configuration gives one.
fn bad_link(state: &AppState) -> Result<Response> {
    let page = MessagePage {
        study: "Layer 2 Study",
        title: "This link does not work",
        message: "It may be mistyped or out of date. Use the newest email from the study, or ask the study team for a new link.",
        home: "",
        contact: state.config.privacy_contact.trim(),
    };
    Ok((StatusCode::NOT_FOUND, Html(page.render()?)).into_response())
}

/// The client's address by the same rule as login (the socket's, or behind a trusted proxy the address the
/// proxy saw), so a guesser behind the proxy is slowed down and other people behind it are not.
pub struct Client(IpAddr);

impl FromRequestParts<AppState> for Client {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let ConnectInfo(addr) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("no client address: {e}")))?;
        Ok(Client(super::auth::client_address(
            state,
            addr,
            &parts.headers,
        )))
    }
}

/// Finds the participant behind a link, or the response for a bad (or throttled) link.
async fn participant(
    state: &AppState,
    token: &str,
    client: IpAddr,
) -> Result<std::result::Result<ParticipantRow, Response>> {
    Ok(match service::check_link(state, token, client).await? {
        LinkCheck::Valid(p) => Ok(*p),
        LinkCheck::Bad => Err(bad_link(state)?),
        LinkCheck::Throttled => Err(message(
            StatusCode::TOO_MANY_REQUESTS,
            "Layer 2 Study",
            "Too many attempts",
            "Too many links that do not work came from your network. Wait a few minutes and use the newest email from the study.",
            "",
        )?),
    })
}

macro_rules! participant_or_return {
    ($state:expr, $token:expr, $client:expr) => {
        match participant(&$state, &$token, $client).await? {
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
    /// The privacy notice, as hashed into the decision.
    notice: service::NoticeLines,
    /// SHA-256 of the consent text and notice shown; the form sends it back.
    sha256: String,
    declined: bool,
    control: bool,
    /// The control group's promise: tasks asked for, over how many days.
    target: i64,
    days: i64,
}

#[derive(Template)]
#[template(path = "participant/home.html")]
struct HomePage<'a> {
    study: &'a str,
    base: String,
    notice: Option<&'a str>,
    errors: FieldErrors,
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
    error: FieldErrors,
    used: String,
    minutes: [String; 4],
    /// Set after "No" with minutes was asked back: sending again drops the minutes.
    drop_minutes: bool,
}

#[allow(clippy::too_many_arguments)]
async fn home(
    state: &AppState,
    p: &ParticipantRow,
    token: &str,
    status: StatusCode,
    notice: Option<&str>,
    errors: FieldErrors,
    form: DiaryForm,
    editing: Option<i64>,
) -> Result<Response> {
    let home = service::home(state, p).await?;
    let zone = p.tz();
    let when = |at: chrono::DateTime<Utc>| {
        at.with_timezone(&zone)
            .format("%a %d %b, %H:%M")
            .to_string()
    };
    let mut entries: Vec<EntryView> = home
        .log
        .tasks
        .into_iter()
        .map(|t| EntryView {
            id: t.id,
            outcome: "",
            category: t.category,
            description: t.description,
            minutes_with_ai: 0,
            minutes_without_ai: t.minutes,
            when: when(t.created_at),
        })
        .collect();
    entries.extend(home.log.entries.into_iter().map(|e| {
        EntryView {
            id: e.id,
            outcome: Outcome::parse(&e.outcome)
                .map(Outcome::label)
                .unwrap_or("?"),
            category: e.category,
            description: e.description,
            minutes_with_ai: e.minutes_with_ai,
            minutes_without_ai: e.minutes_without_ai,
            when: when(e.created_at),
        }
    }));
    let pings = home.pings;
    let answered = pings
        .iter()
        .filter(|g| g.status == PingStatus::Answered)
        .count();
    let now = state.clock.now();
    let next = pings
        .iter()
        .find(|g| g.status == PingStatus::Scheduled && g.due_at > now);
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
        target: home.target,
        diary_window,
        diary_open: home.diary_open,
        editing,
        categories: home.categories,
        outcomes: Outcome::ALL
            .iter()
            .map(|o| (o.as_str(), o.label()))
            .collect(),
        form: editing_form,
        entries,
        pings_summary,
        control: p.arm == Arm::Control,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The link's page: consent first, then the ping the link was sent for (while answerable), else the home page.
/// A GET or HEAD changes nothing: mail scanners open links.
pub async fn open(
    State(state): State<AppState>,
    Client(client): Client,
    Path(token): Path<String>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, client);
    if p.withdrawn_at.is_some() {
        return message(
            StatusCode::OK,
            &p.study_name,
            "You have left the study",
            "Nothing more will be sent to you. Thank you for your time.",
            "",
        );
    }
    if !p.accepted() {
        let shown = service::shown(&state, p.study_id).await?;
        let page = ConsentPage {
            study: &p.study_name,
            base: base(&token),
            consent_text: shown.consent_text,
            version: shown.version,
            notice: shown.notice,
            sha256: shown.sha256,
            declined: p.consent == Some(Decision::Declined),
            control: p.arm == Arm::Control,
            target: shown.settings.diary_target,
            days: shown.settings.diary_days,
        };
        return Ok(Html(page.render()?).into_response());
    }
    if let Some(ping) = p.link_ping {
        let closed = |text: &str| {
            message(
                StatusCode::OK,
                &p.study_name,
                "Check-in closed",
                text,
                &base(&token),
            )
        };
        match crate::pings::service::linked(&state, &p, ping).await? {
            Some(LinkedPing::Open(id, expires)) => {
                let form = PingForm::default();
                return ping_page(&p, &token, id, expires, None, &form, StatusCode::OK);
            }
            Some(LinkedPing::Answered) => {
                return closed("This check-in is already answered. Thank you!");
            }
            Some(LinkedPing::Closed) => {
                return closed("This check-in has closed. The next one will come by email.");
            }
            None => {}
        }
    }
    home(
        &state,
        &p,
        &token,
        StatusCode::OK,
        None,
        FieldErrors::default(),
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
    error: Option<crate::pings::PingProblem>,
    f: &PingForm,
    status: StatusCode,
) -> Result<Response> {
    // Asked back about "No" with minutes: the next send of the same form drops them.
    let drop_minutes = error
        .as_ref()
        .is_some_and(|e| e.message.contains("also entered minutes"));
    let page = PingPage {
        study: &p.study_name,
        base: base(token),
        ping,
        until: expires.with_timezone(&p.tz()).format("%H:%M").to_string(),
        error: FieldErrors(
            error
                .into_iter()
                .map(|e| (e.field.to_string(), e.message))
                .collect(),
        ),
        drop_minutes,
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
    /// The SHA-256 of the consent text and privacy notice shown.
    shown: Option<String>,
}

/// Records yes or no.
pub async fn consent(
    State(state): State<AppState>,
    Client(client): Client,
    Path(token): Path<String>,
    Form(f): Form<ConsentForm>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, client);
    let Some(decision) = Decision::from_button(&f.decision) else {
        return Err(AppError::BadRequest("Choose yes or no.".into()));
    };
    let accept = decision == Decision::Accepted;
    let seen = service::Seen {
        version: f.version,
        sha256: f.shown.filter(|h| !h.is_empty()),
    };
    match service::decide(&state, &p, accept, Some(seen)).await {
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
        // The text changed while the page was open: back to the participant's own page, which shows the
        // new text (never the staff error page).
        Err(AppError::BadRequest(m)) => message(
            StatusCode::BAD_REQUEST,
            &p.study_name,
            "Please read it again",
            &m,
            &base(&token),
        ),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "participant/withdraw.html")]
struct WithdrawPage<'a> {
    study: &'a str,
    base: String,
    notice: service::NoticeLines,
    error: Option<&'a str>,
    /// Already left: only erasure is left to offer.
    withdrawn: bool,
}

async fn withdraw_form(
    state: &AppState,
    p: &ParticipantRow,
    token: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Result<Response> {
    let page = WithdrawPage {
        study: &p.study_name,
        base: base(token),
        notice: service::notice(state, p.study_id).await?,
        error,
        withdrawn: p.withdrawn_at.is_some(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The leave-the-study page: leave, or leave and delete my answers, with the privacy notice (a GET changes
/// nothing).
pub async fn withdraw_page(
    State(state): State<AppState>,
    Client(client): Client,
    Path(token): Path<String>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, client);
    withdraw_form(&state, &p, &token, StatusCode::OK, None).await
}

/// The withdraw page's choice.
#[derive(Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    choice: String,
}

/// Leaves the study, or leaves and erases, on an explicit choice only: a link scanner's empty or default
/// POST gets 422 and changes nothing.
pub async fn withdraw(
    State(state): State<AppState>,
    Client(client): Client,
    Path(token): Path<String>,
    Form(f): Form<WithdrawForm>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, client);
    let Some(choice) = service::Leaving::from_button(&f.choice) else {
        return withdraw_form(
            &state,
            &p,
            &token,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Choose one of the buttons below: nothing has changed yet."),
        )
        .await;
    };
    service::withdraw(&state, &p, choice).await?;
    let (title, text) = match choice {
        service::Leaving::Leave => (
            "You have left the study",
            "Nothing more will be sent to you. Thank you for your time.",
        ),
        service::Leaving::LeaveAndErase => (
            "Your answers are deleted",
            "You have left the study, and your answers, diary entries, check-ins, consent record and emails \
             have been deleted. Nothing more will be sent to you, and the links in your emails no longer work.",
        ),
    };
    message(StatusCode::OK, &p.study_name, title, text, "")
}

/// A new diary entry.
pub async fn diary_add(
    State(state): State<AppState>,
    Client(client): Client,
    Path(token): Path<String>,
    Form(f): Form<DiaryForm>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, client);
    save(&state, &p, &token, None, f).await
}

/// An edited diary entry.
pub async fn diary_edit(
    State(state): State<AppState>,
    Client(client): Client,
    Path((token, id)): Path<(String, i64)>,
    Form(f): Form<DiaryForm>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, client);
    save(&state, &p, &token, Some(id), f).await
}

/// The edit form for one entry.
pub async fn diary_edit_page(
    State(state): State<AppState>,
    Client(client): Client,
    Path((token, id)): Path<(String, i64)>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, client);
    home(
        &state,
        &p,
        &token,
        StatusCode::OK,
        None,
        FieldErrors::default(),
        DiaryForm::default(),
        Some(id),
    )
    .await
}

async fn save(
    state: &AppState,
    p: &ParticipantRow,
    token: &str,
    id: Option<i64>,
    f: DiaryForm,
) -> Result<Response> {
    match crate::diary::service::submit(state, p, id, &f).await {
        Ok(Ok(())) => {
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
                FieldErrors::default(),
                DiaryForm::default(),
                None,
            )
            .await
        }
        Ok(Err(problems)) => {
            let errors = FieldErrors(
                problems
                    .into_iter()
                    .map(|(f, m)| {
                        let text = format!("{}: {m}.", diary_label(&f));
                        (f, text)
                    })
                    .collect(),
            );
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
        Err(AppError::Conflict(m)) => {
            let errors = FieldErrors(vec![(String::new(), m)]);
            home(state, p, token, StatusCode::CONFLICT, None, errors, f, id).await
        }
        Err(AppError::NotFound) => bad_link(state),
        Err(e) => Err(e),
    }
}

/// Answers a ping: once, inside its window; an empty answer is refused without using up the ping.
pub async fn answer(
    State(state): State<AppState>,
    Client(client): Client,
    Path((token, ping)): Path<(String, i64)>,
    Form(f): Form<PingForm>,
) -> Result<Response> {
    let p = participant_or_return!(state, token, client);
    let a = match PingAnswer::parse(&f) {
        Ok(a) => a,
        Err(m) => {
            // Another participant's ping looks exactly like a bad link.
            let Some(g) = crate::pings::service::find(&state, &p, ping).await? else {
                return bad_link(&state);
            };
            return ping_page(
                &p,
                &token,
                g.id,
                g.expires_at,
                Some(m),
                &f,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let text = match crate::pings::service::answer(&state, &p, ping, &a).await? {
        AnswerOutcome::Stored => {
            return message(
                StatusCode::OK,
                &p.study_name,
                "Thank you!",
                "Your answer is saved.",
                &base(&token),
            );
        }
        AnswerOutcome::Unknown => return bad_link(&state),
        AnswerOutcome::AlreadyAnswered => {
            "This check-in was already answered; your first answer counts."
        }
        AnswerOutcome::Closed => {
            "Sorry, this check-in has closed, so this answer could not be counted. The next one will come by email."
        }
    };
    message(
        StatusCode::CONFLICT,
        &p.study_name,
        "Check-in closed",
        text,
        &base(&token),
    )
}
