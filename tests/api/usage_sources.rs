//! Usage files as vendors' admins download them (issue 12): detected format, encodings, day/month order,
//! organisation-level files refused, GitHub's every surface and report period, the CLI saying what it read.
use crate::cli::{layer2, text};
use crate::helpers::{TestApp, cli_data_dir_with_study, spawn_app};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/usage/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The logins of `github_users_28_day.ndjson`, one employee each (E1..E6), plus one without usage.
const GITHUB_ROSTER: &str = "employee_id,email,function,hire_date,time_zone,login\n\
    E1,ide@example.org,Engineering,2020-01-01,UTC,ide-dev\n\
    E2,cli@example.org,Engineering,2020-01-01,UTC,CLI-Dev\n\
    E3,rev@example.org,Engineering,2020-01-01,UTC,reviewer\n\
    E4,agent@example.org,Engineering,2020-01-01,UTC,agent-dev\n\
    E5,chat@example.org,Engineering,2020-01-01,UTC,chatter\n\
    E6,idle@example.org,Engineering,2020-01-01,UTC,idle\n\
    E7,none@example.org,Engineering,2020-01-01,UTC,\n";

/// A plain CSV re-saved by a spreadsheet in a day/month locale: every day is 1.
const DAY_MONTH: &str =
    "employee_id,period,ai_hours\nE1,01/11/2026,2\nE1,01/12/2026,4\nE2,01/11/2026,1\n";

async fn study_with_roster(roster: &str) -> (TestApp, i64) {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Sources").await;
    app.import_roster(id, "roster.csv", roster.as_bytes().to_vec())
        .await;
    (app, id)
}

