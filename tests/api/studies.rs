//! Studies: creation, editing, the 90-day timeline, status and approvals.
use crate::helpers::*;
use layer2::study::Status;
use reqwest::StatusCode;

#[tokio::test]
async fn a_new_study_gets_the_five_phases_of_the_90_days_and_the_approvals_checklist() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Copilot wave 1").await;
    let (status, html) = app.get_text(&format!("/studies/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for date in [
        "2027-01-04",
        "2027-01-17",
        "2027-01-18",
        "2027-02-01",
        "2027-03-01",
        "2027-03-15",
        "2027-04-03",
    ] {
        assert!(html.contains(date), "{date} missing");
    }
    for label in [
        "Legal review",
        "HR / works council",
        "Information security",
        "Vendor data access agreement",
    ] {
        assert!(html.contains(label), "{label}");
    }
    assert!(html.contains("Draft"));
    assert!(
        app.audit_actions()
            .await
            .contains(&"study.create".to_string())
    );
}

#[tokio::test]
async fn a_bad_study_form_is_shown_again_with_each_problem_and_the_input_escaped() {
    let app = spawn_app().await;
    app.login_admin().await;
    let r = app
        .post(
            "/studies",
            &[
                ("name", "<script>alert(1)</script>"),
                ("vendor", ""),
                ("product", "Copilot"),
                ("time_zone", "Mars/Base"),
                ("start_date", "04/01/2027"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "input kept, escaped"
    );
    assert!(!html.contains("<script>alert(1)"));
    assert!(
        html.contains("Vendor is required")
            && html.contains("IANA time zone")
            && html.contains("YYYY-MM-DD")
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM studies WHERE ? IS NOT NULL", 1)
            .await,
        0
    );
}

#[tokio::test]
async fn editing_the_start_date_moves_every_phase_and_is_audited() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    let r = app
        .post(
            &format!("/studies/{id}/edit"),
            &[
                ("name", "Wave renamed"),
                ("vendor", "Microsoft"),
                ("product", "Microsoft 365 Copilot"),
                ("model_version", "GPT-5"),
                ("time_zone", "Europe/Berlin"),
                ("start_date", "2027-01-11"),
            ],
        )
        .await;
    let html = app.follow(r).await;
    assert!(html.contains("Wave renamed") && html.contains("Europe/Berlin"));
    assert!(
        html.contains("2027-01-11") && html.contains("2027-04-10"),
        "phases moved a week"
    );
    let details = audit_details(&app, "study.update").await.remove(0);
    assert!(details.contains("moved 7 days"), "{details}");
}

#[tokio::test]
async fn phases_can_move_but_must_stay_in_order_without_overlap() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    let csrf = app.csrf().await;
    let post = |fields: Vec<(String, String)>| {
        let mut all = vec![("csrf".to_string(), csrf.clone())];
        all.extend(fields);
        app.client
            .post(app.url(&format!("/studies/{id}/phases")))
            .form(&all)
            .send()
    };
    let overlapping = phase_fields([
        ("2027-01-04", "2027-01-20"),
        ("2027-01-18", "2027-01-31"),
        ("2027-02-01", "2027-02-28"),
        ("2027-03-01", "2027-03-14"),
        ("2027-03-15", "2027-04-03"),
    ]);
    let html = app.follow(post(overlapping).await.unwrap()).await;
    assert!(
        html.contains("The timeline was not changed") && html.contains("must start after"),
        "{html}"
    );
    assert!(!html.contains("2027-01-20"));
    let moved = phase_fields([
        ("2027-01-04", "2027-01-24"),
        ("2027-01-25", "2027-02-07"),
        ("2027-02-08", "2027-03-07"),
        ("2027-03-08", "2027-03-21"),
        ("2027-03-22", "2027-04-03"),
    ]);
    let html = app.follow(post(moved).await.unwrap()).await;
    assert!(html.contains("Timeline saved.") && html.contains("2027-01-24"));
    let bad_date = phase_fields([("2027-13-01", "x"), ("", ""), ("", ""), ("", ""), ("", "")]);
    let html = app.follow(post(bad_date).await.unwrap()).await;
    assert!(html.contains("enter a date as YYYY-MM-DD"));
    assert!(html.contains("2027-01-24"), "still the saved timeline");
}

