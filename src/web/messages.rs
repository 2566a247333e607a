//! The Messages tab: the sender and every participant email of a study (edit, preview, test send), and the
//! preview as a participant (consent, diary, check-in) rendered from the current wording, storing nothing.
use super::extract::PathStudy;
use super::studies::StudyNav;
use super::{PageCtx, outcome};
use crate::auth::extract::{AdminForm, NoFields, Staff};
use crate::diary::{DiaryForm, Outcome};
use crate::error::{AppError, Result};
use crate::messages::service::{self, MessageForm};
use crate::messages::{MessageKind, Sender};
use crate::state::AppState;
use crate::study::repo::StudyRow;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

struct TextView {
    key: &'static str,
    label: &'static str,
    when: &'static str,
    version: i64,
    subject: String,
    body: String,
    /// Why the text typed here was refused (it is shown again, as typed).
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "messages/page.html")]
struct MessagesPage {
    ctx: PageCtx,
    nav: StudyNav,
    sender: Sender,
    sender_version: i64,
    /// Why the sender typed here was refused.
    sender_error: Option<(&'static str, String)>,
    texts: Vec<TextView>,
    frozen: Option<String>,
    locked: bool,
    placeholders: Vec<(String, &'static str, String)>,
}

/// What an admin typed and why it was refused: it is shown again in its form, with the reason beside it.
enum Refused {
    Message(MessageKind, MessageForm, String),
    /// The typed sender, the refused field and why.
    Sender(Sender, &'static str, String),
}

impl MessagesPage {
    /// Whether the refused sender field is `field`.
    fn sender_err(&self, field: &str) -> bool {
        matches!(&self.sender_error, Some((f, _)) if *f == field)
    }
}

async fn render(
    state: &AppState,
    staff: &Staff,
    jar: CookieJar,
    study: &StudyRow,
    refused: Option<Refused>,
) -> Result<Response> {
    let m = service::messages(state, study.id).await?;
    let (jar, mut ctx) = PageCtx::staff(staff, jar);
    let locked = m.frozen.is_some() || !ctx.is_admin;
    let (mut sender, mut sender_error) = (m.sender, None);
    let mut texts: Vec<TextView> = m
        .texts
        .into_iter()
        .map(|t| TextView {
            key: t.kind.as_str(),
            label: t.kind.label(),
            when: t.kind.when(),
            version: t.version,
            subject: t.subject,
            body: t.body,
            error: None,
        })
        .collect();
    let status = match refused {
        None => StatusCode::OK,
        Some(r) => {
            let why = match r {
                Refused::Message(kind, form, why) => {
                    if let Some(t) = texts.iter_mut().find(|t| t.key == kind.as_str()) {
                        t.subject = form.subject;
                        t.body = form.body;
                        t.error = Some(why.clone());
                    }
                    why
                }
                Refused::Sender(typed, field, why) => {
                    sender = typed;
                    sender_error = Some((field, why.clone()));
                    why
                }
            };
            ctx.flash = Some(super::Flash {
                kind: "error",
                text: format!("Nothing was saved: {why}"),
                field: String::new(),
            });
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    let page = MessagesPage {
        ctx,
        nav: StudyNav::new(study, "messages"),
        sender,
        sender_version: m.sender_version,
        sender_error,
        texts,
        frozen: m.frozen,
        locked,
        placeholders: service::placeholder_lines(),
    };
    Ok((status, jar, Html(page.render()?)).into_response())
}

/// The study's sender and messages (admins edit; everyone else reads).
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    render(&state, &staff, jar, &study, None).await
}

fn kind_of(key: &str) -> Result<MessageKind> {
    MessageKind::parse(key).ok_or(AppError::NotFound)
}

fn back(study: &StudyRow, anchor: &str) -> String {
    format!("/studies/{}/messages{anchor}", study.id.0)
}

/// Saves a message as its next version; a refused text is shown again as typed, with the reason.
pub async fn save(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    Path((_, key)): Path<(i64, String)>,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<MessageForm>,
) -> Result<Response> {
    let kind = kind_of(&key)?;
    let r = service::edit_message(&state, &staff.actor(), study.id, kind, &form).await;
    let back = back(&study, &format!("#{key}"));
    match r {
        Ok(v) => outcome(
            Ok(()),
            jar,
            &back,
            format!("{} saved as version {v}.", kind.label()),
        ),
        Err(AppError::BadRequest(why)) => {
            let refused = Refused::Message(kind, form, why);
            render(&state, &staff, jar, &study, Some(refused)).await
        }
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

/// Saves the sender as its next version.
pub async fn sender(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<Sender>,
) -> Result<Response> {
    let r = service::edit_sender(&state, &staff.actor(), study.id, &form).await;
    let back = back(&study, "#sender");
    match r {
        Ok(v) => outcome(Ok(()), jar, &back, format!("Sender saved as version {v}.")),
        Err(AppError::Field { field, message }) => {
            let refused = Refused::Sender(form, field, message);
            render(&state, &staff, jar, &study, Some(refused)).await
        }
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

#[derive(Template)]
#[template(path = "messages/preview.html")]
struct PreviewPage {
    ctx: PageCtx,
    nav: StudyNav,
    key: &'static str,
    label: &'static str,
    from: String,
    to: String,
    subject: String,
    text: String,
    html: String,
    /// The HTML part's paragraphs (escaped from the text), shown as they render.
    html_body: String,
}

/// A message as it will arrive (sender, subject, text part and HTML part), with sample values and a fake
/// link.
pub async fn preview(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    Path((_, key)): Path<(i64, String)>,
    jar: CookieJar,
) -> Result<Response> {
    let kind = kind_of(&key)?;
    let p = service::preview(&state, study.id, kind).await?;
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = PreviewPage {
        to: ctx.email.clone(),
        ctx,
        nav: StudyNav::new(&study, "messages"),
        key: kind.as_str(),
        label: kind.label(),
        from: p.from,
        subject: p.letter.subject,
        html_body: crate::messages::text::html_paragraphs(&p.letter.text),
        text: p.letter.text,
        html: p.letter.html,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// Sends the message's preview to the signed-in admin's own address.
pub async fn test_send(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    Path((_, key)): Path<(i64, String)>,
    jar: CookieJar,
    AdminForm { staff, .. }: AdminForm<NoFields>,
) -> Result<Response> {
    let kind = kind_of(&key)?;
    let r = service::test_send(&state, &staff.actor(), study.id, kind, &staff.email).await;
    let back = back(&study, &format!("#{key}"));
    match r {
        Ok(()) => outcome(
            Ok(()),
            jar,
            &back,
            format!(
                "A test of \"{}\" was sent to {}; its link does nothing.",
                kind.label(),
                staff.email
            ),
        ),
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

// The participant pages' own content blocks, rendered with sample values inside a preview frame whose
// form controls are disabled: nothing can be sent, and nothing is stored.

#[derive(Template)]
#[template(path = "participant/consent.html", block = "content")]
struct ConsentBlock {
    base: String,
    consent_text: String,
    version: i64,
    notice: crate::participants::service::NoticeLines,
    sha256: String,
    declined: bool,
    control: bool,
    target: i64,
    days: i64,
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
#[template(path = "participant/home.html", block = "content")]
struct HomeBlock {
    base: String,
    notice: Option<&'static str>,
    errors: crate::web::FieldErrors,
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
    control: bool,
}

#[derive(Template)]
#[template(path = "participant/ping.html", block = "content")]
struct PingBlock {
    base: String,
    ping: i64,
    until: String,
    error: crate::web::FieldErrors,
    used: String,
    minutes: [String; 4],
    drop_minutes: bool,
}

#[derive(Template)]
#[template(path = "messages/participant.html")]
struct ParticipantPreviewPage {
    study: String,
    id: i64,
    page: &'static str,
    control: bool,
    inner: String,
}

/// The consent page, the diary (home) page or a check-in as a participant would see them now (`page`:
/// `consent`, `diary` or `ping`; `?control` for the control group's view), with forms that cannot send.
pub async fn participant(
    State(state): State<AppState>,
    _staff: Staff,
    PathStudy(study): PathStudy,
    Path((_, page)): Path<(i64, String)>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response> {
    let control = q.contains_key("control");
    let p = service::participant_preview(&state, study.id).await?;
    // Forms point nowhere that exists; the frame disables them anyway.
    let base = format!("/studies/{}/preview/nothing", study.id.0);
    let s = &p.settings;
    let (name, inner) = match page.as_str() {
        "consent" => (
            "consent",
            ConsentBlock {
                base,
                consent_text: p.shown.consent_text,
                version: p.shown.version,
                notice: p.shown.notice,
                sha256: p.shown.sha256,
                declined: false,
                control,
                target: s.diary_target,
                days: s.diary_days,
            }
            .render()?,
        ),
        "diary" => (
            "diary",
            HomeBlock {
                base,
                notice: None,
                errors: Default::default(),
                logged: 0,
                target: s.diary_target,
                diary_window: Some(format!(
                    "The diary is open for {} days from the day you consent (your time).",
                    s.diary_days
                )),
                diary_open: true,
                editing: None,
                categories: p.categories,
                outcomes: Outcome::ALL
                    .iter()
                    .map(|o| (o.as_str(), o.label()))
                    .collect(),
                form: DiaryForm::default(),
                entries: vec![],
                pings_summary: format!(
                    "Your check-in week runs for {} days from the day after you consent: {} check-ins a working day between {} and {}. Each one arrives by email at a random time in your working hours.",
                    s.ping_days, s.pings_per_day, s.window_start, s.window_end
                ),
                control,
            }
            .render()?,
        ),
        "ping" => {
            let until = chrono::NaiveTime::parse_from_str(&s.window_start, "%H:%M")
                .map(|t| {
                    (t + chrono::Duration::minutes(s.expiry_minutes))
                        .format("%H:%M")
                        .to_string()
                })
                .unwrap_or_default();
            (
                "ping",
                PingBlock {
                    base,
                    ping: 0,
                    until,
                    error: Default::default(),
                    used: String::new(),
                    minutes: Default::default(),
                    drop_minutes: false,
                }
                .render()?,
            )
        }
        _ => return Err(AppError::NotFound),
    };
    let page = ParticipantPreviewPage {
        study: study.name.clone(),
        id: study.id.0,
        page: name,
        control,
        inner,
    };
    Ok(Html(page.render()?).into_response())
}
