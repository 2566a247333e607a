//! Erasure from the participant's page, the collection page and the CLI: afterwards the person's email,
//! employee id and free text are in neither the database file nor its `-wal` nor the mail folder, no mail
//! goes to them, the estimates and exports leave them out and say so, and the audit names nobody.
use crate::helpers::*;
use chrono::Duration;
use layer2::study::StudyId;
use layer2::tick::run_due;
use reqwest::StatusCode;
use std::process::Command;

/// One main-sample participant who consented, wrote `marker` in a diary description, was sent their first
/// ping (as an `.eml` file) and answered it: they count in the profile and in the export.
struct Person {
    study: i64,
    person: TestApp,
    participant: i64,
    link: String,
    email: String,
    employee_id: String,
}

async fn participant_with_marker(app: &TestApp, marker: &str) -> Person {
    let study = study_in_pilot(app).await;
    move_status(app, study, "collection").await;
    app.follow(send_invitations(app, study).await).await;
    let (participant, body) = main_sample_mail(app, 1).await.remove(0);
    let link = link_path(&body);
    let person = app.stranger();
    consent(&person, &link, true).await;
    let description = format!("drafted the {marker} memo");
    log_task(
        &person,
        &link,
        &[
            ("category", "Code"),
            ("description", &description),
            ("outcome", "most"),
            ("minutes_with_ai", "20"),
            ("minutes_without_ai", "45"),
        ],
    )
    .await;
    let (ping, due, _) = pings_of(app, participant).await[0];
    app.clock.set(due);
    run_due(&app.state, app.clock_now()).await.unwrap();
    assert_eq!(answer(&person, &link, ping, "yes").await, StatusCode::OK);
    // A day has passed: the admin signs in again.
    app.login(ADMIN, PASSWORD).await;
    let p = Person {
        study,
        email: email_of(app, participant).await,
        employee_id: employee_id_of(app, participant).await,
        person,
        participant,
        link,
    };
    // The premise: everything the erasure must remove is there to be found.
    layer2::db::checkpoint(&app.state.pool).await.unwrap();
    for needle in [marker, &p.email, &p.employee_id] {
        assert!(in_database_files(app, needle), "{needle} is stored before");
    }
    assert!(eml_texts(app).iter().any(|m| m.contains(&p.email)));
    assert_eq!(profile_n(app, study).await, 1);
    assert_eq!(pseudonyms(app, study).await.len(), 1);
    p
}

/// How many participants the study's profile counts (the study's 1/3 rule).
async fn profile_n(app: &TestApp, study: i64) -> usize {
    layer2::reports::study_inputs(&app.state, StudyId(study), 1.0 / 3.0)
        .await
        .unwrap()
        .kept
        .len()
}

