//! What a participant's own page shows: their diary target and log, the categories, and their pings.
use super::instrument::instrument;
use crate::diary::service::{Log, diary_open, log};
use crate::error::Result;
use crate::participants::DEFAULT_CONSENT;
use crate::participants::repo::{self, ParticipantRow};
use crate::pings::repo::PingRow;
use crate::state::AppState;
use crate::study::StudyId;

/// Everything the participant's home page needs.
pub struct Home {
    /// Diary entries asked for.
    pub target: i64,
    /// The instrument's task categories.
    pub categories: Vec<String>,
    /// Whether entries can be added or changed now.
    pub diary_open: bool,
    /// What they logged.
    pub log: Log,
    /// Their pings in time order.
    pub pings: Vec<PingRow>,
}

/// Reads a participant's home page.
pub async fn home(state: &AppState, p: &ParticipantRow) -> Result<Home> {
    let now = state.clock.now();
    let (settings, instrument) = {
        let mut conn = state.pool.acquire().await?;
        let settings = repo::settings(&mut conn, p.study_id).await?;
        (settings, instrument(&mut conn, p.study_id, now).await?)
    };
    Ok(Home {
        target: settings.diary_target,
        categories: instrument.categories(),
        diary_open: diary_open(p, now),
        log: log(state, p).await?,
        pings: crate::pings::service::pings(state, p).await?,
    })
}

/// The consent text a participant is shown and its version (the default wording before any exists).
pub async fn consent_wording(state: &AppState, study: StudyId) -> Result<(String, i64)> {
    Ok(match repo::instrument(&state.pool, study).await? {
        Some(i) => (i.consent_text, i.version),
        None => (DEFAULT_CONSENT.to_string(), 1),
    })
}
