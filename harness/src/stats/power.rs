//! Minimum detectable difference of a two-sample comparison.
//!
//! A non-significant result only means "no evidence", not "no change". The
//! size a test could have seen tells the two apart: with standard error `se`
//! and degrees of freedom `df`, a true difference of
//!
//! ```text
//! mdd = (t(1 - alpha/2, df) + t(power, df)) * se
//! ```
//!
//! is detected with probability `power` by a two-sided test at level `alpha`.
//! When that is larger than the regression threshold, the comparison is
//! inconclusive at this sample size.

use super::welch::t_quantile;

/// Smallest true difference detected with probability `power` by a two-sided
/// test at level `alpha`, in the unit of `se`.
pub fn minimum_detectable_difference(se: f64, df: f64, alpha: f64, power: f64) -> f64 {
    (t_quantile(df, 1.0 - alpha / 2.0) + t_quantile(df, power)) * se
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_df_approaches_normal_formula() {
        // z(0.975) + z(0.80) = 1.959964 + 0.841621 = 2.801585
        let m = minimum_detectable_difference(1.0, 1e7, 0.05, 0.8);
        assert!((m - 2.801_585).abs() < 1e-4, "{m}");
    }

    #[test]
    fn small_df_is_wider() {
        // qt(0.975, 10) + qt(0.8, 10) = 2.228139 + 0.879058 (R)
        let m = minimum_detectable_difference(2.0, 10.0, 0.05, 0.8);
        assert!((m - 2.0 * (2.228_139 + 0.879_058)).abs() < 1e-4, "{m}");
    }
}