async fn score(app: &TestApp, employee_id: &str) -> Option<f64> {
    sqlx::query_scalar("SELECT usage_score FROM employees WHERE employee_id = ?")
        .bind(employee_id)
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

async fn imports(app: &TestApp, id: i64) -> i64 {
    app.count("SELECT COUNT(*) FROM usage_imports WHERE study_id = ?", id)
        .await
}

#[tokio::test]
async fn a_github_ndjson_report_is_detected_and_cli_review_and_agent_days_count_over_the_reports_own_period()
 {
    let (app, id) = study_with_roster(GITHUB_ROSTER).await;
    let html = app
        .import_usage(
            id,
            "users-28-day.ndjson",
            fixture("github_users_28_day.ndjson"),
            &[("format", "auto")],
        )
        .await;
    assert!(
        html.contains("GitHub Copilot usage metrics")
            && html.contains("per-user report, NDJSON, period from the report; UTF-8"),
        "{html}"
    );
    assert!(
        html.contains("6 people matched to the roster, 0 not on it"),
        "{html}"
    );
    // The report states 2025-09-04..2025-10-01 (28 days), though its records only span 09-10..09-23.
    assert!(html.contains("2025-09-04 to 2025-10-01"), "{html}");
    let per_day = 30.44 / 28.0;
    for (employee, days) in [
        ("E1", 2.0),
        ("E2", 3.0), // CLI only: used_cli / totals_by_cli, nothing in the IDE fields
        // Code review they asked for; the other day's passive review (triggered by a policy) is not use.
        ("E3", 1.0),
        ("E4", 1.0), // the coding agent
        ("E5", 2.0), // chat and agent mode
        ("E6", 0.0), // a record with no activity
    ] {
        let s = score(&app, employee).await.unwrap();
        assert!((s - days * per_day).abs() < 1e-9, "{employee}: {s}");
    }
    assert_eq!(score(&app, "E7").await, None);
}

#[tokio::test]
async fn the_same_login_in_two_organisations_files_is_merged_not_refused() {
    let (app, id) = study_with_roster(GITHUB_ROSTER).await;
    let html = app
        .import_usage(
            id,
            "two-orgs.ndjson",
            fixture("github_two_orgs.ndjson"),
            &[("format", "github")],
        )
        .await;
    assert!(html.contains("Imported 4 rows"), "{html}");
    assert!(
        html.contains("1 people matched to the roster, 1 not on it"),
        "{html}"
    );
    let s = score(&app, "E1").await.unwrap();
    assert!(
        (s - 2.0 * 30.44 / 28.0).abs() < 1e-9,
        "a day twice counts once: {s}"
    );
}

#[tokio::test]
async fn a_windows_1252_plain_csv_with_semicolons_is_read_and_the_page_says_so() {
    let roster = "employee_id,email,function,hire_date,time_zone\n\
                  E1,a@example.org,Vertrieb,2020-01-01,Europe/Berlin\n\
                  E2,b@example.org,Vertrieb,2020-01-01,Europe/Berlin\n";
    let (app, id) = study_with_roster(roster).await;
    // As Excel on Windows in a German locale saves "CSV": ';' between columns, Windows-1252 text.
    let bytes =
        b"employee_id;period;active_days;ai_hours;Bemerkung\r\nE1;2026-11;12;6.5;Stra\xdfe \xfcber\r\nE2;2026-11;3;1;\x80\r\n"
            .to_vec();
    let html = app
        .import_usage(id, "nutzung.csv", bytes, &[("format", "auto")])
        .await;
    assert!(
        html.contains("Plain CSV") && html.contains("Windows-1252"),
        "{html}"
    );
    let (_, page) = app.get_text(&format!("/studies/{id}/usage")).await;
    assert!(page.contains("scored on ai_hours; Windows-1252"), "{page}");
    assert_eq!(score(&app, "E1").await, Some(6.5));
    let raw: String = sqlx::query_scalar("SELECT raw FROM usage_raw WHERE key = 'E1'")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert!(raw.contains("Straße über"), "{raw}");
}

#[tokio::test]
async fn a_day_month_file_with_every_day_at_most_twelve_is_refused_until_the_admin_picks_the_order()
{
    let roster = "employee_id,email,function,hire_date,time_zone\n\
                  E1,a@example.org,Sales,2020-01-01,UTC\n\
                  E2,b@example.org,Sales,2020-01-01,UTC\n";
    let (app, id) = study_with_roster(roster).await;
    let html = app
        .refused_usage(
            id,
            "resaved.csv",
            DAY_MONTH.as_bytes().to_vec(),
            &[("format", "auto")],
        )
        .await;
    assert!(
        html.contains("can be read as day/month or as month/day")
            && html.contains("choose the date order"),
        "{html}"
    );
    assert!(html.contains("value=\"dmy\""), "the page offers the choice");
    assert_eq!(imports(&app, id).await, 0, "nothing changed");
    let html = app
        .import_usage(
            id,
            "resaved.csv",
            DAY_MONTH.as_bytes().to_vec(),
            &[("format", "auto"), ("date_order", "dmy")],
        )
        .await;
    assert!(html.contains("2026-11-01 to 2026-12-31"), "{html}");
    assert!(html.contains("periods read as day/month dates"), "{html}");
    // Two months: E1 averages (2 + 4) / 2, E2 has 1 hour in one of them.
    assert_eq!(score(&app, "E1").await, Some(3.0));
    assert_eq!(score(&app, "E2").await, Some(0.5));
}

#[tokio::test]
async fn organisation_level_files_are_refused_as_having_no_per_user_data() {
    let (app, id) = study_with_roster(GITHUB_ROSTER).await;
    for format in ["auto", "github"] {
        let html = app
            .refused_usage(
                id,
                "organization-28-day.json",
                fixture("github_organization_28_day.json"),
                &[("format", format)],
            )
            .await;
        assert!(
            html.contains("this file has no per-user data; download the per-user report instead")
                && html.contains("users-28-day"),
            "{format}: {html}"
        );
    }
    let summary =
        b"Report Refresh Date,Report Period,Enabled Users,Active Users\n2026-11-30,7,10,5\n";
    let html = app
        .refused_usage(id, "summary.csv", summary.to_vec(), &[("format", "auto")])
        .await;
    assert!(
        html.contains("no per-user data") && html.contains("Microsoft 365"),
        "{html}"
    );
    let html = app
        .refused_usage(id, "what.csv", b"name,hours\nx,1\n".to_vec(), &[])
        .await;
    assert!(
        html.contains("Looked for") && html.contains("user_login and day"),
        "{html}"
    );
    assert_eq!(imports(&app, id).await, 0);
}

#[tokio::test]
async fn github_seat_assignments_rank_by_recent_activity() {
    let (app, id) = study_with_roster(GITHUB_ROSTER).await;
    let seats = r#"{"total_seats":3,"seats":[
      {"created_at":"2026-01-01T00:00:00Z","last_activity_at":"2026-11-30T09:00:00-06:00","last_activity_editor":"vscode/1.95.0/copilot/1.250.0","assignee":{"login":"ide-dev","id":11,"type":"User"}},
      {"created_at":"2026-01-01T00:00:00Z","last_activity_at":"2026-09-01T09:00:00Z","last_activity_editor":"vscode/1.95.0/copilot/1.250.0","assignee":{"login":"cli-dev","id":12,"type":"User"}},
      {"created_at":"2026-01-01T00:00:00Z","last_activity_at":null,"last_activity_editor":null,"assignee":{"login":"idle","id":16,"type":"User"}}]}"#;
    let html = app
        .import_usage(id, "seats.json", seats.as_bytes().to_vec(), &[])
        .await;
    assert!(
        html.contains("GitHub Copilot seat assignments") && html.contains("snapshot 2026-11-30"),
        "{html}"
    );
    assert_eq!(score(&app, "E1").await, Some(1.0));
    assert_eq!(score(&app, "E2").await, Some(0.0));
    assert_eq!(score(&app, "E6").await, Some(0.0));
}

