//! The sample page: the sample size calculator, the draw form and the drawn sample's composition.
use super::cohorts::count_shown;
use super::extract::PathStudy;
use super::studies::StudyNav;
use super::{PageCtx, outcome, pct, thousands};
use crate::auth::extract::{AdminForm, NoFields, Staff};
use crate::error::{AppError, Result};
use crate::roster::cohort::Cohort;
use crate::roster::population::at_least_k;
use crate::roster::sample::{CohortTotal, DrawSpec, shortfalls, suggest};
use crate::roster::service::{self, DrawOverview};
use crate::state::AppState;
use crate::stats::sample_size::{
    Composition, margin_of_error, proportional_margins, required_sample_size,
};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "roster/sample.html")]
struct SamplePage {
    ctx: PageCtx,
    nav: StudyNav,
    population: String,
    calc_margin: String,
    calc_confidence: String,
    calc_result: Option<String>,
    calc_for_n: Option<String>,
    calc_n: String,
    /// The calculator's refusal: the field (`margin`, `confidence`, `calc_n` or `""`) and the message.
    calc_error: Option<(&'static str, String)>,
    calc_cohorts: Vec<MarginRow>,
    default_n: u64,
    default_min: u64,
    default_pilot: u64,
    default_seed: u64,
    /// Where the form's numbers come from (the calculator, the roster's size, the last draw).
    defaults_note: String,
    editable: bool,
    drawn: Option<DrawView>,
    can_discard: bool,
    /// The smallest group a non-admin sees.
    k: usize,
}

struct MarginRow {
    label: String,
    population: String,
    n: String,
    margin: String,
}

struct DrawView {
    summary: String,
    /// Cohorts whose main sample misses the minimum, each with by how many.
    shortfalls: Vec<String>,
    cohorts: Vec<CompositionRow>,
    cells: Vec<CompositionRow>,
}

struct CompositionRow {
    label: String,
    sub: String,
    population: String,
    population_share: String,
    main: String,
    main_share: String,
    pilot: String,
    margin: String,
}

/// The calculator's query string.
#[derive(Deserialize, Default)]
pub struct CalcQuery {
    margin: Option<String>,
    confidence: Option<String>,
    /// A sample size whose margin of error to show.
    n: Option<String>,
}

/// A percentage typed into the calculator, as a fraction; `fits` checks it in percent and `range` says
/// the same in words. A refusal names the field (`what`) in the form's own unit.
fn pct_input(
    s: Option<&str>,
    default: f64,
    what: &str,
    (fits, range): (fn(f64) -> bool, &str),
) -> std::result::Result<f64, String> {
    let Some(v) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(default);
    };
    match v.trim_end_matches('%').trim().parse::<f64>() {
        Ok(x) if fits(x) => Ok(x / 100.0),
        Ok(_) => Err(format!("The {what} must be {range}, not {v}.")),
        Err(_) => Err(format!("The {what}: \"{v}\" is not a number of percent.")),
    }
}

fn margin_text(margin: Option<f64>) -> String {
    match margin {
        Some(m) => format!("±{:.1}%", m * 100.0),
        None => "–".into(),
    }
}

/// Proportional allocation of `n` over the cohorts, and the wider margin that follows for each. With
/// `small = Some(k)` (anyone but an admin) cohorts of fewer than k employees are merged first
/// ([`at_least_k`]), so no line shows a group under k.
fn per_cohort_margins(
    cohort_sizes: &[(Cohort, u64)],
    n: u64,
    big_n: u64,
    confidence: f64,
    small: Option<usize>,
) -> Vec<MarginRow> {
    let Some(k) = small else {
        return proportional_margins(cohort_sizes, n, big_n, confidence)
            .into_iter()
            .map(|m| MarginRow {
                label: m.stratum.label().to_string(),
                population: thousands(m.population as i64),
                n: thousands(m.n as i64),
                margin: margin_text(m.margin),
            })
            .collect();
    };
    let groups = at_least_k(
        cohort_sizes
            .iter()
            .map(|&(c, size)| (c, vec![size as usize]))
            .collect(),
        k,
    );
    let strata: Vec<(usize, u64)> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (i, g.counts[0] as u64))
        .collect();
    proportional_margins(&strata, n, big_n, confidence)
        .into_iter()
        .map(|m| MarginRow {
            label: cohorts_label(&groups[m.stratum].keys),
            population: count_shown(m.population as usize, k),
            n: thousands(m.n as i64),
            margin: margin_text(m.margin),
        })
        .collect()
}

