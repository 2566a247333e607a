//! Cost per unit rules: the admin's entries checked and saved (each change audited in its transaction),
//! and the stack computed from them, the renewal assumptions and the study's measurements.
use super::repo::{self, ClassRow, ConditionRow, LineRow, UnitRow};
use super::{
    Before, CategoryMinutes, Class, ClassRecord, Condition, Cost, DAPM, DiaryMinutes, Line,
    Measured, Stack, StackInputs, Valuation,
};
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::study::StudyId;
use std::collections::BTreeMap;

/// An amount of money as typed: digits with at most one decimal point, not below zero. Thousands
/// separators and currency signs are refused rather than guessed at.
/// An amount typed into the form control `field` (`what` names it in the message).
fn money(v: &str, field: &'static str, what: &str) -> Result<f64> {
    let v = v.trim();
    let plain = !v.is_empty()
        && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && v.bytes().filter(|&b| b == b'.').count() <= 1
        && v.bytes().any(|b| b.is_ascii_digit());
    match v.parse::<f64>() {
        Ok(x) if plain && x.is_finite() && x <= 1e12 => Ok(x),
        _ if v.starts_with('-') => Err(AppError::field(
            field,
            format!("{what} cannot be negative: enter an amount of zero or more."),
        )),
        _ => Err(AppError::field(
            field,
            format!(
                "{what} must be an amount such as 12500 or 12500.50 (digits and a decimal point only)."
            ),
        )),
    }
}

/// One line of text a person typed, at most `max` characters.
/// One line of text typed into the form control `field`.
fn line_of_text(v: &str, field: &'static str, what: &str, max: usize) -> Result<String> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(AppError::field(
            field,
            format!("{what} must be one line of at most {max} characters."),
        ));
    }
    Ok(v.to_string())
}

/// A write transaction on a study that exists (404 otherwise).
async fn write_on(
    state: &AppState,
    study: StudyId,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
    let mut tx = begin_write(&state.pool).await?;
    if crate::study::repo::get(&mut *tx, study).await?.is_none() {
        return Err(AppError::NotFound);
    }
    Ok(tx)
}

/// The unit of value as the admin's form sends it.
pub struct UnitForm<'a> {
    /// The unit's name.
    pub unit: &'a str,
    /// Units per month.
    pub units_per_month: &'a str,
    /// Their source.
    pub units_source: &'a str,
    /// Cost per unit before AI; empty: derive it from the baseline.
    pub before_per_unit: &'a str,
    /// Its source (needed when entered).
    pub before_source: &'a str,
}

