//! Cursor team usage: the Admin API's daily usage JSON (`POST /teams/daily-usage-data`) and the team
//! dashboard's analytics CSV, one record per member and day.
//!
//! Score: active days per month (a day is active when `isActive` / `Is Active` is true or any request
//! count of that day is above zero, so Bugbot, Cmd+K, tab, chat, edit and agent use all count, each day
//! once even when a member has a record per team). Tiebreak: requests per month. Matched on email.
//! A response that says more pages follow (`pagination.hasNextPage`, or `page` below `totalPages`) is
//! refused: the members on the missing pages would be counted as never active. The dashboard CSV's
//! dates may be re-saved by Excel as short dates; their order follows the study's date-order rule.

use chrono::{DateTime, NaiveDate};
use csv::StringRecord;
use serde_json::{Map, Value};

use super::fields::{ShortDate, ShortDates, check_email, parse_iso_date};
use super::json::json_count;
use super::table::{Layout, Problems, RawJson, Table, decode, quote, refuse};
use super::{
    DateOrder, ImportProblem, KeyKind, ParsedUsage, RawUsageRow, UsageFormat, UsageOptions,
    future_day,
};

// The other vendor formats reach these through this module.
pub(super) use super::json::{json_type, record_list as json_records};
pub(super) use super::{DAYS_PER_MONTH, DayTally};

/// A non-negative whole count of a CSV cell; empty counts as 0 (vendors leave zeros empty).
pub(super) fn cell_count(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    s.parse::<u64>()
        .map_err(|_| format!("{} is not a whole number ≥ 0", quote(s)))
}

/// Header names compared loosely: lowercase letters and digits only, so "Cmd+K Usages", "cmdkUsages" and
/// "Total_Copilot_active_days" / "Total Copilot active days" meet.
pub(super) fn loose(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The first column whose loose name is one of `names`.
pub(super) fn loose_col(header: &[String], names: &[&str]) -> Option<usize> {
    header
        .iter()
        .position(|h| names.contains(&loose(h).as_str()))
}

// ---------------------------------------------------------------------------------------------
// Cursor
// ---------------------------------------------------------------------------------------------

/// Admin API fields that count a member's own requests (documented in Cursor's Admin API reference).
const API_COUNTS: [&str; 8] = [
    "composerRequests",
    "chatRequests",
    "agentRequests",
    "cmdkUsages",
    "bugbotUsages",
    "totalTabsAccepted",
    "totalApplies",
    "totalAccepts",
];

/// Dashboard CSV columns for the same counts, as loose names. Cursor's analytics page documents the
/// first of each group; the others are renamed headers community parsers meet in older exports
/// (unverified against Cursor), accepted so those files import too.
const CSV_COUNTS: [&[&str]; 8] = [
    &["editrequests", "composerrequests"],
    &["askrequests", "chatrequests"],
    &["agentrequests"],
    &["cmdkusages", "cmdkrequests"],
    &["bugbotusages", "bugbotrequests"],
    &["tabsaccepted"],
    &["chattotalapplies"],
    &["chattotalaccepts"],
];

/// Parses either Cursor export, told apart by its first character.
pub(super) fn parse_cursor(
    bytes: &[u8],
    options: &UsageOptions,
    today: Option<NaiveDate>,
) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let start = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if matches!(start.trim_ascii_start().first(), Some(b'{' | b'[')) {
        parse_api(bytes, today)
    } else {
        parse_dashboard(bytes, options.date_order, today)
    }
}

