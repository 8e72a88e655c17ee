//! TL2: triples of weights as sign + 4-bit magnitude (5 bits per 3 weights).
//!
//! Three consecutive weights `(w0, w1, w2)` have the base-3 value
//! `v = 9 (w0 + 1) + 3 (w1 + 1) + (w2 + 1)` in `0..=26`. Negating the triple
//! maps `v` to `26 - v`, so it is stored as `m = |v - 13|` in `0..=13` (the
//! row of a 14-entry table of signed sums built per activation triple) and a
//! sign bit `s = (v < 13)` that negates the looked-up sum. Magnitude 0 is
//! `(0, 0, 0)` and is written with `s = 0`.
//!
//! A block is 96 weights = 32 triples -> 16 magnitude bytes + 4 sign bytes.
//! Within a row the blocks are stored as two planes, all magnitudes first,
//! so that two neighbouring blocks' magnitudes are one 32-byte load:
//!
//! ```text
//! row of cols weights, B = cols / 96 blocks, tail = cols % 96 (0, 32 or 64)
//! [mags: B x 16 bytes][signs: B x 4 bytes][tail: TL1 run, tail / 4 bytes]
//!
//! magnitude byte l (l = 0..15) of block b:  bit 7..4        | bit 3..0
//!                                           m(triple 16+l)  | m(triple l)
//! sign word of block b (u32 little-endian): bit k = s(triple k), k = 0..31
//! triple k = weights (96 b + 3k, 96 b + 3k + 1, 96 b + 3k + 2)
//! tensor: [row 0]...[row rows-1][gamma f32][28 zero bytes]
//! ```
//!
//! As in TL1, `& 0x0f` and `>> 4 & 0x0f` split a 32-byte load of magnitudes
//! (two blocks) into the triples `0..16` and `16..32` of both blocks. The
//! tail (the last `cols % 96` weights of the row) is a TL1 run
//! ([`super::tl1::encode_run`]).

use super::codes::ternarize;
use super::tl1;

/// Weights per block.
pub const BLOCK: usize = 96;
/// Triples per block.
pub const TRIPLES: usize = 32;
/// Magnitude bytes per block.
pub const MAG_BYTES: usize = 16;
/// Sign bytes per block.
pub const SIGN_BYTES: usize = 4;
/// Largest valid magnitude.
pub const MAX_MAGNITUDE: u8 = 13;

/// Magnitude and sign of a triple.
#[inline(always)]
pub fn triple_code(w0: i8, w1: i8, w2: i8) -> (u8, bool) {
    let d = 9 * w0 + 3 * w1 + w2; // = v - 13
    (d.unsigned_abs(), d < 0)
}

/// The triple of a magnitude in `0..=13` and a sign.
#[inline(always)]
pub fn triple_of(m: u8, negative: bool) -> [i8; 3] {
    let v = 13 + m as i8;
    let t = [v / 9 - 1, (v / 3) % 3 - 1, v % 3 - 1];
    if negative {
        [-t[0], -t[1], -t[2]]
    } else {
        t
    }
}

/// Where the parts of one row live, in bytes from the row start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowLayout {
    pub blocks: usize,
    pub signs_at: usize,
    pub tail_at: usize,
    pub tail_weights: usize,
    pub row_bytes: usize,
}

impl RowLayout {
    /// Layout of a row of `cols` weights (`cols % 32 == 0`, checked by the caller).
    pub fn new(cols: usize) -> RowLayout {
        let blocks = cols / BLOCK;
        let tail_weights = cols % BLOCK;
        let tail_at = blocks * (MAG_BYTES + SIGN_BYTES);
        RowLayout {
            blocks,
            signs_at: blocks * MAG_BYTES,
            tail_at,
            tail_weights,
            row_bytes: tail_at + tail_weights / 4,
        }
    }
}

/// Packs one block of 96 ternary values.
pub fn encode_block(t: &[i8], mags: &mut [u8], signs: &mut [u8]) {
    debug_assert!(t.len() == BLOCK && mags.len() == MAG_BYTES && signs.len() == SIGN_BYTES);
    let mut word = 0u32;
    let mut m = [0u8; TRIPLES];
    for k in 0..TRIPLES {
        let (mk, s) = triple_code(t[3 * k], t[3 * k + 1], t[3 * k + 2]);
        m[k] = mk;
        word |= (s as u32) << k;
    }
    for (l, o) in mags.iter_mut().enumerate() {
        *o = m[l] | m[l + 16] << 4;
    }
    signs.copy_from_slice(&word.to_le_bytes());
}

/// Unpacks one block; `Err(j)` names the first weight of a triple whose
/// magnitude exceeds 13.
pub fn decode_block(mags: &[u8], signs: &[u8], t: &mut [i8]) -> Result<(), usize> {
    debug_assert!(t.len() == BLOCK && mags.len() == MAG_BYTES && signs.len() == SIGN_BYTES);
    let word = u32::from_le_bytes([signs[0], signs[1], signs[2], signs[3]]);
    for k in 0..TRIPLES {
        let m = (mags[k % 16] >> (4 * (k / 16))) & 0x0f;
        if m > MAX_MAGNITUDE {
            return Err(3 * k);
        }
        t[3 * k..3 * k + 3].copy_from_slice(&triple_of(m, word >> k & 1 == 1));
    }
    Ok(())
}

