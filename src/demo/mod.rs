//! The demo: a believable organisation, its usage data (a Microsoft 365 Copilot usage report and our plain
//! CSV, with example files to try the import preview on) and its studies, built through the real importers.
mod replay;
pub mod repo;
mod skip;
mod tco;
mod unsynced;
pub use unsynced::seed;

use crate::audit::Actor;
use crate::auth::{Email, NewPassword, Role, service as auth_service};
use crate::clock::ManualClock;
use crate::mail::transport::Mailer;
use crate::roster::sample::DrawSpec;
use crate::roster::service as roster_service;
use crate::staff::StudyRole;
use crate::staff::service as staff_service;
use crate::state::AppState;
use crate::study::privacy::PrivacyForm;
use crate::study::repo::StudyRow;
use crate::study::{Status, StudyDetails, StudyForm, StudyId, service as study_service};
use anyhow::{Context, bail};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The demo admin's login.
pub const ADMIN_EMAIL: &str = "admin@demo.example";
/// The demo admin's password (a demo on 127.0.0.1 only; printed on start).
pub const ADMIN_PASSWORD: &str = "demo-admin-password";
/// The demo analyst's login.
pub const ANALYST_EMAIL: &str = "analyst@demo.example";
/// The demo analyst's password.
pub const ANALYST_PASSWORD: &str = "demo-analyst-password";
/// The demo viewer's login: the aggregate analyst role on every demo study (no raw files).
pub const VIEWER_EMAIL: &str = "viewer@demo.example";
/// The demo viewer's password.
pub const VIEWER_PASSWORD: &str = "demo-viewer-password";
const MARKER: &str = ".layer2-demo";
/// The organisation-wide privacy contact the demo runs with, unless the configuration names one.
pub const PRIVACY_CONTACT: &str = "Data Protection Office, privacy@demo.example";

/// What the demo created.
pub struct DemoInfo {
    /// The study's id.
    pub study_id: i64,
    /// The study's name.
    pub study_name: String,
    /// What the setup study's usage import read: source, variant and encoding.
    pub usage_read: String,
    /// A study in setup with its roster and no usage: where the admin tries the import preview.
    pub preview_study_id: i64,
    /// The example usage files written into the demo folder, for that preview.
    pub examples: Vec<PathBuf>,
    /// The second study, in collection.
    pub collection_study_id: i64,
    /// The earlier wave, in analysis.
    pub analysis_study_id: i64,
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

/// One demo employee's use of the tool: (first day of the month, active days, AI hours) per month used.
type Months = Vec<(NaiveDate, u32, f64)>;

/// The demo organisation: its roster CSV and each employee's id and monthly use over the three months
/// before `start`, reproducible.
fn people(n: usize, start: NaiveDate) -> (String, Vec<(String, Months)>) {
    let mut rng = ChaCha8Rng::seed_from_u64(20260104);
    let total_weight: u32 = FUNCTIONS.iter().map(|f| f.1).sum();
    let mut roster = String::from("employee_id,email,function,hire_date,time_zone\n");
    let months: Vec<NaiveDate> = (1..=3)
        .map(|k| {
            let m0 = start.year() * 12 + start.month0() as i32 - k;
            NaiveDate::from_ymd_opt(m0 / 12, (m0 % 12) as u32 + 1, 1).expect("valid month")
        })
        .rev()
        .collect();
    let mut use_by_person = Vec::with_capacity(n);
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
        let mut used = Vec::new();
        // About one in eight never used the tool; the rest spread log-normally around the function's median.
        if rng.random::<f64>() >= 0.125 {
            let z: f64 = (0..6).map(|_| rng.random::<f64>()).sum::<f64>() - 3.0;
            let typical = median * (z * 0.9).exp();
            for m in &months {
                if rng.random::<f64>() < 0.1 {
                    continue; // a month without use
                }
                let hours = (typical * (0.7 + 0.6 * rng.random::<f64>())).min(160.0);
                let days = ((hours / 1.2).ceil() as u32).clamp(1, 21);
                used.push((*m, days, hours));
            }
        }
        use_by_person.push((id, used));
    }
    (roster, use_by_person)
}

/// Roster and three months of plain-CSV usage for `n` employees, reproducible.
pub fn organisation(n: usize, start: NaiveDate) -> (String, String) {
    let (roster, people) = people(n, start);
    let mut usage = String::from("employee_id,period,active_days,ai_hours\n");
    for (id, months) in &people {
        for (m, days, hours) in months {
            let _ = writeln!(usage, "{id},{},{days},{hours:.1}", m.format("%Y-%m"));
        }
    }
    (roster, usage)
}

