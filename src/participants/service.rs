//! Invitations, consent, diary and ping answers: the rules, over `repo`.
use super::repo::{self, InstrumentRow, ParticipantRow, SettingsRow};
use super::{DEFAULT_CATEGORIES, DEFAULT_CONSENT, DiaryEntry, PingAnswer};
use crate::audit::{self, Actor};
use crate::auth::token::{hash_token, looks_like_token, new_token};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::mail::outbox::{NewMessage, enqueue};
use crate::sampling::schedule::{PingSlot, ScheduleSpec, participant_seed, ping_times};
use crate::state::AppState;
use crate::study::{Status, StudyId};
use askama::Template;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::SqliteConnection;

/// The study's instrument, creating version 1 with the default wording on first use.
pub async fn instrument(
    conn: &mut SqliteConnection,
    study: StudyId,
    now: DateTime<Utc>,
) -> Result<InstrumentRow> {
    if let Some(i) = repo::instrument(&mut *conn, study).await? {
        return Ok(i);
    }
    let categories: Vec<String> = DEFAULT_CATEGORIES.iter().map(|s| s.to_string()).collect();
    repo::insert_instrument(conn, study, 1, DEFAULT_CONSENT, &categories, now).await?;
    Ok(repo::instrument(&mut *conn, study)
        .await?
        .expect("just inserted"))
}

#[derive(Template)]
#[template(path = "email/invitation.txt")]
struct InvitationText<'a> {
    study: &'a str,
    link: &'a str,
    withdraw: &'a str,
    control: bool,
}

#[derive(Template)]
#[template(path = "email/invitation.html")]
struct InvitationHtml<'a> {
    study: &'a str,
    link: &'a str,
    withdraw: &'a str,
    control: bool,
}

#[derive(Template)]
#[template(path = "email/ping.txt")]
struct PingText<'a> {
    study: &'a str,
    link: &'a str,
    withdraw: &'a str,
    until: &'a str,
}

#[derive(Template)]
#[template(path = "email/ping.html")]
struct PingHtml<'a> {
    study: &'a str,
    link: &'a str,
    withdraw: &'a str,
    until: &'a str,
}

/// Invites the group the study's phase calls for (pilot group in pilot, main sample in collection), each with
/// a fresh magic link; the emails go to the outbox in the same transaction. Returns how many were invited.
pub async fn invite(state: &AppState, actor: &Actor, study: StudyId) -> Result<usize> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let s = crate::study::repo::get(&mut *tx, study)
        .await?
        .ok_or(AppError::NotFound)?;
    let role = match s.status() {
        Status::Pilot => "pilot",
        Status::Collection => "main",
        other => {
            return Err(AppError::Conflict(format!(
                "Invitations go out in the pilot (pilot group) and in collection (main sample); the study is in {}.",
                other.label()
            )));
        }
    };
    instrument(&mut tx, study, now).await?;
    if role == "main" {
        // From collection on the wording is frozen: every answer can be traced to one version.
        repo::freeze_instrument(&mut tx, study, now).await?;
    }
    let members = repo::uninvited(&mut tx, study, role).await?;
    for (employee, email) in &members {
        let participant = repo::insert_participant(&mut tx, study, *employee, role, now).await?;
        queue_invitation(
            &mut tx,
            state,
            study,
            &s.name,
            participant,
            email,
            false,
            now,
        )
        .await?;
    }
    let detail = format!("{} {} invitations queued", members.len(), role);
    audit::record(
        &mut tx,
        now,
        actor,
        "invitations.send",
        Some(study.0),
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(members.len())
}

/// Writes one invitation (a fresh magic link) to the outbox.
#[allow(clippy::too_many_arguments)]
async fn queue_invitation(
    tx: &mut SqliteConnection,
    state: &AppState,
    study: StudyId,
    study_name: &str,
    participant: i64,
    email: &str,
    control: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let token = new_token();
    repo::insert_link(tx, &hash_token(&token), participant, None, now, None).await?;
    let link = format!("{}/p/{token}", state.config.base_url());
    let withdraw = format!("{link}/withdraw");
    let text = InvitationText {
        study: study_name,
        link: &link,
        withdraw: &withdraw,
        control,
    }
    .render()?;
    let html = InvitationHtml {
        study: study_name,
        link: &link,
        withdraw: &withdraw,
        control,
    }
    .render()?;
    let msg = NewMessage {
        study_id: Some(study.0),
        participant: Some(participant),
        kind: "invitation",
        not_after: None,
        ping: None,
        to: email,
        subject: format!("You are invited: {study_name} (a few minutes a week)"),
        text,
        html,
    };
    enqueue(tx, &msg, now).await?;
    Ok(())
}

