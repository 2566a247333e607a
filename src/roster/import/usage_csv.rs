//! Our own plain usage CSV: employee (id or email), month, and at least one measure of use per row.
//!
//! Measures: `ai_hours` (AI-assisted hours in the month), `active_days` (days with any use) and
//! `usage_count` (a count of uses the customer's tool reports: prompts, requests, sessions). The score is
//! the first measure every row gives, in that order — hours, else active days, else the count — averaged
//! over the file's months; the next complete measure is the tiebreak. Gross hours come from the file only
//! when every row has `ai_hours`. `period` is a month `YYYY-MM`, or a date in it (a spreadsheet re-saving
//! the file turns `2026-11` into `01/11/2026` or `11/1/2026`): short dates follow `fields::ShortDates`.
//! A measure given on some rows and left empty on others is refused with the row (people would be ranked
//! on two scales); in a `;`-separated file decimals may have a comma (`fields::Decimals`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use csv::StringRecord;

use super::fields::{
    Decimals, ShortDate, ShortDates, days_in_month, month_first_day, month_index, month_last_day,
    parse_iso_date, parse_month,
};
use super::table::{Layout, Problems, RawJson, Table, decode, quote, sniff_delimiter};
use super::{
    DateOrder, EmployeeUsage, ImportProblem, KeyKind, ParsedUsage, People, RawUsageRow,
    UsageFormat, UsageOptions,
};
use chrono::Datelike;

/// The measures a row may give, in the order they are preferred as the score.
const MEASURES: [&str; 3] = ["ai_hours", "active_days", "usage_count"];

#[derive(Default)]
struct PlainSums {
    /// Sum per measure, in `MEASURES` order.
    sums: [f64; 3],
}

/// A month as written: already known, or a short date whose order the whole file decides.
#[derive(Clone, Copy)]
enum Month {
    Known(i32, u32),
    Short(ShortDate),
}

/// A valid row waiting for the file's date order.
struct Pending {
    row: usize,
    kind: KeyKind,
    person: usize,
    month: Month,
    period: String,
    values: [Option<f64>; 3],
    raw: String,
}

fn read_month(period: &str) -> Option<Month> {
    if let Some((y, m)) = parse_month(period) {
        return Some(Month::Known(y, m));
    }
    if let Some(d) = parse_iso_date(period) {
        return Some(Month::Known(d.year(), d.month()));
    }
    ShortDate::parse(period).map(Month::Short)
}