/// The pseudonyms in the export's participants.csv.
async fn pseudonyms(app: &TestApp, study: i64) -> Vec<String> {
    let r = app
        .post(
            &format!("/studies/{study}/export"),
            &[("file", "participants.csv")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let csv = r.text().await.unwrap();
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

/// Everything a completed erasure promises, checked from outside.
async fn assert_erased(app: &TestApp, p: &Person, marker: &str, before: &[String]) {
    for needle in [marker, &p.email, &p.employee_id] {
        assert!(
            !in_database_files(app, needle),
            "{needle} is gone from the file and the -wal"
        );
    }
    assert!(!eml_texts(app).iter().any(|m| m.contains(&p.email)));
    // Their later pings are never sent: a week of ticks writes nothing to them.
    for _ in 0..8 {
        app.clock.advance(Duration::days(1));
        run_due(&app.state, app.clock_now()).await.unwrap();
    }
    assert!(!eml_texts(app).iter().any(|m| m.contains(&p.email)));
    assert_eq!(pings_of(app, p.participant).await.len(), 0);
    // Their link is a bad link now.
    assert_eq!(p.person.get_text(&p.link).await.0, StatusCode::NOT_FOUND);
    // Left out of the estimates and the export, which says how many were erased.
    app.login(ADMIN, PASSWORD).await;
    assert_eq!(profile_n(app, p.study).await, 0);
    let after = pseudonyms(app, p.study).await;
    assert!(before.iter().all(|id| !after.contains(id)), "{after:?}");
    let codebook = app
        .post(
            &format!("/studies/{}/export", p.study),
            &[("file", "codebook.csv")],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        codebook.contains("1 participant(s) were erased"),
        "{codebook}"
    );
    let analysis = app
        .get_text(&format!("/studies/{}/analysis", p.study))
        .await
        .1;
    assert!(analysis.contains("1 participant(s) erased"));
    let report = app
        .get_text(&format!("/studies/{}/report", p.study))
        .await
        .1;
    assert!(report.contains("1 erased participant(s) are in no figure"));
    // Their roster row keeps cohort, function and tenure band only, and no longer sits where the roster
    // file put it (its neighbours' ids would place it).
    let (tz, usage, last): (String, Option<f64>, bool) = sqlx::query_as(
        "SELECT time_zone, usage_score, id = (SELECT MAX(id) FROM employees) FROM employees
         WHERE study_id = ? AND email LIKE '%@erased.invalid'",
    )
    .bind(p.study)
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    assert_eq!((tz.as_str(), usage, last), ("UTC", None, true));
    // The audit says how much went, and names nobody.
    let erasures = audit_details(app, "participant.erase").await;
    assert_eq!(erasures.len(), 1);
    assert!(
        erasures[0].starts_with(&format!(
            "participant #{} erased: 1 diary entries",
            p.participant
        )),
        "{}",
        erasures[0]
    );
    for row in audit_texts(app).await {
        assert!(
            !row.contains(&p.email) && !row.contains(&p.employee_id) && !row.contains(marker),
            "{row}"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM erasures WHERE study_id = ?", p.study)
            .await,
        1
    );
}

#[tokio::test]
async fn a_participant_who_leaves_and_deletes_their_answers_is_gone_for_good() {
    let app = spawn_app().await;
    let marker = "ZEBRA-7Q-PARTICIPANT";
    let p = participant_with_marker(&app, marker).await;
    let before = pseudonyms(&app, p.study).await;
    let (status, html) = p.person.get_text(&format!("{}/withdraw", p.link)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Leave and delete my answers"));
    // An empty POST erases nothing.
    let r = p
        .person
        .post_form(&format!("{}/withdraw", p.link), &[])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(diary_of(&app, p.participant).await.len(), 1);
    let r = p
        .person
        .post_form(&format!("{}/withdraw", p.link), &[("choice", "erase")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Your answers are deleted"));
    assert_erased(&app, &p, marker, &before).await;
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM erasures WHERE study_id = ? AND actor = 'participant (own request)'",
            p.study
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_admin_erases_a_participant_from_the_collection_page_after_confirming() {
    let app = spawn_app().await;
    let marker = "ZEBRA-7Q-ADMINPAGE";
    let p = participant_with_marker(&app, marker).await;
    let before = pseudonyms(&app, p.study).await;
    let page = app
        .get_text(&format!("/studies/{}/collection", p.study))
        .await
        .1;
    let action = format!("/studies/{}/participants/{}/erase", p.study, p.participant);
    // The row links to the erasure's confirmation page (issue 14), where the box is ticked.
    assert!(page.contains(&format!("href=\"{action}?")), "{page}");
    let confirm = app.get_text(&action).await.1;
    assert!(confirm.contains("I confirm: erase"), "{confirm}");
    // Without the confirmation nothing changes.
    let html = app.follow(app.post(&action, &[]).await).await;
    assert!(
        flash_text(&html).contains("Tick the box"),
        "{}",
        flash_text(&html)
    );
    assert_eq!(diary_of(&app, p.participant).await.len(), 1);
    let html = app
        .follow(app.post(&action, &[("confirm", "erase")]).await)
        .await;
    assert!(flash_text(&html).starts_with("Participant erased: 1 diary entries"));
    assert!(!html.contains(&p.email) && !html.contains(&p.employee_id));
    assert_erased(&app, &p, marker, &before).await;
}

#[tokio::test]
async fn layer2_participant_erase_erases_by_employee_id_and_refuses_bad_input() {
    let app = spawn_app().await;
    let marker = "ZEBRA-7Q-COMMANDLINE";
    let p = participant_with_marker(&app, marker).await;
    let before = pseudonyms(&app, p.study).await;
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_layer2"))
            .args(args)
            .env("LAYER2_DATA_DIR", app._dir.path())
            .env("LAYER2_LOG", "warn")
            .output()
            .unwrap()
    };
    let help = run(&["participant", "erase", "--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--employee-id"));
    let study = p.study.to_string();
    for (args, says) in [
        (
            vec!["--study", &study],
            "exactly one of --email and --employee-id",
        ),
        (
            vec![
                "--study",
                &study,
                "--email",
                &p.email,
                "--employee-id",
                &p.employee_id,
            ],
            "exactly one of",
        ),
        (
            vec!["--study", &study, "--email", "nobody@example.org"],
            "has no participant with that email",
        ),
        (
            vec!["--study", "999", "--employee-id", &p.employee_id],
            "no study 999",
        ),
    ] {
        let o = run(&[&["participant", "erase"][..], &args].concat());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(says), "{err}");
        assert!(!err.contains("nobody@example.org"), "the key is not echoed");
    }
    assert_eq!(
        diary_of(&app, p.participant).await.len(),
        1,
        "nothing changed"
    );
    let o = run(&[
        "participant",
        "erase",
        "--study",
        &study,
        "--employee-id",
        &p.employee_id,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Erased one participant") && !out.contains(&p.employee_id));
    assert_erased(&app, &p, marker, &before).await;
}

#[tokio::test]
async fn erased_text_leaves_the_wal_at_the_next_tick_when_a_reader_blocked_the_checkpoint() {
    use sqlx::Connection;
    let app = spawn_app().await;
    let marker = "ZEBRA-7Q-HELDREADER";
    let p = participant_with_marker(&app, marker).await;
    layer2::db::checkpoint(&app.state.pool).await.unwrap();
    // A backup tool (or a long report) holds a read snapshot open on the live file.
    let mut reader = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}",
        app.state.config.database_path().display()
    ))
    .await
    .unwrap();
    sqlx::query("BEGIN").execute(&mut reader).await.unwrap();
    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM diary_entries")
        .fetch_one(&mut reader)
        .await
        .unwrap();
    let r = p
        .person
        .post_form(&format!("{}/withdraw", p.link), &[("choice", "erase")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(diary_of(&app, p.participant).await.len(), 0);
    assert!(
        in_database_files(&app, marker),
        "while the reader holds its snapshot the old page stays in the file"
    );
    // The reader is done; the next tick finishes the checkpoint the erasure could not.
    sqlx::query("COMMIT").execute(&mut reader).await.unwrap();
    reader.close().await.unwrap();
    run_due(&app.state, app.clock_now()).await.unwrap();
    assert!(
        !in_database_files(&app, marker),
        "the erased text left the database file and its -wal"
    );
}
