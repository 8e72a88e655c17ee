//! Building a revision's criterion suites and finding their executables
//! through cargo's JSON messages.

use crate::error::{GateError, Result};
use crate::runner::exec::Invocation;
use crate::runner::MatrixEntry;
use std::path::{Path, PathBuf};

/// Builds `suites` of the worktree at `dir` for `entry` into the shared
/// `target` directory (dependencies are reused; the two revisions' own crates
/// live at different paths, so their artifacts never collide). Returns the
/// command line and (suite, executable) pairs.
pub fn bench_binaries(
    dir: &Path,
    target: &Path,
    entry: MatrixEntry,
    suites: &[String],
) -> Result<(String, Vec<(String, PathBuf)>)> {
    let mut args = vec![
        "bench".to_string(),
        "-p".into(),
        "bitnet-benches".into(),
        "--no-run".into(),
        "--message-format=json".into(),
    ];
    if let Some(f) = entry.features() {
        args.extend(["--features".to_string(), f.to_string()]);
    }
    for s in suites {
        args.extend(["--bench".to_string(), s.clone()]);
    }
    let inv = Invocation {
        program: "cargo".into(),
        args,
        env: vec![("CARGO_TARGET_DIR".to_string(), target.display().to_string())],
        cwd: dir.to_path_buf(),
    };
    let mut found = Vec::new();
    let log = target
        .join("perf-gate")
        .join("ab")
        .join("logs")
        .join(format!(
            "build-{}-{entry}.log",
            dir.file_name().and_then(|n| n.to_str()).unwrap_or("rev")
        ));
    inv.run(&log, |line| {
        if let Some(pair) = executable(line) {
            found.push(pair);
        }
    })?;
    for s in suites {
        if !found.iter().any(|(name, _)| name == s) {
            return Err(GateError::Command {
                command: inv.display(),
                problem: format!("no executable for suite '{s}' in cargo's output"),
            });
        }
    }
    Ok((inv.display(), found))
}

/// (target name, executable) of a bench artifact message.
fn executable(line: &str) -> Option<(String, PathBuf)> {
    let msg: serde_json::Value = serde_json::from_str(line).ok()?;
    if msg.get("reason")?.as_str()? != "compiler-artifact" {
        return None;
    }
    let target = msg.get("target")?;
    let is_bench = target
        .get("kind")?
        .as_array()?
        .iter()
        .any(|k| k.as_str() == Some("bench"));
    if !is_bench {
        return None;
    }
    let exe = msg.get("executable")?.as_str()?;
    Some((
        target.get("name")?.as_str()?.to_string(),
        PathBuf::from(exe),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_cargo_artifact_messages() {
        let line = r#"{"reason":"compiler-artifact","target":{"kind":["bench"],"name":"kernels"},"executable":"/t/release/deps/kernels-abc"}"#;
        assert_eq!(
            super::executable(line),
            Some(("kernels".into(), "/t/release/deps/kernels-abc".into()))
        );
        let lib = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"engine"},"executable":null}"#;
        assert_eq!(super::executable(lib), None);
        assert_eq!(super::executable("Compiling foo"), None);
    }
}
