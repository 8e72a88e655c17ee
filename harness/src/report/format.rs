//! Number formatting shared by the renderers.

use crate::results::{Throughput, ThroughputUnit};

/// Nanoseconds with an SI unit, three significant digits.
/// "1.23 ms ±0.8% n=20": mean, relative standard deviation and the n the
/// t-test used (`unit` names what n counts when it is not samples).
pub fn time_sd(mean_ns: f64, sd_ns: f64, n: usize, unit: &str) -> String {
    let rel = if mean_ns > 0.0 {
        100.0 * sd_ns / mean_ns
    } else {
        0.0
    };
    format!("{} ±{rel:.1}% n={n}{unit}", time(mean_ns))
}

pub fn time(ns: f64) -> String {
    let (v, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    format!("{} {unit}", sig3(v))
}

/// Throughput at the given mean time per iteration.
pub fn throughput(tp: Option<Throughput>, mean_ns: f64) -> String {
    let Some(tp) = tp else {
        return "-".to_string();
    };
    let per_s = tp.per_iteration as f64 / (mean_ns * 1e-9);
    let unit = match tp.unit {
        ThroughputUnit::Bytes => "B/s",
        ThroughputUnit::Elements => "elem/s",
    };
    let (v, prefix) = if per_s >= 1e12 {
        (per_s / 1e12, "T")
    } else if per_s >= 1e9 {
        (per_s / 1e9, "G")
    } else if per_s >= 1e6 {
        (per_s / 1e6, "M")
    } else if per_s >= 1e3 {
        (per_s / 1e3, "K")
    } else {
        (per_s, "")
    };
    format!("{} {prefix}{unit}", sig3(v))
}

/// Signed percentage with two decimals.
pub fn pct(x: f64) -> String {
    format!("{x:+.2}%")
}

pub fn ci(ci: [f64; 2]) -> String {
    format!("[{:+.2}, {:+.2}]%", ci[0], ci[1])
}

/// p-values: fixed notation down to 0.001, scientific below.
pub fn p(p: f64) -> String {
    if p >= 0.001 {
        format!("{p:.3}")
    } else if p > 0.0 {
        format!("{p:.1e}")
    } else {
        "<1e-300".to_string()
    }
}

fn sig3(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(time(1234.0), "1.23 µs");
        assert_eq!(time(15_600_000.0), "15.6 ms");
        assert_eq!(time(12.0), "12.0 ns");
        let tp = Some(Throughput {
            unit: ThroughputUnit::Elements,
            per_iteration: 4096,
        });
        // 4096 elements in 1 µs = 4.10 G elem/s
        assert_eq!(throughput(tp, 1000.0), "4.10 Gelem/s");
        assert_eq!(throughput(None, 1.0), "-");
        assert_eq!(pct(12.345), "+12.35%");
        assert_eq!(p(0.0412), "0.041");
        assert_eq!(p(2.5e-7), "2.5e-7");
    }
}