/// Refuses a response that is one page of several when not every page is in the file.
fn check_pages(wrappers: &[Map<String, Value>]) -> Result<(), Vec<ImportProblem>> {
    let mut pages = Vec::new();
    let (mut total, mut more) = (0u64, false);
    for w in wrappers {
        let Some(Value::Object(p)) = w.get("pagination") else {
            continue;
        };
        if let Some(n) = p.get("page").and_then(Value::as_u64) {
            pages.push(n);
        }
        total = total.max(p.get("totalPages").and_then(Value::as_u64).unwrap_or(0));
        more |= p.get("hasNextPage").and_then(Value::as_bool) == Some(true);
    }
    let missing = if total > 0 {
        (1..=total).any(|n| !pages.contains(&n))
    } else {
        more && wrappers.len() < 2
    };
    if !missing {
        return Ok(());
    }
    let which = match (pages.as_slice(), total) {
        ([one], t) if t > 0 => format!("page {one} of {t}"),
        (_, t) if t > 0 => format!("{} of {t} pages", pages.len()),
        _ => "one page".to_owned(),
    };
    refuse(
        None,
        Some("pagination"),
        format!(
            "the file holds {which} of Cursor's daily usage (pagination.hasNextPage is true): download \
             every page (or merge them into one file) and upload again; the members on the missing \
             pages would otherwise count as never active"
        ),
    )
}

fn epoch_day(ms: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp_millis(ms).map(|t| t.date_naive())
}

/// The day of an Admin API record: the newer `day` (YYYY-MM-DD) or `date` (epoch milliseconds, UTC
/// midnight in Cursor's examples).
fn api_day(obj: &Map<String, Value>) -> Result<NaiveDate, (&'static str, String)> {
    if let Some(Value::String(s)) = obj.get("day") {
        return parse_iso_date(s.trim()).ok_or_else(|| {
            (
                "day",
                format!("{} is not a date in the form YYYY-MM-DD", quote(s)),
            )
        });
    }
    match obj.get("date") {
        None => Err(("date", "missing field \"date\"".into())),
        Some(Value::Number(n)) => n.as_i64().and_then(epoch_day).ok_or_else(|| {
            (
                "date",
                format!(
                    "{} is not a time in epoch milliseconds",
                    quote(&n.to_string())
                ),
            )
        }),
        Some(other) => Err((
            "date",
            format!(
                "date must be a number (epoch milliseconds), not {}",
                json_type(other)
            ),
        )),
    }
}

fn parse_api(bytes: &[u8], today: Option<NaiveDate>) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let list = json_records(bytes)?;
    check_pages(&list.file.wrappers)?;
    let file = &list.file;
    let mut problems = Problems::default();
    let mut tally = DayTally::new();
    let mut rows = Vec::with_capacity(list.records.len());
    for (row, value) in list.records {
        let Value::Object(obj) = &value else {
            problems.push(
                Some(row),
                None,
                format!("the record is a JSON {}, not an object", json_type(&value)),
            );
            continue;
        };
        let day = api_day(obj)
            .map_err(|(col, m)| problems.at(row, col, m))
            .ok();
        if let Some(m) = day.and_then(|d| future_day(d, today)) {
            let col = if obj.contains_key("day") {
                "day"
            } else {
                "date"
            };
            problems.at(row, col, m);
        }
        let email = match obj.get("email") {
            Some(Value::String(s)) if !s.trim().is_empty() => match check_email(s.trim()) {
                Ok(()) => Some(s.trim().to_lowercase()),
                Err(m) => {
                    problems.at(row, "email", m);
                    None
                }
            },
            // Cursor types `email` as optional; such a member can't be matched to the roster by us.
            _ => {
                problems.at(
                    row,
                    "email",
                    "the record has no email, so it cannot be matched to the roster \
                     (Cursor's daily usage is matched on the member's email)",
                );
                None
            }
        };
        let active = match obj.get("isActive") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                problems.at(
                    row,
                    "isActive",
                    format!("isActive must be true or false, not {}", json_type(other)),
                );
                false
            }
        };
        let mut count = 0u64;
        for field in API_COUNTS {
            match json_count(obj, field) {
                Ok(n) => count += n,
                Err(m) => problems.at(row, field, m),
            }
        }
        let (Some(day), Some(email)) = (day, email) else {
            continue;
        };
        tally.add(&email, day, active || count > 0, count as f64);
        if problems.is_empty() {
            rows.push(RawUsageRow {
                row,
                key: email,
                raw_json: value.to_string(),
            });
        }
    }
    // The request's own window, when the file keeps the response's `period` ([startDate, endDate) in ms).
    let mut stated: Option<(NaiveDate, NaiveDate)> = None;
    for w in &file.wrappers {
        let Some(Value::Object(p)) = w.get("period") else {
            continue;
        };
        let bound = |k: &str| p.get(k).and_then(Value::as_i64);
        let (Some(s), Some(e)) = (bound("startDate"), bound("endDate")) else {
            problems.push(
                None,
                Some("period"),
                "period must hold startDate and endDate in epoch milliseconds",
            );
            continue;
        };
        match (epoch_day(s), epoch_day(e.saturating_sub(1))) {
            (Some(s), Some(e)) if s <= e => {
                stated = Some(stated.map_or((s, e), |(a, b)| (a.min(s), b.max(e))));
            }
            _ => problems.push(
                None,
                Some("period"),
                "period's endDate is not after its startDate",
            ),
        }
    }
    if rows.is_empty() && problems.is_empty() {
        return refuse(None, None, "the file has no daily usage records");
    }
    let (Some(first), Some(last), true) = (tally.first, tally.last, problems.is_empty()) else {
        return Err(problems.into_vec());
    };
    let (start, end) = stated.map_or((first, last), |(s, e)| (s.min(first), e.max(last)));
    Ok(ParsedUsage {
        format: UsageFormat::Cursor,
        rows,
        employees: tally.employees(KeyKind::Email, start, end),
        period_start: start,
        period_end: end,
        has_hours: false,
        unit_label: "active day per month",
        version: format!("Admin API daily usage, {}", file.layout.label()),
        encoding: file.encoding,
    })
}

