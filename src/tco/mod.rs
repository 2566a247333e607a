//! Cost per unit of business output (the paper's "+1" layer, issue 13): the unit of value, the monthly
//! cost stack from Layer 0 to Layer 3 with each line's source, the cost per unit with its interval, and
//! the outcome classes (decision acceleration vs process automation under the DAPM conditions). The
//! computation here is pure; `service` holds the rules, `repo` the SQL.
//!
//! How intervals carry through. Only two lines are measured, and both from the study's own Layer 2
//! profile (overall figures, 95% linearization intervals):
//! - Layer 2 oversight = G·O/60 hours per user per month × loaded hourly cost × population, where G is
//!   the gross AI hours and O the oversight minutes per hour. Its interval is the box [G_lo·O_lo,
//!   G_hi·O_hi] (both are non-negative). To first order its half-width is O·t·se_G + G·t·se_O, which is
//!   the delta-method interval when G and O are perfectly correlated and wider than it for any other
//!   correlation, so it is conservative whatever the (unpublished) covariance of G and O.
//! - Layer 3 rework = units × (1 − Y) × the extra minutes an unused output takes ÷ 60 × hourly cost. Its
//!   interval comes from the yield's interval alone (1 − Y_hi to 1 − Y_lo); the diary's minutes are taken
//!   as they are, a stated simplification.
//!
//! Every other line is entered (or a fixed product of entered figures) and has no width. The monthly
//! total and the cost per unit take the sum of the measured lines' lower ends and the sum of their upper
//! ends: again the interval of perfectly correlated terms, the widest any correlation of Layer 2 and
//! Layer 3 gives (sd(a + b) ≤ sd(a) + sd(b)), so it never understates the uncertainty. A delta method
//! would need the two lines' joint influence values per participant, which the profile does not publish;
//! being conservative beats a number that looks more precise than the data behind it.
//!
//! Derived figures take one diary task as one unit of output and say so: the work itself is the diary's
//! mean minutes with AI on tasks whose output was used (`all`/`most`), and rework is what an unused one
//! (`some`/`none`) takes beyond that, so the two add up to the diary's mean minutes per task and no minute
//! is counted twice.
pub mod repo;
pub mod service;
pub mod view;

use crate::stats::profile::Estimate;
use std::collections::BTreeMap;

/// A monthly (or per-unit) amount with its interval; an entered amount has `low == high == estimate`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Cost {
    /// Point estimate.
    pub estimate: f64,
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

impl Cost {
    /// An amount known exactly (entered, or computed from entered figures).
    pub fn fixed(x: f64) -> Self {
        Cost {
            estimate: x,
            low: x,
            high: x,
        }
    }

    /// Whether the interval has any width (a measured line).
    pub fn measured(&self) -> bool {
        self.low != self.high
    }

    /// Per unit of output: the amount divided by `units`.
    pub fn per(self, units: f64) -> Cost {
        self.map(|x| x / units)
    }

    /// The sum of two amounts, ends added to ends (see the module's note on intervals).
    pub fn plus(self, o: Cost) -> Cost {
        Cost {
            estimate: self.estimate + o.estimate,
            low: self.low + o.low,
            high: self.high + o.high,
        }
    }

    fn times(self, k: f64) -> Cost {
        // k ≥ 0 everywhere it is used, so the ends keep their order.
        self.map(|x| x * k)
    }

    fn map(self, f: impl Fn(f64) -> f64) -> Cost {
        Cost {
            estimate: f(self.estimate),
            low: f(self.low),
            high: f(self.high),
        }
    }
}

/// The layers of the paper's stack, bottom to top ("the work itself" is the labour that remains).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Layer {
    /// The labour that remains per unit with AI (the paper's "$28 base").
    Work,
    /// Layer 0: licences, model and token spend, data.
    Inputs,
    /// Layer 1: platform, integration, security.
    Systems,
    /// Layer 2: measured oversight plus entered governance labour.
    Oversight,
    /// Layer 3: rework on output that was not used.
    Yield,
}

impl Layer {
    /// Bottom to top.
    pub const ALL: [Layer; 5] = [
        Layer::Work,
        Layer::Inputs,
        Layer::Systems,
        Layer::Oversight,
        Layer::Yield,
    ];

