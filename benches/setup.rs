//! Setup-phase benchmark: roster import, usage import and sample draw at 100,000 employees.
//! Run with `cargo bench --bench setup`; figures go to BENCHMARKS.md (median of the runs).
mod common;

use common::median;
use layer2::audit::Actor;
use layer2::clock::SystemClock;
use layer2::roster::import::UsageFormat;
use layer2::roster::sample::DrawSpec;
use layer2::roster::service;
use std::sync::Arc;
use std::time::Instant;

const EMPLOYEES: usize = 100_000;
const RUNS: usize = 5;
const FUNCTIONS: [&str; 8] = [
    "Engineering",
    "Sales",
    "Finance",
    "Support",
    "Marketing",
    "Operations",
    "HR",
    "Legal",
];
const ZONES: [&str; 4] = [
    "Europe/London",
    "America/New_York",
    "Asia/Singapore",
    "Europe/Berlin",
];

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

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let roster = common::roster(EMPLOYEES, &FUNCTIONS, &ZONES);
    let usage = usage(EMPLOYEES);
    let (mut t_roster, mut t_usage, mut t_draw) = (vec![], vec![], vec![]);
    for run in 0..RUNS {
        let dir = tempfile::tempdir()?;
        rt.block_on(async {
            let state = common::state(dir.path(), Arc::new(SystemClock)).await?;
            let study = common::study(&state, "2027-01-04").await?;

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
