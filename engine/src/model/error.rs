//! Typed errors of loading a model and running it. Input mistakes (a token
//! id outside the vocabulary, a prompt longer than the context) say what was
//! asked and what the model allows.

use crate::cuda::CudaError;
use crate::gguf::GgufError;
use crate::kernels::KernelError;
use crate::quant::QuantError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error("{path}: tensor '{tensor}': {source}")]
    Quant {
        path: String,
        tensor: String,
        #[source]
        source: QuantError,
    },
    #[error("{path}: tensor '{tensor}': {source}")]
    Kernel {
        path: String,
        tensor: String,
        #[source]
        source: KernelError,
    },
    #[error("forward pass: {0}")]
    Compute(#[from] KernelError),
    #[error(
        "{path}: tensor '{tensor}' has type {ty}, which the forward pass cannot use as {role}"
    )]
    UnsupportedType {
        path: String,
        tensor: String,
        ty: String,
        role: &'static str,
    },
    #[error("token id {token} at position {index} is outside the vocabulary (0..{vocab})")]
    UnknownToken {
        token: u32,
        index: usize,
        vocab: usize,
    },
    #[error("{needed} tokens do not fit the context of {context} (already used: {used})")]
    ContextFull {
        needed: usize,
        used: usize,
        context: usize,
    },
    #[error("no tokens to run")]
    NoTokens,
    #[error("invalid option: {0}")]
    Option(String),
    #[error("thread pool of {threads} threads: {reason}")]
    ThreadPool { threads: usize, reason: String },
    #[error(transparent)]
    Cuda(#[from] CudaError),
    /// The model cannot run on the CUDA device (what and why).
    #[error("cannot run on the CUDA device: {0}")]
    Device(String),
}
