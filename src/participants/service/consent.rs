//! Consent, withdrawal and removal: what a participant is shown, their decisions and an admin's removal.
use super::instrument::instrument;
use super::local_today;
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::participants::repo::{self, ParticipantRow};
use crate::participants::{Arm, ConsentEvent, DEFAULT_CONSENT, Decision};
use crate::state::AppState;
use crate::study::StudyId;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;

/// How a consent decision is taken (stored with each decision).
pub const CONSENT_METHOD: &str = "web form";

/// The privacy notice as participants read it: (label, text) lines, in order.
pub type NoticeLines = Vec<(&'static str, String)>;

/// Exactly what the consent page shows: the consent text, its version, the privacy notice, and the
/// SHA-256 (hex) of the text and notice together, which the decision records.
#[derive(Clone, Debug)]
pub struct Shown {
    /// The consent text.
    pub consent_text: String,
    /// Its version.
    pub version: i64,
    /// The privacy notice, as rendered.
    pub notice: NoticeLines,
    /// SHA-256 of `consent_text` and `notice` as `shown_text` lays them out.
    pub sha256: String,
    /// The collection settings the text's numbers come from (the control group's promise uses them too).
    pub settings: repo::SettingsRow,
}

/// What a participant saw when they decided (carried by the consent form).
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// The consent-text version shown.
    pub version: Option<i64>,
    /// The SHA-256 of the text shown.
    pub sha256: Option<String>,
}

/// The text a consent decision answers, in one canonical layout: the consent text, a blank line, then one
/// "label: text" line per notice line. The page renders the same lines; the hash is taken over this.
pub fn shown_text(consent_text: &str, notice: &NoticeLines) -> String {
    let mut s = format!("{consent_text}\n\n");
    for (label, text) in notice {
        s.push_str(&format!("{label}: {text}\n"));
    }
    s
}

/// SHA-256 (hex) of `shown_text`.
pub fn shown_sha256(consent_text: &str, notice: &NoticeLines) -> String {
    crate::auth::token::hex(&Sha256::digest(shown_text(consent_text, notice).as_bytes()))
}

/// The study's privacy notice in participants' words: controller, contact, purpose, retention date and who
/// sees what. Before the team has written one, the lines say so and name the organisation's contact.
pub async fn notice(state: &AppState, study: StudyId) -> Result<NoticeLines> {
    let k = state.config.min_cell_size;
    let who = format!(
        "Study admins see your name and email, to send your invitation, check-ins and reminders. Analysts \
         see only pseudonymous data (a code instead of your name). Results are reported only for groups of at \
         least {k} people; your manager does not see your answers."
    );
    let org = state.config.privacy_contact.trim();
    let mut lines = match crate::study::service::privacy_notice(state, study).await? {
        Some((n, until)) => vec![
            ("Data controller", n.controller),
            (
                "Contact",
                format!("{}, {}", n.contact_name, n.contact_email),
            ),
            ("Purpose", n.purpose),
            (
                "Kept until",
                match until {
                    Some(d) => format!(
                        "{}; then your answers and every other record about you are deleted",
                        d.format("%d %B %Y")
                    ),
                    None => "the end of the study's retention period".into(),
                },
            ),
        ],
        None => vec![(
            "Data controller",
            "not stated yet by the study team".to_string(),
        )],
    };
    lines.push(("Who sees what", who));
    if !org.is_empty() {
        lines.push(("Data protection contact", org.to_string()));
    }
    Ok(lines)
}

/// What the consent page shows for a study now (the default wording before any exists).
pub async fn shown(state: &AppState, study: StudyId) -> Result<Shown> {
    let mut conn = state.pool.acquire().await?;
    shown_on(&mut conn, state, study).await
}

async fn shown_on(conn: &mut SqliteConnection, state: &AppState, study: StudyId) -> Result<Shown> {
    let (consent_text, version) = match repo::instrument(&mut *conn, study).await? {
        Some(i) => (i.consent_text, i.version),
        None => (DEFAULT_CONSENT.to_string(), 1),
    };
    // The text's numbers are the collection settings' (placeholders such as `{diary_target}`).
    let settings = repo::settings(conn, study).await?;
    let consent_text = crate::messages::service::fill_consent(&consent_text, &settings);
    let notice = notice(state, study).await?;
    let sha256 = shown_sha256(&consent_text, &notice);
    Ok(Shown {
        consent_text,
        version,
        notice,
        sha256,
        settings,
    })
}

/// What a participant would be shown now, for the admin's preview, storing nothing: the first wording and
/// the settings row that a first real use writes are made inside a transaction that is rolled back.
pub async fn preview(state: &AppState, study: StudyId) -> Result<(repo::InstrumentRow, Shown)> {
    let mut tx = begin_write(&state.pool).await?;
    let i = instrument(&mut tx, study, state.clock.now()).await?;
    let shown = shown_on(&mut tx, state, study).await?;
    tx.rollback().await?;
    Ok((i, shown))
}

