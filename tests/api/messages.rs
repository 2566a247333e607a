//! Messages: each study's editable emails and sender, their refusals, the freeze with the instruments,
//! the preview, the test send, the defaults' numbers, the nudge's text and the preview as a participant.
use crate::helpers::*;
use layer2::study::StudyId;
use reqwest::StatusCode;

const BODY: &str = "Dear colleague,\n\nPlease log {diary_target} tasks over {diary_days} days for {study}.\n\nStart here: {link}";

/// The page after a form: the one a redirect leads to (saved, or refused with a flash), or the form shown
/// again with what was typed (422: the text was refused).
async fn page_after(app: &TestApp, r: reqwest::Response) -> String {
    match r.status() {
        StatusCode::UNPROCESSABLE_ENTITY => r.text().await.unwrap(),
        _ => app.follow(r).await,
    }
}

async fn save_invitation(app: &TestApp, id: i64, subject: &str, body: &str) -> String {
    let r = app
        .post(
            &format!("/studies/{id}/messages/invitation"),
            &[("subject", subject), ("body", body)],
        )
        .await;
    page_after(app, r).await
}

async fn save_sender(app: &TestApp, id: i64, name: &str, address: &str) -> String {
    let r = app
        .post(
            &format!("/studies/{id}/messages/sender"),
            &[
                ("name", name),
                ("address", address),
                ("organisation", "Example Ltd"),
                ("contact", "Study team, extension 4321"),
            ],
        )
        .await;
    page_after(app, r).await
}

#[tokio::test]
async fn an_edited_invitation_and_sender_are_what_the_next_real_invitation_says() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let page = save_invitation(&app, id, "Please help: {study} ({organisation})", BODY).await;
    assert!(
        page.contains("Invitation saved as version 1."),
        "{}",
        flash_text(&page)
    );
    let page = save_sender(
        &app,
        id,
        "Example copilot study",
        "copilot-study@example.org",
    )
    .await;
    assert!(
        page.contains("Sender saved as version 1."),
        "{}",
        flash_text(&page)
    );
    let subjects = layer2::messages::service::invitation_subjects(&app.state, StudyId(id))
        .await
        .unwrap();
    assert_eq!(subjects.0, "Please help: Wave (Example Ltd)");
    assert!(subjects.1.contains("comparison group"), "{subjects:?}");

    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    let sent = drain_to_memory(&app).await;
    assert_eq!(sent.len(), 20);
    let mail = &sent[0];
    assert_eq!(mail.subject, "Please help: Wave (Example Ltd)");
    assert_eq!(
        mail.from,
        "Example copilot study <copilot-study@example.org>"
    );
    assert!(
        mail.text
            .starts_with("Dear colleague,\n\nPlease log 5 tasks over 14 days for Wave."),
        "{}",
        mail.text
    );
    // The link is minted at sending and works; the withdraw line and the privacy contact close the mail.
    let link = link_path(&mail.text);
    let (status, html) = app.stranger().get_text(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Will you take part?"));
    assert!(
        mail.text
            .contains("Leave the study and stop all emails: http"),
        "{}",
        mail.text
    );
    assert!(
        mail.text.trim_end().ends_with(
            "Questions about your data: Data Protection Office, privacy@example.org (for Example Ltd)"
        ),
        "{}",
        mail.text
    );
    // The HTML part is the same text, escaped, in paragraphs, with the link as an anchor.
    assert!(
        mail.html.contains("<p>Dear colleague,</p>"),
        "{}",
        mail.html
    );
    assert!(
        mail.html.contains("Start here: <a href=\"http"),
        "{}",
        mail.html
    );
    assert_eq!(
        audit_details(&app, "messages.edit").await,
        ["invitation message, version 1"]
    );
}

