//! What `bitnet synth` builds: a preset shape, optional overrides, a weight
//! type and a seed, turned into a [`ModelConfig`] after checking that every
//! projection fits the chosen format's block size.

use crate::gguf::{GgufError, TensorType};
use crate::model::{Activation, Architecture, ModelConfig, Projection, RopeStyle};
use crate::quant::{Format, QuantError};
use crate::tokenizer::synthetic::MIN_VOCAB;
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SynthError {
    #[error("synth: {0}")]
    Option(String),
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error("synth: tensor '{tensor}': {source}")]
    Quant {
        tensor: String,
        #[source]
        source: QuantError,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// 2 layers, hidden 256: fast enough for unit tests.
    Tiny,
    /// BitNet b1.58 2B4T's shapes: 30 layers, hidden 2560, FFN 6912,
    /// 20 heads / 5 KV heads, vocab 128 256, RoPE theta 500 000.
    B2B4T,
}

impl FromStr for Preset {
    type Err = SynthError;
    fn from_str(s: &str) -> Result<Self, SynthError> {
        match s {
            "tiny" => Ok(Preset::Tiny),
            "2b4t" => Ok(Preset::B2B4T),
            _ => Err(SynthError::Option(format!(
                "unknown preset '{s}' (expected tiny or 2b4t)"
            ))),
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Preset::Tiny => "tiny",
            Preset::B2B4T => "2b4t",
        })
    }
}

/// How projection weights are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightType {
    /// Ternary values times the tensor scale, as F32, F16 or BF16.
    Float(TensorType),
    Ternary(Format),
}

impl WeightType {
    pub fn tensor_type(self) -> TensorType {
        match self {
            WeightType::Float(t) => t,
            WeightType::Ternary(f) => TensorType::Ternary(f),
        }
    }

    /// `general.file_type`, see [`TensorType::llama_file_type`].
    pub fn file_type(self) -> Option<u32> {
        self.tensor_type().llama_file_type()
    }

    /// Type of `token_embd.weight`: F32 in an all-F32 model, BF16 in a BF16
    /// one, else F16 as in Microsoft's 2B4T file.
    pub fn embedding_type(self) -> TensorType {
        match self {
            WeightType::Float(t) if t == TensorType::F32 || t == TensorType::BF16 => t,
            _ => TensorType::F16,
        }
    }

    /// `bitnet-b1.58` for bitnet.cpp's formats, `bitnet` (llama.cpp
    /// mainline) for the types mainline can load.
    pub fn default_architecture(self) -> Architecture {
        match self {
            WeightType::Ternary(Format::I2S | Format::TL1 | Format::TL2) => {
                Architecture::BitnetB158
            }
            _ => Architecture::Bitnet,
        }
    }
}

