//! Gemini for Google Workspace: the Admin SDK Reports API's activities for
//! `applicationName=gemini_in_workspace_apps` (`activities.list`), saved as JSON — one page
//! (`{"kind":"admin#reports#activities","items":[…],"nextPageToken":…}`), several pages one after the
//! other or one per line, or the items alone (an array or NDJSON).
//!
//! A day (UTC, from `id.time`) is active when the person has a `feature_utilization` event ("a user
//! performs an action that uses Gemini in any Workspace app"), whatever the app. Google's page reportedly
//! also gives an `event_category` parameter (`active_*`, `inactive`, `unknown`; unverified): an event
//! whose category is `inactive` (a suggestion shown, not used) is not counted; any other, or none, is.
//! Score = active days per month; tiebreak = counted events per month. The response does not repeat the
//! request's startTime/endTime, so the period is the first to the last day with an event in the whole
//! file, and it must cover at least 28 days (`scored_period`). A page whose `nextPageToken` says more
//! follow, with no last page (one without a token) in the file, is refused: the people on the missing
//! pages would count as never active.
//! Matched on `actor.email`. An item seen twice (overlapping pages: same `id.time` and
//! `id.uniqueQualifier`) counts once.

use std::collections::HashSet;

use chrono::DateTime;
use serde_json::{Map, Value};

use chrono::NaiveDate;

use super::fields::check_email;
use super::json::{json_type, record_list};
use super::table::{Problems, quote, refuse};
use super::{
    DayTally, ImportProblem, KeyKind, ParsedUsage, RawUsageRow, UsageFormat, future_day,
    scored_period,
};

/// What to download instead of a file that covers too few days.
const DOWNLOAD: &str = "list the activities of at least 28 days (startTime 28 days or more before \
                        endTime) and save every page";

const APPLICATION: &str = "gemini_in_workspace_apps";

/// The text value of an event parameter (`{name, value}`), if it has one.
fn parameter<'a>(event: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    event
        .get("parameters")?
        .as_array()?
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))?
        .get("value")?
        .as_str()
}

