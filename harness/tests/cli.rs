//! End to end through the `perf-gate` binary on fixture criterion
//! directories built here: exit codes, classifications, error messages.

mod common;

use common::criterion_dir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_perf-gate");

const IDS: [&str; 6] = [
    "quantize/i2s/4096",
    "quantize/tl1/4096",
    "quantize/tl2/4096",
    "dequantize/i2s/4096",
    "gemv/i2s/1024",
    "gemv/tl2/1024",
];

fn perf_gate(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("PERF_GATE_STALL_WRITE_MS")
        .output()
        .expect("run perf-gate")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Imports a fixture criterion directory into `<dir>/<name>.json`.
fn fixture(dir: &Path, name: &str, seed: u64, slow: &[(usize, f64)]) -> PathBuf {
    let home = dir.join(format!("criterion-{name}"));
    criterion_dir(&home, seed, &IDS, slow);
    let out = dir.join(format!("{name}.json"));
    let o = perf_gate(
        dir,
        &[
            "import",
            "--criterion",
            home.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--matrix",
            "cpu-avx2",
            "--suite",
            "quantization",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    out
}

fn compare(dir: &Path, base: &Path, cur: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "compare",
        "--baseline",
        base.to_str().unwrap(),
        "--current",
        cur.to_str().unwrap(),
        "--report",
        "out/report.md",
        "--json",
        "out/report.json",
    ];
    args.extend_from_slice(extra);
    perf_gate(dir, &args)
}

fn json_report(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("out/report.json")).unwrap()).unwrap()
}

