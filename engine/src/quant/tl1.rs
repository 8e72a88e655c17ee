//! TL1: pairs of weights as 4-bit lookup-table indices (2 bits per weight).
//!
//! Two consecutive weights `(w0, w1)` become the index
//! `3 * (w0 + 1) + (w1 + 1)` in `0..=8`: the position of their signed sum
//! `w0 * a0 + w1 * a1` in a 9-entry (padded to 16) table built per pair of
//! activations, so a `pshufb`/`vqtbl` replaces two multiply-adds.
//!
//! A run of `n` weights (`n` a multiple of 4; a block is a run of 128) has
//! `n / 2` pairs in `n / 4` bytes. Pair `p` of the run is in byte
//! `p % (n / 4)`: low nibble for the first half of the pairs, high nibble for
//! the second half.
//!
//! ```text
//! block of 128 weights = 64 pairs -> 32 bytes
//! byte l (l = 0..31):  bit 7..4           | bit 3..0
//!                      pair 32+l          | pair l
//!                      (w[64+2l], w[65+2l]) (w[2l], w[2l+1])
//! tensor: [block 0]...[block n/128 - 1][gamma f32][28 zero bytes]
//! ```
//!
//! One AND (`& 0x0f`) of a 32-byte block yields the indices of its first 64
//! weights in order, one shift-and-AND the last 64; a 64-byte load does two
//! blocks with the same two operations. TL2 reuses runs of 32 or 64 weights
//! (8 or 16 bytes) for its row tails.

use super::codes::ternarize;

/// Weights per block.
pub const BLOCK: usize = 128;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 32;
/// Largest valid index.
pub const MAX_INDEX: u8 = 8;

/// Table index of the pair `(w0, w1)`.
#[inline(always)]
pub fn pair_index(w0: i8, w1: i8) -> u8 {
    (3 * (w0 + 1) + (w1 + 1)) as u8
}

/// The pair of an index in `0..=8`.
#[inline(always)]
pub fn pair_of(index: u8) -> (i8, i8) {
    ((index / 3) as i8 - 1, (index % 3) as i8 - 1)
}

/// Packs a run of `t.len() = 4 * out.len()` ternary values.
pub fn encode_run(t: &[i8], out: &mut [u8]) {
    let half = out.len();
    debug_assert_eq!(t.len(), 4 * half);
    for (l, o) in out.iter_mut().enumerate() {
        let lo = pair_index(t[2 * l], t[2 * l + 1]);
        let hi = pair_index(t[2 * (half + l)], t[2 * (half + l) + 1]);
        *o = lo | hi << 4;
    }
}

/// Unpacks a run; `Err(j)` names the first weight of a pair with an index > 8.
pub fn decode_run(b: &[u8], t: &mut [i8]) -> Result<(), usize> {
    let half = b.len();
    debug_assert_eq!(t.len(), 4 * half);
    for (h, shift) in [(0, 0), (1, 4)] {
        for (l, &byte) in b.iter().enumerate() {
            let p = h * half + l;
            let idx = (byte >> shift) & 0x0f;
            if idx > MAX_INDEX {
                return Err(2 * p);
            }
            let (w0, w1) = pair_of(idx);
            t[2 * p] = w0;
            t[2 * p + 1] = w1;
        }
    }
    Ok(())
}

/// Scalar reference of the packing pass over whole blocks.
pub fn quantize_body(src: &[f32], half: f32, dst: &mut [u8]) {
    let mut t = [0i8; BLOCK];
    for (x, out) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(BLOCK_BYTES))
    {
        for (ti, &w) in t.iter_mut().zip(x) {
            *ti = ternarize(w, half);
        }
        encode_run(&t, out);
    }
}

/// Scalar reference of dequantization over whole blocks.
pub fn dequantize_body(src: &[u8], table: &[f32; 3], dst: &mut [f32]) -> Result<(), usize> {
    dequantize_runs(src, BLOCK_BYTES, table, dst)
}

/// Dequantizes consecutive runs of `run_bytes` bytes each.
pub fn dequantize_runs(
    src: &[u8],
    run_bytes: usize,
    table: &[f32; 3],
    dst: &mut [f32],
) -> Result<(), usize> {
    if run_bytes == 0 {
        return Ok(());
    }
    let mut t = [0i8; BLOCK];
    let t = &mut t[..4 * run_bytes];
    for (bi, (b, y)) in src
        .chunks_exact(run_bytes)
        .zip(dst.chunks_exact_mut(4 * run_bytes))
        .enumerate()
    {
        decode_run(b, t).map_err(|j| bi * 4 * run_bytes + j)?;
        for (yi, &ti) in y.iter_mut().zip(t.iter()) {
            *yi = table[(ti + 1) as usize];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_cover_all_pairs() {
        for w0 in -1..=1 {
            for w1 in -1..=1 {
                let i = pair_index(w0, w1);
                assert!(i <= MAX_INDEX);
                assert_eq!(pair_of(i), (w0, w1));
            }
        }
        assert_eq!(pair_index(0, 0), 4);
    }

    #[test]
    fn nibble_placement() {
        let mut t = [0i8; BLOCK];
        t[0] = 1; // pair 0 -> low nibble of byte 0: 3*2 + 1 = 7
        t[64] = -1; // pair 32 -> high nibble of byte 0: 3*0 + 1 = 1
        t[127] = 1; // pair 63 -> high nibble of byte 31: 3*1 + 2 = 5
        let mut out = [0u8; BLOCK_BYTES];
        encode_run(&t, &mut out);
        assert_eq!(out[0], 0x17);
        assert_eq!(out[31], 0x54);
        assert_eq!(out[1], 0x44);
        let mut back = [9i8; BLOCK];
        decode_run(&out, &mut back).unwrap();
        assert_eq!(back, t);
        out[3] = 0x94;
        assert_eq!(decode_run(&out, &mut back), Err(2 * (32 + 3)));
    }
}
