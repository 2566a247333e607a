//! The view of data collection: for admins, compliance per cohort and per participant, nudges, removals,
//! erasures and mail failures; for everyone else, counts per cohort (groups under k hidden) and the
//! distribution of compliance in bands of at least k people, never a person.
use super::extract::PathStudy;
use super::studies::StudyNav;
use super::{PageCtx, outcome, pct};
use crate::auth::extract::{AdminForm, NoFields, Staff};
use crate::error::Result;
use crate::participants::Arm;
use crate::participants::service;
use crate::state::AppState;
use crate::study::repo::StudyRow;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

#[derive(Template)]
#[template(path = "collection/dashboard.html")]
struct Dashboard {
    ctx: PageCtx,
    nav: StudyNav,
    cohorts: Vec<service::CohortLine>,
    people: Vec<PersonLine>,
    mail: Vec<MailLine>,
    /// Non-admins: the main sample's compliance in bands of at least k people.
    distribution: Vec<service::BandLine>,
    /// Non-admins: how many messages are failing or waiting (which ones is for an admin).
    mail_problems: usize,
    min_cell: usize,
}

struct PersonLine {
    id: i64,
    who: String,
    email: String,
    cohort: &'static str,
    role: &'static str,
    consent: &'static str,
    diary: i64,
    delivered: i64,
    answered: i64,
    missed: i64,
    compliance: String,
    rate: f64,
    contactable: bool,
}

struct MailLine {
    kind: String,
    to: String,
    status: &'static str,
    attempts: i64,
    reason: String,
}

/// Compliance per cohort and per participant (lowest first), and mail that failed.
pub async fn dashboard(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    let data = service::collection(&state, study.id).await?;
    let admin = staff.is_admin();
    let k = state.config.min_cell_size;
    // Admins read live progress with every person; everyone else the newest release's group lines.
    let progress = if admin {
        service::progress(&data, true, k)
    } else {
        match crate::reports::release::progress(&state, study.id).await? {
            Some(p) => p,
            None => {
                return super::report::not_released(
                    &staff,
                    jar,
                    &study,
                    "collection",
                    "Collection",
                );
            }
        }
    };
    let mail_problems = data.mail.len();
    // People and their mail are for admins only: an analyst would link the counts to the raw export.
    let (people, mail) = if admin {
        person_lines(data)
    } else {
        (vec![], vec![])
    };
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = Dashboard {
        ctx,
        nav: StudyNav::new(&study, "collection"),
        cohorts: progress.cohorts,
        people,
        mail,
        distribution: progress.distribution,
        mail_problems,
        min_cell: k,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// The admin's lines: every participant (lowest compliance first) and every mail problem.
fn person_lines(data: service::Collection) -> (Vec<PersonLine>, Vec<MailLine>) {
    let mut people: Vec<PersonLine> = data
        .people
        .into_iter()
        .map(|r| PersonLine {
            id: r.id,
            who: r.employee_id.clone(),
            email: r.email.clone(),
            cohort: r.cohort().label(),
            role: if r.arm == Arm::Control {
                "control"
            } else {
                r.role.as_str()
            },
            consent: r.standing(),
            diary: r.diary,
            delivered: r.delivered,
            answered: r.answered,
            missed: r.missed,
            compliance: pct(r.answered as f64, r.delivered as f64),
            rate: r.counts().sort_rate(),
            contactable: r.contactable(),
        })
        .collect();
    // Lowest compliance first; people with nothing delivered yet go last.
    people.sort_by(|a, b| a.rate.total_cmp(&b.rate).then(a.who.cmp(&b.who)));
    let mail = data
        .mail
        .into_iter()
        .map(|m| MailLine {
            kind: m.kind,
            to: m.to_addr,
            status: if m.failed { "failed" } else { "retrying" },
            attempts: m.attempts,
            reason: m.last_error.unwrap_or_default(),
        })
        .collect();
    (people, mail)
}

/// Sends one participant a reminder now.
pub async fn nudge(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    Path((_, participant)): Path<(i64, i64)>,
    jar: CookieJar,
    AdminForm { staff, .. }: AdminForm<NoFields>,
) -> Result<Response> {
    let r = service::nudge(&state, &staff.actor(), study.id, participant).await;
    outcome(r, jar, &back(&study, "collection"), "Reminder queued.")
}

/// Removes a participant from the study (nothing more is sent to them).
pub async fn remove(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    Path((_, participant)): Path<(i64, i64)>,
    jar: CookieJar,
    AdminForm { staff, .. }: AdminForm<NoFields>,
) -> Result<Response> {
    let r = service::remove(&state, &staff.actor(), study.id, participant).await;
    outcome(
        r,
        jar,
        &back(&study, "collection"),
        "Participant removed; nothing more will be sent to them.",
    )
}

/// The erase form: a box the admin must tick, so that a stray click or an empty POST erases nobody.
#[derive(serde::Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    confirm: String,
}

/// Erases a participant (confirmed): their answers, links, consent history and mail go for good.
pub async fn erase(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    Path((_, participant)): Path<(i64, i64)>,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<EraseForm>,
) -> Result<Response> {
    let back = back(&study, "collection");
    if form.confirm != "erase" {
        let refused = Err(crate::error::AppError::BadRequest(
            "Tick the box to confirm the erasure; nothing was changed.".into(),
        ));
        return outcome(refused, jar, &back, "");
    }
    let r = service::erase(&state, &staff.actor(), study.id, participant).await;
    match r {
        Ok(e) => outcome(
            Ok(()),
            jar,
            &back,
            format!("Participant erased: {}.", e.summary()),
        ),
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

fn back(study: &StudyRow, page: &str) -> String {
    format!("/studies/{}/{page}", study.id.0)
}

#[derive(Template)]
#[template(path = "collection/instrument.html")]
struct InstrumentPage {
    ctx: PageCtx,
    nav: StudyNav,
    version: i64,
    frozen: Option<String>,
    consent_text: String,
    categories: String,
    settings: crate::participants::repo::SettingsRow,
}

/// The instruments' wording and the collection settings.
pub async fn instrument_page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    let (instrument, settings) = service::wording_and_settings(&state, study.id).await?;
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = InstrumentPage {
        ctx,
        nav: StudyNav::new(&study, "instrument"),
        version: instrument.version,
        frozen: instrument
            .frozen_at
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
        categories: instrument.categories().join("\n"),
        consent_text: instrument.consent_text,
        settings,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// Saves new wording as the next version.
pub async fn edit_instrument(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<service::InstrumentForm>,
) -> Result<Response> {
    let r = service::edit_instrument(&state, &staff.actor(), study.id, &form).await;
    let back = back(&study, "instrument");
    match r {
        Ok(v) => outcome(Ok(()), jar, &back, format!("Wording saved as version {v}.")),
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

/// Saves the collection settings.
pub async fn edit_settings(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<service::SettingsForm>,
) -> Result<Response> {
    let r = service::edit_settings(&state, &staff.actor(), study.id, &form).await;
    outcome(
        r,
        jar,
        &back(&study, "instrument"),
        "Settings saved; they apply to people who consent from now on.",
    )
}
