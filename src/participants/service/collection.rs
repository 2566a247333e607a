//! The collection dashboard's data: every participant's counts and the mail that needs attention.
use crate::error::Result;
use crate::mail::repo::MailProblemRow;
use crate::participants::repo::{self, ComplianceRow, Counts};
use crate::state::AppState;
use crate::study::StudyId;

/// What the collection dashboard shows.
pub struct Collection {
    /// Every participant with their counts, by pseudonymous id.
    pub people: Vec<ComplianceRow>,
    /// Mail of the study that failed or waits for a retry.
    pub mail: Vec<MailProblemRow>,
}

/// Reads the collection dashboard of a study.
pub async fn collection(state: &AppState, study: StudyId) -> Result<Collection> {
    Ok(Collection {
        people: repo::compliance(&state.pool, study).await?,
        mail: crate::mail::repo::mail_problems(&state.pool, study).await?,
    })
}

/// Invitation and consent counts for the study overview.
pub async fn counts(state: &AppState, study: StudyId) -> Result<Counts> {
    Ok(repo::counts(&state.pool, study).await?)
}
