//! The engine's accuracy checks, as the gate report shows them.
//!
//! `bitnet accuracy --json FILE` runs every check here and writes the
//! `perf-gate-accuracy` file that `perf-gate compare --accuracy FILE` reads
//! (schema in `baselines/SCHEMA.md`). Each check is a measured number, a
//! comparison and a limit; the reader decides pass or fail, so a limit can be
//! audited next to the value it judged.
//!
//! ```text
//! quant    formats: SIMD bytes == scalar bytes, exact ternary round trip,
//!          cosine of dequantized Gaussian weights vs the closed-form value
//! kernels  GEMV/GEMM: every SIMD level and thread count bit-identical to the
//!          scalar integer path, and within 1e-5 of an f64 dense product
//! forward  tiny synthetic models: logits vs the f64 reference graph
//! ```
//!
//! The same properties are asserted by the test suite; this module exists so
//! that every gate report carries the figures measured on the machine and
//! commit that produced the timings, not a claim that tests once passed.

mod forward;
mod kernels;
mod quant;

use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Schema name and version of the file (`harness/src/report/accuracy.rs`).
pub const SCHEMA: &str = "perf-gate-accuracy";
pub const SCHEMA_VERSION: u32 = 1;

/// One measured figure and the limit it must respect.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub metric: String,
    pub value: f64,
    /// `>=`, `>`, `<=` or `<`.
    pub op: &'static str,
    pub limit: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Check {
    /// Whether `value op limit` holds (NaN never does).
    pub fn passed(&self) -> bool {
        match self.op {
            ">=" => self.value >= self.limit,
            ">" => self.value > self.limit,
            "<=" => self.value <= self.limit,
            "<" => self.value < self.limit,
            _ => false,
        }
    }
}

#[derive(Serialize)]
struct AccuracyFile<'a> {
    schema: &'static str,
    schema_version: u32,
    source: &'a str,
    checks: &'a [Check],
}

/// Every check: formats, kernels, then the forward pass (which writes tiny
/// models into a temporary directory).
pub fn run_all(seed: u64) -> crate::Result<Vec<Check>> {
    let mut checks = quant::checks(seed)?;
    checks.extend(kernels::checks(seed)?);
    checks.extend(forward::checks(seed)?);
    Ok(checks)
}

/// Writes the checks as a `perf-gate-accuracy` file, atomically (temporary
/// file in the same directory, fsync, rename).
pub fn write_json(path: &Path, source: &str, checks: &[Check]) -> std::io::Result<()> {
    let file = AccuracyFile {
        schema: SCHEMA,
        schema_version: SCHEMA_VERSION,
        source,
        checks,
    };
    let mut text = serde_json::to_string_pretty(&file).map_err(std::io::Error::other)?;
    text.push('\n');
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The bit patterns of `v`, for bit-exact comparisons (NaN == NaN, -0 != 0).
fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Cosine similarity in f64.
fn cosine(a: impl IntoIterator<Item = f64>, b: impl IntoIterator<Item = f64>) -> f64 {
    let (mut dot, mut na, mut nb) = (0.0, 0.0, 0.0);
    for (x, y) in a.into_iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    dot / (na * nb).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_decide_pass_and_nan_fails() {
        let c = |value, op| Check {
            name: "x".into(),
            metric: "m".into(),
            value,
            op,
            limit: 1.0,
            detail: None,
        };
        assert!(c(1.0, ">=").passed() && !c(0.5, ">=").passed());
        assert!(c(1.0, "<=").passed() && !c(1.5, "<=").passed());
        assert!(!c(1.0, "<").passed() && !c(1.0, ">").passed());
        assert!(!c(f64::NAN, ">=").passed() && !c(f64::NAN, "<=").passed());
    }

    #[test]
    fn cosine_of_known_vectors() {
        assert!((cosine([1.0, 0.0], [1.0, 0.0]) - 1.0).abs() < 1e-15);
        assert!(cosine([1.0, 0.0], [0.0, 1.0]).abs() < 1e-15);
        assert!((cosine([1.0, 1.0], [1.0, 0.0]) - 0.5f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn file_is_written_whole_with_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/accuracy.json");
        let checks = [Check {
            name: "n".into(),
            metric: "m".into(),
            value: 0.5,
            op: ">=",
            limit: 0.25,
            detail: Some("d".into()),
        }];
        write_json(&path, "bitnet accuracy", &checks).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
        assert_eq!(v["checks"][0]["op"], ">=");
        assert_eq!(v["checks"][0]["value"], 0.5);
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }
}
