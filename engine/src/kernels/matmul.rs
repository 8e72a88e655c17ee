//! GEMV and GEMM entry points: shape checks, partitioning across threads
//! (rows; for lookup-table GEMVs spans of `k`, or even shares of tiles x
//! `k`), and the epilogue that turns exact integer sums into f32.
//!
//! The epilogue (`kernels::epilogue`) gives the same bits at every SIMD
//! level and thread count, and the integer sums are exact, so results are
//! bit-identical everywhere:
//!
//! ```text
//! dot    = raw - sum(xq)    (MAD layout: raw = sum((code + 1) * xq), i32)
//! dot    = sum(table[g][index])   (lookup-table layout, exact i32)
//! tensor scale:  y = f32( f64(dot) * (f64(gamma) / f64(s)) )
//! block scales:  y = f32( sum_c(d_c * dot_c) * (1 / f64(s)) )
//! ```
//!
//! (the per-block sum, chunk by chunk in order, is defined in
//! `kernels::mad`). The f64 products are exact (|dot| < 2^31, scales are
//! f32) and the f64 sums lose nothing that matters, so `y` is within about
//! one f32 rounding of the exact dequantized product.

use super::aligned::Aligned;
use super::epilogue;
use super::lut::{self, Encoding, Lut, Span};
use super::lut_plan::{Piece, Plan, SPLIT_ALIGN_GROUPS};
use super::mad::{self, Block, BlockScales};
use super::matrix::Layout;
use super::parallel::{for_parts, for_row_ranges, part_count};
use super::{KernelError, Parallelism, QuantizedActivations, TernaryMatrix};
use crate::cpu::SimdLevel;
use crate::quant::Scale;
use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Packed bytes of the tiles a lookup-table GEMM runs every token over
/// before moving on (at least one tile): they stay in L2 while the tokens'
/// tables stream past, instead of all the weights streaming per token.
const LUT_BLOCK_BYTES: usize = 128 << 10;
/// Rows per kernel call in a MAD GEMM. The AVX2 kernel runs each 4-token
/// tile over every row of the block before the next tile, so the tile's
/// activations (4 k bytes: 8-10 KB at the 2B4T widths) come from L1 for
/// all the block's row pairs and the block's packed rows (64 k / 4 bytes)
/// from L1 or L2. (Rows outside tokens, as before, streamed every token's
/// activations from L2 for each row pair.) I2S 1t, both builds at once on
/// the two cores, medians: tokens outside rows with 16-row blocks 0.92 of
/// rows outside at 128x2048x2048; then 64 rows against 16: 0.88 there and
/// 0.93 at 128x6912x2560; 256 against 64: 1.04 and 1.10.
const GEMM_BLOCK_ROWS: usize = 64;

/// Lookup-table GEMMs with at least this many tokens per thread split
/// tokens across threads: each thread builds its own tokens' tables and
/// runs every row. Fewer tokens split rows, sharing tables the caller
/// builds alone, which the other threads then read from its cache. On the
/// 2-vCPU dev VM (2 threads, min of 3 alternating runs, tokens against
/// rows): TL2 128 x 128 x 128 31.5 against 45.6 us, 512^3 1.02 against
/// 1.28 ms, 128 x 2048 x 2048 3.9-4.7 against 4.8-5.2 ms, 128 x 6912 x
/// 2560 16.0-16.5 against 18.6-30.0 ms; TL1 512^3 1.23 against 2.02 ms,
/// 128 x 2048 x 2048 4.6-6.0 against 6.0-7.3 ms, 128 x 6912 x 2560 equal.
/// (Each thread then streams all the weights per token; with many threads
/// sharing one L3 that may favour rows again, which this machine cannot
/// show.)
const TOKEN_SPLIT_MIN_PER_THREAD: usize = 4;
/// Below this many tiles per thread a lookup-table GEMV splits `k` instead
/// of tiles (see [`lut_gemv_spans`]): each thread then builds only its
/// part of the tables, where whole tiles need every thread to build all of
/// them. Once the AVX-512 kernels made the tables a larger share of a call
/// (Zen 4, 2 threads, `kernel_probe .. cores` efficiency medians, tiles
/// then spans): TL1 2560 x 2560 0.903 -> 0.948, 2560 x 6912 0.905 -> 0.950;
/// TL2 2048 x 2048 0.883 -> 0.902, 2560 x 2560 0.871 -> 0.910, 2560 x 6912
/// 0.844 -> 0.923; 6912 x 2560 equal within noise. (The limit was 8.)
const SPAN_MAX_TILES_PER_THREAD: usize = 64;

