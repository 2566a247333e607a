//! The files on disk, as the real binary leaves them: the data folder only the service's user can enter,
//! the database and its `-wal`/`-shm` only it can read, on a new folder and on an existing open one.
#![cfg(unix)]
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
