//! The Microsoft 365 Copilot usage report: the per-user detail CSV of the admin center.

use std::collections::HashMap;

use chrono::NaiveDate;
use csv::StringRecord;

use super::fields::{first_row, parse_iso_date, parse_us_date};
use super::table::{Layout, Problems, RawJson, Table, decode, quote, refuse};
use super::{EmployeeUsage, ImportProblem, KeyKind, ParsedUsage, RawUsageRow, UsageFormat};

/// Tiebreak of an M365 user who was never active: below any real "days since last activity".
const NEVER_ACTIVE: f64 = -100_000.0;

/// A date of the M365 report: YYYY-MM-DD or M/D/YYYY; empty is `Ok(None)`.
fn m365_date(s: &str) -> Result<Option<NaiveDate>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    parse_iso_date(s)
        .or_else(|| parse_us_date(s))
        .map(Some)
        .ok_or_else(|| {
            format!(
                "{} is not a date in the form YYYY-MM-DD or M/D/YYYY",
                quote(s)
            )
        })
}

/// One user of the M365 report, before the reference date is known.
struct M365User {
    row: usize,
    key: String,
    last: Option<NaiveDate>,
    raw_json: String,
}

pub(super) fn parse_m365(
    bytes: &[u8],
    _options: &super::UsageOptions,
) -> Result<ParsedUsage, Vec<ImportProblem>> {
    const UPN: &str = "User Principal Name";
    const LAST: &str = "Last Activity Date";
    const REFRESH: &str = "Report Refresh Date";
    const PERIOD: &str = "Report Period";
    let text = decode(bytes, Layout::Csv)?;
    let mut table = Table::open(text)?;
    let mut problems = Problems::default();
    let upn_col = table.required(UPN, &mut problems);
    let last_col = table.required(LAST, &mut problems);
    let (Some(upn_col), Some(last_col), false) = (upn_col, last_col, problems.total > 0) else {
        return Err(problems.into_vec());
    };
    let refresh_col = table.col(REFRESH);
    let period_col = table.col(PERIOD);
    // "Copilot Chat Last Activity Date" does not end in "Copilot Last Activity Date", so match both words.
    let app_cols: Vec<usize> = (0..table.header.len())
        .filter(|&i| {
            let h = table.header[i].to_ascii_lowercase();
            i != last_col && h.ends_with("last activity date") && h.contains("copilot")
        })
        .collect();
    let header = table.header.clone();
    let raw = RawJson::new(&header);

    let mut users: Vec<M365User> = Vec::new();
    // App dates, `app_cols.len()` per user, kept flat to avoid a vector per row.
    let mut app_dates: Vec<Option<NaiveDate>> = Vec::new();
    let mut seen = HashMap::new();
    let mut refresh: Option<NaiveDate> = None;
    let mut latest: Option<NaiveDate> = None;
    let mut period_days: Option<(u32, usize)> = None;
    let mut rec = StringRecord::new();
    while let Some(row) = table.next(&mut rec, &mut problems) {
        let mut date = |col: usize, problems: &mut Problems| match m365_date(rec[col].trim()) {
            Ok(d) => {
                if let Some(d) = d {
                    latest = Some(latest.map_or(d, |l| l.max(d)));
                }
                d
            }
            Err(m) => {
                problems.at(row, &header[col], m);
                None
            }
        };
        let last = date(last_col, &mut problems);
        for &c in &app_cols {
            let d = date(c, &mut problems);
            app_dates.push(d);
        }
        if let Some(c) = refresh_col {
            let text = rec[c].trim();
            match m365_date(text) {
                Ok(Some(d)) => refresh = Some(refresh.map_or(d, |r| r.max(d))),
                Ok(None) => {}
                Err(m) => problems.at(row, &header[c], m),
            }
        }
        if let Some(c) = period_col {
            let text = rec[c].trim();
            match text.parse::<u32>() {
                Ok(p @ (7 | 30 | 90 | 180)) => match period_days {
                    None => period_days = Some((p, row)),
                    Some((q, first)) if q != p => {
                        let message = format!(
                            "report period {p} differs from {q} on row {first}; export one period"
                        );
                        problems.at(row, &header[c], message);
                    }
                    Some(_) => {}
                },
                _ if text.is_empty() => {}
                _ => problems.at(
                    row,
                    &header[c],
                    format!(
                        "{} is not a report period of 7, 30, 90 or 180 days",
                        quote(text)
                    ),
                ),
            }
        }
        let upn = rec[upn_col].trim();
        if upn.is_empty() {
            problems.at(row, &header[upn_col], "User Principal Name is empty");
            continue;
        }
        let key = upn.to_lowercase();
        if let Some(earlier) = first_row(&mut seen, &key, row) {
            problems.at(
                row,
                &header[upn_col],
                format!("{} is a duplicate of row {earlier}", quote(upn)),
            );
            continue;
        }
        if problems.is_empty() {
            users.push(M365User {
                row,
                key,
                last,
                raw_json: raw.row(&rec),
            });
        }
    }
    if problems.is_empty() {
        table.no_data_rows()?;
    }
    let Some(reference) = refresh.or(latest) else {
        if problems.is_empty() {
            return refuse(
                None,
                Some(REFRESH),
                "the report has no dates at all, so its period is unknown",
            );
        }
        return Err(problems.into_vec());
    };
    if !problems.is_empty() {
        return Err(problems.into_vec());
    }

    let days = period_days.map_or(30, |(p, _)| p);
    let start = reference - chrono::Days::new(u64::from(days));
    let in_period = |d: &Option<NaiveDate>| d.is_some_and(|d| d > start && d <= reference);
    let stride = app_cols.len();
    let mut rows = Vec::with_capacity(users.len());
    let mut employees = Vec::with_capacity(users.len());
    for (i, user) in users.into_iter().enumerate() {
        let apps = &app_dates[i * stride..(i + 1) * stride];
        let score = apps.iter().filter(|d| in_period(d)).count() as f64;
        let tiebreak = user
            .last
            .map_or(NEVER_ACTIVE, |d| -((reference - d).num_days() as f64));
        employees.push(EmployeeUsage {
            key: user.key.clone(),
            key_kind: KeyKind::Email,
            score,
            tiebreak,
            active_days: None,
            units: score,
            gross_hours_month: None,
        });
        rows.push(RawUsageRow {
            row: user.row,
            key: user.key,
            raw_json: user.raw_json,
        });
    }
    Ok(ParsedUsage {
        format: UsageFormat::M365Copilot,
        rows,
        employees,
        period_start: start.succ_opt().unwrap_or(start),
        period_end: reference,
        has_hours: false,
        unit_label: "Copilot app used in the period",
        version: String::new(),
        encoding: "UTF-8",
    })
}