/// `out[r] = (W x)[r]` for one token, at the active SIMD level.
pub fn gemv(
    w: &TernaryMatrix,
    x: &QuantizedActivations,
    out: &mut [f32],
    par: Parallelism,
) -> Result<(), KernelError> {
    gemv_with(SimdLevel::active(), w, x, out, par)
}

/// [`gemv`] at an explicit SIMD level (tests compare levels in one process).
pub fn gemv_with(
    level: SimdLevel,
    w: &TernaryMatrix,
    x: &QuantizedActivations,
    out: &mut [f32],
    par: Parallelism,
) -> Result<(), KernelError> {
    if x.tokens() != 1 {
        return Err(KernelError::shape(
            "gemv",
            format!(
                "gemv takes one token, got {} (use gemm for several)",
                x.tokens()
            ),
        ));
    }
    matmul("gemv", level, w, x, out, par)
}

/// `out[t * rows + r] = (W x_t)[r]` for every token `t` (token-major
/// output), at the active SIMD level.
pub fn gemm(
    w: &TernaryMatrix,
    x: &QuantizedActivations,
    out: &mut [f32],
    par: Parallelism,
) -> Result<(), KernelError> {
    gemm_with(SimdLevel::active(), w, x, out, par)
}

/// [`gemm`] at an explicit SIMD level.
pub fn gemm_with(
    level: SimdLevel,
    w: &TernaryMatrix,
    x: &QuantizedActivations,
    out: &mut [f32],
    par: Parallelism,
) -> Result<(), KernelError> {
    matmul("gemm", level, w, x, out, par)
}

/// Output (`tokens x rows`, token-major) shared by the threads of one
/// call; each writes only the (token, row) elements of its own part.
struct SharedOut {
    ptr: *mut f32,
    len: usize,
    rows: usize,
}
// SAFETY: threads write disjoint elements (distinct row ranges, or
// distinct token ranges) and the owning `&mut [f32]` outlives the parallel
// section.
unsafe impl Sync for SharedOut {}

impl SharedOut {
    fn new(out: &mut [f32], rows: usize) -> Self {
        SharedOut {
            ptr: out.as_mut_ptr(),
            len: out.len(),
            rows,
        }
    }

    /// Token `t`'s outputs for rows `r0..r0 + n`. Panics if they are not
    /// all inside the output.
    ///
    /// # Safety
    /// No other thread may access these elements while the slice lives:
    /// they belong to the calling part.
    #[allow(clippy::mut_from_ref)]
    unsafe fn rows_mut(&self, t: usize, r0: usize, n: usize) -> &mut [f32] {
        let start = t * self.rows + r0;
        assert!(r0 + n <= self.rows && start + n <= self.len);
        // SAFETY: in bounds (asserted above); exclusive by the contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), n) }
    }
}

