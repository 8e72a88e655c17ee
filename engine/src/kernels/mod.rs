//! Ternary matrix kernels (W1.58 x A8): activation quantization, GEMV, GEMM.
//!
//! Flow: [`quantize_activations`] turns f32 activations into per-token int8
//! plus a scale; a [`TernaryMatrix`] holds weights repacked once at load
//! time; [`gemv`] / [`gemm`] compute exact integer dots and scale them at the
//! end. Each has a `*_with(level, ...)` twin taking an explicit
//! [`SimdLevel`](crate::cpu::SimdLevel); the plain ones use
//! `SimdLevel::active()` (so `BITNET_SIMD` applies). [`dense`] is the f32
//! GEMV the benchmarks use as the uncompressed reference point.

pub mod activations;
mod aligned;
pub mod dense;
pub mod dense_f16;
mod epilogue;
pub mod error;
mod lut;
mod lut_plan;
mod mad;
pub mod matmul;
pub mod matrix;
pub mod parallel;
pub mod roofline;

pub use activations::{quantize_activations, quantize_activations_into, QuantizedActivations};
pub use error::KernelError;
pub use matmul::{gemm, gemm_with, gemv, gemv_with};
pub use matrix::TernaryMatrix;
pub use parallel::Parallelism;

/// Weights per kernel chunk: activations are padded to a multiple of this,
/// and every weight row is stored as whole chunks.
pub const CHUNK_WEIGHTS: usize = 256;
