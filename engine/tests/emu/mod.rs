//! Builds the CUDA kernel sources for the CPU emulator (`cuda_emu.h`) into
//! one shared library and launches kernels with host pointers.
//!
//! The program text is exactly what NVRTC compiles ([`Module::program`] and
//! [`defines`]) with two mechanical rewrites the host compiler needs:
//! dynamic `extern __shared__` arrays become the emulator's per-block buffer,
//! and the two PTX `cvt` half conversions become software ones. Launch
//! shapes come from [`engine::cuda::launch`], as in the real backend.

use engine::cuda::launch::LaunchShape;
use engine::cuda::source::{defines, Module};
use std::ffi::c_void;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

pub struct Emu {
    lib: libloading::Library,
    _dir: tempfile::TempDir,
}

/// Kernel arguments, each stored in 8 bytes (pointers, int, long long, float).
#[derive(Default)]
pub struct Args(Vec<u64>);

impl Args {
    pub fn ptr<T>(mut self, p: *const T) -> Self {
        self.0.push(p as usize as u64);
        self
    }
    pub fn mut_ptr<T>(mut self, p: *mut T) -> Self {
        self.0.push(p as usize as u64);
        self
    }
    pub fn i32(mut self, v: i32) -> Self {
        self.0.push(v as u32 as u64);
        self
    }
    pub fn i64(mut self, v: i64) -> Self {
        self.0.push(v as u64);
        self
    }
    pub fn f32(mut self, v: f32) -> Self {
        self.0.push(v.to_bits() as u64);
        self
    }
}

type Entry = unsafe extern "C" fn(u32, u32, u32, u32, u32, *mut *mut c_void);

fn rewrite(program: &str) -> String {
    let cvt = [
        (
            r#"asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));"#,
            "f = emu_f16_to_f32(h);",
        ),
        (
            r#"asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));"#,
            "h = emu_f32_to_f16(f);",
        ),
    ];
    let mut text = program.to_string();
    for (from, to) in cvt {
        assert!(
            text.contains(from),
            "common.cuh changed: update the emulator rewrite"
        );
        text = text.replace(from, to);
    }
    text.lines()
        .map(
            |line| match line.trim().strip_prefix("extern __shared__ ") {
                Some(decl) => {
                    let decl = decl.trim_end_matches("[];");
                    let (ty, name) = decl.rsplit_once(' ').expect("extern __shared__ T name[];");
                    format!("{ty}* {name} = reinterpret_cast<{ty}*>(emu_dyn_smem());")
                }
                None => line.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// `extern "C"` trampolines `emu_<kernel>(grid, threads, smem, args)`.
fn trampolines(program: &str) -> String {
    let mut out = String::new();
    for part in program.split("extern \"C\" __global__").skip(1) {
        let sig = &part[..part.find('{').unwrap()];
        let sig = match sig.find("__launch_bounds__") {
            Some(i) => &sig[i + sig[i..].find(')').unwrap() + 1..],
            None => sig,
        };
        let open = sig.find('(').unwrap();
        let name = sig[..open].split_whitespace().last().unwrap();
        let params = &sig[open + 1..sig.rfind(')').unwrap()];
        let casts: Vec<String> = params
            .split(',')
            .enumerate()
            .map(|(i, p)| {
                let toks: Vec<&str> = p
                    .split_whitespace()
                    .filter(|t| *t != "__restrict__")
                    .collect();
                let ty = toks[..toks.len() - 1].join(" ");
                format!("*reinterpret_cast<{ty}*>(a[{i}])")
            })
            .collect();
        out += &format!(
            "extern \"C\" void emu_{name}(unsigned gx, unsigned gy, unsigned gz, unsigned threads, \
             unsigned smem, void** a) {{\n  emu::launch(gx, gy, gz, threads, smem, [&] {{ {name}({}); }});\n}}\n",
            casts.join(", ")
        );
    }
    out
}

impl Emu {
    /// The process-wide emulator, or `None` (with one skip line) without a C++ compiler.
    pub fn get() -> Option<&'static Emu> {
        static EMU: OnceLock<Option<Emu>> = OnceLock::new();
        EMU.get_or_init(|| match Emu::build() {
            Ok(e) => Some(e),
            Err(why) => {
                println!("skipped: CUDA emulator unavailable: {why}");
                None
            }
        })
        .as_ref()
    }

    fn build() -> Result<Emu, String> {
        let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let emu_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/emu");
        let header: String = defines()
            .into_iter()
            .map(|(k, v)| format!("#define {k} {v}\n"))
            .collect();
        let mut files = Vec::new();
        for m in Module::ALL {
            let program = rewrite(&m.program());
            let text = format!(
                "#include \"cuda_emu.h\"\n{header}{program}\n{}",
                trampolines(&program)
            );
            let path = dir.path().join(format!("{}.cpp", m.file()));
            std::fs::write(&path, text).map_err(|e| e.to_string())?;
            files.push(path);
        }
        let lib = dir.path().join("libbitnet_cuda_emu.so");
        let out = Command::new(&cxx)
            .args(["-std=c++20", "-O2", "-shared", "-fPIC", "-pthread"])
            .args(["-Wall", "-Wno-unknown-pragmas", "-Wno-unused-function"])
            .arg("-I")
            .arg(&emu_dir)
            .args(&files)
            .arg("-o")
            .arg(&lib)
            .output()
            .map_err(|e| format!("{cxx}: {e}"))?;
        if !out.status.success() {
            panic!(
                "emulated kernels failed to compile:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // SAFETY: the library was just built from our sources; its only
        // initialisers are C++ static constructors of the emulator.
        let lib = unsafe { libloading::Library::new(&lib) }.map_err(|e| e.to_string())?;
        Ok(Emu { lib, _dir: dir })
    }

    /// Runs `kernel` over `shape` with `args` (host pointers).
    pub fn launch(&self, kernel: &str, shape: LaunchShape, args: Args) {
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let mut vals = args.0;
        let mut ptrs: Vec<*mut c_void> = vals
            .iter_mut()
            .map(|v| v as *mut u64 as *mut c_void)
            .collect();
        // SAFETY: `emu_<kernel>` is generated with exactly this signature;
        // the caller passes argument values matching the kernel's parameters.
        let f = unsafe { self.lib.get::<Entry>(format!("emu_{kernel}\0").as_bytes()) }
            .unwrap_or_else(|e| panic!("no kernel {kernel}: {e}"));
        let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let (g, b) = (shape.grid, shape.block);
        // SAFETY: see above; every pointer argument refers to a live host
        // buffer of the size the kernel indexes (the tests size them as the
        // backend does), and kernels run to completion before this returns.
        unsafe { f(g.0, g.1, g.2, b.0, shape.shared_bytes, ptrs.as_mut_ptr()) };
    }
}
