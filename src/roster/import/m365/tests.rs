//! Fixtures (tests/fixtures/usage/): `m365_graph_example_concealed.{csv,json}` are Microsoft's own
//! examples, verbatim (m365copilot-docs, getMicrosoft365CopilotUsageUserDetail); `m365_v1.csv` has
//! Microsoft's v1 header (verbatim order) with rows written for these tests; `m365_v2.csv` adds the nine
//! v2 columns Microsoft names (their order is undocumented); `m365_graph_beta.json` follows Microsoft's
//! JSON example with names shown; `m365_powershell_export.csv` has the header of a public PowerShell
//! script's Export-Csv (Hickey7737/CopilotUsageGraph) and Windows PowerShell's #TYPE line;
//! `m365_excel_ambiguous_dates.csv` is v1 re-saved by Excel in a day/month locale.
use crate::roster::import::test_util::*;
use crate::roster::import::*;
use serde_json::Value;

const V1: &[u8] = include_bytes!("../../../../tests/fixtures/usage/m365_v1.csv");
const V2: &[u8] = include_bytes!("../../../../tests/fixtures/usage/m365_v2.csv");
const GRAPH_JSON: &[u8] = include_bytes!("../../../../tests/fixtures/usage/m365_graph_beta.json");
const CONCEALED_CSV: &[u8] =
    include_bytes!("../../../../tests/fixtures/usage/m365_graph_example_concealed.csv");
const CONCEALED_JSON: &[u8] =
    include_bytes!("../../../../tests/fixtures/usage/m365_graph_example_concealed.json");
const POWERSHELL: &[u8] =
    include_bytes!("../../../../tests/fixtures/usage/m365_powershell_export.csv");
const EXCEL_TIME: &[u8] =
    include_bytes!("../../../../tests/fixtures/usage/m365_v1_excel_dmy_time.csv");
const EXCEL_TWO_DIGIT: &[u8] =
    include_bytes!("../../../../tests/fixtures/usage/m365_v1_excel_dmy_two_digit_year.csv");
const DUPLICATE_COLUMN: &[u8] =
    include_bytes!("../../../../tests/fixtures/usage/m365_duplicate_column.csv");
const AMBIGUOUS: &[u8] =
    include_bytes!("../../../../tests/fixtures/usage/m365_excel_ambiguous_dates.csv");

fn parse(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
    parse_usage(UsageFormat::M365Copilot, bytes, &UsageOptions::default())
}

fn parse_in(bytes: &[u8], order: DateOrder) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let options = UsageOptions {
        date_order: Some(order),
    };
    parse_usage(UsageFormat::M365Copilot, bytes, &options)
}

fn scores(u: &ParsedUsage) -> Vec<(&str, f64, f64)> {
    u.employees
        .iter()
        .map(|e| (e.key.as_str(), e.score, e.tiebreak))
        .collect()
}

fn per_month(n: f64, days: f64) -> f64 {
    n * 30.44 / days
}

#[test]
fn v1_counts_each_day_known_active_once_over_every_app() {
    let u = parse(V1).unwrap();
    assert_eq!(u.version, "usage report v1, CSV");
    assert_eq!(
        (u.period_start, u.period_end),
        (d("2026-11-01"), d("2026-11-30"))
    );
    assert_eq!(
        u.unit_label,
        "day known active per month (from last-activity dates)"
    );
    let got = scores(&u);
    // Ada: Teams, Chat and the all-apps date on the 29th are one day; Word and Outlook on the 20th one.
    assert_eq!(got[0].0, "ada.lovelace@example.org");
    assert!(close(got[0].1, per_month(3.0, 30.0)) && got[0].2 == -1.0);
    // Bob's last activity is before the period: no day in it, but he ranks above someone never active.
    assert_eq!((got[1].1, got[1].2), (0.0, -46.0));
    assert_eq!((got[2].1, got[2].2), (0.0, -100_000.0));
    assert!(close(got[3].1, per_month(4.0, 30.0)));
    assert!(u.employees.iter().all(|e| e.key_kind == KeyKind::Upn
        && e.active_days.is_none()
        && e.gross_hours_month.is_none()
        && e.units == e.score));
    assert!(!u.has_hours);
    assert_eq!(u.rows[0].row, 2);
    let raw: Value = serde_json::from_str(&u.rows[0].raw_json).unwrap();
    assert_eq!(raw["Display Name"], "Ada Lovelace");
    assert_eq!(raw["User Principal Name"], "Ada.Lovelace@example.org");
}

