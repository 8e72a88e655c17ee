//! Tensor types a GGUF file may name, and the one place that turns a shape
//! into a byte count.
//!
//! Two families share the `u32` type id space:
//!
//! * ggml's own types ([`GgmlType`], ids and block sizes from `ggml.h` /
//!   `ggml-common.h`, cross-checked with the `gguf` PyPI package's
//!   `GGML_QUANT_SIZES`): a tensor is `ne0 / block` blocks per row.
//! * the ternary formats of [`crate::quant::Format`] (I2_S = 36 from
//!   bitnet.cpp's fork, TQ1_0 = 34, TQ2_0 = 35, and our TL1 = 4097,
//!   TL2 = 4098): their sizes come from `Format::packed_size`, because I2_S,
//!   TL1 and TL2 end with a per-tensor scale trailer that no ggml row formula
//!   describes (an I2_S tensor occupies `numel / 4 + 32` bytes).
//!
//! Shapes are GGUF `dims`: `dims[0]` (ne0) is the contiguous row length,
//! the product of the remaining dims is the number of rows.

use crate::quant::Format;
use std::fmt;

/// A ggml tensor type: `(id, name, weights per block, bytes per block)`.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_K,
    IQ2_XXS,
    IQ2_XS,
    IQ3_XXS,
    IQ1_S,
    IQ4_NL,
    IQ3_S,
    IQ2_S,
    IQ4_XS,
    I8,
    I16,
    I32,
    I64,
    F64,
    IQ1_M,
    BF16,
    MXFP4,
}

/// `(type, id, name, block weights, block bytes)`.
const GGML_TABLE: [(GgmlType, u32, &str, usize, usize); 30] = [
    (GgmlType::F32, 0, "F32", 1, 4),
    (GgmlType::F16, 1, "F16", 1, 2),
    (GgmlType::Q4_0, 2, "Q4_0", 32, 18),
    (GgmlType::Q4_1, 3, "Q4_1", 32, 20),
    (GgmlType::Q5_0, 6, "Q5_0", 32, 22),
    (GgmlType::Q5_1, 7, "Q5_1", 32, 24),
    (GgmlType::Q8_0, 8, "Q8_0", 32, 34),
    (GgmlType::Q8_1, 9, "Q8_1", 32, 36),
    (GgmlType::Q2_K, 10, "Q2_K", 256, 84),
    (GgmlType::Q3_K, 11, "Q3_K", 256, 110),
    (GgmlType::Q4_K, 12, "Q4_K", 256, 144),
    (GgmlType::Q5_K, 13, "Q5_K", 256, 176),
    (GgmlType::Q6_K, 14, "Q6_K", 256, 210),
    (GgmlType::Q8_K, 15, "Q8_K", 256, 292),
    (GgmlType::IQ2_XXS, 16, "IQ2_XXS", 256, 66),
    (GgmlType::IQ2_XS, 17, "IQ2_XS", 256, 74),
    (GgmlType::IQ3_XXS, 18, "IQ3_XXS", 256, 98),
    (GgmlType::IQ1_S, 19, "IQ1_S", 256, 50),
    (GgmlType::IQ4_NL, 20, "IQ4_NL", 32, 18),
    (GgmlType::IQ3_S, 21, "IQ3_S", 256, 110),
    (GgmlType::IQ2_S, 22, "IQ2_S", 256, 82),
    (GgmlType::IQ4_XS, 23, "IQ4_XS", 256, 136),
    (GgmlType::I8, 24, "I8", 1, 1),
    (GgmlType::I16, 25, "I16", 1, 2),
    (GgmlType::I32, 26, "I32", 1, 4),
    (GgmlType::I64, 27, "I64", 1, 8),
    (GgmlType::F64, 28, "F64", 1, 8),
    (GgmlType::IQ1_M, 29, "IQ1_M", 256, 56),
    (GgmlType::BF16, 30, "BF16", 1, 2),
    (GgmlType::MXFP4, 39, "MXFP4", 32, 17),
];

impl GgmlType {
    fn row(self) -> &'static (GgmlType, u32, &'static str, usize, usize) {
        GGML_TABLE
            .iter()
            .find(|r| r.0 == self)
            .expect("every GgmlType variant has a table row")
    }

    pub fn id(self) -> u32 {
        self.row().1
    }

    pub fn name(self) -> &'static str {
        self.row().2
    }

    pub fn block_weights(self) -> usize {
        self.row().3
    }

    pub fn block_bytes(self) -> usize {
        self.row().4
    }

    pub fn from_id(id: u32) -> Option<GgmlType> {
        GGML_TABLE.iter().find(|r| r.1 == id).map(|r| r.0)
    }

    pub fn from_name(name: &str) -> Option<GgmlType> {
        GGML_TABLE
            .iter()
            .find(|r| r.2.eq_ignore_ascii_case(name))
            .map(|r| r.0)
    }

    /// Whether values are stored one per element as floats (F32, F16, BF16).
    pub fn is_float(self) -> bool {
        matches!(self, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16)
    }
}

/// The type of one GGUF tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TensorType {
    Ggml(GgmlType),
    Ternary(Format),
}

impl TensorType {
    pub const F32: TensorType = TensorType::Ggml(GgmlType::F32);
    pub const F16: TensorType = TensorType::Ggml(GgmlType::F16);
    pub const BF16: TensorType = TensorType::Ggml(GgmlType::BF16);

    pub fn from_id(id: u32) -> Option<TensorType> {
        Format::from_ggml_type(id)
            .map(TensorType::Ternary)
            .or_else(|| GgmlType::from_id(id).map(TensorType::Ggml))
    }

