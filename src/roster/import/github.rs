//! GitHub Copilot usage metrics: one JSON record per user and day (the `users-1-day` / `users-28-day`
//! reports), as NDJSON, one JSON array, an object wrapping the list, or pretty-printed.
//!
//! A day counts as active when the record shows any Copilot surface GitHub reports: IDE completions and
//! chat (the three activity counts, `used_chat`, `used_agent`), the CLI (`used_cli`, `totals_by_cli`,
//! which GitHub keeps out of every other field), code review the person asked for
//! (`used_copilot_code_review_active`), the coding agent (`used_copilot_coding_agent`) and agent apps
//! (`totals_by_copilot_app`, `totals_by_3rd_party_agent`, counted when present and not empty).
//! `used_copilot_code_review_passive` alone does not: GitHub defines passive users as those "whose
//! reviews were auto-triggered by a repository or organization policy, with no active signal", so a
//! policy, not the person, produced it; counting it would make every author in such an organisation a
//! daily user.
//!
//! The period is the report's own `report_start_day`..`report_end_day` (on the records or the wrapping
//! object) when it states one, else the first to the last day in the whole file; either must cover at
//! least 28 days (`scored_period`). Organisation reports attribute a user to every organisation they
//! belong to, so the same login and day in two organisations' files is one day, not an error.
//!
//! Read one record at a time (`read_github`): memory holds one entry per person and one per person and
//! day (to merge organisations), never the records.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value};

use super::detect::org_level_refusal;
use super::fields::parse_iso_date;
use super::json::{json_count, json_type, read_json};
use super::table::{Problems, quote, refuse};
use super::{
    DAYS_PER_MONTH, EmployeeUsage, ImportProblem, KeyKind, ParsedUsage, People, RawUsageRow,
    RowSink, UsageFormat, future_day, scored_period,
};

/// The activity counts GitHub reports per user and day (summed as the tiebreak).
const COUNTS: [&str; 3] = [
    "user_initiated_interaction_count",
    "code_generation_activity_count",
    "code_acceptance_activity_count",
];

/// Surfaces GitHub reports as a yes/no per user and day; any of them makes the day active.
const FLAGS: [&str; 5] = [
    "used_chat",
    "used_agent",
    "used_cli",
    "used_copilot_code_review_active",
    "used_copilot_coding_agent",
];

/// Agent-app totals: present and not empty means the person used Copilot through such an app that day.
const APP_TOTALS: [&str; 2] = ["totals_by_copilot_app", "totals_by_3rd_party_agent"];

/// What to download instead of a file that covers too few days.
const DOWNLOAD: &str = "download the users-28-day report (Copilot usage metrics), or 28 or more \
                        users-1-day reports saved into one file";

#[derive(Default)]
struct GithubSums {
    active_days: u32,
    events: f64,
}

/// One person's day, packed into 16 bytes a day because a million records make a million of them:
/// (person << 32 | day number) → (events << 1 | active), the larger of two organisations' records.
type DayKey = u64;

fn day_key(person: usize, day: NaiveDate) -> DayKey {
    ((person as u64) << 32) | u64::from(day.num_days_from_ce() as u32)
}

/// State of a GitHub Copilot import, fed one JSON record at a time.
struct Github<'s> {
    people: People<GithubSums>,
    days: HashMap<DayKey, u64>,
    sink: &'s mut dyn RowSink,
    rows: usize,
    today: Option<NaiveDate>,
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
    stated: Option<(NaiveDate, NaiveDate)>,
    org_level: Option<String>,
}

/// A yes/no field; absent or null is no.
fn json_flag(obj: &Map<String, Value>, field: &str) -> Result<bool, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!(
            "{field} must be true or false, not {}",
            json_type(other)
        )),
    }
}

/// An optional YYYY-MM-DD text field.
fn json_day(obj: &Map<String, Value>, field: &str) -> Result<Option<NaiveDate>, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_iso_date(s.trim())
            .map(Some)
            .ok_or_else(|| format!("{} is not a date in the form YYYY-MM-DD", quote(s))),
        Some(other) => Err(format!(
            "{field} must be a text date YYYY-MM-DD, not {}",
            json_type(other)
        )),
    }
}

