//! Released results (issue 11, second hostile review): analysts read figures frozen at a release, so
//! saving them before and after one person's diary task or erasure shows nothing; a new release needs at
//! least k participants with new activity; the final release comes when collection ends.
use crate::helpers::*;
use crate::reidentify::{demo, download};
use layer2::demo::{ADMIN_EMAIL, ADMIN_PASSWORD, VIEWER_EMAIL, VIEWER_PASSWORD};
use reqwest::StatusCode;

/// Every table cell of a page: the figures a reader would copy.
fn cells(html: &str) -> Vec<String> {
    html.split("<td")
        .skip(1)
        .filter_map(|c| c.split_once('>').map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once("</td>").map(|(cell, _)| cell.to_string()))
        .collect()
}

/// What a reader can save of a study: the summary, and the figures of the analysis page, the report and
/// the collection page.
async fn saved(reader: &TestApp, study: i64) -> (String, Vec<String>, Vec<String>, Vec<String>) {
    let (status, summary) = download(reader, study, "summary.csv").await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let (status, analysis) = reader.get_text(&format!("/studies/{study}/analysis")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, report) = reader.get_text(&format!("/studies/{study}/report")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, collection) = reader
        .get_text(&format!("/studies/{study}/collection"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(collection.contains("Compliance of the main sample"));
    (
        summary,
        cells(&analysis),
        cells(&report),
        cells(&collection),
    )
}

/// A diary task written now by a consented participant of the study who has none yet this far (as the
/// participant's page would store it), returning the participant.
async fn one_more_task(app: &TestApp, study: i64, nth: i64) -> i64 {
    let participant: i64 = sqlx::query_scalar(
        "SELECT p.id FROM participants p WHERE p.study_id = ? AND p.consent = 'accepted'
           AND p.role = 'main' AND p.arm = 'copilot' AND p.withdrawn_at IS NULL
         ORDER BY p.id LIMIT 1 OFFSET ?",
    )
    .bind(study)
    .bind(nth)
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    let now = app.clock_now();
    sqlx::query(
        "INSERT INTO diary_entries (participant, category, description, outcome, minutes_with_ai,
             minutes_without_ai, instrument_version, created_at, updated_at)
         VALUES (?, 'Writing and editing', '', 'none', 50, 30, 1, ?, ?)",
    )
    .bind(participant)
    .bind(now)
    .bind(now)
    .execute(&app.state.pool)
    .await
    .unwrap();
    participant
}

async fn erase(admin: &TestApp, study: i64, participant: i64) {
    let r = admin
        .post(
            &format!("/studies/{study}/participants/{participant}/erase"),
            &[("confirm", "erase")],
        )
        .await;
    assert!(admin.follow(r).await.contains("Participant erased"));
}

async fn release(admin: &TestApp, study: i64) -> String {
    let r = admin.post(&format!("/studies/{study}/releases"), &[]).await;
    admin.follow(r).await
}

#[tokio::test]
async fn one_persons_task_or_erasure_moves_no_figure_an_analyst_can_see() {
    let (app, info) = demo().await;
    let study = info.analysis_study_id;
    let admin = app.stranger();
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let viewer = app.stranger();
    viewer.login(VIEWER_EMAIL, VIEWER_PASSWORD).await;
    let before = saved(&viewer, study).await;
    assert!(before.0.contains("cohort,"), "{}", before.0);
    let (_, analysis) = viewer.get_text(&format!("/studies/{study}/analysis")).await;
    assert!(
        analysis.contains("final results released on"),
        "the page says which release it shows"
    );
    let (_, admin_summary_before) = download(&admin, study, "summary.csv").await;
    // With no participant's data changed since, an admin may release again (new assumptions, say).
    app.clock.advance(chrono::Duration::minutes(5));
    let releases = || {
        app.count(
            "SELECT COUNT(*) FROM study_releases WHERE study_id = ?",
            study,
        )
    };
    assert_eq!(releases().await, 1);
    let page = release(&admin, study).await;
    assert!(page.contains("Results released"), "{}", flash_text(&page));
    assert_eq!(releases().await, 2);
    assert_eq!(saved(&viewer, study).await.0, before.0, "the same figures");
    let (_, report) = viewer.get_text(&format!("/studies/{study}/report")).await;
    assert!(report.contains("final results, updated on"), "{report}");
    let detail = audit_details(&app, "results released").await;
    assert!(
        detail.iter().any(|d| d.starts_with("update release")),
        "{detail:?}"
    );
    app.clock.advance(chrono::Duration::minutes(5));

    // One person logs a task that was no use (a late entry); another is erased at their request.
    let writer = one_more_task(&app, study, 0).await;
    let erased: i64 = sqlx::query_scalar(
        "SELECT id FROM participants WHERE study_id = ? AND consent = 'accepted' AND role = 'main'
           AND arm = 'copilot' AND id <> ? ORDER BY id DESC LIMIT 1",
    )
    .bind(study)
    .bind(writer)
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    erase(&admin, study, erased).await;

    // Live figures move (this is the attack the release stops: the test can fail).
    let (_, admin_summary_after) = download(&admin, study, "summary.csv").await;
    assert_ne!(admin_summary_before, admin_summary_after);
    // The analyst's do not.
    assert_eq!(saved(&viewer, study).await, before);

    // Releasing again would hand over exactly those two people's difference: refused, nothing stored,
    // however many other people change afterwards.
    for nth in 1..8 {
        one_more_task(&app, study, nth).await;
    }
    let page = release(&admin, study).await;
    assert!(
        page.contains("data changed since the final results, updated on")
            && page.contains(
                "8 wrote or edited a task; 1 gave, declined or withdrew consent, or were erased"
            ),
        "{}",
        flash_text(&page)
    );
    assert_eq!(releases().await, 2);
    assert_eq!(saved(&viewer, study).await, before);
    // The admin's page says so instead of offering the button.
    let (_, report) = admin.get_text(&format!("/studies/{study}/report")).await;
    assert!(report.contains("id=\"release-blocked\""), "{report}");
}

#[tokio::test]
async fn before_collection_ends_analysts_see_no_figure_and_the_end_of_collection_releases() {
    let (app, info) = demo().await;
    let viewer = app.stranger();
    viewer.login(VIEWER_EMAIL, VIEWER_PASSWORD).await;
    let analyst = app.stranger();
    analyst
        .login(layer2::demo::ANALYST_EMAIL, layer2::demo::ANALYST_PASSWORD)
        .await;
    // Neither the study in setup nor the one collecting has anything released.
    for study in [info.study_id, info.collection_study_id] {
        for page in ["report", "analysis", "readout", "baseline", "collection"] {
            let (status, html) = viewer.get_text(&format!("/studies/{study}/{page}")).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert!(html.contains("No results released yet"), "{page}: {html}");
        }
        for (reader, file) in [
            (&viewer, "summary.csv"),
            (&analyst, "participants.csv"),
            (&analyst, "export.json"),
        ] {
            let (status, body) = download(reader, study, file).await;
            assert_eq!(status, StatusCode::CONFLICT, "{file}");
            assert!(
                body.contains("No results of this study have been released yet"),
                "{body}"
            );
        }
    }
    let (status, html) = viewer
        .get_text(&format!(
            "/waves?ids={}&ids={}",
            info.collection_study_id, info.analysis_study_id
        ))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("released"), "{html}");
    // The overview names no consent figure outside the admins.
    let (_, overview) = viewer
        .get_text(&format!("/studies/{}", info.collection_study_id))
        .await;
    assert!(
        overview.contains("invited.") && !overview.contains("declined"),
        "{overview}"
    );
    // An admin can't release before collection ends: the page says why and offers no button.
    let admin = app.stranger();
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let study = info.collection_study_id;
    let (_, report) = admin.get_text(&format!("/studies/{study}/report")).await;
    assert!(
        report.contains("released once, when collection ends"),
        "{report}"
    );
    let page = release(&admin, study).await;
    assert!(page.contains("released once, when collection ends"));
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM study_releases WHERE study_id = ?",
            study
        )
        .await,
        0
    );
    // The wave whose collection ended was released by the platform itself, and audited.
    let rows: Vec<(String, String)> = app
        .rows(
            "SELECT kind, actor FROM study_releases WHERE study_id = ?",
            Some(info.analysis_study_id),
        )
        .await;
    assert_eq!(rows, vec![("final".to_string(), "system".to_string())]);
    let (_, report) = viewer
        .get_text(&format!("/studies/{}/report", info.analysis_study_id))
        .await;
    assert!(report.contains("final results released on"), "{report}");
    // Admins read live figures, with the release list.
    let (_, report) = admin
        .get_text(&format!("/studies/{}/report", info.analysis_study_id))
        .await;
    assert!(report.contains("Released results") && !report.contains("final results released on"));
    // When the collecting wave reaches analysis, its final release is made at once.
    let r = move_status(&admin, study, "analysis").await;
    admin.follow(r).await;
    assert_eq!(
        app.study_status(study).await,
        layer2::study::Status::Analysis
    );
    let (_, report) = viewer.get_text(&format!("/studies/{study}/report")).await;
    assert!(report.contains("final results released on"), "{report}");
}

