//! Population tables: employees counted by cohort, function and tenure band (pure).
use super::cohort::Cohort;
use std::collections::BTreeMap;

/// One employee reduced to the three strata.
pub struct Unit<'a> {
    /// Adoption cohort.
    pub cohort: Cohort,
    /// Function.
    pub function: &'a str,
    /// Tenure band label.
    pub band: &'a str,
}

/// Counts per cohort (heavy, moderate, light) for one row of a table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts(pub [usize; 3]);

impl Counts {
    fn add(&mut self, c: Cohort) {
        self.0[c.index()] += 1;
    }
    /// The count for a cohort.
    pub fn get(&self, c: Cohort) -> usize {
        self.0[c.index()]
    }
    /// The row total.
    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }
}

/// The cohort × function × tenure table, with subtotals per function and per band.
#[derive(Debug, Default)]
pub struct Population {
    /// Everyone.
    pub total: Counts,
    /// Per function.
    pub by_function: BTreeMap<String, Counts>,
    /// Per tenure band.
    pub by_band: BTreeMap<String, Counts>,
    /// Per (function, band).
    pub by_cell: BTreeMap<(String, String), Counts>,
}

/// Counts a roster into the table.
pub fn tabulate<'a>(units: impl IntoIterator<Item = Unit<'a>>) -> Population {
    let mut p = Population::default();
    for u in units {
        p.total.add(u.cohort);
        p.by_function
            .entry(u.function.to_string())
            .or_default()
            .add(u.cohort);
        p.by_band
            .entry(u.band.to_string())
            .or_default()
            .add(u.cohort);
        p.by_cell
            .entry((u.function.to_string(), u.band.to_string()))
            .or_default()
            .add(u.cohort);
    }
    p
}

/// One cohort's line of the cohort summary.
#[derive(Clone, Debug, PartialEq)]
pub struct CohortStats {
    /// The cohort.
    pub cohort: Cohort,
    /// People in it.
    pub count: usize,
    /// Lowest and highest usage score among those with usage.
    pub score_range: Option<(f64, f64)>,
    /// Mean gross AI hours per month among those with hours.
    pub mean_gross: Option<f64>,
}

/// Summarises each cohort (in cohort order) from `(cohort, usage score, gross hours)` per employee.
pub fn cohort_stats(
    employees: impl IntoIterator<Item = (Cohort, Option<f64>, Option<f64>)>,
) -> Vec<CohortStats> {
    let mut count = [0usize; 3];
    let mut range: [Option<(f64, f64)>; 3] = [None; 3];
    let mut gross = [(0.0f64, 0usize); 3];
    for (cohort, score, hours) in employees {
        let i = cohort.index();
        count[i] += 1;
        if let Some(s) = score {
            range[i] = Some(range[i].map_or((s, s), |(lo, hi)| (lo.min(s), hi.max(s))));
        }
        if let Some(h) = hours {
            gross[i].0 += h;
            gross[i].1 += 1;
        }
    }
    Cohort::ALL
        .iter()
        .map(|&cohort| {
            let i = cohort.index();
            CohortStats {
                cohort,
                count: count[i],
                score_range: range[i],
                mean_gross: (gross[i].1 > 0).then(|| gross[i].0 / gross[i].1 as f64),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_add_up_to_functions_bands_and_the_total() {
        let units = [
            Unit {
                cohort: Cohort::Heavy,
                function: "Sales",
                band: "< 1 y",
            },
            Unit {
                cohort: Cohort::Light,
                function: "Sales",
                band: "1–3 y",
            },
            Unit {
                cohort: Cohort::Light,
                function: "Finance",
                band: "< 1 y",
            },
        ];
        let p = tabulate(units);
        assert_eq!(p.total.0, [1, 0, 2]);
        assert_eq!(p.by_function["Sales"].total(), 2);
        assert_eq!(p.by_band["< 1 y"].get(Cohort::Heavy), 1);
        assert_eq!(
            p.by_cell[&("Finance".to_string(), "< 1 y".to_string())].get(Cohort::Light),
            1
        );
        let cells: usize = p.by_cell.values().map(Counts::total).sum();
        assert_eq!(cells, p.total.total());
    }

    #[test]
    fn cohort_stats_give_counts_score_ranges_and_mean_hours_in_cohort_order() {
        let stats = cohort_stats([
            (Cohort::Light, None, None),
            (Cohort::Heavy, Some(9.0), Some(20.0)),
            (Cohort::Heavy, Some(7.5), Some(10.0)),
            (Cohort::Heavy, Some(8.0), None),
        ]);
        assert_eq!(
            stats
                .iter()
                .map(|s| (s.cohort, s.count))
                .collect::<Vec<_>>(),
            vec![
                (Cohort::Heavy, 3),
                (Cohort::Moderate, 0),
                (Cohort::Light, 1)
            ]
        );
        assert_eq!(stats[0].score_range, Some((7.5, 9.0)));
        assert_eq!(stats[0].mean_gross, Some(15.0));
        assert_eq!((stats[2].score_range, stats[2].mean_gross), (None, None));
    }
}
