//! Adoption cohorts (by vendor usage rank) and tenure bands.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Months, NaiveDate};

/// Adoption cohort of an employee, from heaviest to lightest copilot use.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Cohort {
    /// Top of the usage ranking.
    Heavy,
    /// Middle of the usage ranking.
    Moderate,
    /// Bottom of the ranking, including employees with no usage at all.
    Light,
}

impl Cohort {
    /// All cohorts in rank order (heavy first); this is also the tie-break order.
    pub const ALL: [Cohort; 3] = [Cohort::Heavy, Cohort::Moderate, Cohort::Light];

    /// Position in `ALL` (heavy 0, moderate 1, light 2), for per-cohort arrays.
    pub fn index(self) -> usize {
        match self {
            Cohort::Heavy => 0,
            Cohort::Moderate => 1,
            Cohort::Light => 2,
        }
    }

    /// Stable machine name: "heavy", "moderate" or "light".
    pub fn as_str(self) -> &'static str {
        match self {
            Cohort::Heavy => "heavy",
            Cohort::Moderate => "moderate",
            Cohort::Light => "light",
        }
    }

    /// Human-readable label for pages and exports.
    pub fn label(self) -> &'static str {
        match self {
            Cohort::Heavy => "Heavy",
            Cohort::Moderate => "Moderate",
            Cohort::Light => "Light / lapsed",
        }
    }
}

impl fmt::Display for Cohort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cohort's name as pages say it: the three usage cohorts by their labels ("Heavy", "Light / lapsed"), any
/// other group name (a segment, "Overall", a cohort of a CSV given to `analyze`) as it is.
pub fn cohort_label(name: &str) -> String {
    match name {
        "heavy" | "moderate" | "light" => name
            .parse::<Cohort>()
            .map_or_else(|_| name.to_string(), |c| c.label().to_string()),
        _ => name.to_string(),
    }
}

impl FromStr for Cohort {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Accept the labels too, so values round-trip through exported CSVs.
        match s.trim().to_ascii_lowercase().as_str() {
            "heavy" => Ok(Cohort::Heavy),
            "moderate" => Ok(Cohort::Moderate),
            "light" | "lapsed" | "light / lapsed" => Ok(Cohort::Light),
            _ => Err(format!(
                "unknown cohort \"{}\": expected heavy, moderate or light",
                s.trim()
            )),
        }
    }
}

/// Target shares of the roster for the heavy and moderate cohorts; light gets the rest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CohortShares {
    heavy: f64,
    moderate: f64,
}

impl CohortShares {
    /// Validates the shares: each strictly between 0 and 1, together below 1.
    pub fn parse(heavy: f64, moderate: f64) -> Result<Self, String> {
        for (name, v) in [("heavy", heavy), ("moderate", moderate)] {
            if !v.is_finite() || v <= 0.0 || v >= 1.0 {
                return Err(format!(
                    "the {name} share must be between 0 and 1 (e.g. 0.10 for 10%), got {v}"
                ));
            }
        }
        if heavy + moderate >= 1.0 {
            return Err(format!(
                "the heavy ({heavy}) and moderate ({moderate}) shares must add up to less than 1 \
                 so that some employees are left for the light cohort"
            ));
        }
        Ok(Self { heavy, moderate })
    }

    /// Share of the roster ranked heavy.
    pub fn heavy(&self) -> f64 {
        self.heavy
    }

    /// Share of the roster ranked moderate.
    pub fn moderate(&self) -> f64 {
        self.moderate
    }

    /// Share of the roster left for the light cohort.
    pub fn light(&self) -> f64 {
        1.0 - self.heavy - self.moderate
    }
}

impl Default for CohortShares {
    fn default() -> Self {
        Self {
            heavy: 0.10,
            moderate: 0.50,
        }
    }
}

/// One employee's usage, as input to the cohort ranking.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UsageRank<'a> {
    /// Employee identifier; last-resort tie-breaker (ascending).
    pub employee_id: &'a str,
    /// Usage score; `None`, NaN or ≤ 0 means no usage at all.
    pub score: Option<f64>,
    /// Secondary ranking key for equal scores (descending).
    pub tiebreak: f64,
}

impl UsageRank<'_> {
    fn active_score(&self) -> Option<f64> {
        // NaN fails `> 0.0`, so it counts as "no usage" like None and zero.
        self.score.filter(|s| *s > 0.0)
    }
}

