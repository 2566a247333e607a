//! Viva Insights person query with Copilot metrics: the CSV an analyst downloads from Analysis → Query
//! results (Person query, grouped by week), one row per `PersonId` and `MetricDate` (the week's first day).
//!
//! Microsoft keeps `PersonId` and `MetricDate` fixed and lets other headers vary with locale and version
//! (underscores in its samples, spaces or parentheses in raw exports — unverified), so metric columns are
//! matched loosely: `Total_Copilot_active_days` = "Total Copilot active days".
//!
//! Score = `Total_Copilot_active_days` (Microsoft's de-duplicated any-app count) summed per person,
//! × 30.44 / the days covered (first week's start to the last week's end). Tiebreak =
//! `Total_Copilot_actions_taken` per month. Hours, only when the query has `Copilot_assisted_hours`
//! (Microsoft's estimate of time Copilot assisted, which needs optional diagnostic data): summed,
//! × 30.44 / days covered, as gross AI hours per month. Matched on `PersonId` (`KeyKind::VendorId`).
//! Only weekly queries are read: every `MetricDate` must fall on the same weekday.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use csv::StringRecord;

use super::cursor::{DAYS_PER_MONTH, loose_col};
use super::fields::{parse_decimal, parse_iso_date};
use super::table::{Layout, Problems, RawJson, Table, decode, quote};
use super::{EmployeeUsage, ImportProblem, KeyKind, ParsedUsage, People, RawUsageRow, UsageFormat};

#[derive(Default)]
struct Sums {
    days: f64,
    actions: f64,
    hours: f64,
}

