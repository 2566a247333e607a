//! The rules of a study's messages: current texts (defaults until saved), edits as new versions (audited,
//! refused once the instruments are frozen), the sender, the letter written at send time, previews with
//! sample values and a test send to the signed-in admin.
use super::repo::{self, MessageRow};
use super::text::{self, letter};
use super::{MessageKind, MessageText, PLACEHOLDERS, Sender, default_text};
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::mail::messages::Letter;
use crate::mail::transport::OutgoingEmail;
use crate::participants::repo::SettingsRow;
use crate::state::AppState;
use crate::study::{Status, StudyId};
use chrono::{Duration, NaiveTime};
use lettre::message::Mailbox;
use sqlx::SqliteConnection;
use std::collections::HashMap;

/// The link a preview or a test send carries: visibly fake, on a domain that can never resolve.
pub const SAMPLE_LINK: &str = "https://preview.invalid/this-is-a-preview-the-link-does-nothing";
/// The withdraw link of a preview or test.
pub const SAMPLE_WITHDRAW: &str = "https://preview.invalid/this-is-a-preview-withdraw-does-nothing";

/// A study's messages as the page shows them.
pub struct Messages {
    /// The sender (the configuration's until one is saved).
    pub sender: Sender,
    /// The sender's saved version (0: never saved).
    pub sender_version: i64,
    /// Every message, in page order.
    pub texts: Vec<MessageText>,
    /// Why edits are refused (the instruments are frozen), if they are.
    pub frozen: Option<String>,
}

/// The sender the configuration gives (`mail.from`), with no organisation or contact.
fn configured_sender(state: &AppState) -> Sender {
    let parsed: Option<Mailbox> = state.config.mail.from.parse().ok();
    Sender {
        name: parsed
            .as_ref()
            .and_then(|m| m.name.clone())
            .unwrap_or_else(|| "Layer 2 Study".into()),
        address: parsed.map(|m| m.email.to_string()).unwrap_or_default(),
        organisation: String::new(),
        contact: String::new(),
    }
}

async fn sender_of(
    state: &AppState,
    conn: &mut SqliteConnection,
    study: StudyId,
) -> Result<(Sender, i64)> {
    Ok(match repo::current_sender(&mut *conn, study).await? {
        Some(r) => (
            Sender {
                name: r.name,
                address: r.address,
                organisation: r.organisation,
                contact: r.contact,
            },
            r.version,
        ),
        None => (configured_sender(state), 0),
    })
}

async fn texts_of(conn: &mut SqliteConnection, study: StudyId) -> Result<Vec<MessageText>> {
    let saved = repo::current_messages(&mut *conn, study).await?;
    Ok(MessageKind::ALL
        .into_iter()
        .map(|kind| match saved.iter().find(|r| r.message == kind) {
            Some(r) => MessageText {
                kind,
                version: r.version,
                subject: r.subject.clone(),
                body: r.body.clone(),
            },
            None => {
                let (subject, body) = default_text(kind);
                MessageText {
                    kind,
                    version: 0,
                    subject: subject.into(),
                    body: body.into(),
                }
            }
        })
        .collect())
}

/// Why the messages can no longer change: they freeze with the instruments (collection has started).
async fn frozen(conn: &mut SqliteConnection, study: StudyId) -> Result<Option<String>> {
    let s = crate::study::repo::get(&mut *conn, study)
        .await?
        .ok_or(AppError::NotFound)?;
    let instrument = crate::participants::repo::instrument(&mut *conn, study).await?;
    let frozen_at = instrument.and_then(|i| i.frozen_at);
    Ok(match frozen_at {
        Some(at) => Some(format!(
            "Frozen on {} with the instruments: collection has started, so everyone gets the same messages.",
            at.format("%Y-%m-%d")
        )),
        None if s.status() >= Status::Collection => Some(
            "Frozen with the instruments: collection has started, so everyone gets the same messages."
                .into(),
        ),
        None => None,
    })
}

