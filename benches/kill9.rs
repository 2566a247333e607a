//! An acknowledged answer is never lost: 20 rounds of the real `layer2 serve` binary taking ping answers
//! at a steady few hundred a second and killed with SIGKILL at a random moment, restarted each time.
//! After every kill the database is opened as a restart would (WAL recovery) and checked: every answer
//! the server acknowledged (200, "Your answer is saved.") is stored exactly once with the content sent,
//! every stored answer is one that was sent (acknowledged or in flight at the kill), and
//! `PRAGMA integrity_check` says ok. Run with `cargo bench --bench kill9`.
mod common;

use common::seed::seed;
use layer2::clock::SystemClock;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROUNDS: usize = 20;
/// Answers started per second (open loop: each on time, whatever the others are doing).
const PER_SECOND: u64 = 400;
/// A round runs this long at most before its kill (the kill comes at a random moment within it).
const ROUND_MS: u64 = 1_500;
/// Links seeded: enough for every round at the full rate.
const LINKS: usize = ROUNDS * (PER_SECOND * ROUND_MS / 1_000) as usize + 100;

/// The answer sent for the `i`th link: varied so that a swapped or half-written row would show.
fn answer(i: usize) -> (i64, i64, i64) {
    ((i % 31) as i64, (i % 17) as i64, (i % 7) as i64)
}

/// One round: answers at `PER_SECOND` until the kill after `kill_after`; the indexes acknowledged and
/// the ones whose fate is unknown (in flight at the kill).
async fn round(
    base: &str,
    links: &mut VecDeque<(usize, String, i64)>,
    mut server: Child,
    kill_after: Duration,
) -> anyhow::Result<(Vec<usize>, Vec<usize>)> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()?;
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut every = tokio::time::interval(Duration::from_micros(1_000_000 / PER_SECOND));
    let t = Instant::now();
    let mut tasks = Vec::new();
    while t.elapsed() < kill_after {
        every.tick().await;
        let Some((i, token, ping)) = links.pop_front() else {
            break;
        };
        let (client, url) = (client.clone(), format!("{base}/p/{token}/ping/{ping}"));
        let (v, c, x) = answer(i);
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "used=yes&verification={v}&correction={c}&context={x}"
                ))
                .send()
                .await;
            let acknowledged = match r {
                Ok(r) if r.status().as_u16() == 200 => r
                    .text()
                    .await
                    .is_ok_and(|b| b.contains("Your answer is saved.")),
                _ => false,
            };
            (i, acknowledged)
        }));
    }
    server.kill()?; // SIGKILL
    server.wait()?;
    let (mut acked, mut unknown) = (Vec::new(), Vec::new());
    for task in tasks {
        let (i, ok) = task.await?;
        if ok { acked.push(i) } else { unknown.push(i) }
    }
    Ok((acked, unknown))
}

/// The stored answers, by ping: (verification, correction, context, rows for that ping).
async fn stored(db: &Path) -> anyhow::Result<(BTreeMap<i64, (i64, i64, i64, i64)>, String)> {
    let mut conn = SqliteConnectOptions::new().filename(db).connect().await?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await?;
    let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT a.ping, a.verification_min, a.correction_min, a.context_min,
           (SELECT COUNT(*) FROM ping_answers b WHERE b.ping = a.ping)
         FROM ping_answers a JOIN pings g ON g.id = a.ping WHERE g.status = 'answered'",
    )
    .fetch_all(&mut conn)
    .await?;
    conn.close().await?;
    Ok((
        rows.into_iter()
            .map(|(p, v, c, x, n)| (p, (v, c, x, n)))
            .collect(),
        integrity,
    ))
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let links = rt.block_on(async {
        let state = common::state(dir.path(), Arc::new(SystemClock)).await?;
        let links = seed(&state, LINKS, true).await?.links;
        state.pool.close().await;
        anyhow::Ok(links)
    })?;
    let ping_of: Vec<i64> = links.iter().map(|l| l.1).collect();
    let mut queue: VecDeque<(usize, String, i64)> = links
        .into_iter()
        .enumerate()
        .map(|(i, (token, ping))| (i, token, ping))
        .collect();
    let db = dir.path().join("layer2.sqlite3");
    let (mut acked, mut unknown) = (Vec::new(), Vec::new());
    for r in 0..ROUNDS {
        let (server, base) = common::serve(dir.path(), false)?;
        // A kill somewhere in the round, at a moment the round's load does not choose.
        let kill_after = Duration::from_millis(200 + rand::random_range(0..ROUND_MS - 200));
        let (a, u) = rt.block_on(round(&base, &mut queue, server, kill_after))?;
        acked.extend(a.iter().copied());
        unknown.extend(u.iter().copied());
        let (rows, integrity) = rt.block_on(stored(&db))?;
        anyhow::ensure!(
            integrity == "ok",
            "round {}: integrity_check says {integrity}",
            r + 1
        );
        for &i in &acked {
            let (v, c, x) = answer(i);
            match rows.get(&ping_of[i]) {
                Some(&(sv, sc, sx, n)) => {
                    anyhow::ensure!(n == 1, "round {}: answer {i} stored {n} times", r + 1);
                    anyhow::ensure!(
                        (sv, sc, sx) == (v, c, x),
                        "round {}: answer {i} stored as {:?}, sent {:?}",
                        r + 1,
                        (sv, sc, sx),
                        (v, c, x)
                    );
                }
                None => anyhow::bail!("round {}: acknowledged answer {i} is lost", r + 1),
            }
        }
        let sent: std::collections::BTreeSet<i64> =
            acked.iter().chain(&unknown).map(|&i| ping_of[i]).collect();
        anyhow::ensure!(
            rows.keys().all(|p| sent.contains(p)),
            "round {}: an answer is stored that was never sent",
            r + 1
        );
        println!(
            "round {:>2}: killed after {:>4} ms: {:>4} acknowledged, {:>3} in flight; {} stored in all, \
             every acknowledged one present once with its content; integrity ok",
            r + 1,
            kill_after.as_millis(),
            a.len(),
            u.len(),
            rows.len()
        );
    }
    println!(
        "{ROUNDS} rounds of SIGKILL at {PER_SECOND} answers/s: {} acknowledged answers, none lost or \
         changed; {} in flight at a kill (may or may not be stored, never twice); integrity_check ok",
        acked.len(),
        unknown.len()
    );
    Ok(())
}
