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
    let study = info.collection_study_id;
    let admin = app.stranger();
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let viewer = app.stranger();
    viewer.login(VIEWER_EMAIL, VIEWER_PASSWORD).await;
    let before = saved(&viewer, study).await;
    assert!(before.0.contains("cohort,"), "{}", before.0);
    let (_, analysis) = viewer.get_text(&format!("/studies/{study}/analysis")).await;
    assert!(
        analysis.contains("interim results released on"),
        "the page says which release it shows"
    );
    let (_, admin_summary_before) = download(&admin, study, "summary.csv").await;
    app.clock.advance(chrono::Duration::minutes(5));

    // One person logs a task that was no use; another is erased at their request.
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

    // Releasing now would hand over exactly those two people's difference: refused, nothing stored.
    let releases = || {
        app.count(
            "SELECT COUNT(*) FROM study_releases WHERE study_id = ?",
            study,
        )
    };
    let n = releases().await;
    let page = release(&admin, study).await;
    assert!(
        page.contains("too few participants changed: 1 wrote or edited a task; 1 gave, declined or withdrew consent, or were erased"),
        "{}",
        flash_text(&page)
    );
    assert_eq!(releases().await, n);
    assert_eq!(saved(&viewer, study).await, before);

    // Four more writers are not enough while the erasure stands alone among its kind.
    for nth in 1..5 {
        one_more_task(&app, study, nth).await;
    }
    let page = release(&admin, study).await;
    assert!(
        page.contains("1 gave, declined or withdrew consent, or were erased")
            && !page.contains("wrote"),
        "{}",
        flash_text(&page)
    );
    assert_eq!(releases().await, n);
    // Once every kind of change comes from at least k people, the admin releases and the analyst reads
    // the new figures.
    let more: Vec<(i64,)> = app
        .rows(
            "SELECT id FROM participants WHERE study_id = ? AND consent = 'declined' ORDER BY id LIMIT 4",
            Some(study),
        )
        .await;
    assert_eq!(more.len(), 4);
    for (p,) in more {
        erase(&admin, study, p).await;
    }
    let page = release(&admin, study).await;
    assert!(page.contains("Results released"), "{}", flash_text(&page));
    assert_eq!(releases().await, n + 1);
    let after = saved(&viewer, study).await;
    assert_ne!(after.0, before.0, "the summary is the new release's");
    let detail = audit_details(&app, "results released").await;
    assert!(
        detail.iter().any(|d| d.starts_with("interim release")),
        "{detail:?}"
    );
}

#[tokio::test]
async fn before_its_first_release_a_study_shows_analysts_no_figure_and_collection_ends_with_one() {
    let (app, info) = demo().await;
    let viewer = app.stranger();
    viewer.login(VIEWER_EMAIL, VIEWER_PASSWORD).await;
    // The study in setup has nothing released.
    let setup = info.study_id;
    for page in ["report", "analysis", "readout"] {
        let (status, html) = viewer.get_text(&format!("/studies/{setup}/{page}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(html.contains("No results released yet"), "{page}: {html}");
    }
    let (status, body) = download(&viewer, setup, "summary.csv").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body.contains("No results of this study have been released yet"),
        "{body}"
    );
    let (status, html) = viewer
        .get_text(&format!(
            "/waves?ids={setup}&ids={}",
            info.analysis_study_id
        ))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("released"), "{html}");
    // An admin can't release before collection: the page says why and offers no button.
    let admin = app.stranger();
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, report) = admin.get_text(&format!("/studies/{setup}/report")).await;
    assert!(report.contains("once collection has started"), "{report}");
    let page = release(&admin, setup).await;
    assert!(page.contains("once collection has started"));
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM study_releases WHERE study_id = ?",
            setup
        )
        .await,
        0
    );
    // The wave whose collection ended was released by the platform itself, as final, and audited.
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
}
