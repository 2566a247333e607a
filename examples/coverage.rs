//! The coverage study of the interval methods (issue 15): does a "95% interval" cover the truth 95% of
//! the time on a finite population whose truth is known?
//!
//!   cargo run --release --example coverage -- --params examples/coverage.toml [--replicates N]
//!       [--bootstrap B] [--sizes 10,30,60] [--seed S]
//!
//! Generates one finite population from the parameters file (unequal cohorts, per-person random
//! effects, heavy-tailed oversight minutes, correlated yield and gross hours), computes the true
//! cohort and overall figures on all of it, then for each size draws `replicates` stratified samples
//! without replacement (with non-response) and records, per metric, cohort and method, how often the
//! interval covers the truth and on which side it misses. Prints Markdown tables (BENCHMARKS.md).
use std::collections::BTreeMap;

use clap::Parser;
use layer2::stats::bootstrap::{BootstrapOptions, bootstrap};
use layer2::stats::intervals::Method;
use layer2::stats::profile::{Metric, ParticipantData, StudyProfile, profile_with};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

#[derive(Parser)]
struct Args {
    /// The population's parameters (TOML).
    #[arg(long, default_value = "examples/coverage.toml")]
    params: std::path::PathBuf,
    /// Samples per size (overrides the file).
    #[arg(long)]
    replicates: Option<usize>,
    /// Rao–Wu resamples per sample, 0 to leave the bootstrap out (overrides the file).
    #[arg(long)]
    bootstrap: Option<usize>,
    /// Participants per cohort, comma-separated (overrides the file).
    #[arg(long, value_delimiter = ',')]
    sizes: Option<Vec<usize>>,
    /// Seed (overrides the file).
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Deserialize)]
struct Params {
    seed: u64,
    replicates: usize,
    bootstrap: usize,
    sizes: Vec<usize>,
    level: f64,
    tasks_min: u32,
    tasks_max: u32,
    pings: u32,
    yield_sd: f64,
    gross_sd: f64,
    gross_yield_corr: f64,
    oversight_person_sd: f64,
    oversight_ping_sd: f64,
    zero_minutes: f64,
    cohort: Vec<CohortParams>,
}