/// `Date` of the dashboard CSV: an ISO 8601 timestamp (its UTC day) or, in some exports, YYYY-MM-DD.
fn csv_day(s: &str) -> Option<NaiveDate> {
    parse_iso_date(s).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.naive_utc().date())
    })
}

/// A spreadsheet's short date, alone or followed by a time ("18/03/2024 06:56"), as Excel re-saves
/// the dashboard's timestamps.
fn short_date(s: &str) -> Option<ShortDate> {
    ShortDate::parse(s.split_whitespace().next().unwrap_or(""))
}

fn csv_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        // Cursor: "boolean values default to false" (an empty cell).
        "false" | "0" | "no" | "" => Some(false),
        _ => None,
    }
}

fn parse_dashboard(
    bytes: &[u8],
    chosen: Option<DateOrder>,
    today: Option<NaiveDate>,
) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let text = decode(bytes, Layout::Csv)?;
    let mut t = Table::open(&text)?;
    let mut problems = Problems::default();
    let header = t.header.clone();
    // The per-request "Usage" export (Date, User, Kind, Model, …) is a different file.
    if loose_col(&header, &["email"]).is_none()
        && loose_col(&header, &["kind"]).is_some()
        && loose_col(&header, &["model"]).is_some()
    {
        return refuse(
            Some(1),
            None,
            "this is Cursor's usage-events export (one row per request); download the team's \
             analytics export (one row per member and day, with Email and Is Active) instead",
        );
    }
    let email_col = t.required("Email", &mut problems);
    let date_col = t.required("Date", &mut problems);
    let (Some(email_col), Some(date_col), false) = (email_col, date_col, problems.total > 0) else {
        return Err(problems.into_vec());
    };
    let active_col = loose_col(&header, &["isactive"]);
    let counts: Vec<usize> = CSV_COUNTS
        .iter()
        .filter_map(|names| loose_col(&header, names))
        .collect();
    // Short dates decide their day/month order over the whole file first, as the other sources do.
    let mut shorts = ShortDates::default();
    let mut any_short = false;
    {
        let mut pre = Table::open(&text)?;
        let mut rec = StringRecord::new();
        let mut ignored = Problems::default();
        while let Some(row) = pre.next(&mut rec, &mut ignored) {
            let date = rec[date_col].trim();
            if csv_day(date).is_none()
                && let Some(d) = short_date(date)
            {
                shorts.see(date, d, row, &header[date_col]);
                any_short = true;
            }
        }
    }
    let order = if any_short {
        match shorts.order(chosen) {
            Ok(o) => Some(o),
            Err(p) => return Err(vec![p]),
        }
    } else {
        None
    };
    let raw = RawJson::new(&header);
    let mut tally = DayTally::new();
    let mut rows = Vec::new();
    let mut rec = StringRecord::new();
    while let Some(row) = t.next(&mut rec, &mut problems) {
        let email = rec[email_col].trim();
        // Some exports end with summary rows ("… active users"), reported by community parsers.
        if email.to_ascii_lowercase().contains("active users") {
            continue;
        }
        let key = match check_email(email) {
            Ok(()) => Some(email.to_lowercase()),
            Err(m) => {
                problems.at(row, &header[email_col], m);
                None
            }
        };
        let date = rec[date_col].trim();
        let day = csv_day(date).or_else(|| short_date(date)?.date(order?));
        if day.is_none() {
            problems.at(
                row,
                &header[date_col],
                format!(
                    "{} is not a date (YYYY-MM-DD, an ISO 8601 time or a spreadsheet's short date)",
                    quote(date)
                ),
            );
        }
        if let Some(m) = day.and_then(|d| future_day(d, today)) {
            problems.at(row, &header[date_col], m);
        }
        let active = match active_col.map(|c| (c, rec[c].trim())) {
            None => false,
            Some((c, v)) => csv_bool(v).unwrap_or_else(|| {
                problems.at(
                    row,
                    &header[c],
                    format!("{} is not true or false", quote(v)),
                );
                false
            }),
        };
        let mut count = 0u64;
        for &c in &counts {
            match cell_count(&rec[c]) {
                Ok(n) => count += n,
                Err(m) => problems.at(row, &header[c], m),
            }
        }
        let (Some(key), Some(day)) = (key, day) else {
            continue;
        };
        tally.add(&key, day, active || count > 0, count as f64);
        if problems.is_empty() {
            rows.push(RawUsageRow {
                row,
                key,
                raw_json: raw.row(&rec),
            });
        }
    }
    if problems.is_empty() {
        t.no_data_rows()?;
    }
    let (Some(first), Some(last), true) = (tally.first, tally.last, problems.is_empty()) else {
        return Err(problems.into_vec());
    };
    Ok(ParsedUsage {
        format: UsageFormat::Cursor,
        rows,
        employees: tally.employees(KeyKind::Email, first, last),
        period_start: first,
        period_end: last,
        has_hours: false,
        unit_label: "active day per month",
        version: "dashboard analytics CSV".into(),
        encoding: text.encoding,
    })
}

