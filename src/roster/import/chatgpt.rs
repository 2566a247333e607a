//! ChatGPT Enterprise / Edu user engagement report: the CSV of Workspace analytics → Export (User
//! Engagement, Weekly or Monthly), one row per member and period. Several files' rows may be pasted
//! together; each person's periods are summed and the file covers the earliest `period_start` to the
//! latest `period_end`.
//!
//! OpenAI publishes no column list: the columns read here are those of real exports kept in a public
//! repository (see docs/research/vendors/chatgpt-enterprise.md): `email`, `period_start`, `period_end`,
//! `is_active`, `messages`, `cadence`; the rest is kept verbatim only.
//!
//! The report has no count of active days, only whether the member was active in each period. The score
//! is therefore **active periods per month**: the periods with `is_active` = 1, × 30.44 / the days the
//! file covers. For a weekly export that is active weeks per month (0 to about 4.3), a sound rank of
//! regular use; for one monthly export it is 0 or 1, and the tiebreak decides within each group. The
//! tiebreak is messages per month (`messages` × 30.44 / days covered). The GPT, tool and project message
//! counts are kept in the raw rows but not added: OpenAI does not say whether `messages` includes them
//! (in real exports `tool_messages` often exceeds `messages`), so adding them could count a message twice.
//! Matched on email. An empty `is_active` is read as inactive only for a pending member (the only rows
//! real exports leave it empty on), and the result says how many; elsewhere it is refused. Dates re-saved
//! by Excel in the locale's short form follow `fields::ShortDates`.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use csv::StringRecord;

use super::cursor::{DAYS_PER_MONTH, cell_count};
use super::fields::{DateCell, ShortDates, check_email, not_a_date};
use super::table::{Layout, Problems, RawJson, Table, decode, quote};
use super::{
    EmployeeUsage, ImportProblem, KeyKind, ParsedUsage, People, RawUsageRow, UsageFormat,
    UsageOptions,
};

#[derive(Default)]
struct Sums {
    active_periods: u32,
    messages: u64,
}

/// A valid row waiting for the file's date order.
struct Pending {
    row: usize,
    person: usize,
    start: DateCell,
    end: DateCell,
    active: bool,
    messages: u64,
    raw_json: String,
}