/// The study's sender, messages (defaults where none was saved) and whether they are frozen.
pub async fn messages(state: &AppState, study: StudyId) -> Result<Messages> {
    let mut conn = state.pool.acquire().await?;
    let (sender, sender_version) = sender_of(state, &mut conn, study).await?;
    Ok(Messages {
        sender,
        sender_version,
        texts: texts_of(&mut conn, study).await?,
        frozen: frozen(&mut conn, study).await?,
    })
}

/// The current subject of the invitation and of the control group's invitation, filled for the study
/// (for the confirmation page before invitations go out).
pub async fn invitation_subjects(state: &AppState, study: StudyId) -> Result<(String, String)> {
    let (values, texts, _) = study_values(state, study).await?;
    let subject = |kind: MessageKind| {
        texts
            .iter()
            .find(|t| t.kind == kind)
            .map(|t| text::fill(t.subject.trim(), &values))
            .unwrap_or_default()
    };
    Ok((
        subject(MessageKind::Invitation),
        subject(MessageKind::ControlInvitation),
    ))
}

/// The message form: subject and body.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct MessageForm {
    /// Subject with placeholders.
    #[serde(default)]
    pub subject: String,
    /// Body with placeholders.
    #[serde(default)]
    pub body: String,
}

/// Saves a message as its next version; refused (nothing saved) when the text is not valid or the
/// instruments are frozen. Returns the version now current.
#[tracing::instrument(skip_all, fields(study = study.0, message = kind.as_str()))]
pub async fn edit_message(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    kind: MessageKind,
    f: &MessageForm,
) -> Result<i64> {
    let body = f.body.replace("\r\n", "\n");
    text::check(kind, &f.subject, &body).map_err(AppError::BadRequest)?;
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    if let Some(why) = frozen(&mut tx, study).await? {
        return Err(AppError::Conflict(format!(
            "{why} The message was not changed."
        )));
    }
    let current = texts_of(&mut tx, study)
        .await?
        .into_iter()
        .find(|t| t.kind == kind)
        .expect("every kind has a text");
    let (subject, body) = (f.subject.trim().to_string(), body.trim().to_string());
    if current.subject == subject && current.body == body {
        return Ok(current.version);
    }
    let version = current.version + 1;
    let row = MessageRow {
        message: kind,
        version,
        subject,
        body,
    };
    repo::insert_message(&mut tx, study, &row, now).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "messages.edit",
        Some(study.0),
        &format!("{} message, version {version}", kind.as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok(version)
}

/// Saves the sender as its next version; refused (nothing saved) when a field is not valid (line breaks,
/// an address lettre cannot parse) or the instruments are frozen. Returns the version now current.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn edit_sender(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    f: &Sender,
) -> Result<i64> {
    let sender = text::check_sender(f).map_err(|(field, m)| AppError::field(field, m))?;
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    if let Some(why) = frozen(&mut tx, study).await? {
        return Err(AppError::Conflict(format!(
            "{why} The sender was not changed."
        )));
    }
    let (current, version) = sender_of(state, &mut tx, study).await?;
    if current == sender && version > 0 {
        return Ok(version);
    }
    repo::insert_sender(&mut tx, study, version + 1, &sender, now).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "messages.sender",
        Some(study.0),
        &format!("sender version {}", version + 1),
    )
    .await?;
    tx.commit().await?;
    Ok(version + 1)
}

/// What the placeholders become for everyone in a study (name, organisation, contact and the settings),
/// with the study's current texts and sender.
async fn study_values(
    state: &AppState,
    study: StudyId,
) -> Result<(HashMap<&'static str, String>, Vec<MessageText>, Sender)> {
    let mut conn = state.pool.acquire().await?;
    let s = crate::study::repo::get(&mut *conn, study)
        .await?
        .ok_or(AppError::NotFound)?;
    let (sender, _) = sender_of(state, &mut conn, study).await?;
    let texts = texts_of(&mut conn, study).await?;
    let settings = crate::participants::repo::settings(&mut conn, study).await?;
    drop(conn);
    let organisation = if sender.organisation.is_empty() {
        crate::study::service::privacy_notice(state, study)
            .await?
            .map(|(n, _)| n.controller)
            .unwrap_or_else(|| "Your organisation".into())
    } else {
        sender.organisation.clone()
    };
    let contact = if sender.contact.is_empty() {
        format!("{} <{}>", sender.name, sender.address)
    } else {
        sender.contact.clone()
    };
    let mut v = settings_values(&settings);
    v.insert("study", s.name);
    v.insert("organisation", organisation);
    v.insert("contact", contact);
    Ok((v, texts, sender))
}

