//! Participants: invitation links, consent, the diary, pings through the tick, expiry, withdrawal, bad links.
use crate::helpers::*;
use chrono::{DateTime, Duration, Utc};
use layer2::study::Status;
use layer2::tick::run_due;
use reqwest::StatusCode;

/// Invites the pilot group and opens the first invitation as a participant (a fresh client, no staff cookie).
async fn invited(app: &TestApp, id: i64) -> (TestApp, i64, String) {
    let html = app.follow(send_invitations(app, id).await).await;
    assert!(html.contains("20 invitations are on their way"), "{html}");
    let (participant, _, body) = outbox_of_kind(app, "invitation").await.remove(0);
    let person = app.stranger();
    (person, participant, link_path(&body))
}

/// Moves a study in pilot on to collection, invites the main sample and returns the first `n`
/// (participant, invitation text) pairs.
async fn main_sample_invited(app: &TestApp, id: i64, n: i64) -> Vec<(i64, String)> {
    move_status(app, id, "collection").await;
    app.follow(send_invitations(app, id).await).await;
    main_sample_mail(app, n).await
}

async fn first_ping(app: &TestApp, participant: i64) -> (i64, DateTime<Utc>, DateTime<Utc>) {
    pings_of(app, participant).await[0]
}

#[tokio::test]
async fn an_invited_employee_consents_and_gets_a_week_of_pings_in_working_hours() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (person, participant, link) = invited(&app, id).await;
    // Opening the link (as a mail scanner would, twice, and with HEAD) changes nothing.
    for _ in 0..2 {
        let (status, html) = person.get_text(&link).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Will you take part?") && html.contains("Consent text version 1"));
    }
    assert_eq!(
        person
            .client
            .head(person.url(&link))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let r = person.client.get(person.url(&link)).send().await.unwrap();
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(consent_of(&app, participant).await, None);

    let r = person
        .post_form(&format!("{link}/consent"), &[("decision", "accept")])
        .await;
    let html = person.follow(r).await;
    assert!(
        html.contains("Your task diary") && html.contains("<strong>0</strong> of 5 tasks logged"),
        "{html}"
    );
    let pings = pings_of(&app, participant).await;
    // Tuesday to Monday: five working days, three pings each.
    assert_eq!(pings.len(), 15);
    assert!(pings.iter().all(|(_, t, _)| *t > t0()));
    assert_eq!(consent_events(&app, participant).await, ["accepted"]);
}

#[tokio::test]
async fn the_diary_takes_valid_entries_refuses_bad_ones_and_escapes_what_people_type() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (person, participant, link) = invited(&app, id).await;
    consent(&person, &link, true).await;
    let entry = [
        ("category", "Code"),
        ("description", "<script>alert('x')</script> refactor"),
        ("outcome", "most"),
        ("minutes_with_ai", "20"),
        ("minutes_without_ai", "45"),
    ];
    let r = person.post_form(&format!("{link}/diary"), &entry).await;
    let html = r.text().await.unwrap();
    assert!(html.contains("Task logged") && html.contains("<strong>1</strong> of 5 tasks logged"));
    assert!(html.contains("&#60;script&#62;") && !html.contains("<script>alert"));
    let bad = [
        ("category", "Golf"),
        ("outcome", ""),
        ("minutes_with_ai", "lots"),
        ("minutes_without_ai", "5"),
    ];
    let r = person.post_form(&format!("{link}/diary"), &bad).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    // Each refusal names its field, in the summary (linked) and at the field itself (WCAG 3.3.1).
    assert!(html.contains("<a href=\"#category\">Task category: choose a task category.</a>"));
    assert!(html.contains(
        "id=\"minutes_with_ai-err\">Minutes with the AI: enter a whole number of minutes from 0 to 1440."
    ));
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"minutes_with_ai-err\""));
    assert!(html.contains("id=\"outcome\" aria-describedby=\"outcome-err\""));
    assert!(
        !html.contains("minutes_without_ai-err"),
        "a valid field is not marked"
    );
    let entries = diary_of(&app, participant).await;
    assert_eq!(entries.len(), 1);
    // Editing while the diary is open; closed after its two weeks.
    let entry_id = entries[0].0;
    let edited = [
        ("category", "Code"),
        ("outcome", "some"),
        ("minutes_with_ai", "30"),
        ("minutes_without_ai", "45"),
    ];
    let html = person
        .post_form(&format!("{link}/diary/{entry_id}"), &edited)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your change is saved") && html.contains("30 min with AI"));
    app.clock.advance(Duration::days(15));
    let r = person.post_form(&format!("{link}/diary"), &edited).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("The diary is closed"));
}

