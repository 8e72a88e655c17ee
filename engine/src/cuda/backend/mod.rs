//! The CUDA backend proper (feature `gpu`): one [`CudaBackend`] per device,
//! holding the context, its stream and the kernels loaded into it.
//!
//! | file          | job                                                   |
//! |---------------|-------------------------------------------------------|
//! | `mod.rs`      | device selection, module/function cache, launches     |
//! | [`buffer`]    | typed device buffers, upload / download               |
//! | [`quant`]     | I2S/TL1/TL2 quantize and dequantize on the device     |
//! | [`matmul`]    | weight upload (W2 repack), activation quant, GEMV/GEMM |
//! | [`forward`]   | RMSNorm, RoPE, attention + KV cache, gated activation |

pub mod buffer;
pub mod forward;
pub mod matmul;
pub mod quant;

use super::compile;
use super::launch::LaunchShape;
use super::params::Arch;
use super::source::Module;
use super::{libs, CudaError};
use cudarc::driver::sys::CUdevice_attribute as Attr;
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaStream, DriverError, LaunchConfig,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use buffer::{GpuBuffer, GpuElem};
pub use forward::KvCache;
pub use matmul::{GpuActs, GpuTernary};

/// Set to `1` to synchronise after every launch, so an asynchronous fault
/// ("unspecified launch failure") is reported against the kernel that caused it.
pub const SYNC_ENV: &str = "BITNET_CUDA_SYNC";

/// One CUDA device: context, stream, and the kernels compiled for it.
pub struct CudaBackend {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    name: String,
    arch: Arch,
    sync_each: bool,
    modules: Mutex<HashMap<Module, Arc<CudaModule>>>,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend")
            .field("ordinal", &self.ordinal())
            .field("name", &self.name)
            .field("arch", &self.arch)
            .finish()
    }
}

pub(crate) fn driver_err(op: impl Into<String>) -> impl FnOnce(DriverError) -> CudaError {
    let op = op.into();
    move |e| CudaError::Driver {
        op,
        detail: e.to_string(),
    }
}

/// Number of CUDA devices, or why there are none.
pub fn device_count() -> Result<usize, CudaError> {
    libs::driver()?;
    match CudaContext::device_count() {
        Ok(n) => Ok(n.max(0) as usize),
        Err(e) if e.0 == cudarc::driver::sys::CUresult::CUDA_ERROR_NO_DEVICE => Ok(0),
        Err(e) => Err(driver_err("cuInit / cuDeviceGetCount")(e)),
    }
}

/// PTX of every module for `arch` (compiled with NVRTC, no device needed).
pub fn compile_ptx(module: Module, arch: Arch) -> Result<String, CudaError> {
    compile::compile_uncached(module, arch)
}

/// NVRTC's version `(major, minor)`, loading it if needed.
pub fn nvrtc_version() -> Result<(i32, i32), CudaError> {
    compile::nvrtc_version()
}

impl CudaBackend {
    /// Opens device `ordinal`; fails with a typed reason (no driver, no device, ...).
    pub fn new(ordinal: usize) -> Result<Self, CudaError> {
        let count = device_count()?;
        if ordinal >= count {
            return Err(CudaError::NoDevice { ordinal, count });
        }
        let ctx = CudaContext::new(ordinal).map_err(driver_err("creating the context"))?;
        let attr = |a| {
            ctx.attribute(a)
                .map_err(driver_err("reading the compute capability"))
        };
        let arch = Arch {
            major: attr(Attr::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)? as u32,
            minor: attr(Attr::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)? as u32,
        };
        let name = ctx.name().map_err(driver_err("reading the device name"))?;
        let stream = ctx.default_stream();
        Ok(CudaBackend {
            ctx,
            stream,
            name,
            arch,
            sync_each: std::env::var(SYNC_ENV).is_ok_and(|v| v == "1"),
            modules: Mutex::new(HashMap::new()),
        })
    }

