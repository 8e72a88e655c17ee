//! `perf-gate run`: every requested suite for every requested matrix entry,
//! each in its own criterion output directory so samples never mix.
//!
//! ```text
//! target/perf-gate/criterion/<entry>/<suite>/...   CRITERION_HOME of one run
//! target/perf-gate/logs/<entry>-<suite>.log        its stdout + stderr
//! ```

use super::exec::Invocation;
use super::matrix::MatrixEntry;
use super::{suites, workspace};
use crate::error::{GateError, Result};
use crate::fingerprint::Fingerprint;
use crate::results::criterion::import_criterion;
use crate::results::pool_run;
use crate::results::{EntryRecord, EntryStatus, ResultsFile, RunSettings, SkippedSuite};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Empty: every suite of `benches/Cargo.toml`.
    pub suites: Vec<String>,
    /// Empty: every matrix entry.
    pub matrix: Vec<MatrixEntry>,
    pub quick: bool,
    pub sample_size: Option<usize>,
    /// Processes per suite and entry (0 and 1 both mean one). With two or
    /// more, runs alternate over the suites and every sample is numbered
    /// with its run, so `compare` can use one mean per process.
    pub runs: usize,
}

/// Arguments for each criterion binary. `--quick` shortens warm-up and
/// measurement but keeps 30 samples per benchmark: criterion's own `--quick`
/// stops after two samples, too few for a t-test.
pub fn criterion_args(quick: bool, sample_size: Option<usize>) -> Vec<String> {
    let mut args: Vec<String> = vec!["--noplot".into()];
    if quick {
        args.extend(
            [
                "--warm-up-time",
                "0.5",
                "--measurement-time",
                "1",
                "--nresamples",
                "1000",
            ]
            .map(String::from),
        );
    }
    let n = sample_size.or(if quick { Some(30) } else { None });
    if let Some(n) = n {
        args.extend(["--sample-size".to_string(), n.to_string()]);
    }
    args
}

/// The outcome of a run: results (possibly partial) and failed entries.
pub struct RunOutcome {
    pub results: ResultsFile,
    pub failures: Vec<GateError>,
}

