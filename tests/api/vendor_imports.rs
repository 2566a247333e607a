//! Issue 12: each vendor's usage export, as its admin downloads it, imported through the usage page with
//! the format named; people are matched on the column each source has, and ranked by what it reports.
use crate::helpers::*;

/// One roster for every source: the addresses the fixtures use, and the vendor ids of Amazon Q (Identity
/// Center user ids) and Viva (PersonId) in `login` — matched there until the roster's own `vendor_id`
/// column lands (issue 12, vendorsA); the `vendor_id` column carries them too for then.
const ROSTER: &str = "employee_id,email,function,tenure_band,time_zone,login,vendor_id\n\
E1,ada@example.org,Engineering,1-3 y,Europe/London,906745c2a1-52c514f4-8d1e-4b6f-9c1a-7e0b2f3d4a5b,906745c2a1-52c514f4-8d1e-4b6f-9c1a-7e0b2f3d4a5b\n\
E2,bob@example.org,Engineering,3-5 y,Europe/London,906745c2a1-1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b,906745c2a1-1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b\n\
E3,cy@example.org,Sales,< 1 y,America/New_York,a4897e9b-7fc7-3e17-9b47-a254a0b85f27,a4897e9b-7fc7-3e17-9b47-a254a0b85f27\n\
E4,eve@example.org,Sales,1-3 y,America/New_York,0b4e1f2a-9c3d-3a8b-8e7f-1d2c3b4a5f60,0b4e1f2a-9c3d-3a8b-8e7f-1d2c3b4a5f60\n\
E5,alice.johnson@example.com,Finance,3-5 y,Europe/London,,\n\
E6,bob.smith@example.com,Finance,1-3 y,Europe/London,,\n\
E7,ada.lovelace@example.org,Support,< 1 y,Asia/Singapore,,\n\
E8,developer@company.com,Engineering,1-3 y,Europe/London,,\n";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/usage/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn study_with_roster() -> (TestApp, i64) {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Vendors").await;
    app.import_roster(id, "roster.csv", ROSTER.as_bytes().to_vec())
        .await;
    (app, id)
}

/// Imports `file` as `format`; returns the page after the import and the usage page.
async fn import(app: &TestApp, id: i64, file: &str, format: &str) -> (String, String) {
    let flash = app
        .import_usage(id, file, fixture(file), &[("format", format)])
        .await;
    let (_, page) = app.get_text(&format!("/studies/{id}/usage")).await;
    (flash, page)
}

/// Usage score by employee id, for those that have one.
async fn scores(app: &TestApp, id: i64) -> Vec<(String, f64)> {
    app.employee_usage(id)
        .await
        .into_iter()
        .filter_map(|(e, score, _)| Some((e, score?)))
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test]
async fn a_microsoft_365_v2_report_of_28_days_ranks_by_active_usage_days() {
    let (app, id) = study_with_roster().await;
    let (flash, page) = import(&app, id, "m365_v2.csv", "m365").await;
    // ada.lovelace, bob and eve (cy too) are on the roster by address.
    assert!(flash.contains("4 people matched"), "{flash}");
    assert!(page.contains("2026-11-03 to 2026-11-30"), "{page}");
    let s = scores(&app, id).await;
    let of = |e: &str| s.iter().find(|(x, _)| x == e).map(|(_, v)| *v).unwrap();
    assert!(close(of("E7"), 14.0 * 30.44 / 28.0));
    // Bob used only Copilot Chat (web), Edge and an agent: his three days count.
    assert!(close(of("E2"), 3.0 * 30.44 / 28.0));
    assert_eq!(
        app.employee_cohort("E4").await,
        "heavy",
        "eve: 20 days of 28"
    );
}

