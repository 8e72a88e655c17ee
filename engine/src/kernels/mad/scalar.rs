//! Scalar reference for the MAD layout: the definition every SIMD path must
//! reproduce bit for bit.

use super::{Block, Sums};
use crate::kernels::matrix::CHUNK_BYTES;
use crate::kernels::CHUNK_WEIGHTS;

pub(super) fn raw_sums(sums: Sums, b: &Block<'_>, out: &mut [i32]) {
    let row_bytes = b.chunks * CHUNK_BYTES;
    let tok_len = b.chunks * CHUNK_WEIGHTS;
    for t in 0..b.tokens {
        let x = &b.x[t * tok_len..(t + 1) * tok_len];
        for r in 0..b.rows {
            let w = &b.w[r * row_bytes..(r + 1) * row_bytes];
            let mut total = 0i32;
            for c in 0..b.chunks {
                let s = chunk_sum(
                    &w[c * CHUNK_BYTES..(c + 1) * CHUNK_BYTES],
                    &x[c * CHUNK_WEIGHTS..(c + 1) * CHUNK_WEIGHTS],
                );
                match sums {
                    Sums::Total => total += s,
                    Sums::PerChunk => out[(t * b.rows + r) * b.chunks + c] = s,
                }
            }
            if sums == Sums::Total {
                out[t * b.rows + r] = total;
            }
        }
    }
}

fn chunk_sum(w: &[u8], x: &[i8]) -> i32 {
    let mut s = 0i32;
    for (i, &byte) in w.iter().enumerate() {
        for g in 0..4 {
            let code = ((byte >> (2 * g)) & 3) as i32;
            s += code * x[g * CHUNK_BYTES + i] as i32;
        }
    }
    s
}
