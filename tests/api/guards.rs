//! Issue 14, guards: every irreversible step behind a confirmation page with its consequences and
//! warnings; the step back, extend, close early, cancel and archive; the safe draw; the time-zone list.
use crate::helpers::*;
use chrono::{Duration, TimeZone, Utc};
use layer2::study::{Phase, Status, StudyId};
use layer2::tick::run_due;
use reqwest::StatusCode;

/// A study in setup with a roster of 200 (20 heavy), usage, every approval, a privacy notice and a sample
/// of 100 + pilot 20 with at least 30 per cohort: the heavy cohort can only give 19.
async fn study_in_setup(app: &TestApp) -> i64 {
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    app.import_roster(id, "r.csv", roster_csv(200).into_bytes())
        .await;
    app.import_usage(
        id,
        "u.csv",
        usage_csv(200).into_bytes(),
        &[("format", "csv")],
    )
    .await;
    let page = draw_sample(app, id, "100", "30", "20", "7").await;
    assert!(
        page.contains(
            "Heavy has only 20 people: 19 in the main sample, 11 short of the minimum of 30"
        ),
        "{}",
        flash_text(&page)
    );
    write_privacy_notice(app, id).await;
    for item in approval_items(app, id).await {
        app.post_ok(&format!("/studies/{id}/approvals/{item}"), &[])
            .await;
    }
    confirmed(app, &format!("/studies/{id}/status"), &[("to", "setup")]).await;
    assert_eq!(app.study_status(id).await, Status::Setup);
    id
}