    /// The label on the page and the chart.
    pub fn label(self) -> &'static str {
        match self {
            Layer::Work => "The work itself",
            Layer::Inputs => "Layer 0: inputs",
            Layer::Systems => "Layer 1: production systems",
            Layer::Oversight => "Layer 2: labour and oversight",
            Layer::Yield => "Layer 3: yield and rework",
        }
    }

    /// A short label for the chart's axis.
    pub fn short(self) -> &'static str {
        match self {
            Layer::Work => "Work",
            Layer::Inputs => "L0 inputs",
            Layer::Systems => "L1 systems",
            Layer::Oversight => "L2 oversight",
            Layer::Yield => "L3 rework",
        }
    }
}

/// One line of the stack; the entered ones are stored as `tco_lines.line`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, sqlx::Type,
)]
#[sqlx(rename_all = "snake_case")]
pub enum Line {
    /// The work itself: entered, or the diary's minutes with AI × units × hourly cost.
    Work,
    /// Seats × seat price (the renewal assumptions).
    Licences,
    /// Model and token spend (entered).
    ModelSpend,
    /// Data (entered).
    Data,
    /// Platform (entered).
    Platform,
    /// Integration (entered).
    Integration,
    /// Security (entered).
    Security,
    /// Measured oversight: G·O/60 × hourly cost × population.
    Oversight,
    /// Governance labour (entered).
    Governance,
    /// Rework on unused output (measured yield).
    Rework,
}

impl Line {
    /// Every line, bottom to top.
    pub const ALL: [Line; 10] = [
        Line::Work,
        Line::Licences,
        Line::ModelSpend,
        Line::Data,
        Line::Platform,
        Line::Integration,
        Line::Security,
        Line::Oversight,
        Line::Governance,
        Line::Rework,
    ];

    /// The lines an admin may enter (the work itself may also be left to the diary).
    pub const ENTERED: [Line; 7] = [
        Line::Work,
        Line::ModelSpend,
        Line::Data,
        Line::Platform,
        Line::Integration,
        Line::Security,
        Line::Governance,
    ];

    /// Its layer.
    pub fn layer(self) -> Layer {
        match self {
            Line::Work => Layer::Work,
            Line::Licences | Line::ModelSpend | Line::Data => Layer::Inputs,
            Line::Platform | Line::Integration | Line::Security => Layer::Systems,
            Line::Oversight | Line::Governance => Layer::Oversight,
            Line::Rework => Layer::Yield,
        }
    }

    /// The stored key (`tco_lines.line`).
    pub fn key(self) -> &'static str {
        match self {
            Line::Work => "work",
            Line::Licences => "licences",
            Line::ModelSpend => "model_spend",
            Line::Data => "data",
            Line::Platform => "platform",
            Line::Integration => "integration",
            Line::Security => "security",
            Line::Oversight => "oversight",
            Line::Governance => "governance",
            Line::Rework => "rework",
        }
    }

    /// The line named by a stored key.
    pub fn from_key(key: &str) -> Option<Line> {
        Line::ALL.into_iter().find(|l| l.key() == key)
    }

    /// The label on the page.
    pub fn label(self) -> &'static str {
        match self {
            Line::Work => "Remaining work with AI",
            Line::Licences => "Licences (seats × seat price)",
            Line::ModelSpend => "Model and token spend",
            Line::Data => "Data",
            Line::Platform => "Platform",
            Line::Integration => "Integration",
            Line::Security => "Security",
            Line::Oversight => "Oversight (measured)",
            Line::Governance => "Governance labour",
            Line::Rework => "Rework on unused output (measured)",
        }
    }
}

/// The profile's overall figures the measured lines rest on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measured {
    /// Oversight minutes per hour of AI output (O).
    pub oversight: Estimate,
    /// Gross AI hours per user per month (G, the vendor's figure).
    pub gross: Estimate,
    /// Yield: the share of tasks whose output was used (Y).
    pub yield_rate: Estimate,
}

impl Measured {
    /// The profile's overall figures, when it has all three and the whole sample holds at least `k`
    /// participants (the confidentiality rule holds here as on every page).
    pub fn from_profile(overall: &crate::stats::profile::Profile, k: usize) -> Option<Measured> {
        (overall.n >= k).then_some(())?;
        Some(Measured {
            oversight: overall.oversight_min_per_hour?,
            gross: overall.gross_hours_month?,
            yield_rate: overall.yield_rate?,
        })
    }
}

