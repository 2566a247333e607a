//! Mail: every message is written (`messages`) into the outbox table in the same transaction as its cause,
//! and a job drains it (`outbox`) through a `Mailer` (`transport`: SMTP, `.eml` files, or memory in tests).
pub mod messages;
pub mod outbox;
pub mod repo;
pub mod transport;
