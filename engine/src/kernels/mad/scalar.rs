//! Scalar reference for the MAD layout: the definition every SIMD path must
//! reproduce bit for bit.

use super::{chunk_offset, tree16, Block, BlockScales, LANES};
use crate::kernels::matrix::CHUNK_BYTES;
use crate::kernels::CHUNK_WEIGHTS;

pub(super) fn raw_sums(b: &Block<'_>, out: &mut [i32]) {
    for t in 0..b.tokens {
        for r in 0..b.rows {
            out[t * b.rows + r] = (0..b.chunks)
                .map(|c| lane_sums(b, r, t, c).iter().sum::<i32>())
                .sum();
        }
    }
}

pub(super) fn scaled_sums(b: &Block<'_>, s: &BlockScales<'_>, out: &mut [f64]) {
    for t in 0..b.tokens {
        for r in 0..b.rows {
            let mut acc = [0.0f64; LANES];
            for c in 0..b.chunks {
                let d = s.d[r * b.chunks + c];
                let xl = &s.lane_sums[(t * b.chunks + c) * LANES..][..LANES];
                for (l, raw) in lane_sums(b, r, t, c).into_iter().enumerate() {
                    acc[l] += d * (raw - xl[l]) as f64;
                }
            }
            out[t * b.rows + r] = tree16(acc);
        }
    }
}

/// `sum((code + 1) * xq)` of row `r`, token `t`, chunk `c`, per lane.
fn lane_sums(b: &Block<'_>, r: usize, t: usize, c: usize) -> [i32; LANES] {
    let w = &b.w[chunk_offset(b.rows, b.chunks, r, c)..][..CHUNK_BYTES];
    let x = &b.x[(t * b.chunks + c) * CHUNK_WEIGHTS..][..CHUNK_WEIGHTS];
    let mut s = [0i32; LANES];
    for (i, &byte) in w.iter().enumerate() {
        for g in 0..4 {
            let code = ((byte >> (2 * g)) & 3) as i32;
            s[i / 4] += code * x[g * CHUNK_BYTES + i] as i32;
        }
    }
    s
}
