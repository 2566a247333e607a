//! The cohort report and the printable executive readout as their pages show them: headline, tables,
//! charts, segments, renewal economics and compliance, each number already written out. Both pages read
//! [`super::readout`], so the confidentiality rule and every number are the same on each.
use super::charts::{self, Point};
use super::compute::Audience;
use super::economics::Range;
use super::order::band_order;
use super::readout::{Group, Readout, load};
use super::text::{interval as ci, money, pct, percent};
use crate::error::Result;
use crate::roster::cohort::cohort_label;
use crate::state::AppState;
use crate::stats::profile::{Estimate, Metric, Profile};
use crate::study::StudyId;

/// A profile line of a table.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub name: String,
    pub n: usize,
    pub hidden: bool,
    pub cells: Vec<String>,
    /// "approximate: …" for a cohort under 30 participants (or the overall figures of such cohorts),
    /// with the coverage study's simulated coverage at that size (`stats::intervals::approximate`).
    #[serde(default)]
    pub approx: Option<String>,
}

/// A money line.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct MoneyLine {
    pub name: String,
    pub hidden: bool,
    pub missing: bool,
    pub seats: String,
    pub value: String,
    pub cost_per_hour: String,
    pub roi: String,
    pub total: String,
    pub vendor_value: String,
    pub vendor_roi: String,
    pub flag: Option<String>,
}

/// The headline figures.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Headline {
    pub net: String,
    pub gross: String,
    pub below: String,
    pub multiplier: String,
    pub yield_rate: String,
    pub oversight: String,
}

/// Everything the two templates show, as text.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct View {
    pub id: i64,
    pub k: usize,
    pub excluded: usize,
    /// Who is left out and why, in sentences (participants with no ping at all named apart).
    #[serde(default)]
    pub left_out: Vec<String>,
    pub pilot: i64,
    pub min_compliance: String,
    pub headline: Option<Headline>,
    pub lines: Vec<Line>,
    pub yield_chart: charts::Svg,
    pub oversight_chart: charts::Svg,
    pub oversight: Vec<Line>,
    pub vendor_chart: charts::Svg,
    pub daily_chart: charts::Svg,
    pub daily: Vec<(String, String)>,
    pub segments: Vec<(String, Vec<Line>)>,
    pub money: Option<(String, String, String, String)>,
    pub money_lines: Vec<MoneyLine>,
    pub right_size: Vec<String>,
    pub compliance: Vec<(String, usize, String, String, usize)>,
    pub assumptions: Option<(String, String, String, String)>,
    pub sample: String,
    /// The day the raw data was purged, when these figures are the frozen snapshot.
    #[serde(default)]
    pub purged_on: Option<String>,
    /// Why breakdowns are missing for this reader (see `Audience`); never in a frozen snapshot.
    #[serde(default)]
    pub withheld: Option<String>,
    /// "final results released on D", when a non-admin reads a release (see `reports::release`).
    #[serde(default)]
    pub released: Option<String>,
    /// The cost per unit of output (issue 13), when a unit of value or an outcome class was entered.
    #[serde(default)]
    pub tco: Option<crate::tco::view::Section>,
}

fn line(name: &str, p: &Profile, hidden: bool) -> Line {
    Line {
        name: cohort_label(name),
        n: p.n,
        hidden,
        approx: None,
        cells: if hidden {
            vec![]
        } else {
            vec![
                ci(p.get(Metric::Yield), 1, 100.0, "%"),
                ci(p.get(Metric::Oversight), 1, 1.0, ""),
                ci(p.get(Metric::Gross), 1, 1.0, ""),
                ci(p.get(Metric::Net), 1, 1.0, ""),
                ci(p.get(Metric::Multiplier), 2, 1.0, ""),
                ci(p.get(Metric::VendorGap), 0, 100.0, "%"),
            ]
        },
    }
}

/// The "approximate" note of a shown cohort under 30 participants, or of the overall figures when a
/// cohort is.
fn approx_note(groups: &[Group], g: &Group) -> Option<String> {
    use crate::stats::intervals::{approximate, approximate_overall};
    if g.hidden {
        return None;
    }
    if g.name == "Overall" {
        approximate_overall(groups.iter().filter(|c| c.name != "Overall").map(|c| c.n))
    } else {
        approximate(g.n)
    }
}

fn point(e: &Estimate) -> Point {
    // The recommended interval (issue 15) where there is one.
    let (low, high) = e
        .interval
        .map_or((e.ci_lower, e.ci_upper), |i| (i.lower, i.upper));
    Point {
        estimate: e.estimate,
        low,
        high,
    }
}

/// "USD 452 [268, 635]": the currency once; cents when the estimate is under 100 ("USD 3.41 [2.12, 5.87]").
fn range(c: &str, r: &Range) -> String {
    let cents = r.estimate.abs() < 99.995;
    let bare = |v: f64| crate::reports::text::amount(v, cents);
    let end = |x: Option<f64>| x.map_or("unbounded".into(), bare);
    format!("{c} {} [{}, {}]", bare(r.estimate), end(r.low), end(r.high))
}

