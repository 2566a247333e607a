//! Roster and usage imports (three vendor formats), refusals, and cohorts.
use crate::helpers::*;
use reqwest::StatusCode;

async fn study_with_admin() -> (TestApp, i64) {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    (app, id)
}

async fn employees(app: &TestApp, id: i64) -> i64 {
    app.count("SELECT COUNT(*) FROM employees WHERE study_id = ?", id)
        .await
}

#[tokio::test]
async fn a_roster_imports_in_the_browser_and_replaces_the_previous_one() {
    let (app, id) = study_with_admin().await;
    let html = app
        .import_roster(id, "roster.csv", roster_csv(120).into_bytes())
        .await;
    assert!(html.contains("Imported 120 employees"), "{html}");
    assert_eq!(employees(&app, id).await, 120);
    app.import_roster(id, "roster.csv", roster_csv(80).into_bytes())
        .await;
    assert_eq!(employees(&app, id).await, 80);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .filter(|a| *a == "roster.import")
            .count()
            == 2
    );
}

#[tokio::test]
async fn a_roster_with_any_bad_row_is_refused_whole_with_each_problem_named() {
    let (app, id) = study_with_admin().await;
    app.import_roster(id, "good.csv", roster_csv(10).into_bytes())
        .await;
    let bad = "employee_id,email,function,hire_date,time_zone\n\
               E1,a@example.org,Sales,2020-01-01,Europe/London\n\
               E1,b@example.org,Sales,2020-01-01,Europe/London\n\
               E3,A@example.org,Sales,2020-01-01,Europe/London\n\
               E4,d@example.org,Sales,2020-31-01,Europe/London\n\
               E5,e@example.org,<script>alert(1)</script>,2020-01-01,Europe/Lodnon\n";
    let html = app
        .refused_roster(id, "bad.csv", bad.as_bytes().to_vec())
        .await;
    assert!(html.contains("“bad.csv” was not imported"));
    for (row, column) in [
        ("3", "employee_id"),
        ("4", "email"),
        ("5", "hire_date"),
        ("6", "time_zone"),
    ] {
        let cell = format!("<td class=\"num\">{row}</td><td>{column}</td>");
        assert!(html.contains(&cell), "row {row} column {column} not listed");
    }
    assert!(html.contains("Europe/Lodnon"));
    assert!(!html.contains("<script>alert(1)"), "user text is escaped");
    assert_eq!(
        employees(&app, id).await,
        10,
        "the previous roster is untouched"
    );
}

#[tokio::test]
async fn empty_headerless_missing_column_and_wrong_encoding_files_get_clear_answers() {
    let (app, id) = study_with_admin().await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.csv", vec![], "empty"),
        ("header.csv", b"employee_id,email,function,hire_date,time_zone\n".to_vec(), "no data rows"),
        ("cols.csv", b"employee_id,email\nE1,a@example.org\n".to_vec(), "function"),
        ("utf16.csv", vec![0xFF, 0xFE, b'e', 0, b'm', 0], "UTF-16"),
        // 0x81 is unassigned in Windows-1252: neither encoding a spreadsheet writes.
        ("other.csv", b"employee_id,email,function,hire_date,time_zone\nE1,a@example.org,Vertrieb \x81ber,2020-01-01,UTC\n".to_vec(), "neither UTF-8 nor Windows-1252"),
    ];
    for (name, bytes, expect) in cases {
        let html = app.refused_roster(id, name, bytes).await;
        assert!(html.contains(expect), "{name}: expected {expect:?}");
    }
    assert_eq!(employees(&app, id).await, 0);
    // Windows-1252 (Excel's "CSV" on Windows) is read, not refused (issue 12).
    let html = app
        .import_roster(id, "latin1.csv", b"employee_id,email,function,hire_date,time_zone\nE1,a@example.org,Vertrieb \xfcber,2020-01-01,UTC\n".to_vec())
        .await;
    assert!(html.contains("Vertrieb über"), "{html}");
}

