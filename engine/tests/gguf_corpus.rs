//! Replays the GGUF regression corpus (engine/tests/corpus/gguf): every file
//! goes through what the fuzz target runs; files listed in EXPECTED.tsv must
//! give their expected outcome, the others (fuzzer finds) must not panic.

use engine::gguf::inspect::examine;
use std::collections::BTreeMap;
use std::path::Path;

#[test]
fn corpus_replays_with_expected_outcomes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/gguf");
    let manifest = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    let expected: BTreeMap<&str, &str> = manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_once('\t').expect("file<TAB>expectation"))
        .collect();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name == "EXPECTED.tsv" {
            continue;
        }
        let outcome = examine(&name, std::fs::read(&path).unwrap(), 1 << 20);
        let Some(want) = expected.get(name.as_str()) else {
            continue;
        };
        seen += 1;
        match (outcome, *want) {
            (Ok(r), "ok") => assert!(r.problems.is_empty(), "{name}: {:?}", r.problems),
            (Ok(r), w) if w.starts_with("problem:") => {
                let text = &w["problem:".len()..];
                assert!(
                    r.problems.iter().any(|p| p.contains(text)),
                    "{name}: {:?}",
                    r.problems
                );
            }
            (Err(e), w) if w.starts_with("error:") => {
                let msg = e.to_string();
                assert!(msg.starts_with(&format!("{name}: ")), "{msg}");
                assert!(msg.contains(&w["error:".len()..]), "{name}: {msg}");
            }
            (got, w) => panic!("{name}: expected {w}, got {:?}", got.map(|r| r.problems)),
        }
    }
    assert_eq!(seen, expected.len(), "every manifest entry has its file");
}

/// The same corpus through the CLI: every rejected or problematic file makes
/// `bitnet inspect` exit 1 with the expected text and the file's name; every
/// valid one exits 0.
#[test]
fn cli_inspect_exits_1_naming_file_and_problem() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/gguf");
    let manifest = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    let mut checked = 0;
    for (name, want) in manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_once('\t').expect("file<TAB>expectation"))
    {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bitnet"))
            .arg("inspect")
            .arg(dir.join(name))
            .output()
            .expect("run bitnet");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        match want.split_once(':') {
            None => assert_eq!(out.status.code(), Some(0), "{name}: {text}"),
            Some((_, expected)) => {
                assert_eq!(out.status.code(), Some(1), "{name}: {text}");
                assert!(text.contains(expected), "{name}: {text}");
                assert!(text.contains(name), "{name} not named: {text}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} corpus files checked");
}
