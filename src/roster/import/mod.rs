//! Parses uploaded roster and vendor usage files into typed rows, or the full list of their problems.
//!
//! A file with any invalid row is refused whole; every problem names the row as a spreadsheet shows it
//! (header = row 1, first data row = row 2; for NDJSON the line number) and, where it applies, the column.
//! One file per format (`roster`, `usage_csv`, `github`, `m365`, ...) over the shared CSV machinery
//! (`table`), the one JSON reader (`json`) and field parsers (`fields`); this file holds the types they all
//! return, the per-day tally of the day-based sources, and `read_usage`, which reads a file of any size.

mod amazon_q;
mod chatgpt;
mod cursor;
mod detect;
mod fields;
mod gemini;
mod github;
mod github_seats;
mod json;
mod m365;
mod roster;
mod table;
mod usage_csv;
mod viva;

pub use roster::{parse_roster, template as roster_template};
pub use usage_csv::template as usage_template;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;

use table::quote;

/// One reason a file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// Row as a spreadsheet shows it (header = 1), or the NDJSON line; `None` for the whole file.
    pub row: Option<usize>,
    /// Column (or JSON field) the problem is in, when there is one.
    pub column: Option<String>,
    /// What is wrong, in plain words; may quote user text verbatim (callers escape it for HTML).
    pub message: String,
}

impl ImportProblem {
    fn new(row: Option<usize>, column: Option<&str>, message: impl Into<String>) -> Self {
        ImportProblem {
            row,
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.row, &self.column) {
            (Some(r), Some(c)) => write!(f, "row {r}, column {c}: {}", self.message),
            (Some(r), None) => write!(f, "row {r}: {}", self.message),
            (None, Some(c)) => write!(f, "column {c}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// Tenure as the roster gives it: an exact hire date or a band label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenure {
    /// Hire date (YYYY-MM-DD in the file).
    HireDate(NaiveDate),
    /// A tenure band label, as written (trimmed).
    Band(String),
}

/// One valid roster row.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterRow {
    /// Spreadsheet row number in the uploaded file.
    pub row: usize,
    /// Employee id, trimmed, compared exactly.
    pub employee_id: String,
    /// Email address, lowercased.
    pub email: String,
    /// Business function, trimmed.
    pub function: String,
    /// Hire date (preferred) or tenure band.
    pub tenure: Tenure,
    /// IANA time zone.
    pub time_zone: Tz,
    /// User name at the vendor (e.g. a GitHub login), trimmed, as written.
    pub login: Option<String>,
    /// Microsoft user principal name, lowercased, when the roster gives one.
    pub upn: Option<String>,
    /// An id the vendor assigns (IAM Identity Center user id, Viva PersonId), trimmed, as written.
    pub vendor_id: Option<String>,
}

/// The usage file formats an admin can upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsageFormat {
    /// Our own CSV: employee, month, active days, AI hours.
    PlainCsv,
    /// GitHub Copilot usage metrics, per user and day, as NDJSON (or one JSON array).
    GithubCopilot,
    /// Microsoft 365 Copilot usage report, per-user detail CSV from the admin center.
    M365Copilot,
    /// GitHub Copilot seat assignments (`last_activity_at` per seat), JSON.
    GithubSeats,
    /// ChatGPT Enterprise user engagement report, CSV.
    Chatgpt,
    /// Cursor team usage: Admin API daily usage JSON or the dashboard CSV.
    Cursor,
    /// Google Gemini for Workspace: Reports API activities, JSON.
    Gemini,
    /// Amazon Q Developer per-user activity report, CSV.
    AmazonQ,
    /// Viva Insights person query with Copilot metrics, CSV.
    Viva,
}

impl UsageFormat {
    /// Every format, in the order forms list them.
    pub const ALL: [UsageFormat; 9] = [
        UsageFormat::PlainCsv,
        UsageFormat::GithubCopilot,
        UsageFormat::GithubSeats,
        UsageFormat::M365Copilot,
        UsageFormat::Chatgpt,
        UsageFormat::Cursor,
        UsageFormat::Gemini,
        UsageFormat::AmazonQ,
        UsageFormat::Viva,
    ];

