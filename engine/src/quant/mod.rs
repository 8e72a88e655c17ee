//! Ternary weight formats: one module per format, one table of formats.
//!
//! [`Format`] is the single source of truth for block sizes and byte counts:
//! the GGUF loader and writer, the CPU kernels, the CUDA code and the tests
//! all ask it instead of repeating numbers. Each format's module documents
//! its bit layout and holds the scalar reference; `simd/` holds the AVX2 and
//! AVX-512 paths, which must write the same bytes.
//!
//! | module                   | job                                                |
//! |--------------------------|----------------------------------------------------|
//! | [`format`](mod@format)   | the table (sizes, ggml ids, names)                 |
//! | [`api`]                  | quantize / dequantize / pack / unpack entry points |
//! | [`convert`](mod@convert) | format-to-format conversion through codes + scales |
//! | [`codes`]                | the shared code convention `c = t + 1`             |
//! | [`tensor_scale`]         | absmean gamma (ternary-aware) and the f32 trailer  |
//! | [`tq_common`]            | ggml's absmax per 256-block and the f16 block scale |
//! | [`i2s`] [`tl1`] [`tl2`] [`tq1_0`] [`tq2_0`] | layouts + scalar reference |

pub mod api;
pub mod codes;
pub mod convert;
mod dispatch;
pub mod error;
pub mod format;
pub mod i2s;
mod simd;
pub mod tensor_scale;
pub mod tl1;
pub mod tl2;
pub mod tq1_0;
pub mod tq2_0;
pub mod tq_common;

pub use api::{
    dequantize, dequantize_to_vec, dequantize_with, pack, quantize, quantize_to_vec, quantize_with,
    unpack, Scale,
};
pub use convert::convert;
pub use error::QuantError;
pub use format::Format;
