//! [`TernaryMatrix`]: ternary weights repacked once, at load time, into the
//! in-memory layout the kernels read. File layouts (I2S, TL1, TL2, TQ2_0, ...)
//! are decoded to codes by `engine::quant` and never constrain the kernels.
//!
//! # The multiply-add ("MAD") layout
//!
//! Each row is cut into chunks of 256 weights (the last one padded with
//! zero weights); a chunk is 64 bytes holding offset codes `w + 1` in
//! {0, 1, 2}, two bits each. Byte `i` of a chunk holds weights
//! `i, 64 + i, 128 + i, 192 + i` of the chunk, low bits first:
//!
//! ```text
//!  byte i (0..63):  bit 7 6 | 5 4 | 3 2 | 1 0
//!                   w[192+i]|w[128+i]|w[64+i]|w[i]     (each w + 1)
//! ```
//!
//! so `(chunk >> 2g) & 3`, applied to all 64 bytes at once, yields 64
//! *consecutive* weights `64g .. 64g + 63` lined up with 64 consecutive int8
//! activations: one AND (+ one shift) and one `vpdpbusd` per 64 weights, no
//! shuffles. An AVX2 register takes the chunk as two 32-byte halves
//! (half `h`, group `g` -> weights `64g + 32h ..`). Rows are contiguous,
//! `chunks * 64` bytes each. Per-block scales (TQ2_0: one per 256 weights)
//! line up with chunks one to one.
//!
//! Ternary codes cost the same 2 bits as I2S, so the weight bytes streamed
//! per GEMV equal the file's (`rows * cols / 4`, plus padding when `cols` is
//! not a multiple of 256).

use super::aligned::Aligned;
use super::{KernelError, CHUNK_WEIGHTS};
use crate::quant::Format;

/// Bytes of one 256-weight chunk in the MAD layout.
pub(crate) const CHUNK_BYTES: usize = CHUNK_WEIGHTS / 4;

/// Largest supported row length: keeps every i32 partial sum exact
/// (|(code + 1) * xq| <= 256 per weight, 2^31 / 256 = 2^23).
pub const MAX_COLS: usize = 1 << 22;

const KERNEL: &str = "TernaryMatrix";

/// Weight scale(s) of a ternary matrix: the real weight is `code * scale`.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightScale {
    /// One scale for the whole tensor (I2S, TL1, TL2).
    Tensor(f32),
    /// One scale per 256-weight block, row-major (TQ2_0, TQ1_0).
    PerBlock(Vec<f32>),
}

/// Prepared `rows x cols` ternary weights for the kernels of this module.
#[derive(Debug, Clone)]
pub struct TernaryMatrix {
    format: Format,
    rows: usize,
    cols: usize,
    chunks: usize,
    data: Aligned<u8>,
    scale: WeightScale,
}

