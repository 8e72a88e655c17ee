//! Machine-readable report: the whole comparison plus decision, evidence,
//! accuracy and SLOs.

use super::{accuracy::AccuracyReport, evidence::evidence, slo::SloResult, ReportInput};
use crate::compare::{Comparison, Decision};
use crate::fingerprint::Fingerprint;
use serde::Serialize;

pub const SCHEMA: &str = "perf-gate-report";
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct SideMeta<'a> {
    source: &'a str,
    label: String,
    created: &'a str,
    fingerprint: &'a Fingerprint,
    commands: &'a [String],
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: &'static str,
    schema_version: u32,
    tool: String,
    decision: Decision,
    evidence: String,
    invocation: &'a str,
    baseline: SideMeta<'a>,
    current: SideMeta<'a>,
    comparison: &'a Comparison,
    accuracy: Option<&'a AccuracyReport>,
    slos: &'a [SloResult],
}

pub fn render(r: &ReportInput<'_>) -> String {
    let report = JsonReport {
        schema: SCHEMA,
        schema_version: SCHEMA_VERSION,
        tool: crate::results::tool_name(),
        decision: r.comparison.decision,
        evidence: evidence(r.comparison),
        invocation: &r.invocation,
        baseline: SideMeta {
            source: &r.baseline_path,
            label: r.baseline.label(),
            created: &r.baseline.created,
            fingerprint: &r.baseline.fingerprint,
            commands: &r.baseline.commands,
        },
        current: SideMeta {
            source: &r.current_source,
            label: r.current.label(),
            created: &r.current.created,
            fingerprint: &r.current.fingerprint,
            commands: &r.current.commands,
        },
        comparison: r.comparison,
        accuracy: r.accuracy,
        slos: r.slos,
    };
    let mut s = serde_json::to_string_pretty(&report).expect("report types serialize");
    s.push('\n');
    s
}
