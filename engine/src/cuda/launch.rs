//! Launch-shape math: how many blocks and threads each kernel gets.
//!
//! The tile sizes here are compiled into the kernels as `#define`s (see
//! [`super::source`]), so a kernel's loop bounds and the grid computed here
//! cannot disagree. Every shape is checked against the hardware limits that
//! hold on every GPU we target (sm_80 and later) before it reaches the driver,
//! so an impossible launch is a typed error naming the kernel, not an
//! "invalid argument" from deep inside CUDA.

use super::CudaError;
use std::fmt;

/// Threads in a warp; the kernels' shuffles and the W2 layout assume it.
pub const WARP: usize = 32;
/// Threads per block of streaming kernels (quantize, activation, RoPE).
pub const ELEM_THREADS: usize = 256;
/// Threads per block of one-row-per-block kernels (act quant, RMSNorm).
pub const ROW_THREADS: usize = 256;
/// Warps per block of the quantize/dequantize kernels (one warp per block of weights).
pub const QUANT_WARPS: usize = 8;
/// Warps per block of the W2A8 GEMV (one warp per output row).
pub const GEMV_WARPS: usize = 8;
/// GEMM tile: tokens (M) per block.
pub const GEMM_BM: usize = 64;
/// GEMM tile: output rows (N) per block.
pub const GEMM_BN: usize = 64;
/// GEMM tile: weights along K per shared-memory stage.
pub const GEMM_BK: usize = 64;
/// GEMM threads per block; each thread owns a 4 x 4 output micro-tile.
pub const GEMM_THREADS: usize = 256;
/// f16 GEMM tile sizes (dense reference).
pub const HGEMM_BM: usize = 64;
pub const HGEMM_BN: usize = 64;
pub const HGEMM_BK: usize = 32;
pub const HGEMM_THREADS: usize = 256;
/// Threads per (head, token) block of the attention kernel.
pub const ATTN_THREADS: usize = 128;

/// Limits common to every target (compute capability 8.0 and later).
pub const MAX_THREADS_PER_BLOCK: usize = 1024;
pub const MAX_GRID_X: usize = (1 << 31) - 1;
pub const MAX_GRID_YZ: usize = 65535;
/// Dynamic shared memory available without the per-kernel opt-in attribute.
pub const MAX_DYNAMIC_SMEM: usize = 48 * 1024;

/// Grid, block and dynamic shared memory of one launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchShape {
    pub grid: (u32, u32, u32),
    pub block: (u32, u32, u32),
    pub shared_bytes: u32,
}

impl fmt::Display for LaunchShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (g, b) = (self.grid, self.block);
        write!(
            f,
            "grid ({}, {}, {}) block ({}, {}, {}) shared {} B",
            g.0, g.1, g.2, b.0, b.1, b.2, self.shared_bytes
        )
    }
}

impl LaunchShape {
    /// A checked shape: zero-sized or over-limit launches become typed errors.
    pub fn new(
        kernel: &'static str,
        grid: (usize, usize, usize),
        threads: usize,
        shared_bytes: usize,
    ) -> Result<Self, CudaError> {
        let bad = |detail: String| Err(CudaError::shape(kernel, detail));
        if grid.0 == 0 || grid.1 == 0 || grid.2 == 0 || threads == 0 {
            return bad(format!("empty launch: grid {grid:?}, {threads} threads"));
        }
        if threads > MAX_THREADS_PER_BLOCK {
            return bad(format!(
                "{threads} threads per block exceeds {MAX_THREADS_PER_BLOCK}"
            ));
        }
        if grid.0 > MAX_GRID_X || grid.1 > MAX_GRID_YZ || grid.2 > MAX_GRID_YZ {
            return bad(format!("grid {grid:?} exceeds the hardware limits"));
        }
        if shared_bytes > MAX_DYNAMIC_SMEM {
            return bad(format!(
                "needs {shared_bytes} B of shared memory, at most {MAX_DYNAMIC_SMEM} B"
            ));
        }
        Ok(LaunchShape {
            grid: (grid.0 as u32, grid.1 as u32, grid.2 as u32),
            block: (threads as u32, 1, 1),
            shared_bytes: shared_bytes as u32,
        })
    }

    pub fn threads_per_block(&self) -> usize {
        (self.block.0 * self.block.1 * self.block.2) as usize
    }

    pub fn blocks(&self) -> usize {
        (self.grid.0 as usize) * (self.grid.1 as usize) * (self.grid.2 as usize)
    }
}

/// One thread per item, `ELEM_THREADS` per block.
pub fn elementwise(kernel: &'static str, items: usize) -> Result<LaunchShape, CudaError> {
    LaunchShape::new(
        kernel,
        (items.div_ceil(ELEM_THREADS), 1, 1),
        ELEM_THREADS,
        0,
    )
}

/// Most blocks of the first (partial-sum) pass of the tensor-scale reduction;
/// one thread folds their partials in order, so this bounds its serial work.
pub const STATS_MAX_BLOCKS: usize = 512;
/// Elements each thread of that pass reduces at least (amortises the fold).
pub const STATS_ITEMS_PER_THREAD: usize = 16;

/// The partial pass of the tensor-scale reduction over `n` values
/// (grid-stride loop, so any `n` fits `STATS_MAX_BLOCKS` blocks).
pub fn stats_partial(n: usize) -> Result<LaunchShape, CudaError> {
    let blocks = n
        .div_ceil(ELEM_THREADS * STATS_ITEMS_PER_THREAD)
        .clamp(1, STATS_MAX_BLOCKS);
    LaunchShape::new("abs_stats_partial", (blocks, 1, 1), ELEM_THREADS, 0)
}

