//! The cost per unit as the pages show it (the cost per unit page, the report, the readout, the waves page)
//! and as `export.json` and the workbook carry it: every number written out once, here, so that each place
//! shows the same figures. A [`Section`] is part of the report's `View`, so it is frozen with a release and
//! with a purge's snapshot like every other figure non-admins read.
use super::service::{Computed, Entered};
use super::{Class, Cost, DAPM, Line, Valuation};
use crate::reports::charts::{Point, Svg, bars_with_intervals};
use crate::reports::text::money;
use serde::{Deserialize, Serialize};

/// An amount with its 95% interval, as `export.json` writes it (an entered amount: all three equal).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Amount {
    pub estimate: f64,
    pub ci_lower: f64,
    pub ci_upper: f64,
}

impl From<Cost> for Amount {
    fn from(c: Cost) -> Self {
        Amount {
            estimate: c.estimate,
            ci_lower: c.low,
            ci_upper: c.high,
        }
    }
}

/// One line of the stack in `export.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineOut {
    /// "work", "inputs", "systems", "oversight" or "yield".
    pub layer: String,
    /// The line's key ("licences", "oversight", ...).
    pub line: String,
    pub label: String,
    /// Per month; null when the line can't be counted yet (`not_counted` says why).
    pub monthly: Option<Amount>,
    pub not_counted: Option<String>,
    /// Where the amount comes from ("entered: …", "measured: …", "diary: …", "renewal assumptions: …").
    pub source: String,
}

/// One layer's total in `export.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerOut {
    pub layer: String,
    pub label: String,
    pub monthly: Amount,
    pub per_unit: Amount,
}

/// One DAPM condition in `export.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConditionOut {
    pub condition: String,
    /// None: not recorded.
    pub met: Option<bool>,
    pub confirmed_by: Option<String>,
    pub evidence: Option<String>,
}

/// A category's outcome class in `export.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassOut {
    pub category: String,
    /// "acceleration" or "automation", as the admin claimed it.
    pub class: String,
    /// The class it is valued as: automation only with all three DAPM conditions met.
    pub valued_as: String,
    pub reason: String,
    /// Why it is valued as another class than claimed.
    pub why: Option<String>,
    /// The three DAPM conditions (automation claims), in the paper's order.
    pub dapm: Vec<ConditionOut>,
    /// Acceleration: minutes saved per decision; automation: minutes displaced per step.
    pub minutes_per_task: Option<f64>,
    /// Those minutes at the loaded labour cost.
    pub value_per_task: Option<f64>,
}

/// The stack in `export.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StackOut {
    pub unit: String,
    pub units_per_month: f64,
    pub units_source: String,
    pub lines: Vec<LineOut>,
    pub layers: Vec<LayerOut>,
    pub total_monthly: Amount,
    pub cost_per_unit: Amount,
    pub cost_per_unit_before_ai: Option<Amount>,
    pub cost_per_unit_before_ai_source: String,
    /// The vendor's implied cost per unit (its gross hours taken as all saved); may be below zero.
    pub vendor_implied_per_unit: Option<f64>,
}

/// The `tco` object of `export.json` and the workbook's sheet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TcoOut {
    pub currency: String,
    /// None until the admin enters the unit of value.
    pub stack: Option<StackOut>,
    pub outcome_classes: Vec<ClassOut>,
}

/// A row of the stack table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RowView {
    pub layer: String,
    pub line: String,
    pub monthly: String,
    pub per_unit: String,
    pub source: String,
}

/// The stack as the pages show it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StackView {
    pub unit: String,
    pub units: String,
    pub rows: Vec<RowView>,
    pub total: String,
    pub per_unit: String,
    pub before: String,
    pub before_source: String,
    pub vendor: String,
    pub chart: Svg,
    /// (layer, per unit with interval) beside the chart.
    pub chart_rows: Vec<(String, String)>,
}

/// A category's valuation as the pages show it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ValueView {
    pub category: String,
    pub why: Option<String>,
    pub minutes: String,
    pub value: String,
}

/// The cost per unit section of the report, the readout and the cost per unit page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Section {
    pub stack: Option<StackView>,
    pub acceleration: Vec<ValueView>,
    pub automation: Vec<ValueView>,
    /// The same figures as numbers, for `export.json` and the workbook.
    pub out: TcoOut,
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

fn class_out(v: &Valuation, valued_as: Class) -> ClassOut {
    let r = &v.record;
    ClassOut {
        category: v.category.clone(),
        class: r.class.key().into(),
        valued_as: valued_as.key().into(),
        reason: r.reason.clone(),
        why: v.why.clone(),
        dapm: if r.class == Class::Automation {
            r.conditions
                .iter()
                .zip(DAPM)
                .map(|(c, name)| ConditionOut {
                    condition: name.into(),
                    met: c.as_ref().map(|c| c.met),
                    confirmed_by: c.as_ref().map(|c| c.confirmed_by.clone()),
                    evidence: c.as_ref().map(|c| c.evidence.clone()),
                })
                .collect()
        } else {
            vec![]
        },
        minutes_per_task: v.minutes,
        value_per_task: v.value,
    }
}

