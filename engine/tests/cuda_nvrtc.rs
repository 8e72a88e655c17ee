//! Compiles every CUDA kernel source with NVRTC for sm_80 and sm_90 (PTX for
//! compute_80 / compute_90). Needs libnvrtc (the `nvidia-cuda-nvrtc-cu12`
//! wheel; `ci/env.sh` sets BITNET_NVRTC_DIR) but no GPU or driver.
//!
//! Any compile error *or warning* fails. Without libnvrtc the test prints one
//! skip line, unless `CI=true`, where a missing NVRTC is a failure.

use engine::cuda::{compile_ptx, nvrtc_version, Arch, CudaError, Module, COMPILED_IN};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

#[test]
fn every_kernel_source_compiles_cleanly_for_sm80_and_sm90() {
    if !COMPILED_IN {
        assert!(!in_ci(), "CI must build with --features bitnet-engine/gpu");
        println!("skipped: NVRTC compile check needs --features gpu");
        return;
    }
    match nvrtc_version() {
        Ok((major, minor)) => println!("NVRTC {major}.{minor}"),
        Err(e @ CudaError::NvrtcMissing { .. }) if !in_ci() => {
            println!("skipped: {e}");
            return;
        }
        Err(e) => panic!("NVRTC unavailable: {e}"),
    }
    let mut failures = Vec::new();
    for arch in [Arch::SM80, Arch::SM90] {
        for m in Module::ALL {
            match compile_ptx(m, arch) {
                Ok(ptx) => {
                    for entry in m.entries() {
                        assert!(
                            ptx.contains(&format!(".entry {entry}(")),
                            "{} for {arch}: PTX lacks kernel {entry}",
                            m.file()
                        );
                    }
                    assert!(ptx.contains(&format!(".target sm_{}{}", arch.major, arch.minor)));
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn w2a8_kernels_use_dp4a() {
    if !COMPILED_IN || nvrtc_version().is_err() {
        println!("skipped: needs --features gpu and libnvrtc");
        return;
    }
    for m in [Module::GemvW2a8, Module::GemmW2a8] {
        let ptx = compile_ptx(m, Arch::SM80).unwrap();
        assert!(
            ptx.contains("dp4a.s32.s32"),
            "{} does not use dp4a",
            m.file()
        );
    }
}
