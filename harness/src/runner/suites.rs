//! The criterion suites are the `[[bench]]` targets of `benches/Cargo.toml`;
//! a suite with `required-features` (e.g. `gpu`) only runs for matrix entries
//! that build with those features.

use crate::error::{GateError, Result};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    pub name: String,
    pub required_features: Vec<String>,
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
            })
        })
        .collect();
    if suites.is_empty() {
        return Err(GateError::invalid(&path, "no [[bench]] targets declared"));
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
        assert_eq!(
            select(&suites, &["kernels".into()]).unwrap()[0].name,
            "kernels"
        );
    }
}
