//! The shared machinery of the CSV formats: decoding, spreadsheet row numbers, the header and its
//! columns, raw rows kept as JSON, and the capped list of problems (JSON is read by `json`).

use std::borrow::Cow;
use std::collections::HashMap;

use csv::{ReaderBuilder, StringRecord};

use super::ImportProblem;
/// Detection looks for the same wrapper keys as the JSON reader.
pub(super) use super::json::WRAPPER_KEYS;

/// At most this many problems are listed; the rest are only counted, so a wrong file stays readable.
const MAX_PROBLEMS: usize = 200;
/// Quoted user text is cut to this many characters so one huge cell cannot flood the list.
const QUOTE_MAX: usize = 60;

pub(super) const UTF16_MESSAGE: &str =
    "the file is UTF-16; save it as UTF-8 (CSV UTF-8) and upload again";

/// Collects problems up to the cap and counts the rest.
#[derive(Default)]
pub(super) struct Problems {
    list: Vec<ImportProblem>,
    pub(super) total: usize,
}

impl Problems {
    pub(super) fn push(
        &mut self,
        row: Option<usize>,
        column: Option<&str>,
        message: impl Into<String>,
    ) {
        self.total += 1;
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(ImportProblem::new(row, column, message));
        }
    }

    pub(super) fn at(&mut self, row: usize, column: &str, message: impl Into<String>) {
        self.push(Some(row), Some(column), message);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub(super) fn into_vec(mut self) -> Vec<ImportProblem> {
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

    pub(super) fn finish<T>(self, value: T) -> Result<T, Vec<ImportProblem>> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self.into_vec())
        }
    }
}

pub(super) fn refuse<T>(
    row: Option<usize>,
    column: Option<&str>,
    message: impl Into<String>,
) -> Result<T, Vec<ImportProblem>> {
    Err(vec![ImportProblem::new(row, column, message)])
}

/// User text in double quotes, verbatim but cut to `QUOTE_MAX` characters.
pub(super) fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_MAX) {
        Some((cut, _)) => format!("\"{}…\"", &s[..cut]),
        None => format!("\"{s}\""),
    }
}

/// How rows are numbered when locating an encoding error (JSON has its own reader, `json`).
#[derive(Clone, Copy)]
pub(super) enum Layout {
    Csv,
}

/// A file decoded to text: the text without BOM, and the encoding it was read in.
pub(super) struct Decoded<'a> {
    text: Cow<'a, str>,
    /// "UTF-8", "UTF-8 with BOM" or "Windows-1252"; stored with the import and said on the page.
    pub(super) encoding: &'static str,
}

impl std::ops::Deref for Decoded<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

/// The file as text without BOM, or why it cannot be read.
///
/// CSV that is not valid UTF-8 is read as Windows-1252 (what Excel on Windows writes for "CSV"), unless
/// that gives characters no spreadsheet writes (C1 controls), in which case the first bad row is named.
/// JSON must be UTF-8 (RFC 8259), so NDJSON/JSON never falls back.
pub(super) fn decode(bytes: &[u8], layout: Layout) -> Result<Decoded<'_>, Vec<ImportProblem>> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return refuse(None, None, UTF16_MESSAGE);
    }
    let (bytes, bom) = match bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
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
        Ok(text) => Ok(Decoded {
            text: Cow::Borrowed(text),
            encoding: if bom { "UTF-8 with BOM" } else { "UTF-8" },
        }),
        Err(e) => {
            let at = e.valid_up_to();
            let Layout::Csv = layout;
            if !bom {
                let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
                // Bytes 0x81, 0x8D, 0x8F, 0x90 and 0x9D are unassigned in Windows-1252: another encoding.
                if !text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
                    return Ok(Decoded {
                        text: Cow::Owned(text.into_owned()),
                        encoding: "Windows-1252",
                    });
                }
            }
            let row = csv_row_at(bytes, at);
            let message =
                format!("row {row} is neither UTF-8 nor Windows-1252; save the file as CSV UTF-8");
            refuse(Some(row), None, message)
        }
    }
}

/// What `Table::open` reads: the decoded file, or any borrowed text.
pub(super) trait TableText<'a> {
    fn into_bytes(self) -> Cow<'a, [u8]>;
}

