//! AVX2 MAD kernel: 32 weights per instruction. With AVX-VNNI one
//! `vpdpbusd` multiplies the unsigned offset codes by the signed activations
//! and adds groups of four into i32 lanes; without it `vpmaddubsw` +
//! `vpmaddwd` do the same (pairs of `code * xq` fit i16: |2 * 2 * 128| < 2^15).
//!
//! A 64-byte chunk is taken as two 32-byte halves: half `h`, group `g` holds
//! weights `64g + 32h .. 64g + 32h + 31`. Register tiles (16 ymm): 8 rows x
//! 1 token (a whole interleave group, read in address order) or 2 rows x 4
//! tokens (the i32 sums of both live in memory, touched once per 4 chunks),
//! for both kinds of scale; per-block scales reduce the i32 sums every
//! chunk into one f64 sum per row and token.

// Register tiles are indexed by (row, token) on purpose: the arrays are
// fully unrolled into registers.
#![allow(clippy::needless_range_loop)]

use super::{row_start, Block, BlockScales};
use crate::kernels::matrix::CHUNK_BYTES;
use crate::kernels::CHUNK_WEIGHTS;
use std::arch::x86_64::*;

/// # Safety
/// The CPU must support AVX2 (and AVX-VNNI when `vnni`), and the slices in
/// `b` and `out` must match its shape (checked by the caller).
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
        run_plain::<false>(b, o)
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
        run_plain::<true>(b, o)
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

#[target_feature(enable = "avx2,avxvnni")]
unsafe fn run_vnni<const PC: bool>(b: &Block<'_>, o: Out) {
    run::<true, PC>(b, o)
}

#[target_feature(enable = "avx2")]
unsafe fn run_plain<const PC: bool>(b: &Block<'_>, o: Out) {
    run::<false, PC>(b, o)
}

#[inline(always)]
unsafe fn run<const VNNI: bool, const PC: bool>(b: &Block<'_>, o: Out) {
    let (rt, tt) = if b.tokens >= 4 { (2, 4) } else { (8, 1) };
    // Token tiles outside row tiles: a GEMM tile's activations stay in L1
    // over the block's rows (see `GEMM_BLOCK_ROWS` in `matmul`).
    let mut t = 0;
    while t < b.tokens {
        let m = if t + tt <= b.tokens { tt } else { 1 };
        let mut r = 0;
        while r < b.rows {
            // A group's last rows (a matrix whose rows are not a multiple
            // of 8) take the 4-row tile, then single rows.
            let n = match b.rows - r {
                left if left >= rt => rt,
                left if left >= 4 && rt == 8 => 4,
                _ => 1,
            };
            tile_at::<VNNI, PC>(b, o, r, n, t, m);
            r += n;
        }
        t += m;
    }
}

/// Runs the `n` x `m` register tile at row `r`, token `t`.
#[inline(always)]
unsafe fn tile_at<const VNNI: bool, const PC: bool>(
    b: &Block<'_>,
    o: Out,
    r: usize,
    n: usize,
    t: usize,
    m: usize,
) {
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
        (8, _) => tile.gemv8::<VNNI, PC>(),
        (4, _) => tile.run::<4, 1, VNNI, PC>(),
        (2, 4) => tile.run::<2, 4, VNNI, PC>(),
        (2, _) => tile.run::<2, 1, VNNI, PC>(),
        (_, 4) => tile.run::<1, 4, VNNI, PC>(),
        _ => tile.run::<1, 1, VNNI, PC>(),
    }
}

/// How far ahead (in chunks of the tile's rows) the weights are prefetched:
/// for an 8-row group 4 chunks are 2 KiB, 32 lines in flight per thread.
/// (Measured, cold 6912x2560 GEMV, 2 threads: 4 to 16 equal within the
/// noise, none clearly slower; no prefetch ~25% slower.)
const PREFETCH_CHUNKS: usize = 4;

/// Chunks whose exact per-block dots wait before their f64 scaling (see
/// `Tile::gemv8`).
const BATCH: usize = 8;

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
unsafe fn dot<const VNNI: bool>(acc: __m256i, q: __m256i, x: __m256i) -> __m256i {
    if VNNI {
        _mm256_dpbusd_avx_epi32(acc, q, x)
    } else {
        let pairs = _mm256_maddubs_epi16(q, x);
        _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
    }
}

