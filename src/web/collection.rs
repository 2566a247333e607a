//! The admin's (and analyst's) view of data collection: compliance per cohort and per participant, nudges,
//! removals, erasures and mail failures. Emails appear for admins only; analysts see pseudonymous ids.
use super::extract::PathStudy;
use super::studies::StudyNav;
use super::{PageCtx, outcome, pct};
use crate::auth::extract::{AdminForm, NoFields, Staff};
use crate::error::Result;
use crate::participants::Arm;
use crate::participants::service;
use crate::roster::cohort::Cohort;
use crate::state::AppState;
use crate::stats::compliance::{Counts, Line, dashboard as lines};
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
    cohorts: Vec<CohortLine>,
    people: Vec<PersonLine>,
    mail: Vec<MailLine>,
}

struct CohortLine {
    label: String,
    invited: i64,
    consented: i64,
    declined: i64,
    withdrawn: i64,
    diary: i64,
    delivered: i64,
    answered: i64,
    missed: i64,
    compliance: String,
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

fn line(label: String, n: &Counts) -> CohortLine {
    CohortLine {
        label,
        invited: n.invited,
        consented: n.consented,
        declined: n.declined,
        withdrawn: n.withdrawn,
        diary: n.diary,
        delivered: n.delivered,
        answered: n.answered,
        missed: n.missed,
        compliance: pct(n.answered as f64, n.delivered as f64),
    }
}

/// Compliance per cohort and per participant (lowest first), and mail that failed.
pub async fn dashboard(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    let data = service::collection(&state, study.id).await?;
    let people: Vec<_> = data
        .people
        .iter()
        .map(|r| (r.cohort(), r.track(), r.counts()))
        .collect();
    let cohorts = lines(&people, &Cohort::ALL)
        .into_iter()
        .map(|(l, n)| {
            let label = match l {
                Line::Cohort(c) => c.label(),
                Line::Main => "Main sample",
                Line::Pilot => "Pilot group",
                Line::Control => "Control group (no pings)",
            };
            line(label.to_string(), &n)
        })
        .collect();
    let admin = staff.is_admin();
    let mut people: Vec<PersonLine> = data
        .people
        .into_iter()
        .map(|r| PersonLine {
            id: r.id,
            who: r.employee_id.clone(),
            email: if admin {
                r.email.clone()
            } else {
                String::new()
            },
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
            to: if admin { m.to_addr } else { "(hidden)".into() },
            status: if m.failed { "failed" } else { "retrying" },
            attempts: m.attempts,
            reason: m.last_error.unwrap_or_default(),
        })
        .collect();
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = Dashboard {
        ctx,
        nav: StudyNav::new(&study, "collection"),
        cohorts,
        people,
        mail,
    };
    Ok((jar, Html(page.render()?)).into_response())
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
