//! The Microsoft 365 Copilot usage report, per user: the admin center's export and Graph's CSV (v1 and
//! v2 layouts), Graph's JSON (`{"value":[…]}`), and PowerShell `Export-Csv` files of that JSON.
//!
//! Columns are found by name, compared loosely (case, spaces and punctuation ignored), so
//! "Report Refresh Date", "reportRefreshDate" and "ReportRefreshDate" are one column. Matched on the user
//! principal name (`KeyKind::Upn`).
//!
//! Score, in active days per month over the report period (`Report Period` days ending on
//! `Report Refresh Date`):
//! - v2 (`Active Usage Days for all apps` present): that count × 30.44 / period days. Microsoft's
//!   all-apps count already counts a day once whatever the apps; tiebreak = prompts per month
//!   (`Prompts submitted for all apps`, else the two Copilot Chat prompt counts).
//! - v1 (no day count): the distinct days among the last-activity dates of every app (Teams, Word, Excel,
//!   PowerPoint, Outlook, OneNote, Loop, Copilot Chat, and v2's Chat (work), Chat (web), the Microsoft 365
//!   Copilot app, Edge and agents) and the all-apps date that fall in the period, × 30.44 / period days.
//!   Each is a day the person certainly used Copilot, so this is a lower bound that ranks a person using
//!   many apps on many days above one who used one app once; tiebreak = −days since the last activity.
//!
//! Refused: concealed names (the tenant's default), a file that doesn't state its period, several periods
//! in one file, and short dates (Excel re-saved) whose day/month order the file can't decide.

use std::collections::HashMap;

use chrono::NaiveDate;
use csv::StringRecord;
use serde_json::Value;

use super::cursor::{DAYS_PER_MONTH, json_records, json_type, loose};
use super::fields::{first_row, parse_iso_date};
use super::table::{Layout, Problems, RawJson, Table, decode, quote, refuse};
use super::{
    DateOrder, EmployeeUsage, ImportProblem, KeyKind, ParsedUsage, RawUsageRow, UsageFormat,
    UsageOptions,
};

/// Tiebreak of an M365 user who was never active: below any real "days since last activity".
const NEVER_ACTIVE: f64 = -100_000.0;

/// Report periods Microsoft documents: 7/30/90/180 days in v1, 7/28/90/180 in v2.
const PERIODS: [u32; 5] = [7, 28, 30, 90, 180];

/// Where Microsoft hides the setting that conceals names in usage reports.
const CONCEALED_SETTING: &str = "in the Microsoft 365 admin center go to Settings → Org settings → Services → Reports, \
     clear \"Display concealed user, group, and site names in all reports\", save, and export the report again";

/// What a column of the report means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Upn,
    Refresh,
    Period,
    ActiveDays,
    PromptsAll,
    PromptsChat,
    LastAny,
    LastApp,
    Other,
}

fn classify(name: &str) -> Field {
    let n = loose(name);
    match n.as_str() {
        // "User name" is the admin center's label for the principal name.
        "userprincipalname" | "username" => Field::Upn,
        "reportrefreshdate" => Field::Refresh,
        "reportperiod" => Field::Period,
        "activeusagedaysforallapps" => Field::ActiveDays,
        "promptssubmittedforallapps" => Field::PromptsAll,
        "promptssubmittedforcopilotchatwork" | "promptssubmittedforcopilotchatweb" => {
            Field::PromptsChat
        }
        // The admin center labels the all-apps date "Last activity date (UTC)" (unverified as a CSV header).
        "lastactivitydate" | "lastactivitydateutc" | "lastactivitydateutcuniversaltimecode" => {
            Field::LastAny
        }
        // Graph: "Word Copilot Last Activity Date"; the admin center's labels (unverified as CSV headers):
        // "Last activity date of Word Copilot (UTC)".
        _ if n.ends_with("lastactivitydate") || n.starts_with("lastactivitydateof") => {
            Field::LastApp
        }
        _ => Field::Other,
    }
}

/// A date cell before the file's day/month order is known.
#[derive(Debug, Clone, Copy)]
enum Cell {
    Empty,
    Day(NaiveDate),
    /// d/m/yyyy or m/d/yyyy as Excel writes it in the locale's short form (also with '.' or '-').
    Short {
        a: u32,
        b: u32,
        y: i32,
        sep: char,
    },
}