fn cohorts_label(cohorts: &[Cohort]) -> String {
    cohorts
        .iter()
        .map(|c| c.label())
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The calculator's answers, as the page shows them.
struct Calculator {
    result: Option<String>,
    for_n: Option<String>,
    error: Option<(&'static str, String)>,
    cohorts: Vec<MarginRow>,
    default_n: u64,
}

/// The calculator's margin of error (5% when left empty), or the refusal naming its field.
fn margin_input(q: &CalcQuery) -> std::result::Result<f64, (&'static str, String)> {
    pct_input(
        q.margin.as_deref(),
        0.05,
        "margin of error",
        (|x| x > 0.0 && x <= 50.0, "above 0% and at most 50%"),
    )
    .map_err(|e| ("margin", e))
}

/// The calculator's confidence (95% when left empty), or the refusal naming its field.
fn confidence_input(q: &CalcQuery) -> std::result::Result<f64, (&'static str, String)> {
    pct_input(
        q.confidence.as_deref(),
        0.95,
        "confidence",
        (|x| x > 50.0 && x < 100.0, "above 50% and below 100%"),
    )
    .map_err(|e| ("confidence", e))
}

/// Cochran with the finite population correction (SPEC "Sampling"), both ways.
fn calculate(
    q: &CalcQuery,
    cohort_sizes: &[(Cohort, u64)],
    big_n: u64,
    small: Option<usize>,
) -> Calculator {
    let margin = margin_input(q);
    let confidence = confidence_input(q);
    let mut c = Calculator {
        result: None,
        for_n: None,
        error: None,
        cohorts: vec![],
        default_n: 0,
    };
    match (margin, confidence.clone()) {
        (Ok(m), Ok(conf)) if big_n > 0 => match required_sample_size(m, conf, big_n) {
            Ok(n) => {
                c.default_n = n;
                c.result = Some(format!(
                    "n = {} of {} employees gives ±{:.1}% at {:.0}% confidence (overall margin {}).",
                    thousands(n as i64),
                    thousands(big_n as i64),
                    m * 100.0,
                    conf * 100.0,
                    margin_text(margin_of_error(n, big_n, conf))
                ));
                c.cohorts = per_cohort_margins(cohort_sizes, n, big_n, conf, small);
            }
            Err(e) => c.error = Some(("", e)),
        },
        (Err(e), _) | (_, Err(e)) => c.error = Some(e),
        _ => c.error = Some(("", "Import a roster first.".into())),
    }

    // The other direction: the margin a given n buys.
    if let Some(v) = q.n.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        match (v.parse::<u64>(), confidence) {
            (Ok(n), Ok(conf)) if n >= 1 && n <= big_n => {
                c.cohorts = per_cohort_margins(cohort_sizes, n, big_n, conf, small);
                c.for_n = Some(format!(
                    "n = {} of {} employees gives {} at {:.0}% confidence.",
                    thousands(n as i64),
                    thousands(big_n as i64),
                    margin_text(margin_of_error(n, big_n, conf)),
                    conf * 100.0
                ))
            }
            _ => {
                c.error = Some((
                    "calc_n",
                    format!(
                        "The sample size must be a whole number from 1 to {}.",
                        thousands(big_n as i64)
                    ),
                ))
            }
        }
    }
    c
}

/// The drawn sample against the population. Anyone but an admin (`small = Some(k)`) sees the cohort lines
/// only, cohorts with fewer than k people in the population or the main sample merged ([`at_least_k`]),
/// and the pilot as its total (per cohort it is a handful of people); the cohort × function table is the
/// admin's.
fn draw_view(
    d: &DrawOverview,
    population: u64,
    confidence: f64,
    admin: bool,
    small: Option<usize>,
) -> DrawView {
    let total_pop = population as f64;
    let total_main = d.main as f64;
    let row = |label: String, sub: String, c: &Composition, with_margin: bool| CompositionRow {
        label,
        sub,
        population: thousands(c.population as i64),
        population_share: pct(c.population as f64, total_pop),
        main: thousands(c.main as i64),
        main_share: pct(c.main as f64, total_main),
        pilot: thousands(c.pilot as i64),
        margin: if with_margin {
            margin_text(c.margin(confidence))
        } else {
            String::new()
        },
    };
    let r = &d.draw;
    let totals: Vec<CohortTotal> = d
        .by_cohort
        .iter()
        .map(|(c, v)| CohortTotal {
            cohort: *c,
            population: v.population as usize,
            main: v.main as usize,
            pilot: v.pilot as usize,
        })
        .collect();
    DrawView {
        // Admins only: a shortfall names a cohort's exact size.
        shortfalls: if small.is_none() {
            shortfalls(&totals, r.min_per_cohort.max(0) as usize)
                .iter()
                .map(ToString::to_string)
                .collect()
        } else {
            vec![]
        },
        summary: format!(
            "Drawn {} by {} with seed {}: main sample {} (asked {}), pilot {} (asked {}), at least {} per cohort.",
            r.drawn_at.format("%Y-%m-%d %H:%M UTC"),
            super::roster::who(admin, r.who.as_deref()),
            r.seed as u64,
            thousands(d.main as i64),
            r.n,
            thousands(d.pilot as i64),
            r.pilot_n,
            r.min_per_cohort
        ),
        cohorts: match small {
            None => d
                .by_cohort
                .iter()
                .map(|(c, v)| row(c.label().to_string(), String::new(), v, true))
                .collect(),
            Some(k) => at_least_k(
                d.by_cohort
                    .iter()
                    .map(|(c, v)| (*c, vec![v.population as usize, v.main as usize]))
                    .collect(),
                k,
            )
            .into_iter()
            .map(|l| {
                let c = Composition {
                    population: l.counts[0] as u64,
                    main: l.counts[1] as u64,
                    pilot: 0,
                };
                CompositionRow {
                    pilot: String::new(),
                    population: count_shown(l.counts[0], k),
                    main: count_shown(l.counts[1], k),
                    ..row(cohorts_label(&l.keys), String::new(), &c, true)
                }
            })
            .collect(),
        },
        cells: match small {
            None => d
                .by_cell
                .iter()
                .map(|((c, f), v)| row(c.label().to_string(), f.clone(), v, false))
                .collect(),
            Some(_) => vec![],
        },
    }
}

/// The draw form's numbers.
struct DrawDefaults {
    n: u64,
    min: u64,
    pilot: u64,
    seed: u64,
    note: String,
}

/// After a draw: the numbers and seed it used (the page shows what made the sample). Before: the
/// calculator's n (the "margin for n" box if filled, else the n for the margin asked), fitted to the
/// roster by [`suggest`], and a fresh seed.
fn draw_defaults(q: &CalcQuery, calc: &Calculator, o: &service::SampleOverview) -> DrawDefaults {
    if let Some(d) = &o.drawn {
        let r = &d.draw;
        return DrawDefaults {
            n: r.n.max(0) as u64,
            min: r.min_per_cohort.max(0) as u64,
            pilot: r.pilot_n.max(0) as u64,
            seed: r.seed as u64,
            note: format!(
                "These are the numbers and the seed {} of the current sample; the same seed and roster give the same people.",
                r.seed as u64
            ),
        };
    }
    let asked =
        q.n.as_deref()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&n| n >= 1 && n <= o.population);
    let wanted = asked.unwrap_or(calc.default_n);
    let sizes: Vec<usize> = o.cohort_sizes.iter().map(|(_, n)| *n as usize).collect();
    let g = suggest(&sizes, wanted as usize);
    let mut note = format!(
        "Main sample from the calculator (n = {}). Fitted to {} employees: the pilot is a tenth of the roster (at \
         least one person per cohort, at most 50); the main sample at most four fifths of the people the pilot \
         leaves; at least 30 per cohort, or half the smallest cohort, or an equal share, whichever is smallest.",
        thousands(wanted as i64),
        thousands(o.population as i64)
    );
    if g.capped {
        note.push_str(&format!(
            " The calculator's n = {} does not fit beside a pilot; {} is the most this roster allows.",
            thousands(wanted as i64),
            thousands(g.n as i64)
        ));
    }
    DrawDefaults {
        n: g.n as u64,
        min: g.min_per_cohort as u64,
        pilot: g.pilot_n as u64,
        seed: rand::random::<u32>() as u64,
        note,
    }
}

