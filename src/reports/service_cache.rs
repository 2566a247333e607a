//! The report, analysis and readout computations of a study, reused until the study's data changes.
//!
//! Every write to the rows they read bumps the study's data version (triggers, migration 0027). A view
//! reads the version first, then the data: a write landing in between makes the stored entry older than
//! its data, never newer, so the next view computes again. A stale figure would need a write that bumps
//! nothing, which the triggers rule out.
use super::compute::{Audience, Computed};
use crate::stats::input::Inputs;
use crate::study::StudyId;
use std::any::Any;
use std::sync::{Arc, Mutex};

/// Entries kept: a few studies' views at once. A profile entry at 25,000 participants holds their totals
/// (a few MB), so the cache stays small next to the 100 MB the server aims for.
const ENTRIES: usize = 8;

/// What one profile computation gave: the inputs, the figures, and the breakdowns withheld.
pub type Figures = (Inputs, Computed, Vec<&'static str>);

/// Which computation, and what it depends on besides the study's data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum What {
    /// The profile for a compliance rule, with or without the bootstrap, for a reader.
    Figures(f64, bool, Audience),
    /// Compliance by day, days counted in a zone `offset` minutes from UTC.
    DailyCompliance(i64),
}

struct Entry {
    study: StudyId,
    what: What,
    version: i64,
    value: Arc<dyn Any + Send + Sync>,
}

/// Recent computations, most recently used last.
#[derive(Default)]
pub struct ReportCache {
    entries: Mutex<Vec<Entry>>,
}

impl ReportCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What was computed from the study's data at `version`, if anything.
    pub fn get<T: Any + Send + Sync>(
        &self,
        study: StudyId,
        what: What,
        version: i64,
    ) -> Option<Arc<T>> {
        let mut entries = self.entries();
        let i = entries
            .iter()
            .position(|e| e.study == study && e.what == what && e.version == version)?;
        let e = entries.remove(i);
        let value = e.value.clone();
        entries.push(e);
        value.downcast::<T>().ok()
    }

    /// Keeps what was computed from data at `version` (read before the data); drops the study's entries
    /// of older versions and, past the limit, the least recently used.
    pub fn put<T: Any + Send + Sync>(
        &self,
        study: StudyId,
        what: What,
        version: i64,
        value: Arc<T>,
    ) {
        let mut entries = self.entries();
        entries.retain(|e| e.study != study || (e.version >= version && e.what != what));
        entries.push(Entry {
            study,
            what,
            version,
            value,
        });
        let over = entries.len().saturating_sub(ENTRIES);
        entries.drain(..over);
    }
}
