//! The cost per unit page (`/studies/{id}/tco`): the unit of value, the cost stack per month with its
//! sources, the cost per unit with its interval, and the outcome classes; admins enter, analysts read.
use super::studies::StudyNav;
use super::{PageCtx, outcome};
use crate::auth::extract::{AdminForm, Staff};
use crate::error::Result;
use crate::reports::charts::{Point, Svg, bars_with_intervals};
use crate::reports::text::money;
use crate::staff::StudyAccess;
use crate::state::AppState;
use crate::tco::service::{self, ConditionForm, UnitForm};
use crate::tco::{Class, Cost, DAPM, Line, Valuation};
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

struct RowView {
    layer: &'static str,
    line: &'static str,
    monthly: String,
    per_unit: String,
    source: String,
}

struct StackView {
    unit: String,
    rows: Vec<RowView>,
    total: String,
    per_unit: String,
    before: String,
    before_source: String,
    vendor: String,
    chart: Svg,
    /// (layer, per unit with interval) beside the chart.
    chart_rows: Vec<(&'static str, String)>,
}

struct ValueView {
    category: String,
    why: Option<String>,
    minutes: String,
    value: String,
}

struct ComputedView {
    stack: Option<StackView>,
    acceleration: Vec<ValueView>,
    automation: Vec<ValueView>,
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
    computed: Option<ComputedView>,
}

fn per_unit(currency: &str, c: &Cost) -> String {
    if c.measured() {
        format!("{currency} {:.2} [{:.2}, {:.2}]", c.estimate, c.low, c.high)
    } else {
        format!("{currency} {:.2}", c.estimate)
    }
}

fn monthly(currency: &str, c: &Cost) -> String {
    if c.measured() {
        format!(
            "{} [{}, {}]",
            money(currency, c.estimate),
            money(currency, c.low),
            money(currency, c.high)
        )
    } else {
        money(currency, c.estimate)
    }
}

fn value_view(currency: &str, v: &Valuation) -> ValueView {
    ValueView {
        category: v.category.clone(),
        why: v.why.clone(),
        minutes: v
            .minutes
            .map_or("needs diary tasks and a baseline".into(), |m| {
                format!("{m:.1} min")
            }),
        value: v.value.map_or("–".into(), |x| format!("{currency} {x:.2}")),
    }
}

fn computed_view(c: service::Computed, currency: &str, unit: &str) -> ComputedView {
    let stack = c.stack.map(|s| {
        let rows = s
            .lines
            .iter()
            .map(|l| RowView {
                layer: l.line.layer().label(),
                line: l.line.label(),
                monthly: match &l.monthly {
                    Ok(m) => monthly(currency, m),
                    Err(why) => format!("not counted: {why}"),
                },
                per_unit: match &l.monthly {
                    Ok(m) => per_unit(currency, &m.per(s.units_per_month)),
                    Err(_) => "–".into(),
                },
                source: c.sources.get(&l.line).cloned().unwrap_or_else(|| {
                    if l.line == Line::Licences {
                        "renewal assumptions not entered".into()
                    } else {
                        "not entered (zero)".into()
                    }
                }),
            })
            .collect();
        let names: Vec<String> = s
            .per_unit_by_layer
            .iter()
            .map(|(l, _)| l.short().to_string())
            .chain(std::iter::once("+1 per unit".to_string()))
            .collect();
        let points: Vec<Point> = s
            .per_unit_by_layer
            .iter()
            .map(|(_, c)| c)
            .chain(std::iter::once(&s.per_unit))
            .map(|c| Point {
                estimate: c.estimate,
                low: c.low,
                high: c.high,
            })
            .collect();
        let chart = bars_with_intervals(
            &format!("Cost per {unit}, layer by layer"),
            "Layer (cost enters at Layer 0; what reaches +1 is the total)",
            &format!("{currency} per {unit}"),
            &names,
            &points,
            false,
        );
        let chart_rows = s
            .per_unit_by_layer
            .iter()
            .map(|(l, c)| (l.label(), per_unit(currency, c)))
            .chain(std::iter::once((
                "+1: cost per unit of output",
                per_unit(currency, &s.per_unit),
            )))
            .collect();
        StackView {
            unit: unit.to_string(),
            rows,
            total: monthly(currency, &s.total),
            per_unit: per_unit(currency, &s.per_unit),
            before: s
                .before_per_unit
                .map_or("not available".into(), |b| per_unit(currency, &b)),
            before_source: c.before_source.clone(),
            vendor: s.vendor_per_unit.map_or(
                "needs the cost before AI, the profile's gross hours and the labour cost".into(),
                |v| {
                    if v < 0.0 {
                        format!(
                            "{currency} −{:.2} (below zero: the vendor's hours exceed the labour the units took before AI)",
                            -v
                        )
                    } else {
                        format!("{currency} {v:.2}")
                    }
                },
            ),
            chart,
            chart_rows,
        }
    });
    ComputedView {
        stack,
        acceleration: c
            .acceleration
            .iter()
            .map(|v| value_view(currency, v))
            .collect(),
        automation: c
            .automation
            .iter()
            .map(|v| value_view(currency, v))
            .collect(),
    }
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
    // Analysts read the entered inputs only: computed figures for non-admins will come from frozen
    // releases of the results (issue 11), never recomputed live for them, so they are for admins now.
    let computed = if access == StudyAccess::Admin {
        let c = service::compute(&state, study.id, &e).await?;
        let unit = e.unit.as_ref().map_or("unit", |u| u.unit.as_str());
        Some(computed_view(c, &currency, unit))
    } else {
        None
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
