//! The replayed studies: a study's past run on a manual clock through the real services and the real
//! tick, with simulated people consenting, logging tasks and answering pings.
use super::*;

/// A person's behaviour in the replayed study.
struct Persona {
    participant: i64,
    token: String,
    /// When they answer the invitation, if ever, and whether they say yes.
    decision: Option<(DateTime<Utc>, bool)>,
    /// Chance of answering a ping in time.
    compliance: f64,
    /// When they log diary tasks.
    diary: Vec<DateTime<Utc>>,
    decided: bool,
    /// In the control group (no copilot, minutes-only diary).
    control: bool,
}

/// A study started `weeks_ago` weeks ago (5: now in collection; 9: in analysis): its past is replayed on a manual clock
/// through the real services and the real tick (invitations to `.eml` files, consent, diary, pings answered
/// or missed), so every page shows believable data.
pub(super) async fn replay(
    state: &AppState,
    employees: usize,
    weeks_ago: i64,
    name: &str,
    model: &str,
) -> anyhow::Result<i64> {
    let err = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    let now = state.clock.now();
    let today = now.date_naive();
    let start =
        today - Duration::days(today.weekday().num_days_from_monday() as i64 + 7 * weeks_ago);
    let clock = ManualClock::new(at(start, 8));
    let (memory, _) = Mailer::memory(&state.config.mail.from);
    let sim = AppState::with_mailer(
        state.pool.clone(),
        (*state.config).clone(),
        Arc::new(clock.clone()),
        memory,
    );
    let admin = Actor::system();
    let (study, _) = study_in_setup(
        &sim,
        &admin,
        [name, "GitHub", "Copilot Business", model],
        start,
        employees,
        DemoUsage::Plain,
    )
    .await?;
    let id = study.id;
    for a in crate::study::repo::approvals(&state.pool, id).await? {
        study_service::record_approval(&sim, &admin, id, a.id, "demo")
            .await
            .map_err(err)?;
    }
    let spec = DrawSpec {
        n: 300.min(employees / 6),
        min_per_cohort: 20.min(employees / 40),
        pilot_n: 40.min(employees / 30),
        seed: 7,
    };
    roster_service::draw(&sim, &admin, &study, spec)
        .await
        .map_err(err)?;
    // Instrument C: minutes per task before the tool, from records and from two named experts.
    for (category, minutes, source) in [
        ("Code", "52", "Jira cycle times, 2025"),
        (
            "Writing and editing",
            "41",
            "Document system edit logs, 2025",
        ),
        ("Email and messages", "19", "Time study, March 2025"),
    ] {
        crate::baseline::service::set_historical(&sim, &admin, id, category, minutes, source)
            .await
            .map_err(err)?;
    }
    for (expert, category, low, likely, high) in [
        ("A. Okafor (engineering lead)", "Code", "30", "45", "75"),
        ("M. Lindqvist (delivery manager)", "Code", "35", "50", "80"),
        (
            "M. Lindqvist (delivery manager)",
            "Summarising documents",
            "20",
            "35",
            "60",
        ),
        (
            "A. Okafor (engineering lead)",
            "Data and spreadsheets",
            "25",
            "40",
            "70",
        ),
    ] {
        crate::baseline::service::set_expert(
            &sim,
            &admin,
            id,
            expert,
            category,
            (low, likely, high),
        )
        .await
        .map_err(err)?;
    }

    // The renewal assumptions the CIO office would enter.
    crate::reports::set_economics(
        &sim,
        &admin,
        id,
        ["39", &employees.to_string(), "40", "USD"],
    )
    .await
    .map_err(err)?;
    tco::cost_stack(&sim, &admin, id, employees)
        .await
        .map_err(err)?;

    let mut rng = ChaCha8Rng::seed_from_u64(2027);
    let mut people: Vec<Persona> = Vec::new();
    let mut t = at(start + Duration::days(14), 8);
    let end = now;
    let mut answered_or_skipped = std::collections::HashSet::new();
    let (mut ticks, mut mails) = (0usize, 0usize);
    while t < end {
        clock.set(t);
        let tick = crate::tick::run_due(&sim, t).await.map_err(err)?;
        (ticks, mails) = (ticks + 1, mails + tick.mail.sent);
        if tick.status_moves > 0 {
            let status = study_service::get(&sim, id).await.map_err(err)?.status();
            if status == Status::Pilot || status == Status::Collection {
                let before = people.len();
                crate::participants::service::invite(&sim, &admin, id)
                    .await
                    .map_err(err)?;
                if status == Status::Collection {
                    // Instrument C: a control group of people the usage data shows without the tool.
                    let control = repo::control_candidates(&state.pool, id).await?;
                    if !control.is_empty() {
                        crate::participants::service::invite_control(
                            &sim,
                            &admin,
                            id,
                            &control.join("\n"),
                        )
                        .await
                        .map_err(err)?;
                    }
                }
                // Invitations become real .eml files in the data folder.
                crate::mail::outbox::drain_once(state, &state.mailer, 0, t).await?;
                for (participant, body) in
                    invitation_links(state, id).await?.into_iter().skip(before)
                {
                    let control = repo::is_control(&state.pool, participant).await?;
                    people.push(persona(&mut rng, participant, body, t, control));
                }
            }
        }
        for p in people.iter_mut().filter(|p| !p.decided) {
            let Some((when, yes)) = p.decision else {
                continue;
            };
            if when <= t {
                clock.set(when);
                if let Some(row) = crate::participants::service::open_link(&sim, &p.token)
                    .await
                    .map_err(err)?
                {
                    crate::participants::service::decide(&sim, &row, yes, None)
                        .await
                        .map_err(err)?;
                }
                p.decided = true;
            }
        }
        for p in people
            .iter_mut()
            .filter(|p| p.decided && matches!(p.decision, Some((_, true))))
        {
            while p.diary.first().is_some_and(|d| *d <= t) {
                let when = p.diary.remove(0);
                clock.set(when);
                let Some(row) = crate::participants::service::open_link(&sim, &p.token)
                    .await
                    .map_err(err)?
                else {
                    break;
                };
                // Outside the diary window the service says no, as it would to a person.
                if p.control {
                    let task = control_task(&mut rng);
                    let _ = crate::diary::service::save_control_task(&sim, &row, None, &task).await;
                } else {
                    let entry = diary_entry(&mut rng);
                    let _ = crate::diary::service::save_diary(&sim, &row, None, &entry).await;
                }
            }
        }
        // Pings just sent: each person answers in time with their own probability.
        for (ping, participant, expires) in sent_pings(&state.pool, id).await? {
            if !answered_or_skipped.insert(ping) {
                continue;
            }
            let Some(p) = people.iter().find(|p| p.participant == participant) else {
                continue;
            };
            if rng.random::<f64>() >= p.compliance {
                continue;
            }
            let room = (expires - t).num_minutes().max(2);
            clock.set(t + Duration::minutes(rng.random_range(1..room)));
            if let Some(row) = crate::participants::service::open_link(&sim, &p.token)
                .await
                .map_err(err)?
            {
                crate::pings::service::answer(&sim, &row, ping, &ping_answer(&mut rng))
                    .await
                    .map_err(err)?;
            }
        }
        // The next half-hour at which anything can happen (see `skip`): the next moment someone decides,
        // or someone who said yes logs a task.
        let acts = people
            .iter()
            .filter_map(|p| match p.decision {
                Some((when, _)) if !p.decided => Some(when),
                Some((_, true)) => p.diary.first().copied(),
                _ => None,
            })
            .min();
        t = skip::next_tick(&sim, t, acts, end).await?;
    }
    tracing::info!(study = id.0, ticks, mails, "demo study replayed");
    Ok(id.0)
}

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    day.and_hms_opt(hour, 0, 0).expect("valid time").and_utc()
}

