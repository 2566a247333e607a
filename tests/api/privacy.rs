//! The study's privacy notice: admins write it, analysts read it, bad input changes nothing.
use crate::helpers::{ANALYST, PASSWORD, spawn_app};
use layer2::auth::Role;
use reqwest::StatusCode;

const GOOD: [(&str, &str); 4] = [
    ("controller", "Example Ltd"),
    ("contact_name", "Data Protection Office"),
    ("contact_email", "DPO@example.org"),
    (
        "purpose",
        "To measure how much time the copilot saves, per group of users.",
    ),
];

#[tokio::test]
async fn an_admin_writes_the_notice_and_sees_when_raw_data_will_be_purged() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    let path = format!("/studies/{id}/privacy");
    let (status, html) = app.get_text(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("aria-current=\"page\">Privacy</a>"),
        "the tab is shown"
    );

    let page = app.post_ok(&path, &GOOD).await;
    assert!(page.contains("Privacy notice saved."));
    assert!(
        page.contains("value=\"dpo@example.org\""),
        "the address is lower-cased"
    );
    // The default timeline's readout ends on day 90 (2027-04-03): twelve months later.
    assert!(
        page.contains("kept until <strong>2028-04-03</strong>"),
        "{page}"
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"study.privacy".to_string())
    );

    let mut chosen = GOOD.to_vec();
    chosen.push(("retention_until", "2027-12-31"));
    let page = app.post_ok(&path, &chosen).await;
    assert!(
        page.contains("kept until <strong>2027-12-31</strong>"),
        "{page}"
    );
}

#[tokio::test]
async fn a_bad_notice_is_shown_again_with_its_problems_and_nothing_is_saved() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    let path = format!("/studies/{id}/privacy");
    let before = app.audit_actions().await.len();
    let r = app
        .post(
            &path,
            &[
                ("controller", "Example <b>Ltd</b>"),
                ("contact_name", ""),
                ("contact_email", "nobody"),
                ("purpose", "Measure"),
                ("retention_until", "2027-02-01"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("nothing was saved"));
    assert!(html.contains("Contact is required."));
    assert!(html.contains("Contact email: enter a valid email address."));
    assert!(html.contains("must be after the readout ends (2027-04-03)"));
    assert!(
        html.contains("Example &#60;b&#62;Ltd&#60;/b&#62;") || html.contains("Example &lt;b&gt;"),
        "what was typed comes back, escaped"
    );
    assert_eq!(app.audit_actions().await.len(), before, "nothing recorded");
    let (_, page) = app.get_text(&path).await;
    assert!(!page.contains("value=\"Example"), "nothing saved");
}

#[tokio::test]
async fn an_analyst_reads_the_notice_but_cannot_change_it() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    let path = format!("/studies/{id}/privacy");
    app.post_ok(&path, &GOOD).await;
    let analyst = app.stranger();
    analyst.add_user(ANALYST, Role::Analyst).await;
    analyst.grant(ANALYST, id, "data_analyst").await;
    assert_eq!(
        analyst.login(ANALYST, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, html) = analyst.get_text(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Example Ltd") && html.contains(" readonly"));
    assert!(!html.contains("Save the notice"));
    let r = analyst
        .post(&path, &[("controller", "Hijack"), ("contact_name", "x")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!app.get_text(&path).await.1.contains("Hijack"));
    let (status, _) = analyst.get_text("/studies/999/privacy").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
