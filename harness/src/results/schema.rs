//! Types of the results file, schema version 1.
//!
//! ```text
//! ResultsFile
//! ├── schema = "perf-gate-results", schema_version = 1
//! ├── fingerprint        where and from what it was measured
//! ├── settings, commands how (criterion arguments, exact command lines)
//! ├── entries[]          per matrix entry: ran | skipped (reason) | failed
//! ├── baseline?          set by `baseline save`: name, machine
//! └── benchmarks[]       matrix + suite + criterion full_id
//!     ├── throughput?    unit and amount per iteration
//!     └── iters[i], sample_ns[i]   criterion sample i: iteration count and
//!                                  time per iteration (times[i] / iters[i])
//! ```

use crate::fingerprint::Fingerprint;
use serde::{Deserialize, Serialize};
use std::fmt;

pub const SCHEMA: &str = "perf-gate-results";
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResultsFile {
    pub schema: String,
    pub schema_version: u32,
    /// `perf-gate <version>` that wrote the file.
    pub tool: String,
    /// RFC 3339 UTC time the measurement finished.
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineInfo>,
    pub fingerprint: Fingerprint,
    pub settings: RunSettings,
    /// Exact command lines that produced the samples, in order.
    pub commands: Vec<String>,
    pub entries: Vec<EntryRecord>,
    pub benchmarks: Vec<BenchmarkRecord>,
}

/// Present in saved baselines only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineInfo {
    pub name: String,
    pub saved: String,
    /// One-line description of the machine, from the fingerprint.
    pub machine: String,
    /// Results file the baseline was copied from.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSettings {
    /// `run`, `import` or `ab`.
    pub source: String,
    pub quick: bool,
    /// Arguments passed to every criterion binary after `--`.
    pub criterion_args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryStatus {
    Ran,
    Skipped,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryRecord {
    pub matrix: String,
    pub status: EntryStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub suites: Vec<String>,
    /// Suites this entry deliberately did not run (`[package.metadata.perf-gate]`
    /// of `benches/Cargo.toml`), each with its reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_suites: Vec<SkippedSuite>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedSuite {
    pub suite: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThroughputUnit {
    Bytes,
    Elements,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throughput {
    pub unit: ThroughputUnit,
    /// Amount processed by one iteration of the benchmarked routine.
    pub per_iteration: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchmarkRecord {
    pub matrix: String,
    pub suite: String,
    /// Criterion's `full_id` (`group/function/value`).
    pub id: String,
    pub group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The parameter (criterion `value_str`), shown as "size" in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Throughput>,
    /// Criterion's sampling mode (`Linear` or `Flat`).
    pub sampling_mode: String,
    pub iters: Vec<f64>,
    /// Per-iteration time of each sample, nanoseconds.
    pub sample_ns: Vec<f64>,
    /// The process (criterion run) each sample came from, parallel to
    /// `sample_ns`; empty when all came from one process. `perf-gate ab`
    /// numbers its rounds here, and `compare` then treats the process, not
    /// the sample, as the unit of replication.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<u32>,
}

/// Identity of a benchmark across files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BenchKey {
    pub matrix: String,
    pub suite: String,
    pub id: String,
}

impl fmt::Display for BenchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.matrix, self.suite, self.id)
    }
}

impl BenchmarkRecord {
    /// Mean time per iteration of each process, in process order, when the
    /// samples come from two or more processes.
    pub fn run_means(&self) -> Option<Vec<f64>> {
        if self.runs.len() != self.sample_ns.len() {
            return None;
        }
        let mut by_run: std::collections::BTreeMap<u32, (f64, usize)> = Default::default();
        for (&r, &x) in self.runs.iter().zip(&self.sample_ns) {
            let e = by_run.entry(r).or_default();
            e.0 += x;
            e.1 += 1;
        }
        (by_run.len() >= 2).then(|| by_run.values().map(|(s, n)| s / *n as f64).collect())
    }

    pub fn key(&self) -> BenchKey {
        BenchKey {
            matrix: self.matrix.clone(),
            suite: self.suite.clone(),
            id: self.id.clone(),
        }
    }
}

impl ResultsFile {
    pub fn new(
        fingerprint: Fingerprint,
        settings: RunSettings,
        commands: Vec<String>,
        entries: Vec<EntryRecord>,
        benchmarks: Vec<BenchmarkRecord>,
    ) -> Self {
        ResultsFile {
            schema: SCHEMA.to_string(),
            schema_version: SCHEMA_VERSION,
            tool: tool_name(),
            created: crate::fingerprint::now_rfc3339(),
            baseline: None,
            fingerprint,
            settings,
            commands,
            entries,
            benchmarks,
        }
    }

    /// A short label for reports: the baseline name, else the git commit.
    pub fn label(&self) -> String {
        if let Some(b) = &self.baseline {
            return format!("baseline {}", b.name);
        }
        match &self.fingerprint.git {
            Some(g) => format!(
                "{}{}",
                &g.commit[..g.commit.len().min(10)],
                if g.dirty { " (dirty)" } else { "" }
            ),
            None => "current".to_string(),
        }
    }
}

pub fn tool_name() -> String {
    format!("perf-gate {}", env!("CARGO_PKG_VERSION"))
}

/// Adds the samples of `rec`, measured in process `round` (a run of
/// `perf-gate run --runs` or a round of `ab`), to `into`, numbering them so
/// that `compare` can use one mean per process.
pub fn pool_run(
    into: &mut std::collections::BTreeMap<BenchKey, BenchmarkRecord>,
    mut rec: BenchmarkRecord,
    round: u32,
) {
    let n = rec.sample_ns.len();
    match into.get_mut(&rec.key()) {
        Some(existing) => {
            existing.iters.extend(rec.iters);
            existing.sample_ns.extend(rec.sample_ns);
            existing.runs.extend(std::iter::repeat_n(round, n));
        }
        None => {
            rec.runs = vec![round; n];
            into.insert(rec.key(), rec);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(sample_ns: Vec<f64>, runs: Vec<u32>) -> BenchmarkRecord {
        BenchmarkRecord {
            matrix: "m".into(),
            suite: "s".into(),
            id: "g/f/1".into(),
            group: "g".into(),
            function: None,
            value: None,
            throughput: None,
            sampling_mode: "Flat".into(),
            iters: vec![1.0; sample_ns.len()],
            sample_ns,
            runs,
        }
    }

    #[test]
    fn run_means_need_two_processes_and_matching_lengths() {
        let r = rec(vec![1.0, 3.0, 10.0, 20.0, 30.0], vec![0, 0, 1, 1, 1]);
        assert_eq!(r.run_means(), Some(vec![2.0, 20.0]));
        assert_eq!(rec(vec![1.0, 2.0], vec![4, 4]).run_means(), None);
        assert_eq!(rec(vec![1.0, 2.0], vec![]).run_means(), None);
        assert_eq!(rec(vec![1.0, 2.0], vec![0]).run_means(), None);
    }
}