impl Cell {
    fn read(s: &str) -> Result<Cell, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Cell::Empty);
        }
        if let Some(d) = parse_iso_date(s) {
            return Ok(Cell::Day(d));
        }
        let bad = || {
            format!(
                "{} is not a date in the form YYYY-MM-DD (or day and month as a spreadsheet writes them)",
                quote(s)
            )
        };
        let sep = s
            .chars()
            .find(|c| matches!(c, '/' | '.' | '-'))
            .ok_or_else(bad)?;
        let parts: Vec<&str> = s.split(sep).collect();
        let ok = |p: &str, len: std::ops::RangeInclusive<usize>| {
            len.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
        };
        if parts.len() != 3 || !ok(parts[0], 1..=2) || !ok(parts[1], 1..=2) || !ok(parts[2], 4..=4)
        {
            return Err(bad());
        }
        let num = |p: &str| p.parse::<u32>().unwrap_or(0);
        let (a, b) = (num(parts[0]), num(parts[1]));
        if a == 0 || b == 0 || (a > 12 && b > 12) || a > 31 || b > 31 {
            return Err(bad());
        }
        Ok(Cell::Short {
            a,
            b,
            y: parts[2].parse().unwrap_or(0),
            sep,
        })
    }
}

fn short_text(a: u32, b: u32, y: i32, sep: char) -> String {
    format!("{a:02}{sep}{b:02}{sep}{y}")
}

/// Decides how short dates are read: the admin's choice, else what the file proves (a first number above
/// 12 is a day, a second one above 12 too); never silently month/day. `shorts` = (row, column, a, b, y, sep).
fn decide_order(
    shorts: &[(usize, &str, u32, u32, i32, char)],
    chosen: Option<DateOrder>,
) -> Result<Option<DateOrder>, ImportProblem> {
    if shorts.is_empty() || chosen.is_some() {
        return Ok(chosen);
    }
    let dmy = shorts.iter().find(|s| s.2 > 12);
    let mdy = shorts.iter().find(|s| s.3 > 12);
    let show = |s: &(usize, &str, u32, u32, i32, char)| {
        format!(
            "{} (row {}, column {})",
            quote(&short_text(s.2, s.3, s.4, s.5)),
            s.0,
            s.1
        )
    };
    match (dmy, mdy) {
        (Some(_), None) => Ok(Some(DateOrder::Dmy)),
        (None, Some(_)) => Ok(Some(DateOrder::Mdy)),
        (Some(d), Some(m)) => Err(ImportProblem::new(
            None,
            None,
            format!(
                "the file mixes day/month dates such as {} with month/day dates such as {}; \
                 export the report again without re-saving it in a spreadsheet",
                show(d),
                show(m)
            ),
        )),
        (None, None) => Err(ImportProblem::new(
            None,
            None,
            format!(
                "dates such as {} can be read as day/month or month/day, and no date in the file \
                 decides it (every day is 12 or less); choose the order: --date-order dmy or \
                 --date-order mdy on the command line, or the date order choice on the upload page",
                show(&shorts[0])
            ),
        )),
    }
}

/// One user of the report, before the date order and the period are known.
struct M365User {
    row: usize,
    key: String,
    raw_json: String,
    /// (column name id, what it is, the date).
    dates: Vec<(usize, Field, Cell)>,
    active_days: Option<u64>,
    prompts_all: Option<u64>,
    prompts_chat: Option<u64>,
}

/// The report being read, one record at a time from either CSV or JSON.
struct M365 {
    /// Column (or JSON field) names, interned: dates refer to them by index.
    names: Vec<String>,
    name_ids: HashMap<String, usize>,
    users: Vec<M365User>,
    seen: HashMap<String, usize>,
    period: Option<(u32, usize)>,
    concealed: Vec<(usize, String)>,
    has_active_days: bool,
    has_prompts_all: bool,
    has_prompts_chat: bool,
}

impl M365 {
    fn new() -> Self {
        M365 {
            names: Vec::new(),
            name_ids: HashMap::new(),
            users: Vec::new(),
            seen: HashMap::new(),
            period: None,
            concealed: Vec::new(),
            has_active_days: false,
            has_prompts_all: false,
            has_prompts_chat: false,
        }
    }

    fn name_id(&mut self, name: &str) -> usize {
        if let Some(&i) = self.name_ids.get(name) {
            return i;
        }
        self.names.push(name.to_owned());
        self.name_ids.insert(name.to_owned(), self.names.len() - 1);
        self.names.len() - 1
    }

