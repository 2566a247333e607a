//! The demo: a believable organisation, its usage data and a study in setup, built through the real importers.
use crate::audit::Actor;
use crate::auth::{Email, NewPassword, Role, service as auth_service};
use crate::roster::import::UsageFormat;
use crate::roster::sample::DrawSpec;
use crate::roster::service as roster_service;
use crate::state::AppState;
use crate::study::{Status, StudyDetails, StudyForm, service as study_service};
use anyhow::{Context, bail};
use chrono::{Datelike, Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write;
use std::path::Path;

/// The demo admin's login.
pub const ADMIN_EMAIL: &str = "admin@demo.example";
/// The demo admin's password (a demo on 127.0.0.1 only; printed on start).
pub const ADMIN_PASSWORD: &str = "demo-admin-password";
/// The demo analyst's login.
pub const ANALYST_EMAIL: &str = "analyst@demo.example";
/// The demo analyst's password.
pub const ANALYST_PASSWORD: &str = "demo-analyst-password";
const MARKER: &str = ".layer2-demo";

/// What the demo created.
pub struct DemoInfo {
    /// The study's id.
    pub study_id: i64,
    /// The study's name.
    pub study_name: String,
}

/// Empties the demo folder (only one that holds a previous demo, or an empty one) and marks it.
pub fn prepare_folder(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)?.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            bail!(
                "{} exists and is not a Layer 2 demo folder; choose another with --data-dir",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(
        dir.join(MARKER),
        "This folder is recreated by `layer2 demo`.\n",
    )?;
    Ok(())
}

const FUNCTIONS: [(&str, u32, f64); 8] = [
    // (function, weight, median gross AI hours per month among users)
    ("Engineering", 30, 14.0),
    ("Sales", 18, 7.0),
    ("Customer Support", 15, 9.0),
    ("Operations", 10, 5.0),
    ("Marketing", 9, 10.0),
    ("Finance", 8, 6.0),
    ("HR", 5, 5.0),
    ("Legal", 5, 4.0),
];

const ZONES: [&str; 6] = [
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Singapore",
];

/// Roster and three months of plain-CSV usage for `n` employees, reproducible.
pub fn organisation(n: usize, start: NaiveDate) -> (String, String) {
    let mut rng = ChaCha8Rng::seed_from_u64(20260104);
    let total_weight: u32 = FUNCTIONS.iter().map(|f| f.1).sum();
    let mut roster = String::from("employee_id,email,function,hire_date,time_zone\n");
    let mut usage = String::from("employee_id,period,active_days,ai_hours\n");
    let months: Vec<NaiveDate> = (1..=3)
        .map(|k| {
            let m0 = start.year() * 12 + start.month0() as i32 - k;
            NaiveDate::from_ymd_opt(m0 / 12, (m0 % 12) as u32 + 1, 1).expect("valid month")
        })
        .rev()
        .collect();
    for i in 0..n {
        let mut pick = rng.random_range(0..total_weight);
        let (function, _, median) = *FUNCTIONS
            .iter()
            .find(|f| {
                if pick < f.1 {
                    true
                } else {
                    pick -= f.1;
                    false
                }
            })
            .expect("weights cover the range");
        let id = format!("E{:05}", i + 1);
        let years: f64 = rng.random::<f64>().powf(1.6) * 15.0;
        let hire = start - Duration::days((years * 365.25) as i64 + 1);
        let zone = ZONES[rng.random_range(0..ZONES.len())];
        let _ = writeln!(
            roster,
            "{id},{}@demo.example,{function},{hire},{zone}",
            id.to_lowercase()
        );
        // About one in eight never used the tool; the rest spread log-normally around the function's median.
        if rng.random::<f64>() < 0.125 {
            continue;
        }
        let z: f64 = (0..6).map(|_| rng.random::<f64>()).sum::<f64>() - 3.0;
        let typical = median * (z * 0.9).exp();
        for m in &months {
            if rng.random::<f64>() < 0.1 {
                continue; // a month without use
            }
            let hours = (typical * (0.7 + 0.6 * rng.random::<f64>())).min(160.0);
            let days = ((hours / 1.2).ceil() as u32).clamp(1, 21);
            let _ = writeln!(usage, "{id},{},{days},{hours:.1}", m.format("%Y-%m"));
        }
    }
    (roster, usage)
}

/// Seeds staff, a study in setup with roster, usage, cohorts, approvals and a drawn sample.
pub async fn seed(state: &AppState, employees: usize) -> anyhow::Result<DemoInfo> {
    let system = Actor::system();
    let err = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    for (email, role, pw) in [
        (ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD),
        (ANALYST_EMAIL, Role::Analyst, ANALYST_PASSWORD),
    ] {
        let email = Email::parse(email).map_err(|e| anyhow::anyhow!(e))?;
        let pw = NewPassword::parse(pw.to_string()).map_err(|e| anyhow::anyhow!(e))?;
        auth_service::create_user(state, &email, role, pw, &system)
            .await
            .map_err(err)?;
    }
    let today = state.clock.now().date_naive();
    // Start on the Monday of this week, so the demo sits in its setup weeks.
    let start = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let form = StudyForm {
        name: "Copilot renewal study, wave 1".into(),
        vendor: "Microsoft".into(),
        product: "Microsoft 365 Copilot".into(),
        model_version: "GPT-5 (2026-10)".into(),
        time_zone: "Europe/London".into(),
        start_date: start.to_string(),
    };
    let details =
        StudyDetails::parse(&form).map_err(|p| anyhow::anyhow!("demo study form: {p:?}"))?;
    let id = study_service::create(state, &system, &details)
        .await
        .map_err(err)?;
    study_service::advance(state, &system, id, Status::Setup)
        .await
        .map_err(err)?;
    let study = study_service::get(state, id).await.map_err(err)?;

    let (roster, usage) = organisation(employees, start);
    roster_service::import_roster(
        state,
        &system,
        &study,
        "demo-roster.csv",
        roster.into_bytes(),
    )
    .await
    .map_err(err)?
    .map_err(|p| {
        anyhow::anyhow!(
            "demo roster refused: {:?}",
            p.first().map(|x| x.to_string())
        )
    })?;
    roster_service::import_usage(
        state,
        &system,
        &study,
        "demo-usage.csv",
        UsageFormat::PlainCsv,
        usage.into_bytes(),
        None,
    )
    .await
    .map_err(err)?
    .map_err(|p| anyhow::anyhow!("demo usage refused: {:?}", p.first().map(|x| x.to_string())))?;

    let approvals = crate::study::repo::approvals(&state.pool, id).await?;
    for a in approvals.iter().take(2) {
        study_service::record_approval(state, &system, id, a.id, "demo")
            .await
            .map_err(err)?;
    }
    let n = crate::stats::sample_size::required_sample_size(0.05, 0.95, employees as u64)
        .map_err(|e| anyhow::anyhow!(e))? as usize;
    let pilot_n = 50.min(employees / 20);
    let spec = DrawSpec {
        n: n.min(employees - pilot_n),
        min_per_cohort: 30.min(employees / 20),
        pilot_n,
        seed: 42,
    };
    roster_service::draw(state, &system, &study, spec)
        .await
        .map_err(err)?;
    Ok(DemoInfo {
        study_id: id.0,
        study_name: study.name,
    })
}
