//! The profile as a plain-text table (for `layer2 analyze`). Pure.
use crate::stats::profile::{Estimate, Metric, Profile, StudyProfile};
use std::fmt::Write;

fn cell(e: Option<&Estimate>, digits: usize) -> String {
    match e {
        Some(e) => format!(
            "{:.d$} [{:.d$}, {:.d$}]",
            e.estimate,
            e.ci_lower,
            e.ci_upper,
            d = digits
        ),
        None => "not enough data".into(),
    }
}

fn line(out: &mut String, name: &str, p: &Profile) {
    let _ = writeln!(
        out,
        "{name:<12} {:>5}  {:<24} {:<24} {:<22} {:<22} {:<22}",
        p.n,
        cell(p.get(Metric::Yield), 3),
        cell(p.get(Metric::Oversight), 1),
        cell(p.get(Metric::Gross), 1),
        cell(p.get(Metric::Net), 1),
        cell(p.get(Metric::Multiplier), 3),
    );
}

/// One line per cohort and one overall, each metric with its interval at `level`.
pub fn table(
    profile: &StudyProfile,
    kept: usize,
    excluded: usize,
    level: f64,
    min_compliance: f64,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Layer 2 profile: {kept} participants, {excluded} left out for compliance below {:.0}%; {:.0}% intervals",
        min_compliance * 100.0,
        level * 100.0
    );
    let _ = writeln!(
        out,
        "{:<12} {:>5}  {:<24} {:<24} {:<22} {:<22} {:<22}",
        "cohort",
        "n",
        "yield",
        "oversight (min/h)",
        "gross (h/month)",
        "net (h/month)",
        "multiplier"
    );
    for (name, p) in &profile.cohorts {
        line(&mut out, name, p);
    }
    line(&mut out, "overall", &profile.overall);
    let reasons: Vec<String> = profile
        .cohorts
        .iter()
        .map(|(n, p)| (n.as_str(), p))
        .chain(std::iter::once(("overall", &profile.overall)))
        .flat_map(|(n, p)| {
            p.not_enough
                .iter()
                .map(move |(m, r)| format!("  {n} {m}: {r}"))
        })
        .collect();
    if !reasons.is_empty() {
        let _ = writeln!(out, "Not enough data:");
        for r in reasons {
            let _ = writeln!(out, "{r}");
        }
    }
    out
}