#[test]
fn v2_with_a_28_day_period_uses_active_usage_days_and_prompts() {
    let u = parse(V2).unwrap();
    assert_eq!(u.version, "usage report v2, CSV");
    assert_eq!(
        (u.period_start, u.period_end),
        (d("2026-11-03"), d("2026-11-30"))
    );
    assert_eq!(u.unit_label, "active day per month");
    let got = scores(&u);
    assert!(close(got[0].1, per_month(14.0, 28.0)));
    assert!(close(got[0].2, per_month(120.0, 28.0)));
    // Bob used only Copilot Chat (web), Edge and an agent: his days count.
    assert_eq!(got[1].0, "bob@example.org");
    assert!(close(got[1].1, per_month(3.0, 28.0)) && close(got[1].2, per_month(9.0, 28.0)));
    assert_eq!((got[2].1, got[2].2), (0.0, 0.0));
    assert!(close(got[3].1, per_month(20.0, 28.0)));
    assert_eq!(u.employees[0].active_days, Some(u.employees[0].score));
}

#[test]
fn graph_json_is_read_with_null_and_empty_dates() {
    let u = parse(GRAPH_JSON).unwrap();
    assert_eq!(u.version, "Graph JSON");
    assert_eq!(
        (u.period_start, u.period_end),
        (d("2026-11-24"), d("2026-11-30"))
    );
    let got = scores(&u);
    // 29th (all apps, Chat), 28th (Teams), 24th (Word); PowerPoint in March is outside the 7 days.
    assert_eq!(got[0].0, "ada.lovelace@example.org");
    assert!(close(got[0].1, per_month(3.0, 7.0)));
    assert_eq!((got[1].1, got[1].2), (0.0, -100_000.0));
    assert_eq!(u.rows[1].row, 2, "records are numbered by position");
    let raw: Value = serde_json::from_str(&u.rows[0].raw_json).unwrap();
    assert_eq!(raw["displayName"], "Ada Lovelace");
}

#[test]
fn concealed_names_are_refused_with_the_setting_to_turn_off() {
    for bytes in [CONCEALED_CSV, CONCEALED_JSON] {
        let problems = parse(bytes).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        let m = &problems[0].message;
        assert!(m.contains("names are concealed"), "{m}");
        assert!(
            m.contains("Settings → Org settings → Services → Reports")
                && m.contains("Display concealed user, group, and site names in all reports"),
            "{m}"
        );
    }
}

#[test]
fn a_powershell_export_without_its_period_is_refused_and_read_when_it_has_one() {
    let problems = parse(POWERSHELL).unwrap_err();
    assert_eq!(places(&problems), vec![(None, Some("Report Period"))]);
    assert!(problems[0].message.contains("7, 28, 30, 90 or 180"));
    // The same export with Graph's reportPeriod kept as a column.
    let text = String::from_utf8(POWERSHELL.to_vec()).unwrap();
    let with_period = text
        .replace(
            "\"loopCopilotLastActivityDate\"",
            "\"loopCopilotLastActivityDate\",\"reportPeriod\"",
        )
        .replace(",\"\"\n", ",\"\",\"7\"\n");
    let u = parse(with_period.as_bytes()).unwrap();
    assert_eq!(u.version, "PowerShell Export-Csv");
    assert_eq!(u.rows[0].row, 3, "the #TYPE line is row 1");
    assert_eq!(u.period_start, d("2026-11-24"));
    // The 29th (all apps, Chat, Teams) once; Word on the 20th is before the 7 days.
    assert!(close(u.employees[0].score, per_month(1.0, 7.0)));
}

