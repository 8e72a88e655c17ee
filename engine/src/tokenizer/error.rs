//! Typed errors of building a tokenizer from GGUF metadata and of decoding.

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum TokenizerError {
    #[error("{path}: tokenizer: missing key '{key}'")]
    MissingKey { path: String, key: String },
    #[error("{path}: tokenizer: key '{key}': {reason}")]
    BadKey {
        path: String,
        key: String,
        reason: String,
    },
    #[error("{path}: tokenizer model '{model}' is not supported (expected gpt2 or llama)")]
    UnsupportedModel { path: String, model: String },
    #[error("{path}: BPE pre-tokenizer '{pre}' is not supported (expected llama-bpe, llama3, default or gpt-2)")]
    UnsupportedPre { path: String, pre: String },
    #[error("token id {token} is outside the vocabulary (0..{vocab})")]
    UnknownToken { token: u32, vocab: usize },
}
