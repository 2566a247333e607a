//! Everything computed from a study's participants, once, for the analysis page, the report, the readout,
//! the summary export and `layer2 report`; with the confidentiality rule decided in one place.
use crate::error::{AppError, Result};
use crate::stats::bootstrap::{BootstrapOptions, BootstrapProfile, bootstrap};
use crate::stats::design_effect::{StudyDesignEffects, design_effects};
use crate::stats::disclosure::hidden_cells;
use crate::stats::input::Inputs;
use crate::stats::oversight::{OVERALL, oversight_by_category};
use crate::stats::profile::{Estimate, Profile, StudyProfile, profile};
use crate::stats::segments::segment_profile;
use std::collections::{BTreeMap, BTreeSet};

/// The profile and everything beside it.
#[derive(Clone)]
pub struct Computed {
    /// The Layer 2 profile (Err: the data cannot give one, with the reason).
    pub profile: std::result::Result<StudyProfile, String>,
    /// Bootstrap intervals, when asked for.
    pub boot: Option<BootstrapProfile>,
    /// Oversight minutes per hour by kind, per cohort and overall.
    pub categories: Option<BTreeMap<String, [Option<Estimate>; 4]>>,
    /// Design effects.
    pub deffs: Option<StudyDesignEffects>,
    /// Domain estimates by function.
    pub by_function: Option<BTreeMap<String, Profile>>,
    /// Domain estimates by tenure band.
    pub by_tenure: Option<BTreeMap<String, Profile>>,
}

/// Who reads the figures. Every published aggregate is exact, and the raw files give each row's exact
/// values: whoever holds both can search the rows for a subset whose figures add up to a published group
/// (the subset-sum attack of issue 11 found all nine HR participants of a study that way, though
/// `participants.csv` carried no function). So every figure published beyond the admins is one the raw
/// files could compute: breakdowns only by the columns those files carry for every row. This holds for
/// analysts without raw files too, since their figures can reach someone who holds the rows (a colleague,
/// or themselves before a role change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// An admin, who holds the key anyway: every group of at least k people.
    Aggregates,
    /// Everyone else, and any file that bundles the raw rows with the summary: only the breakdowns the
    /// raw files carry.
    RawFiles,
}

/// Which groups show no metric (fewer than k participants, or given away by subtraction).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hidden {
    /// Cohorts.
    pub cohorts: BTreeSet<String>,
    /// The overall figures (the whole sample under k).
    pub overall: bool,
    /// Functions.
    pub functions: BTreeSet<String>,
    /// Tenure bands.
    pub tenures: BTreeSet<String>,
}

impl Hidden {
    /// Whether a cohort's (or, for `OVERALL`, the total's) metrics are hidden.
    pub fn cohort(&self, name: &str) -> bool {
        if name == OVERALL || name == "Overall" {
            self.overall
        } else {
            self.cohorts.contains(name)
        }
    }
}

/// Computes the profile, the oversight split, design effects and segments (and the bootstrap when asked),
/// synchronously: call it off the async threads.
pub fn compute_sync(inputs: &Inputs, level: f64, with_bootstrap: bool) -> Computed {
    let d: Vec<_> = inputs.kept.iter().map(super::to_data).collect();
    let pops = &inputs.populations;
    let minutes: Vec<[f64; 4]> = inputs
        .kept
        .iter()
        .map(|t| t.oversight_by_category)
        .collect();
    let functions: Vec<String> = inputs.kept.iter().map(|t| t.function.clone()).collect();
    let tenures: Vec<String> = inputs.kept.iter().map(|t| t.tenure.clone()).collect();
    Computed {
        profile: profile(&d, pops, level),
        boot: with_bootstrap
            .then(|| {
                bootstrap(
                    &d,
                    pops,
                    &BootstrapOptions {
                        level,
                        ..BootstrapOptions::default()
                    },
                )
                .ok()
            })
            .flatten(),
        categories: oversight_by_category(&d, &minutes, pops, level).ok(),
        deffs: design_effects(&d, pops).ok(),
        by_function: segment_profile(&d, &functions, pops, level).ok(),
        by_tenure: segment_profile(&d, &tenures, pops, level).ok(),
    }
}

/// `compute_sync` on the blocking pool.
pub async fn compute(inputs: Inputs, level: f64, with_bootstrap: bool) -> Result<Computed> {
    tokio::task::spawn_blocking(move || compute_sync(&inputs, level, with_bootstrap))
        .await
        .map_err(|e| AppError::Internal(e.into()))
}

fn partition(groups: &BTreeMap<String, Profile>, total: usize, k: usize) -> BTreeSet<String> {
    // An empty group has nothing to give away; it is "not enough data" anyway.
    let cells: Vec<(&str, usize)> = groups
        .iter()
        .filter(|(_, p)| p.n > 0)
        .map(|(name, p)| (name.as_str(), p.n))
        .collect();
    let mut hidden = hidden_cells(&cells, total, k);
    hidden.extend(
        groups
            .iter()
            .filter(|(_, p)| p.n == 0)
            .map(|(n, _)| n.clone()),
    );
    hidden
}

impl Computed {
    /// Drops the breakdowns the raw files leave out (for [`Audience::RawFiles`]) and says which, in words
    /// ("function", "tenure", "cohort").
    pub fn withhold(
        &mut self,
        columns: &crate::export::pseudonymise::Published,
    ) -> Vec<&'static str> {
        let mut withheld = Vec::new();
        if !columns.cohort {
            if let Ok(p) = &mut self.profile {
                p.cohorts.clear();
            }
            if let Some(c) = &mut self.categories {
                c.retain(|k, _| k == OVERALL);
            }
            if let Some(d) = &mut self.deffs {
                d.cohorts.clear();
            }
            if let Some(b) = &mut self.boot {
                b.cohorts.clear();
            }
            withheld.push("cohort");
        }
        if !columns.function && self.by_function.take().is_some() {
            withheld.push("function");
        }
        if !columns.tenure && self.by_tenure.take().is_some() {
            withheld.push("tenure");
        }
        withheld
    }

    /// The confidentiality rule for minimum cell size `k`, applied to cohorts, functions and tenure bands.
    pub fn hidden(&self, k: usize) -> Hidden {
        let Ok(p) = &self.profile else {
            return Hidden {
                overall: true,
                ..Hidden::default()
            };
        };
        let total = p.overall.n;
        Hidden {
            cohorts: partition(&p.cohorts, total, k),
            overall: total < k,
            functions: self
                .by_function
                .as_ref()
                .map(|s| partition(s, total, k))
                .unwrap_or_default(),
            tenures: self
                .by_tenure
                .as_ref()
                .map(|s| partition(s, total, k))
                .unwrap_or_default(),
        }
    }
}
