//! Instrument C through HTTP: historical and expert baselines, the participants' own estimates, the bound.
use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn baselines_from_records_experts_and_participants_are_compared_per_category() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/baseline/historical"),
                &[
                    ("category", "Code"),
                    ("minutes", "60"),
                    ("source", "<b>Jira 2025</b>"),
                ],
            )
            .await,
        )
        .await;
    assert!(
        html.contains("Historical baseline saved.") && html.contains("&#60;b&#62;Jira 2025"),
        "{html}"
    );
    app.post(
        &format!("/studies/{id}/baseline/expert"),
        &[
            ("expert", "Dana"),
            ("category", "Code"),
            ("low", "30"),
            ("likely", "45"),
            ("high", "90"),
        ],
    )
    .await;
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/baseline/expert"),
                &[
                    ("expert", "Eve"),
                    ("category", "Code"),
                    ("low", "50"),
                    ("likely", "40"),
                    ("high", "60"),
                ],
            )
            .await,
        )
        .await;
    assert!(html.contains("in that order"), "low > likely is refused");
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/baseline/historical"),
                &[
                    ("category", "Email and messages"),
                    ("minutes", "-3"),
                    ("source", "x"),
                ],
            )
            .await,
        )
        .await;
    assert!(html.contains("positive number of minutes"));
    app.post(
        &format!("/studies/{id}/baseline/historical"),
        &[
            ("category", "Email and messages"),
            ("minutes", "12"),
            ("source", "time study"),
        ],
    )
    .await;
    let (status, html) = app.get_text(&format!("/studies/{id}/baseline")).await;
    assert_eq!(status, StatusCode::OK);
    // Code: historical 60, experts PERT (30 + 180 + 90) / 6 = 50: bound 50–60, two methods.
    assert!(html.contains("50.0–60.0"), "{html}");
    assert!(
        html.contains("Email and messages <span class=\"warn\">(fewer than two methods)</span>")
    );
    assert!(!html.contains("Code <span class=\"warn\">"));
    let actions = app.audit_actions().await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.starts_with("baseline."))
            .count(),
        3
    );
    // An entry can be deleted (audited); deleting it twice is refused and changes nothing.
    assert!(html.contains("name=\"expert\" value=\"Dana\""));
    let delete = [("expert", "Dana"), ("category", "Code")];
    let html = app
        .follow(
            app.post(&format!("/studies/{id}/baseline/delete"), &delete)
                .await,
        )
        .await;
    assert!(html.contains("Baseline entry deleted."), "{html}");
    assert!(
        html.contains("Code <span class=\"warn\">(fewer than two methods)</span>"),
        "with the expert gone, Code has one method: {html}"
    );
    let html = app
        .follow(
            app.post(&format!("/studies/{id}/baseline/delete"), &delete)
                .await,
        )
        .await;
    assert!(html.contains("not there (already deleted?)"), "{html}");
    let (_, html) = app.get_text(&format!("/studies/{id}/baseline")).await;
    assert!(html.contains("min — time study"), "{html}");
    app.post(
        &format!("/studies/{id}/baseline/delete"),
        &[("category", "Email and messages")],
    )
    .await;
    let (_, html) = app.get_text(&format!("/studies/{id}/baseline")).await;
    assert!(!html.contains("min — time study"), "{html}");
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| a.ends_with(".delete")).count(), 2);
}

/// Roster employees the usage file shows without the tool and the sample left out, by employee id.
async fn unsampled_without_usage(app: &TestApp, id: i64) -> Vec<String> {
    let rows: Vec<(String,)> = app
        .rows(
            "SELECT e.employee_id FROM employees e WHERE e.study_id = ? AND e.usage_score IS NULL
               AND NOT EXISTS (SELECT 1 FROM sample_members m WHERE m.employee = e.id) ORDER BY e.employee_id",
            Some(id),
        )
        .await;
    rows.into_iter().map(|(e,)| e).collect()
}

