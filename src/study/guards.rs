//! Confirmations before every irreversible step: what the step will do (its consequences), what looks
//! wrong (warnings: too early for the phase's dates, a pilot that answered little or nothing, a cohort
//! under its minimum), and what stops it (blockers). A warning never forbids: the admin ticks "I have read
//! the warnings" and goes ahead; a blocker does (the step itself refuses it too).
use super::repo::{self, StudyRow};
use super::{Phase, PhaseDates, Status, privacy};
use crate::audit::Actor;
use crate::error::{AppError, Result};
use crate::participants::{Arm, Decision, Group};
use crate::roster::cohort::Cohort;
use crate::state::AppState;
use crate::stats::MIN_COMPLIANCE;
use chrono::NaiveDate;

/// Most days one extension may add to collection.
pub const MAX_EXTENSION_DAYS: i64 = 90;

/// A step that needs a confirmation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// One status forward.
    Move(Status),
    /// From the pilot back to setup.
    Back,
    /// Sending the invitations of the phase (freezes the wording in collection).
    Invite,
    /// Collection longer by this many days; analysis and readout move with it.
    Extend(i64),
    /// Collection ends today; analysis starts.
    CloseEarly,
    /// The study stops for good.
    Cancel,
    /// A closed or cancelled study leaves the list.
    Archive,
    /// Every person-level record deleted now.
    Purge,
}

/// What a confirmation page shows.
#[derive(Clone, Debug)]
pub struct Confirmation {
    /// The step.
    pub step: Step,
    /// The page's heading, e.g. "Move to Collection".
    pub title: String,
    /// What will happen.
    pub consequences: Vec<String>,
    /// What looks wrong (does not forbid).
    pub warnings: Vec<String>,
    /// What forbids the step now.
    pub blockers: Vec<String>,
    /// The button's words.
    pub button: String,
}

/// The admin's answers on a confirmation form.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ack {
    /// The confirm button (or box) was used.
    pub confirmed: bool,
    /// "I have read the warnings" was ticked.
    pub warnings_read: bool,
}

impl Confirmation {
    /// Refuses, changing nothing, a POST without the confirmation, or without the tick while there are
    /// warnings, or while a blocker stands.
    pub fn check(&self, ack: Ack) -> Result<()> {
        if !self.blockers.is_empty() {
            return Err(AppError::Conflict(format!(
                "{}: not possible now: {}. Nothing was changed.",
                self.title,
                self.blockers.join("; ")
            )));
        }
        if !ack.confirmed {
            return Err(AppError::BadRequest(format!(
                "{}: confirm on this page first; nothing was changed.",
                self.title
            )));
        }
        if !self.warnings.is_empty() && !ack.warnings_read {
            return Err(AppError::BadRequest(format!(
                "{}: tick \"I have read the warnings\" to go ahead; nothing was changed.",
                self.title
            )));
        }
        Ok(())
    }
}

fn today(state: &AppState, study: &StudyRow) -> NaiveDate {
    state.clock.now().with_timezone(&study.tz()).date_naive()
}

fn phase_of(status: Status) -> Option<Phase> {
    match status {
        Status::Setup => Some(Phase::Setup),
        Status::Pilot => Some(Phase::Pilot),
        Status::Collection => Some(Phase::Collection),
        Status::Analysis => Some(Phase::Analysis),
        Status::Readout => Some(Phase::Readout),
        _ => None,
    }
}

fn dates(phases: &[PhaseDates], phase: Phase) -> Option<PhaseDates> {
    phases.iter().find(|p| p.phase == phase).copied()
}

/// "The pilot starts on 2027-01-18: this move comes 14 days early."
fn early(phases: &[PhaseDates], to: Status, today: NaiveDate) -> Option<String> {
    let p = dates(phases, phase_of(to)?)?;
    let days = (p.starts_on - today).num_days();
    (days > 0).then(|| {
        format!(
            "Too early: the {} phase starts on {} and today is {today}, so this move comes {days} day{} before its date.",
            to.label().to_lowercase(),
            p.starts_on,
            if days == 1 { "" } else { "s" }
        )
    })
}

/// The pilot group's answers so far, and a warning when there are none or too few.
struct Pilot {
    invited: i64,
    consented: i64,
    delivered: i64,
    answered: i64,
    diary: i64,
}

async fn pilot(state: &AppState, study: &StudyRow) -> Result<Pilot> {
    let rows = crate::participants::repo::compliance(&state.pool, study.id).await?;
    let mut p = Pilot {
        invited: 0,
        consented: 0,
        delivered: 0,
        answered: 0,
        diary: 0,
    };
    for r in rows
        .iter()
        .filter(|r| r.role == Group::Pilot && r.arm == Arm::Copilot)
    {
        p.invited += 1;
        p.consented += i64::from(r.consent == Some(Decision::Accepted));
        p.delivered += r.delivered;
        p.answered += r.answered;
        p.diary += r.diary;
    }
    Ok(p)
}

