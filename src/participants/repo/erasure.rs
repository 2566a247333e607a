//! Erasure: finding a participant's roster row, counting and deleting what is theirs, and the record
//! that they were erased.
use super::*;

/// The roster row behind a participant (what erasure must find and blank).
#[derive(Clone, Debug, FromRow)]
pub struct ErasureTarget {
    /// Participant id.
    pub participant: i64,
    /// Roster row id.
    pub employee: i64,
    /// Their hire date (erased; the tenure band it implies is kept).
    pub hire_date: Option<NaiveDate>,
    /// The roster's tenure band, when the roster gave one instead of a hire date.
    pub tenure_band: Option<String>,
}

/// A participant of a study, found by participant id.
pub async fn erasure_target(
    conn: &mut SqliteConnection,
    study: StudyId,
    participant: i64,
) -> sqlx::Result<Option<ErasureTarget>> {
    sqlx::query_as(
        "SELECT p.id AS participant, p.employee, e.hire_date, e.tenure_band
         FROM participants p JOIN employees e ON e.id = p.employee WHERE p.study_id = ? AND p.id = ?",
    )
    .bind(study)
    .bind(participant)
    .fetch_optional(conn)
    .await
}

/// A participant of a study, found by their email (any case) or their employee id.
pub async fn erasure_target_by_key(
    conn: &mut SqliteConnection,
    study: StudyId,
    email: Option<&str>,
    employee_id: Option<&str>,
) -> sqlx::Result<Option<ErasureTarget>> {
    sqlx::query_as(
        "SELECT p.id AS participant, p.employee, e.hire_date, e.tenure_band
         FROM participants p JOIN employees e ON e.id = p.employee
         WHERE p.study_id = ? AND (e.email = lower(?) OR e.employee_id = ?)",
    )
    .bind(study)
    .bind(email)
    .bind(employee_id)
    .fetch_optional(conn)
    .await
}

/// How many rows of each kind a participant has.
#[derive(Clone, Debug, Default, FromRow, PartialEq, Eq)]
pub struct ErasureCounts {
    /// Diary entries (Instrument A).
    pub diary_entries: i64,
    /// The control group's task log.
    pub control_tasks: i64,
    /// Pings, whatever their state.
    pub pings: i64,
    /// Ping answers.
    pub answers: i64,
    /// Magic links.
    pub links: i64,
    /// Consent history.
    pub consent_events: i64,
    /// Queued and sent mail.
    pub mail: i64,
    /// Raw and summarised usage rows keyed by their email, login or employee id.
    pub usage_rows: i64,
}

/// Counts what an erasure will remove.
pub async fn erasure_counts(
    conn: &mut SqliteConnection,
    study: StudyId,
    t: &ErasureTarget,
) -> sqlx::Result<ErasureCounts> {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM diary_entries WHERE participant = ?1) AS diary_entries,
           (SELECT COUNT(*) FROM control_tasks WHERE participant = ?1) AS control_tasks,
           (SELECT COUNT(*) FROM pings WHERE participant = ?1) AS pings,
           (SELECT COUNT(*) FROM ping_answers a JOIN pings g ON g.id = a.ping WHERE g.participant = ?1) AS answers,
           (SELECT COUNT(*) FROM link_tokens WHERE participant = ?1) AS links,
           (SELECT COUNT(*) FROM consent_events WHERE participant = ?1) AS consent_events,
           (SELECT COUNT(*) FROM outbox WHERE participant = ?1) AS mail,
           (SELECT COUNT(*) FROM usage_raw r JOIN usage_imports i ON i.id = r.import_id JOIN employees e ON e.id = ?2
              WHERE i.study_id = ?3 AND lower(r.key) IN (e.email, lower(e.employee_id), lower(e.login), lower(e.upn), lower(e.vendor_id)))
           + (SELECT COUNT(*) FROM usage_summary u JOIN usage_imports i ON i.id = u.import_id JOIN employees e ON e.id = ?2
              WHERE i.study_id = ?3 AND lower(u.key) IN (e.email, lower(e.employee_id), lower(e.login), lower(e.upn), lower(e.vendor_id))) AS usage_rows",
    )
    .bind(t.participant)
    .bind(t.employee)
    .bind(study)
    .fetch_one(conn)
    .await
}

/// The Message-IDs of a participant's mail (their `.eml` files are named after them).
pub async fn erasure_message_ids(
    conn: &mut SqliteConnection,
    participant: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT message_id FROM outbox WHERE participant = ?")
        .bind(participant)
        .fetch_all(conn)
        .await
}

