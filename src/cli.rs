//! The command line: `serve` (default), `demo`, `user`, `import`, `analyze`, `export`, `report`, `study`,
//! `participant`, `backup`.
use crate::audit::Actor;
use crate::auth::{Email, NewPassword, Role, service as auth_service};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::roster::import::{DateOrder, ImportProblem, UsageFormat, UsageOptions};
use crate::roster::service as roster_service;
use crate::staff::service as staff_service;
use crate::startup::Application;
use crate::state::AppState;
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Layer 2 Study: measure what an AI copilot really saves, per adoption cohort.
#[derive(Parser, Debug)]
#[command(name = "layer2", version, about, long_about = None)]
pub struct Cli {
    /// A TOML config file (defaults, then this file, then LAYER2_* variables).
    #[arg(long, global = true, env = "LAYER2_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the web server (the default). Prints a one-time setup link while no admin exists.
    Serve,
    /// Seed a fresh demo data folder with a believable organisation and study, then serve it.
    Demo {
        /// The demo's data folder; it is wiped and re-created (only if it holds a previous demo).
        #[arg(long, default_value = "./layer2-demo", value_name = "DIR")]
        data_dir: PathBuf,
        /// Number of employees in the demo organisation.
        #[arg(long, default_value_t = 3000)]
        employees: usize,
        /// Seed the folder and exit instead of serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Import a roster or vendor usage file into a study (same checks as the web pages).
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Compute the Layer 2 profile from files: participants.csv, diary.csv, pings.csv, population.csv.
    Analyze {
        /// The folder holding the four CSV files.
        dir: PathBuf,
        /// Answers later than this many minutes after sending count as missed, where the files give no
        /// deadline of their own (`expires_at`, or the exports' `window_min` and `answered_in_time`).
        #[arg(long, default_value_t = 30)]
        window_minutes: i64,
        /// Participants answering fewer than this share of their pings in time are left out (0 keeps everyone).
        #[arg(long, default_value_t = crate::stats::MIN_COMPLIANCE)]
        min_compliance: f64,
        /// Confidence level of the intervals.
        #[arg(long, default_value_t = crate::stats::LEVEL)]
        level: f64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also run the Rao–Wu bootstrap (finite population corrected) with this many resamples (0: none).
        #[arg(long, default_value_t = 0)]
        bootstrap: usize,
        /// Seed of the bootstrap (the same seed and files give the same intervals).
        #[arg(long, default_value_t = crate::stats::bootstrap::DEFAULT_SEED)]
        seed: u64,
        /// The interval shown as `interval`: recommended (per metric, from the coverage study), t,
        /// logit_t (yield), log_t (oversight, gross) or rao_wu_percentile (runs the bootstrap).
        #[arg(long, default_value = "recommended")]
        interval: String,
    },
    /// Export a study's pseudonymous data: the files `analyze` reads, the summary and the codebook.
    Export {
        /// The study id (see `layer2 study list`).
        #[arg(long)]
        study: i64,
        /// csv (one file per table), json (one document) or xlsx (one workbook).
        #[arg(long, default_value = "csv")]
        format: String,
        /// The folder to write into (created if missing; files of the same name are replaced).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Include participants' free-text descriptions (recorded in the audit log).
        #[arg(long)]
        descriptions: bool,
    },
    /// Print a study's Layer 2 profile and renewal economics, with the confidentiality rule applied.
    Report {
        /// The study id (see `layer2 study list`).
        #[arg(long)]
        study: i64,
        /// Participants answering fewer than this share of their pings in time are left out.
        #[arg(long, default_value_t = crate::stats::MIN_COMPLIANCE)]
        min_compliance: f64,
    },
    /// Look at studies.
    Study {
        #[command(subcommand)]
        command: StudyCommand,
    },
    /// Act on one participant.
    Participant {
        #[command(subcommand)]
        command: ParticipantCommand,
    },
    /// Write a consistent copy of the database while the server runs (a new file, readable by you only).
    Backup {
        /// The copy to write; it must not exist yet.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum ParticipantCommand {
    /// Erase a participant for good (answers, links, consent history, mail); the roster keeps only cohort,
    /// function and tenure band. Audited without personal data. Name them by exactly one of --email and
    /// --employee-id.
    Erase {
        /// The study id (see `layer2 study list`).
        #[arg(long)]
        study: i64,
        /// The participant's email.
        #[arg(long)]
        email: Option<String>,
        /// The participant's employee id.
        #[arg(long)]
        employee_id: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a staff account. The password is asked on the terminal, or read from stdin.
    Add {
        /// The person's email (their login).
        #[arg(long)]
        email: String,
        /// admin (changes studies) or analyst (reads and exports).
        #[arg(long)]
        role: String,
    },
    /// Set a new password for an account (ends its sessions and login pause).
    Password {
        /// The account's email.
        #[arg(long)]
        email: String,
    },
    /// List staff accounts with their role and status.
    List,
    /// Disable an account: it cannot sign in and its sessions end at once (never the last active admin).
    Disable {
        /// The account's email.
        #[arg(long)]
        email: String,
    },
    /// Let a disabled account sign in again.
    Enable {
        /// The account's email.
        #[arg(long)]
        email: String,
    },
    /// Change an account's role (the last active admin stays one).
    Role {
        /// The account's email.
        #[arg(long)]
        email: String,
        /// admin (everything) or analyst (staff who see only the studies granted to them).
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand, Debug)]
enum ImportCommand {
    /// Import (replace) a study's roster from a CSV file.
    Roster {
        /// The study id (see `layer2 study list`).
        #[arg(long)]
        study: i64,
        /// The CSV file.
        file: PathBuf,
    },
    /// Import vendor usage analytics.
    Usage {
        /// The study id (see `layer2 study list`).
        #[arg(long)]
        study: i64,
        /// auto (detect from the file), or one of csv, github, github-seats, m365, chatgpt, cursor, gemini,
        /// amazon-q, viva.
        #[arg(long, default_value = "auto")]
        format: String,
        /// How to read dates like 03/04/2026 when every day in the file is 12 or less: dmy (day/month) or
        /// mdy (month/day).
        #[arg(long, value_name = "ORDER")]
        date_order: Option<String>,
        /// Gross AI hours per month per usage unit, for sources without hours (an assumption, shown as such).
        #[arg(long, value_name = "HOURS")]
        hours_per_unit: Option<f64>,
        /// The file.
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum StudyCommand {
    /// List studies with their ids.
    List,
}

/// Parses arguments and runs the command; the binary's `main`.
pub fn main() -> ExitCode {
    main_with(|| {})
}

/// [`main`], calling `for_a_server` first (on this thread, before any other is started) when the command
/// runs the server (`serve`, `demo`): the binary limits the allocator's arenas there (see `src/main.rs`);
/// a one-off command such as `analyze` keeps one arena per thread, which its threads read faster with.
pub fn main_with(for_a_server: impl FnOnce()) -> ExitCode {
    let cli = Cli::parse();
    if matches!(
        cli.command,
        None | Some(Command::Serve | Command::Demo { .. })
    ) {
        for_a_server();
    }
    crate::telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Demo {
            data_dir,
            employees,
            no_serve,
        } => {
            let mut config = config;
            crate::demo::prepare_folder(&data_dir)?;
            config.data_dir = data_dir;
            // The demo organisation's contact, so a broken link's page shows one (a real installation
            // sets its own; `serve` warns when it is missing).
            if config.privacy_contact.trim().is_empty() {
                config.privacy_contact = crate::demo::PRIVACY_CONTACT.into();
            }
            // `--no-serve` binds nothing: seeding needs no port (and works while 8080 is taken).
            let (app, state) = if no_serve {
                let pool = crate::db::connect(&config.database_path()).await?;
                (None, AppState::new(pool, config, Arc::new(SystemClock))?)
            } else {
                let app = Application::build(config, Arc::new(SystemClock)).await?;
                let state = app.state().clone();
                (Some(app), state)
            };
            let info = crate::demo::seed(&state, employees).await?;
            println!("Demo data in {}", state.config.data_dir.display());
            println!(
                "  study in setup: {} (id {}; usage read from {})",
                info.study_name, info.study_id, info.usage_read
            );
            println!(
                "  study to try the usage import preview: id {} (roster loaded, no usage yet): \
                 /studies/{}/usage with one of these files:",
                info.preview_study_id, info.preview_study_id
            );
            for file in &info.examples {
                println!("    {}", file.display());
            }
            println!(
                "  study in collection: id {} (its invitations are .eml files in the mail folder; analysts see its results once collection ends)",
                info.collection_study_id
            );
            println!(
                "  study in analysis: id {} (its report: /studies/{}/report, released to analysts; waves, as an admin: /waves?ids={}&ids={})",
                info.analysis_study_id,
                info.analysis_study_id,
                info.analysis_study_id,
                info.collection_study_id
            );
            println!(
                "  admin login:   {}  password: {}",
                crate::demo::ADMIN_EMAIL,
                crate::demo::ADMIN_PASSWORD
            );
            println!(
                "  analyst login: {}  password: {}  (data analyst on every study)",
                crate::demo::ANALYST_EMAIL,
                crate::demo::ANALYST_PASSWORD
            );
            println!(
                "  viewer login:  {}  password: {}  (analyst: aggregate results only)",
                crate::demo::VIEWER_EMAIL,
                crate::demo::VIEWER_PASSWORD
            );
            let Some(app) = app else {
                return Ok(ExitCode::SUCCESS);
            };
            println!(
                "Open {}/login  (Ctrl-C stops the server)",
                app.state().config.base_url()
            );
            app.run().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command } => user(config, command).await,
        Command::Analyze {
            dir,
            window_minutes,
            min_compliance,
            level,
            json,
            bootstrap,
            seed,
            interval,
        } => analyze(
            &dir,
            window_minutes,
            min_compliance,
            level,
            json,
            bootstrap,
            seed,
            &interval,
        ),
        Command::Import { command } => import(config, command).await,
        Command::Export {
            study,
            format,
            out,
            descriptions,
        } => export(config, study, &format, &out, descriptions).await,
        Command::Report {
            study,
            min_compliance,
        } => {
            if !(0.0..=1.0).contains(&min_compliance) {
                bail!("--min-compliance must be between 0 and 1, not {min_compliance}");
            }
            let state = offline_state(config).await?;
            let id = crate::study::StudyId(study);
            if crate::study::repo::get(&state.pool, id).await?.is_none() {
                bail!("There is no study {study}; see `layer2 study list`.");
            }
            print!(
                "{}",
                crate::reports::readout::text(&state, id, min_compliance)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Participant {
            command:
                ParticipantCommand::Erase {
                    study,
                    email,
                    employee_id,
                },
        } => {
            use crate::participants::service::{ErasureKey, erase_by_key};
            let key = match (email, employee_id) {
                (Some(e), None) => ErasureKey::Email(e),
                (None, Some(x)) => ErasureKey::EmployeeId(x),
                _ => bail!("name the participant by exactly one of --email and --employee-id"),
            };
            let state = offline_state(config).await?;
            let id = crate::study::StudyId(study);
            let erased = erase_by_key(&state, &Actor::cli(), id, &key)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "Erased one participant of study {study}: {}.",
                erased.summary()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { out } => {
            let state = offline_state(config).await?;
            crate::db::backup_into(&state.pool, &out).await?;
            println!(
                "Wrote a consistent copy of the database to {} (it holds personal data: keep it as safe as the server).",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Study {
            command: StudyCommand::List,
        } => {
            let state = offline_state(config).await?;
            let studies = crate::study::repo::list(&state.pool).await?;
            if studies.is_empty() {
                println!("No studies yet.");
            }
            for s in studies {
                println!(
                    "{:>4}  {:<10}  {}  ({} {}), {} employees",
                    s.id, s.status, s.name, s.vendor, s.product, s.employees
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `layer2 analyze`: the profile from files, with the recommended (or chosen) interval, the optional
/// Rao–Wu bootstrap, and who was left out and why.
#[allow(clippy::too_many_arguments)]
fn analyze(
    dir: &Path,
    window_minutes: i64,
    min_compliance: f64,
    level: f64,
    json: bool,
    resamples: usize,
    seed: u64,
    interval: &str,
) -> anyhow::Result<ExitCode> {
    use crate::stats::bootstrap::{BootstrapOptions, bootstrap};
    use crate::stats::intervals::{Method, use_bootstrap};
    if !(0.0..=1.0).contains(&min_compliance) {
        bail!("--min-compliance must be between 0 and 1, not {min_compliance}");
    }
    if window_minutes < 1 {
        bail!("--window-minutes must be at least 1");
    }
    let method = match interval {
        "recommended" => None,
        other => Some(Method::parse(other).map_err(|e| anyhow::anyhow!("--interval: {e}"))?),
    };
    let resamples = match (method, resamples) {
        (Some(Method::RaoWuPercentile), 0) => crate::stats::bootstrap::DEFAULT_RESAMPLES,
        (_, b) => b,
    };
    let rules = crate::stats::input::Rules {
        window_minutes,
        min_compliance,
    };
    let inputs = crate::stats::input::read_dir(dir, rules).map_err(|e| anyhow::anyhow!(e))?;
    let data: Vec<_> = inputs.kept.iter().map(crate::reports::to_data).collect();
    let analytic = method.filter(|m| *m != Method::RaoWuPercentile);
    let mut profile =
        crate::stats::profile::profile_with(&data, &inputs.populations, level, analytic)
            .map_err(|e| anyhow::anyhow!(e))?;
    let boot = if resamples > 0 {
        let options = BootstrapOptions {
            resamples,
            seed,
            level,
        };
        Some(bootstrap(&data, &inputs.populations, &options).map_err(|e| anyhow::anyhow!(e))?)
    } else {
        None
    };
    if let (Some(Method::RaoWuPercentile), Some(b)) = (method, &boot) {
        use_bootstrap(&mut profile, b);
    }
    let left_out = crate::stats::input::LeftOut::of(&inputs);
    if json {
        let out = crate::stats::input::Analysis {
            profile: &profile,
            left_out,
            bootstrap: boot.as_ref(),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!(
            "{}",
            crate::reports::text::table(
                &profile,
                inputs.kept.len(),
                inputs.excluded.len(),
                level,
                min_compliance
            )
        );
        for line in left_out.sentences() {
            println!("{line}");
        }
        println!("{}", crate::stats::intervals::methods_sentence(&profile));
        for (metric, how) in &profile.overall.notes {
            println!("Overall {metric}: {how}.");
        }
        for line in crate::stats::intervals::approximate_lines(&profile) {
            println!("{line}");
        }
        if let Some(b) = &boot {
            println!(
                "Rao–Wu bootstrap (finite population corrected): {} resamples, seed {}; `--json` lists its intervals.",
                b.resamples, b.seed
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn export(
    config: Config,
    study: i64,
    format: &str,
    out: &Path,
    descriptions: bool,
) -> anyhow::Result<ExitCode> {
    use crate::export::Format;
    let Some(fmt) = Format::parse(format) else {
        bail!("--format must be csv, json or xlsx, not {format:?}");
    };
    let state = offline_state(config).await?;
    let id = crate::study::StudyId(study);
    if crate::study::repo::get(&state.pool, id).await?.is_none() {
        bail!("There is no study {study}; see `layer2 study list`.");
    }
    // After a purge there is no raw data: empty files would read as a study with nobody in it.
    crate::retention::service::require_raw_data(&state, id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let data = crate::export::gather(
        &state,
        id,
        descriptions,
        crate::stats::MIN_COMPLIANCE,
        crate::reports::compute::Audience::RawFiles,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut data = data;
    data.tco = crate::tco::service::section(&state, id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .map(|t| t.out);
    // A new folder is the service user's alone; an existing one (the admin's own choice) keeps its mode,
    // and every file written into it is 0600: the files hold pseudonymous personal data.
    if !out.exists() {
        crate::files::private_dir(out)
            .with_context(|| format!("cannot create {}", out.display()))?;
    }
    let names: Vec<&str> = match fmt {
        Format::Csv => crate::export::CSV_FILES.to_vec(),
        Format::Json => vec!["export.json"],
        Format::Xlsx => vec!["workbook.xlsx"],
    };
    // Recorded before anything is written: no data leaves without its audit row.
    crate::export::audit_export(&state, &Actor::cli(), id, &names.join(", "), descriptions)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Each file is written row by row (`export::stream`): memory stays in proportion to a slice.
    let mut written = crate::export::stream::Written::default();
    for name in &names {
        let path = out.join(name);
        let file = crate::files::create_private(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut sink = crate::export::stream::File(std::io::BufWriter::new(file));
        let w = crate::export::stream::write_file(&state.pool, &data, name, &mut sink)
            .await
            .and_then(|w| sink.finish().map(|()| w))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        written.diary = written.diary.max(w.diary);
        written.pings = written.pings.max(w.pings);
    }
    println!(
        "Wrote {} to {} ({} participants, {} diary tasks, {} pings).",
        names.join(", "),
        out.display(),
        data.participants.len(),
        written.diary,
        written.pings
    );
    if fmt == Format::Csv {
        println!(
            "Analyse it again: layer2 analyze {} --min-compliance {:.3}",
            out.display(),
            crate::stats::MIN_COMPLIANCE
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let app = Application::build(config, Arc::new(SystemClock)).await?;
    let base = app.state().config.base_url_for_port(app.port());
    let listen = format!("{}:{}", app.state().config.listen.ip(), app.port());
    if let Some(token) = auth_service::setup_token_if_needed(app.state()).await? {
        // Printed for the person starting the server, never logged.
        println!(
            "No admin account exists yet. Open this one-time link to create it (valid 24 hours):"
        );
        println!("  {base}/setup/{token}");
    }
    tracing::info!(%listen, "Layer 2 Study is listening");
    println!("Layer 2 Study on {base} (listening on {listen}; Ctrl-C stops it)");
    app.run().await?;
    Ok(ExitCode::SUCCESS)
}

/// State for commands that use an existing database without serving. A data folder without a database
/// (a mistyped path, say) is refused and nothing is created there: only `serve`, `demo` and `user add`
/// start a new one.
async fn offline_state(config: Config) -> anyhow::Result<AppState> {
    let path = config.database_path();
    if !path.is_file() {
        bail!(
            "there is no Layer 2 Study database at {} (is the data folder right? set data_dir, \
             LAYER2_DATA_DIR or --config); nothing was created",
            path.display()
        );
    }
    new_state(config).await
}

/// State for commands that may start a new database (`user add`: the first admin of a new folder).
async fn new_state(config: Config) -> anyhow::Result<AppState> {
    let pool = crate::db::connect(&config.database_path()).await?;
    AppState::new(pool, config, Arc::new(SystemClock))
}

fn read_password(confirm: bool, email: &Email) -> anyhow::Result<NewPassword> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        let p = rpassword::prompt_password("Password (at least 12 characters): ")?;
        if confirm && rpassword::prompt_password("Password again: ")? != p {
            bail!("the two passwords differ");
        }
        p
    } else {
        let mut line = String::new();
        stdin.lock().read_line_limited(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    NewPassword::parse(password, email).map_err(|e| anyhow::anyhow!(e))
}

trait ReadLineLimited {
    fn read_line_limited(&mut self, buf: &mut String) -> std::io::Result<usize>;
}

impl<R: std::io::BufRead> ReadLineLimited for R {
    /// Reads one line, at most 4 KiB, so a mistaken pipe cannot fill memory.
    fn read_line_limited(&mut self, buf: &mut String) -> std::io::Result<usize> {
        self.take(4096).read_line(buf)
    }
}

async fn user(config: Config, command: UserCommand) -> anyhow::Result<ExitCode> {
    let state = match command {
        UserCommand::Add { .. } => new_state(config).await?,
        _ => offline_state(config).await?,
    };
    match command {
        UserCommand::Add { email, role } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let role: Role = role
                .parse()
                .map_err(|e: String| anyhow::anyhow!("--role: {e}"))?;
            let password = read_password(true, &email)?;
            auth_service::create_user(&state, &email, role, password, &Actor::cli())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("Created the {role} account {}.", email.as_str());
        }
        UserCommand::Password { email } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let password = read_password(true, &email)?;
            auth_service::reset_password(&state, &email, password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "New password set for {}; their sessions were ended.",
                email.as_str()
            );
        }
        UserCommand::List => {
            for u in staff_service::list(&state).await? {
                println!("{:<8} {} ({})", u.role, u.email, u.status.label());
            }
        }
        UserCommand::Disable { email } => {
            let user = cli_account(&state, &email).await?;
            staff_service::disable(&state, &Actor::cli(), user.id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("Disabled {}; their sessions were ended.", user.email);
        }
        UserCommand::Enable { email } => {
            let user = cli_account(&state, &email).await?;
            staff_service::enable(&state, &Actor::cli(), user.id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("Enabled {}.", user.email);
        }
        UserCommand::Role { email, role } => {
            let role: Role = role
                .parse()
                .map_err(|e: String| anyhow::anyhow!("--role: {e}"))?;
            let user = cli_account(&state, &email).await?;
            staff_service::set_role(&state, &Actor::cli(), user.id, role)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{} is now {role}.", user.email);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The account named by `--email`, or a clear refusal.
async fn cli_account(
    state: &AppState,
    email: &str,
) -> anyhow::Result<crate::staff::repo::StaffRow> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    staff_service::find(state, &email)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Reads a file with a progress bar (shown only on a terminal, for files over 1 MB).
fn read_with_progress(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if std::io::stderr().is_terminal() && len > 1_000_000 {
        let bar = ProgressBar::new(len);
        bar.set_style(
            ProgressStyle::with_template("reading {bytes}/{total_bytes} [{bar:30}] {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut bytes = Vec::with_capacity(len as usize);
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let n = file
            .read(&mut chunk)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(bytes)
}

fn spinner(message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let s = ProgressBar::new_spinner();
    s.set_message(message);
    s.enable_steady_tick(std::time::Duration::from_millis(120));
    s
}

fn print_problems(file: &Path, problems: &[ImportProblem]) -> ExitCode {
    eprintln!(
        "{} was not imported; nothing was changed. Problems:",
        file.display()
    );
    for p in problems {
        eprintln!("  {p}");
    }
    ExitCode::from(1)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into())
}

async fn import(config: Config, command: ImportCommand) -> anyhow::Result<ExitCode> {
    let state = offline_state(config).await?;
    let actor = Actor::cli();
    match command {
        ImportCommand::Roster { study, file } => {
            let study = roster_service::study_for_cli(&state, study).await?;
            let bytes = read_with_progress(&file)?;
            let s = spinner("checking and importing the roster…");
            let result =
                roster_service::import_roster(&state, &actor, &study, &file_name(&file), bytes)
                    .await;
            s.finish_and_clear();
            match result.map_err(|e| anyhow::anyhow!("{e}"))? {
                Ok(n) => println!(
                    "Imported {n} employees into study {}; cohorts were reassigned.",
                    study.id
                ),
                Err(problems) => return Ok(print_problems(&file, &problems)),
            }
        }
        ImportCommand::Usage {
            study,
            format,
            date_order,
            hours_per_unit,
            file,
        } => {
            let choice: Option<UsageFormat> = if format.trim().eq_ignore_ascii_case("auto") {
                None
            } else {
                Some(
                    format
                        .parse()
                        .map_err(|e| anyhow::anyhow!("--format: {e} (or auto)"))?,
                )
            };
            let date_order = DateOrder::from_choice(date_order.as_deref().unwrap_or(""))
                .map_err(|e| anyhow::anyhow!("--date-order: {e}"))?;
            if let Some(h) = hours_per_unit
                && !(h.is_finite() && h > 0.0)
            {
                bail!("--hours-per-unit must be a positive number");
            }
            let study = roster_service::study_for_cli(&state, study).await?;
            // Read from disk as the import goes, so a file of any size is never held whole in memory.
            std::fs::metadata(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let s = spinner("checking and importing the usage data…");
            let name = file_name(&file);
            let result = roster_service::import_usage_from(
                &state,
                &actor,
                &study,
                roster_service::UsageChoice {
                    filename: &name,
                    format: choice,
                    options: UsageOptions { date_order },
                    hours_per_unit,
                },
                roster_service::UsageSource::File(file.clone()),
            )
            .await;
            s.finish_and_clear();
            match result.map_err(|e| anyhow::anyhow!("{e}"))? {
                Ok(o) => println!(
                    "Imported {} rows of {} ({} to {}): {} people matched to the roster, {} not on it. Cohorts were reassigned.",
                    o.rows,
                    o.source_read(),
                    o.period.0,
                    o.period.1,
                    o.matched,
                    o.unmatched
                ),
                Err(problems) => return Ok(print_problems(&file, &problems)),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
