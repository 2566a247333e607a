//! The demo is written without a disk sync per transaction: its folder is new and thrown away if seeding
//! fails, so the thousands of small transactions of its replay run with `synchronous=NORMAL` (WAL: a sync
//! only at checkpoints) on a pool of their own, and one checkpoint through the server's own pool
//! (`synchronous=FULL`) makes all of it durable before the server starts. Seeding took 36–52 s on 2 cores
//! with a sync per transaction, most of it in system time; the replay's clock (`skip.rs`) and cheaper
//! tick queries brought it to about 20 s. The pool does not memory-map the file: SQLite remapped it each
//! time the file grew (27,000 unmaps of 6–15 MB in a demo, each interrupting the other core), and the
//! demo ran a second faster without.
use super::DemoInfo;
use crate::state::AppState;
use sqlx::sqlite::{SqlitePoolOptions, SqliteSynchronous};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Seeds a fresh demo data folder with a believable organisation and its studies.
pub async fn seed(state: &AppState, employees: usize) -> anyhow::Result<DemoInfo> {
    // On a thread and a single-threaded runtime of its own, kept on one core: the replay is a long chain
    // of small queries, each a hand-off to its connection's thread and back, never both at work at once.
    // On the server's runtime the tasks the pool spawns woke a worker thread too, and each hand-off woke a
    // thread on the other core: the kernel's switching was about half of the demo's time. The connections'
    // threads are started from this one and inherit its core, so a hand-off is a plain switch (15 s to 9
    // s here). The server's own pool and runtime are not affected.
    let (done, result) = tokio::sync::oneshot::channel();
    let seeding = state.clone();
    std::thread::Builder::new()
        .name("demo-seed".into())
        .spawn(move || {
            // One of the cores this process may use, taking turns by process and by seeding (tests seed
            // demos in parallel, in one process or several); when that can't be read or set, it runs as is.
            static SEEDINGS: AtomicUsize = AtomicUsize::new(0);
            let turn = std::process::id() as usize + SEEDINGS.fetch_add(1, Ordering::Relaxed);
            let ids = core_affinity::get_core_ids().unwrap_or_default();
            if let Some(core) = ids.get(turn % ids.len().max(1)) {
                core_affinity::set_for_current(*core);
            }
            let seeded = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(unsynced(&seeding, employees)));
            let _ = done.send(seeded);
        })?;
    let info = result
        .await
        .map_err(|_| anyhow::anyhow!("the demo's seeding thread stopped"))??;
    crate::db::checkpoint(&state.pool).await?;
    Ok(info)
}

/// The seeding itself, on a pool of its own without a sync per transaction (see above).
async fn unsynced(state: &AppState, employees: usize) -> anyhow::Result<DemoInfo> {
    let options = (*state.pool.connect_options())
        .clone()
        .synchronous(SqliteSynchronous::Normal);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    // The server's own answer writer and report cache stay with the server's pool.
    let fast = AppState {
        pool: pool.clone(),
        answers: Arc::default(),
        reports: Arc::default(),
        ..state.clone()
    };
    let info = super::seed_all(&fast, employees).await;
    drop(fast);
    pool.close().await;
    info
}
