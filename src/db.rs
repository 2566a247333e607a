//! The SQLite pool: durable settings, checked at start-up, and embedded migrations.
use anyhow::{Context, bail};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::collections::BTreeSet;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// The busy timeout every connection sets; start-up checks it.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Embedded migrations, applied at start-up.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens (creating if needed) the database file, applies migrations and checks the pragmas.
///
/// The data folder is made 0700 and the database with its `-wal` and `-shm` 0600 (SQLite gives the
/// latter two the database's mode). An existing database in another journal mode is refused rather than
/// converted: converting it is a decision for whoever owns the file and its backups.
pub async fn connect(path: &Path) -> anyhow::Result<SqlitePool> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::files::private_dir(dir)
            .with_context(|| format!("cannot create the data folder {}", dir.display()))?;
    }
    prepare_file(path)?;
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        // Deleted rows are overwritten with zeros, in the file and in the WAL: "deleted" means gone.
        .pragma("secure_delete", "ON");
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    check_pragmas(&pool).await?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        crate::files::private_file(Path::new(&side))
            .with_context(|| format!("cannot restrict {}{suffix}", path.display()))?;
    }
    MIGRATOR
        .run(&pool)
        .await
        .context("cannot apply the database migrations")?;
    vacuum_if_due(&pool).await?;
    Ok(pool)
}

/// Rebuilds the file once when a migration asked for it (`vacuum_due`): free pages keep the bytes of rows
/// deleted before `secure_delete` was on, and only a rebuild removes them.
async fn vacuum_if_due(pool: &SqlitePool) -> anyhow::Result<()> {
    let due: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vacuum_due")
        .fetch_one(pool)
        .await?;
    if due == 0 {
        return Ok(());
    }
    tracing::info!(
        "rebuilding the database file once, so that no deleted data remains in its free pages"
    );
    let mut conn = pool.acquire().await?;
    sqlx::query("VACUUM")
        .execute(&mut *conn)
        .await
        .context("cannot rebuild the database file (VACUUM)")?;
    sqlx::query("DELETE FROM vacuum_due")
        .execute(&mut *conn)
        .await?;
    drop(conn);
    checkpoint(pool).await?;
    Ok(())
}

