//! The usage page: the active vendor usage import, its conversion to hours, history and the import form.
use super::extract::PathStudy;
use super::roster::{ProblemView, problem_views, read_upload, refused};
use super::studies::StudyNav;
use super::{PageCtx, outcome, thousands};
use crate::auth::extract::{Admin, AdminForm, Staff};
use crate::error::{AppError, Result};
use crate::roster::import::{DateOrder, UsageFormat, UsageOptions};
use crate::roster::repo;
use crate::roster::service;
use crate::state::AppState;
use crate::study::repo::StudyRow;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "roster/usage.html")]
struct UsagePage {
    ctx: PageCtx,
    nav: StudyNav,
    active: Option<UsageView>,
    history: Vec<UsageView>,
    /// Roster employees without usage in the active source, as displayed.
    without_usage: String,
    editable: bool,
    can_convert: bool,
    problems: Vec<ProblemView>,
    failed_file: String,
    formats: Vec<(&'static str, &'static str)>,
    chosen: String,
    date_order: String,
}

struct UsageView {
    source: &'static str,
    filename: String,
    rows: String,
    matched: String,
    unmatched: String,
    period: String,
    imported: String,
    has_hours: bool,
    unit_label: String,
    assumption: Option<String>,
    hours_per_unit: String,
    read: String,
}

impl UsageView {
    fn new(u: repo::UsageImportRow, admin: bool) -> Self {
        Self {
            source: u
                .source
                .parse::<UsageFormat>()
                .map(|f| f.label())
                .unwrap_or("?"),
            filename: u.filename,
            rows: thousands(u.rows),
            matched: thousands(u.matched),
            unmatched: thousands(u.unmatched),
            period: format!("{} to {}", u.period_start, u.period_end),
            imported: format!(
                "{} by {}",
                u.imported_at.format("%Y-%m-%d %H:%M UTC"),
                super::roster::who(admin, u.who.as_deref())
            ),
            has_hours: u.has_hours,
            assumption: u
                .hours_per_unit
                .map(|h| format!("{h} gross AI hours per month per {}", u.unit_label)),
            hours_per_unit: u.hours_per_unit.map(|h| h.to_string()).unwrap_or_default(),
            unit_label: u.unit_label,
            read: if u.version.is_empty() {
                u.encoding
            } else {
                format!("{}; {}", u.version, u.encoding)
            },
        }
    }
}

/// A plain usage CSV to fill in: the roster template's two made-up employees over the last two months.
pub async fn usage_template(
    State(state): State<AppState>,
    _staff: Staff,
    PathStudy(study): PathStudy,
) -> Result<Response> {
    let today = state.clock.now().with_timezone(&study.tz()).date_naive();
    super::roster::csv_download(
        "usage-template.csv",
        crate::roster::import::usage_template(today),
    )
}

const FORMATS: [UsageFormat; 9] = UsageFormat::ALL;

async fn render_usage(
    state: &AppState,
    staff: &Staff,
    jar: CookieJar,
    study: &StudyRow,
    problems: Vec<ProblemView>,
    failed_file: String,
    (chosen, date_order): (String, String),
) -> Result<(CookieJar, String)> {
    let o = service::usage_overview(state, study).await?;
    let admin = staff.is_admin();
    let mut history = o.imports.into_iter().map(|u| UsageView::new(u, admin));
    let active = history.next();
    let (jar, ctx) = PageCtx::staff(staff, jar);
    let page = UsagePage {
        ctx,
        nav: StudyNav::new(study, "usage"),
        active,
        history: history.collect(),
        without_usage: thousands(o.without_usage),
        editable: staff.is_admin() && o.frame_editable,
        can_convert: staff.is_admin() && o.conversion_allowed,
        problems,
        failed_file,
        formats: FORMATS.iter().map(|f| (f.as_str(), f.label())).collect(),
        chosen,
        date_order,
    };
    Ok((jar, page.render()?))
}

/// The usage analytics: the active import, its assumption, history and the import form.
pub async fn usage_page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    let (jar, html) = render_usage(
        &state,
        &staff,
        jar,
        &study,
        vec![],
        String::new(),
        ("auto".into(), String::new()),
    )
    .await?;
    Ok((jar, Html(html)).into_response())
}

fn parse_hours(s: Option<&String>) -> std::result::Result<Option<f64>, String> {
    match s.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => match v.parse::<f64>() {
            Ok(h) if h.is_finite() && h > 0.0 && h <= 744.0 => Ok(Some(h)),
            _ => Err(format!(
                "The conversion must be a positive number of hours, not \"{v}\"."
            )),
        },
    }
}

