//! Collection progress as everyone but an admin may read it: counts per cohort (groups under k hidden, or
//! given away by subtraction) and the main sample's compliance in bands of at least k people, never a
//! person. A release freezes it (see `reports::release`); an admin's page adds every participant.
use super::Collection;
use crate::roster::cohort::Cohort;
use crate::stats::compliance::{Counts, Line, Track, dashboard as lines};
use serde::{Deserialize, Serialize};

/// The collection page's group lines and compliance bands.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    /// Per cohort, then the main sample, the pilot and the control group.
    pub cohorts: Vec<CohortLine>,
    /// Non-admins: the main sample's compliance in bands of at least k people.
    pub distribution: Vec<BandLine>,
}

fn pct(part: f64, whole: f64) -> String {
    crate::reports::text::pct(part, whole)
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BandLine {
    pub label: String,
    pub n: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CohortLine {
    pub label: String,
    pub invited: i64,
    pub consented: i64,
    pub declined: i64,
    pub withdrawn: i64,
    pub diary: i64,
    pub delivered: i64,
    pub answered: i64,
    pub missed: i64,
    pub compliance: String,
    /// Fewer than k consented (or given away by subtraction): the numbers are not shown.
    pub hidden: bool,
}

fn line(label: String, n: &Counts) -> CohortLine {
    CohortLine {
        label,
        invited: n.invited,
        consented: n.consented,
        declined: n.declined,
        withdrawn: n.withdrawn,
        diary: n.diary,
        delivered: n.delivered,
        answered: n.answered,
        missed: n.missed,
        compliance: pct(n.answered as f64, n.delivered as f64),
        hidden: false,
    }
}

/// Compliance bands: their lower limits before small bands are merged.
const COMPLIANCE_LIMITS: [f64; 4] = [0.0, 1.0 / 3.0, 0.5, 0.75];

/// The main sample's consented participants by compliance band, each band holding at least `k` people
/// (small bands merged into their neighbours), then those with nothing delivered yet (if at least `k`).
fn distribution(rates: &[Option<f64>], k: usize) -> Vec<BandLine> {
    use crate::reports::distribution::{band_counts, bands_of_at_least};
    let delivered: Vec<f64> = rates.iter().flatten().copied().collect();
    let limits = bands_of_at_least(&delivered, &COMPLIANCE_LIMITS, k);
    let counts = band_counts(&delivered, &limits);
    let mut out: Vec<BandLine> = Vec::new();
    if delivered.len() >= k {
        for (i, n) in counts.into_iter().enumerate() {
            let hi = limits.get(i + 1).copied().unwrap_or(1.0);
            let mut label = format!("{}–{}", pct(limits[i], 1.0), pct(hi, 1.0));
            if hi <= 1.0 / 3.0 + 1e-9 {
                label.push_str(" (left out of the estimates)");
            }
            out.push(BandLine { label, n: n as i64 });
        }
    }
    let waiting = rates.len() - delivered.len();
    if waiting >= k {
        out.push(BandLine {
            label: "nothing delivered yet".into(),
            n: waiting as i64,
        });
    }
    out
}

/// The progress lines of a study's collection; for `admin` every line is shown and no band is computed.
pub fn progress(data: &Collection, admin: bool, k: usize) -> Progress {
    let people: Vec<_> = data
        .people
        .iter()
        .map(|r| (r.cohort(), r.track(), r.counts()))
        .collect();
    let all_lines = lines(&people, &Cohort::ALL);
    // Outside the admin role a line for fewer than k consented people is hidden, and so is a second cohort
    // when one alone would be given away by the main sample's total.
    let hidden: std::collections::BTreeSet<String> = if admin {
        Default::default()
    } else {
        let cells: Vec<(&str, usize)> = all_lines
            .iter()
            .filter_map(|(l, n)| match l {
                Line::Cohort(c) => Some((c.label(), n.consented as usize)),
                _ => None,
            })
            .collect();
        let main = all_lines
            .iter()
            .find(|(l, _)| *l == Line::Main)
            .map_or(0, |(_, n)| n.consented as usize);
        crate::stats::disclosure::hidden_cells(&cells, main, k)
    };
    let cohorts = all_lines
        .into_iter()
        .map(|(l, n)| {
            let label = match l {
                Line::Cohort(c) => c.label(),
                Line::Main => "Main sample",
                Line::Pilot => "Pilot group",
                Line::Control => "Control group (no pings)",
            };
            let mut line = line(label.to_string(), &n);
            line.hidden = !admin && (hidden.contains(label) || (n.consented as usize) < k);
            line
        })
        .collect();
    let distribution = if admin {
        vec![]
    } else {
        let rates: Vec<Option<f64>> = data
            .people
            .iter()
            .filter(|r| r.track() == Track::Main && r.counts().consented == 1)
            .map(|r| (r.delivered > 0).then(|| r.answered as f64 / r.delivered as f64))
            .collect();
        distribution(&rates, k)
    };
    Progress {
        cohorts,
        distribution,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compliance_is_shown_in_bands_of_at_least_k_people() {
        // Six under a third, two between a third and a half, five above three quarters, one waiting.
        let ends: Vec<Option<f64>> = [0.1; 5].into_iter().chain([0.9; 5]).map(Some).collect();
        let bands = distribution(&ends, 5);
        assert_eq!(bands[0].label, "0.0%–33.3% (left out of the estimates)");
        assert_eq!(bands[1].label, "33.3%–100.0%");
        let rates: Vec<Option<f64>> = [0.1; 6]
            .into_iter()
            .chain([0.4; 2])
            .chain([0.9; 5])
            .map(Some)
            .chain([None])
            .collect();
        let bands = distribution(&rates, 5);
        let shown: Vec<(&str, i64)> = bands.iter().map(|b| (b.label.as_str(), b.n)).collect();
        // The empty band joins the one above; the two merge downwards; the one waiting is not shown apart.
        assert_eq!(shown, [("0.0%–50.0%", 8), ("50.0%–100.0%", 5)]);
        assert!(shown.iter().all(|(_, n)| *n >= 5), "{shown:?}");
        assert!(
            distribution(&rates[..4], 5).is_empty(),
            "four people: nothing"
        );
    }
}
