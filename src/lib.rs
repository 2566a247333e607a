//! Layer 2 Study: measures what an AI copilot really saves, per adoption cohort.
#![forbid(unsafe_code)]

pub mod audit;
pub mod auth;
pub mod baseline;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod diary;
pub mod error;
pub mod export;
pub mod files;
pub mod mail;
pub mod messages;
pub mod participants;
pub mod pings;
pub mod reports;
pub mod retention;
pub mod roster;
pub mod staff;
pub mod startup;
pub mod state;
pub mod stats;
pub mod study;
pub mod tco;
pub mod telemetry;
pub mod tick;
pub mod web;
