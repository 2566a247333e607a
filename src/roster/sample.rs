//! Stratified random sample (cohort × function) with a disjoint pilot.

use std::collections::BTreeMap;
use std::fmt;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::cohort::Cohort;
use crate::stats::random::uniform_below;

/// One employee eligible for the sample.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FrameUnit {
    /// Opaque key returned in the draw (e.g. a database row id).
    pub key: i64,
    /// Employee identifier; defines the canonical order that makes draws reproducible.
    pub employee_id: String,
    /// Adoption cohort (first stratification level).
    pub cohort: Cohort,
    /// Business function (second stratification level, within cohort).
    pub function: String,
}

/// Parameters of a draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DrawSpec {
    /// Main sample size.
    pub n: usize,
    /// Minimum main-sample size of each non-empty cohort (capped at the cohort's population).
    pub min_per_cohort: usize,
    /// Pilot size, drawn from people not in the main sample.
    pub pilot_n: usize,
    /// Seed for `ChaCha8Rng`; same seed and roster give the same people.
    pub seed: u64,
}

/// Population and allocation of one cohort × function cell.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CellAllocation {
    /// Cohort of the cell.
    pub cohort: Cohort,
    /// Function of the cell.
    pub function: String,
    /// People in the roster in this cell.
    pub population: usize,
    /// People drawn into the main sample.
    pub main: usize,
    /// People drawn into the pilot.
    pub pilot: usize,
}

/// Per-cohort totals of a draw, summed over functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CohortTotal {
    /// The cohort.
    pub cohort: Cohort,
    /// People in the roster in this cohort.
    pub population: usize,
    /// People drawn into the main sample.
    pub main: usize,
    /// People drawn into the pilot.
    pub pilot: usize,
}

/// Result of a draw: keys of the drawn units and the allocation per cell.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Draw {
    /// Keys in the main sample, in cell order then draw order.
    pub main: Vec<i64>,
    /// Keys in the pilot, in cell order then draw order; disjoint from `main`.
    pub pilot: Vec<i64>,
    /// Every non-empty cell, sorted by cohort then function.
    pub cells: Vec<CellAllocation>,
}

/// A cohort whose main sample stays under the minimum asked for (it has too few people).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shortfall {
    /// The cohort.
    pub cohort: Cohort,
    /// Its people on the roster.
    pub population: usize,
    /// Of them, in the main sample.
    pub main: usize,
    /// How many the main sample misses the minimum by.
    pub short: usize,
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} has only {} people: {} in the main sample, {} short of the minimum of {}",
            self.cohort.label(),
            self.population,
            self.main,
            self.short,
            self.main + self.short
        )
    }
}

/// The cohorts whose main sample is under `min_per_cohort`, given totals per cohort.
pub fn shortfalls(totals: &[CohortTotal], min_per_cohort: usize) -> Vec<Shortfall> {
    totals
        .iter()
        .filter(|t| t.population > 0 && t.main < min_per_cohort)
        .map(|t| Shortfall {
            cohort: t.cohort,
            population: t.population,
            main: t.main,
            short: min_per_cohort - t.main,
        })
        .collect()
}

/// Draw settings that fit a roster (`sizes`: people per cohort) for a wanted main sample (the
/// calculator's n): the pilot is a tenth of the roster, at least one person per cohort and at most 50;
/// the main sample is the wanted n, at most four fifths of the people the pilot leaves (so a fifth stays
/// out of both); the minimum per cohort is 30, or half the smallest cohort, or an equal share of the
/// sample, whichever is smallest. `capped` is true when the wanted n had to shrink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suggestion {
    /// Main sample size.
    pub n: usize,
    /// Minimum per cohort.
    pub min_per_cohort: usize,
    /// Pilot size.
    pub pilot_n: usize,
    /// The wanted n did not fit and was lowered.
    pub capped: bool,
}

