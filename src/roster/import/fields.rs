//! Field parsers shared by the formats: strict dates and months, emails, decimals, repeats.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::table::quote;

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