/// A single thread (serial folds and other one-off device work).
pub fn single(kernel: &'static str) -> Result<LaunchShape, CudaError> {
    LaunchShape::new(kernel, (1, 1, 1), WARP, 0)
}

/// One warp per packed weight block, `QUANT_WARPS` warps per thread block.
pub fn per_weight_block(kernel: &'static str, blocks: usize) -> Result<LaunchShape, CudaError> {
    LaunchShape::new(
        kernel,
        (blocks.div_ceil(QUANT_WARPS), 1, 1),
        QUANT_WARPS * WARP,
        0,
    )
}

/// One thread block per row (token), reductions across the row inside it.
pub fn per_row(
    kernel: &'static str,
    rows: usize,
    shared_bytes: usize,
) -> Result<LaunchShape, CudaError> {
    LaunchShape::new(kernel, (rows, 1, 1), ROW_THREADS, shared_bytes)
}

/// W2A8 GEMV: one warp per output row, the int8 activation row staged in
/// shared memory (`act_bytes`, padded to whole 16-byte vectors).
pub fn gemv(rows: usize, act_bytes: usize) -> Result<LaunchShape, CudaError> {
    LaunchShape::new(
        "gemv_w2a8",
        (rows.div_ceil(GEMV_WARPS), 1, 1),
        GEMV_WARPS * WARP,
        act_bytes,
    )
}

/// W2A8 GEMM: `GEMM_BN` output rows x `GEMM_BM` tokens per block (static shared memory).
pub fn gemm(tokens: usize, rows: usize) -> Result<LaunchShape, CudaError> {
    LaunchShape::new(
        "gemm_w2a8",
        (rows.div_ceil(GEMM_BN), tokens.div_ceil(GEMM_BM), 1),
        GEMM_THREADS,
        0,
    )
}

/// Dense f16 GEMM: `HGEMM_BN` x `HGEMM_BM` outputs per block (static shared memory).
pub fn hgemm(m: usize, n: usize) -> Result<LaunchShape, CudaError> {
    LaunchShape::new(
        "gemm_f16",
        (n.div_ceil(HGEMM_BN), m.div_ceil(HGEMM_BM), 1),
        HGEMM_THREADS,
        0,
    )
}

/// Attention: one block per (head, query token); the scores of one query
/// (`n_keys` f32) live in dynamic shared memory.
pub fn attention(heads: usize, tokens: usize, n_keys: usize) -> Result<LaunchShape, CudaError> {
    LaunchShape::new(
        "attention",
        (heads, tokens, 1),
        ATTN_THREADS,
        n_keys * std::mem::size_of::<f32>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elementwise_covers_every_item_with_one_partial_block() {
        for n in [1usize, 255, 256, 257, 65536, 65537] {
            let s = elementwise("k", n).unwrap();
            let covered = s.blocks() * s.threads_per_block();
            assert!(covered >= n && covered - n < ELEM_THREADS, "n = {n}");
        }
    }

    #[test]
    fn gemv_gives_one_warp_per_row() {
        let s = gemv(2560, 6912).unwrap();
        assert_eq!(s.grid, (320, 1, 1));
        assert_eq!(s.threads_per_block(), GEMV_WARPS * WARP);
        assert_eq!(s.shared_bytes, 6912);
        let s = gemv(2561, 64).unwrap();
        assert!(s.blocks() * GEMV_WARPS >= 2561);
        assert!((s.blocks() - 1) * GEMV_WARPS < 2561);
    }

    #[test]
    fn gemm_tiles_cover_the_output() {
        let s = gemm(128, 6912).unwrap();
        assert_eq!(s.grid, (6912 / GEMM_BN as u32, 2, 1));
        let s = gemm(1, 33).unwrap();
        assert_eq!(s.grid, (1, 1, 1));
        let s = hgemm(512, 512).unwrap();
        assert_eq!(s.grid, (8, 8, 1));
    }

    #[test]
    fn impossible_shapes_are_typed_errors_naming_the_kernel() {
        let e = gemv(10, MAX_DYNAMIC_SMEM + 16).unwrap_err();
        assert!(matches!(
            e,
            CudaError::Shape {
                kernel: "gemv_w2a8",
                ..
            }
        ));
        assert!(e.to_string().contains("shared memory"));
        assert!(elementwise("k", 0).is_err());
        assert!(attention(20, MAX_GRID_YZ + 1, 8).is_err());
        assert!(LaunchShape::new("k", (1, 1, 1), 2048, 0).is_err());
        let ok = attention(20, 3, 4096).unwrap();
        assert_eq!(ok.shared_bytes, 16384);
    }

    #[test]
    fn stats_blocks_are_bounded_and_cover_small_inputs() {
        assert_eq!(stats_partial(1).unwrap().blocks(), 1);
        assert_eq!(stats_partial(65536).unwrap().blocks(), 16);
        assert_eq!(stats_partial(1 << 30).unwrap().blocks(), STATS_MAX_BLOCKS);
    }

    #[test]
    fn display_names_every_dimension() {
        let s = per_row("act_quant", 7, 0).unwrap();
        assert_eq!(
            s.to_string(),
            format!("grid (7, 1, 1) block ({ROW_THREADS}, 1, 1) shared 0 B")
        );
    }
}
