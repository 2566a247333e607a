//! What a study's emails say and who sends them: editable, versioned texts with documented placeholders,
//! the sender, previews, a test send, and the nudge's text chosen from the person's state when it is sent.
pub mod nudge;
pub mod repo;
pub mod service;
pub mod text;

/// One editable message of a study; stored as `message_versions.message`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, sqlx::Type, serde::Deserialize)]
#[sqlx(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// The invitation to the copilot arm (diary and check-ins).
    Invitation,
    /// The control group's invitation (a task log, no check-ins).
    ControlInvitation,
    /// The diary reminder to someone under the target.
    Reminder,
    /// A check-in (ping).
    Ping,
    /// An admin's nudge to someone who has not said yes or no yet.
    NudgeConsent,
    /// An admin's nudge to someone whose diary is behind.
    NudgeDiary,
    /// An admin's nudge to someone who missed check-ins.
    NudgeCheckins,
}

impl MessageKind {
    /// Every message, in the order the page lists them.
    pub const ALL: [MessageKind; 7] = [
        MessageKind::Invitation,
        MessageKind::ControlInvitation,
        MessageKind::Reminder,
        MessageKind::Ping,
        MessageKind::NudgeConsent,
        MessageKind::NudgeDiary,
        MessageKind::NudgeCheckins,
    ];

    /// The stored word (also the path segment of its forms).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Invitation => "invitation",
            MessageKind::ControlInvitation => "control_invitation",
            MessageKind::Reminder => "reminder",
            MessageKind::Ping => "ping",
            MessageKind::NudgeConsent => "nudge_consent",
            MessageKind::NudgeDiary => "nudge_diary",
            MessageKind::NudgeCheckins => "nudge_checkins",
        }
    }

    /// From the stored word.
    pub fn parse(s: &str) -> Option<MessageKind> {
        MessageKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Its name on the page.
    pub fn label(self) -> &'static str {
        match self {
            MessageKind::Invitation => "Invitation",
            MessageKind::ControlInvitation => "Invitation to the control group",
            MessageKind::Reminder => "Diary reminder",
            MessageKind::Ping => "Check-in (ping)",
            MessageKind::NudgeConsent => "Nudge: not yet consented",
            MessageKind::NudgeDiary => "Nudge: diary behind",
            MessageKind::NudgeCheckins => "Nudge: check-ins missed",
        }
    }

    /// When it is sent, in a sentence.
    pub fn when(self) -> &'static str {
        match self {
            MessageKind::Invitation => {
                "Sent to the pilot group and the main sample when the admin invites them."
            }
            MessageKind::ControlInvitation => {
                "Sent to the people an admin names as the control group (no copilot, no check-ins)."
            }
            MessageKind::Reminder => {
                "Sent automatically to people under the diary target, every few days while their diary is open."
            }
            MessageKind::Ping => {
                "Each check-in; its link answers that check-in only, until its answer window closes."
            }
            MessageKind::NudgeConsent => {
                "An admin's nudge to someone who has not said yes or no yet."
            }
            MessageKind::NudgeDiary => {
                "An admin's nudge to someone who consented and is under the diary target while the diary is open (and to the control group)."
            }
            MessageKind::NudgeCheckins => {
                "An admin's nudge to someone who consented whose diary is done or closed (usually: check-ins missed)."
            }
        }
    }
}

/// A placeholder the texts may use: `{name}`, what it becomes, and the messages it is allowed in
/// (`None`: every message).
pub struct Placeholder {
    /// Written `{name}` in a text.
    pub name: &'static str,
    /// What it becomes.
    pub meaning: &'static str,
    /// Only in these messages (`None`: all).
    pub only: Option<&'static [MessageKind]>,
    /// A link: allowed in the body only.
    pub link: bool,
}

const COUNTED: &[MessageKind] = &[
    MessageKind::Reminder,
    MessageKind::NudgeConsent,
    MessageKind::NudgeDiary,
    MessageKind::NudgeCheckins,
];

/// The documented placeholders. There is no `{first_name}`: the roster stores no name (an employee id,
/// an email, a function), and the platform does not collect one just to greet people.
pub const PLACEHOLDERS: &[Placeholder] = &[
    Placeholder {
        name: "study",
        meaning: "the study's name",
        only: None,
        link: false,
    },
    Placeholder {
        name: "organisation",
        meaning: "the organisation (sender settings; else the privacy notice's controller)",
        only: None,
        link: false,
    },
    Placeholder {
        name: "contact",
        meaning: "the contact line (sender settings; else the sender's address)",
        only: None,
        link: false,
    },
    Placeholder {
        name: "diary_target",
        meaning: "tasks asked for in the diary (collection settings)",
        only: None,
        link: false,
    },
    Placeholder {
        name: "diary_days",
        meaning: "days the diary stays open",
        only: None,
        link: false,
    },
    Placeholder {
        name: "pings_per_day",
        meaning: "check-ins per working day",
        only: None,
        link: false,
    },
    Placeholder {
        name: "ping_days",
        meaning: "days of the check-in week",
        only: None,
        link: false,
    },
    Placeholder {
        name: "window_start",
        meaning: "start of the daily check-in window (HH:MM)",
        only: None,
        link: false,
    },
    Placeholder {
        name: "window_end",
        meaning: "end of the daily check-in window (HH:MM)",
        only: None,
        link: false,
    },
    Placeholder {
        name: "answer_minutes",
        meaning: "minutes a check-in stays open",
        only: None,
        link: false,
    },
    Placeholder {
        name: "reminder_days",
        meaning: "days between diary reminders",
        only: None,
        link: false,
    },
    Placeholder {
        name: "link",
        meaning: "the person's own link (required in every body; minted when the email is sent)",
        only: None,
        link: true,
    },
    Placeholder {
        name: "withdraw_link",
        meaning: "the link to leave the study (added at the end when the body does not use it)",
        only: None,
        link: true,
    },
    Placeholder {
        name: "until",
        meaning: "when this check-in closes, in the person's time (HH:MM)",
        only: Some(&[MessageKind::Ping]),
        link: false,
    },
    Placeholder {
        name: "logged",
        meaning: "tasks the person has logged so far",
        only: Some(COUNTED),
        link: false,
    },
    Placeholder {
        name: "missed",
        meaning: "check-ins the person missed so far",
        only: Some(COUNTED),
        link: false,
    },
    Placeholder {
        name: "checkins_left",
        meaning: "check-ins still to come for the person",
        only: Some(COUNTED),
        link: false,
    },
];

