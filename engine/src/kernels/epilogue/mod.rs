//! The epilogue every matmul ends with: exact integer (or f64) dots turned
//! into f32 outputs by one scale factor.
//!
//! ```text
//! tensor scale:  out[i] = f32( f64(dots[i] - offset) * factor )
//! block scales:  out[i] = f32( sums[i] * factor )
//! ```
//!
//! The product is one f64 multiply and one rounding to f32 per value, so
//! every path gives the same bits: the AVX2 path converts 4 values per
//! instruction with the same IEEE operations. A `k`-split GEMV runs this
//! once, on one thread, after both threads' parts, so it is on the
//! critical path: 640 values took 128-159 ns as the scalar loop, 91-117
//! with AVX2 (Zen 4 dev VM, best of 200 x 100 calls, two runs each).
//! AVX-512 (8 lanes, masked or not) took 105-140: Zen 4 splits 512-bit
//! converts in two, and this is all converts, so that level runs the AVX2
//! code. (Those timings came from a throwaway loop; whole GEMVs and GEMMs
//! did not move beyond this host's noise in `kernel_probe`.)
//!
//! One file per ISA.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod scalar;

use crate::cpu::SimdLevel;

/// `out[i] = ((dots[i] - offset) as f64 * factor) as f32` at `level` (the
/// subtraction wraps, as in every path). Panics if the lengths differ.
pub(crate) fn scale_i32(level: SimdLevel, dots: &[i32], offset: i32, factor: f64, out: &mut [f32]) {
    assert_eq!(
        dots.len(),
        out.len(),
        "epilogue: dots and outputs differ in length"
    );
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 | SimdLevel::Avx512 => {
            assert!(level.is_supported());
            // SAFETY: the CPU supports AVX2 (either level implies it,
            // checked above); the lengths match (asserted above).
            unsafe { avx2::scale_i32(dots, offset, factor, out) }
        }
        _ => scalar::scale_i32(dots, offset, factor, out),
    }
}

/// `out[i] = (sums[i] * factor) as f32` at `level`. Panics if the lengths
/// differ.
pub(crate) fn scale_f64(level: SimdLevel, sums: &[f64], factor: f64, out: &mut [f32]) {
    assert_eq!(
        sums.len(),
        out.len(),
        "epilogue: sums and outputs differ in length"
    );
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 | SimdLevel::Avx512 => {
            assert!(level.is_supported());
            // SAFETY: as in `scale_i32`.
            unsafe { avx2::scale_f64(sums, factor, out) }
        }
        _ => scalar::scale_f64(sums, factor, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|f| f.to_bits()).collect()
    }

    #[test]
    fn every_level_matches_scalar_bit_for_bit() {
        let mut rng = StdRng::seed_from_u64(7);
        // Lengths around both vector widths, so every tail is exercised.
        for n in [0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 640, 1001] {
            let mut dots: Vec<i32> = (0..n).map(|_| rng.gen_range(-(1 << 24)..1 << 24)).collect();
            if n > 2 {
                // The wrapping edge: every path subtracts modulo 2^32.
                dots[0] = i32::MIN;
                dots[1] = i32::MAX;
            }
            let sums: Vec<f64> = (0..n).map(|_| rng.gen_range(-1e9..1e9)).collect();
            let offset = rng.gen_range(-1000..1000);
            for factor in [
                rng.gen_range(1e-6..1e-2),
                -3.25e-3,
                0.0,
                f64::INFINITY,
                f64::NAN,
                1e300,
            ] {
                let mut want = vec![0f32; n];
                scalar::scale_i32(&dots, offset, factor, &mut want);
                let mut want_f = vec![0f32; n];
                scalar::scale_f64(&sums, factor, &mut want_f);
                for level in SimdLevel::supported() {
                    let mut got = vec![f32::NAN; n];
                    scale_i32(level, &dots, offset, factor, &mut got);
                    assert_eq!(bits(&got), bits(&want), "{level} i32 n={n} factor={factor}");
                    let mut got_f = vec![f32::NAN; n];
                    scale_f64(level, &sums, factor, &mut got_f);
                    assert_eq!(
                        bits(&got_f),
                        bits(&want_f),
                        "{level} f64 n={n} factor={factor}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_definition_rounds_once_from_f64() {
        // 16777217 = 2^24 + 1 is not an f32: an f32 product would round the
        // dot first; the f64 product rounds only the result.
        let mut out = [0f32; 2];
        scalar::scale_i32(&[16_777_217, 5], 0, 3.0, &mut out);
        assert_eq!(out, [(16_777_217f64 * 3.0) as f32, 15.0]);
        assert_ne!(out[0], 16_777_217f32 * 3.0);
        scalar::scale_i32(&[10], 4, 0.5, &mut out[..1]);
        assert_eq!(out[0], 3.0);
    }

    #[test]
    #[should_panic(expected = "differ in length")]
    fn mismatched_lengths_are_refused() {
        scale_i32(SimdLevel::Scalar, &[1, 2], 0, 1.0, &mut [0.0]);
    }
}
