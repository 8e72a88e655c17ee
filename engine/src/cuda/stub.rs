//! Stand-in for the CUDA backend when the `gpu` feature is off: the same
//! types and signatures, every constructor failing with
//! [`CudaError::NotCompiledIn`]. The types hold an uninhabited field, so their
//! methods are statically unreachable rather than runtime panics.

use super::params::{Arch, GatedAct, RopeStyle};
use super::source::Module;
use super::CudaError;
use crate::quant::Format;
use std::convert::Infallible;
use std::marker::PhantomData;

pub const SYNC_ENV: &str = "BITNET_CUDA_SYNC";
pub const NVRTC_DIR_ENV: &str = "BITNET_NVRTC_DIR";

pub fn device_count() -> Result<usize, CudaError> {
    Err(CudaError::NotCompiledIn)
}

pub fn compile_ptx(_module: Module, _arch: Arch) -> Result<String, CudaError> {
    Err(CudaError::NotCompiledIn)
}

pub fn check_sass(_module: Module, _arch: Arch) -> Result<(), CudaError> {
    Err(CudaError::NotCompiledIn)
}

pub fn nvrtc_version() -> Result<(i32, i32), CudaError> {
    Err(CudaError::NotCompiledIn)
}

mod sealed {
    pub trait Sealed {}
}

pub trait GpuElem: Copy + Default + Unpin + sealed::Sealed {}

macro_rules! elem {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl GpuElem for $t {}
    )*};
}
elem!(f32, f64, i8, u8, u16, i32, u32, u64);

#[derive(Debug)]
pub struct GpuBuffer<T: GpuElem> {
    never: Infallible,
    _t: PhantomData<T>,
}

impl<T: GpuElem> GpuBuffer<T> {
    pub fn len(&self) -> usize {
        match self.never {}
    }
    pub fn is_empty(&self) -> bool {
        match self.never {}
    }
    pub fn num_bytes(&self) -> usize {
        match self.never {}
    }
}

#[derive(Debug)]
pub struct GpuTernary {
    never: Infallible,
}

impl GpuTernary {
    pub fn rows(&self) -> usize {
        match self.never {}
    }
    pub fn cols(&self) -> usize {
        match self.never {}
    }
    pub fn scale(&self) -> f32 {
        match self.never {}
    }
    pub fn device_bytes(&self) -> usize {
        match self.never {}
    }
}

#[derive(Debug)]
pub struct GpuActs {
    never: Infallible,
}

impl GpuActs {
    pub fn tokens(&self) -> usize {
        match self.never {}
    }
    pub fn cols(&self) -> usize {
        match self.never {}
    }
}

#[derive(Debug)]
pub struct KvCache {
    never: Infallible,
}

impl KvCache {
    pub fn n_ctx(&self) -> usize {
        match self.never {}
    }
    pub fn n_kv(&self) -> usize {
        match self.never {}
    }
    pub fn head_dim(&self) -> usize {
        match self.never {}
    }
}

#[derive(Debug)]
pub struct CudaBackend {
    never: Infallible,
}

