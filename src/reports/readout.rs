//! What the report page, the executive readout and `layer2 report` show: the profile with the
//! confidentiality rule applied, the renewal economics per cohort and overall, compliance and the sample.
use super::compute::{Audience, Computed, Hidden};
use super::economics::{Assumptions, Economics, economics};
use super::order::cohort_order;
use super::text::{cell, money, percent};
use crate::error::Result;
use crate::state::AppState;
use crate::stats::compliance::{ComplianceSummary, summarise};
use crate::stats::oversight::OVERALL;
use crate::stats::profile::{Metric, Profile};
use crate::study::StudyId;
use crate::study::repo::StudyRow;
use std::fmt::Write;

/// One cohort (or the whole sample) as the readout shows it.
pub struct Group {
    /// heavy / moderate / light / Overall.
    pub name: String,
    /// Participants in the estimates.
    pub n: usize,
    /// Roster size.
    pub population: f64,
    /// Share of the roster.
    pub share: f64,
    /// Hidden by the confidentiality rule: no metric, no money.
    pub hidden: bool,
    /// The profile (only read when not hidden).
    pub profile: Profile,
    /// The economics, when the assumptions are entered and the net hours could be estimated.
    pub economics: Option<Economics>,
}

/// The renewal assumptions with their currency.
#[derive(Clone, Debug, PartialEq)]
pub struct Money {
    /// The numbers.
    pub assumptions: Assumptions,
    /// ISO code, e.g. USD.
    pub currency: String,
}

/// Everything a readout needs.
pub struct Readout {
    /// The study.
    pub study: StudyRow,
    /// The compliance rule applied.
    pub min_compliance: f64,
    /// Minimum cell size.
    pub k: usize,
    /// Participants in the estimates and left out for compliance.
    pub kept: usize,
    /// Left out.
    pub excluded: usize,
    /// Who is not in the estimates, by reason (participants with no ping at all among them).
    pub left_out: crate::stats::input::LeftOut,
    /// Cohorts in report order, then Overall.
    pub groups: Vec<Group>,
    /// Everything computed (segments, oversight split).
    pub computed: Computed,
    /// The confidentiality decisions.
    pub hidden: Hidden,
    /// Renewal assumptions, if entered.
    pub money: Option<Money>,
    /// Compliance per cohort and overall (hidden groups left out).
    pub compliance: Vec<(String, ComplianceSummary)>,
    /// Compliance per day of collection: (day, share answered in time), `None` for a day with fewer than k
    /// participants pinged.
    pub daily: Vec<(String, Option<f64>)>,
    /// Pilot participants (kept apart from every estimate).
    pub pilot: i64,
    /// The day the raw data was purged, when the groups are the frozen snapshot.
    pub purged_on: Option<chrono::NaiveDate>,
    /// The breakdowns withheld from this reader (see [`Audience`]).
    pub withheld: Vec<&'static str>,
    /// "final results released on D", when these are a release's frozen groups.
    pub released: Option<String>,
}

/// A purged study's readout: the groups frozen at the purge (hidden ones with no figure), nothing else.
fn frozen(study: StudyRow, k: usize, p: crate::retention::Purged) -> Readout {
    let mut r = from_groups(study, k, p.snapshot.kept, p.snapshot.groups);
    r.purged_on = Some(p.on);
    r
}

/// The groups as a purge or a release keeps them: a hidden group keeps its name and size, no figure.
pub fn freeze(groups: Vec<Group>) -> Vec<crate::retention::FrozenGroup> {
    groups
        .into_iter()
        .map(|g| crate::retention::FrozenGroup {
            name: g.name,
            n: g.n,
            hidden: g.hidden,
            profile: if g.hidden { blank(g.n) } else { g.profile },
        })
        .collect()
}

/// A profile with no figure: what a hidden group keeps.
fn blank(n: usize) -> crate::stats::profile::Profile {
    crate::stats::profile::Profile {
        n,
        yield_rate: None,
        oversight_min_per_hour: None,
        gross_hours_month: None,
        net_hours_month: None,
        labor_multiplier: None,
        vendor_gap: None,
        not_enough: Default::default(),
        notes: Default::default(),
    }
}