pub(super) fn parse_plain(
    bytes: &[u8],
    options: &UsageOptions,
) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let text = decode(bytes, Layout::Csv)?;
    let encoding = text.encoding;
    let mut table = Table::open(&text)?;
    let mut problems = Problems::default();
    let id_col = table.col("employee_id");
    let email_col = table.col("email");
    if id_col.is_none() && email_col.is_none() {
        problems.push(
            Some(1),
            Some("employee_id"),
            "missing column \"employee_id\" (or \"email\"): the file needs at least one of them",
        );
    }
    let period_col = table.required("period", &mut problems);
    let measure_cols = MEASURES.map(|m| table.col(m));
    if measure_cols.iter().all(Option::is_none) {
        problems.push(
            Some(1),
            Some("ai_hours"),
            "missing column \"ai_hours\" (or \"active_days\" or \"usage_count\"): the file needs at least one measure of use",
        );
    }
    let (Some(period_col), false) = (period_col, problems.total > 0) else {
        return Err(problems.into_vec());
    };
    let raw = RawJson::new(&table.header);
    let mut decimals = Decimals::new(sniff_delimiter(&text));
    // Per measure: the first row giving it, the first row leaving it empty, and how many leave it empty.
    let mut given_at: [Option<usize>; 3] = [None; 3];
    let mut empty_at: [(Option<usize>, usize); 3] = [(None, 0); 3];

    // Employee ids and emails are separate key spaces: "E1" the id and "e1" an email never merge.
    let mut by_id: People<PlainSums> = People::new();
    let mut by_email: People<PlainSums> = People::new();
    let mut order: Vec<(KeyKind, usize)> = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    // (key kind, person, month) → first row; months known as written are checked as rows are read.
    let mut seen: HashMap<(KeyKind, usize, i32), usize> = HashMap::new();
    let mut short_dates = ShortDates::default();
    let mut any_short = false;
    // How many valid rows give each measure: a measure is usable only if every row gives it.
    let mut given = [0usize; 3];
    let mut rec = StringRecord::new();
    let mut email_buf = String::new();
    while let Some(row) = table.next(&mut rec, &mut problems) {
        let id = id_col.map_or("", |c| rec[c].trim());
        let email = email_col.map_or("", |c| rec[c].trim());
        let key = if !id.is_empty() {
            Some((KeyKind::EmployeeId, id))
        } else if !email.is_empty() {
            email_buf.clear();
            email_buf.extend(email.chars().flat_map(char::to_lowercase));
            Some((KeyKind::Email, email_buf.as_str()))
        } else {
            let column = if id_col.is_some() {
                "employee_id"
            } else {
                "email"
            };
            problems.at(row, column, "the row needs an employee_id or an email");
            None
        };

        let period = rec[period_col].trim();
        let month = read_month(period);
        match month {
            None => problems.at(
                row,
                "period",
                format!(
                    "{} is not a month in the form YYYY-MM (or a date in it)",
                    quote(period)
                ),
            ),
            Some(Month::Short(d)) => {
                any_short = true;
                short_dates.see(period, d, row, "period");
            }
            Some(Month::Known(..)) => {}
        }
        let known = match month {
            Some(Month::Known(y, m)) => Some((y, m)),
            _ => None,
        };

        let mut values = [None; 3];
        for (i, col) in measure_cols.iter().enumerate() {
            let Some(c) = *col else { continue };
            let text = rec[c].trim();
            if text.is_empty() {
                empty_at[i].0.get_or_insert(row);
                empty_at[i].1 += 1;
                continue;
            }
            given_at[i].get_or_insert(row);
            values[i] = measure(i, text, period, known, row, &mut decimals, &mut problems);
        }
        let blank = measure_cols
            .iter()
            .all(|c| c.is_none_or(|c| rec[c].trim().is_empty()));
        if blank {
            let column = MEASURES[measure_cols.iter().position(Option::is_some).unwrap_or(0)];
            problems.at(
                row,
                column,
                "the row gives no measure: fill in ai_hours, active_days or usage_count",
            );
            continue;
        }

        let (Some((kind, key)), Some(month)) = (key, month) else {
            continue;
        };
        let people = if kind == KeyKind::EmployeeId {
            &mut by_id
        } else {
            &mut by_email
        };
        let fresh = people.list.len();
        let person = people.id(key);
        if person == fresh {
            order.push((kind, person));
        }
        if let Month::Known(y, m) = month
            && let Some(earlier) = first_seen(&mut seen, (kind, person, month_index(y, m)), row)
        {
            let message = format!(
                "{} in {y}-{m:02} is a duplicate of row {earlier}",
                quote(key)
            );
            problems.at(row, kind.as_str(), message);
            continue;
        }
        for (g, v) in given.iter_mut().zip(&values) {
            *g += usize::from(v.is_some());
        }
        if problems.is_empty() {
            pending.push(Pending {
                row,
                kind,
                person,
                month,
                period: period.to_owned(),
                values,
                raw: raw.row(&rec),
            });
        }
    }
    if problems.is_empty() {
        table.no_data_rows()?;
    }
    // A measure on some rows and not others would rank people on two scales (hours here, days there).
    for i in 0..3 {
        if let (Some(given), (Some(empty), n)) = (given_at[i], empty_at[i]) {
            let more = match n {
                1 => String::new(),
                n => format!(" (and {} more rows)", n - 1),
            };
            problems.at(
                empty,
                MEASURES[i],
                format!(
                    "{} is empty here{more} but given on row {given}; give each measure on every row \
                     or on none, so that everyone is ranked on the same scale",
                    MEASURES[i]
                ),
            );
        }
    }
    if let Some(p) = decimals.check() {
        problems.push(p.row, p.column.as_deref(), p.message);
    }
    if !problems.is_empty() {
        return Err(problems.into_vec());
    }
    let date_order = short_dates.order(options.date_order);

    let mut months: Vec<i32> = Vec::new();
    let mut rows = Vec::with_capacity(pending.len());
    for p in pending {
        let (y, m) = match p.month {
            Month::Known(y, m) => (y, m),
            Month::Short(d) => match &date_order {
                Err(problem) => return Err(vec![problem.clone()]),
                Ok(o) => match d.date(*o) {
                    Some(date) => (date.year(), date.month()),
                    None => {
                        problems.at(
                            p.row,
                            "period",
                            format!("{} is not a date", quote(&p.period)),
                        );
                        continue;
                    }
                },
            },
        };
        // Active days are checked against the month once the month is known.
        if let Some(days) = p.values[1]
            && days > f64::from(days_in_month(y, m))
        {
            problems.at(
                p.row,
                "active_days",
                format!(
                    "{days} active days is more than the {} days of {y}-{m:02}",
                    days_in_month(y, m)
                ),
            );
            continue;
        }
        let month = month_index(y, m);
        let people = if p.kind == KeyKind::EmployeeId {
            &mut by_id
        } else {
            &mut by_email
        };
        if matches!(p.month, Month::Short(_))
            && let Some(earlier) = first_seen(&mut seen, (p.kind, p.person, month), p.row)
        {
            let message = format!(
                "{} in {y}-{m:02} is a duplicate of row {earlier}",
                quote(&people.list[p.person].0)
            );
            problems.at(p.row, p.kind.as_str(), message);
            continue;
        }
        if !months.contains(&month) {
            months.push(month);
        }
        let sums = &mut people.list[p.person].1;
        for (s, v) in sums.sums.iter_mut().zip(p.values) {
            *s += v.unwrap_or(0.0);
        }
        rows.push(RawUsageRow {
            row: p.row,
            key: people.list[p.person].0.clone(),
            raw_json: p.raw,
        });
    }
    if !problems.is_empty() {
        return Err(problems.into_vec());
    }
    // The measures every row gives; the first is the score, the next the tiebreak.
    let complete: Vec<usize> = (0..3).filter(|&i| given[i] == rows.len()).collect();
    let Some(&basis) = complete.first() else {
        let partly: Vec<&str> = (0..3)
            .filter(|&i| given[i] > 0)
            .map(|i| MEASURES[i])
            .collect();
        return super::table::refuse(
            None,
            Some(MEASURES[(0..3).find(|&i| given[i] > 0).unwrap_or(0)]),
            format!(
                "no measure is given on every row ({} each miss some rows); give the same one on every row",
                partly.join(", ")
            ),
        );
    };
    let tiebreak = complete.get(1).copied();

    // An employee missing from a month counts zero for it: divide by the file's months, not theirs.
    let n = months.len() as f64;
    let employees = order
        .into_iter()
        .map(|(kind, i)| {
            let people = if kind == KeyKind::EmployeeId {
                &mut by_id
            } else {
                &mut by_email
            };
            let (key, sums) = std::mem::take(&mut people.list[i]);
            let per_month = sums.sums.map(|s| s / n);
            let score = per_month[basis];
            EmployeeUsage {
                key,
                key_kind: kind,
                score,
                tiebreak: tiebreak.map_or(0.0, |t| per_month[t]),
                active_days: (given[1] == rows.len()).then_some(per_month[1]),
                units: score,
                gross_hours_month: (basis == 0).then_some(per_month[0]),
            }
        })
        .collect();
    let first = months.iter().copied().min().unwrap_or_default();
    let last = months.iter().copied().max().unwrap_or_default();
    let mut version = format!("scored on {}", MEASURES[basis]);
    if any_short && let Ok(o) = date_order {
        version.push_str(match o {
            DateOrder::Dmy => ", periods read as day/month dates",
            DateOrder::Mdy => ", periods read as month/day dates",
        });
    }
    Ok(ParsedUsage {
        format: UsageFormat::PlainCsv,
        rows,
        employees,
        period_start: month_first_day(first),
        period_end: month_last_day(last),
        has_hours: basis == 0,
        unit_label: [
            "AI-assisted hour per month",
            "active day per month",
            "counted use per month",
        ][basis],
        version,
        encoding,
    })
}

