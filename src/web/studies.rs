//! Study pages: list, create, edit, the overview with timeline, status and approvals.
use super::extract::PathStudy;
use super::{PageCtx, notice, outcome, set_flash, thousands};
use crate::auth::extract::{Admin, Staff};
use crate::auth::extract::{AdminForm, NoFields};
use crate::error::{AppError, Result};
use crate::participants::service as participants;
use crate::state::AppState;
use crate::study::repo::{ApprovalRow, StudyListRow, StudyRow};
use crate::study::{Phase, PhaseDates, Status, StudyDetails, StudyForm, Timeline, service};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::HashMap;

/// The tabs every study page shows.
pub struct StudyNav {
    /// Study id.
    pub id: i64,
    /// Study name.
    pub name: String,
    /// Status label.
    pub status: &'static str,
    /// The tab in view.
    pub active: &'static str,
}

impl StudyNav {
    /// Tabs for `study` with `active` highlighted.
    pub fn new(study: &StudyRow, active: &'static str) -> Self {
        Self {
            id: study.id.0,
            name: study.name.clone(),
            status: study.status().label(),
            active,
        }
    }
}

#[derive(Template)]
#[template(path = "studies/list.html")]
struct ListPage {
    ctx: PageCtx,
    studies: Vec<StudyListView>,
}

struct StudyListView {
    id: i64,
    name: String,
    tool: String,
    status: &'static str,
    start_date: String,
    employees: String,
    sampled: String,
}

fn tool(vendor: &str, product: &str, model: &str) -> String {
    if model.is_empty() {
        format!("{vendor} {product}")
    } else {
        format!("{vendor} {product} ({model})")
    }
}

impl From<StudyListRow> for StudyListView {
    fn from(r: StudyListRow) -> Self {
        Self {
            id: r.id.0,
            tool: tool(&r.vendor, &r.product, &r.model_version),
            name: r.name,
            status: r.status.parse::<Status>().map(Status::label).unwrap_or("?"),
            start_date: r.start_date.to_string(),
            employees: thousands(r.employees),
            sampled: thousands(r.sampled),
        }
    }
}

/// The studies the caller may see (all of them for an admin).
pub async fn list(State(state): State<AppState>, staff: Staff, jar: CookieJar) -> Result<Response> {
    let visible = crate::staff::service::visible(&state, &staff).await?;
    let studies = service::list(&state)
        .await?
        .into_iter()
        .filter(|s| visible.allows(s.id))
        .map(StudyListView::from)
        .collect();
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    Ok((jar, Html(ListPage { ctx, studies }.render()?)).into_response())
}

#[derive(Template)]
#[template(path = "studies/form.html")]
struct FormPage {
    ctx: PageCtx,
    /// None when creating.
    study_id: Option<i64>,
    form: StudyForm,
    problems: HashMap<String, String>,
    start_locked: bool,
}

impl FormPage {
    fn problem(&self, field: &str) -> &str {
        self.problems.get(field).map(String::as_str).unwrap_or("")
    }
}

