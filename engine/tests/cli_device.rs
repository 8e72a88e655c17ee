//! `bitnet device --device ...`: auto falls back with one stderr line, an
//! explicit cuda request fails loudly, bad specs are rejected by the parser.

use std::process::Command;

fn bitnet(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bitnet"))
        .args(args)
        .output()
        .expect("run bitnet");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn auto_and_cuda_agree_on_whether_a_gpu_is_usable() {
    let (code, stdout, stderr) = bitnet(&["device", "--device", "auto"]);
    assert_eq!(code, 0, "{stderr}");
    let (cuda_code, cuda_out, cuda_err) = bitnet(&["device", "--device", "cuda:0"]);
    if stdout.starts_with("device: cuda:0") {
        assert!(stderr.is_empty(), "{stderr}");
        assert_eq!(cuda_code, 0, "{cuda_err}");
        assert!(cuda_out.starts_with("device: cuda:0"));
    } else {
        assert_eq!(stdout.trim(), "device: cpu");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("using CPU, CUDA unavailable ("), "{stderr}");
        assert_eq!(cuda_code, 1);
        assert!(cuda_out.is_empty());
        assert!(
            cuda_err.starts_with("error: --device cuda:0: "),
            "{cuda_err}"
        );
    }
}

#[test]
fn cpu_is_silent_and_bad_specs_are_rejected() {
    let (code, stdout, stderr) = bitnet(&["device", "--device", "cpu"]);
    assert_eq!(
        (code, stdout.trim(), stderr.as_str()),
        (0, "device: cpu", "")
    );
    let (code, _, stderr) = bitnet(&["device", "--device", "cuda:x"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("expected auto, cpu, cuda or cuda:N"),
        "{stderr}"
    );
}
