//! GitHub Copilot seat assignments (`GET /orgs/{org}/copilot/billing/seats`, or the enterprise's): one
//! `last_activity_at` per seat, the only per-user signal an organisation without the usage reports has.
//!
//! Accepted as GitHub's response `{"total_seats": n, "seats": [...]}`, as several such pages (a JSON array
//! of pages as `gh api --paginate --slurp` writes, pages one per line, or pretty-printed one after
//! another as `gh api --paginate` writes), or as a bare array of seats.
//!
//! A seat list is a snapshot with no day counts, so the score is recency: the snapshot date is the newest
//! `last_activity_at` in the file (the list is read live, so the newest activity is the download day to
//! within a day or so; no date has to be typed in). A person active in the 30 days up to it scores 1,
//! anyone else 0 (never active included); the tiebreak is recency itself (minus the days since the last
//! activity), so heavier means more recent within each group. There are no hours and no active days. An
//! enterprise lists one seat per organisation granting it: the same login twice is one person, with the
//! most recent activity. Seats assigned to a team or organisation as a whole (no `login`) name nobody
//! and are skipped.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Map, Value};

use super::json::{json_type, read_json};
use super::table::{Problems, quote, refuse};
use super::{EmployeeUsage, ImportProblem, KeyKind, ParsedUsage, RawUsageRow, UsageFormat};

/// Days before the snapshot in which a last activity counts as "active".
pub(super) const RECENT_DAYS: i64 = 30;
/// The tiebreak of a seat never used: below any real recency.
const NEVER: f64 = -100_000.0;

fn is_seat(obj: &Map<String, Value>) -> bool {
    obj.contains_key("assignee")
}

/// An RFC 3339 timestamp with offset (GitHub writes `2021-10-14T00:53:32-06:00`), as UTC.
fn timestamp(obj: &Map<String, Value>, field: &str) -> Result<Option<DateTime<Utc>>, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                format!(
                    "{} is not a timestamp like 2021-10-14T00:53:32-06:00",
                    quote(s)
                )
            }),
        Some(other) => Err(format!(
            "{field} must be a text timestamp, not {}",
            json_type(other)
        )),
    }
}

struct Seats {
    /// login → (index in `order`, newest activity).
    people: HashMap<String, usize>,
    order: Vec<(String, Option<DateTime<Utc>>)>,
    rows: Vec<RawUsageRow>,
    skipped: usize,
}

impl Seats {
    fn seat(&mut self, row: usize, value: Value, problems: &mut Problems) {
        let Value::Object(obj) = &value else {
            problems.push(
                Some(row),
                None,
                format!("the seat is a JSON {}, not an object", json_type(&value)),
            );
            return;
        };
        let login = match obj.get("assignee") {
            Some(Value::Object(a)) => match a.get("login") {
                Some(Value::String(l)) if !l.trim().is_empty() => Some(l.trim().to_lowercase()),
                Some(Value::String(_)) => {
                    problems.at(row, "assignee.login", "assignee.login is empty");
                    return;
                }
                // A team or organisation assignee has no login: it names nobody.
                None | Some(Value::Null) => None,
                Some(other) => {
                    problems.at(
                        row,
                        "assignee.login",
                        format!("assignee.login must be text, not {}", json_type(other)),
                    );
                    return;
                }
            },
            Some(other) => {
                problems.at(
                    row,
                    "assignee",
                    format!("assignee must be an object, not {}", json_type(other)),
                );
                return;
            }
            None => {
                problems.at(row, "assignee", "missing field \"assignee\"");
                return;
            }
        };
        let last = match timestamp(obj, "last_activity_at") {
            Ok(t) => t,
            Err(m) => {
                problems.at(row, "last_activity_at", m);
                return;
            }
        };
        let Some(login) = login else {
            self.skipped += 1;
            return;
        };
        match self.people.get(&login) {
            Some(&i) => {
                let newest = &mut self.order[i].1;
                *newest = (*newest).max(last);
            }
            None => {
                self.people.insert(login.clone(), self.order.len());
                self.order.push((login.clone(), last));
            }
        }
        if problems.is_empty() {
            self.rows.push(RawUsageRow {
                row,
                key: login,
                raw_json: value.to_string(),
            });
        }
    }
}

