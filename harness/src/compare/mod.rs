//! Baseline vs current: pairs benchmarks, tests each pair, corrects the
//! p-values across all pairs, classifies, and decides the gate.

pub mod classify;
pub mod gate;

pub use classify::Class;
pub use gate::Decision;

use crate::config::GateConfig;
use crate::fingerprint::FieldDiff;
use crate::results::{BenchKey, BenchmarkRecord, EntryStatus, ResultsFile, Throughput};
use crate::stats::{adjust, minimum_detectable_difference, welch, Correction, Summary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Settings {
    /// Family-wise (Holm) or false-discovery (BH) level.
    pub alpha: f64,
    /// Default slowdown threshold, percent.
    pub threshold_pct: f64,
    pub correction: Correction,
    /// Power used for the minimum detectable effect.
    pub power: f64,
    /// Level of the reported confidence intervals.
    pub confidence: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            alpha: 0.05,
            threshold_pct: 5.0,
            correction: Correction::Holm,
            power: 0.8,
            confidence: 0.95,
        }
    }
}

/// Mean, standard deviation and count of one side, nanoseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Side {
    pub n: usize,
    pub mean_ns: f64,
    pub sd_ns: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchComparison {
    pub key: BenchKey,
    pub size: Option<String>,
    pub throughput: Option<Throughput>,
    pub baseline: Side,
    pub current: Side,
    /// (current - baseline) / baseline, percent; positive = slower.
    pub delta_pct: f64,
    /// Confidence interval of `delta_pct` (baseline mean taken as reference).
    pub ci_pct: [f64; 2],
    pub t: f64,
    pub df: f64,
    pub p: f64,
    pub p_adjusted: f64,
    /// Smallest change (percent) detected with `power` at the strictest
    /// per-test level the correction may demand (alpha / m).
    pub mde_pct: f64,
    pub threshold_pct: f64,
    pub class: Class,
    /// What `baseline.n` and `current.n` count.
    #[serde(default)]
    pub unit: Unit,
}

/// The unit of replication of a comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Criterion samples of one process per side: the p-value sees only the
    /// scatter within that process.
    #[default]
    Samples,
    /// One mean per process (both sides measured in two or more processes:
    /// `perf-gate ab` rounds, `perf-gate run --runs`): differences between
    /// processes are in it.
    Processes,
}

/// A benchmark that could not be tested, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Untested {
    pub key: BenchKey,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    pub settings: Settings,
    /// Most severe first (see [`Class`] order), then largest delta.
    pub items: Vec<BenchComparison>,
    pub only_in_baseline: Vec<BenchKey>,
    pub only_in_current: Vec<BenchKey>,
    pub untested: Vec<Untested>,
    /// Matrix entries of the current run that were skipped or failed.
    pub skipped_entries: Vec<(String, String)>,
    pub fingerprint_diffs: Vec<FieldDiff>,
    pub decision: Decision,
}

impl Comparison {
    pub fn regressions(&self) -> impl Iterator<Item = &BenchComparison> {
        self.items.iter().filter(|c| c.class.is_regression())
    }

    pub fn count(&self, class: Class) -> usize {
        self.items.iter().filter(|c| c.class == class).count()
    }
}

struct Tested {
    key: BenchKey,
    rec: BenchmarkRecord,
    a: Summary,
    b: Summary,
    unit: Unit,
}

