//! The employee roster, the vendor's usage analytics (`import/`: one file per format), adoption cohorts and the survey sample (`sample`).
pub mod cohort;
pub mod import;
pub mod population;
pub mod repo;
pub mod sample;
pub mod service;
pub mod usage;

/// Which part of a drawn sample a person is in (stored as TEXT in `sample_members.role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
pub enum SampleRole {
    /// The main sample.
    Main,
    /// The pilot group, disjoint from the main sample.
    Pilot,
}