pub(super) fn parse_chatgpt(
    bytes: &[u8],
    options: &UsageOptions,
) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let text = decode(bytes, Layout::Csv)?;
    let mut t = Table::open(&text)?;
    let mut problems = Problems::default();
    let email_col = t.required("email", &mut problems);
    let start_col = t.required("period_start", &mut problems);
    let end_col = t.required("period_end", &mut problems);
    let active_col = t.required("is_active", &mut problems);
    let (Some(email_col), Some(start_col), Some(end_col), Some(active_col), false) = (
        email_col,
        start_col,
        end_col,
        active_col,
        problems.total > 0,
    ) else {
        return Err(problems.into_vec());
    };
    let messages_col = t.col("messages");
    let cadence_col = t.col("cadence");
    let status_col = t.col("user_status");
    let header = t.header.clone();
    let raw = RawJson::new(&header);
    let mut people: People<Sums> = People::new();
    let mut shorts = ShortDates::default();
    let mut cadence: Option<(String, usize)> = None;
    let mut pending_members = 0usize;
    let mut pending = Vec::new();
    let mut rec = StringRecord::new();
    while let Some(row) = t.next(&mut rec, &mut problems) {
        let email = rec[email_col].trim();
        let key = match check_email(email) {
            Ok(()) => Some(email.to_lowercase()),
            Err(m) => {
                problems.at(row, &header[email_col], m);
                None
            }
        };
        let mut date = |col: usize, problems: &mut Problems| {
            let s = rec[col].trim();
            let d = DateCell::read(s);
            match d {
                None => problems.at(row, &header[col], not_a_date(s)),
                Some(DateCell::Short(sd)) => shorts.see(s, sd, row, &header[col]),
                Some(DateCell::Day(_)) => {}
            }
            d
        };
        let start = date(start_col, &mut problems);
        let end = date(end_col, &mut problems);
        // OpenAI documents no meaning for an empty is_active; real exports leave it empty only for
        // pending members (invited, never joined), who are inactive by definition. Anywhere else it is
        // refused, not guessed.
        let is_pending = status_col.is_some_and(|c| rec[c].trim().eq_ignore_ascii_case("pending"));
        let active = match rec[active_col].trim().to_ascii_lowercase().as_str() {
            "1" | "true" => true,
            "0" | "false" => false,
            "" if is_pending => {
                pending_members += 1;
                false
            }
            "" => {
                problems.at(
                    row,
                    &header[active_col],
                    "is_active is empty for a member who is not pending; an empty cell is not read \
                     as inactive: export the report again",
                );
                false
            }
            other => {
                problems.at(
                    row,
                    &header[active_col],
                    format!("{} is not 1 or 0", quote(other)),
                );
                false
            }
        };
        let messages = match messages_col.map(|c| (c, cell_count(&rec[c]))) {
            None => 0,
            Some((_, Ok(n))) => n,
            Some((c, Err(m))) => {
                problems.at(row, &header[c], m);
                0
            }
        };
        // A weekly and a monthly export together would count the same activity twice.
        if let Some(c) = cadence_col {
            let value = rec[c].trim();
            match &cadence {
                None if !value.is_empty() => cadence = Some((value.to_owned(), row)),
                Some((first, at)) if !value.is_empty() && !first.eq_ignore_ascii_case(value) => {
                    problems.at(
                        row,
                        &header[c],
                        format!(
                            "cadence {} differs from {} on row {at}; import weekly or monthly reports, not both",
                            quote(value),
                            quote(first)
                        ),
                    );
                }
                _ => {}
            }
        }
        let (Some(key), Some(start), Some(end)) = (key, start, end) else {
            continue;
        };
        let person = people.id(&key);
        if problems.is_empty() {
            pending.push(Pending {
                row,
                person,
                start,
                end,
                active,
                messages,
                raw_json: raw.row(&rec),
            });
        }
    }
    if problems.is_empty() {
        t.no_data_rows()?;
    }
    if !problems.is_empty() {
        return Err(problems.into_vec());
    }
    let order = shorts.order_if_any(options.date_order)?;
    let mut seen: HashMap<(usize, NaiveDate), (usize, usize)> = HashMap::new();
    let mut active_periods: HashSet<(usize, NaiveDate)> = HashSet::new();
    let (mut first, mut last): (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
    let mut rows: Vec<RawUsageRow> = Vec::with_capacity(pending.len());
    for r in pending {
        let day = |cell: DateCell, col: usize, problems: &mut Problems| {
            let d = cell.date(order);
            if d.is_none() {
                problems.at(r.row, &header[col], cell.no_such_day(order));
            }
            d
        };
        let start = day(r.start, start_col, &mut problems);
        let end = day(r.end, end_col, &mut problems);
        let (Some(start), Some(end)) = (start, end) else {
            continue;
        };
        if end < start {
            problems.at(
                r.row,
                &header[end_col],
                format!("period_end {end} is before period_start {start}"),
            );
            continue;
        }
        let key = &people.list[r.person].0;
        // A member deleted and invited again may have two rows for one period (community reports,
        // unverified): they are merged, the period counted once. The very same row twice is a file pasted
        // twice, and refused.
        match seen.get(&(r.person, start)) {
            Some(&(earlier, index)) if rows[index].raw_json == r.raw_json => {
                problems.at(
                    r.row,
                    &header[email_col],
                    format!(
                        "{} for the period starting {start} repeats row {earlier} exactly (is a file in the upload twice?)",
                        quote(key)
                    ),
                );
                continue;
            }
            Some(_) => {}
            None => {
                seen.insert((r.person, start), (r.row, rows.len()));
            }
        }
        first = Some(first.map_or(start, |f| f.min(start)));
        last = Some(last.map_or(end, |l| l.max(end)));
        rows.push(RawUsageRow {
            row: r.row,
            key: key.clone(),
            raw_json: r.raw_json,
        });
        let sums = &mut people.list[r.person].1;
        if r.active && active_periods.insert((r.person, start)) {
            sums.active_periods += 1;
        }
        sums.messages += r.messages;
    }
    let (Some(first), Some(last), true) = (first, last, problems.is_empty()) else {
        return Err(problems.into_vec());
    };
    let months = ((last - first).num_days() + 1) as f64 / DAYS_PER_MONTH;
    let employees = people
        .list
        .into_iter()
        .map(|(key, s)| {
            let score = f64::from(s.active_periods) / months;
            EmployeeUsage {
                key,
                key_kind: KeyKind::Email,
                score,
                tiebreak: s.messages as f64 / months,
                active_days: None,
                units: score,
                gross_hours_month: None,
            }
        })
        .collect();
    let weekly = cadence
        .as_ref()
        .is_some_and(|(c, _)| c.eq_ignore_ascii_case("weekly"));
    let mut version = match &cadence {
        Some((c, _)) => format!("user engagement report, {c}, CSV"),
        None => "user engagement report, CSV".into(),
    };
    // Said on the preview and result pages: these rows had no is_active and were read as inactive.
    match pending_members {
        0 => {}
        1 => version.push_str("; 1 pending member (empty is_active) counted inactive"),
        n => version.push_str(&format!(
            "; {n} pending members (empty is_active) counted inactive"
        )),
    }
    Ok(ParsedUsage {
        format: UsageFormat::Chatgpt,
        rows,
        employees,
        period_start: first,
        period_end: last,
        has_hours: false,
        unit_label: if weekly {
            "active week per month"
        } else {
            "active period per month"
        },
        version,
        encoding: text.encoding,
    })
}

