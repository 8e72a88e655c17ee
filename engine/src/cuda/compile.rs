//! NVRTC compilation with a per-process cache.
//!
//! Each [`Module`] is compiled once per architecture per process (the first
//! launch pays it; later backends on the same architecture reuse the PTX).
//! Warnings count as errors: NVRTC's log must be empty, so a warning can
//! never hide in a log nobody reads.

use super::params::Arch;
use super::source::{compile_options, Module};
use super::{libs, CudaError};
use cudarc::nvrtc::result as nvrtc;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::sync::{Arc, Mutex, OnceLock};

type Cache = Mutex<HashMap<(Module, Arch), Arc<str>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// NVRTC's version `(major, minor)`.
pub fn nvrtc_version() -> Result<(i32, i32), CudaError> {
    libs::nvrtc()?;
    let (mut major, mut minor) = (0, 0);
    // SAFETY: `libs::nvrtc` guaranteed the library loads; the out-pointers are valid.
    unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) }
        .result()
        .map_err(|e| CudaError::Driver {
            op: "nvrtcVersion".into(),
            detail: format!("{e:?}"),
        })?;
    Ok((major, minor))
}

/// PTX of `module` for `arch`, compiled on first use and cached.
pub fn ptx(module: Module, arch: Arch) -> Result<Arc<str>, CudaError> {
    if let Some(p) = cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(module, arch))
    {
        return Ok(p.clone());
    }
    let p: Arc<str> = compile_uncached(module, arch)?.into();
    cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((module, arch), p.clone());
    Ok(p)
}

/// Compiles without the cache (the CI compile test checks every module).
pub fn compile_uncached(module: Module, arch: Arch) -> Result<String, CudaError> {
    libs::nvrtc()?;
    let err = |log: String| CudaError::Compile {
        file: module.file(),
        arch: arch.compute_name(),
        log,
    };
    let src = CString::new(module.program()).map_err(|_| err("source contains NUL".into()))?;
    let name = CString::new(module.file()).map_err(|_| err("name contains NUL".into()))?;
    let prog = nvrtc::create_program(&src, Some(&name)).map_err(|e| err(format!("{e:?}")))?;
    let opts = compile_options(arch);
    // SAFETY: `prog` was just created and is destroyed exactly once below;
    // `src` and `name` outlive it.
    let out = unsafe {
        let status = nvrtc::compile_program(prog, &opts);
        let log = nvrtc::get_program_log(prog)
            .map(|raw| CStr::from_ptr(raw.as_ptr()).to_string_lossy().into_owned());
        let ptx = match status {
            Ok(()) => nvrtc::get_ptx(prog)
                .map(|raw| CStr::from_ptr(raw.as_ptr()).to_string_lossy().into_owned()),
            Err(e) => Err(e),
        };
        let _ = nvrtc::destroy_program(prog);
        (status, log, ptx)
    };
    let (status, log, ptx) = out;
    let log = log.map_err(|e| err(format!("reading the log failed: {e:?}")))?;
    let log = log
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_string();
    if let Err(e) = status {
        return Err(err(format!("{e:?}\n{log}")));
    }
    if !log.is_empty() {
        return Err(err(format!("warnings are errors:\n{log}")));
    }
    ptx.map_err(|e| err(format!("reading the PTX failed: {e:?}")))
}
