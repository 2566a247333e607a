//! One integration-test binary: every feature through real HTTP against a real SQLite file.
mod auth;
mod baseline;
mod browser;
mod cli;
mod demo;
mod erasure;
mod helpers;
mod links;
mod mail;
mod participants;
mod privacy;
mod readout;
mod reidentify;
mod retention;
mod roster;
mod sample;
mod studies;
