//! `perf-gate ab`: judge a change on a noisy shared machine by building both
//! revisions and running their benchmark binaries interleaved.
//!
//! ```text
//! round 0:  A B      (for each matrix entry and suite)
//! round 1:  B A      order alternates so a linear drift hits both sides equally
//! round 2:  A B ...
//! ```
//!
//! Each side's samples are pooled over rounds, numbered with their round
//! (`runs`), and compared like any two results files: `compare` then tests
//! one mean per process, so the differences between processes, which on a
//! shared machine dwarf the scatter within one, are in the p-value. Slow
//! drift of the machine lands in both sides instead of in the difference.
//! `--aa` runs one revision against itself: every FAIL it reports is a false
//! alarm, and its deltas show the noise floor.

pub mod build;
pub mod worktree;

use crate::error::{GateError, Result};
use crate::fingerprint::Fingerprint;
use crate::results::criterion::import_criterion;
use crate::results::{
    pool_run, BenchmarkRecord, EntryRecord, EntryStatus, ResultsFile, RunSettings,
};
use crate::runner::exec::Invocation;
use crate::runner::run::criterion_args;
use crate::runner::{suites, workspace, MatrixEntry, RunOptions};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct AbOptions {
    pub base: String,
    /// `None` with `aa`: the base against itself.
    pub head: Option<String>,
    pub rounds: usize,
    pub run: RunOptions,
}

/// One side of the comparison: a checked-out revision and its binaries.
struct Side {
    label: String,
    dir: PathBuf,
    /// (matrix entry, suite) -> bench executable.
    binaries: BTreeMap<(MatrixEntry, String), PathBuf>,
    commands: Vec<String>,
    records: BTreeMap<crate::results::BenchKey, BenchmarkRecord>,
}

