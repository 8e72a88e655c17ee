//! AVX2 epilogue: 4 values per convert and multiply (f64 lanes), the tail
//! by the scalar definition.

use std::arch::x86_64::*;

/// # Safety
/// The CPU must support AVX2, and `out` must be as long as `dots`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn scale_i32(dots: &[i32], offset: i32, factor: f64, out: &mut [f32]) {
    let (n, f, off) = (dots.len(), _mm256_set1_pd(factor), _mm_set1_epi32(offset));
    let whole = n / 4 * 4;
    let (src, dst) = (dots.as_ptr(), out.as_mut_ptr());
    for i in (0..whole).step_by(4) {
        // SAFETY: i + 4 <= whole <= both lengths.
        unsafe {
            let d = _mm_loadu_si128(src.add(i) as *const __m128i);
            let v = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm_sub_epi32(d, off)), f);
            _mm_storeu_ps(dst.add(i), _mm256_cvtpd_ps(v));
        }
    }
    super::scalar::scale_i32(&dots[whole..], offset, factor, &mut out[whole..]);
}

/// # Safety
/// The CPU must support AVX2, and `out` must be as long as `sums`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn scale_f64(sums: &[f64], factor: f64, out: &mut [f32]) {
    let (n, f) = (sums.len(), _mm256_set1_pd(factor));
    let whole = n / 4 * 4;
    let (src, dst) = (sums.as_ptr(), out.as_mut_ptr());
    for i in (0..whole).step_by(4) {
        // SAFETY: i + 4 <= whole <= both lengths.
        unsafe {
            let v = _mm256_mul_pd(_mm256_loadu_pd(src.add(i)), f);
            _mm_storeu_ps(dst.add(i), _mm256_cvtpd_ps(v));
        }
    }
    super::scalar::scale_f64(&sums[whole..], factor, &mut out[whole..]);
}
