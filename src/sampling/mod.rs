//! Instrument B: the ping schedule (pure) and the tick that sends and expires pings.
pub mod dispatch;
pub mod schedule;
