//! Retention: the tick purges a study's person-level rows after its retention date (physically, once),
//! keeping a frozen snapshot for the report, readout and summary export; an admin can purge early, confirmed.
use crate::helpers::*;
use chrono::{NaiveDate, TimeZone, Utc};
use layer2::study::StudyId;
use layer2::tick::run_due;
use reqwest::StatusCode;

const MARKER: &str = "retention-marker-7Qz9XkP2";

/// Person-level rows of a study, by kind: participants, diary entries, pings, consent events, links, mail,
/// employees, sample members, usage rows.
async fn person_rows(app: &TestApp, study: i64) -> Vec<i64> {
    vec![
        app.value("SELECT COUNT(*) FROM participants WHERE study_id = ?", Some(study)).await,
        app.value("SELECT COUNT(*) FROM diary_entries WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)", Some(study)).await,
        app.value("SELECT COUNT(*) FROM pings WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)", Some(study)).await,
        app.value("SELECT COUNT(*) FROM consent_events WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)", Some(study)).await,
        app.value("SELECT COUNT(*) FROM link_tokens WHERE participant IN (SELECT id FROM participants WHERE study_id = ?)", Some(study)).await,
        app.value("SELECT COUNT(*) FROM outbox WHERE study_id = ?", Some(study)).await,
        app.value("SELECT COUNT(*) FROM employees WHERE study_id = ?", Some(study)).await,
        app.value("SELECT COUNT(*) FROM sample_members WHERE study_id = ?", Some(study)).await,
        app.value("SELECT COUNT(*) FROM usage_summary WHERE import_id IN (SELECT id FROM usage_imports WHERE study_id = ?)", Some(study)).await,
    ]
}

/// Whether `needle` is anywhere in the database file or its WAL.
fn in_files(app: &TestApp, needle: &str) -> bool {
    let db = app.state.config.database_path();
    let wal = db.with_extension("sqlite3-wal");
    [db, wal].iter().any(|p| {
        std::fs::read(p)
            .map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .unwrap_or(false)
    })
}

/// Noon UTC on `day` (the demo's zone is Europe/London, so the same local day).
fn noon(day: NaiveDate) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(12, 0, 0).unwrap())
}

/// Every table cell of a page.
fn cells(html: &str) -> Vec<String> {
    html.split("<td")
        .skip(1)
        .filter_map(|c| c.split_once('>').map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once("</td>").map(|(cell, _)| cell.to_string()))
        .collect()
}

