//! Study rules over `repo`: creation with its timeline and checklist, edits, phase moves, status, approvals.
use super::repo::{self, StudyRow};
use super::{
    DEFAULT_APPROVALS, Phase, PhaseDates, Status, StudyDetails, StudyId, Timeline, privacy,
};
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::state::AppState;
use chrono::NaiveDate;
use sqlx::SqliteConnection;

/// Loads a study or answers 404.
pub async fn get(state: &AppState, id: StudyId) -> Result<StudyRow> {
    repo::get(&state.pool, id).await?.ok_or(AppError::NotFound)
}

/// Every study, for the list page.
pub async fn list(state: &AppState) -> Result<Vec<repo::StudyListRow>> {
    Ok(repo::list(&state.pool).await?)
}

/// Creates a study in draft with the default 90-day timeline and approvals checklist.
#[tracing::instrument(skip_all)]
pub async fn create(state: &AppState, actor: &Actor, d: &StudyDetails) -> Result<StudyId> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let id = repo::insert(&mut tx, d, now).await?;
    repo::set_timeline(&mut tx, id, &Timeline::from_start(d.start_date)).await?;
    for label in DEFAULT_APPROVALS {
        repo::add_approval(&mut tx, id, label, true).await?;
    }
    let detail = format!(
        "created \"{}\" ({}), starting {}",
        d.name,
        super::tool_label(&d.vendor, &d.product, &d.model_version),
        d.start_date
    );
    audit::record(&mut tx, now, actor, "study.create", Some(id.0), &detail).await?;
    tx.commit().await?;
    Ok(id)
}

