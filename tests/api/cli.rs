//! The command line, run as a user would: the real binary against a real data folder.
use crate::helpers::{roster_csv, study_in_folder};
use std::io::Write;
use std::process::{Command, Output, Stdio};

pub fn layer2(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
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

pub fn text(o: &Output) -> String {
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
    for cmd in [
        "serve", "demo", "user", "import", "study", "analyze", "export", "report",
    ] {
        assert!(text(&top).contains(cmd), "{cmd}");
    }
    for args in [
        vec!["user", "add", "--help"],
        vec!["import", "roster", "--help"],
        vec!["import", "usage", "--help"],
        vec!["demo", "--help"],
        vec!["analyze", "--help"],
        vec!["export", "--help"],
        vec!["report", "--help"],
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
    study_in_folder(dir.path(), "CLI study").await;
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
    // Complete the form behind the link as the first admin would, then use the account and the link again.
    let (page_status, signed_in, studies, reused) = rt.block_on(async {
        let browser = crate::helpers::client();
        let page = browser.get(&link).send().await.unwrap();
        let page_status = page.status();
        let csrf = crate::helpers::csrf_in(&page.text().await.unwrap());
        let done = browser
            .post(&link)
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", "first@example.org"),
                ("password", crate::helpers::PASSWORD),
                ("confirm", crate::helpers::PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        let signed_in = done.status();
        let origin = &link[..link.find("/setup/").unwrap()];
        let studies = browser
            .get(format!("{origin}/studies"))
            .send()
            .await
            .unwrap();
        let studies = (studies.status(), studies.text().await.unwrap());
        let reused = browser.get(&link).send().await.unwrap().status();
        (page_status, signed_in, studies, reused)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(page_status, reqwest::StatusCode::OK, "{link}");
    assert_eq!(
        signed_in,
        reqwest::StatusCode::SEE_OTHER,
        "the setup form is accepted"
    );
    assert_eq!(
        studies.0,
        reqwest::StatusCode::OK,
        "the new admin is signed in"
    );
    assert!(
        studies.1.contains("first@example.org"),
        "the header names the new admin"
    );
    assert!(studies.1.contains("Create the first study"));
    assert_eq!(
        reused,
        reqwest::StatusCode::NOT_FOUND,
        "the link works once"
    );
}

/// Three identical participants reproducing SPEC's worked example: G = 10 h, Y = 60%, O = 15 min/h.
fn worked_example(dir: &std::path::Path) {
    let mut participants = String::from("id,cohort,function,tenure,gross_hours_month\n");
    let mut diary = String::from("participant_id,logged_at,outcome\n");
    let mut pings = String::from(
        "participant_id,sent_at,answered_at,used_copilot,verification_min,correction_min,context_min,trust_min\n",
    );
    for p in ["p1", "p2", "p3"] {
        participants.push_str(&format!("{p},heavy,Sales,1-3 y,10\n"));
        for outcome in ["all", "most", "most", "some", "none"] {
            diary.push_str(&format!("{p},2027-02-01T10:00:00Z,{outcome}\n"));
        }
        for h in 9..13 {
            pings.push_str(&format!(
                "{p},2027-02-01T{h:02}:00:00Z,2027-02-01T{h:02}:10:00Z,1,6,5,3,1\n"
            ));
        }
    }
    std::fs::write(dir.join("participants.csv"), participants).unwrap();
    std::fs::write(dir.join("diary.csv"), diary).unwrap();
    std::fs::write(dir.join("pings.csv"), pings).unwrap();
    std::fs::write(dir.join("population.csv"), "cohort,population\nheavy,40\n").unwrap();
}

#[test]
fn analyze_reproduces_the_worked_example_as_json_and_as_a_table() {
    let dir = tempfile::tempdir().unwrap();
    worked_example(dir.path());
    let o = layer2(
        dir.path(),
        &["analyze", dir.path().to_str().unwrap(), "--json"],
        "",
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let heavy = &v["cohorts"]["heavy"];
    assert_eq!(heavy["n"], 3);
    assert!((heavy["yield"]["estimate"].as_f64().unwrap() - 0.6).abs() < 1e-12);
    assert!(
        (heavy["oversight_min_per_hour"]["estimate"]
            .as_f64()
            .unwrap()
            - 15.0)
            .abs()
            < 1e-12
    );
    assert!((heavy["net_hours_month"]["estimate"].as_f64().unwrap() - 3.5).abs() < 1e-12);
    assert!((heavy["labor_multiplier"]["estimate"].as_f64().unwrap() - 0.35).abs() < 1e-12);
    assert_eq!(
        heavy["net_hours_month"]["se"].as_f64().unwrap(),
        0.0,
        "identical participants"
    );
    for key in ["estimate", "se", "df", "ci_lower", "ci_upper"] {
        assert!(v["overall"]["yield"].get(key).is_some(), "{key}");
    }
    let table = layer2(dir.path(), &["analyze", dir.path().to_str().unwrap()], "");
    let t = text(&table);
    assert!(
        t.contains("3 participants, 0 left out")
            && t.contains("3.5 [3.5, 3.5]")
            && t.contains("0.350"),
        "{t}"
    );
}

#[test]
fn analyze_names_the_file_row_and_column_of_a_bad_value() {
    let dir = tempfile::tempdir().unwrap();
    worked_example(dir.path());
    std::fs::write(
        dir.path().join("diary.csv"),
        "participant_id,logged_at,outcome\np1,2027-02-01T10:00:00Z,sometimes\n",
    )
    .unwrap();
    let o = layer2(dir.path(), &["analyze", dir.path().to_str().unwrap()], "");
    assert!(!o.status.success());
    assert!(
        text(&o).contains("diary.csv, row 2, column outcome"),
        "{}",
        text(&o)
    );
    let o = layer2(dir.path(), &["analyze", "/nonexistent-folder"], "");
    assert!(!o.status.success() && text(&o).contains("participants.csv"));
}
