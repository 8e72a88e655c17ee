//! Mean, variance and size of one sample.

use serde::{Deserialize, Serialize};

/// Sufficient statistics of a sample for Welch's test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Unbiased sample variance (divides by `n - 1`).
    pub variance: f64,
}

impl Summary {
    /// `None` for fewer than two observations or any non-finite value: a
    /// variance cannot be estimated, so no test can be run.
    pub fn of(xs: &[f64]) -> Option<Summary> {
        if xs.len() < 2 || xs.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let n = xs.len();
        let mean = xs.iter().sum::<f64>() / n as f64;
        // Two-pass with the compensation term keeps precision when the spread
        // is tiny compared with the mean (nanosecond timings around 1e6).
        let (ss, comp) = xs.iter().fold((0.0, 0.0), |(ss, c), x| {
            let d = x - mean;
            (ss + d * d, c + d)
        });
        let variance = ((ss - comp * comp / n as f64) / (n - 1) as f64).max(0.0);
        Some(Summary { n, mean, variance })
    }

    pub fn sd(&self) -> f64 {
        self.variance.sqrt()
    }

    /// Squared standard error of the mean.
    pub fn var_of_mean(&self) -> f64 {
        self.variance / self.n as f64
    }

    /// Coefficient of variation (sd / mean), 0 for a zero mean.
    pub fn cv(&self) -> f64 {
        if self.mean == 0.0 {
            0.0
        } else {
            self.sd() / self.mean.abs()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // R: mean(c(2,4,4,4,5,5,7,9)) = 5, var(...) = 4.571429
        let s = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.n, 8);
        assert!((s.mean - 5.0).abs() < 1e-12);
        assert!((s.variance - 32.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn precise_with_large_offset() {
        let xs: Vec<f64> = (0..100).map(|i| 1.0e9 + (i % 2) as f64).collect();
        let s = Summary::of(&xs).unwrap();
        // 50 zeros and 50 ones around 1e9: variance = 0.25 * 100 / 99.
        assert!((s.variance - 25.0 / 99.0).abs() < 1e-9, "{}", s.variance);
    }

    #[test]
    fn rejects_degenerate_input() {
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[1.0]).is_none());
        assert!(Summary::of(&[1.0, f64::NAN]).is_none());
    }
}
