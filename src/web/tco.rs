//! The cost per unit page (`/studies/{id}/tco`): the unit of value, the cost stack per month with its
//! sources, the cost per unit with its interval, and the outcome classes; admins enter, analysts read.
use super::studies::StudyNav;
use super::{PageCtx, outcome};
use crate::auth::extract::{AdminForm, Staff};
use crate::error::Result;
use crate::reports::text::money;
use crate::staff::StudyAccess;
use crate::state::AppState;
use crate::tco::service::{self, ConditionForm, UnitForm};
use crate::tco::view::Section;
use crate::tco::{Class, DAPM, Line};
use crate::web::extract::{PathAccess, PathStudy};
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

struct UnitView {
    name: String,
    units: String,
    units_source: String,
    /// The entered cost before AI, or empty (derived).
    before: String,
    before_source: String,
}

struct ClassView {
    category: String,
    class: &'static str,
    reason: String,
    /// (condition, "met, confirmed by …: evidence").
    conditions: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "tco/page.html")]
struct TcoPage {
    ctx: PageCtx,
    nav: StudyNav,
    currency: String,
    unit: Option<UnitView>,
    entered: Vec<(&'static str, String, String)>,
    line_choices: Vec<(&'static str, &'static str)>,
    categories: Vec<String>,
    classes: Vec<ClassView>,
    dapm: [&'static str; 3],
    /// The computed figures: live for an admin, the release's for everyone else (None before it).
    computed: Option<Section>,
    /// A non-admin reads released figures: which release.
    released: Option<String>,
}

/// The page.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    PathAccess(access): PathAccess,
    jar: CookieJar,
) -> Result<Response> {
    let e = service::entered(&state, study.id).await?;
    let currency = e.currency.clone().unwrap_or_else(|| "USD".into());
    // Non-admins read the computed figures of the newest release, never live ones (see
    // `reports::release`): the cost per unit is part of the report it freezes.
    let (computed, released) = if access == StudyAccess::Admin {
        (service::section(&state, study.id).await?, None)
    } else {
        match crate::reports::release::view(&state, study.id).await? {
            Some(v) => (v.tco, v.released),
            None => (None, None),
        }
    };
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = TcoPage {
        ctx,
        nav: StudyNav::new(&study, "tco"),
        unit: e.unit.map(|u| UnitView {
            name: u.unit,
            units: format!("{}", u.units_per_month),
            units_source: u.units_source,
            before: u.before_per_unit.map_or(String::new(), |b| format!("{b}")),
            before_source: u.before_source,
        }),
        entered: e
            .lines
            .iter()
            .map(|l| {
                (
                    l.line.label(),
                    money(&currency, l.monthly),
                    l.source.clone(),
                )
            })
            .collect(),
        currency,
        line_choices: Line::ENTERED
            .into_iter()
            .map(|l| (l.key(), l.label()))
            .collect(),
        categories: e.categories,
        classes: e
            .classes
            .iter()
            .map(|c| ClassView {
                category: c.category.clone(),
                class: c.class.label(),
                reason: c.reason.clone(),
                conditions: if c.class == Class::Automation {
                    c.conditions
                        .iter()
                        .zip(DAPM)
                        .map(|(d, name)| {
                            let state = d.as_ref().map_or("not recorded".into(), |d| {
                                format!(
                                    "{}, confirmed by {}: {}",
                                    if d.met { "met" } else { "not met" },
                                    d.confirmed_by,
                                    d.evidence
                                )
                            });
                            (name, state)
                        })
                        .collect()
                } else {
                    vec![]
                },
            })
            .collect(),
        dapm: DAPM,
        computed,
        released,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// The unit of value form.
#[derive(Deserialize)]
pub struct UnitFormData {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    units_per_month: String,
    #[serde(default)]
    units_source: String,
    #[serde(default)]
    before_per_unit: String,
    #[serde(default)]
    before_source: String,
}

/// Saves the unit of value (admins; audited).
pub async fn unit(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<UnitFormData>,
) -> Result<Response> {
    let r = service::set_unit(
        &state,
        &staff.actor(),
        study.id,
        UnitForm {
            unit: &f.unit,
            units_per_month: &f.units_per_month,
            units_source: &f.units_source,
            before_per_unit: &f.before_per_unit,
            before_source: &f.before_source,
        },
    )
    .await;
    let back = format!("/studies/{}/tco", study.id.0);
    outcome(r, jar, &back, "Unit of value saved.")
}

/// One stack line's form.
#[derive(Deserialize)]
pub struct LineForm {
    #[serde(default)]
    line: String,
    #[serde(default)]
    monthly: String,
    #[serde(default)]
    source: String,
}

/// Saves one entered stack line (admins; audited).
pub async fn line(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<LineForm>,
) -> Result<Response> {
    let r = service::set_line(
        &state,
        &staff.actor(),
        study.id,
        &f.line,
        &f.monthly,
        &f.source,
    )
    .await;
    let back = format!("/studies/{}/tco#stack", study.id.0);
    outcome(r, jar, &back, "Cost line saved.")
}

/// A category's class form, with the three DAPM conditions.
#[derive(Deserialize)]
pub struct ClassForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    met1: Option<String>,
    #[serde(default)]
    by1: String,
    #[serde(default)]
    evidence1: String,
    #[serde(default)]
    met2: Option<String>,
    #[serde(default)]
    by2: String,
    #[serde(default)]
    evidence2: String,
    #[serde(default)]
    met3: Option<String>,
    #[serde(default)]
    by3: String,
    #[serde(default)]
    evidence3: String,
}

/// Saves a category's outcome class (admins; audited).
pub async fn class(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<ClassForm>,
) -> Result<Response> {
    fn c<'a>(met: &Option<String>, by: &'a str, evidence: &'a str) -> ConditionForm<'a> {
        ConditionForm {
            met: met.is_some(),
            confirmed_by: by,
            evidence,
        }
    }
    let r = service::set_class(
        &state,
        &staff.actor(),
        study.id,
        &f.category,
        &f.class,
        &f.reason,
        [
            c(&f.met1, &f.by1, &f.evidence1),
            c(&f.met2, &f.by2, &f.evidence2),
            c(&f.met3, &f.by3, &f.evidence3),
        ],
    )
    .await;
    let back = format!("/studies/{}/tco#classes", study.id.0);
    outcome(r, jar, &back, "Outcome class saved.")
}
