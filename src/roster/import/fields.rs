//! Field parsers shared by the formats: strict dates and months, emails, decimals, repeats, and the
//! spreadsheet short dates whose day/month order only the whole file can tell.
//!
//! Short dates (`ShortDate`, `ShortDates`) — for a column a spreadsheet wrote in its locale's short form
//! (`31/12/2026`, `12/31/2026`, `31.12.2026`, `12-31-2026`, `31/12/26`, `31/12/2026 00:00`; day and month
//! of one or two digits, a year of four digits or two (20YY), `/`, `.` or `-` between, and the time Excel
//! adds to a date cell, which is dropped):
//! 1. per row, `ShortDate::parse(text)` splits the cell (no order assumed yet), `None` if it is not one;
//!    keep the `ShortDate` with the row and `dates.see(text, sd, row, column)` on a
//!    `ShortDates::default()`;
//! 2. after the last row, `dates.order(options.date_order)` decides: a first part > 12 means day/month, a
//!    second part > 12 month/day; when every part is ≤ 12 the admin's choice (`UsageOptions.date_order`)
//!    decides, and without one the file is refused with the returned problem (it says how to choose);
//!    a file showing both orders, or contradicting the admin's choice, is refused too, the date named;
//! 3. `sd.date(order)` gives each row's date (`None` = no such day, e.g. 31/04, a row problem).

use std::collections::HashMap;

use chrono::NaiveDate;

use super::table::quote;
use super::{DateOrder, ImportProblem};

/// A short date as written, split into its parts before the day/month order is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ShortDate {
    first: u32,
    second: u32,
    year: i32,
}

impl ShortDate {
    /// `d/m/yyyy` or `m/d/yyyy` with `/`, `.` or `-` (the same one twice), optionally followed by the time
    /// of day a spreadsheet adds; `None` if not of that form. A two-digit year is 20YY: Excel writes two
    /// digits in many locales' short form, and no usage report predates 2000.
    pub(super) fn parse(s: &str) -> Option<ShortDate> {
        let s = without_time(s.trim());
        let sep = s.bytes().find(|b| matches!(b, b'/' | b'.' | b'-'))?;
        let mut parts = s.split(char::from(sep));
        let (a, b, y) = (parts.next()?, parts.next()?, parts.next()?);
        let digits = |p: &str, min: usize, max: usize| {
            (min..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
        };
        let year_ok = digits(y, 4, 4) || digits(y, 2, 2);
        if parts.next().is_some() || !digits(a, 1, 2) || !digits(b, 1, 2) || !year_ok {
            return None;
        }
        let year: i32 = y.parse().ok()?;
        Some(ShortDate {
            first: a.parse().ok()?,
            second: b.parse().ok()?,
            year: if y.len() == 2 { 2000 + year } else { year },
        })
    }

    /// The date in the given order; `None` when there is no such day.
    pub(super) fn date(self, order: DateOrder) -> Option<NaiveDate> {
        let (d, m) = match order {
            DateOrder::Dmy => (self.first, self.second),
            DateOrder::Mdy => (self.second, self.first),
        };
        NaiveDate::from_ymd_opt(self.year, m, d)
    }
}

/// A date as written and where it is: (text, row, column).
type Seen = (String, usize, String);

impl std::fmt::Display for ShortDate {
    /// The date as written, zero-padded: "03/04/2026".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}/{:02}/{}", self.first, self.second, self.year)
    }
}

/// What a file's short dates say about their order: the first date that can only be read one way.
#[derive(Debug, Default)]
pub(super) struct ShortDates {
    day_first: Option<Seen>,
    month_first: Option<Seen>,
    example: Option<Seen>,
}

fn order_name(o: DateOrder) -> &'static str {
    match o {
        DateOrder::Dmy => "day/month",
        DateOrder::Mdy => "month/day",
    }
}

/// "\"12/11/2026\" (row 2, column Last Activity Date)".
fn shown(s: &Seen) -> String {
    format!("{} (row {}, column {})", quote(&s.0), s.1, s.2)
}

impl ShortDates {
    /// Notes one date (`text` as written, its row and column, for messages); allocates only for the
    /// few dates it keeps.
    pub(super) fn see(&mut self, text: &str, d: ShortDate, row: usize, column: &str) {
        let keep = || Some((text.trim().to_owned(), row, column.to_owned()));
        if d.first > 12 && self.day_first.is_none() {
            self.day_first = keep();
        }
        if d.second > 12 && self.month_first.is_none() {
            self.month_first = keep();
        }
        if self.example.is_none() {
            self.example = keep();
        }
    }