pub(super) fn parse_seats(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let mut problems = Problems::default();
    let mut seats = Seats {
        people: HashMap::new(),
        order: Vec::new(),
        rows: Vec::new(),
        skipped: 0,
    };
    let file = read_json(
        bytes,
        &is_seat,
        &mut problems,
        &mut |row, value, problems| seats.seat(row, value, problems),
    )?;
    if !problems.is_empty() {
        return Err(problems.into_vec());
    }
    // GitHub pages the list (50 seats a page by default): a file with fewer seats than the total it
    // states is a first page, and everyone on the missing pages would count as inactive.
    if let Some(total) = file
        .envelope()
        .get("total_seats")
        .and_then(serde_json::Value::as_u64)
        && (file.records as u64) < total
    {
        return refuse(
            None,
            Some("total_seats"),
            format!(
                "the file holds {} of the {total} seats GitHub counts: it is one page of the list; download every page (e.g. gh api --paginate) and import them together",
                file.records
            ),
        );
    }
    if seats.order.is_empty() {
        return refuse(
            None,
            None,
            "the file has no seats assigned to a person (assignee.login)",
        );
    }
    let Some(snapshot) = seats.order.iter().filter_map(|(_, t)| *t).max() else {
        return refuse(
            None,
            Some("last_activity_at"),
            "no seat has any last_activity_at: with no activity at all there is nothing to rank",
        );
    };
    let snapshot_day: NaiveDate = snapshot.date_naive();
    let employees = seats
        .order
        .into_iter()
        .map(|(key, last)| {
            let (score, tiebreak) = match last {
                Some(t) => {
                    let days = (snapshot_day - t.date_naive()).num_days();
                    (f64::from(u8::from(days < RECENT_DAYS)), -(days as f64))
                }
                None => (0.0, NEVER),
            };
            EmployeeUsage {
                key,
                key_kind: KeyKind::Login,
                score,
                tiebreak,
                active_days: None,
                units: score,
                gross_hours_month: None,
            }
        })
        .collect();
    let mut version = format!(
        "seat assignments, {}, snapshot {snapshot_day}",
        file.layout.label()
    );
    if seats.skipped > 0 {
        version.push_str(&format!(
            "; {} seats of a team or organisation skipped",
            seats.skipped
        ));
    }
    Ok(ParsedUsage {
        format: UsageFormat::GithubSeats,
        rows: seats.rows,
        employees,
        period_start: snapshot_day - Duration::days(RECENT_DAYS - 1),
        period_end: snapshot_day,
        has_hours: false,
        unit_label: "seat active in the last 30 days",
        version,
        encoding: file.encoding,
    })
}

#[cfg(test)]
mod tests {
    use crate::roster::import::test_util::*;

    #[test]
    fn a_first_page_of_the_seat_list_is_refused_as_incomplete() {
        let page = "{\"total_seats\":120,\"seats\":[{\"created_at\":\"2026-01-01T00:00:00Z\",\"last_activity_at\":\"2026-11-20T10:00:00Z\",\"last_activity_editor\":\"vscode\",\"assignee\":{\"login\":\"octocat\",\"id\":1}}]}";
        let problems = crate::roster::import::parse_usage(
            crate::roster::import::UsageFormat::GithubSeats,
            page.as_bytes(),
            &crate::roster::import::UsageOptions::default(),
        )
        .unwrap_err();
        assert_eq!(places(&problems), vec![(None, Some("total_seats"))]);
        assert!(
            problems[0].message.contains("1 of the 120 seats"),
            "{}",
            problems[0].message
        );
    }
    use crate::roster::import::*;