#[cfg(test)]
mod tests {
    //! Fixtures: `cursor_admin_api_example.json` — the example response of Cursor's Admin API docs
    //! (`POST /teams/daily-usage-data`), values verbatim; `cursor_org_api.json` — the organization API's
    //! example row, verbatim, wrapped with the `period` and `pagination` the docs show, plus the same member
    //! in a second team and an inactive member written like it; `cursor_dashboard.csv` — the headers of
    //! Cursor's Analytics page in its order, with rows written for these tests (Cursor publishes none).
    use crate::roster::import::test_util::*;
    use crate::roster::import::*;

    const API: &[u8] =
        include_bytes!("../../../tests/fixtures/usage/cursor_admin_api_example.json");
    const ORG: &[u8] = include_bytes!("../../../tests/fixtures/usage/cursor_org_api.json");
    const DASHBOARD: &[u8] = include_bytes!("../../../tests/fixtures/usage/cursor_dashboard.csv");
    /// `cursor_org_api.json` with its pagination saying page 1 of 2 (`hasNextPage: true`).
    const FIRST_PAGE: &[u8] =
        include_bytes!("../../../tests/fixtures/usage/cursor_first_page.json");
    /// `cursor_dashboard.csv` re-saved by Excel in a day/month locale: `02/11/2026 00:00`, CRLF.
    const EXCEL_DMY: &[u8] =
        include_bytes!("../../../tests/fixtures/usage/cursor_dashboard_excel_dmy.csv");

