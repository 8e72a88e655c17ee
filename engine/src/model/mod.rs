//! The BitNet b1.58 model: hyperparameters and tensor layout read from GGUF
//! metadata ([`config`]), weights loaded for the kernels ([`weights`]), the
//! forward pass with its KV cache ([`forward`], [`kv_cache`]), the same pass
//! on a CUDA device ([`gpu`]) and an f64
//! dense reference of the same graph for tests ([`reference`](mod@reference)).

pub mod config;
pub mod error;
pub mod forward;
pub mod gpu;
pub mod kv_cache;
pub mod ops;
pub mod reference;
pub mod weights;

pub use config::{Activation, Architecture, LayerNorm, ModelConfig, Projection, RopeStyle};
pub use error::ModelError;
pub use forward::{Forward, Logits, Model, Session};
pub use gpu::{GpuModel, GpuSession};
pub use kv_cache::KvCache;