/// See [`Suggestion`].
pub fn suggest(sizes: &[usize], wanted_n: usize) -> Suggestion {
    let total: usize = sizes.iter().sum();
    let cohorts = sizes.iter().filter(|&&p| p > 0).count();
    let smallest = sizes.iter().copied().filter(|&p| p > 0).min().unwrap_or(0);
    let pilot_n = (total.div_ceil(10))
        .clamp(cohorts, 50.max(cohorts))
        .min(total / 2);
    let cap = (total - pilot_n) * 4 / 5;
    let n = wanted_n
        .min(cap)
        .max(1)
        .min(total.saturating_sub(pilot_n + 1));
    let min_per_cohort = 30.min(smallest / 2).min(n / cohorts.max(1));
    Suggestion {
        n,
        min_per_cohort,
        pilot_n,
        capped: wanted_n > n,
    }
}

impl Draw {
    /// Totals per non-empty cohort, in cohort order.
    pub fn cohort_totals(&self) -> Vec<CohortTotal> {
        Cohort::ALL
            .iter()
            .filter_map(|&cohort| {
                let cells = self.cells.iter().filter(|c| c.cohort == cohort);
                let mut total = CohortTotal {
                    cohort,
                    population: 0,
                    main: 0,
                    pilot: 0,
                };
                for c in cells {
                    total.population += c.population;
                    total.main += c.main;
                    total.pilot += c.pilot;
                }
                (total.population > 0).then_some(total)
            })
            .collect()
    }
}

/// Why a sample cannot be drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SampleError {
    /// The roster has no one in it.
    EmptyFrame,
    /// The requested sample size is zero.
    ZeroSample,
    /// The same employee id appears twice in the roster.
    DuplicateEmployee(String),
    /// Sample plus pilot exceed the roster.
    TooLarge {
        /// Requested main sample size.
        n: usize,
        /// Requested pilot size.
        pilot_n: usize,
        /// People in the roster.
        roster: usize,
    },
    /// Sample and pilot together would take every person on the roster.
    WholePopulation {
        /// Requested main sample size.
        n: usize,
        /// Requested pilot size.
        pilot_n: usize,
        /// People in the roster.
        roster: usize,
    },
    /// A cohort would have nobody in the pilot, so the pilot could not try the instruments on it.
    CohortWithoutPilot {
        /// The cohort.
        cohort: Cohort,
        /// Its people on the roster.
        population: usize,
        /// Of them, in the main sample.
        main: usize,
    },
    /// The per-cohort minimum cannot fit in the sample.
    MinimumTooLarge {
        /// Requested minimum per cohort.
        min_per_cohort: usize,
        /// People the minimums need in total (each capped at its cohort's population).
        needed: usize,
        /// Non-empty cohorts.
        cohorts: usize,
        /// Requested main sample size.
        n: usize,
    },
}

impl SampleError {
    /// The draw form's control the refusal is about (`""` for the roster as a whole).
    pub fn field(&self) -> &'static str {
        match self {
            SampleError::EmptyFrame | SampleError::DuplicateEmployee(_) => "",
            SampleError::ZeroSample
            | SampleError::TooLarge { .. }
            | SampleError::WholePopulation { .. } => "n",
            SampleError::CohortWithoutPilot { .. } => "pilot_n",
            SampleError::MinimumTooLarge { .. } => "min_per_cohort",
        }
    }
}

impl fmt::Display for SampleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SampleError::EmptyFrame => {
                f.write_str("the roster is empty: import employees before drawing a sample")
            }
            SampleError::ZeroSample => f.write_str("the sample size must be at least 1"),
            SampleError::DuplicateEmployee(id) => write!(
                f,
                "employee \"{id}\" appears more than once in the roster; each person can be sampled only once"
            ),
            SampleError::TooLarge {
                n,
                pilot_n: 0,
                roster,
            } => write!(
                f,
                "the sample ({n}) needs {n} people but the roster has {roster}"
            ),
            SampleError::TooLarge { n, pilot_n, roster } => write!(
                f,
                "the sample ({n}) and the pilot ({pilot_n}) need {} people but the roster has {roster}",
                n.saturating_add(*pilot_n)
            ),
            SampleError::WholePopulation { n, pilot_n, roster } => write!(
                f,
                "the sample ({n}) and the pilot ({pilot_n}) would take all {roster} people on the roster: \
                 nobody would be left out, so the sample would stand for no one but itself; draw fewer"
            ),
            SampleError::CohortWithoutPilot {
                cohort,
                population,
                main,
            } => write!(
                f,
                "the {} cohort ({population} people, {main} of them in the main sample) would have nobody in \
                 the pilot, so the pilot could not try the instruments on it; lower the main sample or the \
                 minimum per cohort, or raise the pilot",
                cohort.label().to_lowercase()
            ),
            SampleError::MinimumTooLarge {
                min_per_cohort,
                needed,
                cohorts,
                n,
            } => write!(
                f,
                "a minimum of {min_per_cohort} per cohort needs {needed} people across {cohorts} cohorts \
                 but the sample is {n}; lower the minimum or raise the sample size"
            ),
        }
    }
}