pub fn run_suites(root: &Path, opts: &RunOptions) -> Result<RunOutcome> {
    let suites = suites::select(&suites::discover(root)?, &opts.suites)?;
    let entries: Vec<MatrixEntry> = if opts.matrix.is_empty() {
        MatrixEntry::ALL.to_vec()
    } else {
        opts.matrix.clone()
    };
    let crit_args = criterion_args(opts.quick, opts.sample_size);
    let target = workspace::target_dir(root);
    let out_root = target.join("perf-gate");

    let plan: Vec<(MatrixEntry, Vec<String>, Vec<SkippedSuite>)> = entries
        .iter()
        .map(|&e| {
            let names = suites
                .iter()
                .filter(|s| e.runs(s))
                .map(|s| s.name.clone())
                .collect();
            (e, names, e.skipped_suites(&suites))
        })
        .collect();
    let runs = opts.runs.max(1);
    let steps: usize = plan.iter().map(|(_, s, _)| s.len() * runs).sum();
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let say = |msg: String| {
        if bar.is_hidden() {
            eprintln!("perf-gate: {msg}");
        } else {
            bar.println(msg);
        }
    };

    let mut commands = Vec::new();
    let mut records = Vec::new();
    let mut entry_records = Vec::new();
    let mut failures = Vec::new();
    for (entry, suites, skipped) in plan {
        for s in &skipped {
            say(format!("{entry} {}: not run ({})", s.suite, s.reason));
        }
        if suites.is_empty() {
            say(format!("{entry}: no selected suite applies"));
            entry_records.push(EntryRecord {
                matrix: entry.name(),
                status: EntryStatus::Skipped,
                reason: Some("no selected suite applies to this entry".into()),
                suites,
                skipped_suites: skipped.clone(),
            });
            continue;
        }
        if let Err(reason) = entry.availability() {
            say(format!("{entry}: skipped ({reason})"));
            bar.inc((suites.len() * runs) as u64);
            entry_records.push(EntryRecord {
                matrix: entry.name(),
                status: EntryStatus::Skipped,
                reason: Some(reason),
                suites: suites.clone(),
                skipped_suites: skipped.clone(),
            });
            continue;
        }
        let mut status = EntryStatus::Ran;
        let mut reason = None;
        let mut cargo_args = vec!["bench".to_string(), "-p".into(), "bitnet-benches".into()];
        if let Some(f) = entry.features() {
            cargo_args.extend(["--features".to_string(), f.to_string()]);
        }
        let build = Invocation {
            program: "cargo".into(),
            args: [
                cargo_args.clone(),
                vec!["--no-run".into()],
                suites
                    .iter()
                    .flat_map(|s| ["--bench".to_string(), s.clone()])
                    .collect(),
            ]
            .concat(),
            env: Vec::new(),
            cwd: root.to_path_buf(),
        };
        bar.set_message(format!("{entry}: building"));
        commands.push(build.display());
        let log = out_root.join("logs").join(format!("{entry}-build.log"));
        if let Err(e) = build.run(&log, |_| {}) {
            say(format!("{entry}: build failed"));
            bar.inc((suites.len() * runs) as u64);
            entry_records.push(EntryRecord {
                matrix: entry.name(),
                status: EntryStatus::Failed,
                reason: Some(format!("build failed, see {}", log.display())),
                suites: suites.clone(),
                skipped_suites: skipped.clone(),
            });
            failures.push(e);
            continue;
        }
        let mut pooled = std::collections::BTreeMap::new();
        for (run, suite) in (0..runs).flat_map(|r| suites.iter().map(move |s| (r, s))) {
            let mut home = out_root.join("criterion").join(entry.name()).join(suite);
            let mut tag = String::new();
            if runs > 1 {
                home = home.join(format!("run-{run}"));
                tag = format!(" (run {}/{runs})", run + 1);
            }
            if home.exists() {
                std::fs::remove_dir_all(&home).map_err(|source| GateError::Write {
                    path: home.clone(),
                    source,
                })?;
            }
            let mut env = entry.env();
            env.push(("CRITERION_HOME".into(), home.display().to_string()));
            let inv = Invocation {
                program: "cargo".into(),
                args: [
                    cargo_args.clone(),
                    vec!["--bench".into(), suite.clone(), "--".into()],
                    crit_args.clone(),
                ]
                .concat(),
                env,
                cwd: root.to_path_buf(),
            };
            commands.push(inv.display());
            bar.set_message(format!("{entry} {suite}{tag}"));
            let log = out_root.join("logs").join(if runs > 1 {
                format!("{entry}-{suite}-run{run}.log")
            } else {
                format!("{entry}-{suite}.log")
            });
            let result = inv.run(&log, |line| {
                if let Some(rest) = line.strip_prefix("Benchmarking ") {
                    if let Some((id, _)) = rest.split_once(':') {
                        bar.set_message(format!("{entry} {suite}: {id}"));
                    }
                }
            });
            match result {
                Ok(()) if home.exists() => {
                    let found = import_criterion(&home, &entry.name(), suite)?;
                    say(format!("{entry} {suite}{tag}: {} benchmarks", found.len()));
                    for rec in found {
                        if runs > 1 {
                            pool_run(&mut pooled, rec, run as u32);
                        } else {
                            records.push(rec);
                        }
                    }
                }
                Ok(()) => say(format!("{entry} {suite}{tag}: no benchmarks")),
                Err(e) => {
                    say(format!("{entry} {suite}: failed, see {}", log.display()));
                    status = EntryStatus::Failed;
                    reason = Some(format!("suite {suite} failed, see {}", log.display()));
                    failures.push(e);
                }
            }
            bar.inc(1);
        }
        records.extend(pooled.into_values());
        entry_records.push(EntryRecord {
            matrix: entry.name(),
            status,
            reason,
            suites: suites.clone(),
            skipped_suites: skipped.clone(),
        });
    }
    bar.finish_and_clear();
    let results = ResultsFile::new(
        Fingerprint::collect(root),
        RunSettings {
            source: "run".into(),
            quick: opts.quick,
            criterion_args: crit_args,
        },
        commands,
        entry_records,
        records,
    );
    Ok(RunOutcome { results, failures })
}
