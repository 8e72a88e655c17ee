//! AVX2 f32 GEMV: 4 rows at a time, 8 lanes, FMA.

use std::arch::x86_64::*;

/// # Safety
/// AVX2 and FMA must be supported; `w.len() == out.len() * cols`, `x.len() == cols`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemv(w: &[f32], cols: usize, x: &[f32], out: &mut [f32]) {
    let rows = out.len();
    let body = cols / 8 * 8;
    let mut r = 0;
    while r < rows {
        let n = (rows - r).min(4);
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut c = 0;
        while c < body {
            // SAFETY: c + 8 <= cols and row r + i < rows.
            let xv = _mm256_loadu_ps(x.as_ptr().add(c));
            for (i, a) in acc.iter_mut().enumerate().take(n) {
                let wv = _mm256_loadu_ps(w.as_ptr().add((r + i) * cols + c));
                *a = _mm256_fmadd_ps(wv, xv, *a);
            }
            c += 8;
        }
        for (i, a) in acc.iter().enumerate().take(n) {
            let s = _mm_add_ps(_mm256_castps256_ps128(*a), _mm256_extractf128_ps::<1>(*a));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
            let tail: f32 = (body..cols).map(|c| w[(r + i) * cols + c] * x[c]).sum();
            out[r + i] = _mm_cvtss_f32(s) + tail;
        }
        r += n;
    }
}
