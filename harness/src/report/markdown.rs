//! The markdown report a PR shows. Order: decision and evidence, warnings,
//! summary, regressions, per-suite tables, one-sided benchmarks, accuracy,
//! SLOs, environment, commands, method notes.

use super::{evidence::evidence, format, ReportInput};
use crate::compare::{BenchComparison, Class, Decision, Unit};
use crate::fingerprint::Fingerprint;
use std::collections::BTreeMap;
use std::fmt::Write;

pub fn render(r: &ReportInput<'_>) -> String {
    let c = r.comparison;
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(
        w,
        "# Performance gate: {} vs {}\n",
        r.current.label(),
        r.baseline.label()
    );
    let _ = writeln!(
        w,
        "## Gate decision: {}\n",
        match c.decision {
            Decision::Pass => "✅ PASS",
            Decision::Fail => "❌ FAIL",
        }
    );
    let _ = writeln!(w, "**Evidence**: `{}`\n", evidence(c));
    if c.regressions().any(|b| b.unit == Unit::Samples) {
        let _ = writeln!(
            w,
            "> ⚠️ **Confirm before acting.** Each side's samples come from one process per \
             suite, and the p-values treat them as independent: differences *between* \
             processes (memory layout, other tenants of the machine) are not in them. \
             `perf-gate ab --base <baseline rev> --head <this rev> --rounds 5` alternates \
             processes of both revisions and tests one mean per process; \
             `perf-gate ab --base <rev> --aa` shows what two identical revisions look like \
             on this machine.\n"
        );
    }

    if !c.fingerprint_diffs.is_empty() {
        let _ = writeln!(
            w,
            "> ⚠️ **WARNING: the environments differ.** Baseline and current were measured on \
             different machines or toolchains; deltas may reflect the environment, not the code.\n>"
        );
        for d in &c.fingerprint_diffs {
            let _ = writeln!(
                w,
                "> - `{}`: baseline `{}` / current `{}`",
                d.field, d.baseline, d.current
            );
        }
        let _ = writeln!(w);
    }

    summary(w, r);
    regressions(w, c.items.as_slice());
    suites(w, c.items.as_slice());
    one_sided(w, r);
    accuracy(w, r);
    slos(w, r);
    environment(w, r);
    commands(w, r);
    method(w, r);
    md
}

/// Suffix of n: nothing for criterion samples, " runs" for process means.
fn unit(b: &BenchComparison) -> &'static str {
    match b.unit {
        Unit::Samples => "",
        Unit::Processes => " runs",
    }
}

fn summary(w: &mut String, r: &ReportInput<'_>) {
    let c = r.comparison;
    let _ = writeln!(w, "## Summary\n");
    let _ = writeln!(
        w,
        "- Baseline: `{}` ({}, created {})",
        r.baseline_path,
        r.baseline.label(),
        r.baseline.created
    );
    let _ = writeln!(
        w,
        "- Current: {} ({}, created {})",
        r.current_source,
        r.current.label(),
        r.current.created
    );
    let _ = writeln!(
        w,
        "- Compared: {} benchmarks; only in baseline: {}; only in current: {}; untestable: {}",
        c.items.len(),
        c.only_in_baseline.len(),
        c.only_in_current.len(),
        c.untested.len()
    );
    let _ = writeln!(w, "\n| Class | Count |\n|---|---|");
    for k in Class::ALL {
        let _ = writeln!(w, "| {} | {} |", k, c.count(k));
    }
    if !c.skipped_entries.is_empty() {
        let _ = writeln!(w, "\nNot measured in the current run:\n");
        for (m, why) in &c.skipped_entries {
            let _ = writeln!(w, "- `{m}`: {why}");
        }
    }
    let _ = writeln!(w);
}

fn row(b: &BenchComparison) -> String {
    format!(
        "| `{}` | {} | {} | {} | {} | {} | {} | {} | {:.1}% | {} |",
        b.key.id,
        b.size.as_deref().unwrap_or("-"),
        format::time_sd(b.current.mean_ns, b.current.sd_ns, b.current.n, unit(b)),
        format::time_sd(b.baseline.mean_ns, b.baseline.sd_ns, b.baseline.n, unit(b)),
        format::throughput(b.throughput, b.current.mean_ns),
        format::pct(b.delta_pct),
        format::ci(b.ci_pct),
        format::p(b.p_adjusted),
        b.mde_pct,
        b.class
    )
}

