//! Multiply-add kernels over the MAD layout (see [`super::matrix`]): raw
//! integer sums `sum((code + 1) * xq)` for a block of rows and tokens. The
//! callers subtract the activation sums and apply the scales.
//!
//! One file per ISA; every path produces exactly the same integers.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod scalar;

use super::matrix::CHUNK_BYTES;
use super::CHUNK_WEIGHTS;
use crate::cpu::SimdLevel;

/// Which sums a call produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sums {
    /// One per (token, row): `out[t * rows + r]`.
    Total,
    /// One per (token, row, chunk): `out[(t * rows + r) * chunks + c]`.
    PerChunk,
}

/// A block of `rows` packed rows and `tokens` int8 activation rows.
pub(crate) struct Block<'a> {
    pub w: &'a [u8],
    pub rows: usize,
    pub x: &'a [i8],
    pub tokens: usize,
    pub chunks: usize,
}

impl Block<'_> {
    pub fn out_len(&self, sums: Sums) -> usize {
        match sums {
            Sums::Total => self.tokens * self.rows,
            Sums::PerChunk => self.tokens * self.rows * self.chunks,
        }
    }
}

/// Computes the raw sums of `block` into `out` at `level`.
///
/// Panics if the slices do not match the block's shape: the public API
/// checks shapes first, so that would be a bug here, and the check is what
/// makes the unsafe loads below in bounds.
pub(crate) fn raw_sums(level: SimdLevel, sums: Sums, b: &Block<'_>, out: &mut [i32]) {
    assert_eq!(b.w.len(), b.rows * b.chunks * CHUNK_BYTES);
    assert_eq!(b.x.len(), b.tokens * b.chunks * CHUNK_WEIGHTS);
    assert_eq!(out.len(), b.out_len(sums));
    match level {
        SimdLevel::Scalar => scalar::raw_sums(sums, b, out),
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => {
            assert!(level.is_supported());
            // SAFETY: the CPU supports AVX2 (checked above) and the slice
            // lengths match the block shape (asserted above).
            unsafe { avx2::raw_sums(level.has_vnni(), sums, b, out) }
        }
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => {
            assert!(level.is_supported());
            // SAFETY: as for AVX2, with AVX-512 F/BW supported.
            unsafe { avx512::raw_sums(level.has_vnni(), sums, b, out) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        _ => scalar::raw_sums(sums, b, out),
    }
}
