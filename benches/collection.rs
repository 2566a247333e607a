//! Collection-phase benchmark: ping schedules for 25,000 participants, one scheduler tick that queues
//! 25,000 due pings and the outbox drain behind it, and answering 5,000 pings over HTTP.
//! Run with `cargo bench --bench collection`; figures go to BENCHMARKS.md (median of the runs).
//!
//! There is no public "seed participants" API, so after the study and roster are created through the
//! service functions, sample members, participants, pings and link tokens are written with plain SQL.
mod common;

use chrono::{DateTime, Duration as TimeDelta, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use common::{err, median};
use layer2::audit::Actor;
use layer2::auth::token::{hash_token, new_token};
use layer2::clock::ManualClock;
use layer2::config::Config;
use layer2::mail::outbox::drain_once;
use layer2::mail::transport::Mailer;
use layer2::pings::schedule::{ScheduleSpec, participant_seed, ping_times};
use layer2::pings::service::ping_tick;
use layer2::startup::Application;
use layer2::state::AppState;
use sqlx::{QueryBuilder, Sqlite};
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PARTICIPANTS: usize = 25_000;
const ANSWERS: usize = 5_000;
const CONCURRENCY: usize = 32;
const RUNS: usize = 5;
/// Rows per multi-row INSERT while seeding (not timed).
const CHUNK: usize = 500;
/// The study's schedule seed (stored in collection_settings, so the stored pings are the app's own).
const STUDY_SEED: u64 = 2027;
const ZONES: [&str; 6] = [
    "Europe/London",
    "America/New_York",
    "Asia/Singapore",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Australia/Sydney",
];
const ANSWER_FORM: &str = "used=yes&verification=5&correction=3";

/// The minute every seeded ping falls due: Monday 2027-03-22 13:00 UTC.
fn due() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 22, 13, 0, 0).unwrap()
}

/// (participant, slot, due, expires, status, sent_at) of one stored ping.
type PingRowSeed = (
    i64,
    i64,
    DateTime<Utc>,
    DateTime<Utc>,
    &'static str,
    Option<DateTime<Utc>>,
);

/// First local day of the stored ping weeks (the day after `due()`, as consent on the Monday would give).
fn week_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 3, 23).unwrap()
}

fn range(v: &[Duration]) -> (Duration, Duration) {
    (*v.iter().min().unwrap(), *v.iter().max().unwrap())
}

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Nearest-rank percentile of sorted latencies.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn roster(n: usize) -> String {
    let functions = [
        "Engineering",
        "Sales",
        "Finance",
        "Support",
        "Marketing",
        "Operations",
    ];
    common::roster(n, &functions, &ZONES)
}

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

/// What `seed` wrote.
struct Seeded {
    /// Rows in `pings`.
    pings: usize,
    /// For each participant, a link token for their first ping and that ping's id (only when it was sent).
    links: Vec<(String, i64)>,
}

