//! Pure statistics: no database, no async.
pub mod bootstrap;
pub mod compliance;
pub mod disclosure;
pub mod input;
pub mod profile;
pub mod random;
pub mod sample_size;
pub mod segments;
pub mod waves;
