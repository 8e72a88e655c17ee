//! TQ2_0: ggml's 2-bit ternary blocks (type 35), byte-exact with ggml and
//! gguf-py.
//!
//! A block is 256 weights in 66 bytes: `qs[64]` then the f16 scale `d`
//! (absmax, see [`super::tq_common`]). The block is two halves of 128
//! weights; in each, weight `p * 32 + l` (plane `p = 0..4`, lane `l = 0..32`)
//! is in byte `l` of the half at shift `2 p`: low bits first, the opposite
//! of I2S.
//!
//! ```text
//! byte 32 h + l (h = 0, 1; l = 0..31):
//!   bit  7 6       | 5 4       | 3 2       | 1 0
//!        w[128h+96+l]|w[128h+64+l]|w[128h+32+l]|w[128h+l]   (code t + 1)
//! bytes 64..66: d, f16 little-endian
//! ```

use super::codes::code;
use super::tq_common::{block_scale, scale_bytes, scale_value, ternarize};

/// Weights per block.
pub const BLOCK: usize = 256;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 66;
/// Offset of the f16 scale in a block.
pub const SCALE_AT: usize = 64;

/// Packs one block of ternary values with the f16 scale bytes `d`.
pub fn encode_block(t: &[i8], d: [u8; 2], out: &mut [u8]) {
    debug_assert!(t.len() == BLOCK && out.len() == BLOCK_BYTES);
    for h in 0..2 {
        for l in 0..32 {
            out[32 * h + l] =
                (0..4).fold(0u8, |acc, p| acc | code(t[128 * h + 32 * p + l]) << (2 * p));
        }
    }
    out[SCALE_AT..].copy_from_slice(&d);
}

/// Unpacks one block; returns the f16 scale as f32, or `Err(j)` naming the
/// first weight with the unused code 3.
pub fn decode_block(b: &[u8], t: &mut [i8]) -> Result<f32, usize> {
    debug_assert!(t.len() == BLOCK && b.len() == BLOCK_BYTES);
    for h in 0..2 {
        for p in 0..4 {
            for l in 0..32 {
                let c = (b[32 * h + l] >> (2 * p)) & 3;
                let j = 128 * h + 32 * p + l;
                if c == 3 {
                    return Err(j);
                }
                t[j] = c as i8 - 1;
            }
        }
    }
    Ok(scale_value([b[SCALE_AT], b[SCALE_AT + 1]]))
}

/// Scalar reference quantizer over whole blocks (input checked finite).
pub fn quantize_body(src: &[f32], dst: &mut [u8]) {
    let mut t = [0i8; BLOCK];
    for (x, out) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(BLOCK_BYTES))
    {
        let (d, id) = block_scale(x);
        for (ti, &v) in t.iter_mut().zip(x) {
            *ti = ternarize(v, id);
        }
        encode_block(&t, scale_bytes(d), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_is_low_bits_first() {
        let mut t = [0i8; BLOCK];
        t[0] = 1; // half 0, plane 0, lane 0 -> bits 1..0 of byte 0
        t[128 + 96 + 2] = -1; // half 1, plane 3, lane 2 -> bits 7..6 of byte 34
        let mut out = [0u8; BLOCK_BYTES];
        encode_block(&t, [0x00, 0x3c], &mut out);
        assert_eq!(out[0], 0b01_01_01_10);
        assert_eq!(out[34], 0b00_01_01_01);
        let mut back = [9i8; BLOCK];
        assert_eq!(decode_block(&out, &mut back), Ok(1.0));
        assert_eq!(back, t);
    }
}