#[tokio::test]
async fn a_due_ping_is_sent_once_answered_once_and_an_empty_answer_does_not_use_it_up() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (person, participant, link) = invited(&app, id).await;
    consent(&person, &link, true).await;
    let (ping, due, _) = first_ping(&app, participant).await;
    app.clock.advance(due - t0());
    let first = run_due(&app.state, app.clock_now()).await.unwrap();
    let second = run_due(&app.state, app.clock_now()).await.unwrap();
    assert!(first.pings.sent >= 1);
    assert_eq!(second.pings.sent, 0, "a second tick sends nothing twice");
    let mails: Vec<_> = outbox_of_kind(&app, "ping")
        .await
        .into_iter()
        .filter(|(p, _, _)| *p == participant)
        .collect();
    assert_eq!(mails.len(), 1);
    let ping_link = link_path(&mails[0].2);
    let (status, html) = person.get_text(&ping_link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("In the last hour, did you use the copilot?"));
    let answer = format!("{link}/ping/{ping}");
    let r = person.post_form(&answer, &[("used", "")]).await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "empty answer refused"
    );
    let r = person
        .post_form(
            &answer,
            &[
                ("used", "yes"),
                ("verification", "40"),
                ("correction", "30"),
            ],
        )
        .await;
    let html = r.text().await.unwrap();
    assert!(html.contains("the four add up to more than 60"));
    assert!(html.contains("id=\"minutes\" aria-describedby=\"minutes-err\""));
    // "No" with minutes filled in is asked back, keeps the ping open and the form as typed; sent again,
    // it is taken as it reads. (Checked here on a refusal; the storing send is below.)
    let r = person
        .post_form(&answer, &[("used", "no"), ("verification", "12")])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("You answered \u{201c}No\u{201d} but also entered minutes"));
    assert!(html.contains("name=\"drop_minutes\" value=\"yes\""));
    assert!(html.contains("value=\"12\""), "the minutes stay as typed");
    assert!(
        answers_to(&app, ping).await.is_empty(),
        "nothing stored yet"
    );
    // 20 simultaneous submissions store one answer.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (c, url) = (person.client.clone(), person.url(&answer));
        tasks.push(tokio::spawn(async move {
            c.post(url)
                .form(&[("used", "yes"), ("verification", "10"), ("correction", "5")])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        answers_to(&app, ping).await,
        [("yes".to_string(), 10, 5, 1)]
    );
}

#[tokio::test]
async fn a_no_with_minutes_asked_back_and_sent_again_is_stored_as_no_without_minutes() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (person, participant, link) = invited(&app, id).await;
    consent(&person, &link, true).await;
    let (ping, due, _) = first_ping(&app, participant).await;
    app.clock.advance(due - t0());
    run_due(&app.state, app.clock_now()).await.unwrap();
    let answer = format!("{link}/ping/{ping}");
    let first = [("used", "not_working"), ("trust", "5")];
    let html = person
        .post_form(&answer, &first)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("\u{201c}I was not working\u{201d} but also entered minutes"));
    assert!(answers_to(&app, ping).await.is_empty());
    let again = [
        ("used", "not_working"),
        ("trust", "5"),
        ("drop_minutes", "yes"),
    ];
    let r = person.post_form(&answer, &again).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        answers_to(&app, ping).await,
        [("not_working".to_string(), 0, 0, 1)]
    );
}

