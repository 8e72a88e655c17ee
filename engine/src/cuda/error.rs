//! Typed errors of the CUDA backend.
//!
//! Every variant says which step failed and, for kernels, the kernel name and
//! the launch shape, so a failure report on a machine we cannot reach is
//! enough to reproduce the call. Driver and NVRTC errors are kept as text:
//! the enum must also exist (and compare) when the `gpu` feature is off.

use super::launch::LaunchShape;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum CudaError {
    /// The crate was built without the `gpu` feature.
    #[error("CUDA support is not compiled in (build with --features gpu)")]
    NotCompiledIn,
    /// `libcuda` could not be loaded: no NVIDIA driver on this machine.
    #[error("no CUDA driver: none of {searched:?} could be loaded")]
    NoDriver { searched: Vec<String> },
    /// The driver loaded but reports no (or not this) device.
    #[error("no CUDA device with ordinal {ordinal} ({count} device(s) present)")]
    NoDevice { ordinal: usize, count: usize },
    /// `libnvrtc` could not be loaded, so kernels cannot be compiled.
    #[error(
        "NVRTC missing: none of {searched:?} could be loaded \
         (set BITNET_NVRTC_DIR to the directory holding libnvrtc, e.g. from the \
         nvidia-cuda-nvrtc-cu12 wheel)"
    )]
    NvrtcMissing { searched: Vec<String> },
    /// NVRTC rejected a kernel source (or warned: warnings are errors here).
    #[error("NVRTC failed to compile {file} for {arch}: {log}")]
    Compile {
        file: &'static str,
        arch: String,
        log: String,
    },
    /// A driver call outside a kernel launch failed (context, copy, module load).
    #[error("CUDA driver error during {op}: {detail}")]
    Driver { op: String, detail: String },
    /// A kernel launch (or the synchronisation right after it) failed.
    #[error("CUDA kernel {kernel} failed with launch shape {shape}: {detail}")]
    Launch {
        kernel: &'static str,
        shape: LaunchShape,
        detail: String,
    },
    /// Arguments rejected before anything reached the device.
    #[error("{kernel}: {detail}")]
    Shape {
        kernel: &'static str,
        detail: String,
    },
    /// A kernel found invalid packed data (e.g. the unused 2-bit code 3).
    #[error("{kernel}: invalid packed data: {detail}")]
    Corrupt {
        kernel: &'static str,
        detail: String,
    },
    #[error(transparent)]
    Quant(#[from] crate::quant::QuantError),
}

impl CudaError {
    pub(crate) fn shape(kernel: &'static str, detail: impl Into<String>) -> Self {
        CudaError::Shape {
            kernel,
            detail: detail.into(),
        }
    }
}
