//! `layer2 analyze` against a vectorised pandas reference (issue 17): 25,000 participants, 250,000 diary
//! tasks and 437,500 pings written as the CSVs `analyze` reads (ISO timestamps); times the release binary
//! (whole process) and `benches/pandas_profile.py` (after its imports), checks that both give the same
//! figures, and reports analyze's peak resident memory (the VmHWM of `/proc/PID/status`, polled every
//! millisecond until it exits). Without python3 or pandas the comparison is skipped, said so.
//! Run with `cargo bench --bench analyze_cli`; figures go to BENCHMARKS.md (median of the runs).
mod common;

use common::median;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PARTICIPANTS: usize = 25_000;
const TASKS: usize = 10;
const RUNS: usize = 5;
const COHORTS: [(&str, usize); 3] = [("heavy", 10), ("moderate", 50), ("light", 40)];

/// The four files for `n` participants (cohorts 10/50/40 of a roster twice as large), 15 to 20 pings
/// each, three in four answered, some late.
fn write_files(dir: &Path, n: usize) -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let file = |name: &str| -> anyhow::Result<_> {
        Ok(std::io::BufWriter::new(std::fs::File::create(
            dir.join(name),
        )?))
    };
    let (mut p, mut d, mut g, mut pop) = (
        file("participants.csv")?,
        file("diary.csv")?,
        file("pings.csv")?,
        file("population.csv")?,
    );
    writeln!(p, "id,cohort,function,tenure,gross_hours_month")?;
    writeln!(d, "participant_id,logged_at,outcome")?;
    writeln!(
        g,
        "participant_id,sent_at,answered_at,used_copilot,verification_min,correction_min,context_min,trust_min"
    )?;
    writeln!(pop, "cohort,population")?;
    for (c, share) in COHORTS {
        writeln!(pop, "{c},{}", n * 2 * share / 100)?;
    }
    let t0 = chrono::Utc::now()
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .expect("09:00")
        .and_utc()
        - chrono::Duration::days(30);
    let iso = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ");
    for i in 0..n {
        let id = format!("{:016x}", rng.random::<u64>());
        let cohort = match i * 100 / n {
            x if x < 10 => "heavy",
            x if x < 60 => "moderate",
            _ => "light",
        };
        let hours = 1.0 + (i % 400) as f64 / 10.0;
        writeln!(p, "{id},{cohort},F{},T{},{hours:.1}", i % 6, i % 4)?;
        for k in 0..TASKS {
            let at = t0 + chrono::Duration::minutes((k * 173 + i % 60) as i64);
            let outcome = ["all", "most", "some", "none"][rng.random_range(0..4)];
            writeln!(d, "{id},{},{outcome}", iso(at))?;
        }
        for k in 0..15 + i % 6 {
            let sent = t0 + chrono::Duration::minutes((k * 97) as i64);
            if rng.random_bool(0.25) {
                writeln!(g, "{id},{},,,,,,", iso(sent))?;
                continue;
            }
            let answered = sent + chrono::Duration::minutes(rng.random_range(1..45));
            if rng.random_bool(0.4) {
                writeln!(g, "{id},{},{},0,,,,", iso(sent), iso(answered))?;
            } else {
                let m = |r: &mut ChaCha8Rng| r.random_range(0..8);
                let (a, b, c, e) = (m(&mut rng), m(&mut rng), m(&mut rng), m(&mut rng));
                writeln!(g, "{id},{},{},1,{a},{b},{c},{e}", iso(sent), iso(answered))?;
            }
        }
    }
    for mut w in [p, d, g, pop] {
        w.flush()?;
    }
    Ok(())
}

