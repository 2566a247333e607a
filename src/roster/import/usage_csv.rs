//! Our own plain usage CSV: employee (id or email), month, active days and AI hours.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use csv::StringRecord;

use super::fields::{
    days_in_month, month_first_day, month_index, month_last_day, parse_decimal, parse_month,
};
use super::table::{Layout, Problems, RawJson, Table, decode, quote};
use super::{EmployeeUsage, ImportProblem, KeyKind, ParsedUsage, People, RawUsageRow, UsageFormat};

#[derive(Default)]
struct PlainSums {
    hours: f64,
    days: f64,
}

pub(super) fn parse_plain(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let text = decode(bytes, Layout::Csv)?;
    let mut table = Table::open(text)?;
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
    let days_col = table.required("active_days", &mut problems);
    let hours_col = table.required("ai_hours", &mut problems);
    let (Some(period_col), Some(days_col), Some(hours_col), false) =
        (period_col, days_col, hours_col, problems.total > 0)
    else {
        return Err(problems.into_vec());
    };
    let raw = RawJson::new(&table.header);

    // Employee ids and emails are separate key spaces: "E1" the id and "e1" an email never merge.
    let mut by_id: People<PlainSums> = People::new();
    let mut by_email: People<PlainSums> = People::new();
    let mut order: Vec<(KeyKind, usize)> = Vec::new();
    let mut seen: HashMap<(KeyKind, usize, i32), usize> = HashMap::new();
    let mut months: Vec<i32> = Vec::new();
    let mut rows = Vec::new();
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
        let month = parse_month(period);
        if month.is_none() {
            problems.at(
                row,
                "period",
                format!("{} is not a month in the form YYYY-MM", quote(period)),
            );
        }

        let days_text = rec[days_col].trim();
        let days = match days_text.parse::<u32>() {
            Ok(d) if d <= 31 && days_text.bytes().all(|b| b.is_ascii_digit()) => match month {
                Some((y, m)) if d > days_in_month(y, m) => {
                    let n = days_in_month(y, m);
                    problems.at(
                        row,
                        "active_days",
                        format!("{d} active days is more than the {n} days of {period}"),
                    );
                    None
                }
                _ => Some(f64::from(d)),
            },
            _ => {
                problems.at(
                    row,
                    "active_days",
                    format!(
                        "{} is not a whole number of days from 0 to 31",
                        quote(days_text)
                    ),
                );
                None
            }
        };

        let hours_text = rec[hours_col].trim();
        let hours = match parse_decimal(hours_text) {
            Ok(h) if h <= 744.0 => Some(h),
            Err("comma") => {
                let fixed = hours_text.replace(',', ".");
                let message = format!(
                    "{} has a comma; write decimals with a point, e.g. {}",
                    quote(hours_text),
                    quote(&fixed)
                );
                problems.at(row, "ai_hours", message);
                None
            }
            _ => {
                problems.at(
                    row,
                    "ai_hours",
                    format!(
                        "{} is not a number of hours from 0 to 744",
                        quote(hours_text)
                    ),
                );
                None
            }
        };

        let (Some((kind, key)), Some((y, m)), Some(days), Some(hours)) = (key, month, days, hours)
        else {
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
        let month = month_index(y, m);
        match seen.entry((kind, person, month)) {
            Entry::Occupied(e) => {
                let message = format!(
                    "{} in {period} is a duplicate of row {}",
                    quote(key),
                    e.get()
                );
                problems.at(row, kind.as_str(), message);
                continue;
            }
            Entry::Vacant(v) => {
                v.insert(row);
            }
        }
        if !months.contains(&month) {
            months.push(month);
        }
        let sums = &mut people.list[person].1;
        sums.hours += hours;
        sums.days += days;
        if problems.is_empty() {
            rows.push(RawUsageRow {
                row,
                key: key.to_owned(),
                raw_json: raw.row(&rec),
            });
        }
    }
    if problems.is_empty() {
        table.no_data_rows()?;
    }
    if !problems.is_empty() {
        return Err(problems.into_vec());
    }

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
            let gross = sums.hours / n;
            let days = sums.days / n;
            EmployeeUsage {
                key,
                key_kind: kind,
                score: gross,
                tiebreak: days,
                active_days: Some(days),
                units: gross,
                gross_hours_month: Some(gross),
            }
        })
        .collect();
    let first = months.iter().copied().min().unwrap_or_default();
    let last = months.iter().copied().max().unwrap_or_default();
    Ok(ParsedUsage {
        format: UsageFormat::PlainCsv,
        rows,
        employees,
        period_start: month_first_day(first),
        period_end: month_last_day(last),
        has_hours: true,
        unit_label: "AI-assisted hour per month",
        version: String::new(),
        encoding: "UTF-8",
    })
}

#[cfg(test)]
mod tests {
    use crate::roster::import::test_util::*;
    use crate::roster::import::*;
    use serde_json::Value;

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
            vec![
                (Some(1), Some("employee_id")),
                (Some(1), Some("active_days")),
                (Some(1), Some("ai_hours"))
            ]
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
}
