//! `perf-gate.toml`: optional per-benchmark thresholds and SLOs.
//!
//! ```toml
//! [gate]                    # defaults; command-line flags win
//! threshold = 5.0           # percent slowdown that fails the gate
//! alpha = 0.05
//! correction = "holm"       # holm | bh | none
//!
//! [[threshold]]             # first matching rule wins
//! pattern = "inference/*"   # glob, or a plain prefix, over "suite/id"
//! matrix = "gpu"            # optional: only this matrix entry
//! percent = 10.0
//!
//! [[slo]]
//! name = "I2S quantize 1M elements"
//! benchmark = "quantization/quantize/i2s/1048576"
//! matrix = "cpu-avx2"       # optional
//! max_time_ms = 5.0         # and/or
//! min_throughput = 2.0e8    # per second, in the benchmark's throughput unit
//! ```

use crate::error::{GateError, Result};
use crate::results::BenchKey;
use crate::stats::Correction;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const DEFAULT_FILE: &str = "perf-gate.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    gate: GateDefaults,
    #[serde(default)]
    threshold: Vec<RawRule>,
    #[serde(default)]
    slo: Vec<SloSpec>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateDefaults {
    pub threshold: Option<f64>,
    pub alpha: Option<f64>,
    pub correction: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    pattern: String,
    matrix: Option<String>,
    percent: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    pub name: String,
    pub benchmark: String,
    pub matrix: Option<String>,
    pub max_time_ms: Option<f64>,
    pub min_throughput: Option<f64>,
}

/// A benchmark pattern: a glob when it has glob characters, else a prefix.
#[derive(Debug, Clone)]
pub enum Pattern {
    Glob(globset::GlobMatcher),
    Prefix(String),
}

impl Pattern {
    pub fn parse(text: &str) -> std::result::Result<Pattern, String> {
        if text.contains(['*', '?', '[', '{']) {
            globset::Glob::new(text)
                .map(|g| Pattern::Glob(g.compile_matcher()))
                .map_err(|e| format!("bad glob '{text}': {e}"))
        } else {
            Ok(Pattern::Prefix(text.to_string()))
        }
    }

    /// Matches `suite/id` of `key` (and the bare id, so patterns need not
    /// name the suite).
    pub fn matches(&self, key: &BenchKey) -> bool {
        let full = format!("{}/{}", key.suite, key.id);
        match self {
            Pattern::Glob(g) => g.is_match(&full) || g.is_match(&key.id),
            Pattern::Prefix(p) => full.starts_with(p) || key.id.starts_with(p),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ThresholdRule {
    pub pattern_text: String,
    pub pattern: Pattern,
    pub matrix: Option<String>,
    pub percent: f64,
}

#[derive(Debug, Clone, Default)]
pub struct GateConfig {
    pub path: Option<PathBuf>,
    pub defaults: GateDefaults,
    pub rules: Vec<ThresholdRule>,
    pub slos: Vec<SloSpec>,
}

impl GateConfig {
    /// Loads `explicit` if given (must exist), else `<root>/perf-gate.toml`
    /// if present, else the empty configuration.
    pub fn load(explicit: Option<&Path>, root: &Path) -> Result<GateConfig> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = root.join(DEFAULT_FILE);
                if !p.exists() {
                    return Ok(GateConfig::default());
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|source| GateError::Read {
            path: path.clone(),
            source,
        })?;
        Self::parse(&text)
            .map_err(|problem| GateError::Config {
                path: path.clone(),
                problem,
            })
            .map(|mut c| {
                c.path = Some(path);
                c
            })
    }

    pub fn parse(text: &str) -> std::result::Result<GateConfig, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(c) = &raw.gate.correction {
            c.parse::<Correction>()?;
        }
        check_percent("gate.threshold", raw.gate.threshold)?;
        if let Some(a) = raw.gate.alpha {
            if !(a > 0.0 && a < 1.0) {
                return Err(format!("gate.alpha must be in (0, 1), got {a}"));
            }
        }
        let mut rules = Vec::new();
        for r in raw.threshold {
            check_percent(&format!("threshold '{}'", r.pattern), Some(r.percent))?;
            rules.push(ThresholdRule {
                pattern: Pattern::parse(&r.pattern)?,
                pattern_text: r.pattern,
                matrix: r.matrix,
                percent: r.percent,
            });
        }
        for s in &raw.slo {
            Pattern::parse(&s.benchmark)?;
            if s.max_time_ms.is_none() && s.min_throughput.is_none() {
                return Err(format!(
                    "slo '{}' needs max_time_ms or min_throughput",
                    s.name
                ));
            }
        }
        Ok(GateConfig {
            path: None,
            defaults: raw.gate,
            rules,
            slos: raw.slo,
        })
    }

    /// Threshold (percent) for `key`: the first matching rule, else `default`.
    pub fn threshold_for(&self, key: &BenchKey, default: f64) -> f64 {
        self.rules
            .iter()
            .find(|r| {
                let matrix_ok = match &r.matrix {
                    Some(m) => *m == key.matrix,
                    None => true,
                };
                matrix_ok && r.pattern.matches(key)
            })
            .map_or(default, |r| r.percent)
    }
}

fn check_percent(what: &str, v: Option<f64>) -> std::result::Result<(), String> {
    match v {
        Some(p) if !(p > 0.0 && p.is_finite()) => {
            Err(format!("{what} must be a positive percentage, got {p}"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(matrix: &str, suite: &str, id: &str) -> BenchKey {
        BenchKey {
            matrix: matrix.into(),
            suite: suite.into(),
            id: id.into(),
        }
    }

    #[test]
    fn first_matching_rule_wins() {
        let c = GateConfig::parse(
            r#"
            [[threshold]]
            pattern = "inference/*"
            matrix = "gpu"
            percent = 20.0
            [[threshold]]
            pattern = "inference/"
            percent = 10.0
            [[threshold]]
            pattern = "i2s/*/4096"
            percent = 7.5
            "#,
        )
        .unwrap();
        assert_eq!(
            c.threshold_for(&key("gpu", "inference", "decode/1"), 5.0),
            20.0
        );
        assert_eq!(
            c.threshold_for(&key("cpu-avx2", "inference", "decode/1"), 5.0),
            10.0
        );
        assert_eq!(
            c.threshold_for(&key("cpu-avx2", "kernels", "i2s/gemv/4096"), 5.0),
            7.5
        );
        assert_eq!(
            c.threshold_for(&key("cpu-avx2", "kernels", "tl1/gemv/4096"), 5.0),
            5.0
        );
    }

    #[test]
    fn rejects_bad_config() {
        for bad in [
            "[[threshold]]\npattern = \"x\"\npercent = -1.0\n",
            "[gate]\ncorrection = \"sidak\"\n",
            "[gate]\nalpha = 1.5\n",
            "[[slo]]\nname = \"a\"\nbenchmark = \"x\"\n",
            "[[threshold]]\npattern = \"a[\"\npercent = 1.0\n",
            "unknown_key = 1\n",
        ] {
            assert!(GateConfig::parse(bad).is_err(), "{bad}");
        }
    }
}
