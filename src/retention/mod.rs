//! Retention: after a study's retention date (or when an admin purges early), every person-level row of
//! the study is deleted physically and a frozen snapshot of its aggregate results is kept in their place.
pub mod repo;
pub mod service;

use crate::reports::view::View;
use serde::{Deserialize, Serialize};

/// What survives a purge: the figures the report, readout and summary export showed, small cells hidden.
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    /// The report and readout, every number already written out.
    pub view: View,
    /// The report as non-admins saw it (breakdowns the raw rows lacked withheld); `None` in snapshots
    /// frozen before it was kept.
    #[serde(default)]
    pub raw_view: Option<View>,
    /// `summary.csv` as the export wrote it.
    pub summary_csv: String,
    /// `summary.csv` as non-admins got it (see `raw_view`).
    #[serde(default)]
    pub raw_summary_csv: Option<String>,
    /// Participants in the estimates.
    #[serde(default)]
    pub kept: usize,
    /// The cohorts and Overall as the waves page compares them.
    #[serde(default)]
    pub groups: Vec<FrozenGroup>,
}

/// A group's figures at the purge; a group hidden by the small-cell rule keeps its name and no figure.
#[derive(Serialize, Deserialize)]
pub struct FrozenGroup {
    /// heavy / moderate / light / Overall.
    pub name: String,
    /// Participants in the estimates.
    pub n: usize,
    /// Hidden by the confidentiality rule.
    pub hidden: bool,
    /// The estimates (all empty when hidden).
    pub profile: crate::stats::profile::Profile,
}

/// A purged study: when, and what was kept.
pub struct Purged {
    /// The day of the purge in the study's time zone.
    pub on: chrono::NaiveDate,
    /// The frozen results.
    pub snapshot: Snapshot,
}

/// How many rows of each kind a purge deleted (written to the audit log; counts only).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub participants: i64,
    pub diary_entries: i64,
    pub control_tasks: i64,
    pub pings: i64,
    pub consent_events: i64,
    pub links: i64,
    pub mail: i64,
    pub employees: i64,
    pub sample_members: i64,
    pub usage_rows: i64,
    /// `.eml` files the file transport had written for the study's mail, deleted with the rows.
    pub mail_files: i64,
}

impl Counts {
    /// The audit log's detail line.
    pub fn detail(&self) -> String {
        format!(
            "participants={} diary_entries={} control_tasks={} pings={} consent_events={} links={} mail={} employees={} sample_members={} usage_rows={} mail_files={}",
            self.participants,
            self.diary_entries,
            self.control_tasks,
            self.pings,
            self.consent_events,
            self.links,
            self.mail,
            self.employees,
            self.sample_members,
            self.usage_rows,
            self.mail_files
        )
    }
}
