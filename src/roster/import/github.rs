//! GitHub Copilot usage metrics: one JSON record per user and day, as NDJSON or one JSON array.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::fields::parse_iso_date;
use super::table::{Layout, Problems, decode, quote, refuse};
use super::{EmployeeUsage, ImportProblem, KeyKind, ParsedUsage, People, RawUsageRow, UsageFormat};

/// Average days per month, to turn "days in the period" into months.
const DAYS_PER_MONTH: f64 = 30.44;

#[derive(Default)]
struct GithubSums {
    active_days: u32,
    events: f64,
}

/// State of a GitHub Copilot import, fed one JSON record at a time.
struct Github {
    people: People<GithubSums>,
    seen: HashMap<(usize, NaiveDate), usize>,
    rows: Vec<RawUsageRow>,
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
    records: usize,
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "number",
        Value::String(_) => "text",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// A non-negative whole count; absent or null counts as 0.
fn json_count(obj: &Map<String, Value>, field: &str) -> Result<u64, String> {
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

impl Github {
    fn record(&mut self, row: usize, value: Value, problems: &mut Problems) {
        self.records += 1;
        let Value::Object(obj) = &value else {
            problems.push(
                Some(row),
                None,
                format!("the record is a JSON {}, not an object", json_type(&value)),
            );
            return;
        };
        let day = match obj.get("day") {
            None => {
                problems.at(row, "day", "missing field \"day\"");
                None
            }
            Some(Value::String(s)) => {
                let d = parse_iso_date(s.trim());
                if d.is_none() {
                    problems.at(
                        row,
                        "day",
                        format!("{} is not a date in the form YYYY-MM-DD", quote(s)),
                    );
                }
                d
            }
            Some(other) => {
                problems.at(
                    row,
                    "day",
                    format!(
                        "day must be a text date YYYY-MM-DD, not {}",
                        json_type(other)
                    ),
                );
                None
            }
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
        let mut counts = [0u64; 3];
        let fields = [
            "user_initiated_interaction_count",
            "code_generation_activity_count",
            "code_acceptance_activity_count",
        ];
        for (count, field) in counts.iter_mut().zip(fields) {
            match json_count(obj, field) {
                Ok(n) => *count = n,
                Err(m) => problems.at(row, field, m),
            }
        }
        let (Some(day), Some(login)) = (day, login) else {
            return;
        };
        let person = self.people.id(&login);
        match self.seen.entry((person, day)) {
            Entry::Occupied(e) => {
                let message = format!(
                    "{} on {day} is a duplicate of row {}",
                    quote(&login),
                    e.get()
                );
                problems.at(row, "user_login", message);
                return;
            }
            Entry::Vacant(v) => {
                v.insert(row);
            }
        }
        self.first = Some(self.first.map_or(day, |f| f.min(day)));
        self.last = Some(self.last.map_or(day, |l| l.max(day)));
        let sums = &mut self.people.list[person].1;
        if counts[0] + counts[1] > 0 {
            sums.active_days += 1;
        }
        sums.events += counts.iter().map(|&c| c as f64).sum::<f64>();
        if problems.is_empty() {
            self.rows.push(RawUsageRow {
                row,
                key: login,
                raw_json: value.to_string(),
            });
        }
    }
}

pub(super) fn parse_github(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let text = decode(bytes, Layout::Lines)?;
    let mut problems = Problems::default();
    let mut gh = Github {
        people: People::new(),
        seen: HashMap::new(),
        rows: Vec::new(),
        first: None,
        last: None,
        records: 0,
    };
    if text.trim_start().starts_with('[') {
        // One JSON array of the same records: rows are numbered by position in the array.
        match serde_json::from_str::<Vec<Value>>(text) {
            Ok(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    gh.record(i + 1, item, &mut problems);
                }
            }
            Err(e) => {
                return refuse(
                    Some(e.line()),
                    None,
                    format!("the file is not valid JSON: {e}"),
                );
            }
        }
    } else {
        for (i, line) in text.split('\n').enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(v) => gh.record(i + 1, v, &mut problems),
                Err(e) => problems.push(
                    Some(i + 1),
                    None,
                    format!("the line is not valid JSON: {e}"),
                ),
            }
        }
    }
    if gh.records == 0 && problems.is_empty() {
        return refuse(None, None, "the file has no records");
    }
    let (Some(first), Some(last), true) = (gh.first, gh.last, problems.is_empty()) else {
        return Err(problems.into_vec());
    };
    let months = ((last - first).num_days() + 1) as f64 / DAYS_PER_MONTH;
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
    Ok(ParsedUsage {
        format: UsageFormat::GithubCopilot,
        rows: gh.rows,
        employees,
        period_start: first,
        period_end: last,
        has_hours: false,
        unit_label: "active day per month",
        version: String::new(),
        encoding: "UTF-8",
    })
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
        assert!(close(ada.score, 2.0 / months), "{}", ada.score);
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
                    {\"day\":\"2026-11-02\",\"user_login\":\"V\"}\n\
                    {\"day\":\"2026-11-02\",\"user_login\":\"v\"}\n";
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
                (Some(10), Some("user_login")),
            ]
        );
        assert_eq!(problems[0].message, "missing field \"user_login\"");
        assert!(problems[1].message.contains("JSON"));
        assert_eq!(
            problems[8].message,
            "\"v\" on 2026-11-02 is a duplicate of row 9"
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
}
