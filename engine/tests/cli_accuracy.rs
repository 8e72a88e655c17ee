//! `bitnet accuracy --json FILE`: every check of the engine runs, passes on
//! this machine, and lands in a perf-gate-accuracy file the gate can read.

use std::process::Command;

#[test]
fn accuracy_checks_pass_and_are_written_for_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accuracy.json");
    let out = Command::new(env!("CARGO_BIN_EXE_bitnet"))
        .args(["accuracy", "--json", path.to_str().unwrap()])
        .env_remove("BITNET_SIMD")
        .output()
        .expect("run bitnet");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("FAIL"), "{stdout}");

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["schema"], "perf-gate-accuracy");
    assert_eq!(v["schema_version"], 1);
    assert!(v["source"].as_str().unwrap().starts_with("bitnet accuracy"));
    let checks = v["checks"].as_array().unwrap();
    // 5 formats x 4 format checks + 5 x 2 kernel checks + 4 models x 3.
    assert_eq!(checks.len(), 5 * 4 + 5 * 2 + 4 * 3, "{stdout}");
    for c in checks {
        let value = c["value"].as_f64().expect("numeric value");
        let limit = c["limit"].as_f64().unwrap();
        let ok = match c["op"].as_str().unwrap() {
            ">=" => value >= limit,
            "<=" => value <= limit,
            op => panic!("unexpected op {op}"),
        };
        assert!(ok, "{c}");
    }
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    for needle in [
        "i2s codes vs f64",
        "tl2 GEMV/GEMM",
        "forward I2_S",
        "forward F16",
    ] {
        assert!(
            names.iter().any(|n| n.contains(needle)),
            "{needle} missing from {names:?}"
        );
    }
}
