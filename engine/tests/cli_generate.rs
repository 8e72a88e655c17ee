//! `bitnet generate` / `bitnet logits` / `BITNET_SIMD` through the real
//! binary on a tiny synthetic model: the JSON shape users script against, and
//! exit code 1 with a message naming the problem for each kind of bad input.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn bitnet_env(args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bitnet"));
    cmd.args(args).env_remove("BITNET_SIMD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run bitnet");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn bitnet(args: &[&str]) -> Out {
    bitnet_env(args, &[])
}

/// One tiny I2S model (1 layer, vocab 512, context 512) shared by the tests.
fn model() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tiny-i2s.gguf");
        let out = bitnet(&[
            "synth",
            "--preset",
            "tiny",
            "--layers",
            "1",
            "--type",
            "i2s",
            "--seed",
            "3",
            "-o",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.code, 0, "synth failed: {}", out.stderr);
        (dir, path)
    });
    path
}

fn model_arg() -> &'static str {
    model().to_str().unwrap()
}

#[test]
fn logits_all_json_has_one_row_of_vocab_size_per_token() {
    let out = bitnet(&[
        "logits",
        "--model",
        model_arg(),
        "--tokens",
        "1,2,300",
        "--all",
        "--json",
        "--threads",
        "1",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["tokens"], serde_json::json!([1, 2, 300]));
    let rows = v["logits"].as_array().expect("logits array");
    assert_eq!(rows.len(), 3);
    for row in rows {
        let row = row.as_array().expect("row");
        assert_eq!(row.len(), 512);
        assert!(row.iter().all(|x| x.as_f64().is_some_and(f64::is_finite)));
    }

    // Without --all: the last position only, equal to the last row above
    // (a causal model's last row does not depend on how it was asked for).
    let last = bitnet(&[
        "logits",
        "--model",
        model_arg(),
        "--tokens",
        "1,2,300",
        "--json",
        "--threads",
        "1",
    ]);
    assert_eq!(last.code, 0, "{}", last.stderr);
    let l: serde_json::Value = serde_json::from_str(&last.stdout).unwrap();
    assert_eq!(l["logits"].as_array().unwrap().len(), 1);
    assert_eq!(l["logits"][0], rows[2]);
}

fn logits_rows(extra: &[&str]) -> Vec<Vec<f64>> {
    let mut args = vec![
        "logits",
        "--model",
        model_arg(),
        "--tokens",
        "1,2,300",
        "--all",
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = bitnet(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    v["logits"]
        .as_array()
        .expect("logits")
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

fn max_abs_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// `--reference quantized` is the f64 graph with the engine's int8 rounding,
/// so it matches the engine to float rounding; `--reference exact` skips
/// that rounding, so it sits measurably further away (crossval.sh uses it
/// to tell rounding from graph differences).
#[test]
fn logits_reference_graphs_bracket_the_engine() {
    let engine = logits_rows(&[]);
    let quantized = logits_rows(&["--reference", "quantized"]);
    let exact = logits_rows(&["--reference", "exact"]);
    assert_eq!(quantized.len(), 3);
    assert!(quantized.iter().chain(&exact).all(|r| r.len() == 512));
    let dq = max_abs_diff(&engine, &quantized);
    let de = max_abs_diff(&engine, &exact);
    assert!(dq < 1e-3, "engine vs quantized reference: {dq}");
    assert!(de > 10.0 * dq, "engine vs exact {de}, vs quantized {dq}");
    let bad = bitnet(&[
        "logits",
        "--model",
        model_arg(),
        "--tokens",
        "1",
        "--reference",
        "f16",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("f16"), "{}", bad.stderr);
}

#[test]
fn generate_streams_ids_and_reports_speed_on_stderr() {
    let greedy = |threads: &str| {
        bitnet(&[
            "generate",
            "--model",
            model_arg(),
            "--prompt-ids",
            "1,5,9",
            "-n",
            "4",
            "--temp",
            "0",
            "--print-ids",
            "--threads",
            threads,
        ])
    };
    let out = greedy("1");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ids: Vec<u32> = out
        .stdout
        .split_whitespace()
        .map(|t| t.parse().expect("token id"))
        .collect();
    assert!(!ids.is_empty() && ids.len() <= 4, "{}", out.stdout);
    assert!(ids.iter().all(|&t| t < 512));
    assert!(out.stderr.contains("prefill: 3 tokens"), "{}", out.stderr);
    assert!(out.stderr.contains("tok/s"), "{}", out.stderr);

    // Greedy is deterministic: the same call on two threads gives the same ids.
    assert_eq!(greedy("2").stdout, out.stdout);
}

fn assert_fails(out: &Out, needle: &str) {
    assert_eq!(
        out.code, 1,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    // `--device auto` may first note its fallback to the CPU on a line of
    // its own; the error is the last line.
    let last = out.stderr.lines().last().unwrap_or("");
    assert!(last.starts_with("error: "), "{}", out.stderr);
    assert!(
        last.contains(needle),
        "expected {needle:?} in {}",
        out.stderr
    );
}

#[test]
fn unknown_token_id_is_an_error() {
    let out = bitnet(&["logits", "--model", model_arg(), "--tokens", "1,512"]);
    assert_fails(&out, "512");
    let out = bitnet(&[
        "generate",
        "--model",
        model_arg(),
        "--prompt-ids",
        "70000",
        "-n",
        "2",
    ]);
    assert_fails(&out, "70000");
}

#[test]
fn prompt_longer_than_context_is_an_error() {
    let ids: Vec<String> = (0..600).map(|i| (i % 500).to_string()).collect();
    let ids = ids.join(",");
    let out = bitnet(&["logits", "--model", model_arg(), "--tokens", &ids]);
    assert_fails(&out, "context of 512");
    let out = bitnet(&[
        "generate",
        "--model",
        model_arg(),
        "--prompt-ids",
        "1,2,3",
        "-n",
        "511",
    ]);
    // 3 + 511 - 1 = 513 positions (the last sampled token is never fed back).
    assert_fails(&out, "exceed the model's context of 512");
}

#[test]
fn zero_new_tokens_is_an_error() {
    let out = bitnet(&[
        "generate",
        "--model",
        model_arg(),
        "--prompt-ids",
        "1,2",
        "-n",
        "0",
    ]);
    assert_fails(&out, "");
    assert!(out.stdout.is_empty());
}

#[test]
fn unknown_architecture_is_an_error() {
    // Same file with every "bitnet-b1.58" (the architecture value and the
    // prefix of its hyperparameter keys) renamed to an architecture nobody
    // knows; lengths match so all offsets stay valid.
    let bytes = std::fs::read(model()).unwrap();
    let from = b"bitnet-b1.58";
    let to = b"bitnet-x9.99";
    let mut patched = bytes.clone();
    let mut hits = 0;
    let mut i = 0;
    while i + from.len() <= patched.len() {
        if &patched[i..i + from.len()] == from {
            patched[i..i + from.len()].copy_from_slice(to);
            hits += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(hits >= 2, "architecture string not found ({hits} hits)");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unknown-arch.gguf");
    std::fs::write(&path, patched).unwrap();
    let p = path.to_str().unwrap();
    let out = bitnet(&["logits", "--model", p, "--tokens", "1"]);
    assert_fails(&out, "bitnet-x9.99");
    let out = bitnet(&["generate", "--model", p, "--prompt-ids", "1", "-n", "1"]);
    assert_fails(&out, "bitnet-x9.99");
}

#[test]
fn bitnet_simd_is_refused_when_invalid_and_honoured_when_valid() {
    let out = bitnet_env(&["cpu"], &[("BITNET_SIMD", "avx5")]);
    assert_fails(&out, "unknown SIMD level 'avx5'");
    assert!(out.stdout.is_empty());

    let out = bitnet_env(&["cpu"], &[("BITNET_SIMD", "scalar")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("simd: scalar"), "{}", out.stdout);
}

/// The bandwidth that `ci/crossval.sh` states the decode bound with.
#[test]
fn cpu_bandwidth_measures_with_threads_and_refuses_zero() {
    let out = bitnet(&["cpu", "--bandwidth", "--threads", "2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = out.stdout.lines().last().unwrap_or_default();
    let gbs: f64 = line
        .strip_prefix("read bandwidth: ")
        .and_then(|r| r.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no bandwidth in {line:?}"));
    assert!(gbs > 0.0 && gbs.is_finite(), "{line}");
    assert!(line.contains("(2 threads"), "{line}");
    let out = bitnet(&["cpu", "--bandwidth", "--threads", "0"]);
    assert_fails(&out, "at least one thread");
}

/// `--device` on `generate`/`logits`: `cpu` is silent; `auto` runs on CUDA
/// when the device can take the model, else on the CPU after exactly one
/// stderr line with the reason; `cuda` never falls back. Where a CUDA device
/// is usable, `cuda_exec`'s device-vs-CPU forward test covers that path.
#[test]
fn device_auto_falls_back_with_one_line_and_cuda_never_does() {
    if bitnet(&["device", "--device", "cuda:0"]).code == 0 {
        println!("skipped: a CUDA device is usable here (no fallback to observe)");
        return;
    }
    let run = |device: &str| {
        bitnet(&[
            "generate",
            "--model",
            model_arg(),
            "--prompt-ids",
            "1,2",
            "-n",
            "2",
            "--temp",
            "0",
            "--print-ids",
            "--device",
            device,
        ])
    };
    let cpu = run("cpu");
    assert_eq!(cpu.code, 0, "{}", cpu.stderr);
    assert!(!cpu.stderr.contains("device"), "{}", cpu.stderr);
    let auto = run("auto");
    assert_eq!(auto.code, 0, "{}", auto.stderr);
    assert_eq!(auto.stdout, cpu.stdout);
    let notes: Vec<&str> = auto
        .stderr
        .lines()
        .filter(|l| l.contains("device auto"))
        .collect();
    assert_eq!(notes.len(), 1, "{}", auto.stderr);
    assert!(notes[0].contains("using CPU"), "{}", notes[0]);
    let cuda = run("cuda");
    assert_fails(&cuda, "--device cuda:0");
    let logits = bitnet(&[
        "logits",
        "--model",
        model_arg(),
        "--tokens",
        "1",
        "--device",
        "cuda:1",
    ]);
    assert_fails(&logits, "--device cuda:1");
}
