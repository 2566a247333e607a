//! Compliance per cohort (SPEC: valid ÷ delivered pings): pooled, mean, median and range, and who the
//! threshold leaves out. Pure.
use super::input::Totals;
use std::collections::BTreeMap;

/// Compliance of one group of participants.
#[derive(Clone, Debug, PartialEq)]
pub struct ComplianceSummary {
    /// Participants with at least one delivered ping.
    pub n: usize,
    /// Σ valid ÷ Σ delivered.
    pub pooled: Option<f64>,
    /// Mean of the participants' rates.
    pub mean: Option<f64>,
    /// Median of the participants' rates.
    pub median: Option<f64>,
    /// Lowest and highest rate.
    pub range: Option<(f64, f64)>,
    /// Participants below the threshold (left out of every estimate).
    pub excluded: usize,
}

/// Summarises kept and excluded participants together, per cohort and overall (key "overall").
pub fn summarise(kept: &[Totals], excluded: &[Totals]) -> BTreeMap<String, ComplianceSummary> {
    let mut groups: BTreeMap<String, Vec<(&Totals, bool)>> = BTreeMap::new();
    for (t, out) in kept
        .iter()
        .map(|t| (t, false))
        .chain(excluded.iter().map(|t| (t, true)))
    {
        groups.entry(t.cohort.clone()).or_default().push((t, out));
        groups.entry("overall".into()).or_default().push((t, out));
    }
    groups.into_iter().map(|(k, v)| (k, summary(&v))).collect()
}

/// The groups of a compliance table to leave out under minimum cell size `k` (and "overall" when the
/// whole table is under k): a small group's mean, median and range would reveal one person's rate. The
/// cells are the people with a rate (`n`, which counts those left out too), with secondary suppression as
/// everywhere else.
pub fn hidden_groups(
    summaries: &[(String, ComplianceSummary)],
    k: usize,
) -> std::collections::BTreeSet<String> {
    let total = summaries
        .iter()
        .find(|(name, _)| name == "overall")
        .map_or(0, |(_, s)| s.n);
    let cells: Vec<(&str, usize)> = summaries
        .iter()
        .filter(|(name, _)| name != "overall")
        .map(|(name, s)| (name.as_str(), s.n))
        .collect();
    let mut hidden = super::disclosure::hidden_cells(&cells, total, k);
    if total < k {
        hidden.insert("overall".into());
    }
    hidden
}

fn summary(group: &[(&Totals, bool)]) -> ComplianceSummary {
    let mut rates: Vec<f64> = group.iter().filter_map(|(t, _)| t.compliance()).collect();
    rates.sort_by(f64::total_cmp);
    let delivered: f64 = group.iter().map(|(t, _)| t.delivered).sum();
    let valid: f64 = group.iter().map(|(t, _)| t.valid).sum();
    let n = rates.len();
    let median = match n {
        0 => None,
        _ if n % 2 == 1 => Some(rates[n / 2]),
        _ => Some((rates[n / 2 - 1] + rates[n / 2]) / 2.0),
    };
    ComplianceSummary {
        n,
        pooled: (delivered > 0.0).then(|| valid / delivered),
        mean: (n > 0).then(|| rates.iter().sum::<f64>() / n as f64),
        median,
        range: rates.first().zip(rates.last()).map(|(a, b)| (*a, *b)),
        excluded: group.iter().filter(|(_, out)| *out).count(),
    }
}

/// One participant's (or, summed, one group's) numbers on the collection dashboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// People invited (1 for one participant).
    pub invited: i64,
    /// Of them, consented.
    pub consented: i64,
    /// Declined.
    pub declined: i64,
    /// Withdrawn.
    pub withdrawn: i64,
    /// Diary entries (or control tasks).
    pub diary: i64,
    /// Pings delivered.
    pub delivered: i64,
    /// Pings answered.
    pub answered: i64,
    /// Pings missed after delivery.
    pub missed: i64,
}

impl Counts {
    fn add(mut self, o: &Counts) -> Counts {
        self.invited += o.invited;
        self.consented += o.consented;
        self.declined += o.declined;
        self.withdrawn += o.withdrawn;
        self.diary += o.diary;
        self.delivered += o.delivered;
        self.answered += o.answered;
        self.missed += o.missed;
        self
    }

    /// Answered ÷ delivered for ordering people, lowest first; nothing delivered yet sorts last.
    pub fn sort_rate(&self) -> f64 {
        if self.delivered > 0 {
            self.answered as f64 / self.delivered as f64
        } else {
            f64::INFINITY
        }
    }
}

/// Which total a participant counts in: the main sample (by cohort), the pilot group, or the control group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// The main sample with the copilot.
    Main,
    /// The pilot group, kept apart from the main sample here as in the estimates.
    Pilot,
    /// The control group of Instrument C: no pings, its own line, never mixed with the sample.
    Control,
}

/// A line of the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<C> {
    /// One cohort of the main sample.
    Cohort(C),
    /// The whole main sample.
    Main,
    /// The pilot group.
    Pilot,
    /// The control group.
    Control,
}