#[tokio::test]
async fn roster_upn_and_vendor_id_match_the_keys_vendors_give() {
    use layer2::roster::import::{EmployeeUsage, KeyKind, ParsedUsage, UsageFormat};
    let roster = "employee_id,email,function,hire_date,time_zone,upn,vendor_id\n\
                  E1,ada@example.org,Eng,2020-01-01,UTC,ada.l@corp.onmicrosoft.com,\n\
                  E2,bob@example.org,Eng,2020-01-01,UTC,,52c514f4-1111-2222-3333-444455556666\n\
                  E3,cy@example.org,Eng,2020-01-01,UTC,,\n";
    let (app, id) = study_with_roster(roster).await;
    let person = |key: &str, key_kind, score| EmployeeUsage {
        key: key.into(),
        key_kind,
        score,
        tiebreak: 0.0,
        active_days: None,
        units: score,
        gross_hours_month: None,
    };
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    // What a Microsoft 365 and an Amazon Q importer hand over: a UPN, a mail where UPN = mail, and an
    // Identity Center id in upper case.
    let parsed = ParsedUsage {
        format: UsageFormat::M365Copilot,
        rows: vec![],
        employees: vec![
            person("Ada.L@corp.onmicrosoft.com", KeyKind::Upn, 3.0),
            person("cy@example.org", KeyKind::Upn, 2.0),
            person(
                " 52C514F4-1111-2222-3333-444455556666 ",
                KeyKind::VendorId,
                1.0,
            ),
            person("nobody@corp.onmicrosoft.com", KeyKind::Upn, 5.0),
        ],
        period_start: day,
        period_end: day,
        has_hours: false,
        unit_label: "x",
        version: String::new(),
        encoding: "UTF-8",
    };
    let study = app.study(id).await;
    let mut tx = layer2::db::begin_write(&app.state.pool).await.unwrap();
    layer2::roster::repo::insert_usage_import(
        &mut tx,
        study.id,
        "m.csv",
        &parsed,
        0,
        0,
        None,
        None,
        app.clock_now(),
    )
    .await
    .unwrap();
    let (matched, unmatched) = layer2::roster::service::recompute(&mut tx, &study)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((matched, unmatched), (3, 1));
    assert_eq!(score(&app, "E1").await, Some(3.0));
    assert_eq!(score(&app, "E2").await, Some(1.0));
    assert_eq!(score(&app, "E3").await, Some(2.0));
}

