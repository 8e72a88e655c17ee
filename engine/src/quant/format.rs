//! The table of ternary formats (cf. ggml's `type_traits`).
//!
//! Shapes are `(rows, cols)` with `cols` the contiguous dimension (GGUF
//! `ne0`). Every format packs each row independently, so `cols` must be a
//! multiple of [`Format::row_multiple`]. Formats with a per-tensor scale
//! (I2S, TL1, TL2) append [`TENSOR_SCALE_BYTES`] after the packed codes:
//! an f32 scale followed by padding, exactly as bitnet.cpp's I2_S.
//!
//! | format | weights/block | bytes/block | scale            | ggml type id |
//! |--------|---------------|-------------|------------------|--------------|
//! | I2S    | 128           | 32          | f32 per tensor   | 36 (bitnet.cpp fork) |
//! | TL1    | 128           | 32          | f32 per tensor   | 4097 (ours)  |
//! | TL2    | 96 (+TL1 tail)| 20          | f32 per tensor   | 4098 (ours)  |
//! | TQ1_0  | 256           | 54          | f16 per block    | 34           |
//! | TQ2_0  | 256           | 66          | f16 per block    | 35           |
//!
//! TL1/TL2 ids are ours: far above ggml's range (< 64 today) so they cannot
//! collide with a future ggml type, and distinct from bitnet.cpp's TL1/TL2
//! (37/38), whose layouts are tied to its code generator and differ from ours.

use super::QuantError;
use std::fmt;
use std::str::FromStr;

/// Bytes after the packed codes of a per-tensor-scale format: f32 scale + padding.
pub const TENSOR_SCALE_BYTES: usize = 32;

#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    I2S,
    TL1,
    TL2,
    TQ1_0,
    TQ2_0,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::I2S,
        Format::TL1,
        Format::TL2,
        Format::TQ2_0,
        Format::TQ1_0,
    ];

    /// Lower-case name used in CLIs, benchmark ids and reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::I2S => "i2s",
            Format::TL1 => "tl1",
            Format::TL2 => "tl2",
            Format::TQ1_0 => "tq1_0",
            Format::TQ2_0 => "tq2_0",
        }
    }

    /// GGUF tensor type id.
    pub fn ggml_type(self) -> u32 {
        match self {
            Format::I2S => 36,
            Format::TL1 => 4097,
            Format::TL2 => 4098,
            Format::TQ1_0 => 34,
            Format::TQ2_0 => 35,
        }
    }

    pub fn from_ggml_type(id: u32) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.ggml_type() == id)
    }

    /// Weights in one block.
    pub fn block_weights(self) -> usize {
        match self {
            Format::I2S | Format::TL1 => 128,
            Format::TL2 => 96,
            Format::TQ1_0 | Format::TQ2_0 => 256,
        }
    }

    /// Bytes of one block.
    pub fn block_bytes(self) -> usize {
        match self {
            Format::I2S | Format::TL1 => 32,
            Format::TL2 => 20,
            Format::TQ1_0 => 54,
            Format::TQ2_0 => 66,
        }
    }

    /// What `cols` must be a multiple of. TL2 rows end with a TL1-coded tail
    /// (`cols % 96` weights, a multiple of 32), so TL2 asks for 32 only.
    pub fn row_multiple(self) -> usize {
        match self {
            Format::TL2 => 32,
            f => f.block_weights(),
        }
    }

    /// Whether one f32 scale covers the whole tensor (else one f16 per block).
    pub fn has_tensor_scale(self) -> bool {
        matches!(self, Format::I2S | Format::TL1 | Format::TL2)
    }

    /// Packed bytes of one row of `cols` weights (scale trailer excluded).
    pub fn row_bytes(self, cols: usize) -> Result<usize, QuantError> {
        if cols == 0 {
            return Err(QuantError::Empty {
                format: self.name(),
            });
        }
        let m = self.row_multiple();
        if !cols.is_multiple_of(m) {
            return Err(QuantError::NotBlockMultiple {
                format: self.name(),
                cols,
                block: m,
            });
        }
        Ok(match self {
            // 96-weight blocks, then the tail as TL1 nibbles (2 weights per nibble).
            Format::TL2 => (cols / 96) * 20 + (cols % 96) / 4,
            f => cols / f.block_weights() * f.block_bytes(),
        })
    }

    /// Packed bytes of a `rows x cols` tensor, trailer included.
    pub fn packed_size(self, rows: usize, cols: usize) -> Result<usize, QuantError> {
        let row = self.row_bytes(cols)?;
        if rows == 0 {
            return Err(QuantError::Empty {
                format: self.name(),
            });
        }
        let body = rows.checked_mul(row).ok_or_else(|| QuantError::Corrupt {
            format: self.name(),
            reason: format!("{rows} x {cols} overflows usize"),
        })?;
        Ok(body
            + if self.has_tensor_scale() {
                TENSOR_SCALE_BYTES
            } else {
                0
            })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = QuantError;
    fn from_str(s: &str) -> Result<Self, QuantError> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or(QuantError::UnknownFormat(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
            assert_eq!(Format::from_ggml_type(f.ggml_type()), Some(f));
        }
        // bitnet.cpp I2_S: numel / 4 + 32.
        assert_eq!(
            Format::I2S.packed_size(2560, 2560).unwrap(),
            2560 * 2560 / 4 + 32
        );
        assert_eq!(Format::TQ2_0.packed_size(1, 256).unwrap(), 66);
        assert_eq!(Format::TQ1_0.packed_size(2, 512).unwrap(), 4 * 54);
        assert_eq!(Format::TL2.row_bytes(2560).unwrap(), 26 * 20 + 16);
        assert!(matches!(
            Format::I2S.row_bytes(100),
            Err(QuantError::NotBlockMultiple { .. })
        ));
        assert!("q4_0".parse::<Format>().is_err());
    }
}
