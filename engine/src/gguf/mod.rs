//! GGUF model files: reading (zero-copy, memmap2) and writing (streaming,
//! atomic).
//!
//! Reading: [`GgufFile::open`] maps the file, parses and validates the header
//! (every count bounded by the file size before anything is allocated, every
//! tensor inside the file, aligned and not overlapping another) and hands out
//! [`TensorView`]s that borrow the map. Writing: [`GgufWriter`] lays out the
//! header from the tensor shapes, then takes tensor data one tensor at a time
//! into a temporary file that is renamed into place when complete.
//!
//! Tensor type ids: ggml's own ([`GgmlType`]) plus the ternary formats of
//! [`crate::quant::Format`]: I2_S = 36 (bitnet.cpp's fork), TQ1_0 = 34,
//! TQ2_0 = 35, and ours TL1 = 4097, TL2 = 4098, chosen far above ggml's range
//! so they cannot collide with a future ggml type.

pub mod blocks;
mod cursor;
pub mod error;
mod file;
pub mod inspect;
pub mod keys;
pub mod metadata;
mod mmap;
pub mod parse;
pub mod requantize;
pub mod tensor;
pub mod tensor_type;
pub mod value;
pub mod writer;

pub use error::GgufError;
pub use file::GgufFile;
pub use inspect::InspectReport;
pub use metadata::Metadata;
pub use requantize::{requantize, RequantizeSummary};
pub use tensor::{TensorData, TensorInfo, TensorView, TernaryView};
pub use tensor_type::{GgmlType, TensorType};
pub use value::{Array, Value, ValueType};
pub use writer::{GgufWriter, TensorSpec};
