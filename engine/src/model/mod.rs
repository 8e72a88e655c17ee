//! The BitNet b1.58 model: hyperparameters and tensor layout read from GGUF
//! metadata.

pub mod config;

pub use config::{Activation, Architecture, LayerNorm, ModelConfig, Projection, RopeStyle};
