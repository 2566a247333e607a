//! Pure statistics: no database, no async.
pub mod bootstrap;
pub mod compliance;
pub mod design_effect;
pub mod disclosure;
#[cfg(test)]
pub(crate) mod fixture;
pub mod input;
pub mod intervals;
pub mod linearization;
pub mod oversight;
pub mod profile;
pub mod random;
pub mod sample_size;
pub mod segments;
pub mod waves;

/// The study's compliance rule (the ESM convention): a participant who answers fewer than a third of
/// their delivered pings in time is left out of the estimates.
pub const MIN_COMPLIANCE: f64 = 1.0 / 3.0;

/// The confidence level of every interval the application shows (95%).
pub const LEVEL: f64 = 0.95;
