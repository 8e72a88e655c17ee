//! `inspect` reads the header and never the weights: on a model with the
//! 2B4T vocabulary (128 256 tokens) its resident memory grows by far less
//! than 100 MB and by less than half the file. Alone in its test binary so
//! that the process's peak RSS (VmHWM) measures this test only.

use engine::gguf::{GgufFile, InspectReport};
use std::process::Command;

fn proc_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn inspect_does_not_read_the_weights() {
    let Some(rss_before) = proc_kib("VmRSS:") else {
        println!("skipped: /proc/self/status is not available on this system");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vocab128k.gguf");
    // Written by a child process so that writing does not count here.
    let status = Command::new(env!("CARGO_BIN_EXE_bitnet"))
        .args([
            "synth", "--preset", "2b4t", "--layers", "1", "--hidden", "256", "--ffn", "256",
        ])
        .args(["--heads", "2", "--kv-heads", "1", "--type", "i2s", "-o"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let file_kib = std::fs::metadata(&path).unwrap().len() / 1024;

    let file = GgufFile::open(&path).unwrap();
    let report = InspectReport::new(&file);
    let text = report.to_text();
    let json = report.to_json();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(text.contains("128256 tokens") && json.contains("\"tokens\": 128256"));

    let peak = proc_kib("VmHWM:").unwrap();
    let grown = peak.saturating_sub(rss_before);
    println!(
        "inspect: file {file_kib} KiB, RSS before {rss_before} KiB, peak {peak} KiB (+{grown} KiB)"
    );
    assert!(grown < 100 * 1024, "inspect grew RSS by {grown} KiB");
    assert!(
        grown < file_kib / 2,
        "inspect grew RSS by {grown} KiB of a {file_kib} KiB file"
    );
}
