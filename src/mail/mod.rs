//! Mail: every message goes through the outbox table (written in the same transaction as its cause) and a
//! job drains it through a `Mailer` (SMTP, `.eml` files, or memory in tests).
pub mod outbox;
pub mod transport;
