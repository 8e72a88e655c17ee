//! TQ1_0: ggml's base-3 ternary blocks (type 34), byte-exact with ggml and
//! gguf-py.
//!
//! A block is 256 weights in 54 bytes: `qs[48]`, `qh[4]`, then the f16
//! scale `d` (absmax, see [`super::tq_common`]). Codes `c = t + 1` are
//! base-3 digits; a byte holds 5 of them (4 in `qh`) as
//! `v = sum c_k 3^(4-k)` and stores `ceil(v * 256 / 243)`, so digit `k` is
//! recovered without division as `((byte * 3^k) mod 256) * 3 >> 8`.
//!
//! ```text
//! bytes  0..32  byte j holds w[j], w[32+j], w[64+j], w[96+j], w[128+j]
//!                (digit k = 0..4 is w[32k + j], k = 0 most significant)
//! bytes 32..48  byte 32+j holds w[160+16k+j], k = 0..4
//! bytes 48..52  byte 48+j holds w[240+4k+j],  k = 0..3 (fifth digit 0)
//! bytes 52..54  d, f16 little-endian
//! ```

use super::codes::code;
use super::tq_common::{block_scale, scale_bytes, scale_value, ternarize};

/// Weights per block.
pub const BLOCK: usize = 256;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 54;
/// Offset of the f16 scale in a block.
pub const SCALE_AT: usize = 52;

/// `(first weight, weight stride, digits)` of the byte at `byte` (0..52).
#[inline(always)]
pub fn byte_group(byte: usize) -> (usize, usize, usize) {
    match byte {
        0..=31 => (byte, 32, 5),
        32..=47 => (160 + (byte - 32), 16, 5),
        _ => (240 + (byte - 48), 4, 4),
    }
}

/// Stored byte of the base-3 value `v` (`v <= 242`): `ceil(v * 256 / 243)`.
#[inline(always)]
pub fn store(v: u16) -> u8 {
    (v * 256).div_ceil(243) as u8
}

/// Digit `k` (0 = most significant) of a stored byte.
#[inline(always)]
pub fn digit(byte: u8, k: u32) -> u8 {
    let x = byte.wrapping_mul(3u8.pow(k));
    ((x as u16 * 3) >> 8) as u8
}

/// Packs one block of ternary values with the f16 scale bytes `d`.
pub fn encode_block(t: &[i8], d: [u8; 2], out: &mut [u8]) {
    debug_assert!(t.len() == BLOCK && out.len() == BLOCK_BYTES);
    for (byte, o) in out[..SCALE_AT].iter_mut().enumerate() {
        let (first, stride, digits) = byte_group(byte);
        let mut v = 0u16;
        for k in 0..5 {
            let c = if k < digits {
                code(t[first + stride * k])
            } else {
                0
            };
            v = v * 3 + c as u16;
        }
        *o = store(v);
    }
    out[SCALE_AT..].copy_from_slice(&d);
}

/// Unpacks one block; returns the f16 scale as f32. Every byte decodes.
pub fn decode_block(b: &[u8], t: &mut [i8]) -> f32 {
    debug_assert!(t.len() == BLOCK && b.len() == BLOCK_BYTES);
    for (byte, &v) in b[..SCALE_AT].iter().enumerate() {
        let (first, stride, digits) = byte_group(byte);
        for k in 0..digits {
            t[first + stride * k] = digit(v, k as u32) as i8 - 1;
        }
    }
    scale_value([b[SCALE_AT], b[SCALE_AT + 1]])
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
    fn digits_round_trip_for_every_value() {
        for v in 0..243u16 {
            let b = store(v);
            let mut rebuilt = 0u16;
            for k in 0..5 {
                rebuilt = rebuilt * 3 + digit(b, k) as u16;
            }
            assert_eq!(rebuilt, v, "byte {b}");
        }
    }

    #[test]
    fn placement() {
        let mut t = [0i8; BLOCK];
        t[32] = 1; // byte 0, digit 1
        t[255] = -1; // byte 51, digit 3
        let mut out = [0u8; BLOCK_BYTES];
        encode_block(&t, [0, 0], &mut out);
        assert_eq!(out[0], store(81 + 2 * 27 + 9 + 3 + 1));
        assert_eq!(out[51], store(81 + 27 + 9));
        let mut back = [9i8; BLOCK];
        decode_block(&out, &mut back);
        assert_eq!(back, t);
    }
}
