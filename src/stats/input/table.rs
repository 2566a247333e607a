//! What both readers of an input file share: the header's columns, a record's fields read and checked the
//! same way (numbers, times, study days), and the csv crate's reader, which reads any file.
use chrono::{DateTime, NaiveDateTime, Utc};
use std::collections::HashMap;

/// A message naming the file, the row (none for 0) and the column.
pub(super) fn err(file: &str, row: usize, column: &str, msg: impl std::fmt::Display) -> String {
    if row == 0 {
        format!("{file}, column {column}: {msg}")
    } else {
        format!("{file}, row {row}, column {column}: {msg}")
    }
}

/// A file's column names (trimmed, lower case) and their places, looked up once.
pub(super) struct Header {
    pub file: &'static str,
    index: HashMap<String, usize>,
    /// How many fields the header has (every record has as many).
    width: usize,
}

impl Header {
    /// The header of `file`, or the message naming the first of `required` it lacks.
    pub fn new<'a>(
        file: &'static str,
        names: impl Iterator<Item = &'a str>,
        required: &[&str],
    ) -> Result<Self, String> {
        let mut width = 0;
        let index: HashMap<String, usize> = names
            .enumerate()
            .map(|(i, h)| {
                width = i + 1;
                (h.trim().to_ascii_lowercase(), i)
            })
            .collect();
        for c in required {
            if !index.contains_key(*c) {
                return Err(err(file, 1, c, "this column is missing"));
            }
        }
        Ok(Self { file, index, width })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn has(&self, column: &str) -> bool {
        self.index.contains_key(column)
    }

    pub fn col(&self, name: &'static str) -> Col {
        Col {
            name,
            at: self.index.get(name).copied(),
        }
    }

    /// The columns a row's time is in: `calendar` or, instead, the exports' `study_day` (an error names
    /// `calendar` when neither is there).
    pub fn when_columns(&self, calendar: &'static str) -> Result<When, String> {
        if self.has(calendar) || self.has("study_day") {
            Ok(When {
                calendar: self.col(calendar),
                day: self.col("study_day"),
                clock: self.col("local_time"),
            })
        } else {
            Err(err(
                self.file,
                1,
                calendar,
                "this column (or the exports' study_day) is missing",
            ))
        }
    }
}

/// A column of a file: its name (for messages) and its place, if the file has it.
#[derive(Clone, Copy)]
pub(super) struct Col {
    pub name: &'static str,
    pub at: Option<usize>,
}

/// Where a row's time is: a calendar column, or the exports' study day and clock time.
pub(super) struct When {
    pub calendar: Col,
    pub day: Col,
    pub clock: Col,
}

/// A file read one record at a time, by either reader: the fields of the current record by column, each
/// read and checked the same way whichever reader split the line.
pub(super) trait Rows {
    fn header(&self) -> &Header;
    /// The current record's row (the header is row 1).
    fn row(&self) -> usize;
    /// The text of the current record's field `i` (`Err` when it is not UTF-8), if it has one.
    fn field(&self, i: usize) -> Option<Result<&str, ()>>;
    /// The next record; `false` at the end of the file.
    fn next(&mut self) -> Result<bool, String>;

    fn err(&self, c: Col, msg: impl std::fmt::Display) -> String {
        err(self.header().file, self.row(), c.name, msg)
    }

