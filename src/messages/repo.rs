//! SQL for a study's message texts and sender: every saved change is a new version; the highest is current.
use super::{MessageKind, Sender};
use crate::study::StudyId;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

/// A saved version of one message.
#[derive(FromRow)]
pub struct MessageRow {
    /// Which message.
    pub message: MessageKind,
    /// Its version.
    pub version: i64,
    /// Subject with placeholders.
    pub subject: String,
    /// Body with placeholders.
    pub body: String,
}

/// The current (highest) version of every message a study has saved.
pub async fn current_messages<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Vec<MessageRow>> {
    sqlx::query_as(
        "SELECT m.message, m.version, m.subject, m.body FROM message_versions m
         WHERE m.study_id = ? AND m.version = (SELECT MAX(v.version) FROM message_versions v
                                               WHERE v.study_id = m.study_id AND v.message = m.message)",
    )
    .bind(study)
    .fetch_all(db)
    .await
}

/// Saves a new version of one message.
pub async fn insert_message(
    conn: &mut SqliteConnection,
    study: StudyId,
    m: &MessageRow,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO message_versions (study_id, message, version, subject, body, saved_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(study)
    .bind(m.message)
    .bind(m.version)
    .bind(&m.subject)
    .bind(&m.body)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A saved version of the sender.
#[derive(FromRow)]
pub struct SenderRow {
    /// Its version.
    pub version: i64,
    /// From name.
    pub name: String,
    /// From address.
    pub address: String,
    /// Organisation.
    pub organisation: String,
    /// Contact line.
    pub contact: String,
}

/// The study's current sender, if one was ever saved.
pub async fn current_sender<'e>(
    db: impl SqliteExecutor<'e>,
    study: StudyId,
) -> sqlx::Result<Option<SenderRow>> {
    sqlx::query_as(
        "SELECT version, name, address, organisation, contact FROM sender_versions
         WHERE study_id = ? ORDER BY version DESC LIMIT 1",
    )
    .bind(study)
    .fetch_optional(db)
    .await
}

/// Saves a new version of the sender.
pub async fn insert_sender(
    conn: &mut SqliteConnection,
    study: StudyId,
    version: i64,
    s: &Sender,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sender_versions (study_id, version, name, address, organisation, contact, saved_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(study)
    .bind(version)
    .bind(&s.name)
    .bind(&s.address)
    .bind(&s.organisation)
    .bind(&s.contact)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