#[tokio::test]
async fn status_moves_forward_one_step_and_the_pilot_waits_for_every_required_approval() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    let html = app.follow(move_status(&app, id, "pilot").await).await;
    assert!(
        html.contains("one step at a time"),
        "draft cannot jump to pilot"
    );
    assert_eq!(app.study_status(id).await, Status::Draft);
    app.follow(move_status(&app, id, "setup").await).await;
    assert_eq!(app.study_status(id).await, Status::Setup);
    let html = app.follow(move_status(&app, id, "draft").await).await;
    assert!(html.contains("one step at a time"));
    assert_eq!(app.study_status(id).await, Status::Setup, "never backwards");

    // Sample and approvals: pilot is refused until every required one is there.
    app.upload(
        &format!("/studies/{id}/roster"),
        "r.csv",
        roster_csv(200).into_bytes(),
        &[],
    )
    .await;
    app.post(
        &format!("/studies/{id}/sample"),
        &[
            ("n", "100"),
            ("min_per_cohort", "5"),
            ("pilot_n", "20"),
            ("seed", "1"),
        ],
    )
    .await;
    let html = app.follow(move_status(&app, id, "pilot").await).await;
    assert!(
        html.contains("approval not recorded: Legal review"),
        "{html}"
    );
    assert_eq!(app.study_status(id).await, Status::Setup);
    let items = approval_items(&app, id).await;
    for item in &items[..3] {
        app.post(
            &format!("/studies/{id}/approvals/{item}"),
            &[("reference", "REF-1")],
        )
        .await;
    }
    let html = app.follow(move_status(&app, id, "pilot").await).await;
    assert!(
        html.contains("Vendor data access agreement")
            && !html.contains("approval not recorded: Legal review")
    );
    // An optional item does not hold the pilot back.
    app.post(
        &format!("/studies/{id}/approvals"),
        &[("label", "Nice to have")],
    )
    .await;
    app.post(&format!("/studies/{id}/approvals/{}", items[3]), &[])
        .await;
    // The people measured must be told who controls their data: the pilot waits for the notice too.
    let html = app.follow(move_status(&app, id, "pilot").await).await;
    assert!(html.contains("no privacy notice"), "{html}");
    assert_eq!(app.study_status(id).await, Status::Setup);
    write_privacy_notice(&app, id).await;
    let html = app.follow(move_status(&app, id, "pilot").await).await;
    assert!(html.contains("The study is now in Pilot."), "{html}");
    assert_eq!(app.study_status(id).await, Status::Pilot);
    let (who, at) = approval_recorded(&app, items[0]).await;
    assert!(who.is_some() && at.is_some_and(|at| at.starts_with("2027-01-04")));
    let moves: i64 = app
        .count("SELECT COUNT(*) FROM status_changes WHERE study_id = ?", id)
        .await;
    assert_eq!(moves, 2);
}

#[tokio::test]
async fn an_approval_is_recorded_once_with_who_and_when() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    let item = approval_items(&app, id).await[0];
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/approvals/{item}"),
                &[("reference", "<b>WC-2027-01</b>")],
            )
            .await,
        )
        .await;
    assert!(
        html.contains("Approval recorded.")
            && html.contains(ADMIN)
            && html.contains("&#60;b&#62;WC-2027-01&#60;/b&#62;")
    );
    let html = app
        .follow(
            app.post(&format!("/studies/{id}/approvals/{item}"), &[])
                .await,
        )
        .await;
    assert!(html.contains("already recorded"));
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/approvals"),
                &[("label", "Legal review"), ("required", "1")],
            )
            .await,
        )
        .await;
    assert!(html.contains("already has"));
}

#[tokio::test]
async fn an_unknown_study_is_a_404() {
    let app = spawn_app().await;
    app.login_admin().await;
    assert_eq!(app.get("/studies/99").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/studies/abc").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.get("/nowhere").await.status(), StatusCode::NOT_FOUND);
}
