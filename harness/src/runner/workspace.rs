//! Locating the workspace root (the directory holding `benches/`).

use crate::error::{GateError, Result};
use std::path::{Path, PathBuf};

/// Walks up from `start` to the first directory whose `Cargo.toml` declares a
/// `[workspace]` and that contains `benches/Cargo.toml`.
pub fn find_root(start: &Path) -> Result<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let manifest = d.join("Cargo.toml");
        if d.join("benches").join("Cargo.toml").is_file()
            && std::fs::read_to_string(&manifest).is_ok_and(|t| t.contains("[workspace]"))
        {
            return Ok(d.to_path_buf());
        }
        dir = d.parent();
    }
    Err(GateError::Usage(format!(
        "no bitnet-gate workspace (Cargo.toml with [workspace] and benches/) at or above {}",
        start.display()
    )))
}

/// `<root>/target` unless `CARGO_TARGET_DIR` says otherwise.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let p = PathBuf::from(d);
            if p.is_absolute() {
                p
            } else {
                root.join(p)
            }
        }
        _ => root.join("target"),
    }
}
