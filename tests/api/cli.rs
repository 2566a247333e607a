//! The command line, run as a user would: the real binary against a real data folder.
use crate::helpers::roster_csv;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn layer2(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_layer2"))
        .args(args)
        .env("LAYER2_DATA_DIR", dir)
        .env("LAYER2_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let top = layer2(dir.path(), &["--help"], "");
    assert!(top.status.success());
    for cmd in ["serve", "demo", "user", "import", "study"] {
        assert!(text(&top).contains(cmd), "{cmd}");
    }
    for args in [
        vec!["user", "add", "--help"],
        vec!["import", "roster", "--help"],
        vec!["import", "usage", "--help"],
        vec!["demo", "--help"],
    ] {
        let o = layer2(dir.path(), &args, "");
        assert!(
            o.status.success() && text(&o).contains("Usage:"),
            "{args:?}"
        );
    }
}

#[test]
fn user_add_reads_the_password_from_stdin_and_never_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let o = layer2(
        dir.path(),
        &[
            "user",
            "add",
            "--email",
            "Ops@Example.org",
            "--role",
            "analyst",
        ],
        "piped password 123\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Created the analyst account ops@example.org"));
    assert!(!text(&o).contains("piped password 123"));
    let again = layer2(
        dir.path(),
        &[
            "user",
            "add",
            "--email",
            "ops@example.org",
            "--role",
            "analyst",
        ],
        "piped password 123\n",
    );
    assert!(!again.status.success() && text(&again).contains("already exists"));
    let short = layer2(
        dir.path(),
        &["user", "add", "--email", "x@example.org", "--role", "admin"],
        "short\n",
    );
    assert!(!short.status.success() && text(&short).contains("at least 12 characters"));
    let role = layer2(
        dir.path(),
        &["user", "add", "--email", "x@example.org", "--role", "owner"],
        "long enough password\n",
    );
    assert!(!role.status.success() && text(&role).contains("admin or analyst"));
    let list = layer2(dir.path(), &["user", "list"], "");
    assert!(text(&list).contains("analyst  ops@example.org"));
}

#[tokio::test]
async fn import_from_the_cli_uses_the_same_checks_as_the_web() {
    let dir = tempfile::tempdir().unwrap();
    // A study to import into, created through the library on the same data folder.
    {
        let config = layer2::config::Config {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let pool = layer2::db::connect(&config.database_path()).await.unwrap();
        let state = layer2::state::AppState::new(
            pool.clone(),
            config,
            std::sync::Arc::new(layer2::clock::SystemClock),
        )
        .unwrap();
        let form = layer2::study::StudyForm {
            name: "CLI study".into(),
            vendor: "GitHub".into(),
            product: "Copilot".into(),
            model_version: String::new(),
            time_zone: "UTC".into(),
            start_date: "2027-01-04".into(),
        };
        let d = layer2::study::StudyDetails::parse(&form).unwrap();
        layer2::study::service::create(&state, &layer2::audit::Actor::cli(), &d)
            .await
            .unwrap();
        pool.close().await;
    }
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "employee_id,email,function,hire_date,time_zone\nE1,a@example.org,Sales,2020-01-01,Nowhere/City\n").unwrap();
    let o = layer2(
        dir.path(),
        &["import", "roster", "--study", "1", bad.to_str().unwrap()],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("row 2, column time_zone"), "{}", text(&o));
    let good = dir.path().join("good.csv");
    std::fs::write(&good, roster_csv(50)).unwrap();
    let o = layer2(
        dir.path(),
        &["import", "roster", "--study", "1", good.to_str().unwrap()],
        "",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Imported 50 employees into study 1"));
    let o = layer2(
        dir.path(),
        &["import", "roster", "--study", "9", good.to_str().unwrap()],
        "",
    );
    assert!(!o.status.success() && text(&o).contains("no study with id 9"));
    let o = layer2(
        dir.path(),
        &[
            "import",
            "usage",
            "--study",
            "1",
            "--format",
            "excel",
            good.to_str().unwrap(),
        ],
        "",
    );
    assert!(!o.status.success() && text(&o).contains("--format"));
    let o = layer2(dir.path(), &["study", "list"], "");
    assert!(text(&o).contains("CLI study") && text(&o).contains("50 employees"));
}

#[test]
fn a_first_serve_prints_a_setup_link_that_creates_the_admin() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_layer2"))
        .arg("serve")
        .env("LAYER2_DATA_DIR", dir.path())
        .env("LAYER2_LISTEN", "127.0.0.1:0")
        .env("LAYER2_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut link = None;
    for line in lines.by_ref().take(5) {
        let line = line.unwrap();
        if let Some(at) = line.find("/setup/") {
            link = Some(line[line.find("http").unwrap()..at + 7 + 64].to_string());
        }
        if line.starts_with("Layer 2 Study on") {
            break;
        }
    }
    let link = link.expect("a setup link is printed");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async { reqwest::get(&link).await.unwrap().status() });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, reqwest::StatusCode::OK, "{link}");
}