/// The diary's mean minutes with AI per task, by whether its output was used.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DiaryMinutes {
    /// Tasks whose output was used (`all` or `most`).
    pub used: Option<f64>,
    /// Tasks whose output was not (`some` or `none`).
    pub unused: Option<f64>,
}

impl DiaryMinutes {
    /// The two means as (mean, people behind it), each kept only when at least `k` people's tasks stand
    /// behind it: a mean of one or two people's tasks would describe them.
    pub fn shown(used: (Option<f64>, i64), unused: (Option<f64>, i64), k: usize) -> Self {
        let keep = |(mean, people): (Option<f64>, i64)| {
            mean.filter(|_| usize::try_from(people).is_ok_and(|n| n >= k))
        };
        DiaryMinutes {
            used: keep(used),
            unused: keep(unused),
        }
    }

    /// Minutes an unused output takes beyond a used one (never below zero).
    pub fn rework(&self) -> Option<f64> {
        Some((self.unused? - self.used?).max(0.0))
    }
}

/// The cost per unit before AI.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Before {
    /// Entered by the admin.
    Entered(f64),
    /// Derived from Instrument C: minutes without AI per task (the bound across methods, weighted by the
    /// diary's task mix; the estimate is its midpoint) × the hourly cost.
    Derived(Cost),
}

/// Everything the stack is computed from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StackInputs {
    /// Units of business output per month.
    pub units_per_month: f64,
    /// Loaded labour cost per hour (the renewal assumptions), if entered.
    pub hourly_cost: Option<f64>,
    /// The studied population (roster size).
    pub population: f64,
    /// Seats × seat price per month, if the renewal assumptions are entered.
    pub licences: Option<f64>,
    /// The admin's monthly amounts by line ([`Line::ENTERED`]).
    pub entered: BTreeMap<Line, f64>,
    /// The profile's figures, when it has them.
    pub measured: Option<Measured>,
    /// The diary's minutes.
    pub diary: DiaryMinutes,
    /// Cost per unit before AI, entered or derived.
    pub before: Option<Before>,
}

/// A line of the computed stack.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StackLine {
    /// Which line.
    pub line: Line,
    /// Monthly amount, `None` with the reason when it cannot be computed.
    pub monthly: Result<Cost, String>,
}

/// The computed stack.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Stack {
    /// Units of output per month.
    pub units_per_month: f64,
    /// Every line, bottom to top.
    pub lines: Vec<StackLine>,
    /// Per layer, per unit of output (lines that could not be computed count as zero and are named in
    /// `missing`).
    pub per_unit_by_layer: Vec<(Layer, Cost)>,
    /// Total per month.
    pub total: Cost,
    /// Total ÷ units: the true cost per unit of output.
    pub per_unit: Cost,
    /// The cost per unit before AI.
    pub before_per_unit: Option<Cost>,
    /// The vendor's implied cost per unit: the cost before AI less the vendor's gross hours priced at
    /// the hourly cost, plus Layers 0 and 1 (no oversight, no rework).
    pub vendor_per_unit: Option<f64>,
    /// Lines left out of the total, with why.
    pub missing: Vec<(Line, String)>,
}

const NO_HOURLY: &str = "needs the loaded labour cost (renewal assumptions on the report)";
const NO_PROFILE: &str = "needs the Layer 2 profile (not enough data yet)";

