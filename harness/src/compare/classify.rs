//! Classification of one comparison.
//!
//! Bands scale with the benchmark's threshold `T` (5% by default, giving the
//! familiar 5/10/15% bands):
//!
//! ```text
//!  significant (corrected p < alpha):
//!    delta <= -T        improved
//!    |delta| < T        acceptable
//!    T   <= delta < 2T  minor      ┐
//!    2T  <= delta < 3T  major      ├ fail the gate
//!    3T  <= delta       critical   ┘
//!  not significant:
//!    CI upper <  T      acceptable   (the 95% interval rules out a T slowdown)
//!    MDE      <= T      acceptable   (a T slowdown would have been seen)
//!    otherwise          inconclusive (could not have seen a T slowdown)
//! ```
//!
//! The MDE is a property of the test (its power at the corrected alpha), the
//! interval one of this observation: a quiet benchmark compared across 300
//! others can have an MDE above T and still an interval that excludes T, and
//! calling it inconclusive would bury the few that really are.
//!
//! so a class of minor or worse is exactly "significant slowdown above its
//! threshold", the gate's failure condition.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Critical,
    Major,
    Minor,
    Inconclusive,
    Acceptable,
    Improved,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Critical => "critical",
            Class::Major => "major",
            Class::Minor => "minor",
            Class::Inconclusive => "inconclusive",
            Class::Acceptable => "acceptable",
            Class::Improved => "improved",
        }
    }

    /// Whether this class is a slowdown that fails the gate.
    pub fn is_regression(self) -> bool {
        matches!(self, Class::Critical | Class::Major | Class::Minor)
    }

    pub const ALL: [Class; 6] = [
        Class::Critical,
        Class::Major,
        Class::Minor,
        Class::Inconclusive,
        Class::Acceptable,
        Class::Improved,
    ];
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `delta_pct`: current vs baseline mean, percent (positive = slower).
/// `ci_upper_pct`: upper end of its 95% confidence interval, percent.
/// `mde_pct`: minimum detectable effect of this comparison, percent.
pub fn classify(
    delta_pct: f64,
    ci_upper_pct: f64,
    significant: bool,
    mde_pct: f64,
    threshold_pct: f64,
) -> Class {
    let t = threshold_pct;
    if significant {
        if delta_pct <= -t {
            Class::Improved
        } else if delta_pct < t {
            Class::Acceptable
        } else if delta_pct < 2.0 * t {
            Class::Minor
        } else if delta_pct < 3.0 * t {
            Class::Major
        } else {
            Class::Critical
        }
    } else if ci_upper_pct < t || mde_pct <= t {
        Class::Acceptable
    } else {
        Class::Inconclusive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_bands() {
        let c = |d| classify(d, d + 1.0, true, 1.0, 5.0);
        assert_eq!(c(-12.0), Class::Improved);
        assert_eq!(c(-5.0), Class::Improved);
        assert_eq!(c(-4.9), Class::Acceptable);
        assert_eq!(c(4.99), Class::Acceptable);
        assert_eq!(c(5.0), Class::Minor);
        assert_eq!(c(9.99), Class::Minor);
        assert_eq!(c(12.0), Class::Major);
        assert_eq!(c(15.0), Class::Critical);
        assert!(c(5.0).is_regression() && !c(4.0).is_regression());
    }

    #[test]
    fn not_significant_depends_on_interval_and_power() {
        assert_eq!(classify(12.0, 30.0, false, 20.0, 5.0), Class::Inconclusive);
        assert_eq!(classify(0.5, 6.0, false, 2.0, 5.0), Class::Acceptable);
        assert_eq!(
            classify(0.5, 6.0, false, f64::NAN, 5.0),
            Class::Inconclusive
        );
        // Underpowered at the corrected alpha, but the interval excludes T.
        assert_eq!(classify(0.0, 2.9, false, 7.4, 5.0), Class::Acceptable);
        assert_eq!(classify(0.0, 5.0, false, 7.4, 5.0), Class::Inconclusive);
        assert_eq!(
            classify(1.0, f64::NAN, false, 7.4, 5.0),
            Class::Inconclusive
        );
    }

    #[test]
    fn bands_scale_with_threshold() {
        assert_eq!(classify(8.0, 9.0, true, 1.0, 10.0), Class::Acceptable);
        assert_eq!(classify(25.0, 26.0, true, 1.0, 10.0), Class::Major);
    }
}