    fn parse(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
        parse_usage(UsageFormat::Cursor, bytes, &UsageOptions::default())
    }

    #[test]
    fn the_admin_api_example_gives_active_days_in_its_stated_period() {
        let u = parse(API).unwrap();
        assert_eq!(u.version, "Admin API daily usage, JSON object");
        // endDate 2024-03-20T00:00Z is exclusive.
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2024-03-18"), d("2024-03-19"))
        );
        let dev = &u.employees[0];
        assert_eq!(
            (dev.key.as_str(), dev.key_kind),
            ("developer@company.com", KeyKind::Email)
        );
        assert!(close(dev.score, 2.0 * 30.44 / 2.0));
        assert!(close(dev.tiebreak, (704.0 + 931.0) * 30.44 / 2.0));
        assert_eq!(dev.active_days, Some(dev.score));
        assert_eq!(u.rows.len(), 2);
        assert_eq!(u.rows[1].row, 2);
    }

    #[test]
    fn a_member_in_two_teams_counts_each_day_once() {
        let u = parse(ORG).unwrap();
        let dev = &u.employees[0];
        assert!(close(dev.score, 1.0 * 30.44 / 2.0), "{}", dev.score);
        assert!(close(dev.tiebreak, (704.0 + 4.0) * 30.44 / 2.0));
        let quiet = &u.employees[1];
        assert_eq!(
            (quiet.key.as_str(), quiet.score),
            ("quiet@company.com", 0.0)
        );
        assert_eq!(u.rows.len(), 3, "every record kept");
    }

    #[test]
    fn records_without_a_wrapper_take_their_period_from_the_days_present() {
        let ndjson = "{\"date\":1710720000000,\"isActive\":true,\"email\":\"a@company.com\"}\n\
                      {\"date\":1711238400000,\"isActive\":false,\"chatRequests\":2,\"email\":\"b@company.com\"}\n";
        let u = parse(ndjson.as_bytes()).unwrap();
        assert_eq!(u.version, "Admin API daily usage, NDJSON");
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2024-03-18"), d("2024-03-24"))
        );
        // A request that day counts even when isActive is false.
        assert!(close(u.employees[1].score, 30.44 / 7.0));
    }

    #[test]
    fn the_dashboard_csv_counts_every_surface() {
        let u = parse(DASHBOARD).unwrap();
        assert_eq!(u.version, "dashboard analytics CSV");
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-02"), d("2026-11-30"))
        );
        let months = 29.0 / 30.44;
        let got: Vec<_> = u
            .employees
            .iter()
            .map(|e| (e.key.as_str(), e.score, e.tiebreak))
            .collect();
        assert_eq!(got[0].0, "ada@example.org");
        assert!(close(got[0].1, 2.0 / months) && close(got[0].2, 118.0 / months));
        // Bob's only use was a Bugbot review, with Is Active false: still an active day.
        assert!(close(got[1].1, 1.0 / months));
        assert_eq!(got[2].1, 0.0);
        assert_eq!(u.rows.len(), 4);
    }

    #[test]
    fn cursor_problems() {
        let text = "{\"date\":1710720000000,\"isActive\":true}\n\
                    {\"date\":\"1710720000000\",\"email\":\"a@company.com\"}\n\
                    {\"date\":1710720000000,\"isActive\":\"yes\",\"email\":\"b@company.com\"}\n\
                    {\"date\":1710720000000,\"chatRequests\":-1,\"email\":\"c@company.com\"}\n\
                    {\"day\":\"18/03/2024\",\"email\":\"d@company.com\"}\n\
                    \"text\"\n";
        let problems = parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            places(&problems),
            vec![
                (Some(1), Some("email")),
                (Some(2), Some("date")),
                (Some(3), Some("isActive")),
                (Some(4), Some("chatRequests")),
                (Some(5), Some("day")),
                (Some(6), None),
            ]
        );
        assert!(problems[0].message.contains("no email"));
        let events = "Date,User,Kind,Model,Max Mode,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost\n\
                      \"2026-03-20T06:56:12.521Z\",\"a@example.org\",\"Included\",\"composer-2-fast\",\"No\",\"160000\",\"159990\",\"578207\",\"2055\",\"740252\",\"0.49\"\n";
        let problems = parse(events.as_bytes()).unwrap_err();
        assert!(
            problems[0].message.contains("usage-events export"),
            "{problems:?}"
        );
        let csv = "Date,Email,Is Active,Agent Requests\n2026-11-02,a@example.org,maybe,1\nyesterday,b@example.org,true,x\n";
        assert_eq!(
            places(&parse(csv.as_bytes()).unwrap_err()),
            vec![
                (Some(2), Some("Is Active")),
                (Some(3), Some("Date")),
                (Some(3), Some("Agent Requests")),
            ]
        );
        assert!(
            parse(b"{\"data\":[]}").unwrap_err()[0]
                .message
                .contains("no daily usage")
        );
        assert!(
            parse(b"{\"data\":[{\"date\":1}]").unwrap_err()[0]
                .message
                .contains("not valid JSON")
        );
    }

    #[test]
    fn a_first_page_of_several_is_refused_and_all_pages_together_are_read() {
        let problems = parse(FIRST_PAGE).unwrap_err();
        assert_eq!(places(&problems), vec![(None, Some("pagination"))]);
        assert!(
            problems[0].message.starts_with(
                "the file holds page 1 of 2 of Cursor's daily usage (pagination.hasNextPage is true): \
                 download every page"
            ),
            "{}",
            problems[0].message
        );
        // Both pages saved one after the other: complete.
        let second = std::str::from_utf8(FIRST_PAGE)
            .unwrap()
            .replace("\"page\": 1,", "\"page\": 2,")
            .replace("\"hasNextPage\": true", "\"hasNextPage\": false");
        let both = [FIRST_PAGE, second.as_bytes()].concat();
        assert!(parse(&both).is_ok());
    }

    #[test]
    fn dashboard_dates_re_saved_by_excel_follow_the_date_order_rule() {
        // 30/11/2026 can only be day/month: the file decides, and reads as the original export.
        let u = parse(EXCEL_DMY).unwrap();
        let original = parse(DASHBOARD).unwrap();
        assert_eq!(
            (u.period_start, u.period_end, u.employees),
            (
                original.period_start,
                original.period_end,
                original.employees
            )
        );
        // Without that row every date reads both ways: refused until the admin chooses.
        let text = std::str::from_utf8(EXCEL_DMY).unwrap();
        let ambiguous: String = text
            .split_inclusive('\n')
            .filter(|l| !l.starts_with("30/11"))
            .collect();
        let problems = parse(ambiguous.as_bytes()).unwrap_err();
        assert_eq!(places(&problems), vec![(None, Some("Date"))]);
        assert!(problems[0].message.contains("choose the date order"));
        let dmy = UsageOptions {
            date_order: Some(DateOrder::Dmy),
        };
        let u = parse_usage(UsageFormat::Cursor, ambiguous.as_bytes(), &dmy).unwrap();
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-02"), d("2026-11-03"))
        );
    }

    #[test]
    fn a_day_after_today_is_refused_with_its_row() {
        let ndjson = "{\"day\":\"2026-12-02\",\"isActive\":true,\"email\":\"a@company.com\"}\n";
        let problems =
            super::parse_cursor(ndjson.as_bytes(), &UsageOptions::default(), Some(today()))
                .unwrap_err();
        assert_eq!(places(&problems), vec![(Some(1), Some("day"))]);
        assert!(problems[0].message.contains("in the future"));
        let csv = "Date,Email,Is Active\n2026-12-02,a@example.org,true\n";
        let problems = super::parse_cursor(csv.as_bytes(), &UsageOptions::default(), Some(today()))
            .unwrap_err();
        assert_eq!(places(&problems), vec![(Some(2), Some("Date"))]);
    }
}
