//! The view of data collection: for admins, compliance per cohort, a searchable page of participants
//! (filters and page in the query string), nudges, removals and erasures (each confirmed on its own page,
//! each coming back to the person's row) and mail failures; for everyone else, counts per cohort (groups under k hidden) and the
//! distribution of compliance in bands of at least k people, never a person.
use super::extract::PathStudy;
use super::paging::{Pager, query_string};
use super::studies::StudyNav;
use super::{PageCtx, outcome, pct};
use crate::auth::extract::{Admin, AdminForm, NoFields, Staff};
use crate::error::{AppError, Result};
use crate::participants::Arm;
use crate::participants::repo::PersonRow;
use crate::participants::service;
use crate::state::AppState;
use crate::study::repo::StudyRow;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

#[derive(Template)]
#[template(path = "collection/dashboard.html")]
struct Dashboard {
    ctx: PageCtx,
    nav: StudyNav,
    cohorts: Vec<service::CohortLine>,
    /// Admins: one page of participants, and how the filters read.
    people: Option<PeopleTable>,
    mail: Vec<MailLine>,
    /// Non-admins: the main sample's compliance in bands of at least k people.
    distribution: Vec<service::BandLine>,
    min_cell: usize,
}

/// The admin's table: the filters as understood, a page of rows, and the links around it.
struct PeopleTable {
    view: service::PeopleView,
    rows: Vec<PersonLine>,
    /// "lowest compliance first".
    sort_label: &'static str,
    /// "51–100 of 376".
    range: String,
    /// Participants in the study, whatever the filters.
    everyone: i64,
    prev: Option<String>,
    next: Option<String>,
    page: i64,
    last: i64,
    /// The view's query string with its page, for the actions to come back to.
    here: String,
    cohorts: Vec<Choice>,
    statuses: Vec<Choice>,
    groups: Vec<Choice>,
    sorts: Vec<Choice>,
}

/// One option of a filter's select.
pub(super) struct Choice {
    pub(super) value: &'static str,
    pub(super) label: &'static str,
    pub(super) selected: bool,
}

pub(super) fn choices(all: &[(&'static str, &'static str)], current: &str) -> Vec<Choice> {
    all.iter()
        .map(|&(value, label)| Choice {
            value,
            label,
            selected: value == current,
        })
        .collect()
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
    checkins_left: i64,
    last_active: String,
    last_nudged: String,
    contactable: bool,
    /// The result of an action on this row (the flash, moved here from the top of the page).
    message: Option<super::Flash>,
}

struct MailLine {
    kind: String,
    to: String,
    status: &'static str,
    attempts: i64,
    reason: String,
}