/// The first row of a (key, month), or records this one as the first.
fn first_seen(
    seen: &mut HashMap<(KeyKind, usize, i32), usize>,
    at: (KeyKind, usize, i32),
    row: usize,
) -> Option<usize> {
    match seen.entry(at) {
        Entry::Occupied(e) => Some(*e.get()),
        Entry::Vacant(v) => {
            v.insert(row);
            None
        }
    }
}

/// One measure's value, or a problem on the row.
fn measure(
    i: usize,
    text: &str,
    period: &str,
    month: Option<(i32, u32)>,
    row: usize,
    decimals: &mut Decimals,
    problems: &mut Problems,
) -> Option<f64> {
    let column = MEASURES[i];
    match i {
        0 => match decimals.read(text, row, column) {
            Ok(h) if h <= 744.0 => Some(h),
            Err(m) if m.contains("comma") || m.contains("thousands") => {
                problems.at(row, column, m);
                None
            }
            _ => {
                problems.at(
                    row,
                    column,
                    format!("{} is not a number of hours from 0 to 744", quote(text)),
                );
                None
            }
        },
        1 => match text.parse::<u32>() {
            Ok(d) if d <= 31 && text.bytes().all(|b| b.is_ascii_digit()) => match month {
                Some((y, m)) if d > days_in_month(y, m) => {
                    let n = days_in_month(y, m);
                    problems.at(
                        row,
                        column,
                        format!("{d} active days is more than the {n} days of {period}"),
                    );
                    None
                }
                _ => Some(f64::from(d)),
            },
            _ => {
                problems.at(
                    row,
                    column,
                    format!("{} is not a whole number of days from 0 to 31", quote(text)),
                );
                None
            }
        },
        _ => match text.parse::<u64>() {
            Ok(c) if text.bytes().all(|b| b.is_ascii_digit()) => Some(c as f64),
            _ => {
                problems.at(
                    row,
                    column,
                    format!("{} is not a whole number ≥ 0", quote(text)),
                );
                None
            }
        },
    }
}

