//! Group commit for ping answers: answers that arrive while a commit is on the disk wait for the next one
//! and share it, so with `synchronous=FULL` many answers cost one fsync. Each answer is acknowledged only
//! after the transaction holding it has committed; nothing is answered from memory.
use super::PingAnswer;
use super::repo;
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::participants::service::instrument;
use crate::study::StudyId;
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use std::sync::OnceLock;
use tokio::sync::{mpsc, oneshot};

/// Most answers written in one transaction: enough to follow a burst, small enough that the write lock
/// is never held for long (about 0.1 ms of SQL per answer).
pub const MAX_BATCH: usize = 256;

/// Answers waiting for the writer before senders wait too (back pressure instead of unbounded memory).
const QUEUE: usize = 4_096;

/// One answer on its way to the disk, and where to say whether it was stored.
struct Job {
    study: StudyId,
    participant: i64,
    ping: i64,
    answer: PingAnswer,
    now: DateTime<Utc>,
    done: oneshot::Sender<Result<bool>>,
}

/// The answer writer of one database: a task started on first use that commits queued answers together.
/// It ends when the application state holding this queue is dropped.
#[derive(Default)]
pub struct AnswerQueue {
    jobs: OnceLock<mpsc::Sender<Job>>,
}

impl AnswerQueue {
    /// Stores one answer (only for a sent ping of this participant inside its window, at most once) and
    /// returns once it is committed: `true` when stored, `false` when the ping was not answerable.
    pub async fn store(
        &self,
        pool: &SqlitePool,
        study: StudyId,
        participant: i64,
        ping: i64,
        answer: PingAnswer,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let jobs = self.jobs.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(pool.clone(), rx));
            tx
        });
        let (done, stored) = oneshot::channel();
        let job = Job {
            study,
            participant,
            ping,
            answer,
            now,
            done,
        };
        if jobs.send(job).await.is_err() {
            return Err(AppError::Internal(anyhow::anyhow!(
                "the answer writer has stopped"
            )));
        }
        stored.await.map_err(|_| {
            AppError::Internal(anyhow::anyhow!(
                "the answer writer stopped before committing"
            ))
        })?
    }
}

/// The writer's loop: takes whatever is queued (at least one answer, at most `MAX_BATCH`), commits it in
/// one transaction and only then acknowledges each answer.
async fn run(pool: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match write(&pool, &batch).await {
            Ok(stored) => {
                for (job, stored) in batch.drain(..).zip(stored) {
                    // A client that went away no longer waits; its answer is stored all the same.
                    let _ = job.done.send(Ok(stored));
                }
            }
            Err(e) => {
                // Nothing of the batch was committed. Each answer gets its own transaction, so one that
                // fails (or a disk that is full) fails alone, and every caller learns its own outcome.
                tracing::warn!(
                    answers = batch.len(),
                    "a batch of answers failed, retrying one by one: {e}"
                );
                for job in batch.drain(..) {
                    let r = write(&pool, std::slice::from_ref(&job))
                        .await
                        .map(|stored| stored[0]);
                    let _ = job.done.send(r);
                }
            }
        }
    }
}

/// Writes the answers in one `BEGIN IMMEDIATE` transaction; whether each was stored, in order.
async fn write(pool: &SqlitePool, jobs: &[Job]) -> Result<Vec<bool>> {
    let mut tx = begin_write(pool).await?;
    // The instrument version each answer records, read once per study in the batch.
    let mut versions: Vec<(StudyId, i64)> = Vec::new();
    let mut stored = Vec::with_capacity(jobs.len());
    for j in jobs {
        let version = match versions.iter().find(|(s, _)| *s == j.study) {
            Some((_, v)) => *v,
            None => {
                let v = instrument(&mut tx, j.study, j.now).await?.version;
                versions.push((j.study, v));
                v
            }
        };
        stored.push(
            repo::answer_ping(&mut tx, j.participant, j.ping, &j.answer, version, j.now).await?,
        );
    }
    tx.commit().await?;
    Ok(stored)
}
