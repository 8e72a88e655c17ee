//! The ternary code conventions every format shares.
//!
//! A weight's ternary value `t ∈ {-1, 0, +1}` is stored as the unsigned code
//! `c = t + 1 ∈ {0, 1, 2}` (I2S and TQ2_0 put `c` in two bits, TQ1_0 uses it
//! as a base-3 digit, TL1/TL2 combine several `c` into one table index).
//! Code 3 does not exist; unpacking it is an error, not a silent `+2`.

use super::QuantError;

/// Two-bit code of `t` (`-1 -> 0`, `0 -> 1`, `+1 -> 2`).
#[inline(always)]
pub fn code(t: i8) -> u8 {
    (t + 1) as u8
}

/// Ternary value of a code in `0..=2`.
#[inline(always)]
pub fn ternary(code: u8) -> i8 {
    code as i8 - 1
}

/// Absmean ternarization against `half = gamma / 2`: `+1` when `w >= half`,
/// `-1` when `w <= -half`, else `0`.
///
/// This is `clamp(round(w / gamma), -1, 1)` with round-half-away-from-zero
/// evaluated on the exact quotient: `half` is exact (a power-of-two scaling)
/// so the comparison has no rounding error, which is what lets every SIMD
/// path agree with it bit for bit.
#[inline(always)]
pub fn ternarize(w: f32, half: f32) -> i8 {
    if w >= half {
        1
    } else if w <= -half {
        -1
    } else {
        0
    }
}

/// The three dequantized values `t x scale` indexed by code `t + 1`.
///
/// Every path multiplies the same way (`0.0 * scale`, which is
/// `-0.0` for a negative scale) so their outputs agree bit for bit.
#[inline(always)]
pub fn value_table(scale: f32) -> [f32; 3] {
    [-scale, 0.0 * scale, scale]
}

/// Checks caller-supplied codes before packing: each must be -1, 0 or 1.
pub fn check_codes(format: &'static str, codes: &[i8]) -> Result<(), QuantError> {
    match codes.iter().position(|&c| !(-1..=1).contains(&c)) {
        None => Ok(()),
        Some(index) => Err(QuantError::BadCode {
            format,
            index,
            code: codes[index],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ternarize_rounds_half_away_and_clamps() {
        let half = 0.5;
        assert_eq!(ternarize(0.5, half), 1);
        assert_eq!(ternarize(0.499_999_97, half), 0);
        assert_eq!(ternarize(-0.5, half), -1);
        assert_eq!(ternarize(-0.0, half), 0);
        assert_eq!(ternarize(7.0, half), 1);
        assert_eq!(ternarize(-7.0, half), -1);
        for t in -1..=1 {
            assert_eq!(ternary(code(t)), t);
        }
    }

    #[test]
    fn check_codes_reports_first_bad() {
        assert!(check_codes("i2s", &[1, 0, -1]).is_ok());
        assert_eq!(
            check_codes("i2s", &[1, 2, -2]),
            Err(QuantError::BadCode {
                format: "i2s",
                index: 1,
                code: 2
            })
        );
    }
}
