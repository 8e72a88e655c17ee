//! Synthetic BitNet b1.58 models for tests and benchmarks: real shapes,
//! random ternary weights with per-tensor scales, norms and embeddings scaled
//! so activations stay sane, and a real byte-level BPE tokenizer, written
//! streaming and deterministically from a seed.

pub mod options;
pub mod weights;
pub mod write;

pub use options::{Preset, SynthError, SynthOptions, WeightType};
pub use write::{write_model, SynthSummary};
