//! Lookup-table kernels for TL1 (weight pairs) and TL2 (weight triples).
//!
//! Instead of multiplying, the kernel looks up precomputed partial sums: for
//! every group of activations (a pair for TL1, a triple for TL2) a table
//! holds the signed sum for each possible weight group, and each row adds
//! the entry its weights select. Entries are exact i16 (bitnet.cpp rounds
//! its tables to int8; we keep them exact so every path equals the scalar
//! integer reference).
//!
//! # In-memory weight layout (built at load time from codes)
//!
//! Rows are grouped in tiles of 64 (the last tile padded with zero weights);
//! within a tile the data runs along `k`, one record per weight group, so a
//! single table serves 64 rows:
//!
//! ```text
//! TL1 record (pair g: weights 2g, 2g+1), 32 bytes:
//!   byte i (0..31):  bit 7..4 = index(row 32+i) | bit 3..0 = index(row i)
//!   index = 3 (w0 + 1) + (w1 + 1)  in 0..=8          (quant::tl1::pair_index)
//! TL2 record (triple g: weights 3g..3g+2, past-the-end weights are 0), 40 bytes:
//!   bytes 0..31:  bit 7..4 = magnitude(row 32+i) | bit 3..0 = magnitude(row i)
//!   bytes 32..35: u32 LE, bit i = sign(row i)        (rows 0..31)
//!   bytes 36..39: u32 LE, bit i = sign(row 32+i)     (rows 32..63)
//!   magnitude in 0..=13, sign = negative              (quant::tl2::triple_code)
//! tile t = records of groups 0, 1, ... ; tiles follow each other
//! ```
//!
//! That is 2 bits per weight for TL1 (as the file) and 40 / 192 = 1.67 bits
//! for TL2 (as the file, whose per-row layout suits a per-row decoder but
//! not a table shared by many rows).
//!
//! # Tables (built per token per call)
//!
//! 32 bytes per group: 16 i16 entries (TL1: entry `index`, 9 used; TL2:
//! entry `magnitude`, 14 used, the sign applied by the kernel), stored
//! little-endian for the scalar and AVX-512 paths (`vpermw` looks up 32 rows
//! at once), or as 16 low bytes then 16 high bytes for AVX2 (two `pshufb`).

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod scalar;

use super::aligned::Aligned;
use crate::cpu::SimdLevel;
use crate::quant::{tl1, tl2};

/// Rows per tile.
pub(crate) const TILE_ROWS: usize = 64;
/// Table bytes per weight group.
pub(crate) const TABLE_BYTES: usize = 32;
/// Groups between widenings of the i16 accumulators to i32: entries are at
/// most 3 * 128 = 384 in magnitude, 64 * 384 < 2^15.
pub(crate) const FLUSH_GROUPS: usize = 64;

/// Which lookup kernel a matrix uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lut {
    /// TL1: two weights per 4-bit index.
    Pairs,
    /// TL2: three weights per 4-bit magnitude + sign bit.
    Triples,
}

impl Lut {
    pub fn width(self) -> usize {
        match self {
            Lut::Pairs => 2,
            Lut::Triples => 3,
        }
    }

    /// Bytes of one group's record in a tile.
    pub fn record_bytes(self) -> usize {
        match self {
            Lut::Pairs => 32,
            Lut::Triples => 40,
        }
    }

    pub fn groups(self, cols: usize) -> usize {
        cols.div_ceil(self.width())
    }
}

/// Packs row-major codes into tiles (see the module docs).
pub(crate) fn pack(lut: Lut, codes: &[i8], rows: usize, cols: usize) -> Aligned<u8> {
    let groups = lut.groups(cols);
    let rb = lut.record_bytes();
    let tiles = rows.div_ceil(TILE_ROWS);
    let mut data = Aligned::zeroed(tiles * groups * rb);
    let code = |r: usize, k: usize| -> i8 {
        if r < rows && k < cols {
            codes[r * cols + k]
        } else {
            0
        }
    };
    for (t, tile) in data
        .as_mut_slice()
        .chunks_exact_mut(groups * rb)
        .enumerate()
    {
        for (g, rec) in tile.chunks_exact_mut(rb).enumerate() {
            for i in 0..TILE_ROWS {
                let r = t * TILE_ROWS + i;
                let k = g * lut.width();
                let (nibble, negative) = match lut {
                    Lut::Pairs => (tl1::pair_index(code(r, k), code(r, k + 1)), false),
                    Lut::Triples => tl2::triple_code(code(r, k), code(r, k + 1), code(r, k + 2)),
                };
                rec[i % 32] |= nibble << (4 * (i / 32));
                if negative {
                    rec[32 + i / 8] |= 1 << (i % 8);
                }
            }
        }
    }
    data
}

