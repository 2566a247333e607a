//! SQL the demo's replay needs beyond the services: who joins the control group, which arm a
//! participant is in, and when the tick can next find something due.
use crate::study::StudyId;
use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use sqlx::SqliteExecutor;

/// The earliest moment after `after` at which the tick can find something due in the tables: a scheduled
/// ping's time or its expiry, mail waiting to be sent (whenever it was queued), a claim's lease running
/// out, a phase's first day (or the day after the readout) beginning in its study's time zone. Reminders
/// come from the participant service ([`crate::participants::service::next_reminder`]); retention dates
/// lie months after the demo's "now", so they are left out. The demo's replay only: it skips the
/// half-hours before this moment, which run no step and change nothing.
pub async fn next_due(
    pool: &sqlx::SqlitePool,
    after: DateTime<Utc>,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    let times: Vec<Option<DateTime<Utc>>> = sqlx::query_scalar(
        "SELECT MIN(due_at) FROM pings WHERE status = 'scheduled' AND due_at > ?1
         UNION ALL SELECT MIN(expires_at) FROM pings WHERE status IN ('scheduled', 'sent') AND expires_at > ?1
         UNION ALL SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'
         UNION ALL SELECT MIN(lease_until) FROM outbox WHERE status = 'sending'",
    )
    .bind(after)
    .fetch_all(pool)
    .await?;
    let phases: Vec<(String, String, chrono::NaiveDate, chrono::NaiveDate)> = sqlx::query_as(
        "SELECT s.time_zone, p.phase, p.starts_on, p.ends_on FROM study_phases p JOIN studies s ON s.id = p.study_id
         WHERE s.status NOT IN ('draft', 'closed', 'cancelled')",
    )
    .fetch_all(pool)
    .await?;
    let day_begins = |zone: &str, day: chrono::NaiveDate| {
        let tz = crate::clock::zone(zone);
        // A midnight a clock change skips: fourteen hours early (no zone is further ahead of UTC).
        tz.from_local_datetime(&day.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| day.and_time(NaiveTime::MIN).and_utc() - chrono::Duration::hours(14))
    };
    let phase_times = phases.iter().flat_map(|(zone, phase, starts, ends)| {
        let after_readout =
            (phase == "readout").then(|| day_begins(zone, *ends + chrono::Duration::days(1)));
        [Some(day_begins(zone, *starts)), after_readout]
    });
    // Pings count from after `after` (one due earlier and not sent waits for a phase); mail counts
    // whenever it was queued; phases from after `after` (the tick at `after` made any move due by then).
    Ok(times
        .into_iter()
        .flatten()
        .chain(phase_times.flatten().filter(|t| *t > after))
        .min())
}

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
