//! Parses uploaded roster and vendor usage files into typed rows, or the full list of their problems.
//!
//! A file with any invalid row is refused whole; every problem names the row as a spreadsheet shows it
//! (header = row 1, first data row = row 2; for NDJSON the line number) and, where it applies, the column.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;
use csv::{ReaderBuilder, StringRecord};
use serde_json::{Map, Value};

/// At most this many problems are listed; the rest are only counted, so a wrong file stays readable.
const MAX_PROBLEMS: usize = 200;
/// Quoted user text is cut to this many characters so one huge cell cannot flood the list.
const QUOTE_MAX: usize = 60;
/// Average days per month, to turn "days in the period" into months.
const DAYS_PER_MONTH: f64 = 30.44;
/// Tiebreak of an M365 user who was never active: below any real "days since last activity".
const NEVER_ACTIVE: f64 = -100_000.0;

const UTF16_MESSAGE: &str = "the file is UTF-16; save it as UTF-8 (CSV UTF-8) and upload again";

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
}

impl UsageFormat {
    /// Stable identifier, stored and used in forms and the CLI: "csv", "github", "m365".
    pub fn as_str(self) -> &'static str {
        match self {
            UsageFormat::PlainCsv => "csv",
            UsageFormat::GithubCopilot => "github",
            UsageFormat::M365Copilot => "m365",
        }
    }

    /// Name for people.
    pub fn label(self) -> &'static str {
        match self {
            UsageFormat::PlainCsv => "Plain CSV (AI hours per employee and month)",
            UsageFormat::GithubCopilot => "GitHub Copilot usage metrics (NDJSON)",
            UsageFormat::M365Copilot => "Microsoft 365 Copilot usage report (CSV)",
        }
    }
}

impl FromStr for UsageFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        [
            UsageFormat::PlainCsv,
            UsageFormat::GithubCopilot,
            UsageFormat::M365Copilot,
        ]
        .into_iter()
        .find(|f| f.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| format!("unknown usage format {}; use csv, github or m365", quote(s)))
    }
}

/// How a usage key is matched to the roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// The roster's `employee_id`, exact.
    EmployeeId,
    /// The roster's `email`, lowercased.
    Email,
    /// The roster's `login`, lowercased.
    Login,
}

impl KeyKind {
    /// Stable identifier: "employee_id", "email", "login".
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::EmployeeId => "employee_id",
            KeyKind::Email => "email",
            KeyKind::Login => "login",
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
}

// ---------------------------------------------------------------------------------------------
// Problems, quoting, decoding
// ---------------------------------------------------------------------------------------------

/// Collects problems up to the cap and counts the rest.
#[derive(Default)]
struct Problems {
    list: Vec<ImportProblem>,
    total: usize,
}

impl Problems {
    fn push(&mut self, row: Option<usize>, column: Option<&str>, message: impl Into<String>) {
        self.total += 1;
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(ImportProblem::new(row, column, message));
        }
    }

    fn at(&mut self, row: usize, column: &str, message: impl Into<String>) {
        self.push(Some(row), Some(column), message);
    }

    fn is_empty(&self) -> bool {
        self.total == 0
    }

    fn into_vec(mut self) -> Vec<ImportProblem> {
        let more = self.total - self.list.len();
        if more > 0 {
            let noun = if more == 1 { "problem" } else { "problems" };
            self.list.push(ImportProblem::new(
                None,
                None,
                format!("… and {more} more {noun}"),
            ));
        }
        self.list
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<ImportProblem>> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self.into_vec())
        }
    }
}

fn refuse<T>(
    row: Option<usize>,
    column: Option<&str>,
    message: impl Into<String>,
) -> Result<T, Vec<ImportProblem>> {
    Err(vec![ImportProblem::new(row, column, message)])
}

/// User text in double quotes, verbatim but cut to `QUOTE_MAX` characters.
fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_MAX) {
        Some((cut, _)) => format!("\"{}…\"", &s[..cut]),
        None => format!("\"{s}\""),
    }
}

/// How rows are numbered when locating an encoding error.
#[derive(Clone, Copy)]
enum Layout {
    Csv,
    Lines,
}

