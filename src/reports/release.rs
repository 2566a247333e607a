//! Released results: what every reader who is not an admin sees.
//!
//! Live figures move with every diary task, answer and erasure. A reader who saves the summary (or the
//! analysis page) before and after one person's change learns that person's figures by subtraction (the
//! second hostile review of issue 11 did exactly that: one diary entry and one erasure gave a person's
//! function, tenure, cohort, tasks, pings and exact gross hours). So analysts and data analysts never read
//! live figures: they read a *release*, the report, readout, analysis page, waves groups, collection
//! progress, Baseline tab and summary export frozen at one moment, aggregates only (no row, no pseudonym).
//!
//! - The results are released once, when collection ends (the study reaches analysis: by its dates on
//!   the tick, or an admin's move): the *final* release. There are no interim releases: a hostile review
//!   showed that any rule counting "enough people changed" between two releases leaves a gap (people in
//!   other cohorts, or whose changes reach no published figure, served as cover for one person's task,
//!   for one person leaving the estimates, or for an erasure). Until collection ends, only admins see
//!   figures.
//! - An admin may release again (an *update*: new renewal assumptions, say) only while no participant's
//!   data changed since the previous release: no task written or edited, no check-in sent or answered,
//!   no consent decision, withdrawal or erasure, in any group (control and pilot included). The difference
//!   between two releases is then never a person's.
//! - An erasure therefore never republishes anything: the erased person's rows are gone from the file and
//!   from every raw export made afterwards, and the released aggregates (which name no one) stay. Admins
//!   always see live figures: they hold the key anyway.
//! - The moment a release stands for is taken *before* its figures are computed, so a row written while
//!   they are computed counts as a change since it.
//! - A data analyst's raw rows exist only once the results are released, so polling them during
//!   collection shows no row as it arrives; they are read live (person-level, so an erasure must remove
//!   them), and the summary inside `export.json` and the workbook is the release's.
use super::analysis::Analysis;
use super::compute::Audience;
use super::repo::{self, ReleaseRow};
use super::view::View;
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::export::SummaryOut;
use crate::retention::FrozenGroup;
use crate::staff::{StudyAccess, StudyRole};
use crate::state::AppState;
use crate::study::{Status, StudyId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The figures of one release, every number already written out and small cells already hidden.
#[derive(Serialize, Deserialize)]
pub struct Release {
    /// The report and readout.
    pub view: View,
    /// The analysis page at the study's compliance rule, with bootstrap intervals.
    pub analysis: Analysis,
    /// `summary.csv`.
    pub summary_csv: String,
    /// The summary rows of `export.json` and the workbook.
    pub summary: Vec<SummaryOut>,
    /// Participants in the estimates.
    pub kept: usize,
    /// The cohorts and Overall as the waves page compares them.
    pub groups: Vec<FrozenGroup>,
    /// The collection page's group lines and compliance bands.
    pub progress: crate::participants::service::Progress,
    /// The Baseline tab (its participants' and control group's figures move with each task).
    pub baseline: crate::baseline::view::BaselinePage,
}

/// The first release, once collection has ended, or a later one with no participant's data changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Final,
    Update,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Final => "final",
            Kind::Update => "update",
        }
    }
}

/// A release as listed on the report page.
pub struct Info {
    pub id: i64,
    /// "final" or "update".
    pub kind: String,
    /// The day in the study's time zone.
    pub on: chrono::NaiveDate,
    pub at: DateTime<Utc>,
    /// Who released it ("system" for the end of collection).
    pub actor: String,
}

impl From<ReleaseRow> for Info {
    fn from(r: ReleaseRow) -> Self {
        Info {
            id: r.id,
            kind: r.kind,
            on: r.released_on,
            at: r.released_at,
            actor: r.actor,
        }
    }
}

impl Info {
    /// "final results released on 2026-03-02", shown above released figures.
    pub fn label(&self) -> String {
        match self.kind.as_str() {
            "update" => format!("final results, updated on {}", self.on),
            _ => format!("final results released on {}", self.on),
        }
    }
}

/// What an admin sees about releases on the report page.
pub struct Overview {
    /// Newest first.
    pub releases: Vec<Info>,
    /// Participants with new activity since the newest release, by kind (None: no release yet).
    pub changed: Option<[i64; 4]>,
    /// Why a release can't be made now, if it can't.
    pub blocked: Option<String>,
}

/// The text non-admins see before the first release.
pub fn not_released() -> AppError {
    AppError::Conflict(
        "No results of this study have been released yet. Analysts read released results only, and the \
         results are released when collection ends."
            .into(),
    )
}