/// Compliance per cohort; for admins a searchable, filtered, sorted page of participants and mail that
/// failed; for everyone else the release's group lines only.
pub async fn dashboard(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    Query(filter): Query<service::PeopleFilter>,
    jar: CookieJar,
) -> Result<Response> {
    let k = state.config.min_cell_size;
    if !staff.is_admin() {
        // Everyone else reads the newest release's group lines, and no person.
        let Some(progress) = crate::reports::release::progress(&state, study.id).await? else {
            return super::report::not_released(&staff, jar, &study, "collection", "Collection");
        };
        // No live count of failing mail either: it moves with one person's invitation bouncing, and
        // everything else on this page is the release's.
        let (jar, ctx) = PageCtx::staff(&staff, jar);
        let page = Dashboard {
            ctx,
            nav: StudyNav::new(&study, "collection"),
            cohorts: progress.cohorts,
            people: None,
            mail: vec![],
            distribution: progress.distribution,
            min_cell: k,
        };
        return Ok((jar, Html(page.render()?)).into_response());
    }
    let view = service::people_view(&filter);
    let data = service::admin_dashboard(&state, study.id, &view, filter.page.as_deref()).await?;
    let (progress, page) = (data.progress, data.people);
    let (jar, mut ctx) = PageCtx::staff(&staff, jar);
    let (people, mail) = {
        let at = filter.at.as_deref().and_then(|a| a.parse::<i64>().ok());
        // Main sample, pilot and control lines together hold everyone (a cohort line is part of the main).
        let everyone = progress
            .cohorts
            .iter()
            .filter(|c| !is_cohort_line(&c.label))
            .map(|c| c.invited)
            .sum();
        let mut rows = person_lines(page.rows, &study);
        // An action's result shows on its row, where the page opens (the flash moves there).
        if let Some(row) = rows.iter_mut().find(|r| Some(r.id) == at) {
            row.message = ctx.flash.take();
        }
        let pager = Pager {
            page: page.page,
            per_page: service::PEOPLE_PER_PAGE,
            total: page.matching,
        };
        let base = query_string(&pairs(&view.pairs()));
        let here = pager.href(&base, pager.page);
        let sort_label = service::SORTS
            .iter()
            .find(|(v, _)| *v == view.sort)
            .map_or("", |(_, l)| l);
        let table = PeopleTable {
            sort_label,
            range: pager.range(),
            everyone,
            prev: pager.prev(&base),
            next: pager.next(&base),
            page: pager.page,
            last: pager.last(),
            here: here.trim_start_matches('?').to_string(),
            rows,
            cohorts: choices(
                &[
                    ("heavy", "Heavy"),
                    ("moderate", "Moderate"),
                    ("light", "Light / lapsed"),
                ],
                &view.cohort,
            ),
            statuses: choices(
                &[
                    ("waiting", "no answer yet"),
                    ("consented", "consented"),
                    ("declined", "declined"),
                    ("withdrawn", "withdrawn"),
                ],
                &view.status,
            ),
            groups: choices(
                &[
                    ("main", "main sample"),
                    ("pilot", "pilot group"),
                    ("control", "control group"),
                ],
                &view.group,
            ),
            sorts: choices(&service::SORTS, view.sort),
            view,
        };
        (Some(table), mail_lines(data.mail))
    };
    let page = Dashboard {
        ctx,
        nav: StudyNav::new(&study, "collection"),
        cohorts: progress.cohorts,
        people,
        mail,
        distribution: progress.distribution,
        min_cell: k,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

fn is_cohort_line(label: &str) -> bool {
    crate::roster::cohort::Cohort::ALL
        .iter()
        .any(|c| c.label() == label)
}

fn pairs<'a>(p: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    p.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The admin's rows, dates in the study's time zone.
fn person_lines(rows: Vec<PersonRow>, study: &StudyRow) -> Vec<PersonLine> {
    let tz = study.tz();
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "–".into())
    };
    rows.into_iter()
        .map(|row| {
            let r = &row.counts;
            PersonLine {
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
                checkins_left: row.checkins_left,
                last_active: when(row.last_active),
                last_nudged: when(row.last_nudged_at),
                contactable: r.contactable(),
                message: None,
            }
        })
        .collect()
}

fn mail_lines(rows: Vec<crate::mail::repo::MailProblemRow>) -> Vec<MailLine> {
    rows.into_iter()
        .map(|m| MailLine {
            kind: m.kind,
            to: m.to_addr,
            status: if m.failed { "failed" } else { "retrying" },
            attempts: m.attempts,
            reason: m.last_error.unwrap_or_default(),
        })
        .collect()
}

/// The collection page an action came from (same filters, sort and page), opened at the person's row.
fn back_to_row(study: &StudyRow, filter: &service::PeopleFilter, participant: i64) -> String {
    let view = service::people_view(filter);
    let mut p = view.pairs();
    p.push(("page", filter.page.clone().unwrap_or_default()));
    p.push(("at", participant.to_string()));
    format!(
        "/studies/{}/collection?{}#p-{participant}",
        study.id.0,
        query_string(&pairs(&p))
    )
}

/// The collection page's query string to carry through a confirmation page (without `at`).
fn carried(filter: &service::PeopleFilter) -> String {
    let view = service::people_view(filter);
    let mut p = view.pairs();
    p.push(("page", filter.page.clone().unwrap_or_default()));
    query_string(&pairs(&p))
}