#[test]
fn ambiguous_day_month_dates_are_refused_until_the_order_is_chosen() {
    let problems = parse(AMBIGUOUS).unwrap_err();
    assert_eq!(problems.len(), 1);
    let m = &problems[0].message;
    assert!(
        m.contains("\"12/11/2026\"") && m.contains("--date-order dmy") && m.contains("upload page"),
        "{m}"
    );
    let dmy = parse_in(AMBIGUOUS, DateOrder::Dmy).unwrap();
    assert_eq!(
        (dmy.period_start, dmy.period_end),
        (d("2026-11-06"), d("2026-11-12"))
    );
    // 10 and 9 November; the 5th is before the period.
    assert!(close(dmy.employees[0].score, per_month(2.0, 7.0)));
    let mdy = parse_in(AMBIGUOUS, DateOrder::Mdy).unwrap();
    assert_eq!(mdy.period_end, d("2026-12-11"));
    assert_eq!(mdy.employees[0].score, 0.0);
}

#[test]
fn a_day_above_twelve_decides_the_order_and_a_contradiction_is_refused() {
    let text = String::from_utf8(AMBIGUOUS.to_vec()).unwrap();
    let decided = text.replacen("01/11/2026", "30/10/2026", 2);
    let u = parse(decided.as_bytes()).unwrap();
    assert_eq!(u.period_end, d("2026-11-12"));
    let us = "User Principal Name,Last Activity Date,Report Period\na@x.org,11/30/2026,7\nb@x.org,11/03/2026,7\n";
    let u = parse(us.as_bytes()).unwrap();
    assert_eq!(u.period_end, d("2026-11-30"), "read as month/day");
    let mixed = "User Principal Name,Last Activity Date,Report Period\na@x.org,11/30/2026,7\nb@x.org,30/11/2026,7\n";
    let problems = parse(mixed.as_bytes()).unwrap_err();
    let m = &problems[0].message;
    assert!(
        m.contains("mix") && m.contains("\"30/11/2026\" (row 3, column Last Activity Date)"),
        "{problems:?}"
    );
    // A date contradicting the admin's choice is named with its row; so is a day that does not exist.
    let problems = parse_in(us.as_bytes(), DateOrder::Dmy).unwrap_err();
    assert_eq!(
        places(&problems),
        vec![(Some(2), Some("Last Activity Date"))]
    );
    assert!(problems[0].message.contains("can only be month/day"));
    let april = "User Principal Name,Last Activity Date,Report Period\na@x.org,31/04/2026,7\nb@x.org,30/11/2026,7\n";
    let problems = parse(april.as_bytes()).unwrap_err();
    assert_eq!(
        places(&problems),
        vec![(Some(2), Some("Last Activity Date"))]
    );
    assert!(
        problems[0]
            .message
            .contains("\"31/04/2026\" is not a date as day/month/year")
    );
}

#[test]
fn excel_dates_with_a_time_or_a_two_digit_year_are_read_as_their_day() {
    // Excel re-saving in a day/month locale writes "30/11/2026 00:00" for a date cell with a time, or
    // "30/11/26" in the short form; both are the same days as the export's ISO dates.
    let want = parse(V1).unwrap();
    for bytes in [EXCEL_TIME, EXCEL_TWO_DIGIT] {
        let u = parse(bytes).unwrap();
        assert_eq!(
            (u.period_start, u.period_end),
            (want.period_start, want.period_end)
        );
        assert_eq!(scores(&u), scores(&want));
    }
    // An ISO date with a time (a Graph export opened and saved) too.
    let iso = "User Principal Name,Last Activity Date,Report Refresh Date,Report Period\n\
               a@x.org,2026-11-29T00:00:00Z,2026-11-30T00:00:00Z,7\n";
    let u = parse(iso.as_bytes()).unwrap();
    assert_eq!(u.period_end, d("2026-11-30"));
    assert!(close(u.employees[0].score, per_month(1.0, 7.0)));
}

#[test]
fn a_column_given_twice_is_refused_and_never_read() {
    let problems = parse(DUPLICATE_COLUMN).unwrap_err();
    assert_eq!(
        places(&problems),
        vec![(Some(1), Some("Last activity date"))]
    );
    assert!(
        problems[0].message.contains("column 6 is column 4 again"),
        "{problems:?}"
    );
    // "User name" is the admin center's label for the principal name: beside it, it is a second one.
    let two_names = "User Principal Name,User name,Last Activity Date,Report Period\na@x.org,b@x.org,2026-11-01,7\n";
    assert_eq!(
        places(&parse(two_names.as_bytes()).unwrap_err()),
        vec![(Some(1), Some("User name"))]
    );
}

