//! AVX2 F16 GEMV: two 8-lane accumulators per row (lanes 0..8 and 8..16 of
//! the common order), F16C conversion + FMA.

use super::{finish, tail, LANES};
use half::f16;
use std::arch::x86_64::*;

/// # Safety
/// AVX2, FMA and F16C must be supported; `w.len() == out.len() * cols`,
/// `x.len() == cols`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn gemv(w: &[f16], cols: usize, x: &[f32], out: &mut [f32]) {
    let body = cols / LANES * LANES;
    let wp = w.as_ptr() as *const u16;
    for (r, o) in out.iter_mut().enumerate() {
        let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut c = 0;
        while c < body {
            // SAFETY: c + 16 <= cols: both 8-value halves lie inside row r
            // of `w` and inside `x`.
            let p = wp.add(r * cols + c);
            let w0 = _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i));
            let w1 = _mm256_cvtph_ps(_mm_loadu_si128(p.add(8) as *const __m128i));
            lo = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x.as_ptr().add(c)), lo);
            hi = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x.as_ptr().add(c + 8)), hi);
            c += LANES;
        }
        let mut lanes = [0f32; LANES];
        // SAFETY: `lanes` holds 16 f32: two stores of 8.
        _mm256_storeu_ps(lanes.as_mut_ptr(), lo);
        _mm256_storeu_ps(lanes.as_mut_ptr().add(8), hi);
        let row = &w[r * cols..(r + 1) * cols];
        *o = finish(&lanes, tail(row, x, body));
    }
}
