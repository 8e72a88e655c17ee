//! The gate decision: FAIL iff some benchmark is a significant slowdown
//! (corrected p < alpha) beyond its threshold, i.e. classified minor or worse.
//! Benchmarks present on one side only, untestable ones and inconclusive ones
//! never fail the gate; they are listed in the report instead.

use super::BenchComparison;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Decision {
    Pass,
    Fail,
}

impl Decision {
    pub fn exit_code(self) -> i32 {
        match self {
            Decision::Pass => 0,
            Decision::Fail => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Decision::Pass => "PASS",
            Decision::Fail => "FAIL",
        }
    }
}

pub fn decide(items: &[BenchComparison]) -> Decision {
    if items.iter().any(|c| c.class.is_regression()) {
        Decision::Fail
    } else {
        Decision::Pass
    }
}
