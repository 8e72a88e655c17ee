//! Ternary weight formats: one module per format, one table of formats.
//!
//! [`Format`] is the single source of truth for block sizes and byte counts:
//! the GGUF loader and writer, the CPU kernels, the CUDA code and the tests
//! all ask it instead of repeating numbers.

pub mod error;
pub mod format;

pub use error::QuantError;
pub use format::Format;
