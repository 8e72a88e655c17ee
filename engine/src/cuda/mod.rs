//! CUDA backend through cudarc: kernels in CUDA C (`kernels/*.cu`), compiled
//! at run time with NVRTC for the device's architecture and cached per
//! process; typed errors naming the kernel and launch shape.
//!
//! The crate builds and tests on machines without a CUDA toolkit, driver or
//! GPU: cudarc loads `libcuda` / `libnvrtc` dynamically (see `libs.rs`), and
//! without the `gpu` feature a stub with the same API returns
//! [`CudaError::NotCompiledIn`] (candle's `dummy_cuda` pattern), so callers
//! never need `cfg`.
//!
//! | module            | job                                              | needs `gpu` |
//! |-------------------|--------------------------------------------------|-------------|
//! | [`error`]         | [`CudaError`]                                    | no          |
//! | [`layout`]        | the W2 weight layout and its repacking           | no          |
//! | [`launch`]        | launch-shape math, tile sizes, hardware limits   | no          |
//! | [`params`]        | enums and constants shared with the kernels      | no          |
//! | [`source`]        | kernel sources + `#define`s from the Rust tables | no          |
//! | `libs`, `compile` | library probing, NVRTC + cache                   | yes         |
//! | `backend`         | [`CudaBackend`]: buffers, quant, matmul, forward | yes         |

pub mod error;
pub mod launch;
pub mod layout;
pub mod params;
pub mod source;

#[cfg(feature = "gpu")]
mod backend;
#[cfg(feature = "gpu")]
mod compile;
#[cfg(feature = "gpu")]
mod libs;
#[cfg(not(feature = "gpu"))]
mod stub;

#[cfg(feature = "gpu")]
pub use backend::{
    compile_ptx, device_count, nvrtc_version, CudaBackend, GpuActs, GpuBuffer, GpuElem, GpuTernary,
    KvCache, SYNC_ENV,
};
#[cfg(feature = "gpu")]
pub use libs::NVRTC_DIR_ENV;
#[cfg(not(feature = "gpu"))]
pub use stub::{
    compile_ptx, device_count, nvrtc_version, CudaBackend, GpuActs, GpuBuffer, GpuElem, GpuTernary,
    KvCache, NVRTC_DIR_ENV, SYNC_ENV,
};

pub use error::CudaError;
pub use params::{Arch, GatedAct, RopeStyle};
pub use source::Module;

/// Whether this build contains the CUDA backend.
pub const COMPILED_IN: bool = cfg!(feature = "gpu");