fn matmul(
    kernel: &'static str,
    level: SimdLevel,
    w: &TernaryMatrix,
    x: &QuantizedActivations,
    out: &mut [f32],
    par: Parallelism,
) -> Result<(), KernelError> {
    if !level.is_supported() {
        return Err(KernelError::UnsupportedLevel { kernel, level });
    }
    if x.k() != w.cols() {
        return Err(KernelError::shape(
            kernel,
            format!(
                "activations have {} values per token, the {} x {} matrix needs {}",
                x.k(),
                w.rows(),
                w.cols(),
                w.cols()
            ),
        ));
    }
    let (rows, tokens) = (w.rows(), x.tokens());
    if out.len() != tokens * rows {
        return Err(KernelError::shape(
            kernel,
            format!(
                "output has {} values, expected tokens x rows = {tokens} x {rows}",
                out.len()
            ),
        ));
    }
    let macs = rows * w.cols() * tokens;
    // Parts of at least ~1M multiply-adds (~12 us on one thread), up to 8
    // per thread. Every part costs an atomic claim and a shared `done`
    // count, lines that bounce between the cores; the short GEMVs pay most.
    // 2 threads, `kernel_probe ... cores` efficiency medians, 4 alternating
    // runs each, against ~256K: I2S 640 x 2560 (now 1 part per thread
    // instead of 6) 0.78-0.81 against 0.74-0.75; TQ2_0 0.79-0.83 against
    // 0.78-0.79; 2048 x 2048 (4 instead of 8) I2S 0.85-0.88 against
    // 0.84-0.88, TL2 0.84-0.85 against 0.82-0.83.
    let parts_per_thread = (macs >> 20).clamp(1, 8);
    let shared = SharedOut::new(out, rows);
    match w.layout() {
        Layout::Mad { chunks } => {
            let per_block = matches!(w.scale(), Scale::PerBlock(_));
            for_row_ranges(par, rows, mad::GROUP_ROWS, parts_per_thread, |r0, r1| {
                let step = if tokens == 1 {
                    r1 - r0
                } else {
                    GEMM_BLOCK_ROWS
                };
                let mut b0 = r0;
                while b0 < r1 {
                    let b1 = (b0 + step).min(r1);
                    mad_block(level, per_block, chunks, w, x, b0, b1, &shared);
                    b0 = b1;
                }
            })
        }
        Layout::Lut { lut, groups, .. }
            if tokens == 1
                && par.threads > 1
                && rows.div_ceil(lut.tile_rows()) < SPAN_MAX_TILES_PER_THREAD * par.threads =>
        {
            lut_gemv_spans(level, lut, groups, w, x, par, &shared)
        }
        Layout::Lut { lut, groups, .. } if tokens == 1 => {
            lut_gemv(level, lut, groups, w, x, par, parts_per_thread, &shared)
        }
        Layout::Lut { lut, groups, .. } if tokens >= TOKEN_SPLIT_MIN_PER_THREAD * par.threads => {
            let tb = groups * lut.table_bytes(level, w.encoding());
            // TL1 quads run every tile per token (see `lut_block`), so they
            // need one token's tables at a time, not the whole part's.
            let quads = w.encoding() == Encoding::Quads;
            for_row_ranges(par, tokens, 1, parts_per_thread, |k0, k1| {
                TABLES.with(|tables| {
                    let mut tables = tables.borrow_mut();
                    let step = if quads { 1 } else { k1 - k0 };
                    for c0 in (k0..k1).step_by(step) {
                        let c1 = (c0 + step).min(k1);
                        tables.resize_for_overwrite((c1 - c0) * tb);
                        let enc = w.encoding();
                        let t = tables.as_mut_slice();
                        build_token_tables(level, lut, enc, x, c0, groups, t);
                        let t = tables.as_slice();
                        lut_block(level, lut, groups, w, x, t, c0..c1, 0, rows, &shared);
                    }
                })
            })
        }
        Layout::Lut { lut, groups, .. } => TABLES.with(|tables| {
            let mut tables = tables.borrow_mut();
            let tb = groups * lut.table_bytes(level, w.encoding());
            tables.resize_for_overwrite(tokens * tb);
            build_token_tables(
                level,
                lut,
                w.encoding(),
                x,
                0,
                groups,
                tables.as_mut_slice(),
            );
            let tables = tables.as_slice();
            for_row_ranges(par, rows, lut.tile_rows(), parts_per_thread, |r0, r1| {
                lut_block(level, lut, groups, w, x, tables, 0..tokens, r0, r1, &shared)
            })
        }),
    }
}

