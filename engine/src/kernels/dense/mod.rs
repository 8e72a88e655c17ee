//! Dense f32 GEMV: the uncompressed reference point of the benchmarks
//! ("how much faster is a ternary GEMV than the f32 one of the same shape").
//! Results are close, not bit-identical, across levels (FMA and summation
//! order differ); the ternary kernels are the exact ones.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

use super::parallel::for_row_ranges;
use super::{KernelError, Parallelism};
use crate::cpu::SimdLevel;

const KERNEL: &str = "gemv_f32";

/// `out = W x` with `W` row-major `rows x cols`, at the active SIMD level.
pub fn gemv_f32(
    w: &[f32],
    rows: usize,
    cols: usize,
    x: &[f32],
    out: &mut [f32],
    par: Parallelism,
) -> Result<(), KernelError> {
    gemv_f32_with(SimdLevel::active(), w, rows, cols, x, out, par)
}

struct SharedOut(*mut f32);
// SAFETY: each thread writes only the rows of its own range.
unsafe impl Sync for SharedOut {}

/// [`gemv_f32`] at an explicit SIMD level.
pub fn gemv_f32_with(
    level: SimdLevel,
    w: &[f32],
    rows: usize,
    cols: usize,
    x: &[f32],
    out: &mut [f32],
    par: Parallelism,
) -> Result<(), KernelError> {
    if !level.is_supported() {
        return Err(KernelError::UnsupportedLevel {
            kernel: KERNEL,
            level,
        });
    }
    if rows == 0 || cols == 0 || rows.checked_mul(cols) != Some(w.len()) {
        return Err(KernelError::shape(
            KERNEL,
            format!("{} weights for a {rows} x {cols} matrix", w.len()),
        ));
    }
    if x.len() != cols || out.len() != rows {
        return Err(KernelError::shape(
            KERNEL,
            format!(
                "x has {} values (expected {cols}), out {} (expected {rows})",
                x.len(),
                out.len()
            ),
        ));
    }
    let shared = SharedOut(out.as_mut_ptr());
    let shared = &shared;
    for_row_ranges(par, rows, 4, 1, |r0, r1| {
        // SAFETY: rows r0..r1 are this thread's alone and lie inside `out`.
        let o = unsafe { std::slice::from_raw_parts_mut(shared.0.add(r0), r1 - r0) };
        let wr = &w[r0 * cols..r1 * cols];
        match level {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX-512 F support checked above; slice shapes match.
            SimdLevel::Avx512 => unsafe { avx512::gemv(wr, cols, x, o) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX2 + FMA support checked above; slice shapes match.
            SimdLevel::Avx2 => unsafe { avx2::gemv(wr, cols, x, o) },
            _ => scalar(wr, cols, x, o),
        }
    })
}

fn scalar(w: &[f32], cols: usize, x: &[f32], out: &mut [f32]) {
    for (o, row) in out.iter_mut().zip(w.chunks_exact(cols)) {
        *o = row.iter().zip(x).map(|(a, b)| a * b).sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_levels_match_f64_reference() {
        let (rows, cols) = (13, 77);
        let w: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919) % 23) as f32 - 11.0)
            .collect();
        let x: Vec<f32> = (0..cols)
            .map(|i| ((i * 31) % 17) as f32 * 0.25 - 2.0)
            .collect();
        for level in SimdLevel::supported() {
            for threads in [1, 2] {
                let mut out = vec![0.0; rows];
                gemv_f32_with(
                    level,
                    &w,
                    rows,
                    cols,
                    &x,
                    &mut out,
                    Parallelism::threads(threads),
                )
                .unwrap();
                for r in 0..rows {
                    let exact: f64 = (0..cols)
                        .map(|c| w[r * cols + c] as f64 * x[c] as f64)
                        .sum();
                    assert!((out[r] as f64 - exact).abs() <= 1e-5 * exact.abs().max(1.0));
                }
            }
        }
        let mut out = vec![0.0; 2];
        assert!(gemv_f32(&w, rows, cols, &x, &mut out, Parallelism::single()).is_err());
    }
}