/// The usage form's choices besides the file: format (None = detect), date order, conversion.
struct Choices {
    chosen: String,
    format: Option<UsageFormat>,
    order_text: String,
    date_order: Option<DateOrder>,
    hours: Option<f64>,
}

impl Choices {
    /// The choices, or a refusal that names its field.
    fn read(up: &super::roster::Upload) -> Result<Self> {
        let chosen = up.fields.get("format").cloned().unwrap_or_default();
        let format =
            if chosen.trim().is_empty() || chosen.trim().eq_ignore_ascii_case("auto") {
                None
            } else {
                Some(chosen.parse::<UsageFormat>().map_err(|_| {
                    AppError::field("format", "Choose the format of the usage file.")
                })?)
            };
        let order_text = up.fields.get("date_order").cloned().unwrap_or_default();
        let date_order =
            DateOrder::from_choice(&order_text).map_err(|m| AppError::field("date_order", m))?;
        let hours = parse_hours(up.fields.get("hours_per_unit"))
            .map_err(|m| AppError::field("uhours", m))?;
        Ok(Choices {
            chosen,
            format,
            order_text,
            date_order,
            hours,
        })
    }
}

/// A refused usage file: the usage page again, the problems listed, the admin's choices kept.
async fn refusal(
    state: &AppState,
    staff: &Staff,
    jar: CookieJar,
    study: &StudyRow,
    problems: &[crate::roster::import::ImportProblem],
    filename: String,
    choices: (String, String),
) -> Result<Response> {
    let views = problem_views(problems);
    let (jar, html) = render_usage(state, staff, jar, study, views, filename, choices).await?;
    Ok(refused(jar, html))
}

/// The flash after an import, direct or confirmed.
fn imported(o: &service::UsageOutcome) -> String {
    format!(
        "Imported {} rows of {}: {} people matched to the roster, {} not on it. Cohorts were reassigned.",
        thousands(o.rows as i64),
        o.source_read(),
        thousands(o.matched as i64),
        thousands(o.unmatched as i64)
    )
}

/// Binds the preview's hidden choices to its stored upload: a keyed hash (under a key only this process
/// holds) of the study, the upload's id and every choice. The confirmation recomputes it, so a changed
/// format, date order, conversion or filename can't import the file differently from what the preview
/// showed; a server restart in between only asks for a new preview.
fn seal(
    study: &StudyRow,
    token: &str,
    format: &str,
    order: &str,
    hours: &str,
    file: &str,
) -> String {
    // Each part is length-prefixed so no two different sets of choices give the same text.
    let parts = [token, format, order, hours, file]
        .iter()
        .map(|p| format!("{}:{p}", p.len()))
        .collect::<Vec<_>>()
        .join("|");
    crate::auth::token::throttle_key(&format!("usage-confirm|{}|{parts}", study.id.0))
}