fn class_of(report: &serde_json::Value, id: &str) -> String {
    report["comparison"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"]["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in report"))["class"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn planted_12_percent_slowdown_fails_as_major() {
    let d = tempfile::tempdir().unwrap();
    let base = fixture(d.path(), "base", 1, &[]);
    let cur = fixture(d.path(), "cur", 2, &[(2, 1.12)]);
    let o = compare(d.path(), &base, &cur, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = json_report(d.path());
    assert_eq!(r["decision"], "FAIL");
    assert_eq!(class_of(&r, "quantize/tl2/4096"), "major");
    for id in IDS.iter().filter(|i| **i != "quantize/tl2/4096") {
        assert!(
            !["minor", "major", "critical"].contains(&class_of(&r, id).as_str()),
            "{id} blamed"
        );
    }
    let md = std::fs::read_to_string(d.path().join("out/report.md")).unwrap();
    let decision = md.find("## Gate decision: ❌ FAIL").expect("decision");
    assert!(
        decision < md.find("## Summary").unwrap(),
        "decision comes first"
    );
    assert!(md.contains("**Evidence**: `method: Welch t-test"));
    assert!(md.contains("quantize/tl2/4096"));
    assert!(md.contains("Not provided"), "accuracy absent must be said");
    assert!(
        md.contains("**Confirm before acting.**"),
        "a FAIL from one process per side must say what the p-values leave out"
    );
    assert!(text(&o).contains("FAIL"));
}

#[test]
fn identical_data_passes() {
    let d = tempfile::tempdir().unwrap();
    let base = fixture(d.path(), "base", 1, &[]);
    let o = compare(d.path(), &base, &base, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = json_report(d.path());
    assert_eq!(r["decision"], "PASS");
    for id in IDS {
        assert_eq!(class_of(&r, id), "acceptable");
    }
    let md = std::fs::read_to_string(d.path().join("out/report.md")).unwrap();
    assert!(
        !md.contains("Confirm before acting"),
        "no caution on a PASS"
    );
}

#[test]
fn fresh_noise_without_change_passes() {
    let d = tempfile::tempdir().unwrap();
    let base = fixture(d.path(), "base", 1, &[]);
    let cur = fixture(d.path(), "cur", 99, &[]);
    let o = compare(d.path(), &base, &cur, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn per_benchmark_threshold_from_config() {
    let d = tempfile::tempdir().unwrap();
    let base = fixture(d.path(), "base", 1, &[]);
    let cur = fixture(d.path(), "cur", 2, &[(2, 1.12)]);
    std::fs::write(
        d.path().join("gate.toml"),
        "[[threshold]]\npattern = \"quantization/quantize/tl2/*\"\npercent = 20.0\n",
    )
    .unwrap();
    let o = compare(d.path(), &base, &cur, &["--config", "gate.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = compare(d.path(), &base, &cur, &["--threshold", "15"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = compare(d.path(), &base, &cur, &["--threshold", "3"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        class_of(&json_report(d.path()), "quantize/tl2/4096"),
        "critical"
    );
}

#[test]
fn one_sided_benchmarks_are_listed_not_fatal_and_fingerprint_warns() {
    let d = tempfile::tempdir().unwrap();
    let base = fixture(d.path(), "base", 1, &[]);
    let cur = fixture(d.path(), "cur", 3, &[]);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cur).unwrap()).unwrap();
    let extra = {
        let mut b = v["benchmarks"][0].clone();
        b["id"] = "brand/new/1".into();
        b
    };
    v["benchmarks"].as_array_mut().unwrap().push(extra);
    v["benchmarks"]
        .as_array_mut()
        .unwrap()
        .retain(|b| b["id"] != "quantize/tl1/4096");
    v["fingerprint"]["cpu_model"] = "Some Other CPU".into();
    std::fs::write(&cur, v.to_string()).unwrap();
    let o = compare(d.path(), &base, &cur, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("WARNING"), "{}", text(&o));
    let md = std::fs::read_to_string(d.path().join("out/report.md")).unwrap();
    assert!(md.contains("WARNING: the environments differ"));
    assert!(md.contains("Some Other CPU"));
    assert!(md.contains("brand/new/1`: only in the current run"));
    assert!(md.contains("quantize/tl1/4096`: only in the baseline"));
}

#[test]
fn accuracy_file_feeds_report_and_slo() {
    let d = tempfile::tempdir().unwrap();
    let base = fixture(d.path(), "base", 1, &[]);
    std::fs::write(
        d.path().join("acc.json"),
        r#"{"schema":"perf-gate-accuracy","schema_version":1,"source":"cargo test accuracy",
            "checks":[{"name":"I2S round trip","metric":"max abs error","value":0.0,"op":"<=","limit":0.0}]}"#,
    )
    .unwrap();
    let o = compare(d.path(), &base, &base, &["--accuracy", "acc.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let md = std::fs::read_to_string(d.path().join("out/report.md")).unwrap();
    assert!(
        md.contains("| I2S round trip | max abs error | 0 | <= 0 | ✅ pass |"),
        "{md}"
    );
    assert!(md.contains("| Accuracy checks | every check passes | 1 of 1 passed | ✅ met |"));
}

fn expect_input_error(o: &Output, needles: &[&str]) {
    assert_eq!(o.status.code(), Some(2), "{}", text(o));
    let err = String::from_utf8_lossy(&o.stderr);
    for n in needles {
        assert!(err.contains(n), "missing '{n}' in: {err}");
    }
}

#[test]
fn bad_inputs_exit_2_naming_file_and_problem() {
    let d = tempfile::tempdir().unwrap();
    let good = fixture(d.path(), "base", 1, &[]);
    let p = d.path();

    std::fs::write(
        p.join("corrupt.json"),
        "{\"schema\": \"perf-gate-results\", ",
    )
    .unwrap();
    let o = compare(p, &p.join("corrupt.json"), &good, &[]);
    expect_input_error(&o, &["corrupt.json", "corrupt JSON"]);

    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    v["schema_version"] = 99.into();
    std::fs::write(p.join("future.json"), v.to_string()).unwrap();
    let o = compare(p, &good, &p.join("future.json"), &[]);
    expect_input_error(&o, &["future.json", "unknown schema version 99"]);

    let o = compare(p, &p.join("missing.json"), &good, &[]);
    expect_input_error(&o, &["missing.json", "cannot read"]);

    v["schema_version"] = 1.into();
    v["benchmarks"] = serde_json::json!([]);
    std::fs::write(p.join("empty.json"), v.to_string()).unwrap();
    let o = compare(p, &good, &p.join("empty.json"), &[]);
    expect_input_error(&o, &["empty.json", "empty results"]);

    let o = perf_gate(
        p,
        &[
            "baseline",
            "save",
            "x",
            "--from",
            "empty.json",
            "--dir",
            "bl",
        ],
    );
    expect_input_error(&o, &["empty.json", "empty results"]);
    assert!(!p.join("bl/x.json").exists());

    std::fs::write(
        p.join("criterion-base/quantize_i2s_4096/new/sample.json"),
        "{\"iters\": [1,2",
    )
    .unwrap();
    let o = perf_gate(
        p,
        &[
            "import",
            "--criterion",
            "criterion-base",
            "--output",
            "x.json",
        ],
    );
    expect_input_error(&o, &["quantize_i2s_4096/new/sample.json", "corrupt JSON"]);

    let o = perf_gate(
        p,
        &["import", "--criterion", "nowhere", "--output", "x.json"],
    );
    expect_input_error(&o, &["nowhere", "does not exist"]);
}

#[test]
fn usage_errors_exit_2() {
    let d = tempfile::tempdir().unwrap();
    for args in [
        vec!["compare"],
        vec!["compare", "--baseline", "b.json", "--threshold", "-1"],
        vec!["compare", "--baseline", "b.json", "--correction", "sidak"],
        vec!["run", "--matrix", "cpu-sse9"],
        vec!["ab", "--base", "HEAD"],
        vec!["frobnicate"],
    ] {
        let o = perf_gate(d.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
    let o = perf_gate(d.path(), &["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).contains("Exit codes"));
}

#[test]
fn baseline_save_round_trips_and_names_the_machine() {
    let d = tempfile::tempdir().unwrap();
    let res = fixture(d.path(), "res", 1, &[]);
    let o = perf_gate(
        d.path(),
        &[
            "baseline",
            "save",
            "254",
            "--from",
            res.to_str().unwrap(),
            "--dir",
            "bl",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("bl/254.json")).unwrap())
            .unwrap();
    assert_eq!(v["baseline"]["name"], "254");
    assert!(v["baseline"]["machine"]
        .as_str()
        .unwrap()
        .contains("logical cores"));
    let o = perf_gate(
        d.path(),
        &["baseline", "save", "../evil", "--from", "res.json"],
    );
    assert_eq!(o.status.code(), Some(2));
}

/// A `baseline save` killed mid-write leaves the previous baseline intact
/// (or no file), never a truncated one.
#[test]
fn killed_baseline_save_never_truncates() {
    let d = tempfile::tempdir().unwrap();
    let old = fixture(d.path(), "old", 1, &[]);
    let new = fixture(d.path(), "new", 2, &[]);
    let bl = d.path().join("bl");
    for had_old in [true, false] {
        let _ = std::fs::remove_dir_all(&bl);
        if had_old {
            let o = perf_gate(
                d.path(),
                &[
                    "baseline",
                    "save",
                    "b",
                    "--from",
                    old.to_str().unwrap(),
                    "--dir",
                    "bl",
                ],
            );
            assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        }
        let before = std::fs::read(bl.join("b.json")).ok();
        let mut child = Command::new(BIN)
            .args([
                "baseline",
                "save",
                "b",
                "--from",
                new.to_str().unwrap(),
                "--dir",
                "bl",
            ])
            .current_dir(d.path())
            .env(perf_gate::atomic::STALL_ENV, "30000")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until half of the new file sits in the temporary file.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let tmp = std::fs::read_dir(&bl).ok().and_then(|rd| {
                rd.filter_map(|e| e.ok())
                    .find(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            });
            if let Some(t) = tmp {
                if t.metadata().map(|m| m.len() > 0).unwrap_or(false) {
                    break;
                }
            }
            assert!(std::time::Instant::now() < deadline, "writer never started");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let after = std::fs::read(bl.join("b.json")).ok();
        assert_eq!(before, after, "target changed by a killed writer");
        if let Some(bytes) = after {
            serde_json::from_slice::<serde_json::Value>(&bytes).expect("complete JSON");
        }
        // A completed save replaces it whole.
        let o = perf_gate(
            d.path(),
            &[
                "baseline",
                "save",
                "b",
                "--from",
                new.to_str().unwrap(),
                "--dir",
                "bl",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(bl.join("b.json")).unwrap()).unwrap();
        assert_eq!(v["baseline"]["source"], new.to_str().unwrap());
    }
}