fn line(inp: &StackInputs, l: Line) -> Result<Cost, String> {
    let hourly = inp.hourly_cost.ok_or(NO_HOURLY);
    let units = inp.units_per_month;
    match l {
        Line::Licences => inp
            .licences
            .map(Cost::fixed)
            .ok_or_else(|| "needs the seats and seat price (renewal assumptions)".to_string()),
        Line::Work if !inp.entered.contains_key(&Line::Work) => {
            let minutes = inp
                .diary
                .used
                .ok_or("needs diary tasks whose output was used (from enough people to show), or an entered amount")?;
            Ok(Cost::fixed(units * minutes / 60.0 * hourly?))
        }
        Line::Oversight => {
            let m = inp.measured.ok_or(NO_PROFILE)?;
            let (g, o) = (m.gross, m.oversight);
            let (hourly, people) = (hourly?, inp.population);
            // Minutes per user per month → money per month, divided last so whole figures stay exact.
            Ok(Cost {
                estimate: g.estimate * o.estimate,
                low: g.ci_lower.max(0.0) * o.ci_lower.max(0.0),
                high: g.ci_upper.max(0.0) * o.ci_upper.max(0.0),
            }
            .map(|minutes| minutes * hourly * people / 60.0))
        }
        Line::Rework => {
            let m = inp.measured.ok_or(NO_PROFILE)?;
            let extra = inp
                .diary
                .rework()
                .ok_or("needs diary tasks both used and not used (from enough people to show)")?;
            let unused = |y: f64| (1.0 - y).clamp(0.0, 1.0);
            let (y, hourly) = (m.yield_rate, hourly?);
            Ok(Cost {
                estimate: unused(y.estimate),
                // A higher yield leaves less rework: the ends swap.
                low: unused(y.ci_upper),
                high: unused(y.ci_lower),
            }
            .map(|share| units * share * extra * hourly / 60.0))
        }
        _ => Ok(Cost::fixed(inp.entered.get(&l).copied().unwrap_or(0.0))),
    }
}

/// The cost stack, the cost per unit with its interval, and the figures beside it. `units_per_month`
/// must be positive (the service checks it).
pub fn stack(inp: &StackInputs) -> Stack {
    let units = inp.units_per_month;
    let lines: Vec<StackLine> = Line::ALL
        .into_iter()
        .map(|l| StackLine {
            line: l,
            monthly: line(inp, l),
        })
        .collect();
    let mut by_layer: BTreeMap<Layer, Cost> = Layer::ALL
        .into_iter()
        .map(|l| (l, Cost::fixed(0.0)))
        .collect();
    let mut missing = Vec::new();
    for sl in &lines {
        match &sl.monthly {
            Ok(c) => {
                let e = by_layer.entry(sl.line.layer()).or_insert(Cost::fixed(0.0));
                *e = e.plus(*c);
            }
            Err(why) => missing.push((sl.line, why.clone())),
        }
    }
    let total = by_layer
        .values()
        .fold(Cost::fixed(0.0), |acc, c| acc.plus(*c));
    let before_per_unit = match inp.before {
        Some(Before::Entered(x)) => Some(Cost::fixed(x)),
        Some(Before::Derived(minutes)) => inp.hourly_cost.map(|h| minutes.times(h / 60.0)),
        None => None,
    };
    let spend = by_layer[&Layer::Inputs].estimate + by_layer[&Layer::Systems].estimate;
    let vendor_per_unit = match (before_per_unit, inp.measured, inp.hourly_cost) {
        (Some(b), Some(m), Some(h)) => {
            Some(b.estimate + (spend - m.gross.estimate * h * inp.population) / units)
        }
        _ => None,
    };
    Stack {
        per_unit_by_layer: by_layer
            .into_iter()
            .map(|(l, c)| (l, c.per(units)))
            .collect(),
        per_unit: total.per(units),
        units_per_month: units,
        total,
        lines,
        before_per_unit,
        vendor_per_unit,
        missing,
    }
}

/// The outcome class of a task category; stored as `tco_classes.class`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
pub enum Class {
    /// Decision acceleration: labour compressed, valued as time saved per decision.
    Acceleration,
    /// Process automation: labour displaced or throughput, only under the three DAPM conditions.
    Automation,
}

impl Class {
    /// The stored key.
    pub fn key(self) -> &'static str {
        match self {
            Class::Acceleration => "acceleration",
            Class::Automation => "automation",
        }
    }

    /// The class named by a stored key or a form value.
    pub fn from_key(key: &str) -> Option<Class> {
        match key {
            "acceleration" => Some(Class::Acceleration),
            "automation" => Some(Class::Automation),
            _ => None,
        }
    }

    /// The label on the page.
    pub fn label(self) -> &'static str {
        match self {
            Class::Acceleration => "decision acceleration",
            Class::Automation => "process automation",
        }
    }
}

/// The three conditions of the Decision Authority Placement Model, in the paper's order.
pub const DAPM: [&str; 3] = [
    "execution separated from authority",
    "accountability aligned with decision tempo",
    "decision rights deliberately redesigned",
];

/// One DAPM condition as recorded: whether it holds, who confirmed it, and the evidence.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Condition {
    /// Recorded as met.
    pub met: bool,
    /// Who confirmed it (a role or a name).
    pub confirmed_by: String,
    /// The evidence (a policy, a decision record).
    pub evidence: String,
}