/// A study with `n` consented participants, each with a stored week of pings (15) whose first one is
/// moved to `due()`; that first ping is `sent` (with a fresh link token) when `first_sent`, else `scheduled`.
async fn seed(state: &AppState, n: usize, first_sent: bool) -> anyhow::Result<Seeded> {
    let study = common::study(state, "2027-03-01").await?;
    let id = study.id;
    let imported = layer2::roster::service::import_roster(
        state,
        &Actor::cli(),
        &study,
        "r.csv",
        roster(n).into_bytes(),
    )
    .await
    .map_err(err)?
    .map_err(|p| anyhow::anyhow!("{:?}", p.first().map(|x| x.to_string())))?;
    assert_eq!(imported, n);

    let at = due();
    let invited = at - TimeDelta::days(3);
    let consented = at - TimeDelta::days(1);
    let mut tx = layer2::db::begin_write(&state.pool).await?;
    layer2::participants::service::instrument(&mut tx, id, invited)
        .await
        .map_err(err)?;
    sqlx::query("INSERT INTO collection_settings (study_id, schedule_seed) VALUES (?, ?)")
        .bind(id)
        .bind(STUDY_SEED as i64)
        .execute(&mut *tx)
        .await?;
    let employees: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM employees WHERE study_id = ? ORDER BY id")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
    for chunk in employees.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO sample_members (study_id, employee, role, invited_at) ",
        );
        q.push_values(chunk, |mut b, e| {
            b.push_bind(id)
                .push_bind(*e)
                .push_bind("main")
                .push_bind(invited);
        });
        q.build().execute(&mut *tx).await?;
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO participants (study_id, employee, role, invited_at, consent, consent_at, consent_version,
               diary_opens_on, diary_closes_on) ",
        );
        q.push_values(chunk, |mut b, e| {
            b.push_bind(id)
                .push_bind(*e)
                .push_bind("main")
                .push_bind(invited)
                .push_bind("accepted")
                .push_bind(consented)
                .push_bind(1i64)
                .push_bind(consented.date_naive())
                .push_bind(consented.date_naive() + TimeDelta::days(13));
        });
        q.build().execute(&mut *tx).await?;
    }
    let participants: Vec<(i64, String)> = sqlx::query_as(
        "SELECT p.id, e.time_zone FROM participants p JOIN employees e ON e.id = p.employee
         WHERE p.study_id = ? ORDER BY p.id",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    assert_eq!(participants.len(), n);

    let spec = ScheduleSpec::default();
    let expiry = TimeDelta::minutes(60);
    let mut rows: Vec<PingRowSeed> = Vec::with_capacity(n * 15);
    for (pid, zone) in &participants {
        let tz: Tz = zone.parse().map_err(err)?;
        let week = ping_times(
            &spec,
            tz,
            week_start(),
            7,
            participant_seed(STUDY_SEED, *pid),
        )
        .map_err(err)?;
        for s in week {
            assert!(s.at > at, "the rest of the week is after the due minute");
            if s.slot == 0 {
                let (status, sent) = if first_sent {
                    ("sent", Some(at))
                } else {
                    ("scheduled", None)
                };
                rows.push((*pid, 0, at, at + expiry, status, sent));
            } else {
                rows.push((*pid, s.slot.into(), s.at, s.at + expiry, "scheduled", None));
            }
        }
    }
    for chunk in rows.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO pings (participant, slot, due_at, expires_at, status, sent_at) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.0)
                .push_bind(r.1)
                .push_bind(r.2)
                .push_bind(r.3)
                .push_bind(r.4)
                .push_bind(r.5);
        });
        q.build().execute(&mut *tx).await?;
    }

    let mut links = Vec::new();
    if first_sent {
        let first: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT g.id, g.participant FROM pings g JOIN participants p ON p.id = g.participant
             WHERE p.study_id = ? AND g.slot = 0 ORDER BY g.id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let tokens: Vec<(String, i64, i64)> = first
            .into_iter()
            .map(|(ping, participant)| (new_token(), ping, participant))
            .collect();
        for chunk in tokens.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO link_tokens (token_hash, participant, ping, created_at, expires_at) ",
            );
            q.push_values(chunk, |mut b, (token, ping, participant)| {
                b.push_bind(hash_token(token))
                    .push_bind(*participant)
                    .push_bind(*ping)
                    .push_bind(at)
                    .push_bind(at + expiry + TimeDelta::days(30));
            });
            q.build().execute(&mut *tx).await?;
        }
        links = tokens.into_iter().map(|(t, ping, _)| (t, ping)).collect();
    }
    tx.commit().await?;
    Ok(Seeded {
        pings: rows.len(),
        links,
    })
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