/// Creates a new database file as 0600, or checks that an existing one is a SQLite database in WAL mode
/// (header bytes 18 and 19 are 2) and restricts it to 0600.
fn prepare_file(path: &Path) -> anyhow::Result<()> {
    use std::io::Read;
    let mut header = [0u8; 20];
    let read = match std::fs::File::open(path) {
        Ok(mut f) => f.read(&mut header).unwrap_or(0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::files::create_private(path)
                .with_context(|| format!("cannot create the database {}", path.display()))?;
            return Ok(());
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read the database {}", path.display()));
        }
    };
    crate::files::private_file(path)
        .with_context(|| format!("cannot restrict the database {}", path.display()))?;
    if read == 0 {
        return Ok(()); // an empty file is a new database
    }
    if read < 20 || &header[..16] != b"SQLite format 3\0" {
        bail!("{} is not a SQLite database", path.display());
    }
    if header[18] != 2 || header[19] != 2 {
        bail!(
            "the database {} uses a rollback journal, not WAL; Layer 2 Study does not convert it silently. \
             Stop every program using it, back it up, then run: sqlite3 {} 'PRAGMA journal_mode=WAL'",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// The database files whose checkpoint could not finish (a reader held the WAL); the tick retries until one
/// does. Kept per file, since one process may hold several databases (the tests do).
static CHECKPOINT_PENDING: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn pending(pool: &SqlitePool, set: Option<bool>) -> bool {
    let file = pool.connect_options().get_filename().to_path_buf();
    let mut files = CHECKPOINT_PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match set {
        Some(true) => files.insert(file),
        Some(false) => files.remove(&file),
        None => files.contains(&file),
    }
}

/// Writes every committed page back into the database file and empties the `-wal`, so that bytes deleted
/// under `secure_delete` leave the WAL too. Call after a scrub or a deletion. A reader that keeps an old
/// snapshot open (a long report, a backup tool) stops it from finishing: it waits for readers up to the busy
/// timeout, then leaves it to the tick, which retries every run until it succeeds. Returns whether it
/// finished.
pub async fn checkpoint(pool: &SqlitePool) -> sqlx::Result<bool> {
    // (busy, frames in the log, frames checkpointed); busy = 1 means it could not finish.
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(pool)
        .await?;
    if busy == 0 {
        pending(pool, Some(false));
        return Ok(true);
    }
    pending(pool, Some(true));
    tracing::warn!(
        "a reader kept the write-ahead log open: deleted data stays in the database files until a \
         checkpoint finishes; the tick retries every run"
    );
    Ok(false)
}

/// The tick's step: retries a checkpoint an erasure or purge could not finish. Returns whether one was due.
pub async fn checkpoint_if_pending(pool: &SqlitePool) -> sqlx::Result<bool> {
    if !pending(pool, None) {
        return Ok(false);
    }
    // The tick must not stall behind a long reader: a short wait here, the next tick tries again. The
    // connection leaves the pool, so its short busy timeout reaches no other query.
    let mut conn = pool.acquire().await?.detach();
    sqlx::query("PRAGMA busy_timeout = 200")
        .execute(&mut conn)
        .await?;
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut conn)
        .await?;
    sqlx::Connection::close(conn).await?;
    if busy == 0 {
        pending(pool, Some(false));
        tracing::info!("the pending checkpoint finished: deleted data has left the -wal file");
    }
    Ok(true)
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
    let secure_delete: i64 = sqlx::query_scalar("PRAGMA secure_delete")
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
    if secure_delete != 1 {
        wrong.push(format!("secure_delete is {secure_delete}, expected 1 (ON)"));
    }
    if !wrong.is_empty() {
        bail!(
            "the database is not set up as Layer 2 Study needs it ({}); is the file on a file system that supports WAL?",
            wrong.join("; ")
        );
    }
    Ok(())
}

/// Writes a consistent copy of the live database to `out` (`VACUUM INTO`: one read transaction, so
/// writers keep working and the copy holds every commit up to its start, without the `-wal`). `out` must
/// not exist; it is created 0600 first (the copy is personal data).
pub async fn backup_into(pool: &SqlitePool, out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        bail!("{} already exists; choose a new file", out.display());
    }
    crate::files::create_private(out)
        .with_context(|| format!("cannot create {}", out.display()))?;
    let target = out.to_string_lossy().into_owned();
    let copied = sqlx::query("VACUUM INTO ?")
        .bind(&target)
        .execute(pool)
        .await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(out);
        return Err(e).with_context(|| format!("cannot write the backup {}", out.display()));
    }
    // The copy comes out with a rollback journal; in WAL, as start-up requires, it restores as it is.
    let copy = SqliteConnectOptions::new()
        .filename(out)
        .journal_mode(SqliteJournalMode::Wal);
    let mut conn = sqlx::ConnectOptions::connect(&copy)
        .await
        .with_context(|| format!("cannot open the backup {}", out.display()))?;
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await?;
    sqlx::Connection::close(conn).await?;
    if ok != "ok" {
        bail!(
            "the backup {} failed its integrity check: {ok}",
            out.display()
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
        assert!(err.contains("secure_delete is 0, expected 1 (ON)"), "{err}");
    }

    #[tokio::test]
    async fn an_existing_database_in_rollback_mode_is_refused_not_converted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Delete);
        let pool = SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let before = std::fs::read(&path).unwrap();
        let err = connect(&path).await.unwrap_err().to_string();
        assert!(err.contains("uses a rollback journal, not WAL"), "{err}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the file is untouched"
        );
        std::fs::write(dir.path().join("junk"), "not a database at all").unwrap();
        let err = connect(&dir.path().join("junk"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a SQLite database"), "{err}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_data_folder_and_the_database_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = data.join("layer2.sqlite3");
        let pool = connect(&path).await.unwrap();
        sqlx::query("CREATE TABLE t (x)")
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(mode(&data), 0o700);
        for f in ["layer2.sqlite3", "layer2.sqlite3-wal", "layer2.sqlite3-shm"] {
            assert_eq!(mode(&data.join(f)), 0o600, "{f}");
        }
        pool.close().await;
        // An existing database someone made world-readable is restricted again at the next start.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        let pool = connect(&path).await.unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&data), 0o700);
        pool.close().await;
    }

    #[tokio::test]
    async fn a_deleted_row_leaves_neither_the_file_nor_the_wal_after_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layer2.sqlite3");
        let pool = connect(&path).await.unwrap();
        sqlx::query("CREATE TABLE t (x TEXT)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES ('MARKER-5f1c-erase-me')")
            .execute(&pool)
            .await
            .unwrap();
        checkpoint(&pool).await.unwrap();
        sqlx::query("DELETE FROM t").execute(&pool).await.unwrap();
        checkpoint(&pool).await.unwrap();
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        for f in [path.clone(), wal.into()] {
            let bytes = std::fs::read(&f).unwrap_or_default();
            let found = bytes
                .windows(b"MARKER-5f1c".len())
                .any(|w| w == b"MARKER-5f1c");
            assert!(!found, "the deleted text is still in {}", f.display());
        }
        pool.close().await;
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
