//! Messages in a real Chromium: an admin edits the invitation, previews it, sends themselves a test (the
//! file transport's `.eml`), and looks at the participant pages in preview, at 1280 and at 360 px.
use crate::browser::*;
use crate::helpers::*;
use fantoccini::{Client, Locator};

async fn sign_in(c: &Client, app: &TestApp) {
    c.goto(&app.url("/login")).await.unwrap();
    fill(c, "email", ADMIN).await;
    fill(c, "password", PASSWORD).await;
    click(c, "main button[type=submit]").await;
}

/// Whether every button inside the preview frame is switched off.
async fn buttons_disabled(c: &Client) -> bool {
    let v = c
        .execute(
            "const b = [...document.querySelectorAll('.preview-frame button, .preview-frame input')];
             return b.length > 0 && b.every(x => x.matches(':disabled'));",
            vec![],
        )
        .await
        .unwrap();
    v.as_bool().unwrap()
}

#[tokio::test]
async fn an_admin_edits_previews_and_test_sends_the_invitation_and_previews_the_participant_pages()
{
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let footprint = participant_footprint(&app).await;
    let c = browser(&driver).await;
    sign_in(&c, &app).await;

    // The Messages tab, from the study's tabs.
    c.goto(&app.url(&format!("/studies/{id}"))).await.unwrap();
    click(&c, ".tabs a[href$='/messages']").await;
    assert!(text(&c).await.contains("Invitation (default text)"));
    shot(&c, "messages-1280").await;
    assert_no_horizontal_scroll(&c, "messages at 1280").await;

    fill(&c, "subject-invitation", "Ten minutes for {study}?").await;
    fill(
        &c,
        "body-invitation",
        "Hello from {organisation},\n\nplease log {diary_target} tasks.\n\nYour link: {link}",
    )
    .await;
    click(
        &c,
        "#invitation form[action$='/messages/invitation'] button",
    )
    .await;
    let page = text(&c).await;
    assert!(page.contains("Invitation saved as version 1."), "{page}");

    // The preview: sender, subject, both parts, a fake link.
    click(&c, "#invitation a[href$='/preview']").await;
    let page = text(&c).await;
    assert!(
        page.contains("Ten minutes for Wave?")
            && page.contains("Hello from Example Ltd,")
            && page.contains("please log 5 tasks.")
            && page.contains("Text part")
            && page.contains("HTML part")
            && page.contains("study@localhost"),
        "{page}"
    );
    let href = c
        .find(Locator::Css(".mail-html a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(href.starts_with("https://preview.invalid/"), "{href}");
    shot(&c, "messages-preview-1280").await;
    assert_no_horizontal_scroll(&c, "message preview at 1280").await;

    // A test send lands in the mail folder, addressed to the admin, with the fake link.
    click(&c, "a[href$='/messages#invitation']").await;
    click(&c, "#invitation form[action$='/test'] button").await;
    let page = text(&c).await;
    assert!(page.contains(&format!("was sent to {ADMIN}")), "{page}");
    let sends = test_sends(&app);
    assert_eq!(sends.len(), 1);
    assert!(
        sends[0].contains(&format!("To: {ADMIN}"))
            && sends[0].contains("Subject: [Test] Ten minutes for Wave?")
            && sends[0].contains("https://preview.invalid/")
            && !sends[0].contains("/p/"),
        "{}",
        sends[0]
    );

    // Preview as a participant, from the instruments page: nothing can be sent, nothing is stored.
    click(&c, ".tabs a[href$='/instrument']").await;
    click(&c, ".preview-links a[href$='/preview/consent']").await;
    let page = c
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Preview: nothing you do here is stored.")
            && page.contains("Will you take part?"),
        "{page}"
    );
    assert!(
        buttons_disabled(&c).await,
        "the consent buttons are switched off"
    );
    shot(&c, "preview-consent-1280").await;
    assert_no_horizontal_scroll(&c, "consent preview at 1280").await;
    for page in ["diary", "ping"] {
        c.goto(&app.url(&format!("/studies/{id}/preview/{page}")))
            .await
            .unwrap();
        assert!(buttons_disabled(&c).await, "{page}: switched off");
        assert_no_horizontal_scroll(&c, page).await;
        shot(&c, &format!("preview-{page}-1280")).await;
    }
    c.close().await.unwrap();

    // The same pages on a phone.
    let p = phone(&driver).await;
    sign_in(&p, &app).await;
    for (path, name) in [
        (format!("/studies/{id}/messages"), "messages-360"),
        (
            format!("/studies/{id}/messages/invitation/preview"),
            "messages-preview-360",
        ),
        (
            format!("/studies/{id}/preview/consent"),
            "preview-consent-360",
        ),
        (format!("/studies/{id}/preview/diary"), "preview-diary-360"),
        (format!("/studies/{id}/preview/ping"), "preview-ping-360"),
    ] {
        p.goto(&app.url(&path)).await.unwrap();
        assert_no_horizontal_scroll(&p, &path).await;
        shot(&p, name).await;
    }
    p.close().await.unwrap();
    assert_eq!(participant_footprint(&app).await, footprint);
}