#[tokio::test]
async fn mail_that_fails_shows_to_the_admin_and_never_on_a_readers_collection_page() {
    let (app, info) = demo().await;
    let study = info.analysis_study_id;
    let viewer = app.stranger();
    viewer.login(VIEWER_EMAIL, VIEWER_PASSWORD).await;
    let admin = app.stranger();
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let before = collection_page(&viewer, study).await;
    // One person's invitation bounces: a live, per-person fact.
    let failed = sqlx::query(
        "UPDATE outbox SET status = 'failed', attempts = 5, last_error = 'mailbox unavailable'
          WHERE id = (SELECT MIN(id) FROM outbox WHERE study_id = ?)",
    )
    .bind(study)
    .execute(&app.state.pool)
    .await
    .unwrap();
    assert_eq!(failed.rows_affected(), 1);
    let html = collection_page(&admin, study).await;
    assert!(
        html.contains("id=\"mail\"") && html.contains("mailbox unavailable"),
        "the admin sees the failing message"
    );
    // The reader's page is the release's, unchanged: no mail section and no count of failures.
    let after = collection_page(&viewer, study).await;
    assert_eq!(cells(&after), cells(&before));
    assert!(
        !after.contains("id=\"mail\"") && !after.contains("failed"),
        "{after}"
    );
}

async fn collection_page(who: &TestApp, study: i64) -> String {
    let (status, html) = who.get_text(&format!("/studies/{study}/collection")).await;
    assert_eq!(status, StatusCode::OK);
    html
}
