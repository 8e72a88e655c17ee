//! Atomic file writes: a reader (or a crash) sees the old file or the new
//! one, never a prefix of the new one.
//!
//! The bytes go to a temporary file in the *same directory* (so the final
//! rename never crosses a file system), are flushed and fsynced, and only then
//! renamed over the target with `tempfile`'s `persist`.

use crate::error::{GateError, Result};
use std::io::Write;
use std::path::Path;

/// Test-only fault injection: when this variable holds a number of
/// milliseconds, the writer stops half-way through the temporary file for that
/// long, so a test can kill the process mid-write and check the target.
pub const STALL_ENV: &str = "PERF_GATE_STALL_WRITE_MS";

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |source| GateError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".perf-gate-").suffix(".tmp");
    // tempfile creates 0600; baselines and reports are meant to be read by
    // others (CI artifacts, web servers), like any file `cp` would write.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(err)?;
    let stall = std::env::var(STALL_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    match stall {
        Some(ms) => {
            let half = bytes.len() / 2;
            tmp.write_all(&bytes[..half]).map_err(err)?;
            tmp.as_file().sync_all().map_err(err)?;
            eprintln!("perf-gate: stalling {ms} ms mid-write ({STALL_ENV})");
            std::thread::sleep(std::time::Duration::from_millis(ms));
            tmp.write_all(&bytes[half..]).map_err(err)?;
        }
        None => tmp.write_all(bytes).map_err(err)?,
    }
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub").join("b.json");
        write_atomic(&target, b"first version, long").unwrap();
        write_atomic(&target, b"second").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(target.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("b.json")]);
    }

    #[test]
    fn unwritable_target_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let e = write_atomic(&blocker.join("child.json"), b"x").unwrap_err();
        assert!(e.to_string().contains("child.json"), "{e}");
    }
}
