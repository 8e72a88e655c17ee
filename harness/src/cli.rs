//! Command-line interface: parses arguments and wires them to the library.
//! Exit codes: 0 PASS (or success), 1 FAIL, 2 usage or input error.

use crate::ab::{run_ab, AbOptions};
use crate::compare::{compare, Decision, Settings};
use crate::config::GateConfig;
use crate::error::{GateError, Result};
use crate::report::{self, accuracy::load_accuracy, ReportInput};
use crate::results::criterion::import_criterion;
use crate::results::{
    load_results, save_results, BaselineInfo, EntryRecord, EntryStatus, ResultsFile, RunSettings,
};
use crate::runner::{run_suites, workspace, MatrixEntry, RunOptions};
use crate::stats::Correction;
use crate::{atomic::write_atomic, fingerprint::Fingerprint};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};

/// Where `run` writes and `baseline save` reads by default.
pub const DEFAULT_RESULTS: &str = "target/perf-gate/results.json";

#[derive(Parser)]
#[command(
    name = "perf-gate",
    version,
    about = "Run the criterion suites, keep baselines, and gate regressions with corrected Welch t-tests",
    after_help = "Exit codes: 0 PASS or success, 1 FAIL (significant slowdown beyond threshold), 2 usage or input error."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the suites for each matrix entry and write one results file.
    Run(RunArgs),
    /// Convert a criterion directory (target/criterion layout) into a results file.
    Import(ImportArgs),
    /// Manage committed baselines.
    Baseline {
        #[command(subcommand)]
        cmd: BaselineCmd,
    },
    /// Compare current results with a baseline and decide PASS/FAIL.
    Compare(CompareArgs),
    /// Build two revisions in git worktrees, run them interleaved, compare.
    Ab(AbArgs),
}

#[derive(Subcommand)]
enum BaselineCmd {
    /// Save a results file as baselines/NAME.json (atomically).
    Save {
        name: String,
        /// Results file to save.
        #[arg(long, default_value = DEFAULT_RESULTS)]
        from: PathBuf,
        /// Directory of baselines.
        #[arg(long, default_value = "baselines")]
        dir: PathBuf,
    },
}

#[derive(Args, Clone)]
struct Selection {
    /// Suite to run (repeatable; default: all suites in benches/Cargo.toml).
    #[arg(long = "suite", value_name = "NAME")]
    suites: Vec<String>,
    /// Matrix entry: cpu-scalar, cpu-avx2, cpu-avx512, gpu (repeatable; default: all).
    #[arg(long = "matrix", value_name = "ENTRY")]
    matrix: Vec<MatrixEntry>,
    /// Short warm-up/measurement (0.5 s / 1 s, 30 samples) instead of criterion's defaults.
    #[arg(long)]
    quick: bool,
    /// Criterion samples per benchmark (criterion's default is 100).
    #[arg(long, value_parser = clap::value_parser!(u64).range(10..))]
    sample_size: Option<u64>,
    /// Processes per suite (run, compare): with 2 or more, `compare` tests one
    /// mean per process, which sees the differences between processes that
    /// a single run cannot. `ab` uses --rounds instead.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
}

impl Selection {
    fn options(&self) -> RunOptions {
        RunOptions {
            suites: self.suites.clone(),
            matrix: self.matrix.clone(),
            quick: self.quick,
            sample_size: self.sample_size.map(|n| n as usize),
            runs: self.runs as usize,
        }
    }
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    sel: Selection,
    #[arg(long, default_value = DEFAULT_RESULTS)]
    output: PathBuf,
}

#[derive(Args)]
struct ImportArgs {
    /// Criterion output directory (e.g. target/criterion).
    #[arg(long)]
    criterion: PathBuf,
    #[arg(long)]
    output: PathBuf,
    /// Matrix label for the imported benchmarks.
    #[arg(long, default_value = "default")]
    matrix: String,
    /// Suite label for the imported benchmarks.
    #[arg(long, default_value = "imported")]
    suite: String,
}

#[derive(Args, Clone)]
struct ReportArgs {
    /// Default slowdown threshold in percent (perf-gate.toml may set per-benchmark ones).
    #[arg(long, value_parser = positive)]
    threshold: Option<f64>,
    /// Significance level after correction.
    #[arg(long, value_parser = unit_interval)]
    alpha: Option<f64>,
    /// Multiple-comparison correction: holm, bh or none.
    #[arg(long)]
    correction: Option<Correction>,
    /// Configuration file (default: perf-gate.toml at the workspace root, if present).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Accuracy checks (JSON, schema perf-gate-accuracy) to include in the report.
    #[arg(long)]
    accuracy: Option<PathBuf>,
    /// Markdown report path.
    #[arg(long, default_value = "reports/perf-gate-report.md")]
    report: PathBuf,
    /// JSON report path.
    #[arg(long, default_value = "reports/perf-gate-report.json")]
    json: PathBuf,
}

