//! Tokenizer data. For now: what `synth` needs to put a real byte-level BPE
//! vocabulary into a model file (llama.cpp `tokenizer.ggml.model = "gpt2"`).

pub mod bpe_train;
pub mod byte_level;
pub mod corpus;
pub mod synthetic;

pub use synthetic::SyntheticVocab;
