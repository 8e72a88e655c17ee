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
//! (half `h`, group `g` -> weights `64g + 32h ..`). Per-block scales (TQ2_0:
//! one per 256 weights) line up with chunks one to one.
//!
//! Rows are stored in groups of 8, chunk-interleaved, so that the 8-row GEMV
//! tile reads one sequential stream:
//!
//! ```text
//! [r0 c0][r1 c0]..[r7 c0][r0 c1][r1 c1]..[r7 c1] .. | [r8 c0][r9 c0] ..
//!  group 0 (rows 0..7)                                | group 1 ...
//! (the last group holds rows % 8 rows, interleaved the same way)
//! ```
//!
//! Ternary codes cost the same 2 bits as I2S, so the weight bytes streamed
//! per GEMV equal the file's (`rows * cols / 4`, plus padding when `cols` is
//! not a multiple of 256).
//!
//! I2S, TQ2_0 and TQ1_0 use the MAD layout; TL1 and TL2 use the lookup-table
//! tiles documented in `kernels::lut`.

use super::aligned::Aligned;
use super::lut::{self, Encoding, Lut};
use super::mad::{chunk_index, chunk_offset, GROUP_ROWS};
use super::{KernelError, CHUNK_WEIGHTS};
use crate::cpu::SimdLevel;
use crate::quant::{Format, Scale};

/// Bytes of one 256-weight chunk in the MAD layout.
pub(crate) const CHUNK_BYTES: usize = CHUNK_WEIGHTS / 4;

/// Largest supported row length: keeps every i32 partial sum exact
/// (|(code + 1) * xq| <= 256 per weight, 2^31 / 256 = 2^23).
pub const MAX_COLS: usize = 1 << 22;

const KERNEL: &str = "TernaryMatrix";

/// Which kernel family reads a matrix, with its layout parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Multiply-add chunks of 256 weights.
    Mad { chunks: usize },
    /// Lookup-table tiles of `lut.tile_rows()` rows, `groups` weight groups
    /// per row, records in `enc`.
    Lut {
        lut: Lut,
        groups: usize,
        enc: Encoding,
    },
}

/// Prepared `rows x cols` ternary weights for the kernels of this module.
#[derive(Debug, Clone)]
pub struct TernaryMatrix {
    format: Format,
    rows: usize,
    cols: usize,
    layout: Layout,
    data: Aligned<u8>,
    scale: Scale,
    /// Per-block scales widened to f64 once (what the kernels multiply by),
    /// in the order of the MAD layout's chunks (scale `i` belongs to the
    /// chunk at byte `CHUNK_BYTES * i`): a GEMV tile of 8 rows reads the 8
    /// scales of a chunk as two vectors.
    block_scales: Vec<f64>,
}

impl TernaryMatrix {
    /// Builds the matrix from codes in {-1, 0, 1} (row-major, `rows * cols`)
    /// and the scale(s) of `format`, laid out for the kernels of the active
    /// SIMD level ([`SimdLevel::active`]).
    pub fn from_codes(
        format: Format,
        codes: &[i8],
        scale: Scale,
        rows: usize,
        cols: usize,
    ) -> Result<Self, KernelError> {
        Self::from_codes_for(SimdLevel::active(), format, codes, scale, rows, cols)
    }