#[tokio::test]
async fn a_late_answer_is_refused_and_pings_missed_during_an_outage_are_never_sent_late() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (person, participant, link) = invited(&app, id).await;
    consent(&person, &link, true).await;
    let (ping, due, expires) = first_ping(&app, participant).await;
    app.clock.advance(due - t0());
    run_due(&app.state, app.clock_now()).await.unwrap();
    app.clock.advance(expires - due);
    let r = person
        .post_form(&format!("{link}/ping/{ping}"), &[("used", "no")])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("has closed"));
    // The server is down for two days; the catch-up tick marks those pings missed and sends none of them.
    let before = outbox_of_kind(&app, "ping").await.len();
    app.clock.advance(Duration::days(2));
    let tick = run_due(&app.state, app.clock_now()).await.unwrap();
    assert!(tick.pings.missed >= 6, "{tick:?}");
    assert_eq!(pings_sent_late(&app).await, 0);
    assert_eq!(
        outbox_of_kind(&app, "ping").await.len(),
        before + tick.pings.sent
    );
    assert_eq!(ping_status(&app, ping).await, "missed");
}

#[tokio::test]
async fn an_answer_sent_after_withdrawing_is_not_stored() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (person, participant, link) = invited(&app, id).await;
    consent(&person, &link, true).await;
    let (ping, due, _) = first_ping(&app, participant).await;
    app.clock.advance(due - t0());
    run_due(&app.state, app.clock_now()).await.unwrap();
    person
        .post_form(&format!("{link}/withdraw"), &[("choice", "leave")])
        .await;
    assert_eq!(
        answer(&person, &link, ping, "no").await,
        StatusCode::CONFLICT
    );
    assert_eq!(answer_count(&app).await, 0);
}

#[tokio::test]
async fn pilot_pings_stop_when_the_study_moves_on_to_collection() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (person, participant, link) = invited(&app, id).await;
    consent(&person, &link, true).await;
    let pings = pings_of(&app, participant).await;
    let (first, first_due, _) = pings[0];
    // In the pilot, the pilot group's pings do go out.
    app.clock.set(first_due);
    run_due(&app.state, app.clock_now()).await.unwrap();
    assert_eq!(mail_to(&app, participant, &["ping"]).await, 1);
    assert_eq!(ping_status(&app, first).await, "sent");
    // A day has passed: the admin's session has ended, so they sign in again.
    app.login(ADMIN, PASSWORD).await;
    move_status(&app, id, "collection").await;
    assert_eq!(app.study_status(id).await, Status::Collection);
    // The next one falls due in collection and is not sent; nor is anything later.
    let (next, next_due, _) = pings[1];
    app.clock.set(next_due);
    run_due(&app.state, app.clock_now()).await.unwrap();
    assert_eq!(ping_status(&app, next).await, "scheduled");
    app.clock.advance(Duration::days(2));
    run_due(&app.state, app.clock_now()).await.unwrap();
    assert_eq!(
        mail_to(&app, participant, &["ping"]).await,
        1,
        "the pilot group's week ended with the pilot"
    );
}

#[tokio::test]
async fn withdrawing_needs_an_explicit_choice_and_stops_everything_from_the_next_tick_on() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (person, participant, link) = invited(&app, id).await;
    consent(&person, &link, true).await;
    let (status, html) = person.get_text(&format!("{link}/withdraw")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Leave the study?") && html.contains("Leave and delete my answers"));
    // A link scanner's empty or default POST is refused and changes nothing.
    for fields in [&[][..], &[("choice", "")][..], &[("choice", "yes")][..]] {
        let r = person.post_form(&format!("{link}/withdraw"), fields).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Choose one of the buttons")
        );
    }
    assert_eq!(consent_events(&app, participant).await, ["accepted"]);
    assert!(person.get_text(&link).await.1.contains("Your task diary"));
    // The real choice withdraws.
    let html = person
        .post_form(&format!("{link}/withdraw"), &[("choice", "leave")])
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("You have left the study"));
    assert_eq!(
        consent_events(&app, participant).await,
        ["accepted", "withdrawn"]
    );
    app.clock.advance(Duration::days(3));
    run_due(&app.state, app.clock_now()).await.unwrap();
    assert_eq!(mail_to(&app, participant, &["ping"]).await, 0);
    let html = person.get_text(&link).await.1;
    assert!(html.contains("You have left the study"));
}

