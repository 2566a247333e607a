//! The wording both instruments share (consent text, task categories; versioned, frozen at collection)
//! and the collection settings (ping schedule, diary length and reminders).
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::participants::repo::{self, InstrumentRow, SettingsRow};
use crate::participants::{DEFAULT_CATEGORIES, DEFAULT_CONSENT};
use crate::state::AppState;
use crate::study::{Status, StudyId};
use chrono::{DateTime, NaiveTime, Utc};
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

/// The study's task categories as they stand, reading only: the default ones while no wording was saved
/// (a page that only shows them must not write the first version for whoever opens it).
pub async fn current_categories(state: &AppState, study: StudyId) -> Result<Vec<String>> {
    Ok(match repo::instrument(&state.pool, study).await? {
        Some(i) => i.categories(),
        None => DEFAULT_CATEGORIES.iter().map(|s| s.to_string()).collect(),
    })
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
#[tracing::instrument(skip_all, fields(study = study.0))]
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
        return Err(AppError::field(
            "consent_text",
            "The consent text must have between 50 and 5,000 characters.",
        ));
    }
    if categories.len() < 2
        || categories.len() > 30
        || categories.iter().any(|c| c.chars().count() > 80)
    {
        return Err(AppError::field(
            "categories",
            "Give 2 to 30 task categories, one per line, each at most 80 characters.",
        ));
    }
    crate::messages::service::check_consent_text(consent)?;
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
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn edit_settings(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    f: &SettingsForm,
) -> Result<()> {
    let num = |v: &str, field: &'static str, name: &str, lo: i64, hi: i64| -> Result<i64> {
        match v.trim().parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(AppError::field(
                field,
                format!("{name} must be a whole number from {lo} to {hi}."),
            )),
        }
    };
    let time = |v: &str, field: &'static str, name: &str| -> Result<String> {
        NaiveTime::parse_from_str(v.trim(), "%H:%M")
            .map(|t| t.format("%H:%M").to_string())
            .map_err(|_| AppError::field(field, format!("{name} must be a time as HH:MM.")))
    };
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let current = repo::settings(&mut tx, study).await?;
    let new = SettingsRow {
        pings_per_day: num(&f.pings_per_day, "pings_per_day", "Pings per day", 1, 6)?,
        window_start: time(&f.window_start, "window_start", "The window start")?,
        window_end: time(&f.window_end, "window_end", "The window end")?,
        min_gap_minutes: num(
            &f.min_gap_minutes,
            "min_gap_minutes",
            "The minimum gap",
            0,
            240,
        )?,
        ping_days: num(&f.ping_days, "ping_days", "The ping week", 1, 31)?,
        expiry_minutes: num(
            &f.expiry_minutes,
            "expiry_minutes",
            "The answer window",
            10,
            240,
        )?,
        diary_target: num(&f.diary_target, "diary_target", "The diary target", 1, 10)?,
        diary_days: num(&f.diary_days, "diary_days", "The diary length", 1, 31)?,
        reminder_days: num(
            &f.reminder_days,
            "reminder_days",
            "Days between reminders",
            1,
            14,
        )?,
        schedule_seed: current.schedule_seed,
    };
    // HH:MM strings compare as times.
    if new.window_end <= new.window_start {
        return Err(AppError::field(
            "window_end",
            format!(
                "The window end ({}) must be after its start ({}); windows over midnight are not supported.",
                new.window_end, new.window_start
            ),
        ));
    }
    // What is left to refuse is a window too short for the pings and their gap.
    crate::pings::service::spec(&new)?
        .validate()
        .map_err(|m| AppError::field("min_gap_minutes", m))?;
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

/// The current wording (version 1 with the default wording on first use) and the collection settings.
pub async fn wording_and_settings(
    state: &AppState,
    study: StudyId,
) -> Result<(InstrumentRow, SettingsRow)> {
    let mut tx = begin_write(&state.pool).await?;
    let i = instrument(&mut tx, study, state.clock.now()).await?;
    let s = repo::settings(&mut tx, study).await?;
    tx.commit().await?;
    Ok((i, s))
}
