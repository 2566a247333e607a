//! Collection-phase benchmark: ping schedules for 25,000 participants, one scheduler tick that queues
//! 25,000 due pings and the outbox drain behind it, and the `demo` command that replays two studies'
//! collection (the real binary, seeding only). Answers over HTTP: `benches/answers.rs`.
//! Run with `cargo bench --bench collection`; figures go to BENCHMARKS.md (median of the runs).
mod common;

use chrono::NaiveDate;
use chrono_tz::Tz;
use common::seed::{STUDY_SEED, ZONES, due, seed};
use common::{err, median, range};
use layer2::clock::ManualClock;
use layer2::config::Config;
use layer2::mail::outbox::drain_once;
use layer2::mail::transport::Mailer;
use layer2::pings::schedule::{ScheduleSpec, participant_seed, ping_times};
use layer2::pings::service::ping_tick;
use layer2::state::AppState;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PARTICIPANTS: usize = 25_000;
const RUNS: usize = 5;
/// The demo takes seconds a run: fewer runs.
const DEMO_RUNS: usize = 3;

/// Benchmark 1: pure schedule generation. Returns the elapsed time and the number of pings.
fn schedules(zones: &[Tz]) -> (Duration, usize) {
    let spec = ScheduleSpec::default();
    let monday = NaiveDate::from_ymd_opt(2027, 3, 22).unwrap();
    let t = Instant::now();
    let mut total = 0;
    for p in 0..PARTICIPANTS {
        let pings = ping_times(
            &spec,
            zones[p % zones.len()],
            monday,
            7,
            participant_seed(STUDY_SEED, p as i64),
        )
        .expect("valid spec");
        total += black_box(pings).len();
    }
    (t.elapsed(), total)
}

async fn count(state: &AppState, sql: &'static str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(&state.pool).await?)
}

struct TickRun {
    tick: Duration,
    drain: Duration,
    drain_calls: usize,
    pings: usize,
}

/// Benchmark 2: one `ping_tick` at the due minute, then `drain_once` until the outbox is empty.
async fn tick_and_drain() -> anyhow::Result<TickRun> {
    let dir = tempfile::tempdir()?;
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    let pool = layer2::db::connect(&config.database_path()).await?;
    let (mailer, sent) = Mailer::memory(&config.mail.from);
    let clock = ManualClock::new(due());
    let state = AppState::with_mailer(pool, config, Arc::new(clock), mailer);
    let seeded = seed(&state, PARTICIPANTS, false).await?;
    // Pings go out only in the participants' own phase: the study is in collection (plain SQL, untimed).
    sqlx::query("UPDATE studies SET status = 'collection'")
        .execute(&state.pool)
        .await?;

    let t = Instant::now();
    let tick = ping_tick(&state, due()).await.map_err(err)?;
    let t_tick = t.elapsed();
    assert_eq!(tick.sent, PARTICIPANTS);
    assert_eq!(tick.missed, 0);

    let t = Instant::now();
    let (mut delivered, mut calls) = (0, 0);
    loop {
        let r = drain_once(&state, &state.mailer, 0, due()).await?;
        calls += 1;
        assert_eq!((r.retrying, r.failed), (0, 0));
        if r.sent == 0 {
            break;
        }
        delivered += r.sent;
    }
    let t_drain = t.elapsed();

    assert_eq!(delivered, PARTICIPANTS);
    assert_eq!(sent.lock().unwrap().len(), PARTICIPANTS);
    let n = PARTICIPANTS as i64;
    assert_eq!(
        count(&state, "SELECT COUNT(*) FROM pings WHERE status = 'sent'").await?,
        n
    );
    assert_eq!(
        count(
            &state,
            "SELECT COUNT(*) FROM link_tokens WHERE ping IS NOT NULL"
        )
        .await?,
        n
    );
    assert_eq!(
        count(
            &state,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'ping' AND status = 'sent'"
        )
        .await?,
        n
    );
    assert_eq!(
        count(&state, "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'").await?,
        0
    );
    state.pool.close().await;
    Ok(TickRun {
        tick: t_tick,
        drain: t_drain,
        drain_calls: calls,
        pings: seeded.pings,
    })
}

/// Benchmark 3: `layer2 demo --no-serve` (the binary of this profile) into a fresh folder, wall time.
fn demo() -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir()?;
    let t = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_layer2"))
        .args(["demo", "--no-serve", "--data-dir"])
        .arg(dir.path().join("demo"))
        .env("RUST_LOG", "warn")
        .output()?;
    let elapsed = t.elapsed();
    anyhow::ensure!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    anyhow::ensure!(String::from_utf8_lossy(&out.stdout).contains("admin login"));
    Ok(elapsed)
}

fn main() -> anyhow::Result<()> {
    // 1. Schedules (pure).
    let zones: Vec<Tz> = ZONES.iter().map(|z| z.parse().unwrap()).collect();
    let mut t_sched = Vec::new();
    let mut total_pings = 0;
    for run in 0..RUNS {
        let (t, n) = schedules(&zones);
        assert_eq!(n, PARTICIPANTS * 15);
        total_pings = n;
        t_sched.push(t);
        eprintln!("run {}: schedules {:?}", run + 1, t);
    }

    // 2. Tick and drain.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (mut t_tick, mut t_drain) = (Vec::new(), Vec::new());
    let (mut drain_calls, mut stored_pings) = (0, 0);
    for run in 0..RUNS {
        let r = rt.block_on(tick_and_drain())?;
        eprintln!(
            "run {}: tick {:?}, drain {:?} ({} calls)",
            run + 1,
            r.tick,
            r.drain,
            r.drain_calls
        );
        t_tick.push(r.tick);
        t_drain.push(r.drain);
        drain_calls = r.drain_calls;
        stored_pings = r.pings;
    }
    drop(rt);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let line = |what: &str, v: Vec<Duration>| {
        let (lo, hi) = range(&v);
        println!(
            "{what:<52} {:>9.1} ms  (range {:.1} – {:.1} ms)",
            ms(median(v)),
            ms(lo),
            ms(hi)
        );
    };
    // 3. The demo (default size: 3,000 employees).
    let mut t_demo = Vec::new();
    for run in 0..DEMO_RUNS {
        let t = demo()?;
        eprintln!("run {}: demo {:?}", run + 1, t);
        t_demo.push(t);
    }

    println!("runs: {RUNS}, demo {DEMO_RUNS} (medians, range = min – max)");
    println!(
        "schedules: {PARTICIPANTS} participants x 7 days, default spec, {} zones -> {total_pings} pings",
        ZONES.len()
    );
    line("ping_times for all participants", t_sched);
    println!(
        "tick: {PARTICIPANTS} consented participants, {stored_pings} stored pings, {PARTICIPANTS} due in the same minute"
    );
    line("ping_tick (mark sent, 25,000 outbox messages)", t_tick);
    line(
        &format!("drain_once until empty ({drain_calls} calls, memory mailer)"),
        t_drain,
    );
    line(
        "demo --no-serve (3,000 employees, 2 replayed studies)",
        t_demo,
    );
    Ok(())
}