/// The report's own period from a record or the wrapping object, when it states one.
fn stated_period(
    obj: &Map<String, Value>,
) -> Result<Option<(NaiveDate, NaiveDate)>, (&'static str, String)> {
    if let Some(day) = json_day(obj, "report_day").map_err(|m| ("report_day", m))? {
        return Ok(Some((day, day)));
    }
    let start = json_day(obj, "report_start_day").map_err(|m| ("report_start_day", m))?;
    let end = json_day(obj, "report_end_day").map_err(|m| ("report_end_day", m))?;
    match (start, end) {
        (Some(s), Some(e)) if s <= e => Ok(Some((s, e))),
        (Some(s), Some(e)) => Err((
            "report_end_day",
            format!("the report ends on {e}, before it starts on {s}"),
        )),
        _ => Ok(None),
    }
}

impl Github<'_> {
    fn widen(&mut self, period: (NaiveDate, NaiveDate)) {
        self.stated = Some(match self.stated {
            Some((s, e)) => (s.min(period.0), e.max(period.1)),
            None => period,
        });
    }

    fn record(&mut self, row: usize, value: Value, problems: &mut Problems) {
        let Value::Object(obj) = &value else {
            problems.push(
                Some(row),
                None,
                format!("the record is a JSON {}, not an object", json_type(&value)),
            );
            return;
        };
        if !obj.contains_key("user_login")
            && let Some(message) = org_level_refusal(obj)
        {
            self.org_level = Some(message);
            return;
        }
        let day = match obj.get("day") {
            None => {
                problems.at(row, "day", "missing field \"day\"");
                None
            }
            // Never skipped silently: a record that names no day can't be counted.
            Some(Value::Null) => {
                problems.at(
                    row,
                    "day",
                    "day is empty (null): every record needs its day",
                );
                None
            }
            Some(_) => match json_day(obj, "day") {
                Ok(d) => d,
                Err(m) => {
                    problems.at(row, "day", m);
                    None
                }
            },
        };
        let login = match obj.get("user_login") {
            None => {
                problems.at(row, "user_login", "missing field \"user_login\"");
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                problems.at(row, "user_login", "user_login is empty");
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_lowercase()),
            Some(other) => {
                problems.at(
                    row,
                    "user_login",
                    format!("user_login must be text, not {}", json_type(other)),
                );
                None
            }
        };
        let mut events: u64 = 0;
        for field in COUNTS {
            match json_count(obj, field) {
                Ok(n) => events = events.saturating_add(n),
                Err(m) => problems.at(row, field, m),
            }
        }
        let mut active = events > 0;
        for field in FLAGS {
            match json_flag(obj, field) {
                Ok(b) => active |= b,
                Err(m) => problems.at(row, field, m),
            }
        }
        // CLI use appears in no other field; the object is omitted on days without it.
        match obj.get("totals_by_cli") {
            None | Some(Value::Null) => {}
            Some(Value::Object(cli)) => {
                active = true;
                match json_count(cli, "prompt_count") {
                    Ok(n) => events = events.saturating_add(n),
                    Err(m) => problems.at(row, "totals_by_cli", m),
                }
            }
            Some(other) => problems.at(
                row,
                "totals_by_cli",
                format!("totals_by_cli must be an object, not {}", json_type(other)),
            ),
        }
        for field in APP_TOTALS {
            match obj.get(field) {
                Some(Value::Array(a)) => active |= !a.is_empty(),
                Some(Value::Object(o)) => active |= !o.is_empty(),
                _ => {}
            }
        }
        if let Some(m) = day.and_then(|d| future_day(d, self.today)) {
            problems.at(row, "day", m);
        }
        let period = match stated_period(obj) {
            Ok(p) => p,
            Err((field, m)) => {
                problems.at(row, field, m);
                None
            }
        };
        if let (Some(d), Some((s, e))) = (day, period)
            && (d < s || d > e)
        {
            problems.at(
                row,
                "day",
                format!("{d} is outside the report's period {s} to {e}"),
            );
        }
        let (Some(day), Some(login)) = (day, login) else {
            return;
        };
        if let Some(p) = period {
            self.widen(p);
        }
        let person = self.people.id(&login);
        let sums = &mut self.people.list[person].1;
        let events = events.min(u64::MAX >> 2);
        match self.days.entry(day_key(person, day)) {
            // The same person and day from a second organisation's file: one day, the larger counts.
            Entry::Occupied(mut e) => {
                let seen = e.get_mut();
                if active && *seen & 1 == 0 {
                    sums.active_days += 1;
                    *seen |= 1;
                }
                if events > *seen >> 1 {
                    sums.events += (events - (*seen >> 1)) as f64;
                    *seen = (events << 1) | (*seen & 1);
                }
            }
            Entry::Vacant(v) => {
                v.insert((events << 1) | u64::from(active));
                sums.active_days += u32::from(active);
                sums.events += events as f64;
            }
        }
        self.first = Some(self.first.map_or(day, |f| f.min(day)));
        self.last = Some(self.last.map_or(day, |l| l.max(day)));
        if problems.is_empty() {
            self.rows += 1;
            self.sink.row(RawUsageRow {
                row,
                key: login,
                raw_json: value.to_string(),
            });
        }
    }
}