impl FromStr for WeightType {
    type Err = SynthError;
    fn from_str(s: &str) -> Result<Self, SynthError> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Ok(WeightType::Float(TensorType::F32)),
            "f16" => Ok(WeightType::Float(TensorType::F16)),
            "bf16" => Ok(WeightType::Float(TensorType::BF16)),
            other => other.parse::<Format>().map(WeightType::Ternary).map_err(|_| {
                SynthError::Option(format!(
                    "unknown weight type '{s}' (expected i2s, tl1, tl2, tq1_0, tq2_0, f32, f16 or bf16)"
                ))
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    pub preset: Preset,
    pub layers: Option<usize>,
    pub hidden: Option<usize>,
    pub ffn: Option<usize>,
    pub heads: Option<usize>,
    pub kv_heads: Option<usize>,
    pub vocab: Option<usize>,
    pub weight_type: WeightType,
    pub arch: Option<Architecture>,
    /// FFN activation (default: squared ReLU, the 2B4T model's).
    pub activation: Option<Activation>,
    pub seed: u64,
}

impl SynthOptions {
    pub fn new(preset: Preset, weight_type: WeightType, seed: u64) -> Self {
        SynthOptions {
            preset,
            layers: None,
            hidden: None,
            ffn: None,
            heads: None,
            kv_heads: None,
            vocab: None,
            weight_type,
            arch: None,
            activation: None,
            seed,
        }
    }

    /// The model these options describe, or why it cannot be built.
    pub fn config(&self) -> Result<ModelConfig, SynthError> {
        let (layers, hidden, ffn, heads, kv, vocab, ctx, theta) = match self.preset {
            Preset::Tiny => (2, 256, 768, 4, 2, 512, 512, 10000.0),
            Preset::B2B4T => (30, 2560, 6912, 20, 5, 128256, 4096, 500000.0),
        };
        let arch = self.arch.unwrap_or(self.weight_type.default_architecture());
        let c = ModelConfig {
            arch,
            n_layer: self.layers.unwrap_or(layers),
            n_embd: self.hidden.unwrap_or(hidden),
            n_ff: self.ffn.unwrap_or(ffn),
            n_head: self.heads.unwrap_or(heads),
            n_head_kv: self.kv_heads.unwrap_or(kv),
            head_dim: 0,
            n_rot: 0,
            vocab_size: self.vocab.unwrap_or(vocab),
            context_length: ctx,
            rms_eps: 1e-5,
            rope_theta: theta,
            // The 2B4T model's activation, on either architecture.
            activation: self.activation.unwrap_or(Activation::ReluSqr),
            rope_style: RopeStyle::Neox,
        };
        let bad = |m: String| Err(SynthError::Option(m));
        if c.n_layer == 0 || c.n_embd == 0 || c.n_ff == 0 || c.n_head == 0 || c.n_head_kv == 0 {
            return bad("layers, hidden, ffn, heads and kv-heads must be positive".into());
        }
        if !c.n_embd.is_multiple_of(c.n_head) || !c.n_head.is_multiple_of(c.n_head_kv) {
            return bad(format!(
                "hidden {} must be a multiple of heads {}, and heads of kv-heads {}",
                c.n_embd, c.n_head, c.n_head_kv
            ));
        }
        if !(c.n_embd / c.n_head).is_multiple_of(2) {
            return bad(format!(
                "head dimension {} must be even for RoPE",
                c.n_embd / c.n_head
            ));
        }
        if c.vocab_size < MIN_VOCAB {
            return bad(format!(
                "vocab {} is below the {MIN_VOCAB} byte and special tokens",
                c.vocab_size
            ));
        }
        let c = ModelConfig {
            head_dim: c.n_embd / c.n_head,
            n_rot: c.n_embd / c.n_head,
            ..c
        };
        if let WeightType::Ternary(f) = self.weight_type {
            for p in Projection::ALL {
                let [cols, _] = c.projection_dims(p);
                if !(cols as usize).is_multiple_of(f.row_multiple()) {
                    return bad(format!(
                        "{} rows of {cols} weights are not a multiple of {}'s {} (choose hidden/ffn accordingly)",
                        p.stem(),
                        f,
                        f.row_multiple()
                    ));
                }
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(ty: &str) -> SynthOptions {
        SynthOptions::new(Preset::Tiny, ty.parse().unwrap(), 0)
    }

    #[test]
    fn parses_presets_and_types() {
        assert_eq!("2b4t".parse::<Preset>().unwrap(), Preset::B2B4T);
        assert!("huge"
            .parse::<Preset>()
            .unwrap_err()
            .to_string()
            .contains("unknown preset 'huge'"));
        assert_eq!(
            "F16".parse::<WeightType>().unwrap(),
            WeightType::Float(TensorType::F16)
        );
        assert_eq!(
            "tq1_0".parse::<WeightType>().unwrap(),
            WeightType::Ternary(Format::TQ1_0)
        );
        assert!("q4_0"
            .parse::<WeightType>()
            .unwrap_err()
            .to_string()
            .contains("unknown weight type 'q4_0'"));
    }

    #[test]
    fn every_format_fits_the_presets() {
        for ty in ["i2s", "tl1", "tl2", "tq1_0", "tq2_0", "f32", "f16", "bf16"] {
            for preset in [Preset::Tiny, Preset::B2B4T] {
                let o = SynthOptions::new(preset, ty.parse().unwrap(), 0);
                o.config().unwrap_or_else(|e| panic!("{preset} {ty}: {e}"));
            }
        }
        assert_eq!(opts("i2s").config().unwrap().arch, Architecture::BitnetB158);
        assert_eq!(opts("tq2_0").config().unwrap().arch, Architecture::Bitnet);
    }

    #[test]
    fn refuses_impossible_shapes() {
        let err = |o: SynthOptions| o.config().unwrap_err().to_string();
        let msg = err(SynthOptions {
            heads: Some(3),
            ..opts("f32")
        });
        assert!(
            msg.contains("hidden 256 must be a multiple of heads 3"),
            "{msg}"
        );
        let msg = err(SynthOptions {
            vocab: Some(10),
            ..opts("f32")
        });
        assert!(msg.contains("vocab 10 is below"), "{msg}");
        let msg = err(SynthOptions {
            ffn: Some(320),
            ..opts("tq2_0")
        });
        assert!(
            msg.contains("ffn_down rows of 320 weights are not a multiple of tq2_0's 256"),
            "{msg}"
        );
        let msg = err(SynthOptions {
            layers: Some(0),
            ..opts("i2s")
        });
        assert!(msg.contains("must be positive"), "{msg}");
        let msg = err(SynthOptions {
            hidden: Some(96),
            heads: Some(32),
            kv_heads: Some(32),
            ..opts("f32")
        });
        assert!(msg.contains("head dimension 3 must be even"), "{msg}");
    }
}