/// A plain usage CSV to start from: the employees of `roster::template` over the two months before `today`,
/// with all three measures (hours win as the score when every row has them). It imports as it is.
pub fn template(today: chrono::NaiveDate) -> String {
    let this = today.with_day(1).expect("day 1 exists");
    let last = this - chrono::Months::new(1);
    let before = this - chrono::Months::new(2);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "employee_id",
        "email",
        "period",
        "ai_hours",
        "active_days",
        "usage_count",
    ])
    .expect("writing to memory");
    for (id, hours, days, count) in [
        ("E0001", ["12.5", "14"], ["15", "17"], ["240", "260"]),
        ("E0002", ["3", "2.5"], ["4", "3"], ["30", "22"]),
    ] {
        for (i, month) in [before, last].iter().enumerate() {
            let period = month.format("%Y-%m").to_string();
            w.write_record([id, "", &period, hours[i], days[i], count[i]])
                .expect("writing to memory");
        }
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 in, UTF-8 out")
}

#[cfg(test)]
mod tests {
    use crate::roster::import::test_util::*;
    use crate::roster::import::*;
    use serde_json::Value;

    #[test]
    fn the_template_imports_as_it_is_with_hours_as_the_score() {
        let text = super::template(d("2026-01-20"));
        assert!(text.starts_with("employee_id,email,period,ai_hours,active_days,usage_count\n"));
        assert!(text.contains("E0001,,2025-11,12.5,15,240\n"), "{text}");
        let parsed = plain(&text).unwrap();
        assert_eq!(parsed.employees.len(), 2);
        assert!(parsed.has_hours);
        assert_eq!(parsed.period_start, d("2025-11-01"));
        assert_eq!(parsed.period_end, d("2025-12-31"));
    }

    fn plain(text: &str) -> Result<ParsedUsage, Vec<ImportProblem>> {
        parse_usage(
            UsageFormat::PlainCsv,
            text.as_bytes(),
            &crate::roster::import::UsageOptions::default(),
        )
    }

