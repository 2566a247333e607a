//! Answers at SQLite's durable limit. Each run measures, on the same disk and in the same process:
//! 1. the raw limit: single-row INSERTs into a one-column table, each its own commit, one after another
//!    on one connection with the application's settings (WAL, `synchronous=FULL`);
//! 2. durable ping answers over HTTP (`POST /p/{token}/ping/{id}`, the real server on 127.0.0.1) by 32
//!    and then 64 client tasks pulling from a shared queue: answers per second, p50/p99, ratio to raw;
//! 3. answers arriving at a steady 300 a second (open loop): p50/p99.
//!
//! Every response must be 200 ("Your answer is saved.") and every answer must be stored.
//! The server runs in this process with the binary's allocator setting (one glibc arena, see `src/main.rs`);
//! the client is this same executable run as a second process (`ANSWERS_CLIENT`), as a client elsewhere
//! would be, with glibc's default arenas: in one process the client's allocations would queue on the
//! server's single arena. The two processes share the machine's cores.
//! Run with `cargo bench --bench answers`; figures go to BENCHMARKS.md (median of the runs).
mod common;

use chrono::Duration as TimeDelta;
use common::seed::{due, seed};
use common::{median, median_f, percentile};
use layer2::clock::ManualClock;
use layer2::config::Config;
use layer2::startup::Application;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RUNS: usize = 5;
/// Answers per concurrency level.
const ANSWERS: usize = 5_000;
const LEVELS: [usize; 2] = [32, 64];
/// The steady rate, and how long it is held.
const PACED_PER_SECOND: u64 = 300;
const PACED: usize = 1_800;
/// Commits in the raw measurement.
const RAW_COMMITS: usize = 5_000;
const ANSWER_FORM: &str = "used=yes&verification=5&correction=3";

