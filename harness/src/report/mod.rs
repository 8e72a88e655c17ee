//! Reports rendered from a finished [`Comparison`]:
//! markdown for the PR, JSON for machines, a table for the terminal. Nothing
//! here computes statistics; every sentence is derived from the comparison,
//! the results files and the optional accuracy file.

pub mod accuracy;
pub mod evidence;
pub mod format;
pub mod json;
pub mod markdown;
pub mod slo;
pub mod terminal;

use crate::compare::Comparison;
use crate::results::ResultsFile;

/// Everything a report shows.
pub struct ReportInput<'a> {
    pub comparison: &'a Comparison,
    pub baseline: &'a ResultsFile,
    pub baseline_path: String,
    pub current: &'a ResultsFile,
    /// Where the current results came from (a file, or "measured now").
    pub current_source: String,
    pub accuracy: Option<&'a accuracy::AccuracyReport>,
    pub slos: &'a [slo::SloResult],
    /// The perf-gate command line that produced this report.
    pub invocation: String,
}