thread_local! {
    /// Every part's dots of a `k`-split GEMV, kept by the calling thread
    /// from call to call (see [`SplitDots`]).
    static PARTIALS: RefCell<Aligned<i32>> = RefCell::new(Aligned::zeroed(0));
    static SCRATCH: RefCell<Vec<i32>> = const { RefCell::new(Vec::new()) };
    static SCALED: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    static TABLES: RefCell<Aligned<u8>> = RefCell::new(Aligned::zeroed(0));
    /// The GEMV call whose tables `TABLES` holds (0: none).
    static TABLES_CALL: Cell<u64> = const { Cell::new(0) };
}

/// The tables of tokens `first..`, one per `groups * table_bytes` bytes of
/// `out` (`build_tables` writes every byte, so `out` may be uninitialised
/// memory from `resize_for_overwrite`).
fn build_token_tables(
    level: SimdLevel,
    lut: Lut,
    enc: Encoding,
    x: &QuantizedActivations,
    first: usize,
    groups: usize,
    out: &mut [u8],
) {
    let tb = groups * lut.table_bytes(level, enc);
    for (i, dst) in out.chunks_exact_mut(tb).enumerate() {
        lut::build_tables(level, lut, enc, x.token(first + i), groups, dst);
    }
}

/// Writes `y = f32((dot - offset) * gamma / s)` for rows `r0..r0 + dots.len()`
/// of token `t` (see [`epilogue`]).
#[allow(clippy::too_many_arguments)]
fn store_tensor_scaled(
    level: SimdLevel,
    gamma: f32,
    x: &QuantizedActivations,
    t: usize,
    r0: usize,
    dots: &[i32],
    offset: i32,
    out: &SharedOut,
) {
    let factor = gamma as f64 / x.scales()[t] as f64;
    // SAFETY: token t's rows r0..r0 + dots.len() belong to this thread's
    // part (see `SharedOut`), and lie inside `out` (callers pass at most
    // the rows of their part).
    let out = unsafe { out.rows_mut(t, r0, dots.len()) };
    epilogue::scale_i32(level, dots, offset, factor, out);
}

/// Lookup-table matrices: whole tiles covering `r0..r1`, a block of
/// [`LUT_BLOCK_BYTES`] at a time, each block token by token over `tokens`
/// (whose tables `tables` holds, in order), then the epilogue for the rows
/// that exist.
#[allow(clippy::too_many_arguments)]
fn lut_block(
    level: SimdLevel,
    lut: Lut,
    groups: usize,
    w: &TernaryMatrix,
    x: &QuantizedActivations,
    tables: &[u8],
    tokens: Range<usize>,
    r0: usize,
    r1: usize,
    out: &SharedOut,
) {
    let tr = lut.tile_rows();
    let (t0, t1) = (r0 / tr, r1.div_ceil(tr));
    let Scale::Tensor(gamma) = *w.scale() else {
        unreachable!("lookup-table formats have a tensor scale")
    };
    let tb = groups * lut.table_bytes(level, w.encoding());
    // One token reuses nothing across blocks, so it takes its tiles in one
    // call; blocks hold at least two tiles, which the AVX-512 kernel runs
    // against one table load (at k = 2560 a tile is 80 KB, so a block of
    // one tile cost TL1 2560 x 2560 1t ~15%). TL1 quad tables are 3x the
    // size of split ones (123 KB a token at k = 2560), so there the table
    // stays in L2 and the weights stream instead: 128 x 6912 x 2560 on 1
    // thread, min of 2 runs, 15.3-16.2 ms with all tiles per block against
    // 41-50 with 128 KB blocks and 16.5-20.2 with 1-4 MB (split records
    // 17.9-18.4 ms).
    let per_block = if tokens.len() == 1 || w.encoding() == Encoding::Quads {
        t1 - t0
    } else {
        (LUT_BLOCK_BYTES / lut.tile_bytes(groups)).max(2)
    };
    SCRATCH.with(|s| {
        let mut dots = s.borrow_mut();
        let mut b0 = t0;
        while b0 < t1 {
            let b1 = (b0 + per_block).min(t1);
            let (rb0, rb1) = (b0 * tr, (b1 * tr).min(r1));
            dots.clear();
            dots.resize((b1 - b0) * tr, 0);
            for (t, table) in tokens.clone().zip(tables.chunks_exact(tb)) {
                let data = w.tile_data(b0, b1);
                lut::dots(
                    level,
                    lut,
                    w.encoding(),
                    data,
                    groups,
                    table,
                    &mut dots,
                    rb1 - rb0,
                );
                let valid = &dots[..rb1 - rb0];
                store_tensor_scaled(level, gamma, x, t, rb0, valid, 0, out);
            }
            b0 = b1;
        }
    });
}