/// Return per seat, (value − price) ÷ price, as a percentage.
fn times(r: &Range) -> String {
    let end = |x: Option<f64>| x.map_or("–".into(), percent);
    format!("{} [{}, {}]", percent(r.estimate), end(r.low), end(r.high))
}

fn money_line(g: &Group, currency: &str, seat_price: f64) -> MoneyLine {
    let base = MoneyLine {
        name: cohort_label(&g.name),
        hidden: g.hidden,
        missing: g.economics.is_none(),
        seats: "–".into(),
        value: String::new(),
        cost_per_hour: String::new(),
        roi: String::new(),
        total: String::new(),
        vendor_value: String::new(),
        vendor_roi: String::new(),
        flag: None,
    };
    let Some(e) = &g.economics else {
        return base;
    };
    MoneyLine {
        seats: crate::reports::text::thousands(e.seats),
        value: range(currency, &e.value_per_user),
        cost_per_hour: e.cost_per_net_hour.as_ref().map_or(
            "no net saving to price".into(),
            |r| range(currency, r),
        ),
        roi: times(&e.return_per_seat),
        total: range(currency, &e.total_per_month),
        vendor_value: e
            .vendor_value_per_user
            .map_or("–".into(), |v| money(currency, v)),
        vendor_roi: e
            .vendor_return_per_seat
            .map_or("–".into(), |v| format!("return {}", percent(v))),
        flag: e.below_price.then(|| {
            format!(
                "the net time is worth {} a user a month, below the seat price of {}{}. {:.0} seats, {} a month.",
                money(currency, e.value_per_user.estimate),
                money(currency, seat_price),
                if e.clearly_below_price {
                    " (the whole interval is below it)"
                } else {
                    " (the interval reaches above it: confirm before cutting)"
                },
                e.seats,
                money(currency, e.spend_per_month)
            )
        }),
        ..base
    }
}

