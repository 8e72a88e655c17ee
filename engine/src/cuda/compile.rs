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

/// Architectures NVRTC can target, e.g. `[50, 52, ..., 90, 100, 120]`.
pub fn supported_archs() -> Result<Vec<i32>, CudaError> {
    libs::nvrtc()?;
    let fail = |e: cudarc::nvrtc::result::NvrtcError| CudaError::Driver {
        op: "nvrtcGetSupportedArchs".into(),
        detail: format!("{e:?}"),
    };
    let mut n = 0;
    // SAFETY: the library is loaded; `n` and the buffer are valid for the
    // sizes NVRTC reports.
    unsafe {
        cudarc::nvrtc::sys::nvrtcGetNumSupportedArchs(&mut n)
            .result()
            .map_err(fail)?;
        let mut archs = vec![0i32; n.max(0) as usize];
        cudarc::nvrtc::sys::nvrtcGetSupportedArchs(archs.as_mut_ptr())
            .result()
            .map_err(fail)?;
        Ok(archs)
    }
}

/// The architecture to compile for on a `device`: its own when NVRTC knows
/// it, else the newest older one NVRTC supports (PTX is forward-compatible,
/// so the driver JITs it for the newer chip). `None` if NVRTC is too new
/// for the device.
pub fn pick_arch(supported: &[i32], device: Arch) -> Option<Arch> {
    let want = (device.major * 10 + device.minor) as i32;
    supported
        .iter()
        .copied()
        .filter(|&a| a <= want)
        .max()
        .map(|a| Arch {
            major: (a / 10) as u32,
            minor: (a % 10) as u32,
        })
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
    run_nvrtc(module, compile_options(arch))
}

/// Compiles `module` to machine code for the real `sm_XY` (NVRTC runs ptxas),
/// so register, shared-memory and instruction errors surface without a GPU.
pub fn check_sass(module: Module, arch: Arch) -> Result<(), CudaError> {
    let mut opts = compile_options(arch);
    opts[0] = format!("--gpu-architecture=sm_{}{}", arch.major, arch.minor);
    run_nvrtc(module, opts).map(|_| ())
}

/// One NVRTC run; returns the PTX (for a virtual architecture) or fails on
/// any error or warning in the log.
fn run_nvrtc(module: Module, opts: Vec<String>) -> Result<String, CudaError> {
    libs::nvrtc()?;
    let target = opts[0]
        .trim_start_matches("--gpu-architecture=")
        .to_string();
    let err = |log: String| CudaError::Compile {
        file: module.file(),
        arch: target.clone(),
        log,
    };
    let src = CString::new(module.program()).map_err(|_| err("source contains NUL".into()))?;
    let name = CString::new(module.file()).map_err(|_| err("name contains NUL".into()))?;
    let prog = nvrtc::create_program(&src, Some(&name)).map_err(|e| err(format!("{e:?}")))?;
    // SAFETY: `prog` was just created and is destroyed exactly once below;
    // `src` and `name` outlive it.
    let out = unsafe {
        let status = nvrtc::compile_program(prog, &opts);
        let log = nvrtc::get_program_log(prog)
            .map(|raw| CStr::from_ptr(raw.as_ptr()).to_string_lossy().into_owned());
        let ptx = match status {
            Ok(()) if opts[0].contains("compute_") => nvrtc::get_ptx(prog)
                .map(|raw| CStr::from_ptr(raw.as_ptr()).to_string_lossy().into_owned()),
            Ok(()) => Ok(String::new()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_choice_prefers_the_device_then_the_newest_older() {
        let nvrtc = [75, 80, 86, 89, 90, 100, 120];
        let pick = |major, minor| pick_arch(&nvrtc, Arch { major, minor });
        assert_eq!(pick(8, 0), Some(Arch::SM80));
        assert_eq!(pick(9, 0), Some(Arch::SM90));
        assert_eq!(pick(8, 7), Some(Arch { major: 8, minor: 6 }));
        assert_eq!(
            pick(13, 0),
            Some(Arch {
                major: 12,
                minor: 0
            })
        );
        assert_eq!(pick(7, 0), None);
    }

    #[test]
    fn the_cache_compiles_each_module_once_per_arch() {
        if let Err(e) = libs::nvrtc() {
            println!("skipped: {e}");
            return;
        }
        let a = ptx(Module::Rope, Arch::SM80).unwrap();
        let b = ptx(Module::Rope, Arch::SM80).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "second call recompiled");
        let c = ptx(Module::Rope, Arch::SM90).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(c.contains(".target sm_90"));
    }
}