impl std::error::Error for SampleError {}

/// Draws the main sample and a disjoint pilot, stratified by cohort then function.
pub fn draw_sample(frame: &[FrameUnit], spec: &DrawSpec) -> Result<Draw, SampleError> {
    if frame.is_empty() {
        return Err(SampleError::EmptyFrame);
    }
    // Canonical order: makes the draw independent of how the roster was read in.
    let mut sorted: Vec<&FrameUnit> = frame.iter().collect();
    sorted.sort_by(|a, b| a.employee_id.cmp(&b.employee_id));
    if let Some(w) = sorted
        .windows(2)
        .find(|w| w[0].employee_id == w[1].employee_id)
    {
        // With duplicates the canonical order would be ambiguous and a person could be drawn twice.
        return Err(SampleError::DuplicateEmployee(w[0].employee_id.clone()));
    }
    if spec.n == 0 {
        return Err(SampleError::ZeroSample);
    }
    if spec
        .n
        .checked_add(spec.pilot_n)
        .is_none_or(|t| t > frame.len())
    {
        return Err(SampleError::TooLarge {
            n: spec.n,
            pilot_n: spec.pilot_n,
            roster: frame.len(),
        });
    }

    if spec.n + spec.pilot_n == frame.len() {
        return Err(SampleError::WholePopulation {
            n: spec.n,
            pilot_n: spec.pilot_n,
            roster: frame.len(),
        });
    }

    // Cells in fixed order (cohort, function); members keep the canonical order.
    let mut cell_map: BTreeMap<(Cohort, &str), Vec<&FrameUnit>> = BTreeMap::new();
    for u in &sorted {
        cell_map
            .entry((u.cohort, u.function.as_str()))
            .or_default()
            .push(u);
    }
    let cells: Vec<((Cohort, &str), Vec<&FrameUnit>)> = cell_map.into_iter().collect();

    let cohort_pop = cohort_sums(&cells, |members| members.len());
    // The minimum is capped at each cohort's population (less one person kept for the pilot, when there
    // is one): a tiny heavy cohort is taken (nearly) whole rather than making the draw impossible, and
    // `Draw::shortfalls` says by how many it misses the minimum.
    let keep = usize::from(spec.pilot_n > 0);
    let minimums = cohort_pop.map(|p| p.saturating_sub(keep).min(spec.min_per_cohort));
    let needed: usize = minimums.iter().sum();
    if needed > spec.n {
        return Err(SampleError::MinimumTooLarge {
            min_per_cohort: spec.min_per_cohort,
            needed,
            cohorts: cohort_pop.iter().filter(|&&p| p > 0).count(),
            n: spec.n,
        });
    }

    let main_alloc = allocate(spec.n, &cells, |m| m.len(), Some(&minimums));
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);

    let mut main = Vec::with_capacity(spec.n);
    let mut rests: Vec<Vec<&FrameUnit>> = Vec::with_capacity(cells.len());
    for ((_, members), &k) in cells.iter().zip(&main_alloc) {
        let mut pool = members.clone();
        partial_shuffle(&mut pool, k, &mut rng);
        main.extend(pool[..k].iter().map(|u| u.key));
        // The pilot frame is exactly the units not drawn, so the two never overlap.
        rests.push(pool.split_off(k));
    }

    // The pilot is proportional to what is left, so it always fits in every cell.
    let rest_cells: Vec<((Cohort, &str), Vec<&FrameUnit>)> = cells
        .iter()
        .zip(rests)
        .map(|((id, _), rest)| (*id, rest))
        .collect();
    // Every cohort with someone left gets at least one pilot member (the pilot tries the instruments on
    // each cohort), the rest in proportion; a pilot too small for that is refused below.
    let rest_pop = cohort_sums(&rest_cells, |m| m.len());
    let pilot_floor = rest_pop.map(|p| p.min(1));
    let pilot_alloc = if pilot_floor.iter().sum::<usize>() <= spec.pilot_n {
        allocate(spec.pilot_n, &rest_cells, |m| m.len(), Some(&pilot_floor))
    } else {
        allocate(spec.pilot_n, &rest_cells, |m| m.len(), None)
    };
    if spec.pilot_n > 0 {
        let pilot_per_cohort = cohort_sums(
            &rest_cells
                .iter()
                .zip(&pilot_alloc)
                .map(|((id, _), &k)| (*id, k))
                .collect::<Vec<_>>(),
            |&k| k,
        );
        let main_per_cohort = cohort_sums(
            &cells
                .iter()
                .zip(&main_alloc)
                .map(|((id, _), &k)| (*id, k))
                .collect::<Vec<_>>(),
            |&k| k,
        );
        if let Some(cohort) = Cohort::ALL
            .into_iter()
            .find(|c| cohort_pop[c.index()] > 0 && pilot_per_cohort[c.index()] == 0)
        {
            return Err(SampleError::CohortWithoutPilot {
                cohort,
                population: cohort_pop[cohort.index()],
                main: main_per_cohort[cohort.index()],
            });
        }
    }
    let mut pilot = Vec::with_capacity(spec.pilot_n);
    for ((_, rest), &k) in rest_cells.iter().zip(&pilot_alloc) {
        let mut pool = rest.clone();
        partial_shuffle(&mut pool, k, &mut rng);
        pilot.extend(pool[..k].iter().map(|u| u.key));
    }

    let cells = cells
        .iter()
        .zip(main_alloc.iter().zip(&pilot_alloc))
        .map(|(((cohort, function), members), (&m, &p))| CellAllocation {
            cohort: *cohort,
            function: (*function).to_string(),
            population: members.len(),
            main: m,
            pilot: p,
        })
        .collect();
    Ok(Draw { main, pilot, cells })
}

