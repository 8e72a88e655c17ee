//! The one place the engine maps a file into memory.

use super::GgufError;
use memmap2::Mmap;
use std::fs::File;

/// Maps `file` read-only.
pub(crate) fn map(path: &str, file: &File) -> Result<Mmap, GgufError> {
    // SAFETY: the map is read-only and private to this process. memmap2 cannot
    // rule out another process truncating or rewriting the file while it is
    // mapped (that would be a SIGBUS or changed bytes, never a safe-Rust
    // aliasing violation of ours); every model file we write is created under
    // a temporary name and renamed into place, so a file is never modified
    // after it becomes visible under its final name.
    unsafe { Mmap::map(file) }.map_err(|e| GgufError::io(path, e))
}
