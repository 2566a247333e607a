//! Participants: invitations and their magic links, consent, withdrawal and removal, reminders and nudges,
//! and the wording and settings both instruments share.
pub mod repo;
pub mod service;

use crate::roster::cohort::Cohort;
use crate::stats::compliance::{Counts, Track};
use crate::study::Status;

/// Which group a participant was invited with; stored as `participants.role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
pub enum Group {
    /// The main sample (invited at collection), and the control group.
    Main,
    /// The pilot group (invited at the pilot), kept apart from every estimate.
    Pilot,
}

impl Group {
    /// The stored word (shown as is on the compliance dashboard).
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Main => "main",
            Group::Pilot => "pilot",
        }
    }

    /// The group the study's phase invites: the pilot group in the pilot, the main sample in collection.
    pub fn invited_in(status: Status) -> Option<Group> {
        match status {
            Status::Pilot => Some(Group::Pilot),
            Status::Collection => Some(Group::Main),
            _ => None,
        }
    }

    /// The invite button's words for this group.
    pub fn invite_label(self) -> &'static str {
        match self {
            Group::Pilot => "Invite the pilot group",
            Group::Main => "Invite the main sample",
        }
    }
}

/// Whether a participant has the copilot; stored as `participants.arm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
pub enum Arm {
    /// Uses the copilot: the diary of Instrument A and the pings of Instrument B.
    Copilot,
    /// The control group of Instrument C: no seat, a minutes-only task log, no pings.
    Control,
}

/// A participant's answer to the consent page; stored as `participants.consent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
pub enum Decision {
    /// Takes part.
    Accepted,
    /// Does not (may still accept later).
    Declined,
}

impl Decision {
    /// The consent page's buttons: `accept` or `decline`.
    pub fn from_button(value: &str) -> Option<Decision> {
        match value {
            "accept" => Some(Decision::Accepted),
            "decline" => Some(Decision::Declined),
            _ => None,
        }
    }
}

/// One line of the consent history; stored as `consent_events.event`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
pub enum ConsentEvent {
    /// Consented.
    Accepted,
    /// Declined.
    Declined,
    /// Left the study (or was removed by an admin).
    Withdrawn,
}

impl From<Decision> for ConsentEvent {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Accepted => ConsentEvent::Accepted,
            Decision::Declined => ConsentEvent::Declined,
        }
    }
}

/// Task categories a new study starts with (editable until collection starts).
pub const DEFAULT_CATEGORIES: [&str; 8] = [
    "Writing and editing",
    "Email and messages",
    "Summarising documents",
    "Research and analysis",
    "Code",
    "Data and spreadsheets",
    "Meetings and notes",
    "Other",
];

/// The consent text a new study starts with (version 1; editable until collection starts). Its numbers are
/// placeholders filled from the collection settings when the page is shown.
pub const DEFAULT_CONSENT: &str = "Your organisation is measuring how much time its AI copilot really saves. \
For the next weeks we will ask you to log a few tasks you did with the copilot ({diary_target} over {diary_days} \
days) and to answer short check-ins (about 30 seconds, {pings_per_day} a working day for {ping_days} days) about \
the last hour. We collect your \
answers, the times you give, and the category of each task; a short description is optional. Results are only \
reported for groups of at least five people; your manager does not see your answers. Taking part is voluntary: \
you can decline now or withdraw at any time with the link in every email, and nothing more will be sent to you.";

impl repo::ComplianceRow {
    /// The participant's cohort (read as light when the roster gave none).
    pub fn cohort(&self) -> Cohort {
        self.cohort
            .as_deref()
            .and_then(|c| c.parse().ok())
            .unwrap_or(Cohort::Light)
    }

    /// Which dashboard total they count in.
    pub fn track(&self) -> Track {
        match (self.arm, self.role) {
            (Arm::Control, _) => Track::Control,
            (Arm::Copilot, Group::Pilot) => Track::Pilot,
            (Arm::Copilot, Group::Main) => Track::Main,
        }
    }

    /// Their numbers, as one invited person.
    pub fn counts(&self) -> Counts {
        Counts {
            invited: 1,
            consented: (self.consent == Some(Decision::Accepted)).into(),
            declined: (self.consent == Some(Decision::Declined)).into(),
            withdrawn: self.withdrawn.into(),
            diary: self.diary,
            delivered: self.delivered,
            answered: self.answered,
            missed: self.missed,
        }
    }

    /// Where they stand, in words.
    pub fn standing(&self) -> &'static str {
        match (self.withdrawn, self.consent) {
            (true, _) => "withdrawn",
            (false, Some(Decision::Accepted)) => "consented",
            (false, Some(Decision::Declined)) => "declined",
            _ => "no answer yet",
        }
    }

    /// Whether an admin may still write to them (not withdrawn, not declined).
    pub fn contactable(&self) -> bool {
        !self.withdrawn && self.consent != Some(Decision::Declined)
    }
}