/// GEMV of a lookup-table matrix with at least [`SPAN_MAX_TILES_PER_THREAD`]
/// tiles per thread (fewer take [`lut_gemv_spans`]): each thread gets an
/// even share of `tiles x groups` (see [`super::lut_plan`]), so a tile may
/// be summed in two spans of `k` by two threads. Whole tiles per thread
/// leave up to a tile of imbalance (17 tiles on 2 threads: 9 against 8).
/// When this path also served TL1/TL2 640 x 2560 (5 and 7 tiles, where
/// whole tiles cap 2 threads at 1.67x and 1.75x) the gain did not show on
/// the noisy dev VM: alternating ~1 ms bursts of both plans in one process
/// (300 pairs, 3 runs), median time ratio even/whole 0.96-1.02 for TL1
/// and 0.97-1.07 for TL2.
///
/// Each thread builds the token's tables itself, once per call, rather
/// than reading the caller's from the other core's cache (then 1.3 us for
/// TL1 and 1.1-1.4 for TL2 at k = 2560, done twice, in parallel; now 0.76
/// and 0.90, see `lut::avx2`). 2 threads, alternating runs, min: TL1
/// 2048 x 2048 32.8-45.9 us against 43.0-53.3, 640 x 2560 15.4-20.8
/// against 22.1-27.7; TL2 equal within noise.
#[allow(clippy::too_many_arguments)]
fn lut_gemv(
    level: SimdLevel,
    lut: Lut,
    groups: usize,
    w: &TernaryMatrix,
    x: &QuantizedActivations,
    par: Parallelism,
    parts_per_thread: usize,
    out: &SharedOut,
) -> Result<(), KernelError> {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
    let Scale::Tensor(gamma) = *w.scale() else {
        unreachable!("lookup-table formats have a tensor scale")
    };
    let (tr, rows) = (lut.tile_rows(), w.rows());
    let tb = lut.table_bytes(level, w.encoding());
    let ppt = if par.threads == 1 {
        1
    } else {
        parts_per_thread
    };
    let plan = Plan::new(rows.div_ceil(tr), groups, par.threads, ppt);
    let shared = Mutex::new(vec![0i32; plan.splits().len() * tr]);
    for_row_ranges(par, plan.parts(), 1, ppt, |p0, p1| {
        TABLES.with(|tables| {
            let mut tables = tables.borrow_mut();
            if TABLES_CALL.get() != call {
                tables.resize_for_overwrite(groups * tb);
                lut::build_tables(
                    level,
                    lut,
                    w.encoding(),
                    x.token(0),
                    groups,
                    tables.as_mut_slice(),
                );
                TABLES_CALL.set(call);
            }
            let tables = tables.as_slice();
            for piece in (p0..p1).flat_map(|p| plan.pieces(p)) {
                match piece {
                    Piece::Tiles(t) => {
                        let (r0, r1) = (t.start * tr, (t.end * tr).min(rows));
                        lut_block(level, lut, groups, w, x, tables, 0..1, r0, r1, out);
                    }
                    Piece::Span { tile, groups: g } => SCRATCH.with(|s| {
                        let mut dots = s.borrow_mut();
                        dots.clear();
                        dots.resize(tr, 0);
                        let span = Span {
                            start: g.start,
                            len: g.len(),
                            stride: groups,
                        };
                        let t = &tables[g.start * tb..g.end * tb];
                        let valid = (tile * tr + tr).min(rows) - tile * tr;
                        let (enc, w) = (w.encoding(), w.tile_data(tile, tile + 1));
                        lut::span_dots(level, lut, enc, w, span, t, &mut dots, valid);
                        let slot = plan.split_slot(tile).expect("spans only in split tiles");
                        let mut sums = shared.lock().unwrap_or_else(|e| e.into_inner());
                        for (sum, d) in sums[slot * tr..][..tr].iter_mut().zip(dots.iter()) {
                            *sum += d;
                        }
                    }),
                }
            }
        })
    })?;
    let mut sums = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    for (slot, &tile) in plan.splits().iter().enumerate() {
        let sums = &mut sums[slot * tr..][..tr];
        lut::add_correction(level, lut, w.tile_data(tile, tile + 1), groups, sums);
        let r0 = tile * tr;
        let valid = &sums[..(r0 + tr).min(rows) - r0];
        store_tensor_scaled(level, gamma, x, 0, r0, valid, 0, out);
    }
    Ok(())
}

