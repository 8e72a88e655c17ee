//! AVX-512 MAD kernel: 64 weights per instruction. With AVX512-VNNI one
//! `vpdpbusd` multiplies the unsigned offset codes by the signed activations
//! and adds groups of four into i32 lanes; without it `vpmaddubsw` +
//! `vpmaddwd` do the same (pairs of `code * xq` fit i16: |2 * 2 * 128| < 2^15).
//!
//! Register tiles: 8 rows x 1 token (GEMV) or 4 rows x 4 tokens (GEMM) of
//! i32 accumulators, for both kinds of scale; per-block scales (one f64
//! sum per row and token, the i32 lanes reduced every chunk) reduce 8
//! accumulators at once ([`hsum8`]: the GEMV tile's 8 rows, or each half
//! of the GEMM tile). A row's chunk is unpacked once per activation group
//! and reused by every token of the tile.
//!
//! The per-block GEMM tile was 2 x 4 (one reduction per chunk); 4 x 4
//! (16 accumulators, 4 weight and 4 activation registers, 26 of 32) loads
//! each activation group for twice the rows. TQ2_0 on the Zen 4 dev VM,
//! 1 thread, `kernel_probe tq2_0 2048 2048 128 1 avx512` (3 alternating
//! runs, min): 3.82-4.30 ms against 4.16-5.55; criterion
//! `gemm/tq2_0/128x2048x2048/1t` 4.12-4.66 ms against 5.03-6.27 (2 and 6
//! runs, same afternoon).

// Register tiles are indexed by (row, token) on purpose: the arrays are
// fully unrolled into registers.
#![allow(clippy::needless_range_loop)]

use super::{row_start, Block, BlockScales};
use crate::kernels::matrix::CHUNK_BYTES;
use crate::kernels::CHUNK_WEIGHTS;
use std::arch::x86_64::*;

/// # Safety
/// The CPU must support AVX-512 F/BW (and VNNI when `vnni`), and the slices
/// in `b` and `out` must match its shape (checked by the caller).
pub(super) unsafe fn raw_sums(vnni: bool, b: &Block<'_>, out: &mut [i32]) {
    let o = Out {
        raw: out.as_mut_ptr(),
        scaled: std::ptr::null_mut(),
        d: std::ptr::null(),
        xs: std::ptr::null(),
    };
    if vnni {
        run_vnni::<false>(b, o)
    } else {
        run_bw::<false>(b, o)
    }
}

/// # Safety
/// As [`raw_sums`], and `s` must match the block's shape.
pub(super) unsafe fn scaled_sums(vnni: bool, b: &Block<'_>, s: &BlockScales<'_>, out: &mut [f64]) {
    let o = Out {
        raw: std::ptr::null_mut(),
        scaled: out.as_mut_ptr(),
        d: s.d.as_ptr(),
        xs: s.chunk_sums.as_ptr(),
    };
    if vnni {
        run_vnni::<true>(b, o)
    } else {
        run_bw::<true>(b, o)
    }
}