/// The file as UTF-8 text without BOM, or why it cannot be read.
fn decode(bytes: &[u8], layout: Layout) -> Result<&str, Vec<ImportProblem>> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return refuse(None, None, UTF16_MESSAGE);
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return refuse(None, None, "the file is empty");
    }
    // Common wrong uploads get a precise answer instead of "row 1 is not valid UTF-8".
    if bytes.starts_with(b"PK\x03\x04") {
        return refuse(
            None,
            None,
            "the file is a workbook (e.g. .xlsx), not CSV; save it as CSV UTF-8 and upload again",
        );
    }
    if bytes.iter().take(4096).any(|&b| b == 0) {
        return refuse(None, None, UTF16_MESSAGE);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let at = e.valid_up_to();
            let row = match layout {
                Layout::Csv => csv_row_at(bytes, at),
                Layout::Lines => 1 + newlines(&bytes[..at]),
            };
            refuse(
                Some(row),
                None,
                format!("row {row} is not valid UTF-8; save the file as UTF-8"),
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CSV reading
// ---------------------------------------------------------------------------------------------

/// Spreadsheet row numbers from csv's byte offsets (its own line count skips blank lines and
/// miscounts CRLF): a blank line is a row, a quoted cell with line breaks is one row.
struct RowCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
    embedded_newlines: usize,
}

impl<'a> RowCounter<'a> {
    fn new(text: &'a [u8]) -> Self {
        RowCounter {
            text,
            offset: 0,
            line: 1,
            embedded_newlines: 0,
        }
    }

    fn row(&mut self, pos: Option<&csv::Position>, content: &[u8]) -> usize {
        let at = pos.map_or(self.offset, |p| {
            usize::try_from(p.byte()).unwrap_or(usize::MAX)
        });
        let mut start = at.clamp(self.offset, self.text.len());
        // csv reports the offset just after the previous record, before any line ends and blank lines.
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        self.line += newlines(&self.text[self.offset..start]);
        self.offset = start;
        let row = self.line.saturating_sub(self.embedded_newlines).max(1);
        self.embedded_newlines += newlines(content);
        row
    }
}

fn newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Excel in many European locales writes ';' between columns; sniffing it spares the admin a round trip.
fn sniff_delimiter(text: &str) -> u8 {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.contains(',') {
        b','
    } else if first.contains(';') {
        b';'
    } else if first.contains('\t') {
        b'\t'
    } else {
        b','
    }
}

fn csv_builder(delimiter: u8) -> ReaderBuilder {
    let mut b = ReaderBuilder::new();
    // Field counts are checked here, so a short row is a listed problem rather than a read error.
    b.has_headers(false).flexible(true).delimiter(delimiter);
    b
}

/// The spreadsheet row holding byte offset `at` (used to name the first invalid UTF-8 row).
fn csv_row_at(bytes: &[u8], at: usize) -> usize {
    let delimiter = sniff_delimiter(&String::from_utf8_lossy(
        &bytes[..bytes.len().min(64 * 1024)],
    ));
    let mut rdr = csv_builder(delimiter).from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    let mut counter = RowCounter::new(bytes);
    let mut row = 1;
    while let Ok(true) = rdr.read_byte_record(&mut rec) {
        if rec
            .position()
            .is_some_and(|p| usize::try_from(p.byte()).unwrap_or(usize::MAX) > at)
        {
            break;
        }
        row = counter.row(rec.position(), rec.as_slice());
    }
    row
}

fn is_blank(rec: &StringRecord) -> bool {
    rec.iter().all(|f| f.trim().is_empty())
}

/// A CSV file being read: its header, and its data records one at a time into a reused record.
struct Table<'a> {
    rdr: csv::Reader<&'a [u8]>,
    header: Vec<String>,
    rows: RowCounter<'a>,
    data_rows: usize,
}

impl<'a> Table<'a> {
    fn open(text: &'a str) -> Result<Self, Vec<ImportProblem>> {
        let mut rdr = csv_builder(sniff_delimiter(text)).from_reader(text.as_bytes());
        let mut rows = RowCounter::new(text.as_bytes());
        let mut rec = StringRecord::new();
        loop {
            match rdr.read_record(&mut rec) {
                Ok(true) => {
                    rows.row(rec.position(), rec.as_byte_record().as_slice());
                    if !is_blank(&rec) {
                        break;
                    }
                }
                Ok(false) => return refuse(None, None, "the file is empty"),
                Err(e) => {
                    return refuse(
                        Some(1),
                        None,
                        format!("the file cannot be read as CSV: {e}"),
                    );
                }
            }
        }
        let header = rec.iter().map(|h| h.trim().to_owned()).collect();
        Ok(Table {
            rdr,
            header,
            rows,
            data_rows: 0,
        })
    }

    /// Index of a column: names are trimmed and compared case-insensitively; the first match wins.
    fn col(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }

    fn required(&self, name: &str, problems: &mut Problems) -> Option<usize> {
        let found = self.col(name);
        if found.is_none() {
            problems.push(
                Some(1),
                Some(name),
                format!("missing column {}", quote(name)),
            );
        }
        found
    }

    /// The next data record's row number; blank rows are skipped, rows with the wrong field count reported.
    fn next(&mut self, rec: &mut StringRecord, problems: &mut Problems) -> Option<usize> {
        loop {
            match self.rdr.read_record(rec) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    let row = e.position().map(|p| self.rows.row(Some(p), &[]));
                    problems.push(row, None, format!("the file cannot be read as CSV: {e}"));
                    return None;
                }
            }
            let row = self
                .rows
                .row(rec.position(), rec.as_byte_record().as_slice());
            if is_blank(rec) {
                continue;
            }
            self.data_rows += 1;
            if rec.len() != self.header.len() {
                problems.push(
                    Some(row),
                    None,
                    format!(
                        "the row has {} values but the header has {} columns",
                        rec.len(),
                        self.header.len()
                    ),
                );
                continue;
            }
            return Some(row);
        }
    }

    fn no_data_rows(&self) -> Result<(), Vec<ImportProblem>> {
        if self.data_rows == 0 {
            refuse(None, None, "the file has a header but no data rows")
        } else {
            Ok(())
        }
    }
}

/// Serialises CSV records as JSON objects keyed by the header, without building a `serde_json::Value`.
struct RawJson {
    /// Header names already JSON-encoded (with quotes), made unique so no column is lost.
    keys: Vec<String>,
}

impl RawJson {
    fn new(header: &[String]) -> Self {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let keys = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let base = if h.is_empty() {
                    format!("column {}", i + 1)
                } else {
                    h.clone()
                };
                let n = seen.entry(base.clone()).or_insert(0);
                *n += 1;
                let name = if *n == 1 {
                    base
                } else {
                    format!("{base} ({n})")
                };
                let mut key = String::with_capacity(name.len() + 2);
                push_json_string(&mut key, &name);
                key
            })
            .collect();
        RawJson { keys }
    }

    fn row(&self, rec: &StringRecord) -> String {
        let len: usize = self.keys.iter().map(String::len).sum::<usize>() + rec.as_slice().len();
        let mut out = String::with_capacity(len + 4 * self.keys.len() + 2);
        out.push('{');
        for (i, (key, value)) in self.keys.iter().zip(rec.iter()).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push(':');
            push_json_string(&mut out, value);
        }
        out.push('}');
        out
    }
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------------------------
// Field checks
// ---------------------------------------------------------------------------------------------