/// Imports a usage file, its format detected ("auto") or named.
pub async fn usage_import(
    State(state): State<AppState>,
    Admin(staff): Admin,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    mp: Multipart,
) -> Result<Response> {
    let up = read_upload(&staff, mp).await?;
    let back = format!("/studies/{}/usage", study.id.0);
    let c = match Choices::read(&up) {
        Ok(c) => c,
        Err(e) => return outcome(Err(e), jar, &back, ""),
    };
    let actor = staff.actor();
    match service::import_usage_as(
        &state,
        &actor,
        &study,
        &up.filename,
        c.format,
        UsageOptions {
            date_order: c.date_order,
        },
        up.bytes,
        c.hours,
    )
    .await
    {
        Ok(Ok(o)) => outcome(Ok(()), jar, &back, imported(&o)),
        Ok(Err(problems)) => {
            let choices = (c.chosen, c.order_text);
            refusal(&state, &staff, jar, &study, &problems, up.filename, choices).await
        }
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

#[derive(Template)]
#[template(path = "roster/usage_preview.html")]
struct PreviewPage {
    ctx: PageCtx,
    nav: StudyNav,
    source: String,
    period: String,
    rows: String,
    people: String,
    matched: String,
    unmatched: String,
    not_on_roster: Vec<String>,
    without_usage: Vec<String>,
    without_usage_total: String,
    scores: Vec<(String, String, String, &'static str)>,
    unit_label: &'static str,
    token: String,
    format: &'static str,
    date_order: String,
    hours_per_unit: String,
    filename: String,
    seal: String,
}

/// Reads an uploaded usage file and shows what importing it would do; nothing changes until confirmed.
pub async fn usage_preview(
    State(state): State<AppState>,
    Admin(staff): Admin,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    mp: Multipart,
) -> Result<Response> {
    let up = read_upload(&staff, mp).await?;
    let back = format!("/studies/{}/usage", study.id.0);
    let c = match Choices::read(&up) {
        Ok(c) => c,
        Err(e) => return outcome(Err(e), jar, &back, ""),
    };
    let options = UsageOptions {
        date_order: c.date_order,
    };
    match service::preview_usage(&state, &study, c.format, options, up.bytes).await {
        Ok(Ok(p)) => {
            let (jar, ctx) = PageCtx::staff(&staff, jar);
            let hours = c.hours.map(|h| h.to_string()).unwrap_or_default();
            let hours_per_unit = hours.clone();
            let page = PreviewPage {
                ctx,
                nav: StudyNav::new(&study, "usage"),
                source: p.read.source_read(),
                period: format!("{} to {}", p.read.period.0, p.read.period.1),
                rows: thousands(p.read.rows as i64),
                people: thousands(p.people as i64),
                matched: thousands(p.read.matched as i64),
                unmatched: thousands(p.read.unmatched as i64),
                not_on_roster: p.not_on_roster,
                without_usage: p.without_usage.0,
                without_usage_total: thousands(p.without_usage.1 as i64),
                scores: p
                    .scores
                    .into_iter()
                    .map(|(id, score, days, cohort)| {
                        (
                            id,
                            format!("{score:.2}"),
                            days.map(|d| format!("{d:.1}")).unwrap_or_default(),
                            cohort.label(),
                        )
                    })
                    .collect(),
                unit_label: p.unit_label,
                format: p.read.format.as_str(),
                hours_per_unit,
                seal: seal(
                    &study,
                    &p.token,
                    p.read.format.as_str(),
                    &c.order_text,
                    &hours,
                    &up.filename,
                ),
                token: p.token,
                date_order: c.order_text,
                filename: up.filename,
            };
            Ok((jar, Html(page.render()?)).into_response())
        }
        Ok(Err(problems)) => {
            let choices = (c.chosen, c.order_text);
            refusal(&state, &staff, jar, &study, &problems, up.filename, choices).await
        }
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

/// The preview's confirmation.
#[derive(Deserialize)]
pub struct ConfirmForm {
    token: String,
    format: String,
    #[serde(default)]
    date_order: String,
    #[serde(default)]
    hours_per_unit: String,
    #[serde(default)]
    filename: String,
    #[serde(default)]
    seal: String,
}

/// Imports the previewed file, exactly as the preview showed it.
pub async fn usage_confirm(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<ConfirmForm>,
) -> Result<Response> {
    let back = format!("/studies/{}/usage", study.id.0);
    let bad = |m: String| outcome(Err(AppError::BadRequest(m)), jar.clone(), &back, "");
    let expected = seal(
        &study,
        &f.token,
        &f.format,
        &f.date_order,
        &f.hours_per_unit,
        &f.filename,
    );
    if !crate::auth::token::same(&expected, &f.seal) {
        return bad(
            "The confirmation does not match the preview (its choices were changed); preview the file again."
                .into(),
        );
    }
    let format = match f.format.parse::<UsageFormat>() {
        Ok(f) => f,
        Err(m) => return bad(m),
    };
    let date_order = match DateOrder::from_choice(&f.date_order) {
        Ok(o) => o,
        Err(m) => return bad(m),
    };
    let hours = match parse_hours(Some(&f.hours_per_unit)) {
        Ok(h) => h,
        Err(m) => return bad(m),
    };
    let result = service::confirm_usage(
        &state,
        &staff.actor(),
        &study,
        &f.token,
        &f.filename,
        format,
        UsageOptions { date_order },
        hours,
    )
    .await;
    match result {
        Ok(Ok(o)) => outcome(Ok(()), jar, &back, imported(&o)),
        // The file was read the same way a moment ago; only a roster change in between can refuse it.
        Ok(Err(problems)) => {
            let choices = (format.as_str().to_owned(), f.date_order);
            refusal(&state, &staff, jar, &study, &problems, f.filename, choices).await
        }
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

/// The conversion form.
#[derive(Deserialize)]
pub struct ConversionForm {
    #[serde(default)]
    hours_per_unit: String,
}

/// Sets the admin's assumption turning usage units into gross AI hours.
pub async fn conversion(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<ConversionForm>,
) -> Result<Response> {
    let back = format!("/studies/{}/usage", study.id.0);
    let r = match parse_hours(Some(&f.hours_per_unit)) {
        Ok(h) => service::set_conversion(&state, &staff.actor(), &study, h).await,
        Err(m) => Err(AppError::field("hours_per_unit", m)),
    };
    outcome(
        r,
        jar,
        &back,
        "Conversion saved; gross hours were recomputed.",
    )
}
