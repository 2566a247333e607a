//! Baseline rules: validated entries (audited) and the comparison inputs from the database.
use super::{Inputs, repo};
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::study::StudyId;

/// Minutes typed into the form control `field`.
fn minutes(v: &str, field: &'static str, what: &str) -> Result<f64> {
    match v.trim().parse::<f64>() {
        Ok(m) if m.is_finite() && m > 0.0 && m <= 10_000.0 => Ok(m),
        _ => Err(AppError::field(
            field,
            format!("{what} must be a positive number of minutes, at most 10,000."),
        )),
    }
}

/// One line typed into the form control `field`.
fn text(v: &str, field: &'static str, what: &str) -> Result<String> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > 200 || v.chars().any(char::is_control) {
        return Err(AppError::field(
            field,
            format!("{what} must be one line of at most 200 characters."),
        ));
    }
    Ok(v.to_string())
}

/// Records pre-AI minutes for a category from the organisation's records, with their source.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn set_historical(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    category: &str,
    mins: &str,
    source: &str,
) -> Result<()> {
    let (category, m, source) = (
        text(category, "h-category", "The category")?,
        minutes(mins, "h-minutes", "The minutes")?,
        text(source, "h-source", "The source")?,
    );
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    repo::set_historical(&mut tx, study, &category, m, &source, actor.user_id, now).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "baseline.historical",
        Some(study.0),
        &format!("{category}: {m} min ({source})"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records one named expert's low / likely / high minutes for a category.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn set_expert(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    expert: &str,
    category: &str,
    (low, likely, high): (&str, &str, &str),
) -> Result<()> {
    let (expert, category) = (
        text(expert, "e-expert", "The expert's name")?,
        text(category, "e-category", "The category")?,
    );
    let (l, m, h) = (
        minutes(low, "e-low", "Low")?,
        minutes(likely, "e-likely", "Likely")?,
        minutes(high, "e-high", "High")?,
    );
    if !(l <= m && m <= h) {
        return Err(AppError::field(
            if l > m { "e-low" } else { "e-high" },
            format!(
                "Low, likely and high must be in that order (low ≤ likely ≤ high), not {l}, {m}, {h}."
            ),
        ));
    }
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    repo::set_expert(
        &mut tx,
        study,
        &expert,
        &category,
        (l, m, h),
        actor.user_id,
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "baseline.expert",
        Some(study.0),
        &format!("{expert} on {category}: {l}/{m}/{h} min"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a historical entry (`expert` empty) or one expert's estimate for a category, audited. An entry
/// that is not there is a clear refusal, so a second click changes nothing.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    expert: &str,
    category: &str,
) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let (gone, action, detail) = if expert.is_empty() {
        (
            repo::delete_historical(&mut tx, study, category).await?,
            "baseline.historical.delete",
            format!("{category}: historical minutes deleted"),
        )
    } else {
        (
            repo::delete_expert(&mut tx, study, expert, category).await?,
            "baseline.expert.delete",
            format!("{expert} on {category}: estimate deleted"),
        )
    };
    if !gone {
        return Err(AppError::BadRequest(
            "That baseline entry is not there (already deleted?). Nothing changed.".into(),
        ));
    }
    audit::record(&mut tx, now, actor, action, Some(study.0), &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Everything `compare` needs for a study.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn inputs(state: &AppState, study: StudyId) -> Result<Inputs> {
    let mut i = Inputs::default();
    for h in repo::historical(&state.pool, study).await? {
        i.historical.insert(h.category, h.minutes);
    }
    for e in repo::experts(&state.pool, study).await? {
        i.experts
            .entry(e.category)
            .or_default()
            .push((e.low, e.likely, e.high));
    }
    for (c, participant, minutes) in repo::control_tasks(&state.pool, study).await? {
        i.control.entry(c).or_default().push((participant, minutes));
    }
    let mut people: std::collections::BTreeMap<String, std::collections::BTreeSet<i64>> =
        Default::default();
    for (c, participant, with, without) in repo::diary_pairs(&state.pool, study).await? {
        people.entry(c.clone()).or_default().insert(participant);
        i.diary.entry(c).or_default().push((with, without));
    }
    i.diary_people = people.into_iter().map(|(c, p)| (c, p.len())).collect();
    i.min_people = state.config.min_cell_size;
    Ok(i)
}