#[tokio::test]
async fn each_refused_message_says_why_and_changes_nothing() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let long_subject = "x".repeat(151);
    let long_body = format!("{{link}} {}", "y".repeat(5000));
    for (subject, body, why) in [
        (
            "Hello {first_name}",
            BODY,
            "Unknown placeholder {first_name}",
        ),
        (
            "Hello",
            "Please log your tasks over the coming days.",
            "must contain {link}",
        ),
        ("   ", BODY, "The subject is empty"),
        ("Hello\r\nBcc: everyone@example.org", BODY, "one line"),
        ("Hello\nBcc: everyone@example.org", BODY, "one line"),
        (long_subject.as_str(), BODY, "at most 150"),
        ("Hello", long_body.as_str(), "between 20 and 5,000"),
        ("Hello {link}", BODY, "belongs in the body"),
        (
            "Hello",
            "Answer before {until}: {link}",
            "has no value in this message",
        ),
    ] {
        let r = app
            .post(
                &format!("/studies/{id}/messages/invitation"),
                &[("subject", subject), ("body", body)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{why}");
        let page = r.text().await.unwrap();
        assert!(
            flash_text(&page).contains(why),
            "{why}: {}",
            flash_text(&page)
        );
        // The reason stands beside the fields, which keep what was typed.
        assert!(
            page.contains("<p class=\"field-error\" id=\"error-invitation\""),
            "{why}"
        );
        assert!(
            page.contains("aria-describedby=\"error-invitation\""),
            "{why}"
        );
        assert!(
            page.contains(&askama_escaped(body)),
            "{why}: the body typed is shown again"
        );
    }
    assert_eq!(message_versions(&app, id).await, (0, 0));
    assert!(audit_details(&app, "messages.edit").await.is_empty());
    let (_, page) = app.get_text(&format!("/studies/{id}/messages")).await;
    assert!(page.contains("(default text)"));
    assert!(!page.contains("(version 1)"));
}

/// `text` as an HTML page shows it (askama escapes quotes and angle brackets).
fn askama_escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[tokio::test]
async fn a_sender_with_a_line_break_or_a_bad_address_is_refused() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    for (name, address, why) in [
        (
            "Study\r\nBcc: all@example.org",
            "study@example.org",
            "one line",
        ),
        (
            "Study",
            "study@example.org\r\nBcc: all@example.org",
            "one line",
        ),
        (
            "Study",
            "study@example.org>, all@example.org",
            "not a valid email address",
        ),
        ("Study", "not an address", "not a valid email address"),
        ("", "study@example.org", "name is empty"),
    ] {
        let page = save_sender(&app, id, name, address).await;
        assert!(
            flash_text(&page).contains(why),
            "{why}: {}",
            flash_text(&page)
        );
    }
    assert_eq!(message_versions(&app, id).await, (0, 0));
    // The invitations still come from the configuration's sender.
    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    let sent = drain_to_memory(&app).await;
    assert!(
        sent.iter().all(|m| m.from.contains("study@localhost")),
        "{:?}",
        sent[0].from
    );
}

#[tokio::test]
async fn analysts_read_the_messages_but_get_403_on_every_edit() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let analyst = app.staff_member(ANALYST).await;
    app.grant(ANALYST, id, "analyst").await;
    let (status, page) = analyst.get_text(&format!("/studies/{id}/messages")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("You are invited: {study}"));
    assert!(!page.contains("Save as a new version") && !page.contains("Send me a test"));
    for (path, fields) in [
        ("invitation", vec![("subject", "Hijack"), ("body", BODY)]),
        (
            "sender",
            vec![("name", "Hijack"), ("address", "h@example.org")],
        ),
        ("ping/test", vec![]),
    ] {
        let r = analyst
            .post(&format!("/studies/{id}/messages/{path}"), &fields)
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(message_versions(&app, id).await, (0, 0));
    assert!(test_sends(&app).is_empty());
}

#[tokio::test]
async fn messages_freeze_with_the_instruments_when_collection_starts() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    save_invitation(&app, id, "Before the freeze: {study}", BODY).await;
    assert_eq!(
        move_status(&app, id, "collection").await.status(),
        StatusCode::SEE_OTHER
    );
    let page = save_invitation(&app, id, "After the freeze", BODY).await;
    assert!(
        flash_text(&page).contains("Frozen"),
        "{}",
        flash_text(&page)
    );
    assert!(flash_text(&page).contains("not changed"));
    let page = save_sender(&app, id, "Late sender", "late@example.org").await;
    assert!(
        flash_text(&page).contains("Frozen"),
        "{}",
        flash_text(&page)
    );
    assert_eq!(message_versions(&app, id).await, (1, 0));
    let (_, page) = app.get_text(&format!("/studies/{id}/messages")).await;
    assert!(page.contains("Frozen"));
    assert!(!page.contains("Save as a new version"));
    // Mail sent now uses the frozen version.
    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    let sent = drain_to_memory(&app).await;
    assert!(!sent.is_empty());
    assert!(sent.iter().all(|m| m.subject == "Before the freeze: Wave"));
}