/// Returns (base results, head results) with samples pooled over rounds.
pub fn run_ab(root: &Path, opts: &AbOptions) -> Result<(ResultsFile, ResultsFile)> {
    if opts.rounds == 0 {
        return Err(GateError::Usage("--rounds must be at least 1".into()));
    }
    let target = workspace::target_dir(root);
    let ab_root = target.join("perf-gate").join("ab");
    let base_commit = worktree::resolve(root, &opts.base)?;
    let head_commit = match &opts.head {
        Some(h) => Some(worktree::resolve(root, h)?),
        None => None,
    };
    let base_dir = worktree::checkout(root, &base_commit, &ab_root)?;
    let head_dir = match &head_commit {
        Some(c) => Some(worktree::checkout(root, c, &ab_root)?),
        None => None,
    };

    let selected = suites::select(&suites::discover(&base_dir)?, &opts.run.suites)?;
    let suite_names: Vec<String> = selected.iter().map(|s| s.name.clone()).collect();
    let entries: Vec<MatrixEntry> = if opts.run.matrix.is_empty() {
        MatrixEntry::ALL.to_vec()
    } else {
        opts.run.matrix.clone()
    };
    let mut entry_records = Vec::new();
    let mut runnable = Vec::new();
    for e in entries {
        match e.availability() {
            Ok(()) => runnable.push(e),
            Err(reason) => {
                eprintln!("perf-gate: {e}: skipped ({reason})");
                entry_records.push(EntryRecord {
                    matrix: e.name(),
                    status: EntryStatus::Skipped,
                    reason: Some(reason),
                    suites: suite_names.clone(),
                    skipped_suites: Vec::new(),
                });
            }
        }
    }
    if runnable.is_empty() {
        return Err(GateError::Usage(
            "no requested matrix entry can run on this machine".into(),
        ));
    }

    let mut sides = vec![Side {
        label: "A".into(),
        dir: base_dir.clone(),
        binaries: BTreeMap::new(),
        commands: Vec::new(),
        records: BTreeMap::new(),
    }];
    sides.push(Side {
        label: if head_dir.is_some() { "B" } else { "A'" }.into(),
        dir: head_dir.clone().unwrap_or_else(|| base_dir.clone()),
        binaries: BTreeMap::new(),
        commands: Vec::new(),
        records: BTreeMap::new(),
    });
    for side in &mut sides {
        eprintln!(
            "perf-gate: building {} in {}",
            side.label,
            side.dir.display()
        );
        for &e in &runnable {
            let names: Vec<String> = selected
                .iter()
                .filter(|s| e.runs(s))
                .map(|s| s.name.clone())
                .collect();
            if names.is_empty() {
                continue;
            }
            let (cmd, bins) = build::bench_binaries(&side.dir, &target, e, &names)?;
            side.commands.push(cmd);
            for (suite, exe) in bins {
                side.binaries.insert((e, suite), exe);
            }
        }
    }

    let crit_args = criterion_args(opts.run.quick, opts.run.sample_size);
    let steps = opts.rounds * runnable.len() * suite_names.len() * 2;
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    for round in 0..opts.rounds {
        for &e in &runnable {
            for suite in &suite_names {
                let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                for i in order {
                    let side = &mut sides[i];
                    let Some(exe) = side.binaries.get(&(e, suite.clone())).cloned() else {
                        bar.inc(1);
                        continue;
                    };
                    let home = ab_root
                        .join("runs")
                        .join(format!("side-{i}"))
                        .join(format!("round-{round}"))
                        .join(e.name())
                        .join(suite);
                    if home.exists() {
                        std::fs::remove_dir_all(&home).map_err(|source| GateError::Write {
                            path: home.clone(),
                            source,
                        })?;
                    }
                    let mut env = e.env();
                    env.push(("CRITERION_HOME".into(), home.display().to_string()));
                    let inv = Invocation {
                        program: exe.display().to_string(),
                        args: [vec!["--bench".to_string()], crit_args.clone()].concat(),
                        env,
                        cwd: side.dir.clone(),
                    };
                    side.commands.push(inv.display());
                    bar.set_message(format!("round {round} {} {e} {suite}", side.label));
                    let log = ab_root.join("logs").join(format!(
                        "{}-{round}-{e}-{suite}.log",
                        side.label.replace('\'', "p")
                    ));
                    inv.run(&log, |_| {})?;
                    if home.exists() {
                        for rec in import_criterion(&home, &e.name(), suite)? {
                            pool_run(&mut side.records, rec, round as u32);
                        }
                    }
                    bar.inc(1);
                }
            }
        }
    }
    bar.finish_and_clear();

    let settings = RunSettings {
        source: "ab".into(),
        quick: opts.run.quick,
        criterion_args: crit_args,
    };
    let mut entries_out = entry_records;
    for &e in &runnable {
        entries_out.push(EntryRecord {
            matrix: e.name(),
            status: EntryStatus::Ran,
            reason: None,
            suites: selected
                .iter()
                .filter(|s| e.runs(s))
                .map(|s| s.name.clone())
                .collect(),
            skipped_suites: e.skipped_suites(&selected),
        });
    }
    let mut files = sides.into_iter().map(|s| {
        ResultsFile::new(
            Fingerprint::collect(&s.dir),
            settings.clone(),
            s.commands,
            entries_out.clone(),
            s.records.into_values().collect(),
        )
    });
    let a = files.next().expect("two sides");
    let b = files.next().expect("two sides");
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_numbers_samples_with_their_round() {
        let rec = |ns: Vec<f64>| BenchmarkRecord {
            matrix: "cpu-avx2".into(),
            suite: "kernels".into(),
            id: "gemv/i2s/1".into(),
            group: "gemv".into(),
            function: None,
            value: None,
            throughput: None,
            sampling_mode: "Flat".into(),
            iters: vec![1.0; ns.len()],
            sample_ns: ns,
            runs: Vec::new(),
        };
        let mut pool_map = BTreeMap::new();
        pool_run(&mut pool_map, rec(vec![1.0, 2.0]), 0);
        pool_run(&mut pool_map, rec(vec![5.0, 6.0, 7.0]), 1);
        let r = pool_map.values().next().unwrap();
        assert_eq!(r.sample_ns, vec![1.0, 2.0, 5.0, 6.0, 7.0]);
        assert_eq!(r.runs, vec![0, 0, 1, 1, 1]);
        assert_eq!(r.run_means(), Some(vec![1.5, 6.0]));
    }
}
