//! Reading criterion's on-disk output (`target/criterion` layout):
//!
//! ```text
//! <criterion home>/<benchmark directory>/new/benchmark.json  full_id, throughput
//!                                       /new/sample.json     iters[], times[] (ns)
//! ```
//!
//! Only `new/` is read: `base/` and named baselines are criterion's own
//! history, not this run.

use super::schema::{BenchmarkRecord, Throughput, ThroughputUnit};
use crate::error::{GateError, Result};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
struct CriterionId {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    throughput: Option<CriterionThroughput>,
    full_id: String,
}

#[derive(Deserialize)]
enum CriterionThroughput {
    Bytes(u64),
    BytesDecimal(u64),
    Elements(u64),
}

#[derive(Deserialize)]
struct CriterionSample {
    sampling_mode: String,
    iters: Vec<f64>,
    times: Vec<f64>,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| GateError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| GateError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Every benchmark under `dir`, labelled with `matrix` and `suite`, sorted by id.
/// A missing directory is an error; a directory without benchmarks is empty.
pub fn import_criterion(dir: &Path, matrix: &str, suite: &str) -> Result<Vec<BenchmarkRecord>> {
    if !dir.is_dir() {
        return Err(GateError::invalid(
            dir,
            "criterion directory does not exist (expected target/criterion layout)",
        ));
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| GateError::Read {
            path: e.path().unwrap_or(dir).to_path_buf(),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("directory loop")),
        })?;
        let path = entry.path();
        let in_new = path
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|n| n == "new");
        if entry.file_name() != "benchmark.json" || !in_new {
            continue;
        }
        let id: CriterionId = read_json(path)?;
        let sample_path = path.with_file_name("sample.json");
        let sample: CriterionSample = read_json(&sample_path)?;
        if sample.iters.len() != sample.times.len() || sample.iters.is_empty() {
            return Err(GateError::invalid(
                &sample_path,
                format!(
                    "{} iteration counts but {} times",
                    sample.iters.len(),
                    sample.times.len()
                ),
            ));
        }
        if sample.iters.iter().any(|&n| n.is_nan() || n <= 0.0) {
            return Err(GateError::invalid(
                &sample_path,
                "iteration count must be positive",
            ));
        }
        let sample_ns = sample
            .times
            .iter()
            .zip(&sample.iters)
            .map(|(t, n)| t / n)
            .collect();
        out.push(BenchmarkRecord {
            matrix: matrix.to_string(),
            suite: suite.to_string(),
            id: id.full_id,
            group: id.group_id,
            function: id.function_id,
            value: id.value_str,
            throughput: id.throughput.map(|t| match t {
                CriterionThroughput::Bytes(n) | CriterionThroughput::BytesDecimal(n) => {
                    Throughput {
                        unit: ThroughputUnit::Bytes,
                        per_iteration: n,
                    }
                }
                CriterionThroughput::Elements(n) => Throughput {
                    unit: ThroughputUnit::Elements,
                    per_iteration: n,
                },
            }),
            sampling_mode: sample.sampling_mode,
            iters: sample.iters,
            sample_ns,
            runs: Vec::new(),
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}
