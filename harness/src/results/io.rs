//! Reading and writing results files, with errors that name the file and the
//! problem (exit code 2 in the CLI).

use super::schema::{ResultsFile, SCHEMA, SCHEMA_VERSION};
use crate::atomic::write_atomic;
use crate::error::{GateError, Result};
use std::collections::HashSet;
use std::path::Path;

/// Loads and validates a results or baseline file.
pub fn load_results(path: &Path) -> Result<ResultsFile> {
    let text = std::fs::read_to_string(path).map_err(|source| GateError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| GateError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    let schema = value.get("schema").and_then(|v| v.as_str());
    if schema != Some(SCHEMA) {
        return Err(GateError::invalid(
            path,
            format!(
                "not a perf-gate results file (schema field is {}, expected \"{SCHEMA}\")",
                schema.map_or("missing".to_string(), |s| format!("\"{s}\""))
            ),
        ));
    }
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(GateError::invalid(
                path,
                format!(
                    "unknown schema version {v} (this perf-gate reads version {SCHEMA_VERSION})"
                ),
            ))
        }
        None => {
            return Err(GateError::invalid(
                path,
                "missing or non-integer schema_version",
            ))
        }
    }
    let results: ResultsFile = serde_json::from_value(value).map_err(|source| GateError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    validate(&results).map_err(|problem| GateError::invalid(path, problem))?;
    Ok(results)
}

/// Checks what serde cannot: non-empty, consistent, plausible samples.
pub fn validate(results: &ResultsFile) -> std::result::Result<(), String> {
    if results.benchmarks.is_empty() {
        let entries: Vec<String> = results
            .entries
            .iter()
            .map(|e| {
                format!(
                    "{} {:?}{}",
                    e.matrix,
                    e.status,
                    e.reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                )
            })
            .collect();
        return Err(format!(
            "empty results: no benchmarks recorded (entries: {})",
            if entries.is_empty() {
                "none".to_string()
            } else {
                entries.join(", ")
            }
        ));
    }
    let mut seen = HashSet::new();
    for b in &results.benchmarks {
        let key = b.key();
        if !seen.insert(key.clone()) {
            return Err(format!("benchmark {key} appears twice"));
        }
        if b.sample_ns.is_empty() {
            return Err(format!("benchmark {key} has no samples"));
        }
        if b.sample_ns.len() != b.iters.len() {
            return Err(format!(
                "benchmark {key} has {} samples but {} iteration counts",
                b.sample_ns.len(),
                b.iters.len()
            ));
        }
        if !b.runs.is_empty() && b.runs.len() != b.sample_ns.len() {
            return Err(format!(
                "benchmark {key} has {} samples but {} run numbers",
                b.sample_ns.len(),
                b.runs.len()
            ));
        }
        if let Some(bad) = b.sample_ns.iter().find(|x| !x.is_finite() || **x <= 0.0) {
            return Err(format!("benchmark {key} has an invalid sample time {bad}"));
        }
        if let Some(bad) = b.iters.iter().find(|x| !x.is_finite() || **x <= 0.0) {
            return Err(format!(
                "benchmark {key} has an invalid iteration count {bad}"
            ));
        }
    }
    Ok(())
}

/// Writes a results file atomically (pretty JSON, trailing newline).
pub fn save_results(path: &Path, results: &ResultsFile) -> Result<()> {
    let mut text = serde_json::to_string_pretty(results).map_err(|source| GateError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}