/// The Microsoft 365 admin center's columns of the Copilot usage user detail report (v2), in the order
/// the demo writes them (Microsoft documents the names; the order of the newer ones is not documented).
const M365_HEADER: &str = "Report Refresh Date,User Principal Name,Display Name,Last Activity Date,\
Copilot Chat Last Activity Date,Microsoft Teams Copilot Last Activity Date,Word Copilot Last Activity Date,\
Excel Copilot Last Activity Date,PowerPoint Copilot Last Activity Date,Outlook Copilot Last Activity Date,\
OneNote Copilot Last Activity Date,Loop Copilot Last Activity Date,Copilot Chat (work) Last Activity Date,\
Copilot Chat (web) Last Activity Date,Microsoft 365 Copilot Last Activity Date,Edge Last Activity Date,\
Copilot Agent Last Activity Date,Prompts submitted for all apps,Prompts submitted for Copilot Chat (work),\
Prompts submitted for Copilot Chat (web),Active Usage Days for all apps,Report Period";

/// Roster and the Microsoft 365 Copilot usage report (v2, 28 days ending the day before `start`) an
/// admin of the demo organisation would export: one row per licensed user, names shown (not
/// concealed), user principal names equal to the mail addresses. Read by the real M365 importer.
pub fn organisation_m365(n: usize, start: NaiveDate) -> (String, String) {
    let (roster, people) = people(n, start);
    let refresh = start - Duration::days(1);
    let mut rng = ChaCha8Rng::seed_from_u64(20261130);
    let mut report = String::from(M365_HEADER);
    report.push('\n');
    for (id, months) in &people {
        let upn = format!("{}@demo.example", id.to_lowercase());
        // The last month's days, scaled to the report's 28 days; a lapsed user has no days in it.
        let last = months
            .last()
            .filter(|(m, _, _)| *m + Duration::days(62) > refresh);
        let days = last.map_or(0, |(_, d, _)| (d * 28).div_ceil(31).min(28));
        if days == 0 {
            let _ = writeln!(report, "{refresh},{upn},{id},,,,,,,,,,,,,,,0,0,0,0,28");
            continue;
        }
        let ago = |max: i64, rng: &mut ChaCha8Rng| {
            (refresh - Duration::days(rng.random_range(0..max))).to_string()
        };
        let recent = ago(3, &mut rng);
        // Apps used: Teams and Chat by most, Word and Outlook by many, the rest by few.
        let app = |p: f64, rng: &mut ChaCha8Rng| {
            if rng.random::<f64>() < p {
                ago(27, rng)
            } else {
                String::new()
            }
        };
        let apps = [
            recent.clone(),
            app(0.7, &mut rng),
            app(0.5, &mut rng),
            app(0.4, &mut rng),
            app(0.15, &mut rng),
            app(0.4, &mut rng),
            app(0.05, &mut rng),
            app(0.05, &mut rng),
            recent.clone(),
            app(0.2, &mut rng),
            app(0.3, &mut rng),
            app(0.1, &mut rng),
            app(0.1, &mut rng),
        ];
        // The all-apps date is the latest of the apps' (ISO dates sort as text).
        let latest = apps.iter().max().cloned().unwrap_or_default();
        let prompts = days * rng.random_range(2..9);
        let chat = prompts / 3;
        let _ = writeln!(
            report,
            "{refresh},{upn},{id},{latest},{},{prompts},{chat},0,{days},28",
            apps.join(",")
        );
    }
    (roster, report)
}

