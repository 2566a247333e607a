//! Memory of password hashing: the real server binary on 127.0.0.1, 1,000 successful logins in bursts of
//! 30 parallel requests; reports the server's resident memory before, at its peak and after.
//! Run with `cargo bench --bench logins`; figures go to BENCHMARKS.md (median of the runs).
mod common;

use layer2::audit::Actor;
use layer2::auth::service as auth_service;
use layer2::auth::{Email, NewPassword, Role};
use layer2::clock::SystemClock;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LOGINS: usize = 1_000;
const BURST: usize = 30;
const RUNS: usize = 5;
const PASSWORD: &str = "a long enough password";
/// A valid CSRF token for the login form: the form's field must equal its cookie (double submit).
const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// One account per request of a burst: no account or address reaches a throttle limit, so every login
/// is a full argon2 verification, as for a crowd of colleagues signing in at nine o'clock.
async fn accounts(dir: &Path) -> anyhow::Result<()> {
    let state = common::state(dir, Arc::new(SystemClock)).await?;
    for i in 0..BURST {
        let email = Email::parse(&format!("staff{i:02}@example.org")).map_err(common::err)?;
        let pw = NewPassword::parse(PASSWORD.into(), &email).map_err(common::err)?;
        auth_service::create_user(&state, &email, Role::Analyst, pw, &Actor::cli())
            .await
            .map_err(common::err)?;
    }
    state.pool.close().await;
    Ok(())
}

struct Run {
    idle: f64,
    peak: f64,
    after: f64,
    per_second: f64,
}

async fn logins(base: &str, pid: u32) -> anyhow::Result<Run> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (idle, _) = common::memory_mib(pid)?;
    let t = Instant::now();
    let mut done = 0;
    while done < LOGINS {
        let n = BURST.min(LOGINS - done);
        let mut tasks = Vec::with_capacity(n);
        for i in 0..n {
            let (client, url) = (client.clone(), format!("{base}/login"));
            let login = done + i;
            tasks.push(tokio::spawn(async move {
                let email = format!("staff{i:02}@example.org");
                // A different (documentation-range) client address per login, as the proxy reports it.
                let ip = format!("198.18.{}.{}", login / 250, login % 250 + 1);
                let r = client
                    .post(url)
                    .header("cookie", format!("layer2_csrf={CSRF}"))
                    .header("x-forwarded-for", ip)
                    .form(&[("csrf", CSRF), ("email", &email), ("password", PASSWORD)])
                    .send()
                    .await?;
                anyhow::Ok(r.status().as_u16())
            }));
        }
        for task in tasks {
            let status = task.await??;
            anyhow::ensure!(status == 303, "a login answered {status}, not 303");
        }
        done += n;
    }
    let per_second = LOGINS as f64 / t.elapsed().as_secs_f64();
    // Give the allocator a moment, as a server between bursts would have.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (after, peak) = common::memory_mib(pid)?;
    Ok(Run {
        idle,
        peak,
        after,
        per_second,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut runs = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let dir = tempfile::tempdir()?;
        rt.block_on(accounts(dir.path()))?;
        let (mut server, base) = common::serve(dir.path(), true)?;
        let result = rt.block_on(logins(&base, server.id()));
        server.kill()?;
        server.wait()?;
        let r = result?;
        println!(
            "run {}: resident {:.0} MiB idle, {:.0} MiB peak, {:.0} MiB after; {:.0} logins/s",
            run + 1,
            r.idle,
            r.peak,
            r.after,
            r.per_second
        );
        runs.push(r);
    }
    let col = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
    println!(
        "median of {RUNS} runs, {LOGINS} logins in bursts of {BURST}: resident {:.0} MiB idle, {:.0} MiB \
         peak, {:.0} MiB after; {:.0} logins/s",
        col(|r| r.idle),
        col(|r| r.peak),
        col(|r| r.after),
        col(|r| r.per_second)
    );
    Ok(())
}
