//! Typed errors for kernel calls (shape checks happen before any unsafe code).

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum KernelError {
    #[error("{kernel}: shape mismatch: {detail}")]
    Shape {
        kernel: &'static str,
        detail: String,
    },
    #[error(transparent)]
    Quant(#[from] crate::quant::QuantError),
}
