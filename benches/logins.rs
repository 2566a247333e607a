//! Memory of password hashing: the real server binary on 127.0.0.1, 1,000 successful logins in bursts of
//! 30 parallel requests; reports the server's resident memory before, at its peak and after.
//! Run with `cargo bench --bench logins`; figures go to BENCHMARKS.md (median of the runs).
mod common;

use layer2::audit::Actor;
use layer2::auth::service as auth_service;
use layer2::auth::{Email, NewPassword, Role};
use layer2::clock::SystemClock;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LOGINS: usize = 1_000;
const BURST: usize = 30;
const RUNS: usize = 5;
const PASSWORD: &str = "a long enough password";
/// A valid CSRF token for the login form: the form's field must equal its cookie (double submit).
const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Resident and peak-resident memory of a process, in MiB (Linux `/proc`).
fn memory_mib(pid: u32) -> anyhow::Result<(f64, f64)> {
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

/// Starts `layer2 serve` on a free port behind a (pretend) proxy and returns it with its base URL.
fn serve(dir: &Path) -> anyhow::Result<(Child, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_layer2"))
        .arg("serve")
        .env("LAYER2_DATA_DIR", dir)
        .env("LAYER2_LISTEN", "127.0.0.1:0")
        .env("LAYER2_BEHIND_PROXY", "true")
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
    let (idle, _) = memory_mib(pid)?;
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
    let (after, peak) = memory_mib(pid)?;
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
        let (mut server, base) = serve(dir.path())?;
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