fn pilot_warnings(p: &Pilot) -> Vec<String> {
    let mut out = Vec::new();
    if p.invited == 0 {
        out.push(
            "No pilot answers: nobody of the pilot group was invited, so the consent page, diary and \
             check-ins were never tried by anyone."
                .to_string(),
        );
    } else if p.answered == 0 && p.diary == 0 {
        out.push(format!(
            "No pilot answers: none of the {} pilot participants ({} consented) has answered a check-in or \
             written a diary entry.",
            p.invited, p.consented
        ));
    } else if p.delivered > 0 && (p.answered as f64) < MIN_COMPLIANCE * p.delivered as f64 {
        out.push(format!(
            "Pilot compliance is {} ({} of {} check-ins answered), under the study's threshold of {}: \
             participants under it are left out of every estimate.",
            crate::reports::text::pct(p.answered as f64, p.delivered as f64),
            p.answered,
            p.delivered,
            crate::reports::text::pct(MIN_COMPLIANCE, 1.0)
        ));
    }
    out
}

/// Cohorts under the draw's minimum: in the main sample before collection, among those who consented
/// from collection on (that is who the estimates will rest on).
async fn cohort_warnings(
    state: &AppState,
    study: &StudyRow,
    consented: bool,
) -> Result<Vec<String>> {
    let Some(drawn) = crate::roster::service::sample_overview(state, study)
        .await?
        .drawn
    else {
        return Ok(vec![]);
    };
    let min = drawn.draw.min_per_cohort.max(0) as u64;
    let mut out = Vec::new();
    if consented {
        let rows = crate::participants::repo::compliance(&state.pool, study.id).await?;
        for (cohort, c) in &drawn.by_cohort {
            if c.main == 0 {
                continue;
            }
            let n = rows
                .iter()
                .filter(|r| {
                    r.role == Group::Main
                        && r.arm == Arm::Copilot
                        && r.consent == Some(Decision::Accepted)
                        && !r.withdrawn
                        && r.cohort.as_deref().and_then(|c| c.parse::<Cohort>().ok())
                            == Some(*cohort)
                })
                .count() as u64;
            if n < min {
                out.push(format!(
                    "Cohort under its minimum: {} has {n} consenting participant{} in the main sample, {} short of the minimum of {min}.",
                    cohort.label(),
                    if n == 1 { "" } else { "s" },
                    min - n
                ));
            }
        }
    } else {
        for (cohort, c) in &drawn.by_cohort {
            if c.population > 0 && c.main < min {
                out.push(format!(
                    "Cohort under its minimum: {} has {} in the main sample, {} short of the minimum of {min} (the cohort has {} people).",
                    cohort.label(),
                    c.main,
                    min - c.main,
                    c.population
                ));
            }
        }
    }
    Ok(out)
}