#[tokio::test]
async fn a_concealed_microsoft_365_report_is_refused_with_the_setting_to_change() {
    let (app, id) = study_with_roster().await;
    let html = app
        .refused_usage(
            id,
            "concealed.csv",
            fixture("m365_graph_example_concealed.csv"),
            &[("format", "m365")],
        )
        .await;
    assert!(html.contains("names are concealed"), "{html}");
    assert!(html.contains("Display concealed user, group, and site names in all reports"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM usage_imports WHERE study_id = ?", id)
            .await,
        0
    );
}

#[tokio::test]
async fn a_chatgpt_weekly_report_ranks_active_weeks_before_messages() {
    let (app, id) = study_with_roster().await;
    let (flash, page) = import(&app, id, "chatgpt_weekly.csv", "chatgpt").await;
    assert!(flash.contains("2 people matched"), "{flash}");
    assert!(page.contains("2025-05-01 to 2025-05-21"));
    assert!(page.contains("the source has no hours"));
    let s = scores(&app, id).await;
    assert_eq!(s.len(), 2);
    assert!(close(s[0].1, 3.0 * 30.44 / 21.0), "alice: 3 active weeks");
    assert!(
        s[0].1 > s[1].1,
        "alice ranks above bob despite fewer messages"
    );
}

#[tokio::test]
async fn cursor_admin_api_json_and_dashboard_csv_both_import() {
    let (app, id) = study_with_roster().await;
    let (flash, page) = import(&app, id, "cursor_admin_api_example.json", "cursor").await;
    assert!(flash.contains("1 people matched"), "{flash}");
    assert!(page.contains("2024-03-18 to 2024-03-19"), "{page}");
    assert!(close(scores(&app, id).await[0].1, 30.44));
    let (flash, _) = import(&app, id, "cursor_dashboard.csv", "cursor").await;
    assert!(flash.contains("3 people matched"), "{flash}");
    let s = scores(&app, id).await;
    assert_eq!(s[0].0, "E1");
    assert!(s[0].1 > s[1].1 && s[1].1 > 0.0, "bob's Bugbot day counts");
}

#[tokio::test]
async fn gemini_activity_pages_import_as_active_days() {
    let (app, id) = study_with_roster().await;
    let (flash, page) = import(&app, id, "gemini_activities.json", "gemini").await;
    assert!(flash.contains("2 people matched"), "{flash}");
    assert!(page.contains("2026-11-01 to 2026-11-30"));
    let s = scores(&app, id).await;
    assert!(close(s[0].1, 2.0 * 30.44 / 30.0) && close(s[1].1, 30.44 / 30.0));
    assert_eq!(app.usage_raw_rows().await, 5, "every activity kept");
}

#[tokio::test]
async fn amazon_q_daily_files_match_on_the_identity_center_id() {
    let (app, id) = study_with_roster().await;
    let (flash, _) = import(&app, id, "amazonq_three_days.csv", "amazon-q").await;
    assert!(flash.contains("2 people matched"), "{flash}");
    let s = scores(&app, id).await;
    assert_eq!((s[0].0.as_str(), s[1].0.as_str()), ("E1", "E2"));
    assert!(close(s[0].1, 3.0 * 30.44 / 30.0));
}

#[tokio::test]
async fn a_viva_person_query_brings_its_own_assisted_hours() {
    let (app, id) = study_with_roster().await;
    let (flash, page) = import(&app, id, "viva_copilot_weekly.csv", "viva").await;
    assert!(
        flash.contains("2 people matched") && flash.contains("1 not on"),
        "{flash}"
    );
    assert!(page.contains("reported by the source"), "{page}");
    assert!(page.contains("2026-11-01 to 2026-11-28"));
    let hours = app.employee_gross_hours("E3").await;
    assert!(close(hours, 5.25 * 30.44 / 28.0), "{hours}");
    assert!(close(scores(&app, id).await[0].1, 17.0 * 30.44 / 28.0));
}

#[tokio::test]
async fn an_upgraded_database_keeps_its_usage_imports_and_takes_the_new_sources() {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
    let dir = tempfile::tempdir().unwrap();
    // The schema as shipped before issue 12's vendor sources: every migration before 0017.
    let old = dir.path().join("old-migrations");
    std::fs::create_dir(&old).unwrap();
    for entry in std::fs::read_dir("migrations").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.as_str() < "0017" {
            std::fs::copy(&path, old.join(&name)).unwrap();
        }
    }
    let db = dir.path().join("layer2.sqlite3");
    {
        let options = SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        sqlx::migrate::Migrator::new(old.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for sql in [
            "INSERT INTO studies (id, name, vendor, product, time_zone, start_date, status, created_at, updated_at)
             VALUES (1, 'Old', 'V', 'P', 'Europe/London', '2027-01-04', 'setup', '2027-01-01T00:00:00+00:00', '2027-01-01T00:00:00+00:00')",
            "INSERT INTO usage_imports (id, study_id, source, filename, rows, matched, unmatched, period_start, period_end,
               has_hours, unit_label, imported_at) VALUES (7, 1, 'github', 'gh.ndjson', 2, 1, 0, '2026-11-01', '2026-11-30',
               0, 'active day per month', '2026-12-01T00:00:00+00:00')",
            "INSERT INTO usage_raw (import_id, row_number, key, raw) VALUES (7, 1, 'ada', '{}'), (7, 2, 'ada', '{}')",
            "INSERT INTO usage_summary (import_id, key, key_kind, score, tiebreak, units) VALUES (7, 'ada', 'login', 3, 1, 3)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let pool = layer2::db::connect(&db).await.unwrap();
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM usage_imports").await, 1);
    assert_eq!(
        count("SELECT COUNT(*) FROM usage_raw").await,
        2,
        "no cascade"
    );
    assert_eq!(count("SELECT COUNT(*) FROM usage_summary").await, 1);
    sqlx::query(
        "INSERT INTO usage_imports (study_id, source, filename, rows, matched, unmatched, period_start, period_end,
           has_hours, unit_label, imported_at) VALUES (1, 'amazon-q', 'q.csv', 1, 1, 0, '2026-11-01', '2026-11-30',
           0, 'active day per month', '2026-12-01T00:00:00+00:00')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO usage_summary (import_id, key, key_kind, score, tiebreak, units) VALUES (7, 'u-1', 'vendor_id', 1, 0, 1)")
        .execute(&pool)
        .await
        .unwrap();
    // Deleting an import still takes its rows with it.
    sqlx::query("DELETE FROM usage_imports WHERE id = 7")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM usage_raw").await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM usage_summary").await, 0);
}