    #[test]
    fn plain_csv_usage_averages_over_the_months_of_the_file() {
        let text = "employee_id,email,period,active_days,ai_hours,team\n\
                    E1,,2026-10,10,20.5,a\n\
                    E1,,2026-11,20,9.5,\"a, \"\"b\"\"\"\n\
                    ,Bob@Example.org,2026-11,5,3,b\n\
                    E2,x@example.org,2026-10,0,0,c\n";
        let u = plain(text).unwrap();
        assert_eq!(u.format, UsageFormat::PlainCsv);
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-10-01"), d("2026-11-30"))
        );
        assert!(u.has_hours);
        assert_eq!(u.unit_label, "AI-assisted hour per month");
        let keys: Vec<_> = u.rows.iter().map(|r| (r.row, r.key.as_str())).collect();
        assert_eq!(
            keys,
            vec![(2, "E1"), (3, "E1"), (4, "bob@example.org"), (5, "E2")]
        );
        let raw: Value = serde_json::from_str(&u.rows[1].raw_json).unwrap();
        assert_eq!(raw["team"], "a, \"b\"");
        assert_eq!(raw["ai_hours"], "9.5");
        assert_eq!(raw["email"], "");
        assert_eq!(u.employees.len(), 3);
        let e1 = &u.employees[0];
        assert_eq!((e1.key.as_str(), e1.key_kind), ("E1", KeyKind::EmployeeId));
        assert!(close(e1.score, 15.0) && close(e1.units, 15.0) && close(e1.tiebreak, 15.0));
        assert_eq!(
            (e1.gross_hours_month, e1.active_days),
            (Some(15.0), Some(15.0))
        );
        let bob = &u.employees[1];
        assert_eq!(
            (bob.key.as_str(), bob.key_kind),
            ("bob@example.org", KeyKind::Email)
        );
        assert!(close(bob.score, 1.5) && close(bob.tiebreak, 2.5));
        assert_eq!(u.employees[2].score, 0.0);
    }

    #[test]
    fn plain_csv_usage_problems() {
        let text = "employee_id,period,active_days,ai_hours\n\
                    E1,Nov 2026,3,2.5\n\
                    E2,2026-11,3,-2\n\
                    E3,2026-11,3,2,5\n\
                    E4,2026-11,31,2\n\
                    E5,2026-13,3,2\n\
                    E6,2026-11,x,2\n\
                    E7,2026-11,3,745\n\
                    ,2026-11,3,2\n\
                    E9,2026-11,3,2\n\
                    E9,2026-11,4,2\n";
        let problems = plain(text).unwrap_err();
        assert_eq!(
            places(&problems),
            vec![
                (Some(2), Some("period")),
                (Some(3), Some("ai_hours")),
                (Some(4), None),
                (Some(5), Some("active_days")),
                (Some(6), Some("period")),
                (Some(7), Some("active_days")),
                (Some(8), Some("ai_hours")),
                (Some(9), Some("employee_id")),
                (Some(11), Some("employee_id")),
            ]
        );
        assert_eq!(
            problems[3].message,
            "31 active days is more than the 30 days of 2026-11"
        );
        assert_eq!(
            problems[8].message,
            "\"E9\" in 2026-11 is a duplicate of row 10"
        );
        let comma =
            plain("employee_id,period,active_days,ai_hours\nE1,2026-11,3,\"2,5\"\n").unwrap_err();
        assert!(comma[0].message.contains("point"), "{}", comma[0].message);
        let missing = plain("name,period\nx,2026-11\n").unwrap_err();
        assert_eq!(
            places(&missing),
            vec![(Some(1), Some("employee_id")), (Some(1), Some("ai_hours"))]
        );
        assert!(
            missing[1].message.contains("active_days")
                && missing[1].message.contains("usage_count"),
            "{}",
            missing[1].message
        );
        let dup_email =
            plain("email,period,active_days,ai_hours\na@x.org,2026-11,1,1\nA@X.org,2026-11,1,1\n")
                .unwrap_err();
        assert_eq!(places(&dup_email), vec![(Some(3), Some("email"))]);
        assert_eq!(
            plain("employee_id,period,active_days,ai_hours\n").unwrap_err()[0].message,
            "the file has a header but no data rows"
        );
    }

    fn plain_with(
        text: &[u8],
        order: Option<DateOrder>,
    ) -> Result<ParsedUsage, Vec<ImportProblem>> {
        parse_usage(
            UsageFormat::PlainCsv,
            text,
            &UsageOptions { date_order: order },
        )
    }

    #[test]
    fn active_days_or_a_usage_count_may_stand_in_for_hours() {
        let days = plain("email,period,active_days,usage_count\na@x.org,2026-10,10,40\na@x.org,2026-11,20,0\nb@x.org,2026-11,4,8\n")
            .unwrap();
        assert!(!days.has_hours);
        assert_eq!(days.unit_label, "active day per month");
        assert_eq!(days.version, "scored on active_days");
        let a = &days.employees[0];
        assert!(close(a.score, 15.0) && close(a.units, 15.0));
        assert_eq!((a.gross_hours_month, a.active_days), (None, Some(15.0)));
        // usage_count, on every row, is the tiebreak.
        assert!(close(a.tiebreak, 20.0));

        let count =
            plain("employee_id,period,usage_count\nE1,2026-11,120\nE2,2026-11,0\n").unwrap();
        assert_eq!(count.unit_label, "counted use per month");
        assert_eq!(
            (count.employees[0].score, count.employees[0].active_days),
            (120.0, None)
        );

        // Hours on some rows only: refused, naming the row without them (it was once scored on days
        // silently, claiming no hours).
        let some_hours = plain(
            "employee_id,period,active_days,ai_hours\nE1,2026-11,3,2.5\nE2,2026-11,5,\nE3,2026-11,5,\n",
        )
        .unwrap_err();
        assert_eq!(places(&some_hours), vec![(Some(3), Some("ai_hours"))]);
        assert!(
            some_hours[0]
                .message
                .contains("(and 1 more rows) but given on row 2"),
            "{}",
            some_hours[0].message
        );

        let nothing = plain("employee_id,period,active_days,ai_hours\nE1,2026-11,,\n").unwrap_err();
        assert_eq!(places(&nothing), vec![(Some(2), Some("ai_hours"))]);
        let patchy =
            plain("employee_id,period,active_days,ai_hours\nE1,2026-11,3,\nE2,2026-11,,2\n")
                .unwrap_err();
        assert!(
            patchy[0].message.contains("every row"),
            "{}",
            patchy[0].message
        );
        let bad_count = plain("employee_id,period,usage_count\nE1,2026-11,1.5\n").unwrap_err();
        assert_eq!(places(&bad_count), vec![(Some(2), Some("usage_count"))]);
    }

    #[test]
    fn periods_resaved_as_short_dates_need_a_decidable_order() {
        // Excel in a day/month locale turns "2026-11" into "01/11/2026".
        let ambiguous = "employee_id,period,ai_hours\nE1,01/11/2026,2\nE1,01/12/2026,4\n";
        let refused = plain_with(ambiguous.as_bytes(), None).unwrap_err();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].column.as_deref(), Some("period"));
        assert!(
            refused[0].message.contains("choose the date order"),
            "{}",
            refused[0].message
        );
        let dmy = plain_with(ambiguous.as_bytes(), Some(DateOrder::Dmy)).unwrap();
        assert_eq!(
            (dmy.period_start, dmy.period_end),
            (d("2026-11-01"), d("2026-12-31"))
        );
        assert!(dmy.version.contains("day/month"), "{}", dmy.version);
        // Read month/day, both rows fall in January: the same month twice.
        let mdy = plain_with(ambiguous.as_bytes(), Some(DateOrder::Mdy)).unwrap_err();
        assert_eq!(mdy[0].message, "\"E1\" in 2026-01 is a duplicate of row 2");
        let mdy = plain_with(
            b"employee_id,period,ai_hours\nE1,01/11/2026,2\n",
            Some(DateOrder::Mdy),
        )
        .unwrap();
        assert_eq!(
            (mdy.period_start, mdy.period_end),
            (d("2026-01-01"), d("2026-01-31"))
        );
        // A day over 12 decides it; a repeat of the month is still caught.
        let decided = plain_with(
            b"employee_id,period,ai_hours\nE1,30.11.2026,2\nE2,1.11.2026,4\nE2,02.11.2026,4\n",
            None,
        )
        .unwrap_err();
        assert_eq!(places(&decided), vec![(Some(4), Some("employee_id"))]);
        let ok = plain_with(
            b"employee_id,period,ai_hours\nE1,30.11.2026,2\nE2,1.12.2026,4\n",
            None,
        )
        .unwrap();
        assert_eq!(ok.period_end, d("2026-12-31"));
    }

    #[test]
    fn a_windows_1252_file_with_semicolons_is_read_and_said_so() {
        let bytes =
            b"email;period;ai_hours;team\r\nj\xfcrgen@example.org;2026-11;4.5;Stra\xdfe\r\n";
        let u = parse_usage(UsageFormat::PlainCsv, bytes, &UsageOptions::default()).unwrap();
        assert_eq!(u.encoding, "Windows-1252");
        assert_eq!(u.employees[0].key, "jürgen@example.org");
        let raw: Value = serde_json::from_str(&u.rows[0].raw_json).unwrap();
        assert_eq!(raw["team"], "Straße");
        assert_eq!(
            plain("employee_id,period,ai_hours\nE1,2026-11,1\n")
                .unwrap()
                .encoding,
            "UTF-8"
        );
    }

    #[test]
    fn decimal_commas_are_read_in_a_semicolon_file() {
        let u = plain("email;period;ai_hours\na@x.org;2026-10;12,5\nb@x.org;2026-10;3\n").unwrap();
        assert_eq!(u.employees[0].gross_hours_month, Some(12.5));
        let mixed = plain("email;period;ai_hours\na@x.org;2026-10;12,5\nb@x.org;2026-10;1.250\n")
            .unwrap_err();
        assert_eq!(places(&mixed), vec![(None, None)]);
        assert!(
            mixed[0].message.contains("thousands"),
            "{}",
            mixed[0].message
        );
    }
}