/// The confirmation of `step` for this study, read now.
pub async fn confirmation(state: &AppState, study: &StudyRow, step: Step) -> Result<Confirmation> {
    let status = study.status();
    let today = today(state, study);
    let phases = repo::timeline(&state.pool, study.id).await?;
    let mut consequences = Vec::new();
    let mut warnings = Vec::new();
    let mut blockers = Vec::new();
    let invited = repo::participant_count(&state.pool, study.id).await?;
    let (title, button) = match step {
        Step::Move(to) => {
            if status.next() != Some(to) {
                blockers.push(format!(
                    "the study is in {}; it moves forward one step at a time{}",
                    status.label(),
                    status
                        .next()
                        .map(|n| format!(", to {}", n.label()))
                        .unwrap_or_default()
                ));
            } else {
                blockers.extend(super::service::blockers(state, study.id, to).await?);
            }
            warnings.extend(early(&phases, to, today));
            move_consequences(state, study, to, &phases, &mut consequences).await?;
            match to {
                Status::Pilot => warnings.extend(cohort_warnings(state, study, false).await?),
                Status::Collection => {
                    warnings.extend(pilot_warnings(&pilot(state, study).await?));
                    warnings.extend(cohort_warnings(state, study, false).await?);
                }
                Status::Analysis => warnings.extend(cohort_warnings(state, study, true).await?),
                _ => {}
            }
            (
                format!("Move to {}", to.label()),
                format!("Move to {}", to.label()),
            )
        }
        Step::Back => {
            if status != Status::Pilot {
                blockers.push(format!(
                    "only a study in the pilot can step back to setup; this one is in {}",
                    status.label()
                ));
            }
            if invited > 0 {
                blockers.push(format!(
                    "{invited} people have been invited already; once anyone has a link the study can only go forward"
                ));
            }
            consequences.push(
                "The study returns to Setup: the sample can be redrawn (or discarded so the roster, usage and \
                 cohorts can change), approvals and the privacy notice can be completed."
                    .into(),
            );
            consequences.push(
                "Moving to the pilot again needs the same checks and its own confirmation. The step back is \
                 recorded in the status history and the audit log."
                    .into(),
            );
            ("Step back to Setup".into(), "Step back to Setup".into())
        }
        Step::Invite => {
            invite_page(
                state,
                study,
                &mut consequences,
                &mut warnings,
                &mut blockers,
            )
            .await?;
            let group = crate::participants::service::invite_label(status)
                .unwrap_or("Send the invitations");
            (group.to_string(), group.to_string())
        }
        Step::Extend(days) => {
            if !(1..=MAX_EXTENSION_DAYS).contains(&days) {
                blockers.push(format!(
                    "extend by a whole number of days from 1 to {MAX_EXTENSION_DAYS}"
                ));
            }
            if status.is_over() || status > Status::Collection {
                blockers.push(format!(
                    "collection is over (the study is in {}); it can no longer be extended",
                    status.label()
                ));
            }
            if (1..=MAX_EXTENSION_DAYS).contains(&days) {
                for p in super::service::extended(&phases, days) {
                    if let Some(old) = dates(&phases, p.phase)
                        && old != p
                    {
                        consequences.push(format!(
                            "{}: {}–{} becomes {}–{}.",
                            p.phase.label(),
                            old.starts_on,
                            old.ends_on,
                            p.starts_on,
                            p.ends_on
                        ));
                    }
                }
            }
            consequences.push(
                "Invitation links of people who have not answered yet stay valid until the new end of \
                 collection; the retention date follows the readout unless one was chosen."
                    .into(),
            );
            (
                format!("Extend collection by {days} days"),
                format!("Extend collection by {days} days"),
            )
        }
        Step::CloseEarly => {
            if status != Status::Collection {
                blockers.push(format!(
                    "only a study in collection can close it early; this one is in {}",
                    status.label()
                ));
            }
            if let Some(c) = dates(&phases, Phase::Collection) {
                consequences.push(format!(
                    "Collection ends today, {today}, instead of {}; the analysis starts tomorrow and keeps its end date.",
                    c.ends_on
                ));
            }
            consequences.push(
                "No more check-ins, reminders or diary entries for the main sample; nobody can consent any more."
                    .into(),
            );
            consequences.push(
                "The final results are released to analysts at once, exactly as at the end of collection."
                    .into(),
            );
            warnings.extend(cohort_warnings(state, study, true).await?);
            (
                "Close collection early".into(),
                "Close collection now".into(),
            )
        }
        Step::Cancel => {
            if status.is_over() {
                blockers.push(format!(
                    "the study is already {}",
                    status.label().to_lowercase()
                ));
            }
            let until = privacy::retention_date(
                repo::privacy_notice(&state.pool, study.id)
                    .await?
                    .and_then(|n| n.retention_until),
                &phases,
            );
            consequences.push(
                "The study stops for good: no invitation, check-in, reminder or nudge is sent any more, mail \
                 waiting in the outbox is cancelled, every diary closes, and nobody can consent."
                    .into(),
            );
            consequences.push(match until {
                Some(d) => format!(
                    "What was collected is kept, read-only, until the retention date {d} (what participants were \
                     told) and then purged like any study's; purge it sooner on the Privacy tab."
                ),
                None => "What was collected is kept, read-only, until you purge it on the Privacy tab.".into(),
            });
            consequences.push(
                "No results are released to analysts automatically; admins still see the live figures."
                    .into(),
            );
            consequences.push("A cancelled study cannot be restarted; it can be archived.".into());
            if invited > 0 && !status.is_over() && status <= Status::Collection {
                warnings.push(format!(
                    "{invited} people have been invited and are taking part: they receive nothing more and are not told why."
                ));
            }
            ("Cancel the study".into(), "Cancel the study".into())
        }
        Step::Archive => {
            if !status.is_over() {
                blockers.push(format!(
                    "only a closed or cancelled study can be archived; this one is in {}",
                    status.label()
                ));
            }
            if study.archived_at.is_some() {
                blockers.push("the study is archived already".into());
            }
            consequences.push(
                "The study leaves the studies list; \"Show archived studies\" on the list still shows it, and \
                 nothing in it changes."
                    .into(),
            );
            ("Archive the study".into(), "Archive".into())
        }
        Step::Purge => {
            if crate::retention::service::purged_on(state, study.id)
                .await?
                .is_some()
            {
                blockers.push("the raw data of this study was already purged".into());
            }
            consequences.push(format!(
                "Every person-level record of {} is deleted now: {invited} participants with their answers and \
                 free text, links, emails, the roster and usage rows. This cannot be undone.",
                study.name
            ));
            consequences.push(
                "The aggregate results are frozen just before, for the report, the readout and summary.csv; \
                 the study is then closed to imports, draws, invitations and moves."
                    .into(),
            );
            if status < Status::Analysis {
                warnings.push(format!(
                    "The study is in {}: collection has not ended, so the frozen results would rest on partial data.",
                    status.label()
                ));
            }
            if let Some(until) = crate::retention::service::retention_date(state, study.id).await?
                && until > today
            {
                warnings.push(format!(
                    "Participants were told their data is kept until {until}, {} days from now.",
                    (until - today).num_days()
                ));
            }
            ("Purge raw data now".into(), "Purge raw data now".into())
        }
    };
    Ok(Confirmation {
        step,
        title,
        consequences,
        warnings,
        blockers,
        button,
    })
}

