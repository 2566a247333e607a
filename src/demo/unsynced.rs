//! The demo is written without a disk sync per transaction: its folder is new and thrown away if seeding
//! fails, so the thousands of small transactions of its replay run with `synchronous=NORMAL` (WAL: a sync
//! only at checkpoints) on a pool of their own, and one checkpoint through the server's own pool
//! (`synchronous=FULL`) makes all of it durable before the server starts. Seeding took 36–52 s on 2 cores
//! with a sync per transaction, most of it in system time; the replay's clock (`skip.rs`) and cheaper
//! tick queries brought it to about 20 s.
use super::DemoInfo;
use crate::state::AppState;
use sqlx::sqlite::{SqlitePoolOptions, SqliteSynchronous};
use std::sync::Arc;

/// Seeds a fresh demo data folder with a believable organisation and its studies.
pub async fn seed(state: &AppState, employees: usize) -> anyhow::Result<DemoInfo> {
    // Pages read through a memory map rather than copied in by `pread`: the replay's four connections
    // each lose their page cache whenever another one writes (about 15% less CPU in the replay).
    let options = (*state.pool.connect_options())
        .clone()
        .synchronous(SqliteSynchronous::Normal)
        .pragma("mmap_size", (256u64 << 20).to_string());
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
    crate::db::checkpoint(&state.pool).await?;
    info
}
