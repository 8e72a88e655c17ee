//! Model hyperparameters read from GGUF metadata, and the tensor layout they
//! imply, for the two BitNet b1.58 families:
//!
//! * `bitnet` — llama.cpp mainline (`src/models/bitnet.cpp`): keys under
//!   `bitnet.`, FFN activation SiLU unless `bitnet.hidden_activation` says
//!   otherwise, optional one-element `blk.N.<proj>.scale` tensors.
//! * `bitnet-b1.58` (Microsoft's 2B4T file) and `bitnet-25` — bitnet.cpp's
//!   llama.cpp fork, one graph (`build_bitnet_158`): squared-ReLU gated FFN.
//!
//! Both: RMSNorm everywhere, `attn_sub_norm` before `attn_output`,
//! `ffn_sub_norm` (width n_ff) before `ffn_down`, NEOX RoPE (pairs
//! `(i, i + n_rot/2)`), logits from `token_embd` unless `output.weight` is
//! present. Tensor shapes are GGUF dims, `[ne0, ne1]` = `[in, out]`:
//!
//! ```text
//! token_embd.weight        [n_embd, n_vocab]
//! output_norm.weight       [n_embd]
//! output.weight            [n_embd, n_vocab]      optional (tied otherwise)
//! blk.N.attn_norm.weight   [n_embd]
//! blk.N.attn_q.weight      [n_embd, n_head * head_dim]
//! blk.N.attn_k.weight      [n_embd, n_head_kv * head_dim]
//! blk.N.attn_v.weight      [n_embd, n_head_kv * head_dim]
//! blk.N.attn_sub_norm.weight [n_embd]
//! blk.N.attn_output.weight [n_head * head_dim, n_embd]
//! blk.N.ffn_norm.weight    [n_embd]
//! blk.N.ffn_gate.weight    [n_embd, n_ff]
//! blk.N.ffn_up.weight      [n_embd, n_ff]
//! blk.N.ffn_sub_norm.weight [n_ff]
//! blk.N.ffn_down.weight    [n_ff, n_embd]
//! blk.N.<proj>.scale       [1]                    optional (`bitnet` only)
//! ```

use crate::gguf::keys::{self, arch_key};
use crate::gguf::{GgufError, GgufFile, Metadata};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Architecture {
    /// llama.cpp mainline `bitnet`.
    #[serde(rename = "bitnet")]
    Bitnet,
    /// bitnet.cpp's `bitnet-b1.58` (the official 2B4T file).
    #[serde(rename = "bitnet-b1.58")]
    BitnetB158,
    /// bitnet.cpp's `bitnet-25`, same graph as `bitnet-b1.58`.
    #[serde(rename = "bitnet-25")]
    Bitnet25,
}

impl Architecture {
    pub const ALL: [Architecture; 3] = [
        Architecture::Bitnet,
        Architecture::BitnetB158,
        Architecture::Bitnet25,
    ];