impl TernaryMatrix {
    /// Builds the matrix from codes in {-1, 0, 1} (row-major, `rows * cols`)
    /// and the scale(s) of `format`.
    pub fn from_codes(
        format: Format,
        codes: &[i8],
        scale: WeightScale,
        rows: usize,
        cols: usize,
    ) -> Result<Self, KernelError> {
        check_shape(format, rows, cols)?;
        if codes.len() != rows * cols {
            return Err(KernelError::shape(
                KERNEL,
                format!(
                    "{} codes for a {rows} x {cols} matrix ({} expected)",
                    codes.len(),
                    rows * cols
                ),
            ));
        }
        if let Some(i) = codes.iter().position(|c| !(-1..=1).contains(c)) {
            return Err(KernelError::InvalidWeights {
                kernel: KERNEL,
                detail: format!("code {} at index {i} is not in {{-1, 0, 1}}", codes[i]),
            });
        }
        check_scale(format, &scale, rows, cols)?;
        let chunks = cols.div_ceil(CHUNK_WEIGHTS);
        let mut data = Aligned::zeroed(rows * chunks * CHUNK_BYTES);
        for (row_codes, row_out) in codes
            .chunks_exact(cols)
            .zip(data.as_mut_slice().chunks_exact_mut(chunks * CHUNK_BYTES))
        {
            pack_row(row_codes, row_out);
        }
        Ok(TernaryMatrix {
            format,
            rows,
            cols,
            chunks,
            data,
            scale,
        })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn scale(&self) -> &WeightScale {
        &self.scale
    }

    /// Bytes of prepared weights one full GEMV reads (for roofline figures).
    pub fn weight_bytes(&self) -> usize {
        self.data.as_slice().len()
    }

    /// Decodes row `r` back to codes (tests and debugging).
    pub fn row_codes(&self, r: usize) -> Vec<i8> {
        let row = self.row_data(r, r + 1);
        (0..self.cols)
            .map(|k| {
                let (c, j) = (k / CHUNK_WEIGHTS, k % CHUNK_WEIGHTS);
                let byte = row[c * CHUNK_BYTES + j % CHUNK_BYTES];
                ((byte >> (2 * (j / CHUNK_BYTES))) & 3) as i8 - 1
            })
            .collect()
    }

    pub(crate) fn chunks(&self) -> usize {
        self.chunks
    }

    /// Packed rows `r0..r1`, contiguous.
    pub(crate) fn row_data(&self, r0: usize, r1: usize) -> &[u8] {
        let rb = self.chunks * CHUNK_BYTES;
        &self.data.as_slice()[r0 * rb..r1 * rb]
    }
}

fn check_shape(format: Format, rows: usize, cols: usize) -> Result<(), KernelError> {
    if rows == 0 || cols == 0 {
        return Err(KernelError::shape(
            KERNEL,
            format!("{format}: empty matrix {rows} x {cols}"),
        ));
    }
    let m = format.row_multiple();
    if !cols.is_multiple_of(m) {
        return Err(KernelError::shape(
            KERNEL,
            format!("{format}: cols = {cols} is not a multiple of {m}"),
        ));
    }
    if cols > MAX_COLS {
        return Err(KernelError::shape(
            KERNEL,
            format!("cols = {cols} exceeds the exact-i32 limit {MAX_COLS}"),
        ));
    }
    rows.checked_mul(cols)
        .ok_or_else(|| KernelError::shape(KERNEL, format!("{rows} x {cols} overflows usize")))?;
    Ok(())
}

fn check_scale(
    format: Format,
    scale: &WeightScale,
    rows: usize,
    cols: usize,
) -> Result<(), KernelError> {
    let values: &[f32] = match (format.has_tensor_scale(), scale) {
        (true, WeightScale::Tensor(s)) => std::slice::from_ref(s),
        (false, WeightScale::PerBlock(v)) => {
            let blocks = rows * cols / format.block_weights();
            if format.block_weights() != CHUNK_WEIGHTS || v.len() != blocks {
                return Err(KernelError::InvalidWeights {
                    kernel: KERNEL,
                    detail: format!(
                        "{format}: {} block scales, expected {blocks} (one per {} weights)",
                        v.len(),
                        format.block_weights()
                    ),
                });
            }
            v
        }
        _ => {
            return Err(KernelError::InvalidWeights {
                kernel: KERNEL,
                detail: format!("{format}: wrong kind of scale {scale:?}"),
            })
        }
    };
    if let Some(i) = values.iter().position(|s| !s.is_finite()) {
        return Err(KernelError::InvalidWeights {
            kernel: KERNEL,
            detail: format!("{format}: scale {} at index {i} is not finite", values[i]),
        });
    }
    Ok(())
}

/// Packs one row of codes into the MAD layout (see the module docs).
fn pack_row(codes: &[i8], out: &mut [u8]) {
    for (c, chunk) in out.chunks_exact_mut(CHUNK_BYTES).enumerate() {
        for (i, byte) in chunk.iter_mut().enumerate() {
            *byte = (0..4).fold(0u8, |b, g| {
                let k = c * CHUNK_WEIGHTS + g * CHUNK_BYTES + i;
                let code = codes.get(k).map_or(1, |&w| (w + 1) as u8);
                b | code << (2 * g)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_decodes_rows() {
        let cols = 384;
        let codes: Vec<i8> = (0..2 * cols).map(|i| (i % 3) as i8 - 1).collect();
        let m = TernaryMatrix::from_codes(Format::I2S, &codes, WeightScale::Tensor(0.5), 2, cols)
            .unwrap();
        assert_eq!(m.chunks(), 2);
        assert_eq!(m.weight_bytes(), 2 * 2 * 64);
        assert_eq!(m.row_codes(0), &codes[..cols]);
        assert_eq!(m.row_codes(1), &codes[cols..]);
        // Weight 64 * 2 + 5 of chunk 0 lives in byte 5 at shift 4.
        let byte = m.row_data(0, 1)[5];
        assert_eq!(((byte >> 4) & 3) as i8 - 1, codes[133]);
        // Chunk 1 holds weights 256..383 in groups 0-1; groups 2-3 are
        // padding with zero weights (code 1).
        assert_eq!(m.row_data(0, 1)[64 + 63] >> 4, 0b01_01);
    }

    #[test]
    fn rejects_bad_shapes_codes_and_scales() {
        let e = TernaryMatrix::from_codes(Format::I2S, &[0; 100], WeightScale::Tensor(1.0), 1, 100);
        assert!(matches!(e, Err(KernelError::Shape { .. })), "{e:?}");
        let e = TernaryMatrix::from_codes(Format::I2S, &[2; 128], WeightScale::Tensor(1.0), 1, 128);
        assert!(
            matches!(e, Err(KernelError::InvalidWeights { .. })),
            "{e:?}"
        );
        let e =
            TernaryMatrix::from_codes(Format::TQ2_0, &[0; 256], WeightScale::Tensor(1.0), 1, 256);
        assert!(
            matches!(e, Err(KernelError::InvalidWeights { .. })),
            "{e:?}"
        );
        let e = TernaryMatrix::from_codes(
            Format::TQ2_0,
            &[0; 512],
            WeightScale::PerBlock(vec![1.0]),
            1,
            512,
        );
        assert!(
            matches!(e, Err(KernelError::InvalidWeights { .. })),
            "{e:?}"
        );
        let e = TernaryMatrix::from_codes(
            Format::I2S,
            &[0; 128],
            WeightScale::Tensor(f32::INFINITY),
            1,
            128,
        );
        assert!(
            matches!(e, Err(KernelError::InvalidWeights { .. })),
            "{e:?}"
        );
        let e = TernaryMatrix::from_codes(Format::I2S, &[0; 128], WeightScale::Tensor(1.0), 2, 128);
        assert!(matches!(e, Err(KernelError::Shape { .. })), "{e:?}");
    }
}