/// A message's text as saved (or the default): subject and plain-text body with placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageText {
    /// Which message.
    pub kind: MessageKind,
    /// Saved version; 0 = the default text, never saved.
    pub version: i64,
    /// Subject with placeholders.
    pub subject: String,
    /// Plain-text body with placeholders.
    pub body: String,
}

/// Who a study's mail comes from, and whom participants can ask.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Sender {
    /// Display name of the From header.
    #[serde(default)]
    pub name: String,
    /// The From address.
    #[serde(default)]
    pub address: String,
    /// The organisation running the study (may be empty).
    #[serde(default)]
    pub organisation: String,
    /// A contact line for questions about the study (may be empty).
    #[serde(default)]
    pub contact: String,
}

/// The default subject and body of each message; the numbers come from the collection settings through
/// placeholders, so the defaults always match the settings.
pub fn default_text(kind: MessageKind) -> (&'static str, &'static str) {
    match kind {
        MessageKind::Invitation => (
            "You are invited: {study} (a few minutes a day)",
            "Hello,\n\n{organisation} is measuring how much time its AI copilot really saves, and you have been \
chosen at random to help with {study}. Taking part is voluntary. Over {diary_days} days, log {diary_target} \
tasks you did with the copilot (about a minute each); and for {ping_days} days, answer short check-ins (about \
30 seconds), {pings_per_day} a working day between {window_start} and {window_end}, each open for \
{answer_minutes} minutes.\n\nRead what is collected and say yes or no here (no password needed; this link is \
yours, do not forward it):\n{link}\n\nIf you do not want to take part, or want to stop at any time:\n\
{withdraw_link}\n\nThank you.\nQuestions about the study: {contact}",
        ),
        MessageKind::ControlInvitation => (
            "You are invited: {study} (comparison group, a few minutes a day)",
            "Hello,\n\n{organisation} is measuring how much time its AI copilot really saves, and asks you to help \
with {study} as part of the comparison group: people who work without the copilot. Taking part is voluntary: \
over {diary_days} days, log {diary_target} tasks you did (the kind of work and how many minutes it took). \
There are no check-ins for you.\n\nRead what is collected and say yes or no here (no password needed; this \
link is yours, do not forward it):\n{link}\n\nIf you do not want to take part, or want to stop at any \
time:\n{withdraw_link}\n\nThank you.\nQuestions about the study: {contact}",
        ),
        MessageKind::Reminder => (
            "Reminder: {study}",
            "A reminder from {study}: you have logged {logged} of the {diary_target} tasks we ask for. Logging \
one takes about a minute.\n\nYour study page (no password needed):\n{link}\n\nQuestions about the study: \
{contact}",
        ),
        MessageKind::Ping => (
            "30-second check-in: {study}",
            "A 30-second check-in for {study}: did you use the copilot in the last hour, and how long did \
checking and fixing its output take?\n\nAnswer here before {until} (your time):\n{link}",
        ),
        MessageKind::NudgeConsent => (
            "Reminder: {study}",
            "A reminder from {study}: you have not said yet whether you take part. Reading what is collected \
and deciding takes a minute, and no is a fine answer too.\n\nRead and decide here (no password needed):\n\
{link}\n\nQuestions about the study: {contact}",
        ),
        MessageKind::NudgeDiary => (
            "Reminder: {study}",
            "A reminder from {study}: you have logged {logged} of the {diary_target} tasks we ask for. Your \
answers matter for the study; a few minutes this week make a real difference.\n\nYour study page (no \
password needed):\n{link}\n\nQuestions about the study: {contact}",
        ),
        MessageKind::NudgeCheckins => (
            "Reminder: {study}",
            "A reminder from {study}: {missed} of your check-ins went unanswered, and {checkins_left} are \
still to come. Each takes about 30 seconds and arrives by email between {window_start} and {window_end} on \
working days; it stays open for {answer_minutes} minutes.\n\nYour study page (no password needed):\n\
{link}\n\nQuestions about the study: {contact}",
        ),
    }
}
