//! The append-only audit log: who did what, when.
//!
//! Each entry is written in the same transaction as the change it records.
mod repo;

pub use repo::{AuditRow, list, record};

use crate::auth::UserId;

/// Who acted: a staff member, or the command line / system.
#[derive(Clone, Debug)]
pub struct Actor {
    /// The staff account, when there is one.
    pub user_id: Option<UserId>,
    /// What the log shows as "who" (an email for staff, `cli` or `system` otherwise).
    pub label: String,
}

impl Actor {
    /// A staff member.
    pub fn staff(user_id: UserId, email: &str) -> Self {
        Self {
            user_id: Some(user_id),
            label: email.to_string(),
        }
    }
    /// The command line (whoever runs it on the server).
    pub fn cli() -> Self {
        Self {
            user_id: None,
            label: "cli".into(),
        }
    }
    /// The server itself (demo seeding, scheduled jobs).
    pub fn system() -> Self {
        Self {
            user_id: None,
            label: "system".into(),
        }
    }
}
