//! Analysis benchmark: the full Layer 2 profile with a 2,000-resample bootstrap for 25,000 participants,
//! from the pure module alone and from the database (about 250,000 tasks and 500,000 pings).
//! Run with `cargo bench --bench analysis`; figures go to BENCHMARKS.md (median of the runs).
mod common;

use chrono::{Duration as TimeDelta, TimeZone, Utc};
use common::{err, median};
use layer2::audit::Actor;
use layer2::roster::import::UsageFormat;
use layer2::state::AppState;
use layer2::stats::bootstrap::{BootstrapOptions, bootstrap};
use layer2::stats::profile::{ParticipantData, profile};
use layer2::study::StudyId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::{QueryBuilder, Sqlite};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

const PARTICIPANTS: usize = 25_000;
const TASKS: usize = 10;
const PINGS: usize = 20;
const RUNS: usize = 5;
const CHUNK: usize = 400;

/// A roster of `n` with usage for everyone, so the three cohorts are 10/50/40.
fn files(n: usize) -> (String, String) {
    let mut roster = String::from("employee_id,email,function,hire_date,time_zone\n");
    let mut usage = String::from("employee_id,period,active_days,ai_hours\n");
    // Last calendar month: a usage report describes days that have passed (a fixed month in the future
    // was refused once that rule came).
    let today = Utc::now().date_naive();
    let month = (today - TimeDelta::days(chrono::Datelike::day(&today) as i64)).format("%Y-%m");
    for i in 0..n {
        roster.push_str(&format!(
            "E{i:06},e{i:06}@example.org,F{},2020-01-15,Europe/London\n",
            i % 6
        ));
        usage.push_str(&format!(
            "E{i:06},{month},10,{:.1}\n",
            1.0 + (i % 400) as f64 / 10.0
        ));
    }
    (roster, usage)
}