/// Opens a step's confirmation page (it must answer 200) and submits it with the confirmation and the
/// warnings tick; returns the page the step leads to.
async fn confirmed(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> String {
    let query: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let (status, page) = app.get_text(&format!("{path}?{}", query.join("&"))).await;
    assert_eq!(status, StatusCode::OK, "{path}: {page}");
    let mut all = fields.to_vec();
    all.extend([("confirm", "yes"), ("warnings_read", "yes")]);
    app.post_ok(path, &all).await
}

fn phase(phases: &[layer2::study::PhaseDates], p: Phase) -> (String, String) {
    let d = phases.iter().find(|x| x.phase == p).unwrap();
    (d.starts_on.to_string(), d.ends_on.to_string())
}

async fn timeline(app: &TestApp, id: i64) -> Vec<layer2::study::PhaseDates> {
    layer2::study::repo::timeline(&app.state.pool, StudyId(id))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_move_before_its_date_with_a_cohort_under_its_minimum_is_confirmed_with_both_warnings() {
    let app = spawn_app().await;
    let id = study_in_setup(&app).await;
    let path = format!("/studies/{id}/status");
    let (status, page) = app.get_text(&format!("{path}?to=pilot")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Move to Pilot?"), "{page}");
    assert!(
        page.contains("The roster, usage, cohorts and sample are frozen")
            && page.contains("The retention date is fixed at"),
        "consequences: {page}"
    );
    assert!(
        page.contains("Too early: the pilot phase starts on 2027-01-18 and today is 2027-01-04")
            && page.contains("14 days before its date"),
        "{page}"
    );
    assert!(
        page.contains("Cohort under its minimum: Heavy has 19 in the main sample, 11 short of the minimum of 30"),
        "{page}"
    );
    assert!(page.contains("I have read the warnings"));

    // The old one-click form changes nothing; nor does the confirmation without the tick.
    let r = app.post(&path, &[("to", "pilot")]).await;
    let page = app.follow(r).await;
    assert!(page.contains("confirm on this page first; nothing was changed"));
    assert_eq!(app.study_status(id).await, Status::Setup);
    let r = app
        .post(&path, &[("to", "pilot"), ("confirm", "yes")])
        .await;
    let page = app.follow(r).await;
    assert!(
        page.contains("I have read the warnings")
            && page.contains("to go ahead; nothing was changed"),
        "{}",
        flash_text(&page)
    );
    assert_eq!(app.study_status(id).await, Status::Setup);

    let r = app
        .post(
            &path,
            &[
                ("to", "pilot"),
                ("confirm", "yes"),
                ("warnings_read", "yes"),
            ],
        )
        .await;
    assert!(app.follow(r).await.contains("The study is now in Pilot."));
    assert_eq!(app.study_status(id).await, Status::Pilot);
    assert!(
        audit_details(&app, "study.status")
            .await
            .iter()
            .any(|d| d.starts_with("setup → pilot"))
    );
}

#[tokio::test]
async fn moving_to_collection_warns_when_the_pilot_answered_nothing_then_when_it_answered_too_little()
 {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    // On the pilot's first day: no date warning, only the pilot's.
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 1, 18, 9, 0, 0).unwrap());
    app.login(ADMIN, PASSWORD).await;
    let (_, page) = app
        .get_text(&format!("/studies/{id}/status?to=collection"))
        .await;
    assert!(
        page.contains("No pilot answers: nobody of the pilot group was invited"),
        "{page}"
    );
    assert!(
        page.contains("The wording is frozen: the consent text and task categories (version 1)"),
        "the step that freezes the instruments says so: {page}"
    );
    assert!(
        page.contains("Too early: the collection phase starts on 2027-02-01"),
        "{page}"
    );

    confirmed(&app, &format!("/studies/{id}/invitations"), &[]).await;
    let (_, page) = app
        .get_text(&format!("/studies/{id}/status?to=collection"))
        .await;
    assert!(
        page.contains("No pilot answers: none of the 20 pilot participants (0 consented)"),
        "{page}"
    );

    // One pilot participant consents; of their five check-ins sent, one is answered: 20% < 33%.
    let (participant, _, body) = outbox_of_kind(&app, "invitation").await.remove(0);
    let person = app.stranger();
    consent(&person, &link_path(&body), true).await;
    let pings = pings_of(&app, participant).await;
    assert!(pings.len() >= 5, "{pings:?}");
    for (i, (ping, due, _)) in pings.iter().take(5).enumerate() {
        let status = if i == 0 { "answered" } else { "missed" };
        sqlx::query("UPDATE pings SET status = ?, sent_at = ? WHERE id = ?")
            .bind(status)
            .bind(due)
            .bind(ping)
            .execute(&app.state.pool)
            .await
            .unwrap();
    }
    let (_, page) = app
        .get_text(&format!("/studies/{id}/status?to=collection"))
        .await;
    assert!(
        page.contains("Pilot compliance is 20.0% (1 of 5 check-ins answered), under the study")
            && page.contains("threshold of 33.3%"),
        "{page}"
    );
}

#[tokio::test]
async fn the_invitations_page_says_who_gets_which_message_and_nothing_leaves_without_it() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let path = format!("/studies/{id}/invitations");
    // The page names the study's own subject, as the Messages tab has it.
    app.post_ok(
        &format!("/studies/{id}/messages/invitation"),
        &[
            ("subject", "Your help with {study}, please"),
            ("body", "Hello, please take part: {link}"),
        ],
    )
    .await;
    let (status, page) = app.get_text(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(
            "20 people of the pilot group get the invitation to the copilot diary and check-ins"
        ) && page.contains("subject &#34;Your help with Wave, please&#34;"),
        "{page}"
    );
    let r = app.post(&path, &[]).await;
    assert!(app.follow(r).await.contains("confirm on this page first"));
    assert!(outbox_of_kind(&app, "invitation").await.is_empty());

    let page = confirmed(&app, &path, &[]).await;
    assert!(page.contains("20 invitations are on their way"), "{page}");
    assert_eq!(outbox_of_kind(&app, "invitation").await.len(), 20);

    confirmed(
        &app,
        &format!("/studies/{id}/status"),
        &[("to", "collection")],
    )
    .await;
    let (_, page) = app.get_text(&path).await;
    assert!(
        page.contains("60 people of the main sample get the invitation"),
        "{page}"
    );
    assert!(
        page.contains("The control group gets the control invitation instead")
            && page.contains("(0 invited so far)"),
        "{page}"
    );
    assert!(page.contains(
        "The wording (consent text and task categories) and the messages are frozen with these invitations"
    ));
    // Nobody of the pilot answered: the page that freezes the wording warns.
    assert!(page.contains("No pilot answers: none of the 20 pilot participants"));
}

#[tokio::test]
async fn the_purge_page_warns_while_collection_runs_and_deletes_nothing_without_the_tick() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let path = format!("/studies/{id}/privacy/purge");
    let (status, page) = app.get_text(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Every person-level record of Wave is deleted now"));
    assert!(
        page.contains("The study is in Pilot: collection has not ended"),
        "{page}"
    );
    assert!(page.contains("Participants were told their data is kept until"));
    let employees = || app.count("SELECT COUNT(*) FROM employees WHERE study_id = ?", id);
    let r = app.post(&path, &[("confirm", "yes")]).await;
    assert!(app.follow(r).await.contains("I have read the warnings"));
    assert_eq!(employees().await, 200, "nothing deleted");
    confirmed(&app, &path, &[]).await;
    assert_eq!(employees().await, 0);
}

