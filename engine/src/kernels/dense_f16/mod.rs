//! F16 x f32 GEMV for the output head: BitNet files keep the (tied) token
//! embedding in F16, and computing the logits reads all of it once per token
//! (656 MB for 2B4T, more than all ternary projections together). Widening
//! a block of rows to f32 first doubles the traffic; these kernels convert
//! in registers (`vcvtph2ps`) and multiply-add straight away.
//!
//! Every level computes the same sums in the same order, so results are
//! bit-identical across levels:
//!
//! ```text
//! lane j (0..16) accumulates k = j, j+16, j+32, ... < body   with FMA
//! body = cols rounded down to 16; tail = k in body..cols, FMA in order
//! result = ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)) + ... (pairwise, fixed) + tail
//! ```

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

use super::KernelError;
use crate::cpu::SimdLevel;
use half::f16;

const KERNEL: &str = "gemv_f16";
pub(crate) const LANES: usize = 16;

/// `out = W x` for `W` row-major `rows x cols` in F16, on the calling thread,
/// at [`SimdLevel::active`]. Callers parallelise over row ranges.
pub fn gemv_f16(w: &[f16], cols: usize, x: &[f32], out: &mut [f32]) -> Result<(), KernelError> {
    gemv_f16_with(SimdLevel::active(), w, cols, x, out)
}

/// [`gemv_f16`] at an explicit level.
pub fn gemv_f16_with(
    level: SimdLevel,
    w: &[f16],
    cols: usize,
    x: &[f32],
    out: &mut [f32],
) -> Result<(), KernelError> {
    if !level.is_supported() {
        return Err(KernelError::UnsupportedLevel {
            kernel: KERNEL,
            level,
        });
    }
    if cols == 0 || x.len() != cols || out.len().checked_mul(cols) != Some(w.len()) {
        return Err(KernelError::shape(
            KERNEL,
            format!(
                "{} weights, {} inputs and {} outputs do not form a rows x {cols} product",
                w.len(),
                x.len(),
                out.len()
            ),
        ));
    }
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512 F support checked above; shapes checked above.
        SimdLevel::Avx512 => unsafe { avx512::gemv(w, cols, x, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 + FMA + F16C support checked above; shapes checked above.
        SimdLevel::Avx2 => unsafe { avx2::gemv(w, cols, x, out) },
        _ => scalar(w, cols, x, out),
    }
    Ok(())
}

/// The fixed pairwise sum of the 16 lanes, then the tail.
#[inline(always)]
pub(crate) fn finish(lanes: &[f32; LANES], tail: f32) -> f32 {
    let mut v = *lanes;
    let mut n = LANES;
    while n > 1 {
        for i in 0..n / 2 {
            v[i] = v[2 * i] + v[2 * i + 1];
        }
        n /= 2;
    }
    v[0] + tail
}

/// The columns past the last full 16, in order, with FMA.
#[inline(always)]
pub(crate) fn tail(w: &[f16], x: &[f32], body: usize) -> f32 {
    w[body..]
        .iter()
        .zip(&x[body..])
        .fold(0f32, |acc, (w, &x)| w.to_f32().mul_add(x, acc))
}

fn scalar(w: &[f16], cols: usize, x: &[f32], out: &mut [f32]) {
    let body = cols / LANES * LANES;
    for (o, row) in out.iter_mut().zip(w.chunks_exact(cols)) {
        let mut lanes = [0f32; LANES];
        for (wc, xc) in row[..body].chunks_exact(LANES).zip(x.chunks_exact(LANES)) {
            for j in 0..LANES {
                lanes[j] = wc[j].to_f32().mul_add(xc[j], lanes[j]);
            }
        }
        *o = finish(&lanes, tail(row, x, body));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_is_bit_identical_to_scalar_and_close_to_f64() {
        for (rows, cols) in [(1, 16), (7, 77), (9, 2560), (5, 3)] {
            let w: Vec<f16> = (0..rows * cols)
                .map(|i| f16::from_f32(((i * 7919) % 23) as f32 * 0.125 - 1.4))
                .collect();
            let x: Vec<f32> = (0..cols)
                .map(|i| ((i * 31) % 17) as f32 * 0.3 - 2.5)
                .collect();
            let mut want = vec![0f32; rows];
            gemv_f16_with(SimdLevel::Scalar, &w, cols, &x, &mut want).unwrap();
            for r in 0..rows {
                let exact: f64 = (0..cols)
                    .map(|c| w[r * cols + c].to_f64() * x[c] as f64)
                    .sum();
                assert!((want[r] as f64 - exact).abs() <= 1e-4 * exact.abs().max(1.0));
            }
            for level in SimdLevel::supported() {
                let mut got = vec![0f32; rows];
                gemv_f16_with(level, &w, cols, &x, &mut got).unwrap();
                let same = got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{level} {rows}x{cols}: {got:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn rejects_bad_shapes() {
        let w = vec![f16::ZERO; 32];
        let mut out = vec![0f32; 3];
        assert!(gemv_f16(&w, 16, &[0.0; 16], &mut out).is_err());
        let mut out = vec![0f32; 2];
        assert!(gemv_f16(&w, 16, &[0.0; 15], &mut out).is_err());
        assert!(gemv_f16(&w, 16, &[0.0; 16], &mut out).is_ok());
    }
}