/// GEMV of a lookup-table matrix with few tiles per thread (fewer than
/// [`SPAN_MAX_TILES_PER_THREAD`]): a part is a span of `k` across every
/// tile, with the tables of that span built by the thread that reads them,
/// and the parts' integer dots are added (with the tiles' correction, see
/// [`lut::span_dots`]) before the epilogue. Splitting rows cannot use more
/// threads than there are tiles, and each thread building only its span's
/// tables halves the table work a 2-thread call repeats (1.2-1.3 us of a
/// ~10 us share at 640 x 2560).
///
/// Measured with `kernel_probe <fmt> <rows> <cols> 1 2 avx2 cores`, the
/// share of the two cores' summed 1-thread throughput (measured in the
/// same milliseconds) that the 2-thread call reaches, median of 200
/// rounds, two runs each, spans against the even split of tiles x `k`:
/// 640 x 2560 (TL1 5 tiles, TL2 7) TL1 0.87-0.88 against 0.79, TL2 0.87
/// against 0.77-0.79; 2048 x 2048 (16 and 22 tiles) 0.91 against 0.88 for
/// both; 2560 x 2560 (20 and 27 tiles) TL1 0.89 against 0.96, TL2 0.88
/// against 0.91. (In stop 13 whole tiles won even at 640 x 2560, while TL2
/// spans still counted negative codes in their loop and every thread read
/// the caller's tables.)
///
/// One equal span per thread (aligned to 8 groups; any start is exact, the
/// kernels flush their i16 sums within a span): finer parts balance a late
/// helper but each adds a full column of partial sums, and measured slower
/// (TL2 640 x 2560: 15.8 us against 16.3 for two per thread, 17.5 for two
/// aligned to 64 groups, which split 854 groups 192/256/192/214).
///
/// Each part keeps its dots in its own slice of one buffer, and whichever
/// part finishes last sums them and runs the epilogue (see [`SplitDots`]).
#[allow(clippy::too_many_arguments)]
fn lut_gemv_spans(
    level: SimdLevel,
    lut: Lut,
    groups: usize,
    w: &TernaryMatrix,
    x: &QuantizedActivations,
    par: Parallelism,
    out: &SharedOut,
) -> Result<(), KernelError> {
    let Scale::Tensor(gamma) = *w.scale() else {
        unreachable!("lookup-table formats have a tensor scale")
    };
    let tr = lut.tile_rows();
    let tiles = w.rows().div_ceil(tr);
    let tb = lut.table_bytes(level, w.encoding());
    let parts = part_count(par, groups, SPLIT_ALIGN_GROUPS, 1);
    PARTIALS.with(|partials| {
        let mut partials = partials.borrow_mut();
        partials.resize_for_overwrite(parts * tiles * tr);
        let split = SplitDots::new(partials.as_mut_slice(), parts, tiles * tr);
        for_parts(par, groups, SPLIT_ALIGN_GROUPS, 1, |p, g0, g1| {
            let span = Span {
                start: g0,
                len: g1 - g0,
                stride: groups,
            };
            let xs = x.token(0).get(g0 * lut.width()..).unwrap_or(&[]);
            TABLES.with(|tables| {
                let mut tables = tables.borrow_mut();
                tables.resize_for_overwrite(span.len * tb);
                lut::build_tables(
                    level,
                    lut,
                    w.encoding(),
                    xs,
                    span.len,
                    tables.as_mut_slice(),
                );
                // SAFETY: part `p` runs once per call (`for_parts`), and no
                // part reads another's slice before `finish_part` says all
                // are in.
                // `span_dots` overwrites every value.
                let dots = unsafe { split.part_mut(p) };
                let (wt, t) = (w.tile_data(0, tiles), tables.as_slice());
                lut::span_dots(level, lut, w.encoding(), wt, span, t, dots, w.rows());
            });
            if !split.finish_part() {
                return;
            }
            // SAFETY: every part's dots are in (`finish_part`).
            let sums = unsafe { split.sum_all() };
            lut::add_correction(level, lut, w.tile_data(0, tiles), groups, sums);
            store_tensor_scaled(level, gamma, x, 0, 0, &sums[..w.rows()], 0, out);
        })
    })
}