    pub fn id(self) -> u32 {
        match self {
            TensorType::Ggml(t) => t.id(),
            TensorType::Ternary(f) => f.ggml_type(),
        }
    }

    /// Upper-case name as ggml prints it (`F16`, `Q8_0`, `I2_S`, `TQ2_0`, `TL1`).
    pub fn name(self) -> &'static str {
        match self {
            TensorType::Ggml(t) => t.name(),
            TensorType::Ternary(Format::I2S) => "I2_S",
            TensorType::Ternary(Format::TL1) => "TL1",
            TensorType::Ternary(Format::TL2) => "TL2",
            TensorType::Ternary(Format::TQ1_0) => "TQ1_0",
            TensorType::Ternary(Format::TQ2_0) => "TQ2_0",
        }
    }

    /// Parses a ggml name (`F16`, `q8_0`) or a ternary format name (`i2s`, `I2_S`).
    pub fn parse(name: &str) -> Option<TensorType> {
        if let Ok(f) = name
            .replace("I2_S", "i2s")
            .replace("i2_s", "i2s")
            .parse::<Format>()
        {
            return Some(TensorType::Ternary(f));
        }
        GgmlType::from_name(name).map(TensorType::Ggml)
    }

    pub fn is_float(self) -> bool {
        matches!(self, TensorType::Ggml(t) if t.is_float())
    }

    pub fn ternary(self) -> Option<Format> {
        match self {
            TensorType::Ternary(f) => Some(f),
            TensorType::Ggml(_) => None,
        }
    }

    /// Bytes a tensor of this type and shape occupies in the file, or why the
    /// shape is impossible (row length not a block multiple, overflow).
    pub fn byte_size(self, dims: &[u64]) -> Result<u64, String> {
        let (cols, rows) = split_dims(dims)?;
        match self {
            TensorType::Ggml(t) => {
                let block = t.block_weights() as u64;
                if !cols.is_multiple_of(block) {
                    return Err(format!(
                        "row length {cols} is not a multiple of the {} block size {block}",
                        t.name()
                    ));
                }
                (cols / block)
                    .checked_mul(t.block_bytes() as u64)
                    .and_then(|row| row.checked_mul(rows))
                    .ok_or_else(|| format!("{} bytes for shape {dims:?} overflow", t.name()))
            }
            TensorType::Ternary(f) => {
                let rows = usize::try_from(rows).map_err(|_| format!("{rows} rows overflow"))?;
                let cols = usize::try_from(cols).map_err(|_| format!("{cols} columns overflow"))?;
                f.packed_size(rows, cols)
                    .map(|n| n as u64)
                    .map_err(|e| e.to_string())
            }
        }
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `(cols, rows)` of a GGUF shape: `dims[0]` and the product of the rest.
pub fn split_dims(dims: &[u64]) -> Result<(u64, u64), String> {
    let (&cols, rest) = dims.split_first().ok_or("tensor has no dimensions")?;
    let mut rows: u64 = 1;
    for &d in rest {
        rows = rows
            .checked_mul(d)
            .ok_or_else(|| format!("element count of shape {dims:?} overflows"))?;
    }
    cols.checked_mul(rows)
        .ok_or_else(|| format!("element count of shape {dims:?} overflows"))?;
    Ok((cols, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_do_not_collide() {
        let mut seen = std::collections::HashSet::new();
        for r in GGML_TABLE {
            assert_eq!(GgmlType::from_id(r.1), Some(r.0));
            assert_eq!(r.0.id(), r.1);
            assert!(seen.insert(r.1));
        }
        for f in Format::ALL {
            assert!(seen.insert(f.ggml_type()), "{f} collides with a ggml id");
            assert_eq!(
                TensorType::from_id(f.ggml_type()),
                Some(TensorType::Ternary(f))
            );
        }
        assert_eq!(TensorType::from_id(31), None);
    }

    #[test]
    fn byte_sizes_follow_the_tables() {
        assert_eq!(TensorType::F32.byte_size(&[4, 3]), Ok(48));
        assert_eq!(
            TensorType::Ggml(GgmlType::Q8_0).byte_size(&[64, 2]),
            Ok(4 * 34)
        );
        assert_eq!(TensorType::Ggml(GgmlType::Q6_K).byte_size(&[256]), Ok(210));
        // bitnet.cpp's I2_S: numel / 4 + 32, not a ggml row formula.
        assert_eq!(
            TensorType::Ternary(Format::I2S).byte_size(&[2560, 640]),
            Ok(2560 * 640 / 4 + 32)
        );
        assert_eq!(
            TensorType::Ternary(Format::TQ2_0).byte_size(&[512, 3]),
            Ok(6 * 66)
        );
        assert!(TensorType::Ggml(GgmlType::Q8_0)
            .byte_size(&[33])
            .unwrap_err()
            .contains("not a multiple"));
        assert!(TensorType::F32
            .byte_size(&[u64::MAX, 2])
            .unwrap_err()
            .contains("overflow"));
        assert!(TensorType::F32.byte_size(&[]).is_err());
    }

    #[test]
    fn names_parse_back() {
        for id in [0, 1, 8, 14, 30, 34, 35, 36, 4097, 4098] {
            let t = TensorType::from_id(id).unwrap();
            assert_eq!(TensorType::parse(t.name()), Some(t), "{t}");
        }
        assert_eq!(
            TensorType::parse("i2s"),
            Some(TensorType::Ternary(Format::I2S))
        );
    }
}