/// A strict YYYY-MM-DD date (chrono alone would also take "2020-1-5").
fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return None;
    }
    NaiveDate::from_ymd_opt(
        s[0..4].parse().ok()?,
        s[5..7].parse().ok()?,
        s[8..10].parse().ok()?,
    )
}

/// A strict YYYY-MM month, as (year, month).
fn parse_month(s: &str) -> Option<(i32, u32)> {
    let b = s.as_bytes();
    if b.len() != 7 || b[4] != b'-' || !b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit) {
        return None;
    }
    let (y, m) = (s[..4].parse().ok()?, s[5..].parse().ok()?);
    NaiveDate::from_ymd_opt(y, m, 1).map(|_| (y, m))
}

/// M/D/YYYY, the US form of the Microsoft 365 admin center export.
fn parse_us_date(s: &str) -> Option<NaiveDate> {
    let mut parts = s.split('/');
    let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = |p: &str, max: usize| {
        !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit())
    };
    if parts.next().is_some() || !ok(m, 2) || !ok(d, 2) || y.len() != 4 || !ok(y, 4) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let next = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    match (
        NaiveDate::from_ymd_opt(next.0, next.1, 1),
        NaiveDate::from_ymd_opt(year, month, 1),
    ) {
        (Some(a), Some(b)) => u32::try_from((a - b).num_days()).unwrap_or(31),
        _ => 31,
    }
}

/// Months as a single counter, so months sort and subtract simply.
fn month_index(year: i32, month: u32) -> i32 {
    year * 12 + month as i32 - 1
}

fn month_first_day(index: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or_default()
}

fn month_last_day(index: i32) -> NaiveDate {
    month_first_day(index + 1).pred_opt().unwrap_or_default()
}

/// Simple, deliberately permissive address check: it catches typos and wrong columns, not RFC 5322.
fn check_email(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("email is empty".into());
    }
    let bad = || Err(format!("{} is not a valid email address", quote(s)));
    if s.chars().count() > 254 || s.chars().any(char::is_whitespace) {
        return bad();
    }
    let mut parts = s.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return bad();
    };
    if local.is_empty() || !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.')
    {
        return bad();
    }
    Ok(())
}

/// A decimal with '.' as separator only; a comma gets its own hint because spreadsheets in many locales write one.
fn parse_decimal(s: &str) -> Result<f64, &'static str> {
    if s.contains(',') {
        return Err("comma");
    }
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let points = s.bytes().filter(|&b| b == b'.').count();
    if digits == 0 || points > 1 || digits + points != s.len() {
        return Err("number");
    }
    s.parse().map_err(|_| "number")
}

fn chars_over(s: &str, max: usize) -> bool {
    s.len() > max && s.chars().count() > max
}

/// Remembers the first row of each value; answers the earlier row on a repeat.
fn first_row(seen: &mut HashMap<String, usize>, value: &str, row: usize) -> Option<usize> {
    if let Some(&earlier) = seen.get(value) {
        return Some(earlier);
    }
    seen.insert(value.to_owned(), row);
    None
}

// ---------------------------------------------------------------------------------------------
// Roster
// ---------------------------------------------------------------------------------------------

/// Parses a roster CSV; hire dates after `today` are refused.
pub fn parse_roster(bytes: &[u8], today: NaiveDate) -> Result<Vec<RosterRow>, Vec<ImportProblem>> {
    let text = decode(bytes, Layout::Csv)?;
    let mut table = Table::open(text)?;
    let mut problems = Problems::default();
    let id_col = table.required("employee_id", &mut problems);
    let email_col = table.required("email", &mut problems);
    let function_col = table.required("function", &mut problems);
    let hire_col = table.col("hire_date");
    let band_col = table.col("tenure_band");
    if hire_col.is_none() && band_col.is_none() {
        problems.push(
            Some(1),
            Some("hire_date"),
            "missing column \"hire_date\" (or \"tenure_band\"): the roster needs at least one of them",
        );
    }
    let tz_col = table.required("time_zone", &mut problems);
    let login_col = table.col("login");
    let (Some(id_col), Some(email_col), Some(function_col), Some(tz_col), false) =
        (id_col, email_col, function_col, tz_col, problems.total > 0)
    else {
        return Err(problems.into_vec());
    };
    // Which column a missing tenure is reported on: the one the file has, hire_date if both.
    let tenure_column = if hire_col.is_some() {
        "hire_date"
    } else {
        "tenure_band"
    };

    let mut rows = Vec::new();
    let mut ids = HashMap::new();
    let mut emails = HashMap::new();
    let mut logins = HashMap::new();
    let mut rec = StringRecord::new();
    while let Some(row) = table.next(&mut rec, &mut problems) {
        let id = rec[id_col].trim();
        if id.is_empty() {
            problems.at(row, "employee_id", "employee_id is empty");
        } else if chars_over(id, 64) {
            problems.at(
                row,
                "employee_id",
                format!("{} is longer than 64 characters", quote(id)),
            );
        } else if let Some(earlier) = first_row(&mut ids, &id.to_lowercase(), row) {
            // Ids are matched to usage data case-insensitively, so "E1" and "e1" are one person.
            problems.at(
                row,
                "employee_id",
                format!("{} is a duplicate of row {earlier}", quote(id)),
            );
        }

        let email_raw = rec[email_col].trim();
        let email = email_raw.to_lowercase();
        match check_email(email_raw) {
            Err(m) => problems.at(row, "email", m),
            Ok(()) => {
                if let Some(earlier) = first_row(&mut emails, &email, row) {
                    problems.at(
                        row,
                        "email",
                        format!("{} is a duplicate of row {earlier}", quote(email_raw)),
                    );
                }
            }
        }

        let function = rec[function_col].trim();
        if function.is_empty() {
            problems.at(row, "function", "function is empty");
        } else if chars_over(function, 80) {
            problems.at(
                row,
                "function",
                format!("{} is longer than 80 characters", quote(function)),
            );
        }

        let hire = hire_col.map_or("", |c| rec[c].trim());
        let band = band_col.map_or("", |c| rec[c].trim());
        let tenure = if !hire.is_empty() {
            match parse_iso_date(hire) {
                None => {
                    problems.at(
                        row,
                        "hire_date",
                        format!("{} is not a date in the form YYYY-MM-DD", quote(hire)),
                    );
                    None
                }
                Some(d) if d > today => {
                    problems.at(
                        row,
                        "hire_date",
                        format!("hire date {d} is after today ({today})"),
                    );
                    None
                }
                Some(d) => Some(Tenure::HireDate(d)),
            }
        } else if !band.is_empty() {
            Some(Tenure::Band(band.to_owned()))
        } else {
            let what = match (hire_col, band_col) {
                (Some(_), Some(_)) => "a hire_date or a tenure_band",
                (Some(_), None) => "a hire_date",
                _ => "a tenure_band",
            };
            problems.at(row, tenure_column, format!("the row needs {what}"));
            None
        };

        let tz_text = rec[tz_col].trim();
        let time_zone = if tz_text.is_empty() {
            problems.at(row, "time_zone", "time_zone is empty");
            None
        } else {
            match Tz::from_str(tz_text) {
                Ok(tz) => Some(tz),
                Err(_) => {
                    problems.at(
                        row,
                        "time_zone",
                        format!("unknown time zone {}", quote(tz_text)),
                    );
                    None
                }
            }
        };

        let login = login_col.map(|c| rec[c].trim()).filter(|l| !l.is_empty());
        if let Some(l) = login
            && let Some(earlier) = first_row(&mut logins, &l.to_lowercase(), row)
        {
            problems.at(
                row,
                "login",
                format!("{} is a duplicate of row {earlier}", quote(l)),
            );
        }

        // Once the file is refused the rows are never used; stop building them.
        if problems.is_empty()
            && let (Some(tenure), Some(time_zone)) = (tenure, time_zone)
        {
            rows.push(RosterRow {
                row,
                employee_id: id.to_owned(),
                email,
                function: function.to_owned(),
                tenure,
                time_zone,
                login: login.map(str::to_owned),
            });
        }
    }
    if problems.is_empty() {
        table.no_data_rows()?;
    }
    problems.finish(rows)
}