/// The parts' dots of one `k`-split GEMV, `len` i32 each, side by side in
/// the caller's buffer, and the count that tells the last part to finish
/// that every part's dots are in: that part's thread adds them up and
/// stores the results, reading the other parts' slices from their cores.
///
/// Measured against the alternatives on the 2-vCPU dev VM (`kernel_probe
/// <fmt> 640 2560 1 2 avx512 cores`, alternating runs, median of 6 runs'
/// median efficiencies, as speedups): the last part sums, TL2 1.70x, TL1
/// 1.73x; both threads sum half the rows each, the first to finish waiting
/// for the other's dots, 1.65x and 1.71x; the caller sums after the call,
/// the parts having each added their dots into one total under a lock (the
/// code before), 1.63x and 1.69x.
///
/// Also tried later, none better (same probe, TL1 / TL2 640 x 2560 against
/// this design in alternating runs): parts publishing chunks of 3 tiles
/// for the caller to sum as they come, 1.73-1.75 / 1.68-1.75 against
/// 1.75-1.76 / 1.74-1.76 (the tail after the last part shrank, but the
/// helper's dots lines, read by the caller every call, then need
/// invalidating before each write and its part ran 250-450 ns longer);
/// the same with the helper's dots stored non-temporally, 1.59 / 1.53;
/// the last part and the caller each running half the epilogue, 1.73 /
/// 1.70 against 1.74 / 1.73; the last part's thread always summing,
/// 1.72 / 1.72 against 1.74 / 1.72; two parts per thread, 0.5 us slower;
/// the last part summing into a buffer of its own thread (not into slice
/// 0, which the other core writes next call) with the AVX-512 span
/// kernels storing their first i16 flush instead of adding it to zeroed
/// dots (so no part loads a line the other core last held), TL2 only,
/// 6 alternating runs: efficiency medians 0.71-0.86 against 0.80-0.88.
/// What is left is cache-line traffic between the cores, and which core
/// the host slows: TSC stamps in one process (TL2, medians of 2441
/// calls) put the helper's part 0.1 us longer than the caller's in a
/// quiet run and 0.8 us longer in a loud one, and one part per thread
/// cannot hand the slower core's rows to the faster one. Finer parts
/// would, but each has a fixed cost: one-span TL2 calls on 1 thread (a
/// throwaway build that sent 1-thread GEMVs here) of k = 320, 640, 1280
/// and 2560 (min 1.46, 2.31, 4.59, 8.55 us) fit a line with 0.2-0.6 us
/// at k = 0, against ~4.4 us of work per thread.
struct SplitDots {
    base: *mut i32,
    parts: usize,
    len: usize,
    ready: AtomicUsize,
}