    /// Stable identifier, stored and used in forms and the CLI: "csv", "github", "m365", ...
    pub fn as_str(self) -> &'static str {
        match self {
            UsageFormat::PlainCsv => "csv",
            UsageFormat::GithubCopilot => "github",
            UsageFormat::M365Copilot => "m365",
            UsageFormat::GithubSeats => "github-seats",
            UsageFormat::Chatgpt => "chatgpt",
            UsageFormat::Cursor => "cursor",
            UsageFormat::Gemini => "gemini",
            UsageFormat::AmazonQ => "amazon-q",
            UsageFormat::Viva => "viva",
        }
    }

    /// Name for people.
    pub fn label(self) -> &'static str {
        match self {
            UsageFormat::PlainCsv => "Plain CSV (AI hours per employee and month)",
            UsageFormat::GithubCopilot => "GitHub Copilot usage metrics (per user and day)",
            UsageFormat::M365Copilot => "Microsoft 365 Copilot usage report (CSV)",
            UsageFormat::GithubSeats => "GitHub Copilot seat assignments (JSON)",
            UsageFormat::Chatgpt => "ChatGPT Enterprise user engagement report (CSV)",
            UsageFormat::Cursor => "Cursor team usage (Admin API JSON or dashboard CSV)",
            UsageFormat::Gemini => "Gemini for Workspace activity report (JSON)",
            UsageFormat::AmazonQ => "Amazon Q Developer per-user activity report (CSV)",
            UsageFormat::Viva => "Viva Insights person query (CSV)",
        }
    }
}

impl UsageFormat {
    /// The file's column (or JSON field) that names the person, and the roster column it is matched on.
    pub fn matched_on(self) -> (&'static str, &'static str) {
        match self {
            UsageFormat::PlainCsv => ("employee_id", "the roster's employee_id or email"),
            UsageFormat::GithubCopilot => {
                ("user_login", "the roster's login column (or employee_id)")
            }
            UsageFormat::GithubSeats => (
                "assignee.login",
                "the roster's login column (or employee_id)",
            ),
            UsageFormat::M365Copilot => {
                ("User Principal Name", "the roster's upn column (or email)")
            }
            UsageFormat::Chatgpt => ("email", "the roster's email"),
            UsageFormat::Cursor => ("email", "the roster's email"),
            UsageFormat::Gemini => ("actor.email", "the roster's email"),
            UsageFormat::AmazonQ => ("UserId", "the roster's vendor_id column"),
            UsageFormat::Viva => ("PersonId", "the roster's vendor_id column"),
        }
    }
}

impl FromStr for UsageFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        UsageFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<&str> = UsageFormat::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "unknown usage format {}; use one of {}",
                    quote(s),
                    names.join(", ")
                )
            })
    }
}

/// How a usage key is matched to the roster (stored as TEXT: "employee_id", "email", "login").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type)]
#[sqlx(rename_all = "snake_case")]
pub enum KeyKind {
    /// The roster's `employee_id`, exact.
    EmployeeId,
    /// The roster's `email`, lowercased.
    Email,
    /// The roster's `login`, lowercased.
    Login,
    /// The roster's `upn` (Microsoft user principal name), lowercased; falls back to `email`.
    Upn,
    /// The roster's `vendor_id` (an id the vendor assigns, e.g. an IAM Identity Center user id or a Viva
    /// PersonId), trimmed and case-insensitive: Identity Center ids are UUIDs a tool may write in either
    /// case, and no vendor issues two opaque ids differing only in case.
    VendorId,
}

impl KeyKind {
    /// Stable identifier: "employee_id", "email", "login".
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::EmployeeId => "employee_id",
            KeyKind::Email => "email",
            KeyKind::Login => "login",
            KeyKind::Upn => "upn",
            KeyKind::VendorId => "vendor_id",
        }
    }
}