#[derive(Args)]
struct CompareArgs {
    #[arg(long)]
    baseline: PathBuf,
    /// Results to judge; without it the suites are run now (matrix entries and
    /// suites of the baseline unless --matrix/--suite say otherwise).
    #[arg(long)]
    current: Option<PathBuf>,
    #[command(flatten)]
    report: ReportArgs,
    #[command(flatten)]
    sel: Selection,
}

#[derive(Args)]
struct AbArgs {
    /// Base revision (A).
    #[arg(long)]
    base: String,
    /// Head revision (B).
    #[arg(long, required_unless_present = "aa", conflicts_with = "aa")]
    head: Option<String>,
    /// A/A run: the base against itself, to measure false alarms and the noise floor.
    #[arg(long)]
    aa: bool,
    /// Interleaved rounds (A B, B A, ...); each is one process per side, and
    /// the comparison tests one mean per process, so more rounds, more power.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    #[command(flatten)]
    sel: Selection,
    #[command(flatten)]
    report: ReportArgs,
}

fn positive(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v > 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(format!("must be a positive number, got {s}"))
    }
}

fn unit_interval(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!("must be in (0, 1), got {s}"))
    }
}

/// Parses the process arguments and runs; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        // clap exits 2 on usage errors and 0 for --help/--version.
        Err(e) => e.exit(),
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("perf-gate: error: {e}");
            2
        }
    }
}

fn dispatch(cli: Cli) -> Result<i32> {
    let cwd = std::env::current_dir().map_err(|source| GateError::Read {
        path: ".".into(),
        source,
    })?;
    match cli.cmd {
        Cmd::Run(a) => {
            let root = workspace::find_root(&cwd)?;
            let results = run_and_save(&root, &a.sel.options(), &a.output)?;
            eprintln!(
                "perf-gate: {} benchmarks written to {}",
                results.benchmarks.len(),
                a.output.display()
            );
            Ok(0)
        }
        Cmd::Import(a) => {
            let records = import_criterion(&a.criterion, &a.matrix, &a.suite)?;
            if records.is_empty() {
                return Err(GateError::invalid(
                    &a.criterion,
                    "empty results: no */new/benchmark.json found",
                ));
            }
            let results = ResultsFile::new(
                Fingerprint::collect(&cwd),
                RunSettings {
                    source: "import".into(),
                    quick: false,
                    criterion_args: Vec::new(),
                },
                vec![format!(
                    "perf-gate import --criterion {} --matrix {} --suite {}",
                    a.criterion.display(),
                    a.matrix,
                    a.suite
                )],
                vec![EntryRecord {
                    matrix: a.matrix.clone(),
                    status: EntryStatus::Ran,
                    reason: Some(format!("imported from {}", a.criterion.display())),
                    suites: vec![a.suite.clone()],
                    skipped_suites: Vec::new(),
                }],
                records,
            );
            save_results(&a.output, &results)?;
            eprintln!(
                "perf-gate: imported {} benchmarks into {}",
                results.benchmarks.len(),
                a.output.display()
            );
            Ok(0)
        }
        Cmd::Baseline {
            cmd: BaselineCmd::Save { name, from, dir },
        } => {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                || name.starts_with('.')
            {
                return Err(GateError::Usage(format!(
                    "baseline name '{name}' must be letters, digits, '.', '_' or '-'"
                )));
            }
            let mut results = load_results(&from)?;
            results.baseline = Some(BaselineInfo {
                name: name.clone(),
                saved: crate::fingerprint::now_rfc3339(),
                machine: results.fingerprint.machine_summary(),
                source: from.display().to_string(),
            });
            let path = dir.join(format!("{name}.json"));
            save_results(&path, &results)?;
            eprintln!(
                "perf-gate: baseline '{name}' ({} benchmarks) saved to {}",
                results.benchmarks.len(),
                path.display()
            );
            Ok(0)
        }
        Cmd::Compare(a) => {
            let baseline = load_results(&a.baseline)?;
            let root = workspace::find_root(&cwd).ok();
            let (current, source) = match &a.current {
                Some(p) => (load_results(p)?, format!("`{}`", p.display())),
                None => {
                    let root = root.clone().ok_or_else(|| {
                        GateError::Usage(
                            "no --current file and no workspace to run the suites in".into(),
                        )
                    })?;
                    let mut opts = a.sel.options();
                    if opts.matrix.is_empty() {
                        opts.matrix = baseline_matrix(&baseline);
                    }
                    if opts.suites.is_empty() {
                        opts.suites = baseline_suites(&baseline);
                    }
                    let out = workspace::target_dir(&root)
                        .join("perf-gate")
                        .join("results.json");
                    let results = run_and_save(&root, &opts, &out)?;
                    (
                        results,
                        format!("measured now (saved to `{}`)", out.display()),
                    )
                }
            };
            let decision = gate(
                root.as_deref().unwrap_or(&cwd),
                &baseline,
                &a.baseline.display().to_string(),
                &current,
                &source,
                &a.report,
            )?;
            Ok(decision.exit_code())
        }
        Cmd::Ab(a) => {
            let root = workspace::find_root(&cwd)?;
            let (base, head) = run_ab(
                &root,
                &AbOptions {
                    base: a.base.clone(),
                    head: a.head.clone(),
                    rounds: a.rounds,
                    run: a.sel.options(),
                },
            )?;
            let ab_dir = workspace::target_dir(&root).join("perf-gate").join("ab");
            save_results(&ab_dir.join("base.json"), &base)?;
            save_results(&ab_dir.join("head.json"), &head)?;
            let head_label = match &a.head {
                Some(h) => format!("head `{h}` ({} interleaved rounds)", a.rounds),
                None => format!(
                    "base `{}` again (A/A, {} interleaved rounds)",
                    a.base, a.rounds
                ),
            };
            let decision = gate(
                &root,
                &base,
                &format!("base {}", a.base),
                &head,
                &head_label,
                &a.report,
            )?;
            if a.aa {
                eprintln!(
                    "perf-gate: A/A run: {} (any FAIL here is a false alarm)",
                    decision.name()
                );
            }
            Ok(decision.exit_code())
        }
    }
}