const HEADER: &str = "| Benchmark | Size | Time (±SD, n) | Baseline (±SD, n) | Throughput | Delta | 95% CI | p (corrected) | MDE | Class |\n|---|---|---|---|---|---|---|---|---|---|";

fn regressions(w: &mut String, items: &[BenchComparison]) {
    let _ = writeln!(w, "## Regressions\n");
    let bad: Vec<_> = items.iter().filter(|b| b.class.is_regression()).collect();
    if bad.is_empty() {
        let _ = writeln!(
            w,
            "None: no benchmark is a significant slowdown beyond its threshold.\n"
        );
    } else {
        let _ = writeln!(w, "| Matrix | Suite | Threshold {HEADER_TAIL}");
        for b in &bad {
            let _ = writeln!(
                w,
                "| {} | {} | {}% {}",
                b.key.matrix,
                b.key.suite,
                b.threshold_pct,
                row(b)
            );
        }
        let _ = writeln!(w);
    }
    let inconclusive: Vec<_> = items
        .iter()
        .filter(|b| b.class == Class::Inconclusive)
        .collect();
    if !inconclusive.is_empty() {
        let _ = writeln!(
            w,
            "**Inconclusive** (too noisy at this sample size to rule out a slowdown of the threshold size; MDE = smallest change detectable with 80% power):\n"
        );
        for b in inconclusive {
            let _ = writeln!(
                w,
                "- `{}`: delta {} {}, MDE {:.1}% > threshold {}%",
                b.key,
                format::pct(b.delta_pct),
                format::ci(b.ci_pct),
                b.mde_pct,
                b.threshold_pct
            );
        }
        let _ = writeln!(w);
    }
}

const HEADER_TAIL: &str = "| Benchmark | Size | Time (±SD, n) | Baseline (±SD, n) | Throughput | Delta | 95% CI | p (corrected) | MDE | Class |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|";

fn suites(w: &mut String, items: &[BenchComparison]) {
    let _ = writeln!(w, "## Results by suite\n");
    let mut groups: BTreeMap<(&str, &str), Vec<&BenchComparison>> = BTreeMap::new();
    for b in items {
        groups
            .entry((b.key.matrix.as_str(), b.key.suite.as_str()))
            .or_default()
            .push(b);
    }
    if groups.is_empty() {
        let _ = writeln!(w, "No benchmark was present in both files.\n");
    }
    for ((matrix, suite), mut rows) in groups {
        rows.sort_by(|a, b| a.key.id.cmp(&b.key.id));
        let _ = writeln!(w, "### {suite} ({matrix})\n\n{HEADER}");
        for b in rows {
            let _ = writeln!(w, "{}", row(b));
        }
        let _ = writeln!(w);
    }
}

fn one_sided(w: &mut String, r: &ReportInput<'_>) {
    let c = r.comparison;
    if c.only_in_baseline.is_empty() && c.only_in_current.is_empty() && c.untested.is_empty() {
        return;
    }
    let _ = writeln!(w, "## Not compared (never fatal)\n");
    for k in &c.only_in_baseline {
        let _ = writeln!(w, "- `{k}`: only in the baseline");
    }
    for k in &c.only_in_current {
        let _ = writeln!(w, "- `{k}`: only in the current run (new benchmark)");
    }
    for u in &c.untested {
        let _ = writeln!(w, "- `{}`: {}", u.key, u.reason);
    }
    let _ = writeln!(w);
}

fn accuracy(w: &mut String, r: &ReportInput<'_>) {
    let _ = writeln!(w, "## Accuracy\n");
    match r.accuracy {
        None => {
            let _ = writeln!(
                w,
                "Not provided: no accuracy file was given (`--accuracy FILE`), so this report makes no accuracy claim.\n"
            );
        }
        Some(acc) => {
            let _ = writeln!(
                w,
                "From `{}` (produced by `{}`):\n\n| Check | Metric | Value | Requirement | Status |\n|---|---|---|---|---|",
                acc.path, acc.source
            );
            for c in &acc.checks {
                let _ = writeln!(
                    w,
                    "| {} | {} | {} | {} {} | {} |",
                    c.check.name,
                    c.check.metric,
                    c.check.value,
                    c.check.op,
                    c.check.limit,
                    if c.passed { "✅ pass" } else { "❌ fail" }
                );
            }
            let _ = writeln!(w);
        }
    }
}

fn slos(w: &mut String, r: &ReportInput<'_>) {
    let _ = writeln!(
        w,
        "## SLO compliance\n\n| SLO | Target | Measured | Status |\n|---|---|---|---|"
    );
    for s in r.slos {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} |",
            s.name,
            s.target,
            s.measured,
            s.status.label()
        );
    }
    let _ = writeln!(w);
}

