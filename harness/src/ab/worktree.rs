//! Checking out revisions in detached git worktrees under
//! `target/perf-gate/ab/<commit>`; an existing one at the right commit is
//! reused so repeated runs rebuild incrementally.

use crate::error::{GateError, Result};
use crate::runner::exec::Invocation;
use std::path::{Path, PathBuf};

/// Full commit id of `rev` (any git revision syntax).
pub fn resolve(root: &Path, rev: &str) -> Result<String> {
    let repo = git2::Repository::discover(root)?;
    let obj = repo.revparse_single(rev).map_err(|e| {
        GateError::Usage(format!("cannot resolve revision '{rev}': {}", e.message()))
    })?;
    let commit = obj
        .peel_to_commit()
        .map_err(|e| GateError::Usage(format!("'{rev}' is not a commit: {}", e.message())))?;
    Ok(commit.id().to_string())
}

/// A worktree of `commit` under `under`, created with `git worktree add`.
pub fn checkout(root: &Path, commit: &str, under: &Path) -> Result<PathBuf> {
    let dir = under.join(&commit[..commit.len().min(12)]);
    if dir.join(".git").exists() {
        if let Ok(repo) = git2::Repository::open(&dir) {
            let at = repo
                .head()
                .ok()
                .and_then(|h| h.peel_to_commit().ok())
                .map(|c| c.id().to_string());
            if at.as_deref() == Some(commit) {
                return Ok(dir);
            }
        }
    }
    std::fs::create_dir_all(under).map_err(|source| GateError::Write {
        path: under.to_path_buf(),
        source,
    })?;
    let inv = Invocation {
        program: "git".into(),
        args: vec![
            "worktree".into(),
            "add".into(),
            "--force".into(),
            "--detach".into(),
            dir.display().to_string(),
            commit.to_string(),
        ],
        env: Vec::new(),
        cwd: root.to_path_buf(),
    };
    inv.run(
        &under.join(format!("worktree-{}.log", &commit[..12.min(commit.len())])),
        |_| {},
    )?;
    Ok(dir)
}