/// One `layer2 analyze DIR --json`: wall time, its JSON, and its peak memory as last seen before it exited
/// (polled every millisecond; the high-water mark only grows, so the last reading is the peak to within
/// the final millisecond).
fn analyze(dir: &Path) -> anyhow::Result<(Duration, serde_json::Value, f64)> {
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_layer2"))
        .args(["analyze", dir.to_str().expect("utf-8 path"), "--json"])
        .env("LAYER2_DATA_DIR", dir)
        .stdout(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let mut peak = 0.0f64;
    while child.try_wait()?.is_none() {
        // The high-water mark only grows: the last reading is the peak.
        if let Some(kib) = common::status_kib(&pid.to_string(), "VmHWM:") {
            peak = peak.max(kib as f64 / 1024.0);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let out = child.wait_with_output()?;
    let elapsed = t.elapsed();
    anyhow::ensure!(out.status.success(), "analyze failed");
    Ok((elapsed, serde_json::from_slice(&out.stdout)?, peak))
}

/// The pandas reference: its figures and its own time after imports; `None` without python3 or pandas.
fn pandas(dir: &Path) -> anyhow::Result<Option<serde_json::Value>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pandas_profile.py");
    let out = match Command::new("python3").arg(script).arg(dir).output() {
        Ok(o) => o,
        Err(e) => {
            println!("pandas comparison skipped: python3 not found ({e})");
            return Ok(None);
        }
    };
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        println!(
            "pandas comparison skipped: {}",
            why.lines().last().unwrap_or("python3 failed")
        );
        return Ok(None);
    }
    Ok(Some(serde_json::from_slice(&out.stdout)?))
}

/// Every figure the reference gives equals analyze's to a relative 1e-9.
fn same_figures(ours: &serde_json::Value, theirs: &serde_json::Value) -> anyhow::Result<usize> {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    let mut checked = 0;
    let cohorts = theirs["cohorts"].as_object().expect("cohorts");
    for (cohort, figures) in cohorts {
        let mine = &ours["cohorts"][cohort];
        anyhow::ensure!(mine["n"] == figures["n"], "{cohort}: n differs");
        for (metric, v) in figures.as_object().expect("figures") {
            if metric == "n" {
                continue;
            }
            for part in ["estimate", "se"] {
                let (a, b) = (mine[metric][part].as_f64(), v[part].as_f64());
                anyhow::ensure!(
                    matches!((a, b), (Some(a), Some(b)) if close(a, b)),
                    "{cohort} {metric} {part}: analyze {a:?}, pandas {b:?}"
                );
                checked += 1;
            }
        }
    }
    for (metric, v) in theirs["overall"].as_object().expect("overall") {
        let (a, b) = (ours["overall"][metric]["estimate"].as_f64(), v.as_f64());
        anyhow::ensure!(
            matches!((a, b), (Some(a), Some(b)) if close(a, b)),
            "overall {metric}: analyze {a:?}, pandas {b:?}"
        );
        checked += 1;
    }
    Ok(checked)
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    write_files(dir.path(), PARTICIPANTS)?;
    let size: u64 = [
        "participants.csv",
        "diary.csv",
        "pings.csv",
        "population.csv",
    ]
    .iter()
    .map(|f| std::fs::metadata(dir.path().join(f)).map_or(0, |m| m.len()))
    .sum();
    println!(
        "files: {PARTICIPANTS} participants, {} diary rows, {} pings, {:.1} MB",
        PARTICIPANTS * TASKS,
        (0..PARTICIPANTS).map(|i| 15 + i % 6).sum::<usize>(),
        size as f64 / 1e6
    );
    let (mut times, mut peaks, mut json) = (vec![], vec![], serde_json::Value::Null);
    for _ in 0..RUNS {
        let (t, j, peak) = analyze(dir.path())?;
        times.push(t);
        peaks.push(peak);
        json = j;
    }
    let ours = median(times.clone()).as_secs_f64();
    println!(
        "layer2 analyze (release, whole process): median {:.3} s of {RUNS} (min {:.3}, max {:.3}); peak RSS median {:.1} MiB (max {:.1})",
        ours,
        times.iter().min().expect("runs").as_secs_f64(),
        times.iter().max().expect("runs").as_secs_f64(),
        common::median_f(peaks.clone()),
        peaks.iter().cloned().fold(0.0, f64::max)
    );
    let mut theirs = vec![];
    let mut reference = None;
    for _ in 0..RUNS {
        match pandas(dir.path())? {
            Some(r) => {
                theirs.push(r["seconds"].as_f64().unwrap_or(f64::NAN));
                reference = Some(r);
            }
            None => break,
        }
    }
    if let Some(r) = reference {
        let checked = same_figures(&json, &r)?;
        let t = common::median_f(theirs.clone());
        println!(
            "pandas reference (after imports): median {t:.3} s of {} (min {:.3}, max {:.3}); {checked} figures equal to 1e-9",
            theirs.len(),
            theirs.iter().cloned().fold(f64::INFINITY, f64::min),
            theirs.iter().cloned().fold(0.0, f64::max)
        );
        println!("analyze is {:.1}x faster than pandas", t / ours);
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", load.trim());
    }
    Ok(())
}
