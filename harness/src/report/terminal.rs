//! Terminal summary: decision, evidence and a comfy-table of every compared
//! benchmark, most severe first.

use super::{evidence::evidence, format};
use crate::compare::Comparison;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Color, Table};

pub fn render(c: &Comparison) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "Matrix",
        "Benchmark",
        "Time",
        "Baseline",
        "Delta",
        "95% CI",
        "p (corr.)",
        "MDE",
        "Class",
    ]);
    for b in &c.items {
        let color = if b.class.is_regression() {
            Color::Red
        } else if b.class == crate::compare::Class::Improved {
            Color::Green
        } else if b.class == crate::compare::Class::Inconclusive {
            Color::Yellow
        } else {
            Color::Reset
        };
        table.add_row(vec![
            Cell::new(&b.key.matrix),
            Cell::new(format!("{}/{}", b.key.suite, b.key.id)),
            Cell::new(format::time(b.current.mean_ns)).set_alignment(CellAlignment::Right),
            Cell::new(format::time(b.baseline.mean_ns)).set_alignment(CellAlignment::Right),
            Cell::new(format::pct(b.delta_pct)).set_alignment(CellAlignment::Right),
            Cell::new(format::ci(b.ci_pct)),
            Cell::new(format::p(b.p_adjusted)).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.1}%", b.mde_pct)).set_alignment(CellAlignment::Right),
            Cell::new(b.class).fg(color),
        ]);
    }
    let mut out = format!("{table}\n");
    for d in &c.fingerprint_diffs {
        out.push_str(&format!(
            "WARNING: environment differs: {}: baseline {} / current {}\n",
            d.field, d.baseline, d.current
        ));
    }
    out.push_str(&format!(
        "perf-gate: {}\nevidence: {}\n",
        c.decision.name(),
        evidence(c)
    ));
    out
}