/// One data row of a usage file, kept verbatim for audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawUsageRow {
    /// Spreadsheet row (CSV), line (NDJSON) or 1-based element index (JSON array).
    pub row: usize,
    /// The key the row was attributed to (lowercased unless an employee id).
    pub key: String,
    /// The original row as a JSON object {column: value}, every column kept.
    pub raw_json: String,
}

/// One person's usage over the file's period.
#[derive(Debug, Clone, PartialEq)]
pub struct EmployeeUsage {
    /// Employee id, email or login, as `key_kind` says.
    pub key: String,
    /// How `key` is matched to the roster.
    pub key_kind: KeyKind,
    /// The usage score used to rank adoption (higher = heavier).
    pub score: f64,
    /// Secondary ranking value (higher = heavier), 0 if none.
    pub tiebreak: f64,
    /// Active days per month (30.44 days), where the source has days.
    pub active_days: Option<f64>,
    /// The quantity an admin-entered conversion multiplies when the source has no hours; equals `score`.
    pub units: f64,
    /// AI-assisted hours per month, only when the source has hours.
    pub gross_hours_month: Option<f64>,
}

/// A valid usage file.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedUsage {
    /// The format it was read as.
    pub format: UsageFormat,
    /// Every data row, verbatim.
    pub rows: Vec<RawUsageRow>,
    /// One summary per person, in order of first appearance.
    pub employees: Vec<EmployeeUsage>,
    /// First day the file covers.
    pub period_start: NaiveDate,
    /// Last day the file covers (inclusive).
    pub period_end: NaiveDate,
    /// Whether the source reports hours itself.
    pub has_hours: bool,
    /// What `units` counts, e.g. "active day per month".
    pub unit_label: &'static str,
    /// Which variant of the source was read, said on the result page and stored with the import
    /// (e.g. "usage report v2, CSV" or "NDJSON"); empty when the format has one shape.
    pub version: String,
    /// The text encoding the file was read in ("UTF-8", "UTF-8 with BOM", "Windows-1252").
    pub encoding: &'static str,
}

/// How day and month are ordered in dates a spreadsheet wrote in the locale's short form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// 31/12/2026.
    Dmy,
    /// 12/31/2026.
    Mdy,
}

impl DateOrder {
    /// The admin's choice as typed or picked: "dmy", "mdy", or empty / "auto" for "decide from the file".
    pub fn from_choice(s: &str) -> Result<Option<DateOrder>, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(None),
            "dmy" => Ok(Some(DateOrder::Dmy)),
            "mdy" => Ok(Some(DateOrder::Mdy)),
            _ => Err(format!(
                "unknown date order {}; use dmy (day/month) or mdy (month/day)",
                quote(s.trim())
            )),
        }
    }
}

/// Choices the admin makes for a usage file (on the page or on the command line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageOptions {
    /// The order of day and month when the file itself can't decide it (every day ≤ 12); `None` = refuse
    /// such a file and ask.
    pub date_order: Option<DateOrder>,
}

/// Parses a vendor usage file in the given format.
pub fn parse_usage(
    format: UsageFormat,
    bytes: &[u8],
    options: &UsageOptions,
) -> Result<ParsedUsage, Vec<ImportProblem>> {
    match format {
        UsageFormat::PlainCsv => usage_csv::parse_plain(bytes, options),
        UsageFormat::GithubCopilot => github::parse_github(bytes, None),
        UsageFormat::GithubSeats => github_seats::parse_seats(bytes),
        UsageFormat::M365Copilot => m365::parse_m365(bytes, options),
        UsageFormat::Chatgpt => chatgpt::parse_chatgpt(bytes, options),
        UsageFormat::Cursor => cursor::parse_cursor(bytes, options, None),
        UsageFormat::Gemini => gemini::parse_gemini(bytes, None),
        UsageFormat::AmazonQ => amazon_q::parse_amazon_q(bytes),
        UsageFormat::Viva => viva::parse_viva(bytes, options),
    }
}

