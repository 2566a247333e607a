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

/// One line of a one-dimensional table as someone who may see no person reads it: one group, or several
/// merged, with the line's counts (for example population, main sample).
#[derive(Clone, Debug, PartialEq)]
pub struct Line<K> {
    /// The groups on this line (more than one when merged).
    pub keys: Vec<K>,
    /// The line's counts, summed over its groups.
    pub counts: Vec<usize>,
}

/// Groups the lines of a one-dimensional table so that no count shown is from 1 to `k` − 1.
///
/// Why merging, not blanking: a blanked cell beside its total (and the total of a roster is on every
/// page) comes back by subtraction, and so does any single blank in a column. So every line with a count
/// under `k` joins one merged line; while that line still has a count under `k`, the smallest other line
/// (by its first count) joins it too. Each shown count is then a group of at least `k` people (or 0), the
/// lines still add up to the total, and no count of a merged group's members follows from the others.
/// Only if the whole table is under `k` does one line keep a small count, which a page shows as "fewer
/// than k". Lines keep their order; the merged line comes last.
pub fn at_least_k<K: Clone>(lines: Vec<(K, Vec<usize>)>, k: usize) -> Vec<Line<K>> {
    let small = |c: &[usize]| c.iter().any(|&n| n > 0 && n < k);
    let (smalls, mut kept): (Vec<_>, Vec<_>) = lines
        .into_iter()
        .map(|(key, counts)| Line {
            keys: vec![key],
            counts,
        })
        .partition(|l| small(&l.counts));
    let Some(mut merged) = smalls.into_iter().reduce(|mut a, b| {
        merge(&mut a, b);
        a
    }) else {
        return kept;
    };
    while small(&merged.counts) && !kept.is_empty() {
        let (i, _) = kept
            .iter()
            .enumerate()
            .min_by_key(|(_, l)| l.counts.first().copied().unwrap_or(0))
            .expect("kept is not empty");
        merge(&mut merged, kept.remove(i));
    }
    kept.push(merged);
    kept
}

/// The cohort summary as a non-admin sees it: cohorts merged by [`at_least_k`], and each line's mean gross
/// hours only when at least `k` of its people have hours. No range: a lowest or highest score is one
/// person's.
pub fn cohort_lines(
    employees: impl IntoIterator<Item = (Cohort, Option<f64>)>,
    k: usize,
) -> Vec<(Line<Cohort>, Option<f64>)> {
    let mut count = [0usize; 3];
    let mut gross = [(0.0f64, 0usize); 3];
    for (cohort, hours) in employees {
        let i = cohort.index();
        count[i] += 1;
        if let Some(h) = hours {
            gross[i].0 += h;
            gross[i].1 += 1;
        }
    }
    let lines = Cohort::ALL
        .iter()
        .map(|&c| (c, vec![count[c.index()]]))
        .collect();
    at_least_k(lines, k)
        .into_iter()
        .map(|l| {
            let (sum, n) = l.keys.iter().fold((0.0, 0), |(s, n), c| {
                (s + gross[c.index()].0, n + gross[c.index()].1)
            });
            let mean = (n >= k).then(|| sum / n as f64);
            (l, mean)
        })
        .collect()
}

fn merge<K>(into: &mut Line<K>, other: Line<K>) {
    into.keys.extend(other.keys);
    for (a, b) in into.counts.iter_mut().zip(other.counts) {
        *a += b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown<K: Clone + std::fmt::Debug>(lines: &[Line<K>]) -> Vec<(Vec<K>, Vec<usize>)> {
        lines
            .iter()
            .map(|l| (l.keys.clone(), l.counts.clone()))
            .collect()
    }

    #[test]
    fn small_groups_are_merged_until_every_count_shown_holds_k_people() {
        // One lawyer, two in HR: merged together (3), still under 5, so the smallest big line joins them.
        let lines = at_least_k(
            vec![
                ("Sales", vec![40]),
                ("Legal", vec![1]),
                ("Finance", vec![9]),
                ("HR", vec![2]),
            ],
            5,
        );
        assert_eq!(
            shown(&lines),
            vec![
                (vec!["Sales"], vec![40]),
                (vec!["Legal", "HR", "Finance"], vec![12])
            ]
        );
        // Nothing small: nothing changes; zeros are no person and stay.
        let lines = at_least_k(vec![("heavy", vec![5, 0]), ("light", vec![50, 7])], 5);
        assert_eq!(shown(&lines).len(), 2);
        // Any count of a line counts: 3 of the main sample in a cohort of 20 is small.
        let lines = at_least_k(
            vec![
                ("heavy", vec![20, 3]),
                ("moderate", vec![30, 9]),
                ("light", vec![100, 30]),
            ],
            5,
        );
        assert_eq!(
            shown(&lines),
            vec![
                (vec!["light"], vec![100, 30]),
                (vec!["heavy", "moderate"], vec![50, 12])
            ]
        );
        // The cohort summary: a heavy cohort of 2 merges with moderate; means only over k with hours.
        let mut people = vec![(Cohort::Heavy, Some(50.0)), (Cohort::Heavy, Some(40.0))];
        people.extend(std::iter::repeat_n((Cohort::Moderate, None), 6));
        people.extend(std::iter::repeat_n((Cohort::Light, Some(1.0)), 9));
        let lines = cohort_lines(people, 5);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].0.keys, vec![Cohort::Light]);
        assert_eq!(lines[0].1, Some(1.0));
        assert_eq!(lines[1].0.keys, vec![Cohort::Heavy, Cohort::Moderate]);
        assert_eq!(
            (lines[1].0.counts[0], lines[1].1),
            (8, None),
            "2 with hours"
        );
        // A table under k altogether keeps one small line.
        let lines = at_least_k(vec![("a", vec![1]), ("b", vec![2])], 5);
        assert_eq!(shown(&lines), vec![(vec!["a", "b"], vec![3])]);
        // Whatever the input, every count shown is 0 or at least k (unless all is under k) and the total holds.
        for seed in 0..200u64 {
            let lines: Vec<(u64, Vec<usize>)> = (0..(seed % 7 + 1))
                .map(|i| (i, vec![((seed * 31 + i * 17) % 13) as usize]))
                .collect();
            let total: usize = lines.iter().map(|l| l.1[0]).sum();
            let out = at_least_k(lines, 5);
            assert_eq!(out.iter().map(|l| l.counts[0]).sum::<usize>(), total);
            if total >= 5 {
                assert!(
                    out.iter().all(|l| l.counts[0] == 0 || l.counts[0] >= 5),
                    "{out:?}"
                );
            }
        }
    }

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