#[test]
fn an_empty_count_in_the_v2_report_is_refused_with_its_row() {
    let text = String::from_utf8(V2.to_vec()).unwrap();
    // Ada's active days (the score) and Bob's prompts for all apps left empty.
    let blank = text
        .replacen(",120,30,0,14,28", ",120,30,0,,28", 1)
        .replacen(",9,0,6,3,28", ",,0,6,3,28", 1);
    let problems = parse(blank.as_bytes()).unwrap_err();
    assert_eq!(
        places(&problems),
        vec![
            (Some(2), Some("Active Usage Days for all apps")),
            (Some(3), Some("Prompts submitted for all apps")),
        ]
    );
    assert!(
        problems[0].message.contains("not read as 0"),
        "{problems:?}"
    );
}

#[test]
fn admin_center_labels_are_read_like_graphs_headers() {
    // The admin center's table labels (Microsoft's page) and the capitalisation a community analysis of
    // a real export reports; whether the export's header uses them is unverified, so both are accepted.
    let text = "Report Refresh Date,User name,Display name,Last activity date (UTC),\
                Last activity date of Teams Copilot (UTC),Last activity date of Copilot Chat (web) (UTC),\
                Last activity date of any agent (UTC),Prompts submitted for All Apps,Active Usage Days for All Apps,Report Period\n\
                2026-11-30,ada.lovelace@example.org,Ada Lovelace,2026-11-29,2026-11-29,2026-11-28,2026-11-20,33,6,28\n";
    let u = parse(text.as_bytes()).unwrap();
    assert_eq!(u.version, "usage report v2, CSV");
    assert!(close(u.employees[0].score, per_month(6.0, 28.0)));
    assert!(close(u.employees[0].tiebreak, per_month(33.0, 28.0)));
    let v1 = "User name,Last activity date (UTC),Last activity date of Teams Copilot (UTC),\
              Last activity date of any agent (UTC),Report Period\n\
              ada.lovelace@example.org,2026-11-29,2026-11-29,2026-11-20,30\n";
    let u = parse(v1.as_bytes()).unwrap();
    assert!(close(u.employees[0].score, per_month(2.0, 30.0)));
}

#[test]
fn v2_counts_are_read_from_graph_json_wherever_they_sit() {
    // Graph documents no JSON names for v2's counts: the camelCase of the CSV headers is read at the
    // top level or in the period entry.
    let json = r#"{"value":[{"reportRefreshDate":"2026-11-30","userPrincipalName":"a@example.org",
        "lastActivityDate":"2026-11-29","promptsSubmittedForAllApps":12,
        "copilotActivityUserDetailsByPeriod":[{"reportPeriod":28,"activeUsageDaysForAllApps":7}]}]}"#;
    let u = parse(json.as_bytes()).unwrap();
    assert_eq!(u.version, "Graph JSON v2");
    assert!(close(u.employees[0].score, per_month(7.0, 28.0)));
    assert!(close(u.employees[0].tiebreak, per_month(12.0, 28.0)));
}

#[test]
fn a_report_re_saved_by_excel_in_a_european_locale_is_read() {
    // Excel (e.g. de-DE, fr-FR) writes a BOM, ';' between columns and day.month.year or day/month/year.
    let text = "\u{feff}Report Refresh Date;User Principal Name;Last Activity Date;Word Copilot Last Activity Date;Report Period\r\n\
                30.11.2026;ada.lovelace@example.org;29.11.2026;05.11.2026;30\r\n";
    let u = parse(text.as_bytes()).unwrap();
    assert_eq!(
        (u.period_start, u.period_end),
        (d("2026-11-01"), d("2026-11-30"))
    );
    assert!(close(u.employees[0].score, per_month(2.0, 30.0)));
}