/// Sample size calculator, draw form and the drawn sample's composition.
pub async fn sample_page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    Query(q): Query<CalcQuery>,
    jar: CookieJar,
) -> Result<Response> {
    let o = service::sample_overview(&state, &study).await?;
    let big_n = o.population;
    // Anyone but an admin sees no group under k: why, in `at_least_k` and `cohorts_page`.
    let small = (!staff.is_admin()).then_some(state.config.min_cell_size);
    let calc = calculate(&q, &o.cohort_sizes, big_n, small);
    let confidence = confidence_input(&q).unwrap_or(0.95);
    let drawn = o
        .drawn
        .as_ref()
        .map(|d| draw_view(d, big_n, confidence, staff.is_admin(), small));
    let editable = staff.is_admin() && o.editable;
    let form = draw_defaults(&q, &calc, &o);
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = SamplePage {
        ctx,
        nav: StudyNav::new(&study, "sample"),
        population: thousands(big_n as i64),
        calc_margin: q.margin.clone().unwrap_or_else(|| "5".into()),
        calc_confidence: q.confidence.clone().unwrap_or_else(|| "95".into()),
        calc_result: calc.result,
        calc_for_n: calc.for_n,
        calc_n: q.n.clone().unwrap_or_default(),
        calc_error: calc.error,
        calc_cohorts: calc.cohorts,
        default_n: form.n,
        default_min: form.min,
        default_pilot: form.pilot,
        default_seed: form.seed,
        defaults_note: form.note,
        can_discard: editable && drawn.is_some(),
        editable,
        drawn,
        k: state.config.min_cell_size,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// The draw form.
#[derive(Deserialize)]
pub struct DrawForm {
    #[serde(default)]
    n: String,
    #[serde(default)]
    min_per_cohort: String,
    #[serde(default)]
    pilot_n: String,
    #[serde(default)]
    seed: String,
}

impl SamplePage {
    /// Whether the calculator's refusal is about `field`.
    fn calc_err(&self, field: &str) -> bool {
        matches!(&self.calc_error, Some((f, _)) if *f == field)
    }
}

impl DrawForm {
    fn spec(&self) -> Result<DrawSpec> {
        let num = |s: &str, field: &'static str, what: &str| -> Result<u64> {
            s.trim().parse::<u64>().map_err(|_| {
                AppError::field(
                    field,
                    format!("The {what} must be a whole number, not \"{}\".", s.trim()),
                )
            })
        };
        Ok(DrawSpec {
            n: num(&self.n, "n", "sample size")? as usize,
            min_per_cohort: num(&self.min_per_cohort, "min_per_cohort", "minimum per cohort")?
                as usize,
            pilot_n: num(&self.pilot_n, "pilot_n", "pilot size")? as usize,
            seed: num(&self.seed, "seed", "seed")?,
        })
    }
}

/// Draws (or redraws, before invitations) the sample.
pub async fn draw(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form: f }: AdminForm<DrawForm>,
) -> Result<Response> {
    let back = format!("/studies/{}/sample", study.id.0);
    let r = match f.spec() {
        Ok(spec) => service::draw(&state, &staff.actor(), &study, spec)
            .await
            .map(|d| (spec, d)),
        Err(e) => Err(e),
    };
    match r {
        Ok((spec, d)) => {
            let mut text = format!(
                "Sample drawn. Seed {} was used: the same seed and roster always give the same people.",
                spec.seed
            );
            let short = shortfalls(&d.cohort_totals(), spec.min_per_cohort);
            if !short.is_empty() {
                let named: Vec<String> = short.iter().map(ToString::to_string).collect();
                text.push_str(&format!(
                    " The minimum per cohort cannot be met: {}.",
                    named.join("; ")
                ));
            }
            outcome(Ok(()), jar, &back, text)
        }
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

/// Discards the sample so the frame can change again.
pub async fn discard(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, .. }: AdminForm<NoFields>,
) -> Result<Response> {
    let r = service::discard_sample(&state, &staff.actor(), &study).await;
    outcome(
        r,
        jar,
        &format!("/studies/{}/sample", study.id.0),
        "Sample discarded.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(margin: &str, confidence: &str, n: &str) -> CalcQuery {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        CalcQuery {
            margin: some(margin),
            confidence: some(confidence),
            n: some(n),
        }
    }

    const SIZES: [(Cohort, u64); 3] = [
        (Cohort::Heavy, 2_500),
        (Cohort::Moderate, 12_500),
        (Cohort::Light, 10_000),
    ];

    #[test]
    fn the_calculator_answers_both_ways_and_splits_n_over_the_cohorts() {
        let c = calculate(&query("5", "95", ""), &SIZES, 25_000, None);
        assert_eq!(c.default_n, 379);
        assert!(
            c.result
                .unwrap()
                .starts_with("n = 379 of 25,000 employees gives ±5.0%")
        );
        let c = calculate(&query("", "", "300"), &SIZES, 25_000, None);
        assert_eq!(
            c.for_n.as_deref(),
            Some("n = 300 of 25,000 employees gives ±5.6% at 95% confidence.")
        );
        let heavy = &c.cohorts[0];
        assert_eq!((heavy.n.as_str(), heavy.margin.as_str()), ("30", "±17.8%"));
    }

    #[test]
    fn the_calculator_names_what_is_wrong() {
        let c = calculate(&query("abc", "", ""), &SIZES, 25_000, None);
        let (field, e) = c.error.unwrap();
        assert_eq!(field, "margin");
        assert!(e.contains("margin of error: \"abc\" is not a number of percent"));
        let c = calculate(&query("", "", "25001"), &SIZES, 25_000, None);
        let (field, e) = c.error.unwrap();
        assert_eq!(field, "calc_n");
        assert!(e.contains("from 1 to 25,000"));
        // Percent in the form's own unit, whichever field is out of range.
        let c = calculate(&query("5", "0.95", ""), &SIZES, 25_000, None);
        assert_eq!(
            c.error.unwrap(),
            (
                "confidence",
                "The confidence must be above 50% and below 100%, not 0.95.".into()
            )
        );
        let c = calculate(&query("80", "", ""), &SIZES, 25_000, None);
        assert_eq!(c.error.unwrap().0, "margin");
        let c = calculate(&query("", "", ""), &[], 0, None);
        assert_eq!(c.error.unwrap(), ("", "Import a roster first.".into()));
    }
}
