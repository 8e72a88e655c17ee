//! The one-line evidence string under the gate decision, computed from the
//! comparison (method; result; reason).

use super::format;
use crate::compare::{BenchComparison, Class, Comparison, Decision, Unit};

pub fn evidence(c: &Comparison) -> String {
    let s = &c.settings;
    let entries: std::collections::BTreeSet<&str> =
        c.items.iter().map(|i| i.key.matrix.as_str()).collect();
    let processes = c.items.iter().filter(|i| i.unit == Unit::Processes).count();
    let observations = match processes {
        0 => "per-iteration samples".to_string(),
        p if p == c.items.len() => "per-process means".to_string(),
        p => format!("per-process means ({p}) or per-iteration samples"),
    };
    let method = format!(
        "method: Welch t-test on {observations} of {} benchmarks x {} matrix entr{} ({}), {}-corrected alpha {}, threshold {}%",
        c.items.len(),
        entries.len(),
        if entries.len() == 1 { "y" } else { "ies" },
        entries.into_iter().collect::<Vec<_>>().join(", "),
        s.correction,
        s.alpha,
        s.threshold_pct
    );
    let counts: Vec<String> = Class::ALL
        .iter()
        .filter_map(|&k| {
            let n = c.count(k);
            (n > 0).then(|| format!("{n} {k}"))
        })
        .collect();
    let result = format!(
        "result: {}",
        if counts.is_empty() {
            "nothing compared".to_string()
        } else {
            counts.join(", ")
        }
    );
    let reason = match c.decision {
        Decision::Fail => {
            let worst = c.regressions().next().expect("FAIL has a regression");
            format!(
                "reason: {} significant slowdown{} beyond threshold, worst {}",
                c.regressions().count(),
                if c.regressions().count() == 1 {
                    ""
                } else {
                    "s"
                },
                describe(worst)
            )
        }
        Decision::Pass => match c
            .items
            .iter()
            .max_by(|a, b| a.delta_pct.total_cmp(&b.delta_pct))
        {
            Some(worst) => format!(
                "reason: no significant slowdown beyond threshold; largest slowdown {}",
                describe(worst)
            ),
            None => "reason: no benchmark present on both sides".to_string(),
        },
    };
    format!("{method}; {result}; {reason}")
}

fn describe(b: &BenchComparison) -> String {
    format!(
        "{} {} {} (p_adj={}, {})",
        b.key,
        format::pct(b.delta_pct),
        format::ci(b.ci_pct),
        format::p(b.p_adjusted),
        b.class
    )
}