#[tokio::test]
async fn plain_csv_usage_ranks_employees_into_cohorts_of_ten_fifty_and_forty_percent() {
    let (app, id) = study_with_admin().await;
    app.import_roster(id, "r.csv", roster_csv(1000).into_bytes())
        .await;
    assert_eq!(
        app.cohort_counts(id).await,
        (0, 0, 1000),
        "no usage yet: everyone is light"
    );
    let html = app
        .import_usage(
            id,
            "u.csv",
            usage_csv(1000).into_bytes(),
            &[("format", "csv")],
        )
        .await;
    assert!(html.contains("900 people matched"), "{html}");
    assert_eq!(app.cohort_counts(id).await, (100, 500, 400));
    // The heaviest users are the top of the usage rank, and nobody without usage is above light.
    assert_eq!(app.employee_cohort("E00998").await, "heavy");
    let none = app
        .count(
            "SELECT COUNT(*) FROM employees WHERE study_id = ? AND usage_score IS NULL AND cohort <> 'light'",
            id,
        )
        .await;
    assert_eq!(none, 0);
    let gross = app.employee_gross_hours("E00500").await;
    assert!((gross - 50.1).abs() < 1e-9);
    // New shares reassign.
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/cohorts"),
                &[
                    ("heavy_pct", "20"),
                    ("moderate_pct", "30"),
                    ("tenure_bounds", "24,60"),
                ],
            )
            .await,
        )
        .await;
    assert!(html.contains("Cohort settings saved"), "{html}");
    assert_eq!(app.cohort_counts(id).await, (200, 300, 500));
    let (_, page) = app.get_text(&format!("/studies/{id}/cohorts")).await;
    assert!(
        page.contains("Engineering")
            && page.contains("2–5 y")
            && page.contains("Cohort × function × tenure")
    );
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/cohorts"),
                &[
                    ("heavy_pct", "60"),
                    ("moderate_pct", "50"),
                    ("tenure_bounds", "24,60"),
                ],
            )
            .await,
        )
        .await;
    assert!(html.contains("flash error"), "shares over 100% are refused");
    assert_eq!(app.cohort_counts(id).await, (200, 300, 500));
}

#[tokio::test]
async fn github_copilot_records_match_on_login_and_need_a_stated_conversion_for_hours() {
    let (app, id) = study_with_admin().await;
    let roster = "employee_id,email,function,tenure_band,time_zone,login\n\
                  E1,a@example.org,Engineering,1-3 y,Europe/London,octo-ada\n\
                  E2,b@example.org,Engineering,3-5 y,Europe/London,octo-bob\n\
                  E3,c@example.org,Sales,< 1 y,America/New_York,\n";
    app.import_roster(id, "r.csv", roster.as_bytes().to_vec())
        .await;
    let mut ndjson = String::new();
    for day in 1..=20 {
        ndjson.push_str(&format!("{{\"day\":\"2026-11-{day:02}\",\"user_login\":\"octo-ada\",\"user_initiated_interaction_count\":5,\"code_generation_activity_count\":3,\"code_acceptance_activity_count\":2,\"ide\":\"vscode\"}}\n"));
        if day % 4 == 0 {
            ndjson.push_str(&format!("{{\"day\":\"2026-11-{day:02}\",\"user_login\":\"Octo-Bob\",\"user_initiated_interaction_count\":1,\"code_generation_activity_count\":0,\"code_acceptance_activity_count\":0}}\n"));
        }
    }
    ndjson.push_str("{\"day\":\"2026-11-30\",\"user_login\":\"contractor\",\"user_initiated_interaction_count\":1}\n");
    let html = app
        .import_usage(
            id,
            "copilot.ndjson",
            ndjson.into_bytes(),
            &[("format", "github"), ("hours_per_unit", "0.5")],
        )
        .await;
    assert!(
        html.contains("2 people matched") && html.contains("1 not on"),
        "{html}"
    );
    let (_, page) = app.get_text(&format!("/studies/{id}/usage")).await;
    assert!(
        page.contains("assumption:")
            && page.contains("0.5 gross AI hours per month per active day"),
        "{page}"
    );
    let scores: Vec<(String, f64, Option<f64>)> = app
        .employee_usage(id)
        .await
        .into_iter()
        .filter_map(|(e, score, gross)| Some((e, score?, gross)))
        .collect();
    assert_eq!(scores.len(), 2);
    assert!(scores[0].1 > scores[1].1, "ada is more active than bob");
    assert!((scores[0].2.unwrap() - 0.5 * scores[0].1).abs() < 1e-9);
    assert_eq!(app.usage_raw_rows().await, 26, "every raw record is kept");
    // Changing the assumption recomputes hours and is audited.
    app.follow(
        app.post(
            &format!("/studies/{id}/usage/conversion"),
            &[("hours_per_unit", "1.5")],
        )
        .await,
    )
    .await;
    let gross = app.employee_gross_hours("E1").await;
    assert!((gross - 1.5 * scores[0].1).abs() < 1e-9);
    assert!(
        app.audit_actions()
            .await
            .contains(&"usage.conversion".to_string())
    );
}

