//! `bitnet inspect`: what a GGUF file holds and what is wrong with it, as
//! text or JSON. Reads the header only (no tensor data), so it stays fast
//! and small on multi-GB files.

use super::{keys, GgufFile, Value};
use crate::model::ModelConfig;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Arrays longer than this are summarised in the metadata listing.
const MAX_ARRAY_ITEMS: usize = 8;

#[derive(Debug, Serialize)]
pub struct InspectReport {
    pub path: String,
    pub version: u32,
    pub alignment: u64,
    pub file_bytes: u64,
    pub data_offset: u64,
    pub architecture: Option<String>,
    pub config: Option<ModelConfig>,
    pub parameters: Option<u64>,
    pub tokenizer: Option<TokenizerSummary>,
    pub metadata: Vec<MetadataEntry>,
    pub tensors: Vec<TensorRow>,
    pub types: BTreeMap<String, TypeTotal>,
    pub tensor_bytes: u64,
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct TokenizerSummary {
    pub model: Option<String>,
    pub pre: Option<String>,
    pub tokens: usize,
    pub merges: usize,
    pub bos: Option<u64>,
    pub eos: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct MetadataEntry {
    pub key: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub value: serde_json::Value,
    #[serde(skip)]
    display: String,
}

#[derive(Debug, Serialize)]
pub struct TensorRow {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub shape: Vec<u64>,
    pub bytes: u64,
    /// Absolute offset in the file.
    pub offset: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct TypeTotal {
    pub tensors: usize,
    pub bytes: u64,
}

impl InspectReport {
    pub fn new(file: &GgufFile) -> InspectReport {
        let md = file.metadata();
        let mut problems = Vec::new();
        let architecture = md
            .get(keys::ARCHITECTURE)
            .and_then(Value::as_str)
            .map(str::to_owned);
        let config = match ModelConfig::from_gguf(file) {
            Ok(c) => {
                problems.extend(c.check_tensors(file).iter().map(ToString::to_string));
                Some(c)
            }
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        };
        let tokenizer = tokenizer_summary(file, config.as_ref(), &mut problems);
        let metadata = md
            .iter()
            .map(|(k, v)| MetadataEntry {
                key: k.to_owned(),
                ty: v.type_name(),
                value: v.to_json(MAX_ARRAY_ITEMS),
                display: v.to_string(),
            })
            .collect();
        let mut types: BTreeMap<String, TypeTotal> = BTreeMap::new();
        let tensors: Vec<TensorRow> = file
            .tensor_infos()
            .iter()
            .map(|t| {
                let total = types.entry(t.ty.to_string()).or_default();
                total.tensors += 1;
                total.bytes += t.size;
                TensorRow {
                    name: t.name.clone(),
                    ty: t.ty.to_string(),
                    shape: t.dims.clone(),
                    bytes: t.size,
                    offset: file.data_offset() + t.offset,
                }
            })
            .collect();
        InspectReport {
            path: file.path().to_owned(),
            version: file.version(),
            alignment: file.alignment(),
            file_bytes: file.file_len(),
            data_offset: file.data_offset(),
            architecture,
            parameters: config.as_ref().map(ModelConfig::parameter_count),
            config,
            tokenizer,
            metadata,
            tensor_bytes: tensors.iter().map(|t| t.bytes).sum(),
            tensors,
            types,
            problems,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report holds only JSON-representable values")
    }

    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}: GGUF v{}, {} bytes, {} tensors, {} metadata keys, alignment {}, data at {}",
            self.path,
            self.version,
            self.file_bytes,
            self.tensors.len(),
            self.metadata.len(),
            self.alignment,
            self.data_offset
        );
        let _ = writeln!(
            s,
            "architecture: {}",
            self.architecture.as_deref().unwrap_or("(none)")
        );
        if let Some(c) = &self.config {
            let _ = writeln!(
                s,
                "hyperparameters: layers {}, hidden {}, ffn {}, heads {} (kv {}, dim {}), vocab {}, context {}, \
                 rms_eps {:e}, rope theta {} ({:?}), activation {:?}, parameters {}",
                c.n_layer,
                c.n_embd,
                c.n_ff,
                c.n_head,
                c.n_head_kv,
                c.head_dim,
                c.vocab_size,
                c.context_length,
                c.rms_eps,
                c.rope_theta,
                c.rope_style,
                c.activation,
                self.parameters.unwrap_or(0)
            );
        }
        if let Some(t) = &self.tokenizer {
            let _ = writeln!(
                s,
                "tokenizer: model {}, pre {}, {} tokens, {} merges, bos {}, eos {}",
                t.model.as_deref().unwrap_or("?"),
                t.pre.as_deref().unwrap_or("?"),
                t.tokens,
                t.merges,
                t.bos.map_or("?".into(), |v| v.to_string()),
                t.eos.map_or("?".into(), |v| v.to_string())
            );
        }
        let _ = writeln!(s, "\nmetadata:");
        for m in &self.metadata {
            let _ = writeln!(
                s,
                "  {:<48} {:<16} {}",
                m.key,
                m.ty,
                truncate(&m.display, 80)
            );
        }
        let name_w = self
            .tensors
            .iter()
            .map(|t| t.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(s, "\ntensors:");
        let _ = writeln!(
            s,
            "  {:<name_w$} {:<6} {:<22} {:>12} {:>12}",
            "name", "type", "shape", "bytes", "offset"
        );
        for t in &self.tensors {
            let _ = writeln!(
                s,
                "  {:<name_w$} {:<6} {:<22} {:>12} {:>12}",
                t.name,
                t.ty,
                format!("{:?}", t.shape),
                t.bytes,
                t.offset
            );
        }
        let _ = writeln!(s, "\ntotals:");
        for (ty, total) in &self.types {
            let _ = writeln!(
                s,
                "  {:<6} {:>5} tensors {:>14} bytes",
                ty, total.tensors, total.bytes
            );
        }
        let _ = writeln!(
            s,
            "  all    {:>5} tensors {:>14} bytes",
            self.tensors.len(),
            self.tensor_bytes
        );
        if self.problems.is_empty() {
            let _ = writeln!(s, "\nvalidation: ok");
        } else {
            let _ = writeln!(s, "\nvalidation: {} problem(s)", self.problems.len());
            for p in &self.problems {
                let _ = writeln!(s, "  - {p}");
            }
        }
        s
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}...", s.chars().take(max).collect::<String>())
    }
}

fn tokenizer_summary(
    file: &GgufFile,
    config: Option<&ModelConfig>,
    problems: &mut Vec<String>,
) -> Option<TokenizerSummary> {
    let md = file.metadata();
    let model = md
        .get(keys::TOKENIZER_MODEL)
        .and_then(Value::as_str)
        .map(str::to_owned);
    let tokens = md.get(keys::TOKENIZER_TOKENS).and_then(Value::as_array);
    if model.is_none() && tokens.is_none() {
        return None;
    }
    let n_tokens = tokens.map_or(0, |t| t.len());
    let path = file.path();
    match tokens {
        None => problems.push(format!(
            "{path}: missing required key '{}'",
            keys::TOKENIZER_TOKENS
        )),
        Some(t) if t.as_strings().is_none() => problems.push(format!(
            "{path}: key '{}': expected array of string, found array of {}",
            keys::TOKENIZER_TOKENS,
            t.element_type().name()
        )),
        Some(_) => {}
    }
    if let Some(types) = md.get(keys::TOKENIZER_TOKEN_TYPE).and_then(Value::as_array) {
        if types.len() != n_tokens {
            problems.push(format!(
                "{path}: key '{}': {} entries for {n_tokens} tokens",
                keys::TOKENIZER_TOKEN_TYPE,
                types.len()
            ));
        }
    }
    if let Some(c) = config {
        if tokens.is_some() && n_tokens != c.vocab_size {
            problems.push(format!(
                "{path}: key '{}': {n_tokens} tokens, but the model's vocabulary is {}",
                keys::TOKENIZER_TOKENS,
                c.vocab_size
            ));
        }
    }
    let mut id = |key: &str| -> Option<u64> {
        let v = md.get(key)?.as_u64();
        if let Some(id) = v {
            if id >= n_tokens as u64 {
                problems.push(format!(
                    "{path}: key '{key}': token id {id} is outside the {n_tokens}-token vocabulary"
                ));
            }
        }
        v
    };
    let bos = id(keys::TOKENIZER_BOS_ID);
    let eos = id(keys::TOKENIZER_EOS_ID);
    Some(TokenizerSummary {
        model,
        pre: md
            .get(keys::TOKENIZER_PRE)
            .and_then(Value::as_str)
            .map(str::to_owned),
        tokens: n_tokens,
        merges: md
            .get(keys::TOKENIZER_MERGES)
            .and_then(Value::as_array)
            .map_or(0, |m| m.len()),
        bos,
        eos,
    })
}

/// Parses `bytes` as a GGUF file and touches everything a loader would: the
/// report (model config, tensor checks, tokenizer), every typed view, and
/// the decoding of each float or ternary tensor of at most `max_decode`
/// bytes. The fuzz target and the regression-corpus test run this on
/// arbitrary bytes: any panic inside is a bug, errors are expected.
pub fn examine(
    name: &str,
    bytes: Vec<u8>,
    max_decode: u64,
) -> Result<InspectReport, super::GgufError> {
    let file = GgufFile::from_bytes(name, bytes)?;
    let report = InspectReport::new(&file);
    let _ = report.to_text();
    for view in file.tensors() {
        view.data()?;
        if view.info.size <= max_decode
            && (view.info.ty.is_float() || view.info.ty.ternary().is_some())
        {
            // Garbage codes or scales are errors, not panics.
            let _ = view.dequantize();
        }
    }
    Ok(report)
}