    /// Whether no short date was seen at all.
    pub(super) fn is_empty(&self) -> bool {
        self.example.is_none()
    }

    /// The file's order when it has short dates (`None` when it has none), or why it cannot be decided.
    pub(super) fn order_if_any(
        &self,
        chosen: Option<DateOrder>,
    ) -> Result<Option<DateOrder>, Vec<ImportProblem>> {
        if self.is_empty() {
            return Ok(None);
        }
        self.order(chosen).map(Some).map_err(|p| vec![p])
    }

    /// The file's order, or why it cannot be decided.
    pub(super) fn order(&self, chosen: Option<DateOrder>) -> Result<DateOrder, ImportProblem> {
        let found = match (&self.day_first, &self.month_first) {
            (Some(a), Some(b)) => {
                return Err(ImportProblem::new(
                    None,
                    None,
                    format!(
                        "the dates mix two orders: {} can only be day/month and {} only month/day; \
                         export the file again without re-saving it in a spreadsheet",
                        shown(a),
                        shown(b)
                    ),
                ));
            }
            (Some(a), None) => Some((DateOrder::Dmy, a)),
            (None, Some(b)) => Some((DateOrder::Mdy, b)),
            (None, None) => None,
        };
        match (found, chosen) {
            (Some((o, seen)), Some(c)) if o != c => Err(ImportProblem::new(
                Some(seen.1),
                Some(&seen.2),
                format!(
                    "{} can only be {}, but {} was chosen as the date order",
                    quote(&seen.0),
                    order_name(o),
                    order_name(c)
                ),
            )),
            (Some((o, _)), _) => Ok(o),
            (None, Some(c)) => Ok(c),
            (None, None) => {
                let example = self.example.as_ref();
                Err(ImportProblem::new(
                    None,
                    example.map(|e| e.2.as_str()),
                    format!(
                        "every date in the file (e.g. {}) can be read as day/month or as month/day \
                         (no day is above 12); choose the date order: --date-order dmy or --date-order \
                         mdy on the command line, or the date order choice on the upload page",
                        example.map(shown).unwrap_or_default()
                    ),
                ))
            }
        }
    }
}