fn cohort_sums<T>(cells: &[((Cohort, &str), T)], size: impl Fn(&T) -> usize) -> [usize; 3] {
    let mut sums = [0; 3];
    for ((cohort, _), members) in cells {
        sums[cohort.index()] += size(members);
    }
    sums
}

/// Splits `total` over cells: first over cohorts (with optional minimums), then over
/// each cohort's functions. Requires `total` ≤ the sum of cell sizes.
fn allocate<T>(
    total: usize,
    cells: &[((Cohort, &str), T)],
    size: impl Fn(&T) -> usize + Copy,
    minimums: Option<&[usize; 3]>,
) -> Vec<usize> {
    let pops = cohort_sums(cells, size);
    let per_cohort = match minimums {
        Some(mins) => allocate_with_minimums(total, &pops, mins).to_vec(),
        None => largest_remainder(total, &pops),
    };
    let mut out = vec![0; cells.len()];
    for cohort in Cohort::ALL {
        let ci = cohort.index();
        // `cells` is sorted by (cohort, function), so index order is function-name order
        // and ties in the remainder go to the alphabetically first function.
        let idx: Vec<usize> = (0..cells.len())
            .filter(|&i| cells[i].0.0 == cohort)
            .collect();
        let weights: Vec<usize> = idx.iter().map(|&i| size(&cells[i].1)).collect();
        for (&i, k) in idx.iter().zip(largest_remainder(per_cohort[ci], &weights)) {
            out[i] = k;
        }
    }
    out
}

/// Hamilton (largest-remainder) apportionment of `total` by `weights`; ties go to the lower index.
/// With `total` ≤ Σweights no share exceeds its weight.
fn largest_remainder(total: usize, weights: &[usize]) -> Vec<usize> {
    let sum: u128 = weights.iter().map(|&w| w as u128).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    // Exact integer arithmetic: float quotas could misorder equal remainders.
    let mut shares = Vec::with_capacity(weights.len());
    let mut rems = Vec::with_capacity(weights.len());
    for &w in weights {
        let q = total as u128 * w as u128;
        shares.push((q / sum) as usize);
        rems.push(q % sum);
    }
    let left = total - shares.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // Stable sort keeps index order among equal remainders.
    order.sort_by(|&a, &b| rems[b].cmp(&rems[a]));
    for &i in order.iter().take(left) {
        shares[i] += 1;
    }
    shares
}