fn layer_key(l: super::Layer) -> &'static str {
    match l {
        super::Layer::Work => "work",
        super::Layer::Inputs => "inputs",
        super::Layer::Systems => "systems",
        super::Layer::Oversight => "oversight",
        super::Layer::Yield => "yield",
    }
}

/// Units per month: whole numbers with thousands separators, a fractional count as entered.
fn units_text(x: f64) -> String {
    if x.fract() == 0.0 {
        crate::reports::text::thousands(x)
    } else {
        format!("{x}")
    }
}

/// The vendor's implied figure in words (it may fall below zero: say what that means).
fn vendor_text(currency: &str, v: Option<f64>) -> String {
    match v {
        None => "needs the cost before AI, the profile's gross hours and the labour cost".into(),
        Some(v) if v < 0.0 => format!(
            "{currency} −{:.2} (below zero: the vendor's hours exceed the labour the units took before AI)",
            -v
        ),
        Some(v) => format!("{currency} {v:.2}"),
    }
}

/// The section from what was entered and computed; None when nothing was entered (no unit, no class).
pub fn section(e: &Entered, c: Computed) -> Option<Section> {
    if e.unit.is_none() && e.classes.is_empty() {
        return None;
    }
    let currency = e.currency.clone().unwrap_or_else(|| "USD".into());
    let source = |l: Line| {
        c.sources.get(&l).cloned().unwrap_or_else(|| {
            if l == Line::Licences {
                "renewal assumptions not entered".into()
            } else {
                "not entered (zero)".into()
            }
        })
    };
    let (stack, stack_out) = match (c.stack, &e.unit) {
        (Some(s), Some(u)) => {
            let unit = u.unit.clone();
            let rows = s
                .lines
                .iter()
                .map(|l| RowView {
                    layer: l.line.layer().label().into(),
                    line: l.line.label().into(),
                    monthly: match &l.monthly {
                        Ok(m) => monthly(&currency, m),
                        Err(why) => format!("not counted: {why}"),
                    },
                    per_unit: match &l.monthly {
                        Ok(m) => per_unit(&currency, &m.per(s.units_per_month)),
                        Err(_) => "–".into(),
                    },
                    source: source(l.line),
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
                .map(|(l, c)| (l.label().to_string(), per_unit(&currency, c)))
                .chain(std::iter::once((
                    "+1: cost per unit of output".to_string(),
                    per_unit(&currency, &s.per_unit),
                )))
                .collect();
            let view = StackView {
                unit: unit.clone(),
                units: units_text(s.units_per_month),
                rows,
                total: monthly(&currency, &s.total),
                per_unit: per_unit(&currency, &s.per_unit),
                before: s
                    .before_per_unit
                    .map_or("not available".into(), |b| per_unit(&currency, &b)),
                before_source: c.before_source.clone(),
                vendor: vendor_text(&currency, s.vendor_per_unit),
                chart,
                chart_rows,
            };
            let out = StackOut {
                unit,
                units_per_month: s.units_per_month,
                units_source: u.units_source.clone(),
                lines: s
                    .lines
                    .iter()
                    .map(|l| LineOut {
                        layer: layer_key(l.line.layer()).into(),
                        line: l.line.key().into(),
                        label: l.line.label().into(),
                        monthly: l.monthly.as_ref().ok().map(|m| Amount::from(*m)),
                        not_counted: l.monthly.as_ref().err().cloned(),
                        source: source(l.line),
                    })
                    .collect(),
                layers: s
                    .per_unit_by_layer
                    .iter()
                    .map(|(l, pu)| LayerOut {
                        layer: layer_key(*l).into(),
                        label: l.label().into(),
                        monthly: s
                            .lines
                            .iter()
                            .filter(|sl| sl.line.layer() == *l)
                            .filter_map(|sl| sl.monthly.as_ref().ok())
                            .fold(Cost::fixed(0.0), |acc, m| acc.plus(*m))
                            .into(),
                        per_unit: Amount::from(*pu),
                    })
                    .collect(),
                total_monthly: s.total.into(),
                cost_per_unit: s.per_unit.into(),
                cost_per_unit_before_ai: s.before_per_unit.map(Amount::from),
                cost_per_unit_before_ai_source: c.before_source.clone(),
                vendor_implied_per_unit: s.vendor_per_unit,
            };
            (Some(view), Some(out))
        }
        _ => (None, None),
    };
    let outcome_classes = c
        .acceleration
        .iter()
        .map(|v| class_out(v, Class::Acceleration))
        .chain(c.automation.iter().map(|v| class_out(v, Class::Automation)))
        .collect();
    Some(Section {
        stack,
        acceleration: c
            .acceleration
            .iter()
            .map(|v| value_view(&currency, v))
            .collect(),
        automation: c
            .automation
            .iter()
            .map(|v| value_view(&currency, v))
            .collect(),
        out: TcoOut {
            currency,
            stack: stack_out,
            outcome_classes,
        },
    })
}
