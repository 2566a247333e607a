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
//! in one file, a column given twice, an empty count (Microsoft writes 0 for no use), and short dates
//! (Excel re-saved, also with a time or a two-digit year, see `fields::ShortDate`) whose day/month order
//! the file can't decide.

use std::collections::HashMap;

use csv::StringRecord;
use serde_json::Value;

use super::cursor::{json_records, json_type, loose};
use super::fields::{DateCell, ShortDates, first_row, not_a_date};
use super::table::{Layout, Problems, RawJson, Table, decode, quote, refuse};
use super::{ImportProblem, ParsedUsage, UsageOptions};

mod score;
#[cfg(test)]
mod tests;

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

/// One user of the report, before the date order and the period are known.
struct M365User {
    row: usize,
    key: String,
    raw_json: String,
    /// (column name id, what it is, the date).
    dates: Vec<(usize, Field, DateCell)>,
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
    /// What the short dates say about their day/month order.
    shorts: ShortDates,
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
            shorts: ShortDates::default(),
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
        // Microsoft documents no meaning for an empty count (its exports write 0), so none is guessed.
        let count = |problems: &mut Problems| -> Option<u64> {
            if value.is_empty() {
                problems.at(
                    row,
                    name,
                    "the count is empty; Microsoft's report writes 0 for no use, so an empty cell is \
                     not read as 0: export the report again, or write the number",
                );
                return None;
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
            Field::Refresh | Field::LastAny | Field::LastApp if value.is_empty() => {}
            Field::Refresh | Field::LastAny | Field::LastApp => match DateCell::read(value) {
                Some(cell) => {
                    if let DateCell::Short(d) = cell {
                        self.shorts.see(value, d, row, name);
                    }
                    let id = self.name_id(name);
                    user.dates.push((id, field, cell));
                }
                None => problems.at(row, name, not_a_date(value)),
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
    let mut parsed = score::finish(report, options, version)?;
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
    // Two columns read as the same thing (two "Last Activity Date", or "User name" beside "User Principal
    // Name"): which one holds the truth is unknowable, so neither is read.
    for (i, name) in header.iter().enumerate() {
        let same = |j: usize| match fields[i] {
            Field::Other => false,
            Field::LastApp | Field::PromptsChat => loose(&header[j]) == loose(name),
            f => fields[j] == f,
        };
        if let Some(j) = (0..i).find(|&j| same(j)) {
            problems.push(
                Some(1),
                Some(name),
                format!(
                    "column {} is column {} again (as {}); remove one of them and import again",
                    i + 1,
                    j + 1,
                    quote(&header[j])
                ),
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
