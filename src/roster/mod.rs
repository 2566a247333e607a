//! The employee roster, the vendor's usage analytics, adoption cohorts and the stratified sample.
pub mod cohort;
pub mod import;
pub mod population;
pub mod repo;
pub mod sample;
pub mod service;
