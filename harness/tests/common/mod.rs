//! Fixtures for the integration tests: criterion output directories and
//! results files with a known noise model.
#![allow(dead_code)]

use perf_gate::fingerprint::Fingerprint;
use perf_gate::results::{
    BenchmarkRecord, EntryRecord, EntryStatus, ResultsFile, RunSettings, Throughput, ThroughputUnit,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use std::path::Path;

/// Noise model of one benchmark run (see tests/simulation.rs for why).
#[derive(Clone, Copy)]
pub struct Noise {
    /// Within-run log-normal sigma of each sample (~ its CV).
    pub sample_sigma: f64,
    /// Probability that a sample is hit by an interruption.
    pub outlier_rate: f64,
    /// Interruption slows that sample by a factor uniform in [1.1, 1.5].
    pub outlier_max: f64,
}

impl Noise {
    pub const TYPICAL: Noise = Noise {
        sample_sigma: 0.03,
        outlier_rate: 0.02,
        outlier_max: 1.5,
    };
}

/// Criterion-like samples: linear plan iters = d, 2d, ..., n*d; returns
/// (iters, total times in ns).
pub fn samples(rng: &mut StdRng, mean_ns: f64, n: usize, noise: Noise) -> (Vec<f64>, Vec<f64>) {
    let d = (1e6 / mean_ns).ceil().max(1.0);
    let z = Normal::new(0.0, noise.sample_sigma).unwrap();
    let mut iters = Vec::with_capacity(n);
    let mut times = Vec::with_capacity(n);
    for i in 1..=n {
        let it = d * i as f64;
        let mut per_iter = mean_ns * z.sample(rng).exp();
        if rng.gen::<f64>() < noise.outlier_rate {
            per_iter *= rng.gen_range(1.1..noise.outlier_max);
        }
        iters.push(it);
        times.push(per_iter * it);
    }
    (iters, times)
}

pub fn record(
    matrix: &str,
    suite: &str,
    id: &str,
    iters: Vec<f64>,
    times: Vec<f64>,
) -> BenchmarkRecord {
    let sample_ns = times.iter().zip(&iters).map(|(t, n)| t / n).collect();
    let (group, rest) = id.split_once('/').unwrap_or((id, ""));
    BenchmarkRecord {
        matrix: matrix.into(),
        suite: suite.into(),
        id: id.into(),
        group: group.into(),
        function: None,
        value: (!rest.is_empty()).then(|| rest.to_string()),
        throughput: Some(Throughput {
            unit: ThroughputUnit::Elements,
            per_iteration: 4096,
        }),
        sampling_mode: "Linear".into(),
        iters,
        sample_ns,
        runs: Vec::new(),
    }
}

/// A fingerprint that costs nothing to make (no rustc, no git).
pub fn fixed_fingerprint() -> Fingerprint {
    Fingerprint {
        cpu_model: "Test CPU".into(),
        cpu_flags: vec!["avx2".into(), "fma".into()],
        logical_cores: 2,
        os: "TestOS".into(),
        kernel: "6.0".into(),
        arch: "x86_64".into(),
        rustc: "rustc 1.0.0".into(),
        crate_versions: Default::default(),
        git: None,
        date: "2026-01-01T00:00:00Z".into(),
    }
}

pub fn results(benchmarks: Vec<BenchmarkRecord>) -> ResultsFile {
    ResultsFile::new(
        fixed_fingerprint(),
        RunSettings {
            source: "test".into(),
            quick: false,
            criterion_args: Vec::new(),
        },
        vec!["simulated".into()],
        vec![EntryRecord {
            matrix: "cpu-avx2".into(),
            status: EntryStatus::Ran,
            reason: None,
            suites: vec!["kernels".into()],
            skipped_suites: Vec::new(),
        }],
        benchmarks,
    )
}

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Writes one benchmark in criterion's on-disk layout under `home`.
pub fn write_criterion_bench(home: &Path, full_id: &str, iters: &[f64], times: &[f64]) {
    let parts: Vec<&str> = full_id.split('/').collect();
    let dir = home.join(full_id.replace('/', "_")).join("new");
    std::fs::create_dir_all(&dir).unwrap();
    let bench = serde_json::json!({
        "group_id": parts[0],
        "function_id": parts.get(1),
        "value_str": parts.get(2),
        "throughput": {"Elements": 4096},
        "full_id": full_id,
        "directory_name": full_id.replace('/', "_"),
        "title": full_id,
    });
    std::fs::write(dir.join("benchmark.json"), bench.to_string()).unwrap();
    let sample = serde_json::json!({
        "sampling_mode": "Linear",
        "iters": iters,
        "times": times,
    });
    std::fs::write(dir.join("sample.json"), sample.to_string()).unwrap();
    // criterion keeps the previous run in base/; it must be ignored.
    let base = home.join(full_id.replace('/', "_")).join("base");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::write(base.join("benchmark.json"), "{ not read }").unwrap();
}

/// A criterion directory of `ids` with means 10 µs * (k+1); `slow` maps a
/// benchmark index to a slowdown factor.
pub fn criterion_dir(home: &Path, seed: u64, ids: &[&str], slow: &[(usize, f64)]) {
    let mut r = rng(seed);
    for (k, id) in ids.iter().enumerate() {
        let factor = slow.iter().find(|(i, _)| *i == k).map_or(1.0, |(_, f)| *f);
        let (it, t) = samples(
            &mut r,
            10_000.0 * (k + 1) as f64 * factor,
            100,
            Noise::TYPICAL,
        );
        write_criterion_bench(home, id, &it, &t);
    }
}