/// Proportional allocation with a floor: cohorts whose proportional share falls below their minimum are
/// fixed at it, and the rest of the sample is shared proportionally among the others (repeated until stable).
/// This keeps the unconstrained cohorts in proportion to each other, as the composition table shows.
fn allocate_with_minimums(total: usize, pops: &[usize; 3], mins: &[usize; 3]) -> [usize; 3] {
    let mut fixed = [false; 3];
    loop {
        let free_total = total - (0..3).filter(|&i| fixed[i]).map(|i| mins[i]).sum::<usize>();
        let weights: Vec<usize> = (0..3).map(|i| if fixed[i] { 0 } else { pops[i] }).collect();
        let shares = largest_remainder(free_total, &weights);
        let mut alloc = [0; 3];
        for i in 0..3 {
            alloc[i] = if fixed[i] { mins[i] } else { shares[i] };
        }
        let newly: Vec<usize> = (0..3)
            .filter(|&i| !fixed[i] && alloc[i] < mins[i])
            .collect();
        if newly.is_empty() {
            // Anything the free cohorts cannot hold goes where there is room, in cohort order.
            for i in 0..3 {
                alloc[i] = alloc[i].min(pops[i]);
            }
            let mut left = total - alloc.iter().sum::<usize>();
            for i in 0..3 {
                let room = (pops[i] - alloc[i]).min(left);
                alloc[i] += room;
                left -= room;
            }
            return alloc;
        }
        for i in newly {
            fixed[i] = true;
        }
    }
}