/// Checks the admin's confirmation of `step` against what the page would show now, then takes the step.
/// Returns the sentence to show afterwards; without the confirmation (or the tick the warnings call for)
/// nothing changes.
#[tracing::instrument(skip_all, fields(study = study.id.0))]
pub async fn run(
    state: &AppState,
    actor: &Actor,
    study: &StudyRow,
    step: Step,
    ack: Ack,
) -> Result<String> {
    confirmation(state, study, step).await?.check(ack)?;
    let id = study.id;
    Ok(match step {
        Step::Move(to) => {
            super::service::advance(state, actor, id, to).await?;
            format!("The study is now in {}.", to.label())
        }
        Step::Back => {
            super::service::step_back(state, actor, id).await?;
            "The study is back in Setup; the sample can be redrawn.".into()
        }
        Step::Invite => {
            let n = crate::participants::service::invite(state, actor, id).await?;
            format!("{n} invitations are on their way.")
        }
        Step::Extend(days) => {
            super::service::extend_collection(state, actor, id, days).await?;
            format!("Collection extended by {days} days; the analysis and readout moved with it.")
        }
        Step::CloseEarly => {
            super::service::close_early(state, actor, id).await?;
            "Collection closed early: the study is in Analysis and the final results are released.".into()
        }
        Step::Cancel => {
            super::service::cancel(state, actor, id).await?;
            "The study is cancelled: nothing more is sent or collected.".into()
        }
        Step::Archive => {
            super::service::archive(state, actor, id).await?;
            "The study is archived: it no longer shows in the studies list.".into()
        }
        Step::Purge => match crate::retention::service::purge_early(state, actor, id, true).await? {
            Ok(_) => "Raw data purged: every person-level record of this study was deleted; the aggregate \
                      results remain."
                .into(),
            Err(m) => return Err(AppError::BadRequest(m)),
        },
    })
}

async fn move_consequences(
    state: &AppState,
    study: &StudyRow,
    to: Status,
    phases: &[PhaseDates],
    out: &mut Vec<String>,
) -> Result<()> {
    let (main, pilot) = crate::roster::repo::sample_sizes(&state.pool, study.id).await?;
    match to {
        Status::Setup => out.push(
            "The study leaves draft: from now on the tick moves it on through its phases as their dates come \
             (as long as nothing blocks a step)."
                .into(),
        ),
        Status::Pilot => {
            out.push(format!(
                "The roster, usage, cohorts and sample are frozen; the pilot group ({pilot} people) can then be invited."
            ));
            let chosen = repo::privacy_notice(&state.pool, study.id)
                .await?
                .and_then(|n| n.retention_until);
            if let Some(until) = privacy::retention_date(chosen, phases) {
                out.push(format!(
                    "The retention date is fixed at {until}: participants are told it, and later timeline changes keep it."
                ));
            }
            out.push("No new required approval can be added.".into());
        }
        Status::Collection => {
            // Read only: the first version is written when it is first used, not by looking at this page.
            let version = crate::participants::repo::instrument(&state.pool, study.id)
                .await?
                .map(|i| i.version)
                .unwrap_or(1);
            out.push(format!(
                "The wording is frozen: the consent text and task categories (version {version}) can no longer be \
                 edited, so every answer matches one version; the messages and their sender freeze with it."
            ));
            out.push("The pilot group's check-ins and reminders stop.".into());
            out.push(format!(
                "The main sample ({main} people) can then be invited; the control group is invited on the Baseline tab."
            ));
        }
        Status::Analysis => {
            out.push(
                "Collection ends: no more check-ins, reminders or diary entries for the main sample; nobody can consent any more."
                    .into(),
            );
            out.push("The final results are released to analysts at once.".into());
        }
        Status::Readout => out.push("The readout phase begins.".into()),
        Status::Closed => out.push(
            "The study becomes read-only: no detail, date, approval or notice can change any more; it can then be archived."
                .into(),
        ),
        _ => {}
    }
    out.push("The move is recorded in the status history and the audit log.".into());
    Ok(())
}