#[tokio::test]
async fn the_microsoft_365_copilot_report_matches_on_email() {
    let (app, id) = study_with_admin().await;
    app.import_roster(id, "r.csv", roster_csv(4).into_bytes())
        .await;
    let report = "Report Refresh Date,User Principal Name,Display Name,Last Activity Date,Microsoft Teams Copilot Last Activity Date,Word Copilot Last Activity Date,Excel Copilot Last Activity Date,Copilot Chat Last Activity Date,Report Period\n\
                  2026-11-30,E00000@example.org,A,2026-11-29,2026-11-29,2026-11-20,2026-11-02,2026-11-28,30\n\
                  2026-11-30,e00001@example.org,B,2026-11-10,,2026-11-10,,,30\n\
                  2026-11-30,e00002@example.org,C,,,,,,30\n";
    let html = app
        .import_usage(
            id,
            "m365.csv",
            report.as_bytes().to_vec(),
            &[("format", "m365")],
        )
        .await;
    assert!(html.contains("3 people matched"), "{html}");
    // Issue 12: the score is the days known active per month (each day once over all apps), no longer
    // the number of apps used: E00000 was active on the 2nd, 20th, 28th and 29th, e00001 on the 10th.
    let scores = app.employee_usage(id).await;
    let per_month = |days: f64| days * 30.44 / 30.0;
    assert!((scores[0].1.unwrap() - per_month(4.0)).abs() < 1e-9);
    assert!((scores[1].1.unwrap() - per_month(1.0)).abs() < 1e-9);
    assert_eq!(scores[2].1, Some(0.0));
    assert_eq!(scores[3].1, None);
    let (_, page) = app.get_text(&format!("/studies/{id}/usage")).await;
    assert!(page.contains("the source has no hours"));
    let broken =
        "User Principal Name,Last Activity Date,Report Period\na@example.org,31/31/2026,30\n";
    let html = app
        .refused_usage(
            id,
            "m365.csv",
            broken.as_bytes().to_vec(),
            &[("format", "m365")],
        )
        .await;
    assert!(html.contains("Last Activity Date"));
}