// SAFETY: `base` is written only through `part_mut` (each part its own
// slice) and `sum_all` (the last part, after every part is in).
unsafe impl Sync for SplitDots {}

impl SplitDots {
    fn new(buf: &mut [i32], parts: usize, len: usize) -> Self {
        assert!(buf.len() >= parts * len);
        SplitDots {
            base: buf.as_mut_ptr(),
            parts,
            len,
            ready: AtomicUsize::new(0),
        }
    }

    /// Part `p`'s slice.
    ///
    /// # Safety
    /// One caller per part, and no `sum_all` before every part is in.
    #[allow(clippy::mut_from_ref)]
    unsafe fn part_mut(&self, p: usize) -> &mut [i32] {
        assert!(p < self.parts);
        // SAFETY: slice p lies in the buffer (`new`), and the contract
        // makes this the only reference to it.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(p * self.len), self.len) }
    }

    /// Counts a part's dots in; true for the last part.
    fn finish_part(&self) -> bool {
        self.ready.fetch_add(1, Ordering::AcqRel) + 1 == self.parts
    }

    /// Slice 0 with every other slice added in.
    ///
    /// # Safety
    /// Every part is in (this thread's `finish_part` returned true), so no
    /// other reference to the buffer is live.
    #[allow(clippy::mut_from_ref)]
    unsafe fn sum_all(&self) -> &mut [i32] {
        // SAFETY: the whole buffer, by the contract this thread's alone.
        let all = unsafe { std::slice::from_raw_parts_mut(self.base, self.parts * self.len) };
        let (sums, rest) = all.split_at_mut(self.len);
        for other in rest.chunks_exact(self.len) {
            for (s, d) in sums.iter_mut().zip(other) {
                *s += d;
            }
        }
        sums
    }
}

/// Multiply-add matrices: sums for rows `r0..r1` and every token, then the
/// epilogue.
#[allow(clippy::too_many_arguments)]
fn mad_block(
    level: SimdLevel,
    per_block: bool,
    chunks: usize,
    w: &TernaryMatrix,
    x: &QuantizedActivations,
    r0: usize,
    r1: usize,
    out: &SharedOut,
) {
    let block = Block {
        w: w.row_data(r0, r1),
        rows: r1 - r0,
        x: x.values(),
        tokens: x.tokens(),
        chunks,
    };
    let n = r1 - r0;
    if per_block {
        SCALED.with(|s| {
            let mut sums = s.borrow_mut();
            sums.clear();
            sums.resize(x.tokens() * n, 0.0);
            let scales = BlockScales {
                d: w.block_scales(r0, r1),
                chunk_sums: x.chunk_sums(),
            };
            mad::scaled_sums(level, &block, &scales, &mut sums);
            for t in 0..x.tokens() {
                let inv_s = 1.0 / x.scales()[t] as f64;
                // SAFETY: as in `store_tensor_scaled`.
                let out = unsafe { out.rows_mut(t, r0, n) };
                epilogue::scale_f64(level, &sums[t * n..(t + 1) * n], inv_s, out);
            }
        });
        return;
    }
    let Scale::Tensor(gamma) = *w.scale() else {
        unreachable!("per-block scales take the branch above")
    };
    SCRATCH.with(|s| {
        let mut raw = s.borrow_mut();
        raw.clear();
        raw.resize(x.tokens() * n, 0);
        mad::raw_sums(level, &block, &mut raw);
        for t in 0..x.tokens() {
            let dots = &raw[t * n..(t + 1) * n];
            store_tensor_scaled(level, gamma, x, t, r0, dots, x.sums()[t], out);
        }
    });
}