pub(super) fn parse_gemini(
    bytes: &[u8],
    today: Option<NaiveDate>,
) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let list = record_list(bytes)?;
    let file = &list.file;
    let token = |w: &serde_json::Map<String, Value>| {
        w.get("nextPageToken")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty())
    };
    if !file.wrappers.is_empty() && file.wrappers.iter().all(token) {
        return refuse(
            None,
            Some("nextPageToken"),
            "the file ends with a page whose nextPageToken says more pages follow: download every page \
             (call activities.list again with pageToken until no nextPageToken is returned) and save \
             them into one file; the people on the missing pages would otherwise count as never active",
        );
    }
    let mut problems = Problems::default();
    let mut tally = DayTally::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut rows = Vec::new();
    for (row, value) in &list.records {
        let row = *row;
        let Value::Object(item) = value else {
            problems.push(
                Some(row),
                None,
                format!("the record is a JSON {}, not an object", json_type(value)),
            );
            continue;
        };
        // A page with no activity has no "items" at all.
        if item.get("kind").and_then(Value::as_str) == Some("admin#reports#activities") {
            continue;
        }
        let id = item.get("id").and_then(Value::as_object);
        let app = id
            .and_then(|i| i.get("applicationName"))
            .and_then(Value::as_str);
        if let Some(app) = app
            && app != APPLICATION
        {
            problems.at(
                row,
                "id.applicationName",
                format!(
                    "{} is another application's log; list the activities of {APPLICATION}",
                    quote(app)
                ),
            );
            continue;
        }
        let time = id.and_then(|i| i.get("time")).and_then(Value::as_str);
        let day = match time {
            None => {
                problems.at(row, "id.time", "missing field \"id.time\"");
                None
            }
            Some(t) => match DateTime::parse_from_rfc3339(t) {
                Ok(t) => Some(t.naive_utc().date()),
                Err(_) => {
                    problems.at(
                        row,
                        "id.time",
                        format!("{} is not an RFC 3339 time", quote(t)),
                    );
                    None
                }
            },
        };
        if let Some(m) = day.and_then(|d| future_day(d, today)) {
            problems.at(row, "id.time", m);
        }
        let email = match item
            .get("actor")
            .and_then(|a| a.get("email"))
            .and_then(Value::as_str)
        {
            None => {
                problems.at(
                    row,
                    "actor.email",
                    "the activity has no actor email, so it cannot be matched to the roster",
                );
                None
            }
            Some(e) => match check_email(e.trim()) {
                Ok(()) => Some(e.trim().to_lowercase()),
                Err(m) => {
                    problems.at(row, "actor.email", m);
                    None
                }
            },
        };
        let events = match item.get("events") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(list)) => list.as_slice(),
            Some(other) => {
                problems.at(
                    row,
                    "events",
                    format!("events must be a list, not {}", json_type(other)),
                );
                &[][..]
            }
        };
        let used = events
            .iter()
            .filter_map(Value::as_object)
            .filter(|e| e.get("name").and_then(Value::as_str) == Some("feature_utilization"))
            .filter(|e| parameter(e, "event_category") != Some("inactive"))
            .count();
        let (Some(day), Some(email), Some(time)) = (day, email, time) else {
            continue;
        };
        let qualifier = id
            .and_then(|i| i.get("uniqueQualifier"))
            .map(Value::to_string);
        if let Some(q) = qualifier
            && !seen.insert((time.to_owned(), q))
        {
            continue;
        }
        tally.add(&email, day, used > 0, used as f64);
        if problems.is_empty() {
            rows.push(RawUsageRow {
                row,
                key: email,
                raw_json: value.to_string(),
            });
        }
    }
    if rows.is_empty() && problems.is_empty() {
        return refuse(None, None, "the file has no activities");
    }
    let (Some(first), Some(last), true) = (tally.first, tally.last, problems.is_empty()) else {
        return Err(problems.into_vec());
    };
    let (start, end, _) = scored_period(None, first, last, DOWNLOAD).map_err(|p| vec![p])?;
    Ok(ParsedUsage {
        format: UsageFormat::Gemini,
        rows,
        employees: tally.employees(KeyKind::Email, start, end),
        period_start: start,
        period_end: end,
        has_hours: false,
        unit_label: "active day per month",
        version: format!("Reports API activities, {}", file.layout.label()),
        encoding: file.encoding,
    })
}

#[cfg(test)]
mod tests {
    //! Fixture `gemini_activities.json`: two pages of `activities.list`, pretty-printed one after the
    //! other, built only from documented fields (Google publishes no sample): the Reports API envelope,
    //! `gemini_in_workspace_apps`, `ai_usage_event` / `feature_utilization`, `action` values from Google's
    //! list, and `app_name` / `event_category` as secondary summaries of Google's page report them.
    use crate::roster::import::test_util::*;
    use crate::roster::import::*;

    const PAGES: &[u8] = include_bytes!("../../../tests/fixtures/usage/gemini_activities.json");
    /// The first page of `gemini_activities.json` alone: its `nextPageToken` says another follows.
    const FIRST_PAGE: &[u8] =
        include_bytes!("../../../tests/fixtures/usage/gemini_first_page.json");

    fn parse(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
        parse_usage(UsageFormat::Gemini, bytes, &UsageOptions::default())
    }