#[tokio::test]
async fn bad_links_all_look_the_same_and_a_guesser_is_slowed_without_blocking_real_links() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (person, _, link) = invited(&app, id).await;
    let (other_participant, _, other_invitation) =
        outbox_of_kind(&app, "invitation").await.remove(1);
    let other = link_path(&other_invitation);
    consent(&person, &other, true).await;
    let other_ping = pings_of(&app, other_participant).await[0].0;
    consent(&person, &link, true).await;
    let unknown = format!("/p/{}", "a".repeat(64));
    let (s1, b1) = person.get_text("/p/not-a-token").await;
    let (s2, b2) = person.get_text(&unknown).await;
    let r = person
        .post_form(&format!("{link}/ping/{other_ping}"), &[("used", "no")])
        .await;
    let (s3, b3) = (r.status(), r.text().await.unwrap());
    assert_eq!(
        (s1, s2, s3),
        (
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND
        )
    );
    assert!(b1 == b2 && b2 == b3 && b1.contains("This link does not work"));
    // A participant link never opens staff pages.
    assert_eq!(person.get("/studies").await.status(), StatusCode::SEE_OTHER);
    for _ in 0..40 {
        person.get(&unknown).await;
    }
    assert_eq!(
        person.get(&unknown).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        person.get(&link).await.status(),
        StatusCode::OK,
        "a real link still works from the same address"
    );
}

#[tokio::test]
async fn the_dashboard_shows_compliance_and_only_admins_see_emails() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (person, participant, link) = invited(&app, id).await;
    consent(&person, &link, true).await;
    let second = link_path(&outbox_of_kind(&app, "invitation").await[1].2);
    person
        .post_form(&format!("{second}/consent"), &[("decision", "decline")])
        .await;
    let (ping, due, _) = first_ping(&app, participant).await;
    app.clock.advance(due - t0());
    run_due(&app.state, app.clock_now()).await.unwrap();
    assert_eq!(answer(&person, &link, ping, "no").await, StatusCode::OK);
    // A day has passed: the admin's session has ended, so they sign in again.
    app.login(ADMIN, PASSWORD).await;
    let (status, html) = app.get_text(&format!("/studies/{id}/collection")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Compliance by cohort") && html.contains("100.0%"),
        "{html}"
    );
    let email = email_of(&app, participant).await;
    assert!(html.contains(&email));
    assert!(html.contains("declined"));
    // The nudge queues a reminder with a fresh link; a declined person cannot be nudged.
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/participants/{participant}/nudge"),
                &[],
            )
            .await,
        )
        .await;
    assert!(html.contains("Reminder queued."));
    assert_eq!(outbox_of_kind(&app, "nudge").await.len(), 1);
    let analyst = app.stranger();
    analyst.add_user(ANALYST, layer2::auth::Role::Analyst).await;
    analyst.grant(ANALYST, id, "data_analyst").await;
    analyst.login(ANALYST, PASSWORD).await;
    let html = analyst
        .get_text(&format!("/studies/{id}/collection"))
        .await
        .1;
    assert!(
        !html.contains(&email) && html.matches("@example.org").count() == 1,
        "analysts see pseudonymous ids only (the one address is their own, in the header)"
    );
    assert!(!html.contains("Nudge"));
}