/// Ranking order: score desc, tiebreak desc, employee_id asc.
fn rank_order(a: &UsageRank<'_>, b: &UsageRank<'_>) -> Ordering {
    // Callers only rank active employees, so both scores are finite-or-inf positives;
    // total_cmp keeps the order total even if a tiebreak is NaN.
    let sa = a.active_score().unwrap_or(0.0);
    let sb = b.active_score().unwrap_or(0.0);
    sb.total_cmp(&sa)
        .then_with(|| b.tiebreak.total_cmp(&a.tiebreak))
        .then_with(|| a.employee_id.cmp(b.employee_id))
}

/// Assigns cohorts by usage rank; result in input order.
pub fn assign_cohorts(employees: &[UsageRank<'_>], shares: &CohortShares) -> Vec<Cohort> {
    let n = employees.len();
    // Quotas are shares of the whole roster, not of active users: a roster with
    // many lapsed users should show small heavy/moderate cohorts, not inflated ones.
    let heavy_quota = (shares.heavy() * n as f64).round() as usize;
    let moderate_quota = (shares.moderate() * n as f64).round() as usize;

    let mut active: Vec<usize> = (0..n)
        .filter(|&i| employees[i].active_score().is_some())
        .collect();
    // The order is total (ids break the last ties), so the ranking — and therefore
    // the result — does not depend on input order.
    active.sort_by(|&a, &b| rank_order(&employees[a], &employees[b]));

    let mut out = vec![Cohort::Light; n];
    for (rank, &i) in active.iter().enumerate() {
        out[i] = if rank < heavy_quota {
            Cohort::Heavy
        } else if rank < heavy_quota + moderate_quota {
            Cohort::Moderate
        } else {
            Cohort::Light
        };
    }
    out
}

/// Tenure bands from boundaries in months, e.g. "12,36,60" -> 4 bands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenureBands {
    bounds: Vec<u32>,
}

impl TenureBands {
    const MAX_BOUNDS: usize = 6;

    /// Parses comma-separated, strictly increasing positive month boundaries (1 to 6 of them).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut bounds = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!(
                    "tenure bands \"{}\": expected month boundaries separated by commas, e.g. 12,36,60",
                    s.trim()
                ));
            }
            let v: u32 = part.parse().map_err(|_| {
                format!("tenure band boundary \"{part}\" is not a whole number of months")
            })?;
            if v == 0 {
                return Err("tenure band boundaries must be positive (in months)".to_string());
            }
            if let Some(&prev) = bounds.last()
                && v <= prev
            {
                return Err(format!(
                    "tenure band boundaries must be strictly increasing, but {v} follows {prev}"
                ));
            }
            bounds.push(v);
        }
        if bounds.len() > Self::MAX_BOUNDS {
            return Err(format!(
                "at most {} tenure band boundaries are allowed, got {}",
                Self::MAX_BOUNDS,
                bounds.len()
            ));
        }
        Ok(Self { bounds })
    }

    /// Boundaries in months.
    pub fn bounds(&self) -> &[u32] {
        &self.bounds
    }

    /// Canonical form for config files, e.g. "12,36,60".
    pub fn to_config_string(&self) -> String {
        self.bounds
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Band labels, shortest tenure first (one more than the number of boundaries).
    pub fn labels(&self) -> Vec<String> {
        // Years read better, but only when no boundary would need a fraction of a year.
        let years = self.bounds.iter().all(|b| b % 12 == 0);
        let (unit, div) = if years { ("y", 12) } else { ("mo", 1) };
        let fmt = |b: u32| (b / div).to_string();

        let mut labels = Vec::with_capacity(self.bounds.len() + 1);
        labels.push(format!("< {} {unit}", fmt(self.bounds[0])));
        for w in self.bounds.windows(2) {
            labels.push(format!("{}–{} {unit}", fmt(w[0]), fmt(w[1])));
        }
        let last = *self
            .bounds
            .last()
            .expect("parse guarantees at least one bound");
        labels.push(format!("{} {unit} +", fmt(last)));
        labels
    }

    /// Label of the band for someone hired on `hire`, as of `as_of`.
    pub fn band_for(&self, hire: NaiveDate, as_of: NaiveDate) -> String {
        let months = whole_months(hire, as_of);
        // A boundary belongs to the band above it: exactly 12 months is "1–3 y".
        let idx = self.bounds.iter().take_while(|&&b| months >= b).count();
        self.labels().swap_remove(idx)
    }
}

impl Default for TenureBands {
    fn default() -> Self {
        Self {
            bounds: vec![12, 36, 60],
        }
    }
}