#[cfg(test)]
mod tests {
    use crate::roster::import::test_util::*;
    use crate::roster::import::*;
    use serde_json::Value;

    #[test]
    fn m365_report_counts_apps_used_in_the_period() {
        let report = "Report Refresh Date,User Principal Name,Display Name,Last Activity Date,Microsoft Teams Copilot Last Activity Date,Word Copilot Last Activity Date,Excel Copilot Last Activity Date,Copilot Chat Last Activity Date,Report Period\n\
                      2026-11-30,E00000@example.org,A,2026-11-29,2026-11-29,2026-11-20,2026-11-02,2026-11-28,30\n\
                      2026-11-30,e00001@example.org,B,2026-11-10,,2026-11-10,2026-10-31,,30\n\
                      2026-11-30,e00002@example.org,C,,,,,,30\n";
        let u = parse_usage(
            UsageFormat::M365Copilot,
            report.as_bytes(),
            &crate::roster::import::UsageOptions::default(),
        )
        .unwrap();
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-01"), d("2026-11-30"))
        );
        assert!(!u.has_hours);
        assert_eq!(u.unit_label, "Copilot app used in the period");
        let got: Vec<_> = u
            .employees
            .iter()
            .map(|e| (e.key.as_str(), e.score, e.tiebreak))
            .collect();
        assert_eq!(
            got,
            vec![
                ("e00000@example.org", 4.0, -1.0),
                ("e00001@example.org", 1.0, -20.0),
                ("e00002@example.org", 0.0, -100_000.0)
            ]
        );
        assert!(
            u.employees
                .iter()
                .all(|e| e.key_kind == KeyKind::Email && e.units == e.score)
        );
        assert!(
            u.employees
                .iter()
                .all(|e| e.active_days.is_none() && e.gross_hours_month.is_none())
        );
        assert_eq!(u.rows.len(), 3);
        assert_eq!(u.rows[0].row, 2);
        let raw: Value = serde_json::from_str(&u.rows[0].raw_json).unwrap();
        assert_eq!(raw["Display Name"], "A");
        assert_eq!(raw["User Principal Name"], "E00000@example.org");
    }

    #[test]
    fn m365_without_refresh_date_uses_the_latest_date_and_reads_us_dates() {
        let report = "User Principal Name,Last Activity Date,Word Copilot Last Activity Date,Teams Copilot Last Activity Date,Report Period\n\
                      A@x.org,11/30/2026,11/24/2026,11/23/2026,7\n\
                      b@x.org,2026-11-20,11/20/2026,,7\n";
        let u = parse_usage(
            UsageFormat::M365Copilot,
            report.as_bytes(),
            &crate::roster::import::UsageOptions::default(),
        )
        .unwrap();
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-24"), d("2026-11-30"))
        );
        let got: Vec<_> = u
            .employees
            .iter()
            .map(|e| (e.key.as_str(), e.score, e.tiebreak))
            .collect();
        assert_eq!(got, vec![("a@x.org", 1.0, 0.0), ("b@x.org", 0.0, -10.0)]);
    }

    #[test]
    fn m365_problems() {
        let broken = "User Principal Name,Last Activity Date\na@example.org,30/11/2026\n";
        let problems = parse_usage(
            UsageFormat::M365Copilot,
            broken.as_bytes(),
            &crate::roster::import::UsageOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            places(&problems),
            vec![(Some(2), Some("Last Activity Date"))]
        );
        assert!(problems[0].message.contains("30/11/2026"));
        let report = "User Principal Name,Last Activity Date,Word Copilot Last Activity Date,Report Period\n\
                      a@x.org,2026-11-01,,30\n\
                      A@X.org,2026-11-01,,30\n\
                      ,2026-11-01,,30\n\
                      c@x.org,2026-11-01,soon,30\n\
                      d@x.org,2026-11-01,,14\n\
                      e@x.org,2026-11-01,,7\n";
        let problems = parse_usage(
            UsageFormat::M365Copilot,
            report.as_bytes(),
            &crate::roster::import::UsageOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            places(&problems),
            vec![
                (Some(3), Some("User Principal Name")),
                (Some(4), Some("User Principal Name")),
                (Some(5), Some("Word Copilot Last Activity Date")),
                (Some(6), Some("Report Period")),
                (Some(7), Some("Report Period")),
            ]
        );
        let missing = parse_usage(
            UsageFormat::M365Copilot,
            b"Display Name\nA\n",
            &crate::roster::import::UsageOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            places(&missing),
            vec![
                (Some(1), Some("User Principal Name")),
                (Some(1), Some("Last Activity Date"))
            ]
        );
        let dateless = parse_usage(
            UsageFormat::M365Copilot,
            b"User Principal Name,Last Activity Date\na@x.org,\n",
            &crate::roster::import::UsageOptions::default(),
        );
        assert_eq!(
            dateless.unwrap_err()[0].column.as_deref(),
            Some("Report Refresh Date")
        );
    }
}