#[tokio::test]
async fn a_control_group_logs_minutes_without_pings_and_becomes_a_baseline_method() {
    // The smallest minimum cell the product allows, so three people make a shown group.
    let app = spawn_app_with(|c| c.min_cell_size = 3).await;
    let id = study_in_pilot(&app).await;
    let free = unsampled_without_usage(&app, id).await;
    assert!(free.len() >= 4, "{free:?}");
    // By id, and by email in any case.
    let list = format!(
        "{}\n{}, {}@EXAMPLE.org",
        free[0],
        free[1],
        free[2].to_lowercase()
    );
    // Only during collection.
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/baseline/control"),
                &[("people", &list)],
            )
            .await,
        )
        .await;
    assert!(html.contains("invited during collection"), "{html}");
    move_status(&app, id, "collection").await;
    send_invitations(&app, id).await;
    let invitations_before = app
        .count("SELECT COUNT(*) FROM outbox WHERE study_id = ?", id)
        .await;
    // All or nothing: one unknown, one sampled and one copilot user refuse the whole list, by position only.
    let sampled: String = app
        .value(
            "SELECT e.employee_id FROM sample_members m JOIN employees e ON e.id = m.employee WHERE m.study_id = ? LIMIT 1",
            Some(id),
        )
        .await;
    let user: String = app
        .value(
            "SELECT e.employee_id FROM employees e WHERE e.study_id = ? AND e.usage_score IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM sample_members m WHERE m.employee = e.id) LIMIT 1",
            Some(id),
        )
        .await;
    let bad = format!(
        "{}\nnobody@example.org\n{sampled}\n{user}\n{}",
        free[0], free[0]
    );
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/baseline/control"),
                &[("people", &bad)],
            )
            .await,
        )
        .await;
    for expected in [
        "Nobody was invited",
        "entry 2: not on the roster",
        "entry 3: drawn into the sample",
        "entry 4: the usage data shows copilot use",
        "entry 5: named twice",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    assert!(!html.contains("nobody@example.org"), "names are not echoed");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM participants WHERE study_id = ? AND arm = 'control'",
            id
        )
        .await,
        0
    );
    // A valid list first gets a confirmation page naming how many people get which message; nothing yet.
    let r = app
        .post(
            &format!("/studies/{id}/baseline/control"),
            &[("people", &list)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Invite 3 people to the control group?"),
        "{html}"
    );
    assert!(html.contains("3 people get the control group&#39;s invitation now, subject"));
    assert!(html.contains("name=\"confirm\" value=\"yes\""));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE study_id = ?", id)
            .await,
        invitations_before,
        "nothing sent before the confirmation"
    );
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/baseline/control"),
                &[("people", &list), ("confirm", "yes")],
            )
            .await,
        )
        .await;
    assert!(
        html.contains("3 control-group invitations queued."),
        "{html}"
    );
    assert!(
        html.contains("3 invited · 0 taking part · 0 tasks logged"),
        "{html}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE study_id = ?", id)
            .await,
        invitations_before + 3
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"control.invite".to_string())
    );
    send_due_mail(&app).await;
    let sent: Vec<(i64, String)> = app
        .rows(
            "SELECT o.participant, o.message_id FROM outbox o JOIN participants p ON p.id = o.participant
             WHERE p.arm = 'control' ORDER BY o.id",
            None,
        )
        .await;
    let bodies: Vec<(i64, String)> = sent
        .into_iter()
        .map(|(p, id)| (p, sent_text(&app, &id)))
        .collect();
    assert_eq!(bodies.len(), 3);
    assert!(bodies[0].1.contains("comparison group") && bodies[0].1.contains("no check-ins"));
    // A control participant consents, gets no pings, and logs minutes only.
    let person = app.stranger();
    let link = link_path(&bodies[0].1);
    let (_, html) = person.get_text(&link).await;
    assert!(html.contains("comparison group"), "{html}");
    person
        .post_form(&format!("{link}/consent"), &[("decision", "accept")])
        .await;
    let pings: i64 = app
        .value(
            "SELECT COUNT(*) FROM pings WHERE participant = ?",
            Some(bodies[0].0),
        )
        .await;
    assert_eq!(pings, 0, "the control group is never pinged");
    let (_, html) = person.get_text(&link).await;
    assert!(html.contains("Log a task") && html.contains("Minutes the task took"));
    assert!(!html.contains("Check-ins") && !html.contains("AI output"));
    // A copilot-style entry is not a control task.
    let r = person
        .post_form(
            &format!("{link}/diary"),
            &[
                ("category", "Code"),
                ("outcome", "most"),
                ("minutes_with_ai", "20"),
                ("minutes_without_ai", "45"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("from 1 to 1440"));
    for (minutes, description) in [("40", "<img src=x onerror=alert(1)>"), ("60", "")] {
        let html = person
            .post_form(
                &format!("{link}/diary"),
                &[
                    ("category", "Code"),
                    ("description", description),
                    ("minutes", minutes),
                ],
            )
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("Task logged"), "{html}");
        assert!(!html.contains("<img src=x"));
    }
    // A second person.
    let other = link_path(&bodies[1].1);
    person
        .post_form(&format!("{other}/consent"), &[("decision", "accept")])
        .await;
    person
        .post_form(
            &format!("{other}/diary"),
            &[("category", "Code"), ("minutes", "35")],
        )
        .await;
    let (_, html) = app.get_text(&format!("/studies/{id}/baseline")).await;
    // Two people are fewer than the minimum cell: their average is not shown, and not in the bound.
    assert!(html.contains("2 people: not shown"), "{html}");
    assert!(
        !html.contains("45.0 (") && !html.contains("n = 2"),
        "{html}"
    );
    let third = link_path(&bodies[2].1);
    person
        .post_form(&format!("{third}/consent"), &[("decision", "accept")])
        .await;
    person
        .post_form(
            &format!("{third}/diary"),
            &[("category", "Code"), ("minutes", "45")],
        )
        .await;
    let (_, html) = app.get_text(&format!("/studies/{id}/baseline")).await;
    // Code: (40 + 60 + 35 + 45) / 4 = 45 minutes from 3 people.
    assert!(html.contains("45.0 ("), "{html}");
    assert!(html.contains("n = 3"), "{html}");
    assert!(
        html.contains("3 invited · 3 taking part · 4 tasks logged"),
        "{html}"
    );
    // Control participants never enter the Layer 2 profile, and have their own line on the dashboard.
    let inputs = layer2::reports::study_inputs(&app.state, layer2::study::StudyId(id), 0.0)
        .await
        .unwrap();
    assert!(inputs.kept.is_empty() && inputs.excluded.is_empty());
    let (_, html) = app.get_text(&format!("/studies/{id}/collection")).await;
    assert!(html.contains("Control group (no pings)"), "{html}");
}
