//! What TQ1_0 and TQ2_0 share: ggml's absmax ternarization of a 256-block
//! and the f16 block scale.
//!
//! For a block `x`: `d = max |x|`, `id = 1 / d` (0 when `d = 0`), code
//! `t = round(x * id)` rounding half away from zero (`roundf`, which is what
//! gguf-py's `np_roundf` computes), both products in f32. `d` is stored as
//! f16 (round to nearest even), so dequantized values are `t * f16(d)`.
//! For a subnormal `d` so small that `1 / d` is infinite, `0 * inf` is NaN and
//! ggml's result is unspecified; here a NaN product gives code 0.

use half::f16;

/// Weights per block (ggml `QK_K`).
pub const BLOCK: usize = 256;

/// `(d, id)` of a block; `d` is `max |x|` in f32.
#[inline(always)]
pub fn block_scale(x: &[f32]) -> (f32, f32) {
    let d = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    (d, inverse(d))
}

/// `1 / d`, or 0 for `d == 0`.
#[inline(always)]
pub fn inverse(d: f32) -> f32 {
    if d == 0.0 {
        0.0
    } else {
        1.0 / d
    }
}

/// ggml's ternary code of `x` given the block's `id`.
#[inline(always)]
pub fn ternarize(x: f32, id: f32) -> i8 {
    let p = x * id;
    if p >= 0.5 {
        1
    } else if p <= -0.5 {
        -1
    } else {
        0
    }
}

/// Little-endian f16 bytes of `d`.
#[inline(always)]
pub fn scale_bytes(d: f32) -> [u8; 2] {
    f16::from_f32(d).to_le_bytes()
}

/// f32 value of stored f16 bytes.
#[inline(always)]
pub fn scale_value(b: [u8; 2]) -> f32 {
    f16::from_le_bytes(b).to_f32()
}