/// Picks the format of a usage file from its shape and header or keys (`--format auto`), or refuses it:
/// an organisation-level file with the per-user report to download, an unknown one with what was looked
/// for.
pub fn detect_usage_format(bytes: &[u8]) -> Result<UsageFormat, Vec<ImportProblem>> {
    detect::detect(bytes)
}

/// Detects the format when `format` is `None` (auto), then parses the file.
pub fn parse_usage_auto(
    format: Option<UsageFormat>,
    bytes: &[u8],
    options: &UsageOptions,
) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let format = match format {
        Some(f) => f,
        None => detect::detect(bytes)?,
    };
    parse_usage(format, bytes, options)
}

/// Where an importer puts the raw rows it keeps: a list (`parse_usage`), the database in batches as the
/// file is read (the usage import), or nowhere (a preview, which stores nothing).
pub trait RowSink {
    /// Takes one raw row.
    fn row(&mut self, row: RawUsageRow);
}

impl RowSink for Vec<RawUsageRow> {
    fn row(&mut self, row: RawUsageRow) {
        self.push(row);
    }
}

/// A sink that only counts (the preview).
impl RowSink for usize {
    fn row(&mut self, _: RawUsageRow) {
        *self += 1;
    }
}

/// How much of a file format detection looks at first.
const DETECT_PREFIX: u64 = 256 * 1024;

/// Reads a usage file of any size, its format named or (`None`) detected, checking no day lies after
/// `today` where the source has days: GitHub Copilot reports are read one record at a time and their raw
/// rows handed to `sink` as they come, so memory grows with people × days, not with the file; the other
/// formats are read whole (their files are one row per person or per person and month). Returns the
/// summary (its `rows` empty) and the number of raw rows handed over.
pub fn read_usage<R: Read + Seek>(
    format: Option<UsageFormat>,
    mut file: R,
    options: &UsageOptions,
    today: Option<NaiveDate>,
    sink: &mut dyn RowSink,
) -> Result<(ParsedUsage, usize), Vec<ImportProblem>> {
    let io = |e: std::io::Error| {
        vec![ImportProblem::new(
            None,
            None,
            format!("the file could not be read: {e}"),
        )]
    };
    let format = match format {
        Some(f) => f,
        None => {
            let mut head = Vec::new();
            (&mut file)
                .take(DETECT_PREFIX)
                .read_to_end(&mut head)
                .map_err(io)?;
            let whole = (head.len() as u64) < DETECT_PREFIX;
            if !whole && let Some(cut) = head.iter().rposition(|&b| b == b'\n') {
                head.truncate(cut + 1);
            }
            let found = detect::detect(&head);
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            match found {
                Ok(f) => f,
                // A long pretty-printed document: decide on its first record.
                Err(_)
                    if !whole && matches!(head.trim_ascii_start().first(), Some(b'[' | b'{')) =>
                {
                    let first = first_json_record(BufReader::new(&mut file));
                    file.seek(SeekFrom::Start(0)).map_err(io)?;
                    match first {
                        Some(record) => detect::detect(format!("[{record}]").as_bytes())?,
                        None => found?,
                    }
                }
                Err(e) => return Err(e),
            }
        }
    };
    if format == UsageFormat::GithubCopilot {
        return github::read_github(BufReader::new(file), today, sink);
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io)?;
    let mut parsed = match format {
        UsageFormat::Cursor => cursor::parse_cursor(&bytes, options, today),
        UsageFormat::Gemini => gemini::parse_gemini(&bytes, today),
        _ => parse_usage(format, &bytes, options),
    }?;
    // The other sources check no single day against today (a plain CSV's month runs past it by design),
    // but data whose period starts after today is a date mix-up, never a report.
    if let Some(today) = today
        && parsed.period_start > today
    {
        return Err(vec![ImportProblem::new(
            None,
            None,
            format!(
                "the file's data starts on {}, after today ({today} in the study's time zone): a usage \
                 report describes days that have passed; check its dates (day/month swapped?)",
                parsed.period_start
            ),
        )]);
    }
    let rows = std::mem::take(&mut parsed.rows);
    let n = rows.len();
    for r in rows {
        sink.row(r);
    }
    Ok((parsed, n))
}