/// Saves new details; a new start date moves the whole timeline, allowed only before the pilot.
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn update(state: &AppState, actor: &Actor, id: StudyId, d: &StudyDetails) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = repo::get(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    if study.status().is_over() {
        return Err(AppError::Conflict(
            "This study is closed; it can no longer be changed.".into(),
        ));
    }
    crate::retention::service::ensure_not_purged(&mut tx, id).await?;
    let shift = (d.start_date - study.start_date).num_days();
    if shift != 0 {
        if study.status() > Status::Setup {
            return Err(AppError::Conflict(
                "The start date cannot change once the pilot has begun; move individual phases instead.".into(),
            ));
        }
        let current = repo::timeline(&mut *tx, id).await?;
        let moved = Timeline::parse(current)
            .map_err(|p| AppError::Internal(anyhow::anyhow!("{p:?}")))?
            .shifted(shift);
        let today = now.with_timezone(&study.tz()).date_naive();
        check_retention(&mut tx, id, moved.phases(), today).await?;
        repo::set_timeline(&mut tx, id, &moved).await?;
        crate::participants::service::redate_unconsented_links(&mut tx, id, now).await?;
    }
    repo::update(&mut tx, id, d, now).await?;
    let mut changes = Vec::new();
    let pairs = [
        ("name", &study.name, &d.name),
        ("vendor", &study.vendor, &d.vendor),
        ("product", &study.product, &d.product),
        ("model version", &study.model_version, &d.model_version),
    ];
    for (field, old, new) in pairs {
        if old != new {
            changes.push(format!("{field} \"{old}\" → \"{new}\""));
        }
    }
    if study.time_zone != d.time_zone.name() {
        changes.push(format!(
            "time zone {} → {}",
            study.time_zone,
            d.time_zone.name()
        ));
    }
    if shift != 0 {
        changes.push(format!(
            "start {} → {} (every phase moved {shift} days)",
            study.start_date, d.start_date
        ));
    }
    if !changes.is_empty() {
        audit::record(
            &mut tx,
            now,
            actor,
            "study.update",
            Some(id.0),
            &changes.join("; "),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Replaces the phase dates (already checked to be in order and not overlapping).
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn move_phases(state: &AppState, actor: &Actor, id: StudyId, t: &Timeline) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = repo::get(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    if study.status().is_over() {
        return Err(AppError::Conflict(
            "This study is closed; its timeline can no longer change.".into(),
        ));
    }
    crate::retention::service::ensure_not_purged(&mut tx, id).await?;
    let today = now.with_timezone(&study.tz()).date_naive();
    let before = repo::timeline(&mut *tx, id).await?;
    if study.status() >= Status::Collection
        && let Some(problem) = locked_change(&before, t.phases(), today)
    {
        return Err(AppError::Conflict(format!(
            "{problem} Past phases are locked once collection has begun; nothing was changed. To give \
             collection more time use \"Extend collection\"; to end it now, \"Close early\"."
        )));
    }
    check_retention(&mut tx, id, t.phases(), today).await?;
    repo::set_timeline(&mut tx, id, t).await?;
    // Invitation links of people who have not consented expire with the collection phase: follow it.
    crate::participants::service::redate_unconsented_links(&mut tx, id, now).await?;
    let changes: Vec<String> = before
        .iter()
        .zip(t.phases())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| {
            format!(
                "{}: {}–{} → {}–{}",
                b.phase.as_str(),
                a.starts_on,
                a.ends_on,
                b.starts_on,
                b.ends_on
            )
        })
        .collect();
    if !changes.is_empty() {
        audit::record(
            &mut tx,
            now,
            actor,
            "study.phases",
            Some(id.0),
            &changes.join("; "),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The first change to a phase that has already happened: a phase that ended before `today` moved, the
/// start of a phase that has begun moved, or an end put before today.
pub fn locked_change(
    before: &[PhaseDates],
    after: &[PhaseDates],
    today: NaiveDate,
) -> Option<String> {
    for (a, b) in before.iter().zip(after) {
        if a.ends_on < today && a != b {
            return Some(format!(
                "{} ended on {}; its dates can no longer change.",
                a.phase.label(),
                a.ends_on
            ));
        }
        if a.starts_on <= today && a.starts_on != b.starts_on {
            return Some(format!(
                "{} began on {}; its first day can no longer change.",
                a.phase.label(),
                a.starts_on
            ));
        }
        if a.starts_on <= today && a.ends_on != b.ends_on && b.ends_on < today {
            return Some(format!(
                "{} would end on {}, before today ({today}).",
                b.phase.label(),
                b.ends_on
            ));
        }
    }
    None
}

/// The timeline with collection `days` longer and the analysis and readout moved by as many days.
pub fn extended(phases: &[PhaseDates], days: i64) -> Vec<PhaseDates> {
    let d = chrono::Duration::days(days);
    phases
        .iter()
        .map(|p| match p.phase {
            Phase::Collection => PhaseDates {
                ends_on: p.ends_on + d,
                ..*p
            },
            Phase::Analysis | Phase::Readout => PhaseDates {
                phase: p.phase,
                starts_on: p.starts_on + d,
                ends_on: p.ends_on + d,
            },
            _ => *p,
        })
        .collect()
}

/// Refuses a timeline that would move the retention date into the past (the next tick would purge every
/// person-level record: a year typed wrong is enough) or past a date the admin chose (or that was fixed when
/// the pilot began: people were told it). The early purge on the Privacy tab is the way to purge on purpose.
async fn check_retention(
    conn: &mut SqliteConnection,
    id: StudyId,
    timeline: &[PhaseDates],
    today: NaiveDate,
) -> Result<()> {
    let chosen = repo::privacy_notice(&mut *conn, id)
        .await?
        .and_then(|n| n.retention_until);
    let readout_end = timeline
        .iter()
        .find(|p| p.phase == super::Phase::Readout)
        .map(|p| p.ends_on);
    if let (Some(until), Some(end)) = (chosen, readout_end)
        && until <= end
    {
        return Err(AppError::Conflict(format!(
            "The raw data is kept until {until} (see the Privacy tab), and these dates would end the \
             readout on {end}, after it. Keep the readout before {until}; nothing was changed."
        )));
    }
    if let Some(until) = privacy::retention_date(chosen, timeline)
        && until < today
    {
        return Err(AppError::Conflict(format!(
            "These dates would put the retention date on {until}, which has passed: every person-level \
             record of the study would be purged at once. Check the year; nothing was changed. To purge on \
             purpose, use the Privacy tab."
        )));
    }
    Ok(())
}

/// The phases in order.
pub async fn timeline(state: &AppState, id: StudyId) -> Result<Vec<PhaseDates>> {
    Ok(repo::timeline(&state.pool, id).await?)
}

/// What stops a study moving to `to`, in words; empty when nothing does.
pub async fn blockers(state: &AppState, id: StudyId, to: Status) -> Result<Vec<String>> {
    let mut conn = state.pool.acquire().await?;
    blockers_in(&mut conn, id, to).await
}

async fn blockers_in(conn: &mut SqliteConnection, id: StudyId, to: Status) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if to == Status::Pilot {
        for label in repo::missing_required(&mut *conn, id).await? {
            out.push(format!("approval not recorded: {label}"));
        }
        if repo::privacy_notice(&mut *conn, id).await?.is_none() {
            out.push(
                "no privacy notice: name the controller, a contact and the purpose on the Privacy tab"
                    .into(),
            );
        }
        let (main, pilot) = crate::roster::repo::sample_sizes(&mut *conn, id).await?;
        if main == 0 || pilot == 0 {
            out.push("no sample with a pilot group has been drawn".into());
        }
    }
    Ok(out)
}

/// Moves the study one step forward; `to` must be the next status (a stale form changes nothing).
/// The checks run inside the write transaction, so a concurrent change cannot slip between them.
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn advance(state: &AppState, actor: &Actor, id: StudyId, to: Status) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = repo::get(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    crate::retention::service::ensure_not_purged(&mut tx, id).await?;
    let from = study.status();
    if from.next() != Some(to) {
        return Err(AppError::Conflict(format!(
            "The study is in {}; it can only move forward one step at a time{}.",
            from.label(),
            from.next()
                .map(|n| format!(", to {}", n.label()))
                .unwrap_or_default()
        )));
    }
    let blockers = blockers_in(&mut tx, id, to).await?;
    if !blockers.is_empty() {
        return Err(AppError::Conflict(format!(
            "The study cannot move to {} yet: {}.",
            to.label(),
            blockers.join("; ")
        )));
    }
    if !repo::set_status(&mut tx, id, from, to, actor.user_id, now).await? {
        return Err(AppError::Conflict(
            "The study's status changed meanwhile; reload the page.".into(),
        ));
    }
    let mut detail = format!("{} → {}", from.as_str(), to.as_str());
    if to == Status::Pilot {
        // From the first invitation on, people are told this date: a later timeline change must not move it.
        let timeline = repo::timeline(&mut *tx, id).await?;
        let chosen = repo::privacy_notice(&mut *tx, id)
            .await?
            .and_then(|n| n.retention_until);
        if let (None, Some(until)) = (chosen, privacy::retention_date(None, &timeline)) {
            repo::fix_retention_date(&mut tx, id, until).await?;
            detail.push_str(&format!("; raw data kept until {until}"));
        }
    }
    audit::record(&mut tx, now, actor, "study.status", Some(id.0), &detail).await?;
    tx.commit().await?;
    if to == Status::Analysis {
        release_final(state, id).await;
    }
    Ok(())
}

/// Collection is over: analysts get the final results now (the tick retries if this fails).
async fn release_final(state: &AppState, id: StudyId) {
    if let Err(e) = crate::reports::release::final_if_due(state, id).await {
        tracing::warn!(study = id.0, error = %e, "the final release failed; the tick retries");
    }
}

/// Takes a study in the pilot back to setup, while nobody has been invited (pilot group included): the
/// sample can then be redrawn. Audited and kept in the status history.
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn step_back(state: &AppState, actor: &Actor, id: StudyId) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = repo::get(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    crate::retention::service::ensure_not_purged(&mut tx, id).await?;
    if study.status() != Status::Pilot {
        return Err(AppError::Conflict(format!(
            "Only a study in the pilot can step back to setup; this one is in {}.",
            study.status().label()
        )));
    }
    let invited = repo::participant_count(&mut *tx, id).await?;
    if invited > 0 {
        return Err(AppError::Conflict(format!(
            "{invited} people have been invited already: the study can only go forward now. Nothing was changed."
        )));
    }
    if !repo::set_status(
        &mut tx,
        id,
        Status::Pilot,
        Status::Setup,
        actor.user_id,
        now,
    )
    .await?
    {
        return Err(AppError::Conflict(
            "The study's status changed meanwhile; reload the page.".into(),
        ));
    }
    audit::record(
        &mut tx,
        now,
        actor,
        "study.step_back",
        Some(id.0),
        "pilot → setup (nobody invited)",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Makes collection `days` longer; the analysis and readout move by as many days. Before the end of
/// collection only; audited with the new dates.
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn extend_collection(
    state: &AppState,
    actor: &Actor,
    id: StudyId,
    days: i64,
) -> Result<()> {
    if !(1..=super::guards::MAX_EXTENSION_DAYS).contains(&days) {
        return Err(AppError::BadRequest(format!(
            "Extend by a whole number of days from 1 to {}.",
            super::guards::MAX_EXTENSION_DAYS
        )));
    }
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = repo::get(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    crate::retention::service::ensure_not_purged(&mut tx, id).await?;
    if study.status().is_over() || study.status() > Status::Collection {
        return Err(AppError::Conflict(format!(
            "Collection is over (the study is in {}); it can no longer be extended.",
            study.status().label()
        )));
    }
    let before = repo::timeline(&mut *tx, id).await?;
    let after = Timeline::parse(extended(&before, days)).map_err(|p| {
        AppError::Conflict(format!("The timeline would not hold: {}.", p.join("; ")))
    })?;
    let today = now.with_timezone(&study.tz()).date_naive();
    check_retention(&mut tx, id, after.phases(), today).await?;
    repo::set_timeline(&mut tx, id, &after).await?;
    crate::participants::service::redate_unconsented_links(&mut tx, id, now).await?;
    let end = after
        .phases()
        .iter()
        .find(|p| p.phase == Phase::Collection)
        .map(|p| p.ends_on.to_string())
        .unwrap_or_default();
    audit::record(
        &mut tx,
        now,
        actor,
        "study.extend",
        Some(id.0),
        &format!(
            "collection extended by {days} days to {end}; analysis and readout moved by {days} days"
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends collection today and moves the study to analysis, releasing the final results as `advance` does.
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn close_early(state: &AppState, actor: &Actor, id: StudyId) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = repo::get(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    crate::retention::service::ensure_not_purged(&mut tx, id).await?;
    if study.status() != Status::Collection {
        return Err(AppError::Conflict(format!(
            "Only a study in collection can close it early; this one is in {}.",
            study.status().label()
        )));
    }
    let today = now.with_timezone(&study.tz()).date_naive();
    let before = repo::timeline(&mut *tx, id).await?;
    let tomorrow = today + chrono::Duration::days(1);
    let mut old_end = None;
    let phases: Vec<PhaseDates> = before
        .iter()
        .map(|p| match p.phase {
            Phase::Collection if p.ends_on > today => {
                old_end = Some(p.ends_on);
                PhaseDates {
                    ends_on: today.max(p.starts_on),
                    ..*p
                }
            }
            // The analysis starts tomorrow and keeps its last day (it only gets longer).
            Phase::Analysis if p.starts_on > tomorrow => PhaseDates {
                starts_on: tomorrow,
                ..*p
            },
            _ => *p,
        })
        .collect();
    let t = Timeline::parse(phases).map_err(|p| {
        AppError::Conflict(format!("The timeline would not hold: {}.", p.join("; ")))
    })?;
    repo::set_timeline(&mut tx, id, &t).await?;
    if !repo::set_status(
        &mut tx,
        id,
        Status::Collection,
        Status::Analysis,
        actor.user_id,
        now,
    )
    .await?
    {
        return Err(AppError::Conflict(
            "The study's status changed meanwhile; reload the page.".into(),
        ));
    }
    let detail = match old_end {
        Some(end) => format!("collection → analysis: closed early on {today} (was to end {end})"),
        None => format!("collection → analysis: closed on {today}"),
    };
    audit::record(
        &mut tx,
        now,
        actor,
        "study.close_early",
        Some(id.0),
        &detail,
    )
    .await?;
    tx.commit().await?;
    release_final(state, id).await;
    Ok(())
}

/// Cancels the study for good: status cancelled, pending mail and scheduled check-ins cancelled, every
/// diary closed. The data stays until the retention date (see `retention`); audited with counts.
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn cancel(state: &AppState, actor: &Actor, id: StudyId) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = repo::get(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    let from = study.status();
    if from.is_over() {
        return Err(AppError::Conflict(format!(
            "The study is already {}.",
            from.label().to_lowercase()
        )));
    }
    if !repo::set_status(&mut tx, id, from, Status::Cancelled, actor.user_id, now).await? {
        return Err(AppError::Conflict(
            "The study's status changed meanwhile; reload the page.".into(),
        ));
    }
    // A day already over in every time zone (the earliest local date anywhere is UTC−12's).
    let closed_on = (now - chrono::Duration::hours(12)).date_naive() - chrono::Duration::days(1);
    let stopped = repo::stop_collecting(&mut tx, id, closed_on).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "study.cancel",
        Some(id.0),
        &format!(
            "{} → cancelled; {} emails and {} check-ins cancelled, {} diaries closed",
            from.as_str(),
            stopped.mail,
            stopped.pings,
            stopped.diaries
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Archives a closed or cancelled study: it leaves the default list. Audited.
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn archive(state: &AppState, actor: &Actor, id: StudyId) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = repo::get(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    if !repo::archive(&mut tx, id, now).await? {
        return Err(AppError::Conflict(if study.archived_at.is_some() {
            "The study is archived already.".into()
        } else {
            format!(
                "Only a closed or cancelled study can be archived; this one is in {}.",
                study.status().label()
            )
        }));
    }
    audit::record(
        &mut tx,
        now,
        actor,
        "study.archive",
        Some(id.0),
        &format!("archived ({})", study.status().as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The tick's safety net for cancelled studies: mail still pending is cancelled before the outbox drains.
pub async fn silence_cancelled(state: &AppState) -> Result<u64> {
    let mut tx = begin_write(&state.pool).await?;
    let n = repo::cancel_mail_of_cancelled(&mut tx).await?;
    tx.commit().await?;
    Ok(n)
}

/// Adds an item to the approvals checklist.
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn add_approval(
    state: &AppState,
    actor: &Actor,
    id: StudyId,
    label: &str,
    required: bool,
) -> Result<()> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 120 || label.chars().any(char::is_control) {
        return Err(AppError::field(
            "new-approval",
            "An approval needs a name of one line, at most 120 characters.",
        ));
    }
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = repo::get(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    if study.status().is_over() {
        return Err(AppError::Conflict(
            "This study is closed; it can no longer be changed.".into(),
        ));
    }
    if study.status() >= Status::Pilot && required {
        return Err(AppError::Conflict(
            "The pilot has begun; a new required approval can no longer hold it back.".into(),
        ));
    }
    if !repo::add_approval(&mut tx, id, label, required).await? {
        return Err(AppError::field(
            "new-approval",
            format!("The checklist already has \"{label}\"."),
        ));
    }
    let kind = if required { "required" } else { "optional" };
    audit::record(
        &mut tx,
        now,
        actor,
        "approval.add",
        Some(id.0),
        &format!("{kind} item \"{label}\""),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records an approval as given, by this person, now.
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn record_approval(
    state: &AppState,
    actor: &Actor,
    id: StudyId,
    item: i64,
    reference: &str,
) -> Result<()> {
    let reference = reference.trim();
    if reference.chars().count() > 200 || reference.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "The reference must be one line of at most 200 characters.".into(),
        ));
    }
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let Some(label) =
        repo::record_approval(&mut tx, id, item, actor.user_id, reference, now).await?
    else {
        return Err(AppError::Conflict(
            "That approval does not exist or was already recorded.".into(),
        ));
    };
    let detail = if reference.is_empty() {
        format!("\"{label}\"")
    } else {
        format!("\"{label}\" (ref. {reference})")
    };
    audit::record(&mut tx, now, actor, "approval.record", Some(id.0), &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// The status a study's dates call for today (its time zone): the latest phase that has started, or closed
/// once the readout's last day has passed. None for a draft (a person starts a study) or a closed one.
pub fn status_due(
    status: Status,
    phases: &[PhaseDates],
    today: chrono::NaiveDate,
) -> Option<Status> {
    if status == Status::Draft || status.is_over() {
        return None;
    }
    let mut due = Status::Setup;
    for p in phases {
        if p.starts_on <= today {
            due = match p.phase {
                super::Phase::Setup => Status::Setup,
                super::Phase::Pilot => Status::Pilot,
                super::Phase::Collection => Status::Collection,
                super::Phase::Analysis => Status::Analysis,
                super::Phase::Readout => Status::Readout,
            };
        }
        if p.phase == super::Phase::Readout && p.ends_on < today {
            due = Status::Closed;
        }
    }
    (due > status).then_some(due)
}

/// Moves every study whose phase dates have come, one step at a time, as long as nothing blocks the step
/// (a missing approval keeps a study in setup; the overview says why). Returns the moves made.
#[tracing::instrument(skip_all)]
pub async fn phase_tick(
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(StudyId, Status)>> {
    let mut moves = Vec::new();
    for (id, status, zone) in repo::movable(&state.pool).await? {
        let Ok(status) = status.parse::<Status>() else {
            continue;
        };
        let id = StudyId(id);
        let today = now.with_timezone(&crate::clock::zone(&zone)).date_naive();
        let phases = repo::timeline(&state.pool, id).await?;
        let Some(due) = status_due(status, &phases, today) else {
            continue;
        };
        let mut current = status;
        while current < due {
            let Some(next) = current.next() else { break };
            match advance(state, &Actor::system(), id, next).await {
                Ok(()) => {
                    moves.push((id, next));
                    current = next;
                }
                Err(AppError::Conflict(_)) => break,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(moves)
}

/// A study's privacy notice with the retention date it implies, if a notice was written.
pub async fn privacy_notice(
    state: &AppState,
    id: StudyId,
) -> Result<Option<(repo::PrivacyRow, Option<NaiveDate>)>> {
    let Some(row) = repo::privacy_notice(&state.pool, id).await? else {
        return Ok(None);
    };
    let timeline = repo::timeline(&state.pool, id).await?;
    let until = privacy::retention_date(row.retention_until, &timeline);
    Ok(Some((row, until)))
}

/// Writes the study's privacy notice (any status but closed), audited. `Err(Ok(problems))` names the
/// fields to correct; nothing is saved then.
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn set_privacy_notice(
    state: &AppState,
    actor: &Actor,
    id: StudyId,
    form: &privacy::PrivacyForm,
) -> Result<std::result::Result<(), Vec<(String, String)>>> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let study = repo::get(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    if study.status().is_over() {
        return Err(AppError::Conflict(
            "The study is closed; its privacy notice can no longer change.".into(),
        ));
    }
    crate::retention::service::ensure_not_purged(&mut tx, id).await?;
    let timeline = repo::timeline(&mut *tx, id).await?;
    let mut notice = match privacy::PrivacyNotice::parse(form, &timeline) {
        Ok(n) => n,
        Err(problems) => return Ok(Err(problems)),
    };
    let today = now.with_timezone(&study.tz()).date_naive();
    let current = repo::privacy_notice(&mut *tx, id).await?;
    let consented = repo::consented_count(&mut tx, id).await?;
    if let Err(problems) = privacy::check_change(
        current.as_ref().map(|c| c.purpose.as_str()),
        current.as_ref().and_then(|c| c.retention_until),
        &mut notice,
        &timeline,
        today,
        consented,
    ) {
        return Ok(Err(problems));
    }
    repo::set_privacy_notice(&mut tx, id, &notice, now).await?;
    let until = privacy::retention_date(notice.retention_until, &timeline)
        .map(|d| d.to_string())
        .unwrap_or_default();
    audit::record(
        &mut tx,
        now,
        actor,
        "study.privacy",
        Some(id.0),
        &format!("privacy notice saved; raw data kept until {until}"),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Everything the study's overview page shows, read in one place.
pub struct Overview {
    /// What stops the next step, in words.
    pub blockers: Vec<String>,
    /// The phases in order, each with whether today (in the study's zone) falls inside it.
    pub phases: Vec<(PhaseDates, bool)>,
    /// The approvals checklist.
    pub approvals: Vec<repo::ApprovalRow>,
    /// Every status change, oldest first.
    pub history: Vec<repo::StatusChangeRow>,
    /// Employees on the roster.
    pub employees: i64,
    /// The usage import in use, if any.
    pub usage: Option<crate::roster::repo::UsageImportRow>,
    /// (main, pilot) sample sizes.
    pub sample: (i64, i64),
    /// Invitations and their answers.
    pub participants: crate::participants::repo::Counts,
}

/// Reads the study's overview.
pub async fn overview(state: &AppState, study: &StudyRow) -> Result<Overview> {
    let blockers = match study.status().next() {
        Some(n) => blockers(state, study.id, n).await?,
        None => vec![],
    };
    let today = state.clock.now().with_timezone(&study.tz()).date_naive();
    let phases = repo::timeline(&state.pool, study.id)
        .await?
        .into_iter()
        .map(|p| {
            let current = p.starts_on <= today && today <= p.ends_on;
            (p, current)
        })
        .collect();
    Ok(Overview {
        blockers,
        phases,
        approvals: repo::approvals(&state.pool, study.id).await?,
        history: repo::status_history(&state.pool, study.id).await?,
        employees: crate::roster::repo::employee_count(&state.pool, study.id).await?,
        usage: crate::roster::repo::latest_usage_import(&state.pool, study.id).await?,
        sample: crate::roster::repo::sample_sizes(&state.pool, study.id).await?,
        participants: crate::participants::service::counts(state, study.id).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_dates_call_for_the_latest_phase_that_has_started() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let t = Timeline::from_start(d("2027-01-04"));
        let p = t.phases();
        assert_eq!(status_due(Status::Setup, p, d("2027-01-10")), None);
        assert_eq!(
            status_due(Status::Setup, p, d("2027-01-18")),
            Some(Status::Pilot)
        );
        assert_eq!(
            status_due(Status::Setup, p, d("2027-02-02")),
            Some(Status::Collection)
        );
        assert_eq!(
            status_due(Status::Readout, p, d("2027-04-04")),
            Some(Status::Closed)
        );
        assert_eq!(
            status_due(Status::Draft, p, d("2027-02-02")),
            None,
            "a draft waits for a person"
        );
    }
}