// ---------------------------------------------------------------------------------------------
// Usage
// ---------------------------------------------------------------------------------------------

/// Parses a vendor usage file in the given format.
pub fn parse_usage(format: UsageFormat, bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
    match format {
        UsageFormat::PlainCsv => parse_plain(bytes),
        UsageFormat::GithubCopilot => parse_github(bytes),
        UsageFormat::M365Copilot => parse_m365(bytes),
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

#[derive(Default)]
struct PlainSums {
    hours: f64,
    days: f64,
}

fn parse_plain(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
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
    })
}

#[derive(Default)]
struct GithubSums {
    active_days: u32,
    events: f64,
}

/// State of a GitHub Copilot import, fed one JSON record at a time.
struct Github {
    people: People<GithubSums>,
    seen: HashMap<(usize, NaiveDate), usize>,
    rows: Vec<RawUsageRow>,
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
    records: usize,
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "number",
        Value::String(_) => "text",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// A non-negative whole count; absent or null counts as 0.
fn json_count(obj: &Map<String, Value>, field: &str) -> Result<u64, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| format!("{} is not a whole number ≥ 0", quote(&n.to_string()))),
        Some(other) => Err(format!(
            "{field} must be a number, not {}",
            json_type(other)
        )),
    }
}

impl Github {
    fn record(&mut self, row: usize, value: Value, problems: &mut Problems) {
        self.records += 1;
        let Value::Object(obj) = &value else {
            problems.push(
                Some(row),
                None,
                format!("the record is a JSON {}, not an object", json_type(&value)),
            );
            return;
        };
        let day = match obj.get("day") {
            None => {
                problems.at(row, "day", "missing field \"day\"");
                None
            }
            Some(Value::String(s)) => {
                let d = parse_iso_date(s.trim());
                if d.is_none() {
                    problems.at(
                        row,
                        "day",
                        format!("{} is not a date in the form YYYY-MM-DD", quote(s)),
                    );
                }
                d
            }
            Some(other) => {
                problems.at(
                    row,
                    "day",
                    format!(
                        "day must be a text date YYYY-MM-DD, not {}",
                        json_type(other)
                    ),
                );
                None
            }
        };
        let login = match obj.get("user_login") {
            None => {
                problems.at(row, "user_login", "missing field \"user_login\"");
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                problems.at(row, "user_login", "user_login is empty");
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_lowercase()),
            Some(other) => {
                problems.at(
                    row,
                    "user_login",
                    format!("user_login must be text, not {}", json_type(other)),
                );
                None
            }
        };
        let mut counts = [0u64; 3];
        let fields = [
            "user_initiated_interaction_count",
            "code_generation_activity_count",
            "code_acceptance_activity_count",
        ];
        for (count, field) in counts.iter_mut().zip(fields) {
            match json_count(obj, field) {
                Ok(n) => *count = n,
                Err(m) => problems.at(row, field, m),
            }
        }
        let (Some(day), Some(login)) = (day, login) else {
            return;
        };
        let person = self.people.id(&login);
        match self.seen.entry((person, day)) {
            Entry::Occupied(e) => {
                let message = format!(
                    "{} on {day} is a duplicate of row {}",
                    quote(&login),
                    e.get()
                );
                problems.at(row, "user_login", message);
                return;
            }
            Entry::Vacant(v) => {
                v.insert(row);
            }
        }
        self.first = Some(self.first.map_or(day, |f| f.min(day)));
        self.last = Some(self.last.map_or(day, |l| l.max(day)));
        let sums = &mut self.people.list[person].1;
        if counts[0] + counts[1] > 0 {
            sums.active_days += 1;
        }
        sums.events += counts.iter().map(|&c| c as f64).sum::<f64>();
        if problems.is_empty() {
            self.rows.push(RawUsageRow {
                row,
                key: login,
                raw_json: value.to_string(),
            });
        }
    }
}