/// The text without a time of day after the date ("30/11/2026 00:00", "11/30/2026 12:00:00 AM",
/// "2026-11-30T00:00:00Z"): spreadsheets and exports add one to date cells; the day is what counts.
pub(super) fn without_time(s: &str) -> &str {
    let Some(cut) = s
        .char_indices()
        .find(|&(i, c)| c == ' ' || (c == 'T' && i == 10))
        .map(|(i, _)| i)
    else {
        return s;
    };
    let time = s[cut + 1..].trim();
    let time = time
        .strip_suffix("AM")
        .or_else(|| time.strip_suffix("PM"))
        .map_or(time, str::trim_end);
    let time = time.strip_suffix('Z').unwrap_or(time);
    let mut parts = time.split(':');
    let clock = parts.by_ref().take(3).collect::<Vec<_>>();
    let is_num = |p: &str| {
        let p = p.split('.').next().unwrap_or("");
        (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    if parts.next().is_none() && (2..=3).contains(&clock.len()) && clock.iter().all(|p| is_num(p)) {
        s[..cut].trim_end()
    } else {
        s
    }
}

/// A date cell before the file's day/month order is known: ISO (a time after it dropped) or a short date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DateCell {
    Day(NaiveDate),
    Short(ShortDate),
}

impl DateCell {
    /// `None` when the (trimmed, non-empty) text is no date of either form.
    pub(super) fn read(s: &str) -> Option<DateCell> {
        let s = s.trim();
        if let Some(d) = parse_iso_date(without_time(s)) {
            return Some(DateCell::Day(d));
        }
        ShortDate::parse(s).map(DateCell::Short)
    }

    /// The date once the file's order is known (`None` for a short date if it is not, or no such day).
    pub(super) fn date(self, order: Option<DateOrder>) -> Option<NaiveDate> {
        match (self, order) {
            (DateCell::Day(d), _) => Some(d),
            (DateCell::Short(d), Some(o)) => d.date(o),
            (DateCell::Short(_), None) => None,
        }
    }

    /// The message for a short date that does not exist in the file's order.
    pub(super) fn no_such_day(self, order: Option<DateOrder>) -> String {
        let how = match order {
            Some(DateOrder::Dmy) => "day/month/year",
            _ => "month/day/year",
        };
        match self {
            DateCell::Short(d) => format!("{} is not a date as {how}", quote(&d.to_string())),
            DateCell::Day(d) => format!("{d} is not a date"),
        }
    }
}

/// "… is not a date in the form YYYY-MM-DD (or …)", for a cell `DateCell::read` refused.
pub(super) fn not_a_date(s: &str) -> String {
    format!(
        "{} is not a date in the form YYYY-MM-DD (or day, month and year as a spreadsheet writes them)",
        quote(s.trim())
    )
}

/// Decimals in a file: with a point, or — in a `;`-separated file, as Excel writes in locales whose
/// decimal separator is the comma — with a comma. A file writing both, or a number with both marks
/// (a thousands separator), is ambiguous and refused rather than guessed.
pub(super) struct Decimals {
    semicolon: bool,
    comma: Option<Seen>,
    point: Option<Seen>,
}

impl Decimals {
    /// For a file whose column separator is `delimiter`.
    pub(super) fn new(delimiter: u8) -> Self {
        Decimals {
            semicolon: delimiter == b';',
            comma: None,
            point: None,
        }
    }

    /// A number ≥ 0; the error says what is wrong (the caller names row and column).
    pub(super) fn read(&mut self, s: &str, row: usize, column: &str) -> Result<f64, String> {
        let s = s.trim();
        let (commas, points) = (s.matches(',').count(), s.matches('.').count());
        let keep = || Some((s.to_owned(), row, column.to_owned()));
        match (commas, points) {
            (0, _) => {
                if points == 1 && self.point.is_none() {
                    self.point = keep();
                }
                parse_decimal(s).map_err(|_| format!("{} is not a number ≥ 0", quote(s)))
            }
            (1, 0) if self.semicolon => {
                if self.comma.is_none() {
                    self.comma = keep();
                }
                parse_decimal(&s.replace(',', "."))
                    .map_err(|_| format!("{} is not a number ≥ 0", quote(s)))
            }
            (1, 0) => Err(format!(
                "{} has a decimal comma in a comma-separated file, where it can't be told from a \
                 column break; write decimals with a point, e.g. {}",
                quote(s),
                quote(&s.replace(',', "."))
            )),
            _ => Err(format!(
                "{} has a thousands separator or several decimal marks; write the number without \
                 thousands separators",
                quote(s)
            )),
        }
    }

    /// A whole-file problem when decimals were written both ways.
    pub(super) fn check(&self) -> Option<ImportProblem> {
        let (Some(c), Some(p)) = (&self.comma, &self.point) else {
            return None;
        };
        Some(ImportProblem::new(
            None,
            None,
            format!(
                "the file writes decimals with a comma, e.g. {}, and with a point, e.g. {}; a point may \
                 be a thousands separator here, so the numbers can't be read safely: export the file \
                 again with one decimal separator",
                shown(c),
                shown(p)
            ),
        ))
    }
}

/// A strict YYYY-MM-DD date (chrono alone would also take "2020-1-5").
pub(super) fn parse_iso_date(s: &str) -> Option<NaiveDate> {
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
pub(super) fn parse_month(s: &str) -> Option<(i32, u32)> {
    let b = s.as_bytes();
    if b.len() != 7 || b[4] != b'-' || !b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit) {
        return None;
    }
    let (y, m) = (s[..4].parse().ok()?, s[5..].parse().ok()?);
    NaiveDate::from_ymd_opt(y, m, 1).map(|_| (y, m))
}

pub(super) fn days_in_month(year: i32, month: u32) -> u32 {
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
pub(super) fn month_index(year: i32, month: u32) -> i32 {
    year * 12 + month as i32 - 1
}

pub(super) fn month_first_day(index: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or_default()
}

pub(super) fn month_last_day(index: i32) -> NaiveDate {
    month_first_day(index + 1).pred_opt().unwrap_or_default()
}

/// Simple, deliberately permissive address check: it catches typos and wrong columns, not RFC 5322.
pub(super) fn check_email(s: &str) -> Result<(), String> {
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
pub(super) fn parse_decimal(s: &str) -> Result<f64, &'static str> {
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

pub(super) fn chars_over(s: &str, max: usize) -> bool {
    s.len() > max && s.chars().count() > max
}

/// Remembers the first row of each value; answers the earlier row on a repeat.
pub(super) fn first_row(
    seen: &mut HashMap<String, usize>,
    value: &str,
    row: usize,
) -> Option<usize> {
    if let Some(&earlier) = seen.get(value) {
        return Some(earlier);
    }
    seen.insert(value.to_owned(), row);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sd(s: &str) -> ShortDate {
        ShortDate::parse(s).unwrap_or_else(|| panic!("{s}"))
    }

    fn day(s: &str) -> NaiveDate {
        parse_iso_date(s).unwrap()
    }

    #[test]
    fn short_dates_are_split_with_any_of_three_separators() {
        for s in [
            "3/4/2026",
            "03/04/2026",
            "03.04.2026",
            "03-04-2026",
            " 3/04/2026 ",
        ] {
            assert_eq!(sd(s).date(DateOrder::Dmy), Some(day("2026-04-03")), "{s}");
            assert_eq!(sd(s).date(DateOrder::Mdy), Some(day("2026-03-04")), "{s}");
        }
        for s in [
            "3/4/26",
            "03/04/2026 00:00",
            "3/4/2026 0:00:00",
            "03.04.26 12:00 PM",
        ] {
            assert_eq!(sd(s).date(DateOrder::Dmy), Some(day("2026-04-03")), "{s}");
        }
        for s in [
            "2026-04-03",
            "3/4/026",
            "3/4/2026 soon",
            "3/4-2026",
            "a/4/2026",
            "3/4/2026/1",
            "",
            "123/4/2026",
        ] {
            assert_eq!(ShortDate::parse(s), None, "{s}");
        }
        assert_eq!(sd("31/4/2026").date(DateOrder::Dmy), None);
    }

    fn order(dates: &[&str], chosen: Option<DateOrder>) -> Result<DateOrder, String> {
        let mut seen = ShortDates::default();
        for (i, d) in dates.iter().enumerate() {
            seen.see(d, sd(d), i + 2, "day");
        }
        seen.order(chosen).map_err(|p| p.to_string())
    }

    #[test]
    fn the_order_comes_from_the_file_or_the_admin_or_is_refused() {
        assert_eq!(order(&["1/2/2026", "25/2/2026"], None), Ok(DateOrder::Dmy));
        assert_eq!(order(&["1/2/2026", "2/25/2026"], None), Ok(DateOrder::Mdy));
        assert_eq!(
            order(&["1/2/2026", "25/2/2026"], Some(DateOrder::Dmy)),
            Ok(DateOrder::Dmy)
        );
        let ambiguous = order(&["01/02/2026", "12/11/2026"], None).unwrap_err();
        assert!(
            ambiguous.contains("\"01/02/2026\"") && ambiguous.contains("choose the date order"),
            "{ambiguous}"
        );
        assert_eq!(
            order(&["01/02/2026"], Some(DateOrder::Mdy)),
            Ok(DateOrder::Mdy)
        );
        assert_eq!(
            order(&["01/02/2026"], Some(DateOrder::Dmy)),
            Ok(DateOrder::Dmy)
        );
        let mixed = order(&["25/2/2026", "2/25/2026"], None).unwrap_err();
        assert!(mixed.contains("mix"), "{mixed}");
        let contradicted = order(&["1/2/2026", "25/2/2026"], Some(DateOrder::Mdy)).unwrap_err();
        assert!(
            contradicted.starts_with("row 3, column day: \"25/2/2026\" can only be day/month"),
            "{contradicted}"
        );
    }

    #[test]
    fn a_time_after_a_date_is_dropped_and_anything_else_kept() {
        assert_eq!(without_time("30/11/2026 00:00"), "30/11/2026");
        assert_eq!(without_time("11/30/2026 12:00:00 AM"), "11/30/2026");
        assert_eq!(without_time("2026-11-30T00:00:00Z"), "2026-11-30");
        assert_eq!(without_time("2026-11-30 08:15:00.000"), "2026-11-30");
        assert_eq!(without_time("30 Nov 2026"), "30 Nov 2026");
        assert_eq!(without_time("30/11/2026 soon"), "30/11/2026 soon");
    }

    #[test]
    fn decimal_commas_are_read_only_where_the_separator_is_a_semicolon() {
        let mut semi = Decimals::new(b';');
        assert_eq!(semi.read("1,5", 2, "h"), Ok(1.5));
        assert_eq!(semi.read("2", 3, "h"), Ok(2.0));
        assert!(semi.check().is_none());
        assert!(
            semi.read("1.234,5", 4, "h")
                .unwrap_err()
                .contains("thousands")
        );
        assert_eq!(semi.read("0.5", 5, "h"), Ok(0.5));
        let both = semi.check().unwrap().message;
        assert!(
            both.contains("\"1,5\" (row 2, column h)")
                && both.contains("\"0.5\" (row 5, column h)"),
            "{both}"
        );
        let mut comma = Decimals::new(b',');
        assert!(comma.read("1,5", 2, "h").unwrap_err().contains("\"1.5\""));
        assert_eq!(comma.read("1.5", 2, "h"), Ok(1.5));
        assert!(comma.read("-1", 2, "h").is_err());
    }
}
