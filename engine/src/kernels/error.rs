//! Typed errors for kernel calls (shape checks happen before any unsafe code).

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum KernelError {
    #[error("{kernel}: shape mismatch: {detail}")]
    Shape {
        kernel: &'static str,
        detail: String,
    },
    #[error("{kernel}: non-finite input {value} at index {index}")]
    NonFinite {
        kernel: &'static str,
        index: usize,
        value: f32,
    },
    #[error("{kernel}: invalid weights: {detail}")]
    InvalidWeights {
        kernel: &'static str,
        detail: String,
    },
    #[error("{kernel}: SIMD level {level} is not supported by this CPU")]
    UnsupportedLevel {
        kernel: &'static str,
        level: crate::cpu::SimdLevel,
    },
    #[error("could not start a pool of {threads} kernel threads: {reason}")]
    ThreadPool { threads: usize, reason: String },
    #[error(transparent)]
    Quant(#[from] crate::quant::QuantError),
}

impl KernelError {
    pub(crate) fn shape(kernel: &'static str, detail: impl Into<String>) -> Self {
        KernelError::Shape {
            kernel,
            detail: detail.into(),
        }
    }
}