fn parse_github(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
    let text = decode(bytes, Layout::Lines)?;
    let mut problems = Problems::default();
    let mut gh = Github {
        people: People::new(),
        seen: HashMap::new(),
        rows: Vec::new(),
        first: None,
        last: None,
        records: 0,
    };
    if text.trim_start().starts_with('[') {
        // One JSON array of the same records: rows are numbered by position in the array.
        match serde_json::from_str::<Vec<Value>>(text) {
            Ok(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    gh.record(i + 1, item, &mut problems);
                }
            }
            Err(e) => {
                return refuse(
                    Some(e.line()),
                    None,
                    format!("the file is not valid JSON: {e}"),
                );
            }
        }
    } else {
        for (i, line) in text.split('\n').enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(v) => gh.record(i + 1, v, &mut problems),
                Err(e) => problems.push(
                    Some(i + 1),
                    None,
                    format!("the line is not valid JSON: {e}"),
                ),
            }
        }
    }
    if gh.records == 0 && problems.is_empty() {
        return refuse(None, None, "the file has no records");
    }
    let (Some(first), Some(last), true) = (gh.first, gh.last, problems.is_empty()) else {
        return Err(problems.into_vec());
    };
    let months = ((last - first).num_days() + 1) as f64 / DAYS_PER_MONTH;
    let employees = gh
        .people
        .list
        .into_iter()
        .map(|(key, s)| {
            let days = f64::from(s.active_days) / months;
            EmployeeUsage {
                key,
                key_kind: KeyKind::Login,
                score: days,
                tiebreak: s.events / months,
                active_days: Some(days),
                units: days,
                gross_hours_month: None,
            }
        })
        .collect();
    Ok(ParsedUsage {
        format: UsageFormat::GithubCopilot,
        rows: gh.rows,
        employees,
        period_start: first,
        period_end: last,
        has_hours: false,
        unit_label: "active day per month",
    })
}

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

