//! The per-tensor scale gamma of I2S, TL1 and TL2: absmean with recognition
//! of already-ternary tensors, and the 32-byte trailer that stores it.
//!
//! Trailer (bitnet.cpp's I2_S), right after the packed codes:
//!
//! ```text
//! byte  0..4   gamma, f32 little-endian
//! byte  4..32  zero padding
//! ```
//!
//! gamma is `mean(|w|)` clamped to at least [`MIN_GAMMA`], except when every
//! non-zero `|w|` is the same value `g`: then the tensor already is
//! `codes x g` (bitnet.cpp's converter writes its weights that way) and gamma
//! is `g` exactly, so the round trip is lossless. A naive absmean would give
//! `g x (fraction of non-zeros)` and turn small weights into zeros.
//!
//! The mean is summed in f64 over [`LANES`] lanes (element `i` goes to lane
//! `i % LANES`), then the lanes are folded pairwise (`l[i] += l[i + 8]`, then
//! `+4`, `+2`, `+1`). Fixing the order is what lets the AVX2 and AVX-512
//! paths produce the same bits as this reference.

use super::QuantError;

/// Lower bound of gamma for non-ternary input (bitnet.cpp's `clamp(min=1e-5)`).
pub const MIN_GAMMA: f32 = 1e-5;

/// Accumulator lanes of the absmean sum.
pub const LANES: usize = 16;

/// Everything the first quantization pass learns about a tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbsStats {
    /// Sum of `|w|` in the fixed lane order described in the module doc.
    pub sum: f64,
    pub max_abs: f32,
    /// Smallest non-zero `|w|`, `+inf` when all are zero.
    pub min_nonzero: f32,
    /// False when some value is NaN or infinite.
    pub all_finite: bool,
}

/// Pairwise fold of the lane sums, in the documented order.
#[inline(always)]
pub fn fold_lanes(mut l: [f64; LANES]) -> f64 {
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            l[i] += l[i + width];
        }
        width /= 2;
    }
    l[0]
}

/// Scalar reference of the first pass.
pub fn abs_stats(src: &[f32]) -> AbsStats {
    let mut lanes = [0f64; LANES];
    let mut max_abs = 0f32;
    let mut min_nonzero = f32::INFINITY;
    let mut all_finite = true;
    for (i, &w) in src.iter().enumerate() {
        let a = w.abs();
        lanes[i % LANES] += a as f64;
        all_finite &= a <= f32::MAX;
        max_abs = max_abs.max(a);
        if a != 0.0 {
            min_nonzero = min_nonzero.min(a);
        }
    }
    AbsStats {
        sum: fold_lanes(lanes),
        max_abs,
        min_nonzero,
        all_finite,
    }
}

/// gamma from the first pass, or the first non-finite value as an error.
pub fn gamma(format: &'static str, src: &[f32], stats: &AbsStats) -> Result<f32, QuantError> {
    if !stats.all_finite {
        return Err(first_non_finite(format, src));
    }
    if stats.max_abs > 0.0 && stats.min_nonzero == stats.max_abs {
        return Ok(stats.max_abs);
    }
    let mean = (stats.sum / src.len() as f64) as f32;
    Ok(mean.max(MIN_GAMMA))
}

/// The error naming the first NaN/inf of `src` (the slow path of a failed check).
pub fn first_non_finite(format: &'static str, src: &[f32]) -> QuantError {
    let index = src.iter().position(|w| !w.is_finite()).unwrap_or(0);
    QuantError::NonFinite {
        format,
        index,
        value: src.get(index).copied().unwrap_or(f32::NAN),
    }
}

/// Writes the trailer (`trailer.len()` must be the trailer size).
pub fn write_trailer(trailer: &mut [u8], gamma: f32) {
    trailer.fill(0);
    trailer[..4].copy_from_slice(&gamma.to_le_bytes());
}

/// Reads gamma from a trailer; a non-finite gamma is corrupt data.
pub fn read_trailer(format: &'static str, trailer: &[u8]) -> Result<f32, QuantError> {
    let gamma = f32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    if gamma.is_finite() {
        Ok(gamma)
    } else {
        Err(QuantError::Corrupt {
            format,
            reason: format!("tensor scale is {gamma}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ternary_input_keeps_its_scale() {
        let g = 0.037_f32;
        let src: Vec<f32> = (0..64).map(|i| [g, 0.0, -g, 0.0][i % 4]).collect();
        let s = abs_stats(&src);
        assert_eq!(gamma("i2s", &src, &s).unwrap(), g);
    }

    #[test]
    fn general_input_uses_absmean_and_floor() {
        let src: Vec<f32> = (0..32)
            .map(|i| if i % 2 == 0 { 1.0 } else { -3.0 })
            .collect();
        let s = abs_stats(&src);
        assert_eq!(gamma("i2s", &src, &s).unwrap(), 2.0);
        let zeros = vec![0.0f32; 32];
        assert_eq!(gamma("i2s", &zeros, &abs_stats(&zeros)).unwrap(), MIN_GAMMA);
    }

    #[test]
    fn non_finite_is_reported_with_index() {
        let mut src = vec![1.0f32; 32];
        src[7] = f32::NEG_INFINITY;
        let s = abs_stats(&src);
        assert!(!s.all_finite);
        assert!(matches!(
            gamma("tl1", &src, &s),
            Err(QuantError::NonFinite { index: 7, .. })
        ));
        src[7] = f32::NAN;
        assert!(!abs_stats(&src).all_finite);
    }

    #[test]
    fn trailer_round_trips_and_rejects_nan() {
        let mut t = [0xAAu8; 32];
        write_trailer(&mut t, 1.5);
        assert_eq!(read_trailer("i2s", &t).unwrap(), 1.5);
        assert!(t[4..].iter().all(|&b| b == 0));
        write_trailer(&mut t, f32::NAN);
        assert!(read_trailer("i2s", &t).is_err());
    }
}
