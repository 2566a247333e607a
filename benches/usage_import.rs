//! Usage import at 1,000,000 GitHub Copilot per-user-day records (NDJSON): time and peak memory.
//! Run with `cargo bench --bench usage_import` (optional argument: the number of records); figures go to
//! BENCHMARKS.md (median and range of the runs).
//!
//! The file is written once into a temporary folder from GitHub's own example record (the per-user report
//! of its usage metrics docs, minified), with day, login and counts varied: 40,000 people × 25 active days
//! of a 28-day report. Each run starts from a fresh database with the 40,000 people on the roster and
//! imports the file from disk through the same service call as `layer2 import usage FILE`. Peak memory is
//! the process's VmHWM, reset (`/proc/self/clear_refs`) just before the import.
mod common;

use common::median;
use layer2::audit::Actor;
use layer2::clock::SystemClock;
use layer2::roster::import::{UsageFormat, UsageOptions};
use layer2::roster::service::{self, UsageChoice, UsageSource};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RECORDS: usize = 1_000_000;
const DAYS: usize = 25;
const RUNS: usize = 3;

/// One record in GitHub's documented shape (its docs' example, minified).
fn record(day: u32, login: &str, n: usize) -> String {
    format!(
        concat!(
            "{{\"report_start_day\":\"2025-09-04\",\"report_end_day\":\"2025-10-01\",",
            "\"code_acceptance_activity_count\":{a},\"code_generation_activity_count\":{g},",
            "\"day\":\"2025-09-{day:02}\",\"enterprise_id\":\"1\",\"loc_added_sum\":8,\"loc_deleted_sum\":0,",
            "\"loc_suggested_to_add_sum\":10,\"loc_suggested_to_delete_sum\":0,",
            "\"totals_by_cli\":{{\"last_known_cli_version\":{{\"cli_version\":\"1.0.8\",\"sampled_at\":\"2025-10-01T00:01:43.000Z\"}},",
            "\"prompt_count\":2,\"request_count\":2,\"session_count\":2,\"token_usage\":{{\"avg_tokens_per_request\":4400.0,",
            "\"output_tokens_sum\":5000,\"prompt_tokens_sum\":3800}}}},",
            "\"totals_by_feature\":[{{\"code_acceptance_activity_count\":1,\"code_generation_activity_count\":1,",
            "\"feature\":\"code_completion\",\"loc_added_sum\":8,\"loc_deleted_sum\":0,\"loc_suggested_to_add_sum\":10,",
            "\"loc_suggested_to_delete_sum\":0,\"user_initiated_interaction_count\":0}}],",
            "\"totals_by_ide\":[{{\"code_acceptance_activity_count\":1,\"code_generation_activity_count\":1,\"ide\":\"vscode\",",
            "\"last_known_ide_version\":{{\"ide_version\":\"1.85.0\",\"sampled_at\":\"2025-10-01T00:00:02.000Z\"}},",
            "\"last_known_plugin_version\":{{\"plugin\":\"\",\"plugin_version\":\"\",\"sampled_at\":\"2025-10-01T00:00:02.000Z\"}},",
            "\"loc_added_sum\":8,\"loc_deleted_sum\":0,\"loc_suggested_to_add_sum\":10,\"loc_suggested_to_delete_sum\":0,",
            "\"user_initiated_interaction_count\":0}}],",
            "\"totals_by_language_feature\":[{{\"code_acceptance_activity_count\":1,\"code_generation_activity_count\":1,",
            "\"feature\":\"code_completion\",\"language\":\"unknown\",\"loc_added_sum\":8,\"loc_deleted_sum\":0,",
            "\"loc_suggested_to_add_sum\":10,\"loc_suggested_to_delete_sum\":0}}],",
            "\"totals_by_language_model\":[],\"totals_by_model_feature\":[],\"used_agent\":false,\"used_chat\":{chat},",
            "\"used_cli\":true,\"user_id\":{n},\"user_login\":\"{login}\",\"user_initiated_interaction_count\":{u},",
            "\"etl_id\":\"green\",\"day_partition\":\"2025-09-{day:02}\",\"entity_id_partition\":1}}\n"
        ),
        a = n % 5,
        g = n % 7,
        day = day,
        chat = n.is_multiple_of(3),
        n = n,
        login = login,
        u = n % 4,
    )
}

