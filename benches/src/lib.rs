//! Shared helpers for the criterion suites (deterministic inputs, matrix labels).
