//! The BitNet b1.58 engine: ternary weight formats, CPU (and optionally CUDA)
//! kernels, GGUF model files and the forward pass.
//!
//! Data flows one way: file (`gguf`) -> model (`model`) -> kernels (`kernels`,
//! `cpu`, `cuda`). Every packed layout has exactly one source of truth in
//! [`quant`]; kernels and CUDA code read its constants.

pub mod accuracy;
pub mod cpu;
pub mod cuda;
pub mod device;
pub mod error;
pub mod generate;
pub mod gguf;
pub mod kernels;
pub mod model;
pub mod quant;
pub mod sample;
pub mod synth;
pub mod tokenizer;

pub use error::{Error, Result};