#[cfg(test)]
mod tests {
    //! Fixtures: `chatgpt_monthly.csv` — the header of a real export and the two synthetic rows of
    //! PresidentofMexico/OpenAI-usage-metrics `sample_monthly_data.csv`, verbatim, then a deleted and a
    //! pending member written in the shapes a real export has; `chatgpt_weekly.csv` — the synthetic weekly
    //! row of `sample_weekly_data.csv`, verbatim, and later weeks written like it.
    use crate::roster::import::test_util::*;
    use crate::roster::import::*;

    const MONTHLY: &[u8] = include_bytes!("../../../tests/fixtures/usage/chatgpt_monthly.csv");
    const WEEKLY: &[u8] = include_bytes!("../../../tests/fixtures/usage/chatgpt_weekly.csv");
    const EXCEL_DMY: &[u8] =
        include_bytes!("../../../tests/fixtures/usage/chatgpt_monthly_excel_dmy.csv");

    fn parse(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
        parse_usage(UsageFormat::Chatgpt, bytes, &UsageOptions::default())
    }

    #[test]
    fn a_monthly_report_scores_active_months_and_ranks_by_messages() {
        let u = parse(MONTHLY).unwrap();
        assert!(
            u.version
                .starts_with("user engagement report, Monthly, CSV")
        );
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2025-05-01"), d("2025-05-31"))
        );
        assert_eq!(u.unit_label, "active period per month");
        let months = 31.0 / 30.44;
        let got: Vec<_> = u
            .employees
            .iter()
            .map(|e| (e.key.as_str(), e.score, e.tiebreak))
            .collect();
        assert_eq!(got[0].0, "alice.johnson@example.com");
        assert!(close(got[0].1, 1.0 / months) && close(got[0].2, 150.0 / months));
        assert!(close(got[1].2, 200.0 / months), "Bob sent more messages");
        // The deleted and the pending (invited, never joined) members count as inactive.
        assert_eq!((got[2].1, got[2].2), (0.0, 0.0));
        assert_eq!((got[3].0, got[3].1), ("dan.pending@example.com", 0.0));
        assert!(u.employees.iter().all(|e| e.key_kind == KeyKind::Email
            && e.active_days.is_none()
            && e.gross_hours_month.is_none()));
        assert_eq!(u.rows.len(), 4);
        let raw: serde_json::Value = serde_json::from_str(&u.rows[0].raw_json).unwrap();
        assert_eq!(raw["department"], "[\"finance\"]");
    }

    #[test]
    fn weekly_periods_are_summed_per_person_over_the_whole_span() {
        let u = parse(WEEKLY).unwrap();
        assert_eq!(u.unit_label, "active week per month");
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2025-05-01"), d("2025-05-21"))
        );
        let months = 21.0 / 30.44;
        let (alice, bob) = (&u.employees[0], &u.employees[1]);
        assert!(close(alice.score, 3.0 / months) && close(alice.tiebreak, 95.0 / months));
        // Bob sent more messages in one week but was active in fewer weeks: Alice ranks higher.
        assert!(close(bob.score, 1.0 / months) && close(bob.tiebreak, 300.0 / months));
        assert_eq!(u.employees.len(), 2);
    }

    #[test]
    fn two_rows_of_one_member_and_period_are_merged_the_period_counted_once() {
        // A member deleted and invited again within the month.
        let text = "cadence,period_start,period_end,email,user_status,is_active,messages\n\
                    Monthly,2025-05-01,2025-05-31,a@example.com,deleted,1,10\n\
                    Monthly,2025-05-01,2025-05-31,A@example.com,enabled,1,5\n\
                    Monthly,2025-05-01,2025-05-31,b@example.com,deleted,0,0\n\
                    Monthly,2025-05-01,2025-05-31,b@example.com,enabled,1,2\n";
        let u = parse(text.as_bytes()).unwrap();
        let months = 31.0 / 30.44;
        let (a, b) = (&u.employees[0], &u.employees[1]);
        assert!(close(a.score, 1.0 / months) && close(a.tiebreak, 15.0 / months));
        assert!(close(b.score, 1.0 / months) && close(b.tiebreak, 2.0 / months));
        assert_eq!(u.rows.len(), 4);
    }

    #[test]
    fn chatgpt_problems() {
        let head = "cadence,period_start,period_end,email,is_active,messages\n";
        let text = format!(
            "{head}Weekly,2025-05-01,2025-05-07,not-an-address,1,3\n\
             Weekly,May 1,2025-05-07,a@example.com,1,3\n\
             Weekly,2025-05-01,2025-05-07,c@example.com,yes,3\n\
             Weekly,2025-05-01,2025-05-07,d@example.com,1,-3\n\
             Weekly,2025-05-01,2025-05-07,e@example.com,,3\n\
             Monthly,2025-05-01,2025-05-31,f@example.com,1,3\n"
        );
        let problems = parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            places(&problems),
            vec![
                (Some(2), Some("email")),
                (Some(3), Some("period_start")),
                (Some(4), Some("is_active")),
                (Some(5), Some("messages")),
                (Some(6), Some("is_active")),
                (Some(7), Some("cadence")),
            ]
        );
        assert!(problems[4].message.contains("not pending"));
        assert!(problems[5].message.contains("not both"));
        // Once every cell reads, the periods themselves are checked.
        let text = format!(
            "{head}Weekly,2025-05-08,2025-05-01,b@example.com,1,3\n\
             Weekly,2025-05-01,2025-05-07,e@example.com,1,3\n\
             Weekly,2025-05-01,2025-05-07,e@example.com,1,3\n"
        );
        let problems = parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            places(&problems),
            vec![(Some(2), Some("period_end")), (Some(4), Some("email"))]
        );
        assert!(problems[1].message.contains("repeats row 3 exactly"));
        let missing = parse(b"email,messages\na@example.com,3\n").unwrap_err();
        assert_eq!(
            places(&missing),
            vec![
                (Some(1), Some("period_start")),
                (Some(1), Some("period_end")),
                (Some(1), Some("is_active")),
            ]
        );
    }

    #[test]
    fn a_report_re_saved_by_excel_with_short_dates_is_read_once_the_order_is_known() {
        let u = parse(MONTHLY).unwrap();
        // 01/05/2025 and 31/05/2025: the 31 says day/month.
        let dmy = parse(EXCEL_DMY).unwrap();
        assert_eq!(
            (dmy.period_start, dmy.period_end),
            (u.period_start, u.period_end)
        );
        assert_eq!(dmy.employees, u.employees);
        // A weekly report whose days are all 12 or less can't tell; the admin's choice decides.
        let ambiguous = "cadence,period_start,period_end,email,is_active,messages\n\
                         Weekly,05/01/2025,11/01/2025,a@example.com,1,3\n";
        let refused = parse(ambiguous.as_bytes()).unwrap_err();
        assert_eq!(refused.len(), 1);
        assert!(
            refused[0].message.contains("--date-order dmy"),
            "{refused:?}"
        );
        let options = UsageOptions {
            date_order: Some(DateOrder::Dmy),
        };
        let dmy = parse_usage(UsageFormat::Chatgpt, ambiguous.as_bytes(), &options).unwrap();
        assert_eq!(
            (dmy.period_start, dmy.period_end),
            (d("2025-01-05"), d("2025-01-11"))
        );
    }

    #[test]
    fn an_empty_is_active_counts_inactive_only_for_a_pending_member_and_is_said() {
        let u = parse(MONTHLY).unwrap();
        assert!(
            u.version
                .ends_with("; 1 pending member (empty is_active) counted inactive"),
            "{}",
            u.version
        );
        let text = String::from_utf8(MONTHLY.to_vec()).unwrap();
        // Alice (enabled) with her is_active emptied.
        let blank = text.replacen(",2025-01-01,1,2025-05-02,", ",2025-01-01,,2025-05-02,", 1);
        let problems = parse(blank.as_bytes()).unwrap_err();
        assert_eq!(places(&problems), vec![(Some(2), Some("is_active"))]);
    }
}
