//! Finding `libcuda` and `libnvrtc` before cudarc does.
//!
//! cudarc (with `dynamic-loading`) opens its libraries lazily and *panics*
//! when none of its candidate names loads. We probe first with a subset of
//! cudarc's own candidate names, so a successful probe guarantees cudarc's
//! lookup succeeds too, and a missing library is a typed error instead.
//!
//! NVRTC from the `nvidia-cuda-nvrtc-cu12` wheel lives in a directory the
//! loader does not search. When `BITNET_NVRTC_DIR` names it we open
//! `libnvrtc.so.12` there by absolute path and keep it loaded for the life of
//! the process: the dynamic loader then answers cudarc's later
//! `dlopen("libnvrtc.so.12")` with the already-loaded object (it matches the
//! library's SONAME), so no symlink or `LD_LIBRARY_PATH` is needed.

use super::CudaError;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Directory holding `libnvrtc.so.12` (set by `ci/env.sh`).
pub const NVRTC_DIR_ENV: &str = "BITNET_NVRTC_DIR";

#[cfg(windows)]
const DRIVER_NAMES: &[&str] = &["nvcuda.dll"];
#[cfg(not(windows))]
const DRIVER_NAMES: &[&str] = &["libcuda.so", "libcuda.so.1"];

#[cfg(windows)]
const NVRTC_NAMES: &[&str] = &["nvrtc64_120_0.dll", "nvrtc.dll"];
#[cfg(not(windows))]
const NVRTC_NAMES: &[&str] = &["libnvrtc.so.12", "libnvrtc.so"];

/// Loaded libraries are kept here and never unloaded.
struct Loaded {
    _libs: Vec<libloading::Library>,
}

fn open(name: &str) -> Option<libloading::Library> {
    // SAFETY: loading the NVIDIA driver / NVRTC runs their initialisers,
    // which have no preconditions; the handle is kept for the whole process
    // so no symbol outlives its library.
    unsafe { libloading::Library::new(name) }.ok()
}

fn probe(names: &[&str], dir: Option<PathBuf>) -> Result<Loaded, Vec<String>> {
    let mut libs = Vec::new();
    let mut searched = Vec::new();
    if let Some(dir) = dir {
        for name in names {
            let path = dir.join(name);
            searched.push(path.display().to_string());
            if let Some(lib) = open(&path.to_string_lossy()) {
                libs.push(lib);
                break;
            }
        }
    }
    // By bare name: what cudarc itself will ask for.
    for name in names {
        searched.push((*name).to_string());
        if let Some(lib) = open(name) {
            libs.push(lib);
            return Ok(Loaded { _libs: libs });
        }
    }
    Err(searched)
}

/// Makes sure cudarc's driver lookup will succeed.
pub fn driver() -> Result<(), CudaError> {
    static DRIVER: OnceLock<Result<Loaded, Vec<String>>> = OnceLock::new();
    match DRIVER.get_or_init(|| probe(DRIVER_NAMES, None)) {
        Ok(_) => Ok(()),
        Err(searched) => Err(CudaError::NoDriver {
            searched: searched.clone(),
        }),
    }
}

/// Makes sure cudarc's NVRTC lookup will succeed.
pub fn nvrtc() -> Result<(), CudaError> {
    static NVRTC: OnceLock<Result<Loaded, Vec<String>>> = OnceLock::new();
    let dir = || std::env::var_os(NVRTC_DIR_ENV).map(PathBuf::from);
    match NVRTC.get_or_init(|| probe(NVRTC_NAMES, dir())) {
        Ok(_) => Ok(()),
        Err(searched) => Err(CudaError::NvrtcMissing {
            searched: searched.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_lists_what_was_searched() {
        let dir = std::env::temp_dir().join("bitnet-no-such-dir");
        let err = probe(&["libbitnet-does-not-exist.so"], Some(dir.clone()))
            .err()
            .unwrap();
        assert_eq!(
            err,
            vec![
                dir.join("libbitnet-does-not-exist.so")
                    .display()
                    .to_string(),
                "libbitnet-does-not-exist.so".to_string()
            ]
        );
    }
}