    /// One value of a record; `user` collects it.
    fn value(
        &mut self,
        row: usize,
        name: &str,
        value: &str,
        user: &mut M365User,
        upn: &mut Option<String>,
        problems: &mut Problems,
    ) {
        let field = classify(name);
        let value = value.trim();
        let count = |problems: &mut Problems| -> Option<u64> {
            if value.is_empty() {
                return Some(0);
            }
            let n = value.parse::<u64>().ok();
            if n.is_none() {
                problems.at(
                    row,
                    name,
                    format!("{} is not a whole number ≥ 0", quote(value)),
                );
            }
            n
        };
        match field {
            Field::Upn => *upn = Some(value.to_owned()),
            Field::Period => match value.parse::<u32>() {
                Ok(p) if PERIODS.contains(&p) => match self.period {
                    None => self.period = Some((p, row)),
                    Some((q, first)) if q != p => problems.at(
                        row,
                        name,
                        format!(
                            "report period {p} differs from {q} on row {first}; export one period"
                        ),
                    ),
                    Some(_) => {}
                },
                _ if value.is_empty() => {}
                _ => problems.at(
                    row,
                    name,
                    format!(
                        "{} is not a report period of 7, 28, 30, 90 or 180 days",
                        quote(value)
                    ),
                ),
            },
            Field::ActiveDays => {
                self.has_active_days = true;
                user.active_days = count(problems);
            }
            Field::PromptsAll => {
                self.has_prompts_all = true;
                user.prompts_all = count(problems);
            }
            Field::PromptsChat => {
                self.has_prompts_chat = true;
                let n = count(problems);
                user.prompts_chat = Some(user.prompts_chat.unwrap_or(0) + n.unwrap_or(0));
            }
            Field::Refresh | Field::LastAny | Field::LastApp => match Cell::read(value) {
                Ok(cell) => {
                    let id = self.name_id(name);
                    user.dates.push((id, field, cell));
                }
                Err(m) => problems.at(row, name, m),
            },
            Field::Other => {}
        }
    }

    /// Ends a record: checks the user principal name and keeps the user.
    fn finish(
        &mut self,
        user: M365User,
        upn: Option<String>,
        upn_name: &str,
        problems: &mut Problems,
    ) {
        let row = user.row;
        let upn = upn.unwrap_or_default();
        if upn.is_empty() {
            problems.at(row, upn_name, "User Principal Name is empty");
            return;
        }
        if upn.len() == 32 && upn.bytes().all(|b| b.is_ascii_hexdigit()) {
            self.concealed.push((row, upn));
            return;
        }
        let key = upn.to_lowercase();
        if let Some(earlier) = first_row(&mut self.seen, &key, row) {
            problems.at(
                row,
                upn_name,
                format!("{} is a duplicate of row {earlier}", quote(&upn)),
            );
            return;
        }
        if problems.is_empty() {
            self.users.push(M365User { key, ..user });
        }
    }
}

fn new_user(row: usize, raw_json: String) -> M365User {
    M365User {
        row,
        key: String::new(),
        raw_json,
        dates: Vec::new(),
        active_days: None,
        prompts_all: None,
        prompts_chat: None,
    }
}

pub(super) fn parse_m365(
    bytes: &[u8],
    options: &UsageOptions,
) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let decoded = decode(bytes, Layout::Csv)?;
    let text: &str = &decoded;
    let mut report = M365::new();
    let mut problems = Problems::default();
    let version = if matches!(text.trim_start().chars().next(), Some('{' | '[')) {
        read_json(text, &mut report, &mut problems)?;
        if report.has_active_days || report.has_prompts_all || report.has_prompts_chat {
            "Graph JSON v2"
        } else {
            "Graph JSON"
        }
    } else {
        read_csv(text, &mut report, &mut problems)?
    };
    if !report.concealed.is_empty() {
        let (row, first) = &report.concealed[0];
        let n = report.concealed.len();
        let others = match n {
            1 => String::new(),
            n => format!(" (and {} more rows)", n - 1),
        };
        problems.push(
            None,
            Some("User Principal Name"),
            format!(
                "the report's names are concealed: row {row} has {}{others} instead of a user principal \
                 name, so nobody can be matched to the roster. Microsoft 365 conceals names by default; \
                 {CONCEALED_SETTING}",
                quote(first)
            ),
        );
    }
    if !problems.is_empty() {
        return Err(problems.into_vec());
    }
    if report.users.is_empty() {
        return refuse(None, None, "the file has no users");
    }
    let mut parsed = finish(report, options, version)?;
    parsed.encoding = decoded.encoding;
    Ok(parsed)
}

