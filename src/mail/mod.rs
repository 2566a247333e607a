//! Mail: every message is written into the outbox table in the same transaction as its cause, as what it is
//! (kind, recipient, study, participant, ping), never as a body: a job drains it (`outbox`), rendering the
//! text (`messages`) and minting a fresh link only at the moment of sending, through a `Mailer`
//! (`transport`: SMTP, `.eml` files, or memory in tests).
pub mod messages;
pub mod outbox;
pub mod repo;
pub mod transport;

/// What a message is; stored as `outbox.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
pub enum Kind {
    /// The invitation to a study (copilot arm or control group), with a link to the participant's page.
    Invitation,
    /// A ping, with a link that answers this ping only.
    Ping,
    /// A diary reminder to someone under the target.
    Reminder,
    /// An admin's nudge to one participant.
    Nudge,
    /// A staff member's invitation, with a one-time link to choose a password (`outbox.staff_user`).
    #[sqlx(rename = "staff_invite")]
    StaffInvite,
}

impl Kind {
    /// The stored word (also the start of the Message-ID).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invitation => "invitation",
            Kind::Ping => "ping",
            Kind::Reminder => "reminder",
            Kind::Nudge => "nudge",
            Kind::StaffInvite => "staff_invite",
        }
    }
}
