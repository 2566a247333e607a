//! Erasure (GDPR Art. 17): a participant's rows and mail files go for good, their roster row keeps only
//! what the sample's composition needs, and an erasure record and an audit line say how much went, not whom.
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::participants::repo::{self, ErasureCounts, ErasureTarget};
use crate::state::AppState;
use crate::study::StudyId;

/// Whom the CLI names: an email or an employee id, exactly one.
#[derive(Clone, Debug)]
pub enum ErasureKey {
    /// Their email (any case).
    Email(String),
    /// Their employee id, as on the roster.
    EmployeeId(String),
}

/// What an erasure removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Erased {
    /// Rows per kind.
    pub counts: ErasureCounts,
    /// `.eml` files deleted from the mail folder.
    pub mail_files: i64,
}

impl Erased {
    /// "5 diary entries, 12 pings, …" (counts only).
    pub fn summary(&self) -> String {
        let c = &self.counts;
        format!(
            "{} diary entries, {} control tasks, {} pings, {} ping answers, {} links, {} consent events, \
             {} emails ({} mail files), {} usage rows",
            c.diary_entries,
            c.control_tasks,
            c.pings,
            c.answers,
            c.links,
            c.consent_events,
            c.mail,
            self.mail_files,
            c.usage_rows
        )
    }
}

/// The actor of an erasure the participant asked for on their own page.
pub fn participant_actor() -> Actor {
    Actor {
        user_id: None,
        label: "participant (own request)".into(),
    }
}

/// Erases a participant of a study by id (from their own page or the collection page).
#[tracing::instrument(skip_all, fields(study = study.0, participant = participant))]
pub async fn erase(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    participant: i64,
) -> Result<Erased> {
    let mut tx = begin_write(&state.pool).await?;
    let target = repo::erasure_target(&mut tx, study, participant)
        .await?
        .ok_or(AppError::NotFound)?;
    erase_in(state, actor, study, target, tx).await
}

/// Erases a participant of a study named by email or employee id (the CLI). The key is never echoed.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn erase_by_key(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    key: &ErasureKey,
) -> Result<Erased> {
    let (email, employee_id) = match key {
        ErasureKey::Email(e) => (Some(e.trim()), None),
        ErasureKey::EmployeeId(x) => (None, Some(x.trim())),
    };
    if email.or(employee_id).is_none_or(str::is_empty) {
        return Err(AppError::BadRequest(
            "Name the participant by a non-empty email or employee id.".into(),
        ));
    }
    let mut tx = begin_write(&state.pool).await?;
    if crate::study::repo::get(&mut *tx, study).await?.is_none() {
        return Err(AppError::BadRequest(format!(
            "There is no study {}; see `layer2 study list`.",
            study.0
        )));
    }
    let Some(target) = repo::erasure_target_by_key(&mut tx, study, email, employee_id).await?
    else {
        return Err(AppError::BadRequest(format!(
            "Study {} has no participant with that {}; nothing was changed.",
            study.0,
            if email.is_some() {
                "email"
            } else {
                "employee id"
            }
        )));
    };
    erase_in(state, actor, study, target, tx).await
}

async fn erase_in(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    target: ErasureTarget,
    mut tx: sqlx::Transaction<'static, sqlx::Sqlite>,
) -> Result<Erased> {
    let now = state.clock.now();
    let counts = repo::erasure_counts(&mut tx, study, &target).await?;
    let message_ids = repo::erasure_message_ids(&mut tx, target.participant).await?;
    let mail_dir = state.config.mail_dir();
    // A random placeholder keeps the roster's NOT NULL, UNIQUE columns satisfied and links to nothing.
    let placeholder = format!("erased-{:016x}", rand::random::<u64>());
    let s = crate::study::repo::get(&mut *tx, study)
        .await?
        .ok_or(AppError::NotFound)?;
    // The band the hire date implied (as the reports compute it), so the composition stays the same.
    let band = match (target.hire_date, &target.tenure_band) {
        (Some(d), _) => crate::roster::service::bands(&s).band_for(d, s.start_date),
        (None, Some(b)) => b.clone(),
        (None, None) => "unknown".into(),
    };
    repo::erase(&mut tx, study, &target, &placeholder, &band).await?;
    // The files go before the commit: should the commit fail, the rows stay and the admin can erase again;
    // mail that was already sent is gone either way, as it should be.
    let mail_files = tokio::task::spawn_blocking(move || {
        crate::mail::transport::remove_sent_files(&mail_dir, &message_ids)
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("the file remover stopped: {e}")))?
    .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot delete a mail file: {e}")))?;
    // A usage upload waiting for the admin's confirmation may name the person too: it goes as well (the
    // admin uploads it again).
    crate::roster::service::discard_pending(state, study);
    let erased = Erased { counts, mail_files };
    repo::insert_erasure(
        &mut tx,
        study,
        now,
        &actor.label,
        &erased.counts,
        mail_files,
    )
    .await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "participant.erase",
        Some(study.0),
        &format!(
            "participant #{} erased: {}",
            target.participant,
            erased.summary()
        ),
    )
    .await?;
    tx.commit().await?;
    // Deleted bytes leave the -wal only with a checkpoint (secure_delete zeroes them in the file).
    crate::db::checkpoint(&state.pool).await?;
    tracing::info!(participant = target.participant, "participant erased");
    Ok(erased)
}

/// How many participants of a study were erased (the analysis page and the export say so).
pub async fn erased_count(state: &AppState, study: StudyId) -> Result<i64> {
    Ok(repo::erased_count(&state.pool, study).await?)
}
