//! Pure statistics: no database, no async.
pub mod compliance;
pub mod input;
pub mod sample_size;
