//! Multiply-add kernels over the MAD layout (see [`super::matrix`]).
//!
//! Two outputs, one per kind of weight scale:
//!
//! * [`raw_sums`] (one scale per tensor): the exact `sum((code + 1) * xq)`
//!   per (token, row); the caller subtracts `sum(xq)` and scales.
//! * [`scaled_sums`] (one scale `d` per 256-weight block): per chunk, the
//!   exact integer dot `v = raw - sum(xq of the chunk)` (i32), then
//!   `acc = d * v + acc` in f64, chunk by chunk in order from `acc = 0`.
//!   The product is exact (a 24-bit scale times a 16-bit integer), so the
//!   only rounding is the add, and every path performs the same adds in
//!   the same order: results are bit-identical. The SIMD kernels reduce a
//!   chunk's i32 lanes to `v` (an exact integer sum, any order) for several
//!   rows at once and may delay the f64 part by a few chunks; it stays one
//!   multiply and one add per row and chunk, in chunk order.
//!
//!   (This replaced 16 f64 lane accumulators per row and a final tree
//!   sum, which needed no horizontal sums but converted and scaled 16
//!   values per row and chunk: TQ2_0 GEMV 640x2560 1t went from 37.5 us
//!   to 21.0.)
//!
//! One file per ISA.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod scalar;

use super::matrix::CHUNK_BYTES;
use super::CHUNK_WEIGHTS;
use crate::cpu::SimdLevel;

/// Rows interleaved chunk by chunk (see [`super::matrix`]): a GEMV tile of
/// 8 rows (AVX2 and AVX-512) then reads one sequential stream, which DRAM
/// serves at full bandwidth (8 separate row streams reach about half).
pub(crate) const GROUP_ROWS: usize = 8;

/// Where row `r` starts in a block of `rows` rows (the block starting on a
/// group boundary), and the stride from one of its chunks to the next.
#[inline(always)]
pub(crate) fn row_start(rows: usize, chunks: usize, r: usize) -> (usize, usize) {
    let g0 = r / GROUP_ROWS * GROUP_ROWS;
    let n = (rows - g0).min(GROUP_ROWS);
    ((g0 * chunks + (r - g0)) * CHUNK_BYTES, n * CHUNK_BYTES)
}

/// Byte offset of chunk `c` of row `r` (see [`row_start`]).
#[inline(always)]
pub(crate) fn chunk_offset(rows: usize, chunks: usize, r: usize, c: usize) -> usize {
    let (start, stride) = row_start(rows, chunks, r);
    start + c * stride
}

/// Position of chunk `c` of row `r` in chunk order (its byte offset over
/// `CHUNK_BYTES`): where the per-block scales keep that chunk's scale.
#[inline(always)]
pub(crate) fn chunk_index(rows: usize, chunks: usize, r: usize, c: usize) -> usize {
    chunk_offset(rows, chunks, r, c) / CHUNK_BYTES
}

/// A block of `rows` packed rows and `tokens` int8 activation rows.
pub(crate) struct Block<'a> {
    pub w: &'a [u8],
    pub rows: usize,
    pub x: &'a [i8],
    pub tokens: usize,
    pub chunks: usize,
}

/// Per-block scales of the block's rows (`rows * chunks`, in chunk order:
/// the scale of row `r`'s chunk `c` at [`chunk_index`])
/// and the activations' per-chunk sums (`tokens * chunks`).
pub(crate) struct BlockScales<'a> {
    pub d: &'a [f64],
    pub chunk_sums: &'a [i32],
}

fn check_block(b: &Block<'_>, out_len: usize) {
    assert_eq!(b.w.len(), b.rows * b.chunks * CHUNK_BYTES);
    assert_eq!(b.x.len(), b.tokens * b.chunks * CHUNK_WEIGHTS);
    assert_eq!(out_len, b.tokens * b.rows);
}

/// `out[t * rows + r] = sum((code + 1) * xq)` at `level`.
///
/// Panics if the slices do not match the block's shape: the public API
/// checks shapes first, so that would be a bug here, and the check is what
/// makes the unsafe loads below in bounds.
pub(crate) fn raw_sums(level: SimdLevel, b: &Block<'_>, out: &mut [i32]) {
    check_block(b, out.len());
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => {
            assert!(level.is_supported());
            // SAFETY: the CPU supports AVX2 (checked above) and the slice
            // lengths match the block shape (asserted above).
            unsafe { avx2::raw_sums(level.has_vnni(), b, out) }
        }
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => {
            assert!(level.is_supported());
            // SAFETY: as for AVX2, with AVX-512 F/BW supported.
            unsafe { avx512::raw_sums(level.has_vnni(), b, out) }
        }
        _ => scalar::raw_sums(b, out),
    }
}

