//! Numbers as the reports write them (estimates with intervals, money, returns, thousands) and the
//! profile as a plain-text table (for `layer2 analyze`). Pure.
use crate::stats::profile::{Estimate, Metric, Profile, StudyProfile};
use std::fmt::Write;

/// An estimate with its interval, times `scale`, with `digits` decimals and a `unit` after the estimate
/// ("61.2% [55.0, 67.4]"); "not enough data" when there is none. The interval is the recommended one
/// (`Estimate::interval`, issue 15) where the estimate has it, else R's t interval.
pub fn interval(e: Option<&Estimate>, digits: usize, scale: f64, unit: &str) -> String {
    e.map_or("not enough data".into(), |e| {
        let (lo, hi) = e
            .interval
            .map_or((e.ci_lower, e.ci_upper), |i| (i.lower, i.upper));
        format!(
            "{:.d$}{unit} [{:.d$}, {:.d$}]",
            e.estimate * scale,
            lo * scale,
            hi * scale,
            d = digits
        )
    })
}

/// An estimate with its interval, as measured ("0.612 [0.550, 0.674]"), or "not enough data".
pub fn cell(e: Option<&Estimate>, digits: usize) -> String {
    interval(e, digits, 1.0, "")
}

/// A number [`thousands`] can write: a whole number, or a float rounded to one.
pub trait Whole {
    /// The rounded number's decimal digits, with a leading `-` when negative.
    fn whole_digits(self) -> String;
}

impl Whole for i64 {
    fn whole_digits(self) -> String {
        self.to_string()
    }
}

impl Whole for f64 {
    fn whole_digits(self) -> String {
        format!("{self:.0}")
    }
}

/// A number rounded to a whole, with commas between thousands ("1,234,567", "-1,234").
pub fn thousands(n: impl Whole) -> String {
    let digits = n.whole_digits();
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", digits.as_str()),
    };
    let mut grouped = String::from(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

/// A share as a percentage with one decimal ("12.5%"), or "–" when the whole is 0.
pub fn pct(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{:.1}%", 100.0 * part / whole)
    } else {
        "–".into()
    }
}

/// Money with its currency and no decimals ("USD 12,345").
pub fn money(currency: &str, x: f64) -> String {
    let sign = if x.round() < 0.0 { "−" } else { "" };
    format!("{sign}{currency} {}", thousands(x.abs()))
}

/// An amount without its currency, signed with a minus sign: whole ("1,235") or with cents ("3.41").
pub fn amount(x: f64, cents: bool) -> String {
    if !cents {
        let sign = if x.round() < 0.0 { "−" } else { "" };
        return format!("{sign}{}", thousands(x.abs()));
    }
    let c = (x * 100.0).round();
    let sign = if c < 0.0 { "−" } else { "" };
    let whole = (c.abs() / 100.0).trunc();
    format!(
        "{sign}{}.{:02}",
        thousands(whole),
        (c.abs() - whole * 100.0) as i64
    )
}

/// A return as a signed percentage with thousands separators ("+833%", "−20%").
pub fn percent(x: f64) -> String {
    let p = (x * 100.0).round();
    let sign = if p > 0.0 {
        "+"
    } else if p < 0.0 {
        "−"
    } else {
        ""
    };
    format!("{sign}{}%", thousands(p.abs()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_returns_read_as_people_write_them() {
        assert_eq!(money("USD", 1234567.4), "USD 1,234,567");
        assert_eq!(money("EUR", -12.0), "−EUR 12");
        assert_eq!(percent(250.0 / 30.0), "+833%");
        assert_eq!(percent(11.0), "+1,100%");
        assert_eq!(percent(-0.2), "−20%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(amount(3.414, true), "3.41");
        assert_eq!(amount(-0.5, true), "−0.50");
        assert_eq!(amount(1234.999, true), "1,235.00");
        assert_eq!(amount(-12.2, false), "−12");
    }

    #[test]
    fn whole_numbers_and_floats_share_their_thousands_separators() {
        assert_eq!(thousands(100000), "100,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(-1234), "-1,234");
        assert_eq!(thousands(i64::MIN), "-9,223,372,036,854,775,808");
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.5), "1,000");
        assert_eq!(thousands(-123456.0), "-123,456");
    }

    #[test]
    fn intervals_scale_and_say_when_there_is_no_estimate() {
        let e = Estimate {
            estimate: 0.6125,
            se: 0.01,
            df: 9.0,
            ci_lower: 0.55,
            ci_upper: 0.674,
            interval: None,
        };
        assert_eq!(cell(Some(&e), 3), "0.613 [0.550, 0.674]");
        assert_eq!(interval(Some(&e), 1, 100.0, "%"), "61.3% [55.0, 67.4]");
        assert_eq!(interval(None, 1, 100.0, "%"), "not enough data");
    }
}
