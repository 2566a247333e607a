//! What the benchmarks share: a server state on a fresh data folder, a bench study, a roster, the median.
#![allow(dead_code)] // each benchmark uses the part it needs
pub mod seed;

use layer2::audit::Actor;
use layer2::clock::Clock;
use layer2::config::Config;
use layer2::state::AppState;
use layer2::study::repo::StudyRow;
use layer2::study::{StudyDetails, StudyForm};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
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

/// Resident and peak-resident memory of a process, in MiB (Linux `/proc`).
pub fn memory_mib(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| anyhow::anyhow!("no {name} in /proc/{pid}/status"))?;
        let kib: f64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kib / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Starts `layer2 serve` on a free port (behind a pretend proxy when `behind_proxy`: the logins benchmark
/// gives each login its own client address) and returns it with its base URL.
pub fn serve(dir: &Path, behind_proxy: bool) -> anyhow::Result<(Child, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_layer2"))
        .arg("serve")
        .env("LAYER2_DATA_DIR", dir)
        .env("LAYER2_LISTEN", "127.0.0.1:0")
        .env("LAYER2_BEHIND_PROXY", behind_proxy.to_string())
        .env("LAYER2_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().expect("piped stdout");
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(rest) = line.strip_prefix("Layer 2 Study on ") {
            let base = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            return Ok((child, base));
        }
    }
    child.kill()?;
    anyhow::bail!("the server did not say where it listens")
}

/// The server binary runs glibc's allocator with one arena (see `src/main.rs`). A benchmark that runs the
/// server inside its own process calls this first: it runs itself again with `MALLOC_ARENA_MAX=1` (glibc
/// reads it before `main`, so it can't be set from here) and exits with that run's status. The client
/// shares the arena too, so the figures are if anything pessimistic for the server.
pub fn as_the_server_allocates() -> anyhow::Result<()> {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return Ok(());
    }
    let status = Command::new(std::env::current_exe()?)
        .args(std::env::args_os().skip(1))
        .env("MALLOC_ARENA_MAX", "1")
        .status()?;
    std::process::exit(status.code().unwrap_or(1));
}
