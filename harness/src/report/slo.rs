//! Service-level objectives: the gate itself, the accuracy checks, and any
//! `[[slo]]` entries of `perf-gate.toml`, each evaluated on measured data.

use super::accuracy::AccuracyReport;
use super::format;
use crate::compare::Comparison;
use crate::config::{GateConfig, Pattern};
use crate::results::{ResultsFile, ThroughputUnit};
use crate::stats::Summary;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SloStatus {
    Met,
    Missed,
    NotMeasured,
}

impl SloStatus {
    pub fn label(self) -> &'static str {
        match self {
            SloStatus::Met => "✅ met",
            SloStatus::Missed => "❌ missed",
            SloStatus::NotMeasured => "⏸️ not measured",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SloResult {
    pub name: String,
    pub target: String,
    pub measured: String,
    pub status: SloStatus,
}

pub fn evaluate(
    config: &GateConfig,
    current: &ResultsFile,
    comparison: &Comparison,
    accuracy: Option<&AccuracyReport>,
) -> Vec<SloResult> {
    let mut out = Vec::new();
    let regressions = comparison.regressions().count();
    out.push(SloResult {
        name: "No significant slowdown beyond threshold".into(),
        target: format!(
            "0 benchmarks with {}-corrected p < {} and delta > threshold (default {}%)",
            comparison.settings.correction,
            comparison.settings.alpha,
            comparison.settings.threshold_pct
        ),
        measured: format!(
            "{regressions} of {} compared benchmarks",
            comparison.items.len()
        ),
        status: if comparison.items.is_empty() {
            SloStatus::NotMeasured
        } else if regressions == 0 {
            SloStatus::Met
        } else {
            SloStatus::Missed
        },
    });
    out.push(match accuracy {
        Some(acc) => SloResult {
            name: "Accuracy checks".into(),
            target: "every check passes".into(),
            measured: format!(
                "{} of {} passed",
                acc.checks.len() - acc.failed(),
                acc.checks.len()
            ),
            status: if acc.failed() == 0 {
                SloStatus::Met
            } else {
                SloStatus::Missed
            },
        },
        None => SloResult {
            name: "Accuracy checks".into(),
            target: "every check passes".into(),
            measured: "not provided (no --accuracy file)".into(),
            status: SloStatus::NotMeasured,
        },
    });
    for spec in &config.slos {
        let Ok(pattern) = Pattern::parse(&spec.benchmark) else {
            continue;
        };
        let matched: Vec<_> = current
            .benchmarks
            .iter()
            .filter(|b| spec.matrix.is_none() || spec.matrix.as_deref() == Some(b.matrix.as_str()))
            .filter(|b| pattern.matches(&b.key()))
            .filter_map(|b| Summary::of(&b.sample_ns).map(|s| (b, s.mean)))
            .collect();
        let mut targets = Vec::new();
        if let Some(ms) = spec.max_time_ms {
            targets.push(format!("mean time <= {}", format::time(ms * 1e6)));
        }
        if let Some(tp) = spec.min_throughput {
            targets.push(format!("throughput >= {tp:.3e}/s"));
        }
        let target = format!("{} ({})", targets.join(", "), spec.benchmark);
        if matched.is_empty() {
            out.push(SloResult {
                name: spec.name.clone(),
                target,
                measured: "no matching benchmark in this run".into(),
                status: SloStatus::NotMeasured,
            });
            continue;
        }
        let mut ok = true;
        let mut measured = Vec::new();
        // Report the worst matched benchmark for each bound.
        if let Some(ms) = spec.max_time_ms {
            let (b, worst) = matched
                .iter()
                .max_by(|x, y| x.1.total_cmp(&y.1))
                .expect("non-empty");
            ok &= *worst <= ms * 1e6;
            measured.push(format!("slowest {} = {}", b.id, format::time(*worst)));
        }
        if let Some(min) = spec.min_throughput {
            let rates: Vec<_> = matched
                .iter()
                .filter_map(|(b, mean)| {
                    b.throughput
                        .map(|t| (b, t.unit, t.per_iteration as f64 / (mean * 1e-9)))
                })
                .collect();
            match rates.iter().min_by(|x, y| x.2.total_cmp(&y.2)) {
                Some((b, unit, rate)) => {
                    ok &= *rate >= min;
                    let unit = match unit {
                        ThroughputUnit::Bytes => "B/s",
                        ThroughputUnit::Elements => "elem/s",
                    };
                    measured.push(format!("lowest {} = {rate:.3e} {unit}", b.id));
                }
                None => {
                    ok = false;
                    measured.push("matched benchmarks declare no throughput".into());
                }
            }
        }
        out.push(SloResult {
            name: spec.name.clone(),
            target,
            measured: measured.join("; "),
            status: if ok {
                SloStatus::Met
            } else {
                SloStatus::Missed
            },
        });
    }
    out
}
