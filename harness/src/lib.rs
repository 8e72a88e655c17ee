//! perf-gate: runs the criterion suites, stores baselines, compares them with
//! Welch t-tests corrected for multiple comparisons, and writes gate reports.
//!
//! Data flows one way: bench -> results -> compare -> report.

pub mod stats;
