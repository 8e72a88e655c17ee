//! Typed errors for GGUF parsing and writing. Every message names the file
//! and, where known, the tensor or key at fault.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum GgufError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}
