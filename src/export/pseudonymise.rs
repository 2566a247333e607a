//! Pseudonymisation, pure: the keyed pseudonym of an employee id, the generalisation of small
//! (cohort, function, tenure) groups, and timestamps written without their sub-second detail.
use super::{ParticipantOut, SUPPRESSED};
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;

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

/// Generalises function and tenure so that no (cohort, function, tenure) combination in the file holds
/// fewer than `k` people: first the tenure of small combinations, then the function of what is still small;
/// if the fully generalised group of a cohort is still under k, the smallest other group of that cohort is
/// generalised into it, until it reaches k (or the whole cohort is generalised). A cohort is never
/// generalised (the estimates need it); a cohort under k is hidden by the summary's rule.
pub fn generalise(rows: &mut [ParticipantOut], k: usize) {
    type Key = (String, String, String);
    let key =
        |r: &ParticipantOut| -> Key { (r.cohort.clone(), r.function.clone(), r.tenure.clone()) };
    let counts = |rows: &[ParticipantOut]| {
        let mut c: HashMap<Key, usize> = HashMap::new();
        for r in rows {
            *c.entry(key(r)).or_default() += 1;
        }
        c
    };
    for pass in 0..2 {
        let c = counts(rows);
        for r in rows.iter_mut() {
            if c[&key(r)] < k {
                if pass == 0 {
                    r.tenure = SUPPRESSED.into();
                } else {
                    r.function = SUPPRESSED.into();
                }
            }
        }
    }
    loop {
        let c = counts(rows);
        // A cohort whose fully generalised group is non-empty but under k, and the smallest other group
        // of that cohort to fold into it (ties by name, so the result is stable).
        let fold = c
            .iter()
            .filter(|((_, f, t), n)| f == SUPPRESSED && t == SUPPRESSED && **n < k)
            .filter_map(|((cohort, _, _), _)| {
                c.iter()
                    .filter(|((co, f, t), _)| co == cohort && !(f == SUPPRESSED && t == SUPPRESSED))
                    .min_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)))
                    .map(|(k, _)| k.clone())
            })
            .min();
        let Some(target) = fold else {
            break;
        };
        for r in rows.iter_mut().filter(|r| key(r) == target) {
            r.function = SUPPRESSED.into();
            r.tenure = SUPPRESSED.into();
        }
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

    #[test]
    fn small_combinations_lose_tenure_first_then_function() {
        let row = |f: &str, t: &str| ParticipantOut {
            id: String::new(),
            cohort: "heavy".into(),
            function: f.into(),
            tenure: t.into(),
            gross_hours_month: 1.0,
        };
        let mut rows: Vec<ParticipantOut> = std::iter::repeat_n(row("Sales", "1–3 y"), 7)
            .chain(std::iter::repeat_n(row("Sales", "3–5 y"), 2))
            .chain(std::iter::repeat_n(row("Sales", "5+ y"), 3))
            .chain(std::iter::once(row("Legal", "1–3 y")))
            .collect();
        generalise(&mut rows, 5);
        let count = |f: &str, t: &str| {
            rows.iter()
                .filter(|r| r.function == f && r.tenure == t)
                .count()
        };
        assert_eq!(count("Sales", "1–3 y"), 7, "a big group keeps its detail");
        // 2 + 3 Sales lose their tenure together (5); the lone lawyer loses both and would be alone in
        // that group, so the smallest other group (those five Sales) is folded in with them.
        assert_eq!(count("Sales", SUPPRESSED), 0);
        assert_eq!(count(SUPPRESSED, SUPPRESSED), 6);
        let mut groups: HashMap<(String, String), usize> = HashMap::new();
        for r in &rows {
            *groups
                .entry((r.function.clone(), r.tenure.clone()))
                .or_default() += 1;
        }
        assert!(groups.values().all(|&n| n >= 5), "{groups:?}");
        // A cohort smaller than k ends fully generalised, and the loop ends.
        let mut tiny = vec![row("Sales", "1–3 y"), row("HR", "5+ y")];
        generalise(&mut tiny, 5);
        assert!(
            tiny.iter()
                .all(|r| r.function == SUPPRESSED && r.tenure == SUPPRESSED)
        );
    }
}
