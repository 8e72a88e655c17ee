//! GEMV and GEMM entry points: shape checks, row partitioning across
//! threads, and the epilogue that turns exact integer sums into f32.
//!
//! The epilogue is the same scalar code for every SIMD level and thread
//! count, and the integer sums are exact, so results are bit-identical
//! everywhere:
//!
//! ```text
//! dot    = raw - sum(xq)                      raw = sum((code + 1) * xq), i32
//! tensor scale:  y = f32( f64(dot) * (f64(gamma) / f64(s)) )
//! block scales:  y = f32( sum_b f64(d_b) * f64(dot_b) / f64(s) )   (blocks in order)
//! ```
//!
//! The f64 products are exact (|dot| < 2^31, scales are f32) and the f64
//! block sum loses nothing that matters, so `y` is within one f32 rounding
//! of the exact dequantized product.

use super::mad::{self, Block, Sums};
use super::parallel::for_row_ranges;
use super::{KernelError, Parallelism, QuantizedActivations, TernaryMatrix, WeightScale};
use crate::cpu::SimdLevel;
use std::cell::RefCell;

/// Rows per kernel call in GEMM: the block's packed rows stay in L1 while
/// every token streams past them.
const GEMM_BLOCK_ROWS: usize = 16;

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

/// Output pointer shared by the threads of one call; each writes only the
/// rows of its own range.
struct SharedOut(*mut f32);
// SAFETY: threads write disjoint elements (distinct row ranges) and the
// owning `&mut [f32]` outlives the parallel section.
unsafe impl Sync for SharedOut {}

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
    let sums = match w.scale() {
        WeightScale::Tensor(_) => Sums::Total,
        WeightScale::PerBlock(_) => Sums::PerChunk,
    };
    let macs = rows * w.cols() * tokens;
    let parts_per_thread = if macs >= 1 << 24 { 4 } else { 1 };
    let shared = SharedOut(out.as_mut_ptr());
    let shared = &shared;
    for_row_ranges(par, rows, 4, parts_per_thread, |r0, r1| {
        let step = if tokens == 1 {
            r1 - r0
        } else {
            GEMM_BLOCK_ROWS
        };
        let mut b0 = r0;
        while b0 < r1 {
            let b1 = (b0 + step).min(r1);
            rows_block(level, sums, w, x, b0, b1, shared);
            b0 = b1;
        }
    })
}

thread_local! {
    static SCRATCH: RefCell<Vec<i32>> = const { RefCell::new(Vec::new()) };
}

/// Raw sums for rows `r0..r1` and every token, then the epilogue.
fn rows_block(
    level: SimdLevel,
    sums: Sums,
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
        chunks: w.chunks(),
    };
    SCRATCH.with(|s| {
        let mut raw = s.borrow_mut();
        raw.clear();
        raw.resize(block.out_len(sums), 0);
        mad::raw_sums(level, sums, &block, &mut raw);
        let (rows, n) = (w.rows(), r1 - r0);
        for t in 0..x.tokens() {
            let inv_s = 1.0 / x.scales()[t] as f64;
            let base = t * rows + r0;
            match w.scale() {
                WeightScale::Tensor(gamma) => {
                    let factor = *gamma as f64 * inv_s;
                    let xsum = x.sums()[t];
                    for (i, &r) in raw[t * n..(t + 1) * n].iter().enumerate() {
                        let y = ((r - xsum) as f64 * factor) as f32;
                        // SAFETY: row r0 + i belongs to this thread's range,
                        // and base + i < tokens * rows = out.len().
                        unsafe { *out.0.add(base + i) = y };
                    }
                }
                WeightScale::PerBlock(d) => {
                    let chunks = block.chunks;
                    let xcs = x.token_chunk_sums(t);
                    for i in 0..n {
                        let raw_row = &raw[(t * n + i) * chunks..(t * n + i + 1) * chunks];
                        let d_row = &d[(r0 + i) * chunks..(r0 + i + 1) * chunks];
                        let acc = raw_row
                            .iter()
                            .zip(xcs)
                            .zip(d_row)
                            .fold(0.0f64, |a, ((&r, &xs), &d)| a + d as f64 * (r - xs) as f64);
                        // SAFETY: as above.
                        unsafe { *out.0.add(base + i) = (acc * inv_s) as f32 };
                    }
                }
            }
        }
    });
}