/// `a + b` in i16 lanes (wrapping, `vpaddw`), opaque to LLVM.
///
/// Why opaque: with the intrinsic LLVM re-associates a tile's products
/// into add trees that need more registers, and the 2 x 4 tile's i16 sums
/// spilled (34 stack loads and stores per chunk between flushes). The
/// saturating `vpaddsw` that used to pin the order instead runs on the
/// same two pipes as `vpmaddubsw` on Zen 3 (measured: 12 independent
/// `vpaddsw` take as long as 12 `vpmaddubsw`, twice 12 `vpaddw`), so every
/// product paid for a second op on the multiply pipes. I2S 512 x 2048 x 128,
/// 1 thread, both builds at once on the two cores, 6 rounds: median 0.87 of
/// the `vpaddsw` build; GEMV 2048 x 2048 0.97.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn add16(a: __m256i, b: __m256i) -> __m256i {
    let r: __m256i;
    // SAFETY: a register-only AVX2 add (the caller is an AVX2 function).
    std::arch::asm!(
        "vpaddw {r}, {a}, {b}",
        r = lateout(ymm_reg) r,
        a = in(ymm_reg) a,
        b = in(ymm_reg) b,
        options(pure, nomem, nostack, preserves_flags),
    );
    r
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

/// The sums of 8 vectors' lanes, `[sum(a[0]), .., sum(a[7])]` (exact
/// integer adds, so the order is free): a transposing `vphaddd` tree, 9
/// instructions for 8 rows instead of a horizontal sum each.
#[inline(always)]
unsafe fn hsum8(a: [__m256i; 8]) -> __m256i {
    let p: [__m256i; 4] = std::array::from_fn(|i| _mm256_hadd_epi32(a[2 * i], a[2 * i + 1]));
    // q0: 128-bit halves [rows 0..4 of lanes 0..4 | rows 0..4 of lanes 4..8].
    let q0 = _mm256_hadd_epi32(p[0], p[1]);
    let q1 = _mm256_hadd_epi32(p[2], p[3]);
    _mm256_add_epi32(
        _mm256_permute2x128_si256::<0x20>(q0, q1),
        _mm256_permute2x128_si256::<0x31>(q0, q1),
    )
}

impl Tile {
    /// Where the scale of tile row `r`, chunk `c` is in [`Out::d`].
    #[inline(always)]
    fn scale_index(&self, r: usize, c: usize) -> usize {
        super::chunk_index(self.rows, self.chunks, self.r + r, c)
    }

