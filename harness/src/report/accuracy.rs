//! Accuracy checks fed to the report (`--accuracy FILE`), produced by the
//! engine's tests or tools. perf-gate never invents accuracy figures: without
//! a file the report says "not provided".
//!
//! ```json
//! { "schema": "perf-gate-accuracy", "schema_version": 1,
//!   "source": "cargo test -p bitnet-engine --test accuracy",
//!   "checks": [ { "name": "I2S round trip", "metric": "cosine similarity",
//!                 "value": 0.9991, "op": ">=", "limit": 0.99 } ] }
//! ```
//!
//! Pass/fail is computed here from `value op limit`, not read from the file.

use crate::error::{GateError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const SCHEMA: &str = "perf-gate-accuracy";
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccuracyFile {
    pub schema: String,
    pub schema_version: u32,
    /// The command or tool that produced the checks.
    pub source: String,
    pub checks: Vec<AccuracyCheck>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccuracyCheck {
    pub name: String,
    pub metric: String,
    pub value: f64,
    /// One of `>=`, `>`, `<=`, `<`.
    pub op: String,
    pub limit: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluatedCheck {
    #[serde(flatten)]
    pub check: AccuracyCheck,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccuracyReport {
    pub path: String,
    pub source: String,
    pub checks: Vec<EvaluatedCheck>,
}

impl AccuracyReport {
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.passed).count()
    }
}

fn holds(value: f64, op: &str, limit: f64) -> Option<bool> {
    Some(match op {
        ">=" => value >= limit,
        ">" => value > limit,
        "<=" => value <= limit,
        "<" => value < limit,
        _ => return None,
    })
}

pub fn load_accuracy(path: &Path) -> Result<AccuracyReport> {
    let text = std::fs::read_to_string(path).map_err(|source| GateError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file: AccuracyFile = serde_json::from_str(&text).map_err(|source| GateError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    if file.schema != SCHEMA || file.schema_version != SCHEMA_VERSION {
        return Err(GateError::invalid(
            path,
            format!(
                "expected schema \"{SCHEMA}\" version {SCHEMA_VERSION}, found \"{}\" version {}",
                file.schema, file.schema_version
            ),
        ));
    }
    if file.checks.is_empty() {
        return Err(GateError::invalid(path, "accuracy file has no checks"));
    }
    let mut checks = Vec::new();
    for c in file.checks {
        let passed = holds(c.value, &c.op, c.limit).ok_or_else(|| {
            GateError::invalid(
                path,
                format!(
                    "check '{}': unknown op '{}' (expected >=, >, <=, <)",
                    c.name, c.op
                ),
            )
        })?;
        checks.push(EvaluatedCheck { check: c, passed });
    }
    Ok(AccuracyReport {
        path: path.display().to_string(),
        source: file.source,
        checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_and_rejects() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("acc.json");
        std::fs::write(
            &p,
            r#"{"schema":"perf-gate-accuracy","schema_version":1,"source":"t",
               "checks":[{"name":"a","metric":"m","value":0.995,"op":">=","limit":0.99},
                         {"name":"b","metric":"rmse","value":0.2,"op":"<","limit":0.1}]}"#,
        )
        .unwrap();
        let r = load_accuracy(&p).unwrap();
        assert!(r.checks[0].passed && !r.checks[1].passed);
        assert_eq!(r.failed(), 1);
        std::fs::write(
            &p,
            r#"{"schema":"perf-gate-accuracy","schema_version":1,"source":"t",
               "checks":[{"name":"a","metric":"m","value":1,"op":"~","limit":1}]}"#,
        )
        .unwrap();
        let e = load_accuracy(&p).unwrap_err().to_string();
        assert!(e.contains("acc.json") && e.contains("unknown op"), "{e}");
    }
}
