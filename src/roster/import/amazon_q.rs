//! Amazon Q Developer per-user activity report: the CSV Amazon Q writes to the admin's S3 bucket every
//! day (`…/QDeveloperLogs/by_user_analytic/…/{accountId}_by_user_analytic_{timestamp}.csv`), one row per
//! user who used Amazon Q that day, split into `part_N` files above 1,000 users.
//!
//! One file is one UTC day, so a month is about thirty files: they may be uploaded joined one after the
//! other (`cat *.csv`), each with its header line; a line repeating the header is skipped. Two rows of one
//! user and day (reports of two Regions or accounts) are merged, the day counted once; the very same row
//! twice (one file uploaded twice) is refused.
//!
//! A row means the user was active that day (AWS: "Each row shows a user who interacted with Amazon Q
//! that day"): every surface counts (chat, inline suggestions, inline chat, /dev, /test, /doc, /review,
//! transformations). Score = active days per month over the first to the last day in the file(s);
//! tiebreak = the user's own actions per month (chat messages, inline suggestions accepted, inline chat,
//! agent and review runs). `Date` is MM-DD-YYYY, as AWS writes it, never read otherwise. Matched on
//! `UserId`, the IAM Identity Center user id (`KeyKind::VendorId`): the file has no email.

use std::collections::HashMap;

use chrono::NaiveDate;
use csv::StringRecord;

use super::cursor::{DayTally, cell_count, loose};
use super::table::{Layout, Problems, RawJson, Table, decode, quote};
use super::{ImportProblem, KeyKind, ParsedUsage, RawUsageRow, UsageFormat};

/// The counts of a user's own actions, from AWS's metric table ("User activity report metrics").
const ACTIONS: [&str; 10] = [
    "Chat_MessagesSent",
    "Inline_AcceptanceCount",
    "InlineChat_TotalEventCount",
    "Dev_GenerationEventCount",
    "TestGeneration_EventCount",
    "DocGeneration_EventCount",
    "CodeReview_SucceededEventCount",
    "CodeReview_FailedEventCount",
    "CodeFix_GenerationEventCount",
    "Transformation_EventCount",
];

/// MM-DD-YYYY, exactly.
fn q_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[2] != b'-' || b[5] != b'-' || !digits(0..2) || !digits(3..5) {
        return None;
    }
    if !digits(6..10) {
        return None;
    }
    NaiveDate::from_ymd_opt(
        s[6..10].parse().ok()?,
        s[0..2].parse().ok()?,
        s[3..5].parse().ok()?,
    )
}

