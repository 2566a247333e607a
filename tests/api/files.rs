//! The files on disk, as the real binary leaves them: the data folder only the service's user can enter,
//! the database and its `-wal`/`-shm` only it can read, on a new folder and on an existing open one.
#![cfg(unix)]
use crate::helpers::study_in_folder;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn set_mode(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

/// Runs `layer2 serve` on `dir` until it says it is listening, then stops it.
fn serve_until_listening(dir: &Path) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_layer2"))
        .arg("serve")
        .env("LAYER2_DATA_DIR", dir)
        .env("LAYER2_LISTEN", "127.0.0.1:0")
        .env("LAYER2_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let listening = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(10)
        .map_while(Result::ok)
        .any(|l| l.starts_with("Layer 2 Study on"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(listening, "the server started on {}", dir.display());
}

/// The data folder is 0700 and every database file in it 0600.
fn assert_private(dir: &Path) {
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    let db = dir.join("layer2.sqlite3");
    assert!(db.exists());
    for f in std::fs::read_dir(dir).unwrap() {
        let p = f.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("layer2.sqlite3") {
            assert_eq!(mode(&p), 0o600, "{name}");
        }
    }
}

#[test]
fn serve_on_a_new_folder_creates_it_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new-data");
    serve_until_listening(&dir);
    assert_private(&dir);
}

#[test]
fn serve_on_an_existing_open_folder_closes_it_and_its_database() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("old-data");
    serve_until_listening(&dir);
    // An operator (or a restore from backup) left everything readable by every local user.
    set_mode(&dir, 0o755);
    for f in std::fs::read_dir(&dir).unwrap() {
        set_mode(&f.unwrap().path(), 0o644);
    }
    assert_eq!(mode(&dir.join("layer2.sqlite3")), 0o644);
    serve_until_listening(&dir);
    assert_private(&dir);
}

/// Whether `needle` is anywhere in the database file or its `-wal`.
fn in_files(db: &Path, needle: &str) -> bool {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    [db.to_path_buf(), wal.into()].iter().any(|p| {
        std::fs::read(p)
            .map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .unwrap_or(false)
    })
}

#[tokio::test]
async fn bytes_deleted_before_secure_delete_leave_the_file_at_the_upgrade() {
    use sqlx::{Connection, SqliteConnection};
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("layer2.sqlite3");
    layer2::db::connect(&db).await.unwrap().close().await;
    // What an older version left behind: a row deleted while secure_delete was off (its bytes stay in a
    // free page), and the migration that asks for the one-time rebuild.
    let marker = "https://study.example/p/OLD-LIVE-LINK-7f3a9c";
    let mut old = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for sql in [
        "PRAGMA secure_delete = OFF",
        "CREATE TABLE old_outbox (body TEXT)",
    ] {
        sqlx::query(sql).execute(&mut old).await.unwrap();
    }
    for _ in 0..200 {
        sqlx::query("INSERT INTO old_outbox (body) VALUES (?)")
            .bind(format!("Open your page: {marker} {}", "x".repeat(200)))
            .execute(&mut old)
            .await
            .unwrap();
    }
    for sql in [
        "DELETE FROM old_outbox",
        "DROP TABLE old_outbox",
        "INSERT INTO vacuum_due (reason) VALUES ('test')",
        "PRAGMA wal_checkpoint(TRUNCATE)",
    ] {
        sqlx::query(sql).execute(&mut old).await.unwrap();
    }
    old.close().await.unwrap();
    assert!(in_files(&db, marker), "the old bytes are in a free page");

    let pool = layer2::db::connect(&db).await.unwrap();
    assert!(!in_files(&db, marker), "the rebuild removed them");
    let due: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vacuum_due")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(due, 0, "rebuilt once");
}

#[tokio::test]
async fn layer2_export_writes_files_only_its_user_can_read_whatever_the_umask() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    study_in_folder(&data, "Export study").await;
    let out = tmp.path().join("export");
    // `sh -c 'umask 000; exec …'`: the most open umask a careless shell could have.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 000; exec '{}' export --study 1 --out '{}'",
            env!("CARGO_BIN_EXE_layer2"),
            out.display()
        ))
        .env("LAYER2_DATA_DIR", &data)
        .env("LAYER2_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(mode(&out), 0o700, "a new export folder is private");
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}
