//! The collection dashboard, the roster page and the audit log at scale (issue 14): search, filters, sort
//! and pages in the query string; one nudge a day per person, also under two clicks at once; actions that
//! come back to the person's row; removal and erasure only from their confirmation pages; analysts see no
//! person; the audit log filtered, paged and exported, naming people as the dashboard does and never an
//! erased one.
use crate::helpers::*;
use chrono::Duration;
use layer2::audit::{self, Actor};
use layer2::tick::run_due;
use reqwest::StatusCode;

fn collection(study: i64, query: &str) -> String {
    format!("/studies/{study}/collection?{query}")
}

#[tokio::test]
async fn the_admin_finds_one_participant_by_id_or_email_and_pages_and_filters_the_rest() {
    let app = spawn_app().await;
    let (id, people) = study_with_80_participants(&app).await;

    let (status, html) = app.get_text(&collection(id, "")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("1–50 of 80 matching · 80 participants in the study"),
        "{html}"
    );
    assert_eq!(person_rows(&html), 50);
    assert!(html.contains("Check-ins left") && html.contains("Last nudged"));
    let html = app.get_text(&collection(id, "page=2")).await.1;
    assert!(html.contains("51–80 of 80 matching"), "{html}");
    assert_eq!(person_rows(&html), 30);
    assert!(html.contains("← Previous") && !html.contains("Next →"));

    // Search: by employee id, and by email in any case.
    let (someone, _) = people[33];
    let employee = employee_id_of(&app, someone).await;
    let email = email_of(&app, someone).await;
    for q in [employee.clone(), email.to_uppercase()] {
        let html = app.get_text(&collection(id, &format!("q={q}"))).await.1;
        assert!(html.contains("1–1 of 1 matching"), "{q}: {html}");
        assert_eq!(person_rows(&html), 1);
        assert!(html.contains(&format!("<td>{employee}</td>")) && html.contains(&email));
    }
    let html = app.get_text(&collection(id, "q=nobody-like-this")).await.1;
    assert!(html.contains("0 of 0 matching") && html.contains("Nobody matches these filters."));

    // Filters: the pilot group, a cohort (as the database counts it), and sorting by employee id.
    let html = app.get_text(&collection(id, "group=pilot")).await.1;
    assert!(html.contains("1–20 of 20 matching"), "{html}");
    let heavy = app
        .count(
            "SELECT COUNT(*) FROM participants p JOIN employees e ON e.id = p.employee
             WHERE p.study_id = ? AND e.cohort = 'heavy'",
            id,
        )
        .await;
    assert!(heavy > 0);
    let html = app.get_text(&collection(id, "cohort=heavy")).await.1;
    assert!(
        html.contains(&format!("1–{heavy} of {heavy} matching")),
        "{html}"
    );
    let ids: Vec<String> = by_employee_id(&app, &people)
        .await
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    let html = app.get_text(&collection(id, "sort=id&page=2")).await.1;
    let shown: Vec<&str> = html
        .split("<tr id=\"p-")
        .skip(1)
        .map(|row| {
            row.split("<td>")
                .nth(1)
                .unwrap()
                .split("</td>")
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        shown,
        ids[50..],
        "page 2 by id: the 51st to the 80th id, in order"
    );

    // A filter the page does not understand is dropped and said so; nothing else changes.
    let html = app
        .get_text(&collection(id, "below=lots&status=asleep"))
        .await
        .1;
    assert!(
        html.contains("takes a number of percent from 0 to 100"),
        "{html}"
    );
    assert!(html.contains("There is no status"));
    assert!(html.contains("1–50 of 80 matching"));

    // Consent and compliance: A answers every check-in of their first day, B none.
    let (a, link_a) = people[20].clone();
    let (b, link_b) = people[21].clone();
    let person = app.stranger();
    consent(&person, &link_a, true).await;
    consent(&person, &link_b, true).await;
    let html = app.get_text(&collection(id, "status=consented")).await.1;
    assert!(html.contains("1–2 of 2 matching"), "{html}");
    let mut due: Vec<_> = pings_of(&app, a).await[..3]
        .iter()
        .map(|p| (p.1, p.0, p.2, true))
        .chain(
            pings_of(&app, b).await[..3]
                .iter()
                .map(|p| (p.1, p.0, p.2, false)),
        )
        .collect();
    due.sort();
    let mut end = app.clock_now();
    for (at, ping, expires, answers) in due {
        app.clock.set(at);
        run_due(&app.state, at).await.unwrap();
        if answers {
            assert_eq!(answer(&person, &link_a, ping, "no").await, StatusCode::OK);
        }
        end = end.max(expires);
    }
    app.clock.set(end + Duration::minutes(1));
    run_due(&app.state, app.clock_now()).await.unwrap();
    app.login(ADMIN, PASSWORD).await;
    let html = app.get_text(&collection(id, "below=50")).await.1;
    assert!(html.contains("1–1 of 1 matching"), "{html}");
    assert!(html.contains(&format!("<td>{}</td>", employee_id_of(&app, b).await)));
    let html = app.get_text(&collection(id, "below=100.5")).await.1;
    assert!(html.contains("takes a number of percent"));
    let html = app.get_text(&collection(id, "below=100")).await.1;
    assert!(
        html.contains("1–1 of 1 matching"),
        "A at 100% is not below 100"
    );
    // Quiet longest first: A and B were active; the 78 others never were, and come first.
    let html = app
        .get_text(&collection(id, "sort=activity&page=2"))
        .await
        .1;
    let rows: Vec<&str> = html.split("<tr id=\"p-").skip(1).collect();
    assert!(
        rows[rows.len() - 2].contains(&employee_id_of(&app, b).await),
        "B consented"
    );
    assert!(
        rows[rows.len() - 1].contains(&employee_id_of(&app, a).await),
        "A answered since"
    );
}

#[tokio::test]
async fn a_second_nudge_within_24_hours_is_refused_and_queues_nothing_then_works_a_day_later() {
    let app = spawn_app().await;
    let (id, people) = study_with_80_participants(&app).await;
    let (p, link) = people[25].clone();
    consent(&app.stranger(), &link, true).await;
    let nudge = format!("/studies/{id}/participants/{p}/nudge");
    let page = app.post_ok(&nudge, &[]).await;
    assert!(
        flash_text(&page).contains("Reminder queued."),
        "{}",
        flash_text(&page)
    );
    assert_eq!(mail_to(&app, p, &["nudge"]).await, 1);

    app.clock.advance(Duration::hours(23));
    app.login(ADMIN, PASSWORD).await;
    let page = app.follow(app.post(&nudge, &[]).await).await;
    let employee = employee_id_of(&app, p).await;
    assert!(
        flash_text(&page).contains(&format!(
            "{employee} was already nudged at 2027-01-04 09:00"
        )) && flash_text(&page).contains("nothing was sent"),
        "{}",
        flash_text(&page)
    );
    assert!(page.contains("class=\"flash error\""));
    assert_eq!(mail_to(&app, p, &["nudge"]).await, 1, "nothing queued");
    assert_eq!(audit_details(&app, "participant.nudge").await.len(), 1);
    // The row says when they were last nudged (study time, Europe/London).
    let html = app
        .get_text(&collection(id, &format!("q={employee}")))
        .await
        .1;
    assert!(html.contains("2027-01-04 09:00"), "{html}");

    app.clock.advance(Duration::hours(1));
    let page = app.post_ok(&nudge, &[]).await;
    assert!(flash_text(&page).contains("Reminder queued."));
    assert_eq!(mail_to(&app, p, &["nudge"]).await, 2);
}

#[tokio::test]
async fn two_nudges_at_the_same_moment_queue_one() {
    let app = spawn_app().await;
    let (id, people) = study_with_80_participants(&app).await;
    let (p, _) = people[30];
    let other = app.stranger();
    assert_eq!(
        other.login(ADMIN, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let nudge = format!("/studies/{id}/participants/{p}/nudge");
    let (r1, r2) = tokio::join!(app.post(&nudge, &[]), other.post(&nudge, &[]));
    let (page1, page2) = tokio::join!(app.follow(r1), other.follow(r2));
    let said = [flash_text(&page1), flash_text(&page2)];
    assert_eq!(
        said.iter()
            .filter(|f| f.contains("Reminder queued."))
            .count(),
        1,
        "{said:?}"
    );
    assert_eq!(
        said.iter().filter(|f| f.contains("already nudged")).count(),
        1,
        "{said:?}"
    );
    assert_eq!(mail_to(&app, p, &["nudge"]).await, 1);
}

#[tokio::test]
async fn an_action_comes_back_to_the_same_view_and_shows_its_result_on_the_row() {
    let app = spawn_app().await;
    let (id, people) = study_with_80_participants(&app).await;
    // Someone on page 2 when sorted by employee id.
    let by_id = by_employee_id(&app, &people).await;
    let (employee, p) = by_id[60].clone();
    let query = "sort=id&page=2&q=e00&junk=1";
    let r = app
        .post(
            &format!("/studies/{id}/participants/{p}/nudge?{query}"),
            &[],
        )
        .await;
    let to = location(&r);
    assert_eq!(
        to,
        format!("/studies/{id}/collection?q=e00&sort=id&page=2&at={p}#p-{p}")
    );
    let html = app.get_text(&to).await.1;
    assert!(html.contains("51–80 of 80 matching"), "the same page");
    let row = html
        .find(&format!("<tr id=\"p-{p}\">"))
        .expect("the row is on the page");
    let message = html
        .find("<tr class=\"row-message\">")
        .expect("a message row");
    assert!(message > row && html[row..message].contains(&employee));
    assert!(html[message..].starts_with("<tr class=\"row-message\"><td colspan=\"14\"><p class=\"flash notice\" role=\"status\">Reminder queued."));
    assert_eq!(
        html.matches("class=\"flash").count(),
        1,
        "shown on the row, not at the top"
    );

    // Refused the second time: the refusal shows on the row too.
    let r = app
        .post(
            &format!("/studies/{id}/participants/{p}/nudge?{query}"),
            &[],
        )
        .await;
    let html = app.get_text(&location(&r)).await.1;
    let message = html.find("<tr class=\"row-message\">").unwrap();
    assert!(html[message..].contains("already nudged"));
    assert!(
        html[message..]
            .starts_with("<tr class=\"row-message\"><td colspan=\"14\"><p class=\"flash error\"")
    );
}

#[tokio::test]
async fn removal_and_erasure_act_only_from_their_confirmation_pages() {
    let app = spawn_app().await;
    let (id, people) = study_with_80_participants(&app).await;
    let (p, link) = people[40].clone();
    let person = app.stranger();
    consent(&person, &link, true).await;
    log_task(
        &person,
        &link,
        &[
            ("category", "Code"),
            ("description", "a memo"),
            ("outcome", "most"),
            ("minutes_with_ai", "20"),
            ("minutes_without_ai", "45"),
        ],
    )
    .await;
    let employee = employee_id_of(&app, p).await;
    let dashboard = app
        .get_text(&collection(id, &format!("q={employee}")))
        .await
        .1;
    let remove = format!("/studies/{id}/participants/{p}/remove");
    let erase = format!("/studies/{id}/participants/{p}/erase");
    assert!(
        dashboard.contains(&format!("href=\"{remove}?q={employee}\"")),
        "{dashboard}"
    );
    assert!(dashboard.contains(&format!("href=\"{erase}?q={employee}\"")));

    // Removal: the page says what happens; the one-click POST of old changes nothing.
    let (status, page) = app.get_text(&format!("{remove}?q={employee}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("Remove {employee} from the study?"))
            && page.contains("This cannot be undone")
            && page.contains("their answers so far stay")
            && page.contains(&format!("action=\"{remove}?q={employee}\"")),
        "{page}"
    );
    let r = app.post(&format!("{remove}?q={employee}"), &[]).await;
    let to = location(&r);
    assert_eq!(
        to,
        format!("/studies/{id}/collection?q={employee}&at={p}#p-{p}")
    );
    let html = app.get_text(&to).await.1;
    assert!(html.contains("confirmed on its own page"), "{html}");
    assert_eq!(consent_events(&app, p).await, ["accepted"], "not removed");
    let html = app
        .follow(app.post(&remove, &[("confirm", "remove")]).await)
        .await;
    assert!(flash_text(&html).contains("Participant removed"), "{html}");
    assert_eq!(consent_events(&app, p).await, ["accepted", "withdrawn"]);

    // Erasure: the page counts what goes and says what stays; without the ticked box nothing goes.
    let (status, page) = app.get_text(&erase).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("Erase {employee}?"))
            && page.contains("1 diary entries")
            && page.contains("This cannot be undone")
            && page.contains("What stays: results already released")
            && page.contains(&format!("I confirm: erase {employee}")),
        "{page}"
    );
    let html = app.follow(app.post(&erase, &[]).await).await;
    assert!(flash_text(&html).contains("Tick the box"), "{html}");
    assert_eq!(diary_of(&app, p).await.len(), 1, "nothing erased");
    let r = app
        .post(&format!("{erase}?sort=id"), &[("confirm", "erase")])
        .await;
    let to = location(&r);
    assert_eq!(to, format!("/studies/{id}/collection?sort=id&at={p}#p-{p}"));
    let html = app.get_text(&to).await.1;
    assert!(
        flash_text(&html).starts_with("Participant erased: 1 diary entries"),
        "{html}"
    );
    assert!(!html.contains(&employee));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM participants WHERE id = ?", p)
            .await,
        0
    );
    assert_eq!(app.get(&erase).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn analysts_get_no_person_on_the_collection_or_roster_page_and_403_on_every_action() {
    let app = spawn_app().await;
    let (id, people) = study_with_80_participants(&app).await;
    let (p, _) = people[0];
    let email = email_of(&app, p).await;
    let employee = employee_id_of(&app, p).await;
    let analyst = app.staff_member(ANALYST).await;
    app.grant(ANALYST, id, "data_analyst").await;
    for query in ["", "q=E00", "sort=id&page=2", &format!("q={employee}")] {
        let (status, html) = analyst.get_text(&collection(id, query)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(person_rows(&html), 0, "{html}");
        assert!(!html.contains(&email) && !html.contains(&employee) && !html.contains("matching"));
        assert!(!html.contains("name=\"q\""), "no search for an analyst");
    }
    let (_, html) = analyst
        .get_text(&format!("/studies/{id}/roster?q=E00"))
        .await;
    assert!(
        !html.contains("@example.org</td>") && !html.contains("name=\"q\""),
        "{html}"
    );
    for path in ["remove", "erase"] {
        let r = analyst
            .get(&format!("/studies/{id}/participants/{p}/{path}"))
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    for path in ["nudge", "remove", "erase"] {
        let confirm = if path == "nudge" { "" } else { path };
        let r = analyst
            .post(
                &format!("/studies/{id}/participants/{p}/{path}"),
                &[("confirm", confirm)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(mail_to(&app, p, &["nudge"]).await, 0);
    assert_eq!(
        analyst.get("/admin/audit").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        analyst.get("/admin/audit.csv").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_roster_page_finds_employees_by_id_or_email_a_page_at_a_time() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let roster = format!("/studies/{id}/roster");
    let html = app.get_text(&roster).await.1;
    assert!(html.contains("1–50 of 200 employees"), "{html}");
    assert!(html.contains("<td>E00000</td>") && !html.contains("<td>E00050</td>"));
    let html = app.get_text(&format!("{roster}?page=4")).await.1;
    assert!(html.contains("151–200 of 200 employees"));
    assert!(html.contains("<td>E00199</td>") && !html.contains("Next →"));
    let html = app.get_text(&format!("{roster}?q=e00123")).await.1;
    assert!(
        html.contains("1–1 of 1 employees matching “e00123”"),
        "{html}"
    );
    assert!(html.contains("<td>E00123</td>"));
    let html = app
        .get_text(&format!("{roster}?q=E00042%40EXAMPLE.org"))
        .await
        .1;
    assert!(html.contains("1–1 of 1 employees") && html.contains("e00042@example.org"));
    let html = app.get_text(&format!("{roster}?q=E0001")).await.1;
    assert!(html.contains("1–10 of 10 employees"), "E00010 to E00019");
    let html = app.get_text(&format!("{roster}?q=zzz")).await.1;
    assert!(html.contains("Nobody on the roster matches “zzz”"));
}

/// Appends audit entries as the services do (inside a write transaction).
async fn record(app: &TestApp, actor: &Actor, action: &str, study: Option<i64>, detail: &str) {
    let mut tx = layer2::db::begin_write(&app.state.pool).await.unwrap();
    audit::record(&mut tx, app.clock_now(), actor, action, study, detail)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_audit_log_filters_pages_and_exports_csv_with_formula_cells_neutralised() {
    let app = spawn_app().await;
    app.login_admin().await;
    let study = app
        .create_study("=HYPERLINK(\"http://evil.example\")")
        .await;
    for i in 0..120 {
        record(
            &app,
            &Actor::system(),
            "test.tick",
            None,
            &format!("tick {i}"),
        )
        .await;
    }
    let mallory = Actor {
        user_id: None,
        label: "@mallory".into(),
    };
    record(&app, &mallory, "test.formula", Some(study), "=SUM(A1:A9)").await;
    app.clock.advance(Duration::days(2));
    record(&app, &Actor::cli(), "test.later", None, "two days on").await;
    app.login(ADMIN, PASSWORD).await;

    // Paging: 100 a page, newest first.
    let html = app.get_text("/admin/audit?action=test.tick").await.1;
    assert!(html.contains("1–100 of 120 entries"), "{html}");
    assert!(html.contains(">tick 119<") && !html.contains(">tick 19<"));
    let html = app.get_text("/admin/audit?action=test.tick&page=2").await.1;
    assert!(html.contains("101–120 of 120 entries") && html.contains(">tick 0<"));
    // Actor (part of the name, any case), study, and dates (UTC days, "to" inclusive).
    let html = app.get_text("/admin/audit?actor=ADA%40").await.1;
    assert!(
        html.contains("<code>study.create</code>") && !html.contains("<code>test.tick</code>"),
        "{html}"
    );
    let html = app.get_text(&format!("/admin/audit?study={study}")).await.1;
    assert!(html.contains("1–2 of 2 entries"), "{html}");
    assert!(html.contains("study.create") && html.contains("test.formula"));
    let html = app
        .get_text("/admin/audit?from=2027-01-06&actor=cli")
        .await
        .1;
    assert!(
        html.contains("1–1 of 1 entries") && html.contains("two days on"),
        "{html}"
    );
    let html = app
        .get_text("/admin/audit?to=2027-01-04&action=test.later")
        .await
        .1;
    assert!(html.contains("0 of 0 entries") && html.contains("No entry matches"));
    let html = app.get_text("/admin/audit?from=2027-13-01").await.1;
    assert!(html.contains("takes a date as YYYY-MM-DD"), "{html}");
    assert!(html.contains("of 12"), "the bad filter is left out");

    // CSV of the filtered entries: a cell starting = + - @ gets a leading apostrophe.
    let r = app.get(&format!("/admin/audit.csv?study={study}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "at,actor,action,study_id,study,detail");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].contains(",'@mallory,test.formula,") && lines[1].ends_with(",'=SUM(A1:A9)"),
        "{csv}"
    );
    assert!(
        lines[1].contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\""),
        "{csv}"
    );
    assert!(!csv.contains(",=") && !csv.contains(",@"), "{csv}");
    let all = app.get_text("/admin/audit.csv?action=test.tick").await.1;
    assert_eq!(
        all.lines().count(),
        121,
        "every matching entry, not one page"
    );
    assert_eq!(audit_rows(&app, "audit.export", None).await.len(), 1);
    assert_eq!(
        app.get("/admin/audit.csv?to=someday").await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_audit_names_participants_as_the_dashboard_does_and_never_an_erased_one() {
    let app = spawn_app().await;
    let (id, people) = study_with_80_participants(&app).await;
    let (kept, _) = people[10];
    let (gone, _) = people[11];
    for p in [kept, gone] {
        app.post_ok(&format!("/studies/{id}/participants/{p}/nudge"), &[])
            .await;
    }
    let kept_id = employee_id_of(&app, kept).await;
    let gone_id = employee_id_of(&app, gone).await;
    let gone_email = email_of(&app, gone).await;
    // Before the erasure both are named by employee id, linked to their row.
    let html = app
        .get_text("/admin/audit?action=participant.nudge")
        .await
        .1;
    assert!(html.contains(&format!(">{gone_id}</a>")), "{html}");
    app.post_ok(
        &format!("/studies/{id}/participants/{gone}/erase"),
        &[("confirm", "erase")],
    )
    .await;

    let html = app.get_text("/admin/audit").await.1;
    assert!(
        html.contains(&format!(
            "nudged participant <a href=\"/studies/{id}/collection?q={kept_id}&#38;at={kept}#p-{kept}\">{kept_id}</a>"
        )),
        "{html}"
    );
    assert!(html.contains("nudged an erased participant"), "{html}");
    assert!(
        html.contains("a participant was erased: 0 diary entries"),
        "{html}"
    );
    assert!(!html.contains(&gone_id) && !html.contains(&gone_email));
    for internal in [
        format!("participant {kept}"),
        format!("participant {gone}"),
        format!("#{gone}"),
    ] {
        assert!(
            !html.contains(&internal),
            "the row id is shown nowhere: {internal}"
        );
    }
    let csv = app.get_text("/admin/audit.csv").await.1;
    assert!(
        csv.contains(&format!("nudged participant {kept_id}")),
        "{csv}"
    );
    assert!(csv.contains("nudged an erased participant"));
    assert!(!csv.contains(&gone_id) && !csv.contains(&gone_email));
    // The audit's stored text is what it was: a row id, no name.
    assert!(
        audit_texts(&app)
            .await
            .iter()
            .all(|t| !t.contains(&gone_id))
    );
}