/// Seeds staff, a study in setup with roster, usage, cohorts, approvals and a drawn sample.
async fn seed_all(state: &AppState, employees: usize) -> anyhow::Result<DemoInfo> {
    let system = Actor::system();
    let err = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    for (email, role, pw) in [
        (ADMIN_EMAIL, Role::Admin, ADMIN_PASSWORD),
        (ANALYST_EMAIL, Role::Analyst, ANALYST_PASSWORD),
        (VIEWER_EMAIL, Role::Analyst, VIEWER_PASSWORD),
    ] {
        let email = Email::parse(email).map_err(|e| anyhow::anyhow!(e))?;
        let pw = NewPassword::published_demo_password(pw);
        auth_service::create_user(state, &email, role, pw, &system)
            .await
            .map_err(err)?;
    }
    let today = state.clock.now().date_naive();
    // Start on the Monday of this week, so the demo sits in its setup weeks.
    let start = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let (study, usage_read) = study_in_setup(
        state,
        &system,
        [
            "Copilot renewal study, wave 1",
            "Microsoft",
            "Microsoft 365 Copilot",
            "GPT-5 (2026-10)",
        ],
        start,
        employees,
        DemoUsage::M365,
    )
    .await?;
    let id = study.id;

    let approvals = crate::study::repo::approvals(&state.pool, id).await?;
    for a in approvals.iter().take(2) {
        study_service::record_approval(state, &system, id, a.id, "demo")
            .await
            .map_err(err)?;
    }
    let n = crate::stats::sample_size::required_sample_size(
        0.05,
        crate::stats::LEVEL,
        employees as u64,
    )
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
    // An earlier wave, now in analysis, and the current one, in collection.
    let analysis = replay::replay(
        state,
        employees,
        9,
        "GitHub Copilot study, wave 0",
        "GPT-4.1 (2026-06)",
    )
    .await?;
    let collection = replay::replay(
        state,
        employees,
        5,
        "GitHub Copilot study, wave 1",
        "GPT-5 (2026-08)",
    )
    .await?;
    // One person who declined later asked for their data to be deleted: the collection study shows an erasure.
    let wave1 = crate::study::StudyId(collection);
    let people = crate::participants::service::collection(state, wave1)
        .await
        .map_err(err)?
        .people;
    if let Some(p) = people.iter().find(|p| p.standing() == "declined") {
        let actor = crate::participants::service::participant_actor();
        crate::participants::service::erase(state, &actor, wave1, p.id)
            .await
            .map_err(err)?;
    }
    demo_nudges(state, wave1).await?;
    // Created last, so the replayed studies keep their ids (and their fixed ping schedules). A study
    // with its roster and no usage yet: the admin tries the import preview on it with the example
    // files written into the demo folder.
    let (preview, _) = study_in_setup(
        state,
        &system,
        [
            "Copilot Chat pilot (try the usage import)",
            "Microsoft",
            "Microsoft 365 Copilot Chat",
            "GPT-5 (2026-10)",
        ],
        start,
        employees,
        DemoUsage::NotYet,
    )
    .await?;
    let examples = write_examples(&state.config.data_dir, employees, start)?;
    // The analyst keeps seeing everything a data analyst may; the viewer the aggregate results only.
    for (email, role) in [
        (ANALYST_EMAIL, StudyRole::DataAnalyst),
        (VIEWER_EMAIL, StudyRole::Analyst),
    ] {
        let email = Email::parse(email).map_err(|e| anyhow::anyhow!(e))?;
        let user = staff_service::find(state, &email).await.map_err(err)?;
        for study in [id.0, preview.id.0, analysis, collection] {
            staff_service::grant(state, &system, StudyId(study), user.id, role)
                .await
                .map_err(err)?;
        }
    }
    Ok(DemoInfo {
        study_id: id.0,
        study_name: study.name,
        usage_read: usage_read.unwrap_or_default(),
        preview_study_id: preview.id.0,
        examples,
        collection_study_id: collection,
        analysis_study_id: analysis,
    })
}

/// The demo admin has nudged a few people of the collection study who are behind (issue 14): the
/// collection page shows when, refuses a second nudge within a day, and the audit log names them.
async fn demo_nudges(state: &AppState, study: StudyId) -> anyhow::Result<()> {
    let email = Email::parse(ADMIN_EMAIL).map_err(|e| anyhow::anyhow!(e))?;
    let admin = staff_service::find(state, &email)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let actor = Actor::staff(admin.id, ADMIN_EMAIL);
    let view = crate::participants::service::people_view(&Default::default());
    let lowest = crate::participants::service::people(state, study, &view, None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut nudged = 0;
    for p in lowest
        .rows
        .iter()
        .filter(|p| p.counts.standing() == "consented")
    {
        // Someone whose week is over is refused a nudge: the next one is tried.
        if crate::participants::service::nudge(state, &actor, study, p.counts.id)
            .await
            .is_ok()
        {
            nudged += 1;
        }
        if nudged == 3 {
            break;
        }
    }
    Ok(())
}

/// Which usage file a demo study starts from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DemoUsage {
    /// Our plain CSV (the GitHub studies, whose history is replayed).
    Plain,
    /// A Microsoft 365 Copilot usage report, as the admin center exports it.
    M365,
    /// None yet: the admin tries the import preview with an example file.
    NotYet,
}