/// Most people one control-group request may name.
pub const CONTROL_BATCH_MAX: usize = 500;

/// Invites employees without a copilot seat as the control group of Instrument C (they log the same task
/// categories with their minutes; no pings). `list` holds employee ids or emails, one per line or separated
/// by commas. All or nothing: any unknown, sampled, already invited or copilot-using person refuses the
/// whole list with every problem named. Only during collection, beside the main sample.
pub async fn invite_control(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    list: &str,
) -> Result<usize> {
    let keys: Vec<&str> = list
        .split(['\n', ','])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        return Err(AppError::BadRequest(
            "Name at least one employee id or email, one per line.".into(),
        ));
    }
    if keys.len() > CONTROL_BATCH_MAX {
        return Err(AppError::BadRequest(format!(
            "At most {CONTROL_BATCH_MAX} people per request; this list names {}.",
            keys.len()
        )));
    }
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let s = crate::study::repo::get(&mut *tx, study)
        .await?
        .ok_or(AppError::NotFound)?;
    if s.status() != Status::Collection {
        return Err(AppError::Conflict(format!(
            "The control group is invited during collection, beside the main sample; the study is in {}.",
            s.status().label()
        )));
    }
    instrument(&mut tx, study, now).await?;
    let mut problems = Vec::new();
    let mut found: Vec<(i64, String)> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let line = i + 1;
        // Names are echoed only as their position: an email is not repeated back into a page or a log.
        match repo::control_candidate(&mut tx, study, key).await? {
            None => problems.push(format!("entry {line}: not on the roster")),
            Some(c) if c.sampled => problems.push(format!(
                "entry {line}: drawn into the sample, so cannot also be a control"
            )),
            Some(c) if c.participant => {
                problems.push(format!("entry {line}: already a participant"))
            }
            Some(c) if c.has_usage => problems.push(format!(
                "entry {line}: the usage data shows copilot use; a control has no seat"
            )),
            Some(c) if found.iter().any(|(e, _)| *e == c.employee) => {
                problems.push(format!("entry {line}: named twice"))
            }
            Some(c) => found.push((c.employee, c.email)),
        }
    }
    if !problems.is_empty() {
        let shown = problems.len().min(10);
        let more = if problems.len() > shown {
            format!(" (and {} more)", problems.len() - shown)
        } else {
            String::new()
        };
        return Err(AppError::BadRequest(format!(
            "Nobody was invited: {}{more}.",
            problems[..shown].join("; ")
        )));
    }
    for (employee, email) in &found {
        let participant = repo::insert_control_participant(&mut tx, study, *employee, now).await?;
        queue_invitation(
            &mut tx,
            state,
            study,
            &s.name,
            participant,
            email,
            true,
            now,
        )
        .await?;
    }
    audit::record(
        &mut tx,
        now,
        actor,
        "control.invite",
        Some(study.0),
        &format!("{} control-group invitations queued", found.len()),
    )
    .await?;
    tx.commit().await?;
    Ok(found.len())
}

/// Finds the participant behind a magic link; malformed, unknown and expired links are all `None`.
pub async fn open_link(state: &AppState, token: &str) -> Result<Option<ParticipantRow>> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    Ok(repo::by_link(&state.pool, &hash_token(token), state.clock.now()).await?)
}

/// The participant's local date today.
pub fn local_today(p: &ParticipantRow, now: DateTime<Utc>) -> NaiveDate {
    let tz: Tz = p.time_zone.parse().unwrap_or(chrono_tz::UTC);
    now.with_timezone(&tz).date_naive()
}

fn spec(settings: &SettingsRow) -> Result<ScheduleSpec> {
    let t = |s: &str| {
        NaiveTime::parse_from_str(s, "%H:%M")
            .map_err(|e| AppError::Internal(anyhow::anyhow!("window {s}: {e}")))
    };
    Ok(ScheduleSpec {
        pings_per_day: settings.pings_per_day as u32,
        window_start: t(&settings.window_start)?,
        window_end: t(&settings.window_end)?,
        min_gap_minutes: settings.min_gap_minutes as u32,
        ..ScheduleSpec::default()
    })
}

