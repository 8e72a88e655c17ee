//! I2S: bitnet.cpp's GGUF `I2_S` (x86 layout), 2 bits per weight.
//!
//! Blocks of 128 consecutive weights (of the flattened tensor: rows are a
//! multiple of 128 long, so no block straddles two rows) take 32 bytes.
//! Weight `j` of a block lives in byte `j % 32`, at bit shift
//! `6 - 2 * (j / 32)`: the block is four planes of 32 weights, plane 0 in the
//! top bits.
//!
//! ```text
//! byte l (l = 0..31) of a block:
//!   bit  7 6 | 5 4 | 3 2 | 1 0
//!        w[l] |w[32+l]|w[64+l]|w[96+l]      (2-bit code c = t + 1)
//! tensor: [block 0][block 1]...[block n/128 - 1][gamma f32][28 zero bytes]
//! ```
//!
//! A 32-byte load therefore holds one whole block, and `(byte >> s) & 3` for
//! `s = 6, 4, 2, 0` yields its four planes of 32 consecutive weights.

use super::codes::{code, ternarize};

/// Weights per block.
pub const BLOCK: usize = 128;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 32;
/// Weights per 2-bit plane (and bytes per block).
pub const PLANE: usize = 32;

/// Bit shift of plane `p` (0..4) inside a byte.
#[inline(always)]
pub const fn plane_shift(p: usize) -> u32 {
    6 - 2 * p as u32
}

/// Packs one block of ternary values.
pub fn encode_block(t: &[i8], out: &mut [u8]) {
    debug_assert!(t.len() == BLOCK && out.len() == BLOCK_BYTES);
    for (l, o) in out.iter_mut().enumerate() {
        *o = (0..4).fold(0u8, |acc, p| acc | code(t[p * PLANE + l]) << plane_shift(p));
    }
}

/// Unpacks one block; `Err(j)` names the first weight with the unused code 3.
pub fn decode_block(b: &[u8], t: &mut [i8]) -> Result<(), usize> {
    debug_assert!(t.len() == BLOCK && b.len() == BLOCK_BYTES);
    for p in 0..4 {
        for l in 0..PLANE {
            let c = (b[l] >> plane_shift(p)) & 3;
            if c == 3 {
                return Err(p * PLANE + l);
            }
            t[p * PLANE + l] = c as i8 - 1;
        }
    }
    Ok(())
}

/// Scalar reference of the packing pass: `src.len() == dst.len() * 4`.
pub fn quantize_body(src: &[f32], half: f32, dst: &mut [u8]) {
    let mut t = [0i8; BLOCK];
    for (x, out) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(BLOCK_BYTES))
    {
        for (ti, &w) in t.iter_mut().zip(x) {
            *ti = ternarize(w, half);
        }
        encode_block(&t, out);
    }
}

/// Scalar reference of dequantization; `Err(i)` names a weight with code 3.
pub fn dequantize_body(src: &[u8], table: &[f32; 3], dst: &mut [f32]) -> Result<(), usize> {
    let mut t = [0i8; BLOCK];
    for (bi, (b, y)) in src
        .chunks_exact(BLOCK_BYTES)
        .zip(dst.chunks_exact_mut(BLOCK))
        .enumerate()
    {
        decode_block(b, &mut t).map_err(|j| bi * BLOCK + j)?;
        for (yi, &ti) in y.iter_mut().zip(&t) {
            *yi = table[(ti + 1) as usize];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_bitnet_cpp() {
        let mut t = [0i8; BLOCK];
        t[0] = 1; // plane 0 -> top bits of byte 0
        t[97] = -1; // plane 3, lane 1 -> low bits of byte 1
        let mut out = [0u8; BLOCK_BYTES];
        encode_block(&t, &mut out);
        assert_eq!(out[0], 0b10_01_01_01);
        assert_eq!(out[1], 0b01_01_01_00);
        let mut back = [9i8; BLOCK];
        decode_block(&out, &mut back).unwrap();
        assert_eq!(back, t);
        out[5] = 0b01_11_01_01;
        assert_eq!(decode_block(&out, &mut back), Err(32 + 5));
    }
}