/// A study in setup with the demo organisation's roster and usage imported through the real importers:
/// `[name, vendor, product, model version]`, starting on `start`.
async fn study_in_setup(
    state: &AppState,
    actor: &Actor,
    [name, vendor, product, model]: [&str; 4],
    start: NaiveDate,
    employees: usize,
    usage: DemoUsage,
) -> anyhow::Result<(StudyRow, Option<String>)> {
    let err = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    let form = StudyForm {
        name: name.into(),
        vendor: vendor.into(),
        product: product.into(),
        model_version: model.into(),
        time_zone: "Europe/London".into(),
        start_date: start.to_string(),
    };
    let details =
        StudyDetails::parse(&form).map_err(|p| anyhow::anyhow!("demo study form: {p:?}"))?;
    let id = study_service::create(state, actor, &details)
        .await
        .map_err(err)?;
    // The ping schedule's seed is random for a real study; the demo's is fixed so that every run shows
    // the same pages (and its test sees the same small cells).
    repo::fix_schedule_seed(&state.pool, id, 7_000 + id.0)
        .await
        .context("demo schedule seed")?;
    let notice = PrivacyForm {
        controller: "Example Ltd".into(),
        contact_name: "Data Protection Office".into(),
        contact_email: "privacy@example.org".into(),
        purpose: "To measure how much time the AI copilot saves per group of users, for the licence renewal."
            .into(),
        retention_until: String::new(),
    };
    study_service::set_privacy_notice(state, actor, id, &notice)
        .await
        .map_err(err)?
        .map_err(|p| anyhow::anyhow!("demo privacy notice: {p:?}"))?;
    demo_sender(state, actor, id).await?;
    study_service::advance(state, actor, id, Status::Setup)
        .await
        .map_err(err)?;
    let study = study_service::get(state, id).await.map_err(err)?;
    let (roster, report) = match usage {
        DemoUsage::M365 => organisation_m365(employees, start),
        DemoUsage::Plain | DemoUsage::NotYet => organisation(employees, start),
    };
    let first = |p: Vec<crate::roster::import::ImportProblem>| p.first().map(|x| x.to_string());
    roster_service::import_roster(state, actor, &study, "demo-roster.csv", roster.into_bytes())
        .await
        .map_err(err)?
        .map_err(|p| anyhow::anyhow!("demo roster refused: {:?}", first(p)))?;
    let filename = match usage {
        DemoUsage::NotYet => return Ok((study, None)),
        DemoUsage::Plain => "demo-usage.csv",
        DemoUsage::M365 => M365_EXAMPLE,
    };
    // Detected like an admin's upload ("auto"), so the import records the source it read.
    let read = roster_service::import_usage_as(
        state,
        actor,
        &study,
        filename,
        None,
        crate::roster::import::UsageOptions::default(),
        report.into_bytes(),
        None,
    )
    .await
    .map_err(err)?
    .map_err(|p| anyhow::anyhow!("demo usage refused: {:?}", first(p)))?;
    Ok((study, Some(read.source_read())))
}

/// The demo organisation's sender, organisation and contact line on a study's emails (set in setup, before
/// they freeze with the instruments), so a new user sees mail that says who sends it.
async fn demo_sender(state: &AppState, actor: &Actor, study: StudyId) -> anyhow::Result<()> {
    let sender = crate::messages::Sender {
        name: "Example Ltd copilot study".into(),
        address: "copilot-study@example.org".into(),
        organisation: "Example Ltd".into(),
        contact: "the copilot study team, copilot-study@example.org or extension 4321".into(),
    };
    crate::messages::service::edit_sender(state, actor, study, &sender)
        .await
        .map_err(|e| anyhow::anyhow!("demo sender: {e}"))?;
    Ok(())
}

/// The Microsoft 365 Copilot report the demo imports, and writes for the admin to try the preview with.
const M365_EXAMPLE: &str = "microsoft-365-copilot-usage-report.csv";
/// The folder of the demo's example usage files, inside the demo folder.
pub const EXAMPLES_DIR: &str = "usage-examples";

/// Writes the demo organisation's example usage files (readable by the service only) and returns
/// their paths: the Microsoft 365 Copilot report and the same use as our plain CSV.
fn write_examples(dir: &Path, employees: usize, start: NaiveDate) -> anyhow::Result<Vec<PathBuf>> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = dir.join(EXAMPLES_DIR);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let (_, m365) = organisation_m365(employees, start);
    let (_, plain) = organisation(employees, start);
    let mut written = Vec::new();
    for (name, text) in [(M365_EXAMPLE, m365), ("plain-usage.csv", plain)] {
        let path = dir.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