fn cow_bytes(text: Cow<'_, str>) -> Cow<'_, [u8]> {
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

impl<'a> TableText<'a> for &'a str {
    fn into_bytes(self) -> Cow<'a, [u8]> {
        Cow::Borrowed(self.as_bytes())
    }
}

impl<'a, 'b: 'a> TableText<'a> for &'a &'b str {
    fn into_bytes(self) -> Cow<'a, [u8]> {
        Cow::Borrowed(self.as_bytes())
    }
}

impl<'a> TableText<'a> for &'a String {
    fn into_bytes(self) -> Cow<'a, [u8]> {
        Cow::Borrowed(self.as_bytes())
    }
}

impl<'a> TableText<'a> for Decoded<'a> {
    fn into_bytes(self) -> Cow<'a, [u8]> {
        cow_bytes(self.text)
    }
}

impl<'a> TableText<'a> for &'a Decoded<'_> {
    fn into_bytes(self) -> Cow<'a, [u8]> {
        Cow::Borrowed(self.text.as_bytes())
    }
}

impl<'a> TableText<'a> for Cow<'a, str> {
    fn into_bytes(self) -> Cow<'a, [u8]> {
        cow_bytes(self)
    }
}

impl<'a> TableText<'a> for &'a Cow<'_, str> {
    fn into_bytes(self) -> Cow<'a, [u8]> {
        Cow::Borrowed(self.as_bytes())
    }
}

// ---------------------------------------------------------------------------------------------
// CSV reading
// ---------------------------------------------------------------------------------------------

/// Spreadsheet row numbers from csv's byte offsets (its own line count skips blank lines and
/// miscounts CRLF): a blank line is a row, a quoted cell with line breaks is one row.
struct RowCounter {
    offset: usize,
    line: usize,
    embedded_newlines: usize,
}

impl RowCounter {
    fn new() -> Self {
        RowCounter {
            offset: 0,
            line: 1,
            embedded_newlines: 0,
        }
    }

    fn row(&mut self, text: &[u8], pos: Option<&csv::Position>, content: &[u8]) -> usize {
        let at = pos.map_or(self.offset, |p| {
            usize::try_from(p.byte()).unwrap_or(usize::MAX)
        });
        let mut start = at.clamp(self.offset, text.len());
        // csv reports the offset just after the previous record, before any line ends and blank lines.
        while start < text.len() && matches!(text[start], b'\r' | b'\n') {
            start += 1;
        }
        self.line += newlines(&text[self.offset..start]);
        self.offset = start;
        let row = self.line.saturating_sub(self.embedded_newlines).max(1);
        self.embedded_newlines += newlines(content);
        row
    }
}

fn newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// End of the first non-blank line (where the delimiter is sniffed), capped at 64 KiB.
fn first_line_end(bytes: &[u8]) -> usize {
    let cap = bytes.len().min(64 * 1024);
    let mut start = 0;
    for (i, &b) in bytes[..cap].iter().enumerate() {
        if b == b'\n' {
            if bytes[start..i].iter().any(|b| !b.is_ascii_whitespace()) {
                return i;
            }
            start = i + 1;
        }
    }
    cap
}

/// Excel in many European locales writes ';' between columns; sniffing it spares the admin a round trip.
pub(super) fn sniff_delimiter(text: &str) -> u8 {
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
    let mut counter = RowCounter::new();
    let mut row = 1;
    while let Ok(true) = rdr.read_byte_record(&mut rec) {
        if rec
            .position()
            .is_some_and(|p| usize::try_from(p.byte()).unwrap_or(usize::MAX) > at)
        {
            break;
        }
        row = counter.row(bytes, rec.position(), rec.as_slice());
    }
    row
}

fn is_blank(rec: &StringRecord) -> bool {
    rec.iter().all(|f| f.trim().is_empty())
}

/// A CSV file being read: its header, and its data records one at a time into a reused record.
pub(super) struct Table<'a> {
    rdr: csv::Reader<std::io::Cursor<Cow<'a, [u8]>>>,
    pub(super) header: Vec<String>,
    rows: RowCounter,
    data_rows: usize,
}

