//! Admin forms that answer with a redirect mark the refused field on the next page (WCAG 3.3.1): the error
//! at the top links to the field, the field carries `aria-invalid` and `aria-describedby`, and its message
//! sits right after it. Nothing is changed by a refusal.
use crate::helpers::*;

/// The opening tag of the control with `id`.
fn control<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no control {id} on the page"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

/// `id` is marked as refused with a message containing `message`; no other control of the page is.
#[track_caller]
fn assert_marked(html: &str, id: &str, message: &str) {
    let tag = control(html, id);
    assert!(
        tag.contains("aria-invalid=\"true\""),
        "{id} not marked: {tag}"
    );
    let described = tag
        .split("aria-describedby=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or("");
    assert!(
        described
            .split_whitespace()
            .any(|t| t == format!("{id}-err")),
        "{id} does not point at its message: {tag}"
    );
    let own = format!("<p class=\"field-error\" id=\"{id}-err\">");
    let at = html
        .find(&own)
        .unwrap_or_else(|| panic!("no message at {id}"));
    let text = &html[at + own.len()..];
    let text = &text[..text.find("</p>").unwrap()];
    assert!(text.contains(message), "{id}: {text}");
    assert!(
        html.contains(&format!("<a href=\"#{id}\">")),
        "the error at the top links to {id}: {}",
        flash_text(html)
    );
    assert_eq!(
        html.matches("aria-invalid=\"true\"").count(),
        1,
        "only {id} is marked"
    );
}

#[tokio::test]
async fn refused_admin_forms_mark_the_field_they_are_about_and_change_nothing() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    let refused = |path: String, fields: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move {
            let r = app.post(&path, &fields).await;
            assert_eq!(r.status(), 303, "{path} answers with a redirect");
            app.follow(r).await
        }
    };

    // Collection settings: a number out of range, and a window that ends before it starts.
    let settings = |field: &'static str, value: &'static str| {
        let mut f = vec![
            ("pings_per_day", "3"),
            ("window_start", "09:00"),
            ("window_end", "17:00"),
            ("min_gap_minutes", "60"),
            ("ping_days", "7"),
            ("expiry_minutes", "60"),
            ("diary_target", "5"),
            ("diary_days", "7"),
            ("reminder_days", "2"),
        ];
        f.iter_mut().find(|(k, _)| *k == field).unwrap().1 = value;
        f
    };
    let html = refused(
        format!("/studies/{id}/collection/settings"),
        settings("expiry_minutes", "5"),
    )
    .await;
    assert_marked(&html, "expiry_minutes", "from 10 to 240");
    let html = refused(
        format!("/studies/{id}/collection/settings"),
        settings("window_end", "08:00"),
    )
    .await;
    assert_marked(&html, "window_end", "must be after its start (09:00)");
    let html = refused(
        format!("/studies/{id}/collection/settings"),
        settings("min_gap_minutes", "200"),
    )
    .await;
    assert_marked(&html, "min_gap_minutes", "minimum gap");
    assert!(audit_details(&app, "collection.settings").await.is_empty());

    // Cost per unit: the units per month, and a DAPM condition without its evidence.
    let html = refused(
        format!("/studies/{id}/tco/unit"),
        vec![
            ("unit", "resolved case"),
            ("units_per_month", "0"),
            ("units_source", "ticket system"),
        ],
    )
    .await;
    assert_marked(&html, "u-count", "above zero");
    let html = refused(
        format!("/studies/{id}/tco/class"),
        vec![
            ("category", "Writing and editing"),
            ("class", "automation"),
            ("reason", "sends replies itself"),
            ("by1", "COO"),
            ("evidence1", "DoA 1"),
            ("by2", "COO"),
        ],
    )
    .await;
    assert_marked(&html, "c-ev2", "all three DAPM conditions");

    // Baseline: an expert's range out of order marks the bound that breaks it.
    let html = refused(
        format!("/studies/{id}/baseline/expert"),
        vec![
            ("expert", "Head of support"),
            ("category", "Writing and editing"),
            ("low", "30"),
            ("likely", "20"),
            ("high", "40"),
        ],
    )
    .await;
    assert_marked(&html, "e-low", "low ≤ likely ≤ high");
    let html = refused(
        format!("/studies/{id}/baseline/historical"),
        vec![
            ("category", "Writing and editing"),
            ("minutes", "-3"),
            ("source", "time sheets"),
        ],
    )
    .await;
    assert_marked(&html, "h-minutes", "positive number of minutes");

    // The renewal economics on the report page.
    let html = refused(
        format!("/studies/{id}/economics"),
        vec![
            ("seat_price", "30"),
            ("seats", "1000"),
            ("hourly_cost", "80"),
            ("currency", "DOL"),
        ],
    )
    .await;
    assert_marked(&html, "e-cur", "ISO 4217 code");

    // An approval already on the checklist.
    let html = refused(
        format!("/studies/{id}/approvals"),
        vec![("label", "x\u{7}y")],
    )
    .await;
    assert_marked(&html, "new-approval", "one line");

    // The timeline: the first date that breaks the order is marked.
    let html = refused(
        format!("/studies/{id}/phases"),
        vec![
            ("setup_start", "2027-01-04"),
            ("setup_end", "2027-01-20"),
            ("pilot_start", "2027-01-18"),
            ("pilot_end", "2027-01-31"),
            ("collection_start", "2027-02-01"),
            ("collection_end", "2027-02-28"),
            ("analysis_start", "2027-03-01"),
            ("analysis_end", "2027-03-14"),
            ("readout_start", "2027-03-15"),
            ("readout_end", "2027-04-03"),
        ],
    )
    .await;
    assert_marked(&html, "pilot_start", "must start after Setup");
    assert!(audit_details(&app, "study.phases").await.is_empty());

    // A staff invitation to an address that has an account already.
    let html = refused(
        "/admin/users".into(),
        vec![("email", ADMIN), ("role", "analyst")],
    )
    .await;
    assert_marked(&html, "invite-email", "already exists");

    // The usage upload's conversion, refused before the file is read.
    let r = app
        .upload(
            &format!("/studies/{id}/usage"),
            "u.csv",
            usage_csv(4).into_bytes(),
            &[("format", "csv"), ("hours_per_unit", "-2")],
        )
        .await;
    let html = app.follow(r).await;
    assert_marked(&html, "uhours", "positive number of hours");
    assert_eq!(app.usage_raw_rows().await, 0, "nothing imported");

    // A sender name that reads as another address is refused at its field (the page answers itself, 422).
    let r = app
        .post(
            &format!("/studies/{id}/messages/sender"),
            &[
                ("name", "IT Service Desk <it@bank.example>"),
                ("address", "study@example.org"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(control(&html, "sender_name").contains("aria-invalid=\"true\""));
    assert!(!control(&html, "sender_address").contains("aria-invalid"));
    assert!(
        html.contains("looks like an address hides the real one"),
        "{html}"
    );
    assert!(audit_details(&app, "messages.sender").await.is_empty());

    // The filters of the dashboard and the audit log (GET forms) mark the filter they left out.
    let (_, html) = app
        .get_text(&format!("/studies/{id}/collection?below=abc&cohort=heavy"))
        .await;
    let tag = control(&html, "f-below");
    assert!(
        tag.contains("aria-invalid=\"true\"") && tag.contains("aria-describedby=\"f-below-err\""),
        "{tag}"
    );
    assert!(html.contains("id=\"f-below-err\""));
    assert!(!control(&html, "f-cohort").contains("aria-invalid"));
    let (_, html) = app.get_text("/admin/audit?from=yesterday").await;
    assert!(control(&html, "f-from").contains("aria-describedby=\"f-from-err\""));
    assert!(!control(&html, "f-to").contains("aria-invalid"));

    // A message that is not about a field is not tied to one: no control is marked.
    let html = app.get_text(&format!("/studies/{id}/tco")).await.1;
    assert!(!html.contains("aria-invalid"), "the flash is shown once");
}

#[tokio::test]
async fn the_sample_forms_mark_their_fields_and_a_refused_wording_keeps_what_was_typed() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    app.import_roster(id, "r.csv", roster_csv(40).into_bytes())
        .await;
    // The draw: a pilot that leaves a cohort without a pilot member is about the pilot size.
    let r = app
        .post(
            &format!("/studies/{id}/sample"),
            &[
                ("n", "10"),
                ("min_per_cohort", "1"),
                ("pilot_n", "abc"),
                ("seed", "7"),
            ],
        )
        .await;
    let html = app.follow(r).await;
    assert_marked(&html, "pilot_n", "pilot size must be a whole number");
    // Its own description stays attached too.
    assert!(control(&html, "pilot_n").contains("pilot_n-err draw-defaults"));
    assert!(app.sample_members(id, "main").await.is_empty());

    // The calculator (a GET form) marks the field it refuses, in percent.
    let (_, html) = app
        .get_text(&format!("/studies/{id}/sample?margin=5&confidence=0.95"))
        .await;
    let tag = control(&html, "confidence");
    assert!(
        tag.contains("aria-invalid=\"true\"") && tag.contains("aria-describedby=\"calc-error\""),
        "{tag}"
    );
    assert!(
        html.contains("The confidence must be above 50% and below 100%, not 0.95."),
        "{html}"
    );
    assert!(!control(&html, "margin").contains("aria-invalid"));

    // A refused consent text answers with the page itself, the typed text kept and the field marked.
    let typed = "Too short, but typed with care: <keep me>";
    let r = app
        .post(
            &format!("/studies/{id}/instrument"),
            &[("consent_text", typed), ("categories", "Writing\nCoding")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert_marked(&html, "consent_text", "between 50 and 5,000 characters");
    assert!(
        html.contains("Too short, but typed with care: &#60;keep me&#62;</textarea>"),
        "the typed text is kept, escaped: {html}"
    );
    assert!(audit_details(&app, "instrument.edit").await.is_empty());
}