async fn seed(state: &AppState) -> anyhow::Result<StudyId> {
    let study = common::study(state, "2027-01-04").await?;
    let id = study.id;
    let (roster, usage) = files(PARTICIPANTS * 2);
    layer2::roster::service::import_roster(
        state,
        &Actor::cli(),
        &study,
        "r.csv",
        roster.into_bytes(),
    )
    .await
    .map_err(err)?
    .map_err(|_| anyhow::anyhow!("roster refused"))?;
    layer2::roster::service::import_usage(
        state,
        &Actor::cli(),
        &study,
        "u.csv",
        UsageFormat::PlainCsv,
        usage.into_bytes(),
        None,
    )
    .await
    .map_err(err)?
    .map_err(|p| anyhow::anyhow!("usage refused: {p:?}"))?;
    let t0 = Utc.with_ymd_and_hms(2027, 2, 1, 9, 0, 0).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut tx = layer2::db::begin_write(&state.pool).await?;
    // Every second employee takes part: the sample is half the roster.
    let employees: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM employees WHERE study_id = ? AND id % 2 = 0 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    for chunk in employees.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO participants (study_id, employee, role, invited_at, consent, consent_at, consent_version) ",
        );
        q.push_values(chunk, |mut b, e| {
            b.push_bind(id)
                .push_bind(*e)
                .push_bind("main")
                .push_bind(t0)
                .push_bind("accepted")
                .push_bind(t0)
                .push_bind(1i64);
        });
        q.build().execute(&mut *tx).await?;
    }
    let participants: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM participants WHERE study_id = ?")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
    let outcomes = ["all", "most", "most", "some", "none"];
    for chunk in participants.chunks(CHUNK / TASKS * 4) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO diary_entries (participant, category, outcome, minutes_with_ai, minutes_without_ai, instrument_version, created_at, updated_at) ",
        );
        let rows: Vec<(i64, &str)> = chunk
            .iter()
            .flat_map(|p| (0..TASKS).map(move |k| (*p, outcomes[(p + k as i64) as usize % 5])))
            .collect();
        q.push_values(rows, |mut b, (p, o)| {
            b.push_bind(p)
                .push_bind("Code")
                .push_bind(o)
                .push_bind(20i64)
                .push_bind(40i64)
                .push_bind(1i64)
                .push_bind(t0)
                .push_bind(t0);
        });
        q.build().execute(&mut *tx).await?;
    }
    for chunk in participants.chunks(CHUNK / PINGS * 4) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO pings (participant, slot, due_at, expires_at, status, sent_at) ",
        );
        let rows: Vec<(i64, i64, &str)> = chunk
            .iter()
            .flat_map(|p| {
                (0..PINGS as i64).map(move |s| {
                    (
                        *p,
                        s,
                        if (p + s) % 4 == 0 {
                            "missed"
                        } else {
                            "answered"
                        },
                    )
                })
            })
            .collect();
        q.push_values(rows, |mut b, (p, s, status)| {
            let due = t0 + TimeDelta::hours(s);
            b.push_bind(p)
                .push_bind(s)
                .push_bind(due)
                .push_bind(due + TimeDelta::hours(1))
                .push_bind(status)
                .push_bind(due);
        });
        q.build().execute(&mut *tx).await?;
    }
    let answered: Vec<i64> = sqlx::query_scalar(
        "SELECT g.id FROM pings g JOIN participants p ON p.id = g.participant WHERE p.study_id = ? AND g.status = 'answered'",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    for chunk in answered.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO ping_answers (ping, used_copilot, verification_min, correction_min, context_min, trust_min, instrument_version, answered_at) ",
        );
        let rows: Vec<(i64, bool, i64)> = chunk
            .iter()
            .map(|g| (*g, rng.random::<f64>() < 0.65, rng.random_range(0..12)))
            .collect();
        q.push_values(rows, |mut b, (g, used, v)| {
            b.push_bind(g)
                .push_bind(if used { "yes" } else { "no" })
                .push_bind(if used { v } else { 0 })
                .push_bind(if used { v / 2 } else { 0 })
                .push_bind(0i64)
                .push_bind(0i64)
                .push_bind(1i64)
                .push_bind(t0);
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(id)
}

fn pure_data(n: usize) -> (Vec<ParticipantData>, BTreeMap<String, f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let cohorts = [("heavy", 0.1), ("moderate", 0.5), ("light", 0.4)];
    let mut data = Vec::with_capacity(n);
    for i in 0..n {
        let cohort = if i % 10 == 0 {
            "heavy"
        } else if i % 10 < 6 {
            "moderate"
        } else {
            "light"
        };
        let n_tasks = rng.random_range(3..12) as f64;
        let u = rng.random_range(2..14) as f64;
        data.push(ParticipantData {
            id: format!("P{i}"),
            cohort: cohort.into(),
            n_tasks,
            used_tasks: (n_tasks * rng.random_range(0.3..0.9f64)).round(),
            used_pings: u,
            oversight_min: u * rng.random_range(4.0..20.0f64),
            gross_hours: rng.random_range(1.0..40.0f64),
        });
    }
    let populations = cohorts
        .iter()
        .map(|(c, share)| (c.to_string(), (n as f64 * 2.0 * share).round()))
        .collect();
    (data, populations)
}

/// A response body that sends and forgets: counts the bytes.
struct Dropped(usize);

impl layer2::export::stream::Sink for Dropped {
    async fn put(&mut self, bytes: Vec<u8>) -> layer2::error::Result<()> {
        self.0 += bytes.len();
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    common::as_the_server_allocates()?;
    let (data, populations) = pure_data(PARTICIPANTS);
    let (mut t_lin, mut t_boot) = (vec![], vec![]);
    for _ in 0..RUNS {
        let t = Instant::now();
        let p = profile(&data, &populations, layer2::stats::LEVEL).map_err(err)?;
        t_lin.push(t.elapsed());
        assert!(p.overall.net_hours_month.is_some());
        let t = Instant::now();
        bootstrap(&data, &populations, &BootstrapOptions::default()).map_err(err)?;
        t_boot.push(t.elapsed());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let (mut t_db, mut t_page, mut t_report, mut t_export) = (vec![], vec![], vec![], vec![]);
    let mut t_cached = vec![];
    let mut rss = vec![];
    let study = rt.block_on(async {
        let state = common::state(dir.path(), Arc::new(layer2::clock::SystemClock)).await?;
        let t = Instant::now();
        let id = seed(&state).await?;
        eprintln!("seeded in {:?}", t.elapsed());
        let rows: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM diary_entries), (SELECT COUNT(*) FROM pings)",
        )
        .fetch_one(&state.pool)
        .await?;
        eprintln!("{} tasks, {} pings", rows.0, rows.1);
        for _ in 0..RUNS {
            let t = Instant::now();
            let inputs = layer2::reports::study_inputs(&state, id, layer2::stats::MIN_COMPLIANCE)
                .await
                .map_err(err)?;
            t_db.push(t.elapsed());
            let d: Vec<ParticipantData> =
                inputs.kept.iter().map(layer2::reports::to_data).collect();
            assert_eq!(d.len(), PARTICIPANTS);
            let p = profile(&d, &inputs.populations, layer2::stats::LEVEL).map_err(err)?;
            bootstrap(&d, &inputs.populations, &BootstrapOptions::default()).map_err(err)?;
            assert!(p.overall.yield_rate.is_some());
            t_page.push(t.elapsed());
            // The report page's work: totals, profile, oversight split, segments, design effects, the
            // confidentiality rule and the economics.
            // A write that changes no figure still bumps the data version: the first view computes.
            sqlx::query("UPDATE studies SET name = name WHERE id = ?")
                .bind(id)
                .execute(&state.pool)
                .await?;
            let load = || {
                layer2::reports::readout::load(
                    &state,
                    id,
                    layer2::stats::MIN_COMPLIANCE,
                    layer2::reports::compute::Audience::Aggregates,
                )
            };
            let t = Instant::now();
            let r = load().await.map_err(err)?;
            assert_eq!(r.kept, PARTICIPANTS);
            t_report.push(t.elapsed());
            // The next view, data unchanged: the cached computation.
            let t = Instant::now();
            let again = load().await.map_err(err)?;
            t_cached.push(t.elapsed());
            assert_eq!(again.kept, r.kept);
            assert_eq!(again.daily, r.daily);
            // A full export, every CSV file and export.json: every raw row read, pseudonymised and
            // written into a sink that drops the bytes (as a response does once sent); this process's
            // resident memory before it and its peak during it.
            let before = common::status_kib("self", "VmRSS:").unwrap_or(0);
            let _ = std::fs::write("/proc/self/clear_refs", "5"); // resets VmHWM (Linux 4.0+)
            let t = Instant::now();
            let data = layer2::export::gather(
                &state,
                id,
                false,
                layer2::stats::MIN_COMPLIANCE,
                layer2::reports::compute::Audience::RawFiles,
            )
            .await
            .map_err(err)?;
            let mut sent = Dropped(0);
            for name in layer2::export::CSV_FILES.iter().chain(&["export.json"]) {
                layer2::export::stream::write_file(&state.pool, &data, name, &mut sent)
                    .await
                    .map_err(err)?;
            }
            assert!(sent.0 > 1_000_000);
            t_export.push(t.elapsed());
            rss.push((
                before,
                common::status_kib("self", "VmHWM:").unwrap_or(0),
                sent.0,
            ));
        }
        // An admin (a data analyst reads released data only, and this study has no release), for the
        // server's own export below.
        let email = layer2::auth::Email::parse(STAFF).map_err(err)?;
        let pw = layer2::auth::NewPassword::parse(PASSWORD.into(), &email).map_err(err)?;
        layer2::auth::service::create_user(
            &state,
            &email,
            layer2::auth::Role::Admin,
            pw,
            &Actor::cli(),
        )
        .await
        .map_err(err)?;
        state.pool.close().await;
        anyhow::Ok(id)
    })?;
    // The same export from the real server binary over HTTP, a fresh process each run: its resident memory
    // once it has started and its peak while every file streams to a client that reads and drops it.
    let mut served = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let (mut server, base) = common::serve(dir.path(), false)?;
        let run = rt.block_on(served_export(&base, server.id(), study));
        server.kill()?;
        server.wait()?;
        served.push(run?);
    }
    println!("participants: {PARTICIPANTS}, runs: {RUNS} (medians)");
    println!(
        "pure linearization (all cohorts + overall):     {:.1} ms",
        median(t_lin).as_secs_f64() * 1e3
    );
    println!(
        "pure bootstrap, 2,000 resamples:                {:.0} ms",
        median(t_boot).as_secs_f64() * 1e3
    );
    println!(
        "database: per-participant totals (SQL):         {:.0} ms",
        median(t_db).as_secs_f64() * 1e3
    );
    println!(
        "database → linearization + bootstrap (page):    {:.0} ms",
        median(t_page).as_secs_f64() * 1e3
    );
    println!(
        "report page computation (readout::load):        {:.0} ms",
        median(t_report).as_secs_f64() * 1e3
    );
    println!(
        "report page, next view (cached, data unchanged): {:.1} ms",
        median(t_cached).as_secs_f64() * 1e3
    );
    println!(
        "export, all CSV files + export.json (gather + streamed write): {:.0} ms",
        median(t_export).as_secs_f64() * 1e3
    );
    rss.sort_by_key(|r| r.1);
    let (before, peak, bytes) = rss[rss.len() / 2];
    println!(
        "streamed export, all CSV files + export.json ({:.0} MB written): resident {:.0} MiB before, peak {:.0} MiB during (median of {RUNS})",
        bytes as f64 / 1e6,
        before as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    let col = |f: fn(&Served) -> f64| common::median_f(served.iter().map(f).collect());
    println!(
        "server export over HTTP ({:.0} MB received, {:.1} s): server resident {:.0} MiB started, peak {:.0} MiB \
         during (median of {RUNS} fresh processes)",
        col(|r| r.bytes) / 1e6,
        col(|r| r.seconds),
        col(|r| r.started),
        col(|r| r.peak)
    );
    Ok(())
}

const STAFF: &str = "export.bench@example.org";
const PASSWORD: &str = "a long enough password";
/// A valid CSRF token for the login form: the form's field must equal its cookie (double submit).
const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// One server run of the export.
struct Served {
    started: f64,
    peak: f64,
    bytes: f64,
    seconds: f64,
}

/// Signs in as the admin and downloads every export file from the server at `base` (process
/// `pid`), reading each response as it arrives and dropping it.
async fn served_export(base: &str, pid: u32, study: StudyId) -> anyhow::Result<Served> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let r = client
        .post(format!("{base}/login"))
        .header("cookie", format!("layer2_csrf={CSRF}"))
        .form(&[("csrf", CSRF), ("email", STAFF), ("password", PASSWORD)])
        .send()
        .await?;
    anyhow::ensure!(r.status() == 303, "the login answered {}", r.status());
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("layer2_session="))
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("the login set no session cookie"))?
        .to_string();
    let cookie = format!("layer2_session={session}");
    let url = format!("{base}/studies/{}/export", study.0);
    let page = client
        .get(&url)
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("the export page has no form"))?
        .to_string();
    let (started, _) = common::memory_mib(pid)?;
    let t = Instant::now();
    let mut bytes = 0usize;
    for name in layer2::export::CSV_FILES.iter().chain(&["export.json"]) {
        let mut r = client
            .post(&url)
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("file", name)])
            .send()
            .await?;
        anyhow::ensure!(r.status() == 200, "{name} answered {}", r.status());
        let mut size = 0;
        while let Some(chunk) = r.chunk().await? {
            size += chunk.len();
        }
        anyhow::ensure!(size > 0, "{name} was empty");
        bytes += size;
    }
    let seconds = t.elapsed().as_secs_f64();
    let (_, peak) = common::memory_mib(pid)?;
    Ok(Served {
        started,
        peak,
        bytes: bytes as f64,
        seconds,
    })
}