struct HttpRun {
    wall: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

/// Benchmark 3: the real server, 5,000 sent pings, answered by 32 client tasks sharing one queue.
fn answer_over_http() -> anyhow::Result<HttpRun> {
    // A runtime per run: dropping it stops the server and its housekeeping task.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse()?,
        ..Default::default()
    };
    config.run_scheduler = false;
    // Five minutes into the pings' hour: every one is sent and answerable.
    let clock = ManualClock::new(due() + TimeDelta::minutes(5));
    let result = rt.block_on(async {
        let app = Application::build(config, Arc::new(clock)).await?;
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let seeded = seed(&state, ANSWERS, true).await?;
        tokio::spawn(app.run());

        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        while client.get(format!("{base}/healthz")).send().await.is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let queue = Arc::new(Mutex::new(VecDeque::from(seeded.links)));
        let t = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..CONCURRENCY {
            let (client, queue, base) = (client.clone(), queue.clone(), base.clone());
            tasks.push(tokio::spawn(async move {
                let mut out: Vec<(u16, bool, Duration)> = Vec::new();
                loop {
                    let Some((token, ping)) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    let t = Instant::now();
                    let r = client
                        .post(format!("{base}/p/{token}/ping/{ping}"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(ANSWER_FORM)
                        .send()
                        .await?;
                    let status = r.status().as_u16();
                    let body = r.text().await?;
                    out.push((status, body.contains("Your answer is saved."), t.elapsed()));
                }
                anyhow::Ok(out)
            }));
        }
        let mut results = Vec::with_capacity(ANSWERS);
        for task in tasks {
            results.extend(task.await??);
        }
        let wall = t.elapsed();

        assert_eq!(results.len(), ANSWERS);
        let not_ok: Vec<u16> = results.iter().filter(|r| r.0 != 200).map(|r| r.0).collect();
        assert!(
            not_ok.is_empty(),
            "{} responses were not 200: {:?}",
            not_ok.len(),
            &not_ok[..not_ok.len().min(10)]
        );
        assert!(
            results.iter().all(|r| r.1),
            "every answer page says it was saved"
        );
        let n = ANSWERS as i64;
        assert_eq!(count(&state, "SELECT COUNT(*) FROM ping_answers").await?, n);
        assert_eq!(
            count(
                &state,
                "SELECT COUNT(*) FROM pings WHERE status = 'answered'"
            )
            .await?,
            n
        );
        let mut lat: Vec<Duration> = results.into_iter().map(|r| r.2).collect();
        lat.sort();
        anyhow::Ok(HttpRun {
            wall,
            p50: percentile(&lat, 50.0),
            p99: percentile(&lat, 99.0),
            max: *lat.last().unwrap(),
        })
    });
    rt.shutdown_background();
    result
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

    // 3. Answers over HTTP.
    let (mut rps, mut p50, mut p99, mut walls) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..RUNS {
        let r = answer_over_http()?;
        let per_s = ANSWERS as f64 / r.wall.as_secs_f64();
        eprintln!(
            "run {}: {} answers in {:?} = {:.0}/s, p50 {:?}, p99 {:?}, max {:?}",
            run + 1,
            ANSWERS,
            r.wall,
            per_s,
            r.p50,
            r.p99,
            r.max
        );
        rps.push(per_s);
        p50.push(r.p50);
        p99.push(r.p99);
        walls.push(r.wall);
    }

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
    println!("runs: {RUNS} (medians, range = min – max)");
    println!(
        "schedules: {PARTICIPANTS} participants x 7 days, default spec, {} zones -> {total_pings} pings",
        ZONES.len()
    );
    line("ping_times for all participants", t_sched);
    println!(
        "tick: {PARTICIPANTS} consented participants, {stored_pings} stored pings, {PARTICIPANTS} due in the same minute"
    );
    line(
        "ping_tick (mark sent, links, 25,000 outbox messages)",
        t_tick,
    );
    line(
        &format!("drain_once until empty ({drain_calls} calls, memory mailer)"),
        t_drain,
    );
    println!(
        "answers: {ANSWERS} sent pings, POST /p/{{token}}/ping/{{id}}, concurrency {CONCURRENCY}, all 200, {ANSWERS} stored"
    );
    let (lo, hi) = (
        rps.iter().cloned().fold(f64::INFINITY, f64::min),
        rps.iter().cloned().fold(0.0, f64::max),
    );
    println!(
        "{:<52} {:>9.0} /s  (range {lo:.0} – {hi:.0} /s)",
        "answers per second",
        median_f(rps)
    );
    line("wall time for all answers", walls);
    line("p50 latency", p50);
    line("p99 latency", p99);
    Ok(())
}