/// Computes the figures non-admins may read, now, from the live data.
async fn compute(state: &AppState, id: StudyId) -> Result<Release> {
    let study = crate::study::service::get(state, id).await?;
    // As everywhere for non-admins: only the breakdowns the raw rows carry, unless no non-admin gets raw
    // rows at all (they can't carry the cohort).
    let data_analyst = StudyAccess::Granted(StudyRole::DataAnalyst);
    let audience = if crate::export::service::raw_withheld_from(state, id, data_analyst).await? {
        Audience::Aggregates
    } else {
        Audience::RawFiles
    };
    let readout = super::readout::load(state, id, crate::stats::MIN_COMPLIANCE, audience).await?;
    let data =
        crate::export::gather(state, id, false, crate::stats::MIN_COMPLIANCE, audience).await?;
    Ok(Release {
        view: super::view::view(state, id, audience).await?,
        analysis: super::analysis::analysis(state, &study, false, None, true, audience).await?,
        summary_csv: crate::export::service::summary_csv_of(&data),
        summary: data.summary,
        kept: readout.kept,
        groups: super::readout::freeze(readout.groups),
        progress: crate::participants::service::progress(
            &crate::participants::service::collection(state, id).await?,
            false,
            state.config.min_cell_size,
        ),
        baseline: crate::baseline::view::page(state, &study).await?,
    })
}

/// Why a release can't be made now (None: it can): a purged study is frozen for good; the first release
/// waits for the end of collection; a later one is refused once any participant's data changed since.
/// Also returns the changes since the newest release, by kind.
async fn blocked(
    state: &AppState,
    id: StudyId,
    status: Status,
    latest: Option<&Info>,
) -> Result<(Option<[i64; 4]>, Option<String>)> {
    if crate::retention::service::purged_on(state, id)
        .await?
        .is_some()
    {
        return Ok((
            None,
            Some("The raw data of this study was purged: its results are frozen for good.".into()),
        ));
    }
    let Some(last) = latest else {
        let why = (status < Status::Analysis).then(|| {
            "Results are released once, when collection ends; until then only admins see figures. Two \
             releases during collection could be compared around one person's change."
                .to_string()
        });
        return Ok((None, why));
    };
    let kinds = repo::changed_since(&state.pool, id, last.at).await?;
    const WHAT: [&str; 4] = [
        "wrote or edited a task",
        "answered a check-in",
        "were sent a check-in",
        "gave, declined or withdrew consent, or were erased",
    ];
    let changed: Vec<String> = kinds
        .iter()
        .zip(WHAT)
        .filter(|(n, _)| **n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    let why = (!changed.is_empty()).then(|| {
        format!(
            "Participants' data changed since the {}: {}. Analysts would see those people's changes as \
             the difference between the two releases, so the released results stay as they are.",
            last.label(),
            changed.join("; "),
        )
    });
    Ok((Some(kinds), why))
}

/// The release overview for an admin.
pub async fn overview(state: &AppState, id: StudyId) -> Result<Overview> {
    let study = crate::study::service::get(state, id).await?;
    let releases: Vec<Info> = repo::releases(&state.pool, id)
        .await?
        .into_iter()
        .map(Info::from)
        .collect();
    let (changed, blocked) = blocked(state, id, study.status(), releases.first()).await?;
    Ok(Overview {
        releases,
        changed,
        blocked,
    })
}

/// Releases the study's results now (an admin's choice, or the end of collection); audited.
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn release(state: &AppState, actor: &Actor, id: StudyId) -> Result<Info> {
    let study = crate::study::service::get(state, id).await?;
    let latest = repo::releases(&state.pool, id)
        .await?
        .into_iter()
        .next()
        .map(Info::from);
    if let (_, Some(why)) = blocked(state, id, study.status(), latest.as_ref()).await? {
        return Err(AppError::Conflict(why));
    }
    let kind = if latest.is_some() {
        Kind::Update
    } else {
        Kind::Final
    };
    // The moment the release stands for comes first: a row written while the figures are computed is a
    // change since it, and blocks the next release.
    let now = state.clock.now();
    let figures = compute(state, id).await?;
    let json = serde_json::to_string(&figures)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("release: {e}")))?;
    let on = now.with_timezone(&study.tz()).date_naive();
    let mut tx = begin_write(&state.pool).await?;
    // Another release may have landed while this one was computed: the rule is checked again inside.
    let newest = repo::releases(&mut *tx, id).await?.into_iter().next();
    if newest.as_ref().map(|r| r.id) != latest.as_ref().map(|r| r.id) {
        return Err(AppError::Conflict(
            "Another release was made meanwhile; reload the page.".into(),
        ));
    }
    let rid =
        repo::insert_release(&mut tx, id, kind.as_str(), now, on, &actor.label, &json).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "results released",
        Some(id.0),
        &format!(
            "{} release {rid}; {} participants in the estimates",
            kind.as_str(),
            figures.kept
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Info {
        id: rid,
        kind: kind.as_str().into(),
        on,
        at: now,
        actor: actor.label.clone(),
    })
}