/// Packs one row of ternary values.
pub fn encode_row(t: &[i8], out: &mut [u8]) {
    let lay = RowLayout::new(t.len());
    let (mags, rest) = out.split_at_mut(lay.signs_at);
    let (signs, tail) = rest.split_at_mut(lay.tail_at - lay.signs_at);
    for b in 0..lay.blocks {
        encode_block(
            &t[b * BLOCK..(b + 1) * BLOCK],
            &mut mags[b * MAG_BYTES..(b + 1) * MAG_BYTES],
            &mut signs[b * SIGN_BYTES..(b + 1) * SIGN_BYTES],
        );
    }
    tl1::encode_run(&t[lay.blocks * BLOCK..], tail);
}

/// Unpacks one row; `Err(j)` names a weight of an invalid triple or pair.
pub fn decode_row(b: &[u8], t: &mut [i8]) -> Result<(), usize> {
    let lay = RowLayout::new(t.len());
    for blk in 0..lay.blocks {
        decode_block(
            &b[blk * MAG_BYTES..(blk + 1) * MAG_BYTES],
            &b[lay.signs_at + blk * SIGN_BYTES..lay.signs_at + (blk + 1) * SIGN_BYTES],
            &mut t[blk * BLOCK..(blk + 1) * BLOCK],
        )
        .map_err(|j| blk * BLOCK + j)?;
    }
    let tail0 = lay.blocks * BLOCK;
    tl1::decode_run(&b[lay.tail_at..lay.row_bytes], &mut t[tail0..]).map_err(|j| tail0 + j)
}

/// Scalar reference of the packing pass over `rows` rows of `cols`.
pub fn quantize_body(src: &[f32], cols: usize, half: f32, dst: &mut [u8]) {
    let lay = RowLayout::new(cols);
    let mut t = [0i8; BLOCK];
    for (x, out) in src
        .chunks_exact(cols)
        .zip(dst.chunks_exact_mut(lay.row_bytes))
    {
        let (mags, rest) = out.split_at_mut(lay.signs_at);
        let (signs, tail) = rest.split_at_mut(lay.tail_at - lay.signs_at);
        for b in 0..lay.blocks {
            for (ti, &w) in t.iter_mut().zip(&x[b * BLOCK..(b + 1) * BLOCK]) {
                *ti = ternarize(w, half);
            }
            encode_block(
                &t,
                &mut mags[b * MAG_BYTES..(b + 1) * MAG_BYTES],
                &mut signs[b * SIGN_BYTES..(b + 1) * SIGN_BYTES],
            );
        }
        let tx = &x[lay.blocks * BLOCK..];
        let tt = &mut t[..tx.len()];
        for (ti, &w) in tt.iter_mut().zip(tx) {
            *ti = ternarize(w, half);
        }
        tl1::encode_run(tt, tail);
    }
}

/// Scalar reference of dequantization over `rows` rows of `cols`.
pub fn dequantize_body(
    src: &[u8],
    cols: usize,
    table: &[f32; 3],
    dst: &mut [f32],
) -> Result<(), usize> {
    let lay = RowLayout::new(cols);
    let mut t = [0i8; BLOCK];
    for (r, (b, y)) in src
        .chunks_exact(lay.row_bytes)
        .zip(dst.chunks_exact_mut(cols))
        .enumerate()
    {
        for blk in 0..lay.blocks {
            decode_block(
                &b[blk * MAG_BYTES..(blk + 1) * MAG_BYTES],
                &b[lay.signs_at + blk * SIGN_BYTES..lay.signs_at + (blk + 1) * SIGN_BYTES],
                &mut t,
            )
            .map_err(|j| r * cols + blk * BLOCK + j)?;
            for (yi, &ti) in y[blk * BLOCK..(blk + 1) * BLOCK].iter_mut().zip(&t) {
                *yi = table[(ti + 1) as usize];
            }
        }
        let tail0 = lay.blocks * BLOCK;
        tl1::dequantize_runs(
            &b[lay.tail_at..lay.row_bytes],
            lay.tail_weights / 4,
            table,
            &mut y[tail0..],
        )
        .map_err(|j| r * cols + tail0 + j)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triples_are_symmetric_and_complete() {
        let mut seen = std::collections::HashSet::new();
        for a in -1..=1 {
            for b in -1..=1 {
                for c in -1..=1 {
                    let (m, s) = triple_code(a, b, c);
                    assert!(m <= MAX_MAGNITUDE);
                    assert_eq!(triple_of(m, s), [a, b, c]);
                    assert_eq!(triple_code(-a, -b, -c), (m, m != 0 && !s));
                    seen.insert((m, s));
                }
            }
        }
        assert_eq!(seen.len(), 27);
        assert_eq!(triple_code(0, 0, 0), (0, false));
    }

    #[test]
    fn row_layout_and_placement() {
        let lay = RowLayout::new(256);
        assert_eq!((lay.blocks, lay.signs_at, lay.tail_at), (2, 32, 40));
        assert_eq!((lay.tail_weights, lay.row_bytes), (64, 56));
        let mut t = vec![0i8; 256];
        t[96 + 3 * 17..96 + 3 * 17 + 3].copy_from_slice(&[-1, 0, 1]); // block 1, triple 17
        t[192] = 1; // tail pair 0
        let mut out = vec![0u8; lay.row_bytes];
        encode_row(&t, &mut out);
        // v = 0 + 3 + 2 = 5 -> m = 8, negative; triple 17 -> high nibble of mag byte 1.
        assert_eq!(out[16 + 1], 0x80);
        assert_eq!(out[32 + 4..32 + 8], (1u32 << 17).to_le_bytes());
        assert_eq!(out[40], 0x44 + 3);
        let mut back = vec![9i8; 256];
        decode_row(&out, &mut back).unwrap();
        assert_eq!(back, t);
        out[0] = 0x0e;
        assert_eq!(decode_row(&out, &mut back), Err(0));
    }
}
