//! SQL for retention: which studies are not purged yet, the person-level rows of a study, the snapshot.
use super::Counts;
use crate::study::StudyId;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{SqliteConnection, SqliteExecutor};

/// Studies whose raw data is still there.
pub async fn not_purged<'e>(db: impl SqliteExecutor<'e>) -> sqlx::Result<Vec<StudyId>> {
    let ids: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM studies WHERE id NOT IN (SELECT study_id FROM study_purges) ORDER BY id",
    )
    .fetch_all(db)
    .await?;
    Ok(ids.into_iter().map(|(id,)| StudyId(id)).collect())
}

/// The purge record of a study: (day, snapshot JSON).
pub async fn purge<'e>(
    db: impl SqliteExecutor<'e>,
    id: StudyId,
) -> sqlx::Result<Option<(NaiveDate, String)>> {
    sqlx::query_as("SELECT purged_on, snapshot FROM study_purges WHERE study_id = ?")
        .bind(id.0)
        .fetch_optional(db)
        .await
}

/// Records the purge and its snapshot.
pub async fn insert_purge(
    conn: &mut SqliteConnection,
    id: StudyId,
    on: NaiveDate,
    at: DateTime<Utc>,
    snapshot: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO study_purges (study_id, purged_on, purged_at, snapshot) VALUES (?, ?, ?, ?)",
    )
    .bind(id.0)
    .bind(on)
    .bind(at)
    .bind(snapshot)
    .execute(conn)
    .await?;
    Ok(())
}

async fn count(conn: &mut SqliteConnection, sql: &'static str, id: StudyId) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as(sql).bind(id.0).fetch_one(conn).await?;
    Ok(n)
}

/// The Message-IDs of the study's mail (to delete the files the file transport wrote for them).
pub async fn message_ids(conn: &mut SqliteConnection, id: StudyId) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT message_id FROM outbox WHERE study_id = ?1 OR participant IN (SELECT id FROM participants WHERE study_id = ?1)",
    )
    .bind(id.0)
    .fetch_all(conn)
    .await
}

/// Counts the study's person-level rows, then deletes them: mail, participants (with their diary entries,
/// control tasks, pings and answers, links and consent events), the sample, the roster, the usage rows and
/// the export key that tied pseudonyms to employee ids.
pub async fn delete_person_rows(conn: &mut SqliteConnection, id: StudyId) -> sqlx::Result<Counts> {
    let c = Counts {
        participants: count(conn, "SELECT COUNT(*) FROM participants WHERE study_id = ?", id).await?,
        diary_entries: count(
            conn,
            "SELECT COUNT(*) FROM diary_entries WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)",
            id,
        )
        .await?,
        control_tasks: count(
            conn,
            "SELECT COUNT(*) FROM control_tasks WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)",
            id,
        )
        .await?,
        pings: count(
            conn,
            "SELECT COUNT(*) FROM pings WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)",
            id,
        )
        .await?,
        consent_events: count(
            conn,
            "SELECT COUNT(*) FROM consent_events WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)",
            id,
        )
        .await?,
        links: count(
            conn,
            "SELECT COUNT(*) FROM link_tokens WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)",
            id,
        )
        .await?,
        mail: count(
            conn,
            "SELECT COUNT(*) FROM outbox WHERE study_id = ?1 OR participant IN (SELECT id FROM participants WHERE study_id = ?1)",
            id,
        )
        .await?,
        employees: count(conn, "SELECT COUNT(*) FROM employees WHERE study_id = ?", id).await?,
        sample_members: count(conn, "SELECT COUNT(*) FROM sample_members WHERE study_id = ?", id)
            .await?,
        usage_rows: count(
            conn,
            "SELECT (SELECT COUNT(*) FROM usage_raw WHERE import_id IN (SELECT id FROM usage_imports WHERE study_id = ?1))
                  + (SELECT COUNT(*) FROM usage_summary WHERE import_id IN (SELECT id FROM usage_imports WHERE study_id = ?1))",
            id,
        )
        .await?,
        mail_files: 0,
    };
    // Children first, explicitly: the result does not depend on foreign-key cascades being on.
    const DELETES: [&str; 13] = [
        "DELETE FROM outbox WHERE study_id = ?1 OR participant IN (SELECT id FROM participants WHERE study_id = ?1)",
        "DELETE FROM link_tokens WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)",
        "DELETE FROM consent_events WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)",
        "DELETE FROM diary_entries WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)",
        "DELETE FROM control_tasks WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)",
        "DELETE FROM ping_answers WHERE ping IN (SELECT p.id FROM pings p JOIN participants t ON t.id = p.participant WHERE t.study_id = ?)",
        "DELETE FROM pings WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)",
        "DELETE FROM participants WHERE study_id = ?",
        "DELETE FROM sample_members WHERE study_id = ?",
        "DELETE FROM employees WHERE study_id = ?",
        "DELETE FROM usage_raw WHERE import_id IN (SELECT id FROM usage_imports WHERE study_id = ?)",
        "DELETE FROM usage_summary WHERE import_id IN (SELECT id FROM usage_imports WHERE study_id = ?)",
        "DELETE FROM export_keys WHERE study_id = ?",
    ];
    for sql in DELETES {
        sqlx::query(sql).bind(id.0).execute(&mut *conn).await?;
    }
    Ok(c)
}