/// Compares `current` against `baseline` under `settings` and `config`
/// thresholds.
pub fn compare(
    baseline: &ResultsFile,
    current: &ResultsFile,
    settings: &Settings,
    config: &GateConfig,
) -> Comparison {
    let base: BTreeMap<BenchKey, &BenchmarkRecord> =
        baseline.benchmarks.iter().map(|b| (b.key(), b)).collect();
    let cur: BTreeMap<BenchKey, &BenchmarkRecord> =
        current.benchmarks.iter().map(|b| (b.key(), b)).collect();

    let only_in_baseline = base
        .keys()
        .filter(|k| !cur.contains_key(k))
        .cloned()
        .collect();
    let only_in_current = cur
        .keys()
        .filter(|k| !base.contains_key(k))
        .cloned()
        .collect();

    let mut untested = Vec::new();
    let mut tested = Vec::new();
    for (key, b) in &cur {
        let Some(a) = base.get(key) else { continue };
        let (xa, xb, unit) = match (a.run_means(), b.run_means()) {
            (Some(ra), Some(rb)) => (ra, rb, Unit::Processes),
            _ => (a.sample_ns.clone(), b.sample_ns.clone(), Unit::Samples),
        };
        match (Summary::of(&xa), Summary::of(&xb)) {
            (Some(sa), Some(sb)) => tested.push(Tested {
                key: key.clone(),
                rec: (*b).clone(),
                a: sa,
                b: sb,
                unit,
            }),
            _ => untested.push(Untested {
                key: key.clone(),
                reason: format!(
                    "needs at least 2 samples per side (baseline {}, current {})",
                    a.sample_ns.len(),
                    b.sample_ns.len()
                ),
            }),
        }
    }

    let tests: Vec<_> = tested.iter().map(|t| welch(&t.a, &t.b)).collect();
    let raw_p: Vec<f64> = tests.iter().map(|w| w.p).collect();
    let adjusted = adjust(&raw_p, settings.correction);
    let m = tests.len().max(1) as f64;
    let strictest_alpha = match settings.correction {
        Correction::None => settings.alpha,
        Correction::Holm | Correction::BenjaminiHochberg => settings.alpha / m,
    };

    let mut items: Vec<BenchComparison> = tested
        .into_iter()
        .zip(tests)
        .zip(adjusted)
        .map(|((t, w), p_adjusted)| {
            let reference = t.a.mean;
            let pct = |x: f64| 100.0 * x / reference;
            let (lo, hi) = w.confidence_interval(settings.confidence);
            let mde = minimum_detectable_difference(w.se, w.df, strictest_alpha, settings.power);
            let threshold_pct = config.threshold_for(&t.key, settings.threshold_pct);
            let delta_pct = pct(w.diff);
            let significant = p_adjusted < settings.alpha;
            BenchComparison {
                size: t
                    .rec
                    .value
                    .clone()
                    .or_else(|| t.rec.throughput.map(|tp| tp.per_iteration.to_string())),
                throughput: t.rec.throughput,
                baseline: side(&t.a),
                current: side(&t.b),
                delta_pct,
                ci_pct: [pct(lo), pct(hi)],
                t: w.t,
                df: w.df,
                p: w.p,
                p_adjusted,
                mde_pct: pct(mde),
                threshold_pct,
                class: classify::classify(delta_pct, pct(hi), significant, pct(mde), threshold_pct),
                unit: t.unit,
                key: t.key,
            }
        })
        .collect();
    items.sort_by(|x, y| {
        x.class
            .cmp(&y.class)
            .then(y.delta_pct.total_cmp(&x.delta_pct))
            .then(x.key.cmp(&y.key))
    });

    let mut skipped_entries: Vec<(String, String)> = current
        .entries
        .iter()
        .filter(|e| e.status != EntryStatus::Ran)
        .map(|e| {
            (
                e.matrix.clone(),
                format!(
                    "{}: {}",
                    match e.status {
                        EntryStatus::Failed => "failed",
                        _ => "skipped",
                    },
                    e.reason.as_deref().unwrap_or("no reason recorded")
                ),
            )
        })
        .collect();
    skipped_entries.extend(current.entries.iter().flat_map(|e| {
        e.skipped_suites.iter().map(|s| {
            (
                format!("{} {}", e.matrix, s.suite),
                format!("not run by design: {}", s.reason),
            )
        })
    }));

    let decision = gate::decide(&items);
    Comparison {
        settings: *settings,
        items,
        only_in_baseline,
        only_in_current,
        untested,
        skipped_entries,
        fingerprint_diffs: baseline.fingerprint.differences(&current.fingerprint),
        decision,
    }
}

fn side(s: &Summary) -> Side {
    Side {
        n: s.n,
        mean_ns: s.mean,
        sd_ns: s.sd(),
    }
}