/// Whole months from `from` to `to`; 0 when `to` is before `from`.
fn whole_months(from: NaiveDate, to: NaiveDate) -> u32 {
    if to <= from {
        return 0;
    }
    let raw = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
    let mut months = raw.max(0) as u32;
    // A month counts once `from + months` (chrono clamps to month end, so Jan 31 + 1
    // month = Feb 28) has been reached; otherwise the last month is incomplete.
    if months > 0
        && from
            .checked_add_months(Months::new(months))
            .is_none_or(|d| d > to)
    {
        months -= 1;
    }
    months
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::seq::SliceRandom;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn cohort_names_round_trip() {
        for c in Cohort::ALL {
            assert_eq!(c.as_str().parse::<Cohort>().unwrap(), c);
            assert_eq!(c.label().parse::<Cohort>().unwrap(), c);
        }
        assert_eq!(Cohort::Light.label(), "Light / lapsed");
        assert_eq!(" Heavy ".parse::<Cohort>().unwrap(), Cohort::Heavy);
        assert!("power".parse::<Cohort>().unwrap_err().contains("power"));
        assert!(Cohort::Heavy < Cohort::Moderate && Cohort::Moderate < Cohort::Light);
    }

    #[test]
    fn shares_validation() {
        let d = CohortShares::default();
        assert_eq!((d.heavy(), d.moderate()), (0.10, 0.50));
        assert!((d.light() - 0.40).abs() < 1e-12);
        assert!(CohortShares::parse(0.2, 0.3).is_ok());
        assert!(CohortShares::parse(0.0, 0.3).unwrap_err().contains("heavy"));
        assert!(
            CohortShares::parse(0.2, 1.0)
                .unwrap_err()
                .contains("moderate")
        );
        assert!(CohortShares::parse(f64::NAN, 0.3).is_err());
        assert!(CohortShares::parse(0.2, f64::INFINITY).is_err());
        assert!(
            CohortShares::parse(0.5, 0.5)
                .unwrap_err()
                .contains("less than 1")
        );
        assert!(CohortShares::parse(-0.1, 0.5).is_err());
    }

    fn ranks<'a>(ids: &'a [String], scores: &[Option<f64>]) -> Vec<UsageRank<'a>> {
        ids.iter()
            .zip(scores)
            .map(|(id, &score)| UsageRank {
                employee_id: id,
                score,
                tiebreak: 0.0,
            })
            .collect()
    }

    #[test]
    fn assigns_by_rank_with_rounded_quotas() {
        // 10 employees, scores 10..1: heavy = round(1) = 1, moderate = round(5) = 5.
        let ids: Vec<String> = (0..10).map(|i| format!("e{i:02}")).collect();
        let scores: Vec<Option<f64>> = (0..10).map(|i| Some(10.0 - i as f64)).collect();
        let out = assign_cohorts(&ranks(&ids, &scores), &CohortShares::default());
        assert_eq!(out[0], Cohort::Heavy);
        assert!(out[1..6].iter().all(|&c| c == Cohort::Moderate));
        assert!(out[6..].iter().all(|&c| c == Cohort::Light));
    }

    #[test]
    fn no_usage_is_always_light() {
        let ids: Vec<String> = (0..10).map(|i| format!("e{i}")).collect();
        let mut scores = vec![None; 10];
        scores[3] = Some(5.0);
        scores[4] = Some(0.0);
        scores[5] = Some(f64::NAN);
        scores[6] = Some(-2.0);
        scores[7] = Some(1.0);
        let out = assign_cohorts(&ranks(&ids, &scores), &CohortShares::default());
        assert_eq!(out[3], Cohort::Heavy);
        assert_eq!(out[7], Cohort::Moderate);
        for (i, c) in out.iter().enumerate() {
            if i != 3 && i != 7 {
                assert_eq!(*c, Cohort::Light, "employee {i}");
            }
        }
    }

    #[test]
    fn ties_break_by_tiebreak_then_id() {
        // All equal scores; heavy quota = 1 of 10.
        let ids: Vec<String> = (0..10).map(|i| format!("e{i}")).collect();
        let mut r = ranks(&ids, &[Some(3.0); 10]);
        let out = assign_cohorts(&r, &CohortShares::default());
        assert_eq!(out[0], Cohort::Heavy, "lowest id wins a full tie");
        r[9].tiebreak = 1.0;
        let out = assign_cohorts(&r, &CohortShares::default());
        assert_eq!(out[9], Cohort::Heavy, "higher tiebreak wins");
        assert_eq!(out[0], Cohort::Moderate);
    }

    #[test]
    fn independent_of_input_order() {
        let ids: Vec<String> = (0..500).map(|i| format!("emp-{i:04}")).collect();
        // Coarse scores force many ties; some employees have no usage.
        let scores: Vec<Option<f64>> = (0..500)
            .map(|i| {
                if i % 7 == 0 {
                    None
                } else {
                    Some((i % 13) as f64)
                }
            })
            .collect();
        let base = ranks(&ids, &scores);
        let expected = assign_cohorts(&base, &CohortShares::default());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..5 {
            let mut shuffled = base.clone();
            shuffled.shuffle(&mut rng);
            let got = assign_cohorts(&shuffled, &CohortShares::default());
            for (u, c) in shuffled.iter().zip(got) {
                let i = ids.iter().position(|id| id == u.employee_id).unwrap();
                assert_eq!(expected[i], c);
            }
        }
        let heavy = expected.iter().filter(|&&c| c == Cohort::Heavy).count();
        let moderate = expected.iter().filter(|&&c| c == Cohort::Moderate).count();
        assert_eq!((heavy, moderate), (50, 250));
    }

    #[test]
    fn empty_roster() {
        assert!(assign_cohorts(&[], &CohortShares::default()).is_empty());
    }

    #[test]
    fn tenure_parse() {
        let t = TenureBands::parse(" 12, 36 ,60").unwrap();
        assert_eq!(t, TenureBands::default());
        assert_eq!(t.to_config_string(), "12,36,60");
        assert_eq!(TenureBands::parse("6").unwrap().bounds(), &[6]);
        assert!(TenureBands::parse("").is_err());
        assert!(TenureBands::parse("12,,36").is_err());
        assert!(TenureBands::parse("12,x").unwrap_err().contains("\"x\""));
        assert!(TenureBands::parse("0,12").unwrap_err().contains("positive"));
        assert!(TenureBands::parse("-3").is_err());
        assert!(
            TenureBands::parse("36,12")
                .unwrap_err()
                .contains("increasing")
        );
        assert!(TenureBands::parse("12,12").is_err());
        assert!(TenureBands::parse("1,2,3,4,5,6").is_ok());
        assert!(
            TenureBands::parse("1,2,3,4,5,6,7")
                .unwrap_err()
                .contains("at most 6")
        );
    }

    #[test]
    fn tenure_labels() {
        assert_eq!(
            TenureBands::default().labels(),
            ["< 1 y", "1–3 y", "3–5 y", "5 y +"]
        );
        assert_eq!(
            TenureBands::parse("6,18").unwrap().labels(),
            ["< 6 mo", "6–18 mo", "18 mo +"]
        );
        // One non-multiple of 12 switches everything to months.
        assert_eq!(
            TenureBands::parse("12,30").unwrap().labels(),
            ["< 12 mo", "12–30 mo", "30 mo +"]
        );
    }

    #[test]
    fn tenure_band_for() {
        let t = TenureBands::default();
        let as_of = d(2025, 6, 15);
        assert_eq!(t.band_for(d(2025, 1, 1), as_of), "< 1 y");
        assert_eq!(t.band_for(d(2024, 6, 16), as_of), "< 1 y"); // 11 full months
        assert_eq!(t.band_for(d(2024, 6, 15), as_of), "1–3 y"); // exactly 12
        assert_eq!(t.band_for(d(2022, 6, 16), as_of), "1–3 y"); // 35
        assert_eq!(t.band_for(d(2022, 6, 15), as_of), "3–5 y"); // 36
        assert_eq!(t.band_for(d(2000, 1, 1), as_of), "5 y +");
        assert_eq!(t.band_for(d(2026, 1, 1), as_of), "< 1 y"); // future hire = 0
    }

    #[test]
    fn whole_months_edges() {
        assert_eq!(whole_months(d(2025, 1, 31), d(2025, 2, 28)), 1);
        assert_eq!(whole_months(d(2025, 1, 31), d(2025, 2, 27)), 0);
        assert_eq!(whole_months(d(2024, 3, 15), d(2025, 3, 14)), 11);
        assert_eq!(whole_months(d(2024, 3, 15), d(2025, 3, 15)), 12);
        assert_eq!(whole_months(d(2025, 3, 15), d(2025, 3, 15)), 0);
        assert_eq!(whole_months(d(2025, 3, 15), d(2024, 3, 15)), 0);
    }
}