/// Peak resident memory of this process (kB), as the kernel counts it.
fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn reset_peak() {
    // "5" resets the peak resident set size (Linux 4.0+).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() -> anyhow::Result<()> {
    let records: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(RECORDS);
    let people = records.div_ceil(DAYS);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let files = tempfile::tempdir()?;
    let path = files.path().join("users-28-day.ndjson");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        // Day-major, as GitHub writes a 28-day report: every person of day 1, then day 2, ...
        let mut n = 0;
        'days: for d in 0..DAYS {
            for p in 0..people {
                if n == records {
                    break 'days;
                }
                // 25 of the 28 days, a different 3 skipped by each third of the people.
                let day = 4 + (d + p % 3) as u32;
                out.write_all(record(day, &format!("E{p:06}"), n).as_bytes())?;
                n += 1;
            }
        }
        out.flush()?;
    }
    let size = std::fs::metadata(&path)?.len();
    let roster = common::roster(people, &["Engineering", "Sales"], &["UTC"]);
    let (mut times, mut peaks) = (Vec::<Duration>::new(), Vec::<u64>::new());
    for run in 0..RUNS {
        let dir = tempfile::tempdir()?;
        rt.block_on(async {
            let state = common::state(dir.path(), Arc::new(SystemClock)).await?;
            let study = common::study(&state, "2027-01-04").await?;
            service::import_roster(
                &state,
                &Actor::cli(),
                &study,
                "r.csv",
                roster.clone().into_bytes(),
            )
            .await
            .map_err(common::err)?
            .map_err(|p| anyhow::anyhow!("{:?}", p.first().map(|x| x.to_string())))?;
            reset_peak();
            let t = Instant::now();
            let choice = UsageChoice {
                filename: "users-28-day.ndjson",
                format: Some(UsageFormat::GithubCopilot),
                options: UsageOptions::default(),
                hours_per_unit: None,
            };
            let outcome = service::import_usage_from(
                &state,
                &Actor::cli(),
                &study,
                choice,
                UsageSource::File(path.clone()),
            )
            .await
            .map_err(common::err)?
            .map_err(|p| anyhow::anyhow!("{:?}", p.first().map(|x| x.to_string())))?;
            times.push(t.elapsed());
            peaks.push(vm_hwm_kb());
            assert_eq!(outcome.rows, records);
            assert_eq!(outcome.matched, people);
            anyhow::Ok(())
        })?;
        eprintln!(
            "run {}: {:.1} s, peak {} MB",
            run + 1,
            times[run].as_secs_f64(),
            peaks[run] / 1024
        );
    }
    let (lo, hi) = (
        times.iter().min().copied().unwrap_or_default(),
        times.iter().max().copied().unwrap_or_default(),
    );
    let mut sorted = peaks.clone();
    sorted.sort();
    println!(
        "{records} records ({people} people × up to {DAYS} days), {:.0} MB of NDJSON, {RUNS} runs",
        size as f64 / 1e6
    );
    println!(
        "import (read, raw rows stored, summaries, cohorts): median {:.1} s, range {:.1} – {:.1} s",
        median(times).as_secs_f64(),
        lo.as_secs_f64(),
        hi.as_secs_f64()
    );
    println!(
        "peak resident memory during the import: median {} MB, range {} – {} MB",
        sorted[sorted.len() / 2] / 1024,
        sorted[0] / 1024,
        sorted[sorted.len() - 1] / 1024
    );
    Ok(())
}