/// Where results go: i32 raw sums, or f64 scaled sums with their inputs.
#[derive(Clone, Copy)]
struct Out {
    raw: *mut i32,
    scaled: *mut f64,
    d: *const f64,
    xs: *const i32,
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn run_vnni<const PC: bool>(b: &Block<'_>, o: Out) {
    run::<true, PC>(b, o)
}

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn run_bw<const PC: bool>(b: &Block<'_>, o: Out) {
    run::<false, PC>(b, o)
}

#[inline(always)]
unsafe fn run<const VNNI: bool, const PC: bool>(b: &Block<'_>, o: Out) {
    let (rt, tt) = if b.tokens >= 4 { (4, 4) } else { (8, 1) };
    let mut r = 0;
    while r < b.rows {
        let n = if r + rt <= b.rows { rt } else { 1 };
        let mut t = 0;
        while t < b.tokens {
            let m = if t + tt <= b.tokens { tt } else { 1 };
            let (start, chunk_stride) = row_start(b.rows, b.chunks, r);
            let tile = Tile {
                w: b.w.as_ptr().add(start),
                chunk_stride,
                x: b.x.as_ptr().add(t * b.chunks * CHUNK_WEIGHTS),
                tok_len: b.chunks * CHUNK_WEIGHTS,
                chunks: b.chunks,
                rows: b.rows,
                r,
                t,
                o,
            };
            match (n, m) {
                (8, _) if PC => tile.gemv8_scaled::<VNNI>(),
                (8, _) => tile.run::<8, 1, VNNI, PC>(),
                (4, 4) => tile.run::<4, 4, VNNI, PC>(),
                (4, _) => tile.run::<4, 1, VNNI, PC>(),
                (_, 4) => tile.run::<1, 4, VNNI, PC>(),
                _ => tile.run::<1, 1, VNNI, PC>(),
            }
            t += m;
        }
        r += n;
    }
}

/// One register tile: R rows from row `r`, T tokens from token `t`.
struct Tile {
    w: *const u8,
    /// Rows of a tile are CHUNK_BYTES apart (same interleave group).
    chunk_stride: usize,
    x: *const i8,
    tok_len: usize,
    chunks: usize,
    rows: usize,
    r: usize,
    t: usize,
    o: Out,
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

/// The lane sums of 8 vectors, `[sum(a[0]), .., sum(a[7])]` (exact
/// integer adds, so the order is free): a transposing tree of 16 shuffles
/// and 8 adds for all 8, where a reduction each takes 8 rows x 8 ops.
///
/// ```text
/// p = lo32(a0, a1) + hi32(a0, a1)   per 128-bit lane: [a0 02, a1 02, a0 13, a1 13]
/// q = lo64(p01, p23) + hi64(..)     per 128-bit lane: [a0, a1, a2, a3] partial
/// u = lanes (0, 2) + (1, 3) of q0, q1, then once more: [rows 0..4 | rows 4..8]
/// ```
#[inline(always)]
unsafe fn hsum8(a: [__m512i; 8]) -> __m256i {
    let p: [__m512i; 4] = std::array::from_fn(|i| {
        let (x, y) = (a[2 * i], a[2 * i + 1]);
        _mm512_add_epi32(_mm512_unpacklo_epi32(x, y), _mm512_unpackhi_epi32(x, y))
    });
    let q: [__m512i; 2] = std::array::from_fn(|i| {
        let (x, y) = (p[2 * i], p[2 * i + 1]);
        _mm512_add_epi32(_mm512_unpacklo_epi64(x, y), _mm512_unpackhi_epi64(x, y))
    });
    let u = _mm512_add_epi32(
        _mm512_shuffle_i32x4::<0b10_00_10_00>(q[0], q[1]),
        _mm512_shuffle_i32x4::<0b11_01_11_01>(q[0], q[1]),
    );
    let v = _mm512_add_epi32(
        _mm512_shuffle_i32x4::<0b00_00_10_00>(u, u),
        _mm512_shuffle_i32x4::<0b00_00_11_01>(u, u),
    );
    _mm512_castsi512_si256(v)
}

impl Tile {
    /// One token, the 8 rows of an interleave group, per-block scales:
    /// each chunk's 8 exact dots come out of [`hsum8`] at once and are
    /// scaled and added in f64 as one vector (the group's 8 scales of a
    /// chunk are contiguous), in chunk order as the definition wants. A
    /// reduction per row and chunk made TQ2_0 slower at AVX-512 than at
    /// AVX2 (2048x2048 1t on Zen 4: 72 against 47 us).
    #[inline(always)]
    unsafe fn gemv8_scaled<const VNNI: bool>(&self) {
        let m3 = _mm512_set1_epi8(3);
        let zero = _mm512_setzero_si512();
        let mut accd = _mm512_setzero_pd();
        for c in 0..self.chunks {
            // SAFETY (whole loop): the 8 rows form one full group of the
            // block (`run` picks 8-row tiles only there), c < chunks, the
            // token's activations hold `chunks * CHUNK_WEIGHTS` values, and
            // the group's 8 scales of chunk c and its chunk sum exist.
            let wv: [__m512i; 8] = std::array::from_fn(|r| {
                _mm512_loadu_si512(self.w.add(r * CHUNK_BYTES + c * self.chunk_stride).cast())
            });
            let mut acc = [zero; 8];
            for g in 0..4 {
                let off = c * CHUNK_WEIGHTS + g * CHUNK_BYTES;
                let xv = _mm512_loadu_si512(self.x.add(off).cast());
                for r in 0..8 {
                    acc[r] = dot::<VNNI>(acc[r], group(wv[r], g, m3), xv);
                }
            }
            let xs = _mm256_set1_epi32(*self.o.xs.add(self.t * self.chunks + c));
            let v = _mm512_cvtepi32_pd(_mm256_sub_epi32(hsum8(acc), xs));
            let d = _mm512_loadu_pd(self.o.d.add(self.scale_index(0, c)));
            accd = _mm512_add_pd(accd, _mm512_mul_pd(d, v));
        }
        _mm512_storeu_pd(self.o.scaled.add(self.t * self.rows + self.r), accd);
    }

