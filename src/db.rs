//! The SQLite pool: durable settings, checked at start-up, and embedded migrations.
use anyhow::{Context, bail};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::time::Duration;

/// The busy timeout every connection sets; start-up checks it.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Embedded migrations, applied at start-up.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens (creating if needed) the database file, applies migrations and checks the pragmas.
pub async fn connect(path: &Path) -> anyhow::Result<SqlitePool> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data folder {}", dir.display()))?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    check_pragmas(&pool).await?;
    MIGRATOR
        .run(&pool)
        .await
        .context("cannot apply the database migrations")?;
    Ok(pool)
}

/// Refuses to run unless the connection has exactly the durability settings the code relies on.
pub async fn check_pragmas(pool: &SqlitePool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await?;
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await?;
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await?;
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await?;
    let mut wrong = Vec::new();
    if !journal.eq_ignore_ascii_case("wal") {
        wrong.push(format!("journal_mode is {journal}, expected wal"));
    }
    if synchronous != 2 {
        wrong.push(format!("synchronous is {synchronous}, expected 2 (FULL)"));
    }
    if foreign_keys != 1 {
        wrong.push("foreign_keys is off, expected on".to_string());
    }
    if busy < 1000 {
        wrong.push(format!("busy_timeout is {busy} ms, expected at least 1000"));
    }
    if !wrong.is_empty() {
        bail!(
            "the database is not set up as Layer 2 Study needs it ({}); is the file on a file system that supports WAL?",
            wrong.join("; ")
        );
    }
    Ok(())
}

/// Starts a write transaction that takes the write lock at once, so read-then-write never deadlocks.
pub async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_database_without_wal_and_full_sync_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("x.sqlite3"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Delete)
            .synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .unwrap();
        let err = check_pragmas(&pool).await.unwrap_err().to_string();
        assert!(
            err.contains("journal_mode is delete, expected wal"),
            "{err}"
        );
        assert!(err.contains("synchronous is 1, expected 2 (FULL)"), "{err}");
    }

    #[tokio::test]
    async fn connect_sets_every_pragma_and_migrates() {
        let dir = tempfile::tempdir().unwrap();
        let pool = connect(&dir.path().join("sub/layer2.sqlite3"))
            .await
            .unwrap();
        check_pragmas(&pool).await.unwrap();
        let tables: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'studies'")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(tables, 1);
    }
}
