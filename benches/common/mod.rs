//! What the benchmarks share: a server state on a fresh data folder, a bench study, a roster, the median.
#![allow(dead_code)] // each benchmark uses the part it needs
pub mod seed;

use layer2::audit::Actor;
use layer2::clock::Clock;
use layer2::config::Config;
use layer2::state::AppState;
use layer2::study::repo::StudyRow;
use layer2::study::{StudyDetails, StudyForm};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// An application error as an `anyhow` one.
pub fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// The median of the runs (the upper one of an even count).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The median of float figures (the upper one of an even count).
pub fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A figure of `/proc/<pid>/status` in KiB (`VmRSS:`, `VmHWM:`); `pid` "self" for this process.
pub fn status_kib(pid: &str, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The fastest and the slowest run.
pub fn range(v: &[Duration]) -> (Duration, Duration) {
    (*v.iter().min().unwrap(), *v.iter().max().unwrap())
}

/// Nearest-rank percentile of sorted latencies.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The application's state over a new database in `dir`.
pub async fn state(dir: &Path, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let config = Config {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    };
    let pool = layer2::db::connect(&config.database_path()).await?;
    AppState::new(pool, config, clock)
}

/// A study in draft named "Bench", in UTC, starting on `start` (YYYY-MM-DD).
pub async fn study(state: &AppState, start: &str) -> anyhow::Result<StudyRow> {
    let form = StudyForm {
        name: "Bench".into(),
        vendor: "V".into(),
        product: "P".into(),
        model_version: String::new(),
        time_zone: "UTC".into(),
        start_date: start.into(),
    };
    let d = StudyDetails::parse(&form).map_err(|p| anyhow::anyhow!("{p:?}"))?;
    let id = layer2::study::service::create(state, &Actor::cli(), &d)
        .await
        .map_err(err)?;
    layer2::study::service::get(state, id).await.map_err(err)
}

/// A roster of `n` employees spread over `functions` and `zones`, hired 2010–2024.
pub fn roster(n: usize, functions: &[&str], zones: &[&str]) -> String {
    let mut s = String::with_capacity(n * 80);
    s.push_str("employee_id,email,function,hire_date,time_zone\n");
    for i in 0..n {
        s.push_str(&format!(
            "E{i:06},e{i:06}@example.org,{},{}-0{}-15,{}\n",
            functions[i % functions.len()],
            2010 + i % 15,
            1 + i % 9,
            zones[i % zones.len()]
        ));
    }
    s
}
