//! Pure statistics: no database, no async.
pub mod sample_size;
