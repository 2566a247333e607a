//! Pure statistics: no database, no async.
pub mod input;
pub mod sample_size;
