//! Typed errors for GGUF parsing and writing. Every message names the file
//! and, where known, the tensor or key at fault, then says what is wrong, so
//! that a user holding a broken file knows where to look.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum GgufError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a GGUF file (magic is {found:?}, expected \"GGUF\")")]
    BadMagic { path: String, found: String },
    #[error("{path}: unsupported GGUF version {version} (this reader handles versions 2 and 3)")]
    UnsupportedVersion { path: String, version: u32 },
    #[error("{path}: big-endian GGUF files are not supported (version field reads {raw:#010x})")]
    BigEndian { path: String, raw: u32 },
    #[error("{path}: truncated: {what} needs {needed} bytes at offset {offset}, file has {len}")]
    Truncated {
        path: String,
        what: String,
        offset: u64,
        needed: u64,
        len: u64,
    },
    #[error("{path}: {what} is {value}, more than a {len}-byte file can hold")]
    Absurd {
        path: String,
        what: String,
        value: u64,
        len: u64,
    },
    #[error("{path}: {what}: {reason}")]
    Invalid {
        path: String,
        what: String,
        reason: String,
    },
    #[error("{path}: key '{key}': unknown metadata value type {ty}")]
    UnknownValueType { path: String, key: String, ty: u32 },
    #[error("{path}: key '{key}' appears twice")]
    DuplicateKey { path: String, key: String },
    #[error("{path}: tensor '{name}' appears twice")]
    DuplicateTensor { path: String, name: String },
    #[error("{path}: tensor '{tensor}': unknown tensor type id {ty}")]
    UnknownTensorType {
        path: String,
        tensor: String,
        ty: u32,
    },
    #[error("{path}: tensor '{tensor}': {reason}")]
    Tensor {
        path: String,
        tensor: String,
        reason: String,
    },
    #[error("{path}: missing required key '{key}'")]
    MissingKey { path: String, key: String },
    #[error("{path}: key '{key}': expected {expected}, found {found}")]
    KeyType {
        path: String,
        key: String,
        expected: String,
        found: String,
    },
    #[error("{path}: missing required tensor '{tensor}'")]
    MissingTensor { path: String, tensor: String },
    #[error("{path}: tensor '{tensor}': shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        path: String,
        tensor: String,
        expected: Vec<u64>,
        found: Vec<u64>,
    },
    #[error("{path}: tensor '{tensor}': type {found} not allowed here (expected {expected})")]
    TypeMismatch {
        path: String,
        tensor: String,
        expected: String,
        found: String,
    },
    #[error(
        "{path}: unsupported architecture '{arch}' (expected bitnet, bitnet-b1.58 or bitnet-25)"
    )]
    UnsupportedArchitecture { path: String, arch: String },
    #[error("{path}: tensor '{tensor}': {source}")]
    Quant {
        path: String,
        tensor: String,
        #[source]
        source: crate::quant::QuantError,
    },
}

impl GgufError {
    pub(crate) fn io(path: &str, source: std::io::Error) -> Self {
        GgufError::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn invalid(path: &str, what: impl Into<String>, reason: impl Into<String>) -> Self {
        GgufError::Invalid {
            path: path.to_owned(),
            what: what.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn tensor(path: &str, tensor: &str, reason: impl Into<String>) -> Self {
        GgufError::Tensor {
            path: path.to_owned(),
            tensor: tensor.to_owned(),
            reason: reason.into(),
        }
    }
}