pub(super) fn parse_viva(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
    const ACTIVE: &str = "Total_Copilot_active_days";
    let text = decode(bytes, Layout::Csv)?;
    let mut t = Table::open(&text)?;
    let mut problems = Problems::default();
    let header = t.header.clone();
    let person_col = t.required("PersonId", &mut problems);
    let date_col = t.required("MetricDate", &mut problems);
    let days_col = loose_col(&header, &["totalcopilotactivedays"]);
    if days_col.is_none() {
        problems.push(
            Some(1),
            Some(ACTIVE),
            format!(
                "missing column {}: add the metric \"Total Copilot active days\" to the person query",
                quote(ACTIVE)
            ),
        );
    }
    let (Some(person_col), Some(date_col), Some(days_col), false) =
        (person_col, date_col, days_col, problems.total > 0)
    else {
        return Err(problems.into_vec());
    };
    let actions_col = loose_col(&header, &["totalcopilotactionstaken"]);
    let hours_col = loose_col(&header, &["copilotassistedhours"]);
    let raw = RawJson::new(&header);
    let mut people: People<Sums> = People::new();
    let mut seen: HashMap<(usize, NaiveDate), usize> = HashMap::new();
    let mut weekday: Option<(chrono::Weekday, usize)> = None;
    let (mut first, mut last): (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
    let mut rows = Vec::new();
    let mut rec = StringRecord::new();
    while let Some(row) = t.next(&mut rec, &mut problems) {
        let person = rec[person_col].trim();
        if person.is_empty() {
            problems.at(row, &header[person_col], "PersonId is empty");
        }
        let date_text = rec[date_col].trim();
        let date = parse_iso_date(date_text);
        match date {
            None => problems.at(
                row,
                &header[date_col],
                format!("{} is not a date in the form YYYY-MM-DD", quote(date_text)),
            ),
            Some(d) => match weekday {
                None => weekday = Some((d.weekday(), row)),
                Some((w, at)) if w != d.weekday() => problems.at(
                    row,
                    &header[date_col],
                    format!(
                        "{d} is a {:?} but row {at}'s week starts on a {w:?}; run the person query grouped by week",
                        d.weekday()
                    ),
                ),
                Some(_) => {}
            },
        }
        let number = |col: Option<usize>, max: Option<f64>, problems: &mut Problems| {
            let c = col?;
            let s = rec[c].trim();
            if s.is_empty() {
                return Some(0.0);
            }
            match parse_decimal(s) {
                Ok(n) if max.is_none_or(|m| n <= m) => Some(n),
                Ok(n) => {
                    problems.at(row, &header[c], format!("{n} active days in one week"));
                    None
                }
                Err("comma") => {
                    problems.at(
                        row,
                        &header[c],
                        format!(
                            "{} uses a decimal comma; export with a point as decimal separator",
                            quote(s)
                        ),
                    );
                    None
                }
                Err(_) => {
                    problems.at(row, &header[c], format!("{} is not a number ≥ 0", quote(s)));
                    None
                }
            }
        };
        let days = number(Some(days_col), Some(7.0), &mut problems);
        let actions = number(actions_col, None, &mut problems);
        let hours = number(hours_col, None, &mut problems);
        let (false, Some(date)) = (person.is_empty(), date) else {
            continue;
        };
        let p = people.id(person);
        if let Some(&earlier) = seen.get(&(p, date)) {
            problems.at(
                row,
                &header[person_col],
                format!(
                    "{} in the week of {date} is a duplicate of row {earlier}",
                    quote(person)
                ),
            );
            continue;
        }
        seen.insert((p, date), row);
        first = Some(first.map_or(date, |f| f.min(date)));
        last = Some(last.map_or(date, |l| l.max(date)));
        let sums = &mut people.list[p].1;
        sums.days += days.unwrap_or(0.0);
        sums.actions += actions.unwrap_or(0.0);
        sums.hours += hours.unwrap_or(0.0);
        if problems.is_empty() {
            rows.push(RawUsageRow {
                row,
                key: person.to_owned(),
                raw_json: raw.row(&rec),
            });
        }
    }
    if problems.is_empty() {
        t.no_data_rows()?;
    }
    let (Some(first), Some(last), true) = (first, last, problems.is_empty()) else {
        return Err(problems.into_vec());
    };
    // The last week runs six days past its MetricDate.
    let end = last + chrono::Days::new(6);
    let months = ((end - first).num_days() + 1) as f64 / DAYS_PER_MONTH;
    let has_hours = hours_col.is_some();
    let employees = people
        .list
        .into_iter()
        .map(|(key, s)| {
            let days = s.days / months;
            EmployeeUsage {
                key,
                key_kind: KeyKind::VendorId,
                score: days,
                tiebreak: s.actions / months,
                active_days: Some(days),
                units: days,
                gross_hours_month: has_hours.then_some(s.hours / months),
            }
        })
        .collect();
    Ok(ParsedUsage {
        format: UsageFormat::Viva,
        rows,
        employees,
        period_start: first,
        period_end: end,
        has_hours,
        unit_label: "active day per month",
        version: if has_hours {
            "person query by week, with assisted hours".into()
        } else {
            "person query by week".into()
        },
        encoding: text.encoding,
    })
}

#[cfg(test)]
mod tests {
    //! Fixtures: `viva_simulated_person_query.csv` — header and first row of Microsoft's simulated person
    //! query (microsoft/viva-insights-sample-code, utility-python/_data/simulated_person_query.csv),
    //! verbatim; `viva_copilot_weekly.csv` — a weekly query with the three metrics Microsoft's Copilot
    //! taxonomy names (no Microsoft sample has all three), rows written for these tests.
    use crate::roster::import::test_util::*;
    use crate::roster::import::*;

    const SIMULATED: &[u8] =
        include_bytes!("../../../tests/fixtures/usage/viva_simulated_person_query.csv");
    const WEEKLY: &[u8] = include_bytes!("../../../tests/fixtures/usage/viva_copilot_weekly.csv");

    fn parse(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
        parse_usage(UsageFormat::Viva, bytes, &UsageOptions::default())
    }

    #[test]
    fn microsofts_simulated_query_gives_active_days_and_no_hours() {
        let u = parse(SIMULATED).unwrap();
        assert_eq!(u.version, "person query by week");
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2024-09-01"), d("2024-09-07"))
        );
        assert!(!u.has_hours);
        let p = &u.employees[0];
        assert_eq!((p.key.as_str(), p.key_kind), ("1", KeyKind::VendorId));
        assert!(close(p.score, 2.0 * 30.44 / 7.0) && p.gross_hours_month.is_none());
    }

    #[test]
    fn weeks_are_summed_and_assisted_hours_become_gross_hours_per_month() {
        let u = parse(WEEKLY).unwrap();
        assert!(u.has_hours);
        assert_eq!(u.version, "person query by week, with assisted hours");
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-01"), d("2026-11-28"))
        );
        let months = 28.0 / 30.44;
        let a = &u.employees[0];
        assert!(close(a.score, 17.0 / months) && close(a.tiebreak, 135.0 / months));
        assert!(close(a.gross_hours_month.unwrap(), 5.25 / months));
        assert_eq!(a.active_days, Some(a.score));
        assert_eq!(
            u.employees[2].gross_hours_month,
            Some(0.0),
            "an empty cell is no hours"
        );
        assert_eq!(u.rows.len(), 7);
    }

    #[test]
    fn header_variants_with_spaces_are_accepted() {
        let text = "PersonId,MetricDate,Total Copilot active days,Total Copilot actions taken,Copilot assisted hours\n\
                    p1,2026-11-01,3,9,0.75\n";
        let u = parse(text.as_bytes()).unwrap();
        assert!(u.has_hours && close(u.employees[0].tiebreak, 9.0 * 30.44 / 7.0));
    }

    #[test]
    fn viva_problems() {
        let text = "PersonId,MetricDate,Total_Copilot_active_days,Copilot_assisted_hours\n\
                    p1,2026-11-01,3,1\n\
                    p1,2026-11-03,3,1\n\
                    p2,2026-11-01,8,1\n\
                    p3,2026-11-01,2,\"1,5\"\n\
                    ,2026-11-01,1,1\n\
                    p1,2026-11-01,1,1\n\
                    p4,11/01/2026,1,1\n";
        let problems = parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            places(&problems),
            vec![
                (Some(3), Some("MetricDate")),
                (Some(4), Some("Total_Copilot_active_days")),
                (Some(5), Some("Copilot_assisted_hours")),
                (Some(6), Some("PersonId")),
                (Some(7), Some("PersonId")),
                (Some(8), Some("MetricDate")),
            ]
        );
        assert!(problems[0].message.contains("grouped by week"));
        assert!(problems[2].message.contains("decimal comma"));
        let missing =
            parse(b"PersonId,MetricDate,Copilot_assisted_hours\np1,2026-11-01,1\n").unwrap_err();
        assert!(missing[0].message.contains("Total Copilot active days"));
    }
}