fn environment(w: &mut String, r: &ReportInput<'_>) {
    let (a, b) = (&r.baseline.fingerprint, &r.current.fingerprint);
    let _ = writeln!(
        w,
        "## Environment\n\n| Field | Baseline | Current |\n|---|---|---|"
    );
    let git = |f: &Fingerprint| match &f.git {
        Some(g) => format!(
            "{} on {}{}",
            &g.commit[..g.commit.len().min(12)],
            g.branch,
            if g.dirty { " (dirty)" } else { "" }
        ),
        None => "not a git checkout".into(),
    };
    let crates = |f: &Fingerprint| {
        if f.crate_versions.is_empty() {
            return "unknown (no Cargo.lock)".to_string();
        }
        f.crate_versions
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows: [(&str, String, String); 9] = [
        ("CPU", a.cpu_model.clone(), b.cpu_model.clone()),
        (
            "Logical cores",
            a.logical_cores.to_string(),
            b.logical_cores.to_string(),
        ),
        ("OS", a.os.clone(), b.os.clone()),
        ("Kernel", a.kernel.clone(), b.kernel.clone()),
        ("Arch", a.arch.clone(), b.arch.clone()),
        ("rustc", a.rustc.clone(), b.rustc.clone()),
        ("Crates", crates(a), crates(b)),
        ("Git", git(a), git(b)),
        ("Date", a.date.clone(), b.date.clone()),
    ];
    for (k, x, y) in rows {
        let _ = writeln!(w, "| {k} | {x} | {y} |");
    }
    let _ = writeln!(
        w,
        "| CPU flags | {} flags | {} flags{} |\n",
        a.cpu_flags.len(),
        b.cpu_flags.len(),
        if a.cpu_flags == b.cpu_flags {
            " (identical)"
        } else {
            " (differ)"
        }
    );
}

fn commands(w: &mut String, r: &ReportInput<'_>) {
    let _ = writeln!(
        w,
        "## Commands executed\n\nThis report:\n\n```sh\n{}\n```\n",
        r.invocation
    );
    for (label, file) in [("Current", r.current), ("Baseline", r.baseline)] {
        let _ = writeln!(
            w,
            "{label} measurement ({}, criterion arguments `{}`):\n\n```sh",
            file.settings.source,
            if file.settings.criterion_args.is_empty() {
                "none".to_string()
            } else {
                file.settings.criterion_args.join(" ")
            }
        );
        if file.commands.is_empty() {
            let _ = writeln!(w, "# no commands recorded");
        }
        for cmd in &file.commands {
            let _ = writeln!(w, "{cmd}");
        }
        let _ = writeln!(w, "```\n");
    }
}

fn method(w: &mut String, r: &ReportInput<'_>) {
    let s = &r.comparison.settings;
    let _ = writeln!(
        w,
        "## Method\n\n\
         - Observations: criterion's samples, each converted to time per iteration (sample time / iterations). \
         When both sides were measured in two or more processes (`perf-gate ab` rounds, `run --runs`), the \
         observations are the per-process means instead (n counts runs): a t-test on pooled samples would \
         treat the scatter between processes as if it were the scatter within one.\n\
         - Test: Welch's unequal-variance t-test per benchmark (Welch-Satterthwaite df), two-sided; \
         p-values corrected across all {} compared benchmarks with {}; delta CI at {:.0}% relative to the baseline mean.\n\
         - Gate: FAIL iff a benchmark's corrected p < {} **and** its slowdown exceeds its threshold \
         ({}% unless `perf-gate.toml` says otherwise). Classes: minor >= 1x, major >= 2x, critical >= 3x threshold.\n\
         - MDE: the change detectable with {:.0}% power at the strictest per-test level alpha/m; \
         a non-significant result is *acceptable* when its 95% interval excludes a threshold-size slowdown \
         or its MDE is within the threshold, and *inconclusive* otherwise.\n\
         - What a p-value means here: with n counting samples, the scatter *within* one process. Differences \
         *between* processes on a shared machine (frequency, co-tenants, memory layout) are not in it and can \
         exceed the threshold. For a PR on a noisy machine use `perf-gate ab --rounds 5` (n counts runs, so \
         those differences are in the p-value), and `perf-gate ab --aa` to see the noise floor.\n",
        r.comparison.items.len(),
        s.correction.describe(),
        s.confidence * 100.0,
        s.alpha,
        s.threshold_pct,
        s.power * 100.0
    );
}