/// Sends one participant a reminder now (at most one a day), and comes back to their row.
pub async fn nudge(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    Path((_, participant)): Path<(i64, i64)>,
    Query(filter): Query<service::PeopleFilter>,
    jar: CookieJar,
    AdminForm { staff, .. }: AdminForm<NoFields>,
) -> Result<Response> {
    let back = back_to_row(&study, &filter, participant);
    match service::nudge(&state, &staff.actor(), study.id, participant).await {
        Ok(who) => outcome(
            Ok(()),
            jar,
            &back,
            format!(
                "Reminder queued. {who} cannot be nudged again for {} hours.",
                service::NUDGE_GAP_HOURS
            ),
        ),
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

#[derive(Template)]
#[template(path = "collection/confirm.html")]
struct ConfirmPage {
    ctx: PageCtx,
    nav: StudyNav,
    /// `remove` or `erase`.
    what: &'static str,
    id: i64,
    person: service::PersonSummary,
    /// The collection page's query string, carried through.
    carried: String,
    /// Where "cancel" goes: the row on the collection page.
    back: String,
}

/// The confirmation page of a removal (`ERASE` false) or an erasure: what is deleted, what stays, and the
/// one form that acts.
pub async fn confirm_page<const ERASE: bool>(
    State(state): State<AppState>,
    Admin(staff): Admin,
    PathStudy(study): PathStudy,
    Path((_, participant)): Path<(i64, i64)>,
    Query(filter): Query<service::PeopleFilter>,
    jar: CookieJar,
) -> Result<Response> {
    let person = service::person(&state, study.id, participant).await?;
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = ConfirmPage {
        ctx,
        nav: StudyNav::new(&study, "collection"),
        what: if ERASE { "erase" } else { "remove" },
        id: participant,
        person,
        carried: carried(&filter),
        back: back_to_row(&study, &filter, participant),
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// The removal and erasure forms: `confirm` comes only from their confirmation page (the erasure's also
/// from a box the admin ticks), so a stray click or an empty POST changes nothing.
#[derive(serde::Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

/// Removes a participant from the study (confirmed; nothing more is sent to them).
pub async fn remove(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    Path((_, participant)): Path<(i64, i64)>,
    Query(filter): Query<service::PeopleFilter>,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<ConfirmForm>,
) -> Result<Response> {
    let back = back_to_row(&study, &filter, participant);
    if form.confirm != "remove" {
        let refused = Err(crate::error::AppError::BadRequest(
            "A removal is confirmed on its own page (Remove… on the participant's row); nothing was changed."
                .into(),
        ));
        return outcome(refused, jar, &back, "");
    }
    let r = service::remove(&state, &staff.actor(), study.id, participant).await;
    outcome(
        r,
        jar,
        &back,
        "Participant removed; nothing more will be sent to them.",
    )
}

/// Erases a participant (confirmed): their answers, links, consent history and mail go for good.
pub async fn erase(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    Path((_, participant)): Path<(i64, i64)>,
    Query(filter): Query<service::PeopleFilter>,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<ConfirmForm>,
) -> Result<Response> {
    let back = back_to_row(&study, &filter, participant);
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
    instrument_view(&state, &staff, &study, jar, None).await
}

/// The instruments page; with `typed` (a refused wording and its error) the form shows what was typed, so
/// a long consent text is not lost to a refusal.
async fn instrument_view(
    state: &AppState,
    staff: &Staff,
    study: &StudyRow,
    jar: CookieJar,
    typed: Option<(&service::InstrumentForm, crate::web::Flash)>,
) -> Result<Response> {
    let (instrument, settings) = service::wording_and_settings(state, study.id).await?;
    let (jar, mut ctx) = PageCtx::staff(staff, jar);
    let mut page = InstrumentPage {
        nav: StudyNav::new(study, "instrument"),
        version: instrument.version,
        frozen: instrument
            .frozen_at
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
        categories: instrument.categories().join("\n"),
        consent_text: instrument.consent_text,
        settings,
        ctx: PageCtx::anonymous(String::new(), None),
    };
    let mut status = StatusCode::OK;
    if let Some((form, flash)) = typed {
        page.consent_text = form.consent_text.clone();
        page.categories = form.categories.clone();
        ctx.flash = Some(flash);
        status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    page.ctx = ctx;
    Ok((status, jar, Html(page.render()?)).into_response())
}

/// Saves new wording as the next version. A refused field answers with the page itself, keeping the text
/// that was typed.
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
        Err(AppError::Field { field, message }) => {
            let flash = crate::web::Flash {
                kind: "error",
                text: message,
                field: field.to_string(),
            };
            instrument_view(&state, &staff, &study, jar, Some((&form, flash))).await
        }
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
