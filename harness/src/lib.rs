//! perf-gate: runs the criterion suites, stores baselines, compares them with
//! Welch t-tests corrected for multiple comparisons, and writes gate reports.
//!
//! Data flows one way: bench (`runner`, `ab`) -> results (`results`) ->
//! analysis (`compare`, built on `stats`) -> reports (`report`).

pub mod ab;
pub mod atomic;
pub mod cli;
pub mod compare;
pub mod config;
pub mod error;
pub mod fingerprint;
pub mod report;
pub mod results;
pub mod runner;
pub mod stats;

pub use error::{GateError, Result};