/// The dashboard's lines: each cohort of the main sample that has someone (in the order of `cohorts`), then
/// the main sample, the pilot group and the control group, each only when it has someone.
pub fn dashboard<C: Copy + PartialEq>(
    people: &[(C, Track, Counts)],
    cohorts: &[C],
) -> Vec<(Line<C>, Counts)> {
    let total = |keep: &dyn Fn(C, Track) -> bool| {
        people
            .iter()
            .filter(|(c, t, _)| keep(*c, *t))
            .fold(Counts::default(), |sum, (_, _, n)| sum.add(n))
    };
    let mut lines: Vec<(Line<C>, Counts)> = cohorts
        .iter()
        .map(|&c| (Line::Cohort(c), total(&|pc, t| t == Track::Main && pc == c)))
        .collect();
    lines.push((Line::Main, total(&|_, t| t == Track::Main)));
    lines.push((Line::Pilot, total(&|_, t| t == Track::Pilot)));
    lines.push((Line::Control, total(&|_, t| t == Track::Control)));
    lines.retain(|(_, n)| n.invited > 0);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(cohort: &str, delivered: f64, valid: f64) -> Totals {
        Totals {
            cohort: cohort.into(),
            delivered,
            valid,
            ..Totals::default()
        }
    }

    #[test]
    fn pooled_mean_median_range_and_exclusions() {
        let kept = [
            t("heavy", 10.0, 9.0),
            t("heavy", 10.0, 5.0),
            t("light", 4.0, 4.0),
        ];
        let out = [t("heavy", 10.0, 1.0)];
        let s = summarise(&kept, &out);
        let h = &s["heavy"];
        assert_eq!(h.n, 3);
        assert!((h.pooled.unwrap() - 15.0 / 30.0).abs() < 1e-12);
        assert!((h.mean.unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(h.median, Some(0.5));
        assert_eq!(h.range, Some((0.1, 0.9)));
        assert_eq!(h.excluded, 1);
        assert_eq!(s["overall"].n, 4);
        assert_eq!(s["overall"].median, Some((0.5 + 0.9) / 2.0));
    }

    #[test]
    fn a_small_group_is_hidden_by_its_people_not_by_people_plus_exclusions() {
        // Heavy: three people, two of them left out — three rates, not five.
        let kept: Vec<Totals> = std::iter::once(t("heavy", 10.0, 9.0))
            .chain(std::iter::repeat_n(t("light", 10.0, 8.0), 6))
            .chain(std::iter::repeat_n(t("moderate", 10.0, 7.0), 7))
            .collect();
        let out = [t("heavy", 10.0, 1.0), t("heavy", 10.0, 2.0)];
        let s: Vec<(String, ComplianceSummary)> = summarise(&kept, &out).into_iter().collect();
        let hidden = hidden_groups(&s, 5);
        // Heavy is under five; light (6) goes with it so heavy cannot be worked out from the total.
        assert_eq!(
            hidden.into_iter().collect::<Vec<_>>(),
            ["heavy".to_string(), "light".to_string()]
        );
        let few: Vec<(String, ComplianceSummary)> =
            summarise(&kept[..3], &[]).into_iter().collect();
        assert!(hidden_groups(&few, 5).contains("overall"));
    }

    #[test]
    fn nobody_delivered_gives_no_numbers_not_nan() {
        let s = summarise(&[t("x", 0.0, 0.0)], &[]);
        assert_eq!(
            s["x"],
            ComplianceSummary {
                n: 0,
                pooled: None,
                mean: None,
                median: None,
                range: None,
                excluded: 0
            }
        );
    }

    #[test]
    fn the_dashboard_sums_cohorts_and_keeps_pilot_and_control_apart() {
        let one = |delivered, answered, consented| Counts {
            invited: 1,
            consented,
            delivered,
            answered,
            ..Counts::default()
        };
        let people = [
            ('a', Track::Main, one(4, 3, 1)),
            ('a', Track::Main, one(2, 1, 1)),
            ('c', Track::Main, one(0, 0, 0)),
            ('a', Track::Pilot, one(5, 5, 1)),
            ('c', Track::Control, one(0, 0, 1)),
        ];
        let lines = dashboard(&people, &['a', 'b', 'c']);
        let names: Vec<Line<char>> = lines.iter().map(|(l, _)| *l).collect();
        // Cohort b has nobody: no line. The pilot and the control group are not in the main sample.
        assert_eq!(
            names,
            [
                Line::Cohort('a'),
                Line::Cohort('c'),
                Line::Main,
                Line::Pilot,
                Line::Control
            ]
        );
        assert_eq!(
            (
                lines[0].1.invited,
                lines[0].1.delivered,
                lines[0].1.answered
            ),
            (2, 6, 4)
        );
        assert_eq!((lines[2].1.invited, lines[2].1.consented), (3, 2));
        assert_eq!(lines[3].1.answered, 5);
        assert_eq!(one(0, 0, 0).sort_rate(), f64::INFINITY);
        assert_eq!(one(4, 1, 0).sort_rate(), 0.25);
        assert!(dashboard::<char>(&[], &['a']).is_empty());
    }
}