/// A readout of frozen groups (a purge's or a release's): the groups, nothing recomputed.
pub fn from_groups(
    study: StudyRow,
    k: usize,
    kept: usize,
    groups: Vec<crate::retention::FrozenGroup>,
) -> Readout {
    let groups = groups
        .into_iter()
        .map(|g| Group {
            name: g.name,
            n: g.n,
            population: 0.0,
            share: 0.0,
            hidden: g.hidden,
            profile: g.profile,
            economics: None,
        })
        .collect();
    Readout {
        study,
        min_compliance: crate::stats::MIN_COMPLIANCE,
        k,
        kept,
        excluded: 0,
        left_out: Default::default(),
        groups,
        computed: Computed {
            profile: Err("frozen figures: nothing is recomputed".into()),
            boot: None,
            categories: None,
            deffs: None,
            by_function: None,
            by_tenure: None,
        },
        hidden: Hidden::default(),
        money: None,
        compliance: vec![],
        daily: vec![],
        pilot: 0,
        purged_on: None,
        withheld: vec![],
        released: None,
    }
}

/// Loads and computes a study's readout at the default 95% level.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn load(
    state: &AppState,
    study: StudyId,
    min_compliance: f64,
    audience: Audience,
) -> Result<Readout> {
    let s = crate::study::service::get(state, study).await?;
    let k = state.config.min_cell_size;
    if let Some(p) = crate::retention::service::purged(state, study).await? {
        return Ok(frozen(s, k, p));
    }
    let (inputs, computed, withheld) =
        super::computed_for(state, study, min_compliance, false, audience).await?;
    let (kept, excluded) = (inputs.kept.len(), inputs.excluded.len());
    let left_out = crate::stats::input::LeftOut::of(&inputs);
    let mut summaries: Vec<(String, ComplianceSummary)> = summarise(&inputs.kept, &inputs.excluded)
        .into_iter()
        .collect();
    let populations = inputs.populations.clone();
    let total_pop: f64 = populations.values().sum();
    drop(inputs);
    let hidden = computed.hidden(k);
    let money = super::repo::economics(&state.pool, study)
        .await?
        .map(|e| Money {
            assumptions: Assumptions {
                seat_price: e.seat_price,
                seats: e.seats as f64,
                hourly_cost: e.hourly_cost,
            },
            currency: e.currency,
        });
    let mut groups = Vec::new();
    if let Ok(p) = &computed.profile {
        let mut names: Vec<&String> = p.cohorts.keys().collect();
        names.sort_by_key(|n| cohort_order(n));
        let entries = names
            .into_iter()
            .map(|n| (n.clone(), &p.cohorts[n]))
            .chain(std::iter::once(("Overall".to_string(), &p.overall)));
        for (name, prof) in entries {
            let is_overall = name == "Overall";
            let population = if is_overall {
                total_pop
            } else {
                populations.get(&name).copied().unwrap_or(0.0)
            };
            let share = if total_pop > 0.0 {
                population / total_pop
            } else {
                0.0
            };
            let hide = hidden.cohort(if is_overall { OVERALL } else { &name });
            let economics = match (&money, prof.get(Metric::Net), hide) {
                (Some(m), Some(net), false) => Some(economics(
                    &m.assumptions,
                    net,
                    prof.get(Metric::Gross),
                    share,
                )),
                _ => None,
            };
            groups.push(Group {
                name,
                n: prof.n,
                population,
                share,
                hidden: hide,
                profile: prof.clone(),
                economics,
            });
        }
    }
    // Compliance: the same rule as the profile (a cohort hidden there is hidden here).
    let hidden_rates = crate::stats::compliance::hidden_groups(&summaries, k);
    summaries.retain(|(name, _)| !hidden_rates.contains(name) && !hidden.cohorts.contains(name));
    summaries.sort_by_key(|(name, _)| cohort_order(name));
    let offset = {
        use chrono::Offset;
        let tz = s.tz();
        let noon = s
            .start_date
            .and_hms_opt(12, 0, 0)
            .expect("valid time")
            .and_utc();
        i64::from(noon.with_timezone(&tz).offset().fix().local_minus_utc()) / 60
    };
    let daily = super::service::compliance_by_day(state, study, offset)
        .await?
        .into_iter()
        .map(|(day, people, delivered, answered)| {
            let share =
                (people as usize >= k && delivered > 0).then(|| answered as f64 / delivered as f64);
            (day, share)
        })
        .collect();
    let pilot = super::repo::consented_pilots(&state.pool, study).await?;
    Ok(Readout {
        study: s,
        min_compliance,
        k,
        kept,
        excluded,
        left_out,
        groups,
        computed,
        hidden,
        money,
        compliance: summaries,
        daily,
        pilot,
        purged_on: None,
        withheld,
        released: None,
    })
}

