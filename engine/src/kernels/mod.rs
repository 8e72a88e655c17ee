//! Ternary matrix kernels (W1.58 x A8): activation quantization, GEMV, GEMM.

pub mod error;

pub use error::KernelError;