async fn analyst_login(app: &TestApp) {
    let r = app
        .login(layer2::demo::ANALYST_EMAIL, layer2::demo::ANALYST_PASSWORD)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn summary(app: &TestApp, study: i64) -> (StatusCode, String) {
    let r = app
        .post(
            &format!("/studies/{study}/export"),
            &[("file", "summary.csv")],
        )
        .await;
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn after_its_retention_date_a_study_loses_every_person_level_row_once_and_keeps_its_results()
{
    let app = spawn_app().await;
    let info = layer2::demo::seed(&app.state, 600).await.unwrap();
    let study = info.analysis_study_id;
    analyst_login(&app).await;
    app.plant_description(study, MARKER).await;
    layer2::db::checkpoint(&app.state.pool).await.unwrap();
    assert!(in_files(&app, MARKER), "the planted text is in the file");
    let until = layer2::retention::service::retention_date(&app.state, StudyId(study))
        .await
        .unwrap()
        .expect("the demo study has a retention date");
    let (status, report_before) = app.get_text(&format!("/studies/{study}/report")).await;
    assert_eq!(status, StatusCode::OK);
    let figures = cells(&report_before);
    assert!(figures.len() > 10, "the report shows a table of figures");
    let (_, summary_before) = summary(&app, study).await;
    let before = person_rows(&app, study).await;
    assert!(
        before.iter().all(|n| *n > 0),
        "every kind of row exists: {before:?}"
    );
    let someone: i64 = app
        .value(
            "SELECT MIN(participant) FROM outbox WHERE study_id = ?",
            Some(study),
        )
        .await;
    let someone = email_of(&app, someone).await;
    // The demo's studies share one organisation's roster: only this study's mail to them must go.
    let name = app.study(study).await.name;
    let mail_to_someone = || {
        eml_texts(&app)
            .iter()
            .filter(|t| t.contains(&someone) && t.contains(&name))
            .count()
    };
    assert!(mail_to_someone() > 0, "the mail folder holds their mail");

    // On the retention date itself the raw data is still kept.
    app.clock.set(noon(until));
    run_due(&app.state, app.clock_now()).await.unwrap();
    assert_eq!(person_rows(&app, study).await, before);
    assert!(in_files(&app, MARKER));
    // A year on, the session has expired: sign in again.
    analyst_login(&app).await;
    let (status, report) = app.get_text(&format!("/studies/{study}/report")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!report.contains("purged"));
    // By now the other wave's collection has ended too, so both are released and compare.
    let waves = format!("/waves?ids={study}&ids={}", info.collection_study_id);
    let (status, waves_before) = app.get_text(&waves).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !cells(&waves_before).is_empty(),
        "the waves page compares figures"
    );

    // The day after, the tick purges.
    app.clock.set(noon(until.succ_opt().unwrap()));
    let tick = run_due(&app.state, app.clock_now()).await.unwrap();
    assert!(tick.purged >= 1);
    assert!(
        person_rows(&app, study).await.iter().all(|n| *n == 0),
        "{:?}",
        person_rows(&app, study).await
    );
    assert!(
        !in_files(&app, MARKER),
        "the planted text left the database file and its WAL"
    );
    assert_eq!(mail_to_someone(), 0, "their .eml files went with the rows");
    let kept: i64 = app
        .value("SELECT (SELECT COUNT(*) FROM studies WHERE id = ?1) + (SELECT COUNT(*) FROM study_phases WHERE study_id = ?1) + (SELECT COUNT(*) FROM privacy_notices WHERE study_id = ?1)", Some(study))
        .await;
    assert!(kept > 2, "the study, its timeline and its notice stay");
    let audit: Vec<(String,)> = app
        .rows(
            "SELECT detail FROM audit_log WHERE action = 'retention purge' AND study_id = ?",
            Some(study),
        )
        .await;
    let audit: Vec<String> = audit.into_iter().map(|(d,)| d).collect();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(
        audit[0].contains(&format!("participants={}", before[0])),
        "{}",
        audit[0]
    );
    assert!(!audit[0].contains('@'), "counts only: {}", audit[0]);

    // The report, readout and summary show the frozen figures and the purge date.
    let on = until.succ_opt().unwrap().to_string();
    analyst_login(&app).await;
    let (status, report) = app.get_text(&format!("/studies/{study}/report")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(report.contains(&format!("Raw data was purged on {on}")));
    assert_eq!(
        cells(&report),
        figures,
        "the same figures as before the purge"
    );
    let (status, readout) = app.get_text(&format!("/studies/{study}/readout")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(readout.contains(&format!("Raw data was purged on {on}")));
    assert_eq!(summary(&app, study).await, (StatusCode::OK, summary_before));
    let (status, waves_after) = app.get_text(&waves).await;
    assert_eq!(status, StatusCode::OK);
    assert!(waves_after.contains(&format!("raw data was purged on {on}")));
    // The same figures; only the purged wave's tool cell changes its note.
    let figures_of = |html: &str| -> Vec<String> {
        cells(html)
            .into_iter()
            .filter(|c| !c.contains("released on") && !c.contains("purged on"))
            .collect()
    };
    assert_eq!(figures_of(&waves_after), figures_of(&waves_before));
    assert_eq!(cells(&waves_after).len(), cells(&waves_before).len());

    // What needs raw data says so and gives nothing.
    let (status, analysis) = app.get_text(&format!("/studies/{study}/analysis")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(analysis.contains("purged"));
    let r = app
        .post(
            &format!("/studies/{study}/export"),
            &[("file", "participants.csv")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // A second run changes nothing.
    let snapshot: String = app
        .value(
            "SELECT snapshot FROM study_purges WHERE study_id = ?",
            Some(study),
        )
        .await;
    app.clock.advance(chrono::Duration::days(3));
    let again = run_due(&app.state, app.clock_now()).await.unwrap();
    assert_eq!(again.purged, 0);
    let purges: i64 = app
        .value(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'retention purge' AND study_id = ?",
            Some(study),
        )
        .await;
    assert_eq!(purges, 1);
    assert_eq!(person_rows(&app, study).await, vec![0; 9]);
    let snapshot_again: String = app
        .value(
            "SELECT snapshot FROM study_purges WHERE study_id = ?",
            Some(study),
        )
        .await;
    assert_eq!(snapshot_again, snapshot);
    analyst_login(&app).await;
    assert!(
        app.get_text(&format!("/studies/{study}/report"))
            .await
            .1
            .contains(&format!("purged on {on}"))
    );
}

#[tokio::test]
async fn an_admin_purges_early_only_when_confirmed_and_an_analyst_cannot() {
    let app = spawn_app().await;
    let study = study_in_pilot(&app).await;
    let before = person_rows(&app, study).await;
    assert!(
        before[6] > 0 && before[7] > 0,
        "a roster and a sample: {before:?}"
    );
    let purge = format!("/studies/{study}/privacy/purge");

    // Issue 14: the purge has its own confirmation page; a POST without its button deletes nothing and
    // leads back to that page with the reason.
    let r = app.post(&purge, &[]).await;
    let page = app.follow(r).await;
    assert!(
        page.contains("confirm on this page first; nothing was changed"),
        "{}",
        flash_text(&page)
    );
    assert_eq!(
        person_rows(&app, study).await,
        before,
        "unconfirmed: nothing deleted"
    );

    let analyst = app.stranger();
    app.add_user(ANALYST, layer2::auth::Role::Analyst).await;
    app.grant(ANALYST, study, "data_analyst").await;
    analyst.login(ANALYST, PASSWORD).await;
    let r = analyst
        .post(&purge, &[("confirm", "yes"), ("warnings_read", "yes")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        person_rows(&app, study).await,
        before,
        "analyst: nothing deleted"
    );
    assert!(audit_details(&app, "retention purge").await.is_empty());

    let r = app
        .post(&purge, &[("confirm", "yes"), ("warnings_read", "yes")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(person_rows(&app, study).await.iter().all(|n| *n == 0));
    let (_, page) = app.get_text(&format!("/studies/{study}/privacy")).await;
    assert!(page.contains(&format!(
        "Raw data was purged on <strong>{}</strong>",
        t0().date_naive()
    )));
    assert_eq!(audit_details(&app, "retention purge").await.len(), 1);

    let r = app
        .post(&purge, &[("confirm", "yes"), ("warnings_read", "yes")])
        .await;
    let page = app.follow(r).await;
    assert!(
        page.contains("already purged"),
        "a second purge is refused: {}",
        flash_text(&page)
    );
    assert_eq!(audit_details(&app, "retention purge").await.len(), 1);
}

#[tokio::test]
async fn a_purged_study_is_closed_no_import_draw_invitation_or_move_brings_people_back() {
    let app = spawn_app().await;
    app.login_admin().await;
    // A study still in draft, with a roster and usage, purged early.
    let study = app.create_study("Purged in draft").await;
    app.upload_ok(
        &format!("/studies/{study}/roster"),
        "r.csv",
        roster_csv(40).into_bytes(),
        &[],
    )
    .await;
    app.upload_ok(
        &format!("/studies/{study}/usage"),
        "u.csv",
        usage_csv(40).into_bytes(),
        &[("format", "csv")],
    )
    .await;
    write_privacy_notice(&app, study).await;
    app.post_ok(
        &format!("/studies/{study}/privacy/purge"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    assert!(person_rows(&app, study).await.iter().all(|n| *n == 0));
    let audit_before = app.audit_actions().await.len();

    let roster = app
        .upload(
            &format!("/studies/{study}/roster"),
            "r.csv",
            roster_csv(40).into_bytes(),
            &[],
        )
        .await;
    assert_purged_refusal(&app, roster).await;
    let usage = app
        .upload(
            &format!("/studies/{study}/usage"),
            "u.csv",
            usage_csv(40).into_bytes(),
            &[("format", "csv")],
        )
        .await;
    assert_purged_refusal(&app, usage).await;
    let draw = app
        .post(
            &format!("/studies/{study}/sample"),
            &[
                ("n", "10"),
                ("min_per_cohort", "2"),
                ("pilot_n", "5"),
                ("seed", "3"),
            ],
        )
        .await;
    assert_purged_refusal(&app, draw).await;
    let moved = move_status(&app, study, "setup").await;
    assert_purged_refusal(&app, moved).await;

    assert!(
        person_rows(&app, study).await.iter().all(|n| *n == 0),
        "nothing came back"
    );
    assert_eq!(app.study_status(study).await, layer2::study::Status::Draft);
    assert_eq!(
        app.audit_actions().await.len(),
        audit_before,
        "nothing happened"
    );
    // The roster page no longer offers an upload.
    let (_, page) = app.get_text(&format!("/studies/{study}/roster")).await;
    assert!(
        !page.contains("type=\"file\""),
        "no upload form after the purge"
    );
}

/// A refusal shown as the page's error message: the study is closed because its raw data was purged.
async fn assert_purged_refusal(app: &TestApp, r: reqwest::Response) {
    let page = app.follow(r).await;
    assert!(page.contains("class=\"flash error\""), "refused");
    assert!(
        flash_text(&page).contains("was purged on")
            && flash_text(&page).contains("the study is closed"),
        "{}",
        flash_text(&page)
    );
}
