//! Typed errors for quantization and format conversion.

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum QuantError {
    #[error("{format}: empty input")]
    Empty { format: &'static str },
    #[error("{format}: row length {cols} is not a multiple of the block size {block}")]
    NotBlockMultiple {
        format: &'static str,
        cols: usize,
        block: usize,
    },
    #[error("{format}: {what} buffer has {got} elements/bytes, expected {expected}")]
    BufferSize {
        format: &'static str,
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{format}: non-finite value {value} at index {index}")]
    NonFinite {
        format: &'static str,
        index: usize,
        value: f32,
    },
    #[error("{format}: invalid packed data: {reason}")]
    Corrupt {
        format: &'static str,
        reason: String,
    },
    #[error("unknown format '{0}' (expected i2s, tl1, tl2, tq1_0 or tq2_0)")]
    UnknownFormat(String),
    #[error("{format}: bad scale: {reason}")]
    Scale {
        format: &'static str,
        reason: String,
    },
    #[error("{format}: code {code} at index {index} is not ternary (expected -1, 0 or 1)")]
    BadCode {
        format: &'static str,
        index: usize,
        code: i8,
    },
    #[error("cannot convert {from} to {to} losslessly: {reason}")]
    Unrepresentable {
        from: &'static str,
        to: &'static str,
        reason: String,
    },
    #[error("SIMD level {level} is not supported by this CPU (try BITNET_SIMD=scalar)")]
    UnsupportedSimd { level: &'static str },
}