#[tokio::test]
async fn the_preview_shows_the_sender_the_subject_and_both_parts_with_a_fake_link() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    save_sender(
        &app,
        id,
        "Example copilot study",
        "copilot-study@example.org",
    )
    .await;
    let (status, page) = app
        .get_text(&format!("/studies/{id}/messages/nudge_checkins/preview"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Example copilot study &#60;copilot-study@example.org&#62;"),
        "{page}"
    );
    assert!(page.contains("Reminder: Wave"));
    // The text part (escaped in a <pre>) and the HTML part (its paragraphs rendered, and its source).
    assert!(
        page.contains("3 of your check-ins went unanswered, and 9 are still to come"),
        "{page}"
    );
    assert!(page.contains("<pre class=\"mail-text\">"));
    assert!(
        page.contains(
            "<a href=\"https://preview.invalid/this-is-a-preview-the-link-does-nothing\">"
        ),
        "{page}"
    );
    assert!(
        page.contains("&#60;!doctype html&#62;"),
        "the HTML source is shown too"
    );
    assert!(!page.contains("/p/"), "no participant link in a preview");
    assert_eq!(
        app.get(&format!("/studies/{id}/messages/nonsense/preview"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_test_send_arrives_at_the_admins_own_address_with_a_link_that_does_nothing() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    save_invitation(&app, id, "Please help: {study}", BODY).await;
    let links_before = app
        .value::<i64>("SELECT COUNT(*) FROM link_tokens", None)
        .await;
    let page = app
        .follow(
            app.post(&format!("/studies/{id}/messages/invitation/test"), &[])
                .await,
        )
        .await;
    assert!(
        flash_text(&page).contains(&format!("was sent to {ADMIN}")),
        "{}",
        flash_text(&page)
    );
    let sends = test_sends(&app);
    assert_eq!(sends.len(), 1);
    let eml = &sends[0];
    assert!(eml.contains(&format!("To: {ADMIN}")), "{eml}");
    assert!(eml.contains("Subject: [Test] Please help: Wave"), "{eml}");
    assert!(
        eml.contains("https://preview.invalid/this-is-a-preview-the-link-does-nothing"),
        "{eml}"
    );
    assert!(!eml.contains("/p/"), "no working participant link: {eml}");
    assert_eq!(
        app.value::<i64>("SELECT COUNT(*) FROM link_tokens", None)
            .await,
        links_before,
        "no token minted"
    );
    let audit = audit_details(&app, "messages.test_send").await;
    assert_eq!(audit.len(), 1);
    assert!(
        !audit[0].contains(ADMIN),
        "the audit names no address: {audit:?}"
    );
}

#[tokio::test]
async fn the_default_texts_and_the_consent_page_carry_the_studys_real_numbers() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    app.post_ok(
        &format!("/studies/{id}/collection/settings"),
        &[
            ("pings_per_day", "2"),
            ("window_start", "10:00"),
            ("window_end", "16:00"),
            ("min_gap_minutes", "60"),
            ("ping_days", "5"),
            ("expiry_minutes", "45"),
            ("diary_target", "7"),
            ("diary_days", "10"),
            ("reminder_days", "3"),
        ],
    )
    .await;
    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    let sent = drain_to_memory(&app).await;
    let text = &sent[0].text;
    assert!(
        text.contains("Over 10 days, log 7 tasks")
            && text.contains("for 5 days, answer short check-ins")
            && text.contains("2 a working day between 10:00 and 16:00, each open for 45 minutes"),
        "{text}"
    );
    assert!(!text.contains("5 to 10") && !text.contains('{'), "{text}");
    // The organisation is the privacy notice's controller until the sender names one.
    assert!(text.contains("Example Ltd is measuring"), "{text}");
    let (_, consent) = app.stranger().get_text(&link_path(text)).await;
    assert!(consent.contains("(7 over 10 days)"), "{consent}");
    assert!(consent.contains("2 a working day for 5 days"), "{consent}");
    assert!(!consent.contains("5 to 10") && !consent.contains("{diary_target}"));
}

/// The text of the newest mail sent to `participant` among `sent`.
async fn mail_to_person(
    app: &TestApp,
    sent: &[layer2::mail::transport::SentEmail],
    participant: i64,
) -> String {
    let email = email_of(app, participant).await;
    sent.iter()
        .rev()
        .find(|m| m.to == email)
        .map(|m| m.text.clone())
        .unwrap_or_else(|| panic!("no mail to participant {participant}"))
}

#[tokio::test]
async fn a_nudge_says_what_fits_the_person_when_it_is_sent() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    let invitations = drain_to_memory(&app).await;
    let people: Vec<i64> = app
        .rows::<(i64,)>(
            "SELECT id FROM participants WHERE study_id = ? ORDER BY id",
            Some(id),
        )
        .await
        .into_iter()
        .map(|(p,)| p)
        .collect();
    let (waiting, keen) = (people[0], people[1]);
    let person = app.stranger();
    let link = link_path(&mail_to_person(&app, &invitations, keen).await);
    consent(&person, &link, true).await;
    for p in [waiting, keen] {
        app.post_ok(&format!("/studies/{id}/participants/{p}/nudge"), &[])
            .await;
    }
    let nudges = drain_to_memory(&app).await;
    let to_waiting = mail_to_person(&app, &nudges, waiting).await;
    assert!(
        to_waiting.contains("you have not said yet whether you take part"),
        "{to_waiting}"
    );
    let to_keen = mail_to_person(&app, &nudges, keen).await;
    assert!(
        to_keen.contains("you have logged 0 of the 5 tasks"),
        "{to_keen}"
    );

    // The diary is done: the next nudge asks about the check-ins instead (decided when it is sent).
    for _ in 0..5 {
        log_task(
            &person,
            &link,
            &[
                ("category", "Code"),
                ("outcome", "most"),
                ("minutes_with_ai", "20"),
                ("minutes_without_ai", "45"),
            ],
        )
        .await;
    }
    // A day later (a nudge may be refused within 24 hours of the last); sessions last 12 hours at most.
    app.clock.advance(chrono::Duration::hours(25));
    app.login(ADMIN, PASSWORD).await;
    app.post_ok(&format!("/studies/{id}/participants/{keen}/nudge"), &[])
        .await;
    let nudges = drain_to_memory(&app).await;
    let to_keen = mail_to_person(&app, &nudges, keen).await;
    assert!(
        to_keen.contains("of your check-ins went unanswered"),
        "{to_keen}"
    );
}

#[tokio::test]
async fn the_preview_as_a_participant_shows_the_current_wording_and_stores_nothing() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let before = participant_footprint(&app).await;
    for (page, shows) in [
        ("consent", "Will you take part?"),
        ("consent?control", "comparison group"),
        ("diary", "Log an AI-assisted task"),
        ("ping", "30-second check-in"),
    ] {
        let (status, html) = app.get_text(&format!("/studies/{id}/preview/{page}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(
            html.contains("Preview: nothing you do here is stored."),
            "{page}"
        );
        assert!(html.contains(shows), "{page}: {html}");
        assert!(
            html.contains("<fieldset class=\"preview-frame\" disabled>"),
            "{page}"
        );
    }
    let (_, consent) = app
        .get_text(&format!("/studies/{id}/preview/consent"))
        .await;
    assert!(
        consent.contains("(5 over 14 days)"),
        "the current wording, filled: {consent}"
    );
    // Even a forged POST to where the preview's forms point stores nothing.
    let r = app
        .post(
            &format!("/studies/{id}/preview/nothing/consent"),
            &[("decision", "accept")],
        )
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(participant_footprint(&app).await, before);
    // Only staff may look.
    let (status, _) = app
        .stranger()
        .get_text(&format!("/studies/{id}/preview/consent"))
        .await;
    assert_ne!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_consent_text_may_use_the_settings_numbers_but_no_unknown_placeholder() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let categories = "Code\nWriting";
    let page = app
        .follow(
            app.post(
                &format!("/studies/{id}/instrument"),
                &[
                    ("consent_text", "Dear {first_name}, we ask you to log a few tasks over the coming days, please."),
                    ("categories", categories),
                ],
            )
            .await,
        )
        .await;
    assert!(
        flash_text(&page).contains("Unknown placeholder {first_name}"),
        "{}",
        flash_text(&page)
    );
    assert!(page.contains("Wording (version 1)"));
    let page = app
        .post_ok(
            &format!("/studies/{id}/instrument"),
            &[
                ("consent_text", "We ask you to log {diary_target} tasks over {diary_days} days; that is all, thank you."),
                ("categories", categories),
            ],
        )
        .await;
    assert!(page.contains("Wording (version 2)"));
    let (_, consent) = app
        .get_text(&format!("/studies/{id}/preview/consent"))
        .await;
    assert!(
        consent.contains("We ask you to log 5 tasks over 14 days;"),
        "{consent}"
    );
}

#[tokio::test]
async fn previewing_a_new_study_as_a_participant_writes_no_wording_and_no_settings() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Fresh").await;
    let rows = |table: &'static str| {
        let app = &app;
        async move {
            app.count(
                match table {
                    "instrument_versions" => {
                        "SELECT COUNT(*) FROM instrument_versions WHERE study_id = ?"
                    }
                    _ => "SELECT COUNT(*) FROM collection_settings WHERE study_id = ?",
                },
                id,
            )
            .await
        }
    };
    let before = (
        rows("instrument_versions").await,
        rows("collection_settings").await,
    );
    assert_eq!(before.0, 0, "a new study has no wording stored yet");
    for page in ["consent", "diary", "ping"] {
        let (status, html) = app.get_text(&format!("/studies/{id}/preview/{page}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(html.contains("Preview: nothing you do here is stored."));
    }
    let (_, html) = app.get_text(&format!("/studies/{id}/preview/diary")).await;
    assert!(
        html.contains("Summarising documents"),
        "the default categories: {html}"
    );
    assert_eq!(
        (
            rows("instrument_versions").await,
            rows("collection_settings").await
        ),
        before,
        "a preview stores nothing"
    );
}
