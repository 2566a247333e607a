//! The admin's (and analyst's) view of data collection: compliance per cohort and per participant, nudges,
//! removals and mail failures. Emails appear for admins only; analysts see pseudonymous ids.
use super::studies::StudyNav;
use super::{PageCtx, outcome, pct};
use crate::auth::extract::{Admin, Staff};
use crate::error::Result;
use crate::participants::repo::{self, ComplianceRow};
use crate::participants::service;
use crate::roster::cohort::Cohort;
use crate::state::AppState;
use crate::study::{StudyId, service as study_service};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

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
    role: String,
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
    status: String,
    attempts: i64,
    reason: String,
}

fn cohort_of(r: &ComplianceRow) -> Cohort {
    r.cohort
        .as_deref()
        .and_then(|c| c.parse().ok())
        .unwrap_or(Cohort::Light)
}

fn line(label: String, rows: &[&ComplianceRow]) -> CohortLine {
    let sum = |f: fn(&ComplianceRow) -> i64| rows.iter().map(|r| f(r)).sum::<i64>();
    let (delivered, answered) = (sum(|r| r.delivered), sum(|r| r.answered));
    CohortLine {
        label,
        invited: rows.len() as i64,
        consented: rows
            .iter()
            .filter(|r| r.consent.as_deref() == Some("accepted"))
            .count() as i64,
        declined: rows
            .iter()
            .filter(|r| r.consent.as_deref() == Some("declined"))
            .count() as i64,
        withdrawn: rows.iter().filter(|r| r.withdrawn).count() as i64,
        diary: sum(|r| r.diary),
        delivered,
        answered,
        missed: sum(|r| r.missed),
        compliance: pct(answered as f64, delivered as f64),
    }
}

