//! GGUF model files: reading (zero-copy, memmap2) and writing.

pub mod error;

pub use error::GgufError;