    pub fn ordinal(&self) -> usize {
        self.ctx.ordinal()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// Compiles (NVRTC, cached per process) and loads every kernel module, so
    /// that a broken toolchain shows up at start-up, not mid-inference.
    pub fn load_all(&self) -> Result<(), CudaError> {
        for m in Module::ALL {
            self.module(m)?;
        }
        Ok(())
    }

    /// Smoke launch: quantizes a known 16-value token and multiplies it by an
    /// all-ones row (act_quant + gemv_w2a8), comparing with the host result
    /// bit for bit. Catches drivers that load modules but cannot run them.
    pub fn self_test(&self) -> Result<(), CudaError> {
        let cols = super::layout::COLS_MULTIPLE;
        let x: Vec<f32> = (0..cols).map(|i| i as f32 - 7.5).collect();
        let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        let s = super::params::ACT_QMAX as f32 / amax;
        let sum: i32 = x
            .iter()
            .map(|v| {
                ((v * s).round() as i32).clamp(super::params::ACT_QMIN, super::params::ACT_QMAX)
            })
            .sum();
        let want = sum as f32 * 1.0 / s;

        let xd = self.upload(&x)?;
        let mut acts = self.alloc_acts(1, cols)?;
        self.quantize_acts(&xd, &mut acts)?;
        let w = self.upload_ternary(&vec![1i8; cols], 1, cols, 1.0)?;
        let mut out = self.zeros::<f32>(1)?;
        self.gemv(&w, &acts, &mut out)?;
        let got = self.download(&out)?[0];
        if got.to_bits() != want.to_bits() {
            return Err(CudaError::Launch {
                kernel: "gemv_w2a8",
                shape: super::launch::gemv(1, cols)?,
                detail: format!("self-test computed {got}, expected {want}"),
            });
        }
        Ok(())
    }

    /// Waits for all queued work; reports asynchronous kernel faults.
    pub fn synchronize(&self) -> Result<(), CudaError> {
        self.stream
            .synchronize()
            .map_err(driver_err("synchronizing the stream"))
    }

    pub(crate) fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    fn module(&self, m: Module) -> Result<Arc<CudaModule>, CudaError> {
        let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(module) = modules.get(&m) {
            return Ok(module.clone());
        }
        let ptx = compile::ptx(m, self.arch)?;
        let module = self
            .ctx
            .load_module(cudarc::nvrtc::Ptx::from_src(ptx.to_string()))
            .map_err(driver_err(format!(
                "loading {} for {}",
                m.file(),
                self.arch
            )))?;
        modules.insert(m, module.clone());
        Ok(module)
    }

    pub(crate) fn function(
        &self,
        m: Module,
        name: &'static str,
    ) -> Result<CudaFunction, CudaError> {
        self.module(m)?
            .load_function(name)
            .map_err(driver_err(format!(
                "loading kernel {name} from {}",
                m.file()
            )))
    }

    /// Turns a launch result into a typed error carrying kernel and shape
    /// (and synchronises first when [`SYNC_ENV`] asks for it).
    pub(crate) fn launched<T>(
        &self,
        kernel: &'static str,
        shape: LaunchShape,
        result: Result<T, DriverError>,
    ) -> Result<(), CudaError> {
        let fail = |e: DriverError| CudaError::Launch {
            kernel,
            shape,
            detail: e.to_string(),
        };
        result.map_err(fail)?;
        if self.sync_each {
            self.stream.synchronize().map_err(fail)?;
        }
        Ok(())
    }
}

/// cudarc's launch configuration of a checked shape.
pub(crate) fn config(shape: LaunchShape) -> LaunchConfig {
    LaunchConfig {
        grid_dim: shape.grid,
        block_dim: shape.block,
        shared_mem_bytes: shape.shared_bytes,
    }
}

/// Kernel arguments are 32-bit where the kernels index with `int`.
pub(crate) fn int_arg(kernel: &'static str, what: &str, v: usize) -> Result<i32, CudaError> {
    i32::try_from(v).map_err(|_| CudaError::shape(kernel, format!("{what} = {v} exceeds i32")))
}