fn run_and_save(root: &Path, opts: &RunOptions, output: &Path) -> Result<ResultsFile> {
    let outcome = run_suites(root, opts)?;
    save_results(output, &outcome.results)?;
    if let Some(e) = outcome.failures.into_iter().next() {
        return Err(e);
    }
    crate::results::io::validate(&outcome.results)
        .map_err(|problem| GateError::invalid(output, problem))?;
    Ok(outcome.results)
}

fn baseline_matrix(b: &ResultsFile) -> Vec<MatrixEntry> {
    let mut v: Vec<MatrixEntry> = b
        .benchmarks
        .iter()
        .filter_map(|r| r.matrix.parse().ok())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn baseline_suites(b: &ResultsFile) -> Vec<String> {
    let mut v: Vec<String> = b.benchmarks.iter().map(|r| r.suite.clone()).collect();
    v.sort();
    v.dedup();
    v
}

/// Compares, writes the markdown and JSON reports, prints the terminal table.
fn gate(
    root: &Path,
    baseline: &ResultsFile,
    baseline_path: &str,
    current: &ResultsFile,
    current_source: &str,
    args: &ReportArgs,
) -> Result<Decision> {
    let config = GateConfig::load(args.config.as_deref(), root)?;
    let correction = match (&args.correction, &config.defaults.correction) {
        (Some(c), _) => *c,
        (None, Some(c)) => c.parse().map_err(GateError::Usage)?,
        (None, None) => Correction::Holm,
    };
    let defaults = Settings::default();
    let settings = Settings {
        alpha: args
            .alpha
            .or(config.defaults.alpha)
            .unwrap_or(defaults.alpha),
        threshold_pct: args
            .threshold
            .or(config.defaults.threshold)
            .unwrap_or(defaults.threshold_pct),
        correction,
        ..defaults
    };
    let accuracy = match &args.accuracy {
        Some(p) => Some(load_accuracy(p)?),
        None => None,
    };
    let comparison = compare(baseline, current, &settings, &config);
    let slos = report::slo::evaluate(&config, current, &comparison, accuracy.as_ref());
    let input = ReportInput {
        comparison: &comparison,
        baseline,
        baseline_path: baseline_path.to_string(),
        current,
        current_source: current_source.to_string(),
        accuracy: accuracy.as_ref(),
        slos: &slos,
        invocation: invocation(),
    };
    write_atomic(&args.report, report::markdown::render(&input).as_bytes())?;
    write_atomic(&args.json, report::json::render(&input).as_bytes())?;
    print!("{}", report::terminal::render(&comparison));
    if !comparison.fingerprint_diffs.is_empty() {
        eprintln!(
            "perf-gate: WARNING: baseline and current environments differ in {} field(s) ({}); \
             deltas may reflect the machine, not the code",
            comparison.fingerprint_diffs.len(),
            comparison
                .fingerprint_diffs
                .iter()
                .map(|d| d.field.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    eprintln!(
        "perf-gate: {} (report: {}, json: {})",
        comparison.decision.name(),
        args.report.display(),
        args.json.display()
    );
    Ok(comparison.decision)
}

fn invocation() -> String {
    let args: Vec<String> = std::env::args().collect();
    let mut parts = vec!["perf-gate".to_string()];
    parts.extend(args.into_iter().skip(1));
    parts.join(" ")
}