/// The readout as plain text (`layer2 report`).
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn text(state: &AppState, study: StudyId, min_compliance: f64) -> Result<String> {
    let r = load(state, study, min_compliance, Audience::Aggregates).await?;
    let mut out = String::new();
    let s = &r.study;
    let _ = writeln!(
        out,
        "{} — {}, status {}",
        s.name,
        s.tool(),
        s.status().label()
    );
    let _ = writeln!(
        out,
        "{} participants in the estimates; {} left out for answering under {:.0}% of their pings in time; pilot ({}) kept apart. Groups under {} participants are not shown.\n",
        r.kept,
        r.excluded,
        r.min_compliance * 100.0,
        r.pilot,
        r.k
    );
    let show = |p: &Profile, m: Metric, d: usize| cell(p.get(m), d);
    let _ = writeln!(
        out,
        "{:<10} {:>5}  {:<22} {:<20} {:<18} {:<18} {:<22}",
        "cohort", "n", "yield", "oversight min/h", "gross h/month", "net h/month", "multiplier"
    );
    for g in &r.groups {
        if g.hidden {
            let _ = writeln!(
                out,
                "{:<10} {:>5}  (fewer than {} participants, or recoverable from the others: not shown)",
                g.name, g.n, r.k
            );
            continue;
        }
        let p = &g.profile;
        let _ = writeln!(
            out,
            "{:<10} {:>5}  {:<22} {:<20} {:<18} {:<18} {:<22}",
            g.name,
            g.n,
            show(p, Metric::Yield, 3),
            show(p, Metric::Oversight, 1),
            show(p, Metric::Gross, 1),
            show(p, Metric::Net, 1),
            show(p, Metric::Multiplier, 3)
        );
    }
    match &r.money {
        None => {
            let _ = writeln!(
                out,
                "\nRenewal economics: no seat price, seats or labor cost entered yet (the study's Report page)."
            );
        }
        Some(m) => {
            let a = &m.assumptions;
            let c = m.currency.as_str();
            let _ = writeln!(
                out,
                "\nRenewal economics (assumptions: seat {} per user per month, {} seats, labor {} per hour):",
                money(c, a.seat_price),
                a.seats,
                money(c, a.hourly_cost)
            );
            for g in r.groups.iter().filter(|g| !g.hidden) {
                let Some(e) = &g.economics else {
                    let _ = writeln!(out, "  {:<10} not enough data", g.name);
                    continue;
                };
                let v = &e.value_per_user;
                let _ = writeln!(
                    out,
                    "  {:<10} value {} per user per month [{}, {}]; return per seat {} [{}, {}]; {:.0} seats, net {} a month{}",
                    g.name,
                    money(c, v.estimate),
                    money(c, v.low.unwrap_or(f64::NAN)),
                    money(c, v.high.unwrap_or(f64::NAN)),
                    percent(e.return_per_seat.estimate),
                    percent(e.return_per_seat.low.unwrap_or(f64::NAN)),
                    percent(e.return_per_seat.high.unwrap_or(f64::NAN)),
                    e.seats,
                    money(c, e.total_per_month.estimate),
                    if e.below_price {
                        format!(
                            " — RIGHT-SIZE: worth less than the seat ({} a month in seats)",
                            money(c, e.spend_per_month)
                        )
                    } else {
                        String::new()
                    }
                );
            }
        }
    }
    Ok(out)
}