#[allow(clippy::too_many_arguments)]
impl CudaBackend {
    pub fn new(_ordinal: usize) -> Result<Self, CudaError> {
        Err(CudaError::NotCompiledIn)
    }
    pub fn ordinal(&self) -> usize {
        match self.never {}
    }
    pub fn name(&self) -> &str {
        match self.never {}
    }
    pub fn arch(&self) -> Arch {
        match self.never {}
    }
    pub fn load_all(&self) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn self_test(&self) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn synchronize(&self) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn upload<T: GpuElem>(&self, _host: &[T]) -> Result<GpuBuffer<T>, CudaError> {
        match self.never {}
    }
    pub fn upload_into<T: GpuElem>(
        &self,
        _host: &[T],
        _dst: &mut GpuBuffer<T>,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn zeros<T: GpuElem>(&self, _len: usize) -> Result<GpuBuffer<T>, CudaError> {
        match self.never {}
    }
    pub fn download<T: GpuElem>(&self, _buf: &GpuBuffer<T>) -> Result<Vec<T>, CudaError> {
        match self.never {}
    }
    pub fn upload_ternary(
        &self,
        _weights: &[i8],
        _rows: usize,
        _cols: usize,
        _scale: f32,
    ) -> Result<GpuTernary, CudaError> {
        match self.never {}
    }
    pub fn upload_packed(
        &self,
        _format: Format,
        _packed: &[u8],
        _rows: usize,
        _cols: usize,
    ) -> Result<GpuTernary, CudaError> {
        match self.never {}
    }
    pub fn alloc_acts(&self, _tokens: usize, _cols: usize) -> Result<GpuActs, CudaError> {
        match self.never {}
    }
    pub fn quantize_acts(&self, _x: &GpuBuffer<f32>, _acts: &mut GpuActs) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn ternary_matmul(
        &self,
        _w: &GpuTernary,
        _a: &GpuActs,
        _out: &mut GpuBuffer<f32>,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn gemv(
        &self,
        _w: &GpuTernary,
        _a: &GpuActs,
        _out: &mut GpuBuffer<f32>,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn gemm(
        &self,
        _w: &GpuTernary,
        _a: &GpuActs,
        _out: &mut GpuBuffer<f32>,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn gemv_f16_f32x(
        &self,
        _w: &GpuBuffer<u16>,
        _x: &GpuBuffer<f32>,
        _out: &mut GpuBuffer<f32>,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn gemm_f16(
        &self,
        _a: &GpuBuffer<u16>,
        _b: &GpuBuffer<u16>,
        _c: &mut GpuBuffer<f32>,
        _m: usize,
        _n: usize,
        _k: usize,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn quantize(
        &self,
        _format: Format,
        _x: &GpuBuffer<f32>,
        _rows: usize,
        _cols: usize,
    ) -> Result<GpuBuffer<u8>, CudaError> {
        match self.never {}
    }
    pub fn quantize_into(
        &self,
        _format: Format,
        _x: &GpuBuffer<f32>,
        _rows: usize,
        _cols: usize,
        _out: &mut GpuBuffer<u8>,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn dequantize(
        &self,
        _format: Format,
        _packed: &GpuBuffer<u8>,
        _rows: usize,
        _cols: usize,
        _out: &mut GpuBuffer<f32>,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn rmsnorm(
        &self,
        _x: &GpuBuffer<f32>,
        _weight: &GpuBuffer<f32>,
        _out: &mut GpuBuffer<f32>,
        _rows: usize,
        _eps: f32,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn rope(
        &self,
        _x: &mut GpuBuffer<f32>,
        _tokens: usize,
        _heads: usize,
        _head_dim: usize,
        _n_rot: usize,
        _pos0: usize,
        _theta_base: f32,
        _style: RopeStyle,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn kv_cache(
        &self,
        _n_ctx: usize,
        _n_kv: usize,
        _head_dim: usize,
    ) -> Result<KvCache, CudaError> {
        match self.never {}
    }
    pub fn kv_store(
        &self,
        _cache: &mut KvCache,
        _k: &GpuBuffer<f32>,
        _v: &GpuBuffer<f32>,
        _pos0: usize,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn attention(
        &self,
        _q: &GpuBuffer<f32>,
        _cache: &KvCache,
        _out: &mut GpuBuffer<f32>,
        _n_head: usize,
        _pos0: usize,
        _scale: f32,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn add_assign(
        &self,
        _x: &mut GpuBuffer<f32>,
        _y: &GpuBuffer<f32>,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
    pub fn gated_act(
        &self,
        _gate: &GpuBuffer<f32>,
        _up: &GpuBuffer<f32>,
        _out: &mut GpuBuffer<f32>,
        _act: GatedAct,
    ) -> Result<(), CudaError> {
        match self.never {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_point_says_build_with_gpu() {
        let e = CudaBackend::new(0).unwrap_err();
        assert_eq!(e, CudaError::NotCompiledIn);
        assert!(e.to_string().contains("--features gpu"));
        assert_eq!(device_count(), Err(CudaError::NotCompiledIn));
        assert_eq!(
            compile_ptx(Module::Quant, Arch::SM80),
            Err(CudaError::NotCompiledIn)
        );
        assert_eq!(nvrtc_version(), Err(CudaError::NotCompiledIn));
        assert_eq!(
            check_sass(Module::Rope, Arch::SM90),
            Err(CudaError::NotCompiledIn)
        );
    }
}