    /// Where the scale of tile row `r`, chunk `c` is in [`Out::d`].
    #[inline(always)]
    fn scale_index(&self, r: usize, c: usize) -> usize {
        super::chunk_index(self.rows, self.chunks, self.r + r, c)
    }

    #[inline(always)]
    unsafe fn run<const R: usize, const T: usize, const VNNI: bool, const PC: bool>(&self) {
        let m3 = _mm512_set1_epi8(3);
        let zero = _mm512_setzero_si512();
        let mut acc = [[zero; T]; R];
        let mut accd = [[0.0f64; T]; R];
        let mut accv = [_mm512_setzero_pd(); 2];
        for c in 0..self.chunks {
            let mut wv = [zero; R];
            for (r, v) in wv.iter_mut().enumerate() {
                // SAFETY (whole tile): rows r < R and chunks c < chunks lie
                // inside the block's weight slice, tokens and groups inside
                // its activation slice, scales and chunk sums inside theirs,
                // as the caller checked.
                *v = _mm512_loadu_si512(self.w.add(r * CHUNK_BYTES + c * self.chunk_stride).cast());
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
            if PC && (R * T).is_multiple_of(8) {
                // As `gemv8_scaled`: each 8 of the tile's chunk dots (pair
                // j = r * T + t in lane j % 8) from one reduction, scaled
                // as one vector.
                for (h, accv) in accv.iter_mut().enumerate().take(R * T / 8) {
                    let j = |i: usize| h * 8 + i;
                    let flat: [__m512i; 8] = std::array::from_fn(|i| acc[j(i) / T][j(i) % T]);
                    let xs: [i32; 8] = std::array::from_fn(|i| {
                        *self.o.xs.add((self.t + j(i) % T) * self.chunks + c)
                    });
                    let d: [f64; 8] =
                        std::array::from_fn(|i| *self.o.d.add(self.scale_index(j(i) / T, c)));
                    let xs = _mm256_loadu_si256(xs.as_ptr().cast());
                    let v = _mm512_cvtepi32_pd(_mm256_sub_epi32(hsum8(flat), xs));
                    *accv = _mm512_add_pd(*accv, _mm512_mul_pd(_mm512_loadu_pd(d.as_ptr()), v));
                }
                acc = [[zero; T]; R];
            } else if PC {
                for r in 0..R {
                    let d = *self.o.d.add(self.scale_index(r, c));
                    for t in 0..T {
                        let xs = *self.o.xs.add((self.t + t) * self.chunks + c);
                        let v = _mm512_reduce_add_epi32(acc[r][t]) - xs;
                        accd[r][t] += d * v as f64;
                        acc[r][t] = zero;
                    }
                }
            }
        }
        if PC && (R * T).is_multiple_of(8) {
            for (h, accv) in accv.iter().enumerate().take(R * T / 8) {
                let mut lanes = [0.0f64; 8];
                _mm512_storeu_pd(lanes.as_mut_ptr(), *accv);
                for (i, v) in lanes.into_iter().enumerate() {
                    accd[(h * 8 + i) / T][(h * 8 + i) % T] = v;
                }
            }
        }
        for r in 0..R {
            for t in 0..T {
                let at = (self.t + t) * self.rows + self.r + r;
                if PC {
                    *self.o.scaled.add(at) = accd[r][t];
                } else {
                    *self.o.raw.add(at) = _mm512_reduce_add_epi32(acc[r][t]);
                }
            }
        }
    }
}