/// Deletes every row of a participant (answers, pings, diary, tasks, links, consent history, mail, the
/// participant itself) and the usage rows keyed by them, then blanks their roster row: cohort, function,
/// tenure band (`band`, computed from the hire date) and usage stay for the sample's composition; email,
/// login, upn, vendor id, employee id and hire date go (the NOT NULL, UNIQUE columns get `placeholder`).
pub async fn erase(
    conn: &mut SqliteConnection,
    study: StudyId,
    t: &ErasureTarget,
    placeholder: &str,
    band: &str,
) -> sqlx::Result<()> {
    const PARTICIPANT_ROWS: [&str; 8] = [
        "DELETE FROM ping_answers WHERE ping IN (SELECT id FROM pings WHERE participant = ?)",
        "DELETE FROM outbox WHERE participant = ?",
        "DELETE FROM link_tokens WHERE participant = ?",
        "DELETE FROM pings WHERE participant = ?",
        "DELETE FROM diary_entries WHERE participant = ?",
        "DELETE FROM control_tasks WHERE participant = ?",
        "DELETE FROM consent_events WHERE participant = ?",
        "DELETE FROM participants WHERE id = ?",
    ];
    for sql in PARTICIPANT_ROWS {
        sqlx::query(sql)
            .bind(t.participant)
            .execute(&mut *conn)
            .await?;
    }
    for sql in [
        "DELETE FROM usage_raw WHERE id IN (SELECT r.id FROM usage_raw r JOIN usage_imports i ON i.id = r.import_id
           JOIN employees e ON e.id = ?1
           WHERE i.study_id = ?2 AND lower(r.key) IN (e.email, lower(e.employee_id), lower(e.login), lower(e.upn), lower(e.vendor_id)))",
        "DELETE FROM usage_summary WHERE rowid IN (SELECT u.rowid FROM usage_summary u JOIN usage_imports i ON i.id = u.import_id
           JOIN employees e ON e.id = ?1
           WHERE i.study_id = ?2 AND lower(u.key) IN (e.email, lower(e.employee_id), lower(e.login), lower(e.upn), lower(e.vendor_id)))",
    ] {
        sqlx::query(sql)
            .bind(t.employee)
            .bind(study)
            .execute(&mut *conn)
            .await?;
    }
    // The roster row keeps what the sample's make-up needs (cohort, function, tenure band) and nothing that
    // could be joined back to the customer's files: no ids, no address, no time zone, no exact usage. It
    // also moves to a new row id at the end of the table, since ids follow the roster file's order and
    // the neighbours' ids would place it.
    sqlx::query(
        "UPDATE employees SET employee_id = ?1 || '-old', email = ?1 || '-old@erased.invalid' WHERE id = ?2",
    )
    .bind(placeholder)
    .bind(t.employee)
    .execute(&mut *conn)
    .await?;
    let moved: i64 = sqlx::query_scalar(
        "INSERT INTO employees (study_id, employee_id, email, function, hire_date, tenure_band, time_zone, login,
           usage_score, usage_tiebreak, active_days_month, gross_hours_month, cohort)
         SELECT study_id, ?1, ?1 || '@erased.invalid', function, NULL, ?2, 'UTC', NULL, NULL, 0, NULL, NULL, cohort
         FROM employees WHERE id = ?3
         RETURNING id",
    )
    .bind(placeholder)
    .bind(band)
    .bind(t.employee)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("UPDATE sample_members SET employee = ? WHERE employee = ?")
        .bind(moved)
        .bind(t.employee)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM employees WHERE id = ?")
        .bind(t.employee)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records an erasure: study, time, who asked, and the counts (nobody's name, email or id).
pub async fn insert_erasure(
    conn: &mut SqliteConnection,
    study: StudyId,
    now: DateTime<Utc>,
    actor: &str,
    c: &ErasureCounts,
    mail_files: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO erasures (study_id, at, actor, diary_entries, control_tasks, pings, answers, links,
           consent_events, mail, mail_files, usage_rows) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(study)
    .bind(now)
    .bind(actor)
    .bind(c.diary_entries)
    .bind(c.control_tasks)
    .bind(c.pings)
    .bind(c.answers)
    .bind(c.links)
    .bind(c.consent_events)
    .bind(c.mail)
    .bind(mail_files)
    .bind(c.usage_rows)
    .execute(conn)
    .await?;
    Ok(())
}

/// How many participants of a study were erased.
pub async fn erased_count<'e>(db: impl SqliteExecutor<'e>, study: StudyId) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM erasures WHERE study_id = ?")
        .bind(study)
        .fetch_one(db)
        .await
}
