//! Tensor infos and zero-copy typed views of tensor data.
//!
//! A view borrows the file's bytes (the memory map); reinterpreting them as
//! `f32`, `f16` or block structs goes through `bytemuck`, which checks length
//! and alignment, so a misaligned tensor is an error and never undefined
//! behaviour. GGUF aligns every tensor to `general.alignment` (a power of
//! two, 32 by default) from a page-aligned map, which satisfies all of them.

use super::blocks::{BlockQ6K, BlockQ8_0};
use super::{GgmlType, GgufError, TensorType};
use crate::quant::Format;
use half::{bf16, f16};

/// One entry of the tensor-info table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    /// GGUF order: `dims[0]` (ne0) is the contiguous row length.
    pub dims: Vec<u64>,
    pub ty: TensorType,
    /// Offset relative to the start of the data section.
    pub offset: u64,
    /// Bytes in the file, from the type table (I2_S scale trailer included).
    pub size: u64,
}

impl TensorInfo {
    pub fn numel(&self) -> u64 {
        self.dims.iter().product()
    }

    /// `(rows, cols)`: cols = ne0, rows = product of the other dims.
    pub fn rows_cols(&self) -> (usize, usize) {
        let cols = self.dims[0] as usize;
        (self.numel() as usize / cols, cols)
    }
}

/// A tensor's info and its bytes inside the file.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a> {
    pub info: &'a TensorInfo,
    pub bytes: &'a [u8],
    pub(crate) path: &'a str,
}

/// The typed contents of a tensor, borrowed from the file.
#[derive(Debug, Clone, Copy)]
pub enum TensorData<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
    BF16(&'a [bf16]),
    Q8_0(&'a [BlockQ8_0]),
    Q6K(&'a [BlockQ6K]),
    Ternary(TernaryView<'a>),
    /// Any other ggml type, as raw blocks.
    Raw(GgmlType, &'a [u8]),
}

/// Packed ternary weights as [`crate::quant`] reads them: the whole packed
/// tensor, per-tensor scale trailer included for I2S/TL1/TL2.
#[derive(Debug, Clone, Copy)]
pub struct TernaryView<'a> {
    pub format: Format,
    pub rows: usize,
    pub cols: usize,
    pub bytes: &'a [u8],
}

impl TernaryView<'_> {
    /// Bytes of packed codes, the scale trailer excluded.
    pub fn codes(&self) -> &[u8] {
        let body = self.format.row_bytes(self.cols).unwrap_or(0) * self.rows;
        &self.bytes[..body.min(self.bytes.len())]
    }

    /// The per-tensor scale of I2S/TL1/TL2: the f32 right after the codes.
    pub fn tensor_scale(&self) -> Option<f32> {
        if !self.format.has_tensor_scale() {
            return None;
        }
        let at = self.codes().len();
        let b = self.bytes.get(at..at + 4)?;
        Some(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

impl<'a> TensorView<'a> {
    pub fn name(&self) -> &'a str {
        &self.info.name
    }

    fn cast<T: bytemuck::AnyBitPattern>(&self) -> Result<&'a [T], GgufError> {
        bytemuck::try_cast_slice(self.bytes).map_err(|e| {
            GgufError::tensor(
                self.path,
                &self.info.name,
                format!(
                    "cannot view {} bytes as {}: {e:?}",
                    self.bytes.len(),
                    std::any::type_name::<T>()
                ),
            )
        })
    }

    /// The zero-copy typed view.
    pub fn data(&self) -> Result<TensorData<'a>, GgufError> {
        Ok(match self.info.ty {
            TensorType::Ggml(GgmlType::F32) => TensorData::F32(self.cast()?),
            TensorType::Ggml(GgmlType::F16) => TensorData::F16(self.cast()?),
            TensorType::Ggml(GgmlType::BF16) => TensorData::BF16(self.cast()?),
            TensorType::Ggml(GgmlType::Q8_0) => TensorData::Q8_0(self.cast()?),
            TensorType::Ggml(GgmlType::Q6_K) => TensorData::Q6K(self.cast()?),
            TensorType::Ggml(t) => TensorData::Raw(t, self.bytes),
            TensorType::Ternary(format) => {
                let (rows, cols) = self.info.rows_cols();
                TensorData::Ternary(TernaryView {
                    format,
                    rows,
                    cols,
                    bytes: self.bytes,
                })
            }
        })
    }

    /// Values as f32 of a float (F32, F16, BF16) or ternary tensor.
    pub fn dequantize(&self) -> Result<Vec<f32>, GgufError> {
        match self.data()? {
            TensorData::Ternary(t) => crate::quant::dequantize_to_vec(
                t.format, t.bytes, t.rows, t.cols,
            )
            .map_err(|source| GgufError::Quant {
                path: self.path.to_owned(),
                tensor: self.info.name.clone(),
                source,
            }),
            _ => self.float_values(),
        }
    }

    /// Values as f32 of a float tensor (F32, F16, BF16).
    pub fn float_values(&self) -> Result<Vec<f32>, GgufError> {
        match self.data()? {
            TensorData::F32(v) => Ok(v.to_vec()),
            TensorData::F16(v) => Ok(v.iter().map(|x| x.to_f32()).collect()),
            TensorData::BF16(v) => Ok(v.iter().map(|x| x.to_f32()).collect()),
            _ => Err(GgufError::TypeMismatch {
                path: self.path.to_owned(),
                tensor: self.info.name.clone(),
                expected: "F32, F16 or BF16".into(),
                found: self.info.ty.to_string(),
            }),
        }
    }
}
