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
//! Only weekly queries are read: every `MetricDate` must fall on the same weekday. A query re-saved by
//! Excel may have short dates (`fields::ShortDates`: the admin picks the order when the file can't tell)
//! and, in a `;`-separated file, decimal commas (`fields::Decimals`); an empty metric is refused.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use csv::StringRecord;

use super::cursor::{DAYS_PER_MONTH, loose_col};
use super::fields::{DateCell, Decimals, ShortDates, not_a_date};
use super::table::{Layout, Problems, RawJson, Table, decode, quote, sniff_delimiter};
use super::{
    EmployeeUsage, ImportProblem, KeyKind, ParsedUsage, People, RawUsageRow, UsageFormat,
    UsageOptions,
};

#[derive(Default)]
struct Sums {
    days: f64,
    actions: f64,
    hours: f64,
}

/// A valid row waiting for the file's date order.
struct Pending {
    row: usize,
    person: usize,
    date: DateCell,
    days: f64,
    actions: f64,
    hours: f64,
    raw_json: String,
}

pub(super) fn parse_viva(
    bytes: &[u8],
    options: &UsageOptions,
) -> Result<ParsedUsage, Vec<ImportProblem>> {
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
    let mut decimals = Decimals::new(sniff_delimiter(&text));
    let mut shorts = ShortDates::default();
    let mut people: People<Sums> = People::new();
    let mut pending = Vec::new();
    let mut rec = StringRecord::new();
    while let Some(row) = t.next(&mut rec, &mut problems) {
        let person = rec[person_col].trim();
        if person.is_empty() {
            problems.at(row, &header[person_col], "PersonId is empty");
        }
        let date_text = rec[date_col].trim();
        let date = DateCell::read(date_text);
        match date {
            None => problems.at(row, &header[date_col], not_a_date(date_text)),
            Some(DateCell::Short(d)) => shorts.see(date_text, d, row, &header[date_col]),
            Some(DateCell::Day(_)) => {}
        }
        // Microsoft documents no meaning for an empty metric in a person query (a week it could not
        // compute is left out, not emptied), so an empty cell is refused rather than read as 0.
        let mut number = |col: Option<usize>, max: Option<f64>, problems: &mut Problems| {
            let c = col?;
            let s = rec[c].trim();
            if s.is_empty() {
                problems.at(
                    row,
                    &header[c],
                    "the metric is empty; an empty cell is not read as 0: run the query again, or \
                     write the number",
                );
                return None;
            }
            match decimals.read(s, row, &header[c]) {
                Ok(n) if max.is_none_or(|m| n <= m) => Some(n),
                Ok(n) => {
                    problems.at(row, &header[c], format!("{n} active days in one week"));
                    None
                }
                Err(m) => {
                    problems.at(row, &header[c], m);
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
        if problems.is_empty() {
            pending.push(Pending {
                row,
                person: p,
                date,
                days: days.unwrap_or(0.0),
                actions: actions.unwrap_or(0.0),
                hours: hours.unwrap_or(0.0),
                raw_json: raw.row(&rec),
            });
        }
    }
    if problems.is_empty() {
        t.no_data_rows()?;
    }
    if let Some(p) = decimals.check() {
        problems.push(p.row, p.column.as_deref(), p.message);
    }
    if !problems.is_empty() {
        return Err(problems.into_vec());
    }
    let order = shorts.order_if_any(options.date_order)?;
    let date_name = &header[date_col];
    let person_name = &header[person_col];
    let mut seen: HashMap<(usize, NaiveDate), usize> = HashMap::new();
    let mut weekday: Option<(chrono::Weekday, usize)> = None;
    let (mut first, mut last): (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
    let mut rows = Vec::with_capacity(pending.len());
    for r in pending {
        let Some(date) = r.date.date(order) else {
            problems.at(r.row, date_name, r.date.no_such_day(order));
            continue;
        };
        match weekday {
            None => weekday = Some((date.weekday(), r.row)),
            Some((w, at)) if w != date.weekday() => problems.at(
                r.row,
                date_name,
                format!(
                    "{date} is a {:?} but row {at}'s week starts on a {w:?}; run the person query grouped by week",
                    date.weekday()
                ),
            ),
            Some(_) => {}
        }
        let key = &people.list[r.person].0;
        if let Some(&earlier) = seen.get(&(r.person, date)) {
            problems.at(
                r.row,
                person_name,
                format!(
                    "{} in the week of {date} is a duplicate of row {earlier}",
                    quote(key)
                ),
            );
            continue;
        }
        seen.insert((r.person, date), r.row);
        first = Some(first.map_or(date, |f| f.min(date)));
        last = Some(last.map_or(date, |l| l.max(date)));
        rows.push(RawUsageRow {
            row: r.row,
            key: key.clone(),
            raw_json: r.raw_json,
        });
        let sums = &mut people.list[r.person].1;
        sums.days += r.days;
        sums.actions += r.actions;
        sums.hours += r.hours;
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
    const EXCEL_DMY: &[u8] =
        include_bytes!("../../../tests/fixtures/usage/viva_copilot_weekly_excel_dmy_1252.csv");

    fn parse(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
        parse_usage(UsageFormat::Viva, bytes, &UsageOptions::default())
    }

    fn parse_in(bytes: &[u8], order: DateOrder) -> Result<ParsedUsage, Vec<ImportProblem>> {
        let options = UsageOptions {
            date_order: Some(order),
        };
        parse_usage(UsageFormat::Viva, bytes, &options)
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
        assert_eq!(u.employees[2].gross_hours_month, Some(0.0));
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
                    p2,2026-11-01,8,1\n\
                    p3,2026-11-01,2,\"1,5\"\n\
                    ,2026-11-01,1,1\n\
                    p4,Nov 1,1,1\n\
                    p5,2026-11-01,,1\n\
                    p6,2026-11-01,1,\n";
        let problems = parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            places(&problems),
            vec![
                (Some(2), Some("Total_Copilot_active_days")),
                (Some(3), Some("Copilot_assisted_hours")),
                (Some(4), Some("PersonId")),
                (Some(5), Some("MetricDate")),
                (Some(6), Some("Total_Copilot_active_days")),
                (Some(7), Some("Copilot_assisted_hours")),
            ]
        );
        assert!(problems[1].message.contains("decimal comma"));
        assert!(problems[4].message.contains("not read as 0"));
        // Once every cell reads, the weeks themselves are checked.
        let text = "PersonId,MetricDate,Total_Copilot_active_days\n\
                    p1,2026-11-01,3\n\
                    p1,2026-11-03,3\n\
                    p1,2026-11-01,1\n";
        let problems = parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            places(&problems),
            vec![(Some(3), Some("MetricDate")), (Some(4), Some("PersonId"))]
        );
        assert!(problems[0].message.contains("grouped by week"));
        let missing =
            parse(b"PersonId,MetricDate,Copilot_assisted_hours\np1,2026-11-01,1\n").unwrap_err();
        assert!(missing[0].message.contains("Total Copilot active days"));
    }

    #[test]
    fn a_query_re_saved_by_excel_in_a_day_month_locale_is_read() {
        // ';' between columns, decimal commas, Windows-1252 and dd/mm/yyyy weeks (15/11 says day/month).
        let want = parse(WEEKLY).unwrap();
        let u = parse(EXCEL_DMY).unwrap();
        assert_eq!(
            (u.period_start, u.period_end),
            (want.period_start, want.period_end)
        );
        assert_eq!(u.employees, want.employees);
        assert_eq!(u.encoding, "Windows-1252");
        let contradicted = parse_in(EXCEL_DMY, DateOrder::Mdy).unwrap_err();
        assert_eq!(places(&contradicted), vec![(Some(4), Some("MetricDate"))]);
        // Weeks whose days are all 12 or less can't tell: refused until the admin picks the order.
        let text =
            "PersonId,MetricDate,Total_Copilot_active_days\np1,01/11/2026,3\np1,08/11/2026,2\n";
        let refused = parse(text.as_bytes()).unwrap_err();
        assert!(
            refused[0].message.contains("choose the date order"),
            "{refused:?}"
        );
        let dmy = parse_in(text.as_bytes(), DateOrder::Dmy).unwrap();
        assert_eq!(
            (dmy.period_start, dmy.period_end),
            (d("2026-11-01"), d("2026-11-14"))
        );
        // Read month/day, the two weeks start on different weekdays: refused, not mis-read.
        let mdy = parse_in(text.as_bytes(), DateOrder::Mdy).unwrap_err();
        assert!(mdy[0].message.contains("grouped by week"), "{mdy:?}");
    }

    #[test]
    fn decimal_commas_are_read_in_a_semicolon_file_and_mixed_marks_refused() {
        let text = String::from_utf8(WEEKLY.to_vec()).unwrap();
        let semi = text
            .replace(',', ";")
            .replace("1.5", "1,5")
            .replace("1.25", "1,25")
            .replace("0.5", "0,5");
        let u = parse(semi.as_bytes()).unwrap();
        assert_eq!(u.employees, parse(WEEKLY).unwrap().employees);
        let mixed = semi.replacen("0,5", "0.5", 1);
        let problems = parse(mixed.as_bytes()).unwrap_err();
        assert_eq!(places(&problems), vec![(None, None)]);
        assert!(problems[0].message.contains("with a comma"), "{problems:?}");
    }
}
