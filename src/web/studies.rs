//! Study pages: list, create, edit, the overview with timeline, status and approvals.
use super::extract::PathStudy;
use super::{PageCtx, notice, outcome, set_flash, thousands};
use crate::auth::extract::AdminForm;
use crate::auth::extract::{Admin, Staff};
use crate::error::{AppError, Result};
use crate::participants::service as participants;
use crate::state::AppState;
use crate::study::guards::{self, Ack, Step};
use crate::study::repo::{ApprovalRow, StudyListRow, StudyRow};
use crate::study::{Phase, PhaseDates, Status, StudyDetails, StudyForm, Timeline, service};
use askama::Template;
use axum::extract::{Path, Query, State};
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
    /// Archived studies are listed (the filter is on).
    show_archived: bool,
    /// How many archived studies the default list leaves out.
    archived: usize,
}

/// The list's filter.
#[derive(Default, Deserialize)]
pub struct ListQuery {
    /// "1": list the archived studies (only).
    #[serde(default)]
    archived: String,
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

use crate::study::tool_label as tool;

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

/// The studies the caller may see (all of them for an admin); archived ones only with the filter.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
    jar: CookieJar,
) -> Result<Response> {
    let visible = crate::staff::service::visible(&state, &staff).await?;
    let show_archived = q.archived == "1";
    let (archived, current): (Vec<_>, Vec<_>) = service::list(&state)
        .await?
        .into_iter()
        .filter(|s| visible.allows(s.id))
        .partition(|s| s.archived_at.is_some());
    let count = archived.len();
    let shown = if show_archived { archived } else { current };
    let studies = shown.into_iter().map(StudyListView::from).collect();
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = ListPage {
        ctx,
        studies,
        show_archived,
        archived: count,
    };
    Ok((jar, Html(page.render()?)).into_response())
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
    /// Every IANA zone, for the field's choice list.
    fn zones(&self) -> Vec<&'static str> {
        crate::study::zone_names().collect()
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
    /// Pilot with nobody invited: the step back to setup is offered.
    can_step_back: bool,
    /// Not over yet: it can be cancelled.
    can_cancel: bool,
    /// Over and not archived: it can be archived.
    can_archive: bool,
    /// When it was archived.
    archived: Option<String>,
    /// Collection has not ended: it can be extended.
    can_extend: bool,
    /// In collection: it can close early.
    can_close_early: bool,
}

