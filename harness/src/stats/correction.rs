//! Multiple-comparison corrections as adjusted p-values (R's `p.adjust`).
//!
//! Comparing 90 benchmarks at p < 0.05 each raises a false alarm on most
//! runs (1 - 0.95^90 = 99%). Holm controls the family-wise error rate (the
//! chance of *any* false alarm) and is uniformly more powerful than
//! Bonferroni; Benjamini–Hochberg controls the expected share of false
//! discoveries instead, which is laxer and suits exploratory reports.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Correction {
    /// Holm's step-down method (family-wise error rate).
    #[default]
    Holm,
    /// Benjamini–Hochberg step-up method (false discovery rate).
    BenjaminiHochberg,
    /// No correction: each p-value is judged alone.
    None,
}

impl Correction {
    pub fn name(self) -> &'static str {
        match self {
            Correction::Holm => "holm",
            Correction::BenjaminiHochberg => "bh",
            Correction::None => "none",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Correction::Holm => "Holm (family-wise error rate)",
            Correction::BenjaminiHochberg => "Benjamini-Hochberg (false discovery rate)",
            Correction::None => "none",
        }
    }
}

impl fmt::Display for Correction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Correction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "holm" => Ok(Correction::Holm),
            "bh" | "benjamini-hochberg" | "fdr" => Ok(Correction::BenjaminiHochberg),
            "none" => Ok(Correction::None),
            other => Err(format!(
                "unknown correction '{other}' (expected holm, bh or none)"
            )),
        }
    }
}

/// Adjusted p-values in the input order. NaN inputs count as 1.
pub fn adjust(p: &[f64], method: Correction) -> Vec<f64> {
    let m = p.len();
    let clean: Vec<f64> = p
        .iter()
        .map(|&x| if x.is_nan() { 1.0 } else { x.clamp(0.0, 1.0) })
        .collect();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| clean[i].total_cmp(&clean[j]));
    let mut out = vec![0.0; m];
    match method {
        Correction::None => out.copy_from_slice(&clean),
        Correction::Holm => {
            // p_(k) * (m - k + 1), made non-decreasing from the smallest up.
            let mut running: f64 = 0.0;
            for (rank, &i) in order.iter().enumerate() {
                running = running.max(((m - rank) as f64 * clean[i]).min(1.0));
                out[i] = running;
            }
        }
        Correction::BenjaminiHochberg => {
            // p_(k) * m / k, made non-increasing from the largest down.
            let mut running: f64 = 1.0;
            for (rank, &i) in order.iter().enumerate().rev() {
                running = running.min((clean[i] * m as f64 / (rank + 1) as f64).min(1.0));
                out[i] = running;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Benjamini & Hochberg (1995), JRSS-B 57(1), section 4.2: fifteen
    /// p-values from a myocardial-infarction study. At q = 0.05 the BH
    /// procedure rejects the four smallest, Holm/Bonferroni only three.
    const BH_1995: [f64; 15] = [
        0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262,
        0.5719, 0.6528, 0.7590, 1.000,
    ];

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?}\n{b:?}");
        }
    }

    #[test]
    fn bh_matches_paper_and_scipy() {
        let adj = adjust(&BH_1995, Correction::BenjaminiHochberg);
        // scipy 1.17.1 `false_discovery_control(p, method="bh")`.
        close(
            &adj,
            &[
                0.0015,
                0.003,
                0.0095,
                0.035625,
                0.0603,
                0.063_857_142_857_142_86,
                0.063_857_142_857_142_86,
                0.0645,
                0.076_500_000_000_000_01,
                0.486,
                0.581_181_818_181_818_1,
                0.714_875,
                0.753_230_769_230_769_3,
                0.813_214_285_714_285_7,
                1.0,
            ],
        );
        assert_eq!(adj.iter().filter(|&&p| p < 0.05).count(), 4);
    }

    #[test]
    fn holm_matches_paper_and_r() {
        let adj = adjust(&BH_1995, Correction::Holm);
        // R `p.adjust(p, "holm")`: 15*p1, 14*p2, 13*p3, 12*p4 = 0.114, ...
        close(
            &adj,
            &[
                0.0015, 0.0056, 0.0247, 0.114, 0.2211, 0.278, 0.278, 0.278, 0.3213, 1.0, 1.0, 1.0,
                1.0, 1.0, 1.0,
            ],
        );
        assert_eq!(adj.iter().filter(|&&p| p < 0.05).count(), 3);
    }

    #[test]
    fn keeps_input_order_and_small_example() {
        // Holm by hand: sorted 0.005,0.01,0.03,0.04 -> 0.02,0.03,0.06,max(0.06,0.04)
        let adj = adjust(&[0.01, 0.04, 0.03, 0.005], Correction::Holm);
        close(&adj, &[0.03, 0.06, 0.06, 0.02]);
        // BH by hand: 0.005*4/1=0.02, 0.01*4/2=0.02, 0.03*4/3=0.04, 0.04*4/4=0.04
        let adj = adjust(&[0.01, 0.04, 0.03, 0.005], Correction::BenjaminiHochberg);
        close(&adj, &[0.02, 0.04, 0.04, 0.02]);
        assert_eq!(adjust(&[0.2, f64::NAN], Correction::None), vec![0.2, 1.0]);
        assert!(adjust(&[], Correction::Holm).is_empty());
    }
}
