//! The feature matrix: which builds and SIMD levels a run covers.
//!
//! ```text
//! entry        cargo features   environment          runs when                    suites
//! cpu-scalar   -                BITNET_SIMD=scalar   always                       without required-features
//! cpu-avx2     -                BITNET_SIMD=avx2     CPU has AVX2+FMA+F16C        without required-features
//! cpu-avx512   -                BITNET_SIMD=avx512   CPU has AVX-512 F/BW/VL/DQ   without required-features
//! gpu          gpu              -                    a CUDA device is visible     requiring `gpu`
//! ```
//!
//! The gpu entry runs only the suites that need the feature: the CPU suites
//! built with it would measure the same CPU code again.
//!
//! CPU support is decided by the engine's own [`SimdLevel`], so the harness
//! and the kernels can never disagree on what "avx512" means.

use super::suites::Suite;
use crate::results::SkippedSuite;
use engine::cpu::{SimdLevel, SIMD_ENV};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatrixEntry {
    Cpu(SimdLevel),
    Gpu,
}

impl MatrixEntry {
    pub const ALL: [MatrixEntry; 4] = [
        MatrixEntry::Cpu(SimdLevel::Scalar),
        MatrixEntry::Cpu(SimdLevel::Avx2),
        MatrixEntry::Cpu(SimdLevel::Avx512),
        MatrixEntry::Gpu,
    ];

    pub fn name(self) -> String {
        match self {
            MatrixEntry::Cpu(level) => format!("cpu-{}", level.name()),
            MatrixEntry::Gpu => "gpu".to_string(),
        }
    }

    /// Cargo features the suites are built with.
    pub fn features(self) -> Option<&'static str> {
        match self {
            MatrixEntry::Cpu(_) => None,
            MatrixEntry::Gpu => Some("gpu"),
        }
    }

    /// Environment for the benchmark process.
    pub fn env(self) -> Vec<(String, String)> {
        match self {
            MatrixEntry::Cpu(level) => vec![(SIMD_ENV.to_string(), level.name().to_string())],
            MatrixEntry::Gpu => Vec::new(),
        }
    }

    /// Whether this entry runs `suite` (see the table above).
    pub fn runs(self, suite: &Suite) -> bool {
        self.builds(suite) && suite.skip_reason(&self.name()).is_none()
    }

    /// Whether the entry's features build `suite` (whatever its skips say).
    pub fn builds(self, suite: &Suite) -> bool {
        match self.features() {
            None => suite.required_features.is_empty(),
            Some(f) => suite.required_features.iter().any(|r| r == f),
        }
    }

    /// Suites of `selected` that this entry builds but deliberately does not
    /// run, with the reason from `benches/Cargo.toml`.
    pub fn skipped_suites(self, selected: &[Suite]) -> Vec<SkippedSuite> {
        selected
            .iter()
            .filter(|s| self.builds(s))
            .filter_map(|s| {
                s.skip_reason(&self.name()).map(|r| SkippedSuite {
                    suite: s.name.clone(),
                    reason: r.to_string(),
                })
            })
            .collect()
    }

    /// `Err(reason)` when this machine cannot run the entry.
    pub fn availability(self) -> Result<(), String> {
        match self {
            MatrixEntry::Cpu(level) => {
                if level.is_supported() {
                    Ok(())
                } else {
                    Err(format!("this CPU does not support {level}"))
                }
            }
            MatrixEntry::Gpu => cuda_device(),
        }
    }
}

/// A CUDA device is usable when the NVIDIA kernel driver lists a GPU and the
/// driver library `libcuda.so.1` can be found.
fn cuda_device() -> Result<(), String> {
    let gpus = std::fs::read_dir("/proc/driver/nvidia/gpus")
        .map(|d| d.count())
        .unwrap_or(0);
    if gpus == 0 {
        return Err("no CUDA device (no GPU listed in /proc/driver/nvidia/gpus)".into());
    }
    let mut dirs: Vec<String> = std::env::var("LD_LIBRARY_PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    dirs.extend(
        [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib64",
            "/usr/lib",
            "/usr/local/cuda/lib64",
            "/usr/local/nvidia/lib64",
        ]
        .map(String::from),
    );
    if dirs
        .iter()
        .any(|d| Path::new(d).join("libcuda.so.1").exists())
    {
        Ok(())
    } else {
        Err(format!(
            "{gpus} NVIDIA GPU(s) listed but libcuda.so.1 not found (driver library missing)"
        ))
    }
}

impl fmt::Display for MatrixEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for MatrixEntry {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        MatrixEntry::ALL
            .into_iter()
            .find(|e| e.name() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown matrix entry '{s}' (expected one of: {})",
                    MatrixEntry::ALL.map(|e| e.name()).join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_scalar_always_runs() {
        for e in MatrixEntry::ALL {
            assert_eq!(e.name().parse::<MatrixEntry>().unwrap(), e);
        }
        assert!("cpu-sse".parse::<MatrixEntry>().is_err());
        assert!(MatrixEntry::Cpu(SimdLevel::Scalar).availability().is_ok());
        assert_eq!(
            MatrixEntry::Cpu(SimdLevel::Avx2).env(),
            vec![("BITNET_SIMD".to_string(), "avx2".to_string())]
        );
        assert_eq!(MatrixEntry::Gpu.features(), Some("gpu"));
        let cpu_suite = Suite {
            name: "kernels".into(),
            required_features: vec![],
            skip: vec![],
        };
        let gpu_suite = Suite {
            name: "gpu".into(),
            required_features: vec!["gpu".into()],
            skip: vec![],
        };
        let scalar = MatrixEntry::Cpu(SimdLevel::Scalar);
        assert!(scalar.runs(&cpu_suite) && !scalar.runs(&gpu_suite));
        assert!(MatrixEntry::Gpu.runs(&gpu_suite) && !MatrixEntry::Gpu.runs(&cpu_suite));

        let skipped = Suite {
            skip: vec![crate::runner::suites::SuiteSkip {
                matrix: "cpu-scalar".into(),
                reason: "too slow".into(),
            }],
            ..cpu_suite.clone()
        };
        let avx2 = MatrixEntry::Cpu(SimdLevel::Avx2);
        assert!(!scalar.runs(&skipped) && avx2.runs(&skipped));
        let all = [skipped, gpu_suite];
        assert_eq!(
            scalar.skipped_suites(&all),
            vec![SkippedSuite {
                suite: "kernels".into(),
                reason: "too slow".into()
            }]
        );
        assert!(avx2.skipped_suites(&all).is_empty());
        assert!(MatrixEntry::Gpu.skipped_suites(&all).is_empty());
    }
}
