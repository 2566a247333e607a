//! SQL the demo's replay needs beyond the services: who joins the control group, and which arm a
//! participant is in.
use crate::study::StudyId;
use sqlx::SqliteExecutor;

/// Up to 30 employees the usage data shows without the tool and who are not in the sample, by id.
pub async fn control_candidates<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT e.employee_id FROM employees e WHERE e.study_id = ? AND e.usage_score IS NULL
           AND NOT EXISTS (SELECT 1 FROM sample_members m WHERE m.employee = e.id)
         ORDER BY e.employee_id LIMIT 30",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// Whether a participant is in the control group.
pub async fn is_control<'e>(db: impl SqliteExecutor<'e>, participant: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT arm = 'control' FROM participants WHERE id = ?")
        .bind(participant)
        .fetch_one(db)
        .await
}

/// Gives a study's collection settings a fixed ping-schedule seed (created with defaults if absent).
pub async fn fix_schedule_seed<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
    seed: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO collection_settings (study_id, schedule_seed) VALUES (?, ?)
         ON CONFLICT (study_id) DO UPDATE SET schedule_seed = excluded.schedule_seed",
    )
    .bind(study)
    .bind(seed)
    .execute(db)
    .await?;
    Ok(())
}
