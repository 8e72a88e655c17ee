//! Running one external command with its output captured to a log file and
//! its stdout lines offered to a callback (for progress messages).

use crate::error::{GateError, Result};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, Clone)]
pub struct Invocation {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
}

impl Invocation {
    /// Shell-like rendering (`VAR=value program args`), recorded in results
    /// files and reports so a reader can rerun exactly this.
    pub fn display(&self) -> String {
        let mut parts: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect();
        parts.push(quote(&self.program));
        parts.extend(self.args.iter().map(|a| quote(a)));
        parts.join(" ")
    }

    /// Runs to completion; stdout and stderr go to `log`. A non-zero exit is
    /// an error quoting the end of the log.
    pub fn run(&self, log: &Path, mut on_line: impl FnMut(&str)) -> Result<()> {
        let cmd_err = |problem: String| GateError::Command {
            command: self.display(),
            problem,
        };
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(|source| GateError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut log_file = std::fs::File::create(log).map_err(|source| GateError::Write {
            path: log.to_path_buf(),
            source,
        })?;
        let stderr = log_file.try_clone().map_err(|source| GateError::Write {
            path: log.to_path_buf(),
            source,
        })?;
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .map_err(|e| cmd_err(format!("cannot start: {e}")))?;
        if let Some(out) = child.stdout.take() {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(log_file, "{line}");
                on_line(&line);
            }
        }
        let status = child
            .wait()
            .map_err(|e| cmd_err(format!("cannot wait: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(cmd_err(format!(
                "{status}; log {}:\n{}",
                log.display(),
                tail.join("\n")
            )))
        }
    }
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_and_failure_reports_log() {
        let inv = Invocation {
            program: "sh".into(),
            args: vec!["-c".into(), "echo line one; echo oops >&2; exit 3".into()],
            env: vec![("A".into(), "b c".into())],
            cwd: std::env::temp_dir(),
        };
        assert_eq!(
            inv.display(),
            "A='b c' sh -c 'echo line one; echo oops >&2; exit 3'"
        );
        let dir = tempfile::tempdir().unwrap();
        let mut lines = Vec::new();
        let e = inv
            .run(&dir.path().join("x.log"), |l| lines.push(l.to_string()))
            .unwrap_err()
            .to_string();
        assert_eq!(lines, vec!["line one"]);
        assert!(e.contains("oops") && e.contains("exit status: 3"), "{e}");
    }
}