#[tokio::test]
async fn a_removed_participant_gets_nothing_more_and_reminders_go_to_those_under_target() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (person, participant, link) = invited(&app, id).await;
    consent(&person, &link, true).await;
    let other = link_path(&outbox_of_kind(&app, "invitation").await[1].2);
    consent(&person, &other, true).await;
    // Confirmed, as the removal's confirmation page sends it (issue 14).
    app.post_ok(
        &format!("/studies/{id}/participants/{participant}/remove"),
        &[("confirm", "remove")],
    )
    .await;
    app.clock.advance(Duration::days(4));
    let tick = run_due(&app.state, app.clock_now()).await.unwrap();
    assert_eq!(mail_to(&app, participant, &["ping", "reminder"]).await, 0);
    assert_eq!(
        tick.reminders, 1,
        "the other participant has 0 of 5 tasks after 4 days"
    );
    let again = run_due(&app.state, app.clock_now()).await.unwrap();
    assert_eq!(again.reminders, 0, "not twice in the same period");
    assert!(
        app.audit_actions()
            .await
            .contains(&"participant.remove".to_string())
    );
}

#[tokio::test]
async fn phases_move_on_their_dates_unless_something_blocks_them() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    move_status(&app, id, "setup").await;
    // Pilot starts on 2027-01-18, but no approval is recorded: the study waits in setup.
    app.clock.advance(Duration::days(14));
    let tick = run_due(&app.state, app.clock_now()).await.unwrap();
    assert_eq!(tick.status_moves, 0);
    assert_eq!(app.study_status(id).await, Status::Setup);
}

#[tokio::test]
async fn wording_changes_until_collection_starts_and_every_answer_records_its_version() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let wording = "We measure what the copilot saves. Your answers are only reported in groups of five or more. You may stop any time.";
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/instrument"),
                &[("consent_text", wording), ("categories", "Code\nWriting\n")],
            )
            .await,
        )
        .await;
    assert!(html.contains("Wording saved as version 2"), "{html}");
    // A refused wording answers with the page itself (422), keeping what was typed.
    let r = app
        .post(
            &format!("/studies/{id}/instrument"),
            &[("consent_text", "too short"), ("categories", "Code")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("between 50 and 5,000 characters"));
    assert!(html.contains(">too short</textarea>"), "{html}");
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/collection/settings"),
                &[
                    ("pings_per_day", "3"),
                    ("window_start", "09:00"),
                    ("window_end", "11:00"),
                    ("min_gap_minutes", "60"),
                    ("ping_days", "7"),
                    ("expiry_minutes", "60"),
                    ("diary_target", "5"),
                    ("diary_days", "14"),
                    ("reminder_days", "3"),
                ],
            )
            .await,
        )
        .await;
    assert!(
        html.contains("flash error") && html.contains("180"),
        "an infeasible schedule is refused: {html}"
    );
    let (person, participant, link) = invited(&app, id).await;
    let html = person.get_text(&link).await.1;
    assert!(html.contains("groups of five or more") && html.contains("Consent text version 2"));
    consent(&person, &link, true).await;
    log_task(
        &person,
        &link,
        &[
            ("category", "Writing"),
            ("outcome", "all"),
            ("minutes_with_ai", "5"),
            ("minutes_without_ai", "15"),
        ],
    )
    .await;
    assert_eq!(diary_of(&app, participant).await[0].1, 2);
    // Collection: the main sample is invited and the wording freezes.
    move_status(&app, id, "collection").await;
    app.follow(send_invitations(&app, id).await).await;
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/instrument"),
                &[("consent_text", wording), ("categories", "Code\nOther")],
            )
            .await,
        )
        .await;
    assert!(html.contains("the wording is frozen"), "{html}");
    assert_eq!(participants_in_group(&app, id, "main").await, 60);
}