/// `out[t * rows + r] = sum over chunks of d * (exact chunk dot)`, in the
/// order the module docs give, at `level`. Panics on mismatched slices, as [`raw_sums`].
pub(crate) fn scaled_sums(level: SimdLevel, b: &Block<'_>, s: &BlockScales<'_>, out: &mut [f64]) {
    check_block(b, out.len());
    assert_eq!(s.d.len(), b.rows * b.chunks);
    assert_eq!(s.chunk_sums.len(), b.tokens * b.chunks);
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => {
            assert!(level.is_supported());
            // SAFETY: the CPU supports AVX2 (checked above) and the slice
            // lengths match the block shape (asserted above).
            unsafe { avx2::scaled_sums(level.has_vnni(), b, s, out) }
        }
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => {
            assert!(level.is_supported());
            // SAFETY: as for AVX2, with AVX-512 F/BW supported.
            unsafe { avx512::scaled_sums(level.has_vnni(), b, s, out) }
        }
        _ => scalar::scaled_sums(b, s, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_interleave_chunks_and_cover_the_block_once() {
        let (rows, chunks) = (19, 3);
        let mut seen = vec![false; rows * chunks];
        for r in 0..rows {
            for c in 0..chunks {
                let off = chunk_offset(rows, chunks, r, c);
                assert_eq!(off % CHUNK_BYTES, 0);
                assert!(!std::mem::replace(&mut seen[off / CHUNK_BYTES], true));
            }
        }
        assert!(seen.iter().all(|&s| s));
        // Rows 0..7 chunk 1 follow rows 0..7 chunk 0; the last group has 3 rows.
        assert_eq!(chunk_offset(rows, chunks, 0, 1), 8 * CHUNK_BYTES);
        assert_eq!(
            chunk_offset(rows, chunks, 17, 2),
            (16 * 3 + 2 * 3 + 1) * CHUNK_BYTES
        );
    }
}

/// The non-VNNI instruction sequences, checked on every machine (the public
/// API picks VNNI whenever the CPU has it).
#[cfg(all(test, target_arch = "x86_64"))]
mod isa_tests {
    use super::*;

    fn block_data(
        rows: usize,
        tokens: usize,
        chunks: usize,
    ) -> (Vec<u8>, Vec<i8>, Vec<f64>, Vec<i32>) {
        let mut seed = 0x1234_5678u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        // Codes 0..=2 only (3 does not occur in a packed matrix).
        let w = (0..rows * chunks * CHUNK_BYTES)
            .map(|_| (0..4).fold(0u8, |b, g| b | ((next() % 3) as u8) << (2 * g)))
            .collect();
        let x: Vec<i8> = (0..tokens * chunks * CHUNK_WEIGHTS)
            .map(|_| ((next() % 255) as i32 - 127) as i8)
            .collect();
        let d = (0..rows * chunks)
            .map(|i| 0.25 + i as f64 * 0.125)
            .collect();
        let xs = x
            .chunks_exact(CHUNK_WEIGHTS)
            .map(|c| c.iter().map(|&v| v as i32).sum())
            .collect();
        (w, x, d, xs)
    }

    #[test]
    fn vnni_and_plain_paths_equal_scalar() {
        // GEMM tiles with row and token tails; GEMV tiles of whole groups,
        // a 4-row tail and single rows.
        for (rows, tokens, chunks) in [(11, 6, 3), (21, 1, 5), (13, 1, 2), (3, 1, 1)] {
            paths_equal_scalar(rows, tokens, chunks);
        }
    }

    fn paths_equal_scalar(rows: usize, tokens: usize, chunks: usize) {
        let (w, x, d, xs) = block_data(rows, tokens, chunks);
        let b = Block {
            w: &w,
            rows,
            x: &x,
            tokens,
            chunks,
        };
        let s = BlockScales {
            d: &d,
            chunk_sums: &xs,
        };
        let mut want = vec![0i32; rows * tokens];
        scalar::raw_sums(&b, &mut want);
        let mut want_f = vec![0f64; rows * tokens];
        scalar::scaled_sums(&b, &s, &mut want_f);
        for level in SimdLevel::supported() {
            for vnni in [false, level.has_vnni()] {
                let mut got = vec![0i32; rows * tokens];
                let mut got_f = vec![0f64; rows * tokens];
                match level {
                    // SAFETY: the level is supported, VNNI only when the CPU
                    // has it, and the slices match the block.
                    SimdLevel::Avx2 => unsafe {
                        avx2::raw_sums(vnni, &b, &mut got);
                        avx2::scaled_sums(vnni, &b, &s, &mut got_f);
                    },
                    // SAFETY: as above.
                    SimdLevel::Avx512 => unsafe {
                        avx512::raw_sums(vnni, &b, &mut got);
                        avx512::scaled_sums(vnni, &b, &s, &mut got_f);
                    },
                    SimdLevel::Scalar => continue,
                }
                assert_eq!(got, want, "{level} vnni={vnni} {rows}x{tokens}x{chunks}");
                let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&got_f),
                    bits(&want_f),
                    "{level} vnni={vnni} {rows}x{tokens}x{chunks}"
                );
            }
        }
    }
}
