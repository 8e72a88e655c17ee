//! AVX2 MAD kernel: 32 weights per instruction. With AVX-VNNI one
//! `vpdpbusd` multiplies the unsigned offset codes by the signed activations
//! and adds groups of four into i32 lanes; without it `vpmaddubsw` +
//! `vpmaddwd` do the same (pairs of `code * xq` fit i16: |2 * 2 * 128| < 2^15).
//!
//! A 64-byte chunk is taken as two 32-byte halves: half `h`, group `g` holds
//! weights `64g + 32h .. 64g + 32h + 31`. Register tiles: 4 rows x 1 token
//! (GEMV) or 2 rows x 4 tokens (GEMM), within the 16 ymm registers.

// Register tiles are indexed by (row, token) on purpose: the arrays are
// fully unrolled into registers.
#![allow(clippy::needless_range_loop)]

use super::{Block, Sums};
use crate::kernels::matrix::CHUNK_BYTES;
use crate::kernels::CHUNK_WEIGHTS;
use std::arch::x86_64::*;

/// # Safety
/// The CPU must support AVX2 (and AVX-VNNI when `vnni`), and the slices in
/// `b` and `out` must match its shape (checked by the caller).
pub(super) unsafe fn raw_sums(vnni: bool, sums: Sums, b: &Block<'_>, out: &mut [i32]) {
    match (vnni, sums) {
        (true, Sums::Total) => run_vnni::<false>(b, out),
        (true, Sums::PerChunk) => run_vnni::<true>(b, out),
        (false, Sums::Total) => run_plain::<false>(b, out),
        (false, Sums::PerChunk) => run_plain::<true>(b, out),
    }
}

#[target_feature(enable = "avx2,avxvnni")]
unsafe fn run_vnni<const PC: bool>(b: &Block<'_>, out: &mut [i32]) {
    run::<true, PC>(b, out)
}

#[target_feature(enable = "avx2")]
unsafe fn run_plain<const PC: bool>(b: &Block<'_>, out: &mut [i32]) {
    run::<false, PC>(b, out)
}

#[inline(always)]
unsafe fn run<const VNNI: bool, const PC: bool>(b: &Block<'_>, out: &mut [i32]) {
    let row_bytes = b.chunks * CHUNK_BYTES;
    let tok_len = b.chunks * CHUNK_WEIGHTS;
    let (ors, ots) = if PC {
        (b.chunks, b.rows * b.chunks)
    } else {
        (1, b.rows)
    };
    let o = out.as_mut_ptr();
    let tile_at = |r: usize, t: usize| Tile {
        w: b.w.as_ptr().add(r * row_bytes),
        row_bytes,
        x: b.x.as_ptr().add(t * tok_len),
        tok_len,
        chunks: b.chunks,
        o: o.add(r * ors + t * ots),
        ors,
        ots,
    };
    let mut r = 0;
    while r < b.rows {
        let four_rows = r + 4 <= b.rows;
        let mut t = 0;
        while t < b.tokens {
            let four_toks = t + 4 <= b.tokens;
            match (four_rows, four_toks) {
                (true, true) => {
                    tile_at(r, t).run::<2, 4, VNNI, PC>();
                    tile_at(r + 2, t).run::<2, 4, VNNI, PC>();
                }
                (true, false) => tile_at(r, t).run::<4, 1, VNNI, PC>(),
                (false, true) => tile_at(r, t).run::<1, 4, VNNI, PC>(),
                (false, false) => tile_at(r, t).run::<1, 1, VNNI, PC>(),
            }
            t += if four_toks { 4 } else { 1 };
        }
        r += if four_rows { 4 } else { 1 };
    }
}

/// Raw pointers of one register tile (R rows x T tokens).
struct Tile {
    w: *const u8,
    row_bytes: usize,
    x: *const i8,
    tok_len: usize,
    chunks: usize,
    o: *mut i32,
    ors: usize,
    ots: usize,
}

#[inline(always)]
unsafe fn dot<const VNNI: bool>(acc: __m256i, q: __m256i, x: __m256i) -> __m256i {
    if VNNI {
        _mm256_dpbusd_avx_epi32(acc, q, x)
    } else {
        let pairs = _mm256_maddubs_epi16(q, x);
        _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
    }
}

#[inline(always)]
unsafe fn group(w: __m256i, g: usize, m3: __m256i) -> __m256i {
    match g {
        0 => _mm256_and_si256(w, m3),
        1 => _mm256_and_si256(_mm256_srli_epi16::<2>(w), m3),
        2 => _mm256_and_si256(_mm256_srli_epi16::<4>(w), m3),
        _ => _mm256_and_si256(_mm256_srli_epi16::<6>(w), m3),
    }
}

#[inline(always)]
unsafe fn hsum(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

impl Tile {
    #[inline(always)]
    unsafe fn run<const R: usize, const T: usize, const VNNI: bool, const PC: bool>(&self) {
        let m3 = _mm256_set1_epi8(3);
        let zero = _mm256_setzero_si256();
        let mut acc = [[zero; T]; R];
        for c in 0..self.chunks {
            for h in 0..2 {
                let mut wv = [zero; R];
                for (r, v) in wv.iter_mut().enumerate() {
                    // SAFETY (whole tile): rows r < R and chunks c < chunks
                    // lie inside the block's weight slice, tokens and groups
                    // inside its activation slice, as the caller checked.
                    let off = r * self.row_bytes + c * CHUNK_BYTES + 32 * h;
                    *v = _mm256_loadu_si256(self.w.add(off).cast());
                }
                for g in 0..4 {
                    let mut xv = [zero; T];
                    for (t, v) in xv.iter_mut().enumerate() {
                        let off = t * self.tok_len + c * CHUNK_WEIGHTS + g * CHUNK_BYTES + 32 * h;
                        *v = _mm256_loadu_si256(self.x.add(off).cast());
                    }
                    for r in 0..R {
                        let q = group(wv[r], g, m3);
                        for t in 0..T {
                            acc[r][t] = dot::<VNNI>(acc[r][t], q, xv[t]);
                        }
                    }
                }
            }
            if PC {
                for r in 0..R {
                    for t in 0..T {
                        *self.o.add(r * self.ors + t * self.ots + c) = hsum(acc[r][t]);
                        acc[r][t] = zero;
                    }
                }
            }
        }
        if !PC {
            for r in 0..R {
                for t in 0..T {
                    *self.o.add(r * self.ors + t * self.ots) = hsum(acc[r][t]);
                }
            }
        }
    }
}