    #[test]
    fn feature_use_makes_a_utc_day_active_and_inactive_suggestions_do_not() {
        let u = parse(PAGES).unwrap();
        // Two pages one after the other: read as wrapping objects.
        assert_eq!(u.version, "Reports API activities, JSON object");
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-01"), d("2026-11-30"))
        );
        let months = 30.0 / 30.44;
        let (ada, bob) = (&u.employees[0], &u.employees[1]);
        assert_eq!(
            (ada.key.as_str(), ada.key_kind),
            ("ada@example.org", KeyKind::Email)
        );
        // Two uses on the 30th are one day; the Gemini app on the 2nd another.
        assert!(close(ada.score, 2.0 / months) && close(ada.tiebreak, 3.0 / months));
        // Bob ignored a suggestion on the 29th (inactive) and wrote a document on the 1st.
        assert!(close(bob.score, 1.0 / months) && close(bob.tiebreak, 1.0 / months));
        assert_eq!(u.rows.len(), 5);
        let raw: serde_json::Value = serde_json::from_str(&u.rows[0].raw_json).unwrap();
        assert_eq!(raw["events"][0]["name"], "feature_utilization");
    }

    #[test]
    fn one_page_or_the_items_alone_read_the_same_and_a_repeated_page_counts_once() {
        let text = std::str::from_utf8(PAGES).unwrap();
        let pages: Vec<serde_json::Value> = serde_json::Deserializer::from_str(text)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let mut items = pages[0]["items"].as_array().unwrap().clone();
        items.extend(pages[1]["items"].as_array().unwrap().iter().cloned());
        let array = serde_json::to_string(&items).unwrap();
        let u = parse(array.as_bytes()).unwrap();
        assert_eq!(u.version, "Reports API activities, JSON array");
        let twice = format!("{text}\n{text}");
        let again = parse(twice.as_bytes()).unwrap();
        assert_eq!(again.employees, u.employees);
        let empty = "{\"kind\":\"admin#reports#activities\",\"etag\":\"x\"}";
        assert_eq!(
            parse(empty.as_bytes()).unwrap_err()[0].message,
            "the file has no activities"
        );
    }

    #[test]
    fn gemini_problems() {
        let item = |id: &str, actor: &str| {
            format!(
                "{{\"id\":{id},\"actor\":{actor},\"events\":[{{\"name\":\"feature_utilization\"}}]}}\n"
            )
        };
        let ok_id = "{\"time\":\"2026-11-30T16:02:11.000Z\",\"applicationName\":\"gemini_in_workspace_apps\"}";
        let text = [
            item(
                "{\"time\":\"2026-11-30T16:02:11.000Z\",\"applicationName\":\"drive\"}",
                "{\"email\":\"a@example.org\"}",
            ),
            item(ok_id, "{\"profileId\":\"42\"}"),
            item("{\"time\":\"30/11/2026\"}", "{\"email\":\"b@example.org\"}"),
            item(ok_id, "{\"email\":\"not an address\"}"),
        ]
        .concat();
        let problems = parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            places(&problems),
            vec![
                (Some(1), Some("id.applicationName")),
                (Some(2), Some("actor.email")),
                (Some(3), Some("id.time")),
                (Some(4), Some("actor.email")),
            ]
        );
        assert!(problems[0].message.contains("gemini_in_workspace_apps"));
    }

    #[test]
    fn a_page_whose_next_page_token_says_more_follow_is_refused() {
        let problems = parse(FIRST_PAGE).unwrap_err();
        assert_eq!(places(&problems), vec![(None, Some("nextPageToken"))]);
        assert!(
            problems[0].message.contains("download every page"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn activities_of_fewer_than_28_days_are_refused_with_the_days_they_cover() {
        let item = |time: &str| {
            format!(
                "{{\"id\":{{\"time\":\"{time}\",\"applicationName\":\"gemini_in_workspace_apps\"}},\"actor\":{{\"email\":\"a@example.org\"}},\"events\":[{{\"name\":\"feature_utilization\"}}]}}\n"
            )
        };
        let text = [item("2026-11-02T10:00:00Z"), item("2026-11-04T10:00:00Z")].concat();
        let problems = parse(text.as_bytes()).unwrap_err();
        assert!(
            problems[0]
                .message
                .starts_with("the file states no period and its days cover only 3 days (2026-11-02 to 2026-11-04)"),
            "{}",
            problems[0].message
        );
        let future = item("2026-12-02T10:00:00Z");
        let problems = super::parse_gemini(future.as_bytes(), Some(today())).unwrap_err();
        assert_eq!(places(&problems), vec![(Some(1), Some("id.time"))]);
    }
}