/// The final release of every study whose collection has ended and that has none yet (run on the tick;
/// an admin's move to analysis makes it at once).
pub async fn release_tick(state: &AppState) -> Result<usize> {
    let mut made = 0;
    // Only studies past collection with no release yet are looked at (one query, no counts): most ticks
    // find none.
    for id in repo::unreleased_after_collection(&state.pool).await? {
        if final_if_due(state, StudyId(id)).await? {
            made += 1;
        }
    }
    Ok(made)
}

/// Makes the study's final release if its collection has ended and it has none; whether it did.
pub async fn final_if_due(state: &AppState, id: StudyId) -> Result<bool> {
    let study = crate::study::service::get(state, id).await?;
    // A cancelled study's collection did not end: nothing is released on its own (issue 14).
    if study.status() < Status::Analysis || study.status() == Status::Cancelled {
        return Ok(false);
    }
    if !repo::releases(&state.pool, id).await?.is_empty() {
        return Ok(false);
    }
    match release(state, &Actor::system(), id).await {
        Ok(_) => Ok(true),
        Err(AppError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The newest release with its figures.
pub async fn latest(state: &AppState, id: StudyId) -> Result<Option<(Info, Release)>> {
    let Some((row, json)) = repo::latest_release(&state.pool, id).await? else {
        return Ok(None);
    };
    let figures: Release = serde_json::from_str(&json)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("release of study {}: {e}", id.0)))?;
    Ok(Some((Info::from(row), figures)))
}

/// The report as a non-admin reads it: the newest release; after a purge without any release, the
/// purge's frozen non-admin view; otherwise nothing yet (None).
pub async fn view(state: &AppState, id: StudyId) -> Result<Option<View>> {
    if let Some((info, r)) = latest(state, id).await? {
        let mut v = r.view;
        v.released = Some(info.label());
        v.purged_on = crate::retention::service::purged_on(state, id)
            .await?
            .map(|on| on.to_string());
        return Ok(Some(v));
    }
    if crate::retention::service::purged_on(state, id)
        .await?
        .is_some()
    {
        return super::view::view(state, id, Audience::RawFiles)
            .await
            .map(Some);
    }
    Ok(None)
}

/// The analysis page as a non-admin reads it (the newest release; None before it), with the bootstrap
/// intervals it computed when asked for.
pub async fn analysis(
    state: &AppState,
    id: StudyId,
    with_bootstrap: bool,
) -> Result<Option<(Info, Analysis)>> {
    crate::retention::service::require_raw_data(state, id).await?;
    let Some((info, r)) = latest(state, id).await? else {
        return Ok(None);
    };
    let mut a = r.analysis;
    if !with_bootstrap {
        a.with_bootstrap = false;
        a.rows.iter_mut().for_each(|r| r.boot.clear());
    }
    Ok(Some((info, a)))
}

/// The frozen groups of the newest release, for the waves page (None: nothing released yet).
pub async fn readout(state: &AppState, id: StudyId) -> Result<Option<super::readout::Readout>> {
    let Some((info, r)) = latest(state, id).await? else {
        return Ok(None);
    };
    let study = crate::study::service::get(state, id).await?;
    let mut out = super::readout::from_groups(study, state.config.min_cell_size, r.kept, r.groups);
    out.released = Some(info.label());
    out.purged_on = crate::retention::service::purged_on(state, id).await?;
    Ok(Some(out))
}

/// The collection page's group lines as a non-admin reads them (the newest release; None before it).
pub async fn progress(
    state: &AppState,
    id: StudyId,
) -> Result<Option<crate::participants::service::Progress>> {
    Ok(latest(state, id).await?.map(|(_, r)| r.progress))
}

/// The Baseline tab as a non-admin reads it (the newest release; None before it).
pub async fn baseline(
    state: &AppState,
    id: StudyId,
) -> Result<Option<(Info, crate::baseline::view::BaselinePage)>> {
    Ok(latest(state, id).await?.map(|(i, r)| (i, r.baseline)))
}

/// `summary.csv` and the summary rows as a non-admin downloads them (the newest release).
pub async fn summary(state: &AppState, id: StudyId) -> Result<(String, Vec<SummaryOut>)> {
    latest(state, id)
        .await?
        .map(|(_, r)| (r.summary_csv, r.summary))
        .ok_or_else(not_released)
}