fn persona(
    rng: &mut ChaCha8Rng,
    participant: i64,
    token: String,
    invited: DateTime<Utc>,
    control: bool,
) -> Persona {
    let r: f64 = rng.random();
    let after = |rng: &mut ChaCha8Rng, hours: i64| {
        invited + Duration::minutes(rng.random_range(30..hours * 60))
    };
    // About 78% say yes within two days, 8% say no, the rest never answer.
    let decision = if r < 0.78 {
        Some((after(rng, 48), true))
    } else if r < 0.86 {
        Some((after(rng, 72), false))
    } else {
        None
    };
    // Most answer most pings; one in ten rarely does (they fall under the 1/3 compliance rule).
    let compliance = if rng.random::<f64>() < 0.1 {
        rng.random_range(0.05..0.3)
    } else {
        rng.random_range(0.55..0.95)
    };
    let consent_at = decision.map(|(w, _)| w).unwrap_or(invited);
    let entries = rng.random_range(0..9);
    let mut diary: Vec<DateTime<Utc>> = (0..entries)
        .map(|_| consent_at + Duration::minutes(rng.random_range(10..13 * 24 * 60)))
        .collect();
    diary.sort();
    Persona {
        participant,
        token,
        decision,
        compliance,
        diary,
        decided: false,
        control,
    }
}

