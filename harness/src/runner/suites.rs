//! The criterion suites are the `[[bench]]` targets of `benches/Cargo.toml`;
//! a suite with `required-features` (e.g. `gpu`) only runs for matrix entries
//! that build with those features.
//!
//! A suite can also be kept out of a matrix entry on purpose, with the reason
//! recorded in every results file (`skipped_suites`), in
//! `[package.metadata.perf-gate]` of the same file:
//!
//! ```toml
//! [package.metadata.perf-gate]
//! skip = [{ suite = "inference", matrix = "cpu-scalar", reason = "..." }]
//! ```

use crate::error::{GateError, Result};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    pub name: String,
    pub required_features: Vec<String>,
    /// Matrix entries (by name) this suite is deliberately not run under.
    pub skip: Vec<SuiteSkip>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteSkip {
    pub matrix: String,
    pub reason: String,
}

impl Suite {
    /// Why this suite is not run under the matrix entry `matrix`, if so.
    pub fn skip_reason(&self, matrix: &str) -> Option<&str> {
        self.skip
            .iter()
            .find(|s| s.matrix == matrix)
            .map(|s| s.reason.as_str())
    }
}

/// `[package.metadata.perf-gate] skip = [...]`, validated: every entry names
/// a declared suite, a known matrix entry and a reason.
fn skips(doc: &toml::Table, path: &Path, suites: &[String]) -> Result<Vec<(String, SuiteSkip)>> {
    let Some(list) = doc
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("perf-gate"))
        .and_then(|g| g.get("skip"))
    else {
        return Ok(Vec::new());
    };
    let bad =
        |m: String| GateError::invalid(path, format!("[package.metadata.perf-gate] skip: {m}"));
    let list = list
        .as_array()
        .ok_or_else(|| bad("must be an array of tables".into()))?;
    let known: Vec<String> = super::MatrixEntry::ALL.iter().map(|e| e.name()).collect();
    list.iter()
        .map(|item| {
            let field = |k: &str| {
                item.get(k)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("an entry has no string '{k}'")))
            };
            let (suite, matrix, reason) = (field("suite")?, field("matrix")?, field("reason")?);
            if !suites.contains(&suite) {
                return Err(bad(format!("unknown suite '{suite}'")));
            }
            if !known.contains(&matrix) {
                return Err(bad(format!(
                    "unknown matrix entry '{matrix}' (expected {})",
                    known.join(", ")
                )));
            }
            Ok((suite, SuiteSkip { matrix, reason }))
        })
        .collect()
}

pub fn discover(root: &Path) -> Result<Vec<Suite>> {
    let path = root.join("benches").join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|source| GateError::Read {
        path: path.clone(),
        source,
    })?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| GateError::invalid(&path, e.to_string()))?;
    let suites: Vec<Suite> = doc
        .get("bench")
        .and_then(|b| b.as_array())
        .into_iter()
        .flatten()
        .filter_map(|b| {
            let name = b.get("name")?.as_str()?.to_string();
            let required_features = b
                .get("required-features")
                .and_then(|f| f.as_array())
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect();
            Some(Suite {
                name,
                required_features,
                skip: Vec::new(),
            })
        })
        .collect();
    if suites.is_empty() {
        return Err(GateError::invalid(&path, "no [[bench]] targets declared"));
    }
    let names: Vec<String> = suites.iter().map(|s| s.name.clone()).collect();
    let mut suites = suites;
    for (suite, skip) in skips(&doc, &path, &names)? {
        if let Some(s) = suites.iter_mut().find(|s| s.name == suite) {
            s.skip.push(skip);
        }
    }
    Ok(suites)
}

/// The suites among `all` named in `wanted` (all when empty); unknown names
/// are a usage error.
pub fn select(all: &[Suite], wanted: &[String]) -> Result<Vec<Suite>> {
    if wanted.is_empty() {
        return Ok(all.to_vec());
    }
    wanted
        .iter()
        .map(|w| {
            all.iter().find(|s| &s.name == w).cloned().ok_or_else(|| {
                GateError::Usage(format!(
                    "unknown suite '{w}' (benches/Cargo.toml declares: {})",
                    all.iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_suites_and_their_features() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let suites = discover(&root).unwrap();
        for s in ["quantization", "kernels", "inference"] {
            let suite = suites.iter().find(|x| x.name == s).expect(s);
            assert!(suite.required_features.is_empty(), "{suite:?}");
        }
        assert!(select(&suites, &["nope".into()]).is_err());
        let inference = suites.iter().find(|x| x.name == "inference").unwrap();
        assert!(inference.skip_reason("cpu-scalar").is_some());
        assert!(inference.skip_reason("cpu-avx2").is_none());
        assert_eq!(
            select(&suites, &["kernels".into()]).unwrap()[0].name,
            "kernels"
        );
    }
}

#[cfg(test)]
mod skip_tests {
    use super::*;

    fn parse(extra: &str) -> Result<Vec<Suite>> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("benches")).unwrap();
        std::fs::write(
            dir.path().join("benches/Cargo.toml"),
            format!("[package]\nname = \"b\"\n{extra}\n[[bench]]\nname = \"kernels\"\n"),
        )
        .unwrap();
        discover(dir.path())
    }

    #[test]
    fn skips_are_read_and_validated() {
        let ok = parse(
            "[package.metadata.perf-gate]\nskip = [{ suite = \"kernels\", matrix = \"cpu-scalar\", reason = \"slow\" }]",
        )
        .unwrap();
        assert_eq!(ok[0].skip_reason("cpu-scalar"), Some("slow"));
        for (bad, msg) in [
            (
                "{ suite = \"nope\", matrix = \"cpu-scalar\", reason = \"r\" }",
                "unknown suite 'nope'",
            ),
            (
                "{ suite = \"kernels\", matrix = \"cpu-9\", reason = \"r\" }",
                "unknown matrix entry 'cpu-9'",
            ),
            (
                "{ suite = \"kernels\", matrix = \"gpu\" }",
                "no string 'reason'",
            ),
        ] {
            let err = parse(&format!("[package.metadata.perf-gate]\nskip = [{bad}]"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(msg), "{err}");
            assert!(err.contains("Cargo.toml"), "{err}");
        }
        assert!(parse("").unwrap()[0].skip.is_empty());
    }
}
