//! Run-time choice of the SIMD level.
//!
//! Every kernel has a scalar reference plus AVX2 and AVX-512 paths. The level
//! is detected once with `is_x86_feature_detected!` and may be forced down
//! with `BITNET_SIMD=scalar|avx2|avx512` so tests and benchmarks can compare
//! paths bit for bit on one machine. Asking for a level the CPU lacks is an
//! error, not a silent downgrade: a benchmark labelled `avx512` must have run
//! AVX-512 code.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// Name of the environment variable that forces a SIMD level.
pub const SIMD_ENV: &str = "BITNET_SIMD";

/// Ordered from least to most capable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    Scalar,
    /// AVX2 + FMA + F16C (and AVX-VNNI when present).
    Avx2,
    /// AVX-512 F/BW/VL/DQ (and AVX512-VNNI when present).
    Avx512,
}

impl SimdLevel {
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512];

    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can execute code compiled for `self`.
    pub fn is_supported(self) -> bool {
        match self {
            SimdLevel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => {
                is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
                    && is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => {
                SimdLevel::Avx2.is_supported()
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("avx512dq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Whether the VNNI dot-product instructions exist at this level.
    pub fn has_vnni(self) -> bool {
        match self {
            SimdLevel::Scalar => false,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => is_x86_feature_detected!("avxvnni"),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => is_x86_feature_detected!("avx512vnni"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Whether this level has AVX-512 VBMI (`vpermt2b`, the 128-entry byte
    /// lookup of the TL1 quad kernel): Ice Lake and Zen 4 on, not Skylake-X.
    pub fn has_vbmi(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => is_x86_feature_detected!("avx512vbmi"),
            _ => false,
        }
    }

    /// The best level this CPU supports.
    pub fn detect_best() -> SimdLevel {
        *SimdLevel::ALL
            .iter()
            .rev()
            .find(|l| l.is_supported())
            .unwrap_or(&SimdLevel::Scalar)
    }

    /// Every level this CPU supports, lowest first.
    pub fn supported() -> Vec<SimdLevel> {
        SimdLevel::ALL
            .into_iter()
            .filter(|l| l.is_supported())
            .collect()
    }

    /// The level kernels use: `BITNET_SIMD` if set (validated), else the best.
    /// Read once per process.
    ///
    /// An invalid or unsupported `BITNET_SIMD` ends the process with exit code
    /// 2 and a message naming the value: the variable is a process-wide
    /// promise about which code runs, and continuing at another level would
    /// make every figure measured afterwards a lie. Binaries call
    /// [`SimdLevel::from_env`] at start-up to report it through their own
    /// error path first; this is the backstop for every other caller.
    pub fn active() -> SimdLevel {
        static ACTIVE: OnceLock<SimdLevel> = OnceLock::new();
        *ACTIVE.get_or_init(|| match Self::from_env() {
            Ok(Some(level)) => level,
            Ok(None) => Self::detect_best(),
            Err(msg) => {
                eprintln!("error: {msg}; refusing to run at another level");
                std::process::exit(2)
            }
        })
    }

    /// Parses `BITNET_SIMD`; `Ok(None)` when unset or empty.
    pub fn from_env() -> Result<Option<SimdLevel>, String> {
        match std::env::var(SIMD_ENV) {
            Ok(v) if !v.trim().is_empty() => {
                let level: SimdLevel = v.parse()?;
                if !level.is_supported() {
                    return Err(format!(
                        "{SIMD_ENV}={v} asks for {level}, which this CPU does not support"
                    ));
                }
                Ok(Some(level))
            }
            _ => Ok(None),
        }
    }
}

impl fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SimdLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scalar" => Ok(SimdLevel::Scalar),
            "avx2" => Ok(SimdLevel::Avx2),
            "avx512" => Ok(SimdLevel::Avx512),
            other => Err(format!(
                "unknown SIMD level '{other}' (expected scalar, avx2 or avx512)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_and_rejects_unknown() {
        for l in SimdLevel::ALL {
            assert_eq!(l.name().parse::<SimdLevel>().unwrap(), l);
        }
        let err = "sse9".parse::<SimdLevel>().unwrap_err();
        assert!(err.contains("sse9"), "{err}");
    }

    #[test]
    fn best_is_supported_and_ordered() {
        let best = SimdLevel::detect_best();
        assert!(best.is_supported());
        assert!(SimdLevel::supported().contains(&best));
        assert!(SimdLevel::Scalar < SimdLevel::Avx2 && SimdLevel::Avx2 < SimdLevel::Avx512);
    }
}