/// The first record of a JSON file, as text (the file is read to its end).
fn first_json_record(reader: impl BufRead) -> Option<String> {
    let mut first = None;
    let mut problems = table::Problems::default();
    // The keys that name a person in each JSON source: an object with one is a record, not a wrapper.
    let is_record = |o: &serde_json::Map<String, serde_json::Value>| {
        [
            "user_login",
            "assignee",
            "email",
            "actor",
            "userPrincipalName",
        ]
        .iter()
        .any(|k| o.contains_key(*k))
    };
    json::read_json(reader, &is_record, &mut problems, &mut |_, v, _| {
        if first.is_none() {
            first = Some(v.to_string());
        }
    })
    .ok()?;
    first
}

/// Average days per month, to turn "days in the period" into months.
pub(super) const DAYS_PER_MONTH: f64 = 30.44;

/// The fewest days a per-day file may cover: a rate "per month" from fewer days would rank a person
/// active on the only day of a one-day file as 30 days a month.
pub(super) const MIN_PERIOD_DAYS: i64 = 28;

/// The period a per-day source is scored over, and whether the file stated it: the period the file
/// states (widened to any day with data outside it), else the first to the last day in the whole file.
/// Either way it must cover at least 28 days; `download` says what to download instead.
pub(super) fn scored_period(
    stated: Option<(NaiveDate, NaiveDate)>,
    first: NaiveDate,
    last: NaiveDate,
    download: &str,
) -> Result<(NaiveDate, NaiveDate, bool), ImportProblem> {
    let (start, end) = match stated {
        Some((s, e)) => (s.min(first), e.max(last)),
        None => (first, last),
    };
    let days = (end - start).num_days() + 1;
    if days < MIN_PERIOD_DAYS {
        let which = if stated.is_some() {
            "the report's period covers"
        } else {
            "the file states no period and its days cover"
        };
        let noun = if days == 1 { "day" } else { "days" };
        return Err(ImportProblem::new(
            None,
            None,
            format!(
                "{which} only {days} {noun} ({start} to {end}); active days per month need at least \
                 {MIN_PERIOD_DAYS} days: {download}"
            ),
        ));
    }
    Ok((start, end, stated.is_some()))
}

/// A day after today (in the study's time zone) is a typing or export error, never usage.
pub(super) fn future_day(day: NaiveDate, today: Option<NaiveDate>) -> Option<String> {
    today
        .filter(|t| day > *t)
        .map(|t| format!("{day} is in the future (today is {t})"))
}

#[derive(Default)]
struct DaySums {
    days: u32,
    count: f64,
}

/// Active days and activity counts per person, each day counted once whatever the surfaces or records.
pub(super) struct DayTally {
    people: People<DaySums>,
    active: HashSet<(usize, NaiveDate)>,
    pub(super) first: Option<NaiveDate>,
    pub(super) last: Option<NaiveDate>,
}

impl DayTally {
    pub(super) fn new() -> Self {
        DayTally {
            people: People::new(),
            active: HashSet::new(),
            first: None,
            last: None,
        }
    }

    /// One record of `key` on `day`: active or not, with `count` activities.
    pub(super) fn add(&mut self, key: &str, day: NaiveDate, active: bool, count: f64) {
        let p = self.people.id(key);
        self.first = Some(self.first.map_or(day, |f| f.min(day)));
        self.last = Some(self.last.map_or(day, |l| l.max(day)));
        let fresh = active && self.active.insert((p, day));
        let sums = &mut self.people.list[p].1;
        sums.count += count;
        if fresh {
            sums.days += 1;
        }
    }