fn parse_m365(bytes: &[u8]) -> Result<ParsedUsage, Vec<ImportProblem>> {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn today() -> NaiveDate {
        d("2026-12-01")
    }

    fn roster(text: &str) -> Result<Vec<RosterRow>, Vec<ImportProblem>> {
        parse_roster(text.as_bytes(), today())
    }

    fn roster_err(text: &str) -> Vec<ImportProblem> {
        roster(text).expect_err("the file should be refused")
    }

    /// (row, column) of each problem, for compact assertions.
    fn places(problems: &[ImportProblem]) -> Vec<(Option<usize>, Option<&str>)> {
        problems
            .iter()
            .map(|p| (p.row, p.column.as_deref()))
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    const HEADER: &str = "employee_id,email,function,hire_date,time_zone\n";

    #[test]
    fn a_good_roster_parses_with_any_column_order_case_bom_crlf_and_extra_columns() {
        let text = "\u{feff} Email ,EMPLOYEE_ID,function,Hire_Date,tenure_band,time_zone,login,notes\r\n\
                    Ada@Example.ORG,E1, Engineering ,2020-02-29,,Europe/London,Octo-Ada,x\r\n\
                    b@example.org,E2,Sales,,1-3 y,America/New_York,,\r\n\
                    c@example.org,E3,Sales,2019-05-01,3-5 y,Asia/Singapore,octo-c,\r\n";
        let rows = roster(text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0],
            RosterRow {
                row: 2,
                employee_id: "E1".into(),
                email: "ada@example.org".into(),
                function: "Engineering".into(),
                tenure: Tenure::HireDate(d("2020-02-29")),
                time_zone: chrono_tz::Europe::London,
                login: Some("Octo-Ada".into()),
            }
        );
        assert_eq!(rows[1].tenure, Tenure::Band("1-3 y".into()));
        assert_eq!(rows[1].login, None);
        assert_eq!(rows[2].row, 4);
        assert_eq!(
            rows[2].tenure,
            Tenure::HireDate(d("2019-05-01")),
            "hire_date wins over the band"
        );
    }

    #[test]
    fn a_roster_with_bad_rows_is_refused_with_each_row_and_column_named() {
        let bad = "employee_id,email,function,hire_date,time_zone\n\
                   E1,a@example.org,Sales,2020-01-01,Europe/London\n\
                   E1,b@example.org,Sales,2020-01-01,Europe/London\n\
                   E3,A@example.org,Sales,2020-01-01,Europe/London\n\
                   E4,d@example.org,Sales,2020-31-01,Europe/London\n\
                   E5,e@example.org,<script>alert(1)</script>,2020-01-01,Europe/Lodnon\n";
        let problems = roster_err(bad);
        assert_eq!(
            places(&problems),
            vec![
                (Some(3), Some("employee_id")),
                (Some(4), Some("email")),
                (Some(5), Some("hire_date")),
                (Some(6), Some("time_zone"))
            ]
        );
        assert_eq!(problems[0].message, "\"E1\" is a duplicate of row 2");
        assert_eq!(
            problems[1].message,
            "\"A@example.org\" is a duplicate of row 2"
        );
        assert!(problems[2].message.contains("YYYY-MM-DD"));
        assert_eq!(
            problems[3].to_string(),
            "row 6, column time_zone: unknown time zone \"Europe/Lodnon\""
        );
    }

    #[test]
    fn user_text_is_quoted_verbatim_not_escaped() {
        let text = format!("{HEADER}E1,a@example.org,Sales,2020-01-01,<script>alert(1)</script>\n");
        let problems = roster_err(&text);
        assert_eq!(
            problems[0].message,
            "unknown time zone \"<script>alert(1)</script>\""
        );
    }

    #[test]
    fn long_quoted_values_are_cut_to_sixty_characters() {
        let zone = "Z".repeat(100);
        let problems = roster_err(&format!(
            "{HEADER}E1,a@example.org,Sales,2020-01-01,{zone}\n"
        ));
        assert_eq!(
            problems[0].message,
            format!("unknown time zone \"{}…\"", "Z".repeat(60))
        );
        assert_eq!(quote(&"é".repeat(60)), format!("\"{}\"", "é".repeat(60)));
    }

    #[test]
    fn each_missing_column_is_one_problem_on_row_one() {
        let problems = roster_err("employee_id,email\nE1,a@example.org\n");
        assert_eq!(
            places(&problems),
            vec![
                (Some(1), Some("function")),
                (Some(1), Some("hire_date")),
                (Some(1), Some("time_zone"))
            ]
        );
        assert!(problems[0].message.contains("function"));
        assert!(problems[1].message.contains("tenure_band"));
    }

    #[test]
    fn roster_field_rules() {
        let long_id = "X".repeat(65);
        let long_fn = "F".repeat(81);
        let text = format!(
            "employee_id,email,function,hire_date,tenure_band,time_zone,login\n\
             ,a@example.org,Sales,2020-01-01,,UTC,\n\
             {long_id},b@example.org,Sales,2020-01-01,,UTC,\n\
             E3,not-an-email,Sales,2020-01-01,,UTC,\n\
             E4,d@@example.org,Sales,2020-01-01,,UTC,\n\
             E5,e@localhost,Sales,2020-01-01,,UTC,\n\
             E6,f @example.org,Sales,2020-01-01,,UTC,\n\
             E7,g@example.org,,2020-01-01,,UTC,\n\
             E8,h@example.org,{long_fn},2020-01-01,,UTC,\n\
             E9,i@example.org,Sales,,,UTC,\n\
             E10,j@example.org,Sales,01/02/2020,,UTC,\n\
             E11,k@example.org,Sales,2026-12-02,,UTC,\n\
             E12,l@example.org,Sales,2020-1-5,,UTC,\n\
             E13,m@example.org,Sales,2020-01-01,,,\n\
             E14,n@example.org,Sales,2020-01-01,,UTC,Octo\n\
             E15,o@example.org,Sales,2020-01-01,,UTC,octo\n\
             E16,,Sales,2020-01-01,,UTC,\n"
        );
        let problems = roster_err(&text);
        assert_eq!(
            places(&problems),
            vec![
                (Some(2), Some("employee_id")),
                (Some(3), Some("employee_id")),
                (Some(4), Some("email")),
                (Some(5), Some("email")),
                (Some(6), Some("email")),
                (Some(7), Some("email")),
                (Some(8), Some("function")),
                (Some(9), Some("function")),
                (Some(10), Some("hire_date")),
                (Some(11), Some("hire_date")),
                (Some(12), Some("hire_date")),
                (Some(13), Some("hire_date")),
                (Some(14), Some("time_zone")),
                (Some(16), Some("login")),
                (Some(17), Some("email")),
            ]
        );
        assert!(
            problems[9].message.contains("YYYY-MM-DD")
                && problems[9].message.contains("01/02/2020")
        );
        assert_eq!(
            problems[10].message,
            "hire date 2026-12-02 is after today (2026-12-01)"
        );
        assert_eq!(problems[13].message, "\"octo\" is a duplicate of row 15");
        // The hire date of today itself is fine.
        assert!(roster(&format!("{HEADER}E1,a@example.org,Sales,2026-12-01,UTC\n")).is_ok());
    }

    #[test]
    fn a_roster_needs_a_tenure_column_and_each_row_a_tenure() {
        let only_band =
            "employee_id,email,function,tenure_band,time_zone\nE1,a@example.org,Sales,,UTC\n";
        let problems = roster_err(only_band);
        assert_eq!(places(&problems), vec![(Some(2), Some("tenure_band"))]);
        let rows = roster(
            "employee_id,email,function,tenure_band,time_zone\nE1,a@example.org,Sales,< 1 y,UTC\n",
        );
        assert_eq!(rows.unwrap()[0].tenure, Tenure::Band("< 1 y".into()));
    }

    #[test]
    fn empty_and_header_only_files() {
        for empty in ["", "  \n\r\n\t", "\u{feff}"] {
            let problems = roster_err(empty);
            assert_eq!(
                problems,
                vec![ImportProblem::new(None, None, "the file is empty")],
                "{empty:?}"
            );
        }
        let problems = roster_err(HEADER);
        assert_eq!(
            problems[0].message,
            "the file has a header but no data rows"
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(
            roster_err(&format!("{HEADER},,,,\n\n"))[0].message,
            "the file has a header but no data rows"
        );
    }

    #[test]
    fn utf16_and_invalid_utf8_are_refused_with_the_row() {
        for bom in [&[0xFF, 0xFE][..], &[0xFE, 0xFF][..]] {
            let mut bytes = bom.to_vec();
            bytes.extend_from_slice(b"e\0m\0");
            let problems = parse_roster(&bytes, today()).unwrap_err();
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].message, UTF16_MESSAGE);
        }
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(b"E1,a@example.org,\"Sales\nand more\",2020-01-01,UTC\n");
        bytes.extend_from_slice(b"E2,b@example.org,Vertrieb \xfcber,2020-01-01,UTC\n");
        let problems = parse_roster(&bytes, today()).unwrap_err();
        assert_eq!(
            problems,
            vec![ImportProblem::new(
                Some(3),
                None,
                "row 3 is not valid UTF-8; save the file as UTF-8"
            )]
        );
        let problems = parse_roster(b"employee_\xff,email\n", today()).unwrap_err();
        assert_eq!(problems[0].row, Some(1));
        let problems = parse_usage(
            UsageFormat::GithubCopilot,
            b"{}\n\n{\"user_login\":\"\xc3\"}\n",
        )
        .unwrap_err();
        assert_eq!(problems[0].row, Some(3));
        let problems = parse_roster(b"PK\x03\x04\x14\0\0\0", today()).unwrap_err();
        assert!(problems[0].message.contains("CSV UTF-8"));
    }

    #[test]
    fn rows_are_numbered_as_a_spreadsheet_shows_them() {
        // A quoted cell with a line break is one spreadsheet row; a blank line is a row of its own.
        let text = format!(
            "{HEADER}E1,a@example.org,\"Sales\nEMEA\",2020-01-01,UTC\n\nE2,b@example.org,Sales,2020-01-01,Mars/Base\n"
        );
        assert_eq!(
            places(&roster_err(&text)),
            vec![(Some(4), Some("time_zone"))]
        );
        let rows = roster(&format!("{HEADER}E1,a@example.org,\"Sales\nEMEA\",2020-01-01,UTC\nE2,b@example.org,S,2020-01-01,UTC\n"))
            .unwrap();
        assert_eq!((rows[0].row, rows[1].row), (2, 3));
        assert_eq!(rows[0].function, "Sales\nEMEA");
    }

    #[test]
    fn a_row_with_the_wrong_number_of_fields_is_named() {
        let problems = roster_err(&format!(
            "{HEADER}E1,a@example.org,Sales,2020-01-01\nE2,b@example.org,S,2020-01-01,UTC,x\n"
        ));
        assert_eq!(places(&problems), vec![(Some(2), None), (Some(3), None)]);
        assert_eq!(
            problems[0].message,
            "the row has 4 values but the header has 5 columns"
        );
    }

    #[test]
    fn semicolon_separated_files_are_read_too() {
        let rows = roster("employee_id;email;function;hire_date;time_zone\nE1;a@example.org;Sales;2020-01-01;UTC\n").unwrap();
        assert_eq!(rows[0].time_zone, chrono_tz::UTC);
    }

    #[test]
    fn problems_are_capped_at_two_hundred_and_the_rest_counted() {
        let mut text = HEADER.to_string();
        for i in 0..300 {
            text.push_str(&format!(
                "E{i},e{i}@example.org,Sales,2020-01-01,Nowhere/{i}\n"
            ));
        }
        let problems = roster_err(&text);
        assert_eq!(problems.len(), 201);
        assert_eq!(problems[199].row, Some(201));
        assert_eq!(
            problems[200],
            ImportProblem::new(None, None, "… and 100 more problems")
        );
        assert_eq!(problems[200].to_string(), "… and 100 more problems");
    }

    #[test]
    fn a_hundred_thousand_rows_parse() {
        let zones = ["Europe/London", "America/New_York", "Asia/Singapore"];
        let mut text = String::from("employee_id,email,function,hire_date,time_zone,login\n");
        for i in 0..100_000 {
            text.push_str(&format!(
                "E{i:06},e{i:06}@example.org,Function {},{}-0{}-15,{},login{i}\n",
                i % 7,
                2010 + i % 15,
                1 + i % 9,
                zones[i % 3]
            ));
        }
        let start = std::time::Instant::now();
        let rows = roster(&text).unwrap();
        eprintln!("100,000 roster rows in {:?}", start.elapsed());
        assert_eq!(rows.len(), 100_000);
        assert_eq!(rows[99_999].row, 100_001);
        assert_eq!(rows[99_999].email, "e099999@example.org");
    }

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
        for f in [
            UsageFormat::PlainCsv,
            UsageFormat::GithubCopilot,
            UsageFormat::M365Copilot,
        ] {
            assert_eq!(f.as_str().parse::<UsageFormat>(), Ok(f));
            assert!(!f.label().is_empty());
        }
        assert_eq!(
            " GitHub ".parse::<UsageFormat>(),
            Ok(UsageFormat::GithubCopilot)
        );
        assert!("xlsx".parse::<UsageFormat>().unwrap_err().contains("xlsx"));
    }

    // ----- plain CSV usage -----

    fn plain(text: &str) -> Result<ParsedUsage, Vec<ImportProblem>> {
        parse_usage(UsageFormat::PlainCsv, text.as_bytes())
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

    // ----- GitHub Copilot -----

    const GITHUB: &str = "{\"day\":\"2026-11-01\",\"user_login\":\"Ada\",\"user_initiated_interaction_count\":2,\"code_generation_activity_count\":1,\"code_acceptance_activity_count\":1,\"ide\":\"vscode\"}\n\
        \n\
        {\"day\":\"2026-11-02\",\"user_login\":\"ada\",\"code_acceptance_activity_count\":4}\r\n\
        {\"day\":\"2026-11-10\",\"user_login\":\"bob\",\"code_generation_activity_count\":3,\"totals_by_ide\":[{\"ide\":\"vim\"}]}\n\
        {\"day\":\"2026-11-30\",\"user_login\":\"ada\",\"user_initiated_interaction_count\":1}\n";

    fn check_github(u: &ParsedUsage, rows: [usize; 4]) {
        assert_eq!(u.format, UsageFormat::GithubCopilot);
        assert_eq!(
            (u.period_start, u.period_end),
            (d("2026-11-01"), d("2026-11-30"))
        );
        assert!(!u.has_hours);
        assert_eq!(u.unit_label, "active day per month");
        assert_eq!(u.rows.iter().map(|r| r.row).collect::<Vec<_>>(), rows);
        assert_eq!(u.rows[0].key, "ada");
        let raw: Value = serde_json::from_str(&u.rows[0].raw_json).unwrap();
        assert_eq!(raw["ide"], "vscode");
        assert_eq!(raw["user_login"], "Ada");
        let months = 30.0 / 30.44;
        let ada = &u.employees[0];
        assert_eq!((ada.key.as_str(), ada.key_kind), ("ada", KeyKind::Login));
        assert!(close(ada.score, 2.0 / months), "{}", ada.score);
        assert!(close(ada.units, ada.score) && ada.active_days == Some(ada.score));
        assert!(close(ada.tiebreak, 9.0 / months));
        assert_eq!(ada.gross_hours_month, None);
        let bob = &u.employees[1];
        assert!(close(bob.score, 1.0 / months) && close(bob.tiebreak, 3.0 / months));
    }

    #[test]
    fn github_ndjson_counts_active_days_per_month() {
        let u = parse_usage(UsageFormat::GithubCopilot, GITHUB.as_bytes()).unwrap();
        check_github(&u, [1, 3, 4, 5]);
    }

    #[test]
    fn github_json_array_is_read_the_same_way() {
        let records: Vec<&str> = GITHUB
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let array = format!("[\n{}\n]", records.join(",\n"));
        let u = parse_usage(UsageFormat::GithubCopilot, array.as_bytes()).unwrap();
        check_github(&u, [1, 2, 3, 4]);
    }

    #[test]
    fn github_problems() {
        let text = "{\"day\":\"2026-11-01\"}\n\
                    {\"day\":\"2026-11-01\",\"user_login\":\"x\"\n\
                    {\"day\":20261101,\"user_login\":\"x\"}\n\
                    {\"day\":\"2026-11-01\",\"user_login\":\"\"}\n\
                    {\"day\":\"2026-11-01\",\"user_login\":\"y\",\"code_generation_activity_count\":-1}\n\
                    {\"day\":\"2026-11-01\",\"user_login\":\"z\",\"user_initiated_interaction_count\":\"3\"}\n\
                    [1]\n\
                    {\"day\":\"01/11/2026\",\"user_login\":\"w\"}\n\
                    {\"day\":\"2026-11-02\",\"user_login\":\"V\"}\n\
                    {\"day\":\"2026-11-02\",\"user_login\":\"v\"}\n";
        let problems = parse_usage(UsageFormat::GithubCopilot, text.as_bytes()).unwrap_err();
        assert_eq!(
            places(&problems),
            vec![
                (Some(1), Some("user_login")),
                (Some(2), None),
                (Some(3), Some("day")),
                (Some(4), Some("user_login")),
                (Some(5), Some("code_generation_activity_count")),
                (Some(6), Some("user_initiated_interaction_count")),
                (Some(7), None),
                (Some(8), Some("day")),
                (Some(10), Some("user_login")),
            ]
        );
        assert_eq!(problems[0].message, "missing field \"user_login\"");
        assert!(problems[1].message.contains("JSON"));
        assert_eq!(
            problems[8].message,
            "\"v\" on 2026-11-02 is a duplicate of row 9"
        );
        let broken_array =
            parse_usage(UsageFormat::GithubCopilot, b"[\n{\"day\":1},\n").unwrap_err();
        assert!(broken_array[0].message.contains("JSON"));
        assert_eq!(
            parse_usage(UsageFormat::GithubCopilot, b"[]").unwrap_err()[0].message,
            "the file has no records"
        );
        assert_eq!(
            parse_usage(UsageFormat::GithubCopilot, b"\n\n").unwrap_err()[0].message,
            "the file is empty"
        );
    }

    // ----- Microsoft 365 Copilot -----

    #[test]
    fn m365_report_counts_apps_used_in_the_period() {
        let report = "Report Refresh Date,User Principal Name,Display Name,Last Activity Date,Microsoft Teams Copilot Last Activity Date,Word Copilot Last Activity Date,Excel Copilot Last Activity Date,Copilot Chat Last Activity Date,Report Period\n\
                      2026-11-30,E00000@example.org,A,2026-11-29,2026-11-29,2026-11-20,2026-11-02,2026-11-28,30\n\
                      2026-11-30,e00001@example.org,B,2026-11-10,,2026-11-10,2026-10-31,,30\n\
                      2026-11-30,e00002@example.org,C,,,,,,30\n";
        let u = parse_usage(UsageFormat::M365Copilot, report.as_bytes()).unwrap();
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
        let u = parse_usage(UsageFormat::M365Copilot, report.as_bytes()).unwrap();
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
        let problems = parse_usage(UsageFormat::M365Copilot, broken.as_bytes()).unwrap_err();
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
        let problems = parse_usage(UsageFormat::M365Copilot, report.as_bytes()).unwrap_err();
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
        let missing = parse_usage(UsageFormat::M365Copilot, b"Display Name\nA\n").unwrap_err();
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
        );
        assert_eq!(
            dateless.unwrap_err()[0].column.as_deref(),
            Some("Report Refresh Date")
        );
    }

    #[test]
    fn raw_json_escapes_every_control_character() {
        let header = vec!["a".to_string(), "a".to_string(), String::new()];
        let raw = RawJson::new(&header);
        let rec = StringRecord::from(vec!["x\"\\\n\t\u{1}", "y", "z"]);
        let v: Value = serde_json::from_str(&raw.row(&rec)).unwrap();
        assert_eq!(v["a"], "x\"\\\n\t\u{1}");
        assert_eq!(v["a (2)"], "y");
        assert_eq!(v["column 3"], "z");
    }
}