impl<'a> Table<'a> {
    /// Opens the decoded file (`Table::open(&text)` or `Table::open(text)`) and reads its header.
    pub(super) fn open(text: impl TableText<'a>) -> Result<Self, Vec<ImportProblem>> {
        let bytes = text.into_bytes();
        let delimiter = sniff_delimiter(&String::from_utf8_lossy(&bytes[..first_line_end(&bytes)]));
        let mut rdr = csv_builder(delimiter).from_reader(std::io::Cursor::new(bytes));
        let mut rows = RowCounter::new();
        let mut rec = StringRecord::new();
        loop {
            match rdr.read_record(&mut rec) {
                Ok(true) => {
                    let text = rdr.get_ref().get_ref();
                    rows.row(text, rec.position(), rec.as_byte_record().as_slice());
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
    pub(super) fn col(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }

    pub(super) fn required(&self, name: &str, problems: &mut Problems) -> Option<usize> {
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
    pub(super) fn next(
        &mut self,
        rec: &mut StringRecord,
        problems: &mut Problems,
    ) -> Option<usize> {
        loop {
            match self.rdr.read_record(rec) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    let text = self.rdr.get_ref().get_ref();
                    let row = e.position().map(|p| self.rows.row(text, Some(p), &[]));
                    problems.push(row, None, format!("the file cannot be read as CSV: {e}"));
                    return None;
                }
            }
            let text = self.rdr.get_ref().get_ref();
            let row = self
                .rows
                .row(text, rec.position(), rec.as_byte_record().as_slice());
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

    pub(super) fn no_data_rows(&self) -> Result<(), Vec<ImportProblem>> {
        if self.data_rows == 0 {
            refuse(None, None, "the file has a header but no data rows")
        } else {
            Ok(())
        }
    }
}

/// Serialises CSV records as JSON objects keyed by the header, without building a `serde_json::Value`.
pub(super) struct RawJson {
    /// Header names already JSON-encoded (with quotes), made unique so no column is lost.
    keys: Vec<String>,
}

impl RawJson {
    pub(super) fn new(header: &[String]) -> Self {
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

    pub(super) fn row(&self, rec: &StringRecord) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::import::test_util::*;
    use crate::roster::import::{UsageFormat, parse_roster, parse_usage};
    use serde_json::Value;

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
        // Not UTF-8 but a valid Windows-1252 file (Excel's "CSV" on Windows): read as such.
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(b"E1,a@example.org,\"Sales\nand more\",2020-01-01,UTC\n");
        bytes.extend_from_slice(b"E2,b@example.org,Vertrieb \xfcber \x80,2020-01-01,UTC\n");
        let rows = parse_roster(&bytes, today()).unwrap();
        assert_eq!(rows[1].function, "Vertrieb über €");
        assert_eq!(
            decode(&bytes, Layout::Csv).unwrap().encoding,
            "Windows-1252"
        );
        assert_eq!(
            decode(HEADER.as_bytes(), Layout::Csv).unwrap().encoding,
            "UTF-8"
        );
        let bom = [b"\xEF\xBB\xBF", HEADER.as_bytes()].concat();
        assert_eq!(
            decode(&bom, Layout::Csv).unwrap().encoding,
            "UTF-8 with BOM"
        );
        // A byte Windows-1252 leaves unassigned (0x81): some other encoding; the row is named.
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(b"E1,a@example.org,\"Sales\nand more\",2020-01-01,UTC\n");
        bytes.extend_from_slice(b"E2,b@example.org,Vertrieb \x81ber,2020-01-01,UTC\n");
        let problems = parse_roster(&bytes, today()).unwrap_err();
        assert_eq!(
            problems,
            vec![ImportProblem::new(
                Some(3),
                None,
                "row 3 is neither UTF-8 nor Windows-1252; save the file as CSV UTF-8"
            )]
        );
        let problems = parse_roster(b"employee_\x8d,email\n", today()).unwrap_err();
        assert_eq!(problems[0].row, Some(1));
        // A UTF-8 file with a BOM and one broken byte is not re-read as Windows-1252.
        let problems = parse_roster(b"\xEF\xBB\xBFemployee_\xff,email\n", today()).unwrap_err();
        assert_eq!(problems[0].row, Some(1));
        let problems = parse_usage(
            UsageFormat::GithubCopilot,
            b"{}\n\n{\"user_login\":\"\xc3\"}\n",
            &crate::roster::import::UsageOptions::default(),
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