#[tokio::test]
async fn the_pilot_steps_back_to_setup_only_while_nobody_is_invited() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (status, page) = app.get_text(&format!("/studies/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Step back to Setup…"));
    let back = format!("/studies/{id}/back");
    let r = app.post(&back, &[]).await;
    app.follow(r).await;
    assert_eq!(app.study_status(id).await, Status::Pilot, "unconfirmed");
    let page = confirmed(&app, &back, &[]).await;
    assert!(page.contains("The study is back in Setup"), "{page}");
    assert_eq!(app.study_status(id).await, Status::Setup);
    assert_eq!(audit_details(&app, "study.step_back").await.len(), 1);
    // The sample can be redrawn again.
    let page = draw_sample(&app, id, "60", "5", "20", "10").await;
    assert!(page.contains("Sample drawn."), "{}", flash_text(&page));

    confirmed(&app, &format!("/studies/{id}/status"), &[("to", "pilot")]).await;
    confirmed(&app, &format!("/studies/{id}/invitations"), &[]).await;
    let (_, page) = app.get_text(&back).await;
    assert!(
        page.contains("20 people have been invited already"),
        "{page}"
    );
    let r = app
        .post(&back, &[("confirm", "yes"), ("warnings_read", "yes")])
        .await;
    assert!(app.follow(r).await.contains("can only go forward"));
    assert_eq!(app.study_status(id).await, Status::Pilot);
}

/// A study in collection (moved on its date), with a data analyst granted.
async fn study_in_collection(app: &TestApp) -> i64 {
    let id = study_in_pilot(app).await;
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 2, 1, 9, 0, 0).unwrap());
    // Weeks later the session has expired: sign in again.
    app.login(ADMIN, PASSWORD).await;
    confirmed(
        app,
        &format!("/studies/{id}/status"),
        &[("to", "collection")],
    )
    .await;
    assert_eq!(app.study_status(id).await, Status::Collection);
    id
}

#[tokio::test]
async fn extending_collection_moves_the_later_phases_and_past_phases_are_locked() {
    let app = spawn_app().await;
    let id = study_in_collection(&app).await;
    let (_, page) = app.get_text(&format!("/studies/{id}/extend?days=7")).await;
    assert!(
        page.contains(
            "Collection (weeks 5–8): 2027-02-01–2027-02-28 becomes 2027-02-01–2027-03-07"
        ),
        "{page}"
    );
    let r = app
        .post(&format!("/studies/{id}/extend"), &[("days", "7")])
        .await;
    app.follow(r).await;
    assert_eq!(
        phase(&timeline(&app, id).await, Phase::Collection).1,
        "2027-02-28",
        "unconfirmed: unchanged"
    );
    let page = confirmed(&app, &format!("/studies/{id}/extend"), &[("days", "7")]).await;
    assert!(page.contains("Collection extended by 7 days"), "{page}");
    let t = timeline(&app, id).await;
    assert_eq!(
        phase(&t, Phase::Pilot),
        ("2027-01-18".into(), "2027-01-31".into())
    );
    assert_eq!(phase(&t, Phase::Collection).1, "2027-03-07");
    assert_eq!(
        phase(&t, Phase::Analysis),
        ("2027-03-08".into(), "2027-03-21".into())
    );
    assert_eq!(
        phase(&t, Phase::Readout),
        ("2027-03-22".into(), "2027-04-10".into())
    );
    assert!(
        audit_details(&app, "study.extend").await[0].contains("extended by 7 days to 2027-03-07")
    );

    // While collection runs the pilot, which has ended, cannot move; the future still can.
    let mut fields: Vec<(String, String)> = Vec::new();
    let moved_pilot = [
        ("setup", "2027-01-04", "2027-01-17"),
        ("pilot", "2027-01-18", "2027-01-30"),
        ("collection", "2027-02-01", "2027-03-07"),
        ("analysis", "2027-03-08", "2027-03-21"),
        ("readout", "2027-03-22", "2027-04-10"),
    ];
    for (p, a, b) in moved_pilot {
        fields.push((format!("{p}_start"), a.into()));
        fields.push((format!("{p}_end"), b.into()));
    }
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let page = app
        .follow(app.post(&format!("/studies/{id}/phases"), &refs).await)
        .await;
    assert!(
        page.contains("Pilot (weeks 3–4) ended on 2027-01-31; its dates can no longer change.")
            && page.contains("Past phases are locked"),
        "{}",
        flash_text(&page)
    );
    assert_eq!(
        phase(&timeline(&app, id).await, Phase::Pilot).1,
        "2027-01-31"
    );
    // The study page shows the past phases read-only.
    let (_, page) = app.get_text(&format!("/studies/{id}")).await;
    assert!(page.contains("name=\"pilot_end\" value=\"2027-01-31\" required readonly"));
}