/// The report of a study under the study's compliance rule, every number written as the pages show it.
#[tracing::instrument(skip_all, fields(study = id.0))]
pub async fn view(state: &AppState, id: StudyId, audience: Audience) -> Result<View> {
    // After a purge the figures are the snapshot frozen just before it.
    if let Some(p) = crate::retention::service::purged(state, id).await? {
        // Files downloaded before the purge may still exist: non-admins keep seeing what they saw.
        let mut v = match audience {
            Audience::Aggregates => p.snapshot.view,
            Audience::RawFiles => p.snapshot.raw_view.unwrap_or_else(|| {
                let mut v = p.snapshot.view;
                v.segments.clear();
                v
            }),
        };
        v.purged_on = Some(p.on.to_string());
        return Ok(v);
    }
    let r: Readout = load(state, id, crate::stats::MIN_COMPLIANCE, audience).await?;
    let shown: Vec<&Group> = r
        .groups
        .iter()
        .filter(|g| !g.hidden && g.name != "Overall")
        .collect();
    let overall = r.groups.iter().find(|g| g.name == "Overall");
    let headline = overall.filter(|g| !g.hidden).and_then(|g| {
        let p = &g.profile;
        let (net, gross) = (p.get(Metric::Net)?, p.get(Metric::Gross)?);
        Some(Headline {
            net: ci(Some(net), 1, 1.0, " h"),
            gross: format!("{:.1} h", gross.estimate),
            below: ci(p.get(Metric::VendorGap), 0, 100.0, "%"),
            multiplier: ci(p.get(Metric::Multiplier), 2, 1.0, ""),
            yield_rate: ci(p.get(Metric::Yield), 1, 100.0, "%"),
            oversight: ci(p.get(Metric::Oversight), 1, 1.0, " min/h"),
        })
    });
    let names = |pred: &dyn Fn(&Profile) -> bool| -> Vec<String> {
        shown
            .iter()
            .filter(|g| pred(&g.profile))
            .map(|g| cohort_label(&g.name))
            .collect()
    };
    let with_yield = |p: &Profile| p.get(Metric::Yield).is_some();
    let yield_chart = charts::bars_with_intervals(
        "Yield per cohort (95% CI)",
        "Cohort",
        "Tasks used without major rework (%)",
        &names(&with_yield),
        &shown
            .iter()
            .filter_map(|g| g.profile.get(Metric::Yield).map(point))
            .collect::<Vec<_>>(),
        true,
    );
    // Oversight by kind (cohorts only, as shown).
    let cats = r.computed.categories.as_ref();
    let mut oversight = vec![];
    let mut parts = vec![];
    let mut part_names = vec![];
    for g in &shown {
        if let Some(row) = cats.and_then(|c| c.get(&g.name)) {
            oversight.push(Line {
                name: cohort_label(&g.name),
                n: g.n,
                hidden: false,
                cells: row.iter().map(|e| ci(e.as_ref(), 1, 1.0, "")).collect(),
                approx: None,
            });
            if row.iter().all(Option::is_some) {
                parts.push((*row).map(|e| e.map_or(0.0, |e| e.estimate)));
                part_names.push(cohort_label(&g.name));
            }
        }
    }
    let oversight_chart = charts::stacked_bars(
        "Oversight minutes per hour of AI output, by kind",
        "Cohort",
        "Minutes per hour",
        &part_names,
        &parts,
        [
            "Verification",
            "Correction",
            "Context reconstruction",
            "Trust calibration",
        ],
    );
    let both = |p: &Profile| p.get(Metric::Gross).is_some() && p.get(Metric::Net).is_some();
    let vendor_names = names(&both);
    let vendor_rows: Vec<&&Group> = shown.iter().filter(|g| both(&g.profile)).collect();
    let vendor_chart = charts::gross_beside_net(
        "The vendor's hours beside the hours really saved",
        &vendor_names,
        &vendor_rows
            .iter()
            .filter_map(|g| g.profile.get(Metric::Gross).map(|e| e.estimate))
            .collect::<Vec<_>>(),
        &vendor_rows
            .iter()
            .filter_map(|g| g.profile.get(Metric::Net).map(point))
            .collect::<Vec<_>>(),
    );
    let days: Vec<String> = r.daily.iter().map(|(d, _)| d.clone()).collect();
    let values: Vec<Option<f64>> = r.daily.iter().map(|(_, v)| *v).collect();
    let daily_chart = if values.iter().any(Option::is_some) {
        charts::daily_share(
            "Compliance by day: pings answered in time",
            "Answered in their window (%)",
            &days,
            &values,
        )
    } else {
        charts::Svg::default()
    };
    let daily = r
        .daily
        .iter()
        .map(|(d, v)| {
            (
                d.clone(),
                v.map_or(format!("fewer than {} people pinged", r.k), |v| pct(v, 1.0)),
            )
        })
        .collect();
    let mut segments = vec![];
    for (title, seg, hidden) in [
        ("By function", &r.computed.by_function, &r.hidden.functions),
        ("By tenure", &r.computed.by_tenure, &r.hidden.tenures),
    ] {
        if let Some(seg) = seg {
            let mut list: Vec<(&String, &Profile)> = seg.iter().collect();
            if title == "By tenure" {
                let order = crate::roster::service::bands(&r.study).labels();
                list.sort_by_key(|(n, _)| band_order(&order, n));
            }
            segments.push((
                title.to_string(),
                list.into_iter()
                    .map(|(n, p)| line(n, p, hidden.contains(n)))
                    .collect(),
            ));
        }
    }
    let (money_view, money_lines, right_size, assumptions) = match &r.money {
        None => (None, vec![], vec![], None),
        Some(m) => {
            let c = m.currency.as_str();
            let a = &m.assumptions;
            let lines: Vec<MoneyLine> = r
                .groups
                .iter()
                .map(|g| money_line(g, c, a.seat_price))
                .collect();
            let flags = lines
                .iter()
                .filter(|l| l.name != "Overall")
                .filter_map(|l| l.flag.as_ref().map(|f| format!("{}: {f}", l.name)))
                .collect();
            (
                Some((
                    money(c, a.seat_price),
                    format!("{:.0}", a.seats),
                    money(c, a.hourly_cost),
                    m.currency.clone(),
                )),
                lines,
                flags,
                Some((
                    format!("{}", a.seat_price),
                    format!("{:.0}", a.seats),
                    format!("{}", a.hourly_cost),
                    m.currency.clone(),
                )),
            )
        }
    };
    let compliance = r
        .compliance
        .iter()
        .map(|(name, s)| {
            (
                if name == "overall" {
                    "Overall".to_string()
                } else {
                    name.clone()
                },
                s.n,
                s.pooled.map_or("–".into(), |v| pct(v, 1.0)),
                s.median.map_or("–".into(), |v| pct(v, 1.0)),
                s.excluded,
            )
        })
        .collect();
    let population: f64 = overall.map_or(0.0, |g| g.population);
    Ok(View {
        id: r.study.id.0,
        k: r.k,
        excluded: r.excluded,
        left_out: r.left_out.sentences(),
        pilot: r.pilot,
        min_compliance: format!("{:.0}%", r.min_compliance * 100.0),
        headline,
        lines: r
            .groups
            .iter()
            .map(|g| {
                let mut l = line(&g.name, &g.profile, g.hidden);
                l.approx = approx_note(&r.groups, g);
                l
            })
            .collect(),
        yield_chart,
        oversight_chart,
        oversight,
        vendor_chart,
        daily_chart,
        daily,
        segments,
        money: money_view,
        money_lines,
        right_size,
        compliance,
        assumptions,
        purged_on: None,
        withheld: super::withheld_note(&r.withheld),
        released: None,
        tco: crate::tco::service::section(state, id).await?,
        sample: format!(
            "{} participants in the estimates out of a roster of {:.0}; {} left out for answering fewer than {:.0}% of their pings in time; {} pilot participants kept apart.{}",
            r.kept,
            population,
            r.excluded,
            r.min_compliance * 100.0,
            r.pilot,
            match crate::participants::service::erased_count(state, id).await? {
                0 => String::new(),
                n => format!(" {n} erased participant(s) are in no figure."),
            }
        ),
    })
}