#[tokio::test]
async fn two_processes_ticking_at_once_send_each_ping_and_each_email_once() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    app.follow(send_invitations(&app, id).await).await;
    for (_, _, body) in outbox_of_kind(&app, "invitation").await {
        let link = link_path(&body);
        app.post_form(&format!("{link}/consent"), &[("decision", "accept")])
            .await;
    }
    // Two "processes": two pools on the same SQLite file, each with its own mailer.
    let path = app._dir.path().join("layer2.sqlite3");
    let other_pool = layer2::db::connect(&path).await.unwrap();
    let (mail_a, sent_a) = layer2::mail::transport::Mailer::memory("a@example.org");
    let (mail_b, sent_b) = layer2::mail::transport::Mailer::memory("b@example.org");
    let clock: std::sync::Arc<dyn layer2::clock::Clock> = std::sync::Arc::new(app.clock.clone());
    let a = layer2::state::AppState::with_mailer(
        app.state.pool.clone(),
        (*app.state.config).clone(),
        clock.clone(),
        mail_a,
    );
    let b = layer2::state::AppState::with_mailer(
        other_pool,
        (*app.state.config).clone(),
        clock,
        mail_b,
    );
    // The moment the earliest ping falls due (ping times are random per study, so take it from the data).
    let first = earliest_due(&app).await;
    app.clock.advance(first - t0());
    let now = app.clock_now();
    // The invitations went out when their links were read (mail is written only when it is sent).
    let sent_before = outbox_statuses(&app).await.len();
    let (ra, rb) = tokio::join!(run_due(&a, now), run_due(&b, now));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let due = pings_with_status(&app, "sent").await;
    assert!(due > 0);
    assert_eq!(
        (ra.pings.sent + rb.pings.sent) as i64,
        due,
        "each due ping queued once"
    );
    let mut ids: Vec<String> = sent_a
        .lock()
        .unwrap()
        .iter()
        .chain(sent_b.lock().unwrap().iter())
        .map(|m| m.message_id.clone())
        .collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "no message delivered twice");
    let statuses = outbox_statuses(&app).await;
    assert_eq!(statuses.iter().filter(|s| *s != "sent").count(), 0);
    assert_eq!(total, statuses.len() - sent_before);
}

#[tokio::test]
async fn the_analysis_reads_the_main_samples_totals_from_the_database() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let main = main_sample_invited(&app, id, 1).await;
    let (participant, body) = main[0].clone();
    let link = link_path(&body);
    app.post_form(&format!("{link}/consent"), &[("decision", "accept")])
        .await;
    for outcome in ["all", "some"] {
        app.post_form(
            &format!("{link}/diary"),
            &[
                ("category", "Code"),
                ("outcome", outcome),
                ("minutes_with_ai", "10"),
                ("minutes_without_ai", "30"),
            ],
        )
        .await;
    }
    let (ping, due, _) = first_ping(&app, participant).await;
    app.clock.advance(due - t0());
    run_due(&app.state, app.clock_now()).await.unwrap();
    app.post_form(
        &format!("{link}/ping/{ping}"),
        &[("used", "yes"), ("verification", "10"), ("correction", "5")],
    )
    .await;
    let inputs = layer2::reports::study_inputs(&app.state, layer2::study::StudyId(id), 0.0)
        .await
        .unwrap();
    assert_eq!(
        inputs.kept.len(),
        1,
        "only consented main-sample participants"
    );
    let t = &inputs.kept[0];
    assert_eq!(
        (
            t.n_tasks,
            t.used_tasks,
            t.delivered,
            t.valid,
            t.used_pings,
            t.oversight_min
        ),
        (2.0, 1.0, 1.0, 1.0, 1.0, 15.0)
    );
    assert_eq!(t.oversight_by_category, [10.0, 5.0, 0.0, 0.0]);
    assert_eq!(inputs.populations.values().sum::<f64>(), 200.0);
}

