//! The one error type of perf-gate. Every variant is an input or environment
//! problem (exit code 2); a failing gate is a result, not an error.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: corrupt JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// The file parses but its content is unusable (schema, version, empty).
    #[error("{}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: String },
    #[error("{}: invalid configuration: {problem}", path.display())]
    Config { path: PathBuf, problem: String },
    #[error("`{command}` failed: {problem}")]
    Command { command: String, problem: String },
    #[error("git: {0}")]
    Git(String),
    #[error("{0}")]
    Usage(String),
}

impl GateError {
    pub fn invalid(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        GateError::Invalid {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

impl From<git2::Error> for GateError {
    fn from(e: git2::Error) -> Self {
        GateError::Git(e.message().to_string())
    }
}

pub type Result<T> = std::result::Result<T, GateError>;
