//! Welch's unequal-variance t-test with Welch–Satterthwaite degrees of freedom.
//!
//! ```text
//! t  = (mean_b - mean_a) / se,   se^2 = va/na + vb/nb
//! df = se^4 / ((va/na)^2/(na-1) + (vb/nb)^2/(nb-1))
//! ```
//!
//! The p-value is two-sided and answers only: "if both samples came from
//! distributions with the same mean, how surprising is this difference given
//! the scatter *inside* these samples?". Run-to-run drift of a shared machine
//! is not in that scatter, which is why the gate also demands a minimum effect
//! size (the threshold) and why `perf-gate ab` interleaves runs.

use super::Summary;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Welch {
    /// `mean_b - mean_a`.
    pub diff: f64,
    /// Standard error of `diff`.
    pub se: f64,
    pub t: f64,
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Welch's test of `b` against `a` (positive `t` means `b` is larger).
pub fn welch(a: &Summary, b: &Summary) -> Welch {
    let va = a.var_of_mean();
    let vb = b.var_of_mean();
    let diff = b.mean - a.mean;
    let se2 = va + vb;
    let se = se2.sqrt();
    let df = if se2 > 0.0 {
        se2 * se2 / (va * va / (a.n - 1) as f64 + vb * vb / (b.n - 1) as f64)
    } else {
        // Both samples constant: no variance to weigh, fall back to the
        // pooled count so quantiles stay defined.
        (a.n + b.n - 2) as f64
    };
    let (t, p) = if se > 0.0 {
        let t = diff / se;
        (t, 2.0 * t_sf(df, t.abs()))
    } else if diff == 0.0 {
        (0.0, 1.0)
    } else {
        (diff.signum() * f64::INFINITY, 0.0)
    };
    Welch {
        diff,
        se,
        t,
        df,
        p: p.clamp(0.0, 1.0),
    }
}

impl Welch {
    /// Two-sided confidence interval for `diff` at `level` (e.g. 0.95).
    pub fn confidence_interval(&self, level: f64) -> (f64, f64) {
        let half = t_quantile(self.df, 0.5 + level / 2.0) * self.se;
        (self.diff - half, self.diff + half)
    }
}

/// Above this many degrees of freedom Student's t is replaced by the normal
/// distribution: they differ by less than 1e-5 there, and statrs' t quantile
/// loses accuracy (and eventually stops converging) for df beyond ~1e6.
const NORMAL_DF: f64 = 1e5;

/// Quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(df: f64, prob: f64) -> f64 {
    if df > NORMAL_DF {
        standard_normal().inverse_cdf(prob)
    } else {
        student(df).inverse_cdf(prob)
    }
}

/// Upper tail probability of Student's t.
pub fn t_sf(df: f64, x: f64) -> f64 {
    if df > NORMAL_DF {
        standard_normal().sf(x)
    } else {
        student(df).sf(x)
    }
}

fn standard_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("mean 0, sd 1 is valid")
}

fn student(df: f64) -> StudentsT {
    // df >= 1 always holds for n >= 2 per side; the guard keeps statrs'
    // constructor infallible for degenerate inputs.
    StudentsT::new(0.0, 1.0, df.max(1.0)).expect("location 0, scale 1, df >= 1 is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &[f64], b: &[f64], t: f64, df: f64, p: f64) {
        let w = welch(&Summary::of(a).unwrap(), &Summary::of(b).unwrap());
        assert!((w.t - t).abs() < 1e-9, "t {} vs {}", w.t, t);
        assert!((w.df - df).abs() < 1e-9, "df {} vs {}", w.df, df);
        assert!((w.p - p).abs() < 1e-9, "p {} vs {}", w.p, p);
    }

    // R's `sleep` data. R documents `t.test(extra ~ group, data = sleep)`:
    //   t = -1.8608, df = 17.776, p-value = 0.07939,
    //   95 percent confidence interval: -3.3654832  0.2054832
    // Full precision from scipy 1.17.1 `ttest_ind(a, b, equal_var=False)`:
    //   t = -1.8608134674868526, df = 17.776473516178488, p = 0.0793941401873583
    const SLEEP_1: [f64; 10] = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
    const SLEEP_2: [f64; 10] = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

    #[test]
    fn r_sleep_data() {
        // Welch's t is (mean_a - mean_b) in R/scipy; ours is b - a, so test b vs a.
        check(
            &SLEEP_2,
            &SLEEP_1,
            -1.860_813_467_486_852_6,
            17.776_473_516_178_488,
            0.079_394_140_187_358_3,
        );
        let w = welch(
            &Summary::of(&SLEEP_2).unwrap(),
            &Summary::of(&SLEEP_1).unwrap(),
        );
        let (lo, hi) = w.confidence_interval(0.95);
        assert!((lo - -3.365_483_230_711_710_4).abs() < 1e-8, "{lo}");
        assert!((hi - 0.205_483_230_711_711_37).abs() < 1e-8, "{hi}");
    }

    // Wikipedia "Welch's t-test" examples 1 and 3 (t = -2.46, df = 25.0,
    // p = 0.021; t = -1.57, df = 9.90, p = 0.149); full precision from scipy
    // 1.17.1 as above.
    #[test]
    fn wikipedia_examples() {
        let a1 = [
            27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7,
            21.4,
        ];
        let a2 = [
            27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5,
            24.4,
        ];
        check(
            &a2,
            &a1,
            -2.455_356_398_286_006,
            24.988_529_290_231_416,
            0.021_378_001_462_866_992,
        );
        let a3 = [17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8];
        let a4 = [
            21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8, 20.7, 21.7, 21.5, 22.5,
            23.6, 21.5, 22.5, 23.5, 21.5, 21.8,
        ];
        check(
            &a4,
            &a3,
            -1.565_433_523_598_503_7,
            9.904_741_248_650_831,
            0.148_841_696_605_328_17,
        );
    }

    #[test]
    fn huge_df_uses_normal_limit() {
        // qnorm(0.975) = 1.959963984540054; statrs' t gives 1.83 at df = 1e7.
        assert!((t_quantile(1e7, 0.975) - 1.959_963_984_540_054).abs() < 1e-9);
        assert!((t_quantile(1e9, 0.8) - 0.841_621_233_572_914_2).abs() < 1e-9);
        // qt(0.975, 1000) = 1.962339 (R)
        assert!((t_quantile(1000.0, 0.975) - 1.962_339).abs() < 1e-6);
        assert!((2.0 * t_sf(1e8, 1.959_963_984_540_054) - 0.05).abs() < 1e-9);
    }

    #[test]
    fn symmetric_and_degenerate() {
        let a = Summary::of(&SLEEP_1).unwrap();
        let b = Summary::of(&SLEEP_2).unwrap();
        let ab = welch(&a, &b);
        let ba = welch(&b, &a);
        assert_eq!(ab.t, -ba.t);
        assert_eq!(ab.p, ba.p);
        let c = Summary::of(&[3.0, 3.0, 3.0]).unwrap();
        assert_eq!(welch(&c, &c).p, 1.0);
        let d = Summary::of(&[4.0, 4.0]).unwrap();
        let w = welch(&c, &d);
        assert_eq!(w.p, 0.0);
        assert!(w.t.is_infinite() && w.t > 0.0);
    }
}