#[tokio::test]
async fn closing_early_ends_collection_today_and_releases_the_final_results_to_analysts() {
    let app = spawn_app().await;
    let id = study_in_collection(&app).await;
    app.add_user(ANALYST, layer2::auth::Role::Analyst).await;
    app.grant(ANALYST, id, "analyst").await;
    let analyst = app.stranger();
    analyst.login(ANALYST, PASSWORD).await;
    let (_, report) = analyst.get_text(&format!("/studies/{id}/report")).await;
    assert!(report.contains("No results released yet"), "{report}");

    app.clock.advance(Duration::days(10));
    app.login(ADMIN, PASSWORD).await;
    analyst.login(ANALYST, PASSWORD).await;
    let (_, page) = app.get_text(&format!("/studies/{id}/close-early")).await;
    assert!(
        page.contains("Collection ends today, 2027-02-11, instead of 2027-02-28"),
        "{page}"
    );
    let page = confirmed(&app, &format!("/studies/{id}/close-early"), &[]).await;
    assert!(page.contains("Collection closed early"), "{page}");
    assert_eq!(app.study_status(id).await, Status::Analysis);
    let t = timeline(&app, id).await;
    assert_eq!(phase(&t, Phase::Collection).1, "2027-02-11");
    assert_eq!(
        phase(&t, Phase::Analysis),
        ("2027-02-12".into(), "2027-03-14".into())
    );
    assert_eq!(audit_details(&app, "study.close_early").await.len(), 1);
    let (_, report) = analyst.get_text(&format!("/studies/{id}/report")).await;
    assert!(
        report.contains("final results released on 2027-02-11"),
        "{report}"
    );
}

#[tokio::test]
async fn a_cancelled_study_sends_no_mail_and_no_check_in_on_any_later_tick() {
    let app = spawn_app().await;
    let id = study_in_collection(&app).await;
    confirmed(&app, &format!("/studies/{id}/invitations"), &[]).await;
    // One person consents (their check-ins are laid out), the rest of the invitations are sent.
    let (participant, _, body) = outbox_of_kind(&app, "invitation").await.remove(0);
    let person = app.stranger();
    consent(&person, &link_path(&body), true).await;
    assert!(!pings_of(&app, participant).await.is_empty());
    let sent_before: i64 = app
        .count(
            "SELECT COUNT(*) FROM outbox WHERE study_id = ? AND status = 'sent'",
            id,
        )
        .await;

    let (_, page) = app.get_text(&format!("/studies/{id}/cancel")).await;
    assert!(
        page.contains("no invitation, check-in, reminder or nudge is sent any more"),
        "{page}"
    );
    assert!(page.contains("What was collected is kept, read-only, until the retention date"));
    assert!(
        page.contains("60 people have been invited and are taking part"),
        "{page}"
    );
    let page = confirmed(&app, &format!("/studies/{id}/cancel"), &[]).await;
    assert!(page.contains("The study is cancelled"), "{page}");
    assert_eq!(app.study_status(id).await, Status::Cancelled);
    assert!(audit_details(&app, "study.cancel").await[0].starts_with("collection → cancelled"));

    // A week of ticks: nothing more leaves, no check-in is sent, no reminder is written.
    for _ in 0..7 * 24 {
        app.clock.advance(Duration::hours(1));
        run_due(&app.state, app.clock_now()).await.unwrap();
    }
    let sent_after: i64 = app
        .count(
            "SELECT COUNT(*) FROM outbox WHERE study_id = ? AND status = 'sent'",
            id,
        )
        .await;
    assert_eq!(sent_after, sent_before, "no mail after the cancellation");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM outbox WHERE study_id = ? AND status = 'pending'",
            id
        )
        .await,
        0
    );
    assert_eq!(pings_delivered(&app, participant).await, 0);
    log_task_refused(&person, &link_path(&body)).await;
    assert!(
        diary_of(&app, participant).await.is_empty(),
        "the diary is closed"
    );
    // A cancelled study cannot move on or be extended.
    app.login(ADMIN, PASSWORD).await;
    let (_, page) = app.get_text(&format!("/studies/{id}/extend?days=3")).await;
    assert!(
        page.contains("collection is over (the study is in Cancelled)"),
        "{page}"
    );
}