/// The new-study form (admins).
pub async fn new_page(Admin(staff): Admin, jar: CookieJar) -> Result<Response> {
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let form = StudyForm {
        time_zone: "UTC".into(),
        ..Default::default()
    };
    let page = FormPage {
        ctx,
        study_id: None,
        form,
        problems: HashMap::new(),
        start_locked: false,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

fn invalid_form(
    staff: &Staff,
    jar: CookieJar,
    study_id: Option<i64>,
    form: StudyForm,
    problems: Vec<(String, String)>,
    start_locked: bool,
) -> Result<Response> {
    let (jar, ctx) = PageCtx::staff(staff, jar);
    let page = FormPage {
        ctx,
        study_id,
        form,
        problems: problems.into_iter().collect(),
        start_locked,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, jar, Html(page.render()?)).into_response())
}

/// Creates a study.
pub async fn create(
    State(state): State<AppState>,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<StudyForm>,
) -> Result<Response> {
    match StudyDetails::parse(&form) {
        Ok(d) => {
            let id = service::create(&state, &staff.actor(), &d).await?;
            Ok(notice(
                jar,
                &format!("/studies/{id}"),
                "Study created with the default 90-day timeline.",
            )
            .into_response())
        }
        Err(problems) => invalid_form(&staff, jar, None, form, problems, false),
    }
}

/// The edit form (admins).
pub async fn edit_page(
    Admin(staff): Admin,
    PathStudy(s): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    let form = StudyForm {
        name: s.name.clone(),
        vendor: s.vendor.clone(),
        product: s.product.clone(),
        model_version: s.model_version.clone(),
        time_zone: s.time_zone.clone(),
        start_date: s.start_date.to_string(),
    };
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = FormPage {
        ctx,
        study_id: Some(s.id.0),
        form,
        problems: HashMap::new(),
        start_locked: s.status() > Status::Setup,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// Saves the edit form.
pub async fn update(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<StudyForm>,
) -> Result<Response> {
    let id = study.id.0;
    match StudyDetails::parse(&form) {
        Ok(d) => {
            let r = service::update(&state, &staff.actor(), study.id, &d).await;
            outcome(r, jar, &format!("/studies/{id}"), "Study saved.")
        }
        Err(problems) => invalid_form(
            &staff,
            jar,
            Some(id),
            form,
            problems,
            study.status() > Status::Setup,
        ),
    }
}

#[derive(Template)]
#[template(path = "studies/show.html")]
struct ShowPage {
    ctx: PageCtx,
    nav: StudyNav,
    tool: String,
    time_zone: String,
    start_date: String,
    status: Status,
    steps: Vec<(&'static str, bool)>,
    next: Option<Status>,
    blockers: Vec<String>,
    phases: Vec<PhaseView>,
    approvals: Vec<ApprovalView>,
    history: Vec<String>,
    employees: String,
    usage: String,
    sample: String,
    closed: bool,
    invitations: Option<String>,
    can_invite: Option<&'static str>,
}

struct PhaseView {
    key: &'static str,
    label: &'static str,
    starts_on: String,
    ends_on: String,
    current: bool,
}

struct ApprovalView {
    id: i64,
    label: String,
    required: bool,
    recorded: Option<String>,
    reference: String,
}

impl From<ApprovalRow> for ApprovalView {
    fn from(a: ApprovalRow) -> Self {
        let recorded = a.recorded_at.map(|at| {
            format!(
                "{} by {}",
                at.format("%Y-%m-%d %H:%M UTC"),
                a.recorded_by.as_deref().unwrap_or("the command line")
            )
        });
        Self {
            id: a.id,
            label: a.label,
            required: a.required,
            recorded,
            reference: a.reference,
        }
    }
}

/// The study overview: details, status, timeline and approvals.
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    let o = service::overview(&state, &study).await?;
    let status = study.status();
    let next = status.next();
    let blockers = o.blockers;
    let phases = o
        .phases
        .into_iter()
        .map(|(p, current)| PhaseView {
            key: p.phase.as_str(),
            label: p.phase.label(),
            starts_on: p.starts_on.to_string(),
            ends_on: p.ends_on.to_string(),
            current,
        })
        .collect();
    let approvals = o.approvals.into_iter().map(ApprovalView::from).collect();
    let history = o
        .history
        .into_iter()
        .map(|c| {
            format!(
                "{} → {} on {} by {}",
                c.from_status,
                c.to_status,
                c.at.format("%Y-%m-%d %H:%M UTC"),
                c.who.as_deref().unwrap_or("the command line")
            )
        })
        .collect();
    let employees = o.employees;
    let usage = match o.usage {
        Some(u) => format!(
            "{} ({} to {}), {} people matched",
            u.filename,
            u.period_start,
            u.period_end,
            thousands(u.matched)
        ),
        None => "none yet".into(),
    };
    let (main, pilot) = o.sample;
    let sample = if main + pilot == 0 {
        "not drawn yet".into()
    } else {
        format!(
            "{} in the main sample, {} in the pilot group",
            thousands(main),
            thousands(pilot)
        )
    };
    let counts = o.participants;
    // Live consent counts move with each person's decision, withdrawal or erasure: only admins read them;
    // everyone else reads them as of the release (collection page, see `reports::release`).
    let invitations = (counts.invited > 0).then(|| {
        if staff.is_admin() {
            format!(
                "{} invited: {} consented, {} declined, {} withdrawn, {} not answered yet.",
                counts.invited,
                counts.accepted,
                counts.declined,
                counts.withdrawn,
                counts.invited - counts.accepted - counts.declined
            )
        } else {
            format!(
                "{} invited. Who took part is on the collection page, as of the released results.",
                counts.invited
            )
        }
    });
    let can_invite = participants::invite_label(status);
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = ShowPage {
        invitations,
        can_invite,
        ctx,
        nav: StudyNav::new(&study, "overview"),
        tool: tool(&study.vendor, &study.product, &study.model_version),
        time_zone: study.time_zone.clone(),
        start_date: study.start_date.to_string(),
        status,
        steps: Status::ALL
            .iter()
            .map(|s| (s.label(), *s == status))
            .collect(),
        next,
        blockers,
        phases,
        approvals,
        history,
        employees: thousands(employees),
        usage,
        sample,
        closed: status == Status::Closed,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// The timeline form: two dates per phase.
#[derive(Deserialize)]
pub struct PhasesForm {
    #[serde(flatten)]
    dates: HashMap<String, String>,
}

/// Moves phase dates; they must stay in order and not overlap.
pub async fn phases(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<PhasesForm>,
) -> Result<Response> {
    let back = format!("/studies/{}#timeline", study.id.0);
    let mut problems = Vec::new();
    let mut phases = Vec::new();
    let date = |key: String, label: &str, problems: &mut Vec<String>| -> Option<NaiveDate> {
        let v = f.dates.get(&key).map(|s| s.trim()).unwrap_or("");
        NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| problems.push(format!("{label}: enter a date as YYYY-MM-DD")))
            .ok()
    };
    for phase in Phase::ALL {
        let s = date(
            format!("{}_start", phase.as_str()),
            &format!("{} start", phase.label()),
            &mut problems,
        );
        let e = date(
            format!("{}_end", phase.as_str()),
            &format!("{} end", phase.label()),
            &mut problems,
        );
        if let (Some(starts_on), Some(ends_on)) = (s, e) {
            phases.push(PhaseDates {
                phase,
                starts_on,
                ends_on,
            });
        }
    }
    if problems.is_empty() {
        match Timeline::parse(phases) {
            Ok(t) => {
                let r = service::move_phases(&state, &staff.actor(), study.id, &t).await;
                return outcome(r, jar, &back, "Timeline saved.");
            }
            Err(p) => problems = p,
        }
    }
    let jar = set_flash(
        jar,
        "error",
        format!("The timeline was not changed: {}.", problems.join("; ")),
    );
    Ok((jar, Redirect::to(&back)).into_response())
}

/// The status form: the status to move to.
#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    to: String,
}

/// Moves the study one step forward.
pub async fn status(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<StatusForm>,
) -> Result<Response> {
    let to: Status = f.to.parse().map_err(AppError::BadRequest)?;
    let r = service::advance(&state, &staff.actor(), study.id, to).await;
    outcome(
        r,
        jar,
        &format!("/studies/{}", study.id.0),
        format!("The study is now in {}.", to.label()),
    )
}

/// A new checklist item.
#[derive(Deserialize)]
pub struct ApprovalForm {
    #[serde(default)]
    label: String,
    /// A checkbox: present when ticked.
    required: Option<String>,
}

/// Adds an approval item.
pub async fn add_approval(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<ApprovalForm>,
) -> Result<Response> {
    let back = format!("/studies/{}#approvals", study.id.0);
    let r = service::add_approval(
        &state,
        &staff.actor(),
        study.id,
        &f.label,
        f.required.is_some(),
    )
    .await;
    outcome(r, jar, &back, "Approval item added.")
}

/// Recording an approval.
#[derive(Deserialize)]
pub struct RecordForm {
    #[serde(default)]
    reference: String,
}

/// Records an approval as given now, by this admin.
pub async fn record_approval(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    Path((_, item)): Path<(i64, i64)>,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<RecordForm>,
) -> Result<Response> {
    let back = format!("/studies/{}#approvals", study.id.0);
    let r = service::record_approval(&state, &staff.actor(), study.id, item, &f.reference).await;
    outcome(r, jar, &back, "Approval recorded.")
}

/// Sends invitations to the group the phase calls for (pilot group in pilot, main sample in collection).
pub async fn invite(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, .. }: AdminForm<NoFields>,
) -> Result<Response> {
    let id = study.id.0;
    let r = participants::invite(&state, &staff.actor(), study.id).await;
    match r {
        Ok(n) => outcome(
            Ok(()),
            jar,
            &format!("/studies/{id}"),
            format!("{n} invitations are on their way."),
        ),
        Err(e) => outcome(Err(e), jar, &format!("/studies/{id}"), ""),
    }
}