/// Records consent or refusal. Consent opens the diary (from today, local) and lays out the ping week
/// (from tomorrow, local); a decline can later become a consent.
/// `seen` is what the person read (the version and the hash of text and notice): if either changed
/// meanwhile, they are asked to read it again rather than being recorded against a text they never saw.
/// The decision records the hash of the text shown; a form that carries no hash (a client that never
/// loaded the page) is recorded against the text the page shows at that moment.
#[tracing::instrument(skip_all, fields(study = p.study_id.0, participant = p.id))]
pub async fn decide(
    state: &AppState,
    p: &ParticipantRow,
    accept: bool,
    seen: Option<Seen>,
) -> Result<()> {
    let now = state.clock.now();
    let seen = seen.unwrap_or_default();
    let current = shown(state, p.study_id).await?;
    let mut tx = begin_write(&state.pool).await?;
    let instrument = instrument(&mut tx, p.study_id, now).await?;
    let changed = seen.version.is_some_and(|v| v != instrument.version)
        || instrument.version != current.version
        || seen.sha256.as_deref().is_some_and(|h| h != current.sha256);
    if changed {
        return Err(AppError::BadRequest(
            "The study's text has changed since you opened the page. Please read it again before you decide.".into(),
        ));
    }
    if p.withdrawn_at.is_some() {
        return Err(AppError::Conflict(
            "You have left the study; nothing more will be asked of you.".into(),
        ));
    }
    if p.accepted() {
        return Ok(());
    }
    let status = crate::study::repo::get(&mut *tx, p.study_id)
        .await?
        .ok_or(AppError::NotFound)?
        .status();
    if accept && status > crate::study::Status::Collection {
        return Err(AppError::Conflict(
            "This study has finished collecting answers, so there is nothing left to take part in. Thank you for your time."
                .into(),
        ));
    }
    if !accept {
        if repo::set_consent(
            &mut tx,
            p.id,
            Decision::Declined,
            instrument.version,
            now,
            None,
            None,
        )
        .await?
        {
            repo::record_shown(&mut tx, p.id, &current.sha256, CONSENT_METHOD).await?;
        }
        tx.commit().await?;
        return Ok(());
    }
    let settings = repo::settings(&mut tx, p.study_id).await?;
    let today = local_today(p, now);
    let closes = today + Duration::days(settings.diary_days - 1);
    if !repo::set_consent(
        &mut tx,
        p.id,
        Decision::Accepted,
        instrument.version,
        now,
        Some(today),
        Some(closes),
    )
    .await?
    {
        // Already accepted (a double submit) or withdrawn meanwhile: nothing more to do.
        return Ok(());
    }
    repo::record_shown(&mut tx, p.id, &current.sha256, CONSENT_METHOD).await?;
    // The control group has no copilot: nothing to ask about it, so no pings.
    if p.arm != Arm::Control {
        crate::pings::service::lay_out(&mut tx, &settings, p, today + Duration::days(1)).await?;
    }
    // The link they consented with now lasts as long as their diary and ping week (plus the grace).
    super::links::redate_page_links(&mut tx, p.id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Leaves the study: everything scheduled is cancelled at once (pings not sent, mail not claimed) and the
/// consent history gains a withdrawal; a second withdrawal changes nothing more.
async fn leave(
    conn: &mut SqliteConnection,
    study: StudyId,
    participant: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let first = repo::withdraw(conn, participant, now).await?;
    crate::pings::repo::cancel_scheduled(conn, participant).await?;
    crate::mail::repo::delete_pending_for(conn, participant).await?;
    if first {
        let version = repo::instrument(&mut *conn, study)
            .await?
            .map(|i| i.version)
            .unwrap_or(1);
        repo::consent_event(conn, participant, ConsentEvent::Withdrawn, version, now).await?;
    }
    Ok(())
}

/// The withdraw page's explicit choice: a scanner's empty or default POST carries none, so it changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaving {
    /// Leave; what was answered stays in the study.
    Leave,
    /// Leave and have every answer and record deleted (erasure).
    LeaveAndErase,
}

impl Leaving {
    /// The withdraw page's buttons: `leave` or `erase`.
    pub fn from_button(value: &str) -> Option<Leaving> {
        match value {
            "leave" => Some(Leaving::Leave),
            "erase" => Some(Leaving::LeaveAndErase),
            _ => None,
        }
    }
}

/// Leaves the study at the participant's request, and erases them if they chose so.
#[tracing::instrument(skip_all, fields(study = p.study_id.0, participant = p.id))]
pub async fn withdraw(state: &AppState, p: &ParticipantRow, choice: Leaving) -> Result<()> {
    if choice == Leaving::LeaveAndErase {
        super::erasure::erase(
            state,
            &super::erasure::participant_actor(),
            p.study_id,
            p.id,
        )
        .await?;
        return Ok(());
    }
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    leave(&mut tx, p.study_id, p.id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a participant on the admin's decision: like a withdrawal, from the next tick on.
#[tracing::instrument(skip_all, fields(study = study.0, participant = participant))]
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    participant: i64,
) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    if !repo::belongs(&mut tx, study, participant).await? {
        return Err(AppError::NotFound);
    }
    leave(&mut tx, study, participant, now).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "participant.remove",
        Some(study.0),
        &format!("removed participant {participant}"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