struct PhaseView {
    key: &'static str,
    label: &'static str,
    starts_on: String,
    ends_on: String,
    current: bool,
    /// Past (collection has begun and this phase ended): shown, not editable.
    locked: bool,
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
    let today = state.clock.now().with_timezone(&study.tz()).date_naive();
    let running = status >= Status::Collection;
    let phases = o
        .phases
        .into_iter()
        .map(|(p, current)| PhaseView {
            key: p.phase.as_str(),
            label: p.phase.label(),
            starts_on: p.starts_on.to_string(),
            ends_on: p.ends_on.to_string(),
            current,
            locked: running && p.ends_on < today,
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
        closed: status.is_over(),
        can_step_back: status == Status::Pilot && counts.invited == 0,
        can_cancel: !status.is_over(),
        can_archive: status.is_over() && study.archived_at.is_none(),
        archived: study.archived_at.map(|a| a.format("%Y-%m-%d").to_string()),
        can_extend: !status.is_over() && status <= Status::Collection,
        can_close_early: status == Status::Collection,
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
    // Each problem with the date field it is about; the first one is marked on the page.
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut phases = Vec::new();
    let date = |key: String, label: &str, problems: &mut Vec<(String, String)>| {
        let v = f.dates.get(&key).map(|s| s.trim()).unwrap_or("");
        NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| problems.push((key, format!("{label}: enter a date as YYYY-MM-DD"))))
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
        match Timeline::parse_marked(phases) {
            Ok(t) => {
                let r = service::move_phases(&state, &staff.actor(), study.id, &t).await;
                return outcome(r, jar, &back, "Timeline saved.");
            }
            Err(p) => problems = p,
        }
    }
    let text = format!(
        "The timeline was not changed: {}.",
        problems
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );
    let jar = match problems.iter().find(|(field, _)| !field.is_empty()) {
        Some((field, _)) => super::set_field_flash(jar, field, text),
        None => set_flash(jar, "error", text),
    };
    Ok((jar, Redirect::to(&back)).into_response())
}

/// A confirmation form: the confirm button, the warnings tick, and the step's own field.
#[derive(Default, Deserialize)]
pub struct ConfirmForm {
    /// "yes" from the confirm button.
    #[serde(default)]
    confirm: String,
    /// "yes" when "I have read the warnings" was ticked.
    #[serde(default)]
    warnings_read: String,
    /// The status to move to.
    #[serde(default)]
    to: String,
    /// Days to extend collection by.
    #[serde(default)]
    days: String,
}

impl ConfirmForm {
    fn ack(&self) -> Ack {
        Ack {
            confirmed: self.confirm == "yes",
            warnings_read: self.warnings_read == "yes",
        }
    }
}

/// The query of a confirmation page.
#[derive(Default, Deserialize)]
pub struct StepQuery {
    #[serde(default)]
    to: String,
    #[serde(default)]
    days: String,
}

/// A confirmation page before an irreversible step (also the control group's invitations).
#[derive(Template)]
#[template(path = "studies/confirm.html")]
pub(super) struct ConfirmPage {
    pub(super) ctx: PageCtx,
    pub(super) nav: StudyNav,
    pub(super) title: String,
    pub(super) consequences: Vec<String>,
    pub(super) warnings: Vec<String>,
    pub(super) blockers: Vec<String>,
    pub(super) button: String,
    pub(super) danger: bool,
    pub(super) action: String,
    pub(super) hidden: Vec<(&'static str, String)>,
    pub(super) back: String,
}

/// Where a step's confirmation lives: (page and form address, hidden fields, the page to return to).
fn step_paths(id: i64, step: Step) -> (String, Vec<(&'static str, String)>, String) {
    let overview = format!("/studies/{id}");
    match step {
        Step::Move(to) => (
            format!("/studies/{id}/status"),
            vec![("to", to.as_str().to_string())],
            format!("{overview}#status"),
        ),
        Step::Back => (
            format!("/studies/{id}/back"),
            vec![],
            format!("{overview}#status"),
        ),
        Step::Invite => (
            format!("/studies/{id}/invitations"),
            vec![],
            format!("{overview}#invitations"),
        ),
        Step::Extend(days) => (
            format!("/studies/{id}/extend"),
            vec![("days", days.to_string())],
            format!("{overview}#timeline"),
        ),
        Step::CloseEarly => (
            format!("/studies/{id}/close-early"),
            vec![],
            format!("{overview}#timeline"),
        ),
        Step::Cancel => (
            format!("/studies/{id}/cancel"),
            vec![],
            format!("{overview}#status"),
        ),
        Step::Archive => (
            format!("/studies/{id}/archive"),
            vec![],
            format!("{overview}#status"),
        ),
        Step::Purge => (
            format!("/studies/{id}/privacy/purge"),
            vec![],
            format!("/studies/{id}/privacy#purge"),
        ),
    }
}

/// The address of a step's confirmation page (with its query).
fn page_url(id: i64, step: Step) -> String {
    let (action, hidden, _) = step_paths(id, step);
    let query: Vec<String> = hidden.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if query.is_empty() {
        action
    } else {
        format!("{action}?{}", query.join("&"))
    }
}

/// A step's confirmation page: its consequences, warnings and blockers (admins).
pub(crate) async fn confirm_page(
    state: &AppState,
    staff: &Staff,
    study: &StudyRow,
    jar: CookieJar,
    step: Step,
) -> Result<Response> {
    let c = guards::confirmation(state, study, step).await?;
    let (action, hidden, back) = step_paths(study.id.0, step);
    let (jar, ctx) = PageCtx::staff(staff, jar);
    let page = ConfirmPage {
        ctx,
        nav: StudyNav::new(study, "overview"),
        title: c.title,
        consequences: c.consequences,
        warnings: c.warnings,
        blockers: c.blockers,
        button: c.button,
        danger: matches!(step, Step::Cancel | Step::Purge),
        action,
        hidden,
        back,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// Takes a confirmed step; an unconfirmed or refused one goes back to its confirmation page with the
/// reason, nothing changed.
pub(crate) async fn confirmed_step(
    state: &AppState,
    staff: &Staff,
    study: &StudyRow,
    jar: CookieJar,
    step: Step,
    ack: Ack,
) -> Result<Response> {
    let id = study.id.0;
    match guards::run(state, &staff.actor(), study, step, ack).await {
        Ok(done) => {
            let to = match step {
                Step::Purge => format!("/studies/{id}/privacy"),
                Step::Archive => "/studies".to_string(),
                _ => format!("/studies/{id}"),
            };
            Ok(notice(jar, &to, done).into_response())
        }
        Err(AppError::BadRequest(m) | AppError::Conflict(m)) => Ok((
            set_flash(jar, "error", m),
            Redirect::to(&page_url(id, step)),
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

fn move_step(to: &str) -> Result<Step> {
    Ok(Step::Move(to.parse().map_err(AppError::BadRequest)?))
}

fn extend_step(days: &str) -> Step {
    // A number out of range still gets its page, which names the range as the blocker.
    Step::Extend(days.trim().parse::<i64>().unwrap_or(0))
}

/// The confirmation page of a status move.
pub async fn status_page(
    State(state): State<AppState>,
    Admin(staff): Admin,
    PathStudy(study): PathStudy,
    Query(q): Query<StepQuery>,
    jar: CookieJar,
) -> Result<Response> {
    let to = if q.to.is_empty() {
        study
            .status()
            .next()
            .map(Status::as_str)
            .unwrap_or("")
            .to_string()
    } else {
        q.to
    };
    confirm_page(&state, &staff, &study, jar, move_step(&to)?).await
}

/// Moves the study one step forward, once confirmed.
pub async fn status(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<ConfirmForm>,
) -> Result<Response> {
    confirmed_step(&state, &staff, &study, jar, move_step(&f.to)?, f.ack()).await
}

/// The confirmation page (GET) and the confirmed step (POST) of a step without a field of its own.
macro_rules! step_routes {
    ($page:ident, $post:ident, $step:expr, $what:literal) => {
        #[doc = concat!("The confirmation page of ", $what, ".")]
        pub async fn $page(
            State(state): State<AppState>,
            Admin(staff): Admin,
            PathStudy(study): PathStudy,
            jar: CookieJar,
        ) -> Result<Response> {
            confirm_page(&state, &staff, &study, jar, $step).await
        }

        #[doc = concat!("Takes the step of ", $what, ", once confirmed.")]
        pub async fn $post(
            State(state): State<AppState>,
            PathStudy(study): PathStudy,
            jar: CookieJar,
            AdminForm { staff, form: f }: AdminForm<ConfirmForm>,
        ) -> Result<Response> {
            confirmed_step(&state, &staff, &study, jar, $step, f.ack()).await
        }
    };
}

step_routes!(
    back_page,
    back,
    Step::Back,
    "the step back from the pilot to setup"
);
step_routes!(
    close_early_page,
    close_early,
    Step::CloseEarly,
    "closing collection early"
);
step_routes!(cancel_page, cancel, Step::Cancel, "cancelling the study");
step_routes!(archive_page, archive, Step::Archive, "archiving the study");
step_routes!(
    invite_page,
    invite,
    Step::Invite,
    "the invitations (who gets which message)"
);

/// The confirmation page of extending collection by N days.
pub async fn extend_page(
    State(state): State<AppState>,
    Admin(staff): Admin,
    PathStudy(study): PathStudy,
    Query(q): Query<StepQuery>,
    jar: CookieJar,
) -> Result<Response> {
    confirm_page(&state, &staff, &study, jar, extend_step(&q.days)).await
}

/// Extends collection, once confirmed.
pub async fn extend(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<ConfirmForm>,
) -> Result<Response> {
    confirmed_step(&state, &staff, &study, jar, extend_step(&f.days), f.ack()).await
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