/// A control-group task: the work without the tool takes somewhat longer than the diary's with-AI tasks.
fn control_task(rng: &mut ChaCha8Rng) -> crate::diary::ControlTask {
    use crate::diary::ControlTask;
    use crate::participants::DEFAULT_CATEGORIES;
    ControlTask {
        category: DEFAULT_CATEGORIES[rng.random_range(0..DEFAULT_CATEGORIES.len())].to_string(),
        description: String::new(),
        minutes: rng.random_range(12..80),
    }
}

fn diary_entry(rng: &mut ChaCha8Rng) -> crate::diary::DiaryEntry {
    use crate::diary::{DiaryEntry, Outcome};
    use crate::participants::DEFAULT_CATEGORIES;
    let outcome = match rng.random::<f64>() {
        x if x < 0.2 => Outcome::All,
        x if x < 0.6 => Outcome::Most,
        x if x < 0.85 => Outcome::Some,
        _ => Outcome::None,
    };
    let with = rng.random_range(5..60);
    DiaryEntry {
        category: DEFAULT_CATEGORIES[rng.random_range(0..DEFAULT_CATEGORIES.len())].to_string(),
        description: String::new(),
        outcome,
        minutes_with_ai: with,
        minutes_without_ai: with + rng.random_range(0..45),
    }
}

fn ping_answer(rng: &mut ChaCha8Rng) -> crate::pings::PingAnswer {
    use crate::pings::{PingAnswer, Used};
    match rng.random::<f64>() {
        x if x < 0.62 => PingAnswer {
            used: Used::Yes,
            minutes: [
                rng.random_range(1..12),
                rng.random_range(0..10),
                rng.random_range(0..5),
                rng.random_range(0..4),
            ],
        },
        x if x < 0.9 => PingAnswer {
            used: Used::No,
            minutes: [0; 4],
        },
        _ => PingAnswer {
            used: Used::NotWorking,
            minutes: [0; 4],
        },
    }
}

/// (participant, raw token) of every invitation of a study, in sending order, read back from the `.eml`
/// files the file transport wrote (the database holds no link).
async fn invitation_links(
    state: &AppState,
    study: crate::study::StudyId,
) -> anyhow::Result<Vec<(i64, String)>> {
    let rows =
        crate::mail::repo::sent_of_kind(&state.pool, study, crate::mail::Kind::Invitation).await?;
    let dir = state.config.mail_dir();
    Ok(rows
        .into_iter()
        .filter_map(|(participant, message_id)| {
            let body = crate::mail::transport::read_sent_text(&dir, &message_id).ok()?;
            let at = body.find("/p/")? + 3;
            Some((participant, body.get(at..at + 64)?.to_string()))
        })
        .collect())
}

/// Pings of a study that are sent and not answered yet: (ping, participant, expires).
async fn sent_pings(
    pool: &sqlx::SqlitePool,
    study: crate::study::StudyId,
) -> anyhow::Result<Vec<(i64, i64, DateTime<Utc>)>> {
    Ok(crate::pings::repo::sent_pings(pool, study).await?)
}
