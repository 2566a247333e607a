//! From the report's resolved dates and counts to each person's score over the report period.

use chrono::NaiveDate;

use super::super::cursor::DAYS_PER_MONTH;
use super::super::table::Problems;
use super::super::{
    EmployeeUsage, ImportProblem, KeyKind, ParsedUsage, RawUsageRow, UsageFormat, UsageOptions,
};
use super::{Field, M365, NEVER_ACTIVE};

/// The report's period and every person's score, once all rows are read.
pub(super) fn finish(
    report: M365,
    options: &UsageOptions,
    version: &str,
) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let mut problems = Problems::default();
    let names = &report.names;
    let order = report.shorts.order_if_any(options.date_order)?;
    // Every date resolved: (user index, field, date).
    let mut dates: Vec<Vec<(Field, NaiveDate)>> = Vec::with_capacity(report.users.len());
    let (mut refresh, mut latest): (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
    for u in &report.users {
        let mut mine = Vec::with_capacity(u.dates.len());
        for &(id, field, cell) in &u.dates {
            let Some(date) = cell.date(order) else {
                problems.at(u.row, &names[id], cell.no_such_day(order));
                continue;
            };
            if field == Field::Refresh {
                refresh = Some(refresh.map_or(date, |r| r.max(date)));
            } else {
                latest = Some(latest.map_or(date, |l| l.max(date)));
            }
            mine.push((field, date));
        }
        dates.push(mine);
    }
    let Some((days, _)) = report.period else {
        problems.push(
            None,
            Some("Report Period"),
            "the file does not say which period it covers (no Report Period): export the report \
             again from the admin center or Graph's CSV, or add a column \"Report Period\" holding \
             its number of days (7, 28, 30, 90 or 180)",
        );
        return Err(problems.into_vec());
    };
    // Without a refresh date (a PowerShell selection of columns), the latest date in the file ends it.
    let Some(reference) = refresh.or(latest) else {
        problems.push(
            None,
            Some("Report Refresh Date"),
            "the report has no dates at all, so its period is unknown",
        );
        return Err(problems.into_vec());
    };
    if !problems.is_empty() {
        return Err(problems.into_vec());
    }
    for u in &report.users {
        // A last activity after the report was refreshed is a date in the future of the report: a
        // mis-read date (or a hand edit), never real use.
        for &(id, field, cell) in &u.dates {
            if let (Some(r), Some(d), true) = (refresh, cell.date(order), field != Field::Refresh)
                && d > r
            {
                problems.at(
                    u.row,
                    &names[id],
                    format!("{d} is after the report's refresh date {r}"),
                );
            }
        }
        if let Some(n) = u.active_days
            && n > u64::from(days)
        {
            problems.at(
                u.row,
                "Active Usage Days for all apps",
                format!("{n} active days in a report period of {days} days"),
            );
        }
    }
    if !problems.is_empty() {
        return Err(problems.into_vec());
    }
    let start = reference - chrono::Days::new(u64::from(days) - 1);
    let months = f64::from(days) / DAYS_PER_MONTH;
    let v2 = report.has_active_days;
    let mut rows = Vec::with_capacity(report.users.len());
    let mut employees = Vec::with_capacity(report.users.len());
    for (user, mine) in report.users.into_iter().zip(dates) {
        let last = mine
            .iter()
            .filter(|(f, _)| *f != Field::Refresh)
            .map(|&(_, d)| d)
            .max();
        let since_last = last.map_or(NEVER_ACTIVE, |d| -((reference - d).num_days() as f64));
        let (score, active_days, tiebreak) = if v2 {
            let per_month = user.active_days.unwrap_or(0) as f64 / months;
            let prompts = if report.has_prompts_all {
                user.prompts_all
            } else if report.has_prompts_chat {
                user.prompts_chat
            } else {
                None
            };
            let tiebreak = prompts.map_or(since_last, |p| p as f64 / months);
            (per_month, Some(per_month), tiebreak)
        } else {
            // Every app's date and the all-apps date, one person's day counted once.
            let mut days_seen: Vec<NaiveDate> = mine
                .iter()
                .filter(|(f, d)| *f != Field::Refresh && *d >= start && *d <= reference)
                .map(|&(_, d)| d)
                .collect();
            days_seen.sort_unstable();
            days_seen.dedup();
            (days_seen.len() as f64 / months, None, since_last)
        };
        employees.push(EmployeeUsage {
            key: user.key.clone(),
            key_kind: KeyKind::Upn,
            score,
            tiebreak,
            active_days,
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
        period_start: start,
        period_end: reference,
        has_hours: false,
        unit_label: if v2 {
            "active day per month"
        } else {
            "day known active per month (from last-activity dates)"
        },
        version: version.to_owned(),
        encoding: "UTF-8",
    })
}