#[test]
fn graph_pages_saved_one_after_the_other_are_one_report() {
    // Graph pages its JSON (`@odata.nextLink`); an admin may save every page into one file.
    let page = |upn: &str, next: &str| {
        format!(
            "{{{next}\"value\":[{{\"reportRefreshDate\":\"2026-11-30\",\"userPrincipalName\":\"{upn}\",\
             \"lastActivityDate\":\"2026-11-30\",\"copilotActivityUserDetailsByPeriod\":[{{\"reportPeriod\":7}}]}}]}}\n"
        )
    };
    let text = page(
        "a@example.org",
        "\"@odata.nextLink\":\"https://graph.microsoft.com/beta/next\",",
    ) + &page("b@example.org", "");
    let u = parse(text.as_bytes()).unwrap();
    assert_eq!(u.employees.len(), 2);
    assert_eq!(u.employees[1].key, "b@example.org");
}

#[test]
fn m365_problems() {
    let report = "User Principal Name,Last Activity Date,Word Copilot Last Activity Date,Report Period\n\
                  a@x.org,2026-11-01,,30\n\
                  A@X.org,2026-11-01,,30\n\
                  ,2026-11-01,,30\n\
                  c@x.org,2026-11-01,soon,30\n\
                  d@x.org,2026-11-01,,14\n\
                  e@x.org,2026-11-01,,7\n";
    let problems = parse(report.as_bytes()).unwrap_err();
    assert_eq!(
        places(&problems),
        vec![
            (Some(3), Some("User Principal Name")),
            (Some(4), Some("User Principal Name")),
            (Some(5), Some("Word Copilot Last Activity Date")),
            (Some(6), Some("Report Period")),
            (Some(7), Some("Report Period")),
        ]
    );
    assert!(problems[3].message.contains("7, 28, 30, 90 or 180"));
    let missing = parse(b"Display Name\nA\n").unwrap_err();
    assert_eq!(
        places(&missing),
        vec![
            (Some(1), Some("User Principal Name")),
            (Some(1), Some("Last Activity Date"))
        ]
    );
    let dateless = parse(b"User Principal Name,Last Activity Date,Report Period\na@x.org,,7\n");
    assert_eq!(
        dateless.unwrap_err()[0].column.as_deref(),
        Some("Report Refresh Date")
    );
    let v2 = "User Principal Name,Last Activity Date,Active Usage Days for all apps,Prompts submitted for all apps,Report Period\n\
              a@x.org,2026-11-01,8,12,7\n\
              b@x.org,2026-11-01,2,many,7\n";
    assert_eq!(
        places(&parse(v2.as_bytes()).unwrap_err()),
        vec![(Some(3), Some("Prompts submitted for all apps")),]
    );
    let v2 = v2.replace("many", "1");
    let problems = parse(v2.as_bytes()).unwrap_err();
    assert_eq!(
        places(&problems),
        vec![(Some(2), Some("Active Usage Days for all apps"))]
    );
    // Microsoft's older JSON example has a trailing comma: not JSON, said so.
    let broken = "{\"value\":[{\"userPrincipalName\":\"a@x.org\",\"copilotActivityUserDetailsByPeriod\":[{\"reportPeriod\": 7,}]}]}";
    assert!(
        parse(broken.as_bytes()).unwrap_err()[0]
            .message
            .contains("not valid JSON")
    );
    let two = "{\"value\":[{\"userPrincipalName\":\"a@x.org\",\"lastActivityDate\":\"2026-11-01\",\"copilotActivityUserDetailsByPeriod\":[{\"reportPeriod\":7},{\"reportPeriod\":30}]}]}";
    assert_eq!(
        places(&parse(two.as_bytes()).unwrap_err()),
        vec![(Some(1), Some("copilotActivityUserDetailsByPeriod"))]
    );
}

#[test]
fn a_last_activity_after_the_refresh_date_is_refused_with_its_row() {
    let text = String::from_utf8(V1.to_vec()).unwrap();
    // Dee's Word date moved a month into the future of the report.
    let later = text.replacen(",2026-11-25,,,2026-11-25,", ",2026-11-25,,,2026-12-25,", 1);
    let problems = parse(later.as_bytes()).unwrap_err();
    assert_eq!(
        places(&problems),
        vec![(Some(5), Some("Word Copilot Last Activity Date"))]
    );
    assert!(
        problems[0]
            .message
            .contains("2026-12-25 is after the report's refresh date 2026-11-30"),
        "{problems:?}"
    );
}