#[tokio::test]
async fn the_analysis_page_hides_every_group_smaller_than_the_minimum_cell() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let main = main_sample_invited(&app, id, 3).await;
    for (_, body) in &main {
        let link = link_path(body);
        app.post_form(&format!("{link}/consent"), &[("decision", "accept")])
            .await;
        app.post_form(
            &format!("{link}/diary"),
            &[
                ("category", "Code"),
                ("outcome", "most"),
                ("minutes_with_ai", "10"),
                ("minutes_without_ai", "30"),
            ],
        )
        .await;
    }
    let (status, html) = app.get_text(&format!("/studies/{id}/analysis?min=0")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("3 participants in the estimates"), "{html}");
    assert!(
        html.contains("fewer than 5 participants: not shown"),
        "{html}"
    );
    assert!(!html.contains("0.333 ["), "no metric for a group of three");
    // The same rule on the report, the readout and every export.
    for page in ["report", "readout"] {
        let (status, html) = app.get_text(&format!("/studies/{id}/{page}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("not shown"), "{page}: {html}");
        assert!(
            !html.contains("100.0% ["),
            "{page}: no yield for three people"
        );
        assert!(
            !html.contains("<svg role"),
            "{page}: no chart of hidden groups"
        );
    }
    let summary = app
        .post(&format!("/studies/{id}/export"), &[("file", "summary.csv")])
        .await
        .text()
        .await
        .unwrap();
    let rows: Vec<&str> = summary.lines().skip(1).collect();
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r.ends_with(",,,,,,1")),
        "every metric suppressed: {summary}"
    );
    let participants = app
        .post(
            &format!("/studies/{id}/export"),
            &[("file", "participants.csv")],
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(participants.lines().count(), 4);
    // Three people keep no cohort, function or tenure: those columns leave the whole file.
    assert!(
        participants.starts_with("id,gross_hours_band\r\n")
            && participants
                .lines()
                .skip(1)
                .all(|l| l.split(',').count() == 2),
        "three people cannot keep cohort, function or tenure: {participants}"
    );
    assert_eq!(
        app.get(&format!("/studies/{id}/analysis?min=abc"))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn a_ping_whose_email_could_not_be_sent_does_not_count_as_delivered_or_missed() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (person, participant, link) = invited(&app, id).await;
    consent(&person, &link, true).await;
    // The address has gone bad since the roster was imported: the relay will refuse it for good.
    break_address(&app, participant).await;
    let (ping, due, expires) = first_ping(&app, participant).await;
    app.clock.advance(due - t0());
    let tick = run_due(&app.state, app.clock_now()).await.unwrap();
    assert_eq!(tick.mail.failed, 1);
    let (status, sent_at) = (
        ping_status(&app, ping).await,
        ping_sent_at(&app, ping).await,
    );
    assert_eq!((status.as_str(), sent_at), ("cancelled", None));
    app.clock.advance(expires - due);
    run_due(&app.state, app.clock_now()).await.unwrap();
    assert_eq!(
        pings_delivered(&app, participant).await,
        0,
        "it does not lower the person's compliance"
    );
}

#[tokio::test]
async fn behind_a_proxy_bad_links_are_counted_per_client_as_at_login() {
    let app = spawn_app_with(|c| c.behind_proxy = true).await;
    let unknown = app.url(&format!("/p/{}", "a".repeat(64)));
    let from = |ip: &'static str| {
        app.client
            .get(&unknown)
            .header("x-forwarded-for", ip)
            .send()
    };
    for _ in 0..layer2::participants::service::BAD_LINK_LIMIT {
        assert_eq!(
            from("203.0.113.5").await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        from("203.0.113.5").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the guesser is slowed down"
    );
    assert_eq!(
        from("203.0.113.6").await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "someone else behind the same proxy is not"
    );
}

/// The hidden `shown` field of a consent page: the SHA-256 of what it shows.
fn shown_hash(html: &str) -> String {
    let at = html
        .find("name=\"shown\" value=\"")
        .expect("the hash field")
        + 20;
    html[at..at + 64].to_string()
}

async fn recorded_hashes(
    app: &TestApp,
    participant: i64,
) -> Vec<(String, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT event, text_sha256, method FROM consent_events WHERE participant = ? ORDER BY id",
    )
    .bind(participant)
    .fetch_all(&app.state.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_consent_page_names_controller_contact_purpose_and_retention_and_the_record_holds_its_hash()
 {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let notice = [
        ("controller", "Example Ltd"),
        ("contact_name", "Data Protection Office"),
        ("contact_email", "dpo@example.org"),
        ("purpose", "To measure how much time the copilot saves."),
    ];
    let admin_page = app
        .post_ok(&format!("/studies/{id}/privacy"), &notice)
        .await;
    let at = admin_page
        .find("kept until <strong>")
        .expect("a retention date")
        + 19;
    let until = chrono::NaiveDate::parse_from_str(&admin_page[at..at + 10], "%Y-%m-%d").unwrap();
    let (person, participant, link) = invited(&app, id).await;

    let html = person.get_text(&link).await.1;
    for shown in [
        "Example Ltd",
        "Data Protection Office, dpo@example.org",
        "To measure how much time the copilot saves.",
        &until.format("%d %B %Y").to_string(),
        "Analysts see only pseudonymous data",
        "Study admins see your name",
    ] {
        assert!(html.contains(shown), "{shown}");
    }
    let first = shown_hash(&html);
    assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
    // The withdraw page tells the same.
    let leave = person.get_text(&format!("{link}/withdraw")).await.1;
    assert!(
        leave.contains("Data Protection Office, dpo@example.org") && leave.contains("Example Ltd")
    );

    // The notice changes while the page is open: the old page's answer is not recorded against the new text.
    let mut changed = notice.to_vec();
    changed[3] = (
        "purpose",
        "To measure the copilot's time saved and its cost.",
    );
    app.post_ok(&format!("/studies/{id}/privacy"), &changed)
        .await;
    let r = person
        .post_form(
            &format!("{link}/consent"),
            &[("decision", "accept"), ("version", "1"), ("shown", &first)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = r.text().await.unwrap();
    assert!(page.contains("read it again"));
    assert!(
        page.contains(&format!("href=\"{link}\"")) && !page.contains("/studies"),
        "the participant is sent back to their own page, never to the staff area: {page}"
    );
    assert_eq!(consent_of(&app, participant).await, None);

    let html = person.get_text(&link).await.1;
    assert!(html.contains("its cost"));
    let second = shown_hash(&html);
    assert_ne!(first, second);
    let r = person
        .post_form(
            &format!("{link}/consent"),
            &[("decision", "accept"), ("version", "1"), ("shown", &second)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        recorded_hashes(&app, participant).await,
        [(
            "accepted".to_string(),
            Some(second),
            Some("web form".to_string())
        )]
    );
}

#[tokio::test]
async fn the_bad_link_page_names_the_organisations_data_protection_contact_when_configured() {
    let contact = "Data Protection Office, privacy@example.org";
    let app = spawn_app_with(|c| c.privacy_contact = contact.into()).await;
    let (status, html) = app.get_text("/p/not-a-token").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains(contact), "{html}");
    let plain = spawn_app().await;
    let (status, html) = plain.get_text("/p/not-a-token").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("Questions about your data"));
}

#[tokio::test]
async fn a_nudge_after_the_persons_week_is_over_is_refused_and_sends_nothing() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let (person, participant, link) = invited(&app, id).await;
    consent(&person, &link, true).await;
    let nudge = format!("/studies/{id}/participants/{participant}/nudge");
    // During the week a nudge goes out.
    app.post_ok(&nudge, &[]).await;
    assert_eq!(outbox_of_kind(&app, "nudge").await.len(), 1);

    // A day after their diary and last check-in closed, their part is over: nothing is queued and the admin
    // is told why.
    let last_ping_closes = pings_of(&app, participant).await.last().unwrap().2;
    let diary_closes: chrono::NaiveDate = app
        .value(
            "SELECT diary_closes_on FROM participants WHERE id = ?",
            Some(participant),
        )
        .await;
    let diary_closes = diary_closes.and_hms_opt(23, 59, 0).unwrap().and_utc();
    let later = last_ping_closes.max(diary_closes) + chrono::Duration::days(1);
    app.clock.advance(later - app.clock_now());
    app.login(ADMIN, PASSWORD).await;
    let audit_before = audit_details(&app, "participant.nudge").await.len();
    let page = app.follow(app.post(&nudge, &[]).await).await;
    assert!(
        flash_text(&page).contains("there is nothing left to remind them of"),
        "{}",
        flash_text(&page)
    );
    assert_eq!(
        outbox_of_kind(&app, "nudge").await.len(),
        1,
        "no second nudge"
    );
    assert_eq!(
        audit_details(&app, "participant.nudge").await.len(),
        audit_before
    );
}