    /// A field of the current record, trimmed ("" when the file has no such column).
    fn get(&self, c: Col) -> Result<&str, String> {
        let Some(text) = c.at.and_then(|i| self.field(i)) else {
            return Ok("");
        };
        let text = text.map_err(|()| self.err(c, "is not UTF-8 text"))?;
        // Most fields start and end with a visible ASCII character: nothing to trim.
        let bytes = text.as_bytes();
        let visible = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_graphic());
        if visible(bytes.first()) && visible(bytes.last()) {
            Ok(text)
        } else {
            Ok(text.trim())
        }
    }

    fn num(&self, c: Col, lo: f64, hi: f64) -> Result<f64, String> {
        let v = self.get(c)?;
        match parse_number(v) {
            Some(x) if x.is_finite() && (lo..=hi).contains(&x) => Ok(x),
            _ => Err(self.err(c, format!("{v:?} is not a number from {lo} to {hi}"))),
        }
    }

    fn time(&self, c: Col) -> Result<Time, String> {
        let v = self.get(c)?;
        parse_time(v).ok_or_else(|| {
            self.err(
                c,
                format!("{v:?} is not a time such as 2027-02-01T09:30:00Z"),
            )
        })
    }

    /// Checks a row's time: `logged_at`/`sent_at` (a calendar time, for files of one's own) when the file has
    /// that column, else the exports' `study_day` and `local_time` (on the participant's own clock).
    fn when(&self, w: &When) -> Result<(), String> {
        if w.calendar.at.is_some() {
            return self.time(w.calendar).map(|_| ());
        }
        let day = self.get(w.day)?;
        if day.parse::<i64>().is_err() {
            return Err(self.err(w.day, format!("{day:?} is not a whole number of days")));
        }
        let clock = self.get(w.clock)?;
        if !clock.is_empty() && parse_clock(clock).is_none() {
            return Err(self.err(
                w.clock,
                format!("{clock:?} is not a time of day such as 09:30"),
            ));
        }
        Ok(())
    }
}

/// A CSV file read by the csv crate, one record at a time into a reused buffer: any file it accepts
/// (quoted fields, line breaks inside them, blank lines) is read, and a malformed one gets its message.
pub(super) struct Table<R> {
    header: Header,
    reader: csv::Reader<R>,
    rec: csv::ByteRecord,
    row: usize,
}

impl<R: std::io::Read> Table<R> {
    pub fn open(file: &'static str, input: R, required: &[&str]) -> Result<Self, String> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .buffer_capacity(1 << 16)
            .from_reader(input);
        let headers = reader
            .headers()
            .map_err(|e| format!("{file}: cannot read the header: {e}"))?;
        let header = Header::new(file, headers.iter(), required)?;
        Ok(Self {
            header,
            reader,
            rec: csv::ByteRecord::new(),
            row: 1,
        })
    }
}

impl<R: std::io::Read> Rows for Table<R> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn row(&self) -> usize {
        self.row
    }

    fn field(&self, i: usize) -> Option<Result<&str, ()>> {
        self.rec
            .get(i)
            .map(|b| std::str::from_utf8(b).map_err(|_| ()))
    }

    fn next(&mut self) -> Result<bool, String> {
        let more = self
            .reader
            .read_byte_record(&mut self.rec)
            .map_err(|e| format!("{}, row {}: {e}", self.header.file, self.row + 1))?;
        if more {
            self.row += 1;
        }
        Ok(more)
    }
}

/// A number as `str::parse::<f64>` reads it; whole numbers of up to 15 digits (the usual minutes and
/// hours), which f64 holds exactly, are read directly.
fn parse_number(v: &str) -> Option<f64> {
    if (1..=15).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) {
        let n = v.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
        return Some(n as f64);
    }
    v.parse().ok()
}

/// `HH:MM` (as chrono's `%H:%M`), read by fixed offsets when it has that exact shape.
fn parse_clock(v: &str) -> Option<chrono::NaiveTime> {
    let b = v.as_bytes();
    if b.len() == 5
        && b[2] == b':'
        && let (Some(h), Some(m)) = (digits(&b[..2]), digits(&b[3..]))
    {
        return chrono::NaiveTime::from_hms_opt(h, m, 0);
    }
    chrono::NaiveTime::parse_from_str(v, "%H:%M").ok()
}

/// Two or four ASCII digits as a number.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// An instant read from a file: whole seconds since 1970 for the usual `2027-02-01T09:30:00Z`, else as chrono
/// read it (offsets, fractions, leap seconds). Two instants are compared as chrono compares them; two of the
/// usual shape, as plain numbers (the same result, without building dates).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Time {
    Seconds(i64),
    Chrono(DateTime<Utc>),
}

impl Time {
    fn chrono(self) -> DateTime<Utc> {
        match self {
            // Years 0 to 9999 only: always in chrono's range.
            Time::Seconds(s) => DateTime::from_timestamp(s, 0).unwrap_or_default(),
            Time::Chrono(t) => t,
        }
    }

    /// Whether `self` is before `other`.
    pub fn before(self, other: Time) -> bool {
        match (self, other) {
            (Time::Seconds(a), Time::Seconds(b)) => a < b,
            _ => self.chrono() < other.chrono(),
        }
    }