/// Whether a JSON object is one GitHub per-user-day record (rather than an object wrapping them).
pub(super) fn is_github_record(obj: &Map<String, Value>) -> bool {
    obj.contains_key("user_login") || obj.contains_key("day")
}

/// Parses a whole GitHub file in memory, keeping its raw rows (tests and small files).
pub(super) fn parse_github(
    bytes: &[u8],
    today: Option<NaiveDate>,
) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let mut rows = Vec::new();
    let (mut parsed, _) = read_github(bytes, today, &mut rows)?;
    parsed.rows = rows;
    Ok(parsed)
}

/// Reads a GitHub file one record at a time, handing its raw rows to `sink`; returns the summary (its
/// `rows` empty) and how many raw rows went to the sink.
pub(super) fn read_github(
    reader: impl std::io::BufRead,
    today: Option<NaiveDate>,
    sink: &mut dyn RowSink,
) -> Result<(ParsedUsage, usize), Vec<ImportProblem>> {
    let mut problems = Problems::default();
    let mut gh = Github {
        people: People::new(),
        days: HashMap::new(),
        sink,
        rows: 0,
        today,
        first: None,
        last: None,
        stated: None,
        org_level: None,
    };
    let file = read_json(
        reader,
        &is_github_record,
        &mut problems,
        &mut |row, value, problems| gh.record(row, value, problems),
    )?;
    if let Some(message) = gh.org_level {
        return refuse(None, None, message);
    }
    if file.records == 0 && problems.is_empty() {
        return refuse(None, None, "the file has no records");
    }
    match stated_period(&file.envelope()) {
        Ok(Some(p)) => gh.widen(p),
        Ok(None) => {}
        Err((field, m)) => problems.push(None, Some(field), m),
    }
    let (Some(first), Some(last), true) = (gh.first, gh.last, problems.is_empty()) else {
        return Err(problems.into_vec());
    };
    let (start, end, stated) =
        scored_period(gh.stated, first, last, DOWNLOAD).map_err(|p| vec![p])?;
    let months = ((end - start).num_days() + 1) as f64 / DAYS_PER_MONTH;
    let employees = gh
        .people
        .list
        .into_iter()
        .map(|(key, s)| {
            let days = f64::from(s.active_days) / months;
            EmployeeUsage {
                key,
                key_kind: KeyKind::Login,
                score: days,
                tiebreak: s.events / months,
                active_days: Some(days),
                units: days,
                gross_hours_month: None,
            }
        })
        .collect();
    let period_from = if stated {
        "period from the report"
    } else {
        "period from the days present"
    };
    let parsed = ParsedUsage {
        format: UsageFormat::GithubCopilot,
        rows: Vec::new(),
        employees,
        period_start: start,
        period_end: end,
        has_hours: false,
        unit_label: "active day per month",
        version: format!("per-user report, {}, {period_from}", file.layout.label()),
        encoding: file.encoding,
    };
    Ok((parsed, gh.rows))
}

#[cfg(test)]
mod tests {
    use crate::roster::import::test_util::*;
    use crate::roster::import::*;
    use serde_json::Value;

    const GITHUB: &str = "{\"day\":\"2026-11-01\",\"user_login\":\"Ada\",\"user_initiated_interaction_count\":2,\"code_generation_activity_count\":1,\"code_acceptance_activity_count\":1,\"ide\":\"vscode\"}\n\
        \n\
        {\"day\":\"2026-11-02\",\"user_login\":\"ada\",\"code_acceptance_activity_count\":4}\r\n\
        {\"day\":\"2026-11-10\",\"user_login\":\"bob\",\"code_generation_activity_count\":3,\"totals_by_ide\":[{\"ide\":\"vim\"}]}\n\
        {\"day\":\"2026-11-30\",\"user_login\":\"ada\",\"user_initiated_interaction_count\":1}\n";