fn read_csv(
    text: &str,
    report: &mut M365,
    problems: &mut Problems,
) -> Result<&'static str, Vec<ImportProblem>> {
    // Windows PowerShell's Export-Csv writes "#TYPE …" first; a blank line keeps the row numbers.
    let owned;
    let mut text = text;
    let powershell_type = text.trim_start().starts_with("#TYPE");
    if powershell_type {
        let rest = text.find('\n').map_or("", |i| &text[i + 1..]);
        owned = format!("\n{rest}");
        text = &owned;
    }
    let mut t = Table::open(text)?;
    let header = t.header.clone();
    let fields: Vec<Field> = header.iter().map(|h| classify(h)).collect();
    for (want, name) in [
        (Field::Upn, "User Principal Name"),
        (Field::LastAny, "Last Activity Date"),
    ] {
        if !fields.contains(&want) {
            problems.push(
                Some(1),
                Some(name),
                format!("missing column {}", quote(name)),
            );
        }
    }
    if !problems.is_empty() {
        return Err(std::mem::take(problems).into_vec());
    }
    let upn_name = header[fields.iter().position(|f| *f == Field::Upn).unwrap_or(0)].clone();
    // PowerShell names columns after Graph's JSON properties (no spaces).
    let powershell = powershell_type || !header.iter().any(|h| h.contains(' '));
    let raw = RawJson::new(&header);
    let mut rec = StringRecord::new();
    while let Some(row) = t.next(&mut rec, problems) {
        let mut user = new_user(row, raw.row(&rec));
        let mut upn = None;
        for (i, name) in header.iter().enumerate() {
            if fields[i] != Field::Other {
                report.value(row, name, &rec[i], &mut user, &mut upn, problems);
            }
        }
        report.finish(user, upn, &upn_name, problems);
    }
    if problems.is_empty() {
        t.no_data_rows()?;
    }
    let v2 = report.has_active_days || report.has_prompts_all || report.has_prompts_chat;
    Ok(match (powershell, v2) {
        (true, _) => "PowerShell Export-Csv",
        (false, true) => "usage report v2, CSV",
        (false, false) => "usage report v1, CSV",
    })
}

/// Graph's JSON: camelCase properties; the period sits in `copilotActivityUserDetailsByPeriod`. Dates may
/// be "" or null (both appear in Microsoft's examples). Graph documents no JSON names for v2's counts;
/// they are read wherever they appear (top level or in the period entry) under the loose v2 names.
fn read_json(
    text: &str,
    report: &mut M365,
    problems: &mut Problems,
) -> Result<(), Vec<ImportProblem>> {
    let file = json_records(text)?;
    for (row, value) in file.records {
        let Value::Object(obj) = &value else {
            problems.push(
                Some(row),
                None,
                format!("the record is a JSON {}, not an object", json_type(&value)),
            );
            continue;
        };
        let mut user = new_user(row, value.to_string());
        let mut upn = None;
        let mut entries: Vec<(&String, &Value)> = obj.iter().collect();
        if let Some(Value::Array(periods)) = obj.get("copilotActivityUserDetailsByPeriod") {
            match periods.as_slice() {
                [Value::Object(p)] => entries.extend(p.iter()),
                [] => {}
                _ => problems.at(
                    row,
                    "copilotActivityUserDetailsByPeriod",
                    "the record holds several report periods; request one period (e.g. period='D28')",
                ),
            }
        }
        for (name, v) in entries {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                Value::Number(n) => n.to_string(),
                _ => continue,
            };
            report.value(row, name, &text, &mut user, &mut upn, problems);
        }
        report.finish(user, upn, "userPrincipalName", problems);
    }
    Ok(())
}