#[tokio::test]
async fn the_cli_detects_the_format_takes_the_date_order_and_says_what_it_read() {
    let dir = cli_data_dir_with_study("CLI sources").await;
    let path = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let roster = path("roster.csv", GITHUB_ROSTER.as_bytes());
    let o = layer2(
        dir.path(),
        &["import", "roster", "--study", "1", &roster],
        "",
    );
    assert!(o.status.success(), "{}", text(&o));
    let github = path("report.ndjson", &fixture("github_users_28_day.ndjson"));
    let o = layer2(
        dir.path(),
        &["import", "usage", "--study", "1", &github],
        "",
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("GitHub Copilot usage metrics")
            && out.contains("per-user report, NDJSON, period from the report; UTF-8")
            && out.contains("(2025-09-04 to 2025-10-01)")
            && out.contains("6 people matched"),
        "{out}"
    );
    let resaved = path("resaved.csv", DAY_MONTH.replace("E1", "E3").as_bytes());
    let o = layer2(
        dir.path(),
        &["import", "usage", "--study", "1", &resaved],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("choose the date order"), "{}", text(&o));
    let o = layer2(
        dir.path(),
        &[
            "import",
            "usage",
            "--study",
            "1",
            "--date-order",
            "dmy",
            &resaved,
        ],
        "",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("(2026-11-01 to 2026-12-31)"),
        "{}",
        text(&o)
    );
    let o = layer2(
        dir.path(),
        &[
            "import",
            "usage",
            "--study",
            "1",
            "--date-order",
            "ymd",
            &resaved,
        ],
        "",
    );
    assert!(
        !o.status.success() && text(&o).contains("--date-order"),
        "{}",
        text(&o)
    );
}

/// The value of a hidden field of the page's form.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no hidden field {name}"))
        .to_owned()
}