    /// Active days per month (score and active days) and counts per month (tiebreak) over `start..=end`.
    pub(super) fn employees(
        self,
        kind: KeyKind,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Vec<EmployeeUsage> {
        let months = ((end - start).num_days() + 1) as f64 / DAYS_PER_MONTH;
        self.people
            .list
            .into_iter()
            .map(|(key, s)| {
                let days = f64::from(s.days) / months;
                EmployeeUsage {
                    key,
                    key_kind: kind,
                    score: days,
                    tiebreak: s.count / months,
                    active_days: Some(days),
                    units: days,
                    gross_hours_month: None,
                }
            })
            .collect()
    }
}

/// Per-person sums, indexed by first appearance.
struct People<T> {
    index: HashMap<String, usize>,
    list: Vec<(String, T)>,
}

impl<T: Default> People<T> {
    fn new() -> Self {
        People {
            index: HashMap::new(),
            list: Vec::new(),
        }
    }

    /// Index of `key`, created on first sight (allocates only then).
    fn id(&mut self, key: &str) -> usize {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        let i = self.list.len();
        self.index.insert(key.to_owned(), i);
        self.list.push((key.to_owned(), T::default()));
        i
    }
}

#[cfg(test)]
mod test_util {
    use super::*;

    pub(super) fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    pub(super) fn today() -> NaiveDate {
        d("2026-12-01")
    }

    pub(super) fn roster(text: &str) -> Result<Vec<RosterRow>, Vec<ImportProblem>> {
        parse_roster(text.as_bytes(), today())
    }

    pub(super) fn roster_err(text: &str) -> Vec<ImportProblem> {
        roster(text).expect_err("the file should be refused")
    }

    /// (row, column) of each problem, for compact assertions.
    pub(super) fn places(problems: &[ImportProblem]) -> Vec<(Option<usize>, Option<&str>)> {
        problems
            .iter()
            .map(|p| (p.row, p.column.as_deref()))
            .collect()
    }

    pub(super) fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    pub(super) const HEADER: &str = "employee_id,email,function,hire_date,time_zone\n";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_display_with_and_without_row_and_column() {
        assert_eq!(
            ImportProblem::new(Some(7), None, "x").to_string(),
            "row 7: x"
        );
        assert_eq!(
            ImportProblem::new(None, Some("day"), "x").to_string(),
            "column day: x"
        );
    }

    #[test]
    fn usage_formats_round_trip() {
        for f in UsageFormat::ALL {
            assert_eq!(f.as_str().parse::<UsageFormat>(), Ok(f));
            assert!(!f.label().is_empty());
        }
        assert_eq!(
            " GitHub ".parse::<UsageFormat>(),
            Ok(UsageFormat::GithubCopilot)
        );
        assert!("xlsx".parse::<UsageFormat>().unwrap_err().contains("xlsx"));
    }

    #[test]
    fn a_long_pretty_printed_report_is_detected_and_its_rows_go_to_the_sink() {
        // Longer than the 256 KiB detection looks at, so its first record decides the format.
        let record = |i: usize| {
            format!(
                "  {{\n    \"report_start_day\": \"2026-11-01\",\n    \"report_end_day\": \"2026-11-28\",\n    \"day\": \"2026-11-{:02}\",\n    \"user_login\": \"u{}\",\n    \"used_chat\": true,\n    \"totals_by_ide\": [{{\"ide\": \"vscode\"}}]\n  }}",
                1 + i % 28,
                i % 100
            )
        };
        let n = 2_000;
        let text = format!(
            "[\n{}\n]\n",
            (0..n).map(record).collect::<Vec<_>>().join(",\n")
        );
        assert!(text.len() as u64 > DETECT_PREFIX);
        let mut rows = 0usize;
        let (parsed, handed) = read_usage(
            None,
            std::io::Cursor::new(text.into_bytes()),
            &UsageOptions::default(),
            Some(test_util::today()),
            &mut rows,
        )
        .unwrap();
        assert_eq!(parsed.format, UsageFormat::GithubCopilot);
        assert_eq!((handed, rows), (n, n));
        assert!(
            parsed.rows.is_empty(),
            "the rows went to the sink, not the summary"
        );
        assert_eq!(parsed.employees.len(), 100);
        assert!(parsed.version.contains("JSON array"), "{}", parsed.version);
    }
}