/// Moves a uniform random `k`-subset of `pool` to its front (partial Fisher–Yates).
fn partial_shuffle<T>(pool: &mut [T], k: usize, rng: &mut ChaCha8Rng) {
    let len = pool.len();
    for i in 0..k.min(len) {
        let left = (len - i) as u64;
        // Samples drawn before the sampler was shared took a number from the stream even for a
        // last single choice; keep doing so, so that every stored seed still draws the same people.
        if left == 1 {
            rng.next_u64();
        }
        let j = i + uniform_below(rng, left) as usize;
        pool.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use std::collections::{HashMap, HashSet};

    const FUNCTIONS: [&str; 4] = ["Engineering", "Finance", "Sales", "Support"];

    /// Roster of `size` people: `heavy` heavy, 40% moderate, rest light; ids scrambled
    /// relative to keys (7919 is prime, so ids stay unique), uneven functions.
    fn roster(size: usize, heavy: usize) -> Vec<FrameUnit> {
        let moderate = size * 2 / 5;
        (0..size)
            .map(|i| FrameUnit {
                key: 1000 + i as i64,
                employee_id: format!("E{:06}", (i * 7919) % size),
                cohort: if i < heavy {
                    Cohort::Heavy
                } else if i < heavy + moderate {
                    Cohort::Moderate
                } else {
                    Cohort::Light
                },
                // Uneven function sizes: Engineering gets the most.
                function: FUNCTIONS[(i * i) % 7 % 4].to_string(),
            })
            .collect()
    }

    fn spec(n: usize, min: usize, pilot: usize, seed: u64) -> DrawSpec {
        DrawSpec {
            n,
            min_per_cohort: min,
            pilot_n: pilot,
            seed,
        }
    }

    fn check_invariants(frame: &[FrameUnit], s: &DrawSpec, d: &Draw) {
        assert_eq!(d.main.len(), s.n);
        assert_eq!(d.pilot.len(), s.pilot_n);
        let keys: HashMap<i64, &FrameUnit> = frame.iter().map(|u| (u.key, u)).collect();
        let main: HashSet<i64> = d.main.iter().copied().collect();
        let pilot: HashSet<i64> = d.pilot.iter().copied().collect();
        assert_eq!(main.len(), s.n, "no duplicates in main");
        assert_eq!(pilot.len(), s.pilot_n, "no duplicates in pilot");
        assert!(main.is_disjoint(&pilot), "main and pilot overlap");
        assert!(main.iter().chain(&pilot).all(|k| keys.contains_key(k)));
        // Cell counts agree with the drawn keys.
        let mut counted: HashMap<(Cohort, &str), (usize, usize, usize)> = HashMap::new();
        for u in frame {
            let e = counted.entry((u.cohort, &u.function)).or_default();
            e.0 += 1;
            e.1 += main.contains(&u.key) as usize;
            e.2 += pilot.contains(&u.key) as usize;
        }
        assert_eq!(d.cells.len(), counted.len());
        for c in &d.cells {
            assert_eq!(
                counted[&(c.cohort, c.function.as_str())],
                (c.population, c.main, c.pilot)
            );
            assert!(c.main + c.pilot <= c.population);
        }
        let order: Vec<_> = d.cells.iter().map(|c| (c.cohort, &c.function)).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "cells sorted");
    }

    /// The sampler as it was before it was shared: it drew from the stream even for a single choice.
    fn old_partial_shuffle<T>(pool: &mut [T], k: usize, rng: &mut ChaCha8Rng) {
        let len = pool.len();
        for i in 0..k.min(len) {
            let bound = (len - i) as u64;
            let threshold = bound.wrapping_neg() % bound;
            let j = loop {
                let x = rng.next_u64();
                if x >= threshold {
                    break i + (x % bound) as usize;
                }
            };
            pool.swap(i, j);
        }
    }

    #[test]
    fn a_stored_seed_still_draws_the_same_people_as_before_the_sampler_was_shared() {
        for (len, k) in [(3, 3), (5, 5), (7, 4), (1, 1), (10, 10)] {
            let (mut a, mut b) = (ChaCha8Rng::seed_from_u64(31), ChaCha8Rng::seed_from_u64(31));
            let (mut new, mut old): (Vec<usize>, Vec<usize>) =
                ((0..len).collect(), (0..len).collect());
            partial_shuffle(&mut new, k, &mut a);
            old_partial_shuffle(&mut old, k, &mut b);
            assert_eq!(new, old, "len {len}, k {k}");
            // The next stratum's draw starts from the same place in the stream.
            assert_eq!(a.next_u64(), b.next_u64(), "len {len}, k {k}");
        }
    }

    #[test]
    fn same_seed_same_people_and_order_independent() {
        let frame = roster(5000, 400);
        let s = spec(400, 30, 50, 42);
        let a = draw_sample(&frame, &s).unwrap();
        let b = draw_sample(&frame, &s).unwrap();
        assert_eq!(a, b);
        check_invariants(&frame, &s, &a);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..3 {
            let mut shuffled = frame.clone();
            shuffled.shuffle(&mut rng);
            assert_eq!(draw_sample(&shuffled, &s).unwrap(), a);
        }
    }

    #[test]
    fn different_seed_different_people() {
        let frame = roster(5000, 400);
        let a = draw_sample(&frame, &spec(300, 30, 50, 1)).unwrap();
        let b = draw_sample(&frame, &spec(300, 30, 50, 2)).unwrap();
        assert_eq!(a.cells, b.cells, "allocation does not depend on the seed");
        let sa: HashSet<i64> = a.main.iter().copied().collect();
        let sb: HashSet<i64> = b.main.iter().copied().collect();
        // Two independent 6% samples share ~6% of people; far from identical.
        assert!(sa.intersection(&sb).count() < 100);
        assert_ne!(a.pilot, b.pilot);
    }

    #[test]
    fn proportional_within_one_per_cell() {
        let frame = roster(20_000, 2000);
        let s = spec(1000, 0, 200, 9);
        let d = draw_sample(&frame, &s).unwrap();
        check_invariants(&frame, &s, &d);
        let big_n = frame.len() as f64;
        for c in &d.cells {
            let expected = s.n as f64 * c.population as f64 / big_n;
            assert!(
                (c.main as f64 - expected).abs() <= 1.0,
                "{c:?}: expected ≈{expected:.2}"
            );
        }
        for t in d.cohort_totals() {
            let expected = s.n as f64 * t.population as f64 / big_n;
            assert!((t.main as f64 - expected).abs() < 1.0, "{t:?}");
        }
    }

    #[test]
    fn pilot_is_proportional_to_remaining_people() {
        let frame = roster(10_000, 1000);
        let s = spec(500, 0, 300, 3);
        let d = draw_sample(&frame, &s).unwrap();
        check_invariants(&frame, &s, &d);
        let remaining = (frame.len() - s.n) as f64;
        for c in &d.cells {
            let expected = s.pilot_n as f64 * (c.population - c.main) as f64 / remaining;
            assert!((c.pilot as f64 - expected).abs() <= 1.0, "{c:?}");
        }
    }

    #[test]
    fn minimum_per_cohort_with_tiny_heavy_cohort() {
        // 12 heavy users of 3000; proportional share of 300 would be ~1.
        // Issue 14: one heavy user is kept for the pilot, and the shortfall is named.
        let frame = roster(3000, 12);
        let s = spec(300, 30, 20, 5);
        let d = draw_sample(&frame, &s).unwrap();
        check_invariants(&frame, &s, &d);
        let totals = d.cohort_totals();
        assert_eq!(totals[0].cohort, Cohort::Heavy);
        assert_eq!(
            totals[0].main, 11,
            "a cohort below the minimum is taken whole but for the pilot's"
        );
        assert_eq!(totals[0].pilot, 1);
        assert_eq!(totals.iter().map(|t| t.main).sum::<usize>(), 300);
        let short = shortfalls(&totals, 30);
        assert_eq!(short.len(), 1);
        assert_eq!(
            short[0].to_string(),
            "Heavy has only 12 people: 11 in the main sample, 19 short of the minimum of 30"
        );
        // Without a pilot the tiny cohort is taken whole.
        let s = spec(300, 30, 0, 5);
        let d = draw_sample(&frame, &s).unwrap();
        assert_eq!(d.cohort_totals()[0].main, 12);

        // A cohort of 100 gets raised to the minimum of 60 (proportional ~10).
        let frame = roster(3000, 100);
        let s = spec(300, 60, 0, 5);
        let d = draw_sample(&frame, &s).unwrap();
        check_invariants(&frame, &s, &d);
        let totals = d.cohort_totals();
        assert_eq!(totals[0].main, 60);
        assert!(totals.iter().all(|t| t.main >= 60));
        // The 50 extra come from the cohorts with most surplus, keeping the total exact.
        assert_eq!(totals.iter().map(|t| t.main).sum::<usize>(), 300);
    }

    #[test]
    fn largest_remainder_apportionment() {
        assert_eq!(largest_remainder(10, &[1, 1, 1]), [4, 3, 3]);
        assert_eq!(largest_remainder(2, &[1, 1, 1]), [1, 1, 0]);
        assert_eq!(largest_remainder(7, &[10, 0, 5]), [5, 0, 2]);
        assert_eq!(largest_remainder(0, &[3, 4]), [0, 0]);
        assert_eq!(largest_remainder(0, &[]), Vec::<usize>::new());
        assert_eq!(largest_remainder(3, &[3, 0]), [3, 0]);
    }

    #[test]
    fn minimums_are_floors_and_the_rest_stays_proportional() {
        // 400 of (200, 1000, 800) with at least 60: heavy is lifted to 60, the 340 left split 1000:800.
        assert_eq!(
            allocate_with_minimums(400, &[200, 1000, 800], &[60, 60, 60]),
            [60, 189, 151]
        );
        assert_eq!(
            allocate_with_minimums(100, &[2, 50, 48], &[2, 10, 10]),
            [2, 50, 48]
        );
        assert_eq!(
            allocate_with_minimums(30, &[5, 500, 5], &[5, 10, 5]),
            [5, 20, 5]
        );
        // Nothing to lift: plain proportional allocation.
        assert_eq!(
            allocate_with_minimums(10, &[10, 50, 40], &[0, 0, 0]),
            [1, 5, 4]
        );
    }

    #[test]
    fn whole_roster_and_single_person() {
        // Issue 14: a draw that takes everybody is refused; one person fewer is drawn.
        let frame = roster(200, 20);
        let e = draw_sample(&frame, &spec(150, 10, 50, 0)).unwrap_err();
        assert!(matches!(
            e,
            SampleError::WholePopulation { roster: 200, .. }
        ));
        assert!(e.to_string().contains("would take all 200 people"), "{e}");
        let s = spec(149, 10, 50, 0);
        let d = draw_sample(&frame, &s).unwrap();
        check_invariants(&frame, &s, &d);
        let one = vec![FrameUnit {
            key: 7,
            employee_id: "A".into(),
            cohort: Cohort::Light,
            function: "Ops".into(),
        }];
        assert!(matches!(
            draw_sample(&one, &spec(1, 5, 0, 0)),
            Err(SampleError::WholePopulation { .. })
        ));
    }

    #[test]
    fn the_defaults_on_a_small_roster_drew_everybody_and_left_the_heavy_cohort_out_of_the_pilot() {
        // The roster: 150 people, heavy 15, moderate 75, light 60; defaults 100 + 50, 30 per cohort.
        let frame = roster(150, 15);
        let e = draw_sample(&frame, &spec(100, 30, 50, 1)).unwrap_err();
        assert!(matches!(e, SampleError::WholePopulation { .. }), "{e}");
        // With people left out, the heavy cohort keeps one for the pilot and its shortfall is named.
        let d = draw_sample(&frame, &spec(100, 30, 20, 1)).unwrap();
        let totals = d.cohort_totals();
        assert_eq!((totals[0].main, totals[0].pilot), (14, 1));
        assert_eq!(
            shortfalls(&totals, 30)[0].to_string(),
            "Heavy has only 15 people: 14 in the main sample, 16 short of the minimum of 30"
        );
        // A cohort the main sample takes whole (two heavy users, a sample of nearly everybody) is refused.
        let tiny = roster(150, 2);
        let e = draw_sample(&tiny, &spec(140, 0, 5, 1)).unwrap_err();
        assert_eq!(
            e,
            SampleError::CohortWithoutPilot {
                cohort: Cohort::Heavy,
                population: 2,
                main: 2
            }
        );
        assert!(e.to_string().contains("heavy cohort (2 people"), "{e}");
        // The suggestion fits: a draw with it succeeds and every cohort has a pilot member.
        let sizes = [15, 75, 60];
        let g = suggest(&sizes, 109);
        assert_eq!(
            (g.n, g.min_per_cohort, g.pilot_n, g.capped),
            (108, 7, 15, true)
        );
        let s = spec(g.n, g.min_per_cohort, g.pilot_n, 1);
        let d = draw_sample(&frame, &s).unwrap();
        check_invariants(&frame, &s, &d);
        assert!(d.cohort_totals().iter().all(|t| t.pilot > 0 && t.main >= 7));
        assert!(shortfalls(&d.cohort_totals(), g.min_per_cohort).is_empty());
        // A large roster keeps the classic defaults.
        let g = suggest(&[2_500, 12_500, 10_000], 379);
        assert_eq!(
            (g.n, g.min_per_cohort, g.pilot_n, g.capped),
            (379, 30, 50, false)
        );
    }

    #[test]
    fn errors() {
        let frame = roster(300, 30);
        assert_eq!(
            draw_sample(&[], &spec(10, 0, 0, 0)),
            Err(SampleError::EmptyFrame)
        );
        assert_eq!(
            draw_sample(&frame, &spec(0, 0, 0, 0)),
            Err(SampleError::ZeroSample)
        );
        let e = draw_sample(&frame, &spec(400, 0, 50, 0)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the sample (400) and the pilot (50) need 450 people but the roster has 300"
        );
        let e = draw_sample(&frame, &spec(301, 0, 0, 0)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the sample (301) needs 301 people but the roster has 300"
        );
        assert!(matches!(
            draw_sample(&frame, &spec(usize::MAX, 0, 5, 0)),
            Err(SampleError::TooLarge { .. })
        ));
        let e = draw_sample(&frame, &spec(60, 30, 0, 0)).unwrap_err();
        assert_eq!(
            e,
            SampleError::MinimumTooLarge {
                min_per_cohort: 30,
                needed: 90,
                cohorts: 3,
                n: 60
            }
        );
        assert!(e.to_string().contains("needs 90 people across 3 cohorts"));
        let mut dup = frame.clone();
        dup[5].employee_id = dup[9].employee_id.clone();
        let e = draw_sample(&dup, &spec(10, 0, 0, 0)).unwrap_err();
        assert!(matches!(e, SampleError::DuplicateEmployee(_)));
        assert!(e.to_string().contains("more than once"));
    }
}
