//! The criterion suites are the `[[bench]]` targets of `benches/Cargo.toml`.

use crate::error::{GateError, Result};
use std::path::Path;

pub fn discover(root: &Path) -> Result<Vec<String>> {
    let path = root.join("benches").join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|source| GateError::Read {
        path: path.clone(),
        source,
    })?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| GateError::invalid(&path, e.to_string()))?;
    let names: Vec<String> = doc
        .get("bench")
        .and_then(|b| b.as_array())
        .into_iter()
        .flatten()
        .filter_map(|b| b.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .collect();
    if names.is_empty() {
        return Err(GateError::invalid(&path, "no [[bench]] targets declared"));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_three_suites() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let suites = super::discover(&root).unwrap();
        for s in ["quantization", "kernels", "inference"] {
            assert!(suites.iter().any(|x| x == s), "{suites:?}");
        }
    }
}
