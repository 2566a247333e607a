//! Setup-phase benchmark: roster import, usage import and sample draw at 100,000 employees.
//! Run with `cargo bench --bench setup`; figures go to BENCHMARKS.md (median of the runs).
use layer2::audit::Actor;
use layer2::clock::SystemClock;
use layer2::config::Config;
use layer2::roster::import::UsageFormat;
use layer2::roster::sample::DrawSpec;
use layer2::roster::service;
use layer2::state::AppState;
use layer2::study::{StudyDetails, StudyForm};
use std::sync::Arc;
use std::time::{Duration, Instant};

const EMPLOYEES: usize = 100_000;
const RUNS: usize = 5;

fn roster(n: usize) -> String {
    let functions = [
        "Engineering",
        "Sales",
        "Finance",
        "Support",
        "Marketing",
        "Operations",
        "HR",
        "Legal",
    ];
    let zones = [
        "Europe/London",
        "America/New_York",
        "Asia/Singapore",
        "Europe/Berlin",
    ];
    let mut s = String::with_capacity(n * 80);
    s.push_str("employee_id,email,function,hire_date,time_zone\n");
    for i in 0..n {
        s.push_str(&format!(
            "E{i:06},e{i:06}@example.org,{},{}-0{}-15,{}\n",
            functions[i % 8],
            2010 + i % 15,
            1 + i % 9,
            zones[i % 4]
        ));
    }
    s
}

fn usage(n: usize) -> String {
    let mut s = String::with_capacity(n * 3 * 30);
    s.push_str("employee_id,period,active_days,ai_hours\n");
    for i in 0..n {
        if i % 8 == 7 {
            continue;
        }
        for m in 9..=11 {
            s.push_str(&format!(
                "E{i:06},2026-{m:02},{},{:.1}\n",
                1 + (i * 7 + m) % 20,
                ((i * 37 + m * 11) % 400) as f64 / 10.0
            ));
        }
    }
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let roster = roster(EMPLOYEES);
    let usage = usage(EMPLOYEES);
    let (mut t_roster, mut t_usage, mut t_draw) = (vec![], vec![], vec![]);
    for run in 0..RUNS {
        let dir = tempfile::tempdir()?;
        rt.block_on(async {
            let config = Config {
                data_dir: dir.path().to_path_buf(),
                ..Default::default()
            };
            let pool = layer2::db::connect(&config.database_path()).await?;
            let state = AppState::new(pool, config, Arc::new(SystemClock))?;
            let form = StudyForm {
                name: "Bench".into(),
                vendor: "V".into(),
                product: "P".into(),
                model_version: String::new(),
                time_zone: "UTC".into(),
                start_date: "2027-01-04".into(),
            };
            let d = StudyDetails::parse(&form).map_err(|p| anyhow::anyhow!("{p:?}"))?;
            let id = layer2::study::service::create(&state, &Actor::cli(), &d)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let study = layer2::study::service::get(&state, id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;

            let t = Instant::now();
            let n = service::import_roster(
                &state,
                &Actor::cli(),
                &study,
                "r.csv",
                roster.clone().into_bytes(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .map_err(|p| anyhow::anyhow!("{:?}", p.first().map(|x| x.to_string())))?;
            t_roster.push(t.elapsed());
            assert_eq!(n, EMPLOYEES);

            let t = Instant::now();
            service::import_usage(
                &state,
                &Actor::cli(),
                &study,
                "u.csv",
                UsageFormat::PlainCsv,
                usage.clone().into_bytes(),
                None,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .map_err(|p| anyhow::anyhow!("{:?}", p.first().map(|x| x.to_string())))?;
            t_usage.push(t.elapsed());

            let t = Instant::now();
            let spec = DrawSpec {
                n: 400,
                min_per_cohort: 30,
                pilot_n: 50,
                seed: run as u64,
            };
            let drawn = service::draw(&state, &Actor::cli(), &study, spec)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            t_draw.push(t.elapsed());
            assert_eq!(drawn.main.len(), 400);
            anyhow::Ok(())
        })?;
        eprintln!(
            "run {}: roster {:?}, usage {:?}, draw {:?}",
            run + 1,
            t_roster[run],
            t_usage[run],
            t_draw[run]
        );
    }
    println!("employees: {EMPLOYEES}, runs: {RUNS} (medians)");
    println!(
        "roster import (parse, check, insert, cohorts): {:.2} s",
        median(t_roster).as_secs_f64()
    );
    println!(
        "usage import ({} rows, match, cohorts):       {:.2} s",
        usage.lines().count() - 1,
        median(t_usage).as_secs_f64()
    );
    println!(
        "sample draw (400 + pilot 50, stored):         {:.3} s",
        median(t_draw).as_secs_f64()
    );
    Ok(())
}