    /// One token, the 8 rows of an interleave group: reads the group's
    /// bytes in address order, one stream per thread, which DRAM serves
    /// best (a 4-row tile reads every other 256 bytes, then comes back for
    /// the rest). Measured cold (weights from DRAM), 1 thread, 2560x6912:
    /// median 415-480 us against 610-730 us for two 4-row tiles; 2b4t
    /// decode about 10% faster. The i32 sums are touched once per FLUSH
    /// chunks, so the 16 ymm registers hold the i16 sums, one chunk-half of
    /// activations and the current codes.
    ///
    /// With per-block scales (PC) the i32 sums are reduced every chunk,
    /// all 8 rows at once ([`hsum8`]), and the exact chunk dots wait in
    /// `dots` for up to `BATCH` chunks before they are scaled into two f64
    /// vectors of 4 rows each (in chunk order, as the definition wants).
    /// Scaling every chunk put the f64 add chain (spilled with this many
    /// live registers) on the loop's critical path: TQ2_0 640x2560 1t,
    /// paired runs, 25.5 us against 21.0 batched.
    #[inline(always)]
    unsafe fn gemv8<const VNNI: bool, const PC: bool>(&self) {
        const R: usize = 8;
        // The i16 bound of `run`: 8 pair sums per chunk, 4 chunks.
        let flush = if PC { 1 } else { 4 };
        let m3 = _mm256_set1_epi8(3);
        let zero = _mm256_setzero_si256();
        let ones = _mm256_set1_epi16(1);
        let mut acc = [zero; R];
        let mut acc16 = [zero; R];
        let mut accd = [_mm256_setzero_pd(); 2];
        let mut dots = [zero; BATCH];
        for c in 0..self.chunks {
            // See `run` for why; the 8 lines are the group's next chunks.
            for r in 0..R {
                let ahead = r * CHUNK_BYTES + (c + PREFETCH_CHUNKS) * self.chunk_stride;
                // SAFETY: a prefetch never faults; see `run`.
                _mm_prefetch::<_MM_HINT_T0>(self.w.wrapping_add(ahead).cast());
            }
            for h in 0..2 {
                // SAFETY (loads below): the 8 rows form one group of the
                // block (the caller only picks this tile for full groups),
                // chunk c < chunks, and the token's activations hold
                // `chunks * CHUNK_WEIGHTS` values.
                let xs: [__m256i; 4] = std::array::from_fn(|g| {
                    let off = c * CHUNK_WEIGHTS + g * CHUNK_BYTES + 32 * h;
                    _mm256_loadu_si256(self.x.add(off).cast())
                });
                for r in 0..R {
                    let off = r * CHUNK_BYTES + c * self.chunk_stride + 32 * h;
                    let wv = _mm256_loadu_si256(self.w.add(off).cast());
                    for (g, &xv) in xs.iter().enumerate() {
                        let q = group(wv, g, m3);
                        if VNNI {
                            acc[r] = dot::<true>(acc[r], q, xv);
                        } else {
                            // In program order; see `add16`.
                            acc16[r] = add16(acc16[r], _mm256_maddubs_epi16(q, xv));
                        }
                    }
                }
            }
            if !VNNI && (c % flush == flush - 1 || c + 1 == self.chunks) {
                for r in 0..R {
                    acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(acc16[r], ones));
                    acc16[r] = zero;
                }
            }
            if PC {
                let xs = _mm256_set1_epi32(*self.o.xs.add(self.t * self.chunks + c));
                dots[c % BATCH] = _mm256_sub_epi32(hsum8(acc), xs);
                acc = [zero; R];
                if c % BATCH == BATCH - 1 || c + 1 == self.chunks {
                    let c0 = c - c % BATCH;
                    for (j, v) in dots[..=c % BATCH].iter().enumerate() {
                        let v = [
                            _mm256_cvtepi32_pd(_mm256_castsi256_si128(*v)),
                            _mm256_cvtepi32_pd(_mm256_extracti128_si256::<1>(*v)),
                        ];
                        // The group's 8 scales of a chunk are contiguous.
                        let d = self.o.d.add(self.scale_index(0, c0 + j));
                        for (h, (a, v)) in accd.iter_mut().zip(v).enumerate() {
                            let dv = _mm256_loadu_pd(d.add(4 * h));
                            *a = _mm256_add_pd(*a, _mm256_mul_pd(dv, v));
                        }
                    }
                }
            }
        }
        let at = self.t * self.rows + self.r;
        if PC {
            for (h, a) in accd.iter().enumerate() {
                _mm256_storeu_pd(self.o.scaled.add(at + 4 * h), *a);
            }
        } else {
            for r in 0..R {
                *self.o.raw.add(at + r) = hsum(acc[r]);
            }
        }
    }

    #[inline(always)]
    unsafe fn run<const R: usize, const T: usize, const VNNI: bool, const PC: bool>(&self) {
        let m3 = _mm256_set1_epi8(3);
        let zero = _mm256_setzero_si256();
        let mut acc = [[zero; T]; R];
        // Without VNNI, `vpmaddubsw` pair sums (|v| <= 2 * 2 * 128 = 512)
        // add up in i16 and widen to i32 (`vpmaddwd` + add) once per
        // FLUSH chunks instead of after every product: at most 8 sums per
        // chunk, so 4 chunks stay below 4 * 8 * 512 = 16384 < 2^15. Tiles
        // with per-block scales (PC) widen every chunk. The integer
        // sums are the same either way (the bound means the i16 adds never
        // wrap); [`add16`] keeps them in program order.
        let i16_acc = !VNNI;
        let flush = if PC { 1 } else { 4 };
        let mut acc16 = [[zero; T]; R];
        let ones = _mm256_set1_epi16(1);
        let mut accd = [[0.0f64; T]; R];
        // Per chunk of the batch, the dots of (row r, token t) at r * T + t.
        const { assert!(R * T <= 8) };
        let mut dots = [[0i32; 8]; BATCH];
        for c in 0..self.chunks {
            // Decode streams every matrix from DRAM once per token; one core
            // busy with this much arithmetic keeps too few misses in flight
            // for the hardware prefetcher alone (measured: cold GEMV at
            // about half the read roofline without this).
            // (GEMM tiles read a block of rows that L1 or L2 holds for every
            // token tile, so only one-token tiles prefetch.)
            for r in 0..if T == 1 { R } else { 0 } {
                let ahead = r * CHUNK_BYTES + (c + PREFETCH_CHUNKS) * self.chunk_stride;
                // `wrapping_add`: near the end this points past the block,
                // which a prefetch may do (it never faults).
                _mm_prefetch::<_MM_HINT_T0>(self.w.wrapping_add(ahead).cast());
            }
            for h in 0..2 {
                let mut wv = [zero; R];
                for (r, v) in wv.iter_mut().enumerate() {
                    // SAFETY (whole tile): rows r < R and chunks c < chunks
                    // lie inside the block's weight slice, tokens and groups
                    // inside its activation slice, scales and chunk sums
                    // inside theirs, as the caller checked.
                    let off = r * CHUNK_BYTES + c * self.chunk_stride + 32 * h;
                    *v = _mm256_loadu_si256(self.w.add(off).cast());
                }
                for g in 0..4 {
                    // Codes of every row first, then one activation load per
                    // token used by all rows: fewest live registers (a 2 x 4
                    // tile: 2 codes + 8 sums + 1 activation + 1 product).
                    let q: [__m256i; R] = std::array::from_fn(|r| group(wv[r], g, m3));
                    for t in 0..T {
                        let off = t * self.tok_len + c * CHUNK_WEIGHTS + g * CHUNK_BYTES + 32 * h;
                        let xv = _mm256_loadu_si256(self.x.add(off).cast());
                        for r in 0..R {
                            if !i16_acc {
                                acc[r][t] = dot::<VNNI>(acc[r][t], q[r], xv);
                            } else {
                                let pairs = _mm256_maddubs_epi16(q[r], xv);
                                acc16[r][t] = add16(acc16[r][t], pairs);
                            }
                        }
                    }
                }
            }
            if i16_acc && (c % flush == flush - 1 || c + 1 == self.chunks) {
                for r in 0..R {
                    for t in 0..T {
                        let wide = _mm256_madd_epi16(acc16[r][t], ones);
                        acc[r][t] = _mm256_add_epi32(acc[r][t], wide);
                        acc16[r][t] = zero;
                    }
                }
            }
            if PC {
                // Exact chunk dots first (a 2 x 4 tile's 8 at once), the f64
                // part once per BATCH chunks, as in `gemv8`.
                let b = &mut dots[c % BATCH];
                if R * T == 8 {
                    let v: [__m256i; 8] = std::array::from_fn(|i| acc[i / T][i % T]);
                    _mm256_storeu_si256(b.as_mut_ptr().cast(), hsum8(v));
                } else {
                    for r in 0..R {
                        for t in 0..T {
                            b[r * T + t] = hsum(acc[r][t]);
                        }
                    }
                }
                acc = [[zero; T]; R];
                if c % BATCH == BATCH - 1 || c + 1 == self.chunks {
                    let c0 = c - c % BATCH;
                    for (j, b) in dots[..=c % BATCH].iter().enumerate() {
                        for r in 0..R {
                            let d = *self.o.d.add(self.scale_index(r, c0 + j));
                            for t in 0..T {
                                let xs = *self.o.xs.add((self.t + t) * self.chunks + c0 + j);
                                accd[r][t] += d * (b[r * T + t] - xs) as f64;
                            }
                        }
                    }
                }
            }
        }
        for r in 0..R {
            for t in 0..T {
                let at = (self.t + t) * self.rows + self.r + r;
                if PC {
                    *self.o.scaled.add(at) = accd[r][t];
                } else {
                    *self.o.raw.add(at) = hsum(acc[r][t]);
                }
            }
        }
    }
}
