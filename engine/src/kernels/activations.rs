//! Per-token absmax quantization of activations to int8 (the "A8" of W1.58A8).
//!
//! For each token (row of `x`, `k` values): `s = 127 / max|x|` (s = 1 when the
//! row is all zeros), `xq = clamp(round(x * s), -128, 127)` with `round`
//! rounding half away from zero. The kernels then compute exact integer dots
//! `sum(code * xq)` and multiply by `weight_scale / s` at the very end.
//!
//! Memory layout, chosen for the weight layout of [`super::TernaryMatrix`]:
//!
//! ```text
//! values: token 0: xq[0..k] 0 0 .. 0 | token 1: xq[0..k] 0 .. 0 | ...
//!                  <------ padded = ceil(k / 256) * 256 ------>
//! chunk_sums[t * chunks + c] = sum(xq[t][256c .. 256c + 256])
//! sums[t]                    = sum(xq[t][..])
//! ```
//!
//! The zero padding lets every kernel walk whole 256-weight chunks with no
//! tail code. The sums exist because the kernels multiply by offset codes
//! `code + 1` in {0, 1, 2} (unsigned, as `vpdpbusd`/`pmaddubsw` want):
//! `sum(code * xq) = sum((code + 1) * xq) - sum(xq)`: per row for formats
//! with one scale per tensor, per chunk for formats with one scale per
//! 256-weight block (TQ2_0).

use super::aligned::Aligned;
use super::KernelError;
use super::CHUNK_WEIGHTS;

/// Int8 activations of `tokens` tokens of `k` values each, plus the per-token
/// scale and the integer sums the kernels need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuantizedActivations {
    tokens: usize,
    k: usize,
    padded: usize,
    values: Aligned<i8>,
    scales: Vec<f32>,
    sums: Vec<i32>,
    chunk_sums: Vec<i32>,
}

impl QuantizedActivations {
    /// An empty buffer for [`quantize_activations_into`].
    pub fn new() -> Self {
        Self::default()
    }

    pub fn tokens(&self) -> usize {
        self.tokens
    }

    /// Values per token before padding.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Values per token in [`Self::values`] (a multiple of 256).
    pub fn padded_k(&self) -> usize {
        self.padded
    }

    /// Number of 256-value chunks per token.
    pub fn chunks(&self) -> usize {
        self.padded / CHUNK_WEIGHTS
    }

    /// All tokens' int8 values, `padded_k()` per token, zero padded.
    pub fn values(&self) -> &[i8] {
        self.values.as_slice()
    }

    /// One token's int8 values (`padded_k()` long).
    pub fn token(&self, t: usize) -> &[i8] {
        &self.values.as_slice()[t * self.padded..(t + 1) * self.padded]
    }

    /// Per-token scale `s`: the real activation is `xq / s`.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// Per-token `sum(xq)`.
    pub fn sums(&self) -> &[i32] {
        &self.sums
    }

    /// Per-token, per-chunk `sum(xq)`, token-major.
    pub fn chunk_sums(&self) -> &[i32] {
        &self.chunk_sums
    }

    /// One token's per-chunk sums.
    pub fn token_chunk_sums(&self, t: usize) -> &[i32] {
        let c = self.chunks();
        &self.chunk_sums[t * c..(t + 1) * c]
    }
}

const KERNEL: &str = "quantize_activations";

/// Quantizes `tokens x k` activations (token-major) into a new buffer.
pub fn quantize_activations(
    x: &[f32],
    tokens: usize,
    k: usize,
) -> Result<QuantizedActivations, KernelError> {
    let mut q = QuantizedActivations::new();
    quantize_activations_into(x, tokens, k, &mut q)?;
    Ok(q)
}