async fn invite_page(
    state: &AppState,
    study: &StudyRow,
    consequences: &mut Vec<String>,
    warnings: &mut Vec<String>,
    blockers: &mut Vec<String>,
) -> Result<()> {
    let Some(group) = Group::invited_in(study.status()) else {
        blockers.push(format!(
            "invitations go out in the pilot (pilot group) and in collection (main sample); the study is in {}",
            study.status().label()
        ));
        return Ok(());
    };
    let mut conn = state.pool.acquire().await?;
    let waiting = crate::participants::repo::uninvited(&mut conn, study.id, group)
        .await?
        .len();
    drop(conn);
    if waiting == 0 {
        blockers.push("everybody of this group has been invited already".into());
    }
    let who = match group {
        Group::Pilot => "of the pilot group",
        Group::Main => "of the main sample",
    };
    // The study's own subjects, as the Messages tab has them now (and as they will be sent).
    let (invitation, control) =
        crate::messages::service::invitation_subjects(state, study.id).await?;
    consequences.push(format!(
        "{waiting} people {who} get the invitation to the copilot diary and check-ins, subject \"{}\", each with \
         their own link and a link to leave the study. Only people not invited yet get one; an email cannot be called back.",
        invitation
    ));
    let controls = crate::participants::repo::compliance(&state.pool, study.id)
        .await?
        .iter()
        .filter(|r| r.arm == Arm::Control)
        .count();
    if group == Group::Main {
        consequences.push(format!(
            "The control group gets the control invitation instead, subject \"{}\", when you name its people on \
             the Baseline tab ({controls} invited so far); nobody gets both.",
            control
        ));
        consequences.push(
            "The wording (consent text and task categories) and the messages are frozen with these invitations."
                .into(),
        );
        warnings.extend(pilot_warnings(&pilot(state, study).await?));
    }
    warnings.extend(cohort_warnings(state, study, false).await?);
    let phases = repo::timeline(&state.pool, study.id).await?;
    warnings.extend(early(&phases, study.status(), today(state, study)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pilot(invited: i64, delivered: i64, answered: i64, diary: i64) -> Pilot {
        Pilot {
            invited,
            consented: invited,
            delivered,
            answered,
            diary,
        }
    }

    #[test]
    fn a_pilot_that_answered_nothing_or_little_is_named() {
        assert!(pilot_warnings(&pilot(0, 0, 0, 0))[0].contains("nobody of the pilot group"));
        assert!(pilot_warnings(&pilot(10, 20, 0, 0))[0].contains("none of the 10"));
        let low = pilot_warnings(&pilot(10, 30, 5, 3));
        assert!(low[0].contains("5 of 30"), "{low:?}");
        assert!(pilot_warnings(&pilot(10, 30, 20, 3)).is_empty());
    }

    #[test]
    fn a_move_before_its_date_says_how_early() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let t = super::super::Timeline::from_start(d("2027-01-04"));
        let w = early(t.phases(), Status::Pilot, d("2027-01-11")).unwrap();
        assert!(
            w.contains("starts on 2027-01-18") && w.contains("7 days"),
            "{w}"
        );
        assert!(early(t.phases(), Status::Pilot, d("2027-01-18")).is_none());
    }

    #[test]
    fn warnings_need_the_tick_and_blockers_forbid() {
        let c = Confirmation {
            step: Step::Cancel,
            title: "Cancel".into(),
            consequences: vec![],
            warnings: vec!["w".into()],
            blockers: vec![],
            button: "Cancel".into(),
        };
        let yes = Ack {
            confirmed: true,
            warnings_read: true,
        };
        assert!(c.check(Ack::default()).is_err());
        assert!(
            c.check(Ack {
                confirmed: true,
                warnings_read: false
            })
            .is_err()
        );
        assert!(c.check(yes).is_ok());
        let blocked = Confirmation {
            blockers: vec!["b".into()],
            ..c
        };
        assert!(blocked.check(yes).is_err());
    }
}