    fn check_github(u: &ParsedUsage, rows: [usize; 4]) {
        assert_eq!(u.format, UsageFormat::GithubCopilot);
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-01"), d("2026-11-30"))
        );
        assert!(!u.has_hours);
        assert_eq!(u.unit_label, "active day per month");
        assert_eq!(u.rows.iter().map(|r| r.row).collect::<Vec<_>>(), rows);
        assert_eq!(u.rows[0].key, "ada");
        let raw: Value = serde_json::from_str(&u.rows[0].raw_json).unwrap();
        assert_eq!(raw["ide"], "vscode");
        assert_eq!(raw["user_login"], "Ada");
        let months = 30.0 / 30.44;
        let ada = &u.employees[0];
        assert_eq!((ada.key.as_str(), ada.key_kind), ("ada", KeyKind::Login));
        // 2026-11-02 has only accepted suggestions: accepting Copilot's code is using it.
        assert!(close(ada.score, 3.0 / months), "{}", ada.score);
        assert!(close(ada.units, ada.score) && ada.active_days == Some(ada.score));
        assert!(close(ada.tiebreak, 9.0 / months));
        assert_eq!(ada.gross_hours_month, None);
        let bob = &u.employees[1];
        assert!(close(bob.score, 1.0 / months) && close(bob.tiebreak, 3.0 / months));
    }

    #[test]
    fn github_ndjson_counts_active_days_per_month() {
        let u = parse_usage(
            UsageFormat::GithubCopilot,
            GITHUB.as_bytes(),
            &crate::roster::import::UsageOptions::default(),
        )
        .unwrap();
        check_github(&u, [1, 3, 4, 5]);
    }

    #[test]
    fn github_json_array_is_read_the_same_way() {
        let records: Vec<&str> = GITHUB
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let array = format!("[\n{}\n]", records.join(",\n"));
        let u = parse_usage(
            UsageFormat::GithubCopilot,
            array.as_bytes(),
            &crate::roster::import::UsageOptions::default(),
        )
        .unwrap();
        check_github(&u, [1, 2, 3, 4]);
    }

    #[test]
    fn github_problems() {
        let text = "{\"day\":\"2026-11-01\"}\n\
                    {\"day\":\"2026-11-01\",\"user_login\":\"x\"\n\
                    {\"day\":20261101,\"user_login\":\"x\"}\n\
                    {\"day\":\"2026-11-01\",\"user_login\":\"\"}\n\
                    {\"day\":\"2026-11-01\",\"user_login\":\"y\",\"code_generation_activity_count\":-1}\n\
                    {\"day\":\"2026-11-01\",\"user_login\":\"z\",\"user_initiated_interaction_count\":\"3\"}\n\
                    [1]\n\
                    {\"day\":\"01/11/2026\",\"user_login\":\"w\"}\n\
                    {\"day\":\"2026-11-02\",\"user_login\":\"V\",\"used_cli\":\"yes\"}\n\
                    {\"day\":\"2026-11-02\",\"user_login\":\"v\",\"report_start_day\":\"2026-11-03\",\"report_end_day\":\"2026-11-30\"}\n\
                    {\"day\":null,\"user_login\":\"u\",\"used_chat\":true}\n";
        let problems = parse_usage(
            UsageFormat::GithubCopilot,
            text.as_bytes(),
            &crate::roster::import::UsageOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            places(&problems),
            vec![
                (Some(1), Some("user_login")),
                (Some(2), None),
                (Some(3), Some("day")),
                (Some(4), Some("user_login")),
                (Some(5), Some("code_generation_activity_count")),
                (Some(6), Some("user_initiated_interaction_count")),
                (Some(7), None),
                (Some(8), Some("day")),
                (Some(9), Some("used_cli")),
                (Some(10), Some("day")),
                (Some(11), Some("day")),
            ]
        );
        assert!(
            problems[10].message.contains("null"),
            "{}",
            problems[10].message
        );
        assert_eq!(problems[0].message, "missing field \"user_login\"");
        assert!(problems[1].message.contains("JSON"));
        assert_eq!(
            problems[9].message,
            "2026-11-02 is outside the report's period 2026-11-03 to 2026-11-30"
        );
        let broken_array = parse_usage(
            UsageFormat::GithubCopilot,
            b"[\n{\"day\":1},\n",
            &crate::roster::import::UsageOptions::default(),
        )
        .unwrap_err();
        assert!(broken_array[0].message.contains("JSON"));
        assert_eq!(
            parse_usage(
                UsageFormat::GithubCopilot,
                b"[]",
                &crate::roster::import::UsageOptions::default()
            )
            .unwrap_err()[0]
                .message,
            "the file has no records"
        );
        assert_eq!(
            parse_usage(
                UsageFormat::GithubCopilot,
                b"\n\n",
                &crate::roster::import::UsageOptions::default()
            )
            .unwrap_err()[0]
                .message,
            "the file is empty"
        );
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/usage/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn github(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
        parse_usage(UsageFormat::GithubCopilot, bytes, &UsageOptions::default())
    }

    fn days_per_month(u: &ParsedUsage) -> Vec<(&str, f64)> {
        u.employees
            .iter()
            .map(|e| (e.key.as_str(), e.score))
            .collect()
    }

    #[test]
    fn githubs_own_pretty_printed_example_is_read_and_one_day_is_too_short_to_score() {
        // GitHub's example is one record of one day and states no period: read (the refusal names its
        // day), but one day cannot give active days per month (it used to score 30.44).
        let problems = github(&fixture("github_docs_example.json")).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].message,
            "the file states no period and its days cover only 1 day (2025-10-01 to 2025-10-01); \
             active days per month need at least 28 days: download the users-28-day report (Copilot \
             usage metrics), or 28 or more users-1-day reports saved into one file"
        );
        // The same record as one pretty-printed object, not in an array: the same answer.
        let text = String::from_utf8(fixture("github_docs_example.json")).unwrap();
        let object = text.trim().trim_start_matches('[').trim_end_matches(']');
        assert_eq!(github(object.as_bytes()).unwrap_err(), problems);
        // Inside a 28-day report it counts: one active day; tiebreak = 1 + 1 + 0 counts + 2 CLI prompts.
        let wrapped = format!(
            "{{\"report_start_day\":\"2025-09-04\",\"report_end_day\":\"2025-10-01\",\"users\":{text}}}"
        );
        let u = github(wrapped.as_bytes()).unwrap();
        assert_eq!(u.rows.len(), 1);
        assert_eq!(u.encoding, "UTF-8");
        assert!(close(u.employees[0].score, 30.44 / 28.0));
        assert!(close(u.employees[0].tiebreak, 4.0 * 30.44 / 28.0));
    }

    #[test]
    fn a_file_without_a_period_is_scored_over_the_span_of_its_days() {
        let rec = |day: &str, login: &str| {
            format!("{{\"day\":\"{day}\",\"user_login\":\"{login}\",\"used_chat\":true}}\n")
        };
        // Three days of data: refused, saying how many days the file covers.
        let short = [
            rec("2026-11-02", "a"),
            rec("2026-11-03", "a"),
            rec("2026-11-04", "b"),
        ]
        .concat();
        let problems = github(short.as_bytes()).unwrap_err();
        assert!(
            problems[0]
                .message
                .contains("only 3 days (2026-11-02 to 2026-11-04)"),
            "{}",
            problems[0].message
        );
        // 28 days from the first to the last record: scored over those 28 days.
        let month = [rec("2026-11-01", "a"), rec("2026-11-28", "b")].concat();
        let u = github(month.as_bytes()).unwrap();
        assert!(
            u.version.contains("period from the days present"),
            "{}",
            u.version
        );
        assert!(close(u.employees[0].score, 30.44 / 28.0));
    }

    #[test]
    fn passive_code_review_alone_is_not_a_day_of_use_but_agent_apps_are() {
        let rec = |login: &str, extra: &str| {
            format!(
                "{{\"report_start_day\":\"2026-11-01\",\"report_end_day\":\"2026-11-28\",\"day\":\"2026-11-02\",\"user_login\":\"{login}\",{extra}}}\n"
            )
        };
        let text = [
            rec("passive", "\"used_copilot_code_review_passive\":true"),
            rec(
                "app",
                "\"totals_by_copilot_app\":[{\"app\":\"copilot-spaces\",\"request_count\":2}]",
            ),
            rec(
                "agent",
                "\"totals_by_3rd_party_agent\":[{\"agent\":\"claude\",\"session_count\":1}]",
            ),
            rec("none", "\"totals_by_3rd_party_agent\":[]"),
        ]
        .concat();
        let u = github(text.as_bytes()).unwrap();
        let got: Vec<(&str, bool)> = u
            .employees
            .iter()
            .map(|e| (e.key.as_str(), e.score > 0.0))
            .collect();
        assert_eq!(
            got,
            vec![
                ("passive", false),
                ("app", true),
                ("agent", true),
                ("none", false)
            ]
        );
    }

    #[test]
    fn a_day_after_today_is_refused_with_its_row() {
        let text = "{\"report_start_day\":\"2026-11-01\",\"report_end_day\":\"2026-12-05\",\"day\":\"2026-12-02\",\"user_login\":\"a\",\"used_chat\":true}\n";
        let problems = super::parse_github(text.as_bytes(), Some(d("2026-12-01"))).unwrap_err();
        assert_eq!(places(&problems), vec![(Some(1), Some("day"))]);
        assert_eq!(
            problems[0].message,
            "2026-12-02 is in the future (today is 2026-12-01)"
        );
        assert!(super::parse_github(text.as_bytes(), Some(d("2026-12-02"))).is_ok());
    }

    #[test]
    fn every_surface_counts_cli_review_agent_and_chat_days_included() {
        let u = github(&fixture("github_users_28_day.ndjson")).unwrap();
        // The report states 2025-09-04..2025-10-01 (28 days) though its records span 09-10..09-23.
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2025-09-04"), d("2025-10-01"))
        );
        assert!(
            u.version.contains("period from the report"),
            "{}",
            u.version
        );
        let per_day = 30.44 / 28.0;
        let got = days_per_month(&u);
        let want = [
            ("ide-dev", 2.0),
            ("cli-dev", 3.0),
            // One day of review they asked for; the passive (policy-triggered) review day does not count.
            ("reviewer", 1.0),
            ("agent-dev", 1.0),
            ("chatter", 2.0),
            ("idle", 0.0),
        ];
        assert_eq!(got.len(), want.len());
        for ((k, score), (wk, days)) in got.iter().zip(want) {
            assert_eq!(*k, wk);
            assert!(close(*score, days * per_day), "{k}: {score}");
        }
        // CLI prompts count in the tiebreak: cli-dev has 3 days × 2 prompts and no IDE events.
        assert!(close(u.employees[1].tiebreak, 6.0 * per_day));
    }

    #[test]
    fn the_report_period_comes_from_a_wrapping_object_too() {
        let text = "{\"report_start_day\":\"2026-11-01\",\"report_end_day\":\"2026-11-28\",\"users\":[\
                    {\"day\":\"2026-11-02\",\"user_login\":\"a\",\"used_chat\":true}]}";
        let u = github(text.as_bytes()).unwrap();
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-01"), d("2026-11-28"))
        );
        assert!(close(u.employees[0].score, 30.44 / 28.0));
        assert!(u.version.contains("JSON object"), "{}", u.version);
        // A one-day report states its day, but one day is too short to give active days per month.
        let one = "{\"report_day\":\"2026-11-02\",\"data\":[{\"day\":\"2026-11-02\",\"user_login\":\"a\",\"used_cli\":true}]}";
        let problems = github(one.as_bytes()).unwrap_err();
        assert!(
            problems[0]
                .message
                .starts_with("the report's period covers only 1 day (2026-11-02 to 2026-11-02)"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn the_same_login_and_day_from_two_organisations_counts_once() {
        let u = github(&fixture("github_two_orgs.ndjson")).unwrap();
        assert_eq!(u.rows.len(), 4, "every raw record is kept");
        let per_day = 30.44 / 28.0;
        let got = days_per_month(&u);
        assert_eq!(got[0].0, "ide-dev");
        assert!(close(got[0].1, 2.0 * per_day), "{}", got[0].1);
        // Events of the repeated day count once (the larger record), not twice.
        assert!(close(u.employees[0].tiebreak, 4.0 * per_day));
        assert_eq!(got[1].0, "other-org-dev");
    }

    #[test]
    fn an_organisation_level_report_is_refused_as_having_no_per_user_data() {
        let problems = github(&fixture("github_organization_28_day.json")).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.starts_with(
                "this file has no per-user data; download the per-user report instead"
            ),
            "{}",
            problems[0].message
        );
        let legacy = github(
            b"[{\"date\":\"2024-06-24\",\"total_active_users\":24,\"total_engaged_users\":20}]",
        )
        .unwrap_err();
        assert!(legacy[0].message.contains("no per-user data"));
    }
}