/// Previews `file` for the study; the preview page and its confirmation token.
async fn preview(app: &TestApp, id: i64, file: &str) -> (String, String) {
    let r = app
        .upload(
            &format!("/studies/{id}/usage/preview"),
            file,
            fixture(file),
            &[("format", "auto")],
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let html = r.text().await.unwrap();
    let token = html
        .split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no token: {html}"))
        .to_owned();
    (html, token)
}

/// Confirms a preview as its page's form sends it (every hidden field, the seal included); the redirect.
async fn confirm_cursor(app: &TestApp, id: i64, html: &str) -> reqwest::Response {
    let names = [
        "token",
        "format",
        "date_order",
        "hours_per_unit",
        "filename",
        "seal",
    ];
    let values: Vec<(&str, String)> = names
        .iter()
        .filter(|n| html.contains(&format!("name=\"{n}\" value=\"")))
        .map(|n| (*n, crate::usage_sources::hidden(html, n)))
        .collect();
    let fields: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
    app.post(&format!("/studies/{id}/usage/confirm"), &fields)
        .await
}

#[tokio::test]
async fn a_preview_waits_in_a_private_folder_and_expires_after_a_day() {
    use std::os::unix::fs::PermissionsExt;
    let (app, id) = study_with_roster().await;
    let (html, _) = preview(&app, id, "cursor_admin_api_example.json").await;
    assert!(html.contains("Cursor team usage"), "{html}");
    let pending = app.state.config.data_dir.join("pending-usage");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&pending), 0o700, "the folder is the service's only");
    let held: Vec<_> = std::fs::read_dir(&pending)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(held.len(), 1);
    assert_eq!(mode(&held[0]), 0o600, "the upload is the service's only");
    // A day and an hour later the confirmation is refused as expired, and the upload is gone.
    app.clock.advance(chrono::Duration::hours(25));
    app.login(ADMIN, PASSWORD).await;
    let page = app.follow(confirm_cursor(&app, id, &html).await).await;
    assert!(
        page.contains("This preview expired") && page.contains("upload the file again"),
        "{page}"
    );
    assert_eq!(std::fs::read_dir(&pending).unwrap().count(), 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM usage_imports WHERE study_id = ?", id)
            .await,
        0
    );
    // A fresh preview is confirmed within the day: imported, read again from the kept upload.
    let (html, _) = preview(&app, id, "cursor_admin_api_example.json").await;
    app.clock.advance(chrono::Duration::hours(23));
    app.login(ADMIN, PASSWORD).await;
    let page = app.follow(confirm_cursor(&app, id, &html).await).await;
    assert!(
        page.contains("Imported 2 rows of Cursor team usage"),
        "{page}"
    );
}

#[tokio::test]
async fn downloads_missing_pages_are_refused_and_nothing_is_imported() {
    let (app, id) = study_with_roster().await;
    for (file, format, says) in [
        (
            "cursor_first_page.json",
            "cursor",
            "page 1 of 2 of Cursor&#39;s daily usage",
        ),
        ("gemini_first_page.json", "gemini", "nextPageToken"),
    ] {
        let html = app
            .refused_usage(id, file, fixture(file), &[("format", format)])
            .await;
        assert!(
            html.contains(says) && html.contains("download every page"),
            "{file}: {html}"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM usage_imports WHERE study_id = ?", id)
            .await,
        0
    );
    assert_eq!(app.usage_raw_rows().await, 0);
}