/// Checks and saves the unit of value, audited.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn set_unit(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    f: UnitForm<'_>,
) -> Result<()> {
    let unit = line_of_text(f.unit, "u-unit", "The unit of value", 100)?;
    let units = money(f.units_per_month, "u-count", "The units per month").map_err(|_| {
        AppError::field(
            "u-count",
            "The units per month must be a number above zero, such as 10000.",
        )
    })?;
    if units <= 0.0 {
        return Err(AppError::field(
            "u-count",
            "The units per month must be above zero: a cost per unit needs units.",
        ));
    }
    let units_source = line_of_text(
        f.units_source,
        "u-source",
        "The source of the units per month",
        200,
    )?;
    let (before, before_source) = if f.before_per_unit.trim().is_empty() {
        (None, String::new())
    } else {
        (
            Some(money(
                f.before_per_unit,
                "u-before",
                "The cost per unit before AI",
            )?),
            line_of_text(
                f.before_source,
                "u-before-source",
                "The source of the cost before AI",
                200,
            )?,
        )
    };
    let row = UnitRow {
        unit,
        units_per_month: units,
        units_source,
        before_per_unit: before,
        before_source,
    };
    let now = state.clock.now();
    let mut tx = write_on(state, study).await?;
    repo::set_unit(&mut tx, study, &row, actor.user_id, now).await?;
    let before = match row.before_per_unit {
        Some(b) => format!("{b} entered ({})", row.before_source),
        None => "derived from the baseline".into(),
    };
    audit::record(
        &mut tx,
        now,
        actor,
        "tco.unit",
        Some(study.0),
        &format!(
            "unit \"{}\", {} per month ({}), cost per unit before AI {before}",
            row.unit, row.units_per_month, row.units_source
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Checks and saves one entered stack line, audited. For the work itself an empty amount means "from
/// the diary" and removes the entered one.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn set_line(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    line: &str,
    monthly: &str,
    source: &str,
) -> Result<()> {
    let line = Line::from_key(line)
        .filter(|l| Line::ENTERED.contains(l))
        .ok_or_else(|| AppError::field("l-line", "Choose one of the lines on the form."))?;
    let entry = if line == Line::Work && monthly.trim().is_empty() {
        None
    } else {
        Some(LineRow {
            line,
            monthly: money(
                monthly,
                "l-monthly",
                &format!("The monthly amount for {}", line.label()),
            )?,
            source: line_of_text(source, "l-source", "The source", 200)?,
        })
    };
    let now = state.clock.now();
    let mut tx = write_on(state, study).await?;
    let detail = match &entry {
        Some(e) => {
            repo::set_line(&mut tx, study, e, actor.user_id, now).await?;
            format!("{}: {} per month ({})", line.key(), e.monthly, e.source)
        }
        None => {
            repo::clear_line(&mut tx, study, line).await?;
            format!("{}: from the diary", line.key())
        }
    };
    audit::record(&mut tx, now, actor, "tco.line", Some(study.0), &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// One DAPM condition as the form sends it.
pub struct ConditionForm<'a> {
    /// Ticked as met.
    pub met: bool,
    /// Who confirmed it.
    pub confirmed_by: &'a str,
    /// The evidence.
    pub evidence: &'a str,
}

/// Checks and saves a category's outcome class with its reason and, for process automation, all three
/// DAPM conditions (each met or not, with who confirmed it and the evidence); audited.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn set_class(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    category: &str,
    class: &str,
    reason: &str,
    conditions: [ConditionForm<'_>; 3],
) -> Result<()> {
    let class = Class::from_key(class.trim()).ok_or_else(|| {
        AppError::field(
            "c-class",
            "Choose decision acceleration or process automation.",
        )
    })?;
    let reason = line_of_text(reason, "c-reason", "The reason for the class", 200)?;
    let category = category.trim().to_string();
    let mut dapm = Vec::new();
    if class == Class::Automation {
        // The field to mark: the first empty one of the first incomplete condition.
        const BY: [&str; 3] = ["c-by1", "c-by2", "c-by3"];
        const EVIDENCE: [&str; 3] = ["c-ev1", "c-ev2", "c-ev3"];
        let missing: Vec<(usize, &str)> = conditions
            .iter()
            .zip(DAPM)
            .enumerate()
            .filter(|(_, (c, _))| c.confirmed_by.trim().is_empty() || c.evidence.trim().is_empty())
            .map(|(i, (_, name))| (i, name))
            .collect();
        if let Some(&(first, _)) = missing.first() {
            let names: Vec<&str> = missing.iter().map(|(_, name)| *name).collect();
            let field = if conditions[first].confirmed_by.trim().is_empty() {
                BY[first]
            } else {
                EVIDENCE[first]
            };
            return Err(AppError::field(
                field,
                format!(
                    "Process automation needs all three DAPM conditions recorded, each with who confirmed it and the evidence; missing: {}. Nothing was saved.",
                    names.join("; ")
                ),
            ));
        }
        for (i, c) in conditions.iter().enumerate() {
            dapm.push(ConditionRow {
                category: category.clone(),
                condition: i as i64 + 1,
                met: c.met,
                confirmed_by: line_of_text(
                    c.confirmed_by,
                    BY[i],
                    "Who confirmed a condition",
                    200,
                )?,
                evidence: line_of_text(
                    c.evidence,
                    EVIDENCE[i],
                    "The evidence for a condition",
                    200,
                )?,
            });
        }
    }
    let now = state.clock.now();
    let mut tx = write_on(state, study).await?;
    let categories = crate::participants::service::instrument(&mut tx, study, now)
        .await?
        .categories();
    if !categories.contains(&category) {
        return Err(AppError::field(
            "c-category",
            "Choose one of the study's task categories.",
        ));
    }
    let row = ClassRow {
        category,
        class,
        reason,
    };
    repo::set_class(&mut tx, study, &row, &dapm, actor.user_id, now).await?;
    let met = dapm.iter().filter(|d| d.met).count();
    audit::record(
        &mut tx,
        now,
        actor,
        "tco.class",
        Some(study.0),
        &format!(
            "{}: {} ({}){}",
            row.category,
            class.label(),
            row.reason,
            if class == Class::Automation {
                format!(", DAPM conditions met: {met} of 3")
            } else {
                String::new()
            }
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What was entered, as the page shows it to everyone with access.
pub struct Entered {
    /// The unit of value.
    pub unit: Option<UnitRow>,
    /// Entered lines.
    pub lines: Vec<LineRow>,
    /// Outcome classes with their DAPM record.
    pub classes: Vec<ClassRecord>,
    /// The study's task categories.
    pub categories: Vec<String>,
    /// The renewal assumptions' currency, if entered.
    pub currency: Option<String>,
}

/// Everything computed from the entries and the study's measurements.
pub struct Computed {
    /// The stack (needs a unit).
    pub stack: Option<Stack>,
    /// Each line's source in words.
    pub sources: BTreeMap<Line, String>,
    /// Where the cost before AI comes from.
    pub before_source: String,
    /// Categories valued as decision acceleration.
    pub acceleration: Vec<Valuation>,
    /// Categories valued as process automation.
    pub automation: Vec<Valuation>,
}

/// The entered inputs of a study.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn entered(state: &AppState, study: StudyId) -> Result<Entered> {
    let unit = repo::unit(&state.pool, study).await?;
    let lines = repo::lines(&state.pool, study).await?;
    let mut conditions: BTreeMap<String, [Option<Condition>; 3]> = BTreeMap::new();
    for c in repo::conditions(&state.pool, study).await? {
        let slot = conditions.entry(c.category).or_default();
        if let Some(s) = slot.get_mut((c.condition - 1) as usize) {
            *s = Some(Condition {
                met: c.met,
                confirmed_by: c.confirmed_by,
                evidence: c.evidence,
            });
        }
    }
    let classes = repo::classes(&state.pool, study)
        .await?
        .into_iter()
        .map(|c| ClassRecord {
            conditions: conditions.remove(&c.category).unwrap_or_default(),
            category: c.category,
            class: c.class,
            reason: c.reason,
        })
        .collect();
    let categories = crate::participants::service::current_categories(state, study).await?;
    let currency = crate::reports::repo::economics(&state.pool, study)
        .await?
        .map(|e| e.currency);
    Ok(Entered {
        unit,
        lines,
        classes,
        categories,
        currency,
    })
}

/// The stack and the valuations, from the entries, the renewal assumptions, the Layer 2 profile (overall,
/// at the study's compliance rule), the diary and the baseline.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn compute(state: &AppState, study: StudyId, e: &Entered) -> Result<Computed> {
    let economics = crate::reports::repo::economics(&state.pool, study).await?;
    let hourly = economics.as_ref().map(|e| e.hourly_cost);
    let inputs =
        crate::reports::service::study_inputs(state, study, crate::stats::MIN_COMPLIANCE).await?;
    let population: f64 = inputs.populations.values().sum();
    let profile = crate::reports::compute::compute(inputs, crate::stats::LEVEL, false).await?;
    // The confidentiality rule holds here as everywhere: no figure rests on fewer than k people.
    let k = state.config.min_cell_size;
    let measured = profile
        .profile
        .ok()
        .and_then(|p| Measured::from_profile(&p.overall, k));
    let (used, used_people, unused, unused_people) =
        repo::diary_minutes(&state.pool, study).await?;
    let diary = DiaryMinutes::shown((used, used_people), (unused, unused_people), k);
    let used = diary.used;
    let baseline = crate::baseline::compare(&crate::baseline::service::inputs(state, study).await?);
    // Minutes without AI per task, weighted by the diary's task mix (categories with both a bound and
    // diary tasks): the low, middle and high of the bound across methods.
    let (mut tasks, mut low, mut mid, mut high) = (0.0, 0.0, 0.0, 0.0);
    let mut minutes = BTreeMap::new();
    for c in &baseline {
        if let (Some((lo, hi)), true) = (c.bound, c.tasks > 0) {
            let w = c.tasks as f64;
            tasks += w;
            low += w * lo;
            mid += w * (lo + hi) / 2.0;
            high += w * hi;
        }
        minutes.insert(
            c.category.clone(),
            CategoryMinutes {
                with_ai: c.with_ai,
                without_ai: c.bound.map(|(lo, hi)| (lo + hi) / 2.0),
            },
        );
    }
    let derived = (tasks > 0.0).then(|| Cost {
        estimate: mid / tasks,
        low: low / tasks,
        high: high / tasks,
    });
    let before_source = match (&e.unit, derived) {
        (Some(u), _) if u.before_per_unit.is_some() => format!("entered: {}", u.before_source),
        (_, Some(d)) => format!(
            "derived: Instrument C baseline, {:.1} [{:.1}, {:.1}] minutes per task without AI (the bound across methods, weighted by the diary's task mix; one task taken as one unit) × the loaded labour cost",
            d.estimate, d.low, d.high
        ),
        _ => "not available: enter it, or record baselines (Instrument C) and diary tasks".into(),
    };
    let licences = economics.as_ref().map(|e| e.seats as f64 * e.seat_price);
    let mut sources: BTreeMap<Line, String> = e
        .lines
        .iter()
        .map(|l| (l.line, format!("entered: {}", l.source)))
        .collect();
    sources.entry(Line::Work).or_insert_with(|| {
        format!(
            "diary: {} minutes with AI per task whose output was used (one task taken as one unit) × units × the loaded labour cost",
            used.map_or("no".into(), |m| format!("{m:.1}"))
        )
    });
    if let Some(ec) = &economics {
        sources.insert(
            Line::Licences,
            format!(
                "renewal assumptions: {} seats × {} {} per seat",
                ec.seats, ec.currency, ec.seat_price
            ),
        );
    }
    if let Some(m) = &measured {
        sources.insert(
            Line::Oversight,
            format!(
                "measured: {:.1} gross AI hours × {:.1} oversight minutes per hour ÷ 60 per user per month (Layer 2 profile, 95% intervals) × the loaded labour cost × {population:.0} people",
                m.gross.estimate, m.oversight.estimate
            ),
        );
        sources.insert(
            Line::Rework,
            format!(
                "measured: (1 − yield {:.1}%) × units × {} extra minutes an unused output takes (diary: some/none against all/most) × the loaded labour cost",
                m.yield_rate.estimate * 100.0,
                diary
                    .rework()
                    .map_or("no".into(), |x| format!("{x:.1}"))
            ),
        );
    }
    let stack = e.unit.as_ref().map(|u| {
        super::stack(&StackInputs {
            units_per_month: u.units_per_month,
            hourly_cost: hourly,
            population,
            licences,
            entered: e.lines.iter().map(|l| (l.line, l.monthly)).collect(),
            measured,
            diary,
            before: match u.before_per_unit {
                Some(b) => Some(Before::Entered(b)),
                None => derived.map(Before::Derived),
            },
        })
    });
    let (acceleration, automation) = super::valuations(
        &e.classes,
        &minutes,
        measured.map(|m| m.oversight.estimate),
        hourly,
    );
    Ok(Computed {
        stack,
        sources,
        before_source,
        acceleration,
        automation,
    })
}

/// The cost per unit section as an admin reads it now (live); None when nothing was entered. Non-admins
/// read it inside the report's release (`reports::release`).
pub async fn section(state: &AppState, study: StudyId) -> Result<Option<super::view::Section>> {
    // After a purge the measurements are gone: the figures are the ones frozen just before it.
    if let Some(p) = crate::retention::service::purged(state, study).await? {
        return Ok(p.snapshot.view.tco);
    }
    let e = entered(state, study).await?;
    if e.unit.is_none() && e.classes.is_empty() {
        return Ok(None);
    }
    let c = compute(state, study, &e).await?;
    Ok(super::view::section(&e, c))
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_is_plain_digits_never_negative_or_guessed() {
        assert_eq!(money(" 12500.50 ", "l-monthly", "x").unwrap(), 12500.5);
        assert_eq!(money("0", "l-monthly", "x").unwrap(), 0.0);
        let negative = money("-5", "l-monthly", "The data spend")
            .unwrap_err()
            .to_string();
        assert!(negative.contains("cannot be negative"), "{negative}");
        for bad in ["1,200", "$30", "abc", "", ".", "1.2.3", "NaN", "inf", "1e5"] {
            assert!(money(bad, "l-monthly", "x").is_err(), "{bad:?}");
        }
    }
}