#[derive(Deserialize)]
struct CohortParams {
    name: String,
    population: usize,
    response: f64,
    #[serde(rename = "yield")]
    yield_rate: f64,
    gross: f64,
    use_rate: f64,
    oversight: f64,
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn person(p: &Params, c: &CohortParams, id: String, rng: &mut ChaCha8Rng) -> ParticipantData {
    let b = normal(rng);
    let logit = (c.yield_rate / (1.0 - c.yield_rate)).ln() + p.yield_sd * b;
    let pi = 1.0 / (1.0 + (-logit).exp());
    let n = rng.random_range(p.tasks_min..=p.tasks_max);
    let used = (0..n).filter(|_| rng.random_bool(pi)).count();
    let rho = p.gross_yield_corr;
    let e = rho * b + (1.0 - rho * rho).sqrt() * normal(rng);
    let gross = c.gross * (p.gross_sd * e).exp();
    let scale = c.oversight * (p.oversight_person_sd * normal(rng)).exp();
    let (mut u, mut m) = (0.0, 0.0);
    for _ in 0..p.pings {
        if rng.random_bool(c.use_rate) {
            u += 1.0;
            if !rng.random_bool(p.zero_minutes) {
                m += (scale * (p.oversight_ping_sd * normal(rng)).exp())
                    .min(60.0)
                    .round();
            }
        }
    }
    ParticipantData {
        id,
        cohort: c.name.clone(),
        n_tasks: n as f64,
        used_tasks: used as f64,
        used_pings: u,
        oversight_min: m,
        gross_hours: (gross * 10.0).round() / 10.0,
    }
}

const METRICS: [Metric; 5] = [
    Metric::Yield,
    Metric::Oversight,
    Metric::Gross,
    Metric::Net,
    Metric::Multiplier,
];

/// The methods compared: R's interval (df n_h − 1, n − H), t with Satterthwaite df overall, the
/// recommended transformation, the Rao–Wu bootstrap percentile interval.
const METHODS: [&str; 4] = [
    "R t (df n-H)",
    "t, Satterthwaite df",
    "recommended",
    "Rao-Wu percentile",
];

#[derive(Default, Clone, Copy)]
struct Tally {
    covered: u32,
    below: u32,
    above: u32,
    missing: u32,
    width: f64,
}

impl Tally {
    fn add(&mut self, interval: Option<(f64, f64)>, truth: f64) {
        match interval {
            None => self.missing += 1,
            Some((lo, hi)) => {
                self.width += hi - lo;
                if hi < truth {
                    self.below += 1;
                } else if lo > truth {
                    self.above += 1;
                } else {
                    self.covered += 1;
                }
            }
        }
    }
    fn n(&self) -> u32 {
        self.covered + self.below + self.above
    }
    fn coverage(&self) -> f64 {
        self.covered as f64 / self.n().max(1) as f64
    }
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.params)
        .map_err(|e| format!("cannot read {}: {e}", args.params.display()))?;
    let mut p: Params =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", args.params.display()))?;
    if let Some(r) = args.replicates {
        p.replicates = r;
    }
    if let Some(b) = args.bootstrap {
        p.bootstrap = b;
    }
    if let Some(s) = args.sizes {
        p.sizes = s;
    }
    if let Some(s) = args.seed {
        p.seed = s;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let mut population: Vec<Vec<ParticipantData>> = Vec::new();
    let mut pops = BTreeMap::new();
    for c in &p.cohort {
        let people = (0..c.population)
            .map(|i| person(&p, c, format!("{}-{i:05}", c.name), &mut rng))
            .collect();
        population.push(people);
        pops.insert(c.name.clone(), c.population as f64);
    }
    let everyone: Vec<ParticipantData> = population.iter().flatten().cloned().collect();
    // The truth: the same estimators on the whole population.
    let truth = profile_with(&everyone, &pops, p.level, None)?;
    let mut groups: Vec<String> = truth.cohorts.keys().cloned().collect();
    groups.push("overall".to_string());
    let truth_of = |g: &str, m: Metric| -> f64 {
        let prof = if g == "overall" {
            &truth.overall
        } else {
            &truth.cohorts[g]
        };
        prof.get(m)
            .expect("the population has every metric")
            .estimate
    };
    println!(
        "Population: {} (seed {}); replicates {}, Rao–Wu resamples {}, level {}.\n",
        p.cohort
            .iter()
            .map(|c| format!("{} N={} (response {})", c.name, c.population, c.response))
            .collect::<Vec<_>>()
            .join(", "),
        p.seed,
        p.replicates,
        p.bootstrap,
        p.level
    );
    println!("True values:\n");
    println!(
        "| group | yield | oversight min/h | gross h | net h | multiplier |\n|---|---|---|---|---|---|"
    );
    for g in &groups {
        let v: Vec<String> = METRICS
            .iter()
            .map(|&m| format!("{:.4}", truth_of(g, m)))
            .collect();
        println!("| {g} | {} |", v.join(" | "));
    }
    let mut summary: BTreeMap<(usize, Metric), (f64, f64)> = BTreeMap::new();
    for &size in &p.sizes {
        // tallies[method][group][metric]
        let mut tallies = vec![vec![[Tally::default(); 5]; groups.len()]; METHODS.len()];
        let mut achieved = vec![0usize; p.cohort.len()];
        for rep in 0..p.replicates {
            let mut sample = Vec::new();
            for (h, c) in p.cohort.iter().enumerate() {
                let drawn = ((size as f64 / c.response).ceil() as usize).min(c.population);
                let people = &population[h];
                let mut idx: Vec<usize> = (0..people.len()).collect();
                for i in 0..drawn {
                    let j = rng.random_range(i..idx.len());
                    idx.swap(i, j);
                }
                for &i in &idx[..drawn] {
                    if rng.random_bool(c.response) {
                        sample.push(people[i].clone());
                        achieved[h] += 1;
                    }
                }
            }
            let r_t = profile_with(&sample, &pops, p.level, Some(Method::T))?;
            let rec = profile_with(&sample, &pops, p.level, None)?;
            let boot = if p.bootstrap > 0 {
                Some(bootstrap(
                    &sample,
                    &pops,
                    &BootstrapOptions {
                        resamples: p.bootstrap,
                        seed: p.seed ^ (rep as u64 + 1) ^ ((size as u64) << 32),
                        level: p.level,
                    },
                )?)
            } else {
                None
            };
            for (gi, g) in groups.iter().enumerate() {
                let pick = |s: &StudyProfile| {
                    if g == "overall" {
                        s.overall.clone()
                    } else {
                        s.cohorts[g].clone()
                    }
                };
                let (a, b) = (pick(&r_t), pick(&rec));
                for (mi, &m) in METRICS.iter().enumerate() {
                    let truth = truth_of(g, m);
                    let r = a.get(m).map(|e| (e.ci_lower, e.ci_upper));
                    tallies[0][gi][mi].add(r, truth);
                    let s = a
                        .get(m)
                        .and_then(|e| e.interval)
                        .map(|i| (i.lower, i.upper));
                    tallies[1][gi][mi].add(s, truth);
                    let s = b
                        .get(m)
                        .and_then(|e| e.interval)
                        .map(|i| (i.lower, i.upper));
                    tallies[2][gi][mi].add(s, truth);
                    if let Some(boot) = &boot {
                        let bm = if g == "overall" {
                            &boot.overall
                        } else {
                            &boot.cohorts[g]
                        };
                        tallies[3][gi][mi].add(bm.get(m).map(|i| (i.ci_lower, i.ci_upper)), truth);
                    }
                }
            }
        }
        let mean_n: Vec<String> = p
            .cohort
            .iter()
            .zip(&achieved)
            .map(|(c, a)| {
                let n = *a as f64 / p.replicates as f64;
                format!("{} {:.1} (f = {:.2})", c.name, n, n / c.population as f64)
            })
            .collect();
        println!(
            "\n### {size} per cohort (mean analysed: {})\n",
            mean_n.join(", ")
        );
        println!(
            "Coverage, lowest–highest over the cohorts and overall; the worst group, its misses with the"
        );
        println!("interval wholly below / above the truth, and its Monte-Carlo error.\n");
        println!(
            "| metric | method | coverage | worst group | below / above | MC error | not estimable |"
        );
        println!("|---|---|---|---|---|---|---|");
        for (mi, &m) in METRICS.iter().enumerate() {
            for (k, name) in METHODS.iter().enumerate() {
                if k == 3 && p.bootstrap == 0 {
                    continue;
                }
                let t: Vec<Tally> = (0..groups.len()).map(|gi| tallies[k][gi][mi]).collect();
                let (lo_g, lo) = t
                    .iter()
                    .enumerate()
                    .min_by(|a, b| {
                        (a.1.coverage() - 0.95)
                            .abs()
                            .partial_cmp(&(b.1.coverage() - 0.95).abs())
                            .unwrap()
                            .reverse()
                    })
                    .unwrap();
                let min = t.iter().map(Tally::coverage).fold(f64::INFINITY, f64::min);
                let max = t
                    .iter()
                    .map(Tally::coverage)
                    .fold(f64::NEG_INFINITY, f64::max);
                let c = lo.coverage();
                let mc = (c * (1.0 - c) / lo.n().max(1) as f64).sqrt();
                let missing: u32 = t.iter().map(|x| x.missing).sum();
                println!(
                    "| {} | {name} | {:.1}–{:.1}% | {} | {:.1}% / {:.1}% | {:.2}% | {missing} |",
                    m.key(),
                    100.0 * min,
                    100.0 * max,
                    groups[lo_g],
                    100.0 * lo.below as f64 / lo.n().max(1) as f64,
                    100.0 * lo.above as f64 / lo.n().max(1) as f64,
                    100.0 * mc,
                );
                if k == 2 {
                    summary.insert((size, m), (min, max));
                }
            }
        }
    }
    println!(
        "\n### Recommended interval (layer2's `interval`), coverage lowest–highest over cohorts and overall\n"
    );
    let head: Vec<String> = p.sizes.iter().map(|s| format!("{s} per cohort")).collect();
    println!("| metric | {} |", head.join(" | "));
    println!("|---|{}", "---|".repeat(p.sizes.len()));
    for m in METRICS {
        let cells: Vec<String> = p
            .sizes
            .iter()
            .map(|s| {
                let (lo, hi) = summary[&(*s, m)];
                format!("{:.1}–{:.1}%", 100.0 * lo, 100.0 * hi)
            })
            .collect();
        println!("| {} | {} |", m.key(), cells.join(" | "));
    }
    Ok(())
}