/// A category's class as the admin recorded it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ClassRecord {
    /// Task category.
    pub category: String,
    /// The class claimed.
    pub class: Class,
    /// One line on why.
    pub reason: String,
    /// The DAPM conditions (automation only), in [`DAPM`] order.
    pub conditions: [Option<Condition>; 3],
}

impl ClassRecord {
    /// The class the category is valued as, and why it differs from the one claimed: automation counts
    /// only when all three DAPM conditions are recorded as met.
    pub fn valued_as(&self) -> (Class, Option<String>) {
        if self.class == Class::Acceleration {
            return (Class::Acceleration, None);
        }
        let unmet: Vec<&str> = self
            .conditions
            .iter()
            .zip(DAPM)
            .filter(|(c, _)| !c.as_ref().is_some_and(|c| c.met))
            .map(|(_, name)| name)
            .collect();
        if unmet.is_empty() {
            (Class::Automation, None)
        } else {
            (
                Class::Acceleration,
                Some(format!(
                    "Claimed as process automation, but the DAPM condition{} “{}” {} not recorded as met, so it is valued as decision acceleration (labour compressed, not removed).",
                    if unmet.len() == 1 { "" } else { "s" },
                    unmet.join("”, “"),
                    if unmet.len() == 1 { "is" } else { "are" },
                )),
            )
        }
    }
}

/// A category's diary and baseline minutes per task.
#[derive(Clone, Debug, PartialEq)]
pub struct CategoryMinutes {
    /// Mean minutes with AI (diary).
    pub with_ai: Option<f64>,
    /// Minutes without AI (Instrument C: midpoint of the bound across methods).
    pub without_ai: Option<f64>,
}

/// What a category's output is worth per task, in its class's own terms.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Valuation {
    /// Task category.
    pub category: String,
    /// The admin's record.
    pub record: ClassRecord,
    /// Why it is valued in another class than claimed.
    pub why: Option<String>,
    /// Acceleration: minutes saved per decision (without − with AI − oversight on the minutes with AI);
    /// automation: minutes of labour displaced per step (the minutes without AI).
    pub minutes: Option<f64>,
    /// `minutes` priced at the hourly cost.
    pub value: Option<f64>,
}