/// Compliance per cohort and per participant (lowest first), and mail that failed.
pub async fn dashboard(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    jar: CookieJar,
) -> Result<Response> {
    let study = study_service::get(&state, StudyId(id)).await?;
    let rows = repo::compliance(&state.pool, study.id).await?;
    // The pilot group is kept apart from the main sample, here as in the estimates.
    // The control group (Instrument C) gets no pings: it has its own line and never mixes with the sample.
    let main: Vec<&ComplianceRow> = rows
        .iter()
        .filter(|r| r.role == "main" && r.arm == "copilot")
        .collect();
    let pilot: Vec<&ComplianceRow> = rows.iter().filter(|r| r.role == "pilot").collect();
    let control: Vec<&ComplianceRow> = rows.iter().filter(|r| r.arm == "control").collect();
    let mut cohorts: Vec<CohortLine> = Cohort::ALL
        .iter()
        .map(|&c| {
            line(
                c.label().to_string(),
                &main
                    .iter()
                    .copied()
                    .filter(|r| cohort_of(r) == c)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|l| l.invited > 0)
        .collect();
    if !main.is_empty() {
        cohorts.push(line("Main sample".into(), &main));
    }
    if !pilot.is_empty() {
        cohorts.push(line("Pilot group".into(), &pilot));
    }
    if !control.is_empty() {
        cohorts.push(line("Control group (no pings)".into(), &control));
    }
    let admin = staff.is_admin();
    let mut people: Vec<PersonLine> = rows
        .iter()
        .map(|r| {
            let rate = if r.delivered > 0 {
                r.answered as f64 / r.delivered as f64
            } else {
                f64::INFINITY
            };
            PersonLine {
                id: r.id,
                who: r.employee_id.clone(),
                email: if admin {
                    r.email.clone()
                } else {
                    String::new()
                },
                cohort: cohort_of(r).label(),
                role: if r.arm == "control" {
                    "control".into()
                } else {
                    r.role.clone()
                },
                consent: match (r.withdrawn, r.consent.as_deref()) {
                    (true, _) => "withdrawn",
                    (false, Some("accepted")) => "consented",
                    (false, Some("declined")) => "declined",
                    _ => "no answer yet",
                },
                diary: r.diary,
                delivered: r.delivered,
                answered: r.answered,
                missed: r.missed,
                compliance: pct(r.answered as f64, r.delivered as f64),
                rate,
                contactable: !r.withdrawn && r.consent.as_deref() != Some("declined"),
            }
        })
        .collect();
    // Lowest compliance first; people with nothing delivered yet go last.
    people.sort_by(|a, b| a.rate.total_cmp(&b.rate).then(a.who.cmp(&b.who)));
    let mail = repo::mail_problems(&state.pool, study.id)
        .await?
        .into_iter()
        .map(|m| MailLine {
            kind: m.kind,
            to: if admin { m.to_addr } else { "(hidden)".into() },
            status: if m.status == "failed" {
                "failed".into()
            } else {
                "retrying".into()
            },
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

/// A form with only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Sends one participant a reminder now.
pub async fn nudge(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path((id, participant)): Path<(i64, i64)>,
    jar: CookieJar,
    Form(f): Form<CsrfForm>,
) -> Result<Response> {
    staff.check_csrf(&f.csrf)?;
    let study = study_service::get(&state, StudyId(id)).await?;
    let r = service::nudge(&state, &staff.actor(), study.id, participant).await;
    outcome(
        r,
        jar,
        &format!("/studies/{id}/collection"),
        "Reminder queued.",
    )
}

/// Removes a participant from the study (nothing more is sent to them).
pub async fn remove(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path((id, participant)): Path<(i64, i64)>,
    jar: CookieJar,
    Form(f): Form<CsrfForm>,
) -> Result<Response> {
    staff.check_csrf(&f.csrf)?;
    let study = study_service::get(&state, StudyId(id)).await?;
    let r = service::remove(&state, &staff.actor(), study.id, participant).await;
    outcome(
        r,
        jar,
        &format!("/studies/{id}/collection"),
        "Participant removed; nothing more will be sent to them.",
    )
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
    Path(id): Path<i64>,
    jar: CookieJar,
) -> Result<Response> {
    let study = study_service::get(&state, StudyId(id)).await?;
    let (instrument, settings) = {
        let mut tx = crate::db::begin_write(&state.pool).await?;
        let i = service::instrument(&mut tx, study.id, state.clock.now()).await?;
        let s = repo::settings(&mut tx, study.id).await?;
        tx.commit().await?;
        (i, s)
    };
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

/// The wording form with its token.
#[derive(Deserialize)]
pub struct InstrumentFormWithCsrf {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: service::InstrumentForm,
}

/// Saves new wording as the next version.
pub async fn edit_instrument(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<i64>,
    jar: CookieJar,
    Form(f): Form<InstrumentFormWithCsrf>,
) -> Result<Response> {
    staff.check_csrf(&f.csrf)?;
    let study = study_service::get(&state, StudyId(id)).await?;
    let r = service::edit_instrument(&state, &staff.actor(), study.id, &f.form).await;
    let back = format!("/studies/{id}/instrument");
    match r {
        Ok(v) => outcome(Ok(()), jar, &back, format!("Wording saved as version {v}.")),
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

/// The settings form with its token.
#[derive(Deserialize)]
pub struct SettingsFormWithCsrf {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: service::SettingsForm,
}

/// Saves the collection settings.
pub async fn edit_settings(
    State(state): State<AppState>,
    Admin(staff): Admin,
    Path(id): Path<i64>,
    jar: CookieJar,
    Form(f): Form<SettingsFormWithCsrf>,
) -> Result<Response> {
    staff.check_csrf(&f.csrf)?;
    let study = study_service::get(&state, StudyId(id)).await?;
    let r = service::edit_settings(&state, &staff.actor(), study.id, &f.form).await;
    outcome(
        r,
        jar,
        &format!("/studies/{id}/instrument"),
        "Settings saved; they apply to people who consent from now on.",
    )
}