fn finish(
    report: M365,
    options: &UsageOptions,
    version: &str,
) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let mut problems = Problems::default();
    let names = &report.names;
    let shorts: Vec<(usize, &str, u32, u32, i32, char)> = report
        .users
        .iter()
        .flat_map(|u| {
            u.dates.iter().filter_map(move |&(id, _, c)| match c {
                Cell::Short { a, b, y, sep } => Some((u.row, names[id].as_str(), a, b, y, sep)),
                _ => None,
            })
        })
        .collect();
    let order = decide_order(&shorts, options.date_order).map_err(|p| vec![p])?;
    // Every date resolved: (user index, field, date).
    let mut dates: Vec<Vec<(Field, NaiveDate)>> = Vec::with_capacity(report.users.len());
    let (mut refresh, mut latest): (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
    for u in &report.users {
        let mut mine = Vec::with_capacity(u.dates.len());
        for &(id, field, cell) in &u.dates {
            let date = match (cell, order) {
                (Cell::Empty, _) => continue,
                (Cell::Day(d), _) => Some(d),
                (Cell::Short { a, b, y, .. }, Some(DateOrder::Dmy)) => {
                    NaiveDate::from_ymd_opt(y, b, a)
                }
                (Cell::Short { a, b, y, .. }, _) => NaiveDate::from_ymd_opt(y, a, b),
            };
            let Some(date) = date else {
                if let Cell::Short { a, b, y, sep } = cell {
                    let how = match order {
                        Some(DateOrder::Dmy) => "day/month/year",
                        _ => "month/day/year",
                    };
                    problems.at(
                        u.row,
                        &names[id],
                        format!(
                            "{} is not a date as {how}",
                            quote(&short_text(a, b, y, sep))
                        ),
                    );
                }
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
    for (u, _) in report.users.iter().zip(&dates) {
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

#[cfg(test)]
mod tests {
    //! Fixtures (tests/fixtures/usage/): `m365_graph_example_concealed.{csv,json}` are Microsoft's own
    //! examples, verbatim (m365copilot-docs, getMicrosoft365CopilotUsageUserDetail); `m365_v1.csv` has
    //! Microsoft's v1 header (verbatim order) with rows written for these tests; `m365_v2.csv` adds the nine
    //! v2 columns Microsoft names (their order is undocumented); `m365_graph_beta.json` follows Microsoft's
    //! JSON example with names shown; `m365_powershell_export.csv` has the header of a public PowerShell
    //! script's Export-Csv (Hickey7737/CopilotUsageGraph) and Windows PowerShell's #TYPE line;
    //! `m365_excel_ambiguous_dates.csv` is v1 re-saved by Excel in a day/month locale.
    use crate::roster::import::test_util::*;
    use crate::roster::import::*;
    use serde_json::Value;

    const V1: &[u8] = include_bytes!("../../../tests/fixtures/usage/m365_v1.csv");
    const V2: &[u8] = include_bytes!("../../../tests/fixtures/usage/m365_v2.csv");
    const GRAPH_JSON: &[u8] = include_bytes!("../../../tests/fixtures/usage/m365_graph_beta.json");
    const CONCEALED_CSV: &[u8] =
        include_bytes!("../../../tests/fixtures/usage/m365_graph_example_concealed.csv");
    const CONCEALED_JSON: &[u8] =
        include_bytes!("../../../tests/fixtures/usage/m365_graph_example_concealed.json");
    const POWERSHELL: &[u8] =
        include_bytes!("../../../tests/fixtures/usage/m365_powershell_export.csv");
    const AMBIGUOUS: &[u8] =
        include_bytes!("../../../tests/fixtures/usage/m365_excel_ambiguous_dates.csv");

    fn parse(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
        parse_usage(UsageFormat::M365Copilot, bytes, &UsageOptions::default())
    }

    fn parse_in(bytes: &[u8], order: DateOrder) -> Result<ParsedUsage, Vec<ImportProblem>> {
        let options = UsageOptions {
            date_order: Some(order),
        };
        parse_usage(UsageFormat::M365Copilot, bytes, &options)
    }

    fn scores(u: &ParsedUsage) -> Vec<(&str, f64, f64)> {
        u.employees
            .iter()
            .map(|e| (e.key.as_str(), e.score, e.tiebreak))
            .collect()
    }

    fn per_month(n: f64, days: f64) -> f64 {
        n * 30.44 / days
    }

    #[test]
    fn v1_counts_each_day_known_active_once_over_every_app() {
        let u = parse(V1).unwrap();
        assert_eq!(u.version, "usage report v1, CSV");
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-01"), d("2026-11-30"))
        );
        assert_eq!(
            u.unit_label,
            "day known active per month (from last-activity dates)"
        );
        let got = scores(&u);
        // Ada: Teams, Chat and the all-apps date on the 29th are one day; Word and Outlook on the 20th one.
        assert_eq!(got[0].0, "ada.lovelace@example.org");
        assert!(close(got[0].1, per_month(3.0, 30.0)) && got[0].2 == -1.0);
        // Bob's last activity is before the period: no day in it, but he ranks above someone never active.
        assert_eq!((got[1].1, got[1].2), (0.0, -46.0));
        assert_eq!((got[2].1, got[2].2), (0.0, -100_000.0));
        assert!(close(got[3].1, per_month(4.0, 30.0)));
        assert!(u.employees.iter().all(|e| e.key_kind == KeyKind::Upn
            && e.active_days.is_none()
            && e.gross_hours_month.is_none()
            && e.units == e.score));
        assert!(!u.has_hours);
        assert_eq!(u.rows[0].row, 2);
        let raw: Value = serde_json::from_str(&u.rows[0].raw_json).unwrap();
        assert_eq!(raw["Display Name"], "Ada Lovelace");
        assert_eq!(raw["User Principal Name"], "Ada.Lovelace@example.org");
    }

    #[test]
    fn v2_with_a_28_day_period_uses_active_usage_days_and_prompts() {
        let u = parse(V2).unwrap();
        assert_eq!(u.version, "usage report v2, CSV");
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-03"), d("2026-11-30"))
        );
        assert_eq!(u.unit_label, "active day per month");
        let got = scores(&u);
        assert!(close(got[0].1, per_month(14.0, 28.0)));
        assert!(close(got[0].2, per_month(120.0, 28.0)));
        // Bob used only Copilot Chat (web), Edge and an agent: his days count.
        assert_eq!(got[1].0, "bob@example.org");
        assert!(close(got[1].1, per_month(3.0, 28.0)) && close(got[1].2, per_month(9.0, 28.0)));
        assert_eq!((got[2].1, got[2].2), (0.0, 0.0));
        assert!(close(got[3].1, per_month(20.0, 28.0)));
        assert_eq!(u.employees[0].active_days, Some(u.employees[0].score));
    }

    #[test]
    fn graph_json_is_read_with_null_and_empty_dates() {
        let u = parse(GRAPH_JSON).unwrap();
        assert_eq!(u.version, "Graph JSON");
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-24"), d("2026-11-30"))
        );
        let got = scores(&u);
        // 29th (all apps, Chat), 28th (Teams), 24th (Word); PowerPoint in March is outside the 7 days.
        assert_eq!(got[0].0, "ada.lovelace@example.org");
        assert!(close(got[0].1, per_month(3.0, 7.0)));
        assert_eq!((got[1].1, got[1].2), (0.0, -100_000.0));
        assert_eq!(u.rows[1].row, 2, "records are numbered by position");
        let raw: Value = serde_json::from_str(&u.rows[0].raw_json).unwrap();
        assert_eq!(raw["displayName"], "Ada Lovelace");
    }

    #[test]
    fn concealed_names_are_refused_with_the_setting_to_turn_off() {
        for bytes in [CONCEALED_CSV, CONCEALED_JSON] {
            let problems = parse(bytes).unwrap_err();
            assert_eq!(problems.len(), 1, "{problems:?}");
            let m = &problems[0].message;
            assert!(m.contains("names are concealed"), "{m}");
            assert!(
                m.contains("Settings → Org settings → Services → Reports")
                    && m.contains("Display concealed user, group, and site names in all reports"),
                "{m}"
            );
        }
    }

    #[test]
    fn a_powershell_export_without_its_period_is_refused_and_read_when_it_has_one() {
        let problems = parse(POWERSHELL).unwrap_err();
        assert_eq!(places(&problems), vec![(None, Some("Report Period"))]);
        assert!(problems[0].message.contains("7, 28, 30, 90 or 180"));
        // The same export with Graph's reportPeriod kept as a column.
        let text = String::from_utf8(POWERSHELL.to_vec()).unwrap();
        let with_period = text
            .replace(
                "\"loopCopilotLastActivityDate\"",
                "\"loopCopilotLastActivityDate\",\"reportPeriod\"",
            )
            .replace(",\"\"\n", ",\"\",\"7\"\n");
        let u = parse(with_period.as_bytes()).unwrap();
        assert_eq!(u.version, "PowerShell Export-Csv");
        assert_eq!(u.rows[0].row, 3, "the #TYPE line is row 1");
        assert_eq!(u.period_start, d("2026-11-24"));
        // The 29th (all apps, Chat, Teams) once; Word on the 20th is before the 7 days.
        assert!(close(u.employees[0].score, per_month(1.0, 7.0)));
    }

    #[test]
    fn ambiguous_day_month_dates_are_refused_until_the_order_is_chosen() {
        let problems = parse(AMBIGUOUS).unwrap_err();
        assert_eq!(problems.len(), 1);
        let m = &problems[0].message;
        assert!(
            m.contains("\"12/11/2026\"")
                && m.contains("--date-order dmy")
                && m.contains("upload page"),
            "{m}"
        );
        let dmy = parse_in(AMBIGUOUS, DateOrder::Dmy).unwrap();
        assert_eq!(
            (dmy.period_start, dmy.period_end),
            (d("2026-11-06"), d("2026-11-12"))
        );
        // 10 and 9 November; the 5th is before the period.
        assert!(close(dmy.employees[0].score, per_month(2.0, 7.0)));
        let mdy = parse_in(AMBIGUOUS, DateOrder::Mdy).unwrap();
        assert_eq!(mdy.period_end, d("2026-12-11"));
        assert_eq!(mdy.employees[0].score, 0.0);
    }

    #[test]
    fn a_day_above_twelve_decides_the_order_and_a_contradiction_is_refused() {
        let text = String::from_utf8(AMBIGUOUS.to_vec()).unwrap();
        let decided = text.replacen("01/11/2026", "30/10/2026", 2);
        let u = parse(decided.as_bytes()).unwrap();
        assert_eq!(u.period_end, d("2026-11-12"));
        let us = "User Principal Name,Last Activity Date,Report Period\na@x.org,11/30/2026,7\nb@x.org,11/03/2026,7\n";
        let u = parse(us.as_bytes()).unwrap();
        assert_eq!(u.period_end, d("2026-11-30"), "read as month/day");
        let mixed = "User Principal Name,Last Activity Date,Report Period\na@x.org,11/30/2026,7\nb@x.org,30/11/2026,7\n";
        let problems = parse(mixed.as_bytes()).unwrap_err();
        assert!(problems[0].message.contains("mixes"), "{problems:?}");
        // The admin's choice wins, and a date impossible in it is named.
        let problems = parse_in(us.as_bytes(), DateOrder::Dmy).unwrap_err();
        assert_eq!(
            places(&problems),
            vec![(Some(2), Some("Last Activity Date"))]
        );
        assert!(problems[0].message.contains("day/month/year"));
    }

    #[test]
    fn admin_center_labels_are_read_like_graphs_headers() {
        // The admin center's table labels (Microsoft's page) and the capitalisation a community analysis of
        // a real export reports; whether the export's header uses them is unverified, so both are accepted.
        let text = "Report Refresh Date,User name,Display name,Last activity date (UTC),\
                    Last activity date of Teams Copilot (UTC),Last activity date of Copilot Chat (web) (UTC),\
                    Last activity date of any agent (UTC),Prompts submitted for All Apps,Active Usage Days for All Apps,Report Period\n\
                    2026-11-30,ada.lovelace@example.org,Ada Lovelace,2026-11-29,2026-11-29,2026-11-28,2026-11-20,33,6,28\n";
        let u = parse(text.as_bytes()).unwrap();
        assert_eq!(u.version, "usage report v2, CSV");
        assert!(close(u.employees[0].score, per_month(6.0, 28.0)));
        assert!(close(u.employees[0].tiebreak, per_month(33.0, 28.0)));
        let v1 = "User name,Last activity date (UTC),Last activity date of Teams Copilot (UTC),\
                  Last activity date of any agent (UTC),Report Period\n\
                  ada.lovelace@example.org,2026-11-29,2026-11-29,2026-11-20,30\n";
        let u = parse(v1.as_bytes()).unwrap();
        assert!(close(u.employees[0].score, per_month(2.0, 30.0)));
    }

    #[test]
    fn v2_counts_are_read_from_graph_json_wherever_they_sit() {
        // Graph documents no JSON names for v2's counts: the camelCase of the CSV headers is read at the
        // top level or in the period entry.
        let json = r#"{"value":[{"reportRefreshDate":"2026-11-30","userPrincipalName":"a@example.org",
            "lastActivityDate":"2026-11-29","promptsSubmittedForAllApps":12,
            "copilotActivityUserDetailsByPeriod":[{"reportPeriod":28,"activeUsageDaysForAllApps":7}]}]}"#;
        let u = parse(json.as_bytes()).unwrap();
        assert_eq!(u.version, "Graph JSON v2");
        assert!(close(u.employees[0].score, per_month(7.0, 28.0)));
        assert!(close(u.employees[0].tiebreak, per_month(12.0, 28.0)));
    }

    #[test]
    fn a_report_re_saved_by_excel_in_a_european_locale_is_read() {
        // Excel (e.g. de-DE, fr-FR) writes a BOM, ';' between columns and day.month.year or day/month/year.
        let text = "\u{feff}Report Refresh Date;User Principal Name;Last Activity Date;Word Copilot Last Activity Date;Report Period\r\n\
                    30.11.2026;ada.lovelace@example.org;29.11.2026;05.11.2026;30\r\n";
        let u = parse(text.as_bytes()).unwrap();
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-01"), d("2026-11-30"))
        );
        assert!(close(u.employees[0].score, per_month(2.0, 30.0)));
    }

    #[test]
    fn graph_pages_saved_one_after_the_other_are_one_report() {
        // Graph pages its JSON (`@odata.nextLink`); an admin may save every page into one file.
        let page = |upn: &str, next: &str| {
            format!(
                "{{{next}\"value\":[{{\"reportRefreshDate\":\"2026-11-30\",\"userPrincipalName\":\"{upn}\",\
                 \"lastActivityDate\":\"2026-11-30\",\"copilotActivityUserDetailsByPeriod\":[{{\"reportPeriod\":7}}]}}]}}\n"
            )
        };
        let text = page(
            "a@example.org",
            "\"@odata.nextLink\":\"https://graph.microsoft.com/beta/next\",",
        ) + &page("b@example.org", "");
        let u = parse(text.as_bytes()).unwrap();
        assert_eq!(u.employees.len(), 2);
        assert_eq!(u.employees[1].key, "b@example.org");
    }

    #[test]
    fn m365_problems() {
        let report = "User Principal Name,Last Activity Date,Word Copilot Last Activity Date,Report Period\n\
                      a@x.org,2026-11-01,,30\n\
                      A@X.org,2026-11-01,,30\n\
                      ,2026-11-01,,30\n\
                      c@x.org,2026-11-01,soon,30\n\
                      d@x.org,2026-11-01,,14\n\
                      e@x.org,2026-11-01,,7\n";
        let problems = parse(report.as_bytes()).unwrap_err();
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
        assert!(problems[3].message.contains("7, 28, 30, 90 or 180"));
        let missing = parse(b"Display Name\nA\n").unwrap_err();
        assert_eq!(
            places(&missing),
            vec![
                (Some(1), Some("User Principal Name")),
                (Some(1), Some("Last Activity Date"))
            ]
        );
        let dateless = parse(b"User Principal Name,Last Activity Date,Report Period\na@x.org,,7\n");
        assert_eq!(
            dateless.unwrap_err()[0].column.as_deref(),
            Some("Report Refresh Date")
        );
        let v2 = "User Principal Name,Last Activity Date,Active Usage Days for all apps,Prompts submitted for all apps,Report Period\n\
                  a@x.org,2026-11-01,8,12,7\n\
                  b@x.org,2026-11-01,2,many,7\n";
        assert_eq!(
            places(&parse(v2.as_bytes()).unwrap_err()),
            vec![(Some(3), Some("Prompts submitted for all apps")),]
        );
        let v2 = v2.replace("many", "1");
        let problems = parse(v2.as_bytes()).unwrap_err();
        assert_eq!(
            places(&problems),
            vec![(Some(2), Some("Active Usage Days for all apps"))]
        );
        // Microsoft's older JSON example has a trailing comma: not JSON, said so.
        let broken = "{\"value\":[{\"userPrincipalName\":\"a@x.org\",\"copilotActivityUserDetailsByPeriod\":[{\"reportPeriod\": 7,}]}]}";
        assert!(
            parse(broken.as_bytes()).unwrap_err()[0]
                .message
                .contains("not valid JSON")
        );
        let two = "{\"value\":[{\"userPrincipalName\":\"a@x.org\",\"lastActivityDate\":\"2026-11-01\",\"copilotActivityUserDetailsByPeriod\":[{\"reportPeriod\":7},{\"reportPeriod\":30}]}]}";
        assert_eq!(
            places(&parse(two.as_bytes()).unwrap_err()),
            vec![(Some(1), Some("copilotActivityUserDetailsByPeriod"))]
        );
    }
}