async fn log_task_refused(person: &TestApp, link: &str) {
    person
        .post_form(
            &format!("{link}/diary"),
            &[
                ("category", "Writing"),
                ("outcome", "most"),
                ("minutes_with_ai", "10"),
                ("minutes_without_ai", "20"),
            ],
        )
        .await;
}

#[tokio::test]
async fn an_archived_study_leaves_the_list_and_the_filter_shows_it() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Old wave").await;
    let keep = app.create_study("Current wave").await;
    let (_, page) = app.get_text(&format!("/studies/{keep}/archive")).await;
    assert!(
        page.contains("only a closed or cancelled study can be archived"),
        "{page}"
    );
    confirmed(&app, &format!("/studies/{id}/cancel"), &[]).await;
    let r = app.post(&format!("/studies/{id}/archive"), &[]).await;
    app.follow(r).await;
    let (_, list) = app.get_text("/studies").await;
    assert!(list.contains("Old wave"), "unconfirmed: still listed");
    let page = confirmed(&app, &format!("/studies/{id}/archive"), &[]).await;
    assert!(page.contains("The study is archived"), "{page}");
    assert!(
        !page.contains("Old wave") && page.contains("Current wave"),
        "{page}"
    );
    assert!(page.contains("1 archived study is not listed"));
    let (_, archived) = app.get_text("/studies?archived=1").await;
    assert!(archived.contains("Old wave") && !archived.contains("Current wave"));
    assert_eq!(
        audit_details(&app, "study.archive").await,
        ["archived (cancelled)"]
    );
}

#[tokio::test]
async fn the_draw_refuses_the_whole_roster_and_a_cohort_without_pilot_and_keeps_its_seed() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Small").await;
    app.import_roster(id, "r.csv", roster_csv(150).into_bytes())
        .await;
    app.import_usage(
        id,
        "u.csv",
        usage_csv(150).into_bytes(),
        &[("format", "csv")],
    )
    .await;
    // The calculator's n is carried into the form, fitted to the roster.
    let (_, page) = app.get_text(&format!("/studies/{id}/sample?n=80")).await;
    assert!(
        page.contains("id=\"n\" name=\"n\" inputmode=\"numeric\" value=\"80\""),
        "{page}"
    );
    let (_, page) = app.get_text(&format!("/studies/{id}/sample")).await;
    assert!(
        page.contains("value=\"108\"")
            && page.contains("value=\"15\"")
            && page.contains("value=\"7\""),
        "the defaults fit 150 people: {page}"
    );
    assert!(
        page.contains("n = 109 does not fit beside a pilot"),
        "{page}"
    );

    let page = draw_sample(&app, id, "100", "30", "50", "1").await;
    assert!(
        page.contains("would take all 150 people on the roster"),
        "{}",
        flash_text(&page)
    );
    let page = draw_sample(&app, id, "100", "5", "2", "1").await;
    assert!(
        page.contains(
            "cohort (15 people, 10 of them in the main sample) would have nobody in the pilot"
        ) || page.contains("would have nobody in the pilot"),
        "{}",
        flash_text(&page)
    );
    assert!(
        app.sample_members(id, "main").await.is_empty(),
        "refused: nothing drawn"
    );

    let page = draw_sample(&app, id, "100", "30", "20", "4242").await;
    assert!(
        page.contains(
            "Heavy has only 15 people: 14 in the main sample, 16 short of the minimum of 30"
        ),
        "{}",
        flash_text(&page)
    );
    let (_, page) = app.get_text(&format!("/studies/{id}/sample")).await;
    assert!(
        page.contains("name=\"seed\" inputmode=\"numeric\" value=\"4242\""),
        "the seed used stays in the form: {page}"
    );
    assert!(page.contains("id=\"shortfalls\""));
}

#[tokio::test]
async fn a_city_alone_as_time_zone_is_refused_naming_the_zone_and_the_form_lists_every_zone() {
    let app = spawn_app().await;
    app.login_admin().await;
    let (_, form) = app.get_text("/studies/new").await;
    assert!(
        form.contains("<datalist id=\"zones\">")
            && form.contains("<option value=\"Europe/Berlin\">")
    );
    let r = app
        .post(
            "/studies",
            &[
                ("name", "Berlin wave"),
                ("vendor", "Microsoft"),
                ("product", "Copilot"),
                ("time_zone", "Berlin"),
                ("start_date", "2027-01-04"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("did you mean Europe/Berlin?"), "{page}");
    assert!(page.contains("value=\"Berlin\""), "what was typed stays");
}