/// Commits per second of single-row inserts, each its own transaction, in a fresh file in `dir`.
async fn raw_limit(dir: &Path) -> anyhow::Result<f64> {
    let mut conn = SqliteConnectOptions::new()
        .filename(dir.join("raw.sqlite3"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await?;
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT NOT NULL)")
        .execute(&mut conn)
        .await?;
    let t = Instant::now();
    for i in 0..RAW_COMMITS {
        sqlx::query("INSERT INTO t (x) VALUES (?)")
            .bind(format!("answer {i}"))
            .execute(&mut conn)
            .await?;
    }
    let rate = RAW_COMMITS as f64 / t.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(rate)
}

/// One answer over HTTP: its latency, and whether the page said it was saved.
async fn post(
    client: &reqwest::Client,
    base: &str,
    (token, ping): &(String, i64),
) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let r = client
        .post(format!("{base}/p/{token}/ping/{ping}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(ANSWER_FORM)
        .send()
        .await?;
    let status = r.status().as_u16();
    let body = r.text().await?;
    anyhow::ensure!(
        status == 200 && body.contains("Your answer is saved."),
        "an answer got {status}, not the saved page"
    );
    Ok(t.elapsed())
}

struct Load {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn load(lat: &mut [Duration], wall: Duration) -> Load {
    lat.sort();
    Load {
        per_second: lat.len() as f64 / wall.as_secs_f64(),
        p50: percentile(lat, 50.0),
        p99: percentile(lat, 99.0),
    }
}

/// `links` answered by `concurrency` tasks sharing one queue, as fast as the server takes them.
async fn closed_loop(
    client: &reqwest::Client,
    base: &str,
    links: Vec<(String, i64)>,
    concurrency: usize,
) -> anyhow::Result<Load> {
    let queue = Arc::new(Mutex::new(VecDeque::from(links)));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, queue, base) = (client.clone(), queue.clone(), base.to_string());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let Some(link) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                lat.push(post(&client, &base, &link).await?);
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for task in tasks {
        lat.extend(task.await??);
    }
    Ok(load(&mut lat, t.elapsed()))
}

/// `links` answered at a steady rate, each request started on time whatever the others are doing.
async fn open_loop(
    client: &reqwest::Client,
    base: &str,
    links: Vec<(String, i64)>,
) -> anyhow::Result<Load> {
    let mut every = tokio::time::interval(Duration::from_micros(1_000_000 / PACED_PER_SECOND));
    let t = Instant::now();
    let mut tasks = Vec::with_capacity(links.len());
    for link in links {
        every.tick().await;
        let (client, base) = (client.clone(), base.to_string());
        tasks.push(tokio::spawn(
            async move { post(&client, &base, &link).await },
        ));
    }
    let mut lat = Vec::with_capacity(tasks.len());
    for task in tasks {
        lat.push(task.await??);
    }
    Ok(load(&mut lat, t.elapsed()))
}

struct Run {
    raw: f64,
    levels: Vec<Load>,
    paced: Load,
}

fn run() -> anyhow::Result<Run> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let mut config = Config {
        data_dir: dir.path().join("data"),
        listen: "127.0.0.1:0".parse()?,
        ..Default::default()
    };
    config.run_scheduler = false;
    // Five minutes into the pings' hour: every one is sent and answerable.
    let clock = ManualClock::new(due() + TimeDelta::minutes(5));
    let result = rt.block_on(async {
        let raw = raw_limit(dir.path()).await?;
        let app = Application::build(config, Arc::new(clock)).await?;
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let total = ANSWERS * LEVELS.len() + PACED;
        let mut links = seed(&state, total, true).await?.links;
        tokio::spawn(app.run());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        while client.get(format!("{base}/healthz")).send().await.is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut levels = Vec::new();
        for c in LEVELS {
            let rest = links.split_off(ANSWERS);
            levels.push(remote(&base, links, Some(c)).await?);
            links = rest;
        }
        let paced = remote(&base, links, None).await?;
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ping_answers")
            .fetch_one(&state.pool)
            .await?;
        anyhow::ensure!(
            stored == total as i64,
            "{stored} answers stored, not {total}"
        );
        anyhow::Ok(Run { raw, levels, paced })
    });
    rt.shutdown_background();
    result
}

/// Runs the client process on `links`: `concurrency` tasks as fast as the server takes them, or the
/// steady rate with `None`; its figures.
async fn remote(
    base: &str,
    links: Vec<(String, i64)>,
    concurrency: Option<usize>,
) -> anyhow::Result<Load> {
    use std::io::Write;
    let mode = concurrency.map_or("paced".to_string(), |c| c.to_string());
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .env(CLIENT, format!("{base} {mode}"))
        .env_remove("MALLOC_ARENA_MAX")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input: String = links.iter().map(|(t, p)| format!("{t} {p}\n")).collect();
    let out = tokio::task::spawn_blocking(move || {
        stdin.write_all(input.as_bytes())?;
        drop(stdin);
        child.wait_with_output()
    })
    .await??;
    anyhow::ensure!(out.status.success(), "the client process failed");
    let text = String::from_utf8(out.stdout)?;
    let f: Vec<f64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(f.len() == 3, "the client printed {text:?}");
    Ok(Load {
        per_second: f[0],
        p50: Duration::from_secs_f64(f[1]),
        p99: Duration::from_secs_f64(f[2]),
    })
}

/// The environment variable that makes this executable the client: "BASE MODE", links on stdin.
const CLIENT: &str = "ANSWERS_CLIENT";

/// The client process: answers the links read from stdin and prints answers/s, p50 and p99 in seconds.
fn client(spec: &str) -> anyhow::Result<()> {
    use std::io::Read;
    let (base, mode) = spec
        .split_once(' ')
        .ok_or_else(|| anyhow::anyhow!("{CLIENT} is \"BASE MODE\""))?;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let links = input
        .lines()
        .map(|l| {
            let (t, p) = l.split_once(' ').unwrap_or_default();
            Ok((t.to_string(), p.parse()?))
        })
        .collect::<anyhow::Result<Vec<(String, i64)>>>()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let load = rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        match mode {
            "paced" => open_loop(&client, base, links).await,
            c => closed_loop(&client, base, links, c.parse()?).await,
        }
    })?;
    println!(
        "{} {} {}",
        load.per_second,
        load.p50.as_secs_f64(),
        load.p99.as_secs_f64()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    if let Ok(spec) = std::env::var(CLIENT) {
        return client(&spec);
    }
    common::as_the_server_allocates()?;
    let mut runs = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let r = run()?;
        let mut line = format!("run {}: raw {:.0} commits/s", i + 1, r.raw);
        for (c, l) in LEVELS.iter().zip(&r.levels) {
            line += &format!(
                "; c{c} {:.0}/s ({:.2}x) p50 {:.1} ms p99 {:.1} ms",
                l.per_second,
                l.per_second / r.raw,
                ms(l.p50),
                ms(l.p99)
            );
        }
        line += &format!(
            "; {PACED_PER_SECOND}/s p50 {:.1} ms p99 {:.1} ms",
            ms(r.paced.p50),
            ms(r.paced.p99)
        );
        println!("{line}");
        runs.push(r);
    }
    println!("median of {RUNS} runs:");
    println!(
        "{:<44} {:>8.0} /s",
        "raw single-row commits (WAL, FULL)",
        median_f(runs.iter().map(|r| r.raw).collect())
    );
    for (k, c) in LEVELS.iter().enumerate() {
        let per = |f: &dyn Fn(&Run) -> f64| median_f(runs.iter().map(f).collect());
        println!(
            "{:<44} {:>8.0} /s  ratio to raw {:.2}  p50 {:.1} ms  p99 {:.1} ms",
            format!("answers over HTTP, concurrency {c}"),
            per(&|r| r.levels[k].per_second),
            per(&|r| r.levels[k].per_second / r.raw),
            ms(median(runs.iter().map(|r| r.levels[k].p50).collect())),
            ms(median(runs.iter().map(|r| r.levels[k].p99).collect())),
        );
    }
    println!(
        "{:<44} {:>8} /s  p50 {:.1} ms  p99 {:.1} ms",
        "answers at a steady rate",
        PACED_PER_SECOND,
        ms(median(runs.iter().map(|r| r.paced.p50).collect())),
        ms(median(runs.iter().map(|r| r.paced.p99).collect())),
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
