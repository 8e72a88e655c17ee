//! AVX-512 f32 GEMV: 4 rows at a time, 16 lanes, FMA.

use std::arch::x86_64::*;

/// # Safety
/// AVX-512 F must be supported; `w.len() == out.len() * cols`, `x.len() == cols`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemv(w: &[f32], cols: usize, x: &[f32], out: &mut [f32]) {
    let rows = out.len();
    let body = cols / 16 * 16;
    let mut r = 0;
    while r < rows {
        let n = (rows - r).min(4);
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut c = 0;
        while c < body {
            // SAFETY: c + 16 <= cols and row r + i < rows.
            let xv = _mm512_loadu_ps(x.as_ptr().add(c));
            for (i, a) in acc.iter_mut().enumerate().take(n) {
                let wv = _mm512_loadu_ps(w.as_ptr().add((r + i) * cols + c));
                *a = _mm512_fmadd_ps(wv, xv, *a);
            }
            c += 16;
        }
        for (i, a) in acc.iter().enumerate().take(n) {
            let tail: f32 = (body..cols).map(|c| w[(r + i) * cols + c] * x[c]).sum();
            out[r + i] = _mm512_reduce_add_ps(*a) + tail;
        }
        r += n;
    }
}