    /// As [`Self::from_codes`], laid out for the kernels of `level` (TL2
    /// records differ between AVX2 and AVX-512, and TL1 matrices of 3 tiles
    /// or more are packed in quads for AVX-512 VBMI; see `kernels::lut`). Every
    /// level computes the same products from either layout; a matrix laid
    /// out for another level is only slower there. `level` need not be
    /// supported by this CPU: the layout is plain data.
    pub fn from_codes_for(
        level: SimdLevel,
        format: Format,
        codes: &[i8],
        scale: Scale,
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
        let lut = match format {
            Format::TL1 => Some(Lut::Pairs),
            Format::TL2 => Some(Lut::Triples),
            _ => None,
        };
        let (layout, data) = match lut {
            Some(lut) => {
                let enc = Encoding::for_level(lut, level, rows);
                let groups = lut.groups(cols);
                let layout = Layout::Lut { lut, groups, enc };
                (layout, lut::pack(lut, enc, codes, rows, cols))
            }
            None => {
                let chunks = cols.div_ceil(CHUNK_WEIGHTS);
                let mut data = Aligned::zeroed(rows * chunks * CHUNK_BYTES);
                let out = data.as_mut_slice();
                for (r, row_codes) in codes.chunks_exact(cols).enumerate() {
                    for c in 0..chunks {
                        let at = chunk_offset(rows, chunks, r, c);
                        pack_chunk(row_codes, c, &mut out[at..at + CHUNK_BYTES]);
                    }
                }
                (Layout::Mad { chunks }, data)
            }
        };
        let block_scales = match (&scale, layout) {
            (Scale::PerBlock(d), Layout::Mad { chunks }) => {
                let mut out = vec![0.0; d.len()];
                for (i, &v) in d.iter().enumerate() {
                    out[chunk_index(rows, chunks, i / chunks, i % chunks)] = v as f64;
                }
                out
            }
            _ => Vec::new(),
        };
        Ok(TernaryMatrix {
            format,
            rows,
            cols,
            layout,
            data,
            scale,
            block_scales,
        })
    }

    /// Builds the matrix from a packed tensor in `format`'s file layout
    /// (decoded by [`crate::quant::unpack`], then repacked for the kernels).
    pub fn from_packed(
        format: Format,
        packed: &[u8],
        rows: usize,
        cols: usize,
    ) -> Result<Self, KernelError> {
        check_shape(format, rows, cols)?;
        let mut codes = vec![0i8; rows * cols];
        let scale = crate::quant::unpack(format, packed, rows, cols, &mut codes)?;
        Self::from_codes(format, &codes, scale, rows, cols)
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

    pub fn scale(&self) -> &Scale {
        &self.scale
    }

    /// Bytes of prepared weights one full GEMV reads (for roofline figures).
    pub fn weight_bytes(&self) -> usize {
        self.data.as_slice().len()
    }

    /// Decodes row `r` back to codes (tests and debugging).
    pub fn row_codes(&self, r: usize) -> Vec<i8> {
        if let Layout::Lut { lut, enc, .. } = self.layout {
            return lut::row_codes(lut, enc, self.data.as_slice(), r, self.cols);
        }
        let Layout::Mad { chunks } = self.layout else {
            unreachable!("lookup-table layouts returned above")
        };
        let data = self.data.as_slice();
        (0..self.cols)
            .map(|k| {
                let (c, j) = (k / CHUNK_WEIGHTS, k % CHUNK_WEIGHTS);
                let byte = data[chunk_offset(self.rows, chunks, r, c) + j % CHUNK_BYTES];
                ((byte >> (2 * (j / CHUNK_BYTES))) & 3) as i8 - 1
            })
            .collect()
    }

    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }

    /// How a lookup-table matrix's records hold their codes.
    pub(crate) fn encoding(&self) -> Encoding {
        match self.layout {
            Layout::Lut { enc, .. } => enc,
            Layout::Mad { .. } => unreachable!("encoding of a multiply-add matrix"),
        }
    }

    /// MAD layout: packed rows `r0..r1`, contiguous; `r0` and `r1` (unless it
    /// is the last row) must be multiples of [`GROUP_ROWS`].
    pub(crate) fn row_data(&self, r0: usize, r1: usize) -> &[u8] {
        assert!(
            r0.is_multiple_of(GROUP_ROWS) && (r1.is_multiple_of(GROUP_ROWS) || r1 == self.rows)
        );
        let rb = match self.layout {
            Layout::Mad { chunks } => chunks * CHUNK_BYTES,
            Layout::Lut { .. } => unreachable!("row_data of a lookup-table matrix"),
        };
        &self.data.as_slice()[r0 * rb..r1 * rb]
    }

    /// Per-block scales of rows `r0..r1` as f64 (empty for tensor scales),
    /// in chunk order (see the field); the same row rule as [`Self::row_data`].
    pub(crate) fn block_scales(&self, r0: usize, r1: usize) -> &[f64] {
        match self.layout {
            Layout::Mad { chunks } if !self.block_scales.is_empty() => {
                &self.block_scales[r0 * chunks..r1 * chunks]
            }
            _ => &[],
        }
    }