    /// The `general.architecture` value, also the key prefix.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Bitnet => "bitnet",
            Architecture::BitnetB158 => "bitnet-b1.58",
            Architecture::Bitnet25 => "bitnet-25",
        }
    }

    pub fn from_name(name: &str) -> Option<Architecture> {
        Architecture::ALL.into_iter().find(|a| a.name() == name)
    }

    fn default_activation(self) -> Activation {
        match self {
            Architecture::Bitnet => Activation::Silu,
            Architecture::BitnetB158 | Architecture::Bitnet25 => Activation::ReluSqr,
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Activation of the gate in `down(act(gate(x)) * up(x))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Silu,
    /// `relu(x)^2`, llama.cpp's `LLM_FFN_RELU_SQR`, HF's `relu2`.
    ReluSqr,
}

impl Activation {
    pub fn parse(s: &str) -> Option<Activation> {
        match s {
            "silu" | "swiglu" => Some(Activation::Silu),
            "relu2" | "relu_sqr" | "relu_squared" => Some(Activation::ReluSqr),
            _ => None,
        }
    }
}

/// Which head dimensions RoPE rotates together.
///
/// NEOX for every architecture we load. `bitnet` is NEOX in llama.cpp's
/// `llama_rope_type`. For `bitnet-b1.58` / `bitnet-25` (Microsoft's 2B4T
/// GGUF) it follows from how the file is made: bitnet.cpp's
/// `convert-helper-bitnet.py` feeds the Hugging Face safetensors to
/// `convert-ms-to-gguf-bitnet.py`, which writes q/k without the
/// LLaMA-style permutation (those calls are commented out), so the file
/// keeps Hugging Face's `rotate_half` layout, which pairs `(i, i + d/2)`:
/// NEOX. (Its GPU path converts the same weights with
/// `(h l d) -> (h d l)` to run xformers' adjacent-pair RoPE, the same
/// conclusion from the other side.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RopeStyle {
    /// `(i, i + n_rot / 2)`: llama.cpp `LLAMA_ROPE_TYPE_NEOX`.
    Neox,
}

/// The seven ternary projections of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Projection {
    AttnQ,
    AttnK,
    AttnV,
    AttnOutput,
    FfnGate,
    FfnUp,
    FfnDown,
}

impl Projection {
    pub const ALL: [Projection; 7] = [
        Projection::AttnQ,
        Projection::AttnK,
        Projection::AttnV,
        Projection::AttnOutput,
        Projection::FfnGate,
        Projection::FfnUp,
        Projection::FfnDown,
    ];

    /// The name segment after `blk.N.` (llama.cpp `LLM_TENSOR_NAMES`).
    pub fn stem(self) -> &'static str {
        match self {
            Projection::AttnQ => "attn_q",
            Projection::AttnK => "attn_k",
            Projection::AttnV => "attn_v",
            Projection::AttnOutput => "attn_output",
            Projection::FfnGate => "ffn_gate",
            Projection::FfnUp => "ffn_up",
            Projection::FfnDown => "ffn_down",
        }
    }

    pub fn weight_name(self, layer: usize) -> String {
        format!("blk.{layer}.{}.weight", self.stem())
    }

    /// Name of the optional one-element scale tensor of llama.cpp's `bitnet`.
    pub fn scale_name(self, layer: usize) -> String {
        format!("blk.{layer}.{}.scale", self.stem())
    }

    /// Recognises `blk.N.<stem>.weight`; returns the layer and projection.
    pub fn parse_weight_name(name: &str) -> Option<(usize, Projection)> {
        let rest = name.strip_prefix("blk.")?;
        let (layer, rest) = rest.split_once('.')?;
        let stem = rest.strip_suffix(".weight")?;
        let layer = layer.parse().ok()?;
        Projection::ALL
            .into_iter()
            .find(|p| p.stem() == stem)
            .map(|p| (layer, p))
    }
}

/// The four RMSNorm weights of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LayerNorm {
    Attn,
    AttnSub,
    Ffn,
    FfnSub,
}

impl LayerNorm {
    pub const ALL: [LayerNorm; 4] = [
        LayerNorm::Attn,
        LayerNorm::AttnSub,
        LayerNorm::Ffn,
        LayerNorm::FfnSub,
    ];

    pub fn weight_name(self, layer: usize) -> String {
        let stem = match self {
            LayerNorm::Attn => "attn_norm",
            LayerNorm::AttnSub => "attn_sub_norm",
            LayerNorm::Ffn => "ffn_norm",
            LayerNorm::FfnSub => "ffn_sub_norm",
        };
        format!("blk.{layer}.{stem}.weight")
    }
}

pub const TOKEN_EMBD: &str = "token_embd.weight";
pub const OUTPUT_NORM: &str = "output_norm.weight";
pub const OUTPUT: &str = "output.weight";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelConfig {
    pub arch: Architecture,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_ff: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub n_rot: usize,
    pub vocab_size: usize,
    pub context_length: usize,
    pub rms_eps: f32,
    pub rope_theta: f32,
    pub activation: Activation,
    pub rope_style: RopeStyle,
}

/// Refuses hyperparameters no real model has, before any shape arithmetic:
/// a crafted header must not make later code allocate `n_layer` of anything.
const MAX_DIM: u64 = 1 << 20;
const MAX_LAYERS: u64 = 4096;
const MAX_VOCAB: u64 = 1 << 24;

impl ModelConfig {
    /// Reads the hyperparameters of a `bitnet`, `bitnet-b1.58` or `bitnet-25`
    /// file. Required keys missing or mistyped are errors naming the key.
    pub fn from_metadata(path: &str, md: &Metadata) -> Result<ModelConfig, GgufError> {
        let arch_name = md.str(path, keys::ARCHITECTURE)?;
        let arch = Architecture::from_name(arch_name).ok_or_else(|| {
            GgufError::UnsupportedArchitecture {
                path: path.to_owned(),
                arch: arch_name.to_owned(),
            }
        })?;
        let a = arch.name();
        let bounded = |suffix: &str, max: u64| -> Result<u64, GgufError> {
            let key = arch_key(a, suffix);
            let v = md.u64(path, &key)?;
            if v == 0 || v > max {
                return Err(GgufError::invalid(
                    path,
                    format!("key '{key}'"),
                    format!("{v} is outside 1..={max}"),
                ));
            }
            Ok(v)
        };
        let n_layer = bounded(keys::BLOCK_COUNT, MAX_LAYERS)? as usize;
        let n_embd = bounded(keys::EMBEDDING_LENGTH, MAX_DIM)? as usize;
        let n_ff = bounded(keys::FEED_FORWARD_LENGTH, MAX_DIM)? as usize;
        let n_head = bounded(keys::HEAD_COUNT, MAX_DIM)? as usize;
        let context_length = bounded(keys::CONTEXT_LENGTH, 1 << 24)? as usize;
        let n_head_kv = match md.opt_u64(path, &arch_key(a, keys::HEAD_COUNT_KV))? {
            None => n_head,
            Some(_) => bounded(keys::HEAD_COUNT_KV, MAX_DIM)? as usize,
        };
        if !n_embd.is_multiple_of(n_head) || !n_head.is_multiple_of(n_head_kv) {
            return Err(GgufError::invalid(
                path,
                format!("keys '{a}.{}', '{a}.{}', '{a}.{}'", keys::EMBEDDING_LENGTH, keys::HEAD_COUNT, keys::HEAD_COUNT_KV),
                format!("n_embd {n_embd} / n_head {n_head} / n_head_kv {n_head_kv} do not divide evenly"),
            ));
        }
        let head_dim = n_embd / n_head;
        let n_rot = match md.opt_u64(path, &arch_key(a, keys::ROPE_DIMENSION_COUNT))? {
            None => head_dim,
            Some(r) if r as usize == head_dim => head_dim,
            Some(r) => {
                return Err(GgufError::invalid(
                    path,
                    format!("key '{}'", arch_key(a, keys::ROPE_DIMENSION_COUNT)),
                    format!("{r} rotated dimensions, expected the head dimension {head_dim}"),
                ))
            }
        };
        let vocab_size = match md.opt_u64(path, &arch_key(a, keys::VOCAB_SIZE))? {
            Some(_) => bounded(keys::VOCAB_SIZE, MAX_VOCAB)? as usize,
            None => md
                .get(keys::TOKENIZER_TOKENS)
                .and_then(|v| v.as_array())
                .map(|t| t.len())
                .filter(|&n| n > 0)
                .ok_or_else(|| GgufError::MissingKey {
                    path: path.to_owned(),
                    key: format!(
                        "{} (or {})",
                        arch_key(a, keys::VOCAB_SIZE),
                        keys::TOKENIZER_TOKENS
                    ),
                })?,
        };
        let rms_eps = md.f64(path, &arch_key(a, keys::RMS_EPS))? as f32;
        if !(rms_eps > 0.0 && rms_eps < 1.0) {
            return Err(GgufError::invalid(
                path,
                format!("key '{}'", arch_key(a, keys::RMS_EPS)),
                format!("{rms_eps} is not in (0, 1)"),
            ));
        }
        // llama.cpp's default when the key is absent.
        let rope_theta = md
            .opt_f64(path, &arch_key(a, keys::ROPE_FREQ_BASE))?
            .unwrap_or(10000.0) as f32;
        if !(rope_theta.is_finite() && rope_theta > 0.0) {
            return Err(GgufError::invalid(
                path,
                format!("key '{}'", arch_key(a, keys::ROPE_FREQ_BASE)),
                format!("{rope_theta} is not a positive number"),
            ));
        }
        let act_key = arch_key(a, keys::HIDDEN_ACTIVATION);
        let activation = match md.opt_str(path, &act_key)? {
            None => arch.default_activation(),
            Some(s) => Activation::parse(s).ok_or_else(|| {
                GgufError::invalid(
                    path,
                    format!("key '{act_key}'"),
                    format!("unknown activation '{s}'"),
                )
            })?,
        };
        Ok(ModelConfig {
            arch,
            n_layer,
            n_embd,
            n_ff,
            n_head,
            n_head_kv,
            head_dim,
            n_rot,
            vocab_size,
            context_length,
            rms_eps,
            rope_theta,
            activation,
            rope_style: RopeStyle::Neox,
        })
    }

    pub fn from_gguf(file: &GgufFile) -> Result<ModelConfig, GgufError> {
        Self::from_metadata(file.path(), file.metadata())
    }

    /// Writes these hyperparameters as the keys `from_metadata` reads.
    pub fn write_metadata(&self, md: &mut Metadata) {
        use crate::gguf::Value;
        let a = self.arch.name();
        md.set(keys::ARCHITECTURE, Value::String(a.into()));
        let u32v = |n: usize| Value::U32(n as u32);
        md.set(arch_key(a, keys::VOCAB_SIZE), u32v(self.vocab_size));
        md.set(arch_key(a, keys::CONTEXT_LENGTH), u32v(self.context_length));
        md.set(arch_key(a, keys::EMBEDDING_LENGTH), u32v(self.n_embd));
        md.set(arch_key(a, keys::BLOCK_COUNT), u32v(self.n_layer));
        md.set(arch_key(a, keys::FEED_FORWARD_LENGTH), u32v(self.n_ff));
        md.set(arch_key(a, keys::ROPE_DIMENSION_COUNT), u32v(self.n_rot));
        md.set(arch_key(a, keys::HEAD_COUNT), u32v(self.n_head));
        md.set(arch_key(a, keys::HEAD_COUNT_KV), u32v(self.n_head_kv));
        md.set(arch_key(a, keys::RMS_EPS), Value::F32(self.rms_eps));
        md.set(
            arch_key(a, keys::ROPE_FREQ_BASE),
            Value::F32(self.rope_theta),
        );
        if self.activation != self.arch.default_activation() {
            let s = match self.activation {
                Activation::Silu => "silu",
                Activation::ReluSqr => "relu2",
            };
            md.set(
                arch_key(a, keys::HIDDEN_ACTIVATION),
                Value::String(s.into()),
            );
        }
    }

    /// GGUF dims `[in, out]` of a projection.
    pub fn projection_dims(&self, p: Projection) -> [u64; 2] {
        let (e, q, kv, ff) = (
            self.n_embd as u64,
            (self.n_head * self.head_dim) as u64,
            (self.n_head_kv * self.head_dim) as u64,
            self.n_ff as u64,
        );
        match p {
            Projection::AttnQ => [e, q],
            Projection::AttnK | Projection::AttnV => [e, kv],
            Projection::AttnOutput => [q, e],
            Projection::FfnGate | Projection::FfnUp => [e, ff],
            Projection::FfnDown => [ff, e],
        }
    }

    pub fn norm_dims(&self, n: LayerNorm) -> [u64; 1] {
        match n {
            LayerNorm::FfnSub => [self.n_ff as u64],
            _ => [self.n_embd as u64],
        }
    }

    pub fn embedding_dims(&self) -> [u64; 2] {
        [self.n_embd as u64, self.vocab_size as u64]
    }

    /// Every tensor this model must have (name, dims), in llama.cpp's order.
    pub fn required_tensors(&self) -> Vec<(String, Vec<u64>)> {
        let mut out = vec![
            (TOKEN_EMBD.to_owned(), self.embedding_dims().to_vec()),
            (OUTPUT_NORM.to_owned(), vec![self.n_embd as u64]),
        ];
        for l in 0..self.n_layer {
            out.push((
                LayerNorm::Attn.weight_name(l),
                self.norm_dims(LayerNorm::Attn).to_vec(),
            ));
            for p in [Projection::AttnQ, Projection::AttnK, Projection::AttnV] {
                out.push((p.weight_name(l), self.projection_dims(p).to_vec()));
            }
            out.push((
                LayerNorm::AttnSub.weight_name(l),
                self.norm_dims(LayerNorm::AttnSub).to_vec(),
            ));
            out.push((
                Projection::AttnOutput.weight_name(l),
                self.projection_dims(Projection::AttnOutput).to_vec(),
            ));
            out.push((
                LayerNorm::Ffn.weight_name(l),
                self.norm_dims(LayerNorm::Ffn).to_vec(),
            ));
            for p in [Projection::FfnGate, Projection::FfnUp] {
                out.push((p.weight_name(l), self.projection_dims(p).to_vec()));
            }
            out.push((
                LayerNorm::FfnSub.weight_name(l),
                self.norm_dims(LayerNorm::FfnSub).to_vec(),
            ));
            out.push((
                Projection::FfnDown.weight_name(l),
                self.projection_dims(Projection::FfnDown).to_vec(),
            ));
        }
        out
    }

    /// Every problem with the file's tensors: missing, wrong shape, a norm
    /// that is not a float, a projection whose rows do not fit its type.
    /// Empty when the file is loadable.
    pub fn check_tensors(&self, file: &GgufFile) -> Vec<GgufError> {
        let path = file.path();
        let mut problems = Vec::new();
        let mut expect = |name: &str, dims: &[u64], norm: bool| match file.info(name) {
            None => problems.push(GgufError::MissingTensor {
                path: path.to_owned(),
                tensor: name.to_owned(),
            }),
            Some(info) if info.dims != dims => problems.push(GgufError::ShapeMismatch {
                path: path.to_owned(),
                tensor: name.to_owned(),
                expected: dims.to_vec(),
                found: info.dims.clone(),
            }),
            Some(info) if norm && !info.ty.is_float() => problems.push(GgufError::TypeMismatch {
                path: path.to_owned(),
                tensor: name.to_owned(),
                expected: "F32, F16 or BF16".into(),
                found: info.ty.to_string(),
            }),
            Some(_) => {}
        };
        for (name, dims) in self.required_tensors() {
            let norm = name.ends_with("norm.weight");
            expect(&name, &dims, norm);
        }
        if file.contains(OUTPUT) {
            expect(OUTPUT, &self.embedding_dims(), false);
        }
        for l in 0..self.n_layer {
            for p in Projection::ALL {
                let name = p.scale_name(l);
                if file.contains(&name) {
                    expect(&name, &[1], true);
                }
            }
        }
        problems
    }

    /// The first tensor problem, if any: what a loader refuses.
    pub fn validate(&self, file: &GgufFile) -> Result<(), GgufError> {
        match self.check_tensors(file).into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Total weights, counting the tied embedding once.
    pub fn parameter_count(&self) -> u64 {
        self.required_tensors()
            .iter()
            .map(|(_, d)| d.iter().product::<u64>())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::{Array, Value};

    fn md_2b4t(arch: &str) -> Metadata {
        let mut md = Metadata::new();
        md.set(keys::ARCHITECTURE, Value::String(arch.into()));
        let k = |s: &str| arch_key(arch, s);
        md.set(k(keys::BLOCK_COUNT), Value::U32(30));
        md.set(k(keys::EMBEDDING_LENGTH), Value::U32(2560));
        md.set(k(keys::FEED_FORWARD_LENGTH), Value::U32(6912));
        md.set(k(keys::HEAD_COUNT), Value::U32(20));
        md.set(k(keys::HEAD_COUNT_KV), Value::U64(5));
        md.set(k(keys::CONTEXT_LENGTH), Value::U32(4096));
        md.set(k(keys::VOCAB_SIZE), Value::U32(128256));
        md.set(k(keys::RMS_EPS), Value::F32(1e-5));
        md.set(k(keys::ROPE_FREQ_BASE), Value::F32(500000.0));
        md.set(k(keys::ROPE_DIMENSION_COUNT), Value::U32(128));
        md
    }

    #[test]
    fn reads_the_2b4t_keys() {
        let c = ModelConfig::from_metadata("m.gguf", &md_2b4t("bitnet-b1.58")).unwrap();
        assert_eq!(
            (
                c.n_layer,
                c.n_embd,
                c.n_ff,
                c.n_head,
                c.n_head_kv,
                c.head_dim
            ),
            (30, 2560, 6912, 20, 5, 128)
        );
        assert_eq!(
            (c.vocab_size, c.context_length, c.rope_theta),
            (128256, 4096, 500000.0)
        );
        assert_eq!(c.activation, Activation::ReluSqr);
        assert_eq!(c.projection_dims(Projection::AttnK), [2560, 640]);
        assert_eq!(c.projection_dims(Projection::FfnDown), [6912, 2560]);
        assert_eq!(c.required_tensors().len(), 332);
        // Mainline `bitnet`: SiLU unless hidden_activation says otherwise.
        let mut md = md_2b4t("bitnet");
        assert_eq!(
            ModelConfig::from_metadata("m", &md).unwrap().activation,
            Activation::Silu
        );
        md.set("bitnet.hidden_activation", Value::String("relu2".into()));
        assert_eq!(
            ModelConfig::from_metadata("m", &md).unwrap().activation,
            Activation::ReluSqr
        );
        // write_metadata is the inverse of from_metadata.
        let c = ModelConfig::from_metadata("m", &md).unwrap();
        let mut out = Metadata::new();
        c.write_metadata(&mut out);
        assert_eq!(ModelConfig::from_metadata("m", &out).unwrap(), c);
    }

    #[test]
    fn defaults_and_errors() {
        let mut md = md_2b4t("bitnet-25");
        md.remove("bitnet-25.attention.head_count_kv");
        md.remove("bitnet-25.vocab_size");
        md.remove("bitnet-25.rope.freq_base");
        md.set(
            keys::TOKENIZER_TOKENS,
            Value::Array(Array::String(vec!["a".into(); 300])),
        );
        let c = ModelConfig::from_metadata("m", &md).unwrap();
        assert_eq!(
            (c.n_head_kv, c.vocab_size, c.rope_theta),
            (20, 300, 10000.0)
        );
        md.set("bitnet-25.rope.dimension_count", Value::U32(64));
        let e = ModelConfig::from_metadata("m", &md)
            .unwrap_err()
            .to_string();
        assert!(e.contains("m: key 'bitnet-25.rope.dimension_count': 64 rotated dimensions, expected the head dimension 128"), "{e}");
        let mut md = md_2b4t("bitnet");
        md.set("bitnet.attention.head_count", Value::U32(7));
        let e = ModelConfig::from_metadata("m", &md)
            .unwrap_err()
            .to_string();
        assert!(e.contains("do not divide evenly"), "{e}");
        let mut md = md_2b4t("bitnet");
        md.set(
            "bitnet.attention.layer_norm_rms_epsilon",
            Value::F32(f32::NAN),
        );
        let e = ModelConfig::from_metadata("m", &md)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("key 'bitnet.attention.layer_norm_rms_epsilon': NaN is not in (0, 1)"),
            "{e}"
        );
        let mut md = md_2b4t("bitnet");
        md.set("bitnet.hidden_activation", Value::String("gelu".into()));
        let e = ModelConfig::from_metadata("m", &md)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown activation 'gelu'"), "{e}");
    }

    #[test]
    fn projection_names_parse_back() {
        for p in Projection::ALL {
            assert_eq!(
                Projection::parse_weight_name(&p.weight_name(17)),
                Some((17, p))
            );
        }
        assert_eq!(
            Projection::parse_weight_name("blk.0.attn_norm.weight"),
            None
        );
        assert_eq!(Projection::parse_weight_name("blk.x.attn_q.weight"), None);
        assert_eq!(Projection::parse_weight_name("token_embd.weight"), None);
        assert_eq!(Projection::parse_weight_name("blk.0.attn_q.scale"), None);
    }
}
