//! Scalar reference for the MAD layout: the definition every SIMD path must
//! reproduce bit for bit.

use super::{chunk_index, chunk_offset, Block, BlockScales};
use crate::kernels::matrix::CHUNK_BYTES;
use crate::kernels::CHUNK_WEIGHTS;

pub(super) fn raw_sums(b: &Block<'_>, out: &mut [i32]) {
    for t in 0..b.tokens {
        for r in 0..b.rows {
            out[t * b.rows + r] = (0..b.chunks).map(|c| chunk_raw(b, r, t, c)).sum();
        }
    }
}

pub(super) fn scaled_sums(b: &Block<'_>, s: &BlockScales<'_>, out: &mut [f64]) {
    for t in 0..b.tokens {
        for r in 0..b.rows {
            let mut acc = 0.0f64;
            for c in 0..b.chunks {
                let d = s.d[chunk_index(b.rows, b.chunks, r, c)];
                let v = chunk_raw(b, r, t, c) - s.chunk_sums[t * b.chunks + c];
                acc += d * v as f64;
            }
            out[t * b.rows + r] = acc;
        }
    }
}

/// `sum((code + 1) * xq)` of row `r`, token `t`, chunk `c`.
fn chunk_raw(b: &Block<'_>, r: usize, t: usize, c: usize) -> i32 {
    let w = &b.w[chunk_offset(b.rows, b.chunks, r, c)..][..CHUNK_BYTES];
    let x = &b.x[(t * b.chunks + c) * CHUNK_WEIGHTS..][..CHUNK_WEIGHTS];
    let mut s = 0i32;
    for (i, &byte) in w.iter().enumerate() {
        for g in 0..4 {
            let code = ((byte >> (2 * g)) & 3) as i32;
            s += code * x[g * CHUNK_BYTES + i] as i32;
        }
    }
    s
}
