//! Exports: the study's pseudonymous raw data (exactly the files `layer2 analyze` reads), the cohort summary
//! and a codebook, as CSV, JSON or an Excel workbook.
//!
//! What leaves the platform: a per-study keyed hash instead of any employee id, no emails, no free text
//! unless an admin asks for descriptions (audited), cohort, function and tenure each published for every
//! row or for none (a column whose groups would be under k, or would rebuild a cell the summary hides, is
//! left out of the whole file), gross hours in bands of at least k people, and summary metrics only for
//! groups the confidentiality rule shows.
pub mod codebook;
pub mod pseudonymise;
pub mod repo;
pub mod service;
pub mod stream;
pub mod write;

pub use pseudonymise::{Published, pseudonym};
pub use service::{audit_export, gather};

use crate::error::AppError;
use serde::Serialize;
use std::collections::BTreeMap;

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One CSV file per table.
    Csv,
    /// One JSON document.
    Json,
    /// One workbook, a sheet per table.
    Xlsx,
}

impl Format {
    /// Parses `csv`, `json` or `xlsx`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Self::Csv),
            "json" => Some(Self::Json),
            "xlsx" => Some(Self::Xlsx),
            _ => None,
        }
    }
}

/// A participant row of `participants.csv`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ParticipantOut {
    /// Pseudonymous id.
    pub id: String,
    /// Cohort, when the file carries the column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohort: Option<String>,
    /// Function, when the file carries the column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Tenure band, when the file carries the column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenure: Option<String>,
    /// Gross AI hours per month from the vendor's analytics, as a band ("10–20", "40 +").
    pub gross_hours_band: String,
}

/// A diary task.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DiaryOut {
    /// Pseudonymous participant id.
    pub participant_id: String,
    /// The participant's study day it was logged on (1 = the day they joined, on their own calendar).
    pub study_day: i64,
    /// Its time of day on the participant's own clock (HH:MM).
    pub local_time: String,
    /// all / most / some / none.
    pub outcome: String,
    /// Task category.
    pub category: String,
    /// Minutes with AI.
    pub minutes_with_ai: i64,
    /// The participant's estimate without AI.
    pub minutes_without_ai: i64,
    /// Free text, only in an admin's export with descriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A delivered ping.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PingOut {
    /// Pseudonymous participant id.
    pub participant_id: String,
    /// The participant's study day the ping was scheduled for.
    pub study_day: i64,
    /// Its scheduled time of day on the participant's own clock (HH:MM).
    pub local_time: String,
    /// Whole minutes from sending to the answer deadline.
    pub window_min: i64,
    /// Whole minutes from sending to the answer, if it was answered.
    pub answer_delay_min: Option<i64>,
    /// 1 answered by the deadline, 0 answered late, empty unanswered.
    pub answered_in_time: Option<u8>,
    /// 1 used the copilot, 0 did not or was not working, empty unanswered.
    pub used_copilot: Option<u8>,
    /// 1 was working (answered yes or no), 0 "I was not working", empty unanswered.
    pub was_working: Option<u8>,
    /// Verification minutes (answers with use only).
    pub verification_min: Option<i64>,
    /// Correction minutes.
    pub correction_min: Option<i64>,
    /// Context-reconstruction minutes.
    pub context_min: Option<i64>,
    /// Trust-calibration minutes.
    pub trust_min: Option<i64>,
}

/// A control-group task (Instrument C).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ControlOut {
    /// Pseudonymous id of the control participant.
    pub participant_id: String,
    /// The participant's study day it was logged on.
    pub study_day: i64,
    /// Its time of day on the participant's own clock (HH:MM).
    pub local_time: String,
    /// Task category.
    pub category: String,
    /// Minutes without AI.
    pub minutes: i64,
    /// Free text, only with descriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One metric of one group in the summary.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct SummaryOut {
    /// cohort, overall, function or tenure.
    pub group: String,
    /// The group's name.
    pub name: String,
    /// Participants.
    pub n: usize,
    /// Metric key (as `layer2 analyze --json`).
    pub metric: String,
    /// Estimate, standard error, degrees of freedom and interval; empty when hidden or not enough data.
    pub estimate: Option<f64>,
    pub se: Option<f64>,
    pub df: Option<f64>,
    pub ci_lower: Option<f64>,
    pub ci_upper: Option<f64>,
    /// The interval shown on the pages (`{method, lower, upper}`, as `layer2 analyze --json`); `ci_lower`
    /// and `ci_upper` stay R's symmetric t interval.
    #[serde(default)]
    pub interval: Option<crate::stats::intervals::Interval>,
    /// Hidden by the confidentiality rule.
    pub suppressed: bool,
}

