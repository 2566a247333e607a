//! Reports: a study's collected data read for analysis, the profile computed once, and every page and
//! text that shows it (analysis, report, readout, waves), with their charts and renewal economics.
pub mod analysis;
pub mod charts;
pub mod compute;
pub mod distribution;
pub mod economics;
pub mod order;
pub mod readout;
pub mod release;
pub mod repo;
pub mod service;
pub mod service_cache;
pub mod text;
pub mod view;
pub mod waves;

pub use service::{computed_for, set_economics, study_inputs, withheld_note};

use crate::stats::input::Totals;

/// The statistics module's view of a participant.
pub fn to_data(t: &Totals) -> crate::stats::profile::ParticipantData {
    crate::stats::profile::ParticipantData {
        id: t.id.clone(),
        cohort: t.cohort.clone(),
        n_tasks: t.n_tasks,
        used_tasks: t.used_tasks,
        used_pings: t.used_pings,
        oversight_min: t.oversight_min,
        gross_hours: t.gross_hours,
    }
}
