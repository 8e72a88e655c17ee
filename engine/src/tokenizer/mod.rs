//! Tokenizers from GGUF metadata (`gpt2` byte-level BPE with the GPT-2 or
//! LLaMA-3 pre-tokenizer, `llama` SentencePiece), plus what `synth` needs to
//! put a real byte-level BPE vocabulary into a model file.

pub mod bpe_train;
pub mod byte_level;
pub mod corpus;
pub mod error;
pub mod pre;
pub mod synthetic;
pub mod vocab;

pub use error::TokenizerError;
pub use synthetic::SyntheticVocab;
pub use vocab::{StreamDecoder, Tokenizer};

#[cfg(test)]
mod tests;