    /// The time from `earlier` to `self`.
    pub fn since(self, earlier: Time) -> chrono::TimeDelta {
        match (self, earlier) {
            (Time::Seconds(a), Time::Seconds(b)) => chrono::TimeDelta::seconds(a - b),
            _ => self.chrono() - earlier.chrono(),
        }
    }
}

/// RFC 3339, or a time without offset taken as UTC. The common `2027-02-01T09:30:00Z` is read by fixed
/// offsets (the same instant chrono gives it, checked against chrono in the tests); anything else goes
/// through chrono.
pub(super) fn parse_time(v: &str) -> Option<Time> {
    let b = v.as_bytes();
    if b.len() == 20
        && (b[4], b[7], b[10], b[13], b[16], b[19]) == (b'-', b'-', b'T', b':', b':', b'Z')
    {
        let n = |r: std::ops::Range<usize>| digits(&b[r]);
        if let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) =
            (n(0..4), n(5..7), n(8..10), n(11..13), n(14..16), n(17..19))
            && let Some(t) = utc_seconds(y, mo, d, h, mi, s)
        {
            return Some(Time::Seconds(t));
        }
    }
    let t = DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            [
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
            .map(|t| t.and_utc())
        });
    t.map(Time::Chrono)
}

/// Seconds since 1970 of a proleptic Gregorian date and time of day (year 0 to 9999), or `None` where
/// chrono's `from_ymd_opt(..).and_hms_opt(..)` is `None` (no such day, hour 24, minute or second 60).
/// Days from the civil date as in H. Hinnant's `days_from_civil`, the year starting in March.
fn utc_seconds(y: u32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let month_days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > month_days || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let y = i64::from(y) - i64::from(mo <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * i64::from((mo + 9) % 12) + 2) / 5 + i64::from(d) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400 + i64::from(h * 3600 + mi * 60 + s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_offset_times_are_the_instants_chrono_reads() {
        let chrono = |v: &str| {
            NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%SZ")
                .ok()
                .map(|t| t.and_utc())
        };
        let mut checked = 0;
        for y in [
            0, 1, 4, 99, 100, 400, 1600, 1899, 1900, 1969, 1970, 2000, 2024, 2027, 2100, 9999,
        ] {
            for mo in 0..=13 {
                for d in 0..=32 {
                    for (h, mi, s) in [
                        (0, 0, 0),
                        (9, 30, 0),
                        (23, 59, 59),
                        (24, 0, 0),
                        (0, 60, 0),
                        (0, 0, 60),
                    ] {
                        let v = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
                        assert_eq!(parse_time(&v).map(Time::chrono), chrono(&v), "{v}");
                        checked += usize::from(chrono(&v).is_some());
                    }
                }
            }
        }
        assert!(checked > 16 * 365 * 3, "{checked} valid times compared");
    }

    #[test]
    fn times_of_either_shape_compare_as_the_instants_they_name() {
        let t = |v: &str| parse_time(v).unwrap();
        let (nine, also_nine) = (t("2027-02-01T09:00:00Z"), t("2027-02-01T10:00:00+01:00"));
        assert!(matches!(
            (nine, also_nine),
            (Time::Seconds(_), Time::Chrono(_))
        ));
        assert!(!nine.before(also_nine) && !also_nine.before(nine));
        assert_eq!(also_nine.since(nine), chrono::TimeDelta::zero());
        let later = t("2027-02-01T09:30:00.5Z");
        assert!(nine.before(later));
        assert_eq!(
            later.since(nine),
            chrono::TimeDelta::milliseconds(1_800_500)
        );
        assert_eq!(
            t("2027-02-01T09:30:00Z").since(nine),
            chrono::TimeDelta::minutes(30)
        );
    }

    #[test]
    fn whole_numbers_read_as_the_standard_parser_reads_them() {
        for v in [
            "0",
            "7",
            "007",
            "60",
            "744",
            "123456789012345",
            "1.5",
            "1e3",
            "-0",
            "",
            " 1",
            "x",
        ] {
            assert_eq!(parse_number(v), v.parse::<f64>().ok(), "{v:?}");
        }
    }
}