pub(super) fn parse_amazon_q(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let text = decode(bytes, Layout::Csv)?;
    let mut t = Table::open(&text)?;
    let mut problems = Problems::default();
    let user_col = t.required("UserId", &mut problems);
    let date_col = t.required("Date", &mut problems);
    let (Some(user_col), Some(date_col), false) = (user_col, date_col, problems.total > 0) else {
        return Err(problems.into_vec());
    };
    let header = t.header.clone();
    let loose_header: Vec<String> = header.iter().map(|h| loose(h)).collect();
    let actions: Vec<usize> = ACTIONS
        .iter()
        .filter_map(|a| {
            let a = loose(a);
            loose_header.iter().position(|h| *h == a)
        })
        .collect();
    let raw = RawJson::new(&header);
    let mut tally = DayTally::new();
    let mut seen: HashMap<(String, NaiveDate), (usize, String)> = HashMap::new();
    let mut rows = Vec::new();
    let mut rec = StringRecord::new();
    while let Some(row) = t.next(&mut rec, &mut problems) {
        // The next day's file, joined after this one, starts with its own header.
        if rec.iter().zip(&header).all(|(v, h)| v.trim() == h) {
            continue;
        }
        let user = rec[user_col].trim();
        if user.is_empty() {
            problems.at(row, &header[user_col], "UserId is empty");
        }
        let date = rec[date_col].trim();
        let day = q_date(date);
        if day.is_none() {
            problems.at(
                row,
                &header[date_col],
                format!("{} is not a date in the form MM-DD-YYYY", quote(date)),
            );
        }
        let mut count = 0u64;
        for (i, value) in rec.iter().enumerate() {
            if i == user_col || i == date_col {
                continue;
            }
            // Every metric is a count; empty cells are zeros.
            match cell_count(value) {
                Ok(n) if actions.contains(&i) => count += n,
                Ok(_) => {}
                Err(m) => problems.at(row, &header[i], m),
            }
        }
        let (false, Some(day)) = (user.is_empty(), day) else {
            continue;
        };
        let raw_json = raw.row(&rec);
        // The same row twice is one day's file uploaded twice; two different rows of one user and day
        // (the report of another Region or account) are merged, the day counted once.
        match seen.get(&(user.to_owned(), day)) {
            Some((earlier, earlier_raw)) if *earlier_raw == raw_json => {
                problems.at(
                    row,
                    &header[user_col],
                    format!(
                        "{} on {day} repeats row {earlier} exactly (is one day's file in the upload twice?)",
                        quote(user)
                    ),
                );
                continue;
            }
            Some(_) => {}
            None => {
                seen.insert((user.to_owned(), day), (row, raw_json.clone()));
            }
        }
        tally.add(user, day, true, count as f64);
        if problems.is_empty() {
            rows.push(RawUsageRow {
                row,
                key: user.to_owned(),
                raw_json,
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
        format: UsageFormat::AmazonQ,
        rows,
        employees: tally.employees(KeyKind::VendorId, first, last),
        period_start: first,
        period_end: last,
        has_hours: false,
        unit_label: "active day per month",
        version: "per-user activity report, CSV".into(),
        encoding: text.encoding,
    })
}

#[cfg(test)]
mod tests {
    //! Fixtures: `amazonq_observed_sample.csv` — the file format a community project observed in S3
    //! (coderxlab/amazonq-dashboard, ids anonymised there as "xxx"/"yyy"), verbatim;
    //! `amazonq_three_days.csv` — three days' files joined with `cat`, each with the 46-column header a
    //! real-file Athena DDL lists (AWS's metric names), quoted Identity Center ids, empty cells for zero.
    use crate::roster::import::test_util::*;
    use crate::roster::import::*;

    const OBSERVED: &[u8] =
        include_bytes!("../../../tests/fixtures/usage/amazonq_observed_sample.csv");
    const DAYS: &[u8] = include_bytes!("../../../tests/fixtures/usage/amazonq_three_days.csv");

    fn parse(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
        parse_usage(UsageFormat::AmazonQ, bytes, &UsageOptions::default())
    }

    #[test]
    fn one_days_file_makes_each_row_an_active_day() {
        let u = parse(OBSERVED).unwrap();
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2025-04-17"), d("2025-04-17"))
        );
        let x = &u.employees[0];
        assert_eq!((x.key.as_str(), x.key_kind), ("xxx", KeyKind::VendorId));
        assert!(close(x.score, 30.44) && close(x.tiebreak, (69.0 + 49.0) * 30.44));
        assert!(close(u.employees[1].tiebreak, 3.0 * 30.44));
        assert_eq!(u.version, "per-user activity report, CSV");
    }

    #[test]
    fn joined_daily_files_with_their_headers_are_read_as_one_period() {
        let u = parse(DAYS).unwrap();
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-01"), d("2026-11-30"))
        );
        assert_eq!(
            u.rows.iter().map(|r| r.row).collect::<Vec<_>>(),
            [2, 3, 5, 7]
        );
        let months = 30.0 / 30.44;
        let (ada, bob) = (&u.employees[0], &u.employees[1]);
        assert_eq!(ada.key, "906745c2a1-52c514f4-8d1e-4b6f-9c1a-7e0b2f3d4a5b");
        assert!(close(ada.score, 3.0 / months) && close(ada.tiebreak, 51.0 / months));
        // A code review alone is a day of use.
        assert!(close(bob.score, 1.0 / months) && close(bob.tiebreak, 1.0 / months));
    }

    #[test]
    fn one_users_rows_of_two_regions_on_a_day_count_one_day() {
        let text = "UserId,Date,Chat_MessagesSent,Inline_AcceptanceCount\n\
                    \"u1\",11-01-2026,4,\n\
                    \"u1\",11-01-2026,,7\n\
                    \"u1\",11-02-2026,1,\n";
        let u = parse(text.as_bytes()).unwrap();
        let months = 2.0 / 30.44;
        assert!(close(u.employees[0].score, 2.0 / months));
        assert!(close(u.employees[0].tiebreak, 12.0 / months));
    }

    #[test]
    fn amazon_q_problems() {
        let text = "UserId,Date,Chat_MessagesSent\n\
                    \"u1\",2026-11-01,1\n\
                    \"u1\",13-01-2026,1\n\
                    ,11-01-2026,1\n\
                    \"u2\",11-01-2026,x\n\
                    \"u3\",11-01-2026,1\n\
                    \"u3\",11-01-2026,1\n\
                    \"u4\",11-01-2026,1\n\
                    \"u4\",11-01-2026,2\n";
        let problems = parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            places(&problems),
            vec![
                (Some(2), Some("Date")),
                (Some(3), Some("Date")),
                (Some(4), Some("UserId")),
                (Some(5), Some("Chat_MessagesSent")),
                (Some(7), Some("UserId")),
            ]
        );
        assert!(problems[0].message.contains("MM-DD-YYYY"));
        assert!(problems[4].message.contains("repeats row 6 exactly"));
        // u4's two different rows that day (two Regions) were merged, not refused.
        assert_eq!(
            places(&parse(b"Date,Chat_MessagesSent\n11-01-2026,1\n").unwrap_err()),
            vec![(Some(1), Some("UserId"))]
        );
    }
}