    /// GitHub's own `copilot-seats-list` example (OpenAPI description), assignee trimmed to the login
    /// fields this importer reads plus a few of GitHub's others.
    const GITHUB_EXAMPLE: &str = r#"{
  "total_seats": 2,
  "seats": [
    {
      "created_at": "2021-08-03T18:00:00-06:00",
      "updated_at": "2021-09-23T15:00:00-06:00",
      "pending_cancellation_date": null,
      "last_activity_at": "2021-10-14T00:53:32-06:00",
      "last_activity_editor": "vscode/1.77.3/copilot/1.86.82",
      "assignee": {
        "login": "octocat",
        "id": 1,
        "node_id": "MDQ6VXNlcjE=",
        "type": "User",
        "site_admin": false
      },
      "assigning_team": {
        "id": 1,
        "name": "Justice League",
        "slug": "justice-league"
      }
    },
    {
      "created_at": "2021-09-23T18:00:00-06:00",
      "updated_at": "2021-09-23T15:00:00-06:00",
      "pending_cancellation_date": "2021-11-01",
      "last_activity_at": "2021-10-13T00:53:32-06:00",
      "last_activity_editor": "vscode/1.77.3/copilot/1.86.82",
      "assignee": {
        "login": "octokitten",
        "id": 1,
        "node_id": "MDQ76VNlcjE=",
        "type": "User",
        "site_admin": false
      }
    }
  ]
}"#;

    fn seats(text: &str) -> Result<ParsedUsage, Vec<ImportProblem>> {
        parse_usage(
            UsageFormat::GithubSeats,
            text.as_bytes(),
            &UsageOptions::default(),
        )
    }

    #[test]
    fn githubs_example_is_scored_by_recency_from_the_newest_activity() {
        let u = seats(GITHUB_EXAMPLE).unwrap();
        assert_eq!(u.format, UsageFormat::GithubSeats);
        // 2021-10-14T00:53:32-06:00 is 06:53 UTC on the 14th: the snapshot day.
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2021-09-15"), d("2021-10-14"))
        );
        assert!(u.version.contains("snapshot 2021-10-14"), "{}", u.version);
        assert!(!u.has_hours);
        let keys: Vec<_> = u.employees.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["octocat", "octokitten"]);
        let (cat, kitten) = (&u.employees[0], &u.employees[1]);
        assert_eq!((cat.score, cat.tiebreak), (1.0, 0.0));
        assert_eq!((kitten.score, kitten.tiebreak), (1.0, -1.0));
        assert_eq!(cat.key_kind, KeyKind::Login);
        assert_eq!((cat.active_days, cat.gross_hours_month), (None, None));
        assert_eq!(u.rows.len(), 2);
    }

    #[test]
    fn pages_in_every_layout_and_the_same_login_twice_are_one_person() {
        let page = |login: &str, at: &str| {
            format!(
                "{{\"total_seats\":3,\"seats\":[{{\"created_at\":\"2026-01-01T00:00:00Z\",\"last_activity_at\":{at},\"last_activity_editor\":null,\"assignee\":{{\"login\":\"{login}\",\"id\":7}}}}]}}"
            )
        };
        let a = page("Ada", "\"2026-11-30T10:00:00Z\"");
        let b = page("bob", "\"2026-10-01T10:00:00+02:00\"");
        let c = page("ada", "\"2026-11-01T10:00:00Z\"");
        let n = page("nil", "null");
        for text in [
            format!("[{a},{b},{c},{n}]"),
            format!("{a}\n{b}\n{c}\n{n}\n"),
            format!("{a}{b}{c}{n}"),
        ] {
            let u = seats(&text).unwrap_or_else(|p| panic!("{p:?}"));
            let got: Vec<_> = u
                .employees
                .iter()
                .map(|e| (e.key.as_str(), e.score, e.tiebreak))
                .collect();
            assert_eq!(
                got,
                [
                    ("ada", 1.0, 0.0),
                    ("bob", 0.0, -60.0),
                    ("nil", 0.0, -100_000.0)
                ]
            );
            assert_eq!(u.rows.len(), 4);
        }
        let bare = format!(
            "[{}]",
            "{\"assignee\":{\"login\":\"x\"},\"last_activity_at\":\"2026-11-30T10:00:00Z\"}"
        );
        assert_eq!(seats(&bare).unwrap().employees.len(), 1);
    }

    #[test]
    fn seat_problems() {
        let text = "{\"seats\":[{\"assignee\":{\"login\":\"\"}},{\"assignee\":{\"login\":\"a\"},\"last_activity_at\":\"14/10/2021\"},{\"last_activity_at\":null},{\"assignee\":{\"slug\":\"team\"}}]}";
        let problems = seats(text).unwrap_err();
        assert_eq!(
            places(&problems),
            vec![
                (Some(1), Some("assignee.login")),
                (Some(2), Some("last_activity_at")),
                (Some(3), Some("assignee")),
            ]
        );
        let none =
            seats("{\"seats\":[{\"assignee\":{\"login\":\"a\"},\"last_activity_at\":null}]}")
                .unwrap_err();
        assert!(none[0].message.contains("no seat has any"), "{none:?}");
    }
}
