//! Pseudonymisation, pure: the keyed pseudonym of an employee id, which quasi-identifying columns a raw
//! file may carry, gross hours in bands, and timestamps written without their sub-second detail.
use super::ParticipantOut;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{BTreeSet, HashMap};

pub(crate) fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A stored UTC timestamp (`2027-02-01T09:30:00+00:00`, maybe with a fraction) as an export writes it:
/// whole seconds with `Z`. Text in, text out: half a million rows need no date parsing. Truncating both an
/// answer and its deadline keeps their order, so a round trip counts the same answers in time.
pub(crate) fn stored_utc(s: &str) -> String {
    let base = s.get(..19).unwrap_or(s);
    match (base.get(..10), base.get(11..)) {
        (Some(day), Some(time)) => format!("{day}T{time}Z"),
        _ => format!("{base}Z"),
    }
}

/// The pseudonym of an employee id under a study's key: 16 hex digits of HMAC-SHA-256.
pub fn pseudonym(key: &[u8], employee_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(employee_id.as_bytes());
    crate::auth::token::hex(&mac.finalize().into_bytes()[..8])
}

/// The lower limits of the gross-hours bands before small bands are merged (hours per month).
pub const GROSS_BAND_LIMITS: [f64; 13] = [
    0.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 50.0,
];

/// Which quasi-identifying columns `participants.csv` carries: each one for every row or for none.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Published {
    /// The cohort column.
    pub cohort: bool,
    /// The function column.
    pub function: bool,
    /// The tenure column.
    pub tenure: bool,
}

/// The groups of each kind the summary hides (their rows must not be selectable in the raw file).
#[derive(Clone, Debug, Default)]
pub struct HiddenGroups {
    /// Hidden cohorts.
    pub cohorts: BTreeSet<String>,
    /// Hidden functions.
    pub functions: BTreeSet<String>,
    /// Hidden tenure bands.
    pub tenures: BTreeSet<String>,
    /// The whole sample is hidden.
    pub overall: bool,
}

/// A participant's quasi-identifiers before the file's columns are chosen.
#[derive(Clone, Debug)]
pub struct Quasi {
    /// Cohort.
    pub cohort: String,
    /// Function.
    pub function: String,
    /// Tenure band.
    pub tenure: String,
}

/// Decides, for the whole file, which of cohort, function and tenure to publish. A column is a candidate
/// only if every value of it holds at least `k` rows and none of its values is a group the summary hides
/// (else its rows would rebuild the hidden cell, or the published n minus the visible rows would point at
/// them). Then, while some combination of the candidate columns holds fewer than `k` rows, tenure goes,
/// then function, then cohort. Never per row: a generalised row is what the subtraction attack restores.
pub fn choose_columns(rows: &[Quasi], hidden: &HiddenGroups, k: usize) -> Published {
    if hidden.overall || rows.is_empty() {
        return Published::default();
    }
    let fit = |value: &dyn Fn(&Quasi) -> &str, hide: &BTreeSet<String>| {
        let mut c: HashMap<&str, usize> = HashMap::new();
        for r in rows {
            *c.entry(value(r)).or_default() += 1;
        }
        c.iter().all(|(v, n)| *n >= k && !hide.contains(*v))
    };
    let mut p = Published {
        cohort: fit(&|r| r.cohort.as_str(), &hidden.cohorts),
        function: fit(&|r| r.function.as_str(), &hidden.functions),
        tenure: fit(&|r| r.tenure.as_str(), &hidden.tenures),
    };
    let combinations_fit = |p: &Published| {
        let mut c: HashMap<(&str, &str, &str), usize> = HashMap::new();
        for r in rows {
            let key = (
                if p.cohort { r.cohort.as_str() } else { "" },
                if p.function { r.function.as_str() } else { "" },
                if p.tenure { r.tenure.as_str() } else { "" },
            );
            *c.entry(key).or_default() += 1;
        }
        c.values().all(|n| *n >= k)
    };
    for drop in [
        |p: &mut Published| p.tenure = false,
        |p: &mut Published| p.function = false,
        |p: &mut Published| p.cohort = false,
    ] {
        if combinations_fit(&p) {
            break;
        }
        drop(&mut p);
    }
    p
}

/// Gross-hours bands for a file: [`GROSS_BAND_LIMITS`], with any band holding fewer than `k` of `hours`
/// merged into its neighbour, so that every band shown holds at least `k` rows. Returns the lower limits of
/// the bands kept (the last band is open).
pub fn gross_bands(hours: &[f64], k: usize) -> Vec<f64> {
    crate::reports::distribution::bands_of_at_least(hours, &GROSS_BAND_LIMITS, k)
}

/// The label of `h`'s band ("10–20", or "40 +" for the open top band).
pub fn gross_band_label(limits: &[f64], h: f64) -> String {
    let i = crate::reports::distribution::band_index(limits, h);
    match limits.get(i + 1) {
        Some(hi) => format!("{}–{}", limits[i], hi),
        None => format!("{} +", limits[i]),
    }
}

