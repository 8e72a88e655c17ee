//! AVX-512 MAD kernel: 64 weights per instruction. With AVX512-VNNI one
//! `vpdpbusd` multiplies the unsigned offset codes by the signed activations
//! and adds groups of four into i32 lanes; without it `vpmaddubsw` +
//! `vpmaddwd` do the same (pairs of `code * xq` fit i16: |2 * 2 * 128| < 2^15).
//!
//! Register tile: up to 4 rows x 4 tokens of i32 accumulators; the 4 rows'
//! chunks are unpacked once per activation group and reused by every token.

// Register tiles are indexed by (row, token) on purpose: the arrays are
// fully unrolled into registers.
#![allow(clippy::needless_range_loop)]

use super::{Block, Sums};
use crate::kernels::matrix::CHUNK_BYTES;
use crate::kernels::CHUNK_WEIGHTS;
use std::arch::x86_64::*;

/// # Safety
/// The CPU must support AVX-512 F/BW (and VNNI when `vnni`), and the slices
/// in `b` and `out` must match its shape (checked by the caller).
pub(super) unsafe fn raw_sums(vnni: bool, sums: Sums, b: &Block<'_>, out: &mut [i32]) {
    match (vnni, sums) {
        (true, Sums::Total) => run_vnni::<false>(b, out),
        (true, Sums::PerChunk) => run_vnni::<true>(b, out),
        (false, Sums::Total) => run_bw::<false>(b, out),
        (false, Sums::PerChunk) => run_bw::<true>(b, out),
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn run_vnni<const PC: bool>(b: &Block<'_>, out: &mut [i32]) {
    run::<true, PC>(b, out)
}

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn run_bw<const PC: bool>(b: &Block<'_>, out: &mut [i32]) {
    run::<false, PC>(b, out)
}

/// Output strides: between rows, between tokens.
#[inline(always)]
fn strides<const PC: bool>(b: &Block<'_>) -> (usize, usize) {
    if PC {
        (b.chunks, b.rows * b.chunks)
    } else {
        (1, b.rows)
    }
}

#[inline(always)]
unsafe fn run<const VNNI: bool, const PC: bool>(b: &Block<'_>, out: &mut [i32]) {
    let row_bytes = b.chunks * CHUNK_BYTES;
    let tok_len = b.chunks * CHUNK_WEIGHTS;
    let (ors, ots) = strides::<PC>(b);
    // GEMV-like calls get 8-row tiles (8 independent accumulator chains);
    // GEMM tiles are 4 rows x 4 tokens.
    let row_tile = if b.tokens >= 4 { 4 } else { 8 };
    let o = out.as_mut_ptr();
    let mut r = 0;
    while r < b.rows {
        let n = if r + row_tile <= b.rows {
            row_tile
        } else if r + 4 <= b.rows {
            4
        } else {
            1
        };
        let mut t = 0;
        while t < b.tokens {
            let four_toks = t + 4 <= b.tokens;
            let tile = |r: usize| Tile {
                w: b.w.as_ptr().add(r * row_bytes),
                row_bytes,
                x: b.x.as_ptr().add(t * tok_len),
                tok_len,
                chunks: b.chunks,
                o: o.add(r * ors + t * ots),
                ors,
                ots,
            };
            match (n, four_toks) {
                (8, _) => tile(r).run::<8, 1, VNNI, PC>(),
                (4, true) => tile(r).run::<4, 4, VNNI, PC>(),
                (4, false) => tile(r).run::<4, 1, VNNI, PC>(),
                (_, true) => tile(r).run::<1, 4, VNNI, PC>(),
                (_, false) => tile(r).run::<1, 1, VNNI, PC>(),
            }
            t += if four_toks && n != 8 { 4 } else { 1 };
        }
        r += n;
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
unsafe fn dot<const VNNI: bool>(acc: __m512i, q: __m512i, x: __m512i) -> __m512i {
    if VNNI {
        _mm512_dpbusd_epi32(acc, q, x)
    } else {
        let pairs = _mm512_maddubs_epi16(q, x);
        _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)))
    }
}

/// Codes of group `g` (weights 64g .. 64g + 63 of the chunk), one per byte.
#[inline(always)]
unsafe fn group(w: __m512i, g: usize, m3: __m512i) -> __m512i {
    match g {
        0 => _mm512_and_si512(w, m3),
        1 => _mm512_and_si512(_mm512_srli_epi16::<2>(w), m3),
        2 => _mm512_and_si512(_mm512_srli_epi16::<4>(w), m3),
        _ => _mm512_and_si512(_mm512_srli_epi16::<6>(w), m3),
    }
}

impl Tile {
    #[inline(always)]
    unsafe fn run<const R: usize, const T: usize, const VNNI: bool, const PC: bool>(&self) {
        let m3 = _mm512_set1_epi8(3);
        let zero = _mm512_setzero_si512();
        let mut acc = [[zero; T]; R];
        for c in 0..self.chunks {
            let mut wv = [zero; R];
            for (r, v) in wv.iter_mut().enumerate() {
                // SAFETY (whole tile): rows r < R and chunks c < chunks lie
                // inside the block's weight slice, tokens and groups inside
                // its activation slice, as the caller checked.
                *v = _mm512_loadu_si512(self.w.add(r * self.row_bytes + c * CHUNK_BYTES).cast());
            }
            for g in 0..4 {
                let mut xv = [zero; T];
                for (t, v) in xv.iter_mut().enumerate() {
                    let off = t * self.tok_len + c * CHUNK_WEIGHTS + g * CHUNK_BYTES;
                    *v = _mm512_loadu_si512(self.x.add(off).cast());
                }
                for r in 0..R {
                    let q = group(wv[r], g, m3);
                    for t in 0..T {
                        acc[r][t] = dot::<VNNI>(acc[r][t], q, xv[t]);
                    }
                }
            }
            if PC {
                for r in 0..R {
                    for t in 0..T {
                        *self.o.add(r * self.ors + t * self.ots + c) =
                            _mm512_reduce_add_epi32(acc[r][t]);
                        acc[r][t] = zero;
                    }
                }
            }
        }
        if !PC {
            for r in 0..R {
                for t in 0..T {
                    *self.o.add(r * self.ors + t * self.ots) = _mm512_reduce_add_epi32(acc[r][t]);
                }
            }
        }
    }
}
