//! Staff management and per-study access: invitations with a one-time setup link, role changes, disabling
//! and deleting accounts (never the last active admin), and the study grants of staff who are not admins.
pub mod repo;
pub mod service;

use crate::study::StudyId;
use std::fmt;
use std::str::FromStr;

/// Where an account stands; stored as text in `users.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
pub enum Status {
    /// Invited; signs in once they have chosen a password through their setup link.
    Invited,
    /// Signs in.
    Active,
    /// Cannot sign in; their sessions are refused.
    Disabled,
    /// Gone; the row stays only so the audit log's references hold.
    Deleted,
}

impl Status {
    /// The word shown on the staff page.
    pub fn label(self) -> &'static str {
        match self {
            Status::Invited => "invited",
            Status::Active => "active",
            Status::Disabled => "disabled",
            Status::Deleted => "deleted",
        }
    }
}

/// What a staff member who is not an admin may see of one study.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "snake_case")]
pub enum StudyRole {
    /// Aggregate results: analysis, report, readout, waves and the summary export.
    Analyst,
    /// Also the pseudonymous raw files.
    DataAnalyst,
}

impl StudyRole {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StudyRole::Analyst => "analyst",
            StudyRole::DataAnalyst => "data_analyst",
        }
    }
    /// How the pages name it.
    pub fn label(self) -> &'static str {
        match self {
            StudyRole::Analyst => "analyst (aggregate results)",
            StudyRole::DataAnalyst => "data analyst (also the raw files)",
        }
    }
}

impl FromStr for StudyRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "analyst" => Ok(StudyRole::Analyst),
            "data_analyst" => Ok(StudyRole::DataAnalyst),
            _ => Err("Choose analyst or data analyst.".into()),
        }
    }
}

impl fmt::Display for StudyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The files of an export that hold aggregates only; every other file has a row per person.
pub const AGGREGATE_FILES: [&str; 1] = ["summary.csv"];

/// How much of one study the signed-in person may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StudyAccess {
    /// An admin of the organisation: everything.
    Admin,
    /// A grant.
    Granted(StudyRole),
}

impl StudyAccess {
    /// Whether the pseudonymous raw files (one row per person) may be downloaded.
    pub fn raw_files(self) -> bool {
        !matches!(self, StudyAccess::Granted(StudyRole::Analyst))
    }
    /// Whether the export file `name` may be downloaded.
    pub fn may_download(self, name: &str) -> bool {
        self.raw_files() || AGGREGATE_FILES.contains(&name)
    }
}

/// The study of the request and the caller's access to it, kept in the request's extensions once the
/// study route has been let through (the role checks beside it audit their refusals against this study).
#[derive(Clone, Copy, Debug)]
pub struct StudyScope {
    /// The study in the path.
    pub study: StudyId,
    /// What the caller may see of it.
    pub access: StudyAccess,
}

/// Which studies someone may see listed.
pub enum Visible {
    /// All of them (an admin).
    All,
    /// Only these (the grants of a non-admin).
    Only(Vec<StudyId>),
}

impl Visible {
    /// Whether `study` is among them.
    pub fn allows(&self, study: StudyId) -> bool {
        match self {
            Visible::All => true,
            Visible::Only(ids) => ids.contains(&study),
        }
    }
}

/// A refusal worth auditing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A study the caller has no grant for (answered 404).
    NotGranted,
    /// A page or file the caller's role does not allow (answered 403).
    Forbidden,
}

impl Refusal {
    /// The audit action.
    pub fn action(self) -> &'static str {
        match self {
            Refusal::NotGranted => "access.not_granted",
            Refusal::Forbidden => "access.forbidden",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_aggregate_analyst_gets_the_summary_only_and_a_data_analyst_every_file() {
        let agg = StudyAccess::Granted(StudyRole::Analyst);
        let data = StudyAccess::Granted(StudyRole::DataAnalyst);
        assert!(agg.may_download("summary.csv"));
        for raw in [
            "participants.csv",
            "diary.csv",
            "codebook.csv",
            "export.json",
            "workbook.xlsx",
        ] {
            assert!(!agg.may_download(raw), "{raw}");
            assert!(data.may_download(raw) && StudyAccess::Admin.may_download(raw));
        }
    }

    #[test]
    fn study_roles_are_read_from_their_stored_names_only() {
        assert_eq!("data_analyst".parse(), Ok(StudyRole::DataAnalyst));
        assert_eq!(" analyst".parse(), Ok(StudyRole::Analyst));
        assert!("admin".parse::<StudyRole>().is_err());
    }
}