/// Like [`quantize_activations`] but reuses `dst`'s buffers, so a decode loop
/// with a fixed shape allocates nothing after the first call.
pub fn quantize_activations_into(
    x: &[f32],
    tokens: usize,
    k: usize,
    dst: &mut QuantizedActivations,
) -> Result<(), KernelError> {
    if tokens == 0 || k == 0 {
        return Err(KernelError::shape(
            KERNEL,
            format!("need at least one token and one value (got {tokens} x {k})"),
        ));
    }
    let numel = tokens
        .checked_mul(k)
        .ok_or_else(|| KernelError::shape(KERNEL, format!("{tokens} x {k} overflows usize")))?;
    if x.len() != numel {
        return Err(KernelError::shape(
            KERNEL,
            format!(
                "input has {} values, expected tokens x k = {tokens} x {k} = {numel}",
                x.len()
            ),
        ));
    }
    if let Some((index, &value)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(KernelError::NonFinite {
            kernel: KERNEL,
            index,
            value,
        });
    }
    let padded = k.div_ceil(CHUNK_WEIGHTS) * CHUNK_WEIGHTS;
    let chunks = padded / CHUNK_WEIGHTS;
    dst.tokens = tokens;
    dst.k = k;
    dst.padded = padded;
    dst.values.resize_zeroed(tokens * padded);
    dst.scales.clear();
    dst.sums.clear();
    dst.chunk_sums.clear();
    dst.chunk_sums.resize(tokens * chunks, 0);
    for (t, row) in x.chunks_exact(k).enumerate() {
        let out = &mut dst.values.as_mut_slice()[t * padded..t * padded + k];
        let s = quantize_row(row, out);
        dst.scales.push(s);
        let sums = &mut dst.chunk_sums[t * chunks..(t + 1) * chunks];
        let padded_row = &dst.values.as_slice()[t * padded..(t + 1) * padded];
        for (sum, vals) in sums.iter_mut().zip(padded_row.chunks_exact(CHUNK_WEIGHTS)) {
            *sum = vals.iter().map(|&v| v as i32).sum();
        }
        dst.sums.push(sums.iter().sum());
    }
    Ok(())
}

/// Quantizes one token; returns its scale. Written so that the compiler
/// vectorizes both passes (max of |x|; multiply, round, clamp).
fn quantize_row(row: &[f32], out: &mut [i8]) -> f32 {
    let absmax = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let s = if absmax > 0.0 { 127.0 / absmax } else { 1.0 };
    for (o, &v) in out.iter_mut().zip(row) {
        *o = round_half_away(v * s).clamp(-128.0, 127.0) as i8;
    }
    s
}

/// `f32::round` (half away from zero) in a form that vectorizes: adding the
/// largest float below 0.5 before truncating cannot round up a value whose
/// fraction is below one half, for the magnitudes seen here (|v| <= 128).
#[inline(always)]
fn round_half_away(v: f32) -> f32 {
    const JUST_BELOW_HALF: f32 = 0.499_999_97;
    (v + JUST_BELOW_HALF.copysign(v)).trunc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantizes_per_token_with_padding_and_sums() {
        let x = [1.0, -2.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, -3.0];
        let q = quantize_activations(&x, 2, 5).unwrap();
        assert_eq!(q.padded_k(), 256);
        assert_eq!(q.values().len(), 512);
        assert_eq!(&q.token(0)[..5], &[64, -127, 32, 0, 0]);
        assert!(q.token(0)[5..].iter().all(|&v| v == 0));
        assert_eq!(q.scales()[0], 127.0 / 2.0);
        assert_eq!(&q.token(1)[..5], &[0, 0, 0, 127, -127]);
        assert_eq!(q.sums(), &[64 - 127 + 32, 0]);
        assert_eq!(q.chunk_sums(), &[64 - 127 + 32, 0]);
    }

    #[test]
    fn all_zero_token_has_unit_scale() {
        let q = quantize_activations(&[0.0; 4], 1, 4).unwrap();
        assert_eq!(q.scales(), &[1.0]);
        assert!(q.values().iter().all(|&v| v == 0));
    }

    #[test]
    fn rounding_matches_f32_round_everywhere_it_is_used() {
        // Every float in [-128, 128] that lies near a half-integer boundary.
        for i in -256i32..=256 {
            let half = i as f32 * 0.5;
            let mut v = half;
            for _ in 0..4 {
                assert_eq!(round_half_away(v), v.round(), "{v}");
                v = v.next_up();
            }
            let mut v = half;
            for _ in 0..4 {
                assert_eq!(round_half_away(v), v.round(), "{v}");
                v = v.next_down();
            }
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            quantize_activations(&[1.0; 5], 2, 3),
            Err(KernelError::Shape { .. })
        ));
        assert!(matches!(
            quantize_activations(&[], 0, 3),
            Err(KernelError::Shape { .. })
        ));
        let err = quantize_activations(&[1.0, f32::NAN], 1, 2).unwrap_err();
        assert!(
            matches!(err, KernelError::NonFinite { index: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn into_variant_reuses_buffers() {
        let mut q = QuantizedActivations::new();
        quantize_activations_into(&[1.0; 600], 2, 300, &mut q).unwrap();
        let cap = q.values.capacity();
        quantize_activations_into(&[2.0; 600], 2, 300, &mut q).unwrap();
        assert_eq!(q.values.capacity(), cap);
        assert_eq!(q.chunks(), 2);
        assert_eq!(q.token_chunk_sums(1), &[256 * 127, 44 * 127]);
    }
}