/// Every row's published fields under the file's columns and bands.
pub fn publish(
    id: String,
    q: &Quasi,
    gross: f64,
    columns: &Published,
    limits: &[f64],
) -> ParticipantOut {
    ParticipantOut {
        id,
        cohort: columns.cohort.then(|| q.cohort.clone()),
        function: columns.function.then(|| q.function.clone()),
        tenure: columns.tenure.then(|| q.tenure.clone()),
        gross_hours_band: gross_band_label(limits, gross),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_are_written_in_whole_seconds_with_z() {
        assert_eq!(
            stored_utc("2027-02-01T09:30:00+00:00"),
            "2027-02-01T09:30:00Z"
        );
        assert_eq!(
            stored_utc("2027-02-01T09:30:00.987654+00:00"),
            "2027-02-01T09:30:00Z"
        );
        assert_eq!(stored_utc("2027-02-01 09:30:00"), "2027-02-01T09:30:00Z");
    }

    #[test]
    fn pseudonyms_are_stable_under_a_key_and_unrelated_across_keys() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert_eq!(pseudonym(&a, "E00001"), pseudonym(&a, "E00001"));
        assert_ne!(pseudonym(&a, "E00001"), pseudonym(&a, "E00002"));
        assert_ne!(pseudonym(&a, "E00001"), pseudonym(&b, "E00001"));
        let p = pseudonym(&a, "E00001");
        assert!(p.len() == 16 && p.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(!p.contains("E00001"));
    }

    fn q(c: &str, f: &str, t: &str) -> Quasi {
        Quasi {
            cohort: c.into(),
            function: f.into(),
            tenure: t.into(),
        }
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_column_is_published_for_every_row_or_not_at_all() {
        let mut rows: Vec<Quasi> = std::iter::repeat_n(q("heavy", "Sales", "1–3 y"), 7)
            .chain(std::iter::repeat_n(q("light", "Sales", "1–3 y"), 6))
            .chain(std::iter::repeat_n(q("light", "Sales", "5+ y"), 5))
            .collect();
        let none = HiddenGroups::default();
        let all = Published {
            cohort: true,
            function: true,
            tenure: true,
        };
        assert_eq!(choose_columns(&rows, &none, 5), all);
        // One lawyer: the function column goes for everyone, not just for her row.
        rows.push(q("light", "Legal", "5+ y"));
        let p = choose_columns(&rows, &none, 5);
        assert_eq!((p.cohort, p.function, p.tenure), (true, false, true));
        // A function the summary hides takes the column away even when the file holds k of it.
        let rows: Vec<Quasi> = std::iter::repeat_n(q("heavy", "Sales", "1–3 y"), 7)
            .chain(std::iter::repeat_n(q("heavy", "HR", "1–3 y"), 5))
            .collect();
        let hr = HiddenGroups {
            functions: set(&["HR"]),
            ..HiddenGroups::default()
        };
        assert!(!choose_columns(&rows, &hr, 5).function);
        // A hidden cohort: no cohort column, so its rows cannot be picked out and its cell rebuilt.
        let heavy = HiddenGroups {
            cohorts: set(&["heavy"]),
            ..HiddenGroups::default()
        };
        assert!(!choose_columns(&rows, &heavy, 5).cohort);
        // Combinations too: each column fits alone, but (light, 5+ y) would hold 3 people.
        let rows: Vec<Quasi> = std::iter::repeat_n(q("heavy", "Sales", "5+ y"), 5)
            .chain(std::iter::repeat_n(q("light", "Sales", "1–3 y"), 9))
            .chain(std::iter::repeat_n(q("light", "Sales", "5+ y"), 3))
            .collect();
        let p = choose_columns(&rows, &none, 5);
        assert_eq!((p.cohort, p.function, p.tenure), (true, true, false));
    }

    #[test]
    fn gross_hours_fall_in_bands_of_at_least_k_rows() {
        let hours = [
            0.0, 0.0, 1.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0, 9.5, 12.0, 25.0, 44.0,
        ];
        let limits = gross_bands(&hours, 5);
        assert_eq!(limits, vec![0.0, 7.5]);
        assert_eq!(gross_band_label(&limits, 3.0), "0–7.5");
        assert_eq!(gross_band_label(&limits, 44.0), "7.5 +");
        let mut counts: HashMap<String, usize> = HashMap::new();
        for h in hours {
            *counts.entry(gross_band_label(&limits, h)).or_default() += 1;
        }
        assert!(counts.values().all(|&n| n >= 5), "{counts:?}");
        use crate::stats::input::gross_band_value;
        assert_eq!(gross_band_value("10–20"), Some(15.0));
        assert_eq!(gross_band_value("40 +"), Some(40.0));
        assert_eq!(gross_band_value("abc"), None);
        // Fewer than k rows in all: one open band.
        assert_eq!(gross_bands(&[1.0, 30.0], 5), vec![0.0]);
    }
}