    /// LUT layout: tiles `t0..t1`, contiguous.
    pub(crate) fn tile_data(&self, t0: usize, t1: usize) -> &[u8] {
        let tb = match self.layout {
            Layout::Lut { lut, groups, .. } => lut.tile_bytes(groups),
            Layout::Mad { .. } => unreachable!("tile_data of a multiply-add matrix"),
        };
        &self.data.as_slice()[t0 * tb..t1 * tb]
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

fn check_scale(format: Format, scale: &Scale, rows: usize, cols: usize) -> Result<(), KernelError> {
    let values: &[f32] = match (format.has_tensor_scale(), scale) {
        (true, Scale::Tensor(s)) => std::slice::from_ref(s),
        (false, Scale::PerBlock(v)) => {
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

/// Packs chunk `c` of one row of codes into the MAD layout (see the module
/// docs); weights past the row's end are zeros (code 1).
fn pack_chunk(codes: &[i8], c: usize, chunk: &mut [u8]) {
    for (i, byte) in chunk.iter_mut().enumerate() {
        *byte = (0..4).fold(0u8, |b, g| {
            let k = c * CHUNK_WEIGHTS + g * CHUNK_BYTES + i;
            let code = codes.get(k).map_or(1, |&w| (w + 1) as u8);
            b | code << (2 * g)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_decodes_rows() {
        let cols = 384;
        let codes: Vec<i8> = (0..2 * cols).map(|i| (i % 3) as i8 - 1).collect();
        let m =
            TernaryMatrix::from_codes(Format::I2S, &codes, Scale::Tensor(0.5), 2, cols).unwrap();
        assert_eq!(m.layout(), Layout::Mad { chunks: 2 });
        assert_eq!(m.weight_bytes(), 2 * 2 * 64);
        assert_eq!(m.row_codes(0), &codes[..cols]);
        assert_eq!(m.row_codes(1), &codes[cols..]);
        // Weight 64 * 2 + 5 of chunk 0 lives in byte 5 at shift 4.
        let data = m.row_data(0, 2);
        assert_eq!(((data[5] >> 4) & 3) as i8 - 1, codes[133]);
        // Row 1's chunk 0 comes next (group interleave), then row 0's chunk
        // 1, which holds weights 256..383 in groups 0-1; groups 2-3 are
        // padding with zero weights (code 1).
        assert_eq!(((data[64] >> 2) & 3) as i8 - 1, codes[cols + 64]);
        assert_eq!(data[128 + 63] >> 4, 0b01_01);
    }

    #[test]
    fn rejects_bad_shapes_codes_and_scales() {
        let e = TernaryMatrix::from_codes(Format::I2S, &[0; 100], Scale::Tensor(1.0), 1, 100);
        assert!(matches!(e, Err(KernelError::Shape { .. })), "{e:?}");
        let e = TernaryMatrix::from_codes(Format::I2S, &[2; 128], Scale::Tensor(1.0), 1, 128);
        assert!(
            matches!(e, Err(KernelError::InvalidWeights { .. })),
            "{e:?}"
        );
        let e = TernaryMatrix::from_codes(Format::TQ2_0, &[0; 256], Scale::Tensor(1.0), 1, 256);
        assert!(
            matches!(e, Err(KernelError::InvalidWeights { .. })),
            "{e:?}"
        );
        let e =
            TernaryMatrix::from_codes(Format::TQ2_0, &[0; 512], Scale::PerBlock(vec![1.0]), 1, 512);
        assert!(
            matches!(e, Err(KernelError::InvalidWeights { .. })),
            "{e:?}"
        );
        let e =
            TernaryMatrix::from_codes(Format::I2S, &[0; 128], Scale::Tensor(f32::INFINITY), 1, 128);
        assert!(
            matches!(e, Err(KernelError::InvalidWeights { .. })),
            "{e:?}"
        );
        let e = TernaryMatrix::from_codes(Format::I2S, &[0; 128], Scale::Tensor(1.0), 2, 128);
        assert!(matches!(e, Err(KernelError::Shape { .. })), "{e:?}");
    }
}
