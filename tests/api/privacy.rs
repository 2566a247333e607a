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

/// The phase form's fields for five (start, end) pairs.
async fn post_phases(
    app: &crate::helpers::TestApp,
    id: i64,
    fields: Vec<(String, String)>,
) -> String {
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.follow(app.post(&format!("/studies/{id}/phases"), &refs).await)
        .await
}

#[tokio::test]
async fn a_year_typed_wrong_in_the_timeline_cannot_purge_a_study() {
    use crate::helpers::*;
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    // A study in draft with its roster: its retention date still follows the readout.
    let draft = app.create_study("Draft").await;
    app.upload_ok(
        &format!("/studies/{draft}/roster"),
        "r.csv",
        roster_csv(30).into_bytes(),
        &[],
    )
    .await;
    let rows_before: i64 = app
        .count("SELECT COUNT(*) FROM employees WHERE study_id = ?", draft)
        .await;
    // Every date two years too early: the default retention date would fall in the past.
    let html = post_phases(
        &app,
        draft,
        phase_fields([
            ("2024-12-21", "2024-12-27"),
            ("2024-12-28", "2025-01-03"),
            ("2025-01-04", "2025-01-31"),
            ("2025-02-01", "2025-02-14"),
            ("2025-02-15", "2025-02-28"),
        ]),
    )
    .await;
    assert!(
        flash_text(&html).contains("has passed"),
        "{}",
        flash_text(&html)
    );
    layer2::tick::run_due(&app.state, app.clock_now())
        .await
        .unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM employees WHERE study_id = ?", draft)
            .await,
        rows_before,
        "nothing purged"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM study_purges WHERE study_id = ?",
            draft
        )
        .await,
        0
    );

    // The pilot fixed the retention date people are told: a later readout cannot move past it.
    let until: chrono::NaiveDate = app
        .value(
            "SELECT retention_until FROM privacy_notices WHERE study_id = ?",
            Some(id),
        )
        .await;
    let (_, page) = app.get_text(&format!("/studies/{id}/privacy")).await;
    assert!(page.contains(&until.to_string()));
    let late_readout_end = until.succ_opt().unwrap().to_string();
    let mut fields = phase_fields([
        ("2026-12-21", "2027-01-03"),
        ("2027-01-04", "2027-01-17"),
        ("2027-01-18", "2027-02-28"),
        ("2027-03-01", "2027-03-14"),
        ("2027-03-15", "2027-03-28"),
    ]);
    fields[9].1 = late_readout_end;
    let html = post_phases(&app, id, fields).await;
    assert!(
        flash_text(&html).contains(&format!("kept until {until}")),
        "{}",
        flash_text(&html)
    );
}

#[tokio::test]
async fn after_a_consent_the_purpose_stays_and_the_retention_date_only_moves_earlier() {
    use crate::helpers::*;
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    let (_, _, body) = outbox_of_kind(&app, "invitation").await.remove(0);
    let person = app.stranger();
    consent(&person, &link_path(&body), true).await;
    let until: chrono::NaiveDate = app
        .value(
            "SELECT retention_until FROM privacy_notices WHERE study_id = ?",
            Some(id),
        )
        .await;
    let notice = |purpose: &'static str, until: String| {
        vec![
            ("controller", "Example Ltd".to_string()),
            ("contact_name", "Dana Privacy".to_string()),
            ("contact_email", "dpo@example.org".to_string()),
            ("purpose", purpose.to_string()),
            ("retention_until", until),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post(&format!("/studies/{id}/privacy"), &refs).await
        }
    };
    // A new purpose: refused, nothing saved.
    let r = post(notice("Also for performance reviews.", String::new())).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("consented to the purpose as written")
    );
    // A later retention date: refused.
    let later = (until + chrono::Duration::days(400)).to_string();
    let r = post(notice("To measure how much time the copilot saves.", later)).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains(&format!("kept until {until}"))
    );
    // Today or earlier: that is the early purge's job.
    let r = post(notice(
        "To measure how much time the copilot saves.",
        app.clock_now().date_naive().to_string(),
    ))
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.value::<chrono::NaiveDate>(
            "SELECT retention_until FROM privacy_notices WHERE study_id = ?",
            Some(id)
        )
        .await,
        until,
        "unchanged"
    );
    // A new contact, same purpose, an earlier date (still after the readout): saved.
    let earlier = (until - chrono::Duration::days(30)).to_string();
    let page = app
        .follow(
            post(notice(
                "To measure how much time the copilot saves.",
                earlier.clone(),
            ))
            .await,
        )
        .await;
    assert!(
        page.contains("Privacy notice saved."),
        "{}",
        flash_text(&page)
    );
    assert!(page.contains(&earlier));
}

#[tokio::test]
async fn nobody_consents_once_collection_is_over_and_old_invitations_follow_the_timeline() {
    use crate::helpers::*;
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    let (participant, _, body) = outbox_of_kind(&app, "invitation").await.remove(0);
    let link = link_path(&body);
    let expiry = || async {
        app.value::<chrono::DateTime<chrono::Utc>>(
            "SELECT MAX(expires_at) FROM link_tokens WHERE participant = ?",
            Some(participant),
        )
        .await
    };
    let before = expiry().await;
    // Collection ends a week earlier: the unconsented invitation expires a week earlier too.
    let html = post_phases(
        &app,
        id,
        phase_fields([
            ("2026-12-21", "2027-01-03"),
            ("2027-01-04", "2027-01-17"),
            ("2027-01-18", "2027-02-21"),
            ("2027-02-22", "2027-03-07"),
            ("2027-03-08", "2027-03-21"),
        ]),
    )
    .await;
    assert!(html.contains("Timeline saved."), "{}", flash_text(&html));
    assert_eq!(before - expiry().await, chrono::Duration::days(7));

    // The study moves on to analysis: the invitation's consent is refused, nothing is laid out.
    for to in ["collection", "analysis"] {
        app.post_ok(
            &format!("/studies/{id}/status"),
            &[("to", to), ("confirm", "yes"), ("warnings_read", "yes")],
        )
        .await;
    }
    let person = app.stranger();
    let r = person
        .post_form(&format!("{link}/consent"), &[("decision", "accept")])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("finished collecting answers")
    );
    assert_eq!(consent_of(&app, participant).await, None);
    assert!(pings_of(&app, participant).await.is_empty());
}

#[tokio::test]
async fn a_purged_studys_timeline_details_and_notice_no_longer_change() {
    use crate::helpers::*;
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    app.post_ok(
        &format!("/studies/{id}/privacy/purge"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    let audit = app.audit_actions().await.len();
    let html = post_phases(
        &app,
        id,
        phase_fields([
            ("2026-12-21", "2027-01-03"),
            ("2027-01-04", "2027-01-17"),
            ("2027-01-18", "2027-02-21"),
            ("2027-02-22", "2027-03-07"),
            ("2027-03-08", "2027-03-21"),
        ]),
    )
    .await;
    assert!(
        flash_text(&html).contains("was purged on"),
        "{}",
        flash_text(&html)
    );
    let r = app
        .post(
            &format!("/studies/{id}/privacy"),
            &[
                ("controller", "Example Ltd"),
                ("contact_name", "Data Protection Office"),
                ("contact_email", "privacy@example.org"),
                ("purpose", "To measure how much time the copilot saves."),
                ("retention_until", "2099-01-01"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        r.text().await.unwrap().contains("was purged on"),
        "the notice is refused"
    );
    assert_eq!(app.audit_actions().await.len(), audit, "nothing happened");
}