/// Previews GitHub's 28-day report for the study; the preview page.
async fn preview_github(app: &TestApp, id: i64) -> String {
    let r = app
        .upload(
            &format!("/studies/{id}/usage/preview"),
            "users-28-day.ndjson",
            fixture("github_users_28_day.ndjson"),
            &[("format", "auto")],
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    r.text().await.unwrap()
}

#[tokio::test]
async fn the_preview_changes_nothing_and_its_confirmation_imports_the_file_once() {
    let (app, id) = study_with_roster(GITHUB_ROSTER).await;
    let html = preview_github(&app, id).await;
    assert!(
        html.contains("6 in the file: 6 matched to the roster, 0 not on it")
            && html.contains("1 employees (they count as light)")
            && html.contains("<li>E7</li>"),
        "{html}"
    );
    assert_eq!(
        imports(&app, id).await,
        0,
        "nothing changes before confirming"
    );
    let pending = app.state.config.data_dir.join("pending-usage");
    let held = || std::fs::read_dir(&pending).unwrap().count();
    assert_eq!(held(), 1, "the upload waits for the confirmation");
    // The confirmation as the preview's form sends it.
    let fields = [
        "token",
        "format",
        "date_order",
        "hours_per_unit",
        "filename",
        "seal",
    ];
    let values: Vec<String> = fields.iter().map(|f| hidden(&html, f)).collect();
    let confirm: Vec<(&str, &str)> = fields
        .iter()
        .copied()
        .zip(values.iter().map(String::as_str))
        .collect();
    // A hidden choice changed on the way (another format, another date order) imports nothing.
    for (field, value) in [
        ("format", "csv"),
        ("date_order", "mdy"),
        ("filename", "x.csv"),
    ] {
        let tampered: Vec<(&str, &str)> = confirm
            .iter()
            .map(|&(k, v)| if k == field { (k, value) } else { (k, v) })
            .collect();
        let page = app
            .follow(
                app.post(&format!("/studies/{id}/usage/confirm"), &tampered)
                    .await,
            )
            .await;
        assert!(
            page.contains("does not match the preview"),
            "{field}: {page}"
        );
        assert_eq!(imports(&app, id).await, 0, "{field}");
    }
    let page = app
        .post_ok(&format!("/studies/{id}/usage/confirm"), &confirm)
        .await;
    assert!(
        page.contains("Imported 11 rows of GitHub Copilot usage metrics"),
        "{page}"
    );
    assert_eq!(imports(&app, id).await, 1);
    assert_eq!(held(), 0, "the waiting copy is removed once imported");
    // The stored upload is gone: the same confirmation cannot import it twice.
    let again = app
        .follow(
            app.post(&format!("/studies/{id}/usage/confirm"), &confirm)
                .await,
        )
        .await;
    assert!(again.contains("no longer available"), "{again}");
    assert_eq!(imports(&app, id).await, 1);
    // A refused file is listed on the usage page, as with a direct import.
    let r = app
        .upload(
            &format!("/studies/{id}/usage/preview"),
            "org.json",
            fixture("github_organization_28_day.json"),
            &[],
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("no per-user data"));
}

#[tokio::test]
async fn a_purge_removes_a_usage_upload_still_waiting_in_a_preview() {
    let (app, id) = study_with_roster(GITHUB_ROSTER).await;
    preview_github(&app, id).await;
    let pending = app.state.config.data_dir.join("pending-usage");
    let held = || std::fs::read_dir(&pending).unwrap().count();
    assert_eq!(held(), 1);
    app.post_ok(
        &format!("/studies/{id}/privacy/purge"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    assert_eq!(held(), 0, "deleted means gone, the waiting upload too");
}

/// The Viva person query's PersonIds and ChatGPT's members, one employee each.
const VENDOR_ROSTER: &str = "employee_id,email,function,hire_date,time_zone,vendor_id\n\
    E1,alice.johnson@example.com,Research,2020-01-01,UTC,a4897e9b-7fc7-3e17-9b47-a254a0b85f27\n\
    E2,bob.smith@example.com,Sales,2020-01-01,UTC,0b4e1f2a-9c3d-3a8b-8e7f-1d2c3b4a5f60\n\
    E3,dan.pending@example.com,Sales,2020-01-01,UTC,5c6d7e8f-0a1b-3c2d-9e8f-7a6b5c4d3e2f\n";

/// The preview page of a usage file, detected ("auto").
async fn preview(app: &TestApp, id: i64, name: &str) -> String {
    let r = app
        .upload(
            &format!("/studies/{id}/usage/preview"),
            name,
            fixture(name),
            &[("format", "auto")],
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::OK, "{name}");
    r.text().await.unwrap()
}

#[tokio::test]
async fn a_viva_query_re_saved_by_excel_in_a_french_locale_is_previewed_as_read() {
    let (app, id) = study_with_roster(VENDOR_ROSTER).await;
    // ';' between columns, decimal commas, dd/mm/yyyy weeks and Windows-1252, as Excel writes them.
    let html = preview(&app, id, "viva_copilot_weekly_excel_dmy_1252.csv").await;
    assert!(
        html.contains("Viva Insights person query (CSV)")
            && html.contains("with assisted hours; Windows-1252")
            && html.contains("2026-11-01 to 2026-11-28")
            && html.contains("3 in the file: 3 matched to the roster, 0 not on it"),
        "{html}"
    );
}

#[tokio::test]
async fn a_chatgpt_report_says_its_pending_members_were_counted_inactive() {
    let (app, id) = study_with_roster(VENDOR_ROSTER).await;
    let html = preview(&app, id, "chatgpt_monthly_excel_dmy.csv").await;
    assert!(
        html.contains("ChatGPT Enterprise user engagement report (CSV)")
            && html.contains("1 pending member (empty is_active) counted inactive")
            && html.contains("2025-05-01 to 2025-05-31"),
        "{html}"
    );
}

#[tokio::test]
async fn two_records_of_one_person_in_a_usage_file_are_refused_naming_both() {
    let (app, id) = study_with_roster(GITHUB_ROSTER).await;
    let csv = "employee_id,email,period,ai_hours\nE1,,2026-11,2\n,ide@example.org,2026-12,4\nE2,,2026-11,1\n";
    let page = app
        .refused_usage(id, "usage.csv", csv.as_bytes().to_vec(), &[])
        .await;
    assert!(
        page.contains(
            "&#34;E1&#34; and &#34;ide@example.org&#34; are two records of the same roster person (E1)"
        ),
        "{page}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM usage_imports WHERE study_id = ?", id)
            .await,
        0,
        "nothing imported"
    );
}

#[tokio::test]
async fn usage_that_starts_after_today_is_refused() {
    let (app, id) = study_with_roster(GITHUB_ROSTER).await;
    let today = app.clock_now().date_naive();
    let later = today + chrono::Duration::days(40);
    let csv = format!(
        "employee_id,period,ai_hours\nE1,{},2\n",
        later.format("%Y-%m")
    );
    let page = app
        .refused_usage(id, "usage.csv", csv.into_bytes(), &[])
        .await;
    assert!(page.contains("after today"), "{page}");
}