/// The study an export describes.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StudyOut {
    /// Study id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Vendor, product and model version (the wave's tags).
    pub vendor: String,
    pub product: String,
    pub model_version: String,
    /// Answer window of a ping in minutes (`window_min` carries each ping's own, from its sending).
    pub window_minutes: i64,
    /// Minimum cell size applied.
    pub min_cell_size: usize,
    /// When the export was made.
    pub exported_at: String,
    /// Whether free-text descriptions are included.
    pub descriptions: bool,
    /// Participants erased at their request before this export (none of their data is in it).
    pub erased_participants: i64,
}

/// Everything one export holds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExportData {
    /// The study.
    pub study: StudyOut,
    /// Which quasi-identifying columns participants.csv carries (the same for every row).
    pub columns: Published,
    /// participants.csv
    pub participants: Vec<ParticipantOut>,
    /// Whose rows diary.csv, pings.csv and control.csv carry, in file order: the rows themselves are read
    /// a slice of participants at a time while the file is written (`service::write_file`).
    #[serde(skip)]
    pub rows: Rows,
    /// population.csv: (cohort, roster size).
    pub population: Vec<(String, i64)>,
    /// summary.csv
    pub summary: Vec<SummaryOut>,
    /// The cost per unit of output (`export.json`'s `tco` object and the workbook's `cost_per_unit`
    /// sheet): set by the caller, live for admins and the CLI, the release's for everyone else.
    pub tco: Option<crate::tco::view::TcoOut>,
}

/// A participant of an export's raw rows: the pseudonym the files show and the row it is read from.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Pseudonymous id.
    pub pseudonym: String,
    /// participants.id (never exported).
    pub participant: i64,
    /// The employee id (never exported; the rows carry it and are matched back to the pseudonym).
    pub employee_id: String,
}

/// Whose raw rows an export carries, each list in pseudonym order (the database's order follows employee
/// ids, which would tie pseudonyms back to people).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    /// The main sample: diary.csv and pings.csv.
    pub main: Vec<Member>,
    /// The control group: control.csv.
    pub control: Vec<Member>,
}

/// The file names of a CSV export, in the order a reader needs them.
pub const CSV_FILES: [&str; 7] = [
    "participants.csv",
    "diary.csv",
    "pings.csv",
    "population.csv",
    "control.csv",
    "summary.csv",
    "codebook.csv",
];

/// A refusal for an unknown file or format name.
pub fn unknown(what: &str) -> AppError {
    AppError::BadRequest(format!(
        "There is no export called {what:?}; choose one of the files listed on the page."
    ))
}

/// Groups summary rows the way `layer2 analyze --json` prints a profile (hidden groups left out).
pub fn summary_json(rows: &[SummaryOut]) -> serde_json::Value {
    let mut cohorts: BTreeMap<String, serde_json::Map<String, serde_json::Value>> = BTreeMap::new();
    let mut overall = serde_json::Map::new();
    for r in rows
        .iter()
        .filter(|r| !r.suppressed && (r.group == "cohort" || r.group == "overall"))
    {
        let target = if r.group == "overall" {
            &mut overall
        } else {
            cohorts.entry(r.name.clone()).or_default()
        };
        target.insert("n".into(), r.n.into());
        let value = match r.estimate {
            Some(e) => serde_json::json!({
                "estimate": e, "se": r.se, "df": r.df, "ci_lower": r.ci_lower, "ci_upper": r.ci_upper,
                "interval": r.interval
            }),
            None => serde_json::Value::Null,
        };
        target.insert(r.metric.clone(), value);
    }
    serde_json::json!({ "cohorts": cohorts, "overall": overall })
}