#[tokio::test]
async fn broken_usage_files_change_nothing() {
    let (app, id) = study_with_admin().await;
    app.import_roster(id, "r.csv", roster_csv(20).into_bytes())
        .await;
    app.import_usage(
        id,
        "u.csv",
        usage_csv(20).into_bytes(),
        &[("format", "csv")],
    )
    .await;
    let before = app.cohort_counts(id).await;
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "csv",
            "period",
            "employee_id,period,active_days,ai_hours\nE00001,Nov 2026,3,2.5\n".into(),
        ),
        (
            "csv",
            "ai_hours",
            "employee_id,period,active_days,ai_hours\nE00001,2026-11,3,-2\n".into(),
        ),
        (
            "csv",
            "duplicate",
            "employee_id,period,active_days,ai_hours\nE00001,2026-11,3,2\nE00001,2026-11,3,2\n"
                .into(),
        ),
        ("github", "user_login", "{\"day\":\"2026-11-01\"}\n".into()),
        (
            "github",
            "JSON",
            "{\"day\":\"2026-11-01\",\"user_login\":\"x\"\n".into(),
        ),
    ];
    for (format, expect, body) in cases {
        let html = app
            .refused_usage(id, "bad", body.into_bytes(), &[("format", format)])
            .await;
        assert!(html.contains(expect), "{format}: {expect}");
    }
    assert_eq!(app.cohort_counts(id).await, before);
    let imports: i64 = app
        .count("SELECT COUNT(*) FROM usage_imports WHERE study_id = ?", id)
        .await;
    assert_eq!(imports, 1);
}

#[tokio::test]
async fn a_usage_file_that_matches_nobody_on_the_roster_is_refused() {
    let (app, id) = study_with_admin().await;
    app.import_roster(id, "r.csv", roster_csv(10).into_bytes())
        .await;
    // A 28-day report (a file of fewer days is refused before matching, for its period).
    let ndjson = "{\"report_start_day\":\"2026-11-01\",\"report_end_day\":\"2026-11-28\",\"day\":\"2026-11-02\",\"user_login\":\"someone-else\",\"user_initiated_interaction_count\":3}\n";
    let html = app
        .refused_usage(
            id,
            "gh.ndjson",
            ndjson.as_bytes().to_vec(),
            &[("format", "github")],
        )
        .await;
    assert!(
        html.contains("none of the 1 people in the file is on the roster"),
        "{html}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM usage_imports WHERE study_id = ?", id)
            .await,
        0
    );
}

#[tokio::test]
async fn the_import_templates_download_import_as_they_are_and_the_usage_page_counts_the_roster_without_usage()
 {
    let (app, id) = study_with_admin().await;
    let (status, html) = app.get_text(&format!("/studies/{id}/roster")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("/studies/{id}/roster/template.csv")));
    let r = app.get(&format!("/studies/{id}/roster/template.csv")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("roster-template.csv")
    );
    let roster = r.text().await.unwrap();
    assert!(roster.starts_with("employee_id,email,function,hire_date,tenure_band,time_zone"));
    // The template imports as it is; then a real roster of 120 with the template's two people added.
    let html = app
        .import_roster(id, "roster-template.csv", roster.clone().into_bytes())
        .await;
    assert!(html.contains("Imported 2 employees"), "{html}");
    // Filled in the template's shape: its two people and 120 more.
    let mut bigger = roster.clone();
    for i in 0..120 {
        bigger.push_str(&format!(
            "E{i:05},e{i:05}@example.org,Sales,2020-01-15,,Europe/London,,,\n"
        ));
    }
    let html = app
        .import_roster(id, "roster.csv", bigger.into_bytes())
        .await;
    assert!(html.contains("Imported 122 employees"), "{html}");
    let (_, page) = app.get_text(&format!("/studies/{id}/usage")).await;
    assert!(page.contains(&format!("/studies/{id}/usage/template.csv")));
    let usage = app
        .get(&format!("/studies/{id}/usage/template.csv"))
        .await
        .text()
        .await
        .unwrap();
    let html = app
        .import_usage(
            id,
            "usage-template.csv",
            usage.into_bytes(),
            &[("format", "csv")],
        )
        .await;
    assert!(html.contains("Roster without usage"), "{html}");
    assert!(
        html.contains("120 employees: the source has no usage for them, so they count as light"),
        "{html}"
    );
}
