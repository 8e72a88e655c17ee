//! AVX-512 F16 GEMV: 4 rows at a time, 16 lanes, `vcvtph2ps` + FMA.

use super::{finish, tail, LANES};
use half::f16;
use std::arch::x86_64::*;

/// # Safety
/// AVX-512 F must be supported; `w.len() == out.len() * cols`, `x.len() == cols`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemv(w: &[f16], cols: usize, x: &[f32], out: &mut [f32]) {
    let rows = out.len();
    let body = cols / LANES * LANES;
    let wp = w.as_ptr() as *const u16;
    let mut r = 0;
    while r < rows {
        let n = (rows - r).min(4);
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut c = 0;
        while c < body {
            // SAFETY: c + 16 <= cols, so x[c..c + 16] and each row's
            // w[(r + i) * cols + c..][..16] lie inside the slices.
            let xv = _mm512_loadu_ps(x.as_ptr().add(c));
            for (i, a) in acc.iter_mut().enumerate().take(n) {
                let h = _mm256_loadu_si256(wp.add((r + i) * cols + c) as *const __m256i);
                *a = _mm512_fmadd_ps(_mm512_cvtph_ps(h), xv, *a);
            }
            c += LANES;
        }
        for (i, a) in acc.iter().enumerate().take(n) {
            let mut lanes = [0f32; LANES];
            // SAFETY: `lanes` holds exactly 16 f32.
            _mm512_storeu_ps(lanes.as_mut_ptr(), *a);
            let row = &w[(r + i) * cols..(r + i + 1) * cols];
            out[r + i] = finish(&lanes, tail(row, x, body));
        }
        r += n;
    }
}