/// The collection settings' placeholders (also usable in the consent text).
pub fn settings_values(s: &SettingsRow) -> HashMap<&'static str, String> {
    HashMap::from([
        ("diary_target", s.diary_target.to_string()),
        ("diary_days", s.diary_days.to_string()),
        ("pings_per_day", s.pings_per_day.to_string()),
        ("ping_days", s.ping_days.to_string()),
        ("window_start", s.window_start.clone()),
        ("window_end", s.window_end.clone()),
        ("answer_minutes", s.expiry_minutes.to_string()),
        ("reminder_days", s.reminder_days.to_string()),
    ])
}

/// The placeholders the consent text may use: the collection settings' numbers.
pub const CONSENT_PLACEHOLDERS: [&str; 8] = [
    "diary_target",
    "diary_days",
    "pings_per_day",
    "ping_days",
    "window_start",
    "window_end",
    "answer_minutes",
    "reminder_days",
];

/// Checks the placeholders of a consent text (only the collection settings' numbers are allowed).
pub fn check_consent_text(consent: &str) -> Result<()> {
    match text::placeholders(consent)
        .into_iter()
        .find(|p| !CONSENT_PLACEHOLDERS.contains(p))
    {
        Some(p) => Err(AppError::BadRequest(format!(
            "Unknown placeholder {{{p}}} in the consent text: use one of {}.",
            CONSENT_PLACEHOLDERS
                .iter()
                .map(|p| format!("{{{p}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        None => Ok(()),
    }
}

/// The consent text with the collection settings' numbers filled in (so it promises what the settings ask).
pub fn fill_consent(consent: &str, settings: &SettingsRow) -> String {
    text::fill(consent, &settings_values(settings))
}

/// What one person's message needs beyond the study: their links and counts, as they stand at sending.
pub struct PersonValues<'a> {
    /// Their own link.
    pub link: &'a str,
    /// Their withdraw link.
    pub withdraw: &'a str,
    /// When the check-in closes (HH:MM, their time), for a ping.
    pub until: Option<String>,
    /// Tasks logged.
    pub logged: i64,
    /// Check-ins missed.
    pub missed: i64,
    /// Check-ins still to come.
    pub checkins_left: i64,
}

/// What every message of one study shares: the placeholders' study values, the current texts, the sender
/// and the privacy contact. The mail drain reads it once per batch and study, not once per message (six
/// reads a message before).
pub struct StudyLetters {
    values: HashMap<&'static str, String>,
    texts: Vec<MessageText>,
    sender: Sender,
    privacy: Option<String>,
}

/// Reads what a study's messages share.
pub async fn study_letters(state: &AppState, study: StudyId) -> Result<StudyLetters> {
    let (values, texts, sender) = study_values(state, study).await?;
    let privacy = crate::mail::outbox::privacy_contact(state, study).await?;
    Ok(StudyLetters {
        values,
        texts,
        sender,
        privacy,
    })
}

/// Writes one message as it will be sent: the current text filled for the study and the person, the
/// privacy contact at the end, and the study's From mailbox.
pub async fn compose(
    state: &AppState,
    study: StudyId,
    kind: MessageKind,
    person: &PersonValues<'_>,
) -> Result<(Letter, Option<Mailbox>)> {
    Ok(study_letters(state, study).await?.compose(kind, person))
}

impl StudyLetters {
    /// One message of the study for one person.
    pub fn compose(
        &self,
        kind: MessageKind,
        person: &PersonValues<'_>,
    ) -> (Letter, Option<Mailbox>) {
        let mut values = self.values.clone();
        values.insert("link", person.link.to_string());
        values.insert("withdraw_link", person.withdraw.to_string());
        values.insert("logged", person.logged.to_string());
        values.insert("missed", person.missed.to_string());
        values.insert("checkins_left", person.checkins_left.to_string());
        if let Some(until) = &person.until {
            values.insert("until", until.clone());
        }
        let t = self
            .texts
            .iter()
            .find(|t| t.kind == kind)
            .expect("every kind has a text");
        let letter = letter(&t.subject, &t.body, &values, self.privacy.as_deref());
        (letter, text::mailbox(&self.sender).ok())
    }
}

/// A message as it will arrive, filled with sample values and fake links.
pub struct Preview {
    /// The From header.
    pub from: String,
    /// Subject, text and HTML.
    pub letter: Letter,
    /// Its From mailbox.
    pub mailbox: Option<Mailbox>,
}

/// A message filled with sample values (2 tasks logged, 3 check-ins missed, 9 to come) and a fake link.
pub async fn preview(state: &AppState, study: StudyId, kind: MessageKind) -> Result<Preview> {
    let settings = {
        let mut conn = state.pool.acquire().await?;
        crate::participants::repo::settings(&mut conn, study).await?
    };
    let until = NaiveTime::parse_from_str(&settings.window_start, "%H:%M")
        .map(|t| {
            (t + Duration::minutes(settings.expiry_minutes))
                .format("%H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| "10:00".into());
    let person = PersonValues {
        link: SAMPLE_LINK,
        withdraw: SAMPLE_WITHDRAW,
        until: Some(until),
        logged: 2,
        missed: 3,
        checkins_left: 9,
    };
    let (letter, mailbox) = compose(state, study, kind, &person).await?;
    let from = mailbox
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| state.config.mail.from.clone());
    Ok(Preview {
        from,
        letter,
        mailbox,
    })
}

/// Sends a message's preview to the signed-in admin's own address, through the real mailer, with the
/// fake link (never a participant's token); audited without the address.
#[tracing::instrument(skip_all, fields(study = study.0, message = kind.as_str()))]
pub async fn test_send(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    kind: MessageKind,
    to: &str,
) -> Result<()> {
    let p = preview(state, study, kind).await?;
    let email = OutgoingEmail {
        to: to.to_string(),
        subject: format!("[Test] {}", p.letter.subject),
        text: p.letter.text,
        html: p.letter.html,
        message_id: format!(
            "test-{}@layer2.invalid",
            &crate::auth::token::new_token()[..32]
        ),
    };
    state
        .mailer
        .send_as(&email, p.mailbox.as_ref())
        .await
        .map_err(|e| AppError::Conflict(format!("The test could not be sent: {e}")))?;
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "messages.test_send",
        Some(study.0),
        &format!(
            "test of the {} message sent to the admin's own address",
            kind.as_str()
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The placeholders a message may use, for the page: (`{name}`, meaning, where).
pub fn placeholder_lines() -> Vec<(String, &'static str, String)> {
    PLACEHOLDERS
        .iter()
        .map(|p| {
            let place = match p.only {
                None if p.link => "every body (not the subject)".to_string(),
                None => "every message".to_string(),
                Some(kinds) => kinds
                    .iter()
                    .map(|k| k.label())
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            (format!("{{{}}}", p.name), p.meaning, place)
        })
        .collect()
}

/// What the participant preview needs: the consent page as shown now, the task categories and settings.
pub struct ParticipantPreview {
    /// The consent page's text, version, notice and hash, as a participant sees them.
    pub shown: crate::participants::service::Shown,
    /// Task categories of the current wording.
    pub categories: Vec<String>,
    /// The collection settings.
    pub settings: SettingsRow,
}

/// The current wording and settings for the preview as a participant; stores nothing about anyone.
pub async fn participant_preview(state: &AppState, study: StudyId) -> Result<ParticipantPreview> {
    let (instrument, shown) = crate::participants::service::preview(state, study).await?;
    Ok(ParticipantPreview {
        settings: shown.settings.clone(),
        shown,
        categories: instrument.categories(),
    })
}
