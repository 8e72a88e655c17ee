//! Device selection: `--device auto|cpu|cuda[:N]`.
//!
//! * `cpu` always runs on the CPU.
//! * `cuda[:N]` opens device `N` (default 0), compiles and loads every kernel
//!   and runs a smoke launch; any failure is returned as a typed
//!   [`CudaError`]. It never falls back silently.
//! * `auto` does the same for device 0 and, if anything fails, uses the CPU
//!   and logs exactly one line naming the reason (not compiled in, no driver,
//!   no device, NVRTC missing, compile error, launch error, driver error).
//!   Falling back is a decision that is reported, not a crash.

use crate::cuda::{CudaBackend, CudaError};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use thiserror::Error;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeviceSpec {
    #[default]
    Auto,
    Cpu,
    Cuda(usize),
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid device '{0}' (expected auto, cpu, cuda or cuda:N)")]
pub struct ParseDeviceError(pub String);

impl FromStr for DeviceSpec {
    type Err = ParseDeviceError;
    fn from_str(s: &str) -> Result<Self, ParseDeviceError> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "auto" => Ok(DeviceSpec::Auto),
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" | "gpu" => Ok(DeviceSpec::Cuda(0)),
            _ => t
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceSpec::Cuda)
                .ok_or_else(|| ParseDeviceError(s.to_string())),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Auto => f.write_str("auto"),
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// Where the engine runs.
#[derive(Debug, Clone)]
pub enum Device {
    Cpu,
    Cuda(Arc<CudaBackend>),
}

impl Device {
    pub fn is_cuda(&self) -> bool {
        matches!(self, Device::Cuda(_))
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(b) => write!(f, "cuda:{} ({}, {})", b.ordinal(), b.name(), b.arch()),
        }
    }
}

/// Short name of why CUDA could not be used (the fallback log line's reason).
pub fn reason(e: &CudaError) -> &'static str {
    match e {
        CudaError::NotCompiledIn => "not compiled in",
        CudaError::NoDriver { .. } => "no driver",
        CudaError::NoDevice { .. } => "no device",
        CudaError::NvrtcMissing { .. } => "NVRTC missing",
        CudaError::Compile { .. } => "compile error",
        CudaError::Launch { .. } | CudaError::Corrupt { .. } => "launch error",
        CudaError::Driver { .. } | CudaError::Shape { .. } | CudaError::Quant(_) => "driver error",
    }
}

/// Opens a device ready to run: context, every kernel compiled and loaded,
/// and one smoke launch checked against the host.
pub fn open_cuda(ordinal: usize) -> Result<CudaBackend, CudaError> {
    let b = CudaBackend::new(ordinal)?;
    b.load_all()?;
    b.self_test()?;
    Ok(b)
}

/// [`select_with`] using [`open_cuda`] and logging to stderr.
pub fn select(spec: DeviceSpec) -> Result<Device, CudaError> {
    select_with(spec, open_cuda, &mut |line| eprintln!("{line}"))
}

/// Resolves `spec`; `open` opens a CUDA device, `log` receives the single
/// fallback line of `auto`.
pub fn select_with(
    spec: DeviceSpec,
    open: impl FnOnce(usize) -> Result<CudaBackend, CudaError>,
    log: &mut dyn FnMut(&str),
) -> Result<Device, CudaError> {
    match spec {
        DeviceSpec::Cpu => Ok(Device::Cpu),
        DeviceSpec::Cuda(n) => Ok(Device::Cuda(Arc::new(open(n)?))),
        DeviceSpec::Auto => match open(0) {
            Ok(b) => Ok(Device::Cuda(Arc::new(b))),
            Err(e) => {
                log(&format!(
                    "bitnet: device auto: using CPU, CUDA unavailable ({}): {e}",
                    reason(&e)
                ));
                Ok(Device::Cpu)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print() {
        for (s, d) in [
            ("auto", DeviceSpec::Auto),
            ("CPU", DeviceSpec::Cpu),
            ("cuda", DeviceSpec::Cuda(0)),
            ("cuda:3", DeviceSpec::Cuda(3)),
        ] {
            assert_eq!(s.parse::<DeviceSpec>().unwrap(), d);
        }
        assert_eq!(DeviceSpec::Cuda(2).to_string(), "cuda:2");
        for bad in ["cuda:", "cuda:x", "tpu", "cuda:-1", ""] {
            assert_eq!(
                bad.parse::<DeviceSpec>(),
                Err(ParseDeviceError(bad.to_string()))
            );
        }
    }

    #[test]
    fn auto_falls_back_with_exactly_one_line_naming_the_reason() {
        let cases = [
            (CudaError::NotCompiledIn, "not compiled in"),
            (
                CudaError::NoDriver {
                    searched: vec!["libcuda.so.1".into()],
                },
                "no driver",
            ),
            (
                CudaError::NoDevice {
                    ordinal: 0,
                    count: 0,
                },
                "no device",
            ),
            (
                CudaError::NvrtcMissing { searched: vec![] },
                "NVRTC missing",
            ),
            (
                CudaError::Compile {
                    file: "quant.cu",
                    arch: "compute_80".into(),
                    log: "error".into(),
                },
                "compile error",
            ),
        ];
        for (e, why) in cases {
            let message = e.to_string();
            let mut lines = Vec::new();
            let d = select_with(DeviceSpec::Auto, move |_| Err(e), &mut |l| {
                lines.push(l.to_string())
            })
            .unwrap();
            assert!(!d.is_cuda());
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(lines[0].contains(why), "{}", lines[0]);
            assert!(lines[0].contains(&message), "{}", lines[0]);
        }
    }

    #[test]
    fn explicit_cuda_never_falls_back() {
        let mut lines = Vec::new();
        let e = select_with(
            DeviceSpec::Cuda(1),
            |n| {
                Err(CudaError::NoDevice {
                    ordinal: n,
                    count: 1,
                })
            },
            &mut |l| lines.push(l.to_string()),
        )
        .unwrap_err();
        assert_eq!(
            e,
            CudaError::NoDevice {
                ordinal: 1,
                count: 1
            }
        );
        assert!(lines.is_empty());
    }

    #[test]
    fn cpu_never_touches_cuda() {
        let d = select_with(
            DeviceSpec::Cpu,
            |_| -> Result<CudaBackend, CudaError> { unreachable!("cpu must not open CUDA") },
            &mut |_| unreachable!("no log for cpu"),
        )
        .unwrap();
        assert_eq!(d.to_string(), "cpu");
    }

    #[test]
    fn real_selection_without_a_gpu_is_a_decision_not_a_crash() {
        // On machines with a working GPU this opens it; elsewhere auto must
        // fall back and cuda must fail with a typed error.
        match open_cuda(0) {
            Ok(_) => assert!(select(DeviceSpec::Auto).unwrap().is_cuda()),
            Err(e) => {
                let mut lines = Vec::new();
                let d = select_with(DeviceSpec::Auto, open_cuda, &mut |l| {
                    lines.push(l.to_string())
                })
                .unwrap();
                assert!(!d.is_cuda());
                assert_eq!(lines.len(), 1);
                assert!(lines[0].contains(reason(&e)));
                println!("{}", lines[0]);
                assert!(select(DeviceSpec::Cuda(0)).is_err());
            }
        }
    }
}