/// The ping times of one participant's sampling week, from `first_day` (local).
pub fn schedule_for(
    settings: &SettingsRow,
    tz: Tz,
    participant: i64,
    first_day: NaiveDate,
) -> Result<Vec<PingSlot>> {
    ping_times(
        &spec(settings)?,
        tz,
        first_day,
        settings.ping_days as u32,
        participant_seed(settings.schedule_seed as u64, participant),
    )
    .map_err(|e| AppError::Internal(anyhow::anyhow!("ping schedule: {e}")))
}

/// Records consent or refusal. Consent opens the diary (from today, local) and lays out the ping week
/// (from tomorrow, local); a decline can later become a consent.
/// `seen` is the consent-text version the person read: if the wording changed meanwhile, they are asked
/// to read it again rather than being recorded against a text they never saw.
pub async fn decide(
    state: &AppState,
    p: &ParticipantRow,
    accept: bool,
    seen: Option<i64>,
) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let instrument = instrument(&mut tx, p.study_id, now).await?;
    if seen.is_some_and(|v| v != instrument.version) {
        return Err(AppError::BadRequest(
            "The study's text has changed since you opened the page. Please read it again before you decide.".into(),
        ));
    }
    if p.withdrawn_at.is_some() {
        return Err(AppError::Conflict(
            "You have left the study; nothing more will be asked of you.".into(),
        ));
    }
    if p.consent.as_deref() == Some("accepted") {
        return Ok(());
    }
    if !accept {
        repo::set_consent(
            &mut tx,
            p.id,
            "declined",
            instrument.version,
            now,
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        return Ok(());
    }
    let settings = repo::settings(&mut tx, p.study_id).await?;
    let today = local_today(p, now);
    let closes = today + Duration::days(settings.diary_days - 1);
    if !repo::set_consent(
        &mut tx,
        p.id,
        "accepted",
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
    if p.arm == "control" {
        // The control group has no copilot: nothing to ask about it, so no pings.
        tx.commit().await?;
        return Ok(());
    }
    let tz: Tz = p.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let expiry = Duration::minutes(settings.expiry_minutes);
    let slots: Vec<(u32, DateTime<Utc>, DateTime<Utc>)> =
        schedule_for(&settings, tz, p.id, today + Duration::days(1))?
            .into_iter()
            .map(|s| (s.slot, s.at, s.at + expiry))
            .collect();
    repo::insert_pings(&mut tx, p.id, &slots).await?;
    tx.commit().await?;
    Ok(())
}

/// Leaves the study: everything scheduled is cancelled at once.
pub async fn withdraw(state: &AppState, p: &ParticipantRow) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    if repo::withdraw(&mut tx, p.id, now).await? {
        let version = repo::instrument(&mut *tx, p.study_id)
            .await?
            .map(|i| i.version)
            .unwrap_or(1);
        repo::consent_event(&mut tx, p.id, "withdrawn", version, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Whether this participant may log diary entries now.
pub fn diary_open(p: &ParticipantRow, now: DateTime<Utc>) -> bool {
    let today = local_today(p, now);
    p.consent.as_deref() == Some("accepted")
        && p.withdrawn_at.is_none()
        && p.diary_opens_on.is_some_and(|d| d <= today)
        && p.diary_closes_on.is_some_and(|d| today <= d)
}

/// A write transaction for a diary change, with the instrument version and the time; refused once the
/// participant's diary window has closed.
async fn open_diary(
    state: &AppState,
    p: &ParticipantRow,
) -> Result<(sqlx::Transaction<'static, sqlx::Sqlite>, i64, DateTime<Utc>)> {
    let now = state.clock.now();
    if !diary_open(p, now) {
        return Err(AppError::Conflict(
            "The diary is closed; entries can no longer be added or changed.".into(),
        ));
    }
    let mut tx = begin_write(&state.pool).await?;
    let version = instrument(&mut tx, p.study_id, now).await?.version;
    Ok((tx, version, now))
}

/// Adds (or, with `id`, edits) a diary entry while the diary window is open.
pub async fn save_diary(
    state: &AppState,
    p: &ParticipantRow,
    id: Option<i64>,
    e: &DiaryEntry,
) -> Result<()> {
    let (mut tx, version, now) = open_diary(state, p).await?;
    match id {
        None => repo::insert_diary(&mut tx, p.id, e, version, now).await?,
        Some(id) => {
            if !repo::update_diary(&mut tx, p.id, id, e, now).await? {
                return Err(AppError::NotFound);
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Adds (or, with `id`, edits) a control participant's task while their diary is open.
pub async fn save_control_task(
    state: &AppState,
    p: &ParticipantRow,
    id: Option<i64>,
    t: &super::ControlTask,
) -> Result<()> {
    let (mut tx, version, now) = open_diary(state, p).await?;
    if !repo::save_control_task(&mut tx, p.id, id, t, version, now).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// What answering a ping came to.
#[derive(Debug, PartialEq, Eq)]
pub enum AnswerOutcome {
    /// Stored.
    Stored,
    /// Too late, already answered, or not this participant's ping: nothing stored.
    NotAnswerable,
}

/// Stores one answer to one of this participant's pings, inside its window, at most once.
pub async fn answer(
    state: &AppState,
    p: &ParticipantRow,
    ping: i64,
    a: &PingAnswer,
) -> Result<AnswerOutcome> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let version = instrument(&mut tx, p.study_id, now).await?.version;
    let stored = repo::answer_ping(&mut tx, p.id, ping, a, version, now).await?;
    tx.commit().await?;
    Ok(if stored {
        AnswerOutcome::Stored
    } else {
        AnswerOutcome::NotAnswerable
    })
}

/// One tick's work on pings: mark missed, then send what is due (each ping once, even from two processes).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PingTick {
    /// Pings whose window passed.
    pub missed: u64,
    /// Ping emails queued.
    pub sent: usize,
}

/// Marks missed pings and queues the due ones; a ping whose window closed while the server was down is
/// marked missed, never sent late.
pub async fn ping_tick(state: &AppState, now: DateTime<Utc>) -> Result<PingTick> {
    let mut tick = PingTick::default();
    let mut tx = begin_write(&state.pool).await?;
    tick.missed = repo::mark_missed(&mut tx, now).await?;
    tx.commit().await?;
    let base = state.config.base_url();
    loop {
        let mut tx = begin_write(&state.pool).await?;
        let due = repo::due_pings(&mut tx, now, 200).await?;
        if due.is_empty() {
            break;
        }
        for d in &due {
            if !repo::mark_sent(&mut tx, d.id, now).await? {
                continue;
            }
            let token = new_token();
            repo::insert_link(
                &mut tx,
                &hash_token(&token),
                d.participant,
                Some(d.id),
                now,
                Some(d.expires_at + Duration::days(30)),
            )
            .await?;
            let link = format!("{base}/p/{token}");
            let withdraw = format!("{link}/withdraw");
            let tz: Tz = repo::time_zone(&mut tx, d.participant)
                .await?
                .parse()
                .unwrap_or(chrono_tz::UTC);
            let until = d.expires_at.with_timezone(&tz).format("%H:%M").to_string();
            let msg = NewMessage {
                study_id: Some(d.study_id),
                participant: Some(d.participant),
                kind: "ping",
                not_after: Some(d.expires_at),
                ping: Some(d.id),
                to: &d.email,
                subject: format!("30-second check-in: {}", d.study_name),
                text: PingText {
                    study: &d.study_name,
                    link: &link,
                    withdraw: &withdraw,
                    until: &until,
                }
                .render()?,
                html: PingHtml {
                    study: &d.study_name,
                    link: &link,
                    withdraw: &withdraw,
                    until: &until,
                }
                .render()?,
            };
            enqueue(&mut tx, &msg, now).await?;
            tick.sent += 1;
        }
        tx.commit().await?;
    }
    Ok(tick)
}

#[derive(Template)]
#[template(path = "email/reminder.txt")]
struct ReminderText<'a> {
    study: &'a str,
    reason: &'a str,
    link: &'a str,
    withdraw: &'a str,
}

#[derive(Template)]
#[template(path = "email/reminder.html")]
struct ReminderHtml<'a> {
    study: &'a str,
    reason: &'a str,
    link: &'a str,
    withdraw: &'a str,
}

/// Queues a reminder with a fresh link to the participant's page (inside the caller's transaction).
#[allow(clippy::too_many_arguments)]
async fn queue_reminder(
    conn: &mut SqliteConnection,
    state: &AppState,
    study: StudyId,
    participant: i64,
    to: &str,
    study_name: &str,
    kind: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let token = new_token();
    repo::insert_link(conn, &hash_token(&token), participant, None, now, None).await?;
    let link = format!("{}/p/{token}", state.config.base_url());
    let withdraw = format!("{link}/withdraw");
    let msg = NewMessage {
        study_id: Some(study.0),
        participant: Some(participant),
        kind,
        not_after: None,
        ping: None,
        to,
        subject: format!("Reminder: {study_name}"),
        text: ReminderText {
            study: study_name,
            reason,
            link: &link,
            withdraw: &withdraw,
        }
        .render()?,
        html: ReminderHtml {
            study: study_name,
            reason,
            link: &link,
            withdraw: &withdraw,
        }
        .render()?,
    };
    enqueue(conn, &msg, now).await?;
    repo::set_last_reminder(conn, participant, now).await?;
    Ok(())
}

/// The admin's nudge to one participant (who has not withdrawn or declined).
pub async fn nudge(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    participant: i64,
) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let Some((pid, email, name)) = repo::contactable(&mut tx, study, participant).await? else {
        return Err(AppError::Conflict(
            "This person has withdrawn or declined; they are not contacted again.".into(),
        ));
    };
    let reason =
        "your answers matter for the study. A few minutes this week make a real difference.";
    queue_reminder(
        &mut tx, state, study, pid, &email, &name, "nudge", reason, now,
    )
    .await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "participant.nudge",
        Some(study.0),
        &format!("nudged participant {pid}"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a participant on the admin's decision: like a withdrawal, from the next tick on.
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
    if repo::withdraw(&mut tx, participant, now).await? {
        let version = repo::instrument(&mut *tx, study)
            .await?
            .map(|i| i.version)
            .unwrap_or(1);
        repo::consent_event(&mut tx, participant, "withdrawn", version, now).await?;
    }
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

/// Whether it is a working day and inside the study's window in the participant's own time zone.
fn in_working_hours(r: &repo::ReminderCandidate, now: DateTime<Utc>) -> bool {
    use chrono::Datelike;
    let tz: Tz = r.participant.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let local = now.with_timezone(&tz);
    let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").ok();
    let weekday = local.weekday().num_days_from_monday() < 5;
    match (t(&r.window.0), t(&r.window.1)) {
        (Some(a), Some(b)) => weekday && a <= local.time() && local.time() < b,
        _ => weekday,
    }
}

/// Reminds consented participants under the diary target whose diary is open, every `reminder_days`.
pub async fn reminder_tick(state: &AppState, now: DateTime<Utc>) -> Result<usize> {
    let mut tx = begin_write(&state.pool).await?;
    let due = repo::reminders_due(&mut tx, now).await?;
    let mut sent = 0;
    for r in due {
        let today = local_today(&r.participant, now);
        let open = r.participant.diary_opens_on.is_some_and(|d| d <= today)
            && r.participant.diary_closes_on.is_some_and(|d| today <= d);
        let every = Duration::days(r.reminder_days.max(1));
        let last = r.last_reminder_at.unwrap_or(r.consent_at);
        if !open || r.logged >= r.target || now - last < every || !in_working_hours(&r, now) {
            continue;
        }
        let kind = if r.participant.arm == "control" {
            "work"
        } else {
            "AI-assisted"
        };
        let reason = format!(
            "you have logged {} of the {} {kind} tasks we ask for. Logging one takes about a minute.",
            r.logged, r.target
        );
        queue_reminder(
            &mut tx,
            state,
            r.participant.study_id,
            r.participant.id,
            &r.participant.email,
            &r.participant.study_name,
            "reminder",
            &reason,
            now,
        )
        .await?;
        sent += 1;
    }
    tx.commit().await?;
    Ok(sent)
}

/// The instrument form: consent text and task categories (one per line).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct InstrumentForm {
    /// Consent text.
    #[serde(default)]
    pub consent_text: String,
    /// Categories, one per line.
    #[serde(default)]
    pub categories: String,
}

/// Saves new wording as the next version; refused once collection has started (the wording is frozen).
pub async fn edit_instrument(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    f: &InstrumentForm,
) -> Result<i64> {
    let consent = f.consent_text.trim();
    let categories: Vec<String> = f
        .categories
        .lines()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect();
    if consent.chars().count() < 50 || consent.chars().count() > 5000 {
        return Err(AppError::BadRequest(
            "The consent text must have between 50 and 5,000 characters.".into(),
        ));
    }
    if categories.len() < 2
        || categories.len() > 30
        || categories.iter().any(|c| c.chars().count() > 80)
    {
        return Err(AppError::BadRequest(
            "Give 2 to 30 task categories, one per line, each at most 80 characters.".into(),
        ));
    }
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let s = crate::study::repo::get(&mut *tx, study)
        .await?
        .ok_or(AppError::NotFound)?;
    let current = instrument(&mut tx, study, now).await?;
    if current.frozen_at.is_some() || s.status() >= Status::Collection {
        return Err(AppError::Conflict(
            "Collection has started: the wording is frozen so every answer matches one version."
                .into(),
        ));
    }
    if current.consent_text == consent && current.categories() == categories {
        return Ok(current.version);
    }
    let version = current.version + 1;
    repo::insert_instrument(&mut tx, study, version, consent, &categories, now).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "instrument.edit",
        Some(study.0),
        &format!("wording version {version}"),
    )
    .await?;
    tx.commit().await?;
    Ok(version)
}

/// The collection settings form.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct SettingsForm {
    /// Pings per working day.
    #[serde(default)]
    pub pings_per_day: String,
    /// HH:MM.
    #[serde(default)]
    pub window_start: String,
    /// HH:MM.
    #[serde(default)]
    pub window_end: String,
    /// Minutes.
    #[serde(default)]
    pub min_gap_minutes: String,
    /// Calendar days.
    #[serde(default)]
    pub ping_days: String,
    /// Minutes.
    #[serde(default)]
    pub expiry_minutes: String,
    /// Entries.
    #[serde(default)]
    pub diary_target: String,
    /// Calendar days.
    #[serde(default)]
    pub diary_days: String,
    /// Days.
    #[serde(default)]
    pub reminder_days: String,
}

/// Saves collection settings, checked to give a feasible schedule; they apply to people who consent afterwards.
pub async fn edit_settings(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    f: &SettingsForm,
) -> Result<()> {
    let num = |v: &str, name: &str, lo: i64, hi: i64| -> Result<i64> {
        match v.trim().parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(AppError::BadRequest(format!(
                "{name} must be a whole number from {lo} to {hi}."
            ))),
        }
    };
    let time = |v: &str, name: &str| -> Result<String> {
        NaiveTime::parse_from_str(v.trim(), "%H:%M")
            .map(|t| t.format("%H:%M").to_string())
            .map_err(|_| AppError::BadRequest(format!("{name} must be a time as HH:MM.")))
    };
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let current = repo::settings(&mut tx, study).await?;
    let new = SettingsRow {
        pings_per_day: num(&f.pings_per_day, "Pings per day", 1, 6)?,
        window_start: time(&f.window_start, "The window start")?,
        window_end: time(&f.window_end, "The window end")?,
        min_gap_minutes: num(&f.min_gap_minutes, "The minimum gap", 0, 240)?,
        ping_days: num(&f.ping_days, "The ping week", 1, 31)?,
        expiry_minutes: num(&f.expiry_minutes, "The answer window", 10, 240)?,
        diary_target: num(&f.diary_target, "The diary target", 1, 10)?,
        diary_days: num(&f.diary_days, "The diary length", 1, 31)?,
        reminder_days: num(&f.reminder_days, "Days between reminders", 1, 14)?,
        schedule_seed: current.schedule_seed,
    };
    spec(&new)?.validate().map_err(AppError::BadRequest)?;
    repo::update_settings(&mut tx, study, &new).await?;
    let detail = format!(
        "{} pings a day {}–{}, gap {} min, {} days, answer within {} min; diary {} tasks over {} days, reminders every {} days",
        new.pings_per_day,
        new.window_start,
        new.window_end,
        new.min_gap_minutes,
        new.ping_days,
        new.expiry_minutes,
        new.diary_target,
        new.diary_days,
        new.reminder_days
    );
    audit::record(
        &mut tx,
        now,
        actor,
        "collection.settings",
        Some(study.0),
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