/// The categories valued in their class: decision acceleration and process automation, apart (the two
/// are never summed). `oversight_per_hour`: the profile's O, spent on each minute with AI.
pub fn valuations(
    records: &[ClassRecord],
    minutes: &BTreeMap<String, CategoryMinutes>,
    oversight_per_hour: Option<f64>,
    hourly_cost: Option<f64>,
) -> (Vec<Valuation>, Vec<Valuation>) {
    let (mut accel, mut auto) = (Vec::new(), Vec::new());
    for r in records {
        let (class, why) = r.valued_as();
        let m = minutes.get(&r.category);
        let with = m.and_then(|m| m.with_ai);
        let without = m.and_then(|m| m.without_ai);
        let saved = match class {
            Class::Acceleration => match (with, without, oversight_per_hour) {
                (Some(w), Some(wo), Some(o)) => Some(wo - w - w * o / 60.0),
                _ => None,
            },
            Class::Automation => without,
        };
        let v = Valuation {
            category: r.category.clone(),
            record: r.clone(),
            why,
            minutes: saved,
            value: saved.zip(hourly_cost).map(|(m, h)| m * h / 60.0),
        };
        match class {
            Class::Acceleration => accel.push(v),
            Class::Automation => auto.push(v),
        }
    }
    (accel, auto)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(estimate: f64, ci_lower: f64, ci_upper: f64) -> Estimate {
        Estimate {
            estimate,
            se: 0.0,
            df: 30.0,
            ci_lower,
            ci_upper,
            interval: None,
        }
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }

    fn layer(s: &Stack, l: Layer) -> Cost {
        s.per_unit_by_layer.iter().find(|(k, _)| *k == l).unwrap().1
    }

    /// The paper's worked example: 10,000 tickets a month, $45 per resolved case before AI, $28 of work
    /// remaining with AI, Layer 2 adds $8: $36 per case. Layer 2 here is measured: 100 people at $50 an
    /// hour, 20 gross hours a month at 48 oversight minutes an hour = 16 hours each = $80,000 = $8 a case.
    #[test]
    fn the_papers_worked_example_holds_exactly() {
        let exact = est(1.0, 1.0, 1.0);
        let inp = StackInputs {
            units_per_month: 10_000.0,
            hourly_cost: Some(50.0),
            population: 100.0,
            licences: Some(0.0),
            entered: [(Line::Work, 280_000.0)].into_iter().collect(),
            measured: Some(Measured {
                oversight: est(48.0, 48.0, 48.0),
                gross: est(20.0, 20.0, 20.0),
                yield_rate: exact,
            }),
            diary: DiaryMinutes {
                used: Some(10.0),
                unused: Some(10.0),
            },
            before: Some(Before::Entered(45.0)),
        };
        let s = stack(&inp);
        assert_eq!(s.per_unit, Cost::fixed(36.0));
        assert_eq!(layer(&s, Layer::Work), Cost::fixed(28.0));
        assert_eq!(layer(&s, Layer::Oversight), Cost::fixed(8.0));
        for l in [Layer::Inputs, Layer::Systems, Layer::Yield] {
            assert_eq!(layer(&s, l), Cost::fixed(0.0), "{l:?}");
        }
        assert_eq!(s.before_per_unit, Some(Cost::fixed(45.0)));
        assert!(s.missing.is_empty());
    }

    /// Worked by hand against a profile's intervals: O = 15 [12, 18] min/h, G = 10 [8, 12] h, Y = 0.6
    /// [0.5, 0.7]; 200 people at $60 an hour; 5,000 units; an unused output takes 30 minutes more.
    #[test]
    fn the_measured_layers_and_the_cost_per_unit_carry_the_profiles_intervals() {
        let inp = StackInputs {
            units_per_month: 5_000.0,
            hourly_cost: Some(60.0),
            population: 200.0,
            licences: Some(6_000.0),
            entered: [(Line::Work, 100_000.0), (Line::Governance, 4_000.0)]
                .into_iter()
                .collect(),
            measured: Some(Measured {
                oversight: est(15.0, 12.0, 18.0),
                gross: est(10.0, 8.0, 12.0),
                yield_rate: est(0.6, 0.5, 0.7),
            }),
            diary: DiaryMinutes {
                used: Some(20.0),
                unused: Some(50.0),
            },
            before: Some(Before::Entered(50.0)),
        };
        let s = stack(&inp);
        let get = |l: Line| {
            s.lines
                .iter()
                .find(|x| x.line == l)
                .unwrap()
                .monthly
                .clone()
        };
        // Layer 2: 10 × 15 / 60 = 2.5 h × $60 × 200 = 30,000; 8 × 12 / 60 = 1.6 h → 19,200;
        // 12 × 18 / 60 = 3.6 h → 43,200.
        let o = get(Line::Oversight).unwrap();
        close(o.estimate, 30_000.0);
        close(o.low, 19_200.0);
        close(o.high, 43_200.0);
        // Layer 3: 5,000 × 0.4 × 30 min = 1,000 h × $60 = 60,000; 0.3 → 45,000; 0.5 → 75,000.
        let r = get(Line::Rework).unwrap();
        close(r.estimate, 60_000.0);
        close(r.low, 45_000.0);
        close(r.high, 75_000.0);
        // Fixed: 100,000 + 6,000 + 4,000 = 110,000. Total 200,000 [174,200, 228,200] ÷ 5,000.
        close(s.total.estimate, 200_000.0);
        close(s.per_unit.estimate, 40.0);
        close(s.per_unit.low, 34.84);
        close(s.per_unit.high, 45.64);
        let l2 = layer(&s, Layer::Oversight);
        close(l2.low, (19_200.0 + 4_000.0) / 5_000.0);
        close(l2.high, (43_200.0 + 4_000.0) / 5_000.0);
        // The vendor's 10 h × $60 × 200 = 120,000 a month off $50 a unit, plus $6,000 of licences:
        // 50 − 24 + 1.2 = 27.2.
        close(s.vendor_per_unit.unwrap(), 27.2);
    }

    #[test]
    fn the_work_itself_comes_from_the_diary_and_missing_inputs_are_named_not_zeroed_silently() {
        let inp = StackInputs {
            units_per_month: 1_000.0,
            hourly_cost: Some(60.0),
            population: 50.0,
            diary: DiaryMinutes {
                used: Some(12.0),
                unused: None,
            },
            before: Some(Before::Derived(Cost {
                estimate: 30.0,
                low: 25.0,
                high: 35.0,
            })),
            ..Default::default()
        };
        let s = stack(&inp);
        // 1,000 × 12 min = 200 h × $60.
        assert_eq!(s.lines[0].monthly, Ok(Cost::fixed(12_000.0)));
        let missing: Vec<Line> = s.missing.iter().map(|m| m.0).collect();
        assert_eq!(missing, [Line::Licences, Line::Oversight, Line::Rework]);
        // 30 [25, 35] minutes at $60 an hour.
        assert_eq!(
            s.before_per_unit,
            Some(Cost {
                estimate: 30.0,
                low: 25.0,
                high: 35.0
            })
        );
        assert_eq!(s.vendor_per_unit, None);
        let no_cost = stack(&StackInputs {
            hourly_cost: None,
            ..inp
        });
        assert_eq!(no_cost.lines[0].monthly, Err(NO_HOURLY.to_string()));
        assert_eq!(no_cost.before_per_unit, None);
    }

    #[test]
    fn no_measured_figure_rests_on_fewer_than_k_people() {
        let e = Some(est(10.0, 8.0, 12.0));
        let mut overall = crate::stats::profile::Profile {
            n: 5,
            yield_rate: e,
            oversight_min_per_hour: e,
            gross_hours_month: e,
            net_hours_month: None,
            labor_multiplier: None,
            vendor_gap: None,
            not_enough: Default::default(),
            notes: Default::default(),
        };
        assert!(Measured::from_profile(&overall, 5).is_some());
        assert_eq!(Measured::from_profile(&overall, 6), None);
        overall.yield_rate = None;
        assert_eq!(Measured::from_profile(&overall, 5), None);
        let d = DiaryMinutes::shown((Some(20.0), 5), (Some(50.0), 4), 5);
        assert_eq!(
            d,
            DiaryMinutes {
                used: Some(20.0),
                unused: None
            }
        );
        assert_eq!(d.rework(), None);
    }

    fn record(class: Class, met: [bool; 3]) -> ClassRecord {
        ClassRecord {
            category: "Triage".into(),
            class,
            reason: "routes tickets".into(),
            conditions: met.map(|m| {
                Some(Condition {
                    met: m,
                    confirmed_by: "COO".into(),
                    evidence: "DoA 2026-04".into(),
                })
            }),
        }
    }

    #[test]
    fn automation_counts_only_with_all_three_dapm_conditions_met() {
        assert_eq!(
            record(Class::Automation, [true; 3]).valued_as(),
            (Class::Automation, None)
        );
        let (class, why) = record(Class::Automation, [true, true, false]).valued_as();
        assert_eq!(class, Class::Acceleration);
        let why = why.unwrap();
        assert!(why.contains("“decision rights deliberately redesigned” is not recorded as met"));
        assert_eq!(
            record(Class::Acceleration, [false; 3]).valued_as(),
            (Class::Acceleration, None)
        );
    }

    #[test]
    fn acceleration_and_automation_are_valued_apart_in_their_own_terms() {
        let minutes: BTreeMap<String, CategoryMinutes> = [(
            "Triage".to_string(),
            CategoryMinutes {
                with_ai: Some(12.0),
                without_ai: Some(30.0),
            },
        )]
        .into_iter()
        .collect();
        let (accel, auto) = valuations(
            &[record(Class::Automation, [true; 3])],
            &minutes,
            Some(15.0),
            Some(60.0),
        );
        assert!(accel.is_empty());
        // Automation: the 30 minutes without AI are displaced, $30 at $60 an hour.
        assert_eq!(auto[0].minutes, Some(30.0));
        assert_eq!(auto[0].value, Some(30.0));
        let (accel, auto) = valuations(
            &[record(Class::Automation, [false, true, true])],
            &minutes,
            Some(15.0),
            Some(60.0),
        );
        assert!(auto.is_empty());
        // Acceleration: 30 − 12 − 12 × 15/60 = 15 minutes saved per decision, $15.
        assert_eq!(accel[0].minutes, Some(15.0));
        assert_eq!(accel[0].value, Some(15.0));
        assert!(accel[0].why.is_some());
    }
}
