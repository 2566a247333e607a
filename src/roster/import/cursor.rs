//! Cursor team usage: the Admin API's daily usage JSON (`POST /teams/daily-usage-data`) and the team
//! dashboard's analytics CSV, one record per member and day. Also the helpers the other vendor formats of
//! issue 12 share until the merge moves them beside `table.rs` (JSON records, per-day tallies).
//!
//! Score: active days per month (a day is active when `isActive` / `Is Active` is true or any request
//! count of that day is above zero, so Bugbot, Cmd+K, tab, chat, edit and agent use all count, each day
//! once even when a member has a record per team). Tiebreak: requests per month. Matched on email.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate};
use csv::StringRecord;
use serde_json::{Map, Value};

use super::fields::{check_email, parse_iso_date};
use super::table::{Layout, Problems, RawJson, Table, decode, quote, refuse};
use super::{EmployeeUsage, ImportProblem, KeyKind, ParsedUsage, People, RawUsageRow, UsageFormat};

/// Average days per month, to turn "days in the period" into months.
pub(super) const DAYS_PER_MONTH: f64 = 30.44;

// ---------------------------------------------------------------------------------------------
// Shared by the vendor formats of issue 12 (to be replaced by the shared JSON reader at merge)
// ---------------------------------------------------------------------------------------------

/// The records of a JSON usage file, whatever shape it came in.
pub(super) struct JsonFile {
    /// (row, record): the line of a top-level record, or the 1-based position of a record in an array.
    pub(super) records: Vec<(usize, Value)>,
    /// The wrapping objects (`{"data": [...], "period": {...}}`) without their list of records.
    pub(super) wrappers: Vec<Map<String, Value>>,
    /// "NDJSON", "JSON array", "JSON object" or "JSON".
    pub(super) shape: &'static str,
}

/// Reads NDJSON, one JSON array, a wrapping object (`{"value":[…]}`, `{"data":[…]}`, `{"items":[…]}`),
/// pretty-printed JSON, or several such documents one after the other (pages saved into one file).
pub(super) fn json_records(text: &str) -> Result<JsonFile, Vec<ImportProblem>> {
    const WRAPPERS: [&str; 3] = ["value", "data", "items"];
    let first = text.trim_start().chars().next();
    if !matches!(first, Some('{' | '[')) {
        return refuse(
            Some(1),
            None,
            "the file is not JSON (it should start with { or [)",
        );
    }
    let mut out = JsonFile {
        records: Vec::new(),
        wrappers: Vec::new(),
        shape: "JSON",
    };
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let (mut tops, mut index) = (0usize, 0usize);
    // Lines counted incrementally so a long NDJSON file is scanned once.
    let (mut line, mut counted) = (1usize, 0usize);
    loop {
        let offset = stream.byte_offset();
        let Some(next) = stream.next() else { break };
        let value = match next {
            Ok(v) => v,
            Err(e) => {
                return refuse(
                    Some(e.line()),
                    None,
                    format!("the file is not valid JSON: {e}"),
                );
            }
        };
        let start = offset
            + text[offset..]
                .find(|c: char| !c.is_whitespace())
                .unwrap_or(0);
        line += text.as_bytes()[counted..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        counted = start;
        tops += 1;
        match value {
            Value::Array(items) => {
                out.shape = "JSON array";
                for item in items {
                    index += 1;
                    out.records.push((index, item));
                }
            }
            Value::Object(mut obj) => {
                let list = WRAPPERS
                    .iter()
                    .find(|k| obj.get(**k).is_some_and(Value::is_array));
                if let Some(key) = list {
                    out.shape = "JSON object";
                    if let Some(Value::Array(items)) = obj.remove(*key) {
                        for item in items {
                            index += 1;
                            out.records.push((index, item));
                        }
                    }
                    out.wrappers.push(obj);
                } else {
                    out.records.push((line, Value::Object(obj)));
                }
            }
            other => out.records.push((line, other)),
        }
    }
    if tops > 1 {
        out.shape = "NDJSON";
    }
    Ok(out)
}

/// What kind of JSON value this is, in words.
pub(super) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "number",
        Value::String(_) => "text",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// A non-negative whole count of a JSON record; absent or null counts as 0.
pub(super) fn json_count(obj: &Map<String, Value>, field: &str) -> Result<u64, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| format!("{} is not a whole number ≥ 0", quote(&n.to_string()))),
        Some(other) => Err(format!(
            "{field} must be a number, not {}",
            json_type(other)
        )),
    }
}

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

#[derive(Default)]
struct DaySums {
    days: u32,
    count: f64,
}

/// Active days and activity counts per person, each day counted once whatever the surfaces or records.
pub(super) struct DayTally {
    people: People<DaySums>,
    active: HashSet<(usize, NaiveDate)>,
    pub(super) first: Option<NaiveDate>,
    pub(super) last: Option<NaiveDate>,
}

impl DayTally {
    pub(super) fn new() -> Self {
        DayTally {
            people: People::new(),
            active: HashSet::new(),
            first: None,
            last: None,
        }
    }

    /// One record of `key` on `day`: active or not, with `count` activities.
    pub(super) fn add(&mut self, key: &str, day: NaiveDate, active: bool, count: f64) {
        let p = self.people.id(key);
        self.first = Some(self.first.map_or(day, |f| f.min(day)));
        self.last = Some(self.last.map_or(day, |l| l.max(day)));
        let fresh = active && self.active.insert((p, day));
        let sums = &mut self.people.list[p].1;
        sums.count += count;
        if fresh {
            sums.days += 1;
        }
    }

    /// Active days per month (score and active days) and counts per month (tiebreak) over `start..=end`.
    pub(super) fn employees(
        self,
        kind: KeyKind,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Vec<EmployeeUsage> {
        let months = ((end - start).num_days() + 1) as f64 / DAYS_PER_MONTH;
        self.people
            .list
            .into_iter()
            .map(|(key, s)| {
                let days = f64::from(s.days) / months;
                EmployeeUsage {
                    key,
                    key_kind: kind,
                    score: days,
                    tiebreak: s.count / months,
                    active_days: Some(days),
                    units: days,
                    gross_hours_month: None,
                }
            })
            .collect()
    }
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
pub(super) fn parse_cursor(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let decoded = decode(bytes, Layout::Lines)?;
    let text: &str = &decoded;
    if matches!(text.trim_start().chars().next(), Some('{' | '[')) {
        parse_api(text).map(|mut p| {
            p.encoding = decoded.encoding;
            p
        })
    } else {
        parse_dashboard(bytes)
    }
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

fn parse_api(text: &str) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let file = json_records(text)?;
    let mut problems = Problems::default();
    let mut tally = DayTally::new();
    let mut rows = Vec::with_capacity(file.records.len());
    for (row, value) in file.records {
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
        version: format!("Admin API daily usage, {}", file.shape),
        encoding: "UTF-8",
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

fn csv_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        // Cursor: "boolean values default to false" (an empty cell).
        "false" | "0" | "no" | "" => Some(false),
        _ => None,
    }
}

fn parse_dashboard(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
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
        let day = csv_day(date);
        if day.is_none() {
            problems.at(
                row,
                &header[date_col],
                format!(
                    "{} is not a date (YYYY-MM-DD) or an ISO 8601 time",
                    quote(date)
                ),
            );
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
}