/// Decodes the codes of row `r` (tests and debugging).
pub(crate) fn row_codes(lut: Lut, data: &[u8], r: usize, cols: usize) -> Vec<i8> {
    let groups = lut.groups(cols);
    let rb = lut.record_bytes();
    let tile = &data[(r / TILE_ROWS) * groups * rb..][..groups * rb];
    let i = r % TILE_ROWS;
    let mut out = Vec::with_capacity(groups * lut.width());
    for rec in tile.chunks_exact(rb) {
        let nibble = (rec[i % 32] >> (4 * (i / 32))) & 15;
        match lut {
            Lut::Pairs => {
                let (a, b) = tl1::pair_of(nibble);
                out.extend([a, b]);
            }
            Lut::Triples => {
                let negative = rec[32 + i / 8] >> (i % 8) & 1 == 1;
                out.extend(tl2::triple_of(nibble, negative));
            }
        }
    }
    out.truncate(cols);
    out
}

/// Builds one token's tables (`groups * TABLE_BYTES` bytes) in the encoding
/// `level` reads. `x` is the token's zero-padded int8 activations.
pub(crate) fn build_tables(level: SimdLevel, lut: Lut, x: &[i8], groups: usize, out: &mut [u8]) {
    assert_eq!(out.len(), groups * TABLE_BYTES);
    let split_bytes = level == SimdLevel::Avx2;
    for (g, t) in out.chunks_exact_mut(TABLE_BYTES).enumerate() {
        let xs = |j: usize| x.get(g * lut.width() + j).map_or(0, |&v| v as i16);
        let mut e = [0i16; 16];
        match lut {
            Lut::Pairs => {
                for (idx, v) in e.iter_mut().enumerate().take(9) {
                    let (a, b) = tl1::pair_of(idx as u8);
                    *v = a as i16 * xs(0) + b as i16 * xs(1);
                }
            }
            Lut::Triples => {
                for (m, v) in e.iter_mut().enumerate().take(14) {
                    let [a, b, c] = tl2::triple_of(m as u8, false);
                    *v = a as i16 * xs(0) + b as i16 * xs(1) + c as i16 * xs(2);
                }
            }
        }
        for (j, v) in e.iter().enumerate() {
            let [lo, hi] = v.to_le_bytes();
            if split_bytes {
                t[j] = lo;
                t[16 + j] = hi;
            } else {
                t[2 * j] = lo;
                t[2 * j + 1] = hi;
            }
        }
    }
}

/// Exact dots of the rows of `tiles` whole tiles (`w`, contiguous) with one
/// token's tables: `out[64 * tile + i]`.
///
/// Panics on mismatched slices (the public API checks shapes first; the
/// check is what keeps the unsafe loads in bounds).
pub(crate) fn dots(
    level: SimdLevel,
    lut: Lut,
    w: &[u8],
    groups: usize,
    tables: &[u8],
    out: &mut [i32],
) {
    let tiles = out.len() / TILE_ROWS;
    assert_eq!(out.len(), tiles * TILE_ROWS);
    assert_eq!(w.len(), tiles * groups * lut.record_bytes());
    assert_eq!(tables.len(), groups * TABLE_BYTES);
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => {
            assert!(level.is_supported());
            // SAFETY: AVX-512 F/BW supported (checked above); slice lengths
            // match the tile count and group count (asserted above).
            unsafe { avx512::dots(lut, w, groups, tables, out) }
        }
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => {
            assert!(level.is_supported());
            // SAFETY: AVX2 supported (checked above); lengths asserted above.
            unsafe { avx2::dots(lut, w, groups, tables, out) }
        }
        _ => scalar::dots(lut, w, groups, tables, out),
    }
}
